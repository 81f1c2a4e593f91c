"""What taking the warehouse in turns costs: a scoring run opens it for each call's write and
closes it after (``pipeline.store.warehouse.access``), where it used to hold it from its first
call to its last. Closing after a write checkpoints DuckDB's write-ahead log into the file.

    .venv/bin/python bench/warehouse_turns.py [--calls 100000 1000000] [--writes 40] [--samples]

1. For each size, a warehouse of synthetic scored calls (``bench/warehouse.py``'s generator) is
   written ``--writes`` more calls in rounds that alternate between the two ways: held (one
   connection for all of a round's calls, its close at the end) and in turns (open, one call's
   transaction, close, per call). Printed: milliseconds per call each way, and of a turn's open,
   write and close (the checkpoint).
2. ``--samples``: the bundled sample calls scored with the real models, the warehouse held for
   the run against taken in turns, alternating, twice each: wall seconds and their ratio; then
   ``callscore score`` on them and two labelled calls while this process reads the warehouse
   every 50 ms: how many reads, the longest and mean wait to open, whether the count only grew.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.warehouse import generate, synthetic_records  # noqa: E402
from pipeline.store.warehouse import Warehouse  # noqa: E402
from pipeline.store.warehouse.access import WriteTurns  # noqa: E402

ROUNDS = 4


def time_turns(path: Path, writes: int) -> dict[str, float]:
    """Milliseconds per call: held and in turns (and a turn's open, write and close)."""
    per_round = max(1, writes // (2 * ROUNDS))
    held: list[float] = []
    opens: list[float] = []
    saves: list[float] = []
    closes: list[float] = []
    start = 0
    turns = WriteTurns(path)
    with turns.turn():  # the first turn migrates; a run's later ones do not
        pass
    for _ in range(ROUNDS):
        records = synthetic_records(per_round, start=start, prefix="held")
        start += per_round
        began = time.perf_counter()
        with Warehouse.open(path, migrate=False) as warehouse:
            for record in records:
                warehouse.save_call(record)
        held.append((time.perf_counter() - began) / len(records))
        for record in synthetic_records(per_round, start=start, prefix="turns"):
            start += 1
            began = time.perf_counter()
            with turns.turn() as warehouse:
                opened = time.perf_counter()
                warehouse.save_call(record)
                saved = time.perf_counter()
            closed = time.perf_counter()
            opens.append(opened - began)
            saves.append(saved - opened)
            closes.append(closed - saved)
    ms = 1000.0
    return {"held": statistics.mean(held) * ms, "turn": statistics.mean(o + s + c for o, s, c in zip(opens, saves, closes)) * ms,
            "open": statistics.mean(opens) * ms, "write": statistics.mean(saves) * ms,
            "close": statistics.mean(closes) * ms, "close_max": max(closes) * ms}


def time_samples() -> tuple[list[float], list[float]]:
    """Wall seconds of scoring the sample calls: held, and in turns, alternating."""
    from pipeline.config import load_settings
    from pipeline.processing.batch import run_batch
    from pipeline.processing.procedure import CallProcessor

    samples = Path(__file__).resolve().parent.parent / "samples" / "calls"
    folder = Path(tempfile.mkdtemp(prefix="callscore-turns-"))
    processor = CallProcessor(load_settings({"db": folder / "warm.duckdb"}))
    with Warehouse.open(folder / "warm.duckdb") as warehouse:  # models loaded and warm before timing
        run_batch([samples], processor, warehouse)
    held, turns = [], []
    try:
        for round_number in range(2):
            for way, times in (("held", held), ("turns", turns)):
                db = folder / f"{way}-{round_number}.duckdb"
                Warehouse.open(db).close()  # created and migrated, as the CLI does before a run
                began = time.perf_counter()
                if way == "held":
                    with Warehouse.open(db) as warehouse:
                        run_batch([samples], processor, warehouse)
                else:
                    run_batch([samples], processor, WriteTurns(db))
                times.append(time.perf_counter() - began)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return held, turns


def time_reads_during_a_run() -> str:
    """A reader polling the warehouse while ``callscore score`` stores calls into it."""
    import subprocess

    from pipeline.store.warehouse.access import open_waiting

    root = Path(__file__).resolve().parent.parent
    folder = Path(tempfile.mkdtemp(prefix="callscore-turns-"))
    db = folder / "w.duckdb"
    Warehouse.open(db).close()
    calls = [root / "samples" / "calls", *sorted((root / "samples" / "labelled").glob("lab-0[12]-*.mp3"))]
    run = subprocess.Popen([str(Path(sys.executable).with_name("callscore")), "score", *map(str, calls), "--db", str(db)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    waits, counts = [], []
    try:
        while run.poll() is None:
            began = time.perf_counter()
            with open_waiting(db, read_only=True, wait_s=30) as warehouse:
                waits.append(time.perf_counter() - began)
                counts.append(warehouse.connection.execute("SELECT count(*) FROM evaluations").fetchone()[0])
            time.sleep(0.05)
    finally:
        run.wait()
        shutil.rmtree(folder, ignore_errors=True)
    return (f"reads during `callscore score` (exit {run.returncode}): {len(waits)}, longest wait to open "
            f"{max(waits):.3f} s, mean {statistics.mean(waits):.3f} s; calls seen {counts[0]} -> {counts[-1]}, "
            f"only growing: {counts == sorted(counts)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[100_000], help="warehouse sizes, in calls")
    parser.add_argument("--writes", type=int, default=40, help="calls written at each size (default 40)")
    parser.add_argument("--samples", action="store_true", help="also score the sample calls both ways")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="callscore-turns-", dir="/tmp"))
    try:
        print("| calls in the warehouse | held ms/call | in turns ms/call | ratio | open ms | write ms | close (checkpoint) ms, mean / max |")
        print("|---|---|---|---|---|---|---|")
        for calls in args.calls:
            path = folder / f"calls-{calls}.duckdb"
            with Warehouse.open(path) as warehouse:
                generate(warehouse, calls)
            t = time_turns(path, args.writes)
            print(f"| {calls:,} | {t['held']:.1f} | {t['turn']:.1f} | {t['turn'] / t['held']:.2f}x | {t['open']:.1f} | "
                  f"{t['write']:.1f} | {t['close']:.1f} / {t['close_max']:.1f} |", flush=True)
            path.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.samples:
        held, turns = time_samples()
        print(f"\nsample calls, wall s: held {held[0]:.1f} / {held[1]:.1f}, in turns {turns[0]:.1f} / {turns[1]:.1f}; "
              f"in turns / held = {sum(turns) / sum(held):.3f}")
        print(time_reads_during_a_run())


if __name__ == "__main__":
    main()
