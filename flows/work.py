"""The work a nightly run hands out: one ``WorkItem`` per recording as the planner found it
(ids and paths only, so it travels as a flow parameter to any worker), the ``Plan`` of a run,
and its split into shards of about equal bytes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from pipeline.intake.file_names import from_path_token, path_token, readable
from pipeline.intake.inbox import FileState
from pipeline.processing.outcome import Outcome
from pipeline.processing.procedure import PlannedRecording
from pipeline.store.staging import StagedFailure
from pipeline.store.warehouse import EvaluationKey


class WorkItem(BaseModel):
    """One recording to process as the planner found it: ids and paths only, so it travels as a
    flow parameter to any worker. The worker checks that its own settings give the same key."""

    path: str  # readable text (``pipeline.intake.file_names``): task names, logs, the warehouse
    recording_id: str
    size_bytes: int
    mtime_ns: int  # the file's modification time when hashed: a later change means new bytes
    whisper_model: str
    scorecard_version: str
    prompt_version: str
    llm_model: str
    stored_transcript: str | None = None  # the stored transcript, exported to the staging folder
    stored_duration_s: float | None = None  # audio seconds, when the recording is stored
    stored_language: str | None = None  # the language of the stored transcript, when known
    path_bytes: str | None = None  # the exact path (base64), when its name is not UTF-8

    @property
    def file(self) -> Path:
        """The recording's file, exactly as the planner found it."""
        return from_path_token(self.path, self.path_bytes)

    @classmethod
    def of(cls, planned: PlannedRecording, stored_transcript: Path | None) -> "WorkItem":
        key = planned.key
        assert planned.state is not None
        return cls(path=readable(planned.path), path_bytes=path_token(planned.path), recording_id=key.recording_id, size_bytes=planned.size_bytes,
                   mtime_ns=planned.state.mtime_ns, whisper_model=key.whisper_model,
                   scorecard_version=key.scorecard_version, prompt_version=key.prompt_version,
                   llm_model=key.llm_model, stored_transcript=str(stored_transcript) if stored_transcript else None,
                   stored_duration_s=planned.stored_duration_s, stored_language=planned.stored_language)

    def planned(self) -> PlannedRecording:
        key = EvaluationKey(self.recording_id, self.whisper_model, self.scorecard_version, self.prompt_version,
                            self.llm_model)
        return PlannedRecording(path=self.file, key=key, size_bytes=self.size_bytes, done=False,
                                has_transcript=self.stored_transcript is not None,
                                stored_duration_s=self.stored_duration_s, stored_language=self.stored_language,
                                state=FileState(self.size_bytes, self.mtime_ns))


@dataclass
class Plan:
    """What a run found in the inbox."""

    items: list[WorkItem]  # to process
    seen: int  # audio files in the inbox (and date window)
    done: list[Outcome] = field(default_factory=list)  # already in the warehouse
    failures: list[StagedFailure] = field(default_factory=list)  # unreadable before any work


def split(items: list[WorkItem], shards: int) -> list[list[WorkItem]]:
    """``shards`` lists of about equal bytes (largest first onto the lightest shard)."""
    buckets: list[list[WorkItem]] = [[] for _ in range(max(1, min(shards, len(items))))]
    loads = [0] * len(buckets)
    for item in sorted(items, key=lambda i: i.size_bytes, reverse=True):
        lightest = loads.index(min(loads))
        buckets[lightest].append(item)
        loads[lightest] += item.size_bytes
    return [bucket for bucket in buckets if bucket]
