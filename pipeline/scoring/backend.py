"""What the scorer asks of an LLM backend (llama.cpp in this process, or an OpenAI-compatible
server): count tokens, and generate one JSON answer that a schema constrains (or fill in an
answer form: line numbers and verdicts), with the probabilities the model gave each verdict option."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pipeline.scoring.form import AnswerForm

VERDICT_KEY = "verdict"  # the answer key whose value's probabilities become the confidence


@dataclass(frozen=True)
class Generation:
    """One grammar-constrained answer."""

    text: str
    # For each occurrence of the verdict key, in output order: option -> probability the model
    # gave that option's first token (over the whole vocabulary, before the grammar).
    choice_probabilities: tuple[dict[str, float], ...]
    prompt_tokens: int
    completion_tokens: int
    # Prompt tokens the model actually evaluated: fewer than ``prompt_tokens`` when the start of
    # the prompt was still in its cache from the previous generation. None when unknown.
    evaluated_prompt_tokens: int | None = None
    # Answer tokens the model chose (the rest were fixed by the schema and appended as a batch);
    # None when every token was decoded one step at a time under a grammar.
    decided_tokens: int | None = None


class ScoringBackend(Protocol):
    """An LLM that answers scorecard prompts; ``n_ctx``: its context in tokens."""

    name: str
    n_ctx: int

    def count_tokens(self, text: str) -> int: ...

    def generate_json(self, messages: list[dict[str, str]], schema: dict, *, max_tokens: int) -> Generation: ...

    def fill_form(self, messages: list[dict[str, str]], form: AnswerForm, *, max_tokens: int) -> Generation:
        """The form's JSON answer (``form.text``); a backend without a form decoder generates
        it under ``form.schema()``."""
        ...
