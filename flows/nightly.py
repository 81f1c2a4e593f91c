"""The nightly Prefect flow: score the day's recordings in an inbox folder.

``nightly`` plans the run (which recordings are new), hands the work to ``score_recordings``
(in this process, or as flow runs of a deployment on a work pool, one per shard, so several GPU
machines split the night), then loads every result into the warehouse through one writer and
publishes artifacts. Each recording goes through the tasks transcribe -> measure -> score, and
the result is staged for the loader (see ``pipeline.staging``). The stages are the same
``pipeline`` functions ``callscore score`` uses.

Transient failures (GPU out of memory, a busy warehouse) are retried with back-off; a permanent
one (undecodable audio) fails that recording only. Task results are cached by recording hash,
model names and scorecard version, so a run started again after a crash redoes only what had
not finished.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel

from flows.runtime import SCORE_LOCK, TRANSCRIBE_LOCK, processor_for
from pipeline.batch import Transcription, assemble_record, call_status
from pipeline.config import load_settings
from pipeline.errors import RecordingError, TransientRecordingError, WarehouseBusyError, as_recording_error
from pipeline.inbox import CHANGED_MESSAGE, discover, file_identity, read_call_facts
from pipeline.metrics import CallMetrics, compute_metrics
from pipeline.report import write_report
from pipeline.score import CallScore
from pipeline.staging import StagedFailure, StagedResult, failure_from, load_staged, stage
from pipeline.warehouse import Warehouse

ARTIFACT_CRITERIA = "callscore-criteria"
ARTIFACT_SUMMARY = "callscore-run-summary"
ARTIFACT_REPORT = "callscore-report"
RETRIES = 3
CACHE_DAYS = 14  # how long a task's cached result can stand in for re-doing it
SHARD_POLL_S = 2.0  # how often the nightly run checks on its shard runs


class WorkItem(BaseModel):
    """One recording to process: ids and paths only, so it travels as a flow parameter."""

    path: str
    recording_id: str
    size_bytes: int


@dataclass
class Plan:
    """What a run found in the inbox."""

    items: list[WorkItem]  # to process
    seen: int  # audio files in the inbox (and date window)
    done: int  # already in the warehouse
    failures: list[StagedFailure] = field(default_factory=list)  # unreadable before any work


# -- retries and caching ------------------------------------------------------------------------


def is_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only what may succeed on a second try."""
    try:
        state.result()
    except (TransientRecordingError, WarehouseBusyError):
        return True
    except Exception:
        return False
    return False


def _backoff(base_s: float) -> list[float]:
    return [base_s * 3**attempt for attempt in range(RETRIES)]  # e.g. 10 s, 30 s, 90 s


def transcript_key(context: Any, parameters: dict[str, Any]) -> str:
    models = processor_for(parameters["overrides"]).models
    return f"callscore-transcript-{parameters['item'].recording_id}-{models.whisper_name}"


def score_key(context: Any, parameters: dict[str, Any]) -> str:
    processor = processor_for(parameters["overrides"])
    key = processor.evaluation_key(parameters["item"].recording_id)
    return f"callscore-score-{key.recording_id}-{key.whisper_model}-{key.scorecard_version}-{key.prompt_version}-{key.llm_model}"


# -- per-recording tasks ---------------------------------------------------------------------------


@task(name="transcribe", retries=RETRIES, retry_delay_seconds=_backoff(10), retry_condition_fn=is_transient,
      cache_key_fn=transcript_key, cache_expiration=timedelta(days=CACHE_DAYS), persist_result=True,
      task_run_name="transcribe {item.path}")
def transcribe(item: WorkItem, overrides: dict[str, Any]) -> Transcription:
    """Decode and transcribe one recording (audio never leaves this task)."""
    processor = processor_for(overrides)
    with TRANSCRIBE_LOCK:
        return processor.transcribe_file(Path(item.path))


@task(name="measure", cache_policy=NO_CACHE, task_run_name="measure {item.path}")
def measure(item: WorkItem, transcription: Transcription) -> CallMetrics | None:
    """Conversation metrics from the timed segments (plain arithmetic)."""
    return compute_metrics(transcription.segments)


@task(name="score", retries=RETRIES, retry_delay_seconds=_backoff(10), retry_condition_fn=is_transient,
      cache_key_fn=score_key, cache_expiration=timedelta(days=CACHE_DAYS), persist_result=True,
      task_run_name="score {item.path}")
def score(item: WorkItem, transcription: Transcription, overrides: dict[str, Any]) -> CallScore | None:
    """The scorecard's verdicts, or None when there is nothing to score."""
    if call_status(transcription) != "scored":
        return None
    processor = processor_for(overrides)
    with SCORE_LOCK:
        return processor.score(transcription.segments)


