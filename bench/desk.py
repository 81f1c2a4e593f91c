"""How fast the review desk answers its pages and API over 100k and 1M calls.

    .venv/bin/python bench/desk.py --calls 100000 1000000 [--dir DIR] [--repeats 20] [--json]

For each size, a warehouse is generated as ``bench/warehouse.py`` does (scored calls of a
10-criterion scorecard over a year, 50 agents in 5 teams), then given what the desk reads
besides: 12 transcript segments per call (for the text search) and reviews of 2% of the calls
(each of their verdicts reviewed, a third overruled). The desk app (``create_app``) then answers
each request below ``--repeats`` times after one warm-up, in this process through Starlette's
test client, as a logged-in reviewer: every request opens the warehouse read-only, checks the
session, queries and renders, as under ``callscore serve``. The baseline, measured in the same
run, is what each request pays before its query: opening the warehouse read-only and closing it.

The exit status is 0 when every request's p95 at the smallest size is under 300 ms.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.testclient import TestClient  # noqa: E402

from bench.machine import describe_machine  # noqa: E402
from bench.warehouse import generate  # noqa: E402
from pipeline.desk.app import create_app  # noqa: E402
from pipeline.store.warehouse import Warehouse  # noqa: E402

TARGET_S = 0.3  # p95 of every request at 100k calls
PHRASES = ("thank you for calling", "my bill is wrong", "I would like a refund", "can you confirm your date of birth",
           "the internet keeps dropping", "I am moving house next month", "is there anything else",
           "let me check that for you", "I want to cancel", "have a nice day", "the engineer did not come",
           "sorry to hear that")
SEGMENTS_PER_CALL = 12
REVIEWED_EVERY = 50  # one call in 50 reviewed


@dataclass(frozen=True)
class RequestTime:
    name: str
    path: str
    p50_s: float
    p95_s: float
    max_s: float


@dataclass(frozen=True)
class SizeResult:
    calls: int
    segments: int
    reviews: int
    baseline_p95_s: float  # opening the warehouse read-only and closing it
    requests: list[RequestTime]

    def slowest(self) -> RequestTime:
        return max(self.requests, key=lambda r: r.p95_s)


def add_desk_data(warehouse: Warehouse) -> tuple[int, int]:
    """Segments for every scored call and reviews of one call in ``REVIEWED_EVERY``; (segments, reviews)."""
    con = warehouse.connection
    with warehouse.transaction():
        con.execute(f"""
            INSERT INTO segments (recording_id, whisper_model, segment_index, speaker, channel, start_s, end_s, text,
                                  avg_logprob, no_speech_prob, compression_ratio)
            SELECT t.recording_id, t.whisper_model, k, CASE WHEN k % 2 = 0 THEN 'agent' ELSE 'customer' END, k % 2,
                   k * 5.0, k * 5.0 + 4.0, {list(PHRASES)}[1 + CAST(hash(t.recording_id, k) % {len(PHRASES)} AS INTEGER)],
                   -0.3, 0.01, 1.3
            FROM transcripts AS t, range({SEGMENTS_PER_CALL}) AS r(k)
            WHERE t.segment_count > 0
            ORDER BY t.recording_id, k""")
        con.execute(f"""
            INSERT INTO reviews (recording_id, scorecard_name, scorecard_version, item_kind, item_id, machine_answer,
                                 machine_llm_model, machine_prompt_version, reviewer, answer, reason)
            SELECT recording_id, scorecard_name, scorecard_version, 'criterion', criterion_id,
                   CASE WHEN passed IS NULL THEN 'n.a.' WHEN passed THEN 'yes' ELSE 'no' END, llm_model, prompt_version,
                   'bench', CASE WHEN hash(recording_id, criterion_id) % 3 = 0
                                 THEN (CASE WHEN passed THEN 'no' ELSE 'yes' END)
                                 ELSE (CASE WHEN passed IS NULL THEN 'n.a.' WHEN passed THEN 'yes' ELSE 'no' END) END,
                   CASE WHEN hash(recording_id, criterion_id) % 3 = 0 THEN 'wrong_verdict' END
            FROM version_scores
            WHERE hash(recording_id) % {REVIEWED_EVERY} = 0 AND scorecard_version = (SELECT scorecard_version FROM current_versions)""")
    counts = con.execute("SELECT (SELECT count(*) FROM segments), (SELECT count(*) FROM reviews)").fetchone()
    return counts[0], counts[1]


def requests_to_time(warehouse: Warehouse) -> list[tuple[str, str]]:
    """(name, path) of the pages and API calls timed, with values the warehouse holds."""
    con = warehouse.connection
    recording_id = con.execute("SELECT recording_id FROM call_scores WHERE is_latest ORDER BY started_at DESC"
                               " LIMIT 1 OFFSET 1000").fetchone()[0]
    last_day = con.execute("SELECT max(CAST(started_at AS DATE)) FROM recordings").fetchone()[0]
    week = f"day_from={last_day.fromordinal(last_day.toordinal() - 6).isoformat()}&day_to={last_day.isoformat()}"
    return [
        ("calls, first page", "/calls"),
        ("calls, page 200", "/calls?page=200"),
        ("one agent", "/calls?agent=agent_07"),
        ("team, last 7 days", f"/calls?team=billing&{week}"),
        ("criterion failed", "/calls?failed=verified_identity"),
        ("critical failed", "/calls?critical=yes"),
        ("QA 40-60, by score", "/calls?score_min=40&score_max=60&sort=qa_score"),
        ("flags", "/calls?flag=dual_mono&flag=mixed_language&flag=truncated"),
        ("reviewed", "/calls?reviewed=yes"),
        ("not reviewed, agent", "/calls?reviewed=no&agent=agent_07"),
        ("confidence below 0.6", "/calls?confidence_below=0.6"),
        ("text search", "/calls?q=refund"),
        ("text search, agent", "/calls?q=engineer&agent=agent_07"),
        ("by confidence", "/calls?sort=mean_confidence&desc=no"),
        ("API: calls, agent", "/api/calls?agent=agent_07"),
        ("call page", f"/calls/{recording_id}"),
        ("API: one call", f"/api/calls/{recording_id}"),
        ("complete + next", f"/calls/{recording_id}/next?reviewed=no"),
    ]


def _timed(action: Callable[[], None], repeats: int) -> list[float]:
    action()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def _p95(times: list[float]) -> float:
    return sorted(times)[max(0, round(0.95 * len(times)) - 1)]


def bench_size(calls: int, directory: Path, *, repeats: int, log: Callable[[str], None]) -> SizeResult:
    path = directory / f"desk-{calls}.duckdb"
    for stale in (path, path.with_name(path.name + ".wal"), path.with_name(path.name + ".desk-key")):
        stale.unlink(missing_ok=True)
    with Warehouse.open(path) as warehouse:
        generated = generate(warehouse, calls)
        segments, reviews = add_desk_data(warehouse)
        token = warehouse.add_reviewer("bench")
        paths = requests_to_time(warehouse)
    log(f"{calls:,} calls: generated in {generated.seconds:.0f} s, {segments:,} segments, {reviews:,} reviews")

    def open_and_close() -> None:
        Warehouse.open(path, read_only=True).close()

    baseline = _p95(_timed(open_and_close, repeats))
    client = TestClient(create_app(path, lock_wait_s=30), base_url="http://127.0.0.1:8750")
    assert client.post("/login", data={"token": token}, headers={"origin": "http://127.0.0.1:8750"},
                       follow_redirects=False).status_code == 303
    results = []
    for name, request in paths:
        def get(request: str = request) -> None:
            answer = client.get(request, follow_redirects=False)
            assert answer.status_code in (200, 303), (request, answer.status_code, answer.text[:200])
        times = _timed(get, repeats)
        results.append(RequestTime(name, request, statistics.median(times), _p95(times), max(times)))
        log(f"{calls:,} calls: {name}: p50 {results[-1].p50_s * 1000:.0f} ms, p95 {results[-1].p95_s * 1000:.0f} ms")
    return SizeResult(calls, segments, reviews, baseline, results)


def markdown(results: Sequence[SizeResult]) -> str:
    lines = [f"Machine: {describe_machine()}", "",
             "| request | " + " | ".join(f"{r.calls:,} calls p50 / p95 ms (× baseline)" for r in results) + " |",
             "|---|" + "---|" * len(results)]
    for index, request in enumerate(results[0].requests):
        cells = [f"{r.requests[index].p50_s * 1000:.0f} / {r.requests[index].p95_s * 1000:.0f}"
                 f" ({r.requests[index].p95_s / r.baseline_p95_s:.1f}×)" for r in results]
        route = re.sub(r"[0-9a-f]{64}", "{id}", request.path.split("?")[0])
        lines.append(f"| {request.name} (`{route}`) | " + " | ".join(cells) + " |")
    lines.append("| baseline: open + close read-only | "
                 + " | ".join(f"p95 {r.baseline_p95_s * 1000:.0f}" for r in results) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--dir", type=Path, help="where to write the warehouses (default: a new /tmp folder, removed)")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args(argv)
    log = (lambda line: print(line, file=sys.stderr, flush=True))
    owned = args.dir is None
    directory = Path(tempfile.mkdtemp(prefix="callscore-desk-bench-")) if owned else args.dir
    directory.mkdir(parents=True, exist_ok=True)
    try:
        results = [bench_size(calls, directory, repeats=args.repeats, log=log) for calls in args.calls]
    finally:
        if owned:
            shutil.rmtree(directory, ignore_errors=True)
    print(json.dumps([asdict(r) for r in results], indent=2) if args.json else markdown(results))
    return 0 if all(r.p95_s < TARGET_S for r in results[0].requests) else 1


if __name__ == "__main__":
    raise SystemExit(main())
