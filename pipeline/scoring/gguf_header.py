"""Reading a GGUF file's metadata keys without loading the model (a few hundred milliseconds
for a 262k-token vocabulary): enough to tell whether it carries a chat template.

GGUF (llama.cpp's ``docs/gguf.md``): the magic ``GGUF``, a version (uint32), the tensor and
key-value counts (uint64; uint32 in version 1), then each key (a length-prefixed string), its
value type (uint32) and its value. Arrays give their element type and count; strings their
length. Little-endian throughout.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import ModelError

_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # value type -> bytes
_STRING, _ARRAY = 8, 9


def _read(handle: BinaryIO, size: int) -> bytes:
    data = handle.read(size)
    if len(data) != size:
        raise ValueError("the file ends inside its metadata")
    return data


def _skip_value(handle: BinaryIO, kind: int, length_size: int) -> None:
    if kind in _FIXED:
        handle.seek(_FIXED[kind], 1)
    elif kind == _STRING:
        handle.seek(struct.unpack("<Q" if length_size == 8 else "<I", _read(handle, length_size))[0], 1)
    elif kind == _ARRAY:
        element, count = struct.unpack("<I", _read(handle, 4))[0], struct.unpack(
            "<Q" if length_size == 8 else "<I", _read(handle, length_size))[0]
        if element in _FIXED:
            handle.seek(_FIXED[element] * count, 1)
        else:
            for _ in range(count):
                _skip_value(handle, element, length_size)
    else:
        raise ValueError(f"unknown metadata value type {kind}")


@lru_cache(maxsize=16)
def _keys(path: Path, stamp: tuple[int, int]) -> frozenset[str]:
    with open(path, "rb") as handle:
        if _read(handle, 4) != b"GGUF":
            raise ValueError("not a GGUF file")
        version = struct.unpack("<I", _read(handle, 4))[0]
        length_size = 4 if version == 1 else 8
        form = "<I" if length_size == 4 else "<Q"
        _read(handle, length_size)  # tensor count
        count = struct.unpack(form, _read(handle, length_size))[0]
        keys = set()
        for _ in range(count):
            size = struct.unpack(form, _read(handle, length_size))[0]
            keys.add(_read(handle, size).decode("utf-8", "replace"))
            _skip_value(handle, struct.unpack("<I", _read(handle, 4))[0], length_size)
    return frozenset(keys)


def metadata_keys(path: Path) -> frozenset[str]:
    """The metadata keys of the GGUF file at ``path``. Raises ModelError when it is not one."""
    path = Path(path)
    try:
        status = path.stat()
        return _keys(path.resolve(), (status.st_size, status.st_mtime_ns))
    except (OSError, ValueError, struct.error, MemoryError) as exc:
        raise ModelError(f"cannot read the metadata of LLM {path}: {exc}") from exc