@task(name="load", retries=RETRIES, retry_delay_seconds=_backoff(5), retry_condition_fn=is_transient,
      cache_policy=NO_CACHE)
def load(staging: str, db: str) -> dict[str, Any]:
    """The one writer: move staged results into the warehouse (one transaction each)."""
    with Warehouse.open(Path(db)) as warehouse:
        report = load_staged(warehouse, Path(staging))
    return {
        "records": report.records, "failures": report.failures, "duplicates": report.duplicates,
        "unreadable": [str(p) for p in report.unreadable], "stage_seconds": report.stage_seconds,
    }


# -- the shard flow: runs wherever a worker picks it up -------------------------------------------


@flow(name="callscore-score-recordings", task_runner=ThreadPoolTaskRunner(max_workers=4))
def score_recordings(items: list[WorkItem], staging: str, run_id: str, overrides: dict[str, Any] | None = None,
                     retry_delay_s: float = 10.0) -> dict[str, int]:
    """Transcribe, measure and score ``items``, staging one result per recording in ``staging``.

    Recordings are submitted in order, so the next one transcribes while this one is scored.
    """
    logger = get_run_logger()
    overrides = overrides or {}
    processor = processor_for(overrides)
    delays = _backoff(retry_delay_s)
    transcribe_task = transcribe.with_options(retry_delay_seconds=delays)
    score_task = score.with_options(retry_delay_seconds=delays)
    chains = []
    for item in items:
        transcribed = transcribe_task.submit(item, overrides)
        metrics = measure.submit(item, transcribed)
        scored = score_task.submit(item, transcribed, overrides)
        chains.append((item, transcribed, metrics, scored))

    counts = {"staged": 0, "failed": 0}
    for item, transcribed, metrics, scored in chains:
        path, stage_name = Path(item.path), "transcribe"
        try:
            transcription = transcribed.result()
            stage_name = "score"
            call_metrics, call_score = metrics.result(), scored.result()
            stage_name = "sidecar"
            record = assemble_record(
                processor.evaluation_key(item.recording_id), path=path, size_bytes=item.size_bytes,
                facts=read_call_facts(path), scorecard=processor.scorecard, run_id=run_id,
                transcription=transcription, metrics=call_metrics, score=call_score, worker=processor.worker,
            )
            seconds = {"transcribe": transcription.transcript.seconds if transcription.transcript else 0.0,
                       "score": call_score.seconds if call_score else 0.0}
            stage_name = "read"
            if file_identity(path)[0] != item.recording_id:  # what was transcribed may not be what was planned
                raise TransientRecordingError(CHANGED_MESSAGE, stage="read")
            stage(Path(staging), StagedResult(record=record, stage_seconds=seconds))
            counts["staged"] += 1
        except Exception as exc:  # this recording fails alone
            error = as_recording_error(exc, stage=stage_name)
            logger.warning("%s failed at %s: %s", item.path, error.stage, error)
            stage(Path(staging), StagedResult(failure=failure_from(
                error, run_id=run_id, path=path, recording_id=item.recording_id, worker=processor.worker)))
            counts["failed"] += 1
    return counts


# -- the nightly flow ------------------------------------------------------------------------------


@task(name="plan", cache_policy=NO_CACHE)
def plan(inbox: str, db: str, overrides: dict[str, Any], since: date | None, until: date | None) -> Plan:
    """Recordings in ``inbox`` (within the date window, by their call start in local time) that
    the warehouse does not have yet; the same content twice is one item."""
    processor = processor_for(overrides)
    items: dict[str, WorkItem] = {}
    failures, seen, done = [], 0, 0
    with Warehouse.open(Path(db)) as warehouse:
        for path in discover([Path(inbox)]):
            try:
                if since or until:
                    day = read_call_facts(path).started_at.astimezone().date()
                    if (since and day < since) or (until and day >= until):
                        continue
                seen += 1
                recording_id, size = file_identity(path)
            except RecordingError as exc:  # kept as data: a traceback would keep the warehouse alive
                failures.append(failure_from(exc, run_id="", path=path, recording_id=None, worker=processor.worker))
                continue
            if warehouse.is_done(processor.evaluation_key(recording_id)):
                done += 1
            elif recording_id not in items:
                items[recording_id] = WorkItem(path=str(path), recording_id=recording_id, size_bytes=size)
    return Plan(list(items.values()), seen, done, failures)


