"""Process recordings end to end: identify, skip what is done, decode, transcribe, score, store.

``CallProcessor`` holds the loaded models (once per process) and processes one recording at a
time; ``run_batch`` drives it over folders for the CLI. A recording that fails is recorded in
``failures`` and the batch goes on; only a setup problem stops it.
"""

from __future__ import annotations

import functools
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Literal

from pipeline.audio import AudioInfo, decode_stream
from pipeline.config import Settings, worker_name
from pipeline.errors import (
    DiskFullError, PermanentRecordingError, SetupError, TransientRecordingError, WarehouseError, as_recording_error,
    is_disk_full,
)
from pipeline.inbox import CHANGED_MESSAGE, CallFacts, discover, file_state, identify_unchanged, read_call_facts
from pipeline.llm import LlamaBackend
from pipeline.metrics import CallMetrics, compute_metrics
from pipeline.models import ModelChoice, choose_models
from pipeline.prompt import PromptTemplate, load_prompt_template
from pipeline.redact import redact_segments
from pipeline.score import CallScore, Scorer, ScoringStyle
from pipeline.scorecard import Scorecard, load_scorecard
from pipeline.transcribe import Segment, Transcriber
from pipeline.warehouse import CallRecord, EvaluationKey, NewTranscript, StoredRecording, Warehouse

log = logging.getLogger(__name__)

MIN_CALL_SECONDS = 2.0  # shorter recordings are stored as 'too_short', not transcribed
RETRY_DELAYS_S = (2.0, 10.0)  # seconds before each new try of a recording after a transient failure

