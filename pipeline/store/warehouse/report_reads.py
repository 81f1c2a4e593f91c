"""The reads behind ``callscore report`` and ``callscore eval``: figures of one scorecard version
from a day on, and the latest verdicts to compare with human labels. Figures are rows as dicts,
keyed by column name."""

from __future__ import annotations

from datetime import date
from typing import Any

from pipeline.store.named_queries import bundled_queries, set_variables

_WINDOW = "call_date >= ? AND scorecard_version = ?"  # parameters: first day, scorecard version

# Each call's evaluations of a scorecard version, newest first (rank 1: its latest scored one), by
# an LLM and prompt version if given. Parameters: version, llm, llm, prompt version, prompt version.
_LATEST_SCORED = """WITH latest AS (
                SELECT *, row_number() OVER (PARTITION BY recording_id ORDER BY evaluated_at DESC) AS rank
                FROM evaluations
                WHERE scorecard_version = ? AND status = 'scored' AND (? IS NULL OR llm_model = ?)
                  AND (? IS NULL OR prompt_version = ?)
            )"""


class ReportReads:
    """The ``Warehouse`` methods that read for the report and for agreement."""

    def latest_scorecard(self, first_day: date) -> tuple[str | None, str | None]:
        """(name, version) of the scorecard evaluated most recently on calls from ``first_day``."""
        row = self.connection.execute(
            "SELECT scorecard_name, scorecard_version FROM kpi_calls WHERE call_date >= ?"
            " ORDER BY evaluated_at DESC LIMIT 1", [first_day]).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def calls_of_version(self, version: str | None, first_day: date) -> list[dict[str, Any]]:
        """kpi_calls rows, oldest call first."""
        return self._dicts(f"SELECT * FROM kpi_calls WHERE {_WINDOW} ORDER BY started_at", [first_day, version])

    def mean_qa_score(self, version: str | None, first_day: date, *, reliable: bool = False) -> float | None:
        """The calls' mean QA score (0-100, 1 decimal) by the views' rule: the mean of unrounded
        call scores, rounded once (``kpi_agents`` and ``kpi_daily`` round the same way);
        ``reliable``: of qa_score_reliable (NULL unless the scorecard asks for it)."""
        column = "qa_score_reliable" if reliable else "qa_score"
        row = self.connection.execute(
            f"SELECT kpi_round(avg({column}), 1) FROM scored_calls WHERE {_WINDOW}", [first_day, version]).fetchone()
        return row[0] if row else None

    def criterion_figures(self, version: str | None, first_day: date) -> list[dict[str, Any]]:
        """Per criterion: answers, pass rate and not-applicable rate (0-1), mean confidence."""
        return self._dicts(f"""
            SELECT criterion_id, any_value(critical) AS critical, any_value(criterion_kind) AS criterion_kind, count(*) AS answers,
                   count(*) FILTER (WHERE passed) / nullif(count(passed), 0) AS pass_rate,
                   count(*) FILTER (WHERE passed IS NULL) / count(*) AS na_rate,
                   avg(confidence) AS mean_confidence,
                   count(*) FILTER (WHERE confidence < 0.7) AS low_confidence_answers
            FROM latest_scores WHERE {_WINDOW} GROUP BY criterion_id ORDER BY criterion_id""", [first_day, version])

    def agent_figures(self, version: str | None, first_day: date) -> list[dict[str, Any]]:
        """Per agent: calls, mean QA score (0-100), critical failures, talk ratio (and the calls it
        was measured on: stereo calls only), interruptions."""
        return self._dicts(f"""
            SELECT coalesce(agent, '(unknown)') AS agent, count(*) AS calls,
                   kpi_round(avg(qa_score), 1) AS mean_qa_score,
                   kpi_round(avg(qa_score_reliable), 1) AS mean_qa_score_reliable,
                   count(*) FILTER (WHERE critical_failed) AS critical_failed_calls,
                   avg(agent_talk_ratio) AS mean_talk_ratio, count(agent_talk_ratio) AS talk_ratio_calls,
                   avg(agent_interruptions) AS interruptions_per_call
            FROM scored_calls WHERE {_WINDOW} GROUP BY ALL ORDER BY mean_qa_score DESC NULLS LAST, agent""",
            [first_day, version])

    def daily_figures(self, version: str | None, first_day: date) -> list[dict[str, Any]]:
        """Per day: calls, mean QA score, critical failures."""
        return self._dicts(f"""
            SELECT call_date AS day, count(*) AS calls, avg(qa_score) AS mean_qa_score,
                   count(*) FILTER (WHERE critical_failed) AS critical_failed_calls
            FROM scored_calls WHERE {_WINDOW} GROUP BY ALL ORDER BY day""", [first_day, version])

    def reason_figures(self, version: str | None, first_day: date) -> list[dict[str, Any]]:
        """Per answer to the field ``reason``: calls, share of the calls with a reason (0-1),
        calls with an ``outcome`` and the share of those resolved (0-1); most calls first."""
        return self._dicts(f"""
            SELECT reason, count(*) AS calls, count(*) / sum(count(*)) OVER () AS share,
                   count(outcome) AS with_outcome,
                   count(*) FILTER (WHERE resolved) / nullif(count(outcome), 0) AS resolution_rate
            FROM call_outcomes WHERE {_WINDOW} AND reason IS NOT NULL
            GROUP BY reason ORDER BY calls DESC, reason""", [first_day, version])

    def outcome_figures(self, version: str | None, first_day: date) -> list[dict[str, Any]]:
        """Per agent: calls with an ``outcome`` and the share resolved (0-1); calls whose
        customer sentiment was measured, its mean in the first and last quarter (-1..1) and the
        share that left the customer happier (change above 0.05, kpi_agent_sentiment's rule)."""
        return self._dicts(f"""
            WITH resolution AS (
                SELECT coalesce(agent, '(unknown)') AS agent, count(outcome) AS with_outcome,
                       count(*) FILTER (WHERE resolved) / nullif(count(outcome), 0) AS resolution_rate
                FROM call_outcomes WHERE {_WINDOW} GROUP BY ALL
            ), sentiment AS (
                SELECT coalesce(agent, '(unknown)') AS agent, count(customer_sentiment_change) AS measured_calls,
                       avg(customer_sentiment_first) FILTER (WHERE customer_sentiment_change IS NOT NULL) AS first,
                       avg(customer_sentiment_last) FILTER (WHERE customer_sentiment_change IS NOT NULL) AS last,
                       count(*) FILTER (WHERE customer_sentiment_change > 0.05)
                           / nullif(count(customer_sentiment_change), 0) AS happier_share
                FROM scored_calls WHERE {_WINDOW} GROUP BY ALL
            )
            SELECT agent, coalesce(with_outcome, 0) AS with_outcome, resolution_rate,
                   coalesce(measured_calls, 0) AS measured_calls, first AS mean_sentiment_first,
                   last AS mean_sentiment_last, happier_share
            FROM resolution FULL JOIN sentiment USING (agent)
            WHERE with_outcome > 0 OR measured_calls > 0
            ORDER BY agent""", [first_day, version, first_day, version])

    def answers_to_review(self, version: str | None, first_day: date, *, limit: int) -> list[dict[str, Any]]:
        """The bundled query calls_to_review for these calls: critical failures first, then the
        least confident answers."""
        set_variables(self.connection, {"since": first_day.isoformat()})
        review = bundled_queries()["calls_to_review"].sql.rstrip().rstrip(";")
        return self._dicts(f"SELECT * FROM ({review})"
                           f" WHERE recording_id IN (SELECT recording_id FROM kpi_calls WHERE {_WINDOW})"
                           f" ORDER BY critical_failure DESC, confidence ASC, started_at DESC LIMIT {int(limit)}",
                           [first_day, version])

    def failed_recordings_since(self, first_day: date) -> int:
        """Recordings (by path) that failed on or after ``first_day``."""
        return self.connection.execute(
            "SELECT count(DISTINCT path) FROM failures WHERE CAST(failed_at AS DATE) >= ?", [first_day]).fetchone()[0]

    def latest_verdicts(self, scorecard_version: str, *, llm_model: str | None = None,
                        prompt_version: str | None = None) -> list[tuple]:
        """(recording id, file name, criterion, passed, confidence, LLM, prompt version) of each call's latest scored
        evaluation of ``scorecard_version`` (by ``llm_model``, with ``prompt_version``, if given)."""
        return self.connection.execute(
            f"""
            {_LATEST_SCORED}
            SELECT s.recording_id, r.file_name, s.criterion_id, s.passed, s.confidence, s.llm_model, s.prompt_version
            FROM latest AS l
            JOIN scores AS s USING (recording_id, whisper_model, scorecard_version, prompt_version, llm_model)
            JOIN recordings AS r USING (recording_id)
            WHERE l.rank = 1
            """,
            [scorecard_version, llm_model, llm_model, prompt_version, prompt_version],
        ).fetchall()

    def latest_extractions(self, scorecard_version: str, *, llm_model: str | None = None,
                           prompt_version: str | None = None) -> list[tuple]:
        """(recording id, file name, field, value, confidence, LLM, prompt version) of the choice
        fields of each call's latest scored evaluation of ``scorecard_version`` (as
        ``latest_verdicts`` picks it)."""
        return self.connection.execute(
            f"""
            {_LATEST_SCORED}
            SELECT x.recording_id, r.file_name, x.field_id, x.value, x.confidence, x.llm_model, x.prompt_version
            FROM latest AS l
            JOIN extractions AS x USING (recording_id, whisper_model, scorecard_version, prompt_version, llm_model)
            JOIN recordings AS r USING (recording_id)
            WHERE l.rank = 1 AND x.field_kind = 'choice'
            """,
            [scorecard_version, llm_model, llm_model, prompt_version, prompt_version],
        ).fetchall()

    def query(self, sql: str, variables: dict[str, object] | None = None) -> tuple[list[str], list[tuple]]:
        """(column names, rows) of an analyst's query, with ``variables`` set for it."""
        set_variables(self.connection, variables or {})
        cursor = self.connection.execute(sql)
        return [d[0] for d in cursor.description or []], cursor.fetchall()
