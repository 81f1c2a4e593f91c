"""``callscore eval --compare``: the labelled calls (the desk's reviews, or --labels) re-scored by
each candidate LLM, prompt or scoring style, in memory, and printed side by side with the
answers stored now ("production"): agreement and kappa per criterion with bootstrap 90%
intervals, and the seconds per call each candidate took. Nothing is written to the warehouse."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.cli.output import message, plain, print_table, stderr
from pipeline.errors import CallscoreError


@dataclass(frozen=True)
class ComparisonPlan:
    """What the comparison needs from the warehouse, read before any scoring (the warehouse is
    then let go, so that runs and the desk go on while candidates score)."""

    labels: dict[tuple[str, str], str]  # (recording id, criterion or field id) -> the label
    production: Any  # CandidateAnswers: the answers stored now
    calls: list[Any]  # StoredCall: the labelled calls' transcripts


def prepare_comparison(card: Any, rows: Sequence[Any], warehouse: Any) -> ComparisonPlan:
    """The labels ``rows`` matched with the stored answers, and the labelled calls' transcripts."""
    from pipeline.processing.comparison_run import stored_calls
    from pipeline.report.agreement import match_field_labels, match_labels
    from pipeline.report.comparison import PRODUCTION, CandidateAnswers

    fields = set(card.choice_options)
    pairs, _, _ = match_labels(warehouse, [r for r in rows if r.criterion_id not in fields],
                               scorecard_version=card.version)
    field_pairs, _, _ = match_field_labels(warehouse, [r for r in rows if r.criterion_id in fields],
                                           scorecard_version=card.version)
    pairs = [*pairs, *field_pairs]
    if not pairs:
        raise CallscoreError("no labelled call has answers in the warehouse: score the labelled recordings first")
    production = CandidateAnswers(PRODUCTION, {(p.recording_id, p.criterion_id): p.answer for p in pairs})
    calls = stored_calls(warehouse, list(dict.fromkeys(p.recording_id for p in pairs)), card.version)
    return ComparisonPlan({(p.recording_id, p.criterion_id): p.label for p in pairs}, production, calls)


def run_compare(settings: Any, card: Any, plan: ComparisonPlan, candidates: Sequence[Any], *, as_json: bool) -> None:
    """Re-score the plan's calls with each of ``candidates``; print the comparison."""
    from pipeline.processing.comparison_run import rescore
    from pipeline.report.comparison import compare

    message(f"callscore: re-scoring {len(plan.calls)} labelled calls with {len(candidates)} candidate(s); "
            "nothing is written to the warehouse")
    answers = [plan.production]
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=stderr, disable=as_json or not stderr.is_terminal)
    with progress:
        for candidate in candidates:
            task = progress.add_task(plain(candidate.name)[:40], total=len(plan.calls))
            answers.append(rescore(settings, candidate, plan.calls, on_call=lambda: progress.advance(task)))
    comparison = compare(plan.labels, answers)
    if as_json:
        click.echo(json.dumps(asdict(comparison), indent=2))
        return
    _print(comparison, card)


def _print(comparison: Any, card: Any) -> None:
    def figure(f: Any, percent: bool) -> str:
        shown = (lambda v: f"{100 * v:.0f}%") if percent else (lambda v: f"{v:.2f}")
        if f.value is None:
            return "-"
        interval = "" if f.low is None else f" [{shown(f.low)}, {shown(f.high)}]"
        return shown(f.value) + interval

    print_table(["criterion", "candidate", "answers", "agreement [90% interval]", "kappa [90% interval]"],
                [[plain(r.criterion_id) if r.criterion_id != "all" else "all", plain(r.candidate), str(r.answers),
                  figure(r.agreement, True), figure(r.kappa, False)] for r in comparison.rows],
                title=plain(f"candidates against the labels of {comparison.calls} calls: {card.name} {card.version}"))
    print_table(["candidate", "seconds per call"],
                [[plain(name), "stored (scored before)" if seconds is None else f"{seconds:.1f}"]
                 for name, seconds in comparison.seconds_per_call.items()])


def candidates_from(llm_models: Sequence[Path], prompts: Sequence[Path], styles: dict[str, Sequence[str]]) -> list[Any]:
    """The candidates the options name; a missing model or prompt file stops here, before any scoring."""
    from pipeline.processing.comparison_run import candidates_of

    for path in (*llm_models, *prompts):
        if not path.is_file():
            raise CallscoreError(f"no file {path}: give the path of a GGUF model or a prompt template")
    return candidates_of(llm_models, prompts, styles)
