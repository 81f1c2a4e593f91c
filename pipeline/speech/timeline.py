"""Who spoke when: the intervals a call page draws as its timeline strip, from the segments and
by the KPI definitions of ``pipeline.speech.metrics`` (silences over ``NON_TALK_MIN_S``,
interruptions of at least ``INTERRUPTION_MIN_OVERLAP_S``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from pipeline.intake.audio import Speaker
from pipeline.speech.metrics import SPEAKERS, Interval, interruption_spans, merge, non_talk
from pipeline.speech.segments import Segment


@dataclass(frozen=True)
class Interruption:
    speaker: Speaker  # who started talking over the other
    start: float  # seconds from the start of the recording
    end: float  # when the overlap ends


@dataclass(frozen=True)
class Timeline:
    """Times in seconds from the start of the recording."""

    length: float  # the recording's duration, or the last word's end when that is later or unknown
    speech: dict[Speaker, list[Interval]]  # merged intervals of each speaker heard
    silences: list[Interval]  # stretches over NON_TALK_MIN_S where nobody speaks, first to last word
    interruptions: list[Interruption]


def call_timeline(segments: Sequence[Segment], duration_s: float | None = None) -> Timeline:
    """The call's timeline (empty when nobody spoke)."""
    speech: dict[Speaker, list[Interval]] = {}
    for speaker in ("agent", "customer", "unknown"):
        intervals = merge((s.start, s.end) for s in segments if s.speaker == speaker)
        if intervals:
            speech[speaker] = intervals  # type: ignore[index]
    everyone = merge((s.start, s.end) for s in segments)
    silences = non_talk(everyone)
    found = []
    if set(speech) == set(SPEAKERS):
        for speaker, other in (("agent", "customer"), ("customer", "agent")):
            found += [Interruption(speaker, start, end)  # type: ignore[arg-type]
                      for start, end in interruption_spans(speech[speaker], speech[other])]  # type: ignore[index]
    last_word = everyone[-1][1] if everyone else 0.0
    return Timeline(max(duration_s or 0.0, last_word), speech, silences, sorted(found, key=lambda i: i.start))
