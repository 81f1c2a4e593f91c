"""Find recordings under the given paths, identify them by content, and read their sidecars.

A recording's identity is the SHA-256 of its bytes, so a renamed or re-delivered file is
recognised as done. An optional sidecar ``NAME.json`` next to ``NAME.mp3`` carries ``agent``,
``team``, ``call_id`` and ``started_at`` (ISO 8601), and for this call only ``agent_channel``
(``left`` or ``right``: which stereo channel is the agent) and ``language`` (the code of the
language spoken, e.g. ``ru``); other keys are kept as metadata.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import math
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from pipeline.config import language_code
from pipeline.intake.audio import AUDIO_EXTENSIONS
from pipeline.errors import PermanentRecordingError, TransientRecordingError

log = logging.getLogger(__name__)

HASH_CHUNK_BYTES = 1 << 20
SIDECAR_MAX_BYTES = 64 * 1024  # a sidecar is a few facts about a call; a bigger one is refused
EARLIEST_CALL, LATEST_CALL = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc)


def discover(paths: Iterable[Path]) -> list[Path]:
    """Audio files at or under ``paths`` (recursive, hidden entries skipped, links to
    directories not followed), sorted, each once. Only regular files are recordings: a FIFO,
    a device or a socket with an audio name is logged and skipped (reading one could block
    forever). A link to a regular file is followed, wherever that file is."""
    found: set[Path] = set()
    for root in paths:
        root = Path(root)
        if not root.is_dir():
            if root.suffix.lower() in AUDIO_EXTENSIONS and _is_regular(root):
                found.add(root)
            continue
        for directory, subdirs, files in os.walk(root, followlinks=False):
            subdirs[:] = [d for d in subdirs if not d.startswith(".")]
            for name in files:
                path = Path(directory) / name
                if not name.startswith(".") and path.suffix.lower() in AUDIO_EXTENSIONS and _is_regular(path):
                    found.add(path)
    return sorted(found)


def _is_regular(path: Path) -> bool:
    """Whether ``path`` is (or links to) a regular file; if not, say so in the log. One that
    cannot be looked at (a broken link, a loop of links) counts, and fails at its read."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return True
    if stat.S_ISREG(mode):
        return True
    log.warning("skipped %s: not a regular file (%s)", path, _kind(mode))
    return False


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory"))
    return next((name for test, name in kinds if test(mode)), "not a file")


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading, refused (``OSError``) unless it is a regular file: opening
    does not wait for a FIFO's writer, and the check is on what was opened, so a file swapped
    for a FIFO or a device after discovery is refused too."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, f"not a regular file ({_kind(mode)})")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_identity(path: Path) -> tuple[str, int]:
    """(hex SHA-256 of the file's bytes, their count), read in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    try:
        with open_regular(path) as handle:
            while chunk := handle.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise PermanentRecordingError(f"cannot read file: {exc.strerror or exc}", stage="read") from exc
    return digest.hexdigest(), size


@dataclass(frozen=True)
class FileState:
    """What tells that a file changed: its size (bytes) and modification time (ns)."""

    size: int
    mtime_ns: int


def file_state(path: Path) -> FileState | None:
    """The file's current ``FileState``, or None when it is gone."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return FileState(stat.st_size, stat.st_mtime_ns)


def identify_unchanged(path: Path) -> tuple[str, int, FileState]:
    """``file_identity`` plus the file's state, checked before and after hashing: a file still
    being written raises ``TransientRecordingError`` (stage ``read``), to be done on a later try."""
    before = file_state(path)
    recording_id, size = file_identity(path)
    after = file_state(path)
    if before is None or after != before or after.size != size:
        raise TransientRecordingError(CHANGED_MESSAGE, stage="read")
    return recording_id, size, after


CHANGED_MESSAGE = "the file changed while it was being processed (still being written?); it will be tried again"


