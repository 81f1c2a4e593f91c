"""The jinja2 environment the report and the call pages are rendered with: templates under
``pipeline/report/templates/``, every value HTML-escaped unless a template says otherwise, and
the filters the pages share for times and figures."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.speech.segments import timestamp


def when(value: Any) -> str:
    """A stored time or day as text. DuckDB hands back a value outside Python's range (e.g. a
    year-10000 time from an old sidecar) as a string, shown as it is."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def figure(value: Any, pattern: str = "{}") -> str:
    """``value`` through ``pattern`` (a str.format pattern), or an en dash when there is none."""
    return "–" if value is None else pattern.format(value)


def _environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=True,
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters.update(when=when, figure=figure, timestamp=timestamp)
    return environment


TEMPLATES = _environment()
