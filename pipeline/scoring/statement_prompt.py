"""The statement style's prompt (``llm_questions: statements``): the transcript once, then one
criterion at a time as a statement the model is asked to call true or false.

Every criterion's prompt is the same text up to the statement (the instructions and the
transcript), so llama.cpp evaluates that prefix once per window and only the statement after it
per criterion. The model's next-token probabilities of the answer words give the verdict.

Two forms, chosen by what the model is (``prompt_kind``):
- ``completion``, for a base model (or one without a chat template): a plain text the model
  continues, the answer word after a space (``... The reviewer answered: true``);
- ``chat``, for an instruction-tuned model with a chat template: a system and a user message,
  the answer the first word of the assistant's reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template
from typing import Any, Literal, Mapping, Sequence

PromptKind = Literal["completion", "chat"]
OPTIONS = ("yes", "no", "na")  # a criterion's answers, in the warehouse's words
YES_NO = OPTIONS[:2]


@dataclass(frozen=True)
class StatementPrompt:
    """``completion``: the whole prompt up to the answer, with ``$transcript``, ``$question`` and
    ``$ask``; ``system`` and ``user``: the chat form's messages, with the same placeholders.
    ``answers``: option (yes, no, na) -> the word the model answers with. What ``$ask`` says:
    ``ask`` for a yes/no criterion, ``ask_na`` for one that may not apply, ``ask_choice`` for a
    choice field (its ``$options``), ``ask_text`` for a text field (its ``$max_words``).
    ``evidence``: appended after the answer, the cited line's number follows it.
    ``content_free``: transcripts without content, read for each criterion and choice field to
    measure the model's lean (contextual calibration)."""

    completion: str
    system: str
    user: str
    answers: tuple[tuple[str, str], ...]
    ask: str
    ask_na: str
    ask_choice: str
    ask_text: str
    evidence: str
    content_free: tuple[str, ...]

    def asking(self, *, allow_na: bool = False, options: Sequence[str] = (), max_words: int | None = None) -> str:
        """What ``$ask`` says: for a criterion (``allow_na``), a choice field (``options``) or a
        text field (``max_words``)."""
        if max_words is not None:
            return Template(self.ask_text).safe_substitute(max_words=max_words)
        if options:
            return Template(self.ask_choice).safe_substitute(options=", ".join(options))
        return self.ask_na if allow_na else self.ask

    def prompt(self, kind: PromptKind, transcript: str, question: str, ask: str) -> str | list[dict[str, str]]:
        """The prompt up to where the answer follows: the completion form's text, or the chat
        form's messages (the answer is the start of the assistant's reply)."""
        values = {"transcript": transcript, "question": " ".join(question.split()), "ask": ask}
        if kind == "completion":
            return Template(self.completion).safe_substitute(values)
        return [{"role": "system", "content": Template(self.system).safe_substitute(values)},
                {"role": "user", "content": Template(self.user).safe_substitute(values)}]

    def answer_texts(self, kind: PromptKind, options: Sequence[str]) -> dict[str, str]:
        """A criterion's option (yes, no, na) -> the text the model writes for it: the template's
        word, in a completion after a space."""
        words = dict(self.answers)
        return {option: spoken(kind, words[option]) for option in options}


def spoken(kind: PromptKind, word: str) -> str:
    """How the model writes an answer ``word``: in a completion after a space (``answered: true``),
    in a chat as the start of its reply."""
    return (" " if kind == "completion" else "") + word


def statement_prompt(data: Mapping[str, Any]) -> StatementPrompt:
    """The ``statements`` section of a prompt template (YAML, already parsed)."""
    named = {True: "yes", False: "no"}  # YAML reads an unquoted yes and no as booleans
    answers = {named.get(k, str(k)) if isinstance(k, bool) else str(k): str(v).strip()
               for k, v in dict(data["answers"]).items()}
    missing = [option for option in OPTIONS if not answers.get(option)]
    if missing:
        raise ValueError(f"statements.answers needs a word for {', '.join(missing)}")
    if len({answers[o] for o in OPTIONS}) < len(OPTIONS):
        raise ValueError("statements.answers must give each option its own word")
    return StatementPrompt(
        completion=str(data["completion"]).strip("\n"),
        system=str(data["system"]).strip(),
        user=str(data["user"]).strip(),
        answers=tuple((option, answers[option]) for option in OPTIONS),
        ask=str(data["ask"]).strip(),
        ask_na=str(data["ask_na"]).strip(),
        ask_choice=str(data["ask_choice"]).strip(),
        ask_text=str(data["ask_text"]).strip(),
        evidence=str(data["evidence"]),
        content_free=tuple(str(t) for t in data["content_free"]),
    )
