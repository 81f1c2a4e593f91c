"""`callscore report`: the HTML page rendered in headless Chromium (charts drawn, nothing
fetched, recording text escaped), with a screenshot kept in test-artifacts/report.png."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from pipeline.report.html_report import qa_distribution
from pipeline.store.warehouse import Warehouse
from tests.conftest import ROOT, run_cli
from tests.factories import HOSTILE_QUOTE

ARTIFACTS = ROOT / "test-artifacts"


def marks(figure) -> int:
    return len(figure.find_elements(By.CSS_SELECTOR, "rect.bar, circle.point"))


def test_report_renders_its_charts_offline(browser, kpi_warehouse_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = run_cli("report", "--db", str(kpi_warehouse_path), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out.resolve())
    html = out.read_text()
    assert "<script" not in html and "@import" not in html and not re.search(r"""\bsrc\s*=\s*["']""", html)
    links = re.findall(r"""\bhref\s*=\s*["']([^"']*)""", html)
    assert links and all(re.fullmatch(r"report-calls/[0-9a-f]{16}\.html(#L\d+)?", link) for link in links)  # its own call pages

    browser.get(out.as_uri())
    figures = {f.get_attribute("data-chart"): f for f in browser.find_elements(By.CSS_SELECTOR, "figure.chart")}
    assert set(figures) == {"qa-distribution", "criteria", "agents", "daily"}
    for name, figure in figures.items():
        svg = figure.find_element(By.TAG_NAME, "svg")
        size = browser.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", svg)
        assert size[0] > 300 and size[1] > 50, name
    assert marks(figures["qa-distribution"]) == 10  # one bar per band of 10 points
    assert marks(figures["criteria"]) == 3  # greeted, verified, closing
    assert marks(figures["agents"]) == 3  # sam, alex, priya
    assert marks(figures["daily"]) == 5  # one point per day with calls
    bar_widths = [float(b.get_attribute("width")) for b in figures["criteria"].find_elements(By.CSS_SELECTOR, "rect.bar")]
    assert max(bar_widths) / min(bar_widths) == pytest.approx(0.8 / 0.5, rel=0.01)  # 80% vs 50%, to scale

    # nothing was fetched, and the hostile evidence quote is shown as text, not run
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert browser.title == "callscore report"
    review = browser.find_elements(By.CSS_SELECTOR, "#review tbody tr")
    # all time: the critical failures of B (confidence 0.5) and D (0.9), then C's low-confidence answer
    assert [row.find_elements(By.TAG_NAME, "td")[2].text for row in review] == ["B.mp3", "D.mp3", "C.mp3"]
    assert HOSTILE_QUOTE in browser.find_element(By.ID, "review").text
    assert "critical" in review[0].get_attribute("class")

    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "report.png"))
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


