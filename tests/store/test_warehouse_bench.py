"""The warehouse bench's synthetic calls (bench/warehouse.py) against the KPI views: the views agree
with counts taken straight from the base tables, and the tables behind the views (call_scores,
criterion_totals), kept up to date by each write, agree with building them afresh."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest

from bench.warehouse import (
    AGENTS, CARD, EARLIER_LLM_MODEL, LLM_MODEL, OLD_CARD, OUTCOMES, REASONS, TEAMS, ExecutemanyWarehouse, analyst_queries, generate,
    rescored_records, run, synthetic_records,
)
from pipeline.store.warehouse import Warehouse, migrations

CALLS = 300

# The KPI definitions as the first views had them, straight from the base tables: each recording's
# latest evaluation (by evaluated_at, then llm_model) of each scorecard's current version.
LATEST_SCORES = """
WITH ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY recording_id, scorecard_version ORDER BY evaluated_at DESC, llm_model) AS rank
    FROM evaluations WHERE status = 'scored'
), current_version AS (
    SELECT scorecard_name, arg_max(scorecard_version, evaluated_at) AS scorecard_version
    FROM evaluations WHERE status = 'scored' GROUP BY scorecard_name
)
SELECT s.*, r.agent, CAST(r.started_at AS DATE) AS call_date
FROM ranked AS e
JOIN scores AS s USING (recording_id, whisper_model, scorecard_version, prompt_version, llm_model)
JOIN recordings AS r USING (recording_id)
JOIN current_version AS c ON c.scorecard_name = e.scorecard_name AND c.scorecard_version = e.scorecard_version
WHERE e.rank = 1
"""
CALLS_DIRECT = f"""
SELECT recording_id, any_value(llm_model) AS llm_model,
       round(100 * coalesce(sum(weight) FILTER (WHERE passed), 0)
             / nullif(sum(weight) FILTER (WHERE passed IS NOT NULL), 0), 1) AS qa_score,
       coalesce(bool_or(critical AND passed = false), false) AS critical_failed,
       count(*) FILTER (WHERE passed IS NULL) AS criteria_na
FROM ({LATEST_SCORES}) GROUP BY recording_id
"""
CRITERIA_DIRECT = f"""
SELECT criterion_id, count(*), count(*) FILTER (WHERE passed), count(*) FILTER (WHERE passed = false),
       count(*) FILTER (WHERE passed IS NULL), count(*) FILTER (WHERE confidence < 0.7)
FROM ({LATEST_SCORES}) GROUP BY criterion_id
"""
AGENT_CRITERIA_DIRECT = f"""
SELECT agent, criterion_id, count(*), count(*) FILTER (WHERE passed), count(*) FILTER (WHERE passed = false)
FROM ({LATEST_SCORES}) GROUP BY agent, criterion_id
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "calls.duckdb"
    with Warehouse.open(path) as warehouse:
        result = generate(warehouse, CALLS)
    assert result.calls == CALLS and result.rows["recordings"] == CALLS
    return path


@pytest.fixture
def warehouse(generated: Path, tmp_path: Path):
    path = tmp_path / "calls.duckdb"
    shutil.copy(generated, path)
    with Warehouse.open(path) as opened:
        yield opened


def rows(warehouse: Warehouse, sql: str, parameters: list | None = None) -> list[tuple]:
    return warehouse.connection.execute(sql, parameters or []).fetchall()


def assert_views_match_the_base_tables(warehouse: Warehouse) -> None:
    views = {r[0]: r[1:] for r in rows(warehouse, "SELECT recording_id, llm_model, qa_score, critical_failed, criteria_na"
                                                  " FROM kpi_calls")}
    direct = {r[0]: r[1:] for r in rows(warehouse, CALLS_DIRECT)}
    assert views == direct
    assert rows(warehouse, "SELECT criterion_id, answers, passed, failed, not_applicable, low_confidence_answers"
                           " FROM kpi_criteria ORDER BY ALL") == rows(warehouse, f"{CRITERIA_DIRECT} ORDER BY ALL")
    assert rows(warehouse, "SELECT agent, criterion_id, calls, passed, failed FROM kpi_agent_criteria ORDER BY ALL") == rows(
        warehouse, f"{AGENT_CRITERIA_DIRECT} ORDER BY ALL")


