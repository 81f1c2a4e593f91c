"""The answer of line-evidence scoring as a form to fill in: per criterion, the number of the
transcript line that shows it (0: no line does) and a verdict from a fixed list of options; per
extraction field of the scorecard, a line and a value among its options (``choice``), or a short
text of at most so many words (``text``).

Everything but those decisions is fixed by the form: braces, keys, quotes and the order of the
criteria. ``AnswerForm.parts`` lists the answer as fixed text and the blanks between it, so that
a decoder can append the fixed text itself and ask the model only at the blanks
(``pipeline.scoring.form_decoder``); ``AnswerForm.schema`` is the same form as a JSON schema for
backends that decode under a grammar (an OpenAI-compatible server's structured output).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterator, Sequence

NO_LINE = 0  # the line number that says "no line of the transcript shows it"
LINE_KEY = "line"
VERDICT_KEY = "verdict"
VALUE_KEY = "value"  # an extraction field's answer
TEXT_CHARS_PER_WORD = 12  # a text blank's JSON-schema length limit, per word allowed
TEXT_TOKENS_PER_WORD = 4  # a text blank ends after this many tokens per word allowed, words or not
# The longest string a grammar built from a schema may bound: llama.cpp's grammar parser refuses a
# repetition of over 2000 symbols, and a JSON string's character takes two (a refused grammar
# crashed the process). A longer text is still cut at its word limit once answered.
GRAMMAR_MAX_STRING_CHARS = 1000


@dataclass(frozen=True)
class LineBlank:
    """Where the model writes a line number: one of ``numbers`` (``NO_LINE`` included)."""

    field_id: str
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class ChoiceBlank:
    """Where the model picks one of ``options`` (written between quotes)."""

    field_id: str
    options: tuple[str, ...]


@dataclass(frozen=True)
class TextBlank:
    """Where the model writes a short text (no quotes, backslashes or line breaks) of at most
    ``max_words`` words."""

    field_id: str
    max_words: int


Part = str | LineBlank | ChoiceBlank | TextBlank


@dataclass(frozen=True)
class FormField:
    """One answer: a line and a choice among ``options`` under ``key`` (a criterion's verdict,
    or a choice field's value); or, with ``max_words``, a text of at most that many words."""

    id: str
    options: tuple[str, ...]
    key: str = VERDICT_KEY
    max_words: int | None = None

    @property
    def is_text(self) -> bool:
        return self.max_words is not None


@dataclass(frozen=True)
class AnswerForm:
    """The whole answer for one window of a transcript. ``lines``: the numbers of the lines the
    window holds; ``line_first``: the line is given before the verdict (evidence first)."""

    fields: tuple[FormField, ...]
    lines: tuple[int, ...]
    line_first: bool = True

    @property
    def numbers(self) -> tuple[int, ...]:
        """Every line number an answer may give, ``NO_LINE`` first."""
        return (NO_LINE,) + tuple(n for n in sorted(set(self.lines)) if n != NO_LINE)

    def _keys(self, item: FormField) -> tuple[str, ...]:
        if item.is_text:
            return (VALUE_KEY,)
        return (LINE_KEY, item.key) if self.line_first else (item.key, LINE_KEY)

    def parts(self) -> Iterator[Part]:
        """The answer in order: fixed text, and the blanks the model fills. The spacing is the
        one small chat models choose under a JSON grammar (``{ "id": { "line": 3, ...``), so
        the fixed text is tokenized as the model would have written it."""
        for index, item in enumerate(self.fields):
            yield ("{ " if index == 0 else "}, ") + json.dumps(item.id) + ": { "
            for position, key in enumerate(self._keys(item)):
                yield (", " if position else "") + json.dumps(key) + ": "
                if key == LINE_KEY:
                    yield LineBlank(item.id, self.numbers)
                elif item.max_words is not None:
                    yield '"'
                    yield TextBlank(item.id, item.max_words)
                    yield '"'
                else:
                    yield '"'
                    yield ChoiceBlank(item.id, item.options)
                    yield '"'
        yield "}}" if self.fields else "{}"

    def text(self, answers: dict[str, tuple[int, str]]) -> str:
        """The JSON text of the filled form (field id -> (line, option or text)), as ``parts`` writes it."""
        pieces = []
        for part in self.parts():
            if isinstance(part, LineBlank):
                pieces.append(str(answers[part.field_id][0]))
            elif isinstance(part, TextBlank):
                pieces.append(json.dumps(answers[part.field_id][1], ensure_ascii=False)[1:-1])
            elif isinstance(part, ChoiceBlank):
                pieces.append(answers[part.field_id][1])
            else:
                pieces.append(part)
        return "".join(pieces)

    def schema(self) -> dict:
        """The form as a JSON schema: the same keys in the same order, line numbers and options
        as enums, so a grammar built from it cannot write a line that is not in the window."""
        line = {"type": "integer", "enum": list(self.numbers)}
        properties = {}
        for item in self.fields:
            if item.max_words is not None:
                chars = min(item.max_words * TEXT_CHARS_PER_WORD, GRAMMAR_MAX_STRING_CHARS)
                values = {VALUE_KEY: {"type": "string", "maxLength": chars}}
            else:
                values = {LINE_KEY: line, item.key: {"type": "string", "enum": list(item.options)}}
            properties[item.id] = {
                "type": "object",
                "properties": {key: values[key] for key in self._keys(item)},
                "required": list(self._keys(item)),
                "additionalProperties": False,
            }
        return {"type": "object", "properties": properties, "required": [f.id for f in self.fields],
                "additionalProperties": False}


def verdict_options(allow_na: bool) -> tuple[str, ...]:
    return ("yes", "no", "na") if allow_na else ("yes", "no")


def form_for(criteria: Sequence, lines: Sequence[int], *, fields: Sequence = (), line_first: bool = True,
             max_words: dict[str, int] | None = None) -> AnswerForm:
    """The form for ``criteria`` (scorecard ``Criterion`` objects) and then ``fields``
    (``ExtractionField`` objects, choice fields before text fields) over a window's ``lines``;
    ``max_words``: a text field's limit in this window, when less than its own."""
    items = [FormField(c.id, verdict_options(c.allow_na)) for c in criteria]
    for f in fields:
        if f.kind == "text":
            items.append(FormField(f.id, (), VALUE_KEY, (max_words or {}).get(f.id, f.max_words)))
        else:
            items.append(FormField(f.id, tuple(f.options), VALUE_KEY))
    return AnswerForm(tuple(items), tuple(lines), line_first)
