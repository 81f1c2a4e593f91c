"""``criterion_agreement`` (migration 010): what ``callscore eval --labels`` measured of each
criterion against a labels file, kept so that ``kpi_criteria``, the report and the call pages can
say how far a criterion's verdicts can be trusted when nobody reviewed it in the desk (view
``criterion_trust``); and the reviews read as labels, for ``callscore eval`` without a file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from pipeline.store.warehouse.errors import mapped_writes

# A criterion reads as reliable when measured at a Cohen's kappa of 0.4 or more on this many
# labelled answers or more (the rule is views.sql's criterion_trust); below either, as not yet reliable.
RELIABLE_MIN_LABELS = 20


@dataclass(frozen=True)
class CriterionAgreement:
    """One criterion's agreement with the labels in one measurement."""

    criterion_id: str
    answers: int  # labelled answers compared
    agreement: float | None  # 0-1
    kappa: float | None  # Cohen's kappa; None when undefined (a single class)
    majority_baseline: float | None  # 0-1


class AgreementLedger:
    """The ``Warehouse`` methods that keep and read measured agreement."""

    def save_agreement(self, rows: Sequence[CriterionAgreement], *, scorecard_name: str, scorecard_version: str,
                       prompt_versions: Sequence[str], llm_models: Sequence[str], labels_file: str) -> int:
        """Store one measurement (all its criteria in one transaction); returns its id."""
        with mapped_writes(self.path), self.transaction():
            measurement = self.connection.execute("SELECT nextval('agreement_measurement_ids')").fetchone()[0]
            self.connection.executemany(
                "INSERT INTO criterion_agreement (measurement_id, scorecard_name, scorecard_version, prompt_version,"
                " llm_model, criterion_id, answers, agreement, kappa, majority_baseline, labels_file)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[measurement, scorecard_name, scorecard_version, ", ".join(prompt_versions), ", ".join(llm_models),
                  row.criterion_id, row.answers, row.agreement, row.kappa, row.majority_baseline, labels_file]
                 for row in rows],
            )
        return measurement

    def criterion_trust(self, scorecard_version: str | None) -> dict[str, dict[str, Any]]:
        """criterion id -> its latest measurement for ``scorecard_version`` (the columns of view
        ``criterion_trust``); a criterion never measured is absent."""
        rows = self._dicts("SELECT * FROM criterion_trust WHERE scorecard_version = ?", [scorecard_version])
        return {row["criterion_id"]: row for row in rows}

    def reviewed_labels(self, scorecard_version: str, sample: str = "all") -> list[tuple[str, str, str]]:
        """(recording id, criterion or field id, the answer that counts) of every answer people
        reviewed under ``scorecard_version`` (view ``reviewed_answers``), as labels: yes, no, na
        or a field's option. ``sample``: 'all', or only the calls the review queue chose so,
        'random' or 'doubtful' (view ``review_choices``)."""
        return self.connection.execute(
            "SELECT r.recording_id, r.item_id, CASE r.answer WHEN 'n.a.' THEN 'na' ELSE r.answer END"
            " FROM reviewed_answers AS r LEFT JOIN review_choices AS q USING (recording_id, scorecard_version)"
            " WHERE r.scorecard_version = ? AND (? = 'all' OR q.chosen_as = ?)"
            " ORDER BY r.recording_id, r.item_kind, r.item_id", [scorecard_version, sample, sample]).fetchall()

    def random_sample_answers(self, scorecard_version: str) -> int:
        """How many reviewed answers of ``scorecard_version`` are of calls the queue drew at random."""
        return len(self.reviewed_labels(scorecard_version, "random"))
