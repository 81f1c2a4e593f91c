"""Find recordings under the given paths, identify them by content, and read their sidecars.

A recording's identity is the SHA-256 of its bytes, so a renamed or re-delivered file is
recognised as done. An optional sidecar ``NAME.json`` next to ``NAME.mp3`` carries ``agent``,
``team``, ``call_id`` and ``started_at`` (ISO 8601); other keys are kept as metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from pipeline.intake.audio import AUDIO_EXTENSIONS
from pipeline.errors import PermanentRecordingError, TransientRecordingError

HASH_CHUNK_BYTES = 1 << 20


def discover(paths: Iterable[Path]) -> list[Path]:
    """Audio files at or under ``paths`` (recursive, hidden entries skipped, links to
    directories not followed), sorted, each once."""
    found: set[Path] = set()
    for root in paths:
        root = Path(root)
        if root.is_file():
            if root.suffix.lower() in AUDIO_EXTENSIONS:
                found.add(root)
            continue
        for directory, subdirs, files in os.walk(root, followlinks=False):
            subdirs[:] = [d for d in subdirs if not d.startswith(".")]
            for name in files:
                if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_EXTENSIONS:
                    found.add(Path(directory) / name)
    return sorted(found)


def file_identity(path: Path) -> tuple[str, int]:
    """(hex SHA-256 of the file's bytes, their count), read in 1 MiB chunks."""
    digest, size = hashlib.sha256(), 0
    try:
        with open(path, "rb") as handle:
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

    @field_validator("agent", "team", "call_id", mode="before")
    @classmethod
    def _numbers_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


@dataclass(frozen=True)
class CallFacts:
    """Who and when, from the sidecar or, failing that, from the file."""

    agent: str | None
    team: str | None
    call_id: str | None
    started_at: datetime
    started_at_source: str  # 'sidecar' or 'file_mtime'
    metadata: dict[str, Any] = field(default_factory=dict)


def sidecar_path(audio_path: Path) -> Path:
    return audio_path.with_suffix(".json")


def read_call_facts(audio_path: Path) -> CallFacts:
    """Facts for a recording. A malformed sidecar is a ``PermanentRecordingError`` (stage
    ``sidecar``) naming the field, so a wrong agent is never silently recorded."""
    sidecar = sidecar_path(audio_path)
    data: dict[str, Any] = {}
    if sidecar.is_file():
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
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
        if started.tzinfo is None:
            started = started.astimezone()  # a naive time is local time
        source = "sidecar"
    else:
        try:
            mtime = audio_path.stat().st_mtime
        except OSError as exc:
            raise PermanentRecordingError(f"cannot read file: {exc.strerror or exc}", stage="read") from exc
        started = datetime.fromtimestamp(mtime, tz=timezone.utc)
        source = "file_mtime"
    return CallFacts(
        agent=fields.agent,
        team=fields.team,
        call_id=fields.call_id,
        started_at=started,
        started_at_source=source,
        metadata=dict(fields.model_extra or {}),
    )
