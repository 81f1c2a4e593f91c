"""``callscore flow run`` and ``flow serve``: the nightly Prefect flow once, or on its schedule."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from pipeline.cli.app import fail, main
from pipeline.cli.exit_codes import EXIT_OK, EXIT_SOME_FAILED
from pipeline.cli.options import db_option, json_option, language_option, options, scorecard_option, whisper_model_option
from pipeline.cli.output import message, stderr
from pipeline.errors import CallscoreError


@main.group()
def flow() -> None:
    """Run the nightly Prefect flow once, or serve it on a schedule.

    \b
    Without PREFECT_API_URL, `flow run` starts a temporary local Prefect server for the run.
    To watch runs in the Prefect UI and to schedule: `prefect server start`, then
    `prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api` (docs/nightly.md: "Nightly runs").
    """


_flow_options = options(
    click.option("--inbox", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
                 help="Folder of recordings."),
    db_option(),
    scorecard_option(must_exist=True),
    whisper_model_option(),
    language_option,
    click.option("--shards", type=click.IntRange(1, 64), default=1, show_default=True,
                 help="Split the run into this many flow runs (with --shard-deployment)."),
    click.option("--shard-deployment", metavar="FLOW/DEPLOYMENT",
                 help="Deployment that runs the shards on a work pool, e.g. callscore-score-recordings/shard."),
)


def _flow_parameters(inbox: Path, db: Path | None, scorecard: Path | None, whisper_model: str | None,
                     language: str | None, shards: int, shard_deployment: str | None) -> dict[str, Any]:
    parameters: dict[str, Any] = {"inbox": str(inbox.resolve()), "shards": shards, "shard_deployment": shard_deployment}
    parameters.update({name: value for name, value in (("whisper_model", whisper_model), ("language", language))
                       if value})
    if db:
        parameters["db"] = str(db.resolve())
    if scorecard:
        parameters["scorecard"] = str(scorecard.resolve())
    return parameters


@flow.command("run")
@_flow_options
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only calls started on or after this day.")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only calls started before this day.")
@json_option
def flow_run(inbox: Path, db: Path | None, scorecard: Path | None, whisper_model: str | None, language: str | None,
             shards: int, shard_deployment: str | None, since: Any, until: Any, as_json: bool) -> None:
    """Run the nightly flow once over INBOX now. Exit 0 when nothing failed, 1 when some
    recordings failed, 2 when the run itself failed."""
    import os

    from pipeline.config import load_settings

    try:
        settings = load_settings({"db": db, "scorecard": scorecard, "language": language,
                                  "whisper_model": whisper_model})
    except CallscoreError as exc:
        fail(str(exc))
    if not os.environ.get("PREFECT_API_URL"):
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            stderr.print("callscore: no Prefect server configured (PREFECT_API_URL): using a temporary local one",
                         highlight=False)
            os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"  # the temporary server sends nothing out
    from flows.nightly import nightly

    parameters = _flow_parameters(inbox, db, scorecard, whisper_model, settings.language, shards, shard_deployment)
    state = nightly(**parameters, since=since.date() if since else None, until=until.date() if until else None,
                    return_state=True)
    if not state.is_completed():
        fail(f"the flow run ended {state.name}: {state.message or 'see the Prefect logs above'}")
    summary = state.result()
    counts = summary["counts"]
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        message(
            f"{counts['scored']} scored, {counts['no_speech'] + counts['too_short']} without speech, "
            f"{counts['skipped']} already done, {counts['failed']} failed, in {summary['wall_s']:.1f} s; "
            f"slowest stage: {summary['slowest_stage'] or '-'}. Report: {summary['report'] or '-'}"
        )
        for failure in summary["failed"]:
            message(f"  failed: {failure['path']} ({failure['stage']}): {failure['error']}")
    sys.exit(EXIT_SOME_FAILED if counts["failed"] else EXIT_OK)


@flow.command("serve")
@_flow_options
@click.option("--cron", default="0 2 * * *", show_default=True, help="When to run (cron, in --timezone).")
@click.option("--timezone", help="IANA time zone of --cron. [default: this machine's]")
def flow_serve(inbox: Path, db: Path | None, scorecard: Path | None, whisper_model: str | None, language: str | None,
               shards: int, shard_deployment: str | None, cron: str, timezone: str | None) -> None:
    """Serve the nightly flow on its schedule until stopped (Ctrl-C): registers the deployment
    callscore-nightly/nightly with the Prefect server and runs each scheduled run here."""
    from flows.serve import local_timezone, nightly_schedule, serve_nightly

    try:
        nightly_schedule(cron, timezone or local_timezone())
        from pipeline.config import load_settings

        settings = load_settings({"db": db, "scorecard": scorecard, "language": language,
                                  "whisper_model": whisper_model})
    except (ValueError, CallscoreError) as exc:
        fail(str(exc))
    message(f"callscore: serving the nightly flow at '{cron}' ({timezone or local_timezone()}) over {inbox}")
    serve_nightly(_flow_parameters(inbox, db, scorecard, whisper_model, settings.language, shards, shard_deployment),
                  cron=cron, timezone=timezone)