def assert_kpi_tables_as_rebuilt(warehouse: Warehouse) -> None:
    kept = {table: rows(warehouse, f"SELECT * FROM {table} ORDER BY ALL") for table in ("call_scores", "criterion_totals")}
    warehouse.rebuild_kpi_tables()
    for table, before in kept.items():
        assert rows(warehouse, f"SELECT * FROM {table} ORDER BY ALL") == before, table


def test_the_synthetic_calls_have_the_cases_the_views_must_handle(warehouse: Warehouse) -> None:
    statuses = dict(rows(warehouse, "SELECT status, count(*) FROM evaluations GROUP BY status"))
    assert statuses["no_speech"] == CALLS // 100
    versions = dict(rows(warehouse, "SELECT scorecard_version, count(*) FROM evaluations WHERE status = 'scored' GROUP BY ALL"))
    assert set(versions) == {CARD.version, OLD_CARD.version} and versions[OLD_CARD.version] < versions[CARD.version] * 0.2
    assert rows(warehouse, "SELECT count(*) FROM evaluations WHERE llm_model = ?", [EARLIER_LLM_MODEL])[0][0] > 0
    scored = sum(versions.values())
    answers = rows(warehouse, "SELECT count(*) FROM scores GROUP BY evaluation_id")
    assert {n for (n,) in answers} == {len(CARD.criteria)}
    assert rows(warehouse, "SELECT count(*) FROM scores WHERE evaluation_id IS NULL") == [(0,)]
    agents, teams = rows(warehouse, "SELECT count(DISTINCT agent), count(DISTINCT team) FROM recordings")[0]
    assert 40 <= agents <= AGENTS and teams == len(TEAMS)
    na = dict(rows(warehouse, "SELECT criterion_id, count(*) FROM scores WHERE passed IS NULL GROUP BY ALL"))
    assert set(na) == {c.id for c in CARD.criteria if c.allow_na}
    fields = rows(warehouse, "SELECT field_id, count(DISTINCT value), count(*) FROM extractions GROUP BY ALL ORDER BY 1")
    assert fields == [("outcome", len(OUTCOMES), scored), ("reason", len(REASONS), scored)]  # each scored evaluation's
    assert rows(warehouse, "SELECT count(*) FROM kpi_resolution_by_agent")[0][0] >= 40
    first, last = rows(warehouse, "SELECT min(started_at), max(started_at) FROM recordings")[0]
    now = datetime.now(timezone.utc)
    assert now - timedelta(days=367) < first and last < now and last - first > timedelta(days=300)


def test_kpi_calls_has_each_call_of_the_current_version_once(warehouse: Warehouse) -> None:
    (scored,) = rows(warehouse, "SELECT count(DISTINCT recording_id) FROM evaluations WHERE status = 'scored'"
                                " AND scorecard_version = ?", [CARD.version])[0]
    calls = rows(warehouse, "SELECT recording_id, scorecard_version, llm_model, qa_score FROM kpi_calls")
    assert len(calls) == scored == len({c[0] for c in calls})
    assert {c[1] for c in calls} == {CARD.version}  # the old version's evaluations stay in version_scores only
    assert {c[2] for c in calls} == {LLM_MODEL}  # a call scored twice counts with its later evaluation
    assert all(0 <= c[3] <= 100 for c in calls)
    assert rows(warehouse, "SELECT count(DISTINCT scorecard_version) FROM version_scores") == [(2,)]
    assert_views_match_the_base_tables(warehouse)
    (agents_calls,) = rows(warehouse, "SELECT sum(calls) FROM kpi_agents")[0]
    (daily_answers,) = rows(warehouse, "SELECT sum(calls) FROM kpi_daily")[0]
    assert agents_calls == len(calls) and daily_answers == len(calls) * len(CARD.criteria)


def test_writes_keep_the_kpi_tables_as_a_rebuild_would(warehouse: Warehouse) -> None:
    for record in synthetic_records(4, prefix="new"):  # recordings met for the first time
        warehouse.save_call(record)
    for record in rescored_records(warehouse, 3):  # scored again by another LLM: now the latest
        warehouse.save_call(record)
    moved = rescored_records(warehouse, 5)[4]  # delivered again, now with another agent
    moved = dataclasses.replace(moved, key=dataclasses.replace(moved.key, llm_model="third.gguf"),
                                facts=dataclasses.replace(moved.facts, agent="agent_77"))
    warehouse.save_call(moved)
    assert rows(warehouse, "SELECT count(*) FROM kpi_calls WHERE llm_model LIKE 'rescore-%'") == [(3,)]
    assert rows(warehouse, "SELECT agent, llm_model FROM kpi_calls WHERE recording_id = ?",
                [moved.key.recording_id]) == [("agent_77", "third.gguf")]
    assert_views_match_the_base_tables(warehouse)
    assert_kpi_tables_as_rebuilt(warehouse)


