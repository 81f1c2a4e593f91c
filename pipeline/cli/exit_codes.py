"""What a ``callscore`` command's exit status means. The commands exit with these constants and
the manual's page of exit codes is generated from ``EXIT_CODES``, so the two cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ExitCode:
    """One exit status: its number, the constant the code uses, and what a script should read
    from it."""

    code: int
    name: str
    meaning: str


EXIT_CODES = (
    ExitCode(0, "EXIT_OK", "Done: every recording succeeded or was already done; any other command did what it"
             " was asked."),
    ExitCode(1, "EXIT_SOME_FAILED", "Some recordings failed (they are listed, and recorded in the `failures` table;"
             " the others are stored), or a check the command makes did not pass (`models prepare --check-calls`"
             " under 98% equal verdicts, `flow run` with a failed call)."),
    ExitCode(2, "EXIT_SETUP", "Bad command line or setup (a missing file, a bad setting, a scorecard that does not"
             " validate, a model that cannot load), or the warehouse stayed in use by another process past the"
             " wait (`lock_wait_s` for readers, `write_wait_s` for runs). Nothing was stored."),
    ExitCode(3, "EXIT_WAREHOUSE_WRITE", "The warehouse could not be written mid-run (a full disk, say). The"
             " recordings stored before are kept; run the same command again once there is room."),
    ExitCode(130, "EXIT_INTERRUPTED", "Interrupted (Ctrl-C or SIGINT). The recordings stored before are kept;"
             " the same command again goes on where it stopped."),
)

EXIT_OK, EXIT_SOME_FAILED, EXIT_SETUP, EXIT_WAREHOUSE_WRITE, EXIT_INTERRUPTED = (exit.code for exit in EXIT_CODES)
