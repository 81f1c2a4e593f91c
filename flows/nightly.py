"""The nightly Prefect flow: score the day's recordings in an inbox folder.

``nightly`` plans the run (which recordings are new, and which have a stored transcript that only
needs scoring again), hands the work to ``score_recordings`` (in this process, or as flow runs of
a deployment on a work pool, one per shard, so several GPU machines split the night), then loads
every result into the warehouse through one writer and publishes artifacts.

Each recording goes through the same procedure as under ``callscore score``
(``pipeline.processing.procedure``): its sidecar is read first, then the tasks transcribe (or
re-use the stored transcript) -> measure and score, and the assembled record is staged for the
loader (see ``pipeline.store.staging``). The tasks only add what Prefect is for: retries of
transient failures with the one retry policy (``pipeline.processing.retries``), cached results
in the staging folder that every worker reaches (a run started again after a crash, on any
machine, redoes only what had not finished), and two tasks in flight at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterator
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.filesystems import LocalFileSystem
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.asyncutils import run_coro_as_sync

from flows.artifacts import publish
from flows.runtime import TRANSCRIBE_LOCK, processor_for, score_slots
from flows.work import Plan, WorkItem, split
from pipeline.config import WRITE_WAIT_S, load_settings
from pipeline.errors import RecordingError, as_recording_error
from pipeline.intake.inbox import discover, identify_unchanged, read_call_facts
from pipeline.processing.outcome import Outcome, RunSummary, language_hint
from pipeline.processing.procedure import ScoredCall
from pipeline.processing.retries import RetryPolicy, is_transient
from pipeline.report.audio_links import AudioLinks
from pipeline.report.html_report import write_report
from pipeline.speech.transcription import Transcription
from pipeline.store.staging import (
    LoadReport, StagedFailure, StagedResult, failure_from, load_staged, read_staged_transcript, stage_result,
    stage_transcript,
)
from pipeline.stopping import check_stop, clear_stop, request_stop
from pipeline.store.warehouse.access import WriteTurns, open_waiting

CACHE_DAYS = 14  # how long a task's cached result can stand in for re-doing it
RESULTS_FOLDER = ".results"  # task results, inside the staging folder that every worker shares
# Task threads of a shard flow: a transcription and a scoring task per call in flight, and two
# more. Most of them wait (on a transcription, the Whisper lock or a scoring slot). More threads
# than calls in flight would let later calls overtake earlier ones at the locks, and results are
# staged in order, so a finished call could wait unstaged behind an unfinished one.
TASK_THREADS = 4  # a shard flow run from a work pool; an in-process run sizes it by llm_concurrency


def task_threads(llm_concurrency: int) -> int:
    """Task threads for ``llm_concurrency`` calls scored at once (4 for the model in process)."""
    return 2 * llm_concurrency + 2


# -- retries and caching ------------------------------------------------------------------------


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only what may succeed on a second try."""
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False


def transcript_key(context: Any, parameters: dict[str, Any]) -> str:
    item = parameters["item"]
    return f"callscore-transcript-{item.recording_id}-{item.whisper_model}"


def score_key(context: Any, parameters: dict[str, Any]) -> str:
    item = parameters["item"]
    return (f"callscore-score-{item.recording_id}-{item.whisper_model}-{item.scorecard_version}-"
            f"{item.prompt_version}-{item.llm_model}")


def results_storage(staging: Path) -> str:
    """Where tasks keep their results: a storage block (on the Prefect server, so every worker of
    the pool finds it) for a folder inside the staging folder, which every worker reaches."""
    folder = staging.resolve() / RESULTS_FOLDER
    name = "callscore-results-" + hashlib.sha256(str(folder).encode("utf-8")).hexdigest()[:12]
    LocalFileSystem(basepath=str(folder)).save(name, overwrite=True)
    return f"local-file-system/{name}"


# -- per-recording tasks ---------------------------------------------------------------------------


@task(name="transcribe", retries=len(RetryPolicy.backoff().delays_s), retry_condition_fn=retry_if_transient,
      cache_key_fn=transcript_key, cache_expiration=timedelta(days=CACHE_DAYS), persist_result=True,
      task_run_name="transcribe {item.path}")
def transcribe(item: WorkItem, overrides: dict[str, Any]) -> Transcription:
    """Decode and transcribe one recording (audio never leaves this task)."""
    processor = processor_for(overrides)
    with TRANSCRIBE_LOCK:
        check_stop()  # queued behind the lock while the run was being stopped: leave it for the next run
        return processor.transcribe_file(item.file)


@task(name="reuse transcript", cache_policy=NO_CACHE, task_run_name="reuse transcript {item.path}")
def reuse_transcript(item: WorkItem, overrides: dict[str, Any]) -> Transcription:
    """The stored transcript the planner exported: a new scorecard, prompt or LLM decodes nothing."""
    assert item.stored_transcript is not None
    return processor_for(overrides).transcribe_or_reuse(item.planned(), read_staged_transcript(Path(item.stored_transcript)))


