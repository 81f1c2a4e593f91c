"""What the command line prints: the consoles (stdout for data, stderr for messages), tables
that fit a terminal and never fold when piped, and the run, agreement and model summaries."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.intake.file_names import readable

stderr = Console(stderr=True)

# What a file name or a cell must not send to a terminal: escape sequences (CSI such as colours
# and cursor moves, OSC such as window titles and links) and other control characters, and the
# bidirectional overrides that make text read in another order than it is.
_TERMINAL_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: object, *, lines: bool = True) -> str:
    """``text`` safe to print on a terminal: escape sequences removed, other control characters
    shown as '?' (but tab and newline, when ``lines``), bytes that are not UTF-8 (a file name)
    as ``\\xNN``."""
    safe = _UNPRINTABLE.sub("?", _TERMINAL_SEQUENCE.sub("", readable(str(text))))
    return safe if lines else safe.replace("\n", "?").replace("\t", "?")


def plain(text: object, *, lines: bool = True) -> str:
    """Data (a path, a cell, an error) for a string that rich reads as markup: printable, and
    its brackets escaped, so ``[bold]`` or ``[/x]`` in a file name prints as written. A name
    is printed on one line (``lines=False``: a tab or line break in it as '?')."""
    return escape(printable(text, lines=lines))


class ConsoleHandler(logging.Handler):
    """Log lines through the stderr console, so they print above a live progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        message(f"callscore: {self.format(record)}")


def message(text: str) -> None:
    """One line on stderr, printed as is (never read as markup, control characters shown as '?')."""
    stderr.print(printable(text), markup=False, highlight=False, soft_wrap=True)


def print_table(columns: Sequence[str], cells: Sequence[Sequence[str]], *, title: str | None = None,
                right: Sequence[str] = ()) -> None:
    """A table on stdout: on a terminal it fits the width; piped or redirected, no cell folds.
    ``right``: the columns aligned right. Cells are text, never markup."""
    table = Table(title=plain(title) if title else None, title_justify="left")
    for column in columns:
        table.add_column(plain(column), justify="right" if column in right else "left", overflow="fold")
    for row in cells:
        table.add_row(*(plain(cell) for cell in row))
    natural = sum(max([len(c)] + [len(r[i]) for r in cells]) + 3 for i, c in enumerate(columns)) + 1
    console = Console()
    Console(width=console.width if console.is_terminal else max(80, natural)).print(table)


def summary_json(summary: Any, db: Path) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "db": str(db),
        "counts": summary.counts,
        "audio_s": round(summary.audio_s, 3),
        "wall_s": round(summary.wall_s, 3),
        "recordings": [
            {
                "path": readable(o.path),
                "status": o.status,
                "recording_id": o.recording_id,
                "duration_s": o.duration_s,
                "qa_score": o.qa_score,
                "critical_failed": o.critical_failed,
                "stage": o.stage,
                "error": o.error,
                "flags": list(o.flags),
                "seconds": round(o.seconds, 3),
            }
            for o in summary.outcomes
        ],
    }


def _display_path(path: Path, roots: tuple[Path, ...]) -> str:
    """The path relative to the folder it was found under (the file itself if given directly)."""
    for root in roots:
        if root.is_dir() and path.is_relative_to(root):
            return readable(path.relative_to(root))
    return readable(path)


def print_summary(summary: Any, db: Path, roots: tuple[Path, ...]) -> None:
    out = Console(soft_wrap=False)
    table = Table(title="callscore run", title_justify="left")
    for column, justify in (("recording", "left"), ("status", "left"), ("audio s", "right"), ("QA score", "right"), ("critical", "left"), ("note", "left")):
        table.add_column(column, justify=justify, overflow="fold", no_wrap=column == "recording")
    for o in summary.outcomes:
        note = f"{o.stage}: {o.error}" if o.status == "failed" else ", ".join(o.flags)
        table.add_row(
            plain(_display_path(o.path, roots), lines=False),
            o.status,
            "" if o.duration_s is None else f"{o.duration_s:.1f}",
            "" if o.qa_score is None else f"{o.qa_score:.1f}",
            "FAILED" if o.critical_failed else ("" if o.critical_failed is None else "ok"),
            plain(note),
        )
    out.print(table)
    counts = summary.counts
    speed = summary.audio_s / summary.wall_s if summary.wall_s else 0.0
    out.print(
        f"{counts['scored']} scored, {counts['no_speech'] + counts['too_short']} without speech, "
        f"{counts['skipped']} already done, {counts['failed']} failed, in {summary.wall_s:.1f} s "
        f"({summary.audio_s:.0f} s of audio, {speed:.1f} audio s per wall s). Warehouse: {plain(db)}",
        highlight=False,
        soft_wrap=True,
    )


