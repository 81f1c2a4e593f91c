"""The review desk from the command line: ``callscore serve`` runs it, ``callscore reviewers``
says who may use it (each new login link is printed once)."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timezone
from pathlib import Path

import click

from pipeline.cli.app import fail, main, one_line_errors, read_warehouse, say_waiting
from pipeline.cli.options import db_option, json_option, scorecard_option
from pipeline.cli.output import message, plain

DEFAULT_PORT = 8750
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"


@main.command()
@db_option()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Only this machine can reach the default; any other address is"
              " reachable by others and belongs behind TLS (a reverse proxy).")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@scorecard_option("Scorecard whose choice fields' options reviewers pick from (calls scored by another version offer"
                  " the options the machine has given).")
def serve(db: Path | None, host: str, port: int, scorecard: Path | None) -> None:
    """Run the review desk: supervisors find any call, listen to it, and confirm or overrule each
    verdict; their reviews count in the KPI views.

    It reads the warehouse a request at a time, so scoring runs go on beside it. Nobody gets in
    without a login link from `callscore reviewers add NAME`. Ctrl-C stops it.

    \b
    Example:
      callscore reviewers add ana        # prints ana's one-time login link
      callscore serve                    # then open the link
    """
    from pipeline.config import load_settings
    from pipeline.desk.app import LOOPBACK, serve as run
    from pipeline.scoring.scorecard import load_scorecard

    with one_line_errors(Path(".")):
        settings = load_settings({"db": db, "scorecard": scorecard})
        card = load_scorecard(settings.scorecard)
        if not settings.db.is_file():
            fail(f"no warehouse at {settings.db}: run `callscore score FOLDER` first (or give --db)")
        _check_port_free(host, port)
        if host not in LOOPBACK:
            message(f"warning: the desk listens on {host}, where other machines can reach it; sessions and login"
                    " links travel in clear text unless it sits behind TLS (a reverse proxy with HTTPS)")
        url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
        message(f"review desk for {settings.db} on {url} (Ctrl-C stops it); log in with a link from"
                " `callscore reviewers add NAME`")
        run(settings.db, host=host, port=port, lock_wait_s=settings.lock_wait_s, scorecards=[card],
            sample_share=settings.review_sample_share)


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc.strerror} (give another --port, or stop what uses it)")


@main.group()
def reviewers() -> None:
    """Who may use the review desk: reviewers read and review, viewers only read."""


@reviewers.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["reviewer", "viewer"]), default="reviewer", show_default=True)
@click.option("--url", default=DEFAULT_URL, show_default=True, help="Where the desk is served, for the link.")
@db_option()
@json_option
def add_reviewer(name: str, role: str, url: str, db: Path | None, as_json: bool) -> None:
    """Let NAME use the desk (or change their role) and print a one-time login link.

    The link works once and expires in 24 hours; only a hash of it is kept. Run it again for a new
    link (a lost link, a new browser). The link goes to stdout, so it can be handed on; keep it private.
    """
    from pipeline.store.warehouse.reviewer_ledger import LINK_VALID_FOR

    with one_line_errors(Path(".")), writable_warehouse(db) as warehouse:
        token = warehouse.add_reviewer(name, role)  # type: ignore[arg-type]
    link = f"{url.rstrip('/')}/login?token={token}"
    if as_json:
        expires = (datetime.now(timezone.utc) + LINK_VALID_FOR).isoformat(timespec="seconds")
        click.echo(json.dumps({"name": name.strip(), "role": role, "link": link, "expires_at": expires}))
        return
    message(f"{plain(name.strip())} may use the desk as {role}; their login link (works once, for 24 hours):")
    click.echo(link)


@reviewers.command("list")
@db_option()
@json_option
@click.option("--removed", is_flag=True, help="Also those whose access was taken away.")
def list_reviewers(db: Path | None, as_json: bool, removed: bool) -> None:
    """The people who may use the desk, and their roles."""
    with read_warehouse(db) as warehouse:
        found = warehouse.reviewers(removed=removed)
    if as_json:
        click.echo(json.dumps([{"name": r.name, "role": r.role, "created_at": r.created_at.isoformat(),
                                "removed_at": r.removed_at.isoformat() if r.removed_at else None} for r in found]))
        return
    if not found:
        message("no reviewers yet: add one with `callscore reviewers add NAME`")
    for r in found:
        click.echo(f"{plain(r.name)}\t{r.role}" + (f"\tremoved {r.removed_at:%Y-%m-%d}" if r.removed_at else ""))


@reviewers.command("remove")
@click.argument("name")
@db_option()
def remove_reviewer(name: str, db: Path | None) -> None:
    """Take NAME's access away at once (their sessions end; their reviews stay)."""
    with one_line_errors(Path(".")), writable_warehouse(db) as warehouse:
        removed = warehouse.remove_reviewer(name)
    if not removed:
        fail(f"no reviewer {name!r} may use the desk now (see `callscore reviewers list`)")
    message(f"{plain(name)} may no longer use the desk")


def writable_warehouse(db: Path | None):
    """The warehouse open for writing, waiting up to ``lock_wait_s`` for a scoring run's turn."""
    from pipeline.config import load_settings
    from pipeline.store.warehouse.access import open_waiting

    settings = load_settings({"db": db})
    return open_waiting(settings.db, read_only=False, wait_s=settings.lock_wait_s, note=say_waiting)
