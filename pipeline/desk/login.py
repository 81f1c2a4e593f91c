"""Logging in and out. A login link (``callscore reviewers add``) opens a page with one button,
so that a link previewer fetching it does not use it up; the button posts the token, which
works once, and the desk answers with a signed, HttpOnly, SameSite=Strict session cookie. A
script posts the token to ``/api/login`` and gets the same session as a bearer token."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from pipeline.desk.guard import Desk, DeskError, answer_error, read_body, refusal_of_origin
from pipeline.desk.requests import form_of, json_of
from pipeline.desk.sessions import SESSION_COOKIE
from pipeline.errors import WarehouseBusyError
from pipeline.report.templates import TEMPLATES
from pipeline.store.warehouse.reviewer_ledger import Reviewer

MAX_TOKEN_CHARS = 200
_USED = "this login link was used already, has expired, or is unknown: ask for a new one (callscore reviewers add NAME)"


async def login_page(request: Request) -> Response:
    token = request.query_params.get("token", "")
    return HTMLResponse(TEMPLATES.get_template("desk_login.html.j2").render(
        token=token if 0 < len(token) <= MAX_TOKEN_CHARS else ""))


async def login(request: Request) -> Response:
    return await _redeem(request, api=False)


async def api_login(request: Request) -> Response:
    return await _redeem(request, api=True)


async def logout(request: Request) -> Response:
    refusal = refusal_of_origin(request, bearer=False)
    if refusal is not None:
        return answer_error(403, refusal, api=False)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


async def _redeem(request: Request, *, api: bool) -> Response:
    desk: Desk = request.app.state.desk
    refusal = refusal_of_origin(request, bearer=False)
    if refusal is not None:
        return answer_error(403, refusal, api=api)
    try:
        request.state.body = await read_body(request)
        token = (json_of(request) if api else form_of(request)).get("token")
    except DeskError as exc:
        return answer_error(exc.status, str(exc), api=api)
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        return answer_error(400, "give the token of a login link", api=api)
    try:
        reviewer = await run_in_threadpool(_redeemed, desk, token)
    except WarehouseBusyError as exc:
        return answer_error(503, f"{exc}; try again in a moment", api=api)
    if reviewer is None:
        return answer_error(401, _USED, api=api)
    session = desk.signer.sign(reviewer.name)
    if api:
        return JSONResponse({"name": reviewer.name, "role": reviewer.role, "bearer": session,
                             "expires_in_s": desk.signer.max_age_s})
    response = RedirectResponse("/calls", status_code=303)
    response.set_cookie(SESSION_COOKIE, session, max_age=desk.signer.max_age_s, path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


def _redeemed(desk: Desk, token: str) -> Reviewer | None:
    with desk.warehouse.writing() as warehouse:
        return warehouse.redeem_link(token)
