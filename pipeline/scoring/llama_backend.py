"""The local LLM: llama-cpp-python running a GGUF chat model, its output forced by a grammar
generated from a JSON schema so that every answer parses.

Line-evidence answers (an ``AnswerForm``) are filled by ``FormDecoder``: the fixed text is
appended in batches and the model is asked only at the line numbers and verdicts. A model
without a chat template (a base model) is given its prompts as plain text it continues.

Besides the text, a generation reports the model's own probabilities at each verdict: when the
output reaches ``"verdict": "``, the raw next-token distribution (before the grammar masks it)
is read for the first token of each permitted answer. Those figures, not a number the model
writes, become the verdict's confidence.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, Mapping, Sequence

import numpy as np

from pipeline.errors import ModelError
from pipeline.stopping import RunStopped, check_stop, stop_requested
from pipeline.scoring.backend import VERDICT_KEY, Generation
from pipeline.scoring.form import AnswerForm
from pipeline.scoring.form_decoder import FormDecoder, StatementRead
from pipeline.scoring.gguf_header import metadata_keys
from pipeline.scoring.statement_prompt import PromptKind

log = logging.getLogger(__name__)

class _ChoiceProbe:
    """A logits processor that records option probabilities wherever a verdict value starts.

    It sees the raw logits of every step. Vocabularies differ in whether the opening quote and
    the word are one token (``"yes``) or two (``"`` + ``yes``), so both points are watched.
    """

    def __init__(self, llm: Any, key: str, options: Sequence[str]) -> None:
        self._llm = llm
        self._bare = self._single_first_tokens(options, prefix="")
        self._quoted = self._single_first_tokens(options, prefix='"')
        self._after_quote = re.compile(rb'"' + key.encode() + rb'"\s*:\s*"$')
        self._before_quote = re.compile(rb'"' + key.encode() + rb'"\s*:\s*$')
        self._key = b'"' + key.encode() + b'"'
        self._generated = bytearray()
        self._seen: int | None = None
        self.records: dict[int, dict[str, float]] = {}

    def _single_first_tokens(self, options: Sequence[str], *, prefix: str) -> dict[str, int]:
        """option -> its first token, where options' first tokens are all distinct."""
        first = {}
        for option in options:
            tokens = self._llm.tokenize((prefix + option).encode(), add_bos=False, special=False)
            if prefix and len(tokens) > 1 and self._llm.detokenize(tokens[:1]) == prefix.encode():
                return {}  # the quote is a token of its own: the bare probe covers it
            first[option] = tokens[0]
        if len(set(first.values())) < len(first):
            log.warning("verdict options %s share a first token: confidence unavailable", list(options))
            return {}
        return first

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self._seen is not None and len(input_ids) > self._seen:
            self._generated += self._llm.detokenize(list(input_ids[self._seen :]))
        self._seen = len(input_ids)
        tail = bytes(self._generated[-96:])
        table = None
        if self._bare and self._after_quote.search(tail):
            table = self._bare
        elif self._quoted and self._before_quote.search(tail):
            table = self._quoted
        if table:
            occurrence = self._generated.count(self._key) - 1
            top = float(np.max(scores))
            log_total = top + float(np.log(np.sum(np.exp(scores - top))))
            self.records[occurrence] = {
                option: float(np.exp(scores[token] - log_total)) for option, token in table.items()
            }
        return scores


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 sent to /dev/null meanwhile (what llama.cpp prints goes there, not
    through Python)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def gguf_prompt_kind(model_path: Path) -> PromptKind:
    """chat when the GGUF file carries a chat template, else completion (read from its metadata,
    without loading the model). Raises ModelError when the file is not a GGUF model."""
    return "chat" if "tokenizer.chat_template" in metadata_keys(model_path) else "completion"


def default_threads(cores: int) -> int:
    """The LLM's threads when none are set: every core but one. llama.cpp's threads wait for
    each other by spinning, so one thread that loses its core to another process stalls the
    rest: with one of two cores busy, two threads took 2.7x their quiet time a call and one
    thread 1.6x (docs/benchmarks.md). The core left over runs everything else (Whisper, the
    warehouse, a desk)."""
    return max(1, cores - 1)


