"""`callscore export` writes only into a folder of its own: an earlier export is recognised by
what it holds (its manifest's marker, and nothing else beside the table files), anything else
is refused untouched, two exports never mix in one folder, and a CSV cell is never a formula."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import multiprocessing
from pathlib import Path

import duckdb
import pytest

from pipeline.store.export import EXPORTED, LOCK_FILE, WRITTEN_BY, ExportTargetError, export_warehouse
from pipeline.store.warehouse import Warehouse
from tests.conftest import run_cli
from tests.factories import RECENT_CALLS


def _tree(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_a_web_folder_with_a_manifest_of_its_own_is_refused_and_left_byte_identical(
        kpi_warehouse_path: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html>our dashboard</html>")
    (site / "app.js").write_text("console.log('hi')")
    (site / "manifest.json").write_text(json.dumps({"name": "Our PWA", "start_url": "/"}))
    before = _tree(site)
    refused = run_cli("export", str(site), "--db", str(kpi_warehouse_path))
    assert refused.exit_code == 2 and "not a callscore export: they are kept" in refused.stderr
    assert _tree(site) == before

    # a callscore manifest beside a file of someone else's: refused too
    exported = tmp_path / "exported"
    assert run_cli("export", str(exported), "--db", str(kpi_warehouse_path)).exit_code == 0
    assert json.loads((exported / "manifest.json").read_text())["written_by"] == WRITTEN_BY
    (exported / "index.html").write_text("mine")
    before = _tree(exported)
    assert run_cli("export", str(exported), "--db", str(kpi_warehouse_path)).exit_code == 2
    assert _tree(exported) == before


def test_an_export_written_before_the_marker_is_still_recognised(kpi_warehouse_path: Path, tmp_path: Path) -> None:
    older = tmp_path / "older"
    older.mkdir()
    (older / "kpi_calls.parquet").write_bytes(b"PAR1")
    (older / "manifest.json").write_text(json.dumps({"exported_at": "2026-01-01T00:00:00+00:00", "warehouse": "/w",
                                                     "format": "parquet", "tables": {}}))
    assert run_cli("export", str(older), "--db", str(kpi_warehouse_path)).exit_code == 0
    assert json.loads((older / "manifest.json").read_text())["tables"]["kpi_calls"]["rows"] == 5


def test_a_csv_export_over_a_parquet_one_leaves_no_stale_file(kpi_warehouse_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("export", str(out), "--db", str(kpi_warehouse_path)).exit_code == 0
    assert run_cli("export", str(out), "--db", str(kpi_warehouse_path), "--format", "csv").exit_code == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"manifest.json", LOCK_FILE, *(f"{t}.csv" for t in EXPORTED)}


def test_a_refused_export_creates_no_folder_and_a_link_is_named_a_link(kpi_warehouse_path: Path, tmp_path: Path) -> None:
    missing = run_cli("export", str(tmp_path / "new"), "--db", str(tmp_path / "missing.duckdb"))
    assert missing.exit_code == 2 and not (tmp_path / "new").exists()
    broken = tmp_path / "broken.duckdb"
    broken.write_text("not a database")
    assert run_cli("export", str(tmp_path / "new2"), "--db", str(broken)).exit_code == 2
    assert not (tmp_path / "new2").exists()
    folder = tmp_path / "folder"
    folder.mkdir()
    (tmp_path / "link").symlink_to(folder)
    linked = run_cli("export", str(tmp_path / "link"), "--db", str(kpi_warehouse_path))
    assert linked.exit_code == 2 and "is a link" in linked.stderr and "is not a folder" not in linked.stderr


def test_csv_cells_that_a_spreadsheet_would_run_are_written_as_text(kpi_warehouse_path: Path, tmp_path: Path) -> None:
    formulas = ['=HYPERLINK("http://example.invalid","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tTab"]
    db = tmp_path / "formulas.duckdb"
    with Warehouse.open(db) as warehouse:
        for index, agent in enumerate(formulas):
            record = RECENT_CALLS[index]
            warehouse.save_call(dataclasses.replace(record, facts=dataclasses.replace(record.facts, agent=agent)))
    out = tmp_path / "csv"
    assert run_cli("export", str(out), "--db", str(db), "--format", "csv").exit_code == 0
    with open(out / "recordings.csv", newline="") as handle:
        agents = sorted(row["agent"] for row in csv.DictReader(handle))
    assert agents == sorted("'" + f for f in formulas)
    with duckdb.connect() as bi:  # numbers stay numbers
        assert bi.execute(f"SELECT typeof(duration_s) FROM read_csv('{out}/recordings.csv') LIMIT 1").fetchone() == ("DOUBLE",)


def _export(db: str, out: str, queue: multiprocessing.Queue) -> None:
    try:
        export_warehouse(Path(db), Path(out))
        queue.put("ok")
    except ExportTargetError as exc:
        queue.put(str(exc))


def test_two_exports_into_one_folder_at_once_never_mix_their_warehouses(tmp_path: Path) -> None:
    dbs = []
    for name, calls in (("a", RECENT_CALLS[:2]), ("b", RECENT_CALLS[2:])):
        db = tmp_path / f"{name}.duckdb"
        with Warehouse.open(db) as warehouse:
            for record in calls:
                warehouse.save_call(record)
        dbs.append(db)
    out = tmp_path / "shared"
    context = multiprocessing.get_context("spawn")
    for _ in range(6):  # without the folder's lock, about one try in three mixed them
        queue = context.Queue()
        workers = [context.Process(target=_export, args=(str(db), str(out), queue)) for db in dbs]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        assert [queue.get(timeout=5) for _ in workers] == ["ok", "ok"]
        manifest = json.loads((out / "manifest.json").read_text())
        calls = 2 if manifest["warehouse"].endswith("a.duckdb") else 3
        assert manifest["tables"]["recordings"]["rows"] == calls
        with duckdb.connect() as bi:  # every file is of the warehouse the manifest names
            for table, entry in manifest["tables"].items():
                assert bi.execute(f"SELECT count(*) FROM '{out}/{entry['file']}'").fetchone()[0] == entry["rows"], table


def test_an_export_waits_for_the_one_writing_and_then_says_so(kpi_warehouse_path: Path, tmp_path: Path) -> None:
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with open(out / LOCK_FILE, "a+b") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(ExportTargetError, match="another export has been writing into"):
            export_warehouse(kpi_warehouse_path, out, lock_wait_s=0.3)
