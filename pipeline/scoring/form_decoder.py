"""Filling an ``AnswerForm`` with llama.cpp in this process, asking the model only at the blanks.

A grammar-constrained generation decodes every token of the answer one step at a time, also the
braces, keys and quotes that the schema leaves no choice about (most of the answer). Here the
fixed text is appended by the decoder and evaluated as one batch, and the model decides only:

- a verdict or a choice: one forward pass where the options start with distinct tokens; the
  option whose first token the model rates highest is taken, and the probabilities of every
  option's first token (softmax over the whole vocabulary, as in grammar decoding) are reported
  for the confidence. Options that share first tokens (``bill``, ``billing``, ``bills``) form a
  tree: the model is asked once at each fork, an option's probability is the product of its
  tokens' probabilities at the forks on its way, and the most probable option is taken;
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
from typing import Any, Callable, Mapping, Sequence

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


@dataclass(frozen=True)
class StatementRead:
    """What reading one statement gave: each option's probability, the option decided, the
    cited line, and what it cost."""

    probabilities: dict[str, float]  # option -> its probability (softmax over the whole vocabulary)
    option: str
    line: int
    prompt_tokens: int
    evaluated_prompt_tokens: int  # the prompt tokens not found in the cache
    answer_tokens: int  # the answer's and the evidence cue's tokens, and the line's digits
    decided_tokens: int  # forward passes that decided something


class FormDecoder:
    """Fills forms with one loaded ``llama_cpp.Llama`` (one at a time: it owns the KV cache)."""

    def __init__(self, llm: Any) -> None:
        self._llm = llm
        self._number_tokens: dict[int, str] | None = None  # token -> its text, for tokens of digits only
        self._text_mask: np.ndarray | None = None  # per token: may it be written inside a JSON string as is
        self._pieces: dict[int, bytes] = {}
        self._tokenized: dict[str, tuple[int, ...]] = {}  # the form's fixed texts and options, the same every call

    def can_fill(self, form: AnswerForm) -> bool:
        """Whether every field's options are written as distinct token sequences."""
        return all(len({tuple(self._tokens(o)) for o in f.options}) == len(f.options) and
                   all(self._tokens(o) for o in f.options) for f in form.fields)

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
            following = parts[index + 1] if index + 1 < len(parts) else ""
            assert isinstance(following, str)
            if isinstance(part, ChoiceBlank):
                options[part.field_id], probabilities, pending, steps = self._choose(
                    part.options, end_token=self._tokens(following)[0])
                result.choice_probabilities.append(probabilities)
                result.answer_tokens += len(self._tokens(options[part.field_id]))
                result.decided_tokens += steps
                continue
            if isinstance(part, TextBlank):
                options[part.field_id], pending, written, steps = self._text(
                    part, end_token=self._tokens(following)[0])
            else:
                lines[part.field_id], pending, written, steps = self._number(part, end_token=self._tokens(following)[0])
            result.answer_tokens += written
            result.decided_tokens += steps
        result.answers = {f.id: (lines.get(f.id, NO_LINE), options[f.id]) for f in form.fields}
        return result

    def read_statement(self, prompt: Sequence[int], answers: Mapping[str, Sequence[str]],
                       decide: Callable[[dict[str, float]], str], evidence: str, numbers: Sequence[int]) -> StatementRead:
        """Evaluate ``prompt`` past its cached prefix, read the probability of each answer
        (option -> the texts the model may write for it, ``true`` and ``True``: their
        probabilities add up), let ``decide`` pick the option from them, then append its first
        text and ``evidence`` and read the number among ``numbers`` that follows. The next
        prompt that shares this one's start re-uses it from the cache."""
        evaluated = self._evaluate(prompt)
        cue = self._tokens(evidence)
        option_of = {text: option for option, texts in answers.items() for text in texts}
        _, by_text, _, passes = self._choose(list(option_of), end_token=cue[0])
        probabilities = dict.fromkeys(answers, 0.0)
        for text, p in by_text.items():
            probabilities[option_of[text]] += p
        option = decide(probabilities)
        appended = self._tokens(answers[option][0]) + cue
        self._eval(appended)
        line, _, digits, steps = self._number(LineBlank("", tuple(numbers)), end_token=self._tokens("\n")[-1])
        return StatementRead(probabilities, option, line, len(prompt), evaluated, len(appended) + digits,
                             passes + steps)

    def write_text(self, prompt: Sequence[int], max_words: int) -> tuple[str, int, int, int]:
        """Evaluate ``prompt`` past its cached prefix and write a text of at most ``max_words``
        words after it, up to a line break: (the text, prompt tokens evaluated, tokens written,
        decisions taken)."""
        evaluated = self._evaluate(prompt)
        text, _, written, steps = self._text(TextBlank("", max_words), end_token=self._tokens("\n")[-1])
        return text, evaluated, written, steps

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

    def _evaluate(self, prompt: Sequence[int]) -> int:
        """Evaluate ``prompt`` past the prefix the cache holds; how many tokens that took."""
        kept = self._cached_prefix(prompt)
        self._eval(list(prompt[kept:]))
        return len(prompt) - kept

    def _eval(self, tokens: list[int]) -> None:
        if tokens:
            self._llm.eval(tokens)

    def _logits(self) -> np.ndarray:
        import llama_cpp

        pointer = llama_cpp.llama_get_logits_ith(self._llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self._llm.n_vocab(),))

    def _probabilities(self, logits: np.ndarray, tokens: Sequence[int]) -> dict[int, float]:
        """Each of ``tokens``' probability: softmax over the whole vocabulary, as a grammar sees it."""
        top = float(np.max(logits))
        log_total = top + float(np.log(np.sum(np.exp(logits - top))))
        return {token: float(np.exp(logits[token] - log_total)) for token in tokens}

    def _choose(self, options: Sequence[str], *, end_token: int) -> tuple[str, dict[str, float], list[int], int]:
        """The option the model finds most probable, with each option's probability: (the
        option, the probabilities, its tokens not evaluated yet, the forward passes taken).

        The options form a tree of forks (a next token, or ``end_token`` where an option is
        complete); the model is asked once at each fork, and an option's probability is the
        product of its tokens' probabilities at the forks on its way (the tokens between forks
        are the only way on). Options with distinct first tokens (the common case) fork once, at
        the blank: one pass, each option's probability its first token's. Deeper forks are
        evaluated and dropped from the cache again; the chosen option's tokens are left to
        evaluate."""
        sequences = {option: self._tokens(option) for option in options}
        root = self._logits()  # read at the first fork, before any other evaluation
        start = self._llm.n_tokens
        probabilities: dict[str, float] = {}
        passes = 0
        forks: list[tuple[list[int], float, list[str]]] = [([], 1.0, list(options))]  # prefix, its probability, options
        while forks:
            prefix, mass, group = forks.pop()
            while True:  # follow the only way on to the next fork
                branches = {}
                for option in group:
                    sequence = sequences[option]
                    branches.setdefault(sequence[len(prefix)] if len(sequence) > len(prefix) else end_token,
                                        []).append(option)
                if len(branches) > 1 or end_token in branches:
                    break
                prefix = prefix + [next(iter(branches))]
            if len(branches) == 1:  # a complete option, no other way on
                probabilities[group[0]] = mass
                continue
            if prefix:
                self._llm.n_tokens = start  # back to the blank, then down this way
                self._eval(prefix)
            logits = self._logits() if prefix else root
            passes += 1 if prefix else 0
            chances = self._probabilities(logits, list(branches))
            for token, members in branches.items():
                if token == end_token:
                    probabilities[members[0]] = mass * chances[token]
                else:
                    forks.append((prefix + [token], mass * chances[token], members))
        self._llm.n_tokens = start
        chosen = max(options, key=lambda option: probabilities[option])
        return chosen, {option: probabilities[option] for option in options}, list(sequences[chosen]), passes + 1

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
