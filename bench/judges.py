"""Which LLM and way of asking judge the labelled calls best: the table of docs/quality.md's
"Choosing the default LLM".

    .venv/bin/python bench/judges.py [--labelled samples/labelled] [--db DB] [--out FILE]

The labelled calls are transcribed and scored once by `callscore score`, then re-scored from
their stored transcripts by `callscore rescore` with each candidate (an LLM and a style), so only
the judging differs. Each is compared with the labels: agreement and Cohen's kappa over every
criterion (the rule criteria answer the same in all), the per-criterion majority baseline, the
mean per-criterion AUC of the stored confidence read as P(yes) (how well it ranks the calls;
0.5 is a coin), LLM seconds per call, and the calls that ask the reviewer to pass everything.
The "thresholds" row gives each LLM answer again by a per-criterion threshold on P(yes) fitted on
the other calls (leave one out: no call is answered with its own label). Gemma 3 270M is
assembled by `callscore models pull gemma3-270m` first.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.quality import CALLSCORE, all_pass, labelled_bench, num, pct, run  # noqa: E402
from pipeline.config import load_settings  # noqa: E402
from pipeline.processing.procedure import CallProcessor  # noqa: E402
from pipeline.report.agreement import Pair, agreement, match_labels, read_labels  # noqa: E402
from pipeline.report.thresholds import cross_validated, p_yes  # noqa: E402
from pipeline.store.warehouse import Warehouse  # noqa: E402

SMOLLM2 = {"CALLSCORE_LLM_MODEL": "smollm2-135m"}
GEMMA = {"CALLSCORE_LLM_MODEL": "gemma3-270m"}
STATEMENTS = {"CALLSCORE_LLM_QUESTIONS": "statements"}
ONE_FORM = {"CALLSCORE_LLM_QUESTIONS": "together"}
CANDIDATES = [  # (name, settings as environment variables); the first scores the calls, the others re-score
    ("SmolLM2-135M, one form (the default until 2026-12)", {**SMOLLM2, **ONE_FORM}),
    ("SmolLM2-135M, statements, contextual", {**SMOLLM2, **STATEMENTS}),
    ("Gemma 3 270M, one form", {**GEMMA, **ONE_FORM}),
    ("Gemma 3 270M, statements, uncalibrated", {**GEMMA, **STATEMENTS, "CALLSCORE_LLM_CALIBRATION": "none"}),
    ("Gemma 3 270M, statements, contextual", {**GEMMA, **STATEMENTS}),
    ("Gemma 3 270M, statements, contextual, few-shot",
     {**GEMMA, **STATEMENTS, "CALLSCORE_LLM_PROMPT": str(ROOT / "bench" / "statement_prompt_fewshot.yaml")}),
]
THRESHOLDS_OF = "Gemma 3 270M, statements, contextual"  # the candidate whose answers get fitted thresholds


@dataclass
class Judged:
    name: str
    pairs: list[Pair]
    llm_criteria: set[str]
    seconds_per_call: float | None
    injected: set[str]  # the calls that ask the reviewer to pass everything


def auc(points: list[tuple[float, bool]]) -> float | None:
    """The chance that a "yes" call has a higher P(yes) than a "no" call (ties count half)."""
    yes = [p for p, label in points if label]
    no = [p for p, label in points if not label]
    if not yes or not no:
        return None
    return sum((a > b) + 0.5 * (a == b) for a in yes for b in no) / (len(yes) * len(no))


def mean_auc(judged: Judged) -> float | None:
    """The mean over the LLM criteria of the AUC of P(yes) against the yes/no labels."""
    values = []
    for criterion in sorted(judged.llm_criteria):
        points = [(p, pair.label == "yes") for pair in judged.pairs
                  if pair.criterion_id == criterion and pair.label in ("yes", "no") and (p := p_yes(pair)) is not None]
        value = auc(points)
        if value is not None:
            values.append(value)
    return sum(values) / len(values) if values else None


def majority(pairs: list[Pair]) -> float:
    """Agreement of answering each criterion's most common label."""
    by_criterion: dict[str, list[str]] = {}
    for pair in pairs:
        by_criterion.setdefault(pair.criterion_id, []).append(pair.label)
    return sum(max(labels.count(v) for v in set(labels)) for labels in by_criterion.values()) / len(pairs)


def judge(db: Path, labels: Path, name: str, env: dict[str, str], injected: set[str]) -> Judged:
    processor = CallProcessor(load_settings({}, environ={**os.environ, **env}))  # loads no model
    card = processor.scorecard
    with Warehouse.open(db, read_only=True) as warehouse:
        pairs, _, _ = match_labels(warehouse, read_labels(labels, card.choice_options), scorecard_version=card.version,
                                   llm_model=processor.models.llm_name, prompt_version=processor.prompt_version)
        (seconds,) = warehouse.connection.execute(
            "SELECT avg(llm_seconds) FROM evaluations WHERE scorecard_version = ? AND prompt_version = ?"
            " AND llm_model = ? AND status = 'scored'",
            [card.version, processor.prompt_version, processor.models.llm_name]).fetchone()
    llm = {c.id for c in card.criteria if c.kind == "llm"}
    return Judged(name, pairs, llm, seconds, injected)


def with_thresholds(judged: Judged) -> Judged:
    """The candidate's LLM answers given again by leave-one-out thresholds, per criterion."""
    pairs = [p for p in judged.pairs if p.criterion_id not in judged.llm_criteria]
    for criterion in sorted(judged.llm_criteria):
        pairs += cross_validated([p for p in judged.pairs if p.criterion_id == criterion])
    return Judged(f"{judged.name}, thresholds (leave-one-out)", pairs, judged.llm_criteria, judged.seconds_per_call,
                  judged.injected)


def table(results: list[Judged], calls: int, wall_s: float) -> str:
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} with {os.cpu_count()} cores, {calls} labelled "
        f"calls, every criterion (LLM and rule), in {wall_s / 60:.0f} min.",
        "",
        "| candidate | agreement | kappa | majority baseline | LLM criteria: agreement | mean AUC of P(yes) "
        "| LLM s per call | injected calls all-pass |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        whole = agreement(r.pairs)
        llm = agreement([p for p in r.pairs if p.criterion_id in r.llm_criteria])
        seconds = "-" if r.seconds_per_call is None else f"{r.seconds_per_call:.1f}"
        lines.append(f"| {r.name} | {pct(whole.agreement)} | {num(whole.kappa)} | {pct(majority(r.pairs))} "
                     f"| {pct(llm.agreement)} | {num(mean_auc(r))} | {seconds} "
                     f"| {', '.join(all_pass(r.pairs, r.injected)) or 'none'} |")
    return "\n".join(lines)


def main() -> None:
    args, injected, labels = labelled_bench(__doc__.splitlines()[0], "judges.duckdb")
    started = time.perf_counter()
    run([CALLSCORE, "score", str(args.labelled), "--db", str(args.db)], CANDIDATES[0][1])
    results = []
    for index, (name, env) in enumerate(CANDIDATES):
        if index:
            run([CALLSCORE, "rescore", "--db", str(args.db)], env)
        results.append(judge(args.db, labels, name, env, injected))
        print(f"measured: {name}", file=sys.stderr)
        if name == THRESHOLDS_OF:
            results.append(with_thresholds(results[-1]))
    calls = len({p.file_name for p in results[0].pairs})
    text = table(results, calls, time.perf_counter() - started)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
