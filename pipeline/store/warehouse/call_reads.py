"""The reads behind the call pages and ``callscore show``: finding a recording by what a person
types (an id prefix, a path or a file name), and the facts, evaluation, verdicts and transcript
of many calls at once (a handful of queries per batch, not per call, so that a report with a
page for each of thousands of calls stays quick on a warehouse of millions)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

from pipeline.intake.file_names import from_readable, readable
from pipeline.speech.segments import Segment

_HEX = re.compile(r"^[0-9a-f]{6,64}$")  # a recording id prefix: 6 hex digits or more


class CallReads:
    """The ``Warehouse`` methods that read whole calls."""

    def find_recordings(self, key: str) -> list[dict[str, Any]]:
        """Recordings (recording_id, file_name, path, started_at) that ``key`` names: a recording
        id or a prefix of one (6 hex digits or more), the path it was scored from, or its file name
        (a name that is not UTF-8 as the file system gives it, or as stored: ``\\xNN``)."""
        key = readable(key.strip())
        if not key:
            return []
        prefix = key.lower() if _HEX.match(key.lower()) else None
        paths = [key]
        try:
            paths.append(readable(from_readable(key).expanduser().resolve()))
        except (OSError, RuntimeError):
            pass
        return self._dicts(
            "SELECT recording_id, file_name, path, started_at FROM recordings"
            " WHERE (? IS NOT NULL AND starts_with(recording_id, ?)) OR path IN (SELECT unnest(?)) OR file_name = ?"
            " ORDER BY started_at DESC NULLS LAST, recording_id",
            [prefix, prefix, paths, Path(key).name or key],
        )

    def recordings_facts(self, recording_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """recording id -> its recordings row, with the language and Whisper model of its newest
        transcript and its latest evaluation's status ('scored', 'no_speech', 'too_short'; None
        when never evaluated)."""
        rows = self._dicts(
            """WITH wanted AS (SELECT unnest(?) AS recording_id),
               newest AS (SELECT recording_id, arg_max(language, created_at) AS language,
                                 arg_max(language_probability, created_at) AS language_probability,
                                 arg_max(mixed_language, created_at) AS mixed_language,
                                 arg_max(language_suspect, created_at) AS language_suspect,
                                 arg_max(whisper_model, created_at) AS transcript_model
                          FROM transcripts SEMI JOIN wanted USING (recording_id) GROUP BY recording_id),
               status AS (SELECT recording_id, arg_max(status, evaluated_at) AS status
                          FROM evaluations SEMI JOIN wanted USING (recording_id) GROUP BY recording_id)
               SELECT r.*, n.language, n.language_probability, n.mixed_language, n.language_suspect,
                      n.transcript_model, s.status
               FROM recordings AS r SEMI JOIN wanted USING (recording_id)
               LEFT JOIN newest AS n USING (recording_id) LEFT JOIN status AS s USING (recording_id)""",
            [list(recording_ids)])
        return {row["recording_id"]: row for row in rows}

    def calls_evaluations(self, recording_ids: Sequence[str], prefer_version: str | None) -> dict[str, dict[str, Any]]:
        """recording id -> the call_scores row of the evaluation its page shows, its QA score and
        critical failure from the answers that count (machine_qa_score: the machine's;
        qa_score_reliable: over the reliable criteria, when its scorecard asks): its latest by
        ``prefer_version`` when it has one, else by its scorecard's current version, else its
        latest; a recording never scored is absent."""
        rows = self._dicts(
            """SELECT c.* REPLACE (CASE WHEN f.evaluation_id IS NULL THEN c.qa_score ELSE f.qa_score END AS qa_score,
                                  coalesce(f.critical_failed, c.critical_failed) AS critical_failed),
                      c.qa_score AS machine_qa_score, coalesce(f.includes_manual_edits, false) AS includes_manual_edits,
                      q.qa_score_reliable
               FROM call_scores AS c
               LEFT JOIN current_versions AS v USING (scorecard_name, scorecard_version)
               LEFT JOIN reviewed_evaluation_figures_of($ids) AS f ON f.evaluation_id = c.evaluation_id
               LEFT JOIN reliable_evaluation_scores_of($ids) AS q ON q.evaluation_id = c.evaluation_id
               WHERE c.recording_id IN (SELECT unnest($ids)) AND c.is_latest
               QUALIFY row_number() OVER (PARTITION BY c.recording_id ORDER BY c.scorecard_version = $version DESC NULLS LAST,
                                          v.scorecard_version IS NOT NULL DESC, c.evaluated_at DESC) = 1""",
            {"ids": list(recording_ids), "version": prefer_version})
        return {row["recording_id"]: row for row in rows}

    def evaluations_verdicts(self, evaluation_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """evaluation id -> its answers, in the scorecard's order."""
        by_evaluation: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in self._dicts(
                "SELECT evaluation_id, criterion_id, criterion_kind, weight, critical, passed, confidence, evidence,"
                " evidence_verified, evidence_line, evidence_start_s FROM scores"
                " WHERE evaluation_id IN (SELECT unnest(?)) ORDER BY evaluation_id, rowid", [list(evaluation_ids)]):
            by_evaluation[row.pop("evaluation_id")].append(row)
        return by_evaluation

    def evaluations_extractions(self, evaluation_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        """evaluation id -> its answers to the scorecard's extraction fields, in the scorecard's
        order (choice fields first)."""
        by_evaluation: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in self._dicts(
                "SELECT evaluation_id, field_id, field_kind, value, confidence, evidence, evidence_line,"
                " evidence_start_s FROM extractions WHERE evaluation_id IN (SELECT unnest(?))"
                " ORDER BY evaluation_id, rowid", [list(evaluation_ids)]):
            by_evaluation[row.pop("evaluation_id")].append(row)
        return by_evaluation

    def transcripts_segments(self, transcripts: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[Segment]]:
        """(recording id, Whisper model) -> its stored (redacted) segments, in order."""
        found: dict[tuple[str, str], list[Segment]] = defaultdict(list)
        if not transcripts:
            return found
        rows = self.connection.execute(
            "SELECT s.recording_id, s.whisper_model, speaker, channel, start_s, end_s, text, avg_logprob,"
            " no_speech_prob, compression_ratio FROM segments AS s"
            " SEMI JOIN (SELECT unnest(?) AS recording_id, unnest(?) AS whisper_model) AS w USING (recording_id, whisper_model)"
            " ORDER BY s.recording_id, s.whisper_model, segment_index",
            [[r for r, _ in transcripts], [m for _, m in transcripts]]).fetchall()
        for recording_id, whisper_model, *segment in rows:
            found[(recording_id, whisper_model)].append(Segment(*segment))
        return found

    def calls_reviews(self, recording_ids: Sequence[str]) -> dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]]:
        """(recording id, scorecard version) -> (item kind, item id) -> its ``reviewed_answers``
        row: the answer people gave and who gave it last."""
        rows = self._dicts("SELECT * FROM reviewed_answers_of(?)", [list(recording_ids)])
        reviews: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = {}
        for r in rows:
            reviews.setdefault((r["recording_id"], r["scorecard_version"]), {})[(r["item_kind"], r["item_id"])] = r
        return reviews
