"""Several calls in flight (``llm_concurrency``), without a model: each result delivered once in
the caller's thread, a failure that stops the run stops the rest, and the warehouse proxy lets
one thread in at a time. The real server is in tests/scoring/test_openai_backend.py."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pipeline.errors import SetupError
from pipeline.processing.concurrency import map_concurrently
from pipeline.stopping import stop_requested
from pipeline.store.warehouse.access import WriteTurns


def test_every_item_is_handled_once_and_delivered_in_the_callers_thread() -> None:
    delivered: list[tuple[int, str]] = []
    running, most, lock = [0], [0], threading.Lock()

    def handle(item: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return item * 10

    map_concurrently(range(12), handle, workers=4,
                     on_result=lambda value: delivered.append((value, threading.current_thread().name)))
    assert sorted(value for value, _ in delivered) == [i * 10 for i in range(12)]
    assert {name for _, name in delivered} == {threading.current_thread().name}
    assert 2 <= most[0] <= 4


def test_an_error_that_stops_the_run_stops_the_items_in_flight_and_is_raised() -> None:
    started: list[int] = []
    saw_stop: list[bool] = []

    def handle(item: int) -> int:
        started.append(item)
        if item == 2:
            raise SetupError("the model is gone")
        deadline = time.monotonic() + 5
        while not stop_requested() and time.monotonic() < deadline:  # a long call, as the LLM's
            time.sleep(0.01)
        saw_stop.append(stop_requested())
        return item

    with pytest.raises(SetupError, match="the model is gone"):
        map_concurrently(range(50), handle, workers=3, on_result=lambda value: None)
    assert len(started) < 10 and all(saw_stop)  # the rest were not started; those running were stopped
    assert not stop_requested()  # and the next run in this process starts afresh


def test_the_runs_threads_take_the_warehouse_one_turn_at_a_time(tmp_path: Path) -> None:
    turns = WriteTurns(tmp_path / "w.duckdb")
    inside, most = [0], [0]

    def store() -> None:
        with turns.turn():
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            time.sleep(0.01)
            inside[0] -= 1

    threads = [threading.Thread(target=store) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1


@pytest.mark.slow
def test_overlapped_stages_keep_each_call_once_and_each_stage_one_call_at_a_time(tmp_path: Path, card: Path) -> None:
    """With the real models, the next call is transcribed while the LLM scores the one before;
    Whisper and the LLM each take one call at a time, every call is stored once, and a broken
    file's failure is recorded once."""
    import shutil

    from pipeline.config import load_settings
    from pipeline.processing.batch import run_batch
    from pipeline.processing.procedure import CallProcessor
    from pipeline.store.warehouse import Warehouse
    from tests.conftest import GOOD_CALL, MONO_CALL, POOR_CALL, rows

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for call in (GOOD_CALL, POOR_CALL, MONO_CALL):
        shutil.copy(call, inbox)
    (inbox / "broken.mp3").write_bytes(b"not audio at all" * 100)
    processor = CallProcessor(load_settings({"scorecard": str(card), "overlap_stages": True}))
    assert processor.calls_in_flight == 2
    spans: dict[str, list[tuple[float, float]]] = {"transcribe": [], "score": []}

    def timed(stage, run):
        def wrapper(*args, **kwargs):
            started = time.monotonic()
            try:
                return run(*args, **kwargs)
            finally:
                spans[stage].append((started, time.monotonic()))
        return wrapper

    # inside the stages' locks: the time each call has Whisper or the LLM
    transcriber, scorer = processor.transcriber, processor.scorer
    transcriber.transcribe_call = timed("transcribe", transcriber.transcribe_call)  # type: ignore[method-assign]
    scorer.score = timed("score", scorer.score)  # type: ignore[method-assign]
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        summary = run_batch([inbox], processor, warehouse)
    assert sorted(o.status for o in summary.outcomes) == ["failed", "scored", "scored", "scored"]
    assert rows(db, "SELECT count(*), count(DISTINCT recording_id) FROM evaluations") == [(3, 3)]
    assert rows(db, "SELECT count(*) FROM failures") == [(1,)]

    def overlapping(a: tuple[float, float], b: tuple[float, float]) -> float:
        return min(a[1], b[1]) - max(a[0], b[0])

    for stage in ("transcribe", "score"):
        ordered = sorted(spans[stage])
        assert len(ordered) == 3
        assert all(overlapping(a, b) <= 0 for a, b in zip(ordered, ordered[1:])), (stage, ordered)
    assert any(overlapping(t, s) > 0.2 for t in spans["transcribe"] for s in spans["score"]), spans
