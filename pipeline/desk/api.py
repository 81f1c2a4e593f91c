"""The desk's JSON API (docs/desk.md "The review desk"), what its pages show as data for scripts:
``GET /api/calls`` (the calls page's filters, paged), ``GET /api/calls/{recording_id}`` (what
``callscore show --json`` prints, with every review of the call) and
``POST /api/calls/{recording_id}/reviews``."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pipeline.desk.call_list import list_calls
from pipeline.desk.pages import store_review
from pipeline.desk.requests import call_of, filter_of, json_of
from pipeline.desk.review_submission import ReviewSubmission
from pipeline.desk.sessions import Actor
from pipeline.store.warehouse import Warehouse


class DataResponse(Response):
    """JSON with times as ISO 8601 text."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_plain, ensure_ascii=False).encode("utf-8")


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def calls(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    wanted = filter_of(request)
    page = list_calls(warehouse, wanted)
    return DataResponse({"total": page.total, "page": wanted.page, "per_page": wanted.per_page,
                         "pages": page.pages, "calls": page.calls})


def call(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    view = call_of(request, warehouse)
    return DataResponse({**view.to_json(), "reviews": warehouse.reviews_of(view.recording_id)})


def post_review(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    view = call_of(request, warehouse)
    review_id = store_review(request, warehouse, view, ReviewSubmission.from_data(json_of(request)), actor)
    return DataResponse(warehouse.stored_review(review_id), status_code=201)
