"""Sentiment per speaker over the call, without the LLM: VADER (``vaderSentiment``), a lexicon
and rules made for short conversational English, scores each segment; the scores are averaged,
weighted by words, per speaker per quarter of the conversation (first spoken word to last,
each segment in the quarter its midpoint falls in).

A segment's score is VADER's compound score, -1 (most negative) to 1 (most positive). The
lexicon is English only: for a call in another language (or one whose language is not known)
nothing is measured and ``CallSentiment.note`` says why; a scorecard ``choice`` field can ask the
LLM instead. Without speaker separation (mono) the quarters are speaker ``unknown``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

from pipeline.speech.segments import Segment

QUARTERS = 4
LEXICON_LANGUAGE = "en"


@dataclass(frozen=True)
class QuarterSentiment:
    """One speaker's sentiment in one quarter of the call."""

    speaker: str
    quarter: int  # 1-4
    sentiment: float  # -1..1, the word-weighted mean of the segments' compound scores
    words: int  # the words it is measured on


@dataclass(frozen=True)
class CallSentiment:
    """Each speaker's sentiment per quarter (quarters they said nothing in are left out)."""

    quarters: tuple[QuarterSentiment, ...]
    note: str | None = None  # why nothing (or not everything) was measured

    def of(self, speaker: str, quarter: int) -> float | None:
        """``speaker``'s sentiment in ``quarter`` (1-4), None when they said nothing then."""
        return next((q.sentiment for q in self.quarters if q.speaker == speaker and q.quarter == quarter), None)


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()  # reads its lexicon once per process (about 0.1 s)


def segment_sentiment(text: str) -> float:
    """VADER's compound score of ``text``, -1..1."""
    return float(_analyzer().polarity_scores(text)["compound"])


def measure_sentiment(segments: Sequence[Segment], language: str | None) -> CallSentiment:
    """Each speaker's sentiment per quarter of the call in ``language`` (its code; None: not known)."""
    if language is None:
        return CallSentiment((), "sentiment not measured: the call's language is not known")
    if language.split("-")[0].lower() != LEXICON_LANGUAGE:
        return CallSentiment((), f"sentiment not measured: the lexicon is English, the call is in {language!r}")
    spoken = [s for s in segments if s.text.split()]
    if not spoken:
        return CallSentiment((), "sentiment not measured: nobody spoke")
    first, last = min(s.start for s in spoken), max(s.end for s in spoken)
    length = max(last - first, 1e-9)
    sums: dict[tuple[str, int], list[float]] = {}  # (speaker, quarter) -> [weighted sum, words]
    for s in spoken:
        middle = (s.start + s.end) / 2
        quarter = min(QUARTERS, 1 + int((middle - first) / length * QUARTERS))
        words = len(s.text.split())
        total = sums.setdefault((s.speaker, quarter), [0.0, 0])
        total[0] += segment_sentiment(s.text) * words
        total[1] += words
    quarters = tuple(QuarterSentiment(speaker, quarter, round(weighted / words, 4), int(words))
                     for (speaker, quarter), (weighted, words) in sorted(sums.items()))
    return CallSentiment(quarters)
