"""A person's word shows beside the machine's: `callscore show`, its JSON and the call page say
"overruled by NAME: ANSWER" or "confirmed by NAME" for each reviewed verdict (the review desk's
reviews, view reviewed_answers), and hostile text in a reviewer's name stays text."""

from __future__ import annotations

import json
from pathlib import Path

from selenium.webdriver.common.by import By

from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.review_ledger import NewReview
from tests.conftest import run_cli
from tests.factories import CARD, call_record


def _reviewed(tmp_path: Path, reviewer: str = "ana") -> Path:
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        warehouse.save_call(call_record("call", [("greeted", True, 0.9), ("verified", False, 0.6),
                                                 ("closing", True, 0.8)]))
        warehouse.add_review(NewReview("call", CARD.version, "criterion", "verified", reviewer, "yes",
                                       reason="wrong_verdict"))
        warehouse.add_review(NewReview("call", CARD.version, "criterion", "greeted", "ben", "yes"))
    return db


def test_show_says_who_overruled_or_confirmed_each_verdict(tmp_path: Path) -> None:
    db = _reviewed(tmp_path)
    shown = run_cli("show", "call.mp3", "--db", str(db), "--no-transcript")
    assert shown.exit_code == 0, shown.stderr
    lines = {line.split()[1]: line for line in shown.stdout.splitlines() if "confidence" in line}
    assert lines["verified"].endswith("overruled by ana: yes") and lines["greeted"].endswith("confirmed by ben")
    assert lines["closing"].endswith("agreement not measured")
    as_json = json.loads(run_cli("show", "call.mp3", "--db", str(db), "--json").stdout)
    reviews = {v["criterion_id"]: v["review"] for v in as_json["verdicts"]}
    assert reviews["verified"] == {"answer": "yes", "reviewer": "ana", "reviewers": 1, "overruled": True}
    assert reviews["closing"] is None


def test_the_call_page_shows_the_review_and_keeps_a_hostile_name_text(browser, tmp_path: Path) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    db = _reviewed(tmp_path, reviewer=hostile)
    page = tmp_path / "call.html"
    assert run_cli("show", "call.mp3", "--db", str(db), "--html", str(page)).exit_code == 0
    browser.get(page.as_uri())
    review = browser.find_element(By.CSS_SELECTOR, "#criterion-verified .review")
    assert review.text == f"overruled by {hostile}: yes" and "overruled" in review.get_attribute("class")
    assert browser.find_element(By.CSS_SELECTOR, "#criterion-greeted .review").text == "confirmed by ben"
    assert not browser.find_elements(By.CSS_SELECTOR, "#criterion-closing .review")
    assert not browser.find_elements(By.CSS_SELECTOR, "img[src=x]")
