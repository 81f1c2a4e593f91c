"""A recording's bytes as FFmpeg reads them: a compressed recording ends where a long run of
zero bytes starts.

MP3, M4A, OGG and FLAC never hold a megabyte of zero bytes: such a run is the unwritten part of
a sparse or preallocated file (a recorder that crashed, ``truncate -s 2G``). FFmpeg would buffer
the whole run looking for a frame (2 GB of memory for a 2 GB sparse file, and as long to read),
so what it reads ends there: the audio before it decodes (flagged ``truncated``), and a file
that starts with such a run is not audio at all. A WAV (or AIFF) file, told by its first bytes
whatever its name, is read whole: its digital silence is zero bytes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO

ZERO_RUN_BYTES = 1 << 20  # a run of zero bytes this long ends a compressed recording
PCM_MAGIC = (b"RIFF", b"RF64", b"FORM")  # WAV, WAV over 4 GB, AIFF: digital silence is zero bytes


def open_audio(path: Path) -> IO[bytes]:
    """``path`` opened for FFmpeg to read: a compressed recording up to its first run of
    ``ZERO_RUN_BYTES`` zero bytes (``ZeroRunEnd``), a PCM file (``PCM_MAGIC``) whole."""
    handle = open(path, "rb", buffering=0)
    try:
        magic = handle.read(4)
        handle.seek(0)
    except BaseException:
        handle.close()
        raise
    return handle if magic in PCM_MAGIC else ZeroRunEnd(handle)  # type: ignore[return-value]


class ZeroRunEnd(io.RawIOBase):
    """A binary file that ends where a run of ``ZERO_RUN_BYTES`` zero bytes starts (counted in
    whole reads: the run is found a read late at most), so a reader never wades through it."""

    def __init__(self, raw: IO[bytes], *, zero_run_bytes: int = ZERO_RUN_BYTES) -> None:
        self._raw = raw
        self._limit = zero_run_bytes
        self._end: int | None = None  # where the first run found starts: the end of the file
        self._run_start: int | None = None  # where the run of zero reads now being read started
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END and self._end is not None:
            self._position = max(0, self._end + offset)
            self._raw.seek(self._position)
        else:
            self._position = self._raw.seek(offset, whence)
        self._run_start = None
        return self._position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._end is not None:
            buffer = memoryview(buffer)[: max(0, self._end - self._position)]
        count = self._raw.readinto(buffer) or 0
        if count and self._end is None:
            if bytes(memoryview(buffer)[:count]).count(0) == count:
                self._run_start = self._position if self._run_start is None else self._run_start
                if self._position + count - self._run_start >= self._limit:
                    self._end = self._run_start
                    count = max(0, self._end - self._position)
            else:
                self._run_start = None
        self._position += count
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()