class LlamaBackend:
    """A GGUF model loaded in this process. Load once per process and reuse for every call."""

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_threads_batch: int | None = None,
        device: Literal["auto", "cpu", "cuda"] = "auto",
        gpu_layers: int = -1,
        prompt_kind: Literal["auto", "chat", "completion"] = "auto",
    ) -> None:
        """``n_threads``: threads for one-token steps, ``n_threads_batch`` for prompts (None:
        ``default_threads``, and as ``n_threads``); ``prompt_kind``: how prompts are put to the
        model; auto: its chat template when the GGUF has one, else a plain text it continues (a
        base model)."""
        import llama_cpp

        threads = n_threads or default_threads(os.cpu_count() or 1)
        batch_threads = n_threads_batch or threads
        offload = device != "cpu" and llama_cpp.llama_supports_gpu_offload()
        if device == "cuda" and not offload:
            log.warning("llama-cpp-python was built without GPU support: the LLM runs on the CPU")
        self.model_path = Path(model_path)
        self.name = self.model_path.name
        self.device = "cuda" if offload else "cpu"
        self._grammars: dict[str, Any] = {}
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=batch_threads,
                n_gpu_layers=gpu_layers if offload else 0,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"cannot load LLM {model_path}: {exc} (is it a GGUF chat model?)") from exc
        self.n_ctx = self._llm.n_ctx()
        # llama.cpp asks this between the steps of every evaluation (prompt and tokens alike): a
        # stop asked for (pipeline.stopping) ends the generation within milliseconds.
        self._abort = llama_cpp.ggml_abort_callback(lambda data: stop_requested())
        llama_cpp.llama_set_abort_callback(self._llm.ctx, self._abort, None)
        self._decoder = FormDecoder(self._llm)
        self._chat = self._chat_formatter()
        if prompt_kind == "chat" and self._chat is None:
            raise ModelError(f"{self.name} has no chat template: set llm_prompt_kind to auto or completion")
        self.prompt_kind: PromptKind = "chat" if self._chat is not None and prompt_kind != "completion" else "completion"

    def _chat_formatter(self) -> Any:
        """The GGUF's own chat template, as ``create_chat_completion`` applies it (None: the
        model has none, and forms are filled under a grammar instead)."""
        from llama_cpp import llama_chat_format

        template = self._llm.metadata.get("tokenizer.chat_template")
        if not template:
            return None

        def text(token: int) -> str:
            return self._llm.detokenize([token], special=True).decode("utf-8", "replace") if token >= 0 else ""

        return llama_chat_format.Jinja2ChatFormatter(template=template, eos_token=text(self._llm.token_eos()),
                                                     bos_token=text(self._llm.token_bos()))

    def clear_cache(self) -> None:
        """Forget the evaluated prompt, so the next generation reads its whole prompt anew."""
        self._llm.reset()

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in the prompt."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def fill_form(self, messages: list[dict[str, str]], form: AnswerForm, *, max_tokens: int,
                  grammar_only: bool = False) -> Generation:
        """The form's answer, decided at its blanks only (``FormDecoder``); under the form's
        grammar, one token at a time, when ``grammar_only`` or when the decoder cannot fill it."""
        if grammar_only or not self._decoder.can_fill(form):
            return self.generate_json(messages, form.schema(), max_tokens=max_tokens)
        check_stop()
        prompt = self._prompt_tokens(messages)
        with self._stoppable():
            filled = self._decoder.fill(prompt, form)
        return Generation(
            text=form.text(filled.answers),
            choice_probabilities=tuple(filled.choice_probabilities),
            prompt_tokens=filled.prompt_tokens,
            completion_tokens=filled.answer_tokens,
            evaluated_prompt_tokens=filled.evaluated_prompt_tokens,
            decided_tokens=filled.decided_tokens,
        )

    def _prompt_tokens(self, prompt: str | list[dict[str, str]]) -> list[int]:
        """The tokens of a prompt: chat messages through the model's chat template (as the
        start of the assistant's reply), or, for a completion model, their texts one after the
        other; a string is a completion prompt as it is."""
        if isinstance(prompt, list) and self.prompt_kind == "chat":
            rendered = self._chat(messages=prompt)
            return self._llm.tokenize(rendered.prompt.encode("utf-8"), add_bos=not rendered.added_special,
                                      special=True)
        if isinstance(prompt, list):
            prompt = "\n\n".join(m["content"] for m in prompt) + "\n\n"
        return self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)

    def _fitting_prompt(self, prompt: str | list[dict[str, str]]) -> list[int]:
        """A statement's prompt tokens, once a stop asked for has been honoured; ModelError when
        they leave no room for the answer in the context."""
        check_stop()
        tokens = self._prompt_tokens(prompt)
        if len(tokens) + 16 > self.n_ctx:
            raise ModelError(f"a statement prompt of {len(tokens)} tokens does not fit the LLM context ({self.n_ctx})")
        return tokens

    def read_statement(self, prompt: str | list[dict[str, str]], answers: Mapping[str, Sequence[str]],
                       decide: Callable[[dict[str, float]], str], evidence: str, numbers: Sequence[int]) -> StatementRead:
        """One statement's answer read from the model's probabilities (``FormDecoder.read_statement``):
        ``prompt`` is a completion text or chat messages, as ``prompt_kind`` wants."""
        tokens = self._fitting_prompt(prompt)
        with self._stoppable():
            return self._decoder.read_statement(tokens, answers, decide, evidence, numbers)

    def write_text(self, prompt: str | list[dict[str, str]], max_words: int) -> tuple[str, int, int, int, int]:
        """A text of at most ``max_words`` words after ``prompt`` (``FormDecoder.write_text``):
        (the text, prompt tokens, of those evaluated, tokens written, decisions)."""
        tokens = self._fitting_prompt(prompt)
        with self._stoppable():
            text, evaluated, written, steps = self._decoder.write_text(tokens, max_words)
        return text, len(tokens), evaluated, written, steps

    @contextlib.contextmanager
    def _stoppable(self) -> Iterator[None]:
        """llama_decode aborted by the stop callback (a RuntimeError) is the run stopping."""
        try:
            yield
        except RuntimeError:
            if not stop_requested():
                raise
            self._llm.reset()
            raise RunStopped("the run was asked to stop") from None

    def _grammar(self, schema: dict) -> Any:
        """The grammar of ``schema``, once llama.cpp has shown that it takes it: a grammar it
        refuses would crash the process at the first token, so it is a ``ModelError`` instead."""
        from llama_cpp import LlamaGrammar
        from llama_cpp.llama_grammar import json_schema_to_gbnf

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            rules = json_schema_to_gbnf(json.dumps(schema))
            self._check_grammar(rules)
            self._grammars[key] = LlamaGrammar.from_string(rules, verbose=False)
        return self._grammars[key]

    def _check_grammar(self, rules: str) -> None:
        """Raise ``ModelError`` unless llama.cpp parses the GBNF ``rules`` (root ``root``)."""
        import llama_cpp

        vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
        with _quiet_stderr():  # on refusal llama.cpp prints the whole grammar
            sampler = llama_cpp.llama_sampler_init_grammar(vocab, rules.encode("utf-8"), b"root")
        if not sampler:
            raise ModelError(f"llama.cpp refuses the answer grammar ({len(rules)} characters) this scorecard "
                             "needs: give its text fields fewer max_words, or its choice fields fewer options")
        llama_cpp.llama_sampler_free(sampler)

    def generate_json(
        self,
        messages: list[dict[str, str]],
        schema: dict,
        *,
        max_tokens: int,
        choice_options: Sequence[str] = ("yes", "no", "na"),
    ) -> Generation:
        """Greedy generation constrained to ``schema``; probabilities read at each verdict."""
        import llama_cpp

        check_stop()
        probe = _ChoiceProbe(self._llm, VERDICT_KEY, choice_options)
        llama_cpp.llama_perf_context_reset(self._llm.ctx)
        with self._stoppable():
            result = self._llm.create_chat_completion(
                messages,
                grammar=self._grammar(schema),
                temperature=0.0,
                repeat_penalty=1.0,
                max_tokens=max_tokens,
                logits_processor=llama_cpp.LogitsProcessorList([probe]),
            )
        usage = result["usage"]
        count = max(probe.records, default=-1) + 1
        return Generation(
            text=result["choices"][0]["message"]["content"] or "",
            choice_probabilities=tuple(probe.records.get(i, {}) for i in range(count)),
            prompt_tokens=int(usage["prompt_tokens"]),
            completion_tokens=int(usage["completion_tokens"]),
            evaluated_prompt_tokens=int(llama_cpp.llama_perf_context(self._llm.ctx).n_p_eval),
        )
