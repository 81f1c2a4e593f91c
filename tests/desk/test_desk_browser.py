"""The desk as a supervisor uses it, in headless Chromium against the real `callscore serve`:
log in through the link, filter the calls, open one, play an evidence line, overrule a verdict
from the keyboard, "complete + next", and find the overrule in kpi_criteria, `callscore show`
and the report. Screenshots go to test-artifacts/."""

from __future__ import annotations

import time

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ROOT, rows, run_cli
from tests.desk.conftest import CALL_A, CALL_B, RunningDesk

ARTIFACTS = ROOT / "test-artifacts"


def _listed(browser) -> list[str]:
    return [row.get_attribute("data-recording") for row in browser.find_elements(By.CSS_SELECTOR, "#calls tbody tr[data-recording]")]


def _filter(browser, **choices: str) -> None:
    for name, value in choices.items():
        Select(browser.find_element(By.NAME, name)).select_by_visible_text(value)
    old = browser.find_element(By.ID, "calls")
    browser.find_element(By.ID, "apply-filters").click()
    _until(browser, lambda b: _replaced(old))  # the new page replaced it


def _replaced(element) -> bool:
    """Whether the page ``element`` was on has gone (Chromium says so in one of two ways)."""
    try:
        element.is_enabled()
    except (StaleElementReferenceException, WebDriverException):
        return True
    return False


def _until(browser, condition) -> None:
    """Wait up to 30 s (a loaded machine) for ``condition(browser)``, across page loads: an element
    gone stale, or read by Chromium while the next page replaces it ("Node with given id does not
    belong to the document", a plain WebDriverException), is read again."""
    WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException, WebDriverException)).until(condition)


def _log_in(browser, link: str) -> None:
    browser.get(link)
    browser.find_element(By.ID, "log-in").click()
    _until(browser, lambda b: b.current_url.endswith("/calls"))


def _is_stale(element) -> bool:
    """Whether ``element``'s page has been replaced."""
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        element.is_enabled()
        return False
    except StaleElementReferenceException:
        return True


def _keys(browser, keys: str) -> None:
    for key in keys:
        ActionChains(browser).send_keys(key).perform()


def test_a_supervisor_finds_listens_overrules_and_moves_on(browser, desk: RunningDesk, tmp_path) -> None:
    browser.set_window_size(1400, 1800)
    _log_in(browser, desk.links["ana"])
    assert len(_listed(browser)) == 3 and browser.title == "callscore desk: calls"  # the hostile agent stayed text

    _filter(browser, agent="sam")
    assert _listed(browser) == [CALL_A] and "agent=sam" in browser.current_url  # shareable
    _filter(browser, agent="any", failed="closing")
    assert _listed(browser) == [CALL_A] and "failed=closing" in browser.current_url
    ARTIFACTS.mkdir(exist_ok=True)
    browser.get(f"{desk.url}/calls")
    browser.save_screenshot(str(ARTIFACTS / "desk-calls.png"))

    browser.find_element(By.CSS_SELECTOR, f"tr[data-recording='{CALL_A}'] a.call-link").click()
    player = browser.find_element(By.ID, "player")
    browser.find_element(By.CSS_SELECTOR, "#criterion-closing a.play").click()  # the evidence at 20.5 s
    _until(browser, lambda b: b.execute_script("return arguments[0].currentTime", player) >= 20.5)
    assert browser.execute_script("return arguments[0].src", player).endswith(f"/calls/{CALL_A}/audio")

    _keys(browser, "jj")  # greeted -> verified -> closing
    assert "focused" in browser.find_element(By.ID, "criterion-closing").get_attribute("class")
    _keys(browser, "y")  # the machine said no: overrule to yes
    _until(browser, lambda b: "overruled by ana: yes" in b.find_element(By.ID, "criterion-closing").text)
    browser.find_element(By.CSS_SELECTOR, "#field-reason button[value='outage']").click()  # the scorecard's option
    _until(browser, lambda b: "overruled by ana: outage" in b.find_element(By.ID, "field-reason").text)
    assert "with reviews; machine 50.0" in browser.find_element(By.ID, "qa-score").text
    assert browser.find_element(By.CSS_SELECTOR, "#qa-score .value").text == "100.0"
    browser.save_screenshot(str(ARTIFACTS / "desk-call-reviewed.png"))
    assert rows(desk.db, "SELECT item_id, machine_answer, answer, reason, reviewer FROM reviews") == [
        ("closing", "no", "yes", "wrong_verdict", "ana"), ("reason", "billing", "outage", "wrong_verdict", "ana")]

    _keys(browser, "c")  # complete + next
    _until(browser, lambda b: f"/calls/{CALL_B}" in b.current_url)

    assert rows(desk.db, "SELECT criterion_id, passed, failed, reviewed_answers, overruled_answers FROM kpi_criteria"
                         " WHERE criterion_id = 'closing'") == [("closing", 3, 0, 1, 1)]
    shown = run_cli("show", CALL_A, "--db", str(desk.db), "--no-transcript")
    assert "overruled by ana: yes" in shown.stdout
    report = tmp_path / "report.html"
    assert run_cli("report", "--db", str(desk.db), "--out", str(report)).exit_code == 0
    pages = [report.read_text()] + [p.read_text() for p in (tmp_path / "report-calls").glob("*.html")]
    assert any("overruled by ana: yes" in page for page in pages)


