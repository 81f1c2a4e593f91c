"""KPI views and the bundled supervisor queries on a hand-built warehouse with known answers."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from pipeline.errors import WarehouseError
from pipeline.speech.metrics import compute_metrics
from pipeline.store.named_queries import bundled_queries, set_variables
from pipeline.resources import data_dir
from pipeline.store.warehouse import Warehouse
from tests.conftest import run_cli
from tests.factories import RECENT_CALLS, seg


@pytest.fixture
def warehouse(kpi_warehouse_path: Path):
    with Warehouse.open(kpi_warehouse_path, read_only=True) as opened:
        yield opened


def rows(warehouse: Warehouse, sql: str, variables: dict | None = None) -> list[dict]:
    set_variables(warehouse.connection, variables or {})
    cursor = warehouse.connection.execute(sql)
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def query(warehouse: Warehouse, name: str, **variables) -> list[dict]:
    return rows(warehouse, bundled_queries()[name].sql, variables)


def test_kpi_calls_carry_the_calls_metrics(warehouse: Warehouse) -> None:
    calls = {r["recording_id"]: r for r in rows(warehouse, "SELECT * FROM kpi_calls")}
    a = calls["A"]  # agent 0-6 and 9.5-12, customer 5-9 (starts 1 s over the agent)
    assert (a["qa_score"], a["critical_failed"]) == (100.0, False)
    assert a["conversation_s"] == 12.0 and a["agent_talk_ratio"] == round(8.5 / 12, 4)
    assert (a["customer_interruptions"], a["customer_interruption_s"], a["agent_interruptions"]) == (1, 1.0, 0)
    assert a["speaker_separated"] is True
    b = calls["B"]
    assert (b["qa_score"], b["critical_failed"]) == (66.7, True)
    assert b["non_talk_s"] == 5.0 and b["agent_interruptions"] == 2
    c = calls["C"]  # mono: what needs speakers is NULL
    assert c["speaker_separated"] is False and c["agent_talk_ratio"] is None and c["agent_interruptions"] is None
    assert c["non_talk_s"] == 5.0 and c["qa_score"] == 75.0


def test_kpi_agents(warehouse: Warehouse) -> None:
    agents = {r["agent"]: r for r in rows(warehouse, "SELECT * FROM kpi_agents")}
    sam = agents["sam"]
    # the mean of the calls' exact scores (100 and 66.67), rounded once
    assert (sam["calls"], sam["mean_qa_score"], sam["critical_failed_calls"]) == (2, 83.3, 1)
    assert sam["criterion_pass_rates"] == {"closing": 1.0, "greeted": 1.0, "verified": 0.5}
    assert sam["interruptions_per_call"] == 1.0  # 0 in A, 2 in B
    a_ratio = compute_metrics(RECENT_CALLS[0].transcript.segments).agent.talk_ratio
    b_ratio = compute_metrics(RECENT_CALLS[1].transcript.segments).agent.talk_ratio
    assert sam["mean_talk_ratio"] == round((a_ratio + b_ratio) / 2, 3)
    alex = agents["alex"]  # C is mono: its talk ratio is unknown, not zero
    assert alex["criterion_pass_rates"]["verified"] == 0.0  # C n/a, D failed
    assert alex["mean_talk_ratio"] == compute_metrics(RECENT_CALLS[3].transcript.segments).agent.talk_ratio


def test_kpi_agent_criteria_and_kpi_criteria(warehouse: Warehouse) -> None:
    per = {(r["agent"], r["criterion_id"]): r for r in rows(warehouse, "SELECT * FROM kpi_agent_criteria")}
    assert (per[("alex", "verified")]["not_applicable"], per[("alex", "verified")]["pass_rate"]) == (1, 0.0)
    criteria = {r["criterion_id"]: r for r in rows(warehouse, "SELECT * FROM kpi_criteria")}
    verified = criteria["verified"]
    assert (verified["answers"], verified["passed"], verified["failed"], verified["not_applicable"]) == (5, 2, 2, 1)
    assert (verified["pass_rate"], verified["na_rate"], verified["low_confidence_answers"]) == (0.5, 0.2, 1)
    assert verified["unverified_evidence"] == 1
    assert criteria["greeted"]["mean_confidence"] == pytest.approx((0.9 * 4 + 0.6) / 5, abs=1e-3)


def test_kpi_daily(warehouse: Warehouse) -> None:
    daily = rows(warehouse, "SELECT * FROM kpi_daily WHERE criterion_id = 'verified' ORDER BY day")
    assert [r["calls"] for r in daily] == [1] * 5
    assert [r["pass_rate"] for r in daily] == [0.0, 1.0, None, 0.0, 1.0]  # D, E, C (n/a), B, A


def test_worst_calls_this_week(warehouse: Warehouse) -> None:
    week = query(warehouse, "worst_calls_this_week")
    assert [r["recording_id"] for r in week] == ["B", "C", "A"]  # critical first, then lowest score
    assert week[0]["failed_criteria"] == "verified" and week[1]["failed_criteria"] == "greeted"
    ever = query(warehouse, "worst_calls_this_week", since="2000-01-01", max_calls=2)
    assert [r["recording_id"] for r in ever] == ["D", "B"]


def test_agents_below_target_on_a_criterion(warehouse: Warehouse) -> None:
    below = query(warehouse, "agents_below_target", criterion="verified", target=0.9)
    assert [(r["agent"], r["pass_rate"]) for r in below] == [("alex", 0.0), ("sam", 0.5)]
    assert query(warehouse, "agents_below_target", criterion="verified", target=0.4) == [
        {**below[0], "target": 0.4}]
    assert [r["agent"] for r in query(warehouse, "agents_below_target", criterion="verified", min_calls=2)] == ["sam"]
    assert query(warehouse, "agents_below_target", criterion="closing", since=str(date.today() - timedelta(days=7))) == []


def test_criterion_trend(warehouse: Warehouse) -> None:
    trend = query(warehouse, "criterion_trend", criterion="verified")
    assert [r["week"] for r in trend] == sorted(r["week"] for r in trend)
    assert sum(r["calls"] for r in trend) == 5 and sum(r["passed"] for r in trend) == 2
    monday = date.today() - timedelta(days=date.today().weekday())
    this_week = [r for r in trend if r["week"] == monday]
    this_week_calls = [r for r in RECENT_CALLS if r.facts.started_at.astimezone().date() >= monday]
    assert sum(r["calls"] for r in this_week) == len(this_week_calls)
    assert sum(r["calls"] for r in query(warehouse, "criterion_trend", criterion="verified", weeks=1)) == len(this_week_calls)


def test_calls_to_review(warehouse: Warehouse) -> None:
    review = query(warehouse, "calls_to_review")
    assert [(r["recording_id"], r["criterion_id"], r["answer"]) for r in review] == [
        ("B", "verified", "no"),  # critical failure
        ("C", "greeted", "no"),  # confidence 0.6
    ]
    assert review[0]["critical_failure"] and review[0]["evidence_verified"] is False


def test_every_bundled_query_is_tested_here() -> None:
    names = set(bundled_queries())
    tested = {name for name in names if f'"{name}"' in Path(__file__).read_text()}
    assert names == tested and len(names) >= 4


def test_callscore_sql_runs_bundled_queries_with_variables(kpi_warehouse_path: Path) -> None:
    result = run_cli("sql", "agents_below_target", "--db", str(kpi_warehouse_path), "--var", "criterion=verified",
                     "--var", "target=0.9", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert [r["agent"] for r in json.loads(result.stdout)] == ["alex", "sam"]
    bad = run_cli("sql", "agents_below_target", "--db", str(kpi_warehouse_path), "--var", "target")
    assert bad.exit_code == 2 and "NAME=VALUE" in bad.stderr
    help_text = run_cli("sql", "--help").stdout
    assert all(name in help_text for name in bundled_queries())


def test_an_older_warehouse_is_left_as_it_is_by_reads_and_upgraded_by_callscore_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    connection = duckdb.connect(str(path))  # as callscore with only the first migration left it
    connection.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                       " applied_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp)")
    connection.execute((data_dir("warehouse") / "migrations" / "001_initial.sql").read_text())
    connection.execute("INSERT INTO schema_migrations (version, name) VALUES (1, 'initial')")
    connection.execute("INSERT INTO transcripts (recording_id, whisper_model, segment_count, speech_s) VALUES ('r', 'tiny.en', 2, 7)")
    for i, s in enumerate([seg("agent", 0, 4), seg("customer", 10, 13)]):
        connection.execute("INSERT INTO segments VALUES ('r', 'tiny.en', ?, ?, ?, ?, ?, ?, -0.2, 0.01, 1.2)",
                           [i, s.speaker, s.channel, s.start, s.end, s.text])
    connection.close()
    before = path.read_bytes()
    with pytest.raises(WarehouseError, match="needs upgrading by a writing command: run `callscore upgrade"):
        Warehouse.open(path, read_only=True)
    refused = run_cli("sql", "SELECT 1", "--db", str(path))
    assert refused.exit_code == 2 and "callscore upgrade" in refused.stderr
    assert path.read_bytes() == before and not path.with_name("old.duckdb.wal").exists()  # reads never migrate
    upgraded = run_cli("upgrade", "--db", str(path))
    assert upgraded.exit_code == 0 and "up to date" in upgraded.stderr, upgraded.stderr
    with Warehouse.open(path, read_only=True) as warehouse:
        assert warehouse.pending_migrations() == []
        assert warehouse.connection.execute(
            "SELECT conversation_s, non_talk_s, agent_talk_s FROM call_metrics").fetchall() == [(13.0, 6.0, 4.0)]
