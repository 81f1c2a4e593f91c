"""Rule criteria: conditions on what was said, when, and how the conversation went, checked in
plain code on a call's timed segments and its ``CallMetrics`` (no model).

A condition is exactly one of:

- ``said``: a phrase (or a regular expression) in one speaker's words, optionally within a time
  window; ``not_said``: the same, negated;
- ``metric``: a ``CallMetrics`` figure between ``min`` and ``max`` (both inclusive);
- ``all`` / ``any``: a list of conditions, nestable.

Words are compared case- and punctuation-insensitively (apostrophes dropped: "I'm" = "im"), and
with a tolerance for ASR spelling variants: a phrase of k words matches a run of k-1 to k+1
words that is the same with spaces removed ("north wind energy" matches "Northwind Energy"), or
a run of k words that, spaces removed, is at least ``FUZZY_MIN_SIMILARITY`` similar to it
("Northwinds Energy"). A regular expression is searched, case-insensitively, in the
same normalised words (case-folded, "ё" read as "е", single spaces, no punctuation; with
``ignore_accents: true`` on the rule, also without accents, so Czech "dekuji" matches "děkuji"). Each speaker's words are matched
as one stream (a phrase may run across that speaker's segments, never across speakers).

Times: a word's moment is placed inside its segment linearly by character position between the
segment's start and end (seconds from the start of the recording). Windows are relative to the
conversation, from its first spoken word (``first_s``, ``from_s``/``to_s``, ``first_fraction``)
or back from its last (``last_s``, ``last_fraction``); a match counts when the moment its first
word is said lies in the window, both ends included.

Verdicts are three-valued: a condition that cannot be judged on a call (a per-speaker phrase or
figure on a recording without speaker separation) is None, "not applicable"; ``all`` is false
when any part is false, else None when any part is None; ``any`` is true when any part is true,
else None when any part is None.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from rapidfuzz import fuzz

from pipeline.speech.metrics import CallMetrics, SpeakerMetrics
from pipeline.speech.segments import SPEAKER_LABELS, Segment, timestamp

FUZZY_MIN_SIMILARITY = 85  # rapidfuzz ratio, 0-100, of a phrase against as many words, spaces removed
MATCH_EXCERPT_MAX_CHARS = 160  # a quoted match is cut to about this many characters around the match
SEPARATED_SPEAKERS = ("agent", "customer")

RuleSpeaker = Literal["agent", "customer", "any"]

_TOKEN = re.compile(r"[\w'’]+")
_APOSTROPHES = str.maketrans("", "", "'’")
_SAME_LETTERS = str.maketrans({"ё": "е"})  # letters written either way; case-folded first


def _metric_names() -> tuple[str, ...]:
    call = [f.name for f in dataclasses.fields(CallMetrics)
            if f.name not in ("speaker_separated", "sentiment", *SEPARATED_SPEAKERS)]
    side = [f"{speaker}_{f.name}" for speaker in SEPARATED_SPEAKERS for f in dataclasses.fields(SpeakerMetrics)]
    return (*call, "longest_monologue_s", *side)


METRIC_NAMES = _metric_names()  # CallMetrics fields, and SpeakerMetrics fields as agent_* / customer_*


def fold_word(word: str) -> str:
    """A word as rules compare it: case-folded, apostrophes dropped, "ё" as "е"."""
    return word.casefold().translate(_APOSTROPHES).translate(_SAME_LETTERS)


def strip_accents(text: str) -> str:
    """``text`` without combining accents: "děkuji" -> "dekuji"."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def normalise_words(text: str) -> list[str]:
    """Folded words without punctuation (``fold_word``): "I'm sorry!" -> ['im', 'sorry']."""
    return [word for word in (fold_word(token) for token in _TOKEN.findall(text)) if word]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Within(_Model):
    """A time window of the conversation, in seconds or as a share of its duration; give one of
    ``first_s``, ``last_s``, ``from_s`` with ``to_s``, ``first_fraction``, ``last_fraction``."""

    first_s: float | None = Field(None, gt=0)  # the first N seconds after the first spoken word
    last_s: float | None = Field(None, gt=0)  # the last N seconds before the last spoken word
    from_s: float | None = Field(None, ge=0)  # seconds after the first spoken word ...
    to_s: float | None = Field(None, gt=0)  # ... up to these seconds after it
    first_fraction: float | None = Field(None, gt=0, le=1)  # the first share (0-1] of the conversation
    last_fraction: float | None = Field(None, gt=0, le=1)  # the last share (0-1] of the conversation

    @model_validator(mode="after")
    def _one_form(self) -> Within:
        given = {name for name, value in self if value is not None}
        if given not in ({"first_s"}, {"last_s"}, {"from_s", "to_s"}, {"first_fraction"}, {"last_fraction"}):
            raise ValueError("give one of first_s, last_s, from_s with to_s, first_fraction, last_fraction")
        if self.from_s is not None and self.to_s is not None and self.from_s >= self.to_s:
            raise ValueError(f"from_s ({self.from_s:g}) must be less than to_s ({self.to_s:g})")
        return self

    def bounds(self, start: float, end: float) -> tuple[float, float]:
        """(from, to) in recording seconds for a conversation from ``start`` to ``end``."""
        duration = end - start
        if self.first_s is not None:
            return start, start + self.first_s
        if self.last_s is not None:
            return end - self.last_s, end
        if self.from_s is not None and self.to_s is not None:
            return start + self.from_s, start + self.to_s
        if self.first_fraction is not None:
            return start, start + self.first_fraction * duration
        assert self.last_fraction is not None
        return end - self.last_fraction * duration, end

    def describe(self) -> str:
        if self.first_s is not None:
            return f"first {self.first_s:g} s"
        if self.last_s is not None:
            return f"last {self.last_s:g} s"
        if self.from_s is not None:
            return f"{self.from_s:g}-{self.to_s:g} s"
        if self.first_fraction is not None:
            return f"first {self.first_fraction:.0%}"
        return f"last {self.last_fraction:.0%}"


