"""``callscore score`` and ``callscore rescore``: a batch in this process, with a progress bar
on a terminal and a summary (or JSON) at the end."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from pipeline.cli.app import fail, main, setup_logging
from pipeline.cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, EXIT_WAREHOUSE_WRITE
from pipeline.cli.options import (
    agent_channel_option, db_option, device_option, json_option, language_option, languages_option, llm_backend_option,
    llm_concurrency_option, llm_evidence_option, llm_model_option, llm_url_option, options, redact_option,
    scorecard_option, verbose_option, vocabulary_option, whisper_model_option,
)
from pipeline.cli.output import message, plain, print_summary, stderr, summary_json
from pipeline.errors import CallscoreError, DiskFullError, SetupError, WarehouseWriteError, is_disk_full


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@options(db_option(), scorecard_option(), whisper_model_option(), llm_model_option(), llm_backend_option,
         llm_url_option, llm_concurrency_option, llm_evidence_option, device_option(), agent_channel_option,
         language_option, languages_option, vocabulary_option, redact_option, json_option, verbose_option)
def score(paths: tuple[Path, ...], as_json: bool, verbose: bool, **flags: Any) -> None:
    """Transcribe and score every recording under PATHS (.mp3 .wav .flac .ogg .m4a).

    Recordings already scored with the same models and scorecard are skipped (a recording is
    known by the hash of its bytes, so renamed copies are skipped too). Recordings that fail
    are listed and recorded in the warehouse's `failures` table, and the run goes on.

    \b
    Exit codes:
      0  every recording was scored, or was already done
      1  some recordings failed (listed above the summary)
      2  bad command line or setup (missing model, bad scorecard, unusable --db): nothing
         done; or another process kept the warehouse past write_wait_s (an hour): calls
         stored before are kept
      3  the warehouse could not be written mid-run (e.g. disk full); recordings stored
         before are kept, run again once fixed
    """
    setup_logging(verbose)
    from pipeline.processing.batch import run_batch

    settings, processor, warehouse = _prepare_run(flags)

    _run_and_report(
        lambda **hooks: run_batch(paths, processor, warehouse, **hooks), settings.db, as_json=as_json,
        roots=paths, whisper_model=processor.models.whisper_name,
    )


@main.command()
@options(db_option(), scorecard_option("Scorecard YAML to score against."),
         llm_model_option(), whisper_model_option("Whose stored transcripts to score (as for `score`)."),
         llm_backend_option, llm_url_option, llm_concurrency_option, llm_evidence_option,
         device_option("Where the LLM runs."), json_option, verbose_option)
def rescore(as_json: bool, verbose: bool, **flags: Any) -> None:
    """Score the stored transcripts again with a new scorecard version or LLM, without touching
    audio (the recordings need not be on disk any more).

    Every call transcribed by the Whisper model that the scorecard version, prompt and LLM have
    not scored yet is scored and stored as a new evaluation; earlier ones stay queryable (view
    version_scores), and the KPI views show each scorecard's latest version. Exit codes as for
    `score`.
    """
    setup_logging(verbose)
    from pipeline.processing.batch import run_rescore

    settings, processor, warehouse = _prepare_run(flags)
    _run_and_report(lambda **hooks: run_rescore(processor, warehouse, **hooks), settings.db,
                    as_json=as_json, roots=())


def _prepare_run(flags: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(settings, processor, the warehouse's write turns) for a scoring run: the warehouse is
    opened once (created, its schema brought up to date) and let go; the run takes it again for a
    moment per call. A setup problem ends the command with its one-line error before any work."""
    from pipeline.processing.procedure import CallProcessor
    from pipeline.config import load_settings
    from pipeline.store.warehouse.access import WriteTurns

    try:
        settings = load_settings(flags)
        processor = CallProcessor(settings)
        turns = WriteTurns(settings.db, wait_s=settings.write_wait_s)
        with turns.turn():  # created and migrated now: a bad --db fails before any work
            pass
        return settings, processor, turns
    except CallscoreError as exc:
        fail(str(exc))
        raise  # unreachable: _fail exits


def _run_and_report(run: Any, db: Path, *, as_json: bool, roots: tuple[Path, ...],
                    whisper_model: str | None = None) -> None:
    """Run a batch with a progress bar on a terminal, then print its summary (or JSON) and exit
    with the documented code. ``whisper_model``: the model that transcribed (named in the hint
    for calls it probably did not understand)."""
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
            stderr.print(f"[yellow]failed:[/] {plain(f'{outcome.path} ({outcome.stage}): {outcome.error}')}",
                         highlight=False, soft_wrap=True)

    try:
        with progress:
            try:
                summary = run(
                    on_start=lambda total: progress.update(task, total=total),
                    on_file=lambda path: progress.update(task, description=plain(path.name[:30], lines=False)),
                    on_outcome=on_outcome,
                )
            except OSError as exc:  # a full disk under any layer stops the run as the warehouse's would
                if not is_disk_full(exc):
                    raise
                raise DiskFullError.from_os_error(exc) from exc
    except WarehouseWriteError as exc:
        stderr.print(f"[bold red]error:[/] {plain(exc)}; recordings stored before are kept: run again once fixed",
                     highlight=False, soft_wrap=True)
        sys.exit(EXIT_WAREHOUSE_WRITE)
    except SetupError as exc:
        fail(str(exc))
        return
    except KeyboardInterrupt:
        stderr.print("interrupted: recordings finished so far are saved; run again to continue")
        sys.exit(EXIT_INTERRUPTED)

    if as_json:
        click.echo(json.dumps(summary_json(summary, db), indent=2))
    else:
        print_summary(summary, db, roots)
    from pipeline.processing.outcome import language_hint

    if hint := language_hint(sum("language_suspect" in o.flags for o in summary.outcomes), whisper_model):
        message(f"callscore: {hint}")
    sys.exit(EXIT_SOME_FAILED if summary.failed else EXIT_OK)
