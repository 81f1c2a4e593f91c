"""The review desk's app: its routes as one table (who may use each: ``guarded``), the security
headers on every response, and ``serve`` to run it with uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from pipeline.desk import api, calibration_pages, login, pages, queue_pages
from pipeline.desk.desk_warehouse import DeskWarehouse
from pipeline.desk.guard import Desk, guarded, security_headers
from pipeline.desk.sessions import SessionSigner, desk_key
from pipeline.config import REVIEW_SAMPLE_SHARE
from pipeline.scoring.scorecard import Scorecard

log = logging.getLogger(__name__)
SCRIPT = Path(__file__).with_name("static") / "desk.js"
LOOPBACK = ("127.0.0.1", "::1", "localhost")


async def home(request: Request) -> Response:
    return RedirectResponse("/calls", status_code=303)


async def script(request: Request) -> Response:
    return FileResponse(SCRIPT, media_type="text/javascript")


ROUTES = [
    Route("/", home),
    Route("/static/desk.js", script),
    Route("/login", login.login_page, methods=["GET"]),
    Route("/login", login.login, methods=["POST"]),
    Route("/logout", login.logout, methods=["POST"]),
    Route("/api/login", login.api_login, methods=["POST"]),
    Route("/calls", guarded(pages.calls_page, api=False)),
    Route("/calls/{recording_id}", guarded(pages.call_page, api=False)),
    Route("/calls/{recording_id}/next", guarded(pages.next_call, api=False)),
    Route("/calls/{recording_id}/audio", guarded(pages.audio, api=False)),
    Route("/calls/{recording_id}/reviews", guarded(pages.post_review, needs="reviewer", api=False, write=True),
          methods=["POST"]),
    Route("/queue", guarded(queue_pages.queue_page, api=False)),
    Route("/queue/next", guarded(queue_pages.next_in_queue, needs="reviewer", api=False, write=True), methods=["POST"]),
    Route("/calibrations", guarded(calibration_pages.calibrations_page, api=False)),
    Route("/calibrations/{calibration_id}", guarded(calibration_pages.calibration_page, api=False)),
    Route("/calibrations/{calibration_id}/calls/{recording_id}",
          guarded(calibration_pages.calibration_call_page, needs="reviewer", api=False)),
    Route("/calibrations/{calibration_id}/calls/{recording_id}/reviews",
          guarded(calibration_pages.post_calibration_review, needs="reviewer", api=False, write=True), methods=["POST"]),
    Route("/api/calls", guarded(api.calls, api=True)),
    Route("/api/calls/{recording_id}", guarded(api.call, api=True)),
    Route("/api/calls/{recording_id}/reviews", guarded(api.post_review, needs="reviewer", api=True, write=True),
          methods=["POST"]),
    Route("/api/queue/next", guarded(queue_pages.api_next_in_queue, needs="reviewer", api=True, write=True),
          methods=["POST"]),
]


def create_app(db: Path, *, lock_wait_s: float, scorecards: Sequence[Scorecard] = (),
               sample_share: float = REVIEW_SAMPLE_SHARE) -> Starlette:
    """The desk over warehouse ``db`` (brought up to date first), waiting up to ``lock_wait_s``
    seconds for it while a scoring run stores a call; ``scorecards``: those whose choice fields'
    options reviewers may pick from; ``sample_share``: the review queue's share of random draws (0-1)."""
    warehouse = DeskWarehouse(db, lock_wait_s=lock_wait_s)
    warehouse.prepare()
    app = Starlette(routes=ROUTES)
    app.state.desk = Desk(warehouse, SessionSigner(desk_key(Path(db))), {card.version: card for card in scorecards},
                          sample_share=sample_share)
    app.add_middleware(_SecurityHeaders)
    return app


class _SecurityHeaders:
    def __init__(self, app) -> None:  # noqa: ANN001  (an ASGI app)
        self._app = security_headers(app)

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        await self._app(scope, receive, send)


def serve(db: Path, *, host: str, port: int, lock_wait_s: float, scorecards: Sequence[Scorecard] = (),
          sample_share: float = REVIEW_SAMPLE_SHARE) -> None:
    """Run the desk until interrupted. No access log: a login link's token is in its URL."""
    import uvicorn

    uvicorn.run(create_app(db, lock_wait_s=lock_wait_s, scorecards=scorecards, sample_share=sample_share), host=host, port=port, access_log=False,
                log_level="warning", server_header=False)
