"""The ``callscore`` command line: the group (``app``) and its commands, one module per family."""

from pipeline.cli import (  # noqa: F401  (they register)
    calibration_commands, call_commands, desk_commands, flow_commands, model_commands, review_commands, scoring,
    warehouse_commands,
)
from pipeline.cli.app import main

__all__ = ["main"]
