"""End to end on synthesised calls with a known reason, outcome and sentiment turn
(samples/sentiment_calls.py): `callscore score` with the default scorecard, the embedded
Whisper and LLM, stores each call's extraction fields (only listed options, a summary within
its limit, none of it in the QA score) and the customer's sentiment in the scripted direction."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.resources import default_scorecard_path
from pipeline.scoring.scorecard import load_scorecard
from samples.sentiment_calls import CALLS, direction_of, write_calls
from tests.conftest import rows, run_cli

pytestmark = pytest.mark.slow
CHOSEN = ("mood-01-billing-happier.mp3", "mood-02-outage-unhappier.mp3", "mood-04-cancel-even.mp3")


def test_scored_calls_store_their_fields_and_the_customer_s_sentiment_direction(tmp_path: Path) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "w.duckdb"
    write_calls(inbox)
    for path in inbox.glob("*.mp3"):
        if path.name not in CHOSEN:
            path.unlink()
    result = run_cli("score", str(inbox), "--db", str(db))
    assert result.exit_code == 0, result.stderr

    changes = dict(rows(db, "SELECT file_name, customer_sentiment_change FROM kpi_calls"))
    scripted = {call.name: call.direction for call in CALLS if call.name in CHOSEN}
    assert {name: direction_of(change) for name, change in changes.items()} == scripted
    quarters = rows(db, "SELECT DISTINCT speaker FROM call_sentiment ORDER BY 1")
    assert quarters == [("agent",), ("customer",)]

    card = load_scorecard(default_scorecard_path())
    options = card.choice_options
    stored = rows(db, "SELECT r.file_name, x.field_id, x.field_kind, x.value, x.confidence, x.evidence_line "
                      "FROM extractions AS x JOIN recordings AS r USING (recording_id) ORDER BY 1, 2")
    assert {(name, field) for name, field, *_ in stored} == {(n, f.id) for n in CHOSEN for f in card.fields or ()}
    for name, field, kind, value, confidence, line in stored:
        if kind == "choice":
            assert value in options[field] and 0 < confidence <= 1, (name, field, value)
            assert line is None or line >= 1
        else:
            limit = next(f.max_words for f in card.fields or () if f.id == field)
            assert 1 <= len(value.split()) <= limit and confidence is None, (name, value)
    ids = {f.id for f in card.fields or ()}
    assert rows(db, f"SELECT count(*) FROM scores WHERE criterion_id IN {tuple(ids)}") == [(0,)]
    assert rows(db, "SELECT sum(calls) FROM kpi_reasons") == [(3,)]
    assert rows(db, "SELECT sum(measured_calls) FROM kpi_agent_sentiment") == [(3,)]
