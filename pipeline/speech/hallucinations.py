"""Text Whisper made up rather than heard: on silence, or in a loop.

Whisper's figures for a 30 s window (``avg_logprob``, ``no_speech_prob``, ``compression_ratio``)
are shared by every segment decoded from it. A window whose text compresses too well (ratio over
``MAX_COMPRESSION_RATIO``) ran into a loop; Whisper's answer, decoding it again at a higher
temperature, samples and is not repeatable (``transcribe.DECODING_TEMPERATURES``), so callscore
keeps such a window's sentences that are heard once and drops its repeating ones (``drop_loops``).
"""

from __future__ import annotations

import re
import zlib
from itertools import groupby
from typing import Any, Iterable, Sequence

from pipeline.speech.segments import Segment

# Whisper's own thresholds for "this window is silence" and "this text is degenerate".
NO_SPEECH_PROB = 0.6
LOW_AVG_LOGPROB = -1.0
MAX_COMPRESSION_RATIO = 2.4
MAX_SAME_TEXT_IN_A_ROW = 2  # a third identical segment in a row is a loop
_REPEATED_PHRASE = re.compile(r"(\b.{2,40}?\b)(?:[\s,.!?-]+\1\b){3,}", re.IGNORECASE)
LOOP_NGRAM_WORDS = 3  # a segment sharing this many words in a row with another of its window loops


def is_hallucination(text: str, avg_logprob: float, no_speech_prob: float, compression_ratio: float) -> bool:
    """True for text Whisper made up: on silence (likely no speech and low confidence), or a
    loop (highly compressible text, or one phrase four times over)."""
    if no_speech_prob > NO_SPEECH_PROB and avg_logprob < LOW_AVG_LOGPROB:
        return True
    if compression_ratio > MAX_COMPRESSION_RATIO:
        return True
    return bool(_REPEATED_PHRASE.search(text))


class RepeatGuard:
    """Remembers, per speaker, the last text kept and how many times in a row it came, so that a
    loop is caught across channels and chunks of one recording. One per recording."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[str, int]] = {}

    def allows(self, segment: Segment) -> bool:
        """Count ``segment``; False for a third (or later) identical text in a row."""
        key = segment.text.lower().strip(" .!?,")
        previous, times = self._last.get(segment.speaker, ("", 0))
        times = times + 1 if key == previous else 1
        self._last[segment.speaker] = (key, times)
        return times <= MAX_SAME_TEXT_IN_A_ROW


def text_compression_ratio(text: str) -> float:
    """How much zlib shrinks ``text`` (bytes before / after), as Whisper measures a window's text:
    over 2.4, the text repeats itself."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def drop_hallucinations(segments: Iterable[Segment], *, repeats: RepeatGuard | None = None) -> list[Segment]:
    """Keep real speech: drop hallucinated segments and runs of one text repeated per speaker.
    A loop is judged on each segment's own text: Whisper's ``compression_ratio`` is its 30 s
    window's, and one window that ends in a loop ("I am not a god, I am not a god, ...") would
    take the sentences heard before it down with it (without the temperature fallback nothing
    decodes that window again; ``Transcriber`` drops a looping Whisper segment whole before it is
    cut at pauses). Pass one ``repeats`` to successive calls to count runs across them."""
    repeats = RepeatGuard() if repeats is None else repeats
    kept: list[Segment] = []
    for segment in segments:
        if not segment.text or is_hallucination(
            segment.text, segment.avg_logprob, segment.no_speech_prob, text_compression_ratio(segment.text)
        ):
            continue
        if repeats.allows(segment):
            kept.append(segment)
    return kept


def _word_ngrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + LOOP_NGRAM_WORDS]) for i in range(len(words) - LOOP_NGRAM_WORDS + 1)}


def drop_loops(segments: Sequence[Any]) -> list[Any]:
    """faster-whisper's segments without their loops. A segment whose own text compresses too well
    is dropped; in a window that compresses too well, so is each segment that shares
    ``LOOP_NGRAM_WORDS`` words in a row with another segment of that window ("I am not even a fan
    of the fan" five times, as separate segments). The window's other sentences stay. A window is
    the run of segments with one ``seek`` and one set of window figures."""
    kept = []
    for _, grouped in groupby(segments, key=lambda s: (s.seek, s.compression_ratio, s.avg_logprob)):
        window = list(grouped)
        failed = window[0].compression_ratio > MAX_COMPRESSION_RATIO
        grams = [_word_ngrams(s.text) for s in window]
        for index, segment in enumerate(window):
            repeated = failed and any(grams[index] & other for j, other in enumerate(grams) if j != index)
            if text_compression_ratio(segment.text) <= MAX_COMPRESSION_RATIO and not repeated:
                kept.append(segment)
    return kept
