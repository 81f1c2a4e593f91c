"""Results handed from workers to the one process that writes the warehouse.

DuckDB lets one process write a database file at a time, and several GPU machines may score the
same night's recordings. So workers never open the warehouse: each processed recording becomes
one JSON file in a staging folder (written to a temporary name, then renamed, so a reader never
sees half a file), and a single loader moves staged files into the warehouse, each in its own
transaction, deleting a file only after its transaction committed. A result that is already in
the warehouse (a recording scored twice by a re-run) is dropped, not stored again.

The planner also exports here the stored transcripts that a run scores again (``transcripts/``),
since workers do not read the warehouse; the loader deletes one once a record of it is stored.

The staging folder must be shared by every worker and the loader (a network share when the
workers are on several machines).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import TypeAdapter

from pipeline.errors import PermanentRecordingError, RecordingError, TransientRecordingError
from pipeline.files import write_atomically
from pipeline.intake.file_names import readable
from pipeline.speech.segments import Segment
from pipeline.store.warehouse import CallRecord, EvaluationKey, Warehouse
from pipeline.store.warehouse.access import Turns, write_turns

log = logging.getLogger(__name__)

SUFFIX = ".json"
TRANSCRIPTS = "transcripts"  # the sub-folder of exported stored transcripts


@dataclass(frozen=True)
class StagedFailure:
    """A recording that failed on a worker, for the ``failures`` table."""

    run_id: str
    path: Path
    recording_id: str | None
    stage: str
    error_type: str
    message: str
    transient: bool
    worker: str | None = None

    def as_error(self) -> RecordingError:
        kind = TransientRecordingError if self.transient else PermanentRecordingError
        return kind(self.message, stage=self.stage)


@dataclass(frozen=True)
class StagedResult:
    """One staged file: a processed recording or a failure, and seconds spent per stage."""

    record: CallRecord | None = None
    failure: StagedFailure | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)


_ADAPTER = TypeAdapter(StagedResult)
_SEGMENTS = TypeAdapter(tuple[Segment, ...])


def failure_from(error: RecordingError, *, run_id: str, path: Path, recording_id: str | None,
                 worker: str | None) -> StagedFailure:
    cause = error.__cause__ or error
    return StagedFailure(run_id, path, recording_id, error.stage, type(cause).__name__, str(error), error.transient, worker)


def stage_result(directory: Path, result: StagedResult) -> Path:
    """Write ``result`` atomically into ``directory``; returns the file's path. Its recording's
    path is staged as readable text (``pipeline.intake.file_names``), as the warehouse stores it."""
    if result.record is not None:
        result = replace(result, record=replace(result.record, path=Path(readable(result.record.path))))
        key = result.record.key
        name = "-".join([key.recording_id[:16], _short_hash(
            key.whisper_model, key.scorecard_version, key.prompt_version, key.llm_model)])
    else:
        assert result.failure is not None
        result = replace(result, failure=replace(result.failure, path=Path(readable(result.failure.path))))
        name = f"failed-{_short_hash(str(result.failure.path))}-{uuid.uuid4().hex[:8]}"
    return write_atomically(directory / f"{name}{SUFFIX}", _ADAPTER.dump_json(result))


def _transcript_file(directory: Path, recording_id: str, whisper_model: str) -> Path:
    return directory / TRANSCRIPTS / f"{recording_id[:16]}-{_short_hash(recording_id, whisper_model)}{SUFFIX}"


def stage_transcript(directory: Path, key: EvaluationKey, segments: tuple[Segment, ...]) -> Path:
    """Export a stored transcript (``key``'s recording and Whisper model) for a worker to score again."""
    return write_atomically(_transcript_file(directory, key.recording_id, key.whisper_model),
                             _SEGMENTS.dump_json(segments))


def read_staged_transcript(path: Path) -> tuple[Segment, ...]:
    return _SEGMENTS.validate_json(path.read_bytes())


def staged_files(directory: Path) -> list[Path]:
    """Complete staged files, oldest first (partial ones are hidden and skipped)."""
    if not directory.is_dir():
        return []
    files = [p for p in directory.iterdir() if p.suffix == SUFFIX and not p.name.startswith(".")]
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def read_staged(path: Path) -> StagedResult:
    return _ADAPTER.validate_json(path.read_bytes())


@dataclass
class LoadReport:
    """What one loading pass did."""

    records: list[CallRecord] = field(default_factory=list)  # newly stored
    failures: list[StagedFailure] = field(default_factory=list)
    duplicates: list[CallRecord] = field(default_factory=list)  # results already in the warehouse, dropped
    rejected: list[Path] = field(default_factory=list)  # damaged or unfit, moved aside to rejected/
    stage_seconds: dict[str, float] = field(default_factory=dict)


def unfit(result: StagedResult) -> str | None:
    """Why a staged result that parsed cannot be stored as it is (None: it can): it holds
    nothing, its key's scorecard version is not its scorecard's, it answers a criterion or
    field its scorecard does not have, or a figure is out of its range."""
    record = result.record
    if record is None:
        return None if result.failure is not None else "it holds neither a processed recording nor a failure"
    card = record.scorecard
    if record.key.scorecard_version != card.version:
        return f"its key names scorecard version {record.key.scorecard_version}, its scorecard is {card.version}"
    criteria, fields = {c.id for c in card.criteria}, {f.id for f in card.fields or ()}
    answers = [(v.criterion_id, criteria, "criterion", v.confidence, v.evidence_start_s)
               for v in (record.score.verdicts if record.score else ())]
    answers += [(e.field_id, fields, "field", e.confidence, e.evidence_start_s)
                for e in (record.score.extractions if record.score else ())]
    for answer_id, known, kind, confidence, start_s in answers:
        if answer_id not in known:
            return f"it answers {kind} {answer_id[:80]!r}, which its scorecard {card.name[:80]!r} does not have"
        if confidence is not None and not 0.0 <= confidence <= 1.0:
            return f"the confidence of {kind} {answer_id!r} is {confidence:g}, not between 0 and 1"
        if start_s is not None and not (math.isfinite(start_s) and start_s >= 0):
            return f"the evidence of {kind} {answer_id!r} starts at {start_s:g} s"
    if record.duration_s is not None and not (math.isfinite(record.duration_s) and record.duration_s >= 0):
        return f"its duration is {record.duration_s:g} s"
    return None


def _reject(directory: Path, path: Path, why: str, report: LoadReport) -> None:
    """Move a staged file that cannot be stored aside, to ``rejected/``, saying why."""
    log.error("staged result %s is rejected (%s); moved to rejected/", path.name, why)
    rejected = directory / "rejected"
    rejected.mkdir(exist_ok=True)
    os.replace(path, rejected / path.name)
    report.rejected.append(path)


def load_staged(warehouse: Warehouse | Turns, directory: Path) -> LoadReport:
    """Move every staged result into ``warehouse`` (held open, or taken in turns: one per result):
    the only place results are written. One that is damaged or does not fit (``unfit``) is moved
    to ``rejected/`` and the rest load."""
    turns = write_turns(warehouse)
    report = LoadReport()
    started = time.perf_counter()
    for path in staged_files(directory):
        try:
            result = read_staged(path)
        except (ValueError, OSError) as exc:  # a damaged file must not block the others
            _reject(directory, path, f"unreadable: {str(exc).splitlines()[0]}", report)
            continue
        why = unfit(result)
        if why is not None:
            _reject(directory, path, why, report)
            continue
        with turns.turn() as warehouse:  # one turn per result: readers get in between
            if not _store(warehouse, directory, path, result, report):
                continue
        for stage_name, seconds in result.stage_seconds.items():
            report.stage_seconds[stage_name] = report.stage_seconds.get(stage_name, 0.0) + seconds
        path.unlink()
    report.stage_seconds["load"] = report.stage_seconds.get("load", 0.0) + time.perf_counter() - started
    return report


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:12]


def _store(warehouse: Warehouse, directory: Path, path: Path, result: StagedResult, report: LoadReport) -> bool:
    """Store one staged result (a call not stored yet, or a failure); False when the warehouse
    refused it and it went to ``rejected/``."""
    if result.record is not None:
        key = result.record.key
        if warehouse.is_done(key):
            report.duplicates.append(result.record)
        else:
            try:
                warehouse.save_call(result.record)
            except PermanentRecordingError as exc:  # a row the warehouse refuses: this result's own fault
                _reject(directory, path, str(exc), report)
                return False
            report.records.append(result.record)
        _transcript_file(directory, key.recording_id, key.whisper_model).unlink(missing_ok=True)
    elif result.failure is not None:
        failure = result.failure
        warehouse.record_failure(run_id=failure.run_id, path=failure.path, recording_id=failure.recording_id,
                                 error=failure.as_error(), error_type=failure.error_type)
        report.failures.append(failure)
    return True
