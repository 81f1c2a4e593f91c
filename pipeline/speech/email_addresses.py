"""E-mail addresses in a transcript line, written or as Whisper writes them spoken, for redaction
(``pipeline.speech.redact``): where they are, never what they are.

Three forms, found in this order (each in what the earlier ones left):

- written: ``jane.doe@example.com``;
- spoken: "jane dot doe at example dot com", with the language's words for "at", "dot" and the
  separators (``pipeline.speech.number_words``), ending in a known top-level domain or any two
  letters;
- said without an "at": a dotted name of two dots or more (``www.jane.gmail.com``, "jane dot
  gmail dot com") within ``CUE_WINDOW_WORDS`` words after one of the language's e-mail words
  ("my email is ..."). Without such a word a dotted name is a web address or a version, kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pipeline.speech.number_words import CUE_WINDOW_WORDS, NumberWords, alternatives, table_for

EMAIL_MAX_DOTS = 4  # separators (dot, underscore, ...) in a spoken address's local part or domain
_WRITTEN = re.compile(r"(?<![\w.%+-])[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Patterns:
    words: NumberWords
    spoken: re.Pattern[str]
    dotted_name: re.Pattern[str]
    word: re.Pattern[str]


@lru_cache(maxsize=None)
def _patterns(language: str | None) -> _Patterns:
    words = table_for(language)
    label = rf"[{words.letters}0-9]+(?:-[{words.letters}0-9]+)*"
    dot = rf"(?:\s+(?:{alternatives(words.email_dot)})\s+|\.)"
    top = rf"(?:{alternatives(words.top_level_domains)}|[{words.letters}]{{2}})"
    spoken = re.compile(
        rf"""
        (?<![\w'’\[.@-])
        [{words.letters}0-9]+(?:(?:\s+(?:{alternatives(words.email_dot + words.email_separators)})\s+|[._-])
            [{words.letters}0-9]+){{0,{EMAIL_MAX_DOTS}}}  # local part
        (?:\s+(?:{alternatives(words.email_at)})\s+|\s*@\s*)
        {label}(?:{dot}{label}){{0,{EMAIL_MAX_DOTS}}}{dot}{top}  # domain
        (?![\w-])
        """,
        re.IGNORECASE | re.VERBOSE,
    )
    dotted_name = re.compile(rf"(?<![\w'’\[.@-]){label}(?:{dot}{label}){{1,{EMAIL_MAX_DOTS}}}{dot}{top}(?![\w-])",
                             re.IGNORECASE)
    return _Patterns(words, spoken, dotted_name, re.compile(rf"[{words.letters}]+"))


def find_addresses(text: str, language: str | None) -> list[tuple[int, int]]:
    """(start, end) of each address in ``text``, in ``language``'s words (English when None)."""
    patterns = _patterns(language)
    found = [(m.start(), m.end()) for m in _WRITTEN.finditer(text)]
    rest = blanked(text, found)
    found += [(m.start(), m.end()) for m in patterns.spoken.finditer(rest)]
    rest = blanked(text, found)
    for match in patterns.dotted_name.finditer(rest):
        before = patterns.word.findall(rest[:match.start()].lower())[-CUE_WINDOW_WORDS:]
        if any(word in patterns.words.email_cues for word in before):
            found.append((match.start(), match.end()))
    return found


def blanked(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span blanked by NUL characters (same length, so offsets hold)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = "\0" * (end - start)
    return "".join(chars)
