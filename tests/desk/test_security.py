"""Who may do what on the desk, tested like behaviour: for every page and API route, a request
without a session, one from another origin, one with a viewer's rights; forged and stale
sessions; hostile text in every field a page shows; the audio route's ids; SQL in every filter."""

from __future__ import annotations

import httpx
import pytest

from pipeline.desk.call_filters import FLAGS
from pipeline.desk.sessions import SESSION_COOKIE, SessionSigner
from tests.conftest import held_by_another_process, rows, run_cli
from tests.desk.conftest import CALL_A, HOSTILE_AGENT, HOSTILE_LINE, RunningDesk

READS = ["/calls", f"/calls/{CALL_A}", f"/calls/{CALL_A}/next", f"/calls/{CALL_A}/audio", "/api/calls",
         f"/api/calls/{CALL_A}", "/queue"]
FORM = (f"/calls/{CALL_A}/reviews", {"data": {"criterion_id": "closing", "answer": "yes"}})
API = (f"/api/calls/{CALL_A}/reviews", {"json": {"criterion_id": "closing", "answer": "yes"}})
QUEUE_FORM = ("/queue/next", {"data": {"agent": ""}})
QUEUE_API = ("/api/queue/next", {"json": {}})
WRITES = [FORM, API, QUEUE_FORM, QUEUE_API]
HOSTILE_COMMENT = '<script>document.title="comment"</script><img src=x onerror=alert(1)>'


def _reviews(desk: RunningDesk) -> int:
    """Reviews stored, and calls the review queue gave."""
    return rows(desk.db, "SELECT (SELECT count(*) FROM reviews) + (SELECT count(*) FROM review_assignments)")[0][0]


def test_without_a_session_no_route_gives_data(desk: RunningDesk) -> None:
    with desk.client() as anonymous:
        for path in READS:
            assert anonymous.get(path).status_code == 401, path
        for path, body in WRITES:
            assert anonymous.post(path, **body).status_code == 401, path
        assert anonymous.get("/", follow_redirects=True).status_code == 401
        assert anonymous.get("/login").status_code == 200  # the one page open to all
    assert _reviews(desk) == 0


@pytest.mark.parametrize("cookie", ["", "garbage", "eyJuIjogImFuYSIsICJpIjogMH0.0000",
                                    SessionSigner(b"another desk's key").sign("ana")])
def test_a_forged_or_damaged_session_is_no_session(desk: RunningDesk, cookie: str) -> None:
    with desk.client(cookies={SESSION_COOKIE: cookie}) as client:
        assert client.get("/calls").status_code == 401
        assert client.get("/api/calls", headers={"authorization": f"Bearer {cookie}x"}).status_code == 401


@pytest.mark.parametrize("headers", [{"origin": "http://evil.example"}, {"sec-fetch-site": "cross-site"},
                                     {"origin": "null"}, {"sec-fetch-site": "same-site"}])
def test_a_request_from_another_origin_changes_nothing(desk: RunningDesk, headers: dict) -> None:
    with desk.client("ana") as ana:
        for path, body in WRITES:
            answer = ana.post(path, headers={"origin": desk.url, "sec-fetch-site": "same-origin", **headers}, **body)
            assert answer.status_code == 403 and "refused" in answer.text, path
        assert ana.post("/logout", headers=headers).status_code == 403
        assert ana.get("/calls").status_code == 200  # still logged in: the refused logout did nothing
    token = desk.links["vic"].split("token=")[1]
    with desk.client() as stranger:
        assert stranger.post("/login", data={"token": token}, headers=headers).status_code == 403
    assert _reviews(desk) == 0
    with desk.client("vic"):  # the refused login did not use the link up
        pass


def test_a_viewer_reads_but_may_not_review(desk: RunningDesk) -> None:
    with desk.client("vic") as vic:
        for path in READS:
            assert vic.get(path).status_code in (200, 303), path  # 303: next goes on to a call
        assert "<form class=\"review-form\"" not in vic.get(f"/calls/{CALL_A}").text
        for path, body in WRITES:
            answer = vic.post(path, **body)
            assert answer.status_code == 403 and "viewer" in answer.text, path
    with httpx.Client(base_url=desk.url, headers={"authorization": f"Bearer {desk.bearer('vic')}"}) as script:
        assert script.get("/api/calls").status_code == 200
        assert script.post(API[0], **API[1]).status_code == 403
    assert _reviews(desk) == 0


