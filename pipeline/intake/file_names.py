"""File names as text that every consumer accepts, and back.

A Linux file name is bytes. A recorder, an SMB share or a zip from another system can write
names that are not UTF-8 (``a_bad_\\xff\\xfe.mp3``); Python holds them as text with lone
surrogates, which DuckDB, JSON and Prefect refuse. ``readable`` writes such bytes as ``\\xNN``
(the rest of the name as it is), which is what the warehouse, staged results, logs and outputs
carry; ``from_readable`` finds the file again from that text. ``path_token``/``from_path_token``
carry a path exactly (a worker must open the very file the planner found).
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

_ESCAPED_BYTE = re.compile(r"\\x([0-9a-f]{2})")


def readable(path: Path | str) -> str:
    """``path`` as valid UTF-8 text: bytes of its name that are not UTF-8 as ``\\xNN``."""
    text = str(path)
    try:
        raw = os.fsencode(text)
    except UnicodeEncodeError:  # a surrogate no file system gave: written as its code point
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def is_readable(path: Path | str) -> bool:
    """Whether ``path`` is already valid UTF-8 text (``readable`` gives it back unchanged)."""
    return readable(path) == str(path)


def from_readable(text: str) -> Path:
    """The file ``readable`` wrote as ``text``: the path itself when it exists or holds no
    ``\\xNN``, else the path with those escapes turned back into bytes."""
    path = Path(text)
    if "\\x" not in text or path.exists():
        return path
    pieces = _ESCAPED_BYTE.split(text)  # text, hex digits, text, hex digits, ..., text
    restored = b"".join(bytes.fromhex(piece) if odd else piece.encode("utf-8", "surrogateescape")
                        for odd, piece in ((i % 2 == 1, p) for i, p in enumerate(pieces)))
    return Path(os.fsdecode(restored))


def path_token(path: Path | str) -> str | None:
    """The exact bytes of ``path`` as ASCII (base64), when its text is not UTF-8; else None."""
    if is_readable(path):
        return None
    return base64.b64encode(os.fsencode(str(path))).decode("ascii")


def from_path_token(text: str, token: str | None) -> Path:
    """The path ``path_token`` gave ``token`` for (``text`` when there is none)."""
    return Path(os.fsdecode(base64.b64decode(token))) if token else Path(text)
