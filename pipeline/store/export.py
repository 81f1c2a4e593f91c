"""``callscore export``: the KPI views and the main tables written as Parquet or CSV files, one
per table, so that BI tools and the ``duckdb`` CLI read the figures without opening the
warehouse (and without waiting on the lock a scoring run holds on it).

The warehouse is opened read-only with file access allowed only inside the export folder. Each
file is written beside its final name and renamed into place, so a reader sees the previous
export or the new one, never half a file; ``manifest.json`` lists what was written and the row
counts. A folder is written into only when it is new, empty, or an earlier export (recognised by
its manifest's marker and by holding nothing else), by one export at a time (a lock file in it).
Table files of the other format an earlier export left are removed. In CSV, a text cell that a
spreadsheet would run as a formula is written with a leading quote.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Callable, Iterator, Literal

import duckdb

from pipeline.errors import SetupError, WarehouseError
from pipeline.files import write_atomically
from pipeline.config import LOCK_WAIT_S as WAREHOUSE_WAIT_S  # the setting lock_wait_s's default
from pipeline.store.warehouse.access import open_waiting
from pipeline.store.warehouse.errors import first_line

Format = Literal["parquet", "csv"]
FORMATS = ("parquet", "csv")
EXPORTED = (
    "kpi_calls", "kpi_agents", "kpi_agent_criteria", "kpi_criteria", "kpi_daily", "latest_scores",
    "kpi_reasons", "kpi_field_values", "kpi_resolution_by_agent", "kpi_resolution_by_reason", "kpi_agent_sentiment",
    "recordings", "transcripts", "segments", "evaluations", "scores", "extractions", "call_metrics",
    "call_sentiment", "criterion_agreement", "failures", "runs",
)
MANIFEST = "manifest.json"
WRITTEN_BY = "callscore export"  # the manifest's marker: callscore wrote this folder
OLDER_MANIFEST_KEYS = {"exported_at", "warehouse", "format", "tables"}  # an export written before the marker
MANIFEST_MAX_BYTES = 1 << 20
LOCK_FILE = ".callscore-export.lock"
LOCK_WAIT_S = 60.0  # how long an export waits while another one writes into the same folder
FORMULA_START = r"'^[-=+@\t\r]'"  # (a DuckDB regex) how a cell a spreadsheet would run as a formula starts


class ExportTargetError(SetupError):
    """The export folder is one callscore must not write into."""


@dataclass(frozen=True)
class ExportedTable:
    name: str
    file: str  # file name inside the export folder
    rows: int


def export_warehouse(db: Path, out: Path, *, fmt: Format = "parquet", lock_wait_s: float = LOCK_WAIT_S,
                     warehouse_wait_s: float = WAREHOUSE_WAIT_S,
                     note: Callable[[str], None] | None = None) -> list[ExportedTable]:
    """Write every table of ``EXPORTED`` from the warehouse at ``db`` into folder ``out``. One
    export at a time writes into a folder; the next waits up to ``lock_wait_s`` seconds, and
    then for the warehouse while a run writes it up to ``warehouse_wait_s`` (``access``)."""
    check_export_target(out)
    if not db.is_file():
        raise WarehouseError(f"no warehouse at {db}: run `callscore score` first")
    folder = out.resolve()
    with _held_folder(out, lock_wait_s), open_waiting(db, read_only=True, wait_s=warehouse_wait_s,
                                                      writes_into=folder, note=note) as warehouse:
        check_export_target(out)  # again: another export may have finished in it while this one waited
        written = [_export(warehouse.connection, name, folder, fmt) for name in EXPORTED]
        manifest = {"written_by": WRITTEN_BY, "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "warehouse": str(db.resolve()), "format": fmt,
                    "tables": {t.name: {"file": t.file, "rows": t.rows} for t in written}}
        write_atomically(folder / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode(), durable=False)
        _remove_stale(folder, {t.file for t in written})
    return written


@contextlib.contextmanager
def _held_folder(out: Path, lock_wait_s: float) -> Iterator[None]:
    """``out``, made if needed, held by this export alone (an exclusive lock on a hidden file in
    it). A folder this export made is removed again if it fails before writing anything else."""
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportTargetError(f"cannot create export folder {out}: {exc.strerror or exc}") from exc
    lock_path = out / LOCK_FILE
    try:
        with open(lock_path, "a+b") as lock:
            _lock(lock, out, lock_wait_s)
            yield
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                lock_path.unlink(missing_ok=True)
                out.rmdir()  # only when nothing else is in it
        raise


def _lock(handle: IO[bytes], out: Path, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise ExportTargetError(f"another export has been writing into {out} for over {wait_s:g} s: "
                                        "try again once it has finished") from None
            time.sleep(0.1)


def _export(connection: duckdb.DuckDBPyConnection, name: str, folder: Path, fmt: Format) -> ExportedTable:
    file = f"{name}.{fmt}"
    partial = folder / f".{file}.{os.getpid()}.partial"
    partial.unlink(missing_ok=True)
    options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
    try:
        rows = connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        target = str(partial).replace("'", "''")
        query = f"SELECT * FROM {name}" if fmt == "parquet" else _csv_safe_query(connection, name)
        connection.execute(f"COPY ({query}) TO '{target}' ({options})")
        partial.replace(folder / file)
    except (duckdb.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise WarehouseError(f"cannot export {name} to {folder}: {first_line(exc)}") from exc
    return ExportedTable(name, file, rows)


def _csv_safe_query(connection: duckdb.DuckDBPyConnection, name: str) -> str:
    """``name``'s rows, each text cell that a spreadsheet would run as a formula (it starts with
    ``= + - @``, a tab or a carriage return) with a quote before it, as OWASP advises against
    CSV injection; the other columns as they are."""
    selected = []
    for column, kind, *_ in connection.execute(f"DESCRIBE SELECT * FROM {name}").fetchall():
        quoted = '"' + column.replace('"', '""') + '"'
        selected.append(f"CASE WHEN regexp_matches({quoted}, {FORMULA_START}) THEN chr(39) || {quoted} "
                        f"ELSE {quoted} END AS {quoted}" if kind == "VARCHAR" else quoted)
    return f"SELECT {', '.join(selected)} FROM {name}"


def _remove_stale(folder: Path, written: set[str]) -> None:
    """Remove the table files of an earlier export that this one did not write (the other format)."""
    for entry in folder.iterdir():
        if entry.name not in written and _is_table_file(entry.name):
            entry.unlink(missing_ok=True)


def _is_table_file(name: str) -> bool:
    stem, _, suffix = name.rpartition(".")
    return stem in EXPORTED and suffix in FORMATS


def check_export_target(out: Path) -> None:
    """Refuse a link, a file, or a folder that holds anything but an earlier export."""
    if out.is_symlink():
        raise ExportTargetError(f"{out} is a link: give export a folder of its own (the link is kept)")
    if out.exists() and not out.is_dir():
        raise ExportTargetError(f"{out} exists and is not a folder: give export a folder of its own")
    if out.is_dir() and any(entry.name != LOCK_FILE for entry in out.iterdir()) and not is_earlier_export(out):
        raise ExportTargetError(f"{out} holds files that are not a callscore export: they are kept;"
                                " give export a new or empty folder")


def is_earlier_export(folder: Path) -> bool:
    """Whether ``folder`` holds a callscore export and nothing else: a manifest callscore wrote
    (its marker, or an older export's exact keys), or the lock file of an export still writing
    its first files (or killed doing so), beside table files and hidden working files."""
    if not (_callscore_manifest(folder / MANIFEST) or (folder / LOCK_FILE).is_file()):
        return False
    for entry in folder.iterdir():
        name = entry.name
        ours = name in (MANIFEST, LOCK_FILE) or _is_table_file(name) or (
            name.startswith(".") and name.endswith(".partial"))
        if not ours or entry.is_symlink() or not entry.is_file():
            return False
    return True


def _callscore_manifest(manifest: Path) -> bool:
    """Whether ``manifest`` is one an export wrote (its marker, or an older export's exact keys)."""
    try:
        if manifest.is_symlink() or not manifest.is_file() or manifest.stat().st_size > MANIFEST_MAX_BYTES:
            return False
        data = json.loads(manifest.read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and isinstance(data.get("tables"), dict) and (
        data.get("written_by") == WRITTEN_BY or set(data) == OLDER_MANIFEST_KEYS)
