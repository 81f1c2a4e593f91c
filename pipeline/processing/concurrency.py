"""Several recordings in flight at once (``CallProcessor.calls_in_flight``): against a shared LLM
server ``llm_concurrency`` of them, so the server's continuous batching is used; with the model in
this process two (``overlap_stages``), so the next call is transcribed while the LLM scores this
one. Either way this process transcribes one call at a time (``TRANSCRIBE_LOCK``), the model in
it scores one at a time, and the warehouse is written from one thread at a time (its turns,
``pipeline.store.warehouse.access``, let one thread in at once).

Each recording goes through the whole procedure on a worker thread of its own; its outcome and
any failure stay its own, and outcomes arrive in the order calls finish.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Callable, Iterable, TypeVar

from pipeline.stopping import clear_stop, request_stop, stop_requested

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_concurrently(items: Iterable[Item], handle: Callable[[Item], Result], *, workers: int,
                     on_result: Callable[[Result], None]) -> None:
    """``handle`` every item on up to ``workers`` threads, ``on_result`` called in this thread as
    each finishes. An exception in ``handle`` (a setup error, a full disk) stops the rest: the
    items not started are not started, the running ones are asked to stop (``request_stop``),
    and it is raised here once they have. So is Ctrl-C."""
    pending = iter(items)
    running: set[Future[Result]] = set()
    stopping_here = False
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="callscore-call") as pool:
            try:
                for item in pending:
                    running.add(pool.submit(handle, item))
                    if len(running) < workers:
                        continue
                    done, running = _wait_some(running)
                    _deliver(done, on_result)
                while running:
                    done, running = _wait_some(running)
                    _deliver(done, on_result)
            except BaseException:
                stopping_here = not stop_requested()
                request_stop()  # the threads still running end at their next check
                raise
    finally:
        if stopping_here:  # they have ended: a later run in this process starts afresh
            clear_stop()


def _wait_some(running: set[Future[Any]]) -> tuple[set[Future[Any]], set[Future[Any]]]:
    """Wait (in half-second steps, so Ctrl-C is taken) until one of ``running`` is done."""
    while True:
        done, still = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
        if done:
            return done, still


def _deliver(done: set[Future[Any]], on_result: Callable[[Any], None]) -> None:
    for future in done:
        on_result(future.result())
