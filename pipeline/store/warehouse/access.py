"""Who may open the warehouse when. DuckDB lets one process write a file, or any number of
processes read it, never both at once: a process that keeps the file open, even to read, shuts
every writer out. So every command takes the warehouse here, and holds it only while it needs it:

- a writer (``score``, ``rescore``, the flow's ``load``, ``eval`` storing its figures,
  ``upgrade``) for one turn at a time: the few reads that plan a call, then its one write
  transaction; never across Whisper or LLM work (``WriteTurns``);
- a reader (``sql``, ``show``, ``report``, ``export``, ``eval``) for the whole of its work.

One that finds the file taken waits its turn: it tries again every ``POLL_S`` (DuckDB's own lock
decides, so a DuckDB client outside callscore counts too), says on stderr after
``NOTE_AFTER_S`` what it waits for, and gives up past its bound (``lock_wait_s`` for readers,
``write_wait_s`` for writers) with the busy error. A writer's turn lasts milliseconds, so a
reader hardly waits; a long reader (an export of a million calls) delays a writer, which waits
for as long as ``write_wait_s`` allows (an hour by default).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from pipeline.config import WRITE_WAIT_S
from pipeline.errors import WarehouseBusyError, WarehouseError
from pipeline.store.warehouse.connection import Warehouse

log = logging.getLogger(__name__)

POLL_S = 0.05  # seconds between tries at a file another process holds
UNEXPLAINED_TRIES = 3  # an I/O refusal no lock explains is tried again this many times
NOTE_AFTER_S = 1.0  # a wait longer than this is said on stderr, once


def open_waiting(path: Path, *, read_only: bool, wait_s: float, writes_into: Path | None = None,
                 migrate: bool = True, note: Callable[[str], None] | None = None) -> Warehouse:
    """``Warehouse.open``, waiting while another process holds the file, up to ``wait_s``
    seconds; then the ``WarehouseBusyError`` of the last try, saying how long it waited. A wait
    past ``NOTE_AFTER_S`` is said once, through ``note`` (default: a warning in the log)."""
    started = time.monotonic()
    noted = False
    unexplained = 0
    while True:
        try:
            return Warehouse.open(path, read_only=read_only, writes_into=writes_into, migrate=migrate)
        except WarehouseBusyError as exc:
            unexplained = 0
            waited = time.monotonic() - started
            if waited + POLL_S > wait_s:
                if wait_s <= 0:
                    raise
                setting = "lock_wait_s" if read_only else "write_wait_s"
                raise WarehouseBusyError(f"{exc} (waited {wait_s:g} s, setting {setting})") from exc
            if not noted and waited >= NOTE_AFTER_S:
                (note or log.warning)(f"warehouse {path} is in use by another process: waiting up to {wait_s:g} s"
                                      f" for it to {'finish writing' if read_only else 'let go of it'}")
                noted = True
            time.sleep(POLL_S)
        except WarehouseError as exc:
            # DuckDB refused the file, and by the time the operating system was asked no process
            # held it: a reader that came and went within milliseconds. Once more, then it is real.
            if not isinstance(exc.__cause__, duckdb.IOException) or unexplained >= UNEXPLAINED_TRIES:
                raise
            unexplained += 1
            time.sleep(POLL_S)


class WriteTurns:
    """The warehouse as a scoring run holds it: opened for writing for one turn at a time
    (``turn``) and closed after; between turns other processes read it. The first turn brings
    the schema up to date; the later ones skip it. Turns of the run's threads take one another's
    place in order (one connection at a time)."""

    def __init__(self, path: Path, *, wait_s: float = WRITE_WAIT_S) -> None:
        self.path = Path(path)
        self.wait_s = wait_s
        self._lock = threading.RLock()
        self._open: Warehouse | None = None
        self._migrated = False

    @contextlib.contextmanager
    def turn(self, *, wait_s: float | None = None) -> Iterator[Warehouse]:
        """The warehouse open for writing until the block ends (a turn inside a turn shares it),
        waiting up to ``wait_s`` seconds (default: the turns' own) while another process holds it."""
        with self._lock:
            if self._open is not None:
                yield self._open
                return
            warehouse = open_waiting(self.path, read_only=False, wait_s=self.wait_s if wait_s is None else wait_s,
                                     migrate=not self._migrated)
            self._migrated = True
            self._open = warehouse
            try:
                yield warehouse
            finally:
                self._open = None
                warehouse.close()


class HeldWarehouse:
    """A warehouse a caller opened and holds (a test, a tool of its own): every turn is that
    connection, one thread at a time."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.path = warehouse.path
        self._warehouse = warehouse
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def turn(self, *, wait_s: float | None = None) -> Iterator[Warehouse]:
        """The held warehouse (``wait_s`` is for ``WriteTurns``' sake: nothing is waited for)."""
        with self._lock:
            yield self._warehouse


Turns = WriteTurns | HeldWarehouse


def write_turns(target: Warehouse | Turns) -> Turns:
    """``target`` as turns: a ``Warehouse`` already open is held as it is."""
    return HeldWarehouse(target) if isinstance(target, Warehouse) else target
