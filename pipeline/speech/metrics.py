"""Conversation measures from timed segments: talk ratio, non-talk, interruptions, speaking rate
and monologues, as defined in docs/warehouse.md "KPI definitions". Plain interval arithmetic, no model.

Times are seconds from the start of the recording. A speaker's talk time is the union of their
segments (segments are already cut at pauses over 1 s, see ``transcribe.SPLIT_GAP_S``). A mono
recording has no speaker separation, so per-speaker figures are None (NULL in the warehouse).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from pipeline.speech.segments import Segment
from pipeline.speech.sentiment import QUARTERS, CallSentiment, measure_sentiment

NON_TALK_MIN_S = 3.0  # silences longer than this are non-talk time
INTERRUPTION_MIN_OVERLAP_S = 0.3  # talking over the other speaker for less than this is not an interruption
SPEAKERS = ("agent", "customer")
_WORD = re.compile(r"\w")

Interval = tuple[float, float]


@dataclass(frozen=True)
class SpeakerMetrics:
    """One side of a stereo call."""

    talk_s: float  # union of this speaker's segments
    talk_ratio: float  # talk_s / conversation duration, 0-1
    words: int
    words_per_minute: float | None  # words per minute of this speaker's talk time
    interruptions: int  # times this speaker started talking over the other for >= 0.3 s
    interruption_s: float  # seconds of overlap in those interruptions
    longest_monologue_s: float  # longest stretch of this speaker alone, pauses <= 3 s included
    # -1..1, this speaker's sentiment in the first and the last quarter of the call, and last - first
    # (pipeline.speech.sentiment); None when not measured or they said nothing in that quarter
    sentiment_first: float | None = None
    sentiment_last: float | None = None
    sentiment_change: float | None = None


@dataclass(frozen=True)
class CallMetrics:
    """Per-call measures; ``agent``/``customer`` are None without speaker separation."""

    speaker_separated: bool
    conversation_s: float  # first spoken word to last
    talk_s: float  # someone is speaking
    non_talk_s: float  # silences longer than 3 s (hold included)
    non_talk_ratio: float  # non_talk_s / conversation_s
    silences: int  # number of those silences
    longest_silence_s: float  # longest gap between speech, any length
    overlap_s: float  # both speakers at once (0 without separation)
    words: int
    words_per_minute: float | None  # all words over talk_s
    agent: SpeakerMetrics | None
    customer: SpeakerMetrics | None
    sentiment: CallSentiment | None = None  # per speaker per quarter; None when not asked for

    @property
    def longest_monologue_s(self) -> float | None:
        sides = [s.longest_monologue_s for s in (self.agent, self.customer) if s is not None]
        return max(sides) if sides else None


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Union of intervals as sorted, non-overlapping intervals (touching ones joined)."""
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def total(intervals: Iterable[Interval]) -> float:
    return sum(end - start for start, end in intervals)


def gaps(intervals: Sequence[Interval]) -> list[float]:
    """Lengths of the silences between merged intervals."""
    return [b[0] - a[1] for a, b in zip(intervals, intervals[1:])]


def non_talk(speech: Sequence[Interval]) -> list[Interval]:
    """The silences longer than ``NON_TALK_MIN_S`` between merged intervals (start, end in s)."""
    return [(a[1], b[0]) for a, b in zip(speech, speech[1:]) if b[0] - a[1] > NON_TALK_MIN_S]


def intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Intersection of two merged interval lists."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """Parts of merged intervals ``a`` not covered by merged intervals ``b``."""
    out = []
    for start, end in a:
        cursor = start
        for b_start, b_end in b:
            if b_end <= cursor or b_start >= end:
                continue
            if b_start > cursor:
                out.append((cursor, b_start))
            cursor = max(cursor, b_end)
        if cursor < end:
            out.append((cursor, end))
    return out


def interruption_spans(speaker: Sequence[Interval], other: Sequence[Interval]) -> list[Interval]:
    """The overlaps (start, end in seconds) where ``speaker`` starts while ``other`` is already
    talking and both go on together for at least ``INTERRUPTION_MIN_OVERLAP_S``."""
    spans = []
    for start, end in speaker:
        for o_start, o_end in other:
            if o_start < start < o_end:
                if min(end, o_end) - start >= INTERRUPTION_MIN_OVERLAP_S:
                    spans.append((start, min(end, o_end)))
                break
    return spans


def interruptions(speaker: Sequence[Interval], other: Sequence[Interval]) -> tuple[int, float]:
    """(count, overlap seconds) of ``speaker``'s interruptions (``interruption_spans``)."""
    spans = interruption_spans(speaker, other)
    return len(spans), total(spans)


