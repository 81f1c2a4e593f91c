"""DuckDB's errors as the project's, in one place, told apart by type and by what the operating
system says (DuckDB's messages change between versions): an open that finds the file locked by
another process (busy: wait), a write the disk refused (disk full, read-only), a write-write
conflict (transient: try again), and everything else (a warehouse error)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
from pathlib import Path
from typing import Iterator

import duckdb

from pipeline.errors import PermanentRecordingError, TransientRecordingError, WarehouseBusyError, WarehouseError, WarehouseWriteError


def first_line(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def open_error(path: Path, exc: Exception, *, read_only: bool) -> WarehouseError:
    """Why ``duckdb.connect`` failed: busy when another process holds a lock on the file that
    this open conflicts with (found by asking the operating system, not by reading the message),
    otherwise the file's own problem (not a database, corrupt, newer storage version)."""
    if isinstance(exc, duckdb.IOException) and locked_by_another_process(path, exclusive=not read_only):
        pid = re.search(r"\(PID (\d+)\)", str(exc))  # named in the message by DuckDB; shown only as a hint
        holder = f" (process {pid.group(1)})" if pid else ""
        return WarehouseBusyError(f"warehouse {path} is in use by another callscore run{holder}: wait for it to finish")
    return WarehouseError(f"cannot open warehouse {path}: {first_line(exc)}")


def locked_by_another_process(path: Path, *, exclusive: bool) -> bool:
    """Whether another process holds a POSIX lock on ``path`` that conflicts with a shared lock
    (a reader's) or, ``exclusive``, an exclusive one (a writer's): DuckDB locks its file so. The
    probe takes the lock without waiting and gives it straight back."""
    try:
        fd = os.open(path, os.O_RDWR if exclusive else os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.lockf(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except OSError as exc:
        return exc.errno in (errno.EACCES, errno.EAGAIN)
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


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
