"""File names that are not UTF-8 (bytes a Linux recorder or an SMB share can write): such a
recording is scored, stored and shown under a readable name, it fails alone when it is not
audio, and the recordings after it in the folder are scored too."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from flows.work import WorkItem
from pipeline.intake.file_names import from_path_token, from_readable, path_token, readable
from pipeline.processing.batch import run_batch
from pipeline.report.audio_links import AudioLinks
from pipeline.store.staging import StagedFailure, StagedResult, load_staged, stage_result
from pipeline.store.warehouse import Warehouse
from tests.conftest import GOOD_CALL, MONO_CALL, POOR_CALL, rows, run_cli
from tests.factories import call_record
from tests.fakes import fake_processor

BAD_BYTES = b"a_bad_\xff\xfe.mp3"  # not UTF-8: Python holds it as 'a_bad_\udcff\udcfe.mp3'
READABLE = "a_bad_\\xff\\xfe.mp3"


def bad_name(folder: Path, name: bytes = BAD_BYTES) -> Path:
    return folder / os.fsdecode(name)


def test_readable_names_escape_only_the_bytes_that_are_not_utf8_and_find_the_file_again(tmp_path: Path) -> None:
    path = bad_name(tmp_path)
    path.write_bytes(b"x")
    assert readable(path) == f"{tmp_path}/{READABLE}"
    assert readable(tmp_path / "Ñandú [x].mp3") == f"{tmp_path}/Ñandú [x].mp3"  # UTF-8 as it is
    assert from_readable(readable(path)) == path and from_readable(readable(path)).read_bytes() == b"x"
    literal = tmp_path / "literal \\xff.mp3"  # a name that really holds a backslash: found as it is
    literal.write_bytes(b"y")
    assert from_readable(str(literal)) == literal
    assert path_token(tmp_path / "plain.mp3") is None
    assert from_path_token(readable(path), path_token(path)) == path


def test_a_recording_named_in_bytes_that_are_not_utf8_is_scored_and_the_rest_of_the_folder_too(
        tmp_path: Path, card: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(MONO_CALL, bad_name(inbox))
    shutil.copy(GOOD_CALL, inbox / "z-after.mp3")  # sorted after the odd name: must still be scored
    bad_name(inbox, b"not_audio_\xe9.mp3").write_bytes(b"hello, not audio")
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        summary = run_batch([inbox], fake_processor(db, card), warehouse)
    assert summary.counts["scored"] == 2 and summary.counts["failed"] == 1
    assert rows(db, "SELECT file_name, path FROM recordings ORDER BY file_name") == [
        (READABLE, f"{inbox}/{READABLE}"), ("z-after.mp3", f"{inbox}/z-after.mp3")]
    assert rows(db, "SELECT stage, path FROM failures") == [("probe", f"{inbox}/not_audio_\\xe9.mp3")]
    assert rows(db, "SELECT status FROM runs") == [("completed",)]

    for key in (os.fsdecode(BAD_BYTES), READABLE, str(bad_name(inbox))):  # as the shell passes it, or as stored
        shown = run_cli("show", key, "--db", str(db), "--no-transcript")
        assert shown.exit_code == 0, shown.stderr
        assert shown.stdout.startswith(READABLE)
    data = json.loads(run_cli("show", READABLE, "--db", str(db), "--json").stdout)
    assert data["file_name"] == READABLE
    # a call page plays the very file: its link names the original bytes
    assert AudioLinks().source(f"{inbox}/{READABLE}") == f"file://{inbox}/a_bad_%FF%FE.mp3"


def test_results_staged_by_a_worker_carry_the_name_readable_and_the_exact_path_travels(tmp_path: Path) -> None:
    path = bad_name(tmp_path)
    shutil.copy(POOR_CALL, path)
    staging, db = tmp_path / "staging", tmp_path / "w.duckdb"
    record = call_record("badname", [("greeted", True, 0.9)])
    stage_result(staging, StagedResult(record=record.__class__(**{**record.__dict__, "path": path})))
    stage_result(staging, StagedResult(failure=StagedFailure("run", path, None, "decode", "X", "broken", False)))
    with Warehouse.open(db) as warehouse:
        report = load_staged(warehouse, staging)
    assert len(report.records) == 1 and len(report.failures) == 1
    assert rows(db, "SELECT path FROM recordings") == [(f"{tmp_path}/{READABLE}",)]
    assert rows(db, "SELECT path FROM failures") == [(f"{tmp_path}/{READABLE}",)]

    item = WorkItem(path=readable(path), path_bytes=path_token(path), recording_id="r", size_bytes=1, mtime_ns=1,
                    whisper_model="w", scorecard_version="s", prompt_version="p", llm_model="l")
    assert WorkItem.model_validate_json(item.model_dump_json()).file == path  # as a flow parameter travels


@pytest.mark.parametrize("name", [b"line\nbreak.mp3", b"\x1b]0;pwned\x07title.mp3"])
def test_names_with_control_characters_print_on_one_line(tmp_path: Path, card: Path, name: bytes) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(MONO_CALL, bad_name(inbox, name))
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        run_batch([inbox], fake_processor(db, card), warehouse)
    shown = run_cli("show", os.fsdecode(name), "--db", str(db), "--no-transcript")
    assert shown.exit_code == 0, shown.stderr
    first = shown.stdout.splitlines()[0]
    assert first.startswith(("line?break.mp3", "title.mp3")) and "\x1b" not in shown.stdout


@pytest.mark.slow
def test_callscore_score_stores_and_prints_a_name_that_is_not_utf8(tmp_path: Path, card: Path) -> None:
    """The real CLI and models: the run used to die at storing the odd name (rc 1, `--json`
    empty, the run left 'aborted'), and every later file in the folder went unscored."""
    import subprocess
    import sys

    inbox, db = tmp_path / "inbox", tmp_path / "w.duckdb"
    inbox.mkdir()
    shutil.copy(MONO_CALL, bad_name(inbox))
    shutil.copy(GOOD_CALL, inbox / "z-after.mp3")
    callscore = str(Path(sys.executable).with_name("callscore"))
    done = subprocess.run([callscore, "score", str(inbox), "--db", str(db), "--scorecard", str(card), "--json"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["counts"]["scored"] == 2
    assert sorted(r["path"] for r in summary["recordings"]) == [f"{inbox}/{READABLE}", f"{inbox}/z-after.mp3"]
    assert rows(db, "SELECT status FROM runs") == [("completed",)]
    printed = subprocess.run([callscore, "score", str(inbox), "--db", str(db), "--scorecard", str(card)],
                             capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0 and READABLE in printed.stdout  # the summary table, name readable
