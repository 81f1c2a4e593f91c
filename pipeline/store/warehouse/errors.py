"""DuckDB's errors as the project's, in one place: an open that finds the file locked by another
process (busy: wait), a write the disk refused (disk full, read-only), a write-write conflict
(transient: try again), and everything else (a warehouse error)."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Iterator

import duckdb

from pipeline.errors import PermanentRecordingError, TransientRecordingError, WarehouseBusyError, WarehouseError, WarehouseWriteError


def first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def open_error(path: Path, exc: Exception) -> WarehouseError:
    """Why ``duckdb.connect`` failed: busy when another process holds the file's lock."""
    text = str(exc)
    if "lock" in text.lower():
        pid = re.search(r"PID (\d+)", text)
        holder = f" (process {pid.group(1)})" if pid else ""
        return WarehouseBusyError(f"warehouse {path} is in use by another callscore run{holder}: wait for it to finish")
    return WarehouseError(f"cannot open warehouse {path}: {first_line(exc) if text else type(exc).__name__}")


def write_error(path: Path, exc: BaseException) -> WarehouseWriteError:
    return WarehouseWriteError(f"cannot write to warehouse {path}: {first_line(exc)}")


@contextlib.contextmanager
def mapped_writes(path: Path) -> Iterator[None]:
    """Turn the file failing under a write (disk full, read-only) into ``WarehouseWriteError``."""
    try:
        yield
    except (duckdb.IOException, duckdb.FatalException, OSError) as exc:
        raise write_error(path, exc) from exc


@contextlib.contextmanager
def mapped_call_write(path: Path) -> Iterator[None]:
    """``mapped_writes``; a commit that lost to another writer as a transient failure (stage
    ``store``: the call is tried again), and a row the schema refuses as that call's permanent one."""
    try:
        with mapped_writes(path):
            yield
    except duckdb.ConstraintException as exc:
        raise PermanentRecordingError(f"the warehouse refused the call: {first_line(exc)}", stage="store") from exc
    except duckdb.TransactionException as exc:
        if "conflict" not in str(exc).lower():  # e.g. "Failed to commit: Could not write file ...": disk full
            raise write_error(path, exc) from exc
        raise TransientRecordingError(f"warehouse write conflict: {exc}", stage="store") from exc


def migration_error(path: Path, exc: BaseException) -> WarehouseError:
    return WarehouseError(f"cannot migrate warehouse {path}: {first_line(exc)}")