def test_the_baseline_write_path_stores_the_same_rows(tmp_path: Path) -> None:
    records = synthetic_records(3)
    stored = []
    for cls in (Warehouse, ExecutemanyWarehouse):
        with cls.open(tmp_path / f"{cls.__name__}.duckdb") as warehouse:
            for record in records:
                warehouse.save_call(record)
            stored.append((rows(warehouse, "SELECT * FROM segments ORDER BY ALL"),
                           rows(warehouse, "SELECT * EXCLUDE (scored_at) FROM scores ORDER BY ALL")))
    assert stored[0] == stored[1]
    segments, scores = stored[0]
    assert len(segments) == 3 * 40 and len(scores) == 3 * len(CARD.criteria)
    assert segments[0][:5] == (records[0].key.recording_id, records[0].key.whisper_model, 0, "agent", 0)


def test_a_warehouse_from_before_the_kpi_tables_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as connection:  # as callscore left it before migration 6
        Warehouse(connection, path).applied_migrations()
        for migration in migrations():
            if migration.version < 6:
                connection.execute(migration.path.read_text(encoding="utf-8"))
                connection.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                                   [migration.version, migration.name])
        connection.execute("INSERT INTO recordings (recording_id, path, file_name, size_bytes, agent, started_at)"
                           " VALUES ('r1', '/a/r1.mp3', 'r1.mp3', 1, 'sam', '2026-11-02 10:00:00+00'),"
                           " ('r2', '/a/r2.mp3', 'r2.mp3', 1, NULL, '2026-11-03 10:00:00+00')")
        for recording_id, llm_model, at in (("r1", "a.gguf", "09:00"), ("r1", "b.gguf", "10:00"), ("r2", "a.gguf", "09:00")):
            connection.execute(
                "INSERT INTO evaluations (recording_id, whisper_model, scorecard_version, prompt_version, llm_model,"
                " scorecard_name, status, evaluated_at) VALUES (?, 'tiny.en', 'v1', 'p1', ?, 'card', 'scored', ?)",
                [recording_id, llm_model, f"2026-11-05 {at}:00+00"])
            for criterion, weight, passed in (("greeted", 1, llm_model == "b.gguf"), ("verified", 3, True)):
                connection.execute(
                    "INSERT INTO scores (recording_id, whisper_model, scorecard_version, prompt_version, llm_model,"
                    " scorecard_name, criterion_id, weight, critical, passed, confidence, criterion_kind)"
                    " VALUES (?, 'tiny.en', 'v1', 'p1', ?, 'card', ?, ?, false, ?, 0.9, 'llm')",
                    [recording_id, llm_model, criterion, weight, passed])
    Warehouse.open(path).close()  # a writing open upgrades it (a read-only one refuses)
    with Warehouse.open(path, read_only=True) as warehouse:
        assert warehouse.pending_migrations() == []
        assert rows(warehouse, "SELECT count(*) FROM scores WHERE evaluation_id IS NULL") == [(0,)]
        assert rows(warehouse, "SELECT recording_id, llm_model, qa_score FROM kpi_calls ORDER BY ALL") == [
            ("r1", "b.gguf", 100.0), ("r2", "a.gguf", 75.0)]
        assert rows(warehouse, "SELECT agent, criterion_id, calls, passed FROM kpi_agent_criteria ORDER BY ALL") == [
            ("sam", "greeted", 1, 1), ("sam", "verified", 1, 1), (None, "greeted", 1, 0), (None, "verified", 1, 1)]
        assert_views_match_the_base_tables(warehouse)


def test_run_measures_every_query_and_gives_json(tmp_path: Path) -> None:
    bench = run([CALLS], tmp_path, writes=False, log=lambda line: None)
    (size,) = bench.sizes
    assert [q.name for q in size.queries] == [name for name, _, _ in analyst_queries()]
    assert {"kpi_agents", "kpi_criteria", "queries/worst_calls_this_week.sql"} <= {q.name for q in size.queries}
    assert all(q.seconds > 0 for q in size.queries) and size.queries[0].rows > 0
    data = json.loads(json.dumps(bench.as_dict()))
    assert data["sizes"][0]["calls"] == CALLS and "under_target" in data["sizes"][0]["queries"][0]
    assert "kpi_agents" in bench.markdown()
