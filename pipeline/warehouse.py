"""The DuckDB warehouse: ordered migrations recorded in ``schema_migrations``, KPI views, and
one transaction per call so that a crash never leaves half a call behind.

Migrations are ``warehouse/migrations/NNN_name.sql``, applied in order, each in its own
transaction; the views in ``warehouse/views.sql`` are re-created on every writable open.

The KPI views read two tables that each call's transaction keeps up to date (migration 006):
``call_scores`` (one row per scored evaluation: its QA score and answer counts, the call's facts
and conversation measures, and whether it is the recording's latest evaluation of its scorecard
version) and ``criterion_totals`` (the answers of those latest evaluations counted per agent,
scorecard version and criterion). Views in views.sql define what they hold. A recording met for
the first time (the common case) adds its row and counts in a few milliseconds; for one stored
before (re-scored, or delivered again) which of its evaluations is latest, its facts, measures
and counts are worked out again. Rows loaded into the base tables other than by ``save_call``
need ``rebuild_kpi_tables``.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

import duckdb

from pipeline.audio import AudioInfo
from pipeline.errors import (
    RecordingError, TransientRecordingError, WarehouseBusyError, WarehouseError, WarehouseWriteError,
)
from pipeline.inbox import CallFacts
from pipeline.metrics import CallMetrics, compute_metrics
from pipeline.resources import data_dir
from pipeline.score import CallScore
from pipeline.scorecard import Scorecard
from pipeline.transcribe import Segment

_MIGRATION_NAME = re.compile(r"^(\d+)_([\w-]+)\.sql$")
# Migrations after which call_scores and criterion_totals are filled again from the views.
REBUILD_KPI_TABLES_AFTER = frozenset({6, 7})

# call_scores' copies of the recording's facts and of the conversation measures kpi_calls shows.
_CALL_SCORES_FACTS = ("file_name", "path", "agent", "team", "call_id", "started_at", "duration_s")
_CALL_SCORES_METRICS = (
    "speaker_separated", "conversation_s", "talk_s", "non_talk_s", "non_talk_ratio", "silences", "longest_silence_s",
    "overlap_s", "words_per_minute", "agent_talk_ratio", "customer_talk_ratio", "agent_words_per_minute",
    "customer_words_per_minute", "agent_interruptions", "agent_interruption_s", "customer_interruptions",
    "customer_interruption_s", "agent_longest_monologue_s", "customer_longest_monologue_s", "longest_monologue_s",
)
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
)
# criterion_totals: its key, what is kept of each criterion, and the counts summed from counted_answers.
_TOTALS_KEY = ("agent", "scorecard_name", "scorecard_version", "criterion_id")
_TOTALS_CRITERION = ("weight", "critical", "criterion_kind")
_TOTALS_COUNTS = ("answers", "passed", "failed", "not_applicable", "confidences", "confidence_sum",
                  "low_confidence_answers", "unverified_evidence")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or data_dir("warehouse") / "migrations"
    found = []
    for path in directory.iterdir():
        match = _MIGRATION_NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), path))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise WarehouseError(f"two migrations share a version number in {directory}")
    return found


@dataclass(frozen=True)
class EvaluationKey:
    """What 'already done' means: this recording, transcribed and scored by exactly these."""

    recording_id: str
    whisper_model: str
    scorecard_version: str
    prompt_version: str
    llm_model: str


@dataclass(frozen=True)
class NewTranscript:
    device: str
    segments: tuple[Segment, ...]  # already redacted
    seconds: float  # wall time to decode and transcribe
    redaction: tuple[str, ...] = ()  # kinds of personal data masked (pipeline.redact.PII_KINDS)
    redactions: dict[str, int] = field(default_factory=dict)  # kind -> items masked


@dataclass(frozen=True)
class CallRecord:
    """Everything one processed recording writes, in one transaction."""

    key: EvaluationKey
    path: Path
    size_bytes: int
    facts: CallFacts
    scorecard: Scorecard
    status: str  # 'scored', 'no_speech' or 'too_short'
    run_id: str
    audio: AudioInfo | None = None  # None when the recording was already stored
    duration_s: float | None = None
    truncated: bool = False
    transcript: NewTranscript | None = None  # None when an earlier transcript was re-used
    score: CallScore | None = None
    metrics: CallMetrics | None = None  # None when nobody spoke
    worker: str | None = None  # the machine or worker that processed it


@dataclass(frozen=True)
class StoredRecording:
    """What the warehouse knows of a recording, enough to score its transcript again."""

    recording_id: str
    path: Path  # where the file was last seen (it need not exist any more)
    size_bytes: int
    duration_s: float | None  # decoded seconds
    facts: CallFacts


def _open_error(path: Path, exc: Exception) -> WarehouseError:
    text = str(exc)
    if "lock" in text.lower():
        pid = re.search(r"PID (\d+)", text)
        holder = f" (process {pid.group(1)})" if pid else ""
        return WarehouseBusyError(f"warehouse {path} is in use by another callscore run{holder}: wait for it to finish")
    return WarehouseError(f"cannot open warehouse {path}: {text.splitlines()[0] if text else type(exc).__name__}")


class Warehouse:
    """An open DuckDB warehouse. Use as a context manager."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.connection = connection
        self.path = path

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> "Warehouse":
        """Open (creating it and its directory if needed) and bring the schema up to date."""
        path = Path(path)
        if read_only and not path.is_file():
            raise WarehouseError(f"no warehouse at {path}: run `callscore score` first")
        if not read_only:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WarehouseError(f"cannot create the directory for warehouse {path}: {exc.strerror}") from exc
        try:
            connection = duckdb.connect(str(path), read_only=read_only)
        except (duckdb.Error, OSError) as exc:
            raise _open_error(path, exc) from exc
        warehouse = cls(connection, path)
        if not read_only:
            warehouse.migrate()
        elif warehouse.pending_migrations():
            # A warehouse written by an older callscore: upgrade it once, then read.
            warehouse.close()
            cls.open(path).close()
            return cls.open(path, read_only=True)
        return warehouse

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    # -- schema ---------------------------------------------------------------------------

    def applied_migrations(self) -> list[int]:
        self.connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)"
        )
        return [row[0] for row in self.connection.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()]

    def pending_migrations(self) -> list[int]:
        """Versions this callscore knows that the warehouse lacks (read-only safe)."""
        try:
            applied = {row[0] for row in self.connection.execute("SELECT version FROM schema_migrations").fetchall()}
        except duckdb.CatalogException:
            applied = set()
        return [m.version for m in migrations() if m.version not in applied]

    def migrate(self, available: Sequence[Migration] | None = None) -> list[int]:
        """Apply pending migrations in order and re-create the views; returns versions applied."""
        available = list(available if available is not None else migrations())
        # While migrations are pending, every commit below goes straight into the database file
        # (a checkpoint) instead of the write-ahead log: DuckDB 1.x cannot replay some migration
        # DDL from the log (ALTER TABLE ... DEFAULT nextval fails with an internal error), so a
        # run killed or out of disk before its next checkpoint would leave a warehouse that no
        # longer opens. (The views, re-created on every open, replay fine; about 0.15 s a new warehouse.)
        try:
            applied = set(self.applied_migrations())
            if any(m.version not in applied for m in available):
                self.connection.execute("SET checkpoint_threshold = '0b'")
            known = {m.version for m in available}
            unknown = sorted(applied - known)
            if unknown:
                raise WarehouseError(
                    f"warehouse {self.path} has schema version {unknown[-1]}, newer than this callscore knows: upgrade callscore"
                )
            done = []
            for migration in available:
                if migration.version in applied:
                    continue
                with self.transaction():
                    self.connection.execute(migration.path.read_text(encoding="utf-8"))
                    self.connection.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [migration.version, migration.name]
                    )
                done.append(migration.version)
            self.connection.execute((data_dir("warehouse") / "views.sql").read_text(encoding="utf-8"))
            if REBUILD_KPI_TABLES_AFTER & set(done):
                self.rebuild_kpi_tables()
            self.backfill_metrics()
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot migrate warehouse {self.path}: {str(exc).splitlines()[0]}") from exc
        finally:
            self.connection.execute("RESET checkpoint_threshold")
        return done

    def backfill_metrics(self) -> int:
        """Compute ``call_metrics`` for transcripts stored before metrics existed; returns how many."""
        missing = self.connection.execute(
            "SELECT t.recording_id, t.whisper_model FROM transcripts AS t"
            " ANTI JOIN call_metrics AS m USING (recording_id, whisper_model) WHERE t.segment_count > 0"
        ).fetchall()
        for recording_id, whisper_model in missing:
            metrics = compute_metrics(self.stored_transcript(recording_id, whisper_model) or ())
            if metrics is not None:
                with self.transaction():
                    self._upsert_metrics(recording_id, whisper_model, metrics)
                    self._recount_recording(recording_id)
        return len(missing)

    def rebuild_kpi_tables(self) -> None:
        """Fill ``call_scores`` and ``criterion_totals`` afresh from the base tables, in one
        transaction: after a migration that changes what they hold, or rows loaded in bulk
        (``save_call`` keeps them up to date)."""
        with self.transaction():
            self.connection.execute("DELETE FROM criterion_totals")
            self.connection.execute("DELETE FROM call_scores")
            self.connection.execute(
                "INSERT INTO call_scores BY NAME SELECT * FROM call_scores_source ORDER BY evaluation_id")
            self.connection.execute(f"INSERT INTO criterion_totals BY NAME {self._counted('counted_answers', 'true')}")

    # -- reads ----------------------------------------------------------------------------

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

    def stored_transcript(self, recording_id: str, whisper_model: str) -> tuple[Segment, ...] | None:
        """Segments of an earlier transcription by this model, or None if there was none."""
        if not self.connection.execute(
            "SELECT 1 FROM transcripts WHERE recording_id = ? AND whisper_model = ?", [recording_id, whisper_model]
        ).fetchone():
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

    def stored_duration(self, recording_id: str) -> float | None:
        row = self.connection.execute("SELECT duration_s FROM recordings WHERE recording_id = ?", [recording_id]).fetchone()
        return None if row is None else row[0]

    # -- writes ---------------------------------------------------------------------------

    def transaction(self) -> "_Transaction":
        return _Transaction(self.connection)

    def save_call(self, record: CallRecord) -> None:
        """Write a processed recording in one transaction: all of it or nothing."""
        try:
            with self._writing(), self.transaction():
                # A recording met for the first time (the common case) has no rows to update: plain inserts.
                first = not self._is_stored(record.key.recording_id)
                self._upsert_recording(record, first=first)
                if record.transcript is not None:
                    self._insert_transcript(record)
                if record.metrics is not None:
                    self._upsert_metrics(record.key.recording_id, record.key.whisper_model, record.metrics, first=first)
                evaluation_id = self._insert_evaluation(record)
                self._update_kpi_tables(record, evaluation_id, first=first)
        except duckdb.TransactionException as exc:
            if "conflict" not in str(exc).lower():  # e.g. "Failed to commit: Could not write file ...": disk full
                raise self._write_error(exc) from exc
            raise TransientRecordingError(f"warehouse write conflict: {exc}", stage="store") from exc

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Turn the file failing under a write (disk full, read-only) into ``WarehouseWriteError``."""
        try:
            yield
        except (duckdb.IOException, duckdb.FatalException, OSError) as exc:
            raise self._write_error(exc) from exc

    def _write_error(self, exc: BaseException) -> WarehouseWriteError:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return WarehouseWriteError(f"cannot write to warehouse {self.path}: {reason}")

    def _upsert_recording(self, record: CallRecord, *, first: bool = False) -> None:
        """Store the recording; one stored before keeps its audio facts and takes the new names and facts.
        ``first``: it is not stored yet (an upsert costs DuckDB a few milliseconds more)."""
        facts, audio = record.facts, record.audio
        self.connection.execute(
            """
            INSERT INTO recordings (recording_id, path, file_name, size_bytes, container, codec, channels,
                sample_rate, duration_s, truncated, agent, team, call_id, started_at, started_at_source, metadata)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """ + ("" if first else """
            ON CONFLICT (recording_id) DO UPDATE SET path = excluded.path, file_name = excluded.file_name,
                agent = excluded.agent, team = excluded.team, call_id = excluded.call_id,
                started_at = excluded.started_at, started_at_source = excluded.started_at_source,
                metadata = excluded.metadata
            """),
            [
                record.key.recording_id, str(record.path), record.path.name, record.size_bytes,
                audio.container if audio else None, audio.codec if audio else None,
                audio.channels if audio else None, audio.sample_rate if audio else None,
                record.duration_s, record.truncated,
                facts.agent, facts.team, facts.call_id, facts.started_at, facts.started_at_source,
                json.dumps(facts.metadata, default=str),
            ],
        )

    def _insert_transcript(self, record: CallRecord) -> None:
        transcript = record.transcript
        assert transcript is not None
        key = record.key
        counts = transcript.redactions
        self.connection.execute(
            "INSERT INTO transcripts (recording_id, whisper_model, device, segment_count, speech_s, seconds,"
            " redacted_cards, redacted_emails, redacted_phones, redacted_numbers, redaction)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                key.recording_id, key.whisper_model, transcript.device, len(transcript.segments),
                round(sum(s.end - s.start for s in transcript.segments), 3), round(transcript.seconds, 3),
                *(counts.get(kind, 0) if kind in transcript.redaction else None
                  for kind in ("card", "email", "phone", "number")),
                ",".join(transcript.redaction),
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
        """Metrics follow from the transcript alone, so a re-computation replaces the row
        (``first``: the recording is not stored yet, so there is none)."""
        columns = _metrics_columns(metrics)
        names = ["recording_id", "whisper_model", *columns]
        self.connection.execute(
            f"INSERT {'' if first else 'OR REPLACE '}INTO call_metrics ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [recording_id, whisper_model, *columns.values()],
        )

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
        rows = []
        for verdict in score.verdicts:
            criterion = record.scorecard.criterion(verdict.criterion_id)
            rows.append(identity + [
                record.scorecard.name, verdict.criterion_id, criterion.weight, criterion.critical,
                verdict.passed, verdict.confidence, verdict.evidence, verdict.evidence_verified, criterion.kind,
                evaluation_id,
            ])
        self._insert_rows("scores", _SCORE_COLUMNS, rows)
        return evaluation_id

    # -- call_scores and criterion_totals (see the module's docstring) ---------------------

    def _update_kpi_tables(self, record: CallRecord, evaluation_id: int, *, first: bool) -> None:
        """Bring ``call_scores`` and ``criterion_totals`` up to date with the call just written
        (``evaluation_id``: its evaluation)."""
        scored = record.status == "scored"
        if scored:
            # A later evaluation is the latest one unless the recount below finds otherwise.
            self._insert_call_row(record, evaluation_id, is_latest=first)
        if not first:
            self._recount_recording(record.key.recording_id)  # its facts, or which evaluation is latest, may change
        elif scored:  # a first evaluation is the latest: its answers count
            self._count_answers(record.facts.agent, [evaluation_id])

    def _insert_call_row(self, record: CallRecord, evaluation_id: int, *, is_latest: bool) -> None:
        """Add the ``call_scores`` row of the evaluation just written, as call_scores_source has it:
        figures from ``evaluation_figures``, facts from ``recordings``, measures as stored by
        ``_upsert_metrics`` (none when the transcript was not new: ``_recount_recording`` fills them)."""
        metrics = _metrics_columns(record.metrics) if record.metrics is not None else {}
        self.connection.execute(
            f"""
            INSERT INTO call_scores BY NAME
            SELECT e.evaluation_id, e.recording_id, e.whisper_model, e.scorecard_version, e.prompt_version, e.llm_model,
                   e.scorecard_name, e.evaluated_at, ? AS is_latest,
                   coalesce(f.answers, 0) AS answers, f.qa_score, coalesce(f.critical_failed, false) AS critical_failed,
                   coalesce(f.criteria_passed, 0) AS criteria_passed, coalesce(f.criteria_failed, 0) AS criteria_failed,
                   coalesce(f.criteria_na, 0) AS criteria_na, f.mean_confidence,
                   coalesce(f.low_confidence_answers, 0) AS low_confidence_answers,
                   {', '.join(f'r.{name}' for name in _CALL_SCORES_FACTS)},
                   {', '.join(f'? AS {name}' for name in _CALL_SCORES_METRICS)}
            FROM evaluations AS e
            JOIN recordings AS r USING (recording_id)
            LEFT JOIN evaluation_figures AS f USING (evaluation_id)
            WHERE e.evaluation_id = ? AND r.recording_id = ?
            """,
            [is_latest] + [metrics.get(name) for name in _CALL_SCORES_METRICS] + [evaluation_id, record.key.recording_id],
        )

    def _recount_recording(self, recording_id: str) -> None:
        """After a stored recording's facts, measures or evaluations changed: work out again which
        of its ``call_scores`` rows are latest, their facts and measures, as call_scores_source has
        them (figures never change), and its share of ``criterion_totals``."""
        self._count_recording(recording_id, sign=-1)  # as counted so far
        derived = ("is_latest", *_CALL_SCORES_FACTS, *_CALL_SCORES_METRICS)
        self.connection.execute(
            f"""
            UPDATE call_scores SET {', '.join(f'{name} = u.{name}' for name in derived)}
            FROM (
                SELECT c.evaluation_id,
                       row_number() OVER (
                           PARTITION BY c.recording_id, c.scorecard_version ORDER BY c.evaluated_at DESC, c.llm_model
                       ) = 1 AS is_latest,
                       {', '.join(f'r.{name}' for name in _CALL_SCORES_FACTS)},
                       {', '.join(f'm.{name}' for name in _CALL_SCORES_METRICS)}
                FROM call_scores AS c
                JOIN recordings AS r USING (recording_id)
                LEFT JOIN call_metrics AS m USING (recording_id, whisper_model)
                WHERE c.recording_id = ?
            ) AS u
            WHERE call_scores.evaluation_id = u.evaluation_id
            """,
            [recording_id],
        )
        self._count_recording(recording_id)
        self.connection.execute("DELETE FROM criterion_totals WHERE answers = 0")

    def _count_recording(self, recording_id: str, *, sign: int = 1) -> None:
        """Add (``sign`` -1: take away) the answers of the recording's latest evaluations, as
        ``call_scores`` has them now, to ``criterion_totals``."""
        latest = self.connection.execute(
            "SELECT agent, list(evaluation_id) FROM call_scores WHERE recording_id = ? AND is_latest GROUP BY agent",
            [recording_id]).fetchall()
        for agent, evaluation_ids in latest:
            self._count_answers(agent, evaluation_ids, sign=sign)

    def _count_answers(self, agent: str | None, evaluation_ids: list[int], *, sign: int = 1) -> None:
        """Add (``sign`` -1: take away) the answers of these evaluations of a call of ``agent`` to
        ``criterion_totals``: counted_answers' rows for them, read by evaluation (a few table blocks)."""
        where = f"evaluation_id IN ({', '.join('?' * len(evaluation_ids))})"
        self._add_to_totals(self._counted("answer_counts", where, agent="CAST(? AS VARCHAR)", sign=sign),
                            [agent, *evaluation_ids])

    @staticmethod
    def _counted(source: str, where: str, *, agent: str = "agent", sign: int = 1) -> str:
        """A query of the rows of ``source`` (counted_answers, or answer_counts with ``agent`` given)
        that match ``where``, summed up as criterion_totals keeps them (``sign`` -1: negated)."""
        criterion = ", ".join(f"any_value({name}) AS {name}" for name in _TOTALS_CRITERION)
        counts = ", ".join(f"{sign} * sum({name}) AS {name}" for name in _TOTALS_COUNTS)
        return (f"SELECT {agent} AS agent, {', '.join(_TOTALS_KEY[1:])}, {criterion}, {counts}"
                f" FROM {source} WHERE {where} GROUP BY ALL")

    def _add_to_totals(self, source: str, parameters: list) -> None:
        """Add the counts of ``source`` (a query with criterion_totals' columns, at most one row per
        key) to ``criterion_totals``."""
        columns = (*_TOTALS_KEY, *_TOTALS_CRITERION, *_TOTALS_COUNTS)
        self.connection.execute(
            f"""
            MERGE INTO criterion_totals AS t
            USING ({source}) AS d
            ON t.agent IS NOT DISTINCT FROM d.agent AND t.scorecard_name = d.scorecard_name
               AND t.scorecard_version = d.scorecard_version AND t.criterion_id = d.criterion_id
            WHEN MATCHED THEN UPDATE SET {', '.join(f'{name} = t.{name} + d.{name}' for name in _TOTALS_COUNTS)}
            WHEN NOT MATCHED THEN INSERT ({', '.join(columns)}) VALUES ({', '.join(f'd.{name}' for name in columns)})
            """,
            parameters,
        )

    def record_failure(self, *, run_id: str, path: Path, recording_id: str | None, error: RecordingError,
                       error_type: str | None = None) -> None:
        """Note that a recording failed; the cause's type is recorded when it wraps a library error."""
        error_type = error_type or type(error.__cause__ or error).__name__
        with self._writing():
            self.connection.execute(
                "INSERT INTO failures (run_id, path, recording_id, stage, error_type, message, transient)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [run_id, str(path), recording_id, error.stage, error_type, str(error), error.transient],
            )

    def start_run(self, *, run_id: str, source: str, started_at: datetime, models: dict[str, str]) -> None:
        self.connection.execute(
            "INSERT INTO runs (run_id, source, status, started_at, whisper_model, llm_model, scorecard_name,"
            " scorecard_version, prompt_version) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)",
            [run_id, source, started_at, models["whisper_model"], models["llm_model"], models["scorecard_name"],
             models["scorecard_version"], models["prompt_version"]],
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
            raise self._write_error(exc) from exc


def _metrics_columns(metrics: CallMetrics) -> dict[str, object]:
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
                        "longest_monologue_s"):
            columns[f"{name}_{measure}"] = getattr(side, measure) if side else None
    return columns


class _Transaction:
    """BEGIN ... COMMIT, or ROLLBACK if the block raises."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("BEGIN TRANSACTION")

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            self.connection.execute("COMMIT")
            return
        try:
            self.connection.execute("ROLLBACK")
        except duckdb.Error:  # a failed COMMIT or a broken database has rolled back already
            pass
