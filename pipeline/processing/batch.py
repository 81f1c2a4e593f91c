"""``callscore score`` and ``rescore``: the procedure (``pipeline.processing.procedure``) run over
recordings in this process, each stored as soon as it is done, inside one run recorded in
``runs``: one at a time, two with the next transcribed while this one is scored
(``overlap_stages``), or ``llm_concurrency`` at once against an LLM server
(``pipeline.processing.concurrency``). A recording that fails is recorded in ``failures`` and
the batch goes on; only a setup problem (or a full disk) stops it.

The warehouse is taken in turns (``pipeline.store.warehouse.access``): one to plan a recording,
one to store it, none while it is transcribed and scored, so other processes read it between.
A recording another run stored in the meantime is not stored twice (outcome ``skipped``).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

from pipeline.errors import (DiskFullError, SetupError, WarehouseBusyError, WarehouseError, as_recording_error,
                             is_disk_full)
from pipeline.intake.inbox import discover, identify_unchanged
from pipeline.processing.concurrency import map_concurrently
from pipeline.processing.outcome import Outcome, RunSummary
from pipeline.processing.procedure import CallProcessor, PlannedRecording
from pipeline.processing.retries import RetryPolicy
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.access import Turns, write_turns

log = logging.getLogger(__name__)

Lookup = Callable[[Warehouse], PlannedRecording]  # step 1 of the procedure for one recording, in the warehouse
Plan = Callable[[], Lookup]  # what step 1 does before the warehouse is taken (hash the file), then the look-up


@dataclass
class AttemptProgress:
    """How far one attempt at a recording got, for its failure record."""

    stage: str = "read"
    recording_id: str | None = None


def process_recording(processor: CallProcessor, path: Path, warehouse: Warehouse | Turns, *, run_id: str,
                      retry: RetryPolicy | None = None) -> Outcome:
    """Process one file; failures are recorded and returned, never raised (except setup
    problems, which stop the run). A transient failure is tried again after the policy's delays."""
    def plan() -> Lookup:  # the file is hashed before the warehouse is taken
        identity = identify_unchanged(path)
        return lambda w: processor.plan(path, w, identity)

    return _with_retries(processor, path, write_turns(warehouse), plan, run_id=run_id, retry=retry)


def rescore_recording(processor: CallProcessor, recording_id: str, warehouse: Warehouse | Turns, *, run_id: str,
                      retry: RetryPolicy | None = None) -> Outcome:
    """Score a stored transcript with the processor's scorecard, prompt and LLM, reading no audio:
    for a new scorecard version or model. Earlier evaluations stay as they are."""
    turns = write_turns(warehouse)
    with turns.turn() as held:
        stored = held.stored_recording(recording_id)
    return _with_retries(processor, stored.path, turns, lambda: lambda w: processor.plan_stored(stored, w),
                         run_id=run_id, retry=retry)


def _with_retries(processor: CallProcessor, path: Path, turns: Turns, plan: Plan, *, run_id: str,
                  retry: RetryPolicy | None) -> Outcome:
    retry = retry or RetryPolicy.backoff()
    started = time.perf_counter()
    tried = 0
    while True:
        progress = AttemptProgress()
        try:
            return _attempt(processor, turns, plan, run_id=run_id, started=started, progress=progress)
        except SetupError:
            raise
        except Exception as exc:  # one bad recording must not stop the batch
            if is_disk_full(exc):  # but a full disk stops it: every later one would fail the same way
                raise DiskFullError.from_os_error(exc) from exc
            error = as_recording_error(exc, stage=progress.stage)
            if error is not exc:
                log.exception("unexpected error on %s at stage %s", path, progress.stage)
            delay = retry.delay_before(tried) if error.transient else None
            if delay is not None:
                log.warning("%s: %s; trying again in %g s", path.name, error, delay)
                time.sleep(delay)
                tried += 1
                continue
            with turns.turn() as warehouse:
                warehouse.record_failure(run_id=run_id, path=path, recording_id=progress.recording_id, error=error)
            return Outcome(path, "failed", progress.recording_id, stage=error.stage, error=str(error),
                           seconds=time.perf_counter() - started)


def _attempt(processor: CallProcessor, turns: Turns, plan: Plan, *, run_id: str, started: float,
             progress: AttemptProgress) -> Outcome:
    """The procedure's steps for one recording, stored at once in this process: the warehouse is
    held to plan it and to store it, not while it is transcribed and scored."""
    lookup = plan()
    with turns.turn() as warehouse:
        planned = lookup(warehouse)
        progress.recording_id = planned.key.recording_id
        if planned.done:
            return _outcome(planned, warehouse, "skipped", started, duration_s=planned.stored_duration_s)
        stored = warehouse.stored_transcript(planned.key.recording_id, planned.key.whisper_model) \
            if planned.has_transcript else None
    progress.stage = "sidecar"
    facts = processor.read_facts(planned)
    transcription = processor.transcribe_or_reuse(planned, stored, facts)
    progress.stage = "score"
    record = processor.assemble(planned, facts, transcription, processor.measure_and_score(transcription),
                                run_id=run_id)
    progress.stage = "store"
    processor.check_unchanged(planned)
    with turns.turn() as warehouse:
        if warehouse.is_done(planned.key):  # another run stored it meanwhile: not twice
            return _outcome(planned, warehouse, "skipped", started, duration_s=record.duration_s)
        warehouse.save_call(record)
        log.debug("stored %s: %s in %.1f s", planned.path.name, record.status, time.perf_counter() - started)
        return _outcome(planned, warehouse, record.status, started, duration_s=record.duration_s,
                        flags=transcription.flags)


