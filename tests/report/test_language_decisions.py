"""A language decision a supervisor can see: a detected language less probable than 0.8 is
flagged `uncertain_language` (a Czech file was decided as Slovak at 0.63 without a word), and
the language, its probability and the mixed flag appear in the run's flags, on the call page,
in `callscore show` and in the report's Languages tile."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from selenium.webdriver.common.by import By

from pipeline.speech.language import LanguageDecision
from pipeline.speech.transcription import Transcription
from pipeline.store.warehouse import Warehouse
from tests.conftest import run_cli
from tests.factories import call_record

_ANSWERS = [("greeted", True, 0.9), ("verified", True, 0.9), ("closing", True, 0.9)]


def _with_language(recording_id: str, decision: LanguageDecision):
    record = call_record(recording_id, _ANSWERS, days_ago=1)
    return dataclasses.replace(record, transcript=dataclasses.replace(record.transcript, language=decision))


def test_a_low_probability_or_mixed_decision_is_flagged_for_the_run() -> None:
    record = _with_language("x", LanguageDecision("sk", 0.63, "detected", mixed=True, others=("de",)))
    flags = Transcription(None, 60.0, False, record.transcript).flags
    assert "uncertain_language" in flags and "mixed_language" in flags
    sure = _with_language("y", LanguageDecision("cs", 0.9998, "detected"))
    given = _with_language("z", LanguageDecision("cs", None, "given"))
    assert "uncertain_language" not in Transcription(None, 60.0, False, sure.transcript).flags
    assert "uncertain_language" not in Transcription(None, 60.0, False, given.transcript).flags


def test_the_page_show_and_report_say_how_sure_the_language_is(browser, tmp_path: Path) -> None:
    db, out = tmp_path / "w.duckdb", tmp_path / "report.html"
    with Warehouse.open(db) as warehouse:
        warehouse.save_call(_with_language("uncertain", LanguageDecision("sk", 0.63, "detected", mixed=True,
                                                                         others=("de",))))
        warehouse.save_call(_with_language("sure", LanguageDecision("cs", 0.9998, "detected")))
    shown = run_cli("show", "uncertain.mp3", "--db", str(db), "--no-transcript")
    assert shown.exit_code == 0, shown.stderr
    assert "language sk (uncertain, 0.63; mixed)" in shown.stdout
    assert "language cs\n" in run_cli("show", "sure.mp3", "--db", str(db), "--no-transcript").stdout

    assert run_cli("report", "--db", str(db), "--out", str(out)).exit_code == 0
    browser.get(out.as_uri())
    tiles = {t.find_element(By.CLASS_NAME, "label").text: t.find_element(By.CLASS_NAME, "value").text
             for t in browser.find_elements(By.CSS_SELECTOR, ".tile")}
    assert tiles["Languages"] in ("sk 1 · cs 1 (1 uncertain, 1 mixed)", "cs 1 · sk 1 (1 uncertain, 1 mixed)")
    shown_page = run_cli("show", "uncertain.mp3", "--db", str(db), "--html", str(tmp_path / "call.html"))
    assert shown_page.exit_code == 0, shown_page.stderr
    browser.get((tmp_path / "call.html").as_uri())
    facts = {dt.text: dd.text for dt, dd in zip(browser.find_elements(By.CSS_SELECTOR, "dl.facts dt"),
                                                  browser.find_elements(By.CSS_SELECTOR, "dl.facts dd"))}
    assert facts["language"] == "sk"
    assert facts["language probability"].startswith("0.63 (uncertain")
    assert facts["mixed language"].startswith("yes")
