"""Writing one processed call: its recording, transcript, measures, evaluation and scores, and
the KPI tables' share of it, all in one transaction, so a crash never leaves half a call."""

from __future__ import annotations

import json
from typing import Sequence

from pipeline.intake.file_names import readable
from pipeline.speech.metrics import CallMetrics
from pipeline.store.warehouse.errors import mapped_call_write
from pipeline.store.warehouse.records import CallRecord

# (column, type) of the rows written many to a call.
_SEGMENT_COLUMNS = (
    ("recording_id", "VARCHAR"), ("whisper_model", "VARCHAR"), ("segment_index", "INTEGER"), ("speaker", "VARCHAR"),
    ("channel", "INTEGER"), ("start_s", "DOUBLE"), ("end_s", "DOUBLE"), ("text", "VARCHAR"), ("avg_logprob", "DOUBLE"),
    ("no_speech_prob", "DOUBLE"), ("compression_ratio", "DOUBLE"),
)
_SCORE_COLUMNS = (
    ("recording_id", "VARCHAR"), ("whisper_model", "VARCHAR"), ("scorecard_version", "VARCHAR"),
    ("prompt_version", "VARCHAR"), ("llm_model", "VARCHAR"), ("scorecard_name", "VARCHAR"), ("criterion_id", "VARCHAR"),
    ("weight", "DOUBLE"), ("critical", "BOOLEAN"), ("passed", "BOOLEAN"), ("confidence", "DOUBLE"),
    ("evidence", "VARCHAR"), ("evidence_verified", "BOOLEAN"), ("criterion_kind", "VARCHAR"), ("evaluation_id", "BIGINT"),
    ("evidence_line", "INTEGER"), ("evidence_start_s", "DOUBLE"),
)
_EXTRACTION_COLUMNS = (
    ("recording_id", "VARCHAR"), ("whisper_model", "VARCHAR"), ("scorecard_version", "VARCHAR"),
    ("prompt_version", "VARCHAR"), ("llm_model", "VARCHAR"), ("scorecard_name", "VARCHAR"), ("evaluation_id", "BIGINT"),
    ("field_id", "VARCHAR"), ("field_kind", "VARCHAR"), ("value", "VARCHAR"), ("confidence", "DOUBLE"),
    ("evidence", "VARCHAR"), ("evidence_line", "INTEGER"), ("evidence_start_s", "DOUBLE"),
)
_SENTIMENT_COLUMNS = (
    ("recording_id", "VARCHAR"), ("whisper_model", "VARCHAR"), ("speaker", "VARCHAR"), ("quarter", "INTEGER"),
    ("sentiment", "DOUBLE"), ("words", "INTEGER"),
)


