"""Calibration in the desk: three reviewers answer the same calls blind (one in Chromium with the
keyboard, two through the API), the session page shows the figures only once all have
answered, and who may see and post what is enforced."""

from __future__ import annotations

import httpx
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from pipeline.store.warehouse import Warehouse
from tests.conftest import ROOT, rows, run_cli
from tests.desk.conftest import CALL_A, CALL_B, CALL_C, RunningDesk
from tests.desk.test_desk_browser import _log_in, _until

ARTIFACTS = ROOT / "test-artifacts"
HOSTILE_NAME = "<script>document.title='calibration'</script>June"
# What ben and cy answer (greeted, verified, closing) on calls A, B, C.
OTHERS = {"ben": {CALL_A: ("yes", "yes", "no"), CALL_B: ("no", "no", "yes"), CALL_C: ("yes", "yes", "yes")},
          "cy": {CALL_A: ("yes", "no", "no"), CALL_B: ("no", "no", "yes"), CALL_C: ("yes", "yes", "no")}}
CRITERIA = ("greeted", "verified", "closing")


def _session(desk: RunningDesk, *extra: str) -> str:
    card = str(desk.db.parent / "card.yaml")
    made = run_cli("calibrate", "new", "--calls", "3", "--reviewers", "ana,ben,cy", "--name", HOSTILE_NAME, *extra,
                   "--scorecard", card, "--db", str(desk.db), "--url", desk.url)
    assert made.exit_code == 0, made.stderr
    return made.stdout.strip()


def _answer_by_api(desk: RunningDesk, name: str, calibration: int) -> None:
    with httpx.Client(base_url=desk.url, headers={"authorization": f"Bearer {desk.bearer(name)}"}, timeout=30) as script:
        for call, answers in OTHERS[name].items():
            for criterion, answer in zip(CRITERIA, answers):
                posted = script.post(f"/api/calls/{call}/reviews",
                                     json={"criterion_id": criterion, "answer": answer, "calibration_id": calibration})
                assert posted.status_code == 201, posted.text
            for field, option in (("reason", "billing"), ("outcome", "resolved")):
                posted = script.post(f"/api/calls/{call}/reviews",
                                     json={"field_id": field, "answer": option, "calibration_id": calibration})
                assert posted.status_code == 201, posted.text


def test_three_reviewers_calibrate_blind_and_see_the_figures_when_all_have_answered(browser, desk: RunningDesk) -> None:
    link = _session(desk, "--blind-to-machine")
    for name in ("ben", "cy"):
        desk.links[name] = desk.new_link(name)
    _answer_by_api(desk, "ben", 1)
    peek = httpx.get(f"{desk.url}/api/calls/{CALL_A}", headers={"authorization": f"Bearer {desk.bearer('ana')}"})
    assert peek.json()["reviews"] == []  # ben's blind answers do not show in the call's data either
    _log_in(browser, desk.links["ana"])
    browser.get(link)
    assert browser.title == "callscore desk: calibration 1" and "3 of" not in browser.find_element(By.ID, "progress").text
    assert browser.find_elements(By.ID, "figures") == []  # not before everyone has answered
    for call in (CALL_A, CALL_B, CALL_C):
        browser.get(f"{desk.url}/calibrations/1/calls/{call}")
        page = browser.page_source
        assert "machine:" not in page and "overruled" not in page and "ben" not in page  # blind
        for answered, key in enumerate("yyy", start=1):  # greeted, verified, closing: yes to all, by keyboard
            ActionChains(browser).send_keys(key).perform()
            _until(browser, lambda b, answered=answered: b.page_source.count("your answer: yes") == answered)
        for field, option in (("reason", "billing"), ("outcome", "resolved")):
            browser.find_element(By.CSS_SELECTOR, f"#field-{field} button[value='{option}']").click()
            _until(browser, lambda b, field=field: "your answer" in b.find_element(By.ID, f"field-{field}").text)
    assert rows(desk.db, "SELECT count(*) FROM reviews WHERE reviewer = 'ana' AND calibration_id = 1") == [(15,)]
    assert rows(desk.db, "SELECT count(*) FROM reviewed_answers") == [(0,)]  # blind answers are not the answer that counts
    _answer_by_api(desk, "cy", 1)
    browser.get(link)
    figures = browser.find_element(By.ID, "figures").text
    assert "greeted" in figures and "Disagreements" in browser.page_source
    assert browser.title == "callscore desk: calibration 1"  # the hostile name stayed text
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "desk-calibration.png"))
    shown = run_cli("calibrate", "show", "1", "--db", str(desk.db), "--json")
    greeted = next(i for i in __import__("json").loads(shown.stdout)["items"] if i["criterion_id"] == "greeted")
    assert greeted["calls"] == 3 and greeted["fleiss_kappa"] is not None


def test_who_may_see_and_answer_a_calibration(desk: RunningDesk) -> None:
    _session(desk)
    with desk.client() as anonymous:
        for path in ("/calibrations", "/calibrations/1", f"/calibrations/1/calls/{CALL_A}"):
            assert anonymous.get(path).status_code == 401
    with desk.client("vic") as vic:  # a viewer: sees the sessions, answers nothing
        assert vic.get("/calibrations").status_code == 200
        assert vic.get(f"/calibrations/1/calls/{CALL_A}").status_code == 403
        assert vic.post(f"/calibrations/1/calls/{CALL_A}/reviews",
                        data={"criterion_id": "greeted", "answer": "yes"}).status_code == 403
    with Warehouse.open(desk.db) as warehouse:  # dan reviews, but is not in this session
        token = warehouse.add_reviewer("dan")
    with httpx.Client(base_url=desk.url, headers={"origin": desk.url}, timeout=30) as dan:
        assert dan.post("/login", data={"token": token}).status_code == 303
        assert dan.get(f"/calibrations/1/calls/{CALL_A}").status_code == 403
        assert dan.post(f"/calibrations/1/calls/{CALL_A}/reviews",
                        data={"criterion_id": "greeted", "answer": "yes"}).status_code == 403
    with desk.client("ana") as ana:
        assert ana.get("/calibrations/9").status_code == 404 and ana.get("/calibrations/x").status_code == 404
        assert ana.get(f"/calibrations/1/calls/{'d' * 64}").status_code == 404
        refused = ana.post(f"/calibrations/1/calls/{CALL_A}/reviews", data={"criterion_id": "greeted", "answer": "yes"},
                           headers={"origin": "http://evil.example"})
        assert refused.status_code == 403
        page = ana.get("/calibrations").text + ana.get("/calibrations/1").text
        assert HOSTILE_NAME not in page and "&lt;script&gt;" in page
        page = ana.get(f"/calibrations/1/calls/{CALL_A}").text
        assert "machine: no" in page  # not blind to the machine: ana sees its answer
    assert rows(desk.db, "SELECT count(*) FROM reviews") == [(0,)]
