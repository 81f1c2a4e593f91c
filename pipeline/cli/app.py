"""The ``callscore`` command group and what every command shares: exit codes, one-line errors,
logging through the stderr console, and opening the warehouse to read.

The exit codes are those of ``pipeline.cli.exit_codes`` (0 done, 1 some recordings failed, 2 bad
command line or setup, 3 the warehouse could not be written mid-run, 130 interrupted). ``--json``
prints only data to stdout; messages go to stderr.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Any, Iterator, NoReturn

import click
from pipeline.cli.exit_codes import EXIT_INTERRUPTED, EXIT_SETUP
from pipeline.cli.output import ConsoleHandler, message, plain, stderr
from pipeline.errors import CallscoreError

def setup_logging(verbose: bool) -> None:
    handler = ConsoleHandler()
    logger = logging.getLogger("pipeline")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


def fail(message: str) -> NoReturn:
    stderr.print("[bold red]error:[/]", plain(message), highlight=False, soft_wrap=True)
    sys.exit(EXIT_SETUP)


@contextlib.contextmanager
def one_line_errors(target: Path) -> Iterator[None]:
    """A callscore error or a file that cannot be written, under the block, ends the command with
    its one line (exit 2); the file is the one the error names, else ``target``."""
    try:
        yield
    except CallscoreError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {exc.filename or target}: {exc.strerror or exc}")


class _Commands(click.Group):
    """The group: Ctrl-C anywhere (opening the warehouse, loading a model) ends the command with
    one line and exit code 130, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            stderr.print("interrupted", highlight=False)
            sys.exit(EXIT_INTERRUPTED)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="callscore")
def main() -> None:
    """Score recorded calls on your own hardware: transcribe with faster-whisper, judge each
    call against a scorecard with a local LLM, and keep everything in a DuckDB warehouse.

    Settings come from flags, then CALLSCORE_* environment variables, then ./callscore.toml,
    then defaults. Start with: callscore score FOLDER
    """



def say_waiting(text: str) -> None:
    """A wait for the warehouse, said on stderr."""
    message(f"callscore: {text}")


def read_warehouse(db: Path | None) -> Any:
    """The warehouse (from --db, CALLSCORE_DB, callscore.toml or the default) opened read-only,
    waiting up to ``lock_wait_s`` while a scoring run stores a call; a setup problem ends the
    command with its one-line error."""
    from pipeline.config import load_settings
    from pipeline.store.warehouse.access import open_waiting

    try:
        settings = load_settings({"db": db})
        return open_waiting(settings.db, read_only=True, wait_s=settings.lock_wait_s, note=say_waiting)
    except CallscoreError as exc:
        fail(str(exc))
