"""An open DuckDB warehouse: ``Warehouse.open`` connects (creating the file and migrating it
when writable; read-only, it reads nothing but the warehouse), and the class gathers the
warehouse's jobs, each in its own module: schema, writing a call, the KPI tables, reads, the
agreement, review, reviewer and calibration ledgers, and the run ledger."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipeline.errors import WarehouseError
from pipeline.store.warehouse.agreement_ledger import AgreementLedger
from pipeline.store.warehouse.calibration_ledger import CalibrationLedger
from pipeline.store.warehouse.call_reads import CallReads
from pipeline.store.warehouse.call_writer import CallWriter
from pipeline.store.warehouse.errors import first_line, open_error
from pipeline.store.warehouse.kpi_tables import KpiTables
from pipeline.store.warehouse.reads import Reads
from pipeline.store.warehouse.review_ledger import ReviewLedger
from pipeline.store.warehouse.review_queue import ReviewQueue
from pipeline.store.warehouse.reviewer_ledger import ReviewerLedger
from pipeline.store.warehouse.report_reads import ReportReads
from pipeline.store.warehouse.run_ledger import RunLedger
from pipeline.store.warehouse.schema import Schema

# A read-only connection reads the warehouse and nothing else: no file outside it is read or
# written (COPY ... TO, ATTACH, read_csv, glob, EXPORT DATABASE), no extension is installed or
# loaded, and no statement can change these settings back.
READ_ONLY_CONFIG = {
    "enable_external_access": False,
    "allow_persistent_secrets": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}


class Warehouse(Schema, CallWriter, KpiTables, Reads, ReportReads, CallReads, AgreementLedger, ReviewLedger,
                ReviewerLedger, CalibrationLedger, ReviewQueue, RunLedger):
    """An open DuckDB warehouse. Use as a context manager."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.connection = connection
        self.path = path

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False, writes_into: Path | None = None,
             migrate: bool = True) -> "Warehouse":
        """Open for writing (creating the file and its directory if needed, and bringing the schema
        up to date), or read-only: then nothing is written, not even a migration, and the
        connection can read this warehouse and nothing else (``READ_ONLY_CONFIG``). A DuckDB file
        that is not a callscore warehouse is refused before anything is written to it.
        ``writes_into``: a folder a read-only connection may write files into (the export's).
        ``migrate=False``: a writer that brought the schema up to date on an earlier open skips
        it (and the views' re-creation). Commands take the warehouse through
        ``pipeline.store.warehouse.access``, which waits while another process holds it."""
        path = Path(path)
        if read_only and not path.is_file():
            raise WarehouseError(f"no warehouse at {path}: run `callscore score` first")
        if path.exists() and not path.is_file():
            raise WarehouseError(f"warehouse {path} is not a regular file: give --db a file path")
        if not read_only:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WarehouseError(f"cannot create the directory for warehouse {path}: {exc.strerror}") from exc
        try:
            connection = _connect(path, read_only, writes_into)
        except (duckdb.Error, OSError) as exc:
            raise open_error(path, exc, read_only=read_only) from exc
        warehouse = cls(connection, path)
        try:
            warehouse.check_is_callscore()
            if not read_only and migrate:
                warehouse.migrate()
            elif warehouse.pending_migrations():
                raise WarehouseError(
                    f"warehouse {path} was written by an older callscore and needs upgrading by a writing command: "
                    f"run `callscore upgrade --db {path}` once"
                )
        except BaseException as exc:
            warehouse.close()
            if isinstance(exc, duckdb.Error):  # e.g. a damaged block, found by the first read
                raise WarehouseError(f"cannot read warehouse {path}: {first_line(exc)}") from exc
            raise
        return warehouse

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    def transaction(self) -> "_Transaction":
        return _Transaction(self.connection)


def _connect(path: Path, read_only: bool, writes_into: Path | None) -> duckdb.DuckDBPyConnection:
    if not read_only:
        return duckdb.connect(str(path))
    if writes_into is None:
        return duckdb.connect(str(path), read_only=True, config=READ_ONLY_CONFIG)
    # DuckDB takes allowed_directories only once started, and only while external access is on.
    later = ("enable_external_access", "lock_configuration")
    connection = duckdb.connect(str(path), read_only=True,
                                config={k: v for k, v in READ_ONLY_CONFIG.items() if k not in later})
    try:
        connection.execute("SET allowed_directories = ?", [[str(writes_into.resolve()) + os.sep]])
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")
    except BaseException:
        connection.close()
        raise
    return connection


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