def longest_monologue(speaker: Sequence[Interval], other: Sequence[Interval]) -> float:
    """Longest stretch where only ``speaker`` talks: their speech with the other's taken out,
    joined across pauses of at most ``NON_TALK_MIN_S`` in which the other says nothing."""
    alone = subtract(speaker, other)
    best, run_start, run_end = 0.0, None, None
    for start, end in alone:
        joins = (
            run_end is not None
            and start - run_end <= NON_TALK_MIN_S
            and not any(o_start < start and o_end > run_end for o_start, o_end in other)
        )
        if not joins:
            run_start = start
        run_end = end
        best = max(best, run_end - run_start)
    return best


def count_words(segments: Iterable[Segment]) -> int:
    return sum(1 for s in segments for token in s.text.split() if _WORD.search(token))


# Languages written without spaces between words: a count of space-separated "words" is not one
# of words (a Japanese call read as 33.5 words per minute), so their speaking rate is NULL.
UNSPACED_LANGUAGES = frozenset({"ja", "zh", "yue", "th", "lo", "km", "my", "bo"})


def _rate(words: int, seconds: float, language: str | None) -> float | None:
    """Words per minute of ``seconds`` of talk; None without talk or words to count."""
    if seconds <= 0 or language in UNSPACED_LANGUAGES:
        return None
    return round(words / (seconds / 60), 1)


def compute_metrics(segments: Sequence[Segment], *, language: str | None = None) -> CallMetrics | None:
    """Measures of one call, or None when nobody spoke; ``language``: the code of the language it
    was transcribed in, for sentiment (measured in English only; None: not known, not measured)
    and the speaking rate (None in ``UNSPACED_LANGUAGES``)."""
    if not segments:
        return None
    sentiment = measure_sentiment(segments, language)
    speech = merge((s.start, s.end) for s in segments)
    first, last = speech[0][0], speech[-1][1]
    duration = last - first
    silence = gaps(speech)
    non_talk_gaps = [end - start for start, end in non_talk(speech)]
    talk_s = total(speech)
    words = count_words(segments)

    separated = {s.speaker for s in segments} <= set(SPEAKERS)
    sides: dict[str, SpeakerMetrics | None] = {"agent": None, "customer": None}
    overlap_s = 0.0
    if separated:
        by_speaker = {sp: merge((s.start, s.end) for s in segments if s.speaker == sp) for sp in SPEAKERS}
        overlap_s = total(intersect(by_speaker["agent"], by_speaker["customer"]))
        for speaker, other in (("agent", "customer"), ("customer", "agent")):
            own, theirs = by_speaker[speaker], by_speaker[other]
            own_words = count_words(s for s in segments if s.speaker == speaker)
            count, seconds = interruptions(own, theirs)
            sides[speaker] = SpeakerMetrics(
                talk_s=round(total(own), 3),
                talk_ratio=round(total(own) / duration, 4) if duration > 0 else 0.0,
                words=own_words,
                words_per_minute=_rate(own_words, total(own), language),
                interruptions=count,
                interruption_s=round(seconds, 3),
                longest_monologue_s=round(longest_monologue(own, theirs), 3),
                **_sentiment_figures(sentiment, speaker),
            )
    return CallMetrics(
        speaker_separated=separated,
        conversation_s=round(duration, 3),
        talk_s=round(talk_s, 3),
        non_talk_s=round(sum(non_talk_gaps), 3),
        non_talk_ratio=round(sum(non_talk_gaps) / duration, 4) if duration > 0 else 0.0,
        silences=len(non_talk_gaps),
        longest_silence_s=round(max(silence, default=0.0), 3),
        overlap_s=round(overlap_s, 3),
        words=words,
        words_per_minute=_rate(words, talk_s, language),
        agent=sides["agent"],
        customer=sides["customer"],
        sentiment=sentiment,
    )


def _sentiment_figures(sentiment: CallSentiment, speaker: str) -> dict[str, float | None]:
    """``SpeakerMetrics``' sentiment fields for ``speaker``."""
    first, last = sentiment.of(speaker, 1), sentiment.of(speaker, QUARTERS)
    change = round(last - first, 4) if first is not None and last is not None else None
    return {"sentiment_first": first, "sentiment_last": last, "sentiment_change": change}
