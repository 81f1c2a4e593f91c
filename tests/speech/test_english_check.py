"""An English-only model's invented English is caught: a Russian call through tiny.en was stored
as English ("I'm going to go to the church in Belgrade…"), with sentiment measured on the made-up
text and nothing said. Now such a call is flagged ``language_suspect`` in the run, kpi_calls, the
page and the report, its sentiment is not measured, and stderr names the model that would hear it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from pipeline.speech.english_check import check_english
from pipeline.speech.segments import Segment
from pipeline.store.warehouse import Warehouse
from samples.languages import write_calls, write_other_calls
from tests.conftest import rows, run_cli


def _said(text: str, seconds: float, logprob: float) -> Segment:
    return Segment("agent", 0, 0.0, seconds, text, avg_logprob=logprob, no_speech_prob=0.1, compression_ratio=1.2)


def test_english_at_a_normal_pace_passes() -> None:
    check = check_english([_said("thank you for calling how can I help you today", 4.0, -0.4)], speech_s=5.0)
    assert not check.suspect and check.words_per_speech_second == pytest.approx(2.0)


def test_speech_with_few_words_or_made_up_text_is_suspect() -> None:
    assert check_english([_said("and the", 2.0, -0.5)], speech_s=30.0).suspect  # 0.07 words/s
    assert check_english([], speech_s=30.0).suspect  # 30 s of speech, no text kept
    assert check_english([_said("but in the dark the ultimate cannot my armies", 4.0, -1.4)], speech_s=4.0).suspect


def test_too_little_speech_is_not_judged() -> None:
    assert not check_english([], speech_s=2.0).suspect


@pytest.mark.slow
def test_foreign_calls_through_tiny_en_are_flagged_with_sentiment_not_measured(browser, card: Path,
                                                                             tmp_path: Path) -> None:
    made = {c.path.stem: c.path for c in write_calls(tmp_path / "made") + write_other_calls(tmp_path / "made")}
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("card-ru", "billing-de", "silent-agent"):
        shutil.copy(made[name], inbox)
    db = tmp_path / "w.duckdb"
    result = run_cli("score", str(inbox), "--db", str(db), "--scorecard", str(card), "--json")
    assert result.exit_code == 0, result.stderr
    flags = {Path(r["path"]).name: r["flags"] for r in json.loads(result.stdout)["recordings"]}
    assert "language_suspect" in flags["card-ru.mp3"] and "language_suspect" in flags["billing-de.mp3"]
    assert "language_suspect" not in flags["silent-agent.mp3"]
    assert "silent_agent" not in flags["card-ru.mp3"]  # no side is judged silent on made-up text
    assert "2 calls are probably not in English" in result.stderr and "tiny.en" in result.stderr
    assert "--whisper-model whisper-base-multilingual" in result.stderr

    stored = dict(rows(db, "SELECT file_name, language_suspect FROM transcripts JOIN recordings USING (recording_id)"))
    assert stored == {"card-ru.mp3": True, "billing-de.mp3": True, "silent-agent.mp3": False}
    kpi = {name: (suspect, sentiment) for name, suspect, sentiment in rows(
        db, "SELECT file_name, language_suspect, customer_sentiment_first FROM kpi_calls")}
    assert kpi["billing-de.mp3"] == (True, None) and kpi["silent-agent.mp3"][0] is False
    assert rows(db, "SELECT count(*) FROM call_sentiment JOIN recordings USING (recording_id)"
                    " WHERE file_name = 'billing-de.mp3'") == [(0,)]
    (recording_id,) = rows(db, "SELECT recording_id FROM recordings WHERE file_name = 'billing-de.mp3'")[0]
    with Warehouse.open(db, read_only=True) as warehouse:  # a re-score measures no sentiment either
        assert warehouse.stored_language(recording_id, "tiny.en") is None

    shown = run_cli("show", "billing-de.mp3", "--db", str(db), "--no-transcript", "--html", str(tmp_path / "c.html"))
    assert shown.exit_code == 0, shown.stderr
    browser.get((tmp_path / "c.html").as_uri())
    facts = {dt.text: dd.text for dt, dd in zip(browser.find_elements(By.CSS_SELECTOR, "dl.facts dt"),
                                                  browser.find_elements(By.CSS_SELECTOR, "dl.facts dd"))}
    assert facts["probably not English"].startswith("yes: an English-only model")
    assert run_cli("report", "--db", str(db), "--out", str(tmp_path / "r.html")).exit_code == 0
    browser.get((tmp_path / "r.html").as_uri())
    tiles = {t.find_element(By.CLASS_NAME, "label").text: t.find_element(By.CLASS_NAME, "value").text
             for t in browser.find_elements(By.CSS_SELECTOR, ".tile")}
    assert tiles["Languages"] == "en 3 (2 probably not English)"
