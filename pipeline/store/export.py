"""``callscore export``: the KPI views and the main tables written as Parquet or CSV files, one
per table, so that BI tools and the ``duckdb`` CLI read the figures without opening the
warehouse (and without waiting on the lock a scoring run holds on it).

The warehouse is opened read-only with file access allowed only inside the export folder. Each
file is written beside its final name and renamed into place, so a reader sees the previous
export or the new one, never half a file; ``manifest.json`` lists what was written and the row
counts. A folder is written into only when it is new, empty, or an earlier export.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

import duckdb

from pipeline.errors import SetupError, WarehouseError
from pipeline.files import write_atomically
from pipeline.store.warehouse.connection import Warehouse
from pipeline.store.warehouse.errors import first_line

Format = Literal["parquet", "csv"]
EXPORTED = (
    "kpi_calls", "kpi_agents", "kpi_agent_criteria", "kpi_criteria", "kpi_daily", "latest_scores",
    "kpi_reasons", "kpi_field_values", "kpi_resolution_by_agent", "kpi_resolution_by_reason", "kpi_agent_sentiment",
    "recordings", "transcripts", "segments", "evaluations", "scores", "extractions", "call_metrics",
    "call_sentiment", "criterion_agreement", "failures", "runs",
)
MANIFEST = "manifest.json"


class ExportTargetError(SetupError):
    """The export folder is one callscore must not write into."""


@dataclass(frozen=True)
class ExportedTable:
    name: str
    file: str  # file name inside the export folder
    rows: int


def export_warehouse(db: Path, out: Path, *, fmt: Format = "parquet") -> list[ExportedTable]:
    """Write every table of ``EXPORTED`` from the warehouse at ``db`` into folder ``out``."""
    check_export_target(out)
    if not db.is_file():
        raise WarehouseError(f"no warehouse at {db}: run `callscore score` first")
    out.mkdir(parents=True, exist_ok=True)
    folder = out.resolve()
    with Warehouse.open(db, read_only=True, writes_into=folder) as warehouse:
        written = [_export(warehouse.connection, name, folder, fmt) for name in EXPORTED]
    manifest = {"exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "warehouse": str(db.resolve()),
                "format": fmt, "tables": {t.name: {"file": t.file, "rows": t.rows} for t in written}}
    write_atomically(folder / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode(), durable=False)
    return written


def _export(connection: duckdb.DuckDBPyConnection, name: str, folder: Path, fmt: Format) -> ExportedTable:
    file = f"{name}.{fmt}"
    partial = folder / f".{file}.{os.getpid()}.partial"
    partial.unlink(missing_ok=True)
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    try:
        rows = connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        target = str(partial).replace("'", "''")
        connection.execute(f"COPY (SELECT * FROM {name}) TO '{target}' ({options})")
        partial.replace(folder / file)
    except (duckdb.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise WarehouseError(f"cannot export {name} to {folder}: {first_line(exc)}") from exc
    return ExportedTable(name, file, rows)


def check_export_target(out: Path) -> None:
    """Refuse a link, a file, or a folder that holds anything but an earlier export."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ExportTargetError(f"{out} exists and is not a folder: give export a folder of its own")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise ExportTargetError(f"{out} holds files that are not a callscore export: they are kept;"
                                " give export a new or empty folder")
