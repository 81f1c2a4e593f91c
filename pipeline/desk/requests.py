"""What the desk's routes read from a request: the recording an URL names (a full recording id,
never a path), the calls filter of its query string, and a posted form or JSON body."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request

from pipeline.desk.call_filters import CallFilter, FilterError
from pipeline.desk.guard import DeskError
from pipeline.report.call_view import CallNotFoundError, CallView, load_call
from pipeline.store.warehouse import Warehouse

_RECORDING_ID = re.compile(r"^[0-9a-f]{64}$")  # the SHA-256 of the recording's bytes


def recording_id_of(request: Request) -> str:
    """The URL's recording id; ``DeskError`` 404 unless it is one (64 hex digits)."""
    recording_id = request.path_params["recording_id"]
    if not _RECORDING_ID.match(recording_id):
        raise DeskError(404, "no such call: a call's address holds its recording id (64 hex digits)")
    return recording_id


def call_of(request: Request, warehouse: Warehouse) -> CallView:
    """The call the URL names, as stored; ``DeskError`` 404 when the warehouse does not have it."""
    try:
        return load_call(warehouse, recording_id_of(request))
    except CallNotFoundError:
        raise DeskError(404, "no such call in this warehouse") from None


def filter_of(request: Request) -> CallFilter:
    """The calls filter in the query string; ``DeskError`` 400 naming a value that does not fit."""
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    try:
        return CallFilter.from_query(params)
    except FilterError as exc:
        raise DeskError(400, str(exc)) from None


def form_of(request: Request) -> dict[str, str]:
    """A posted form (application/x-www-form-urlencoded) as name -> its first value."""
    try:
        text = request.state.body.decode("utf-8")
    except UnicodeDecodeError:
        raise DeskError(400, "a form is UTF-8 text") from None
    return {name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()}


def json_of(request: Request) -> dict[str, Any]:
    """A posted JSON object."""
    try:
        data = json.loads(request.state.body or b"null")
    except ValueError:
        raise DeskError(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise DeskError(400, "the body is a JSON object")
    return data
