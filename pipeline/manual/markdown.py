"""Writing the reference pages' Markdown: text from the code set inline (so that a ``<`` or a
``|`` in a help text cannot break a page) and tables."""

from __future__ import annotations

import re
from typing import Iterable, Sequence

GENERATED_NOTE = ("<!-- Generated from the code by `make reference` (pipeline/manual): edit the code, not this"
                  " page. A test fails when it is stale. -->")

_CODE_SPAN = re.compile(r"(`[^`]*`)")
_SPECIAL = re.compile(r"([\\*_<>|\[\]#])")


def inline(text: str) -> str:
    """``text`` on one line, its Markdown characters escaped outside `code spans`."""
    parts = _CODE_SPAN.split(" ".join(text.split()))
    return "".join(part if part.startswith("`") else _SPECIAL.sub(r"\\\1", part)
                   for part in parts)


def code(text: str) -> str:
    """``text`` as a code span (one that holds a backtick is fenced by two)."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table; the cells are written as given (already inline)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def paragraphs(text: str) -> list[str]:
    """A docstring-style help text as Markdown paragraphs: click's ``\\b`` blocks keep their
    lines, the others are joined."""
    out = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if lines and lines[0].strip() == "\b":
            out.append("  \n".join(inline(line) for line in lines[1:] if line.strip()))
        elif block.strip():
            out.append(inline(block))
    return out
