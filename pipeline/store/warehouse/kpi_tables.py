"""The KPI summary tables that each call's transaction keeps up to date (migration 006), so the
KPI views read a row per call instead of re-counting every answer.

``call_scores`` holds one row per scored evaluation: its QA score and answer counts, the call's
facts and conversation measures, and whether it is the recording's latest evaluation of its
scorecard version. ``criterion_totals`` counts the answers of those latest evaluations per agent,
scorecard version and criterion. Views in views.sql define what they hold. A recording met for
the first time (the common case) adds its row and counts in a few milliseconds; for one stored
before (re-scored, or delivered again) which of its evaluations is latest, its facts, measures
and counts are worked out again. Rows loaded into the base tables other than by ``save_call``
need ``rebuild_kpi_tables``.
"""

from __future__ import annotations

from pipeline.store.warehouse.call_writer import metrics_columns
from pipeline.store.warehouse.records import CallRecord

# call_scores' copies of the recording's facts and of the conversation measures kpi_calls shows.
_CALL_SCORES_FACTS = ("file_name", "path", "agent", "team", "call_id", "started_at", "duration_s", "channel_layout")
_CALL_SCORES_LANGUAGE = ("language", "language_probability", "mixed_language", "language_suspect")  # from the transcript
_CALL_SCORES_METRICS = (
    "speaker_separated", "conversation_s", "talk_s", "non_talk_s", "non_talk_ratio", "silences", "longest_silence_s",
    "overlap_s", "words_per_minute", "agent_talk_ratio", "customer_talk_ratio", "agent_words_per_minute",
    "customer_words_per_minute", "agent_interruptions", "agent_interruption_s", "customer_interruptions",
    "customer_interruption_s", "agent_longest_monologue_s", "customer_longest_monologue_s", "longest_monologue_s",
    "customer_sentiment_first", "customer_sentiment_last", "customer_sentiment_change",
)
# criterion_totals: its key, what is kept of each criterion, and the counts summed from counted_answers.
_TOTALS_KEY = ("agent", "scorecard_name", "scorecard_version", "criterion_id")
_TOTALS_CRITERION = ("weight", "critical", "criterion_kind")
_TOTALS_COUNTS = ("answers", "passed", "failed", "not_applicable", "confidences", "confidence_sum",
                  "low_confidence_answers", "unverified_evidence")


class KpiTables:
    """The ``Warehouse`` methods that keep ``call_scores`` and ``criterion_totals`` up to date."""

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
        metrics = metrics_columns(record.metrics) if record.metrics is not None else {}
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
                   {', '.join(f't.{name}' for name in _CALL_SCORES_LANGUAGE)},
                   {', '.join(f'? AS {name}' for name in _CALL_SCORES_METRICS)}
            FROM evaluations AS e
            JOIN recordings AS r USING (recording_id)
            LEFT JOIN transcripts AS t USING (recording_id, whisper_model)
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
        derived = ("is_latest", *_CALL_SCORES_FACTS, *_CALL_SCORES_LANGUAGE, *_CALL_SCORES_METRICS)
        self.connection.execute(
            f"""
            UPDATE call_scores SET {', '.join(f'{name} = u.{name}' for name in derived)}
            FROM (
                SELECT c.evaluation_id,
                       row_number() OVER (
                           PARTITION BY c.recording_id, c.scorecard_version ORDER BY c.evaluated_at DESC, c.llm_model
                       ) = 1 AS is_latest,
                       {', '.join(f'r.{name}' for name in _CALL_SCORES_FACTS)},
                       {', '.join(f't.{name}' for name in _CALL_SCORES_LANGUAGE)},
                       {', '.join(f'm.{name}' for name in _CALL_SCORES_METRICS)}
                FROM call_scores AS c
                JOIN recordings AS r USING (recording_id)
                LEFT JOIN transcripts AS t USING (recording_id, whisper_model)
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
