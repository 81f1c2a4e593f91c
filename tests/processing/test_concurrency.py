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
