"""The reads behind one call's page and ``callscore show``: finding a recording by what a person
types (an id prefix, a path or a file name), and its facts, verdicts and transcript."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pipeline.speech.segments import Segment

_HEX = re.compile(r"^[0-9a-f]{6,64}$")  # a recording id prefix: 6 hex digits or more


class CallReads:
    """The ``Warehouse`` methods that read one call."""

    def find_recordings(self, key: str) -> list[dict[str, Any]]:
        """Recordings (recording_id, file_name, path, started_at) that ``key`` names: a recording
        id or a prefix of one (6 hex digits or more), the path it was scored from, or its file name."""
        key = key.strip()
        if not key:
            return []
        prefix = key.lower() if _HEX.match(key.lower()) else None
        paths = [key]
        try:
            paths.append(str(Path(key).expanduser().resolve()))
        except (OSError, RuntimeError):
            pass
        return self._dicts(
            "SELECT recording_id, file_name, path, started_at FROM recordings"
            " WHERE (? IS NOT NULL AND starts_with(recording_id, ?)) OR path IN (SELECT unnest(?)) OR file_name = ?"
            " ORDER BY started_at DESC NULLS LAST, recording_id",
            [prefix, prefix, paths, Path(key).name or key],
        )

    def call_evaluation(self, recording_id: str) -> dict[str, Any] | None:
        """The call_scores row of the evaluation a page shows: the recording's latest by its
        scorecard's current version, else its latest of any version; None when never scored."""
        rows = self._dicts(
            "SELECT c.*, v.scorecard_version IS NOT NULL AS current_version FROM call_scores AS c"
            " LEFT JOIN current_versions AS v USING (scorecard_name, scorecard_version)"
            " WHERE c.recording_id = ? AND c.is_latest ORDER BY current_version DESC, c.evaluated_at DESC LIMIT 1",
            [recording_id])
        return rows[0] if rows else None

    def recording_facts(self, recording_id: str) -> dict[str, Any]:
        """The recordings row, with the language of its newest transcript and its latest
        evaluation's status ('scored', 'no_speech', 'too_short'; None when never evaluated)."""
        return self._dicts(
            """SELECT r.*, t.language, t.whisper_model AS transcript_model,
                      (SELECT status FROM evaluations WHERE recording_id = r.recording_id
                       ORDER BY evaluated_at DESC LIMIT 1) AS status
               FROM recordings AS r
               LEFT JOIN (SELECT * FROM transcripts WHERE recording_id = ? ORDER BY created_at DESC LIMIT 1) AS t
                      USING (recording_id)
               WHERE r.recording_id = ?""", [recording_id, recording_id])[0]

    def evaluation_verdicts(self, evaluation_id: int) -> list[dict[str, Any]]:
        """The answers of one evaluation, in the scorecard's order."""
        return self._dicts(
            "SELECT criterion_id, criterion_kind, weight, critical, passed, confidence, evidence, evidence_verified,"
            " evidence_line, evidence_start_s FROM scores WHERE evaluation_id = ? ORDER BY rowid", [evaluation_id])

    def transcript_segments(self, recording_id: str, whisper_model: str | None) -> tuple[Segment, ...]:
        """The stored (redacted) segments by ``whisper_model``, or by the newest transcript's model
        when None; empty when there is none."""
        if whisper_model is None:
            row = self.connection.execute("SELECT whisper_model FROM transcripts WHERE recording_id = ?"
                                          " ORDER BY created_at DESC LIMIT 1", [recording_id]).fetchone()
            if row is None:
                return ()
            whisper_model = row[0]
        return self.stored_transcript(recording_id, whisper_model) or ()