def test_hostile_text_in_an_agent_a_line_and_a_comment_is_shown_as_text(desk: RunningDesk) -> None:
    with desk.client("ana") as ana:
        stored = ana.post(API[0], json={"criterion_id": "closing", "answer": "yes", "comment": HOSTILE_COMMENT})
        assert stored.status_code == 201
        assert ana.post(f"/calls/{CALL_A}/reviews", data={"field_id": "summary", "answer": HOSTILE_COMMENT}
                        ).status_code == 303
        pages = [ana.get("/calls").text, ana.get(f"/calls/{CALL_A}").text, ana.get(f"/calls/{'c' * 64}").text,
                 ana.get("/calls", params={"q": HOSTILE_COMMENT}).text,
                 ana.get("/queue", params={"agent": HOSTILE_COMMENT, "team": HOSTILE_LINE}).text,
                 ana.get(f"/calls/{CALL_A}", params={"queue": "1", "criterion": HOSTILE_COMMENT}).text]
        data = ana.get(f"/api/calls/{CALL_A}").json()
    for page in pages:
        for hostile in (HOSTILE_AGENT, HOSTILE_LINE, HOSTILE_COMMENT, "<script>document.title"):
            assert hostile not in page
    assert "&lt;script&gt;document.title=&#34;agent&#34;&lt;/script&gt;sam" in pages[0]
    assert "&lt;script&gt;document.title=&#34;agent&#34;&lt;/script&gt;sam" in pages[4]  # the queue's agent menu
    assert "&lt;img src=x onerror=" in pages[1]  # the transcript line, escaped
    assert [(r["comment"], r["answer"]) for r in data["reviews"]] == [  # kept as typed
        (HOSTILE_COMMENT, "yes"), (None, HOSTILE_COMMENT)]


@pytest.mark.parametrize("path", [
    "/calls/..%2F..%2F..%2Fetc%2Fpasswd/audio", "/calls/../../etc/passwd/audio", f"/calls/{'d' * 64}/audio",
    f"/calls/{CALL_A[:12]}/audio", "/calls/%2Fetc%2Fpasswd/audio", f"/calls/{CALL_A.upper()}/audio",
])
def test_the_audio_route_serves_only_recordings_the_warehouse_knows(desk: RunningDesk, path: str) -> None:
    with desk.client("ana") as ana:
        answer = ana.get(path)
    assert answer.status_code == 404
    assert b"root:" not in answer.content


def test_the_recording_streams_with_ranges_so_the_player_can_seek(desk: RunningDesk) -> None:
    audio = desk.db.parent / "inbox" / "a.mp3"
    with desk.client("ana") as ana:
        whole = ana.get(f"/calls/{CALL_A}/audio")
        part = ana.get(f"/calls/{CALL_A}/audio", headers={"range": "bytes=1000-1999"})
        beyond = ana.get(f"/calls/{CALL_A}/audio", headers={"range": f"bytes={audio.stat().st_size + 10}-"})
    assert whole.status_code == 200 and whole.content == audio.read_bytes()
    assert whole.headers["content-type"] == "audio/mpeg" and whole.headers["accept-ranges"] == "bytes"
    assert part.status_code == 206 and part.content == audio.read_bytes()[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{audio.stat().st_size}"
    assert beyond.status_code == 416


@pytest.mark.parametrize("value", ["x' OR 1=1 --", "'; DROP TABLE reviews; --", "%", "_", "\\", "1; SELECT 1"])
def test_sql_in_every_filter_is_data(desk: RunningDesk, value: str) -> None:
    names = ["day_from", "day_to", "agent", "team", "score_min", "score_max", "failed", "critical", "flag",
             "language", "reviewed", "confidence_below", "q", "sort", "desc", "page", "per_page"]
    with desk.client("ana") as ana:
        for name in names:
            answer = ana.get("/api/calls", params={name: value})
            assert answer.status_code in (200, 400), name
            if answer.status_code == 200:
                assert answer.json()["total"] == 0, name  # matched as text: no call has it
            else:
                assert answer.json()["error"].startswith(f"filter {name}:")
            assert ana.get("/calls", params={name: value}).status_code == answer.status_code
    assert rows(desk.db, "SELECT count(*) FROM recordings") == [(3,)]
    assert rows(desk.db, "SELECT count(*) FROM reviews") == [(0,)]


def test_every_flag_filter_runs(desk: RunningDesk) -> None:
    with desk.client("ana") as ana:
        for flag in FLAGS:
            assert ana.get("/api/calls", params={"flag": flag}).status_code == 200, flag


def test_a_link_works_once_and_a_removed_reviewer_is_out_at_once(desk: RunningDesk) -> None:
    token = desk.links["ana"].split("token=")[1]
    with desk.client("ana") as ana:
        with desk.client() as other:
            assert other.post("/login", data={"token": token}).status_code == 401  # used
        bearer = desk.bearer("vic")
        assert ana.get("/calls").status_code == 200
        result = run_cli("reviewers", "remove", "ana", "--db", str(desk.db))
        assert result.exit_code == 0, result.stderr
        assert ana.get("/calls").status_code == 401
        run_cli("reviewers", "remove", "vic", "--db", str(desk.db))
        assert httpx.get(f"{desk.url}/api/calls", headers={"authorization": f"Bearer {bearer}"}).status_code == 401


def test_sessions_are_httponly_samesite_cookies_and_every_answer_carries_the_security_headers(
        desk: RunningDesk) -> None:
    token = desk.links["ana"].split("token=")[1]
    with desk.client() as client:
        login = client.post("/login", data={"token": token})
        page = client.get("/calls")
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    for answer in (login, page):
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in page.text  # no inline script: the policy allows none


def test_a_review_posted_while_a_run_writes_the_warehouse_is_stored_once(desk: RunningDesk) -> None:
    with desk.client("ana") as ana, held_by_another_process(desk.db, seconds=2):
        answer = ana.post(API[0], **API[1])  # waits for the run's turn to end
    assert answer.status_code == 201
    assert rows(desk.db, "SELECT item_id, answer, reviewer FROM reviews") == [("closing", "yes", "ana")]
