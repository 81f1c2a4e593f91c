"""Run the real `callscore` command with a fault injected: the process kills itself (SIGKILL, as
a power cut would) at a chosen point, for the crash-safety tests.

    python -m tests.kill_switch POINT N callscore-arguments...

POINT ``store``: inside the N-th call's warehouse transaction, after its recording, transcript,
segments and metrics rows were written and before its evaluation and COMMIT.
"""

from __future__ import annotations

import os
import signal
import sys

from pipeline.store.warehouse import Warehouse


def _kill_in_nth_store(n: int) -> None:
    original, seen = Warehouse._insert_evaluation, []

    def insert_evaluation(self: Warehouse, record: object) -> int:
        seen.append(record)
        if len(seen) == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, record)

    Warehouse._insert_evaluation = insert_evaluation  # type: ignore[method-assign]


def main() -> None:
    point, n, *arguments = sys.argv[1:]
    if point != "store":
        raise SystemExit(f"unknown kill point {point!r}")
    _kill_in_nth_store(int(n))
    from pipeline.cli import main as callscore

    callscore(arguments, prog_name="callscore")


if __name__ == "__main__":
    main()