UNWRAPPED_WIDTH = 1000  # the width of tables printed to a file or a pipe: no cell cut or folded


def stdout_console() -> Console:
    """A console on stdout: a terminal's width, or ``UNWRAPPED_WIDTH`` when piped or redirected."""
    console = Console(soft_wrap=False)
    return console if console.is_terminal else Console(soft_wrap=False, width=UNWRAPPED_WIDTH)


def print_agreement(report: Any, card_name: str, target: float) -> None:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.0f}%"

    def num(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    out = stdout_console()
    table = Table(title=plain(f"agreement with the labels: {card_name} {report.scorecard_version}, "
                              f"LLM {', '.join(report.llm_models)}"), title_justify="left")
    for column in ("criterion", "kind", "answers", "agreement", "kappa", "majority baseline", "precision (failed)",
                   "recall (failed)", f"review for {target:.0%}"):
        table.add_column(column, justify="left" if column in ("criterion", "kind") else "right")
    for row in (*report.criteria, *report.kinds, report.overall):
        name = (plain(row.criterion_id) if row.criterion_id
                else f"[bold]all {row.kind} criteria[/]" if row.kind else "[bold]all criteria[/]")
        table.add_row(name, row.kind or "", str(row.answers), pct(row.agreement), num(row.kappa),
                      pct(row.majority_baseline), pct(row.precision_failed), pct(row.recall_failed),
                      "-" if row.review_for_target is None else str(row.review_for_target))
    out.print(table)
    if report.fields:
        _print_field_agreement(out, report.fields)
    confusion = Table(title="labels (rows) against answers (columns), all criteria", title_justify="left")
    confusion.add_column("label")
    for answer in ("yes", "no", "na"):
        confusion.add_column(answer, justify="right")
    for label, answers in report.overall.confusion.items():
        confusion.add_row(label, *(str(answers[a]) for a in ("yes", "no", "na")))
    out.print(confusion)
    review = Table(title="send answers under a confidence to a person", title_justify="left")
    for column in ("confidence under", "answers to review", "agreement on the rest"):
        review.add_column(column, justify="right")
    for step in report.overall.review_steps:
        review.add_row(f"{step.threshold:.1f}", str(step.reviewed), pct(step.agreement_rest))
    out.print(review)
    overall = report.overall
    out.print(f"{overall.answers} answers: agreement {pct(overall.agreement)} (majority baseline "
              f"{pct(overall.majority_baseline)}), kappa {num(overall.kappa)}; reviewing the "
              f"{overall.review_for_target} least confident answers would leave {target:.0%} agreement on the rest.",
              highlight=False, soft_wrap=True)




def _print_field_agreement(out: Console, fields: Any) -> None:
    """Per choice field: agreement, kappa and majority baseline, and its confusion table."""
    table = Table(title="agreement with the labels: choice fields", title_justify="left")
    for column in ("field", "answers", "agreement", "kappa", "majority baseline"):
        table.add_column(column, justify="left" if column == "field" else "right")
    for row in fields:
        table.add_row(plain(row.field_id), str(row.answers),
                      "-" if row.agreement is None else f"{100 * row.agreement:.0f}%",
                      "-" if row.kappa is None else f"{row.kappa:.2f}",
                      "-" if row.majority_baseline is None else f"{100 * row.majority_baseline:.0f}%")
    out.print(table)
    for row in fields:
        confusion = Table(title=plain(f"{row.field_id}: labels (rows) against answers (columns)"), title_justify="left")
        confusion.add_column("label")
        for option in row.confusion:
            confusion.add_column(plain(option), justify="right")
        for label, answers in row.confusion.items():
            confusion.add_row(plain(label), *(str(count) for count in answers.values()))
        out.print(confusion)


def say_unmatched_labels(unmatched: Sequence[str], unknown: Sequence[str], card: Any) -> None:
    """On stderr: the labelled recordings without answers of ``card``'s version, and the labelled
    criteria or fields it does not have (labels eval or reviews import could not use)."""
    if unmatched:
        message(f"callscore: {len(unmatched)} labelled recordings have no answers of scorecard {card.name}"
                f" {card.version} (score them first): {', '.join(unmatched[:5])}" + (" ..." if len(unmatched) > 5 else ""))
    if unknown:
        message(f"callscore: labels for criteria or fields the scorecard does not have: {', '.join(unknown)}")
