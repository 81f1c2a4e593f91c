"""Writing a file so that a reader sees the old one or the new one, never half of one."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_atomically(target: Path, data: bytes, *, durable: bool = True) -> Path:
    """Write ``data`` beside ``target`` under a hidden name, then rename it into place (its
    folder made if needed). The hidden file is new ("x": never through a file or link already
    there) and removed if the write fails. ``durable``: on disk (fsync) before it is named, so a
    power cut leaves no empty file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with open(partial, "xb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content, hex (read in 4 MiB blocks)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()
