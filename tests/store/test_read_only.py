"""The commands that read the warehouse read it and nothing else: hostile SQL can neither write
nor reach another file, a read never migrates, and a file that is not a callscore warehouse (or
is damaged) is refused as what it is, before anything is written to it."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import duckdb
import pytest

from pipeline.errors import WarehouseBusyError, WarehouseError
from pipeline.store.warehouse import Warehouse
from tests.conftest import held_by_another_process, run_cli


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def other_db(tmp_path: Path) -> Path:
    """Someone else's DuckDB file, next to the warehouse."""
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("CREATE TABLE scores AS SELECT 1 AS x")
    return path


# Each statement is one a hostile .sql file could hold; none may run.
HOSTILE = [
    "COPY (SELECT 1) TO '{victim}'",
    "COPY kpi_calls TO '{tmp}/dump.csv'",
    "ATTACH '{other}' AS o (READ_WRITE); DROP TABLE o.scores",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM '{other}'",
    "EXPORT DATABASE '{tmp}/export'",
    "INSTALL httpfs",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "CREATE TABLE pwned AS SELECT 1",
    "DROP TABLE recordings",
]


@pytest.mark.parametrize("statement", HOSTILE)
def test_sql_reads_the_warehouse_and_nothing_else(statement: str, kpi_warehouse_path: Path, other_db: Path,
                                                  tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    before = {p: _digest(p) for p in (kpi_warehouse_path, other_db, victim)}
    listing = sorted(tmp_path.iterdir())
    sql = statement.format(victim=victim, tmp=tmp_path, other=other_db)
    result = run_cli("sql", sql, "--db", str(kpi_warehouse_path), "--format", "csv")
    assert result.exit_code == 2 and result.stdout == "" and "query failed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert {p: _digest(p) for p in before} == before
    assert sorted(tmp_path.iterdir()) == listing  # nothing new written anywhere


def test_a_query_file_cannot_write_but_the_warehouse_still_answers(kpi_warehouse_path: Path, tmp_path: Path) -> None:
    query = tmp_path / "handed-over.sql"
    query.write_text(f"COPY (SELECT * FROM recordings) TO '{tmp_path / 'leak.csv'}'")
    assert run_cli("sql", str(query), "--db", str(kpi_warehouse_path)).exit_code == 2
    assert not (tmp_path / "leak.csv").exists()
    fine = run_cli("sql", "SELECT count(*) AS n FROM kpi_calls", "--db", str(kpi_warehouse_path), "--format", "csv")
    assert fine.exit_code == 0 and fine.stdout.splitlines() == ["n", "5"]
    with Warehouse.open(kpi_warehouse_path, read_only=True) as warehouse:  # as report, eval and sql open it
        with pytest.raises(duckdb.PermissionException):
            warehouse.query(f"COPY (SELECT 1) TO '{tmp_path / 'x.csv'}'")


def test_a_variable_the_query_does_not_read_is_refused(kpi_warehouse_path: Path) -> None:
    result = run_cli("sql", "agents_below_target", "--db", str(kpi_warehouse_path), "--var", "targte=0.8")
    assert result.exit_code == 2
    assert "reads no variable 'targte'" in result.stderr and "target" in result.stderr


def test_a_foreign_duckdb_file_is_refused_and_left_as_it_was(other_db: Path, tmp_path: Path) -> None:
    before = _digest(other_db)
    for args in (("sql", "SELECT 1"), ("report", "--out", str(tmp_path / "r.html")), ("upgrade",)):
        result = run_cli(*args, "--db", str(other_db))
        assert result.exit_code == 2, args
        assert "is a DuckDB database but not a callscore warehouse (it holds scores)" in result.stderr
    with pytest.raises(WarehouseError, match="not a callscore warehouse"):
        Warehouse.open(other_db)  # a scoring run's open: refused before the first migration
    assert _digest(other_db) == before
    with duckdb.connect(str(other_db), read_only=True) as connection:
        assert connection.execute("SELECT table_name FROM information_schema.tables").fetchall() == [("scores",)]


def test_an_empty_duckdb_file_becomes_a_warehouse_on_a_writing_open(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(WarehouseError, match="needs upgrading by a writing command"):
        Warehouse.open(path, read_only=True)
    Warehouse.open(path).close()
    with Warehouse.open(path, read_only=True) as warehouse:
        assert warehouse.pending_migrations() == []


def _damaged_copy(source: Path, target: Path) -> Path:
    """``source`` with garbage over its data blocks (its header intact)."""
    data = bytearray(source.read_bytes())
    data[12288:] = bytes((i * 37 + 11) % 256 for i in range(len(data) - 12288))
    target.write_bytes(bytes(data))
    return target


def test_a_damaged_warehouse_is_reported_as_damaged_not_busy(kpi_warehouse_path: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(kpi_warehouse_path)) as connection:
        connection.execute("CHECKPOINT")
    damaged = _damaged_copy(kpi_warehouse_path, tmp_path / "damaged.duckdb")
    for read_only in (True, False):
        with pytest.raises(WarehouseError) as caught:
            Warehouse.open(damaged, read_only=read_only)
        assert not isinstance(caught.value, WarehouseBusyError), caught.value
        assert "in use" not in str(caught.value)
    result = run_cli("sql", "SELECT 1", "--db", str(damaged))
    assert result.exit_code == 2 and "in use" not in result.stderr and str(damaged) in result.stderr


def test_a_file_that_is_not_a_database_is_named_so(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database " * 1000)
    with pytest.raises(WarehouseError, match="cannot open warehouse") as caught:
        Warehouse.open(path, read_only=True)
    assert not isinstance(caught.value, WarehouseBusyError)


def test_a_warehouse_held_by_another_process_is_busy(kpi_warehouse_path: Path) -> None:
    with held_by_another_process(kpi_warehouse_path) as holder:
        for read_only in (True, False):
            with pytest.raises(WarehouseBusyError, match=rf"in use by another callscore run \(process {holder.pid}\)"):
                Warehouse.open(kpi_warehouse_path, read_only=read_only)
    deadline = time.monotonic() + 10
    while True:  # the lock goes with the process
        try:
            Warehouse.open(kpi_warehouse_path, read_only=True).close()
            break
        except WarehouseBusyError:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_a_fifo_or_device_as_the_warehouse_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "w.duckdb"
    os.mkfifo(fifo)
    for read_only in (True, False):
        with pytest.raises(WarehouseError):
            Warehouse.open(fifo, read_only=read_only)
    with pytest.raises(WarehouseError, match="not a regular file"):
        Warehouse.open(Path("/dev/zero"))


def test_the_export_s_connection_writes_into_its_folder_and_nowhere_else(kpi_warehouse_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    with Warehouse.open(kpi_warehouse_path, read_only=True, writes_into=folder) as warehouse:
        warehouse.connection.execute(f"COPY (SELECT * FROM kpi_calls) TO '{folder}/calls.parquet' (FORMAT parquet)")
        for statement in (f"COPY (SELECT 1) TO '{tmp_path}/outside.parquet' (FORMAT parquet)",
                          f"COPY (SELECT 1) TO '{folder}/../outside.csv'", "SELECT * FROM read_csv('/etc/passwd')",
                          "SET enable_external_access = true", "SET allowed_directories = ['/']",
                          "INSERT INTO runs (run_id, source, status) VALUES ('x', 'cli', 'running')"):
            with pytest.raises(duckdb.Error):
                warehouse.connection.execute(statement)
    assert (folder / "calls.parquet").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports", "kpi.duckdb"]