class CallWriter:
    """The ``Warehouse`` methods that store a call."""

    def save_call(self, record: CallRecord) -> None:
        """Write a processed recording in one transaction: all of it or nothing."""
        with mapped_call_write(self.path), self.transaction():
            # A recording met for the first time (the common case) has no rows to update: plain inserts.
            first = not self._is_stored(record.key.recording_id)
            self._upsert_recording(record, first=first)
            if record.transcript is not None and (
                    first or not self.has_transcript(record.key.recording_id, record.key.whisper_model)):
                self._insert_transcript(record)  # a transcript stored before by this model stays as it was
            if record.metrics is not None:
                self._upsert_metrics(record.key.recording_id, record.key.whisper_model, record.metrics, first=first)
            evaluation_id = self._insert_evaluation(record)
            self._update_kpi_tables(record, evaluation_id, first=first)

    def _upsert_recording(self, record: CallRecord, *, first: bool = False) -> None:
        """Store the recording; one stored before keeps its audio facts and takes the new names and facts.
        ``first``: it is not stored yet (an upsert costs DuckDB a few milliseconds more)."""
        facts, audio = record.facts, record.audio
        self.connection.execute(
            """
            INSERT INTO recordings (recording_id, path, file_name, size_bytes, container, codec, channels,
                sample_rate, duration_s, truncated, agent, team, call_id, started_at, started_at_source, metadata,
                channel_layout)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """ + ("" if first else """
            ON CONFLICT (recording_id) DO UPDATE SET path = excluded.path, file_name = excluded.file_name,
                agent = excluded.agent, team = excluded.team, call_id = excluded.call_id,
                started_at = excluded.started_at, started_at_source = excluded.started_at_source,
                metadata = excluded.metadata,
                channel_layout = coalesce(excluded.channel_layout, recordings.channel_layout)
            """),
            [
                record.key.recording_id, readable(record.path), readable(record.path.name), record.size_bytes,
                audio.container if audio else None, audio.codec if audio else None,
                audio.channels if audio else None, audio.sample_rate if audio else None,
                record.duration_s, record.truncated,
                facts.agent, facts.team, facts.call_id, facts.started_at, facts.started_at_source,
                json.dumps(facts.metadata, default=str), record.channel_layout,
            ],
        )

    def _insert_transcript(self, record: CallRecord) -> None:
        transcript = record.transcript
        assert transcript is not None
        key = record.key
        counts = transcript.redactions
        self.connection.execute(
            "INSERT INTO transcripts (recording_id, whisper_model, device, segment_count, speech_s, seconds,"
            " redacted_cards, redacted_emails, redacted_phones, redacted_numbers, redaction,"
            " language, language_probability, language_source, mixed_language, language_suspect)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key.recording_id, key.whisper_model, transcript.device, len(transcript.segments),
                round(sum(s.end - s.start for s in transcript.segments), 3), round(transcript.seconds, 3),
                *(counts.get(kind, 0) if kind in transcript.redaction else None
                  for kind in ("card", "email", "phone", "number")),
                ",".join(transcript.redaction),
                *((language.language, language.probability, language.source, language.mixed, language.suspect)
                  if (language := transcript.language) is not None else (None, None, None, None, None)),
            ],
        )
        if transcript.segments:
            self._insert_rows(
                "segments", _SEGMENT_COLUMNS,
                [
                    [key.recording_id, key.whisper_model, index, s.speaker, s.channel, s.start, s.end, s.text,
                     s.avg_logprob, s.no_speech_prob, s.compression_ratio]
                    for index, s in enumerate(transcript.segments)
                ],
            )

    def _insert_rows(self, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[object]]) -> None:
        """Insert ``rows`` (values in the order of ``columns``, (name, type) pairs) with one statement:
        each column goes in as one list parameter (DuckDB's ``executemany`` runs a statement per row)."""
        self.connection.execute(
            f"INSERT INTO {table} ({', '.join(name for name, _ in columns)}) SELECT "
            + ", ".join(f"unnest(CAST(? AS {kind}[]))" for _, kind in columns),
            [list(values) for values in zip(*rows)],
        )

    def _upsert_metrics(self, recording_id: str, whisper_model: str, metrics: CallMetrics, *,
                        first: bool = False) -> None:
        """Metrics follow from the transcript alone, so a re-computation replaces the row and
        the sentiment rows (``first``: the recording is not stored yet, so there are none)."""
        columns = metrics_columns(metrics)
        names = ["recording_id", "whisper_model", *columns]
        self.connection.execute(
            f"INSERT {'' if first else 'OR REPLACE '}INTO call_metrics ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [recording_id, whisper_model, *columns.values()],
        )
        if not first:
            self.connection.execute("DELETE FROM call_sentiment WHERE recording_id = ? AND whisper_model = ?",
                                    [recording_id, whisper_model])
        quarters = metrics.sentiment.quarters if metrics.sentiment is not None else ()
        if quarters:
            self._insert_rows("call_sentiment", _SENTIMENT_COLUMNS, [
                [recording_id, whisper_model, q.speaker, q.quarter, q.sentiment, q.words] for q in quarters])

    def _insert_evaluation(self, record: CallRecord) -> int:
        """Store the evaluation and its scores; its ``evaluation_id``."""
        key, score = record.key, record.score
        identity = [key.recording_id, key.whisper_model, key.scorecard_version, key.prompt_version, key.llm_model]
        (evaluation_id,) = self.connection.execute(
            "INSERT INTO evaluations (recording_id, whisper_model, scorecard_version, prompt_version, llm_model,"
            " scorecard_name, status, windows, prompt_tokens, completion_tokens, llm_seconds, run_id, worker)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING evaluation_id",
            identity + [
                record.scorecard.name, record.status,
                score.windows if score else None, score.prompt_tokens if score else None,
                score.completion_tokens if score else None, round(score.seconds, 3) if score else None,
                record.run_id, record.worker,
            ],
        ).fetchone()
        if score is None or not score.verdicts:
            return evaluation_id
        for calibration in score.calibrations:
            self.connection.execute(
                "INSERT INTO llm_calibrations (llm_model, prompt_version, item_id, content_free, first_evaluation_id)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [key.llm_model, key.prompt_version, calibration.criterion_id,
                 json.dumps(dict(calibration.content_free), sort_keys=True), evaluation_id])
        rows = []
        for verdict in score.verdicts:
            criterion = record.scorecard.criterion(verdict.criterion_id)
            rows.append(identity + [
                record.scorecard.name, verdict.criterion_id, criterion.weight, criterion.critical,
                verdict.passed, verdict.confidence, verdict.evidence, verdict.evidence_verified, criterion.kind,
                evaluation_id, verdict.evidence_line, verdict.evidence_start_s,
            ])
        self._insert_rows("scores", _SCORE_COLUMNS, rows)
        if score.extractions:
            kinds = {f.id: f.kind for f in record.scorecard.fields or ()}
            self._insert_rows("extractions", _EXTRACTION_COLUMNS, [
                identity + [record.scorecard.name, evaluation_id, e.field_id, kinds[e.field_id], e.value, e.confidence,
                            e.evidence, e.evidence_line, e.evidence_start_s]
                for e in score.extractions])
        return evaluation_id


def metrics_columns(metrics: CallMetrics) -> dict[str, object]:
    """``call_metrics`` columns (but the key) of ``metrics``."""
    columns: dict[str, object] = {
        "speaker_separated": metrics.speaker_separated, "conversation_s": metrics.conversation_s,
        "talk_s": metrics.talk_s, "non_talk_s": metrics.non_talk_s, "non_talk_ratio": metrics.non_talk_ratio,
        "silences": metrics.silences, "longest_silence_s": metrics.longest_silence_s,
        "overlap_s": metrics.overlap_s if metrics.speaker_separated else None,
        "words": metrics.words, "words_per_minute": metrics.words_per_minute,
        "longest_monologue_s": metrics.longest_monologue_s,
    }
    for name in ("agent", "customer"):
        side = getattr(metrics, name)
        for measure in ("talk_s", "talk_ratio", "words_per_minute", "interruptions", "interruption_s",
                        "longest_monologue_s", "sentiment_first", "sentiment_last", "sentiment_change"):
            columns[f"{name}_{measure}"] = getattr(side, measure) if side else None
    columns["sentiment_note"] = metrics.sentiment.note if metrics.sentiment is not None else None
    return columns