def test_a_reviewer_picks_the_right_evidence_line_and_a_reason_without_a_script(browser, desk: RunningDesk) -> None:
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        _log_in(browser, desk.links["ana"])
        browser.get(f"{desk.url}/calls/{CALL_B}")
        verdict = browser.find_element(By.ID, "criterion-greeted")
        verdict.find_element(By.TAG_NAME, "summary").click()
        Select(verdict.find_element(By.NAME, "evidence_line")).select_by_index(2)  # L2
        Select(verdict.find_element(By.NAME, "reason")).select_by_value("wrong_evidence")
        verdict.find_element(By.NAME, "comment").send_keys("the greeting is on L2")
        verdict.find_element(By.CSS_SELECTOR, "button.confirm").click()
        _until(browser, lambda b: "confirmed by ana" in b.find_element(By.ID, "criterion-greeted").text)
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    assert rows(desk.db, "SELECT item_id, answer, reason, comment, evidence_line FROM reviews") == [
        ("greeted", "no", "wrong_evidence", "the greeting is on L2", 2)]


def test_the_pages_fit_a_phone_sized_window(browser, desk: RunningDesk) -> None:
    _log_in(browser, desk.links["vic"])
    browser.set_window_size(390, 844)
    try:
        for path in ("/calls", f"/calls/{CALL_A}", "/queue"):
            browser.get(desk.url + path)
            time.sleep(0.2)
            overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} is {overflow} px wider than the window"
        browser.get(desk.url + "/calls")
        browser.save_screenshot(str(ARTIFACTS / "desk-calls-phone.png"))
    finally:
        browser.set_window_size(1400, 1800)


def test_a_reviewer_works_through_the_queue_with_the_keyboard(browser, desk: RunningDesk) -> None:
    browser.set_window_size(1400, 1800)
    _log_in(browser, desk.links["ana"])
    browser.find_element(By.ID, "queue-link").click()
    _until(browser, lambda b: "3 calls left" in b.find_element(By.ID, "queue-left").text)
    Select(browser.find_element(By.NAME, "team")).select_by_visible_text("billing")  # calls A and C
    browser.find_element(By.ID, "queue-next").click()
    _until(browser, lambda b: "/calls/" in b.current_url and "queue=1" in b.current_url)
    first = browser.current_url.split("/calls/")[1][:64]
    page = browser.find_element(By.TAG_NAME, "html")
    _keys(browser, "y")  # confirm the first answer: the form is posted and the call page comes back
    _until(browser, lambda b: _is_stale(page) and "/calls/" in b.current_url)
    _keys(browser, "c")  # "complete + next in the queue"
    _until(browser, lambda b: "/calls/" in b.current_url and first not in b.current_url)
    second = browser.current_url.split("/calls/")[1][:64]
    assert {first, second} <= {CALL_A, "c" * 64} and "team=billing" in browser.current_url
    browser.find_element(By.ID, "complete-next").click()
    _until(browser, lambda b: b.current_url.split("?")[0].endswith("/queue"))
    assert "No call is left" in browser.find_element(By.ID, "queue-done").text
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "desk-queue.png"))
    assert rows(desk.db, "SELECT recording_id, finished_at IS NOT NULL FROM review_assignments"
                         " ORDER BY assignment_id") == [(first, True), (second, True)]
    assert rows(desk.db, "SELECT recording_id, reviewer FROM reviews") == [(first, "ana")]
