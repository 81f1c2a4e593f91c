"""The ``callscore`` command line: the group (``app``) and its commands, one module per family."""

from pipeline.cli import call_commands, desk_commands, flow_commands, model_commands, scoring, warehouse_commands  # noqa: F401  (they register)
from pipeline.cli.app import main

__all__ = ["main"]