Status = Literal["scored", "no_speech", "too_short", "skipped", "failed"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one recording in a run."""

    path: Path
    status: Status
    recording_id: str | None = None
    duration_s: float | None = None  # audio seconds
    qa_score: float | None = None  # 0-100
    critical_failed: bool | None = None
    stage: str | None = None  # where it failed
    error: str | None = None
    seconds: float = 0.0  # wall time spent on it
    flags: tuple[str, ...] = ()  # e.g. 'truncated'


@dataclass
class RunSummary:
    run_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    wall_s: float = 0.0

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def counts(self) -> dict[str, int]:
        counts = {status: self.count(status) for status in ("scored", "no_speech", "too_short", "skipped", "failed")}
        counts["seen"] = len(self.outcomes)
        return counts

    @property
    def audio_s(self) -> float:
        """Audio seconds processed in this run (skipped recordings not counted)."""
        return sum(o.duration_s or 0.0 for o in self.outcomes if o.status in ("scored", "no_speech", "too_short"))

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


class CallProcessor:
    """Settings, scorecard and models for processing recordings. Models load on first use, so a
    run where everything is already done loads none."""

    def __init__(self, settings: Settings, *, retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S) -> None:
        self.settings = settings
        self.retry_delays_s = retry_delays_s
        self.scorecard: Scorecard = load_scorecard(settings.scorecard)
        self.template: PromptTemplate = load_prompt_template()
        self.models: ModelChoice = choose_models(settings)
        self.worker = worker_name()
        self._transcriber: Transcriber | None = None
        self._scorer: Scorer | None = None

    @property
    def transcriber(self) -> Transcriber:
        if self._transcriber is None:
            self._transcriber = Transcriber(
                self.models.whisper,
                device=self.settings.device,
                beam_size=self.settings.beam_size,
                language=self.settings.language,
                cpu_threads=os.cpu_count() or 0,
            )
        return self._transcriber

    @property
    def scorer(self) -> Scorer:
        if self._scorer is None:
            if self.settings.llm_backend == "openai":  # a shared server; the model named at choice time
                from pipeline.openai_backend import OpenAIBackend

                key = self.settings.llm_api_key
                backend: Any = OpenAIBackend(
                    str(self.settings.llm_url),
                    model=self.models.llm_server_model,
                    api_key=key.get_secret_value() if key else None,
                    n_ctx=self.settings.llm_context,
                )
            else:
                backend = LlamaBackend(
                    self.models.llm_path,
                    n_ctx=self.settings.llm_context,
                    n_threads=self.settings.llm_threads,
                    device=self.settings.device,
                    gpu_layers=self.settings.llm_gpu_layers,
                )
            self._scorer = Scorer(backend, self.scorecard, self.template, style=self.style)
        return self._scorer

    @property
    def style(self) -> ScoringStyle:
        return ScoringStyle(self.settings.llm_questions, self.settings.llm_answer_order)

    @property
    def prompt_version(self) -> str:
        """The template's content hash, plus the scoring style when it is not the default."""
        return "+".join(part for part in (self.template.version, self.style.tag) if part)

    def evaluation_key(self, recording_id: str) -> EvaluationKey:
        return EvaluationKey(
            recording_id=recording_id,
            whisper_model=self.models.whisper_name,
            scorecard_version=self.scorecard.version,
            prompt_version=self.prompt_version,
            llm_model=self.models.llm_name,
        )

    def run_identity(self) -> dict[str, str]:
        return {
            "whisper_model": self.models.whisper_name,
            "llm_model": self.models.llm_name,
            "scorecard_name": self.scorecard.name,
            "scorecard_version": self.scorecard.version,
            "prompt_version": self.prompt_version,
        }

    def process(self, path: Path, warehouse: Warehouse, *, run_id: str) -> Outcome:
        """Process one recording; failures are recorded and returned, never raised (except
        setup problems, which stop the run). A transient failure (GPU out of memory, a busy
        model server, a file still being written) is tried again after ``retry_delays_s``."""
        return self._with_retries(path, warehouse, run_id=run_id, attempt=self._process_once)

    def rescore(self, recording_id: str, warehouse: Warehouse, *, run_id: str) -> Outcome:
        """Score a stored transcript with this processor's scorecard, prompt and LLM, reading no
        audio: for a new scorecard version or model. Earlier evaluations stay as they are."""
        stored = warehouse.stored_recording(recording_id)
        return self._with_retries(stored.path, warehouse, run_id=run_id,
                                  attempt=functools.partial(self._rescore_once, stored=stored))

    def _with_retries(self, path: Path, warehouse: Warehouse, *, run_id: str, attempt: Callable[..., Outcome]) -> Outcome:
        started = time.perf_counter()
        for tried in range(len(self.retry_delays_s) + 1):
            position = _Position()
            try:
                return attempt(path, warehouse, run_id=run_id, started=started, position=position)
            except SetupError:
                raise
            except Exception as exc:  # one bad recording must not stop the batch
                if is_disk_full(exc):  # but a full disk stops it: every later one would fail the same way
                    raise DiskFullError.from_os_error(exc) from exc
                error = as_recording_error(exc, stage=position.stage)
                if error is not exc:
                    log.exception("unexpected error on %s at stage %s", path, position.stage)
                if error.transient and tried < len(self.retry_delays_s):
                    delay = self.retry_delays_s[tried]
                    log.warning("%s: %s; trying again in %g s", path.name, error, delay)
                    time.sleep(delay)
                    continue
                warehouse.record_failure(run_id=run_id, path=path, recording_id=position.recording_id, error=error)
                return Outcome(
                    path, "failed", position.recording_id, stage=error.stage, error=str(error),
                    seconds=time.perf_counter() - started,
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _process_once(self, path: Path, warehouse: Warehouse, *, run_id: str, started: float,
                      position: _Position) -> Outcome:
        recording_id, size, state = identify_unchanged(path)
        position.recording_id = recording_id
        key = self.evaluation_key(recording_id)
        if warehouse.is_done(key):
            return _skipped(key, path, warehouse.stored_duration(recording_id), warehouse, started)
        position.stage = "sidecar"
        facts = read_call_facts(path)
        stored = warehouse.stored_transcript(key.recording_id, key.whisper_model)
        if stored is None:
            transcription = self.transcribe_file(path)
        else:  # re-score an earlier transcript by this model
            transcription = Transcription(None, warehouse.stored_duration(recording_id), False, None, stored)

        def unchanged() -> None:  # what was decoded may not be what was hashed
            now = file_state(path)
            if now is not None and now != state:
                raise TransientRecordingError(CHANGED_MESSAGE, stage="read")

        return self._score_and_store(key, path, size, facts, transcription, warehouse, run_id=run_id,
                                     started=started, position=position, before_store=unchanged)

    def _rescore_once(self, path: Path, warehouse: Warehouse, *, stored: StoredRecording, run_id: str,
                      started: float, position: _Position) -> Outcome:
        position.recording_id = stored.recording_id
        key = self.evaluation_key(stored.recording_id)
        if warehouse.is_done(key):
            return _skipped(key, path, stored.duration_s, warehouse, started)
        segments = warehouse.stored_transcript(key.recording_id, key.whisper_model)
        if segments is None:
            raise PermanentRecordingError(f"no transcript by {key.whisper_model} is stored", stage="read")
        transcription = Transcription(None, stored.duration_s, False, None, segments)
        return self._score_and_store(key, path, stored.size_bytes, stored.facts, transcription, warehouse,
                                     run_id=run_id, started=started, position=position)

    def _score_and_store(self, key: EvaluationKey, path: Path, size: int, facts: CallFacts,
                         transcription: Transcription, warehouse: Warehouse, *, run_id: str, started: float,
                         position: _Position, before_store: Callable[[], None] = lambda: None) -> Outcome:
        """Measure and score a transcription, and store the call in one transaction."""
        position.stage = "score"
        metrics = compute_metrics(transcription.segments)
        score = self.score(transcription.segments, metrics) if call_status(transcription) == "scored" else None
        record = assemble_record(
            key, path=path, size_bytes=size, facts=facts, scorecard=self.scorecard, run_id=run_id,
            transcription=transcription, metrics=metrics, score=score, worker=self.worker,
        )
        position.stage = "store"
        before_store()
        warehouse.save_call(record)
        log.debug("stored %s: %s in %.1f s", path.name, record.status, time.perf_counter() - started)
        qa_score, critical_failed = warehouse.call_score(key.recording_id, key.scorecard_version)
        return Outcome(
            path, record.status, key.recording_id, record.duration_s, qa_score, critical_failed,
            seconds=time.perf_counter() - started, flags=("truncated",) if record.truncated else (),
        )

    def transcribe_file(self, path: Path) -> Transcription:
        """Decode (streamed: memory stays bounded however long the call), transcribe and redact one
        recording (stages ``probe``, ``decode``, ``transcribe``). Recordings shorter than
        ``MIN_CALL_SECONDS`` are not transcribed."""
        started = time.perf_counter()
        audio = decode_stream(path, agent_channel=self.settings.agent_channel)
        audio.peek()  # the first chunk tells a too-short recording apart before any model loads
        if audio.finished and audio.duration_s < MIN_CALL_SECONDS:
            return Transcription(audio.info, round(audio.duration_s, 3), audio.truncated, None)
        try:
            segments = tuple(self.transcriber.transcribe_stream(audio))
        except SetupError:
            raise
        except Exception as exc:
            error = as_recording_error(exc, stage="transcribe")
            if error is exc:  # the decoder's own RecordingError (stage 'decode') passes through
                raise
            raise error from exc
        redacted = redact_segments(segments, kinds=self.settings.redact)  # before the text goes anywhere
        transcript = NewTranscript(
            device=self.transcriber.choice.device, segments=redacted.segments, seconds=time.perf_counter() - started,
            redaction=self.settings.redact, redactions=redacted.counts,
        )
        return Transcription(audio.info, round(audio.duration_s, 3), audio.truncated, transcript)

    def score(self, segments: tuple[Segment, ...], metrics: CallMetrics | None = None) -> CallScore:
        """The scorecard's verdicts for a transcript (stage ``score``). The transcript is redacted
        again first, so a transcript stored before redaction was on never reaches the LLM as is.
        ``metrics``: the call's measures for rule criteria (computed here when not given)."""
        try:
            return self.scorer.score(redact_segments(segments, kinds=self.settings.redact).segments, metrics)
        except SetupError:
            raise
        except Exception as exc:
            raise as_recording_error(exc, stage="score") from exc


def _skipped(key: EvaluationKey, path: Path, duration_s: float | None, warehouse: Warehouse,
             started: float) -> Outcome:
    """The outcome of a recording already evaluated with ``key``, with its stored score."""
    qa_score, critical_failed = warehouse.call_score(key.recording_id, key.scorecard_version)
    return Outcome(path, "skipped", key.recording_id, duration_s, qa_score, critical_failed,
                   seconds=time.perf_counter() - started)


@dataclass
class _Position:
    """How far one attempt at a recording got, for its failure record."""

    stage: str = "read"
    recording_id: str | None = None


@dataclass(frozen=True)
class Transcription:
    """What the transcribe stage hands on: facts about the audio and the timed text, no samples."""

    audio: AudioInfo | None  # None when the transcript was stored earlier
    duration_s: float | None  # decoded audio seconds
    truncated: bool
    transcript: NewTranscript | None  # a new transcription; None when too short, or stored earlier
    stored_segments: tuple[Segment, ...] | None = None  # an earlier transcript by the same model

    @property
    def segments(self) -> tuple[Segment, ...]:
        if self.transcript is not None:
            return self.transcript.segments
        return self.stored_segments or ()


def call_status(transcription: Transcription) -> Literal["scored", "no_speech", "too_short"]:
    """'too_short' (not transcribed), 'no_speech' (nothing said) or 'scored' (to be scored)."""
    if transcription.transcript is None and transcription.stored_segments is None:
        return "too_short"
    return "scored" if transcription.segments else "no_speech"


def assemble_record(
    key: EvaluationKey, *, path: Path, size_bytes: int, facts: CallFacts, scorecard: Scorecard, run_id: str,
    transcription: Transcription, metrics: CallMetrics | None, score: CallScore | None, worker: str | None = None,
) -> CallRecord:
    """Everything the warehouse stores for one processed recording."""
    return CallRecord(
        key=key, path=path, size_bytes=size_bytes, facts=facts, scorecard=scorecard,
        status=call_status(transcription), run_id=run_id, audio=transcription.audio,
        duration_s=transcription.duration_s, truncated=transcription.truncated,
        transcript=transcription.transcript, score=score, metrics=metrics, worker=worker,
    )


def run_rescore(
    processor: CallProcessor,
    warehouse: Warehouse,
    *,
    on_start: Callable[[int], None] | None = None,
    on_file: Callable[[Path], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> RunSummary:
    """Score every stored transcript (by the processor's Whisper model) that the processor's
    scorecard version, prompt and LLM have not scored yet; no audio is read. Recorded in ``runs``
    with source 'rescore'."""
    transcribed = warehouse.transcribed_recordings(processor.models.whisper_name)  # (recording id, path)
    return _run(transcribed, lambda item, run_id: processor.rescore(item[0], warehouse, run_id=run_id),
                processor, warehouse, source="rescore", path_of=lambda item: item[1],
                on_start=on_start, on_file=on_file, on_outcome=on_outcome)


def run_batch(
    paths: Iterable[Path],
    processor: CallProcessor,
    warehouse: Warehouse,
    *,
    source: str = "cli",
    on_start: Callable[[int], None] | None = None,
    on_file: Callable[[Path], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> RunSummary:
    """Process every recording under ``paths``; the run is recorded in ``runs``."""
    files = discover(paths)
    return _run(files, lambda path, run_id: processor.process(path, warehouse, run_id=run_id), processor, warehouse,
                source=source, path_of=lambda path: path, on_start=on_start, on_file=on_file, on_outcome=on_outcome)


def _run(
    items: list[Any],
    handle: Callable[[Any, str], Outcome],
    processor: CallProcessor,
    warehouse: Warehouse,
    *,
    source: str,
    path_of: Callable[[Any], Path],
    on_start: Callable[[int], None] | None,
    on_file: Callable[[Path], None] | None,
    on_outcome: Callable[[Outcome], None] | None,
) -> RunSummary:
    """Handle each item in turn inside one recorded run (``runs``: counts, audio and wall seconds)."""
    summary = RunSummary(run_id=uuid.uuid4().hex)
    started = time.perf_counter()
    stale = warehouse.abort_stale_runs(source=source)  # this run holds the warehouse: others of its source died
    if stale:
        log.warning("%d earlier %s run(s) never finished (killed?): marked aborted in `runs`", stale, source)
    warehouse.start_run(
        run_id=summary.run_id, source=source, started_at=datetime.now(timezone.utc), models=processor.run_identity()
    )
    if on_start:
        on_start(len(items))
    status = "aborted"
    try:
        for item in items:
            if on_file:
                on_file(path_of(item))
            outcome = handle(item, summary.run_id)
            summary.outcomes.append(outcome)
            if on_outcome:
                on_outcome(outcome)
        status = "completed"
    finally:
        summary.wall_s = time.perf_counter() - started
        try:
            warehouse.finish_run(
                summary.run_id, status=status, counts=summary.counts, audio_s=summary.audio_s, wall_s=summary.wall_s
            )
        except WarehouseError as exc:  # the warehouse broke mid-run; the error that broke it is raised
            log.warning("the run's figures were not recorded in `runs`: %s", exc)
    return summary
