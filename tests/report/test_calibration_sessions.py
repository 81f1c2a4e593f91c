"""A calibration session end to end: `callscore calibrate new` draws the calls, three reviewers
answer them blind (reviews with the session's id, which do not count as the answer that counts),
and `callscore calibrate show` gives the figures of tests/report/test_calibration.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.review_ledger import NewReview, ReviewError
from tests.conftest import rows, run_cli
from tests.factories import CARD, CARD_YAML, call_record
from tests.report.test_calibration import ROWS, WORD


@pytest.fixture
def six_calls(tmp_path: Path) -> dict:
    db, card = tmp_path / "w.duckdb", tmp_path / "card.yaml"
    card.write_text(CARD_YAML)
    with Warehouse.open(db) as warehouse:
        for call, row in ROWS.items():
            warehouse.save_call(call_record(f"call-{call}", [("greeted", row[3] == "y", 0.8)],
                                            agent="sam" if call in "123" else "alex"))
        warehouse.save_call(call_record("other", [("greeted", True, 0.8)], card=CARD, agent="pat"))
    return {"db": db, "card": card}


def test_three_reviewers_calibrate_six_calls_blind(six_calls: dict) -> None:
    db, card = str(six_calls["db"]), str(six_calls["card"])
    made = run_cli("calibrate", "new", "--calls", "6", "--reviewers", "a,b,c", "--filter", "agent=sam&agent=alex",
                   "--scorecard", card, "--db", db)
    assert made.exit_code == 2 and "filter agent: give it once" in made.stderr
    made = run_cli("calibrate", "new", "--calls", "2", "--reviewers", "a,b", "--filter", "agent=sam", "--scorecard", card,
                   "--db", db)
    assert made.exit_code == 0, made.stderr
    assert rows(six_calls["db"], "SELECT count(*), bool_and(recording_id IN ('call-1', 'call-2', 'call-3'))"
                                 " FROM calibration_calls WHERE calibration_id = 1") == [(2, True)]
    made = run_cli("calibrate", "new", "--calls", "50", "--reviewers", "a, b,c", "--blind-to-machine", "--name", "June",
                   "--scorecard", card, "--db", db)
    assert made.exit_code == 0 and made.stdout.strip() == "http://127.0.0.1:8750/calibrations/2"
    with Warehouse.open(six_calls["db"]) as warehouse:
        assert len(warehouse.calibration(2).recording_ids) == 7 and warehouse.calibration(2).blind_to_machine
        for call, row in ROWS.items():
            for reviewer, answer in zip("abc", row[:3]):
                warehouse.add_review(NewReview(f"call-{call}", CARD.version, "criterion", "greeted", reviewer,
                                               WORD[answer], calibration_id=2))
        with pytest.raises(ReviewError, match="d is not a reviewer of calibration 2"):
            warehouse.add_review(NewReview("call-1", CARD.version, "criterion", "greeted", "d", "yes", calibration_id=2))
        with pytest.raises(ReviewError, match="there is no calibration 9"):
            warehouse.add_review(NewReview("call-1", CARD.version, "criterion", "greeted", "a", "yes", calibration_id=9))
    assert rows(six_calls["db"], "SELECT count(*) FROM reviewed_answers") == [(0,)]  # blind answers do not count
    shown = run_cli("calibrate", "show", "2", "--db", db, "--json")
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert (data["complete"], data["expected"], data["answered"]) == (False, 7, {"a": 6, "b": 6, "c": 6})  # "other"
    greeted = data["items"][0]
    assert (greeted["criterion_id"], greeted["calls"]) == ("greeted", 6)
    assert greeted["fleiss_kappa"] == pytest.approx(5 / 9) and greeted["machine_kappa"] == pytest.approx(79 / 180)
    assert greeted["as_good_as_a_reviewer"] is False
    assert [d["call"] for d in greeted["disagreements"]] == ["call-2", "call-4", "call-5"]
    table = run_cli("calibrate", "show", "2", "--db", db)
    assert "not complete: waiting for a (6 of 7), b (6 of 7), c (6 of 7)" in table.stderr
    assert "greeted · call-5.mp3: a no, b no, c no, machine yes (consensus no)" in table.stdout
    assert run_cli("calibrate", "list", "--db", db).stdout.splitlines()[0] == "2\tJune\t7 calls\ta, b, c"
    missing = run_cli("calibrate", "show", "7", "--db", db)
    assert missing.exit_code == 2 and "there is no calibration 7" in missing.stderr
