"""An open DuckDB warehouse: ``Warehouse.open`` connects (creating the file and migrating it
when writable), and the class gathers the warehouse's jobs, each in its own module: schema,
writing a call, the KPI tables, reads, and the run ledger."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.errors import WarehouseError
from pipeline.store.warehouse.call_writer import CallWriter
from pipeline.store.warehouse.errors import open_error
from pipeline.store.warehouse.kpi_tables import KpiTables
from pipeline.store.warehouse.reads import Reads
from pipeline.store.warehouse.report_reads import ReportReads
from pipeline.store.warehouse.run_ledger import RunLedger
from pipeline.store.warehouse.schema import Schema


class Warehouse(Schema, CallWriter, KpiTables, Reads, ReportReads, RunLedger):
    """An open DuckDB warehouse. Use as a context manager."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.connection = connection
        self.path = path

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> "Warehouse":
        """Open (creating it and its directory if needed) and bring the schema up to date."""
        path = Path(path)
        if read_only and not path.is_file():
            raise WarehouseError(f"no warehouse at {path}: run `callscore score` first")
        if not read_only:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WarehouseError(f"cannot create the directory for warehouse {path}: {exc.strerror}") from exc
        try:
            connection = duckdb.connect(str(path), read_only=read_only)
        except (duckdb.Error, OSError) as exc:
            raise open_error(path, exc) from exc
        warehouse = cls(connection, path)
        if not read_only:
            warehouse.migrate()
        elif warehouse.pending_migrations():
            # A warehouse written by an older callscore: upgrade it once, then read.
            warehouse.close()
            cls.open(path).close()
            return cls.open(path, read_only=True)
        return warehouse

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    def transaction(self) -> "_Transaction":
        return _Transaction(self.connection)


class _Transaction:
    """BEGIN ... COMMIT, or ROLLBACK if the block raises."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection

    def __enter__(self) -> None:
        self.connection.execute("BEGIN TRANSACTION")

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            self.connection.execute("COMMIT")
            return
        try:
            self.connection.execute("ROLLBACK")
        except duckdb.Error:  # a failed COMMIT or a broken database has rolled back already
            pass
