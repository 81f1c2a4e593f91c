"""Mask personal data in transcripts before anything is stored or sent to the LLM.

Four kinds are replaced by a typed placeholder, and each replacement is counted:

- ``card`` -> ``[CARD]``: payment card numbers, 13-19 digits that pass the Luhn check.
- ``email`` -> ``[EMAIL]`` (found by ``pipeline.speech.email_addresses``): written addresses (``jane.doe@example.com``) and spoken ones as
  Whisper writes them (``jane dot doe at example dot com``). A spoken address is taken from the
  word before "at" (or the words joined by dot/underscore/dash) through a domain that has at least
  one "dot" and ends in a top-level domain; "jane doe at gmail dot com" becomes "jane [EMAIL]".
- ``phone`` -> ``[PHONE]``: telephone numbers, 7-15 digits (see the rule below).
- ``number`` -> ``[NUMBER]``: any other run of 6 or more digits (account, policy, order numbers),
  and words mixing letters with 6 or more digits in a row ("AB123456").

A *digit run* is a sequence of digit groups ("4111", "555") and spoken digits read one by one
("one", "oh", "o", "zero", "nought", "double five", "triple seven"), mixed freely, joined by
spaces, dashes, commas, periods or parentheses, as Whisper punctuates a number read in groups
("four one one one, one one one one, ..."). Any other word ends a run; so do number words that
are not single digits ("twenty", "hundred", "thousand"), which is why "twelve hundred fifty" or
"one of them" never form a run.

A run is classified in this order:

1. fewer than ``NUMBER_MIN_DIGITS`` digits: left alone ("3 kids", "room 101", "last four 1234");
2. money (a currency sign before it, or "dollars", "pounds", "%", ... after it) or a list of
   years ("2023, 2024"): left alone;
3. 13-19 digits passing the Luhn check, not written with a leading "+" or "(area code)": card;
4. the nearest cue word among the ``CUE_WINDOW_WORDS`` words before the run decides: a number
   cue ("account", "policy", "order", "reference", "card", ...) makes it a number; a phone cue
   ("phone", "mobile", "call me", "reach me", "my number", ...) makes it a phone number;
5. no cue: a phone number when it has 7-15 digits and either a phone shape (a leading "+" or
   "plus", an area code in parentheses, or digit groups sized like a phone number: 3-4, 3-3-4,
   3-4-4, 4-3-4, 4-3-3, 5-6, 5-3-3, 2-4-4, 1-3-3-4) or is read aloud digit by digit;
6. otherwise a number. So a bare written run of 8 digits with no phone cue is ``[NUMBER]``.

Never redacted: money written as figures ("$1,250.00", "1,250 pounds": digits grouped by
thousands or with a decimal part are quantities, unless they form a Luhn-valid card number),
times ("10:30"), dates ("2026-11-24", "24/11/2026", "November 24, 2026"), years and other short
numbers, and ordinary words ("I was at home", "oh I see", "at one point").

Redaction keeps the text around a placeholder as it was and is idempotent: placeholders contain
no digits and end any run, so redacting redacted text changes nothing.

Segments: a customer reading a card number in groups produces several segments (Whisper
segments are cut at pauses over 1 s), possibly with the agent's "mhm" in between.
``redact_segments`` therefore looks for items in each speaker's segments joined in order
(segments further apart than ``JOIN_MAX_GAP_S`` are not joined). An item found across segments
is counted once; its part in every segment it touches is replaced by the same placeholder, so
the first segment reads "it's [CARD]" and the continuation "[CARD]".

Every item has one kind, decided as above whatever ``kinds`` selects; ``kinds`` only chooses
which kinds are replaced (with ``kinds=("number",)`` a card number stays as it is, it is never
reported as a number).

Languages: the words above are English's. Each language's (digits, and for Russian and Czech the
tens, teens and hundreds: "сорок пять" is 45; cues; "собака"/"zavináč" and "точка"/"tečka" in an
address; money) come from its table in ``pipeline.speech.number_words``, picked by the call's
language (English when unknown). Where a comma is the decimal mark (Russian, Czech) no figure is
read as thousands: "7,532, 1,2,3,1" is a run of digit groups.

Known limits, all on the side of redacting: a list of written numbers separated only by commas
("101, 102, 103", also "12345, five of them") or counting aloud ("one, two, three, ... seven")
reads as one run and is replaced. Digits with "and" or number words in between ("five five five
and one two three", "oh eight hundred") split into shorter runs, which may fall under
``NUMBER_MIN_DIGITS``. An address spelt letter by letter loses only its last letter and domain.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable, Sequence

from pipeline.speech.email_addresses import blanked, find_addresses
from pipeline.speech.number_words import (
    CUE_WINDOW_WORDS, NumberWords, SpokenNumber, alternatives, spoken_number, table_for,
)
from pipeline.speech.segments import Segment

PII_KINDS: tuple[str, ...] = ("card", "email", "phone", "number")
PLACEHOLDERS: dict[str, str] = {kind: f"[{kind.upper()}]" for kind in PII_KINDS}

CARD_MIN_DIGITS = 13  # digits in the shortest payment card number
CARD_MAX_DIGITS = 19  # digits in the longest payment card number
PHONE_MIN_DIGITS = 7  # digits in the shortest phone number (a local number without area code)
PHONE_MAX_DIGITS = 15  # digits in the longest phone number (E.164, country code included)
NUMBER_MIN_DIGITS = 6  # digits; shorter runs (PINs, room numbers, last four digits) are kept
JOIN_MAX_GAP_S = 20.0  # seconds of silence between one speaker's segments that still joins them
YEAR_MIN, YEAR_MAX = 1900, 2099  # 4-digit groups in this range, when all of a run, are years

# Digit groups sized like phone numbers, in digits per group (written runs only).
PHONE_SHAPES = frozenset({(3, 4), (3, 3, 4), (3, 4, 4), (4, 3, 4), (4, 3, 3), (5, 6), (5, 3, 3), (2, 4, 4), (1, 3, 3, 4)})
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_PLACEHOLDER = re.compile(r"\[(?:CARD|EMAIL|PHONE|NUMBER)\]")

_GAP = re.compile(r"\)?[\s\-–—.,…]*\(?")  # what may stand between two parts of one digit run
_LONG_DIGITS = re.compile(rf"\d{{{NUMBER_MIN_DIGITS},}}")
_INTERNATIONAL = re.compile(r"(?:\+|\bplus)\s*\Z", re.IGNORECASE)
_OPEN_PAREN = re.compile(r"\(\s*\Z")
_MONEY_BEFORE = re.compile(r"(?:[$£€¥₽]|\b(?:usd|gbp|eur|rub|czk))\s*\Z", re.IGNORECASE)


@dataclass(frozen=True)
class _Grammar:
    """One language's patterns (``pipeline.speech.number_words``), compiled once."""

    language: str | None  # the table's language (None: English, the default)
    words: NumberWords
    number: SpokenNumber
    token: re.Pattern[str]  # everything that holds digits, tried in this order at each position
    money_after: re.Pattern[str]
    cue_word: re.Pattern[str]


