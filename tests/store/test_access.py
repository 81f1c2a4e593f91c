"""Who may open the warehouse when (``pipeline.store.warehouse.access``): a command that finds the
file taken by another process waits its turn, says so after a second, goes on once it is free,
and gives up past its bound with one line and exit 2."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.errors import WarehouseBusyError
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.access import WriteTurns
from pipeline.processing.batch import process_recording
from tests.conftest import held_by_another_process, rows, run_cli, tone
from tests.factories import call_record
from tests.fakes import FakeTranscriber, fake_processor


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as warehouse:
        warehouse.save_call(call_record("first", [("greeted", True, 0.9)]))
    return path


def test_a_reader_waits_for_a_writer_and_reads_once_it_lets_go(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with held_by_another_process(db, seconds=3.0):
        started = time.monotonic()
        result = run_cli("sql", "--db", str(db), "SELECT count(*) AS calls FROM recordings")
        waited = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    assert "1" in result.stdout and 1.0 < waited < 20
    assert "in use by another process: waiting up to 30 s for it to finish writing" in result.stderr


def test_a_reader_gives_up_past_lock_wait_s_with_one_line(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLSCORE_LOCK_WAIT_S", "1.5")
    with held_by_another_process(db, seconds=30.0) as holder:
        result = run_cli("show", "first.mp3", "--db", str(db))
    assert result.exit_code == 2
    assert f"in use by another callscore run (process {holder.pid})" in result.stderr
    assert "(waited 1.5 s, setting lock_wait_s)" in result.stderr and "Traceback" not in result.stderr


def test_a_writer_waits_for_a_long_read_and_then_stores(db: Path) -> None:
    turns = WriteTurns(db, wait_s=60)
    with held_by_another_process(db, seconds=3.0, read_only=True):  # an analyst's long query
        started = time.monotonic()
        with turns.turn() as warehouse:
            warehouse.save_call(call_record("second", [("greeted", False, 0.8)]))
        assert time.monotonic() - started > 1.0
    assert rows(db, "SELECT count(*) FROM recordings") == [(2,)]


def _read_count(db: Path) -> subprocess.CompletedProcess:
    """Another process's one try at reading the warehouse."""
    return subprocess.run([sys.executable, "-c", "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True)"
                           ".execute('SELECT count(*) FROM recordings').fetchone()[0])", str(db)],
                          capture_output=True, text=True, timeout=60)


def test_between_turns_other_processes_read_the_warehouse(db: Path) -> None:
    turns = WriteTurns(db, wait_s=5)
    with turns.turn() as warehouse:
        warehouse.save_call(call_record("second", [("greeted", False, 0.8)]))
        assert _read_count(db).returncode != 0  # during a turn the file is the writer's
    between = _read_count(db)
    assert between.returncode == 0 and between.stdout.strip() == "2", between.stderr


def test_a_writer_past_write_wait_s_gives_up_naming_the_setting(db: Path) -> None:
    with held_by_another_process(db, seconds=30.0, read_only=True):
        with pytest.raises(WarehouseBusyError, match=r"waited 0.5 s, setting write_wait_s"):
            with WriteTurns(db, wait_s=0.5).turn():
                pass


class _RivalRun(FakeTranscriber):
    """While this run transcribes a call, another run stores the same call (two runs on one inbox)."""

    def __init__(self, rival) -> None:
        super().__init__()
        self.rival = rival

    def transcribe_call(self, chunks, *, language=None):
        self.rival()
        return super().transcribe_call(chunks, language=language)


def test_a_call_another_run_stored_meanwhile_is_not_stored_twice(write_call, card: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    path = write_call("call.wav", tone(3.0)[None, :].repeat(2, axis=0))
    rival = fake_processor(db, card)
    rival_turns = WriteTurns(db)
    ours = fake_processor(db, card, transcriber=_RivalRun(lambda: process_recording(rival, path, rival_turns,
                                                                                     run_id="rival")))
    outcome = process_recording(ours, path, WriteTurns(db), run_id="ours")
    assert outcome.status == "skipped"
    assert rows(db, "SELECT count(*) FROM evaluations") == [(1,)]


def test_a_lock_that_was_gone_by_the_time_it_was_checked_is_tried_again(db: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injected: DuckDB refuses the file for a lock, and the process that held it let go
    before the operating system was asked (a reader of a few milliseconds). Seen as a run that
    ended with exit 2 while a loop of readers polled the warehouse."""
    import duckdb

    from pipeline.errors import WarehouseError

    real_open = Warehouse.open.__func__
    refusals = []

    def refused_once(cls, path, **kwargs):
        if len(refusals) < 2:
            refusals.append(path)
            try:
                raise duckdb.IOException("IO Error: Could not set lock on file: Conflicting lock is held")
            except duckdb.IOException as exc:
                raise WarehouseError(f"cannot open warehouse {path}: {exc}") from exc
        return real_open(cls, path, **kwargs)

    monkeypatch.setattr(Warehouse, "open", classmethod(refused_once))
    with WriteTurns(db, wait_s=5).turn() as warehouse:
        assert warehouse.connection.execute("SELECT count(*) FROM recordings").fetchone() == (1,)
    assert len(refusals) == 2

    def always_refused(cls, path, **kwargs):
        refusals.clear()  # refused_once refuses whenever fewer than two refusals are counted
        return refused_once(cls, path, **kwargs)

    monkeypatch.setattr(Warehouse, "open", classmethod(always_refused))
    with pytest.raises(WarehouseError, match="Could not set lock"):  # always refused: a real error, said
        with WriteTurns(db, wait_s=5).turn():
            pass