@task(name="score", retries=len(RetryPolicy.backoff().delays_s), retry_condition_fn=retry_if_transient,
      cache_key_fn=score_key, cache_expiration=timedelta(days=CACHE_DAYS), persist_result=True,
      task_run_name="score {item.path}")
def score(item: WorkItem, transcription: Transcription, overrides: dict[str, Any]) -> ScoredCall:
    """The conversation measures and the scorecard's verdicts (none when nobody spoke)."""
    processor = processor_for(overrides)
    with score_slots(overrides):
        check_stop()
        return processor.measure_and_score(transcription)


@task(name="load", retries=len(RetryPolicy.backoff().delays_s), retry_condition_fn=retry_if_transient,
      cache_policy=NO_CACHE)
def load(staging: str, db: str) -> LoadReport:
    """The one writer: move staged results into the warehouse, one turn and one transaction each
    (readers get in between)."""
    return load_staged(WriteTurns(Path(db), wait_s=load_settings({"db": db}).write_wait_s), Path(staging))


# -- the shard flow: runs wherever a worker picks it up -------------------------------------------


@flow(name="callscore-score-recordings", task_runner=ThreadPoolTaskRunner(max_workers=TASK_THREADS))
def score_recordings(items: list[WorkItem], staging: str, run_id: str, overrides: dict[str, Any] | None = None,
                     retry_delay_s: float = 10.0) -> dict[str, int]:
    """Put ``items`` through the procedure, staging one result per recording in ``staging``.

    Recordings are submitted in order, so the next one transcribes while this one is scored.
    """
    logger = get_run_logger()
    overrides = overrides or {}
    processor = processor_for(overrides)
    staging_dir = Path(staging)
    retry = RetryPolicy.backoff(retry_delay_s)
    options = {"retry_delay_seconds": list(retry.delays_s), "retries": len(retry.delays_s),
               "result_storage": results_storage(staging_dir)}
    transcribe_task, score_task = transcribe.with_options(**options), score.with_options(**options)
    counts = {"staged": 0, "failed": 0}

    def failed(item: WorkItem, exc: Exception, stage_name: str) -> None:  # this recording fails alone
        error = as_recording_error(exc, stage=stage_name)
        logger.warning("%s failed at %s: %s", item.path, error.stage, error)
        stage_result(staging_dir, StagedResult(failure=failure_from(
            error, run_id=run_id, path=item.file, recording_id=item.recording_id, worker=processor.worker)))
        counts["failed"] += 1

    chains = []
    for item in items:
        planned, stage_name = item.planned(), "plan"
        try:
            processor.check_key(planned.key)
            stage_name = "sidecar"
            facts = processor.read_facts(planned)  # a bad sidecar costs no transcription
        except Exception as exc:
            failed(item, exc, stage_name)
            continue
        transcribed = (reuse_transcript.submit(item, overrides) if planned.has_transcript
                       else transcribe_task.submit(item, overrides))
        chains.append((item, planned, facts, transcribed, score_task.submit(item, transcribed, overrides)))

    with stops_the_tasks():
        for item, planned, facts, transcribed, scored in chains:
            stage_name = "transcribe"
            try:
                transcription = _awake_result(transcribed)
                stage_name = "score"
                scored_call = _awake_result(scored)
                record = processor.assemble(planned, facts, transcription, scored_call, run_id=run_id)
                stage_name = "read"
                processor.check_unchanged(planned)  # what was transcribed must be what was planned
                seconds = {"transcribe": transcription.seconds,
                           "score": scored_call.score.seconds if scored_call.score else 0.0}
                stage_result(staging_dir, StagedResult(record=record, stage_seconds=seconds))
                counts["staged"] += 1
            except Exception as exc:
                failed(item, exc, stage_name)
    return counts


def _awake_result(future: Any) -> Any:
    """``future.result()``, waited for in half-second steps: the kernel hands SIGTERM to any of
    the process's threads, and the flow's thread runs Python's handler only once it wakes."""
    while not future.wrapped_future.done():
        future.wait(timeout=0.5)
    return future.result()


@contextlib.contextmanager
def stops_the_tasks() -> Iterator[None]:
    """SIGTERM (Prefect's ``TerminationSignal``) or Ctrl-C in the flow's thread asks every task
    thread to stop too, at its next token or segment, so the process ends within seconds."""
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, Exception):
            request_stop()
        raise


# -- the nightly flow ------------------------------------------------------------------------------