@lru_cache(maxsize=None)
def _grammar(language: str | None) -> _Grammar:
    """The compiled patterns of ``language``'s table (English when it has none). In ``token``,
    ``digits``, ``word`` and ``repeat`` are parts of a digit run; the other kinds end a run."""
    words = table_for(language)
    number = spoken_number(language)
    repeat = (rf"| (?P<repeat>\b(?:{alternatives(words.repeats)})[\s-]+(?:{alternatives(words.digits)}|\d)\b(?!['’]))"
              if words.repeats else "")
    figure = (r"" if words.decimal_comma else
              r"| (?P<figure>(?<![\d.,])(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)(?!\d|[.,]\d))")
    token = re.compile(
        rf"""
          (?P<placeholder>\[(?:CARD|EMAIL|PHONE|NUMBER)\])
        | (?P<date>(?<!\d)(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[-/.]\d{{1,2}}[-/.]\d{{2,4}}
                         |\d{{1,2}}/\d{{1,2}})(?!\d)
            | \b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}(?!\d))
        | (?P<time>(?<!\d)\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?!\d))
        {figure}
        | (?P<alnum>\b(?=[a-z0-9]*[a-z])(?=[a-z0-9]*\d)[a-z0-9]+\b)
        {repeat}
        | (?P<digits>(?<!\w)\d+(?!\w))
        | (?P<word>\b{number.pattern}\b(?!['’]))
        """,
        re.IGNORECASE | re.VERBOSE,
    )
    money_after = re.compile(rf"\s*(?:%|(?:{alternatives(words.money_after)})\b)", re.IGNORECASE)
    return _Grammar(language, words, number, token, money_after, re.compile(rf"[{words.letters}]+"))


