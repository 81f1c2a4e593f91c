"""The desk's calibration pages: the sessions, one session (each reviewer's progress; its figures
once everyone has answered), and a call answered blind (without the other reviewers' answers,
and without the machine's when the session says so)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pipeline.desk.guard import DeskError
from pipeline.desk.pages import SCRIPT_PATH, options_of, store_review
from pipeline.desk.requests import call_of, form_of
from pipeline.desk.review_submission import ReviewSubmission, next_anchor
from pipeline.desk.sessions import Actor
from pipeline.report.calibration_report import calibration_report
from pipeline.report.templates import TEMPLATES
from pipeline.speech.segments import SPEAKER_LABELS
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.calibration_ledger import Calibration, CalibrationError


def calibrations_page(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    return HTMLResponse(TEMPLATES.get_template("desk_calibrations.html.j2").render(
        sessions=warehouse.calibrations(), actor=actor))


def calibration_page(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    session = _session(request, warehouse)
    report = calibration_report(warehouse, session.calibration_id)
    return HTMLResponse(TEMPLATES.get_template("desk_calibration.html.j2").render(
        session=session, report=report, actor=actor, mine=report.answered_calls.get(actor.name, {}),
        taking_part=actor.name in session.reviewers))


def calibration_call_page(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    session = _session(request, warehouse, taking_part=actor)
    view = call_of(request, warehouse)
    if view.recording_id not in session.recording_ids:
        raise DeskError(404, f"calibration {session.calibration_id} does not hold this call")
    own = {(a.item_kind, a.item_id): a.answer for a in warehouse.calibration_answers(session.calibration_id)
           if a.reviewer == actor.name and a.recording_id == view.recording_id}
    after = session.recording_ids[session.recording_ids.index(view.recording_id) + 1:]
    following = after[0] if after else None
    base = f"/calibrations/{session.calibration_id}"
    return HTMLResponse(TEMPLATES.get_template("desk_calibration_call.html.j2").render(
        session=session, view=view, own=own, field_options=options_of(request, warehouse, view),
        action=f"{base}/calls/{view.recording_id}/reviews", audio_src=f"/calls/{view.recording_id}/audio",
        next_href=f"{base}/calls/{following}" if following else base, session_href=base, script_src=SCRIPT_PATH,
        speaker_labels=SPEAKER_LABELS, actor=actor))


def post_calibration_review(request: Request, warehouse: Warehouse, actor: Actor) -> Response:
    session = _session(request, warehouse, taking_part=actor)
    view = call_of(request, warehouse)
    data = {**form_of(request), "calibration_id": str(session.calibration_id), "reason": "", "evidence_line": ""}
    submission = ReviewSubmission.from_data(data)
    store_review(request, warehouse, view, submission, actor)
    anchor = next_anchor(view, submission.item_kind, submission.item_id)
    return RedirectResponse(f"/calibrations/{session.calibration_id}/calls/{view.recording_id}#{quote(anchor)}",
                            status_code=303)


def _session(request: Request, warehouse: Warehouse, *, taking_part: Actor | None = None) -> Calibration:
    """The session the URL names; ``DeskError`` 404 when there is none, 403 when ``taking_part``
    is not one of its reviewers."""
    text = request.path_params["calibration_id"]
    try:
        session = warehouse.calibration(int(text)) if text.isdigit() and len(text) < 12 else None
    except CalibrationError:
        session = None
    if session is None:
        raise DeskError(404, "no such calibration")
    if taking_part is not None and taking_part.name not in session.reviewers:
        raise DeskError(403, f"{taking_part.name} is not a reviewer of this calibration")
    return session
