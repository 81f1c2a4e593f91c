"""The supervisor's view of one call: its page from the report (rendered in headless Chromium),
`callscore show`, the trust marks that `callscore eval` leaves, and `callscore export`."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from selenium.webdriver.common.by import By

from pipeline.report.audio_links import AudioLinks
from pipeline.report.html_report import page_name
from pipeline.scoring.score import Verdict
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.agreement_ledger import CriterionAgreement
from tests.conftest import GOOD_CALL, ROOT, held_by_another_process, rows, run_cli
from tests.factories import CARD, RECENT_CALLS, call_record, seg

ARTIFACTS = ROOT / "test-artifacts"
CALL_ID = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"  # a recording id (SHA-256 hex)
HOSTILE_AGENT = '<script>document.title="agent"</script>sam'
HOSTILE_LINE = '<img src=x onerror="document.title=\'line\'"> the fourth of May'
SEGMENTS = [
    seg("agent", 0.0, 4.0, "Thank you for calling Northwind Energy, this is Sam."),  # L1
    seg("customer", 4.5, 8.0, "My bill is wrong."),  # L2
    seg("agent", 7.5, 12.0, "Sorry to hear that. Can you confirm your date of birth?"),  # L3: starts over L2 for 0.5 s
    seg("customer", 17.0, 20.0, HOSTILE_LINE),  # L4, after a 5 s silence
    seg("agent", 20.5, 24.0, "Thank you. Goodbye."),  # L5
]


def _line(criterion: str, passed: bool, confidence: float, line: int) -> Verdict:
    cited = SEGMENTS[line - 1]
    return Verdict(criterion, passed, confidence, cited.text, True, 0, evidence_line=line, evidence_start_s=cited.start)


@pytest.fixture
def call_warehouse(tmp_path: Path) -> dict:
    """A warehouse with one call on a real MP3 (verdicts citing lines 1, 3 and 5, hostile text in
    its agent and transcript) and the agreement of two of its criteria measured."""
    audio = tmp_path / "inbox" / "call with spaces.mp3"
    audio.parent.mkdir()
    shutil.copy(GOOD_CALL, audio)
    record = call_record(CALL_ID, [], agent=HOSTILE_AGENT, segments=SEGMENTS, days_ago=1)
    verdicts = (_line("greeted", True, 0.91, 1), _line("verified", True, 0.8, 3), _line("closing", False, 0.55, 5))
    record = dataclasses.replace(record, path=audio, score=dataclasses.replace(record.score, verdicts=verdicts))
    db = tmp_path / "calls.duckdb"
    with Warehouse.open(db) as warehouse:
        warehouse.save_call(record)
        warehouse.save_agreement([CriterionAgreement("greeted", 40, 0.9, 0.72, 0.6),
                                  CriterionAgreement("verified", 40, 0.7, 0.21, 0.7)],
                                 scorecard_name=CARD.name, scorecard_version=CARD.version, prompt_versions=["p1"],
                                 llm_models=["model.gguf"], labels_file="labels.csv")
    return {"db": db, "audio": audio, "out": tmp_path / "report.html"}


def test_a_call_page_shows_why_the_call_scored_what_it_scored(browser, call_warehouse: dict) -> None:
    result = run_cli("report", "--db", str(call_warehouse["db"]), "--out", str(call_warehouse["out"]))
    assert result.exit_code == 0, result.stderr
    page = call_warehouse["out"].with_name("report-calls") / f"{CALL_ID[:16]}.html"
    browser.get(call_warehouse["out"].as_uri())
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#worst a.call-link, #agents a.call-link")]
    assert links == [page.as_uri(), page.as_uri()]  # the lowest-scoring calls and the agent's row lead to it
    browser.get(page.as_uri())

    # the transcript by speaker turn, the cited lines highlighted; hostile text shown as text
    lines = browser.find_elements(By.CSS_SELECTOR, "ol.transcript li")
    assert [li.get_attribute("id") for li in lines] == ["L1", "L2", "L3", "L4", "L5"]
    assert [li.get_attribute("id") for li in browser.find_elements(By.CSS_SELECTOR, "li.evidence")] == ["L1", "L3", "L5"]
    assert HOSTILE_LINE in lines[3].text and HOSTILE_AGENT in browser.find_element(By.CSS_SELECTOR, "dl.facts").text
    assert browser.find_elements(By.CSS_SELECTOR, "img") == [] and browser.title == f"callscore call {CALL_ID[:12]}"

    # each verdict: its answer, the line its evidence is on, and a link that plays from that second
    verified = browser.find_element(By.ID, "criterion-verified")
    assert verified.find_element(By.CLASS_NAME, "answer").text == "yes" and "confidence 0.80" in verified.text
    line_link = verified.find_element(By.CLASS_NAME, "line-link")
    assert line_link.get_attribute("href") == page.as_uri() + "#L3"
    play = verified.find_element(By.CLASS_NAME, "play")
    assert play.get_attribute("href") == call_warehouse["audio"].as_uri() + "#t=7.5" and play.text == "▶ 00:07"
    line_link.click()
    assert browser.execute_script("return location.hash") == "#L3"
    assert browser.find_element(By.ID, "criterion-closing").get_attribute("class").split()[:2] == ["verdict", "no"]
    player = browser.find_element(By.ID, "player")
    assert player.get_attribute("src") == call_warehouse["audio"].as_uri()  # linked, not embedded
    play.click()  # the inline script moves the player to the moment
    assert browser.execute_script("return document.getElementById('player').currentTime") == pytest.approx(7.5, abs=0.6)

    # the timeline strip: speech per speaker, the silence over 3 s, the interruption, the evidence
    strip = browser.find_element(By.ID, "timeline")
    count = {css: len(strip.find_elements(By.CSS_SELECTOR, css)) for css in (
        "rect.speech.agent", "rect.speech.customer", "rect.silence", "rect.interruption", "line.evidence")}
    assert count == {"rect.speech.agent": 3, "rect.speech.customer": 2, "rect.silence": 1, "rect.interruption": 1,
                     "line.evidence": 3}
    silence = strip.find_element(By.CSS_SELECTOR, "rect.silence")
    assert float(silence.get_attribute("x")) == pytest.approx(12 / 60 * 1000, abs=1)  # the recording is 60 s
    assert "agent interrupts at 00:07" in strip.find_element(By.CSS_SELECTOR, "rect.interruption title").get_attribute(
        "textContent")

    # how far each criterion can be trusted: measured reliable, measured unreliable, not measured
    trust = {c: browser.find_element(By.CSS_SELECTOR, f"#criterion-{c} .trust") for c in ("greeted", "verified", "closing")}
    assert [t.get_attribute("class") for t in trust.values()] == ["trust reliable", "trust not-reliable",
                                                                  "trust not-measured"]
    assert trust["verified"].text == "not reliable yet: kappa 0.21, agreement 70%"
    assert trust["closing"].text == "agreement not measured"
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0  # nothing fetched
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "call-page.png"))


def test_the_report_marks_criteria_not_shown_reliable(browser, call_warehouse: dict) -> None:
    assert run_cli("report", "--db", str(call_warehouse["db"]), "--out", str(call_warehouse["out"])).exit_code == 0
    browser.get(call_warehouse["out"].as_uri())
    cells = {r.get_attribute("data-criterion"): r.find_elements(By.TAG_NAME, "td")[-1].text
             for r in browser.find_elements(By.CSS_SELECTOR, "#criteria tbody tr")}
    assert cells == {"greeted": "reliable: kappa 0.72, agreement 90%",
                     "verified": "not reliable yet: kappa 0.21, agreement 70%", "closing": "agreement not measured"}
    labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, 'figure[data-chart="criteria"] text.label')]
    assert labels == ["closing ?", "greeted", "verified * ?"]
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "report-trust.png"))


def test_audio_links_to_a_shared_server_or_inside_the_page(call_warehouse: dict) -> None:
    db, out = str(call_warehouse["db"]), call_warehouse["out"]
    page = out.with_name("report-calls") / f"{CALL_ID[:16]}.html"
    root = call_warehouse["audio"].parent.parent
    assert run_cli("report", "--db", db, "--out", str(out), "--audio-base-url", "https://calls.example/rec/",
                   "--audio-root", str(root)).exit_code == 0
    assert 'src="https://calls.example/rec/inbox/call%20with%20spaces.mp3"' in page.read_text()
    assert 'href="https://calls.example/rec/inbox/call%20with%20spaces.mp3#t=7.5"' in page.read_text()
    assert run_cli("report", "--db", db, "--out", str(out), "--embed-audio").exit_code == 0
    assert 'src="data:audio/mpeg;base64,' in page.read_text()
    bad = run_cli("report", "--db", db, "--out", str(out), "--audio-base-url", "javascript:alert(1)")
    assert bad.exit_code == 2 and "'javascript:alert(1)' is not an http(s) URL" in bad.stderr


def test_the_call_pages_folder_is_callscore_s_own(call_warehouse: dict, kpi_warehouse_path: Path) -> None:
    out = call_warehouse["out"]
    pages = out.with_name("report-calls")
    pages.mkdir()
    (pages / "mine.txt").write_text("someone's notes")
    refused = run_cli("report", "--db", str(call_warehouse["db"]), "--out", str(out))
    assert refused.exit_code == 2 and "holds files callscore did not write: it is kept" in refused.stderr
    assert not out.exists() and (pages / "mine.txt").read_text() == "someone's notes"
    (pages / "mine.txt").unlink()
    assert run_cli("report", "--db", str(call_warehouse["db"]), "--out", str(out)).exit_code == 0
    assert sorted(p.name for p in pages.iterdir()) == [".callscore-call-pages", f"{CALL_ID[:16]}.html"]
    # the same report name over another warehouse: the pages of calls it no longer lists go
    assert run_cli("report", "--db", str(kpi_warehouse_path), "--out", str(out)).exit_code == 0
    assert sorted(p.name for p in pages.iterdir()) == sorted([".callscore-call-pages", *(page_name(c) for c in "ABCDE")])


def test_show_prints_verdicts_evidence_and_transcript(call_warehouse: dict) -> None:
    db = str(call_warehouse["db"])
    for key in (CALL_ID[:8], str(call_warehouse["audio"]), "call with spaces.mp3"):
        result = run_cli("show", key, "--db", db)
        assert result.exit_code == 0, result.stderr
        assert "call with spaces.mp3" in result.stdout and "QA score 50.0" in result.stdout
        assert "critical failure" not in result.stdout
        assert "yes verified (critical)" in result.stdout
        assert 'L3 [00:07] "Sorry to hear that. Can you confirm your date of birth?"' in result.stdout
        assert "not reliable yet: kappa 0.21" in result.stdout and "agreement not measured" in result.stdout
        assert f"L4   00:17 CUSTOMER {HOSTILE_LINE}" in result.stdout
        assert "L5   00:20 AGENT    Thank you. Goodbye.  <- closing" in result.stdout
    data = json.loads(run_cli("show", CALL_ID[:8], "--db", db, "--json").stdout)
    assert data["recording_id"] == CALL_ID and data["qa_score"] == 50.0  # greeted 1 + verified 2 of 6
    assert [(v["criterion_id"], v["answer"], v["line"], v["start_s"]) for v in data["verdicts"]] == [
        ("greeted", "yes", 1, 0.0), ("verified", "yes", 3, 7.5), ("closing", "no", 5, 20.5)]
    assert data["facts"]["agent"] == HOSTILE_AGENT and len(data["transcript"]) == 5
    assert data["timeline"]["silences"] == [[12.0, 17.0]]


def test_show_names_what_it_cannot_find(call_warehouse: dict, kpi_warehouse_path: Path) -> None:
    missing = run_cli("show", "nothing.mp3", "--db", str(call_warehouse["db"]))
    assert missing.exit_code == 2 and "no recording in" in missing.stderr and "Traceback" not in missing.stderr
    with Warehouse.open(kpi_warehouse_path) as warehouse:  # a second recording named A.mp3, in another folder
        warehouse.save_call(dataclasses.replace(call_record("ffff0000", [("greeted", True, 0.9)]),
                                                path=Path("/elsewhere/A.mp3")))
    twice = run_cli("show", "A.mp3", "--db", str(kpi_warehouse_path))
    assert twice.exit_code == 2 and "2 recordings are 'A.mp3'" in twice.stderr and "/elsewhere/A.mp3" in twice.stderr
    assert run_cli("show", "ffff00", "--db", str(kpi_warehouse_path)).exit_code == 0


def test_export_writes_files_duckdb_reads_back_while_a_run_holds_the_warehouse(
        call_warehouse: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = call_warehouse["db"]
    with Warehouse.open(db) as warehouse:
        for record in RECENT_CALLS:
            warehouse.save_call(record)
    tables = ("kpi_calls", "kpi_agents", "kpi_criteria", "kpi_daily", "scores", "segments", "recordings",
              "criterion_agreement")
    counts = {t: rows(db, f"SELECT count(*) FROM {t}")[0][0] for t in tables}
    assert counts["kpi_calls"] == 6 and counts["criterion_agreement"] == 2
    exports = tmp_path / "exports"
    result = run_cli("export", str(exports), "--db", str(db), "--json")
    assert result.exit_code == 0, result.stderr
    assert {t["table"]: t["rows"] for t in json.loads(result.stdout)}.items() >= counts.items()
    with held_by_another_process(db), duckdb.connect() as bi:  # a BI tool's session while a run writes
        for table, count in counts.items():
            assert bi.execute(f"SELECT count(*) FROM '{exports / table}.parquet'").fetchone()[0] == count, table
        rates = bi.execute(f"SELECT trust FROM '{exports}/kpi_criteria.parquet' ORDER BY criterion_id").fetchall()
        assert rates == [("not measured",), ("reliable",), ("not reliable",)]
        monkeypatch.setenv("CALLSCORE_LOCK_WAIT_S", "1")  # the export waits this long for the run, then gives up
        busy = run_cli("export", str(exports), "--db", str(db))
        assert busy.exit_code == 2 and "in use by another callscore run" in busy.stderr
    manifest = json.loads((exports / "manifest.json").read_text())
    assert manifest["tables"]["kpi_calls"] == {"file": "kpi_calls.parquet", "rows": 6}
    assert {"extractions", "call_sentiment", "kpi_reasons", "kpi_agent_sentiment"} <= set(manifest["tables"])
    assert not [p for p in exports.iterdir() if "partial" in p.name]

    as_csv = run_cli("export", str(tmp_path / "csv"), "--db", str(db), "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.stderr
    with duckdb.connect() as bi:
        assert bi.execute(f"SELECT count(*) FROM read_csv('{tmp_path}/csv/kpi_calls.csv')").fetchone()[0] == 6


def test_export_writes_only_into_a_folder_of_its_own(call_warehouse: dict, tmp_path: Path) -> None:
    db = str(call_warehouse["db"])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    refused = run_cli("export", str(mine), "--db", db)
    assert refused.exit_code == 2 and "are not a callscore export: they are kept" in refused.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    link = tmp_path / "link"
    link.symlink_to(mine)
    assert run_cli("export", str(link), "--db", db).exit_code == 2
    assert run_cli("export", str(mine / "notes.txt"), "--db", db).exit_code == 2
    assert run_cli("export", str(tmp_path / "none"), "--db", str(tmp_path / "missing.duckdb")).exit_code == 2
    assert not (tmp_path / "missing.duckdb").exists()


def test_show_says_a_call_without_speech_was_not_scored(tmp_path: Path) -> None:
    record = call_record("5ilent", [], segments=[], days_ago=1)
    record = dataclasses.replace(record, status="no_speech", score=None)
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        warehouse.save_call(record)
    shown = run_cli("show", "5ilent.mp3", "--db", str(db))
    assert shown.exit_code == 0, shown.stderr
    assert "not scored: no speech" in shown.stdout and "no speech was transcribed" in shown.stdout
    data = json.loads(run_cli("show", "5ilent.mp3", "--db", str(db), "--json").stdout)
    assert (data["status"], data["evaluation"], data["verdicts"], data["transcript"]) == ("no_speech", None, [], [])


def test_show_writes_the_page_of_any_call_and_never_over_another_file(browser, call_warehouse: dict,
                                                                        tmp_path: Path) -> None:
    page, notes = tmp_path / "pages" / "one-call.html", tmp_path / "notes.html"
    shown = run_cli("show", CALL_ID[:8], "--db", str(call_warehouse["db"]), "--html", str(page), "--no-transcript")
    assert shown.exit_code == 0, shown.stderr
    assert "yes verified (critical)" in shown.stdout and f"call page -> {page}" in shown.stderr
    browser.get(page.as_uri())
    assert [li.get_attribute("id") for li in browser.find_elements(By.CSS_SELECTOR, "li.evidence")] == ["L1", "L3", "L5"]
    assert run_cli("show", CALL_ID[:8], "--db", str(call_warehouse["db"]), "--html", str(page)).exit_code == 0  # replaced
    notes.write_text("<html>my notes</html>")
    for target, says in ((notes, "is not a callscore call page: it is kept"), (call_warehouse["db"], "is the warehouse itself")):
        refused = run_cli("show", CALL_ID[:8], "--db", str(call_warehouse["db"]), "--html", str(target))
        assert refused.exit_code == 2 and says in refused.stderr and "Traceback" not in refused.stderr
    assert notes.read_text() == "<html>my notes</html>"


def test_a_call_shows_its_fields_and_the_customer_s_sentiment(browser, outcome_warehouse_path: Path,
                                                              tmp_path: Path) -> None:
    db = str(outcome_warehouse_path)
    shown = run_cli("show", "O1.mp3", "--db", db, "--no-transcript")
    assert shown.exit_code == 0, shown.stderr
    assert "reason: billing  confidence 0.80  L2" in shown.stdout and "summary: Bill corrected, refund sent." in shown.stdout
    data = json.loads(run_cli("show", "O1.mp3", "--db", db, "--json").stdout)
    assert [(f["field_id"], f["value"], f["line"], f["start_s"]) for f in data["fields"]] == [
        ("reason", "billing", 2, 2.0), ("outcome", "resolved", 5, 14.0), ("summary", "Bill corrected, refund sent.",
                                                                         None, None)]
    assert data["metrics"]["customer_sentiment_change"] > 1

    page = tmp_path / "o1.html"
    assert run_cli("show", "O1.mp3", "--db", db, "--html", str(page)).exit_code == 0
    browser.get(page.as_uri())
    reason = browser.find_element(By.ID, "field-reason")
    assert "billing" in reason.text and "L2" in reason.text
    assert "evidence for reason" in browser.find_element(By.ID, "L2").text
    facts = browser.find_element(By.CSS_SELECTOR, "dl.facts").text
    assert "customer sentiment change" in facts


def test_an_audio_server_address_with_a_query_keeps_it_after_the_recording_s_path() -> None:
    links = AudioLinks(base_url="https://audio.example.invalid/calls?token=abc#x", root=Path("/srv/calls"))
    assert links.source("/srv/calls/queue b/call #1.mp3") == \
        "https://audio.example.invalid/calls/queue%20b/call%20%231.mp3?token=abc#x"