@dataclass(frozen=True)
class RedactedText:
    """A text with its personal data replaced by placeholders."""

    text: str
    counts: dict[str, int]  # kind -> items replaced (kinds with none are left out)


@dataclass(frozen=True)
class RedactedSegments:
    """A call's segments with their personal data replaced by placeholders."""

    segments: tuple[Segment, ...]  # same order and fields as given; only ``text`` changes
    counts: dict[str, int]  # kind -> items replaced in the whole call


@dataclass(frozen=True)
class _Item:
    """One piece of personal data: ``text[start:end]`` is replaced by its kind's placeholder."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class _Part:
    """One element of a digit run: a digit group, a spoken digit, or "double/triple X"."""

    start: int
    end: int
    digits: str
    written: bool  # digits as figures rather than words


def redact_text(text: str, *, kinds: Iterable[str] = PII_KINDS, language: str | None = None) -> RedactedText:
    """``text`` with every item of the selected ``kinds`` replaced by its placeholder, numbers
    and addresses read in ``language``'s words (``pipeline.speech.number_words``; English when
    it has no table)."""
    wanted = _selected(kinds)
    items = [item for item in _find_items(text, _grammar(language)) if item.kind in wanted]
    return RedactedText(_splice([text], items)[0], _counts(items))


def redact_segments(
    segments: Sequence[Segment], *, kinds: Iterable[str] = PII_KINDS, language: str | None = None
) -> RedactedSegments:
    """Redact a call's segments (in ``language``, as ``redact_text``), finding items that run on
    across one speaker's segments.

    Each speaker's segments are joined in order (agent segments in between do not break a
    customer's number); an item is counted once and its part in every segment is replaced.
    """
    wanted = _selected(kinds)
    grammar = _grammar(language)
    texts = [segment.text for segment in segments]
    found: list[_Item] = []
    for chain in _chains(segments):
        parts = [texts[i] for i in chain]
        items = [item for item in _find_items(" ".join(parts), grammar) if item.kind in wanted]
        found.extend(items)
        for i, text in zip(chain, _splice(parts, items)):
            texts[i] = text
    redacted = tuple(
        segment if segment.text == text else replace(segment, text=text)
        for segment, text in zip(segments, texts)
    )
    return RedactedSegments(redacted, _counts(found))


def _find_items(text: str, grammar: _Grammar) -> list[_Item]:
    """Every item of personal data in ``text``, of any kind, in order and not overlapping."""
    addresses = find_addresses(text, grammar.language)
    items = [_Item(start, end, "email") for start, end in addresses]
    masked = blanked(text, addresses)  # digits inside an address belong to the address
    run: list[_Part] = []
    for match in grammar.token.finditer(masked):
        part = _run_part(match, grammar)
        if part is not None and run and _GAP.fullmatch(masked, run[-1].end, part.start):
            run.append(part)
            continue
        items.extend(_classify_run(masked, run, grammar))
        run = [part] if part is not None else []
        if part is None:
            items.extend(_classify_token(match))
    items.extend(_classify_run(masked, run, grammar))
    return sorted(items, key=lambda item: item.start)


def _luhn_valid(digits: str) -> bool:
    """The Luhn checksum that every payment card number satisfies."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _selected(kinds: Iterable[str]) -> frozenset[str]:
    chosen = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = [kind for kind in chosen if kind not in PII_KINDS]
    if unknown:
        raise ValueError(
            f"unknown PII kind {', '.join(map(repr, unknown))}; choose from {', '.join(PII_KINDS)}"
        )
    return frozenset(chosen)


def _counts(items: Iterable[_Item]) -> dict[str, int]:
    counter = Counter(item.kind for item in items)
    return {kind: counter[kind] for kind in PII_KINDS if counter[kind]}


def _run_part(match: re.Match[str], grammar: _Grammar) -> _Part | None:
    """The digits a token contributes to a digit run, or None for a token that ends runs."""
    value = match.group().lower()
    if match.lastgroup == "digits":
        return _Part(match.start(), match.end(), value, written=True)
    if match.lastgroup == "word":
        return _Part(match.start(), match.end(), grammar.number.digits(value), written=False)
    if match.lastgroup == "repeat":
        repeat, digit = value.replace("-", " ").split()
        digit = grammar.words.digits.get(digit, digit)
        return _Part(match.start(), match.end(), digit * grammar.words.repeats[repeat], written=False)
    return None