class Said(_Model):
    """Words of one speaker: any of ``phrases``, or a match of ``regex``, within an optional window."""

    speaker: RuleSpeaker = "agent"
    phrases: tuple[str, ...] | None = Field(None, min_length=1)
    regex: str | None = None
    within: Within | None = None
    ignore_accents: bool | None = None  # true: match phrases without their accents ("dekuji" = "děkuji")

    @field_validator("phrases")
    @classmethod
    def _phrases_have_words(cls, phrases: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if phrases is None:
            return None
        for phrase in phrases:
            if not normalise_words(phrase):
                raise ValueError(f"phrase {phrase!r} has no words")
        return tuple(" ".join(p.split()) for p in phrases)

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, regex: str | None) -> str | None:
        if regex is not None:
            try:
                re.compile(regex)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {regex!r}: {exc}") from None
            if re.fullmatch(regex, "", re.IGNORECASE):
                raise ValueError(f"regular expression {regex!r} matches empty text")
        return regex

    @model_validator(mode="after")
    def _phrases_or_regex(self) -> Said:
        if (self.phrases is None) == (self.regex is None):
            raise ValueError("give either phrases or regex")
        return self


class Metric(_Model):
    """A conversation measure between ``min`` and ``max`` (inclusive; one may be left out)."""

    name: str
    min: float | None = None
    max: float | None = None

    @field_validator("name")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in METRIC_NAMES:
            raise ValueError(f"unknown metric {name!r}; known: {', '.join(METRIC_NAMES)}")
        return name

    @model_validator(mode="after")
    def _bounds(self) -> Metric:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self


class Condition(_Model):
    """Exactly one of ``said``, ``not_said``, ``metric``, ``all``, ``any``."""

    said: Said | None = None
    not_said: Said | None = None
    metric: Metric | None = None
    all: tuple[Condition, ...] | None = Field(None, min_length=1)
    any: tuple[Condition, ...] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        if sum(value is not None for _, value in self) != 1:
            raise ValueError("a condition is exactly one of said, not_said, metric, all, any")
        return self


@dataclass(frozen=True)
class RuleResult:
    """What a condition comes to on one call."""

    holds: bool | None  # None: it cannot be judged on this call (see the module docstring)
    evidence: str | None  # what decided it: a quote with its time, a measured figure, or a note
    quoted: bool = False  # the evidence is words from the transcript


