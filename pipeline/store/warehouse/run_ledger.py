"""The run ledger: ``runs`` (one row per ``callscore score``/``rescore`` or flow run: its models,
counts, audio and wall seconds) and ``failures`` (one row per recording that failed in a run)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
import duckdb

from pipeline.errors import RecordingError
from pipeline.intake.file_names import readable
from pipeline.store.warehouse.errors import mapped_writes, write_error


class RunLedger:
    """The ``Warehouse`` methods that record runs and failures."""

    def record_failure(self, *, run_id: str, path: Path, recording_id: str | None, error: RecordingError,
                       error_type: str | None = None) -> None:
        """Note that a recording failed; the cause's type is recorded when it wraps a library error."""
        error_type = error_type or type(error.__cause__ or error).__name__
        with mapped_writes(self.path):
            self.connection.execute(
                "INSERT INTO failures (run_id, path, recording_id, stage, error_type, message, transient)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run_id, readable(path), recording_id, error.stage, error_type, str(error), error.transient],
            )

    def begin_run(self, *, run_id: str, source: str, started_at: datetime, models: dict[str, Any]) -> int:
        """Open a run in ``runs``, first marking runs of ``source`` still 'running' as aborted (this
        run holds the warehouse, so their processes died); returns how many were."""
        stale = self.abort_stale_runs(source=source)
        self.start_run(run_id=run_id, source=source, started_at=started_at, models=models)
        return stale

    def start_run(self, *, run_id: str, source: str, started_at: datetime, models: dict[str, Any]) -> None:
        self.connection.execute(
            "INSERT INTO runs (run_id, source, status, started_at, whisper_model, llm_model, scorecard_name,"
            " scorecard_version, prompt_version, score_only_reliable, llm_sha256)"
            " VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, source, started_at, models["whisper_model"], models["llm_model"], models["scorecard_name"],
             models["scorecard_version"], models["prompt_version"], models.get("score_only_reliable", False),
             models.get("llm_sha256")],
        )

    def abort_stale_runs(self, *, source: str) -> int:
        """Mark runs of ``source`` still 'running' as 'aborted' (their process was killed)."""
        rows = self.connection.execute(
            "UPDATE runs SET status = 'aborted' WHERE source = ? AND status = 'running' RETURNING run_id", [source]
        ).fetchall()
        return len(rows)

    def finish_run(self, run_id: str, *, status: str, counts: dict[str, int], audio_s: float, wall_s: float,
                   stage_seconds: dict[str, float] | None = None) -> None:
        """Close a run with its figures; ``stage_seconds`` (total seconds per stage) names the slowest."""
        slowest = max(stage_seconds, key=stage_seconds.__getitem__) if stage_seconds else None
        try:
            self.connection.execute(
                "UPDATE runs SET status = ?, finished_at = ?, files_seen = ?, files_scored = ?, files_no_speech = ?,"
                " files_skipped = ?, files_failed = ?, audio_s = ?, wall_s = ?, stage_seconds = ?, slowest_stage = ?"
                " WHERE run_id = ?",
                [status, datetime.now(timezone.utc), counts.get("seen", 0), counts.get("scored", 0),
                 counts.get("no_speech", 0) + counts.get("too_short", 0), counts.get("skipped", 0),
                 counts.get("failed", 0), round(audio_s, 3), round(wall_s, 3),
                 json.dumps({k: round(v, 3) for k, v in (stage_seconds or {}).items()}), slowest, run_id],
            )
        except duckdb.Error as exc:
            raise write_error(self.path, exc) from exc
