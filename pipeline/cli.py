"""The ``callscore`` command line.

Exit codes: 0 every recording succeeded (or was already done); 1 some recordings failed (they
are listed, and recorded in ``failures``); 2 bad command line or setup, or the warehouse is in use
by another run (nothing was done); 3 the warehouse could not be written mid-run (disk full:
recordings stored before are kept); 130 interrupted. ``--json`` prints only data to stdout; messages go to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from pipeline.errors import CallscoreError, DiskFullError, SetupError, WarehouseWriteError, is_disk_full

EXIT_OK, EXIT_SOME_FAILED, EXIT_SETUP, EXIT_WAREHOUSE_WRITE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

stderr = Console(stderr=True)


class _ConsoleHandler(logging.Handler):
    """Log lines through the stderr console, so they print above a live progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        stderr.print(f"callscore: {self.format(record)}", markup=False, highlight=False, soft_wrap=True)


def _setup_logging(verbose: bool) -> None:
    handler = _ConsoleHandler()
    logger = logging.getLogger("pipeline")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def _fail(message: str) -> None:
    stderr.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(EXIT_SETUP)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="callscore")
def main() -> None:
    """Score recorded calls on your own hardware: transcribe with faster-whisper, judge each
    call against a scorecard with a local LLM, and keep everything in a DuckDB warehouse.

    Settings come from flags, then CALLSCORE_* environment variables, then ./callscore.toml,
    then defaults. Start with: callscore score FOLDER
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="Warehouse file. [default: warehouse/callscore.duckdb, or CALLSCORE_DB]")
@click.option("--scorecard", type=click.Path(path_type=Path), help="Scorecard YAML. [default: prompts/support-default.yaml]")
@click.option("--whisper-model", help="faster-whisper model name (large-v3, ...) or CTranslate2 directory. [default: embedded tiny.en]")
@click.option("--llm-model", type=click.Path(path_type=Path), help="GGUF chat model file, or an LLM preset name (see `callscore models`). [default: embedded SmolLM2-135M]")
@click.option("--llm-backend", type=click.Choice(["llama", "openai"]), help="llama: the GGUF model in this process; openai: a shared OpenAI-compatible server (--llm-url). [default: llama]")
@click.option("--llm-url", metavar="URL", help="OpenAI base URL of the LLM server for --llm-backend openai, e.g. http://gpu-1:8000/v1.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Where models run; auto uses CUDA when present. [default: auto]")
@click.option("--agent-channel", type=click.Choice(["left", "right"]), help="Stereo channel with the agent. [default: left]")
@click.option("--redact", metavar="KINDS", help="Personal data masked before anything is stored or sent to the LLM: comma list of card,email,phone,number, or none. [default: all four]")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout instead of tables; no progress bar.")
@click.option("-v", "--verbose", is_flag=True, help="More log lines on stderr.")
def score(paths: tuple[Path, ...], as_json: bool, verbose: bool, **flags: Any) -> None:
    """Transcribe and score every recording under PATHS (.mp3 .wav .flac .ogg .m4a).

    Recordings already scored with the same models and scorecard are skipped (a recording is
    known by the hash of its bytes, so renamed copies are skipped too). Recordings that fail
    are listed and recorded in the warehouse's `failures` table, and the run goes on.

    \b
    Exit codes:
      0  every recording was scored, or was already done
      1  some recordings failed (listed above the summary)
      2  bad command line or setup (missing model, bad scorecard, unusable --db), or the
         warehouse is in use by another callscore run: nothing done
      3  the warehouse could not be written mid-run (e.g. disk full); recordings stored
         before are kept, run again once fixed
    """
    _setup_logging(verbose)
    from pipeline.processing.batch import run_batch

    settings, processor, warehouse = _prepare_run(flags)

    _run_and_report(
        lambda **hooks: run_batch(paths, processor, warehouse, **hooks), warehouse, settings.db, as_json=as_json,
        roots=paths,
    )


@main.command()
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="Warehouse file. [default: warehouse/callscore.duckdb, or CALLSCORE_DB]")
@click.option("--scorecard", type=click.Path(path_type=Path), help="Scorecard YAML to score against. [default: prompts/support-default.yaml]")
@click.option("--llm-model", type=click.Path(path_type=Path), help="GGUF chat model file, or an LLM preset name (see `callscore models`). [default: embedded SmolLM2-135M]")
@click.option("--whisper-model", help="Whose stored transcripts to score (as for `score`). [default: embedded tiny.en]")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Where the LLM runs. [default: auto]")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout instead of tables; no progress bar.")
@click.option("-v", "--verbose", is_flag=True, help="More log lines on stderr.")
def rescore(as_json: bool, verbose: bool, **flags: Any) -> None:
    """Score the stored transcripts again with a new scorecard version or LLM, without touching
    audio (the recordings need not be on disk any more).

    Every call transcribed by the Whisper model that the scorecard version, prompt and LLM have
    not scored yet is scored and stored as a new evaluation; earlier ones stay queryable (view
    version_scores), and the KPI views show each scorecard's latest version. Exit codes as for
    `score`.
    """
    _setup_logging(verbose)
    from pipeline.processing.batch import run_rescore

    settings, processor, warehouse = _prepare_run(flags)
    _run_and_report(lambda **hooks: run_rescore(processor, warehouse, **hooks), warehouse, settings.db,
                    as_json=as_json, roots=())


def _prepare_run(flags: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(settings, processor, open warehouse) for a scoring run; a setup problem ends the command
    with its one-line error before any work."""
    from pipeline.processing.procedure import CallProcessor
    from pipeline.config import load_settings
    from pipeline.store.warehouse import Warehouse

    try:
        settings = load_settings(flags)
        return settings, CallProcessor(settings), Warehouse.open(settings.db)
    except CallscoreError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