@task(name="plan", cache_policy=NO_CACHE)
def plan(inbox: str, db: str, staging: str, overrides: dict[str, Any], since: date | None,
         until: date | None) -> Plan:
    """Step 1 of the procedure for the recordings in ``inbox`` (within the date window, by their
    call start in local time): those the warehouse does not have yet become work items, the same
    content twice one item. A stored transcript to score again is exported to ``staging``."""
    processor = processor_for(overrides)
    items: dict[str, WorkItem] = {}
    outcome = Plan(items=[], seen=0)
    identified = []  # every file is read and hashed before the warehouse is taken
    for path in discover([Path(inbox)]):
        try:
            if since or until:
                day = read_call_facts(path).started_at.astimezone().date()
                if (since and day < since) or (until and day >= until):
                    continue
            outcome.seen += 1
            identified.append((path, identify_unchanged(path)))
        except RecordingError as exc:  # kept as data: a traceback would keep the warehouse alive
            outcome.failures.append(failure_from(exc, run_id="", path=path, recording_id=None,
                                                 worker=processor.worker))
    with open_waiting(Path(db), read_only=False, wait_s=processor.settings.write_wait_s) as warehouse:
        for path, identity in identified:
            planned = processor.plan(path, warehouse, identity)
            key = planned.key
            if planned.done:
                outcome.done.append(Outcome(path, "skipped", key.recording_id, planned.stored_duration_s))
            elif key.recording_id not in items:
                stored = stage_transcript(Path(staging), key, warehouse.stored_transcript(
                    key.recording_id, key.whisper_model) or ()) if planned.has_transcript else None
                items[key.recording_id] = WorkItem.of(planned, stored)
    outcome.items = list(items.values())
    return outcome


def default_staging(db: Path) -> Path:
    return db.with_name(db.name + ".staging")


def default_report_path(db: Path, day: date) -> Path:
    return db.parent / "reports" / f"callscore-{day.isoformat()}.html"


@flow(name="callscore-nightly")
def nightly(inbox: str, db: str | None = None, scorecard: str | None = None, since: date | None = None,
            until: date | None = None, shards: int = 1, shard_deployment: str | None = None,
            staging: str | None = None, report: bool = True, retry_delay_s: float = 10.0,
            shard_timeout_s: float = 12 * 3600, language: str | None = None,
            whisper_model: str | None = None) -> dict[str, Any]:
    """Score the recordings in ``inbox`` that the warehouse does not have yet.

    ``language``: the language code every call is transcribed in (a sidecar's wins for its
    call; None: detected per call); ``whisper_model``: instead of the settings' model.

    ``since``/``until``: only calls started on or after / before these days. ``shards`` > 1 with
    ``shard_deployment`` (e.g. ``callscore-score-recordings/shard``) splits the work into that
    many flow runs on the deployment's work pool; without a deployment everything runs here.
    """
    logger = get_run_logger()
    clear_stop()  # a stop asked of an earlier run in this process is not this run's
    started_wall, started_at = time.perf_counter(), datetime.now().astimezone()
    overrides = {k: v for k, v in {"db": db, "scorecard": scorecard, "language": language,
                                   "whisper_model": whisper_model}.items() if v}
    settings = load_settings(overrides)
    db_path = settings.db.resolve()
    staging_dir = Path(staging) if staging else default_staging(db_path)
    run_id = str(flow_run.get_id() or os.urandom(16).hex())
    processor = processor_for(overrides)

    leftovers = load(str(staging_dir), str(db_path))  # results a crashed run staged but never loaded
    if leftovers.records or leftovers.failures:
        logger.info("loaded %d results left by an earlier run", len(leftovers.records) + len(leftovers.failures))
    planned = plan(inbox, str(db_path), str(staging_dir), overrides, since, until)
    _start_run(db_path, run_id, started_at, processor.run_identity(), planned.failures, wait_s=settings.write_wait_s)
    logger.info("%d recordings in the inbox: %d to do, %d already done", planned.seen, len(planned.items),
                len(planned.done))

    batches = split(planned.items, shards)
    if shard_deployment and len(batches) > 1:
        _run_on_work_pool(shard_deployment, batches, str(staging_dir), run_id, overrides, retry_delay_s,
                          shard_timeout_s)
    else:
        shard = score_recordings.with_options(
            task_runner=ThreadPoolTaskRunner(max_workers=task_threads(processor.llm_concurrency)))
        for batch in batches:
            shard(batch, str(staging_dir), run_id, overrides, retry_delay_s)

    loaded = load(str(staging_dir), str(db_path))
    summary = _summarise(run_id, planned, loaded, started_wall)
    suspect = sum(r.transcript is not None and r.transcript.language_suspect for r in loaded.records)
    if hint := language_hint(suspect, processor.models.whisper_name):
        logger.warning(hint)
    report_path = default_report_path(db_path, started_at.date()) if report else None
    criteria = _finish_run(db_path, summary, report_path, AudioLinks(settings.audio_base_url, settings.audio_root),
                           wait_s=settings.write_wait_s)
    figures = summary.as_dict()
    publish(figures, criteria, report_path)
    return {**figures, "report": str(report_path) if report_path else None}