def _outcome(planned: PlannedRecording, warehouse: Warehouse, status: Any, started: float, *,
             duration_s: float | None, flags: tuple[str, ...] = ()) -> Outcome:
    """The outcome of a recording stored (or found stored) under its key, with its stored score."""
    qa_score, critical_failed = warehouse.call_score(planned.key.recording_id, planned.key.scorecard_version)
    return Outcome(planned.path, status, planned.key.recording_id, duration_s, qa_score, critical_failed,
                   seconds=time.perf_counter() - started, flags=flags)


OnStart = Callable[[int], None]  # the number of items, once
OnFile = Callable[[Path], None]  # each item's path, as it starts
OnOutcome = Callable[[Outcome], None]  # each item's outcome


def run_batch(paths: Iterable[Path], processor: CallProcessor, warehouse: Warehouse | Turns, *, source: str = "cli",
              on_start: OnStart | None = None, on_file: OnFile | None = None, on_outcome: OnOutcome | None = None,
              retry: RetryPolicy | None = None) -> RunSummary:
    """Process every recording under ``paths``; the run is recorded in ``runs``. ``warehouse``:
    one held open, or turns (``access.WriteTurns``: open only while a call is planned or stored)."""
    files = discover(paths)
    turns = write_turns(warehouse)
    return _run(files, lambda path, run_id: process_recording(processor, path, turns, run_id=run_id, retry=retry),
                processor, turns, source=source, path_of=lambda path: path, hooks=(on_start, on_file, on_outcome))


def run_rescore(processor: CallProcessor, warehouse: Warehouse | Turns, *, on_start: OnStart | None = None,
                on_file: OnFile | None = None, on_outcome: OnOutcome | None = None,
                retry: RetryPolicy | None = None) -> RunSummary:
    """Score every stored transcript (by the processor's Whisper model) that the processor's
    scorecard version, prompt and LLM have not scored yet; no audio is read. Recorded in ``runs``
    with source 'rescore'. None stored by that model (but by others) is a ``SetupError`` naming
    the models whose transcripts are stored."""
    turns = write_turns(warehouse)
    with turns.turn() as held:
        transcribed = held.transcribed_recordings(processor.models.whisper_name)  # (recording id, path)
        stored = held.transcript_models()
    if not transcribed and stored:
        models = ", ".join(f"{model} ({count} call{'s' if count != 1 else ''})" for model, count in stored.items())
        raise SetupError(f"no transcript by {processor.models.whisper_name} is stored in {turns.path}; stored "
                         f"transcripts are by {models}: give rescore --whisper-model {next(iter(stored))}")
    return _run(transcribed, lambda item, run_id: rescore_recording(processor, item[0], turns, run_id=run_id,
                                                                    retry=retry),
                processor, turns, source="rescore", path_of=lambda item: item[1],
                hooks=(on_start, on_file, on_outcome))


def _run(items: list[Any], handle: Callable[[Any, str], Outcome], processor: CallProcessor, turns: Turns, *,
         source: str, path_of: Callable[[Any], Path],
         hooks: tuple[OnStart | None, OnFile | None, OnOutcome | None]) -> RunSummary:
    """Handle each item in turn inside one recorded run (``runs``: counts, audio and wall seconds)."""
    summary = RunSummary(run_id=uuid.uuid4().hex)
    started = time.perf_counter()
    with turns.turn() as warehouse:
        stale = warehouse.begin_run(run_id=summary.run_id, source=source, started_at=datetime.now(timezone.utc),
                                    models=processor.run_identity())
    if stale:
        log.warning("%d earlier %s run(s) never finished (killed?): marked aborted in `runs`", stale, source)
    on_start, on_file, on_outcome = hooks
    if on_start:
        on_start(len(items))

    def one(item: Any) -> Outcome:
        if on_file:
            on_file(path_of(item))
        return handle(item, summary.run_id)

    def finished(outcome: Outcome) -> None:
        summary.outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)

    status = "aborted"
    busy = False  # the warehouse stayed taken past the wait: the run's end is recorded only if it is free now
    try:
        if processor.calls_in_flight > 1:
            map_concurrently(items, one, workers=processor.calls_in_flight, on_result=finished)
        else:
            for item in items:
                finished(one(item))
        status = "completed"
    except WarehouseBusyError:
        busy = True
        raise
    finally:
        summary.wall_s = time.perf_counter() - started
        try:
            with turns.turn(wait_s=0.0 if busy else None) as warehouse:
                warehouse.finish_run(summary.run_id, status=status, **summary.ledger_figures())
        except WarehouseError as exc:  # the warehouse broke mid-run; the error that broke it is raised
            log.warning("the run's figures were not recorded in `runs`: %s", exc)
    return summary