def _run_and_report(run: Any, warehouse: Any, db: Path, *, as_json: bool, roots: tuple[Path, ...]) -> None:
    """Run a batch with a progress bar on a terminal, then print its summary (or JSON) and exit
    with the documented code."""
    show_progress = not as_json and stderr.is_terminal
    progress = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=stderr,
        disable=not show_progress,
    )
    task = progress.add_task("scoring", total=None)

    def on_outcome(outcome: Any) -> None:
        progress.update(task, advance=1)
        if outcome.status == "failed" and not as_json:
            stderr.print(f"[yellow]failed:[/] {outcome.path} ({outcome.stage}): {outcome.error}", highlight=False)

    try:
        with progress, warehouse:
            try:
                summary = run(
                    on_start=lambda total: progress.update(task, total=total),
                    on_file=lambda path: progress.update(task, description=path.name[:30]),
                    on_outcome=on_outcome,
                )
            except OSError as exc:  # a full disk under any layer stops the run as the warehouse's would
                if not is_disk_full(exc):
                    raise
                raise DiskFullError.from_os_error(exc) from exc
    except WarehouseWriteError as exc:
        stderr.print(f"[bold red]error:[/] {exc}; recordings stored before are kept: run again once fixed",
                     highlight=False, soft_wrap=True)
        sys.exit(EXIT_WAREHOUSE_WRITE)
    except SetupError as exc:
        _fail(str(exc))
        return
    except KeyboardInterrupt:
        stderr.print("interrupted: recordings finished so far are saved; run again to continue")
        sys.exit(EXIT_INTERRUPTED)

    if as_json:
        click.echo(json.dumps(_summary_json(summary, db), indent=2))
    else:
        _print_summary(summary, db, roots)
    sys.exit(EXIT_SOME_FAILED if summary.failed else EXIT_OK)


