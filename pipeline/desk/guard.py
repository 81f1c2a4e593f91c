"""Every route but the login goes through ``guarded``: a session (cookie or bearer token) of a
reviewer who has not been removed, the role the route needs, and, for a request that changes
something and came with a cookie, the same-origin check (``origin``). It also reads a POST's
body up to ``MAX_BODY_BYTES`` and opens the warehouse for the handler (``DeskWarehouse``).
``security_headers`` adds the headers every response of the desk carries."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.desk.desk_warehouse import DeskWarehouse
from pipeline.desk.origin import cross_site_refusal
from pipeline.desk.sessions import SESSION_COOKIE, Actor, SessionSigner
from pipeline.errors import CallscoreError, WarehouseBusyError
from pipeline.report.templates import TEMPLATES
from pipeline.scoring.scorecard import Scorecard
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.reviewer_ledger import Role

MAX_BODY_BYTES = 64 * 1024  # a review or a login is a few hundred bytes
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                               "base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",  # a login link's token never leaves for another site (no-referrer would make
    # browsers send "Origin: null" with the desk's own forms)
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
Handler = Callable[[Request, Warehouse, Actor], Response]


@dataclass(frozen=True)
class Desk:
    """What the routes share: the warehouse, the session signer, the scorecards the desk
    knows by version (for the options of their choice fields), and the review queue's share of
    random draws (0-1) and its source of chance."""

    warehouse: DeskWarehouse
    signer: SessionSigner
    scorecards: dict[str, Scorecard] = field(default_factory=dict)
    sample_share: float = 0.2
    draw: random.Random = field(default_factory=random.SystemRandom)


class DeskError(CallscoreError):
    """A request the desk answers with ``status`` and one line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def answer_error(status: int, message: str, *, api: bool) -> Response:
    """``message`` with ``status``, as JSON for the API and as a short page otherwise."""
    if api:
        return JSONResponse({"error": message}, status_code=status)
    page = TEMPLATES.get_template("desk_message.html.j2").render(title=_TITLES.get(status, "Error"), message=message,
                                                                  login=status == 401)
    return HTMLResponse(page, status_code=status)


_TITLES = {400: "Not understood", 401: "Please log in", 403: "Not allowed", 404: "Not found", 413: "Too large",
           503: "Busy"}


def session_value(request: Request) -> tuple[str | None, bool]:
    """(the session value, whether it came as a bearer token rather than a cookie)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip(), True
    return request.cookies.get(SESSION_COOKIE), False


async def read_body(request: Request) -> bytes:
    """The request's body; ``DeskError`` 413 past ``MAX_BODY_BYTES``."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise DeskError(413, f"a request body is at most {MAX_BODY_BYTES // 1024} KiB")
    return bytes(body)


def refusal_of_origin(request: Request, bearer: bool) -> str | None:
    if bearer:
        return None
    return cross_site_refusal(request.method, {k.lower(): v for k, v in request.headers.items()},
                              request.headers.get("host", ""), request.url.scheme)


def guarded(handler: Handler, *, needs: Role = "viewer", api: bool, write: bool = False) -> Callable[[Request], Any]:
    """An endpoint that runs ``handler`` for a logged-in reviewer with role ``needs`` (a viewer
    may only read), with the warehouse open to read (``write``: for one write turn)."""

    async def endpoint(request: Request) -> Response:
        desk: Desk = request.app.state.desk
        value, bearer = session_value(request)
        refusal = refusal_of_origin(request, bearer)
        if refusal is not None:
            return answer_error(403, refusal, api=api)
        name = desk.signer.name_in(value) if value else None
        if name is None:
            return answer_error(401, "log in with the link `callscore reviewers add NAME` printed", api=api)
        try:
            request.state.body = await read_body(request) if request.method == "POST" else b""
        except DeskError as exc:
            return answer_error(exc.status, str(exc), api=api)
        return await run_in_threadpool(_run, handler, request, desk, name, needs, api, write)

    endpoint.__name__ = handler.__name__
    return endpoint


def _run(handler: Handler, request: Request, desk: Desk, name: str, needs: Role, api: bool, write: bool) -> Response:
    try:
        with desk.warehouse.writing() if write else desk.warehouse.reading() as warehouse:
            reviewer = warehouse.active_reviewer(name)
            if reviewer is None:
                return answer_error(401, "this session's reviewer was removed: ask for a new link", api=api)
            actor = Actor(reviewer.name, reviewer.role)
            if needs == "reviewer" and not actor.may_review:
                return answer_error(403, f"{actor.name} is a viewer: reviewing needs the reviewer role", api=api)
            return handler(request, warehouse, actor)
    except DeskError as exc:
        return answer_error(exc.status, str(exc), api=api)
    except WarehouseBusyError as exc:
        return answer_error(503, f"{exc}; try again in a moment", api=api)


def security_headers(app: ASGIApp) -> ASGIApp:
    """``app`` with ``SECURITY_HEADERS`` on every HTTP response."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k.encode() not in present]
            await send(message)

        await app(scope, receive, sending)

    return wrapped
