"""Extraction fields: the facts about a call the LLM fills in beside the verdicts, in the same
answer (``pipeline.scoring.form``), e.g. why the customer called, how the call ended, a summary.

A ``choice`` field's value is one of its options (the form allows no other), with the line that
shows it and the model's probability of that option, renormalised over the options, as its
confidence. A ``text`` field is a short free answer that never exceeds its ``max_words``: the
decoder stops there, and an answer read from a server is cut there too. Over a transcript split
into windows, a choice is the most confident window's answer (windows that cite a line first),
and a text is each window's share of the words, joined in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from pipeline.errors import PermanentRecordingError
from pipeline.scoring.form import NO_LINE, TEXT_TOKENS_PER_WORD, VALUE_KEY
from pipeline.scoring.scorecard import ExtractionField
from pipeline.speech.segments import Segment
from pipeline.speech.turns import Turn

CHOICE_ANSWER_TOKENS = 40  # a choice answer: id, keys, a line number and an option


@dataclass(frozen=True)
class Extraction:
    """One field's answer for a call (or for one window of it)."""

    field_id: str
    value: str  # the option chosen, or the text
    confidence: float | None  # 0-1, the model's probability of the option; None for a text or when unavailable
    evidence: str | None = None  # the cited line's text (choice fields), None when no line was cited
    evidence_line: int | None = None  # the cited line's number (1 = the first speaker turn)
    evidence_start_s: float | None = None  # when the cited line starts, seconds from the start of the recording
    window: int = 0  # which window of the transcript gave it (0-based)


def answer_tokens(fields: Sequence[ExtractionField]) -> int:
    """The most tokens the answers of ``fields`` may take."""
    return sum(CHOICE_ANSWER_TOKENS if f.kind == "choice" else TEXT_TOKENS_PER_WORD * (f.max_words or 0) + 20
               for f in fields)


def words_per_window(fields: Sequence[ExtractionField], windows: int) -> dict[str, int]:
    """Each text field's word limit in one of ``windows`` windows: its share of the limit."""
    return {f.id: max(1, (f.max_words or 0) // max(1, windows)) for f in fields if f.kind == "text"}


def limit_words(text: str, max_words: int) -> str:
    """``text`` with its spaces normalised and cut to ``max_words`` words."""
    return " ".join(text.split()[:max_words])


def fields_block(fields: Sequence[ExtractionField]) -> str:
    """The fields as the prompt lists them after the criteria ('' when there are none)."""
    if not fields:
        return ""
    lines = ["", "Also fill in these fields about the call. For a field with options, first give the number "
             "of the line that best shows the answer (0 if none), then the one option that fits best:"]
    for f in fields:
        shape = f"one of {', '.join(f.options or ())}" if f.kind == "choice" else f"at most {f.max_words} words"
        lines.append(f"- {f.id} ({shape}): {f.question}")
    return "\n".join(lines)


def read_extractions(raw: dict, fields: Sequence[ExtractionField], probabilities: Sequence[dict[str, float]],
                     order: list[str], lines: Sequence[Segment | Turn], line_numbers: tuple[int, ...],
                     window: int) -> list[Extraction]:
    """The fields' answers in one parsed answer ``raw``; ``probabilities``: per choice in the
    output, in order (``order``: the answer's keys in output order)."""
    found = []
    for f in fields:
        item = raw.get(f.id)
        value = item.get(VALUE_KEY) if isinstance(item, dict) else None
        if not isinstance(value, str):
            raise PermanentRecordingError(f"the LLM answer has no {VALUE_KEY} for field {f.id!r}", stage="score")
        if f.kind == "text":
            found.append(Extraction(f.id, limit_words(value, f.max_words or 0), None, window=window))
            continue
        if value not in (f.options or ()):
            raise PermanentRecordingError(f"the LLM answered {value!r} for field {f.id!r}, not one of its options",
                                          stage="score")
        position = order.index(f.id)
        chances = probabilities[position] if position < len(probabilities) else {}
        mass = sum(chances.get(option, 0.0) for option in f.options or ())
        confidence = round(chances.get(value, 0.0) / mass, 4) if mass > 0 else None
        found.append(_with_line(Extraction(f.id, value, confidence, window=window), item.get("line"), lines,
                                line_numbers))
    return found


def _with_line(extraction: Extraction, line: object, lines: Sequence[Segment | Turn],
               line_numbers: tuple[int, ...]) -> Extraction:
    if line is None or line == NO_LINE:
        return extraction
    if not isinstance(line, int) or line not in line_numbers:
        raise PermanentRecordingError(f"the LLM cited line {line} for field {extraction.field_id!r}, which is not "
                                      "in the transcript given to it", stage="score")
    cited = lines[line - 1]
    return Extraction(extraction.field_id, extraction.value, extraction.confidence, cited.text.strip(), line,
                      cited.start, extraction.window)


def combine_extractions(field: ExtractionField, answers: Sequence[Extraction]) -> Extraction:
    """One answer from the windows' answers (see the module docstring)."""
    if field.kind == "text":
        text = limit_words(" ".join(a.value for a in sorted(answers, key=lambda a: a.window)), field.max_words or 0)
        return Extraction(field.id, text, None, window=0)
    cited = [a for a in answers if a.evidence_line is not None]
    return max(cited or answers, key=lambda a: a.confidence or 0.0)
