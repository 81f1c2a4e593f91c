"""Trust from the reviews people give, kept current (view criterion_trust): a criterion turns
reliable when its twentieth agreeing review lands and back when disagreements arrive, and the
desk's reviews take over from an older `callscore eval --labels` measurement."""

from __future__ import annotations

from pathlib import Path

from pipeline.report.call_view import CriterionTrust
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.agreement_ledger import CriterionAgreement
from pipeline.store.warehouse.review_ledger import NewReview
from tests.conftest import rows
from tests.factories import CARD, call_record

CALLS = 32


def _trust(db: Path) -> tuple:
    found = rows(db, "SELECT labelled_answers, kappa, trust, source FROM criterion_trust WHERE criterion_id = 'greeted'")
    return found[0] if found else None


def _review(warehouse: Warehouse, n: int, answer: str) -> None:
    warehouse.add_review(NewReview(f"call-{n:02d}", CARD.version, "criterion", "greeted", "ana", answer,
                                   reason=None))


def test_a_criterion_turns_reliable_at_its_twentieth_agreeing_review_and_back(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        for n in range(CALLS):  # the machine says yes to the even calls, no to the odd
            warehouse.save_call(call_record(f"call-{n:02d}", [("greeted", n % 2 == 0, 0.8)]))
        for n in range(19):  # people agree
            _review(warehouse, n, "yes" if n % 2 == 0 else "no")
    assert _trust(db) == (19, 1.0, "not reliable", "reviews")  # too few
    with Warehouse.open(db) as warehouse:
        _review(warehouse, 19, "no")  # the twentieth agreeing review
    assert _trust(db) == (20, 1.0, "reliable", "reviews")
    assert rows(db, "SELECT trust FROM kpi_criteria WHERE criterion_id = 'greeted'") == [("reliable",)]
    with Warehouse.open(db) as warehouse:
        for n in range(20, 28):  # the machine said yes; people say no
            _review(warehouse, n, "no" if n % 2 == 0 else "yes")
    assert _trust(db)[2:] == ("reliable", "reviews")  # 20 of 28 agree: kappa (5/7 - 1/2) / (1/2) = 0.43
    with Warehouse.open(db) as warehouse:
        for n in range(28, 32):
            _review(warehouse, n, "no" if n % 2 == 0 else "yes")
    answers, kappa, trust, source = _trust(db)
    assert (answers, trust, source) == (32, "not reliable", "reviews") and kappa == 0.25  # 20 of 32 agree, half yes on each side: (0.625 - 0.5) / 0.5
    summary = CriterionTrust.from_row(rows_as_dict(db)).summary()
    assert summary == "not reliable yet: kappa 0.25, agreement 62% (from 32 reviews)"


def rows_as_dict(db: Path) -> dict:
    with Warehouse.open(db, read_only=True) as warehouse:
        return warehouse.criterion_trust(CARD.version)["greeted"]


def test_reviews_take_over_from_a_labels_file_and_each_figure_says_its_source(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        warehouse.save_call(call_record("call", [("greeted", True, 0.9), ("verified", False, 0.6)]))
        warehouse.save_agreement([CriterionAgreement("greeted", 40, 0.9, 0.72, 0.6),
                                  CriterionAgreement("verified", 40, 0.8, 0.5, 0.6)],
                                 scorecard_name=CARD.name, scorecard_version=CARD.version, prompt_versions=["p1"],
                                 llm_models=["model.gguf"], labels_file="labels.csv")
        warehouse.add_review(NewReview("call", CARD.version, "criterion", "verified", "ana", "yes",
                                       reason="wrong_verdict"))
    assert rows(db, "SELECT criterion_id, labelled_answers, agreement, trust, source, labels_file FROM criterion_trust"
                    " ORDER BY criterion_id") == [
        ("greeted", 40, 0.9, "reliable", "labels", "labels.csv"),
        ("verified", 1, 0.0, "not reliable", "reviews", None)]
