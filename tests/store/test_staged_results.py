"""Staged results are input like any other: one that parses but does not fit its own scorecard
(an unknown criterion, a confidence of 1e308, a duration that is not a number) or holds nothing
goes to `rejected/` with a log line, and the results beside it load."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pipeline.store.staging import StagedResult, load_staged, stage_result
from pipeline.store.warehouse import Warehouse
from tests.conftest import rows
from tests.factories import call_record

_ANSWERS = [("greeted", True, 0.9), ("verified", True, 0.8), ("closing", True, 0.7)]


def _stage_edited(staging: Path, recording_id: str, edit) -> Path:
    """A well-formed staged result for ``recording_id``, its JSON changed by ``edit``."""
    path = stage_result(staging, StagedResult(record=call_record(recording_id, _ANSWERS)))
    data = json.loads(path.read_text())
    edit(data["record"])
    path.write_text(json.dumps(data))
    return path


def _verdict(name: str, value):
    def edit(record: dict) -> None:
        record["score"]["verdicts"][0][name] = value
    return edit


@pytest.mark.parametrize("edit, says", [
    (_verdict("criterion_id", "no_such_criterion"), "answers criterion 'no_such_criterion'"),
    (_verdict("confidence", 1e308), "not between 0 and 1"),
    (_verdict("evidence_start_s", -5.0), "starts at -5 s"),
    (lambda record: record.__setitem__("duration_s", -1.0), "its duration is -1 s"),
    (lambda record: record["key"].__setitem__("scorecard_version", "000000000000"), "its key names scorecard version"),
])
def test_a_staged_result_that_does_not_fit_is_rejected_and_its_neighbour_loads(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, edit, says: str) -> None:
    staging, db = tmp_path / "staging", tmp_path / "w.duckdb"
    bad = _stage_edited(staging, "bad", edit)
    stage_result(staging, StagedResult(record=call_record("good", _ANSWERS)))
    with Warehouse.open(db) as warehouse, caplog.at_level(logging.ERROR):
        report = load_staged(warehouse, staging)
        assert [r.key.recording_id for r in report.records] == ["good"] and report.rejected == [bad]
        again = load_staged(warehouse, staging)  # the next run is not blocked either
        assert again.records == [] and again.rejected == []
    assert rows(db, "SELECT recording_id FROM recordings") == [("good",)]
    assert (staging / "rejected" / bad.name).is_file() and not bad.exists()
    assert says in caplog.text and bad.name in caplog.text


def test_an_empty_staged_result_is_rejected_with_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "empty.json").write_text("{}")
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse, caplog.at_level(logging.ERROR):
        report = load_staged(warehouse, staging)
    assert [p.name for p in report.rejected] == ["empty.json"]
    assert "neither a processed recording nor a failure" in caplog.text
    assert (staging / "rejected" / "empty.json").read_text() == "{}"
