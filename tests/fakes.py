"""Stand-ins for the two models, for logic tests that need no real model (the fast tier): a
``FakeBackend`` that answers every scorecard prompt as told (or raises what is queued, to
inject a fault), and a ``FakeTranscriber`` that 'hears' the same segments in every recording.
The real models are tested in their own tier (``slow``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from pipeline.config import load_settings
from pipeline.intake.audio import AudioChunk
from pipeline.processing.procedure import CallProcessor
from pipeline.scoring.backend import Generation
from pipeline.scoring.form import NO_LINE, VERDICT_KEY, AnswerForm, FormField
from pipeline.speech.segments import Segment
from pipeline.speech.language import LanguageDecision
from pipeline.speech.transcribe import DeviceChoice, HeardCall

HELLO = (
    Segment("agent", 0, 0.5, 3.0, "Thank you for calling Northwind Energy, this is Sam.", -0.2, 0.01, 1.2),
    Segment("customer", 1, 3.4, 6.0, "Hi, I would like to pay my bill please.", -0.3, 0.02, 1.1),
)


class FakeBackend:
    """Answers ``verdict`` (yes/no/na) to every criterion asked, with probability 0.9, citing
    ``line`` (0: none; a line outside the transcript too, as a server ignoring the schema might);
    an extraction field gets ``values[field id]`` (else its first option, or ``text`` for a text
    field: cut to the field's limit only by the scorer); a queued exception is raised by the next
    generation instead (``enqueue``)."""

    name = "fake-llm"
    n_ctx = 4096

    def __init__(self, verdict: str = "yes", *, line: int = NO_LINE, values: dict[str, str] | None = None,
                 text: str = "The customer asked about a bill and the agent explained it.") -> None:
        self.verdict = verdict
        self.line = line
        self.values = values or {}
        self.text = text
        self.queued: list[BaseException] = []
        self.prompts: list[list[dict[str, str]]] = []

    def enqueue(self, error: BaseException) -> None:
        self.queued.append(error)

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    def generate_json(self, messages: list[dict[str, str]], schema: dict, *, max_tokens: int) -> Generation:
        self.prompts.append(messages)
        if self.queued:
            raise self.queued.pop(0)
        ids = list(schema["properties"])
        text = json.dumps({i: {"evidence": "", "verdict": self.verdict} for i in ids})
        return Generation(text, tuple({self.verdict: 0.9} for _ in ids), prompt_tokens=100, completion_tokens=20)

    def fill_form(self, messages: list[dict[str, str]], form: AnswerForm, *, max_tokens: int) -> Generation:
        self.prompts.append(messages)
        if self.queued:
            raise self.queued.pop(0)
        answers = {f.id: (self.line, self._answer(f)) for f in form.fields}
        chances = tuple({answers[f.id][1]: 0.9} for f in form.fields if not f.is_text)
        return Generation(form.text(answers), chances, prompt_tokens=100, completion_tokens=20,
                          decided_tokens=len(form.fields) * 2)

    def _answer(self, item: FormField) -> str:
        if item.key == VERDICT_KEY:
            return self.verdict
        return self.values.get(item.id, self.text if item.is_text else item.options[0])


class FakeTranscriber:
    """Hears ``segments`` in every recording (the audio is decoded all the same), in the
    language asked for (English when none is)."""

    choice = DeviceChoice("cpu", "int8")

    def __init__(self, segments: tuple[Segment, ...] = HELLO) -> None:
        self.segments = segments
        self.calls = 0
        self.languages: list[str | None] = []  # the language asked for, per call

    def transcribe_call(self, chunks: Iterable[AudioChunk], *, language: str | None = None) -> HeardCall:
        self.calls += 1
        self.languages.append(language)
        for _ in chunks:  # decode it, as the real one does
            pass
        return HeardCall(list(self.segments), LanguageDecision(language or "en", None, "given" if language else "model"))


def fake_processor(db: Path, scorecard: Path, *, backend: FakeBackend | None = None,
                   transcriber: FakeTranscriber | None = None) -> CallProcessor:
    """A processor for ``db`` and ``scorecard`` whose models are fakes."""
    return CallProcessor(load_settings({"db": db, "scorecard": scorecard}), backend=backend or FakeBackend(),
                         transcriber=transcriber or FakeTranscriber())
