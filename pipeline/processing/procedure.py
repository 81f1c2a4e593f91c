"""The one procedure every recording goes through, whoever drives it (``callscore score`` and
``rescore``, or the nightly flow's tasks on any worker):

1. ``plan``: its identity (SHA-256), the evaluation key this processor's models and scorecard
   give it, and what the warehouse already holds (done? a transcript by this Whisper model?);
2. ``read_facts``: the sidecar, before any audio is decoded;
3. ``transcribe_or_reuse``: decode, transcribe and redact it, or take the stored transcript;
4. ``measure_and_score``: the conversation measures (once) and the scorecard's verdicts;
5. ``assemble``: the ``CallRecord`` the warehouse stores in one transaction (directly, or
   through the staging folder).

``CallProcessor`` holds the settings, scorecard and models (loaded on first use, once per process).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Protocol

from pipeline.config import Settings, worker_name
from pipeline.errors import PermanentRecordingError, SetupError, TransientRecordingError, as_recording_error
from pipeline.files import file_sha256
from pipeline.intake.audio import AudioChunk, decode_stream
from pipeline.intake.inbox import CHANGED_MESSAGE, CallFacts, FileState, file_state, identify_unchanged, read_call_facts
from pipeline.models.choice import ModelChoice, choose_models
from pipeline.scoring.backend import ScoringBackend
from pipeline.scoring.llama_backend import LlamaBackend, gguf_prompt_kind
from pipeline.scoring.prompt import PromptTemplate, load_prompt_template
from pipeline.scoring.score import CallScore, Scorer, ScoringStyle
from pipeline.scoring.scorecard import Scorecard, load_scorecard
from pipeline.speech.metrics import CallMetrics, compute_metrics
from pipeline.speech.redact import redact_segments
from pipeline.speech.segments import Segment
from pipeline.speech.channel_layout import settle_layout
from pipeline.speech.transcribe import DeviceChoice, HeardCall, Transcriber, VadSettings, cpu_split
from pipeline.speech.transcription import NewTranscript, Transcription
from pipeline.store.warehouse import CallRecord, EvaluationKey, StoredRecording, Warehouse

log = logging.getLogger(__name__)

MIN_CALL_SECONDS = 2.0  # shorter recordings are stored as 'too_short', not transcribed
# One transcription at a time per process, whichever processor and thread asks (Whisper takes the
# GPU or every CPU core). Re-entrant: the flow's task holds it around its stop check as well.
TRANSCRIBE_LOCK = threading.RLock()


class SpeechToText(Protocol):
    """What the procedure asks of a transcriber (``Transcriber``: faster-whisper)."""

    choice: DeviceChoice

    def transcribe_call(self, chunks: Iterable[AudioChunk], *, language: str | None = None) -> HeardCall: ...


@dataclass(frozen=True)
class PlannedRecording:
    """One recording, its evaluation key, and what the warehouse held of it when planned."""

    path: Path
    key: EvaluationKey
    size_bytes: int
    done: bool  # already evaluated with exactly this key: nothing to do
    has_transcript: bool  # not done, and a transcript by ``key.whisper_model`` is stored: re-score it
    stored_duration_s: float | None = None  # audio seconds, when done or re-scored (only then looked up)
    state: FileState | None = None  # size and mtime when hashed (None: re-scored from the warehouse)
    facts: CallFacts | None = None  # the stored facts of a recording re-scored without its file
    stored_language: str | None = None  # the language of the stored transcript re-scored, when known


@dataclass(frozen=True)
class ScoredCall:
    """The measures and verdicts of one transcription (both None when nobody spoke)."""

    metrics: CallMetrics | None
    score: CallScore | None


class CallProcessor:
    """Settings, scorecard and models for processing recordings. Models load on first use, so a
    run where everything is already done loads none."""

    def __init__(self, settings: Settings, *, transcriber: SpeechToText | None = None,
                 backend: ScoringBackend | None = None) -> None:
        """``transcriber``, ``backend``: used instead of the models the settings name (tests)."""
        self.settings = settings
        self.scorecard: Scorecard = load_scorecard(settings.scorecard)
        self.models: ModelChoice = choose_models(settings)
        self.worker = worker_name()
        self._transcriber: SpeechToText | None = transcriber
        self._backend_given = backend
        self._scorer: Scorer | None = None
        self._loading = threading.Lock()  # threads that score concurrently load each model once
        # the model in this process scores one call at a time (a server takes several at once)
        self._scoring = threading.Lock() if settings.llm_backend == "llama" else contextlib.nullcontext()
        self.template: PromptTemplate = load_prompt_template(settings.llm_prompt,
                                                             statements=self.style.questions == "statements")

    # -- what this processor is --------------------------------------------------------------

    @property
    def style(self) -> ScoringStyle:
        questions = self.settings.llm_questions
        if questions == "auto":  # measured on the labelled calls: docs/quality.md (statements cite lines)
            base = self.prompt_kind == "completion" and self.settings.llm_evidence == "lines"
            questions = "statements" if base else "together"
        return ScoringStyle(questions, self.settings.llm_answer_order, self.settings.llm_evidence,
                            calibrated=self.settings.llm_calibration == "contextual")

    @property
    def llm_concurrency(self) -> int:
        """Calls scored at once: ``llm_concurrency`` against an LLM server; 1 with the model in
        this process, which evaluates one sequence at a time."""
        return self.settings.llm_concurrency if self.settings.llm_backend == "openai" else 1

    @property
    def calls_in_flight(self) -> int:
        """Calls processed at once: ``llm_concurrency`` against an LLM server; with the model in
        this process, which scores one call at a time, two when ``overlap_stages`` (the next
        call is transcribed while this one is scored), else one."""
        if self.settings.llm_backend == "openai":
            return self.llm_concurrency
        return 2 if self.settings.overlap_stages else 1

    @property
    def prompt_version(self) -> str:
        """The template's content hash, plus the scoring style when it is not the default and
        ``completion`` when the prompts are plain text (a base model's)."""
        kind = "completion" if self.prompt_kind == "completion" else ""
        return "+".join(part for part in (self.template.version, self.style.tag, kind) if part)

    @functools.cached_property
    def prompt_kind(self) -> str:
        """chat or completion: the setting, or what the model is (a backend given: what it says)."""
        if self._backend_given is not None:
            return getattr(self._backend_given, "prompt_kind", "chat")
        if self.settings.llm_backend == "openai" or self.settings.llm_prompt_kind != "auto":
            return "chat" if self.settings.llm_backend == "openai" else self.settings.llm_prompt_kind
        return gguf_prompt_kind(self.models.llm_path)

    def evaluation_key(self, recording_id: str) -> EvaluationKey:
        return EvaluationKey(
            recording_id=recording_id,
            whisper_model=self.models.whisper_name,
            scorecard_version=self.scorecard.version,
            prompt_version=self.prompt_version,
            llm_model=self.models.llm_name,
        )

    def run_identity(self) -> dict[str, Any]:
        """What a run records of its models and scorecard (``runs``)."""
        return {
            "whisper_model": self.models.whisper_name,
            "llm_model": self.models.llm_name,
            "scorecard_name": self.scorecard.name,
            "scorecard_version": self.scorecard.version,
            "prompt_version": self.prompt_version,
            "score_only_reliable": self.scorecard.score_only_reliable,
            "llm_sha256": self.llm_sha256,
        }

    @functools.cached_property
    def llm_sha256(self) -> str | None:
        """The SHA-256 of the GGUF file (None for an LLM on a server), read once per process."""
        return file_sha256(self.models.llm_path) if self.models.llm_path is not None else None

    def check_key(self, planned: EvaluationKey) -> None:
        """Refuse work planned for other models or another scorecard than this processor's (a
        worker whose settings differ from the planner's would store them under the planner's run)."""
        mine = self.evaluation_key(planned.recording_id)
        if mine != planned:
            differ = [f"{name} {getattr(mine, name)!r} (planned {getattr(planned, name)!r})"
                      for name in ("whisper_model", "scorecard_version", "prompt_version", "llm_model")
                      if getattr(mine, name) != getattr(planned, name)]
            raise PermanentRecordingError(f"this worker would use {', '.join(differ)}: its settings differ from the "
                                          "planner's", stage="plan")

    # -- the models, loaded on first use -----------------------------------------------------

    @property
    def transcriber(self) -> SpeechToText:
        with self._loading:
            return self._load_transcriber()

    def _load_transcriber(self) -> SpeechToText:
        if self._transcriber is None:
            self._transcriber = Transcriber(
                self.models.whisper,
                device=self.settings.device,
                beam_size=self.settings.beam_size,
                language=self.settings.language,
                cpu=cpu_split(self.settings.whisper_workers, self.settings.whisper_threads, os.cpu_count() or 1),
                vad=VadSettings(self.settings.vad_min_silence_ms, self.settings.vad_speech_pad_ms),
                vocabulary=dict.fromkeys((*self.settings.vocabulary, *(self.scorecard.vocabulary or ()))),
                languages=self.settings.languages,
                vocabulary_as=self.settings.vocabulary_as,
            )
        return self._transcriber

    @property
    def scorer(self) -> Scorer:
        with self._loading:
            if self._scorer is None:
                self._scorer = Scorer(self._backend_given or self._backend(), self.scorecard, self.template,
                                      style=self.style)
            return self._scorer

    def _backend(self) -> ScoringBackend:
        if self.settings.llm_backend == "openai":  # a shared server; the model named at choice time
            from pipeline.scoring.openai_backend import OpenAIBackend

            key = self.settings.llm_api_key
            return OpenAIBackend(
                str(self.settings.llm_url),
                model=self.models.llm_server_model,
                api_key=key.get_secret_value() if key else None,
                n_ctx=self.settings.llm_context,
                timeout_s=self.settings.llm_timeout_s,
            )
        return LlamaBackend(
            self.models.llm_path,
            n_ctx=self.settings.llm_context,
            n_threads=self.settings.llm_threads,
            n_threads_batch=self.settings.llm_batch_threads,
            device=self.settings.device,
            gpu_layers=self.settings.llm_gpu_layers,
            prompt_kind=self.prompt_kind,  # as the prompt version records it
        )

    # -- the procedure -----------------------------------------------------------------------

    def plan(self, path: Path, warehouse: Warehouse, identity: tuple[str, int, FileState] | None = None) -> PlannedRecording:
        """Step 1 for a file (stage ``read``): hash it (unless its ``identity``, from
        ``identify_unchanged``, is given) and look it up in the warehouse."""
        recording_id, size, state = identify_unchanged(path) if identity is None else identity
        return self._planned(path, recording_id, size, warehouse, state=state)

    def plan_stored(self, stored: StoredRecording, warehouse: Warehouse) -> PlannedRecording:
        """Step 1 for a stored recording re-scored without its file (``callscore rescore``)."""
        planned = self._planned(stored.path, stored.recording_id, stored.size_bytes, warehouse, facts=stored.facts)
        if not planned.done and not planned.has_transcript:
            raise PermanentRecordingError(f"no transcript by {planned.key.whisper_model} is stored", stage="read")
        return planned

    def _planned(self, path: Path, recording_id: str, size: int, warehouse: Warehouse, *,
                 state: FileState | None = None, facts: CallFacts | None = None) -> PlannedRecording:
        key = self.evaluation_key(recording_id)
        done = warehouse.is_done(key)
        has_transcript = not done and warehouse.has_transcript(recording_id, key.whisper_model)
        return PlannedRecording(
            path=path, key=key, size_bytes=size, done=done, has_transcript=has_transcript,
            stored_duration_s=warehouse.stored_duration(recording_id) if done or has_transcript else None,
            stored_language=warehouse.stored_language(recording_id, key.whisper_model) if has_transcript else None,
            state=state, facts=facts,
        )

    def read_facts(self, planned: PlannedRecording) -> CallFacts:
        """Step 2 (stage ``sidecar``): who and when; the stored facts of a re-scored recording."""
        return planned.facts if planned.facts is not None else read_call_facts(planned.path)

    def transcribe_or_reuse(self, planned: PlannedRecording, stored: tuple[Segment, ...] | None,
                            facts: CallFacts | None = None) -> Transcription:
        """Step 3: the stored transcript by this Whisper model (``stored``) when there is one,
        else the file decoded and transcribed with its ``facts`` (read here when not given;
        stages ``probe``, ``decode``, ``transcribe``)."""
        if planned.has_transcript:
            if stored is None:
                raise PermanentRecordingError(f"the stored transcript by {planned.key.whisper_model} is missing",
                                              stage="read")
            return Transcription.reused(stored, duration_s=planned.stored_duration_s, language=planned.stored_language)
        return self.transcribe_file(planned.path, facts if facts is not None else self.read_facts(planned))

    def transcribe_file(self, path: Path, facts: CallFacts | None = None) -> Transcription:
        """Decode (streamed: memory stays bounded however long the call), transcribe and redact one
        recording, with its sidecar's ``facts`` (read here when not given): its agent channel and
        language. Recordings shorter than ``MIN_CALL_SECONDS`` are not transcribed."""
        started = time.perf_counter()
        facts = read_call_facts(path) if facts is None else facts
        audio = decode_stream(path, agent_channel=self.settings.agent_channel_for(path, facts.agent_channel))
        audio.peek()  # the first chunk tells a too-short recording apart before any model loads
        if audio.finished and audio.duration_s < MIN_CALL_SECONDS:
            return Transcription(audio.info, round(audio.duration_s, 3), audio.truncated, transcript=None,
                                 channel_layout=audio.layout)
        try:
            with TRANSCRIBE_LOCK:
                heard = self.transcriber.transcribe_call(audio, language=facts.language or self.settings.language)
        except SetupError:
            raise
        except Exception as exc:
            error = as_recording_error(exc, stage="transcribe")
            if error is exc:  # the decoder's own RecordingError (stage 'decode') passes through
                raise
            raise error from exc
        # which side spoke is judged on a transcript only when it is trusted: an English-only model
        # drops most of another language, and a side it wrote nothing for was not silent
        layout, segments = (audio.layout, tuple(heard.segments)) if heard.language.suspect \
            else settle_layout(audio.layout, heard.segments)
        redacted = redact_segments(segments, kinds=self.settings.redact, language=heard.language.language)
        transcript = NewTranscript(  # redacted before the text goes anywhere
            device=self.transcriber.choice.device, segments=redacted.segments, seconds=time.perf_counter() - started,
            redaction=self.settings.redact, redactions=redacted.counts, language=heard.language,
        )
        return Transcription(audio.info, round(audio.duration_s, 3), audio.truncated, transcript,
                             channel_layout=layout)

    def measure_and_score(self, transcription: Transcription) -> ScoredCall:
        """Step 4 (stage ``score``): the measures, computed once, and the verdicts that rule
        criteria read them for; no verdicts when there is nothing to score."""
        metrics = compute_metrics(transcription.segments, language=transcription.trusted_language)
        score = self.score(transcription.segments, metrics, language=transcription.trusted_language) \
            if transcription.status == "scored" else None
        return ScoredCall(metrics, score)

    def score(self, segments: tuple[Segment, ...], metrics: CallMetrics | None = None, *,
              language: str | None = None) -> CallScore:
        """The scorecard's verdicts for a transcript. The transcript is redacted again first (in
        ``language``'s number words; English when not known), so a transcript stored before
        redaction was on never reaches the LLM as is. ``metrics``: the call's measures for rule
        criteria (computed here when not given)."""
        try:
            redacted = redact_segments(segments, kinds=self.settings.redact, language=language).segments
            with self._scoring:
                return self.scorer.score(redacted, metrics)
        except SetupError:
            raise
        except Exception as exc:
            raise as_recording_error(exc, stage="score") from exc

    def assemble(self, planned: PlannedRecording, facts: CallFacts, transcription: Transcription,
                 scored: ScoredCall, *, run_id: str) -> CallRecord:
        """Step 5: everything the warehouse stores for the recording."""
        return CallRecord(
            key=planned.key, path=planned.path, size_bytes=planned.size_bytes, facts=facts, scorecard=self.scorecard,
            status=transcription.status, run_id=run_id, audio=transcription.audio,
            duration_s=transcription.duration_s, truncated=transcription.truncated,
            transcript=transcription.transcript, score=scored.score, metrics=scored.metrics, worker=self.worker,
            channel_layout=transcription.channel_layout,
        )

    @staticmethod
    def check_unchanged(planned: PlannedRecording) -> None:
        """Before storing (stage ``read``): what was decoded must be what was hashed."""
        if planned.state is None:
            return
        now = file_state(planned.path)
        if now is not None and now != planned.state:
            raise TransientRecordingError(CHANGED_MESSAGE, stage="read")
