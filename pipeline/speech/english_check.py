"""Whether an English-only Whisper model (tiny.en, distil-large-v3) heard English.

Such a model writes English whatever is spoken: a Russian call came out as "I'm going to go to
the church in Belgrade…". Its own transcript gives it away. Measured with tiny.en at temperature
0 (bench/english_check.py) on 17 English calls and on 10 calls in Russian, Czech, German,
French, Spanish and Turkish:

- English: 2.2-2.75 words per second of speech, mean log probability -0.30 to -0.54;
- the others: 0-1.22 words per second (most of what is said is dropped as hallucination or
  never decoded) or, where the words came (a German call at 2.6 per second), a mean log
  probability of -1.07 to -2.11. All 10 flagged, no English call.

A call is ``suspect`` below either bound. Whisper's own threshold for a failed decode is a log
probability of -1.0; an English speaker at normal pace says 2-3 words per second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from pipeline.speech.segments import Segment

MIN_WORDS_PER_SPEECH_SECOND = 1.0  # fewer words per second of speech (VAD) than this: not heard
MIN_MEAN_LOGPROB = -1.0  # kept text less probable than this (seconds-weighted mean): made up
MIN_SPEECH_S = 3.0  # seconds of speech needed to judge at all
MAX_MEAN_WINDOW_COMPRESSION = 2.4  # kept text from windows Whisper looped in (seconds-weighted mean)


@dataclass(frozen=True)
class EnglishCheck:
    """What an English-only model's transcript of one call says about its language."""

    speech_s: float  # seconds of speech Silero VAD found, all channels
    words: int  # words kept in the transcript
    mean_logprob: float | None  # seconds-weighted mean of the kept segments' avg_logprob; None: no text
    mean_compression: float | None = None  # likewise of their windows' compression_ratio

    @property
    def words_per_speech_second(self) -> float | None:
        return self.words / self.speech_s if self.speech_s > 0 else None

    @property
    def suspect(self) -> bool:
        """Probably not English: too few words for the speech heard, or text that is made up (of
        low probability, or from windows Whisper looped in)."""
        if self.speech_s < MIN_SPEECH_S:
            return False
        rate = self.words_per_speech_second or 0.0
        return (rate < MIN_WORDS_PER_SPEECH_SECOND
                or (self.mean_logprob is not None and self.mean_logprob < MIN_MEAN_LOGPROB)
                or (self.mean_compression is not None and self.mean_compression > MAX_MEAN_WINDOW_COMPRESSION))


def check_english(segments: Sequence[Segment], speech_s: float) -> EnglishCheck:
    """The check for a call's kept ``segments`` and its ``speech_s`` seconds of speech."""
    weights = [max(s.end - s.start, 0.0) for s in segments]
    total = sum(weights)

    def mean(values: list[float]) -> float | None:
        return sum(v * w for v, w in zip(values, weights)) / total if total > 0 else None

    return EnglishCheck(round(speech_s, 3), sum(len(s.text.split()) for s in segments),
                        mean([s.avg_logprob for s in segments]), mean([s.compression_ratio for s in segments]))