def _start_run(db: Path, run_id: str, started_at: datetime, models: dict[str, Any],
               failures: list[StagedFailure], *, wait_s: float = WRITE_WAIT_S) -> None:
    """Open the run in `runs` (closing any earlier flow run that was killed) and record the
    recordings that could not even be read; ``wait_s``: the longest wait for the warehouse."""
    with open_waiting(db, read_only=False, wait_s=wait_s) as warehouse:
        # nightly runs do not overlap (concurrency limit 1)
        stale = warehouse.begin_run(run_id=run_id, source="flow", started_at=started_at, models=models)
        if stale:
            get_run_logger().warning("%d earlier flow runs never finished (killed?): marked aborted in `runs`", stale)
        for failure in failures:
            warehouse.record_failure(run_id=run_id, path=failure.path, recording_id=None, error=failure.as_error(),
                                     error_type=failure.error_type)


def _finish_run(db: Path, summary: RunSummary, report_path: Path | None,
                audio: AudioLinks | None = None, *, wait_s: float = WRITE_WAIT_S) -> list[dict[str, Any]]:
    """Close the run in `runs`, write the report (its call pages linking the recordings as
    ``audio`` says), and return the run's pass rate per criterion; ``wait_s``: the longest wait
    for the warehouse."""
    with open_waiting(db, read_only=False, wait_s=wait_s) as warehouse:
        warehouse.finish_run(summary.run_id, status="completed", **summary.ledger_figures())
    with open_waiting(db, read_only=True, wait_s=wait_s) as warehouse:  # a reader from here
        if report_path is not None:
            write_report(warehouse, report_path, audio=audio)
        return warehouse.criteria_pass_rates(summary.run_id)


def _run_on_work_pool(deployment: str, batches: list[list[WorkItem]], staging: str, run_id: str,
                      overrides: dict[str, Any], retry_delay_s: float, timeout_s: float) -> None:
    """One flow run per batch on the deployment's work pool; wait until all have finished."""
    from prefect.deployments import run_deployment

    logger = get_run_logger()
    runs = [
        run_deployment(deployment, timeout=0, parameters={
            "items": [item.model_dump() for item in batch], "staging": staging, "run_id": run_id,
            "overrides": overrides, "retry_delay_s": retry_delay_s,
        }, flow_run_name=f"shard {index + 1} of {len(batches)} ({len(batch)} recordings)")
        for index, batch in enumerate(batches)
    ]
    logger.info("%d shard runs queued on the work pool of %s", len(runs), deployment)
    unfinished = run_coro_as_sync(_wait_for_shards({run.id: run.name for run in runs}, timeout_s))
    if unfinished:
        logger.warning("%d shard runs still unfinished after %.0f s; what they stage is loaded next run",
                       unfinished, timeout_s)


async def _wait_for_shards(names: dict[UUID, str], timeout_s: float) -> int:
    """Wait (Prefect's ``wait_for_flow_run``) for every shard run to end; how many did not in time."""
    import asyncio

    from prefect.exceptions import FlowRunWaitTimeout
    from prefect.flow_runs import wait_for_flow_run

    logger = get_run_logger()

    async def one(flow_run_id: UUID) -> bool:
        try:
            ended = await wait_for_flow_run(flow_run_id, timeout=int(timeout_s))
        except FlowRunWaitTimeout:
            return False
        if ended.state is not None and not ended.state.is_completed():
            logger.warning("shard run %s ended %s; its recordings are tried again next run", names[flow_run_id],
                           ended.state.name)
        return True

    finished = await asyncio.gather(*(one(flow_run_id) for flow_run_id in names))
    return finished.count(False)


def _summarise(run_id: str, planned: Plan, loaded: LoadReport, started_wall: float) -> RunSummary:
    """The run's summary: what the plan found done or unreadable, and what the load stored."""
    outcomes = list(planned.done)
    outcomes += [Outcome(r.path, r.status, r.key.recording_id, r.duration_s) for r in loaded.records]  # type: ignore[arg-type]
    outcomes += [Outcome(r.path, "skipped", r.key.recording_id, r.duration_s) for r in loaded.duplicates]
    outcomes += [Outcome(f.path, "failed", f.recording_id, stage=f.stage, error=f.message)
                 for f in [*loaded.failures, *planned.failures]]
    summary = RunSummary(run_id=run_id, outcomes=outcomes, wall_s=time.perf_counter() - started_wall,
                         files_seen=planned.seen)
    summary.add_stage_seconds(loaded.stage_seconds)
    return summary