def split(items: list[WorkItem], shards: int) -> list[list[WorkItem]]:
    """``shards`` lists of about equal bytes (largest first onto the lightest shard)."""
    buckets: list[list[WorkItem]] = [[] for _ in range(max(1, min(shards, len(items))))]
    loads = [0] * len(buckets)
    for item in sorted(items, key=lambda i: i.size_bytes, reverse=True):
        lightest = loads.index(min(loads))
        buckets[lightest].append(item)
        loads[lightest] += item.size_bytes
    return [bucket for bucket in buckets if bucket]


def default_staging(db: Path) -> Path:
    return db.with_name(db.name + ".staging")


def default_report_path(db: Path, day: date) -> Path:
    return db.parent / "reports" / f"callscore-{day.isoformat()}.html"


@flow(name="callscore-nightly")
def nightly(inbox: str, db: str | None = None, scorecard: str | None = None, since: date | None = None,
            until: date | None = None, shards: int = 1, shard_deployment: str | None = None,
            staging: str | None = None, report: bool = True, retry_delay_s: float = 10.0,
            shard_timeout_s: float = 12 * 3600) -> dict[str, Any]:
    """Score the recordings in ``inbox`` that the warehouse does not have yet.

    ``since``/``until``: only calls started on or after / before these days. ``shards`` > 1 with
    ``shard_deployment`` (e.g. ``callscore-score-recordings/shard``) splits the work into that
    many flow runs on the deployment's work pool; without a deployment everything runs here.
    """
    logger = get_run_logger()
    started_wall, started_at = time.perf_counter(), datetime.now().astimezone()
    overrides = {k: v for k, v in {"db": db, "scorecard": scorecard}.items() if v}
    settings = load_settings(overrides)
    db_path = settings.db.resolve()
    staging_dir = Path(staging) if staging else default_staging(db_path)
    run_id = str(flow_run.get_id() or os.urandom(16).hex())
    processor = processor_for(overrides)

    leftovers = load(str(staging_dir), str(db_path))  # results a crashed run staged but never loaded
    if leftovers["records"] or leftovers["failures"]:
        logger.info("loaded %d results left by an earlier run", len(leftovers["records"]) + len(leftovers["failures"]))
    planned = plan(inbox, str(db_path), overrides, since, until)
    _start_run(db_path, run_id, started_at, processor.run_identity(), planned.failures)
    logger.info("%d recordings in the inbox: %d to do, %d already done", planned.seen, len(planned.items), planned.done)

    batches = split(planned.items, shards)
    if shard_deployment and len(batches) > 1:
        _run_on_work_pool(shard_deployment, batches, str(staging_dir), run_id, overrides, retry_delay_s,
                          shard_timeout_s)
    else:
        for batch in batches:
            score_recordings(batch, str(staging_dir), run_id, overrides, retry_delay_s)

    loaded = load(str(staging_dir), str(db_path))
    summary = _summarise(planned, loaded, started_wall)
    report_path = default_report_path(db_path, started_at.date()) if report else None
    criteria = _finish_run(db_path, run_id, summary, report_path)
    _publish(summary, criteria, report_path)
    return {**summary, "run_id": run_id, "report": str(report_path) if report_path else None}


def _start_run(db: Path, run_id: str, started_at: datetime, models: dict[str, str],
               failures: list[StagedFailure]) -> None:
    """Open the run in `runs` (closing any earlier flow run that was killed) and record the
    recordings that could not even be read."""
    with Warehouse.open(db) as warehouse:
        stale = warehouse.abort_stale_runs(source="flow")  # nightly runs do not overlap (concurrency limit 1)
        if stale:
            get_run_logger().warning("%d earlier flow runs never finished (killed?): marked aborted in `runs`", stale)
        warehouse.start_run(run_id=run_id, source="flow", started_at=started_at, models=models)
        for failure in failures:
            warehouse.record_failure(run_id=run_id, path=failure.path, recording_id=None, error=failure.as_error(),
                                     error_type=failure.error_type)


def _finish_run(db: Path, run_id: str, summary: dict[str, Any], report_path: Path | None) -> list[dict[str, Any]]:
    """Close the run in `runs`, write the report, and return the run's pass rate per criterion."""
    with Warehouse.open(db) as warehouse:
        warehouse.finish_run(run_id, status="completed", counts=summary["counts"], audio_s=summary["audio_s"],
                             wall_s=summary["wall_s"], stage_seconds=summary["stage_seconds"])
        if report_path is not None:
            write_report(warehouse, report_path)
        return _criteria_pass_rates(warehouse, run_id)


