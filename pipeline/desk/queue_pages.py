"""The review queue in the desk (docs/desk.md "The review queue"): ``GET /queue`` (how many calls it
can still give, narrowed by agent, team or criterion, and the call in hand), ``POST /queue/next``
(finish the call in hand, take the next one: drawn at random for a share of the draws, else the
most doubtful answer; never a call another reviewer has open) and ``POST /api/queue/next``."""

from __future__ import annotations

from typing import Mapping
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pipeline.desk.api import DataResponse
from pipeline.desk.call_list import filter_choices
from pipeline.desk.guard import DeskError
from pipeline.desk.requests import form_of, json_of
from pipeline.desk.sessions import Actor
from pipeline.report.templates import TEMPLATES
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.review_queue import Assignment, QueueNarrowing

NARROWING = ("agent", "team", "criterion")
MAX_VALUE = 200  # characters: longer is no agent, team or criterion id


def narrowing_of(values: Mapping[str, object]) -> QueueNarrowing:
    """The queue's narrowing from a form, a query string or JSON: empty is any."""
    found: dict[str, str | None] = {}
    for name in NARROWING:
        value = values.get(name)
        if value is not None and not isinstance(value, str):
            raise DeskError(400, f"{name} is text")
        value = (value or "").strip()
        if len(value) > MAX_VALUE:
            raise DeskError(400, f"{name} is longer than {MAX_VALUE} characters")
        found[name] = value or None
    return QueueNarrowing(agent=found["agent"], team=found["team"], criterion_id=found["criterion"])


def queue_query(narrowing: QueueNarrowing) -> str:
    """``queue=1`` and the narrowing, for a call page opened from the queue (its "complete + next"
    asks the queue again) and for the way back to it."""
    pairs = [("queue", "1")] + [(name, value) for name, value in zip(
        NARROWING, (narrowing.agent, narrowing.team, narrowing.criterion_id)) if value]
    return urlencode(pairs)


def queue_page(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    narrowing = narrowing_of(dict(request.query_params))
    desk = request.app.state.desk
    return HTMLResponse(TEMPLATES.get_template("desk_queue.html.j2").render(
        actor=actor, narrowing=narrowing, left=warehouse.queue_size(narrowing),
        in_hand=warehouse.open_assignment(actor.name), choices=filter_choices(warehouse),
        sample_share=desk.sample_share, done="done" in request.query_params, query=queue_query(narrowing)))


def next_in_queue(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    """The form's "next call": the call page of the call given, or back to /queue when none is left."""
    narrowing = narrowing_of(form_of(request))
    given = _draw(request, warehouse, actor, narrowing)
    if given is None:
        return RedirectResponse(f"/queue?{queue_query(narrowing)}&done=1", status_code=303)
    return RedirectResponse(f"/calls/{given.recording_id}?{queue_query(narrowing)}", status_code=303)


def api_next_in_queue(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    """``{"assignment": {...}}`` (null when no call is left) for a JSON body of the narrowing."""
    given = _draw(request, warehouse, actor, narrowing_of(json_of(request)))
    return DataResponse({"assignment": None if given is None else {
        "recording_id": given.recording_id, "scorecard_version": given.scorecard_version,
        "chosen_as": given.chosen_as, "criterion_id": given.criterion_id, "assigned_at": given.assigned_at,
        "url": f"/calls/{given.recording_id}"}})


def _draw(request: Request, warehouse: Warehouse, actor: Actor, narrowing: QueueNarrowing) -> Assignment | None:
    desk = request.app.state.desk
    return warehouse.draw_assignment(actor.name, narrowing, sample_share=desk.sample_share, draw=desk.draw)
