"""What a run did: one ``Outcome`` per recording and the ``RunSummary`` of them, the same for
``callscore score``/``rescore`` and for the nightly flow."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.intake.file_names import readable

Status = Literal["scored", "no_speech", "too_short", "skipped", "failed"]
STATUSES: tuple[Status, ...] = ("scored", "no_speech", "too_short", "skipped", "failed")


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
    """A run's outcomes, wall seconds, and seconds per stage summed over its recordings."""

    run_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    wall_s: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    files_seen: int | None = None  # audio files found, when more than the outcomes (the same content twice)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def counts(self) -> dict[str, int]:
        counts = {status: self.count(status) for status in STATUSES}
        counts["seen"] = len(self.outcomes) if self.files_seen is None else self.files_seen
        return counts

    @property
    def audio_s(self) -> float:
        """Audio seconds processed in this run (skipped recordings not counted)."""
        return sum(o.duration_s or 0.0 for o in self.outcomes if o.status in ("scored", "no_speech", "too_short"))

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def add_stage_seconds(self, seconds: dict[str, float]) -> None:
        for stage, value in seconds.items():
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + value

    @property
    def slowest_stage(self) -> str | None:
        spent = {k: v for k, v in self.stage_seconds.items() if v > 0}
        return max(spent, key=spent.__getitem__) if spent else None

    def ledger_figures(self) -> dict[str, Any]:
        """The figures ``runs`` keeps (``Warehouse.finish_run``'s keywords)."""
        return {"counts": self.counts, "audio_s": self.audio_s, "wall_s": self.wall_s,
                "stage_seconds": self.stage_seconds}

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain data (the flow's return value and artifacts)."""
        return {
            "run_id": self.run_id,
            "counts": self.counts,
            "audio_s": self.audio_s,
            "wall_s": self.wall_s,
            "stage_seconds": {k: v for k, v in self.stage_seconds.items() if v > 0},
            "slowest_stage": self.slowest_stage,
            "failed": [{"path": readable(o.path), "stage": o.stage, "error": o.error} for o in self.failed],
        }


MULTILINGUAL_HINT_MODEL = "whisper-base-multilingual"  # the multilingual model that installs here


def language_hint(suspect: int, whisper_model: str | None) -> str | None:
    """The warning for ``suspect`` calls flagged ``language_suspect``, naming the model that would
    hear them; None when there are none."""
    if not suspect:
        return None
    calls = "call is" if suspect == 1 else "calls are"
    return (f"{suspect} {calls} probably not in English, and {whisper_model or 'the Whisper model'} hears English "
            f"only (flag language_suspect; sentiment not measured). A multilingual model would hear them: "
            f"callscore models pull {MULTILINGUAL_HINT_MODEL}, then score again with "
            f"--whisper-model {MULTILINGUAL_HINT_MODEL} (or large-v3)")
