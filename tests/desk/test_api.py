"""The desk's JSON API as a script uses it (bearer token, no browser headers): the calls list
with each filter, one call with its reviews, and reviews posted, refused or repeated."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from tests.conftest import rows
from tests.desk.conftest import CALL_A, CALL_B, CALL_C, RunningDesk


@pytest.fixture
def script(desk: RunningDesk):
    with httpx.Client(base_url=desk.url, headers={"authorization": f"Bearer {desk.bearer('ana')}"},
                      timeout=30) as client:
        yield client


def _listed(script: httpx.Client, **params) -> list[str]:
    answer = script.get("/api/calls", params=params)
    assert answer.status_code == 200, answer.text
    return [c["recording_id"] for c in answer.json()["calls"]]


def test_each_filter_narrows_the_calls(script: httpx.Client) -> None:
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert _listed(script) == [CALL_A, CALL_B, CALL_C]  # newest first
    assert _listed(script, agent="sam") == [CALL_A]
    assert _listed(script, team="billing") == [CALL_A, CALL_C]
    assert _listed(script, failed="closing") == [CALL_A]
    assert _listed(script, failed="greeted") == [CALL_B]
    assert _listed(script, critical="yes") == [CALL_B]  # verified is critical
    assert _listed(script, score_max=50) == [CALL_A, CALL_B]  # 3 of 6 weight each
    assert _listed(script, score_min=100) == [CALL_C]
    assert _listed(script, day_from=yesterday, day_to=yesterday) == [CALL_A]
    assert _listed(script, confidence_below=0.6) == [CALL_A]
    assert _listed(script, q="DATE OF BIRTH") == [CALL_A, CALL_B, CALL_C]
    assert _listed(script, q="a.mp3") == [CALL_A]
    assert _listed(script, q="nobody said this") == []
    assert _listed(script, reviewed="yes") == []
    assert _listed(script, sort="qa_score", desc="no") == [CALL_A, CALL_B, CALL_C]  # ties by id
    assert _listed(script, per_page=1, page=2) == [CALL_B]
    answer = script.get("/api/calls", params={"per_page": 2}).json()
    assert (answer["total"], answer["pages"], len(answer["calls"])) == (3, 2, 2)


def test_a_review_changes_what_the_filters_and_scores_say(script: httpx.Client, desk: RunningDesk) -> None:
    answer = script.post(f"/api/calls/{CALL_A}/reviews", json={"criterion_id": "closing", "answer": "yes",
                                                               "comment": "she did close", "evidence_line": 5})
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert (stored["machine_answer"], stored["answer"], stored["reason"], stored["reviewer"]) == (
        "no", "yes", "wrong_verdict", "ana")
    assert _listed(script, failed="closing") == []
    assert _listed(script, reviewed="yes") == [CALL_A]
    assert _listed(script, reviewed="no") == [CALL_B, CALL_C]
    call = next(c for c in script.get("/api/calls").json()["calls"] if c["recording_id"] == CALL_A)
    assert (call["qa_score"], call["machine_qa_score"], call["reviewed_answers"], call["overruled_answers"]) == (
        100.0, 50.0, 1, 1)
    shown = script.get(f"/api/calls/{CALL_A}").json()
    closing = next(v for v in shown["verdicts"] if v["criterion_id"] == "closing")
    assert closing["review"] == {"answer": "yes", "reviewer": "ana", "reviewers": 1, "overruled": True}
    assert [r["comment"] for r in shown["reviews"]] == ["she did close"]
    assert rows(desk.db, "SELECT qa_score, includes_manual_edits FROM kpi_calls WHERE recording_id = ?",
                [CALL_A]) == [(100.0, True)]


def test_a_confirmation_a_new_evidence_line_and_a_fields_option(script: httpx.Client) -> None:
    def post(**body) -> dict:
        answer = script.post(f"/api/calls/{CALL_B}/reviews", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()

    assert post(criterion_id="verified", answer="no")["reason"] is None  # the machine was right
    assert post(criterion_id="greeted", answer="no", evidence_line=2)["reason"] == "wrong_evidence"
    assert post(field_id="reason", answer="billing")["reason"] is None
    assert post(field_id="outcome", answer="escalated")["reason"] == "wrong_verdict"  # the scorecard's option
    summary = post(field_id="summary", answer="Bill corrected.", reason="missing_evidence")
    assert (summary["item_kind"], summary["machine_answer"], summary["answer"]) == (
        "field", "The bill was wrong.", "Bill corrected.")


@pytest.mark.parametrize(("body", "error"), [
    ({"criterion_id": "no_such", "answer": "yes"}, "no criterion 'no_such'"),
    ({"criterion_id": "closing", "answer": "maybe"}, "one of yes, no, n.a."),
    ({"criterion_id": "closing", "field_id": "reason", "answer": "yes"}, "one of them"),
    ({"answer": "yes"}, "one of them"),
    ({"criterion_id": "closing"}, "give an answer"),
    ({"criterion_id": "closing", "answer": "yes", "reason": "bored"}, "reason is one of"),
    ({"criterion_id": "closing", "answer": "yes", "evidence_line": 99}, "1 to 5"),
    ({"criterion_id": "closing", "answer": "yes", "evidence_line": "L2"}, "a line number"),
    ({"criterion_id": "closing", "answer": "yes", "comment": "x" * 2001}, "at most 2000"),
    ({"field_id": "reason", "answer": "aliens"}, "reason is one of"),
    ({"criterion_id": ["closing"], "answer": "yes"}, "is text"),
])
def test_a_review_that_does_not_fit_is_refused_with_a_reason(script: httpx.Client, desk: RunningDesk, body: dict,
                                                            error: str) -> None:
    answer = script.post(f"/api/calls/{CALL_A}/reviews", json=body)
    assert answer.status_code == 400 and error in answer.json()["error"], answer.text
    assert rows(desk.db, "SELECT count(*) FROM reviews") == [(0,)]


def test_bad_requests_get_one_line_answers(script: httpx.Client) -> None:
    assert script.get(f"/api/calls/{'e' * 64}").status_code == 404
    assert script.get("/api/calls/not-an-id").status_code == 404
    assert script.post(f"/api/calls/{CALL_A}/reviews", content=b"{not json").status_code == 400
    assert script.post(f"/api/calls/{CALL_A}/reviews", json=[1, 2]).status_code == 400
    assert script.post(f"/api/calls/{CALL_A}/reviews", content=b"x" * 70_000).status_code == 413
    assert script.get("/api/calls", params={"score_min": "abc"}).json() == {
        "error": "filter score_min: a number from 0 to 100"}
    assert script.get("/api/calls", params={"sort": "recording_id; DROP"}).status_code == 400


def test_the_same_review_sent_twice_is_stored_once(script: httpx.Client, desk: RunningDesk) -> None:
    body = {"criterion_id": "closing", "answer": "yes"}
    first = script.post(f"/api/calls/{CALL_A}/reviews", json=body).json()
    second = script.post(f"/api/calls/{CALL_A}/reviews", json=body).json()  # a retry
    assert first["review_id"] == second["review_id"]
    assert rows(desk.db, "SELECT count(*) FROM reviews") == [(1,)]


def test_the_queue_gives_each_reviewer_calls_nobody_else_has_open(script: httpx.Client, desk: RunningDesk) -> None:
    def take(client: httpx.Client, **narrowing) -> dict | None:
        answer = client.post("/api/queue/next", json=narrowing)
        assert answer.status_code == 200, answer.text
        return answer.json()["assignment"]

    first = take(script, agent="alex")  # narrowed: alex has call B only
    assert (first["recording_id"], first["url"]) == (CALL_B, f"/calls/{CALL_B}")
    assert first["chosen_as"] in ("random", "doubtful")
    second = take(script)  # finishes B
    assert second["recording_id"] in (CALL_A, CALL_C)
    with httpx.Client(base_url=desk.url, headers={"authorization": f"Bearer {desk.bearer('ben')}"},
                      timeout=30) as ben:
        third = take(ben)  # not B (finished), not ana's open call
        assert {third["recording_id"], second["recording_id"]} == {CALL_A, CALL_C}
        assert take(ben) is None  # nothing left
    assert script.post("/api/queue/next", json={"agent": "x" * 201}).status_code == 400
    assert script.post("/api/queue/next", json={"team": 7}).status_code == 400
    assert rows(desk.db, "SELECT reviewer, recording_id, finished_at IS NOT NULL FROM review_assignments"
                         " ORDER BY assignment_id") == [
        ("ana", CALL_B, True), ("ana", second["recording_id"], False), ("ben", third["recording_id"], True)]
