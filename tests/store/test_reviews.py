"""Reviews are kept, never edited (the review desk's store, migration 013): every confirmation or
overrule is a row of its own with the machine's answer as it was shown; a reviewer's later review
supersedes theirs in ``reviewed_answers``, and when reviewers differ most of them count."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.review_ledger import NewReview, ReviewError
from tests.conftest import rows
from tests.factories import CARD, FIELDS_CARD, call_record


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as warehouse:
        warehouse.save_call(call_record("call", [("greeted", True, 0.9), ("verified", False, 0.6)]))
    return path


def _review(reviewer: str, answer: str, item: str = "verified", **more) -> NewReview:
    return NewReview("call", CARD.version, "criterion", item, reviewer, answer, **more)


def _counted(db: Path) -> list[tuple]:
    return rows(db, "SELECT item_id, answer, machine_answer, overruled, reviewer, reviewers FROM reviewed_answers"
                    " ORDER BY item_id")


def test_a_review_keeps_the_machines_answer_beside_the_persons(db: Path) -> None:
    with Warehouse.open(db) as warehouse:
        review_id = warehouse.add_review(_review("ana", "yes", reason="wrong_verdict", comment="she did check",
                                                 evidence_line=2))
        kept = warehouse.reviews_of("call")
    assert [(r["review_id"], r["machine_answer"], r["machine_llm_model"], r["answer"], r["reason"], r["comment"],
             r["evidence_line"]) for r in kept] == [
        (review_id, "no", "model.gguf", "yes", "wrong_verdict", "she did check", 2)]
    assert _counted(db) == [("verified", "yes", "no", True, "ana", 1)]


def test_a_later_review_supersedes_the_reviewers_own_and_nothing_is_deleted(db: Path) -> None:
    with Warehouse.open(db) as warehouse:
        warehouse.add_review(_review("ana", "yes", reason="wrong_verdict"))
        warehouse.add_review(_review("ana", "no"))  # on second listen, the machine was right
        warehouse.add_review(_review("ana", "yes", item="greeted"))
    assert rows(db, "SELECT count(*) FROM reviews") == [(3,)]
    assert _counted(db) == [("greeted", "yes", "yes", False, "ana", 1), ("verified", "no", "no", False, "ana", 1)]


def test_when_reviewers_differ_most_of_them_count_then_the_latest(db: Path) -> None:
    with Warehouse.open(db) as warehouse:
        warehouse.add_review(_review("ana", "yes", reason="wrong_verdict"))
        warehouse.add_review(_review("ben", "no"))
        assert [r[1] for r in _counted_while(warehouse)] == ["no"]  # one each: the latest
        warehouse.add_review(_review("cy", "yes", reason="wrong_verdict"))
    assert _counted(db) == [("verified", "yes", "no", True, "cy", 3)]


def _counted_while(warehouse: Warehouse) -> list[tuple]:
    return warehouse.connection.execute("SELECT item_id, answer FROM reviewed_answers").fetchall()


@pytest.mark.parametrize(("review", "error"), [
    (_review("ana", "maybe"), "a criterion's answer is one of yes, no, n.a."),
    (_review("ana", "yes", item="no_such_criterion"), "has no criterion 'no_such_criterion'"),
    (_review("ana", "yes", reason="because"), "a reason is one of"),
    (_review("", "yes"), "a reviewer's name"),
    (_review("ana\x1b[31m", "yes"), "a reviewer's name"),
    (_review("ana", "yes", comment="x" * 2001), "at most 2000 characters"),
    (_review("ana", "yes", evidence_line=0), "an evidence line is 1 or more"),
    (NewReview("call", "v-unknown", "criterion", "verified", "ana", "yes"), "in scorecard version v-unknown"),
])
def test_a_review_that_does_not_fit_the_call_is_refused_and_nothing_stored(db: Path, review: NewReview,
                                                                          error: str) -> None:
    with Warehouse.open(db) as warehouse:
        with pytest.raises(ReviewError, match=error):
            warehouse.add_review(review)
    assert rows(db, "SELECT count(*) FROM reviews") == [(0,)]


def test_hostile_text_is_stored_as_it_was_typed(db: Path) -> None:
    comment = "<script>alert(1)</script>'); DROP TABLE reviews; --"
    with Warehouse.open(db) as warehouse:
        warehouse.add_review(_review("ana", "no", comment=comment))
    assert rows(db, "SELECT comment FROM reviews") == [(comment,)]


def test_a_fields_value_is_reviewed_like_a_verdict(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        warehouse.save_call(call_record("call", [("greeted", True, 0.9)], card=FIELDS_CARD,
                                        extractions=[("reason", "billing", 0.8)]))
        warehouse.add_review(NewReview("call", FIELDS_CARD.version, "field", "reason", "ana", "move",
                                       reason="wrong_verdict"))
        with pytest.raises(ReviewError, match="has no field 'outcome'"):  # the machine gave no outcome
            warehouse.add_review(NewReview("call", FIELDS_CARD.version, "field", "outcome", "ana", "resolved"))
    assert rows(db, "SELECT item_kind, item_id, answer, machine_answer, overruled FROM reviewed_answers") == [
        ("field", "reason", "move", "billing", True)]


def _kpis(db: Path) -> dict[str, list[tuple]]:
    return {
        "calls": rows(db, "SELECT qa_score, machine_qa_score, criteria_passed, criteria_failed, reviewed_answers,"
                          " includes_manual_edits FROM kpi_calls"),
        "criteria": rows(db, "SELECT criterion_id, passed, failed, pass_rate, reviewed_answers, overruled_answers"
                             " FROM kpi_criteria ORDER BY criterion_id"),
        "agents": rows(db, "SELECT mean_qa_score, reviewed_answers, calls_with_manual_edits, criterion_pass_rates"
                           " FROM kpi_agents"),
        "daily": rows(db, "SELECT criterion_id, passed, failed, reviewed_answers, overruled_answers FROM kpi_daily"
                          " ORDER BY criterion_id"),
        "counts": rows(db, "SELECT criterion_id, passed, machine_passed, source, overruled, reviewer"
                           " FROM verdicts_that_count ORDER BY criterion_id"),
    }


def test_the_kpi_views_count_the_answer_people_gave_over_the_machines(db: Path) -> None:
    before = _kpis(db)
    assert before["calls"] == [(33.3, 33.3, 1, 1, 0, False)]  # verified weighs 2
    with Warehouse.open(db) as warehouse:
        warehouse.add_review(_review("ana", "yes", reason="wrong_verdict"))  # verified: no -> yes
        warehouse.add_review(_review("ana", "yes", item="greeted"))  # confirmed
    after = _kpis(db)
    assert after["calls"] == [(100.0, 33.3, 2, 0, 2, True)]
    assert after["criteria"] == [("greeted", 1, 0, 1.0, 1, 0), ("verified", 1, 0, 1.0, 1, 1)]
    assert after["agents"] == [(100.0, 2, 1, {"greeted": 1.0, "verified": 1.0})]
    assert after["daily"] == [("greeted", 1, 0, 1, 0), ("verified", 1, 0, 1, 1)]
    assert after["counts"] == [("greeted", True, True, "review", False, "ana"),
                               ("verified", True, False, "review", True, "ana")]


def test_a_confirmation_counts_as_reviewed_but_not_as_a_manual_edit(db: Path) -> None:
    with Warehouse.open(db) as warehouse:
        warehouse.add_review(_review("ana", "no"))  # verified: the machine said no, rightly
    assert _kpis(db)["calls"] == [(33.3, 33.3, 1, 1, 1, False)]
    assert _kpis(db)["criteria"][1] == ("verified", 0, 1, 0.0, 1, 0)


def test_an_answer_made_not_applicable_leaves_the_qa_score(db: Path) -> None:
    with Warehouse.open(db) as warehouse:
        warehouse.add_review(_review("ana", "n.a.", reason="wrong_verdict"))
    assert _kpis(db)["calls"] == [(100.0, 33.3, 1, 0, 1, True)]
    assert rows(db, "SELECT criteria_na FROM kpi_calls") == [(1,)]


def test_the_same_review_sent_twice_is_stored_once(db: Path) -> None:
    with Warehouse.open(db) as warehouse:
        first = warehouse.add_review(_review("ana", "yes", reason="wrong_verdict", comment="c"))
        again = warehouse.add_review(_review("ana", "yes", reason="wrong_verdict", comment="c"))  # a double click
        changed = warehouse.add_review(_review("ana", "yes", reason="wrong_verdict", comment="c, heard again"))
    assert again == first and changed != first
    assert rows(db, "SELECT count(*) FROM reviews") == [(2,)]
