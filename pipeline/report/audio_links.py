"""Where a call page's ``<audio>`` player finds the recording: the file where it was scored
(a ``file://`` link), the same path under a shared server (``--audio-base-url``), or, only when
asked, the audio itself inside the page. Each evidence time plays from that second through a
media fragment (``#t=SECONDS``)."""

from __future__ import annotations

import base64
import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlsplit, urlunsplit

from pipeline.intake.file_names import from_readable

EMBED_MAX_BYTES = 50 * 1024 * 1024  # a larger recording is linked, not embedded
_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".m4a": "audio/mp4"}


@dataclass(frozen=True)
class AudioLinks:
    """How pages link their recordings. ``base_url``: an http(s) server that serves the
    recordings (settings ``audio_base_url``), each under its path relative to ``root`` (its file
    name when ``root`` is None or does not hold it). ``embed``: put the audio in the page as a
    data URL."""

    base_url: str | None = None
    root: Path | None = None
    embed: bool = False

    def source(self, path: str) -> str:
        """The player's src for a recording scored from ``path`` (as the warehouse stores it)."""
        recording = from_readable(path)
        if self.embed and recording.is_file() and recording.stat().st_size <= EMBED_MAX_BYTES:
            kind = _TYPES.get(recording.suffix.lower()) or mimetypes.guess_type(recording.name)[0] or "audio/mpeg"
            return f"data:{kind};base64,{base64.b64encode(recording.read_bytes()).decode('ascii')}"
        if self.base_url is None:
            return recording.absolute().as_uri()
        relative = PurePosixPath(recording.name)
        if self.root is not None:
            try:
                relative = PurePosixPath(recording.absolute().relative_to(self.root.absolute()).as_posix())
            except ValueError:
                pass
        return under_url(self.base_url, quote(os.fsencode(str(relative))))

    @staticmethod
    def at(source: str, seconds: float) -> str:
        """``source`` playing from ``seconds`` (a media fragment; a data URL takes it too)."""
        return f"{source}#t={max(seconds, 0.0):.1f}"


def under_url(base_url: str, relative: str) -> str:
    """``relative`` (URL-encoded) under ``base_url``'s path; its query and fragment, if any, stay after it."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{relative}"))