def _summary_json(summary: Any, db: Path) -> dict[str, Any]:
    return {
        "run_id": summary.run_id,
        "db": str(db),
        "counts": summary.counts,
        "audio_s": round(summary.audio_s, 3),
        "wall_s": round(summary.wall_s, 3),
        "recordings": [
            {
                "path": str(o.path),
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
            return str(path.relative_to(root))
    return str(path)


def _print_summary(summary: Any, db: Path, roots: tuple[Path, ...]) -> None:
    out = Console(soft_wrap=False)
    table = Table(title="callscore run", title_justify="left")
    for column, justify in (("recording", "left"), ("status", "left"), ("audio s", "right"), ("QA score", "right"), ("critical", "left"), ("note", "left")):
        table.add_column(column, justify=justify, overflow="fold", no_wrap=column == "recording")
    for o in summary.outcomes:
        note = f"{o.stage}: {o.error}" if o.status == "failed" else ", ".join(o.flags)
        table.add_row(
            _display_path(o.path, roots),
            o.status,
            "" if o.duration_s is None else f"{o.duration_s:.1f}",
            "" if o.qa_score is None else f"{o.qa_score:.1f}",
            "FAILED" if o.critical_failed else ("" if o.critical_failed is None else "ok"),
            note,
        )
    out.print(table)
    counts = summary.counts
    speed = summary.audio_s / summary.wall_s if summary.wall_s else 0.0
    out.print(
        f"{counts['scored']} scored, {counts['no_speech'] + counts['too_short']} without speech, "
        f"{counts['skipped']} already done, {counts['failed']} failed, in {summary.wall_s:.1f} s "
        f"({summary.audio_s:.0f} s of audio, {speed:.1f} audio s per wall s). Warehouse: {db}",
        highlight=False,
        soft_wrap=True,
    )


def _read_warehouse(db: Path | None) -> Any:
    """The warehouse (from --db, CALLSCORE_DB, callscore.toml or the default) opened read-only;
    a setup problem ends the command with its one-line error."""
    from pipeline.config import load_settings
    from pipeline.store.warehouse import Warehouse

    try:
        return Warehouse.open(load_settings({"db": db}).db, read_only=True)
    except CallscoreError as exc:
        _fail(str(exc))


def _bundled_query_list() -> str:
    from pipeline.store.named_queries import bundled_queries

    try:
        return "\n".join(f"  {q.name}: {q.summary}" for q in bundled_queries().values())
    except FileNotFoundError:
        return "  (none found)"


@main.command(
    epilog="\b\nBundled queries (warehouse/queries/; their variables are in each file's header):\n"
    + _bundled_query_list()
)
@click.argument("query")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="Warehouse file. [default: warehouse/callscore.duckdb, or CALLSCORE_DB]")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set a query variable (repeatable), e.g. --var target=0.8")
def sql(query: str, db: Path | None, fmt: str, variables: tuple[str, ...]) -> None:
    """Run a read-only QUERY on the warehouse and print the result.

    QUERY is SQL, a .sql file, or the name of a bundled query.

    \b
    Examples:
      callscore sql "SELECT * FROM kpi_criteria"
      callscore sql agents_below_target --var criterion=empathy --var target=0.8
    Tables: recordings, segments, scores, call_metrics, evaluations, failures, runs.
    Views: kpi_calls, kpi_agents, kpi_agent_criteria, kpi_criteria, kpi_daily, latest_scores.
    """
    import csv

    import duckdb

    from pipeline.store.named_queries import parse_variables, resolve_query, set_variables

    try:
        text = resolve_query(query)
        values = parse_variables(variables)
    except CallscoreError as exc:
        _fail(str(exc))
        return
    with _read_warehouse(db) as warehouse:
        try:
            set_variables(warehouse.connection, values)
            cursor = warehouse.connection.execute(text)
            columns = [d[0] for d in cursor.description or []]
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            _fail(f"query failed: {str(exc).splitlines()[0]}")
            return
    if fmt == "json":
        click.echo(json.dumps([dict(zip(columns, row)) for row in rows], indent=2, default=str))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        cells = [["" if value is None else str(value) for value in row] for row in rows]
        table = Table(show_lines=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in cells:
            table.add_row(*row)
        # On a terminal, fit its width; piped or redirected, never fold a cell.
        natural = sum(max([len(c)] + [len(r[i]) for r in cells]) + 3 for i, c in enumerate(columns)) + 1
        console = Console()
        Console(width=console.width if console.is_terminal else max(80, natural)).print(table)


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"), show_default=True, help="HTML file to write.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only calls on or after this day (YYYY-MM-DD). [default: all calls]")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="Warehouse file. [default: warehouse/callscore.duckdb, or CALLSCORE_DB]")
def report(out: Path, since: Any, db: Path | None) -> None:
    """Write a self-contained HTML report: QA score distribution, pass rate per criterion,
    agent comparison, daily trend, and the calls to review first with evidence quotes.

    The file opens offline (no scripts, nothing fetched) and covers the scorecard version
    scored most recently.
    """
    from pipeline.report.html_report import write_report

    with _read_warehouse(db) as warehouse:
        try:
            data = write_report(warehouse, out, since=since.date() if since else None)
        except OSError as exc:
            _fail(f"cannot write {out}: {exc.strerror or exc}")
            return
    stderr.print(
        f"report: {len(data.calls)} calls, {len(data.review)} answers to review -> {out}", highlight=False, soft_wrap=True
    )
    click.echo(str(out.resolve()))


@main.command("eval")
@click.option("--labels", required=True, type=click.Path(path_type=Path), help="CSV with columns recording (file name or recording id), criterion_id, label (yes/no/na).")
@click.option("--scorecard", type=click.Path(path_type=Path), help="Scorecard whose verdicts to compare. [default: the configured one]")
@click.option("--llm", "llm_model", metavar="NAME", help="Only verdicts by this LLM (as recorded in evaluations.llm_model). [default: each call's latest]")
@click.option("--prompt-version", metavar="VERSION", help="Only verdicts with this prompt version (evaluations.prompt_version: the prompt's hash, plus the scoring style). [default: each call's latest]")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="Warehouse file. [default: warehouse/callscore.duckdb, or CALLSCORE_DB]")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON on stdout.")
def eval_command(labels: Path, scorecard: Path | None, llm_model: str | None, prompt_version: str | None,
                 db: Path | None, as_json: bool) -> None:
    """Measure agreement of the stored verdicts with human QA labels.

    For the labelled calls in the warehouse (scored with the scorecard's current version), per
    criterion, per kind of criterion (LLM or rule) and overall: agreement, Cohen's kappa, the majority-class baseline, precision and
    recall of "failed", a confusion table, and how many of the least confident answers a person
    would review to reach 95% agreement on the rest. Compare models or prompts by scoring the
    same calls with each and running eval with --llm (README: "Measuring agreement").
    """
    from dataclasses import asdict

    from pipeline.config import load_settings
    from pipeline.report.agreement import TARGET_AGREEMENT, evaluate, read_labels
    from pipeline.scoring.scorecard import load_scorecard

    try:
        card = load_scorecard(load_settings({"scorecard": scorecard}).scorecard)
        rows = read_labels(labels)
    except CallscoreError as exc:
        _fail(str(exc))
        return
    with _read_warehouse(db) as warehouse:
        report = evaluate(warehouse, rows, scorecard_version=card.version,
                          criterion_ids=[c.id for c in card.criteria], llm_model=llm_model,
                          prompt_version=prompt_version, kinds=card.kinds)
    if report.unmatched:
        stderr.print(f"callscore: {len(report.unmatched)} labelled recordings have no verdicts for scorecard "
                     f"{card.name} {card.version} (score them first): {', '.join(report.unmatched[:5])}"
                     + (" ..." if len(report.unmatched) > 5 else ""), highlight=False, soft_wrap=True)
    if report.unknown_criteria:
        stderr.print(f"callscore: labels for criteria the scorecard does not have: {', '.join(report.unknown_criteria)}",
                     highlight=False, soft_wrap=True)
    if not report.pairs:
        _fail("no labelled call has verdicts in the warehouse: score the labelled recordings first")
    if as_json:
        data = asdict(report)
        data.pop("pairs")
        click.echo(json.dumps(data, indent=2))
        return
    _print_agreement(report, card.name, TARGET_AGREEMENT)


def _print_agreement(report: Any, card_name: str, target: float) -> None:
    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.0f}%"

    def num(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    out = Console(soft_wrap=False)
    table = Table(title=f"agreement with the labels: {card_name} {report.scorecard_version}, "
                        f"LLM {', '.join(report.llm_models)}", title_justify="left")
    for column in ("criterion", "kind", "answers", "agreement", "kappa", "majority baseline", "precision (failed)",
                   "recall (failed)", f"review for {target:.0%}"):
        table.add_column(column, justify="left" if column in ("criterion", "kind") else "right")
    for row in (*report.criteria, *report.kinds, report.overall):
        name = row.criterion_id or (f"[bold]all {row.kind} criteria[/]" if row.kind else "[bold]all criteria[/]")
        table.add_row(name, row.kind or "", str(row.answers), pct(row.agreement), num(row.kappa),
                      pct(row.majority_baseline), pct(row.precision_failed), pct(row.recall_failed),
                      "-" if row.review_for_target is None else str(row.review_for_target))
    out.print(table)
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


@main.group()
def flow() -> None:
    """Run the nightly Prefect flow once, or serve it on a schedule.

    \b
    Without PREFECT_API_URL, `flow run` starts a temporary local Prefect server for the run.
    To watch runs in the Prefect UI and to schedule: `prefect server start`, then
    `prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api` (README: "Nightly runs").
    """


def _flow_options(command: Any) -> Any:
    options = [
        click.option("--inbox", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path), help="Folder of recordings."),
        click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="Warehouse file. [default: warehouse/callscore.duckdb, or CALLSCORE_DB]"),
        click.option("--scorecard", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Scorecard YAML. [default: the bundled support scorecard]"),
        click.option("--shards", type=click.IntRange(1, 64), default=1, show_default=True, help="Split the run into this many flow runs (with --shard-deployment)."),
        click.option("--shard-deployment", metavar="FLOW/DEPLOYMENT", help="Deployment that runs the shards on a work pool, e.g. callscore-score-recordings/shard."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _flow_parameters(inbox: Path, db: Path | None, scorecard: Path | None, shards: int, shard_deployment: str | None) -> dict[str, Any]:
    parameters: dict[str, Any] = {"inbox": str(inbox.resolve()), "shards": shards, "shard_deployment": shard_deployment}
    if db:
        parameters["db"] = str(db.resolve())
    if scorecard:
        parameters["scorecard"] = str(scorecard.resolve())
    return parameters


@flow.command("run")
@_flow_options
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only calls started on or after this day.")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only calls started before this day.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as JSON on stdout.")
def flow_run(inbox: Path, db: Path | None, scorecard: Path | None, shards: int, shard_deployment: str | None,
             since: Any, until: Any, as_json: bool) -> None:
    """Run the nightly flow once over INBOX now. Exit 0 when nothing failed, 1 when some
    recordings failed, 2 when the run itself failed."""
    import os

    from pipeline.config import load_settings

    try:
        load_settings({"db": db, "scorecard": scorecard})
    except CallscoreError as exc:
        _fail(str(exc))
    if not os.environ.get("PREFECT_API_URL"):
        from prefect.settings import PREFECT_API_URL

        if not PREFECT_API_URL.value():
            stderr.print("callscore: no Prefect server configured (PREFECT_API_URL): using a temporary local one",
                         highlight=False)
    from flows.nightly import nightly

    parameters = _flow_parameters(inbox, db, scorecard, shards, shard_deployment)
    state = nightly(**parameters, since=since.date() if since else None, until=until.date() if until else None,
                    return_state=True)
    if not state.is_completed():
        _fail(f"the flow run ended {state.name}: {state.message or 'see the Prefect logs above'}")
    summary = state.result()
    counts = summary["counts"]
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        stderr.print(
            f"{counts['scored']} scored, {counts['no_speech'] + counts['too_short']} without speech, "
            f"{counts['skipped']} already done, {counts['failed']} failed, in {summary['wall_s']:.1f} s; "
            f"slowest stage: {summary['slowest_stage'] or '-'}. Report: {summary['report'] or '-'}",
            highlight=False, soft_wrap=True,
        )
        for failure in summary["failed"]:
            stderr.print(f"  failed: {failure['path']} ({failure['stage']}): {failure['error']}", highlight=False, soft_wrap=True)
    sys.exit(EXIT_SOME_FAILED if counts["failed"] else EXIT_OK)


@flow.command("serve")
@_flow_options
@click.option("--cron", default="0 2 * * *", show_default=True, help="When to run (cron, in --timezone).")
@click.option("--timezone", help="IANA time zone of --cron. [default: this machine's]")
def flow_serve(inbox: Path, db: Path | None, scorecard: Path | None, shards: int, shard_deployment: str | None,
               cron: str, timezone: str | None) -> None:
    """Serve the nightly flow on its schedule until stopped (Ctrl-C): registers the deployment
    callscore-nightly/nightly with the Prefect server and runs each scheduled run here."""
    from flows.serve import local_timezone, nightly_schedule, serve_nightly

    try:
        nightly_schedule(cron, timezone or local_timezone())
        from pipeline.config import load_settings

        load_settings({"db": db, "scorecard": scorecard})
    except (ValueError, CallscoreError) as exc:
        _fail(str(exc))
    stderr.print(f"callscore: serving the nightly flow at '{cron}' ({timezone or local_timezone()}) over {inbox}",
                 highlight=False, soft_wrap=True)
    serve_nightly(_flow_parameters(inbox, db, scorecard, shards, shard_deployment), cron=cron, timezone=timezone)


def _models_dir_option(command: Any) -> Any:
    return click.option(
        "--models-dir", type=click.Path(file_okay=False, path_type=Path),
        help="Folder of downloaded GGUF files. [default: models/, or CALLSCORE_MODELS_DIR]",
    )(command)


def _list_models(as_json: bool, models_dir: Path | None) -> None:
    from dataclasses import asdict

    from pipeline.config import load_settings
    from pipeline.models.choice import model_inventory

    try:
        rows = model_inventory(load_settings({"models_dir": models_dir}))
    except CallscoreError as exc:
        _fail(str(exc))
        return
    if as_json:
        click.echo(json.dumps([asdict(row) for row in rows], indent=2))
        return
    columns = ("", "name", "kind", "here", "MB", "resolves to", "note")
    cells = [
        ["*" if row.configured else "", row.name, row.kind, "yes" if row.present else "no",
         f"{row.size_mb:.0f}" if row.size_mb is not None else (f"~{row.approx_mb}" if row.approx_mb else ""),
         row.resolves_to, row.note]
        for row in rows
    ]
    table = Table(title="models (* = configured now; MB on disk, ~ approximate download size)", title_justify="left")
    for column in columns:
        table.add_column(column, justify="right" if column == "MB" else "left", overflow="fold")
    for line in cells:
        table.add_row(*line)
    # On a terminal, fit its width; piped or redirected, never fold a cell.
    natural = sum(max([len(c)] + [len(line[i]) for line in cells]) + 3 for i, c in enumerate(columns)) + 1
    console = Console()
    Console(width=console.width if console.is_terminal else max(80, natural)).print(table)


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON on stdout.")
@_models_dir_option
@click.pass_context
def models(ctx: click.Context, as_json: bool, models_dir: Path | None) -> None:
    """List the model presets and the configured models, or download a preset.

    A preset name works wherever a model is asked for: --whisper-model large-v3,
    --llm-model llama-3.1-8b-instruct-q4_k_m (its GGUF file in models_dir). Without a
    subcommand: the same as `callscore models list`.
    """
    if ctx.invoked_subcommand is None:
        _list_models(as_json, models_dir)


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON on stdout.")
@_models_dir_option
def models_list(as_json: bool, models_dir: Path | None) -> None:
    """List the presets and the configured models.

    For every preset and the configured Whisper model and LLM: where it resolves, whether it
    is on this machine and its size; * marks the two a run would use now."""
    _list_models(as_json, models_dir)


@models.command("pull")
@click.argument("name")
@_models_dir_option
def models_pull(name: str, models_dir: Path | None) -> None:
    """Download a preset from the Hugging Face Hub.

    A Whisper model goes into the Hugging Face cache (where faster-whisper finds it), a GGUF
    file into models_dir.

    Without access to the hub it stops at once (exit 2) and says which file to copy by hand.
    """
    from pipeline.config import load_settings
    from pipeline.models.choice import model_inventory
    from pipeline.models.registry import find_preset, preset_names, pull

    preset = find_preset(name)
    if preset is None:
        _fail(f"unknown model {name!r}; known: {', '.join(preset_names())}")
        return
    try:
        settings = load_settings({"models_dir": models_dir})
        status = next(r for r in model_inventory(settings) if r.preset and r.name == name)
    except CallscoreError as exc:
        _fail(str(exc))
        return
    if status.present:
        stderr.print(f"{name} is already here ({status.size_mb:.0f} MB)", highlight=False, soft_wrap=True)
        click.echo(status.resolves_to)
        return
    if preset.source == "package":
        _fail(f"{name} comes with the package {preset.package}, which is not installed: pip install {preset.package}")
        return
    progress = Progress(TextColumn(name), BarColumn(), TextColumn("{task.completed:.0f} of ~{task.total:.0f} MB"),
                        TimeElapsedColumn(), console=stderr, disable=not stderr.is_terminal)
    task = progress.add_task(name, total=preset.approx_mb)
    try:
        with progress:
            path = pull(
                preset, settings.models_dir, on_progress=lambda mb: progress.update(task, completed=mb),
                on_start=lambda: stderr.print(f"downloading {name} ({preset.repo}, about {preset.approx_mb} MB)",
                                              highlight=False, soft_wrap=True),
            )
    except CallscoreError as exc:
        _fail(str(exc))
        return
    except KeyboardInterrupt:
        stderr.print("interrupted: run the same command again to go on with the download")
        sys.exit(EXIT_INTERRUPTED)
    stderr.print(f"{name}: {path}", highlight=False, soft_wrap=True)
    click.echo(str(path))


if __name__ == "__main__":  # pragma: no cover
    main()