@dataclass(frozen=True)
class _Word:
    text: str  # normalised
    time: float  # seconds from the start of the recording
    segment: int  # index into the stream's segments
    start: int  # character span in that segment's text
    end: int


@dataclass(frozen=True)
class _Match:
    words: tuple[_Word, ...]
    segments: tuple[Segment, ...]

    @property
    def time(self) -> float:
        return self.words[0].time

    def quote(self) -> str:
        """'[00:03] AGENT: Thank you for calling Northwind Energy, ...': the matched words in their
        segment(s), cut around the match when long; the time is where the quoted text begins, as
        in the transcript lines the LLM reads."""
        first, last = self.words[0], self.words[-1]
        pieces, offset, start, end = [], 0, 0, 0
        for index in range(first.segment, last.segment + 1):
            text = self.segments[index].text
            if index == first.segment:
                start = offset + first.start
            if index == last.segment:
                end = offset + last.end
            pieces.append(text)
            offset += len(text) + 1
        text, left = " ".join(pieces), 0
        if len(text) > MATCH_EXCERPT_MAX_CHARS:
            margin = max(0, (MATCH_EXCERPT_MAX_CHARS - (end - start)) // 2)
            left, right = max(0, start - margin), min(len(text), end + margin)
            text = ("…" if left > 0 else "") + text[left:right].strip() + ("…" if right < len(text) else "")
        segment = self.segments[first.segment]
        began = segment.start + (segment.end - segment.start) * min(left, len(segment.text)) / max(1, len(segment.text))
        label = SPEAKER_LABELS.get(segment.speaker, "SPEAKER")
        return f"[{timestamp(began)}] {label}: {' '.join(text.split())}"


class _Stream:
    """One speaker's words in order, each with its moment."""

    def __init__(self, segments: Sequence[Segment]) -> None:
        self.segments = tuple(segments)
        words: list[_Word] = []
        for index, segment in enumerate(self.segments):
            length = max(1, len(segment.text))
            for token in _TOKEN.finditer(segment.text):
                text = fold_word(token.group())
                if text:
                    moment = segment.start + (segment.end - segment.start) * token.start() / length
                    words.append(_Word(text, moment, index, token.start(), token.end()))
        self.words = tuple(words)
        self.text = " ".join(w.text for w in self.words)  # the normalised words a regex searches
        self.offsets = []
        position = 0
        for word in self.words:
            self.offsets.append(position)
            position += len(word.text) + 1

    def find_phrase(self, phrase: str, lo: float, hi: float, *, ignore_accents: bool = False) -> _Match | None:
        """The earliest run of words starting in [lo, hi] that matches ``phrase`` (accents
        ignored on both sides with ``ignore_accents``)."""
        plain = strip_accents if ignore_accents else (lambda text: text)
        wanted = normalise_words(phrase)
        compact = plain("".join(wanted))
        size = len(wanted)
        for i, word in enumerate(self.words):
            if not lo <= word.time <= hi:
                continue
            for n in (size, size - 1, size + 1):
                if n < 1 or i + n > len(self.words):
                    continue
                candidate = plain("".join(w.text for w in self.words[i : i + n]))
                if candidate == compact or (n == size and fuzz.ratio(compact, candidate, score_cutoff=FUZZY_MIN_SIMILARITY)):
                    return _Match(self.words[i : i + n], self.segments)
        return None

    def find_regex(self, pattern: re.Pattern[str], lo: float, hi: float) -> _Match | None:
        for found in pattern.finditer(self.text):
            first = bisect.bisect_right(self.offsets, found.start()) - 1
            last = max(first, bisect.bisect_right(self.offsets, max(found.start(), found.end() - 1)) - 1)
            if first >= 0 and lo <= self.words[first].time <= hi:
                return _Match(self.words[first : last + 1], self.segments)
        return None


class Conversation:
    """A call as rules see it: its segments (redacted, as stored), each speaker's words with
    their moments, and its ``CallMetrics`` (None when nobody spoke)."""

    def __init__(self, segments: Sequence[Segment], metrics: CallMetrics | None) -> None:
        self.segments = tuple(sorted(segments, key=lambda s: (s.start, s.end)))
        self.metrics = metrics
        self.start = min((s.start for s in self.segments), default=0.0)
        self.end = max((s.end for s in self.segments), default=0.0)
        self.speaker_separated = bool(self.segments) and {s.speaker for s in self.segments} <= set(SEPARATED_SPEAKERS)

    @cached_property
    def streams(self) -> dict[str, _Stream]:
        speakers = dict.fromkeys(s.speaker for s in self.segments)
        return {sp: _Stream([s for s in self.segments if s.speaker == sp]) for sp in speakers}

    def metric(self, name: str) -> float | None:
        """The figure called ``name`` (see ``METRIC_NAMES``), or None when it was not measured."""
        if self.metrics is None:
            return None
        for speaker in SEPARATED_SPEAKERS:
            if name.startswith(speaker + "_"):
                side = getattr(self.metrics, speaker)
                return None if side is None else getattr(side, name[len(speaker) + 1 :])
        return getattr(self.metrics, name)


def evaluate(condition: Condition, call: Conversation) -> RuleResult:
    """What ``condition`` comes to on ``call``."""
    if condition.said is not None:
        return _said(condition.said, call)
    if condition.not_said is not None:
        found = _said(condition.not_said, call)
        if found.holds is None:
            return found
        if found.holds:
            return RuleResult(False, found.evidence, True)
        return RuleResult(True, None)
    if condition.metric is not None:
        return _metric(condition.metric, call)
    parts = [evaluate(c, call) for c in (condition.all or condition.any or ())]
    deciding = False if condition.all is not None else True
    for value in (deciding, None):
        hit = next((p for p in parts if p.holds is value), None)
        if hit is not None:
            return hit
    notes = [p.evidence for p in parts if p.evidence]
    return RuleResult(not deciding, "; ".join(notes) or None, bool(notes) and all(p.quoted for p in parts if p.evidence))


def _said(said: Said, call: Conversation) -> RuleResult:
    if said.speaker != "any" and not call.speaker_separated:
        return RuleResult(None, f"the {said.speaker}'s words cannot be told apart (no speaker separation)")
    speakers = [said.speaker] if said.speaker != "any" else list(call.streams)
    lo, hi = said.within.bounds(call.start, call.end) if said.within else (float("-inf"), float("inf"))
    found = _earliest(said, call, speakers, lo, hi)
    if found is not None:
        return RuleResult(True, found.quote(), True)
    if said.within is not None:
        elsewhere = _earliest(said, call, speakers, float("-inf"), float("inf"))
        if elsewhere is not None:
            return RuleResult(False, f"outside the {said.within.describe()}: {elsewhere.quote()}")
    return RuleResult(False, None)


def _earliest(said: Said, call: Conversation, speakers: Sequence[str], lo: float, hi: float) -> _Match | None:
    matches = []
    for speaker in speakers:
        stream = call.streams.get(speaker)
        if stream is None:
            continue
        if said.regex is not None:
            matches.append(stream.find_regex(re.compile(said.regex, re.IGNORECASE), lo, hi))
        else:
            matches.extend(stream.find_phrase(phrase, lo, hi, ignore_accents=bool(said.ignore_accents))
                           for phrase in said.phrases or ())
    found = [m for m in matches if m is not None]
    return min(found, key=lambda m: m.time) if found else None


def _metric(metric: Metric, call: Conversation) -> RuleResult:
    value = call.metric(metric.name)
    if value is None:
        reason = "no speaker separation" if call.metrics is not None else "nobody spoke"
        if "sentiment" in metric.name and call.metrics is not None and call.metrics.speaker_separated:
            note = call.metrics.sentiment.note if call.metrics.sentiment else None
            reason = note or "the speaker said nothing in the first or the last quarter"
        return RuleResult(None, f"{metric.name} not measured ({reason})")
    if metric.min is not None and value < metric.min:
        return RuleResult(False, f"{metric.name} {value:g} < min {metric.min:g}")
    if metric.max is not None and value > metric.max:
        return RuleResult(False, f"{metric.name} {value:g} > max {metric.max:g}")
    if metric.min is not None and metric.max is not None:
        return RuleResult(True, f"{metric.name} {value:g} within {metric.min:g}-{metric.max:g}")
    if metric.max is not None:
        return RuleResult(True, f"{metric.name} {value:g} <= max {metric.max:g}")
    return RuleResult(True, f"{metric.name} {value:g} >= min {metric.min:g}")
