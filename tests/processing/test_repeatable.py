"""A QA tool must be repeatable: the same recordings, models and settings give the same
transcript and the same verdicts on every run. Whisper's temperature fallback sampled where its
greedy text failed its checks, and did so differently each time (the same Russian call through
tiny.en gave 4 transcripts in 4 runs; 8 of 19 real recordings changed between two runs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from samples.languages import write_calls
from tests.conftest import POOR_CALL, rows, run_cli

pytestmark = pytest.mark.slow


def test_two_runs_over_the_same_calls_store_the_same_transcripts_and_verdicts(tmp_path: Path, card: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    russian = next(call.path for call in write_calls(tmp_path / "made") if call.language == "ru")
    shutil.copy(russian, inbox)  # tiny.en cannot hear it: where the fallback sampled
    shutil.copy(POOR_CALL, inbox)
    stored = []
    for run in ("first", "second"):
        db = tmp_path / f"{run}.duckdb"
        result = run_cli("score", str(inbox), "--db", str(db), "--scorecard", str(card))
        assert result.exit_code == 0, result.stderr
        stored.append((
            rows(db, "SELECT r.file_name, s.segment_index, s.speaker, s.start_s, s.end_s, s.text FROM segments s "
                     "JOIN recordings r USING (recording_id) ORDER BY 1, 2"),
            rows(db, "SELECT r.file_name, criterion_id, passed, confidence, evidence_line FROM scores "
                     "JOIN recordings r USING (recording_id) ORDER BY 1, 2"),
        ))
    assert stored[0][0] and stored[0][1]
    assert stored[0] == stored[1]
