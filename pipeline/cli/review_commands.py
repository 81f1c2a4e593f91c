"""``callscore reviews``: people's reviews of the machine's answers, kept append-only (the review
desk's); ``reviews import`` turns a labels file into one person's reviews."""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.cli.app import fail, main, one_line_errors
from pipeline.cli.desk_commands import writable_warehouse
from pipeline.cli.options import db_option, json_option, scorecard_option
from pipeline.cli.output import message, plain, say_unmatched_labels


@main.group()
def reviews() -> None:
    """People's confirmations and overrules of the machine's answers (see `callscore serve`)."""


@reviews.command("import")
@click.argument("labels", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reviewer", required=True, metavar="NAME", help="Whose answers the labels are (kept with each review).")
@scorecard_option("Scorecard the labelled calls were scored with.")
@db_option()
@json_option
def import_reviews(labels: Path, reviewer: str, scorecard: Path | None, db: Path | None, as_json: bool) -> None:
    """Turn a CSV of labels into NAME's reviews, as if given in the desk.

    LABELS has the columns `callscore eval --labels` reads: recording (file name or recording id),
    criterion_id (or a choice field's id), label (yes/no/na, or one of the field's options). Each
    label of a call scored with the scorecard's current version becomes a review of the machine's
    answer: a confirmation when they agree, an overrule (wrong verdict) when not. The reviews count
    in the KPI views and in each criterion's trust, like the desk's. A label the reviewer already
    gave is not stored again, so importing the same file twice changes nothing.
    """
    from pipeline.config import load_settings
    from pipeline.report.agreement import read_labels
    from pipeline.report.label_reviews import import_labels
    from pipeline.scoring.scorecard import load_scorecard
    from pipeline.store.warehouse.reviewer_ledger import checked_name

    with one_line_errors(labels):
        card = load_scorecard(load_settings({"scorecard": scorecard}).scorecard)
        rows = read_labels(labels, card.choice_options)
        name = checked_name(reviewer)
        with writable_warehouse(db) as warehouse:
            result = import_labels(warehouse, rows, name, card)
    say_unmatched_labels(result.unmatched, result.unknown, card)
    if as_json:
        click.echo(json.dumps({"stored": result.stored, "unchanged": result.unchanged,
                               "unmatched": list(result.unmatched), "unknown": list(result.unknown)}))
        return
    if result.stored + result.unchanged == 0:
        fail("no label matched a scored call: score the labelled recordings first")
    message(f"{result.stored} reviews by {plain(name)} stored ({result.unchanged} already given)")
