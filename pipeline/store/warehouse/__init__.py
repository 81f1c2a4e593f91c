"""The DuckDB warehouse, split by job in the way dlt splits its DuckDB destination:

- ``connection``: ``Warehouse``, an open database, and its transactions;
- ``schema``: ordered migrations and the views;
- ``call_writer``: one processed call in one transaction;
- ``kpi_tables``: the KPI summary tables each call's transaction keeps up to date;
- ``reads``: named reads for the procedure, the CLI and the flow;
- ``report_reads``: the figures of the report and the verdicts agreement compares;
- ``run_ledger``: ``runs`` and ``failures``;
- ``records``: the typed values written and read;
- ``errors``: DuckDB's errors mapped to the project's, in one place.
"""

from pipeline.store.warehouse.connection import Warehouse
from pipeline.store.warehouse.records import CallRecord, EvaluationKey, StoredRecording
from pipeline.store.warehouse.schema import Migration, migrations

__all__ = ["CallRecord", "EvaluationKey", "Migration", "StoredRecording", "Warehouse", "migrations"]
