"""The desk's pages: the calls list with its filters, a call's page with its review forms, the
step to the next call, the review a form posts, and the recording itself (streamed with HTTP
Range so the player can seek)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from pipeline.desk.call_list import call_after, field_options, filter_choices, list_calls
from pipeline.desk.call_filters import FLAGS, SORTS
from pipeline.desk.guard import DeskError
from pipeline.desk.requests import call_of, filter_of, form_of, recording_id_of
from pipeline.desk.review_submission import ReviewSubmission, next_anchor
from pipeline.desk.sessions import Actor
from pipeline.intake.file_names import from_readable
from pipeline.report.audio_links import AudioLinks
from pipeline.report.call_page import ReviewControls, render_call_page
from pipeline.report.call_view import CallView
from pipeline.report.templates import TEMPLATES
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.review_ledger import ReviewError

SCRIPT_PATH = "/static/desk.js"


def query_suffix(request: Request) -> str:
    """``?`` and the request's query string (the list's filters, carried from page to page), or nothing."""
    return f"?{request.url.query}" if request.url.query else ""


def calls_page(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    wanted = filter_of(request)
    page = list_calls(warehouse, wanted)
    return HTMLResponse(TEMPLATES.get_template("desk_calls.html.j2").render(
        page=page, wanted=wanted, choices=filter_choices(warehouse), flags=FLAGS, sorts=SORTS, actor=actor))


def call_page(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    view = call_of(request, warehouse)
    suffix = query_suffix(request)
    base = f"/calls/{view.recording_id}"
    from_queue = "queue" in request.query_params  # "complete + next" asks the queue (POST /queue/next)
    controls = ReviewControls(
        audio_src=f"{base}/audio", action=f"{base}/reviews{suffix}",
        list_href=f"/queue{suffix}" if from_queue else f"/calls{suffix}",
        next_href=f"{base}/next{suffix}", reviewer=actor.name, may_review=actor.may_review, script_src=SCRIPT_PATH,
        field_options=options_of(request, warehouse, view),
        next_form={k: request.query_params.get(k, "") for k in ("agent", "team", "criterion")} if from_queue else None)
    return HTMLResponse(render_call_page(view, AudioLinks(), controls=controls))


def options_of(request: Request, warehouse: Warehouse, view: CallView) -> dict[str, list[str]]:
    """Each choice field of the call -> the options a reviewer may pick: the scorecard's, when the
    desk was given the scorecard of that version; else those the machine has given."""
    if view.evaluation is None:
        return {}
    version = view.evaluation["scorecard_version"]
    card = request.app.state.desk.scorecards.get(version)
    declared = {f.id: list(f.options) for f in card.fields if f.options} if card else {}
    return {f.field_id: declared.get(f.field_id) or field_options(warehouse, version, f.field_id)
            for f in view.fields if f.kind == "choice"}


def next_call(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    """"Complete + next": the call after this one in the list it was opened from."""
    wanted = filter_of(request)
    following = call_after(warehouse, wanted, recording_id_of(request))
    query = query_suffix(request)
    return RedirectResponse(f"/calls/{following}{query}" if following else f"/calls{query}", status_code=303)


def post_review(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    """A review form: stored, then back to the call at the next answer."""
    view = call_of(request, warehouse)
    submission = ReviewSubmission.from_data(form_of(request))
    store_review(request, warehouse, view, submission, actor)
    anchor = next_anchor(view, submission.item_kind, submission.item_id)
    return RedirectResponse(f"/calls/{view.recording_id}{query_suffix(request)}#{quote(anchor)}", status_code=303)


def store_review(request: Request, warehouse: Warehouse, view: CallView, submission: ReviewSubmission,
                 actor: Actor) -> int:
    """Store ``submission`` on ``view`` by ``actor``; its review id."""
    review = submission.review(view, actor.name, options_of(request, warehouse, view))
    try:
        return warehouse.add_review(review)
    except ReviewError as exc:
        raise DeskError(400, str(exc)) from None


def audio(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    """The recording of the call the URL names, from where it was scored: only a recording the
    warehouse knows, by its id; a path never comes from the request."""
    recording_id = recording_id_of(request)
    row = warehouse.connection.execute("SELECT path FROM recordings WHERE recording_id = ?", [recording_id]).fetchone()
    path = from_readable(row[0]) if row else None
    if path is None or not path.is_file():
        raise DeskError(404, "no recording for this call" if row is None else "the recording is no longer where it was scored")
    return FileResponse(path, media_type=_MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream"),
                        content_disposition_type="inline")


_MEDIA_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
                ".m4a": "audio/mp4"}
