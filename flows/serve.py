"""Serving the nightly flow on a cron schedule from this process (``callscore flow serve``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULT_CRON = "0 2 * * *"  # 02:00 every night
DEPLOYMENT_NAME = "nightly"


def local_timezone() -> str:
    """This machine's IANA time zone name (``TZ``, then /etc/localtime, then /etc/timezone), or UTC."""
    tz = os.environ.get("TZ", "").lstrip(":")
    if "/" in tz or tz == "UTC":
        return tz
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    except OSError:
        pass
    try:
        return Path("/etc/timezone").read_text(encoding="utf-8").strip() or "UTC"
    except OSError:
        return "UTC"


def nightly_schedule(cron: str, timezone: str) -> Any:
    """A Prefect cron schedule; a bad expression or zone is a ``ValueError`` naming it. Checked by
    Prefect's own public schedule model, so what passes here is what Prefect will accept."""
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.schedules import Cron
    from pydantic import ValidationError

    try:
        CronSchedule(cron=cron, timezone=timezone)
    except ValidationError as exc:
        if any(error["loc"][:1] == ("cron",) for error in exc.errors()):
            raise ValueError(f"not a cron expression: {cron!r} (five fields, e.g. {DEFAULT_CRON!r} for 02:00)") from exc
        raise ValueError(f"unknown time zone {timezone!r} (an IANA name such as Europe/London)") from exc
    return Cron(cron, timezone=timezone)


def serve_nightly(parameters: dict[str, Any], *, cron: str = DEFAULT_CRON, timezone: str | None = None) -> None:
    """Register the ``callscore-nightly/nightly`` deployment and run it on its schedule until stopped."""
    from flows.nightly import nightly

    schedule = nightly_schedule(cron, timezone or local_timezone())
    nightly.serve(name=DEPLOYMENT_NAME, schedules=[schedule], parameters=parameters,
                  description="Score the day's call recordings (callscore)")
