"""The errors callscore raises, split by what the caller should do about them.

- ``SetupError``: the configuration is wrong (a missing model, a bad scorecard, an unwritable
  database). Nothing can be done until a person fixes it; the CLI stops before any work.
- ``RecordingError``: one recording cannot be processed. ``permanent`` ones (undecodable audio,
  a malformed sidecar) are recorded in ``failures`` and the batch goes on; ``transient`` ones
  (a locked database, a busy GPU) may succeed if retried.

Only the CLI turns these into exit codes and one-line messages.
"""

from __future__ import annotations

import errno


class CallscoreError(Exception):
    """Base of every error callscore raises on purpose."""


class SetupError(CallscoreError):
    """The settings, a model or the scorecard are unusable: fix them and run again."""


class ScorecardError(SetupError):
    """The scorecard file is missing, not YAML, or breaks the scorecard format."""


class ModelError(SetupError):
    """A Whisper or LLM model cannot be found or loaded."""


class WarehouseError(SetupError):
    """The DuckDB warehouse cannot be opened or migrated."""


class WarehouseBusyError(WarehouseError):
    """Another process holds the warehouse file; waiting and trying again will work."""

    transient = True


class WarehouseWriteError(WarehouseError):
    """The warehouse could not be written mid-run (disk full, file system gone read-only). The
    call being written was rolled back; calls stored before it are kept."""


class DiskFullError(WarehouseWriteError):
    """A disk the run writes to (the warehouse's, or one a library writes a temporary file to) is
    full. Nothing about the recording in hand is wrong: the run stops, calls stored before are kept."""

    @classmethod
    def from_os_error(cls, exc: OSError) -> "DiskFullError":
        where = f" ({exc.filename})" if exc.filename else ""
        return cls(f"no room left on the disk{where}: {exc.strerror or exc}")


def is_disk_full(exc: BaseException) -> bool:
    """``exc`` says a disk is full or over quota, whichever layer raised it."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


class RecordingError(CallscoreError):
    """One recording failed at one stage; the batch goes on without it.

    ``stage`` names where it failed (``probe``, ``decode``, ``transcribe``, ``score``,
    ``store``, ``sidecar``, ``read``) and lands in the ``failures`` table.
    """

    transient: bool = False

    def __init__(self, message: str, *, stage: str) -> None:
        super().__init__(message)
        self.stage = stage


class PermanentRecordingError(RecordingError):
    """Retrying will not help: the input itself is bad (corrupt audio, not audio, bad sidecar)."""

    transient = False


class TransientRecordingError(RecordingError):
    """Retrying may help: a locked database, an out-of-memory on the GPU, a busy model server."""

    transient = True


_TRANSIENT_MARKERS = (
    "out of memory", "cuda error", "resource temporarily unavailable", "timed out", "connection refused",
    "server is busy",
)


def as_recording_error(exc: BaseException, *, stage: str) -> RecordingError:
    """Wrap an unexpected library error from ``stage``: out-of-memory and the like are
    transient (a retry may succeed), anything else is permanent."""
    if isinstance(exc, RecordingError):
        return exc
    text = str(exc) or type(exc).__name__
    transient = any(marker in text.lower() for marker in _TRANSIENT_MARKERS)
    kind = TransientRecordingError if transient else PermanentRecordingError
    return kind(f"{stage} failed: {text.splitlines()[0]}", stage=stage)
