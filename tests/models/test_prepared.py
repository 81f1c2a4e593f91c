"""`callscore models prepare`: a copy of the LLM in another weight type, checked against the
original on stored transcripts, and, given as --llm-model, the model a run loads and records
(its name in each evaluation, its SHA-256 in the run)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline.errors import ModelError
from pipeline.files import file_sha256
from pipeline.models.choice import smollm2_model
from pipeline.models.prepared import prepare_copy, prepared_path
from tests.conftest import GOOD_CALL, rows, run_cli


def test_a_file_that_is_not_a_model_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_text("not a model")
    with pytest.raises(ModelError, match="could not write model.gguf as q8_0"):
        prepare_copy(bogus, "q8_0", tmp_path / "models")
    assert list((tmp_path / "models" / "prepared").iterdir()) == []
    with pytest.raises(ModelError, match="unknown weight type 'q3'"):
        prepare_copy(bogus, "q3", tmp_path / "models")


@pytest.mark.slow
def test_a_prepared_copy_is_checked_then_loaded_and_recorded_by_name_and_hash(scored_samples: dict,
                                                                                tmp_path: Path) -> None:
    original = smollm2_model()
    models_dir = tmp_path / "models"
    result = run_cli("models", "prepare", "--type", "q8_0", "--llm-model", str(original), "--models-dir",
                     str(models_dir), "--db", str(scored_samples["db"]), "--check-calls", "3", "--json")
    report = json.loads(result.stdout)
    copy = Path(report["path"])
    assert copy == prepared_path(original, "q8_0", models_dir) and copy.is_file()
    assert copy.name == f"{original.stem}.q8_0.gguf"
    check = report["check"]
    assert check["calls"] == 3 and check["verdicts"] > 0 and 0 <= check["agreement"] <= 1
    assert check["original_s_per_call"] > 0 and check["copy_s_per_call"] > 0
    assert result.exit_code == (0 if check["exact_enough"] else 1), result.stderr
    assert "verdicts equal" in result.stderr

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(GOOD_CALL, inbox)
    db = tmp_path / "w.duckdb"
    scored = run_cli("score", str(inbox), "--db", str(db), "--llm-model", str(copy))
    assert scored.exit_code == 0, scored.stderr
    recorded = rows(db, "SELECT e.llm_model, r.llm_model, r.llm_sha256 FROM evaluations e JOIN runs r USING (run_id)")
    assert recorded == [(copy.name, copy.name, file_sha256(copy))]
    assert file_sha256(copy) != file_sha256(original)
