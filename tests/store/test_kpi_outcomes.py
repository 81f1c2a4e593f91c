"""The views on extraction fields and sentiment (reasons, resolution, customer sentiment per
agent) on a hand-built warehouse with known answers (tests.factories.OUTCOME_CALLS)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.speech.sentiment import segment_sentiment
from pipeline.store.warehouse import Warehouse
from tests.factories import ANGRY_THEN_THANKFUL, CALM_THEN_ANGRY, FIELDS_CARD, OUTCOME_CALLS, call_record
from tests.store.test_kpi import rows


@pytest.fixture
def warehouse(outcome_warehouse_path: Path):
    with Warehouse.open(outcome_warehouse_path, read_only=True) as opened:
        yield opened


def test_extractions_are_stored_per_evaluation_and_not_in_the_qa_score(warehouse: Warehouse) -> None:
    stored = rows(warehouse, "SELECT recording_id, field_id, field_kind, value, confidence, evidence_line "
                             "FROM extractions ORDER BY recording_id, field_id")
    assert len(stored) == 3 + 3 + 2 + 2
    assert stored[:3] == [
        {"recording_id": "O1", "field_id": "outcome", "field_kind": "choice", "value": "resolved", "confidence": 0.9,
         "evidence_line": 5},
        {"recording_id": "O1", "field_id": "reason", "field_kind": "choice", "value": "billing", "confidence": 0.8,
         "evidence_line": 2},
        {"recording_id": "O1", "field_id": "summary", "field_kind": "text", "value": "Bill corrected, refund sent.",
         "confidence": None, "evidence_line": None},
    ]
    calls = rows(warehouse, "SELECT recording_id, qa_score, criteria_passed FROM kpi_calls ORDER BY recording_id")
    assert [(c["qa_score"], c["criteria_passed"]) for c in calls] == [(100.0, 3)] * 4  # the fields count nowhere


def test_reasons_per_day_and_team(warehouse: Warehouse) -> None:
    found = {(r["team"], r["reason"]): r for r in rows(warehouse, "SELECT * FROM kpi_reasons")}
    # O1 was made "1 day ago" when tests.factories was imported, which may be before midnight
    today = (OUTCOME_CALLS[0].facts.started_at + timedelta(days=1)).date()
    assert set(found) == {("billing", "billing"), ("billing", "outage"), ("moves", "billing"), ("moves", "move")}
    billing = found[("billing", "billing")]
    assert (billing["day"], billing["calls"], billing["share"], billing["mean_confidence"]) == (
        today - timedelta(days=1), 1, 0.5, 0.8)
    assert found[("moves", "move")]["day"] == today - timedelta(days=2)
    values = rows(warehouse, "SELECT field_id, sum(calls) AS calls FROM kpi_field_values GROUP BY field_id ORDER BY 1")
    assert values == [{"field_id": "outcome", "calls": 4}, {"field_id": "reason", "calls": 4}]  # no text field


def test_resolution_rate_per_agent_and_per_reason(warehouse: Warehouse) -> None:
    agents = {r["agent"]: r for r in rows(warehouse, "SELECT * FROM kpi_resolution_by_agent")}
    assert {a: (r["calls"], r["resolved"], r["escalated"], r["resolution_rate"]) for a, r in agents.items()} == {
        "sam": (2, 1, 1, 0.5), "alex": (2, 1, 0, 0.5)}
    reasons = {r["reason"]: r for r in rows(warehouse, "SELECT * FROM kpi_resolution_by_reason")}
    assert {k: (r["calls"], r["resolved"], r["resolution_rate"]) for k, r in reasons.items()} == {
        "billing": (2, 2, 1.0), "outage": (1, 0, 0.0), "move": (1, 0, 0.0)}


def test_customer_sentiment_start_against_end_per_agent(warehouse: Warehouse) -> None:
    angry, thankful = segment_sentiment(ANGRY_THEN_THANKFUL[1].text), segment_sentiment(ANGRY_THEN_THANKFUL[-1].text)
    calm, cross = segment_sentiment(CALM_THEN_ANGRY[1].text), segment_sentiment(CALM_THEN_ANGRY[-1].text)
    assert angry < -0.5 < 0.5 < thankful and cross < -0.5 < calm
    calls = {r["recording_id"]: r for r in rows(warehouse, "SELECT * FROM kpi_calls")}
    assert calls["O1"]["customer_sentiment_change"] == pytest.approx(thankful - angry, abs=1e-3)  # happier
    assert calls["O2"]["customer_sentiment_change"] == pytest.approx(cross - calm, abs=1e-3)  # less happy
    assert calls["O4"]["customer_sentiment_change"] is None  # Russian: not measured
    note = rows(warehouse, "SELECT sentiment_note FROM call_metrics WHERE recording_id = 'O4'")[0]["sentiment_note"]
    assert "'ru'" in note
    agents = {r["agent"]: r for r in rows(warehouse, "SELECT * FROM kpi_agent_sentiment")}
    sam, alex = agents["sam"], agents["alex"]
    assert (sam["calls"], sam["measured_calls"], sam["happier_calls"], sam["happier_share"]) == (2, 2, 1, 0.5)
    assert sam["mean_customer_sentiment_first"] == pytest.approx((angry + calm) / 2, abs=1e-3)
    assert sam["mean_customer_sentiment_change"] == pytest.approx((thankful - angry + cross - calm) / 2, abs=1e-3)
    assert (alex["calls"], alex["measured_calls"], alex["happier_share"]) == (2, 1, 1.0)
    quarters = rows(warehouse, "SELECT quarter, sentiment FROM call_sentiment WHERE recording_id = 'O1' "
                               "AND speaker = 'customer' ORDER BY quarter")
    assert [q["quarter"] for q in quarters] == [1, 3, 4]  # the customer said nothing in the second quarter


def test_a_later_evaluation_by_another_llm_replaces_the_answers_in_the_views(outcome_warehouse_path: Path) -> None:
    later = datetime.now(timezone.utc) - timedelta(days=1)
    with Warehouse.open(outcome_warehouse_path) as warehouse:
        warehouse.save_call(call_record("O2", [("greeted", True, 0.9)], card=FIELDS_CARD, agent="sam",
                                        started_at=later, llm_model="bigger.gguf", language="en",
                                        segments=CALM_THEN_ANGRY, extractions=[("reason", "outage", 0.9),
                                                                               ("outcome", "resolved", 0.9)]))
        agents = {r["agent"]: r for r in rows(warehouse, "SELECT * FROM kpi_resolution_by_agent")}
        assert (agents["sam"]["calls"], agents["sam"]["resolved"]) == (2, 2)  # O2's latest evaluation counts
        kept = rows(warehouse, "SELECT count(*) AS answers FROM extractions WHERE recording_id = 'O2'")
        assert kept == [{"answers": 3 + 2}]  # the earlier evaluation's answers are kept