class _SidecarFields(BaseModel):
    model_config = ConfigDict(extra="allow")

    agent: str | None = None
    team: str | None = None
    call_id: str | None = None
    started_at: datetime | None = None
    agent_channel: Literal["left", "right"] | None = None
    language: str | None = None

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str | None) -> str | None:
        return None if value is None else language_code(value)

    @field_validator("agent_channel", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value  # "RIGHT" as forgiving as "EN"

    @field_validator("agent", "team", "call_id", mode="before")
    @classmethod
    def _numbers_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("started_at")
    @classmethod
    def _plausible_time(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        aware = _plausible(value)
        if aware is None:
            raise ValueError(f"must be between {EARLIEST_CALL.year} and {LATEST_CALL.year}, got {value.isoformat()}")
        return aware


@dataclass(frozen=True)
class CallFacts:
    """Who and when, from the sidecar or, failing that, from the file."""

    agent: str | None
    team: str | None
    call_id: str | None
    started_at: datetime
    started_at_source: str  # 'sidecar' or 'file_mtime'
    metadata: dict[str, Any] = field(default_factory=dict)
    agent_channel: Literal["left", "right"] | None = None  # this call's agent channel, from the sidecar
    language: str | None = None  # this call's language code, from the sidecar



def _plausible(when: datetime) -> datetime | None:
    """``when`` as an aware time (a naive one is local time) if a call can have started then
    (``EARLIEST_CALL`` to ``LATEST_CALL``), else None."""
    try:
        aware = when if when.tzinfo else when.astimezone()
        return aware if EARLIEST_CALL <= aware < LATEST_CALL else None
    except (OverflowError, ValueError, OSError):
        return None


def _time_of(timestamp: float) -> datetime | None:
    """A POSIX time (s) as an aware UTC datetime, or None outside the plausible range."""
    try:
        return _plausible(datetime.fromtimestamp(timestamp, tz=timezone.utc))
    except (OverflowError, ValueError, OSError):
        return None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large a number")
    return value


def sidecar_path(audio_path: Path) -> Path:
    return audio_path.with_suffix(".json")


def read_call_facts(audio_path: Path) -> CallFacts:
    """Facts for a recording. A malformed sidecar is a ``PermanentRecordingError`` (stage
    ``sidecar``) naming the field, so a wrong agent is never silently recorded."""
    sidecar = sidecar_path(audio_path)
    data: dict[str, Any] = {}
    if sidecar.exists():
        try:
            with open_regular(sidecar) as handle:
                raw = handle.read(SIDECAR_MAX_BYTES + 1)
        except OSError as exc:
            raise PermanentRecordingError(f"cannot read sidecar {sidecar.name}: {exc.strerror or exc}", stage="sidecar") from exc
        if len(raw) > SIDECAR_MAX_BYTES:
            raise PermanentRecordingError(f"sidecar {sidecar.name} is over {SIDECAR_MAX_BYTES // 1024} KiB", stage="sidecar")
        try:
            data = json.loads(raw.decode("utf-8-sig"), parse_constant=_not_json, parse_float=_finite)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # ValueError: JSONDecodeError too
            raise PermanentRecordingError(f"sidecar {sidecar.name} is not valid JSON: {exc}", stage="sidecar") from exc
        if not isinstance(data, dict):
            raise PermanentRecordingError(f"sidecar {sidecar.name} must hold a JSON object", stage="sidecar")
    try:
        fields = _SidecarFields.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PermanentRecordingError(f"sidecar {sidecar.name}: {where}: {first['msg']}", stage="sidecar") from exc

    if fields.started_at is not None:
        started = fields.started_at
        source = "sidecar"
    else:
        try:
            mtime = audio_path.stat().st_mtime
        except OSError as exc:
            raise PermanentRecordingError(f"cannot read file: {exc.strerror or exc}", stage="read") from exc
        started = _time_of(mtime)
        if started is None:
            raise PermanentRecordingError(
                f"the file's modification time is not between {EARLIEST_CALL.year} and {LATEST_CALL.year}: give the "
                f"call's start as started_at in {sidecar.name}", stage="sidecar")
        source = "file_mtime"
    return CallFacts(
        agent=fields.agent,
        team=fields.team,
        call_id=fields.call_id,
        started_at=started,
        started_at_source=source,
        metadata={**(fields.model_extra or {}),  # the per-call settings are kept with the other keys too
                  **{k: v for k, v in (("agent_channel", fields.agent_channel), ("language", fields.language)) if v}},
        agent_channel=fields.agent_channel,
        language=fields.language,
    )
