"""Crash safety and concurrency of `callscore score`, run as real processes: killed (SIGKILL) at
several points (mid-write, and while it waits for the warehouse) and run again, every recording
ends up scored exactly once and the warehouse opens cleanly; queries and reports during a run
succeed, and a run waits for a long read and then stores."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import GOOD_CALL, MONO_CALL, POOR_CALL, ROOT, held_by_another_process, rows

pytestmark = pytest.mark.slow  # every test here runs a real model in a process it starts

CALLSCORE = str(Path(sys.executable).with_name("callscore"))
TIMEOUT_S = 240


class Watched:
    """A process whose stderr lines are read as they come."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        text=True, start_new_session=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"ended before printing {text!r}:\n" + "".join(self.seen[-20:]))
            self.seen.append(line)
            if text in line:
                return
        pytest.fail(f"no {text!r} within {TIMEOUT_S} s")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def finish(self) -> int:
        return self.process.wait(timeout=TIMEOUT_S)


@pytest.fixture
def job(tmp_path: Path, card: Path) -> dict:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for call in (GOOD_CALL, POOR_CALL, MONO_CALL):
        shutil.copy(call, inbox)
        shutil.copy(call.with_suffix(".json"), inbox)
    db = tmp_path / "w.duckdb"
    return {"db": db, "args": ["score", str(inbox), "--db", str(db), "--scorecard", str(card), "-v"]}


def complete_calls(db: Path) -> int:
    """Calls stored whole; fails if any call is stored in part."""
    recordings = rows(db, "SELECT count(*) FROM recordings")[0][0]
    evaluations = rows(db, "SELECT count(*) FROM evaluations")[0][0]
    scored = rows(db, "SELECT count(DISTINCT recording_id) FROM scores")[0][0]
    transcripts = rows(db, "SELECT count(*) FROM transcripts")[0][0]
    assert recordings == evaluations == scored == transcripts, (recordings, evaluations, scored, transcripts)
    return evaluations


def test_killed_at_any_point_and_run_again_every_call_is_scored_exactly_once(job: dict) -> None:
    db = job["db"]
    # 1. killed while the first recording is being transcribed
    run = Watched([CALLSCORE, *job["args"]])
    run.wait_for("transcribing on the CPU")
    run.kill()
    assert complete_calls(db) == 0

    # 2. killed just after the first call was committed
    run = Watched([CALLSCORE, *job["args"]])
    run.wait_for("stored ")
    run.kill()
    assert complete_calls(db) == 1

    # 3. killed inside a call's transaction: its recording, transcript and segments were written,
    #    its evaluation and COMMIT were not (the run skips the first call, stores the second,
    #    and dies storing the third)
    killed = subprocess.run([sys.executable, "-m", "tests.kill_switch", "store", "2", *job["args"]], cwd=ROOT,
                            capture_output=True, text=True, timeout=TIMEOUT_S)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert complete_calls(db) == 2  # the third call left nothing behind

    # 4. run to the end
    final = subprocess.run([CALLSCORE, *job["args"], "--json"], cwd=ROOT, capture_output=True, text=True,
                           timeout=TIMEOUT_S)
    assert final.returncode == 0, final.stderr[-2000:]
    assert "1 earlier cli run(s) never finished (killed?)" in final.stderr  # the last killed run; each run marks the one before
    assert complete_calls(db) == 3
    assert rows(db, "SELECT count(*), count(DISTINCT recording_id) FROM evaluations") == [(3, 3)]
    assert rows(db, "SELECT count(*) FROM scores") == [(6,)]
    assert rows(db, "SELECT count(*) FROM failures") == [(0,)]
    assert rows(db, "SELECT status, count(*) FROM runs GROUP BY status ORDER BY status") == [
        ("aborted", 3), ("completed", 1)]
    segments = rows(db, "SELECT recording_id, count(*), max(segment_index) + 1 FROM segments GROUP BY recording_id")
    assert len(segments) == 3 and all(count == top for _, count, top in segments)


def test_with_stages_overlapped_a_run_killed_mid_way_and_run_again_stores_each_call_once(
        job: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two calls in flight (``overlap_stages``): one is transcribed while the other is scored
    when the run is killed; the next run stores every call once and records the killed run."""
    monkeypatch.setenv("CALLSCORE_OVERLAP_STAGES", "true")
    db = job["db"]
    run = Watched([CALLSCORE, *job["args"]])
    run.wait_for("stored ")
    run.kill()
    assert complete_calls(db) in (1, 2)
    final = subprocess.run([CALLSCORE, *job["args"], "--json"], cwd=ROOT, capture_output=True, text=True,
                           timeout=TIMEOUT_S)
    assert final.returncode == 0, final.stderr[-2000:]
    assert complete_calls(db) == 3
    assert rows(db, "SELECT count(*), count(DISTINCT recording_id) FROM evaluations") == [(3, 3)]
    assert rows(db, "SELECT count(*) FROM failures") == [(0,)]
    assert rows(db, "SELECT status, count(*) FROM runs GROUP BY status ORDER BY status") == [
        ("aborted", 1), ("completed", 1)]


def test_queries_and_reports_during_a_run_all_succeed_and_see_the_count_only_grow(job: dict, tmp_path: Path) -> None:
    """A run holds the warehouse only while it plans or stores a call: analysts' SQL and the
    report get in between (they were all refused until the run ended)."""
    db = job["db"]
    run = Watched([CALLSCORE, *job["args"]])
    run.wait_for("transcribing on the CPU")
    counts, waits = [], []
    while run.process.poll() is None or not counts:
        started = time.monotonic()
        query = subprocess.run([CALLSCORE, "sql", "--db", str(db), "--format", "csv",
                                "SELECT count(*) AS calls FROM evaluations"], cwd=ROOT, capture_output=True, text=True,
                               timeout=120)
        waits.append(time.monotonic() - started)
        assert query.returncode == 0, query.stderr
        counts.append(int(query.stdout.split()[-1]))
        report = subprocess.run([CALLSCORE, "report", "--db", str(db), "--out", str(tmp_path / "report.html")],
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert report.returncode == 0, report.stderr
    assert run.finish() == 0
    assert counts == sorted(counts) and len(counts) >= 2, counts
    print(f"reads during the run: {len(counts)}, counts {counts}, longest sql {max(waits):.2f} s")
    assert complete_calls(db) == 3
    assert rows(db, "SELECT count(*), count(DISTINCT recording_id) FROM evaluations") == [(3, 3)]
    assert rows(db, "SELECT status FROM runs") == [("completed",)]


def test_a_run_waits_for_a_long_read_and_killed_while_waiting_loses_nothing(job: dict) -> None:
    db = job["db"]
    run = Watched([CALLSCORE, *job["args"]])
    run.wait_for("transcribing on the CPU")
    with held_by_another_process(db, seconds=300, read_only=True):  # an analyst's long query
        run.wait_for("in use by another process: waiting up to 3600 s")  # its first call is ready to store
        run.kill()  # killed while it waits: the call in hand was never stored, so it is done again
    assert complete_calls(db) == 0

    run = Watched([CALLSCORE, *job["args"]])
    run.wait_for("transcribing on the CPU")
    with held_by_another_process(db, seconds=300, read_only=True):
        run.wait_for("in use by another process: waiting up to 3600 s")
    assert run.finish() == 0  # the read ended: the run went on and stored
    assert complete_calls(db) == 3
    assert rows(db, "SELECT count(*), count(DISTINCT recording_id) FROM evaluations") == [(3, 3)]
