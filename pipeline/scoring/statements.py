"""The statement style (``llm_questions: statements``): one criterion at a time over a shared
transcript, each verdict read from the model's next-token probabilities.

Per window of the transcript, each LLM criterion is put as a statement after the same prefix
(the template's text and the numbered transcript: ``pipeline.scoring.statement_prompt``), so
the model evaluates the prefix once and each criterion costs only its statement. The verdict is
the option whose answer word the model finds most probable once calibrated for its lean
(``pipeline.scoring.calibration``); the line it cites is then read as the number that follows
the answer and an evidence cue, among the window's line numbers only. Choice fields are read the
same way (one probability per option), text fields written after their question.

The answer is the same JSON document the form style gives (``{"greeted": {"line": 3,
"verdict": "yes"}, ...}``), read and validated by the scorer as any other, with the calibrated
probabilities as the verdicts' confidences.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

from pipeline.errors import SetupError
from pipeline.scoring.backend import Generation
from pipeline.scoring.calibration import CriterionCalibration, calibration_for, model_identity
from pipeline.scoring.form import LINE_KEY, NO_LINE, TEXT_TOKENS_PER_WORD, VALUE_KEY, VERDICT_KEY
from pipeline.scoring.form_decoder import StatementRead
from pipeline.scoring.prompt import PromptTemplate
from pipeline.scoring.scorecard import Criterion, ExtractionField
from pipeline.scoring.statement_prompt import OPTIONS, YES_NO, PromptKind, spoken

Prompt = str | list[dict[str, str]]
CALIBRATION_FORMAT = 2  # part of a cached lean's key: raised when what a lean means changes


class StatementModel(Protocol):
    """A model that can read statements (``LlamaBackend``): next-token probabilities are needed."""

    model_path: Path
    prompt_kind: PromptKind

    def read_statement(self, prompt: Prompt, answers: Mapping[str, Sequence[str]],
                       decide: Callable[[dict[str, float]], str],
                       evidence: str, numbers: Sequence[int]) -> StatementRead: ...

    def write_text(self, prompt: Prompt, max_words: int) -> tuple[str, int, int, int, int]: ...


@dataclass(frozen=True)
class Question:
    """One thing put to the model: a criterion or an extraction field, as the template asks it."""

    id: str
    question: str
    answers: tuple[tuple[str, tuple[str, ...]], ...]  # option -> the texts the model may write for it (none: text)
    ask: str  # what the template's $ask says
    key: str = VERDICT_KEY  # the answer's key: a criterion's verdict, a field's value
    max_words: int | None = None  # a text field's limit in this window

    @property
    def options(self) -> tuple[str, ...]:
        return tuple(option for option, _ in self.answers)


def _capitalised(text: str) -> str:
    """``text`` with its first letter in upper case (`` true`` -> `` True``)."""
    stripped = text.lstrip(" ")
    return text[: len(text) - len(stripped)] + stripped[:1].upper() + stripped[1:]


class StatementAsker:
    """Answers a window's criteria and fields statement by statement (see the module docstring)."""

    def __init__(self, backend: Any, template: PromptTemplate, *, calibrate: bool = True) -> None:
        """``calibrate``: divide by the model's lean (else the probabilities are taken as read)."""
        if template.statements is None:
            raise SetupError("llm_questions statements needs a prompt template with a statements section")
        if not hasattr(backend, "read_statement"):
            raise SetupError("llm_questions statements reads the model's next-token probabilities: it needs the LLM "
                             "in this process (llm_backend llama), not a server")
        self.backend: StatementModel = backend
        self.prompt = template.statements
        self.version = template.version
        self.calibrations: dict[str, CriterionCalibration] = {}
        self.calibrate_leans = calibrate
        self._model: str | None = None

    def questions(self, criteria: Sequence[Criterion], fields: Sequence[ExtractionField],
                  max_words: Mapping[str, int]) -> list[Question]:
        """The criteria, then the fields, as the template asks them."""
        asked = [Question(c.id, c.question, self._texts(OPTIONS if c.allow_na else YES_NO, words=True),
                          self.prompt.asking(allow_na=c.allow_na)) for c in criteria]
        for f in fields:
            if f.kind == "text":
                words = max_words.get(f.id, f.max_words or 1)
                asked.append(Question(f.id, f.question, (), self.prompt.asking(max_words=words), VALUE_KEY, words))
            else:
                options = tuple(f.options or ())
                asked.append(Question(f.id, f.question, self._texts(options, words=False),
                                      self.prompt.asking(options=options), VALUE_KEY))
        return asked

    def _texts(self, options: Sequence[str], *, words: bool) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """option -> its answer texts: the template's word (``words``: a criterion's yes, no, na)
        or the option itself (after a space in a completion), as written and capitalised: a model
        may answer either way, and the two together are its answer."""
        kind = self.backend.prompt_kind
        texts = self.prompt.answer_texts(kind, options) if words else {o: spoken(kind, o) for o in options}
        return tuple((option, tuple(dict.fromkeys((text, _capitalised(text))))) for option, text in texts.items())

    def reserved_tokens(self, count_tokens: Callable[[str], int], criteria: Sequence[Criterion],
                        fields: Sequence[ExtractionField]) -> int:
        """The context a window's transcript must leave free: the longest prompt around it and
        its answer (the answer word, the evidence cue and a line number, or a text field's words)."""
        most = 0
        for question in self.questions(criteria, fields, {}):
            prompt = self.prompt.prompt(self.backend.prompt_kind, "", question.question, question.ask)
            text = prompt if isinstance(prompt, str) else "".join(m["content"] for m in prompt)
            answer = (question.max_words or 0) * TEXT_TOKENS_PER_WORD + count_tokens(self.prompt.evidence) + 16
            most = max(most, count_tokens(text) + answer)
        return most + 32  # chat markup, a line break at the window's end

    def answer(self, transcript: str, questions: Sequence[Question], line_numbers: Sequence[int]) -> Generation:
        """The window's answer as one JSON document, with each choice's calibrated probabilities."""
        self.calibrate(questions)
        kind = self.backend.prompt_kind
        numbers = [n for n in line_numbers if n != NO_LINE] or [NO_LINE]
        answer: dict[str, dict[str, object]] = {}
        chances: list[dict[str, float]] = []
        cost = [0, 0, 0, 0]  # prompt tokens, of those evaluated, answer tokens, decisions
        for question in questions:
            prompt = self.prompt.prompt(kind, transcript, question.question, question.ask)
            if question.max_words is not None:
                text, *spent = self.backend.write_text(prompt, question.max_words)
                answer[question.id] = {VALUE_KEY: text}
            else:
                calibration = self.calibrations[question.id]
                read = self.backend.read_statement(prompt, dict(question.answers), calibration.decide,
                                                   self.prompt.evidence, numbers)
                answer[question.id] = {LINE_KEY: read.line, question.key: read.option}
                chances.append(calibration.calibrated(read.probabilities))
                spent = [read.prompt_tokens, read.evaluated_prompt_tokens, read.answer_tokens, read.decided_tokens]
            cost = [total + part for total, part in zip(cost, spent)]
        return Generation(text=json.dumps(answer), choice_probabilities=tuple(chances), prompt_tokens=cost[0],
                          completion_tokens=cost[2], evaluated_prompt_tokens=cost[1], decided_tokens=cost[3])

    def calibrate(self, questions: Sequence[Question]) -> None:
        """Each question's lean, from the cache or read on the content-free transcripts (before
        a window is read: reading them later would push the window's transcript out of the cache)."""
        for question in questions:
            if question.id in self.calibrations or not question.answers:  # a text field has no lean
                continue
            if not self.calibrate_leans:
                self.calibrations[question.id] = CriterionCalibration(question.id, {})
                continue
            if self._model is None:
                self._model = model_identity(self.backend.model_path)
            key = {"format": CALIBRATION_FORMAT, "model": self._model, "template": self.version,
                   "kind": self.backend.prompt_kind, "question": " ".join(question.question.split()),
                   "ask": question.ask, "options": question.options}
            lean = calibration_for(key, lambda: self._lean(question))
            self.calibrations[question.id] = CriterionCalibration(question.id, lean)

    def _lean(self, question: Question) -> dict[str, float]:
        """The mean probability of each option but "na" over the content-free transcripts (each
        read renormalised over those options)."""
        kind = self.backend.prompt_kind
        options = [o for o in question.options if o != "na" or question.key != VERDICT_KEY]
        sums = dict.fromkeys(options, 0.0)
        for empty in self.prompt.content_free:
            read = self.backend.read_statement(self.prompt.prompt(kind, empty, question.question, question.ask),
                                               dict(question.answers), lambda p: max(p, key=lambda o: p[o]),
                                               self.prompt.evidence, [1])
            total = sum(read.probabilities[o] for o in options) or 1.0
            for option in options:
                sums[option] += read.probabilities[option] / total / len(self.prompt.content_free)
        return {option: round(p, 6) for option, p in sums.items()}
