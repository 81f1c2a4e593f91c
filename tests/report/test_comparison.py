"""Choosing by measurement: the comparison's arithmetic on hand-worked cases (agreement, kappa,
bootstrap intervals over calls), the candidates the options name, and `eval --compare` with the
real embedded LLM in two evidence styles, which prints both beside production with intervals and
writes nothing to the warehouse."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pipeline.processing.comparison_run import Candidate, candidates_of
from pipeline.report.comparison import CandidateAnswers, compare
from tests.conftest import SAMPLE_CALLS, run_cli

LABELS = {("c1", "greeted"): "yes", ("c2", "greeted"): "yes", ("c3", "greeted"): "no", ("c4", "greeted"): "no",
          ("c1", "reason"): "billing", ("c2", "reason"): "outage"}


def test_agreement_kappa_and_intervals_on_a_hand_worked_case() -> None:
    right_on_three = CandidateAnswers("a", {("c1", "greeted"): "yes", ("c2", "greeted"): "yes",
                                            ("c3", "greeted"): "no", ("c4", "greeted"): "yes",
                                            ("c1", "reason"): "billing"}, seconds_per_call=2.5)
    always_yes = CandidateAnswers("b", {(c, "greeted"): "yes" for c in ("c1", "c2", "c3", "c4")})
    result = compare(LABELS, [right_on_three, always_yes], draws=500)
    by = {(r.criterion_id, r.candidate): r for r in result.rows}
    greeted = by[("greeted", "a")]
    # 3 of 4 agree; chance: labels 2 yes 2 no, answers 3 yes 1 no -> (2*3 + 2*1) / 16 = 0.5; kappa (0.75-0.5)/0.5
    assert (greeted.answers, greeted.agreement.value, greeted.kappa.value) == (4, 0.75, 0.5)
    assert 0.25 <= greeted.agreement.low <= 0.75 <= greeted.agreement.high <= 1.0
    assert by[("greeted", "b")].agreement.value == 0.5 and by[("greeted", "b")].kappa.value == 0.0
    assert (by[("reason", "a")].answers, by[("reason", "a")].agreement.value) == (1, 1.0)  # c2's reason not answered
    assert by[("reason", "b")].answers == 0 and by[("reason", "b")].agreement.value is None
    assert by[("all", "a")].answers == 5 and by[("all", "a")].agreement.value == 0.8
    assert result.calls == 4 and result.seconds_per_call == {"a": 2.5, "b": None}
    assert compare(LABELS, [right_on_three], draws=200, seed=3) == compare(LABELS, [right_on_three], draws=200, seed=3)


def test_every_combination_of_the_options_is_a_candidate() -> None:
    big, small = Path("big.gguf"), Path("small.gguf")
    found = candidates_of([big, small], [], {"llm_evidence": ["lines", "quotes"], "llm_questions": []})
    assert [c.name for c in found] == ["big.gguf, evidence=lines", "big.gguf, evidence=quotes",
                                       "small.gguf, evidence=lines", "small.gguf, evidence=quotes"]
    assert candidates_of([], [], {}) == [Candidate()]


def test_candidate_options_need_compare_and_existing_files(tmp_path: Path) -> None:
    db = str(tmp_path / "w.duckdb")
    assert "add --compare" in run_cli("eval", "--llm-evidence", "quotes", "--db", db).stderr
    missing = run_cli("eval", "--compare", "--llm-model", str(tmp_path / "none.gguf"), "--labels",
                      str(SAMPLE_CALLS / "labels.csv"), "--db", db)
    assert missing.exit_code != 0


def test_eval_compare_prints_two_styles_beside_production_and_writes_nothing(scored_samples: dict) -> None:
    db: Path = scored_samples["db"]
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    result = run_cli("eval", "--compare", "--labels", str(SAMPLE_CALLS / "labels.csv"), "--llm-evidence", "lines",
                     "--llm-evidence", "quotes", "--db", str(db), "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["candidates"] == ["production", "default LLM, evidence=lines", "default LLM, evidence=quotes"]
    assert data["calls"] == 3 and data["seconds_per_call"]["production"] is None
    assert all(data["seconds_per_call"][c] > 0 for c in data["candidates"][1:])
    rows = {(r["criterion_id"], r["candidate"]): r for r in data["rows"]}
    for row in data["rows"]:
        agreement = row["agreement"]
        assert agreement["low"] <= agreement["value"] <= agreement["high"], row
    # the default style re-scored gives the stored answers again (greedy decoding under a grammar)
    assert rows[("all", "production")]["agreement"] == rows[("all", "default LLM, evidence=lines")]["agreement"]
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # nothing written
    table = run_cli("eval", "--compare", "--labels", str(SAMPLE_CALLS / "labels.csv"), "--llm-evidence", "quotes",
                    "--db", str(db))
    assert "agreement [90% interval]" in table.stdout and "evidence=quotes" in table.stdout
    assert "nothing is written to the warehouse" in table.stderr
