"""The timed text of a call: one ``Segment`` per stretch of one speaker's speech, and how a
segment's speaker and time are written in transcripts shown to people and to the LLM."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.intake.audio import Speaker

SPEAKER_LABELS = {"agent": "AGENT", "customer": "CUSTOMER", "unknown": "SPEAKER"}


@dataclass(frozen=True)
class Segment:
    """A stretch of speech by one speaker. Times in seconds from the start of the recording."""

    speaker: Speaker
    channel: int
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


def timestamp(seconds: float) -> str:
    """'01:05' for 65 s, '1:02:05' past an hour."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
