"""Only trusted criteria in the score, when asked (scorecard ``score_only_reliable``): the views
add qa_score_reliable, the QA score over the criteria marked reliable, beside qa_score; a
scorecard that does not ask gets NULL, and the latest run's scorecard decides."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from pipeline.report.call_view import load_call
from pipeline.report.html_report import collect, render
from pipeline.scoring.scorecard import parse_scorecard
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.agreement_ledger import CriterionAgreement
from pipeline.store.warehouse.review_ledger import NewReview
from tests.conftest import rows
from tests.factories import CARD, CARD_YAML, call_record


def _run(warehouse: Warehouse, run_id: str, *, only_reliable: bool) -> None:
    warehouse.start_run(run_id=run_id, source="score", started_at=datetime.now(timezone.utc), models={
        "whisper_model": "tiny.en", "llm_model": "model.gguf", "scorecard_name": CARD.name,
        "scorecard_version": CARD.version, "prompt_version": "p1", "score_only_reliable": only_reliable})


def _calls(db: Path) -> list[tuple]:
    return rows(db, "SELECT recording_id, qa_score, qa_score_reliable FROM kpi_calls ORDER BY recording_id")


def test_the_reliable_score_counts_only_the_reliable_criteria_and_only_when_the_scorecard_asks(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        # weights: greeted 1, verified 2, closing 3
        warehouse.save_call(call_record("a", [("greeted", True, 0.9), ("verified", False, 0.9), ("closing", True, 0.9)]))
        warehouse.save_call(call_record("b", [("greeted", False, 0.9), ("verified", None, 0.9), ("closing", True, 0.9)]))
        warehouse.save_agreement([CriterionAgreement("greeted", 40, 0.9, 0.7, 0.6),
                                  CriterionAgreement("verified", 40, 0.6, 0.1, 0.6),
                                  CriterionAgreement("closing", 40, 0.95, 0.8, 0.6)],
                                 scorecard_name=CARD.name, scorecard_version=CARD.version, prompt_versions=["p1"],
                                 llm_models=["model.gguf"], labels_file="labels.csv")
        _run(warehouse, "r1", only_reliable=False)
    assert _calls(db) == [("a", 66.7, None), ("b", 75.0, None)]  # not asked for
    with Warehouse.open(db) as warehouse:
        _run(warehouse, "r2", only_reliable=True)
    assert _calls(db) == [("a", 66.7, 100.0), ("b", 75.0, 75.0)]  # verified (not reliable) left out
    assert rows(db, "SELECT mean_qa_score, mean_qa_score_reliable FROM kpi_agents") == [(70.8, 87.5)]
    with Warehouse.open(db, read_only=True) as warehouse:  # the call page, `show` and the report show it
        assert load_call(warehouse, "a").qa_score_reliable == 100.0
        page = render(collect(warehouse))
    assert "Reliable criteria only" in page and "(reliable only 87.5)" in page
    with Warehouse.open(db) as warehouse:
        warehouse.add_review(NewReview("a", CARD.version, "criterion", "closing", "ana", "no", reason=None))
    # closing's trust now comes from its one review (not reliable): it leaves the reliable score
    assert _calls(db) == [("a", 16.7, 100.0), ("b", 75.0, 0.0)]
    with Warehouse.open(db) as warehouse:
        _run(warehouse, "r3", only_reliable=False)  # the latest run's scorecard no longer asks
    assert _calls(db) == [("a", 16.7, None), ("b", 75.0, None)]


def test_a_reviewed_answer_counts_in_the_reliable_score(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        for n in range(20):  # greeted: 20 reviews that agree with the machine, half yes, half no
            warehouse.save_call(call_record(f"c{n:02d}", [("greeted", n % 2 == 0, 0.9), ("closing", True, 0.9)]))
            warehouse.add_review(NewReview(f"c{n:02d}", CARD.version, "criterion", "greeted", "ana",
                                           "yes" if n % 2 == 0 else "no", reason=None))
        warehouse.save_call(call_record("z", [("greeted", True, 0.9), ("closing", True, 0.9)]))
        _run(warehouse, "r1", only_reliable=True)
    assert rows(db, "SELECT qa_score, qa_score_reliable FROM kpi_calls WHERE recording_id = 'z'") == [(100.0, 100.0)]
    with Warehouse.open(db) as warehouse:  # the twenty-first review overrules the machine on z
        warehouse.add_review(NewReview("z", CARD.version, "criterion", "greeted", "ana", "no", reason=None))
    # 20 of 21 agree: still reliable; z's reliable score is its reviewed greeting, failed
    assert rows(db, "SELECT trust FROM criterion_trust WHERE criterion_id = 'greeted'") == [("reliable",)]
    assert rows(db, "SELECT qa_score, qa_score_reliable FROM kpi_calls WHERE recording_id = 'z'") == [(75.0, 0.0)]


def test_the_switch_leaves_the_scorecard_version_as_it_is() -> None:
    asking = parse_scorecard(CARD_YAML + "score_only_reliable: true\n")
    assert asking.score_only_reliable and not CARD.score_only_reliable
    assert asking.version == CARD.version