def _run_on_work_pool(deployment: str, batches: list[list[WorkItem]], staging: str, run_id: str,
                      overrides: dict[str, Any], retry_delay_s: float, timeout_s: float) -> None:
    """One flow run per batch on the deployment's work pool; wait until all have finished."""
    from prefect import get_client
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
    pending = {run.id: run.name for run in runs}
    deadline = time.monotonic() + timeout_s
    with get_client(sync_client=True) as client:
        while pending and time.monotonic() < deadline:
            for flow_run_id in list(pending):
                state = client.read_flow_run(flow_run_id).state
                if state is not None and state.is_final():
                    if not state.is_completed():
                        logger.warning("shard run %s ended %s; its recordings are tried again next run",
                                       pending[flow_run_id], state.name)
                    del pending[flow_run_id]
            time.sleep(SHARD_POLL_S)
    if pending:
        logger.warning("%d shard runs still unfinished after %.0f s; what they stage is loaded next run",
                       len(pending), timeout_s)


def _summarise(planned: Plan, loaded: dict[str, Any], started_wall: float) -> dict[str, Any]:
    records = loaded["records"]
    statuses = [r.status for r in records]
    counts = {
        "seen": planned.seen,
        "scored": statuses.count("scored"),
        "no_speech": statuses.count("no_speech"),
        "too_short": statuses.count("too_short"),
        "skipped": planned.done + loaded["duplicates"],
        "failed": len(loaded["failures"]) + len(planned.failures),
    }
    stage_seconds = {k: v for k, v in loaded["stage_seconds"].items() if v > 0}
    return {
        "counts": counts,
        "audio_s": sum(r.duration_s or 0.0 for r in records),
        "wall_s": time.perf_counter() - started_wall,
        "stage_seconds": stage_seconds,
        "slowest_stage": max(stage_seconds, key=stage_seconds.__getitem__) if stage_seconds else None,
        "failed": [{"path": str(f.path), "stage": f.stage, "error": f.message} for f in loaded["failures"]]
        + [{"path": str(f.path), "stage": f.stage, "error": f.message} for f in planned.failures],
    }


def _criteria_pass_rates(warehouse: Warehouse, run_id: str) -> list[dict[str, Any]]:
    rows = warehouse.connection.execute(
        """
        SELECT s.criterion_id, count(*) AS answers,
               count(*) FILTER (WHERE s.passed) AS passed,
               count(*) FILTER (WHERE s.passed = false) AS failed,
               count(*) FILTER (WHERE s.passed IS NULL) AS not_applicable,
               round(count(*) FILTER (WHERE s.passed) / nullif(count(s.passed), 0), 3) AS pass_rate,
               round(avg(s.confidence), 3) AS mean_confidence
        FROM scores AS s
        JOIN evaluations AS e USING (recording_id, whisper_model, scorecard_version, prompt_version, llm_model)
        WHERE e.run_id = ?
        GROUP BY s.criterion_id ORDER BY s.criterion_id
        """,
        [run_id],
    ).fetchall()
    columns = ["criterion", "answers", "passed", "failed", "not_applicable", "pass_rate", "mean_confidence"]
    return [dict(zip(columns, row)) for row in rows]


def _publish(summary: dict[str, Any], criteria: list[dict[str, Any]], report_path: Path | None) -> None:
    """The run's artifacts, under stable keys so each night's version stacks up in the UI."""
    counts = summary["counts"]
    create_table_artifact(key=ARTIFACT_CRITERIA, table=criteria or [{"criterion": "(nothing scored this run)"}],
                          description="Pass rate per criterion of the calls scored in this run")
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(summary["stage_seconds"].items())) or "none"
    lines = [
        "## callscore nightly run",
        "",
        "| files seen | scored | without speech | already done | failed | audio | wall time | slowest stage |",
        "|---|---|---|---|---|---|---|---|",
        f"| {counts['seen']} | {counts['scored']} | {counts['no_speech'] + counts['too_short']} | {counts['skipped']} "
        f"| {counts['failed']} | {summary['audio_s'] / 3600:.2f} h | {summary['wall_s']:.1f} s "
        f"| {summary['slowest_stage'] or '-'} |",
        "",
        f"Seconds per stage (summed over recordings): {stages}.",
    ]
    if summary["failed"]:
        lines += ["", "### Failed recordings", "", "| file | stage | error |", "|---|---|---|"]
        lines += [f"| {f['path']} | {f['stage']} | {f['error'].replace('|', '/')} |" for f in summary["failed"]]
    if report_path:
        lines += ["", f"Report: [{report_path.name}]({report_path.as_uri()}) (`{report_path}`)"]
        create_link_artifact(key=ARTIFACT_REPORT, link=report_path.as_uri(), link_text=report_path.name,
                             description="The KPI report written by this run")
    create_markdown_artifact(key=ARTIFACT_SUMMARY, markdown="\n".join(lines), description="What this run did")
