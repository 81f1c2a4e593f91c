"""Filling an ``AnswerForm`` with llama.cpp in this process, asking the model only at the blanks.

A grammar-constrained generation decodes every token of the answer one step at a time, also the
braces, keys and quotes that the schema leaves no choice about (most of the answer). Here the
fixed text is appended by the decoder and evaluated as one batch, and the model decides only:

- a verdict: one forward pass; the option whose first token the model rates highest is taken,
  and the probabilities of every option's first token (softmax over the whole vocabulary, as in
  grammar decoding) are reported for the confidence;
- a line number: digit tokens one step at a time, each step choosing among the tokens that keep
  the number a prefix of a line that exists, or the first token of the text that follows the
  number once it is complete. A line out of range cannot be written;
- a text: greedy, one token at a time among the tokens that keep the text a plain JSON string
  (no quotes, backslashes or control characters) or the closing quote, and not before a first
  word; a token that would start a word past the blank's limit ends it, so the text never
  exceeds it.

The prompt is matched against what the model evaluated last (llama.cpp's KV cache): only the
tokens after the common prefix are evaluated, so a system prompt that is the same for every call
is read once per process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from pipeline.scoring.form import NO_LINE, TEXT_TOKENS_PER_WORD, AnswerForm, ChoiceBlank, LineBlank, TextBlank


@dataclass
class FilledForm:
    """What filling a form gave: the answers, and what it cost."""

    answers: dict[str, tuple[int, str]] = field(default_factory=dict)  # field id -> (line, option or text)
    choice_probabilities: list[dict[str, float]] = field(default_factory=list)  # per verdict, in order
    prompt_tokens: int = 0
    evaluated_prompt_tokens: int = 0  # the prompt tokens not found in the cache
    answer_tokens: int = 0  # every token of the answer: fixed and decided
    decided_tokens: int = 0  # of those, the tokens the model chose (forward passes that decided)


class FormDecoder:
    """Fills forms with one loaded ``llama_cpp.Llama`` (one at a time: it owns the KV cache)."""

    def __init__(self, llm: Any) -> None:
        self._llm = llm
        self._number_tokens: dict[int, str] | None = None  # token -> its text, for tokens of digits only
        self._text_mask: np.ndarray | None = None  # per token: may it be written inside a JSON string as is
        self._pieces: dict[int, bytes] = {}
        self._tokenized: dict[str, tuple[int, ...]] = {}  # the form's fixed texts and options, the same every call

    def can_fill(self, form: AnswerForm) -> bool:
        """Whether every field's options start with distinct tokens (one pass decides a verdict)."""
        return all(len({self._tokens(o)[0] for o in f.options}) == len(f.options) for f in form.fields)

    def fill(self, prompt: Sequence[int], form: AnswerForm) -> FilledForm:
        """Evaluate ``prompt`` (tokens) past its cached prefix, then fill ``form`` greedily."""
        result = FilledForm(prompt_tokens=len(prompt))
        kept = self._cached_prefix(prompt)
        result.evaluated_prompt_tokens = len(prompt) - kept
        pending: list[int] = list(prompt[kept:])  # tokens to evaluate before the next decision
        parts = list(form.parts())
        lines: dict[str, int] = {}
        options: dict[str, str] = {}
        for index, part in enumerate(parts):
            if isinstance(part, str):
                tokens = self._tokens(part)
                pending += tokens
                result.answer_tokens += len(tokens)
                continue
            self._eval(pending)
            pending = []
            if isinstance(part, ChoiceBlank):
                options[part.field_id], probabilities = self._choose(part.options)
                result.choice_probabilities.append(probabilities)
                pending = self._tokens(options[part.field_id])  # evaluated with the text after it
                result.answer_tokens += len(pending)
                result.decided_tokens += 1
                continue
            following = parts[index + 1] if index + 1 < len(parts) else ""
            assert isinstance(following, str)
            if isinstance(part, TextBlank):
                options[part.field_id], pending, written, steps = self._text(
                    part, end_token=self._tokens(following)[0])
            else:
                lines[part.field_id], pending, written, steps = self._number(part, end_token=self._tokens(following)[0])
            result.answer_tokens += written
            result.decided_tokens += steps
        result.answers = {f.id: (lines.get(f.id, NO_LINE), options[f.id]) for f in form.fields}
        return result

    # -- steps ---------------------------------------------------------------------------------

    def _tokens(self, text: str) -> list[int]:
        """``text``'s tokens, tokenized once per process (forms repeat their texts call after call)."""
        if text not in self._tokenized:
            self._tokenized[text] = tuple(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        return list(self._tokenized[text])

    def _cached_prefix(self, prompt: Sequence[int]) -> int:
        """Tokens at the start of ``prompt`` the model has evaluated already (at least one token
        is left to evaluate: the decision needs fresh logits)."""
        kept = 0
        for cached, wanted in zip(self._llm.input_ids[: self._llm.n_tokens], prompt):
            if cached != wanted:
                break
            kept += 1
        kept = min(kept, len(prompt) - 1)
        self._llm.n_tokens = kept  # Llama.eval drops the cache after n_tokens before it evaluates
        return kept

    def _eval(self, tokens: list[int]) -> None:
        if tokens:
            self._llm.eval(tokens)

    def _logits(self) -> np.ndarray:
        import llama_cpp

        pointer = llama_cpp.llama_get_logits_ith(self._llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self._llm.n_vocab(),))

    def _choose(self, options: Sequence[str]) -> tuple[str, dict[str, float]]:
        """The option whose first token has the highest logit, and each option's probability."""
        logits = self._logits()
        first = {option: self._tokens(option)[0] for option in options}
        top = float(np.max(logits))
        log_total = top + float(np.log(np.sum(np.exp(logits - top))))
        probabilities = {option: float(np.exp(logits[token] - log_total)) for option, token in first.items()}
        return max(options, key=lambda option: logits[first[option]]), probabilities

    def _digit_tokens(self) -> dict[int, str]:
        if self._number_tokens is None:
            found = {}
            for token in range(self._llm.n_vocab()):
                piece = self._llm.detokenize([token])
                if piece and piece.isdigit() and piece.isascii():
                    found[token] = piece.decode("ascii")
            self._number_tokens = found
        return self._number_tokens

    def _number(self, blank: LineBlank, *, end_token: int) -> tuple[int, list[int], int, int]:
        """A number among ``blank.numbers``, written digit token by digit token: (the number, its
        tokens not evaluated yet, how many tokens it took, the decisions taken). A digit is
        evaluated only when the model must decide what follows it; the decision to stop is
        ``end_token``'s, the first token of the fixed text that follows."""
        numbers = {str(n) for n in blank.numbers}
        prefixes = {n[:k] for n in numbers for k in range(1, len(n) + 1)}
        written, unevaluated, count, steps = "", [], 0, 0
        while True:
            candidates = {t: written + s for t, s in self._digit_tokens().items() if written + s in prefixes}
            if written in numbers:
                if not candidates:
                    return int(written), unevaluated, count, steps  # complete: nothing left to decide
                candidates[end_token] = written
            if len(candidates) == 1:  # one way on: forced, no decision
                best = next(iter(candidates))
            else:
                self._eval(unevaluated)
                unevaluated = []
                logits = self._logits()
                best = max(candidates, key=lambda t: logits[t])
                steps += 1
            if best == end_token and written in numbers:
                return int(written), unevaluated, count, steps
            written = candidates[best]
            unevaluated.append(best)
            count += 1

    def _plain_text_tokens(self) -> np.ndarray:
        """Per token of the vocabulary: its text is not empty and holds no quote, backslash or
        control character (so it can stand inside a JSON string as it is)."""
        if self._text_mask is None:
            mask = np.zeros(self._llm.n_vocab(), dtype=bool)
            for token in range(len(mask)):
                piece = self._llm.detokenize([token])
                mask[token] = bool(piece) and not any(b < 0x20 or b in (0x22, 0x5C, 0x7F) for b in piece)
            self._text_mask = mask
        return self._text_mask

    def _piece(self, token: int) -> bytes:
        if token not in self._pieces:
            self._pieces[token] = self._llm.detokenize([token])
        return self._pieces[token]

    def _text(self, blank: TextBlank, *, end_token: int) -> tuple[str, list[int], int, int]:
        """A text of at most ``blank.max_words`` words, token by token: (the text, its last
        token, not evaluated yet, how many tokens it took, the decisions taken). It ends where ``end_token`` (the closing
        quote that follows) wins, where the next token would start a word past the limit, or
        after ``TEXT_TOKENS_PER_WORD`` tokens per word allowed."""
        allowed = self._plain_text_tokens()
        written, last, count, steps = b"", [], 0, 0
        for _ in range(blank.max_words * TEXT_TOKENS_PER_WORD):
            self._eval(last)
            raw = self._logits()
            logits = np.where(allowed, raw, -np.inf)
            if written.strip():  # the closing quote only once there is a word
                logits[end_token] = raw[end_token]
            best = int(np.argmax(logits))
            steps += 1
            longer = written + self._piece(best)
            if best == end_token or len(longer.decode("utf-8", "ignore").split()) > blank.max_words:
                break
            written, last, count = longer, [best], count + 1
        return " ".join(written.decode("utf-8", "ignore").split()), last, count, steps
