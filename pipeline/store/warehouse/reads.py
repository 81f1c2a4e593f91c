"""Reads of the warehouse that the procedure, the CLI, the report and the flow need, each behind
a named method."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from pipeline.errors import WarehouseError
from pipeline.intake.inbox import CallFacts
from pipeline.speech.segments import Segment
from pipeline.store.warehouse.records import EvaluationKey, StoredRecording


class Reads:
    """The ``Warehouse`` methods that read."""

    def is_done(self, key: EvaluationKey) -> bool:
        if not self._is_stored(key.recording_id):  # a look-up in the recordings' key: the common answer, fast
            return False
        row = self.connection.execute(
            "SELECT 1 FROM evaluations WHERE recording_id = ? AND whisper_model = ? AND scorecard_version = ?"
            " AND prompt_version = ? AND llm_model = ?",
            [key.recording_id, key.whisper_model, key.scorecard_version, key.prompt_version, key.llm_model],
        ).fetchone()
        return row is not None

    def _is_stored(self, recording_id: str) -> bool:
        """Whether the recording has been stored (every evaluation is written with its recording)."""
        return self.connection.execute(
            "SELECT 1 FROM recordings WHERE recording_id = ?", [recording_id]).fetchone() is not None

    def has_transcript(self, recording_id: str, whisper_model: str) -> bool:
        """Whether a transcript of the recording by this Whisper model is stored."""
        return self.connection.execute(
            "SELECT 1 FROM transcripts WHERE recording_id = ? AND whisper_model = ?", [recording_id, whisper_model]
        ).fetchone() is not None

    def stored_transcript(self, recording_id: str, whisper_model: str) -> tuple[Segment, ...] | None:
        """Segments of an earlier transcription by this model, or None if there was none."""
        if not self.has_transcript(recording_id, whisper_model):
            return None
        rows = self.connection.execute(
            "SELECT speaker, channel, start_s, end_s, text, avg_logprob, no_speech_prob, compression_ratio"
            " FROM segments WHERE recording_id = ? AND whisper_model = ? ORDER BY segment_index",
            [recording_id, whisper_model],
        ).fetchall()
        return tuple(Segment(*row) for row in rows)

    def call_score(self, recording_id: str, scorecard_version: str) -> tuple[float | None, bool | None]:
        """(QA score 0-100, critical failed) of the call's latest evaluation, as kpi_calls has it."""
        row = self.connection.execute(
            "SELECT qa_score, critical_failed FROM kpi_calls WHERE recording_id = ? AND scorecard_version = ?",
            [recording_id, scorecard_version],
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def stored_recording(self, recording_id: str) -> StoredRecording:
        row = self.connection.execute(
            "SELECT path, size_bytes, duration_s, agent, team, call_id, started_at, started_at_source, metadata"
            " FROM recordings WHERE recording_id = ?", [recording_id],
        ).fetchone()
        if row is None:
            raise WarehouseError(f"no recording {recording_id} in warehouse {self.path}")
        path, size, duration, agent, team, call_id, started_at, source, metadata = row
        facts = CallFacts(agent, team, call_id, started_at, source, json.loads(metadata) if metadata else {})
        return StoredRecording(recording_id, Path(path), size, duration, facts)

    def transcribed_recordings(self, whisper_model: str) -> list[tuple[str, Path]]:
        """(recording id, path last seen) of the recordings with a transcript by ``whisper_model``,
        oldest call first."""
        rows = self.connection.execute(
            "SELECT t.recording_id, r.path FROM transcripts AS t JOIN recordings AS r USING (recording_id)"
            " WHERE t.whisper_model = ? ORDER BY r.started_at, t.recording_id", [whisper_model],
        ).fetchall()
        return [(recording_id, Path(path)) for recording_id, path in rows]

    def transcript_models(self) -> dict[str, int]:
        """Whisper model -> how many recordings it has a stored transcript of, most first."""
        rows = self.connection.execute(
            "SELECT whisper_model, count(*) AS n FROM transcripts GROUP BY whisper_model ORDER BY n DESC, whisper_model"
        ).fetchall()
        return dict(rows)

    def criteria_pass_rates(self, run_id: str) -> list[dict[str, Any]]:
        """Per criterion, the answers given in run ``run_id``: counts, pass rate (0-1) and mean confidence."""
        return self._dicts(
            """
            SELECT s.criterion_id AS criterion, count(*) AS answers,
                   count(*) FILTER (WHERE s.passed) AS passed,
                   count(*) FILTER (WHERE s.passed = false) AS failed,
                   count(*) FILTER (WHERE s.passed IS NULL) AS not_applicable,
                   kpi_round(count(*) FILTER (WHERE s.passed) / nullif(count(s.passed), 0), 3) AS pass_rate,
                   kpi_round(avg(s.confidence), 3) AS mean_confidence
            FROM scores AS s
            JOIN evaluations AS e USING (recording_id, whisper_model, scorecard_version, prompt_version, llm_model)
            WHERE e.run_id = ?
            GROUP BY s.criterion_id ORDER BY s.criterion_id
            """,
            [run_id],
        )

    def _dicts(self, sql: str, params: list | dict | None = None) -> list[dict[str, Any]]:
        """The rows of ``sql`` as dicts keyed by column name."""
        cursor = self.connection.execute(sql, params or [])
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row)) for row in cursor.fetchall()]

    def stored_language(self, recording_id: str, whisper_model: str) -> str | None:
        """The language the stored transcript by ``whisper_model`` was made in (None: not known, or
        suspect: an English-only model probably heard another language)."""
        row = self.connection.execute("SELECT CASE WHEN language_suspect THEN NULL ELSE language END FROM transcripts WHERE recording_id = ? AND whisper_model = ?",
                                      [recording_id, whisper_model]).fetchone()
        return None if row is None else row[0]

    def stored_duration(self, recording_id: str) -> float | None:
        row = self.connection.execute("SELECT duration_s FROM recordings WHERE recording_id = ?", [recording_id]).fetchone()
        return None if row is None else row[0]
