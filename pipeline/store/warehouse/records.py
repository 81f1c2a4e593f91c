"""What the warehouse stores and hands back: the evaluation key that says what "already done"
means, one processed call (``CallRecord``, written in one transaction), and a stored recording."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.intake.audio import AudioInfo, ChannelLayout
from pipeline.intake.inbox import CallFacts
from pipeline.scoring.score import CallScore
from pipeline.scoring.scorecard import Scorecard
from pipeline.speech.metrics import CallMetrics
from pipeline.speech.transcription import NewTranscript


@dataclass(frozen=True)
class EvaluationKey:
    """What 'already done' means: this recording, transcribed and scored by exactly these."""

    recording_id: str
    whisper_model: str
    scorecard_version: str
    prompt_version: str
    llm_model: str


@dataclass(frozen=True)
class CallRecord:
    """Everything one processed recording writes, in one transaction."""

    key: EvaluationKey
    path: Path
    size_bytes: int
    facts: CallFacts
    scorecard: Scorecard
    status: str  # 'scored', 'no_speech' or 'too_short'
    run_id: str
    audio: AudioInfo | None = None  # None when the recording was already stored
    duration_s: float | None = None
    truncated: bool = False
    transcript: NewTranscript | None = None  # None when an earlier transcript was re-used
    score: CallScore | None = None
    metrics: CallMetrics | None = None  # None when nobody spoke
    worker: str | None = None  # the machine or worker that processed it
    channel_layout: ChannelLayout | None = None  # None when the recording was already stored


@dataclass(frozen=True)
class StoredRecording:
    """What the warehouse knows of a recording, enough to score its transcript again."""

    recording_id: str
    path: Path  # where the file was last seen (it need not exist any more)
    size_bytes: int
    duration_s: float | None  # decoded seconds
    facts: CallFacts
