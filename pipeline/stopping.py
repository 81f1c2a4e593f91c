"""A stop asked of the work in progress, process-wide: the nightly flow asks for one when it is
sent SIGTERM or Ctrl-C. The models look at it between generated tokens and between transcribed
segments, and the flow's tasks before they start, so a run stops within about a second and keeps
every call it had finished; the call in progress is left for the next run, not failed."""

from __future__ import annotations

import threading

_requested = threading.Event()


class RunStopped(BaseException):
    """The run was asked to stop: what was in progress is left undone (not a recording's failure,
    so no ``except Exception`` records it as one)."""


def request_stop() -> None:
    _requested.set()


def stop_requested() -> bool:
    return _requested.is_set()


def check_stop() -> None:
    """Raise ``RunStopped`` when a stop was asked for."""
    if _requested.is_set():
        raise RunStopped("the run was asked to stop")


def clear_stop() -> None:
    """Forget an earlier stop, as a new run in this process starts."""
    _requested.clear()
