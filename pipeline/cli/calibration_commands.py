"""``callscore calibrate``: calibration sessions, in which several reviewers answer the same
calls blind to one another, and how well they and the machine agree."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs

import click

from pipeline.cli.app import fail, main, one_line_errors, read_warehouse
from pipeline.cli.desk_commands import DEFAULT_URL, writable_warehouse
from pipeline.cli.options import db_option, json_option, scorecard_option
from pipeline.cli.output import message, plain, stdout_console


@main.group()
def calibrate() -> None:
    """Calibration sessions: the same calls to several reviewers, blind; then their agreement."""


@calibrate.command("new")
@click.option("--calls", "count", type=click.IntRange(1, 500), default=10, show_default=True, help="How many calls.")
@click.option("--reviewers", required=True, metavar="A,B,C", help="Who answers them (two or more, comma-separated).")
@click.option("--filter", "calls_filter", metavar="QUERY",
              help="Draw the calls from those the desk's calls page lists with these filters, e.g. 'agent=sam&failed=greeted'.")
@click.option("--blind-to-machine", is_flag=True, help="Reviewers do not see the machine's answers either.")
@click.option("--name", help="A name for the session. [default: calibration DAY]")
@click.option("--url", default=DEFAULT_URL, show_default=True, help="Where the desk is served, for the link.")
@scorecard_option("Scorecard whose current version the calls were scored with.")
@db_option()
def new_calibration(count: int, reviewers: str, calls_filter: str | None, blind_to_machine: bool, name: str | None,
                    url: str, scorecard: Path | None, db: Path | None) -> None:
    """Draw calls at random and give each to every reviewer, blind to the others' answers."""
    from pipeline.config import load_settings
    from pipeline.desk.call_filters import CallFilter
    from pipeline.desk.call_list import pick_calls
    from pipeline.scoring.scorecard import load_scorecard

    with one_line_errors(Path(".")):
        card = load_scorecard(load_settings({"scorecard": scorecard}).scorecard)
        wanted = CallFilter.from_query(parse_qs(calls_filter or "", keep_blank_values=True))
        with writable_warehouse(db) as warehouse:
            calls = pick_calls(warehouse, wanted, count, card.version, seed=secrets.randbelow(2**31))
            if not calls:
                fail(f"no call scored with scorecard {card.name} {card.version} matches {calls_filter or 'the filter'}")
            calibration_id = warehouse.new_calibration(
                name or f"calibration {date.today().isoformat()}", card.version, calls,
                [r.strip() for r in reviewers.split(",") if r.strip()], blind_to_machine=blind_to_machine,
                calls_filter=calls_filter)
    message(f"calibration {calibration_id}: {len(calls)} calls for {plain(reviewers)}"
            f"{' (blind to the machine)' if blind_to_machine else ''}; each reviewer answers them in the desk:")
    click.echo(f"{url.rstrip('/')}/calibrations/{calibration_id}")


@calibrate.command("list")
@db_option()
def list_calibrations(db: Path | None) -> None:
    """The calibration sessions, newest first."""
    with read_warehouse(db) as warehouse:
        for c in warehouse.calibrations():
            click.echo(f"{c.calibration_id}\t{plain(c.name)}\t{len(c.recording_ids)} calls\t{', '.join(c.reviewers)}")


@calibrate.command("show")
@click.argument("calibration_id", type=int)
@db_option()
@json_option
def show_calibration(calibration_id: int, db: Path | None, as_json: bool) -> None:
    """How well the reviewers agree with one another and the machine with them, per criterion.

    Per criterion and choice field, over the calls every reviewer answered: Cohen's kappa of
    each pair of reviewers and Fleiss' kappa of all, the machine's agreement and kappa against
    each reviewer and against their consensus (the answer most gave), "as good as a reviewer"
    when the machine's mean kappa is at least the reviewers', and the calls they disagree on.
    Record the consensus of a disagreement as an ordinary review in the desk: it is what counts.
    """
    from pipeline.report.calibration_report import calibration_report

    with one_line_errors(Path(".")), read_warehouse(db) as warehouse:
        report = calibration_report(warehouse, calibration_id)
    if as_json:
        data = {"calibration": asdict(report.calibration), "complete": report.complete, "answered": report.answered,
                "expected": report.expected,
                "items": [{**asdict(item), "reviewers_kappa": item.reviewers_kappa, "machine_kappa": item.machine_kappa,
                           "as_good_as_a_reviewer": item.as_good_as_a_reviewer} for item in report.items]}
        click.echo(json.dumps(data, default=str, indent=2))
        return
    _print(report)


def _print(report) -> None:  # noqa: ANN001  (a CalibrationReport)
    from rich.table import Table

    def num(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    session = report.calibration
    waiting = [f"{r} ({report.answered.get(r, 0)} of {report.expected})" for r in session.reviewers
               if report.answered.get(r, 0) < report.expected]
    if waiting:
        message(f"not complete: waiting for {', '.join(waiting)}; figures are over the calls all have answered")
    table = Table(title=plain(f"calibration {session.calibration_id}: {session.name}, {len(session.recording_ids)} calls,"
                              f" {', '.join(session.reviewers)}"), title_justify="left")
    for column in ("criterion", "calls", "reviewers' kappa", "Fleiss kappa", "machine's kappa",
                   "machine vs consensus", "as good as a reviewer"):
        table.add_column(column, justify="left" if column == "criterion" else "right")
    for item in report.items:
        consensus = item.machine_vs_consensus
        table.add_row(plain(item.criterion_id), str(item.calls), num(item.reviewers_kappa), num(item.fleiss_kappa),
                      num(item.machine_kappa), f"{num(consensus.agreement)} / {num(consensus.kappa)}",
                      "yes" if item.as_good_as_a_reviewer else "no")
    out = stdout_console()
    out.print(table)
    for item in report.items:
        for d in item.disagreements:
            given = ", ".join(f"{who} {answer}" for who, answer in d.answers.items())
            out.print(f"  {plain(item.criterion_id)} · {plain(report.file_names.get(d.call, d.call))}: {plain(given)}"
                      f" (consensus {d.consensus or 'none: a tie'})", highlight=False)
