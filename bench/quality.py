"""Measure scoring variants against the labelled calls and write the table of docs/quality.md.

    .venv/bin/python bench/quality.py [--labelled samples/labelled] [--db DB] [--out docs/quality.md]

The labelled calls (samples/labelled.py: scripted calls with per-criterion labels) are
transcribed and scored once with the default style by `callscore score`, then re-scored from
their stored transcripts by `callscore rescore` in each other style, and each style's verdicts
are compared with the labels by the same code as `callscore eval`. Every style is measured on
the same transcripts, so only the scoring differs. The calls are split in two halves by name:
"dev" (odd numbers) for choosing, "test" (even numbers) for reporting on calls the choice never
looked at.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.processing.procedure import CallProcessor  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.report.agreement import Agreement, Pair, agreement, match_labels, read_labels  # noqa: E402
from pipeline.scoring.scorecard import load_scorecard  # noqa: E402
from pipeline.store.warehouse import Warehouse  # noqa: E402
from samples.labelled import CALLS  # noqa: E402

CALLSCORE = str(Path(sys.executable).with_name("callscore"))
STYLES = [  # (name, settings as environment variables)
    ("together, evidence first (default)", {}),
    ("together, verdict first", {"CALLSCORE_LLM_ANSWER_ORDER": "verdict_first"}),
    ("per criterion, evidence first", {"CALLSCORE_LLM_QUESTIONS": "per_criterion"}),
    ("per criterion, verdict first", {"CALLSCORE_LLM_QUESTIONS": "per_criterion",
                                      "CALLSCORE_LLM_ANSWER_ORDER": "verdict_first"}),
]


@dataclass
class Measured:
    style: str
    dev: Agreement
    test: Agreement
    test_llm: Agreement  # the LLM criteria only
    test_rule: Agreement  # the rule criteria only
    seconds_per_call: float  # LLM wall seconds per call
    prompt_tokens_per_call: float
    injected_all_pass: list[str]  # injected calls answered yes (or na) on every criterion


def run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")


def is_dev(file_name: str) -> bool:
    digits = "".join(ch for ch in file_name.split("-")[1] if ch.isdigit()) if "-" in file_name else ""
    return bool(digits) and int(digits) % 2 == 1


def measure(db: Path, labels: Path, style: str, env: dict[str, str], injected: set[str]) -> Measured:
    processor = CallProcessor(load_settings({}, environ={**os.environ, **env}))  # loads no model
    card, prompt_version = processor.scorecard, processor.prompt_version
    with Warehouse.open(db, read_only=True) as warehouse:
        pairs, _, _ = match_labels(warehouse, read_labels(labels, card.choice_options), scorecard_version=card.version,
                                   prompt_version=prompt_version)
        seconds, tokens = warehouse.connection.execute(
            "SELECT avg(llm_seconds), avg(prompt_tokens) FROM evaluations"
            " WHERE scorecard_version = ? AND prompt_version = ? AND status = 'scored'", [card.version, prompt_version],
        ).fetchone()
    dev = [p for p in pairs if is_dev(p.file_name)]
    test = [p for p in pairs if not is_dev(p.file_name)]
    kind = {c.id: c.kind for c in card.criteria}
    by_kind = {k: agreement([p for p in test if kind[p.criterion_id] == k], kind=k) for k in ("llm", "rule")}
    return Measured(style, agreement(dev), agreement(test), by_kind["llm"], by_kind["rule"], seconds, tokens,
                    all_pass(pairs, injected))


def all_pass(pairs: list[Pair], injected: set[str]) -> list[str]:
    calls: dict[str, list[Pair]] = {}
    for pair in pairs:
        if pair.file_name in injected:
            calls.setdefault(pair.file_name, []).append(pair)
    return sorted(name for name, answers in calls.items() if all(p.answer != "no" for p in answers))


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def table(results: list[Measured], llm: str, calls: int, wall_s: float) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} with {os.cpu_count()} cores, LLM `{llm}`, "
        f"{calls} labelled calls (dev: odd-numbered calls, test: even-numbered), in {wall_s / 60:.0f} min.",
        "",
        "| style | test agreement | test kappa | test majority baseline | test: LLM criteria | test: rule criteria "
        "| dev agreement | dev kappa | recall of failed (test) | LLM s per call | prompt tokens per call "
        "| injected calls all-pass |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.style} | {pct(r.test.agreement)} | {num(r.test.kappa)} | {pct(r.test.majority_baseline)} "
            f"| {pct(r.test_llm.agreement)} (baseline {pct(r.test_llm.majority_baseline)}) "
            f"| {pct(r.test_rule.agreement)} (baseline {pct(r.test_rule.majority_baseline)}) "
            f"| {pct(r.dev.agreement)} | {num(r.dev.kappa)} | {pct(r.test.recall_failed)} | {r.seconds_per_call:.1f} "
            f"| {r.prompt_tokens_per_call:.0f} | {', '.join(r.injected_all_pass) or 'none'} |"
        )
    return "\n".join(lines)


def labelled_bench(description: str, db_name: str) -> tuple[argparse.Namespace, set[str], Path]:
    """A labelled-calls bench's arguments (--labelled, --db, --out), the names of the calls that
    ask the reviewer to pass everything, and the labels file; the calls are made when missing."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--labelled", type=Path, default=ROOT / "samples" / "labelled")
    parser.add_argument("--db", type=Path, default=ROOT / "warehouse" / db_name)
    parser.add_argument("--out", type=Path, help="write the table here as well (e.g. into docs/quality.md)")
    args = parser.parse_args()
    if not any(args.labelled.glob("*.mp3")):
        run([sys.executable, str(ROOT / "samples" / "labelled.py"), str(args.labelled)], {})
    return args, {call.name for call in CALLS if call.injection}, args.labelled / "labels.csv"


def main() -> None:
    args, injected, labels = labelled_bench(__doc__.splitlines()[0], "quality.duckdb")
    started = time.perf_counter()
    run([CALLSCORE, "score", str(args.labelled), "--db", str(args.db)], {})
    results = [measure(args.db, labels, STYLES[0][0], {}, injected)]
    for name, env in STYLES[1:]:
        run([CALLSCORE, "rescore", "--db", str(args.db)], env)
        results.append(measure(args.db, labels, name, env, injected))
        print(f"measured: {name}", file=sys.stderr)
    settings = load_settings({})
    card = load_scorecard(settings.scorecard)
    with Warehouse.open(args.db, read_only=True) as warehouse:
        calls = len({p.file_name for p in match_labels(warehouse, read_labels(labels, card.choice_options),
                     scorecard_version=card.version)[0]})
    llm = Path(str(settings.llm_model)).name if settings.llm_model else "embedded Gemma 3 270M"
    text = table(results, llm, calls, time.perf_counter() - started)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
