"""How large and how slow `callscore report` is with its call pages, at 1,000 calls or more.

    .venv/bin/python bench/report.py [--calls 1000] [--rounds 3] [--json]

A warehouse is filled with synthetic scored calls as ``callscore score`` stores them
(``bench.warehouse.synthetic_records``: 40 segments, 10 verdicts each, 50 agents), so that the
report lists every call (each agent's 20 lowest-scoring calls) and writes a page for each: the
worst case. Then, in alternating rounds so that both see the same machine load, the summary page
alone (the report as it was before call pages: the baseline) and the whole report with its
pages are built, and their best times, sizes and ratio are printed. ``--json``: the results as
JSON on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.warehouse import synthetic_records  # noqa: E402
from pipeline.report.html_report import collect, render, write_report  # noqa: E402
from pipeline.store.warehouse import Warehouse  # noqa: E402


def bench_report(calls: int, rounds: int, directory: Path) -> dict:
    db = directory / "report-bench.duckdb"
    with Warehouse.open(db) as warehouse:
        started = time.perf_counter()
        for start in range(0, calls, 200):
            for record in synthetic_records(min(200, calls - start), start=start):
                warehouse.save_call(record)
        print(f"{calls} calls stored in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    summary_s, full_s = [], []
    out = directory / "report.html"
    with Warehouse.open(db, read_only=True) as warehouse:
        for n in range(rounds):
            started = time.perf_counter()
            page = render(collect(warehouse))
            summary_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            data = write_report(warehouse, out)
            full_s.append(time.perf_counter() - started)
            print(f"round {n + 1}: summary page {summary_s[-1]:.2f} s, with call pages {full_s[-1]:.2f} s", file=sys.stderr)
    pages = sorted(out.with_name("report-calls").glob("*.html"))
    sizes = [p.stat().st_size for p in pages]
    return {
        "calls": calls, "call_pages": len(pages), "linked_calls": len(data.linked_calls()),
        "summary_page_bytes": len(page.encode()), "report_bytes": out.stat().st_size,
        "call_pages_bytes": sum(sizes), "largest_call_page_bytes": max(sizes, default=0),
        "summary_page_s": min(summary_s), "report_with_pages_s": min(full_s),
        "ratio": min(full_s) / min(summary_s), "ms_per_call_page": 1000 * (min(full_s) - min(summary_s)) / max(len(pages), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="Only the results, as JSON, on stdout.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callscore-report-bench-") as directory:
        result = bench_report(args.calls, args.rounds, Path(directory))
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['calls']} calls: report {result['report_bytes'] / 1024:.0f} KiB (summary page alone "
          f"{result['summary_page_bytes'] / 1024:.0f} KiB) + {result['call_pages']} call pages, "
          f"{result['call_pages_bytes'] / 2**20:.1f} MiB (largest {result['largest_call_page_bytes'] / 1024:.0f} KiB)")
    print(f"built in {result['report_with_pages_s']:.2f} s against {result['summary_page_s']:.2f} s for the summary "
          f"page alone ({result['ratio']:.1f}x; {result['ms_per_call_page']:.1f} ms per call page), best of the rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