def _classify_token(match: re.Match[str]) -> list[_Item]:
    """Items in a token that stands alone: a card Whisper wrote as a figure, an alphanumeric code."""
    value = match.group()
    if match.lastgroup == "figure":
        digits = re.sub(r"\D", "", value)
        if CARD_MIN_DIGITS <= len(digits) <= CARD_MAX_DIGITS and _luhn_valid(digits):
            return [_Item(match.start(), match.end(), "card")]
    if match.lastgroup == "alnum" and _LONG_DIGITS.search(value):
        return [_Item(match.start(), match.end(), "number")]
    return []


def _classify_run(text: str, run: Sequence[_Part], grammar: _Grammar) -> list[_Item]:
    """The item a digit run is, if any (see the module docstring for the order of the rules)."""
    digits = "".join(part.digits for part in run)
    if len(digits) < NUMBER_MIN_DIGITS:
        return []
    start, end = run[0].start, run[-1].end
    before = text[:start]
    if _MONEY_BEFORE.search(before) or grammar.money_after.match(text, end) or _is_years(run):
        return []
    international = _INTERNATIONAL.search(before)
    opening = _OPEN_PAREN.search(before)
    parens = opening is not None and ")" in text[start:end]
    if international:
        start = international.start()
    elif parens:
        start = opening.start()
    kind = _kind(digits, run, before, grammar, phone_prefix=bool(international) or parens)
    return [_Item(start, end, kind)]


def _kind(digits: str, run: Sequence[_Part], before: str, grammar: _Grammar, *, phone_prefix: bool) -> str:
    if not phone_prefix and CARD_MIN_DIGITS <= len(digits) <= CARD_MAX_DIGITS and _luhn_valid(digits):
        return "card"
    cue = _cue(before, grammar.words, grammar.cue_word)
    if cue == "number":
        return "number"
    spoken = not all(part.written for part in run)
    shaped = spoken or phone_prefix or _shape(run) in PHONE_SHAPES
    if (cue == "phone" or shaped) and PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
        return "phone"
    return "number"


def _cue(before: str, table: NumberWords, cue_word: re.Pattern[str]) -> str | None:
    """"phone" or "number" after the nearest cue word just before a run, or None."""
    words = cue_word.findall(_PLACEHOLDER.sub(" ", before).lower())[-CUE_WINDOW_WORDS:]
    for i in range(len(words) - 1, -1, -1):
        pair = (words[i - 1], words[i]) if i else None
        if words[i] in table.phone_cues or pair in table.phone_cue_pairs:
            return "phone"
        if words[i] in table.number_cues:
            return "number"
    return None


def _shape(run: Sequence[_Part]) -> tuple[int, ...] | None:
    """Digits per group of a run written in figures (None when any part is spoken)."""
    if not all(part.written for part in run):
        return None
    return tuple(len(part.digits) for part in run)


def _is_years(run: Sequence[_Part]) -> bool:
    """A run made only of written years, like "2023, 2024" or "2019-2020"."""
    return all(
        part.written and len(part.digits) == 4 and YEAR_MIN <= int(part.digits) <= YEAR_MAX
        for part in run
    )


def _chains(segments: Sequence[Segment]) -> list[list[int]]:
    """Indices of each speaker's segments in order, cut where they are over ``JOIN_MAX_GAP_S`` apart."""
    chains: list[list[int]] = []
    open_chain: dict[str, list[int]] = {}
    for i, segment in enumerate(segments):
        chain = open_chain.get(segment.speaker)
        if chain is not None and segment.start - segments[chain[-1]].end <= JOIN_MAX_GAP_S:
            chain.append(i)
            continue
        chain = [i]
        chains.append(chain)
        open_chain[segment.speaker] = chain
    return chains


def _splice(parts: Sequence[str], items: Sequence[_Item]) -> list[str]:
    """Apply items found in ``" ".join(parts)`` to each part: every part an item touches gets
    the placeholder in place of the piece of the item it holds."""
    redacted: list[str] = []
    offset = 0
    for part in parts:
        pieces: list[str] = []
        position = 0
        for item in items:
            start, end = max(item.start - offset, 0), min(item.end - offset, len(part))
            if start < end:
                pieces += [part[position:start], PLACEHOLDERS[item.kind]]
                position = end
        pieces.append(part[position:])
        redacted.append("".join(pieces))
        offset += len(part) + 1  # the joining space
    return redacted
