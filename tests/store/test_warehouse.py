"""The DuckDB warehouse: migrations, one transaction per call, and the KPI views' arithmetic."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from pipeline.errors import PermanentRecordingError, WarehouseError, WarehouseWriteError
from pipeline.resources import data_dir
from pipeline.store.warehouse import CallRecord, EvaluationKey, Warehouse, migrations
from tests.conftest import ROOT, rows
from tests.factories import CARD, call_record, seg

TABLES = {"recordings", "transcripts", "segments", "call_metrics", "evaluations", "scores", "failures", "runs",
          "schema_migrations"}
VIEWS = {"kpi_calls", "kpi_agents", "kpi_agent_criteria", "kpi_criteria", "kpi_daily", "latest_scores"}

def _names(connection: duckdb.DuckDBPyConnection, kind: str) -> set[str]:
    return {row[0] for row in connection.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = ?", [kind]).fetchall()}


def test_migrations_create_every_table_and_view_on_an_empty_database(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "sub" / "new.duckdb") as warehouse:
        assert TABLES <= _names(warehouse.connection, "BASE TABLE")
        assert VIEWS <= _names(warehouse.connection, "VIEW")
        assert warehouse.applied_migrations() == [m.version for m in migrations()]


def test_reopening_applies_nothing_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as warehouse:
        warehouse.connection.execute("INSERT INTO failures (path, stage, error_type, message, transient) VALUES ('a.mp3', 'probe', 'E', 'm', false)")
    with Warehouse.open(path) as warehouse:
        assert warehouse.migrate() == []
        assert warehouse.connection.execute("SELECT count(*) FROM failures").fetchone()[0] == 1


def test_an_existing_database_gets_only_the_new_migrations(tmp_path: Path) -> None:
    shipped = data_dir("warehouse") / "migrations"
    staged = tmp_path / "migrations"
    staged.mkdir()
    for migration in migrations(shipped):
        shutil.copy(migration.path, staged / migration.path.name)
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as warehouse:  # today's schema
        warehouse.connection.execute("INSERT INTO runs (run_id, source, status, started_at) VALUES ('r1', 'cli', 'completed', now())")
        (staged / "900_add_note.sql").write_text("ALTER TABLE runs ADD COLUMN note VARCHAR;")
        assert warehouse.migrate(migrations(staged)) == [900]
        assert warehouse.connection.execute("SELECT run_id, note FROM runs").fetchall() == [("r1", None)]
        assert 900 in warehouse.applied_migrations()


def test_a_process_killed_right_after_creating_the_warehouse_leaves_one_that_opens(tmp_path: Path) -> None:
    """Nothing after the schema's creation is checkpointed: the write-ahead log is all there is.
    DuckDB 1.x cannot replay schema changes such as migration 6's from it, so migrate() commits
    them into the file itself."""
    path = tmp_path / "w.duckdb"
    killed = subprocess.run([sys.executable, "-c", (
        "import os, sys\n"
        "from pipeline.store.warehouse import Warehouse\n"
        "warehouse = Warehouse.open(sys.argv[1])\n"
        "warehouse.connection.execute(\"INSERT INTO runs (run_id, source, status, started_at)"
        " VALUES ('r1', 'cli', 'running', now())\")\n"
        "os._exit(9)  # killed: no checkpoint, no close\n"), str(path)], cwd=ROOT, capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    with Warehouse.open(path) as warehouse:
        assert warehouse.connection.execute("SELECT run_id FROM runs").fetchall() == [("r1",)]
        assert warehouse.pending_migrations() == []


def test_a_database_from_a_newer_callscore_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as warehouse:
        warehouse.connection.execute("INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')")
    with pytest.raises(WarehouseError, match="newer than this callscore knows"):
        Warehouse.open(path)


def test_unusable_database_paths_are_setup_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(WarehouseError, match="cannot create the directory"):
        Warehouse.open(blocker / "w.duckdb")
    with pytest.raises(WarehouseError, match="no warehouse at"):
        Warehouse.open(tmp_path / "missing.duckdb", read_only=True)


def _record(recording_id: str, verdicts: list[tuple[str, bool | None, float]], *, agent: str = "sam",
            day: int = 16, with_transcript: bool = True) -> CallRecord:
    return call_record(recording_id, verdicts, agent=agent, with_transcript=with_transcript,
                       started_at=datetime(2026, 11, day, 9, 0, tzinfo=timezone.utc))


def test_a_call_is_written_in_one_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        def disk_full(self, record):  # fault injected after recordings, transcripts and segments
            raise duckdb.IOException("No space left on device")

        monkeypatch.setattr(Warehouse, "_insert_evaluation", disk_full)
        with pytest.raises(WarehouseWriteError, match="No space left on device"):
            warehouse.save_call(_record("r1", [("greeted", True, 0.9), ("verified", True, 0.9), ("closing", True, 0.9)]))
        for table in ("recordings", "transcripts", "segments", "call_metrics", "evaluations", "scores"):
            assert warehouse.connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_kpi_views_follow_the_definitions(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        # Weights: greeted 1, verified 2 (critical, may be n/a), closing 3.
        warehouse.save_call(_record("all-pass", [("greeted", True, 0.9), ("verified", True, 0.8), ("closing", True, 0.7)]))
        warehouse.save_call(_record("na", [("greeted", False, 0.6), ("verified", None, 0.9), ("closing", True, 0.95)], agent="alex"))
        warehouse.save_call(_record("critical", [("greeted", True, 0.9), ("verified", False, 0.5), ("closing", True, 0.9)], day=17))
        calls = dict(warehouse.connection.execute(
            "SELECT recording_id, (qa_score, critical_failed, criteria_na) FROM kpi_calls").fetchall())
        assert calls["all-pass"] == (100.0, False, 0)
        assert calls["na"] == (75.0, False, 1)  # 3 / (1 + 3): n/a leaves the denominator
        assert calls["critical"] == (66.7, True, 0)  # 4 / 6, and a critical criterion failed

        agents = dict(warehouse.connection.execute("SELECT agent, (calls, mean_qa_score, critical_failed_calls) FROM kpi_agents").fetchall())
        # the mean of the exact scores 100 and 66.67 (83.33), not of the rounded 100.0 and 66.7 (83.35)
        assert agents == {"sam": (2, 83.3, 1), "alex": (1, 75.0, 0)}

        criteria = {row[0]: row[1:] for row in warehouse.connection.execute(
            "SELECT criterion_id, answers, pass_rate, na_rate, mean_confidence, low_confidence_answers FROM kpi_criteria").fetchall()}
        assert criteria["verified"] == (3, 0.5, 0.333, pytest.approx(0.733, abs=1e-3), 1)
        assert criteria["greeted"][1] == pytest.approx(0.667, abs=1e-3)

        daily = warehouse.connection.execute(
            "SELECT day, calls, pass_rate FROM kpi_daily WHERE criterion_id = 'greeted' ORDER BY day").fetchall()
        assert [(str(d), c, r) for d, c, r in daily] == [("2026-11-16", 2, 0.5), ("2026-11-17", 1, 1.0)]


def test_kpi_figures_round_half_away_from_zero_on_every_duckdb(tmp_path: Path) -> None:
    """DuckDB 2 rounds a DOUBLE by its binary value (83.35 is held as 83.34999...: 83.3), DuckDB 1
    did not (83.4); kpi_round gives the decimal answer on both."""
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        figures = warehouse.connection.execute(
            "SELECT kpi_round(83.35::DOUBLE, 1), kpi_round(2.675::DOUBLE, 2), kpi_round(-1.15::DOUBLE, 1),"
            " kpi_round(2 / 3, 3), kpi_round(NULL::DOUBLE, 1), typeof(kpi_round(1.25::DOUBLE, 1))").fetchone()
    assert figures == (83.4, 2.68, -1.2, 0.667, None, "DOUBLE")


def test_migration_7_refills_call_scores_with_unrounded_figures(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as warehouse:
        warehouse.save_call(_record("all-pass", [("greeted", True, 0.9), ("verified", True, 0.8), ("closing", True, 0.7)]))
        warehouse.save_call(_record("critical", [("greeted", True, 0.9), ("verified", False, 0.5), ("closing", True, 0.9)]))
        # as migration 6 left a warehouse: figures rounded where they were stored
        warehouse.connection.execute("UPDATE call_scores SET qa_score = round(qa_score, 1), mean_confidence = round(mean_confidence, 3)")
        warehouse.connection.execute("DELETE FROM schema_migrations WHERE version = 7")
    with Warehouse.open(path) as warehouse:
        assert 7 in warehouse.applied_migrations()
        stored = dict(warehouse.connection.execute("SELECT recording_id, qa_score FROM call_scores").fetchall())
        assert stored["critical"] == pytest.approx(400 / 6, abs=1e-9)
        assert warehouse.connection.execute("SELECT mean_qa_score FROM kpi_agents").fetchall() == [(83.3,)]


def test_kpi_calls_shows_the_latest_evaluation_of_a_scorecard_version(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        warehouse.save_call(_record("r1", [("greeted", False, 0.9), ("verified", False, 0.9), ("closing", False, 0.9)]))
        later = _record("r1", [("greeted", True, 0.9), ("verified", True, 0.9), ("closing", True, 0.9)], with_transcript=False)
        later = CallRecord(**{**later.__dict__, "key": EvaluationKey("r1", "tiny.en", CARD.version, "p1", "bigger.gguf")})
        warehouse.save_call(later)
        assert warehouse.connection.execute("SELECT llm_model, qa_score FROM kpi_calls").fetchall() == [("bigger.gguf", 100.0)]


def test_a_call_staged_with_a_transcript_already_stored_keeps_the_stored_one(tmp_path: Path) -> None:
    """A second evaluation that arrives with a new transcript by the same Whisper model (a result
    staged by a run that transcribed again) is stored, and the first transcript stays as it was."""
    db = tmp_path / "w.duckdb"
    first = call_record("r1", [("greeted", True, 0.9), ("verified", True, 0.8), ("closing", True, 0.7)])
    again = call_record("r1", [("greeted", False, 0.6), ("verified", True, 0.8), ("closing", True, 0.7)],
                        segments=(seg("agent", 0.0, 1.0, "a different hearing"),), llm_model="other.gguf")
    with Warehouse.open(db) as warehouse:
        warehouse.save_call(first)
        warehouse.save_call(again)
        assert warehouse.stored_transcript("r1", "tiny.en") == first.transcript.segments
    assert rows(db, "SELECT count(*) FROM transcripts") == [(1,)]
    assert rows(db, "SELECT llm_model FROM evaluations ORDER BY evaluation_id") == [("model.gguf",), ("other.gguf",)]


def test_a_row_the_schema_refuses_fails_that_call_alone(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    record = call_record("r1", [("greeted", True, 0.9), ("verified", True, 0.8), ("closing", True, 0.7)])
    with Warehouse.open(db) as warehouse:
        warehouse.save_call(record)
        with pytest.raises(PermanentRecordingError, match="the warehouse refused the call") as refused:
            warehouse.save_call(record)  # the same evaluation twice: its key is taken
    assert refused.value.stage == "store"
    assert rows(db, "SELECT count(*) FROM evaluations") == [(1,)]