def test_since_limits_the_report_to_recent_calls(browser, kpi_warehouse_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "week.html"
    since = (date.today() - timedelta(days=7)).isoformat()
    assert run_cli("report", "--db", str(kpi_warehouse_path), "--out", str(out), "--since", since).exit_code == 0
    browser.get(out.as_uri())
    tiles = browser.find_element(By.CLASS_NAME, "tiles").text
    assert "3\nCalls scored" in tiles  # A, B and C
    assert f"calls since {since}" in browser.find_element(By.CLASS_NAME, "meta").text


def test_an_empty_warehouse_gives_a_page_that_says_so(browser, tmp_path: Path) -> None:
    db, out = tmp_path / "empty.duckdb", tmp_path / "empty.html"
    Warehouse.open(db).close()
    assert run_cli("report", "--db", str(db), "--out", str(out)).exit_code == 0
    browser.get(out.as_uri())
    assert "No scored calls in this period." in browser.find_element(By.TAG_NAME, "body").text


def test_report_errors_are_one_line(tmp_path: Path) -> None:
    missing = run_cli("report", "--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "r.html"))
    assert missing.exit_code == 2 and "no warehouse at" in missing.stderr and "Traceback" not in missing.stderr
    bad_date = run_cli("report", "--since", "last tuesday")
    assert bad_date.exit_code == 2 and "last tuesday" in bad_date.stderr


def test_qa_distribution_puts_100_in_the_top_band() -> None:
    calls = [{"qa_score": s} for s in (0, 9.9, 10, 55, 99.9, 100, None)]
    assert qa_distribution(calls) == [2, 1, 0, 0, 0, 1, 0, 0, 0, 2]


# -- values and paths a report must survive --------------------------------------------------------


def test_a_stored_time_outside_python_s_range_does_not_break_the_report(kpi_warehouse_path: Path,
                                                                       tmp_path: Path) -> None:
    """A year-10000 start (stored by an older callscore from a sidecar) reaches Python as text."""
    from datetime import datetime, timezone

    from flows.nightly import _finish_run
    from pipeline.processing.outcome import RunSummary

    with Warehouse.open(kpi_warehouse_path) as warehouse:
        warehouse.connection.execute(
            "UPDATE recordings SET started_at = '9999-12-31 23:59:59-12:00' WHERE recording_id = "
            "(SELECT min(recording_id) FROM recordings)")
        warehouse.rebuild_kpi_tables()  # as the call's own write would have filled them
        models = dict.fromkeys(("whisper_model", "llm_model", "scorecard_name", "scorecard_version", "prompt_version"), "m")
        warehouse.begin_run(run_id="r1", source="flow", started_at=datetime.now(timezone.utc), models=models)
    result = run_cli("report", "--db", str(kpi_warehouse_path), "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.stderr
    assert "10000-01-01" in (tmp_path / "r.html").read_text()
    _finish_run(kpi_warehouse_path, RunSummary(run_id="r1"), tmp_path / "reports" / "nightly.html")  # the flow's
    assert "10000-01-01" in (tmp_path / "reports" / "nightly.html").read_text()


def test_the_report_never_replaces_the_warehouse_or_a_file_that_is_not_a_report(kpi_warehouse_path: Path,
                                                                                tmp_path: Path) -> None:
    db_bytes = kpi_warehouse_path.read_bytes()
    notes = tmp_path / "notes.html"
    notes.write_text("<html><body>my own notes</body></html>")
    wal = kpi_warehouse_path.with_name(kpi_warehouse_path.name + ".wal")
    for out, says in ((kpi_warehouse_path, "is the warehouse itself"), (wal, "is the warehouse itself"),
                      (notes, "is not a callscore report: it is kept"), (tmp_path, "")):
        result = run_cli("report", "--db", str(kpi_warehouse_path), "--out", str(out))
        assert result.exit_code == 2, out
        assert says in result.stderr
    assert kpi_warehouse_path.read_bytes() == db_bytes and not wal.exists()
    assert notes.read_text() == "<html><body>my own notes</body></html>"
    report = tmp_path / "report.html"
    for _ in range(2):  # a new file, then the earlier report replaced
        assert run_cli("report", "--db", str(kpi_warehouse_path), "--out", str(report)).exit_code == 0
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_the_report_shows_each_call_s_language_and_a_flagged_layout(browser, kpi_warehouse_path: Path,
                                                                    tmp_path: Path) -> None:
    import dataclasses

    from pipeline.speech.language import LanguageDecision
    from tests.factories import call_record

    record = call_record("R", [("greeted", True, 0.9), ("verified", False, 0.9), ("closing", True, 0.9)], days_ago=1)
    record = dataclasses.replace(record, channel_layout="dual_mono", transcript=dataclasses.replace(
        record.transcript, language=LanguageDecision("ru", 0.93, "detected")))
    with Warehouse.open(kpi_warehouse_path) as warehouse:
        warehouse.save_call(record)
    out = tmp_path / "report.html"
    assert run_cli("report", "--db", str(kpi_warehouse_path), "--out", str(out)).exit_code == 0
    browser.get(out.as_uri())
    tiles = {t.find_element(By.CLASS_NAME, "label").text: t.find_element(By.CLASS_NAME, "value").text
             for t in browser.find_elements(By.CSS_SELECTOR, ".tile")}
    assert tiles["Languages"] == "unknown 5 · ru 1"  # the five factory calls were stored without one
    cells = [row.find_elements(By.TAG_NAME, "td")[2] for row in browser.find_elements(By.CSS_SELECTOR, "#review tbody tr")]
    flagged = [cell for cell in cells if cell.text.startswith("R.mp3")]
    assert [[f.text for f in cell.find_elements(By.CLASS_NAME, "flag")] for cell in flagged] == [["ru", "dual_mono"]]


def test_the_report_bench_writes_a_page_for_every_call_it_lists(tmp_path: Path) -> None:
    from bench.report import bench_report

    result = bench_report(30, 1, tmp_path)
    assert result["call_pages"] == result["linked_calls"] == 30  # 50 agents: each call is among its agent's 20
    assert result["report_bytes"] > result["summary_page_bytes"]  # its times are the bench's to print, not to test


def test_the_report_charts_reasons_resolution_and_customer_sentiment(browser, outcome_warehouse_path: Path,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "outcomes.html"
    assert run_cli("report", "--db", str(outcome_warehouse_path), "--out", str(out)).exit_code == 0
    browser.get(out.as_uri())
    figures = {f.get_attribute("data-chart"): f for f in browser.find_elements(By.CSS_SELECTOR, "figure.chart")}
    assert {"reasons", "resolution", "sentiment"} <= set(figures)
    assert marks(figures["reasons"]) == 3  # billing (2 calls), outage, move
    assert "billing: 50% (2 calls, 100% resolved)" in figures["reasons"].text
    assert marks(figures["resolution"]) == 2  # sam, alex
    assert marks(figures["sentiment"]) == 2  # alex's Russian call is not measured, his English one is
    outcomes = {row.get_attribute("data-agent"): [td.text for td in row.find_elements(By.TAG_NAME, "td")]
                for row in browser.find_elements(By.CSS_SELECTOR, "#outcomes tbody tr")}
    assert outcomes["sam"][1:4] == ["2", "50%", "2"] and outcomes["sam"][6] == "50%"  # O1 happier, O2 not
    assert outcomes["alex"][3] == "1" and outcomes["alex"][6] == "100%"
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "report-outcomes.png"))


def test_call_links_work_when_the_report_s_name_holds_url_characters(browser, kpi_warehouse_path: Path,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "week #48? 100%.html"
    assert run_cli("report", "--db", str(kpi_warehouse_path), "--out", str(out)).exit_code == 0
    browser.get(out.as_uri())
    first = browser.find_elements(By.CSS_SELECTOR, "a.call-link")[0]
    assert "%23" in first.get_attribute("outerHTML") and "%3F" in first.get_attribute("outerHTML")
    browser.get(first.get_attribute("href"))  # the link as the browser resolves it
    assert browser.current_url.startswith((tmp_path / "week #48? 100%-calls").as_uri())
    assert "call page by callscore" in browser.page_source  # the page opened, not a missing file
    browser.find_element(By.LINK_TEXT, "← report").click()
    assert browser.current_url == out.as_uri() and browser.find_elements(By.CSS_SELECTOR, "a.call-link")


def test_the_mean_qa_tile_follows_the_views_rule(browser, tmp_path: Path) -> None:
    """Three calls of 83.33, 83.33 and 0: the mean of unrounded scores is 55.6 (kpi_agents);
    averaging the rounded ones (83.3) gave 55.5 on the tile."""
    from tests.factories import call_record

    db, out = tmp_path / "w.duckdb", tmp_path / "report.html"
    with Warehouse.open(db) as warehouse:
        for name, passed in (("a", True), ("b", True), ("c", False)):
            warehouse.save_call(call_record(name, [("greeted", False, 0.9), ("verified", passed, 0.9),
                                                   ("closing", passed, 0.9)], days_ago=1))
        (agents_mean,) = warehouse.connection.execute("SELECT mean_qa_score FROM kpi_agents").fetchone()
    assert run_cli("report", "--db", str(db), "--out", str(out)).exit_code == 0
    browser.get(out.as_uri())
    tiles = {t.find_element(By.CLASS_NAME, "label").text: t.find_element(By.CLASS_NAME, "value").text
             for t in browser.find_elements(By.CSS_SELECTOR, ".tile")}
    agent_row = browser.find_element(By.CSS_SELECTOR, "#agents tbody tr").text
    assert tiles["Mean QA score"] == f"{agents_mean:.1f}" == "55.6" and " 55.6 " in f" {agent_row} "


_TEXT_OUTSIDE_ITS_CHART = """
const outside = [];
for (const svg of document.querySelectorAll('svg')) {
  const view = svg.viewBox.baseVal;
  const left = view && view.width ? view.x : 0;
  const right = left + (view && view.width ? view.width : svg.width.baseVal.value);
  for (const text of svg.querySelectorAll('text')) {
    const box = text.getBBox();
    if (box.x < left - 0.5 || box.x + box.width > right + 0.5) outside.push(text.textContent);
  }
}
return outside;
"""


def test_every_chart_label_stays_inside_its_chart_and_unreliable_bars_are_grey(browser, kpi_warehouse_path: Path,
                                                                                 tmp_path: Path) -> None:
    from pipeline.report.charts import COLOURS

    out = tmp_path / "report.html"
    assert run_cli("report", "--db", str(kpi_warehouse_path), "--out", str(out)).exit_code == 0
    browser.get(out.as_uri())
    assert browser.execute_script(_TEXT_OUTSIDE_ITS_CHART) == []  # was "95% not measurec"
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart-criteria rect.bar, figure svg rect.bar")
    unreliable = [b.get_attribute("fill") for b in bars
                  if "?" in (b.find_element(By.TAG_NAME, "title").get_attribute("textContent") or "").split(":")[0]]
    assert unreliable and set(unreliable) == {COLOURS["unreliable"]}  # the caption says grey
    pages = sorted((tmp_path / "report-calls").glob("*.html"))
    browser.get(pages[0].as_uri())
    assert browser.execute_script(_TEXT_OUTSIDE_ITS_CHART) == []  # the timeline's end label ("00:0")


def test_a_talk_ratio_measured_on_some_of_an_agent_s_calls_says_on_how_many(browser, tmp_path: Path) -> None:
    """One stereo clip among mono calls gave an agent a talk ratio of 100% with no count."""
    from tests.factories import call_record, seg

    db, out = tmp_path / "w.duckdb", tmp_path / "report.html"
    answers = [("greeted", True, 0.9), ("verified", True, 0.9), ("closing", True, 0.9)]
    with Warehouse.open(db) as warehouse:
        warehouse.save_call(call_record("stereo", answers, days_ago=1))  # the agent speaks on their channel
        for name in ("mono1", "mono2"):
            warehouse.save_call(call_record(name, answers, days_ago=1,
                                            segments=(seg("unknown", 0.0, 5.0, "hello there"),)))
    assert run_cli("report", "--db", str(db), "--out", str(out)).exit_code == 0
    browser.get(out.as_uri())
    row = browser.find_element(By.CSS_SELECTOR, "#agents tbody tr").text
    assert "100% (1 of 3 calls)" in row
