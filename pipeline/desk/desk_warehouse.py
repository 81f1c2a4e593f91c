"""The warehouse as the desk takes it: under the lock rule (``pipeline.store.warehouse.access``),
opened for each request and closed after it, read-only to read and for one short write turn to
store a review, so a scoring run is never shut out for longer than a page takes. One request of
the desk's at a time holds it (DuckDB lets a process open a file one way at a time)."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Iterator

from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.access import WriteTurns, open_waiting


class DeskWarehouse:
    """``path`` read with waits up to ``lock_wait_s`` seconds and written with waits up to the
    same (a person is waiting for the page)."""

    def __init__(self, path: Path, *, lock_wait_s: float) -> None:
        self.path = Path(path)
        self.lock_wait_s = lock_wait_s
        self._one_at_a_time = threading.Lock()
        self._turns = WriteTurns(self.path, wait_s=lock_wait_s)

    def prepare(self) -> None:
        """Bring the schema up to date (the reviews and reviewers tables) before serving."""
        with self.writing():
            pass

    @contextlib.contextmanager
    def reading(self) -> Iterator[Warehouse]:
        with self._one_at_a_time:
            warehouse = open_waiting(self.path, read_only=True, wait_s=self.lock_wait_s)
            try:
                yield warehouse
            finally:
                warehouse.close()

    @contextlib.contextmanager
    def writing(self) -> Iterator[Warehouse]:
        with self._one_at_a_time, self._turns.turn() as warehouse:
            yield warehouse
