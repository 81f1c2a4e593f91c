"""Does a prepared copy of the LLM (``pipeline.models.prepared``) answer as the original does?
Both score the same stored transcripts of a warehouse, one model after the other, with the
settings' scorecard and style; the share of LLM verdicts that are equal, and each one's LLM
seconds per call, tell whether the copy is exact enough to use and what it saves.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Settings
from pipeline.errors import SetupError
from pipeline.processing.procedure import CallProcessor
from pipeline.scoring.score import CallScore
from pipeline.speech.segments import Segment
from pipeline.store.warehouse.access import open_waiting

EXACT_ENOUGH = 0.98  # the share of verdicts a copy must give as the original does


@dataclass(frozen=True)
class LlmComparison:
    calls: int
    verdicts: int  # LLM verdicts compared, over every call
    equal_verdicts: int
    equal_lines: int  # of those, the same evidence line cited as well
    original_s_per_call: float  # LLM seconds per call
    copy_s_per_call: float

    @property
    def agreement(self) -> float:
        """The share of verdicts the copy gives as the original does (0-1)."""
        return self.equal_verdicts / self.verdicts if self.verdicts else 0.0

    @property
    def exact_enough(self) -> bool:
        return self.verdicts > 0 and self.agreement >= EXACT_ENOUGH

    @property
    def speedup(self) -> float:
        """The original's seconds per call over the copy's."""
        return self.original_s_per_call / self.copy_s_per_call if self.copy_s_per_call else 0.0


def stored_transcripts(settings: Settings, whisper_name: str, *, calls: int) -> list[tuple[Segment, ...]]:
    """Up to ``calls`` transcripts by ``whisper_name`` stored in the settings' warehouse."""
    with open_waiting(settings.db, read_only=True, wait_s=settings.lock_wait_s) as warehouse:
        recordings = warehouse.transcribed_recordings(whisper_name)[:calls]
        transcripts = [warehouse.stored_transcript(recording_id, whisper_name) for recording_id, _ in recordings]
    found = [t for t in transcripts if t]
    if not found:
        raise SetupError(f"no transcript by {whisper_name} is stored in {settings.db}: score some calls first"
                         " (callscore score FOLDER), or give --db a warehouse that has them")
    return found


def compare_llms(settings: Settings, copy: Path, *, calls: int) -> LlmComparison:
    """The settings' LLM against ``copy`` on up to ``calls`` stored transcripts."""
    original = CallProcessor(settings)
    transcripts = stored_transcripts(settings, original.models.whisper_name, calls=calls)
    original_scores, original_s = _score_all(original, transcripts)
    del original  # its model is freed before the copy's is loaded
    copied = CallProcessor(settings.model_copy(update={"llm_model": str(copy)}))
    copy_scores, copy_s = _score_all(copied, transcripts)
    llm_criteria = {criterion.id for criterion in copied.scorecard.llm_criteria}
    verdicts = equal = lines = 0
    for before, after in zip(original_scores, copy_scores):
        given = {v.criterion_id: v for v in after.verdicts}
        for verdict in before.verdicts:
            if verdict.criterion_id not in llm_criteria or verdict.criterion_id not in given:
                continue
            verdicts += 1
            if given[verdict.criterion_id].passed == verdict.passed:
                equal += 1
                lines += given[verdict.criterion_id].evidence_line == verdict.evidence_line
    count = len(transcripts)
    return LlmComparison(count, verdicts, equal, lines, original_s / count, copy_s / count)


def _score_all(processor: CallProcessor, transcripts: list[tuple[Segment, ...]]) -> tuple[list[CallScore], float]:
    """Each transcript's score, and the LLM seconds they took in all (the first call's model load
    and calibration are left out: a warm-up call is scored first)."""
    processor.score(transcripts[0])
    started = time.perf_counter()
    scores = [processor.score(transcript) for transcript in transcripts]
    return scores, time.perf_counter() - started
