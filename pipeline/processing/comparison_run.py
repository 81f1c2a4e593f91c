"""``callscore eval --compare``: the labelled calls re-scored from their stored transcripts by
each candidate (an LLM file, a prompt template and a scoring style), the LLM and rules only, in
memory: nothing is written to the warehouse, so the KPI views never see a candidate's answers.
The figures are ``pipeline/report/comparison.py``'s."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from pipeline.config import Settings
from pipeline.processing.procedure import CallProcessor
from pipeline.report.comparison import CandidateAnswers
from pipeline.scoring.prompt import load_prompt_template
from pipeline.speech.segments import Segment
from pipeline.store.warehouse import Warehouse

STYLES = ("llm_questions", "llm_answer_order", "llm_evidence")  # the settings a candidate may change


@dataclass(frozen=True)
class Candidate:
    """One way of scoring: ``llm_model`` and ``prompt`` (None: the settings' and the shipped
    template) and scoring-style settings (setting name -> value)."""

    llm_model: Path | None = None
    prompt: Path | None = None
    style: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        parts = [self.llm_model.name if self.llm_model else "default LLM"]
        parts += [self.prompt.name] if self.prompt else []
        parts += [f"{key.removeprefix('llm_')}={value}" for key, value in self.style.items()]
        return ", ".join(parts)


def candidates_of(models: Sequence[Path], prompts: Sequence[Path], styles: Mapping[str, Sequence[str]]) -> list[Candidate]:
    """Every combination of the models, prompts and style values given (an empty list: the settings')."""
    style_names = [name for name in STYLES if styles.get(name)]
    combos = itertools.product(models or [None], prompts or [None],
                               *[styles[name] for name in style_names])
    return [Candidate(model, prompt, dict(zip(style_names, values))) for model, prompt, *values in combos]


@dataclass(frozen=True)
class StoredCall:
    """A labelled call's stored transcript, as its latest evaluation of the scorecard version used it."""

    recording_id: str
    segments: tuple[Segment, ...]
    language: str | None


def stored_calls(warehouse: Warehouse, recording_ids: Sequence[str], scorecard_version: str) -> list[StoredCall]:
    """The calls among ``recording_ids`` whose transcript is stored, in that order."""
    calls = []
    for recording_id in recording_ids:
        row = warehouse.connection.execute(
            "SELECT whisper_model FROM call_scores WHERE recording_id = ? AND scorecard_version = ? AND is_latest",
            [recording_id, scorecard_version]).fetchone()
        segments = warehouse.stored_transcript(recording_id, row[0]) if row else None
        if segments:
            calls.append(StoredCall(recording_id, segments, warehouse.stored_language(recording_id, row[0])))
    return calls


def rescore(settings: Settings, candidate: Candidate, calls: Sequence[StoredCall], *,
            on_call: Callable[[], None] | None = None) -> CandidateAnswers:
    """``candidate``'s answers to every criterion and choice field of ``calls``, with its mean
    seconds per call (scoring only: the model is loaded before the clock starts)."""
    update = {**dict(candidate.style), **({"llm_model": candidate.llm_model} if candidate.llm_model else {})}
    processor = CallProcessor(settings.model_copy(update=update))
    if candidate.prompt is not None:
        processor.template = load_prompt_template(candidate.prompt, statements=processor.style.questions == "statements")
    choice_fields = set(processor.scorecard.choice_options)
    processor.scorer  # noqa: B018  (loads the model outside the timing)
    answers: dict[tuple[str, str], str] = {}
    started = time.perf_counter()
    for call in calls:
        score = processor.score(call.segments, language=call.language)
        for verdict in score.verdicts:
            answers[(call.recording_id, verdict.criterion_id)] = (
                "na" if verdict.passed is None else "yes" if verdict.passed else "no")
        for extraction in score.extractions:
            if extraction.field_id in choice_fields:
                answers[(call.recording_id, extraction.field_id)] = extraction.value
        if on_call:
            on_call()
    seconds = (time.perf_counter() - started) / len(calls) if calls else None
    return CandidateAnswers(candidate.name, answers, seconds)
