"""Where the project's data files live: ``prompts/`` (scorecards, prompt template) and
``warehouse/`` (migrations, views); and its cache folder.

In a source checkout they sit beside ``pipeline/``; an installed wheel carries them as
``pipeline/_data/``.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_dir(name: str) -> Path:
    """The directory ``prompts`` or ``warehouse``, wherever this installation keeps it."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"callscore data directory {name!r} is missing from this installation")


def default_scorecard_path() -> Path:
    return data_dir("prompts") / "support-default.yaml"


def prompt_template_path() -> Path:
    """The scoring prompt: instructions and criteria first (cached), the transcript after them."""
    return data_dir("prompts") / "score_prompt_v2.yaml"


def statement_template_path() -> Path:
    """The statement style's prompt: the transcript once, then each criterion as a statement."""
    return data_dir("prompts") / "statement_prompt.yaml"


def transcript_first_template_path() -> Path:
    """The earlier scoring prompt, the transcript before the instructions (kept for comparison)."""
    return data_dir("prompts") / "score_prompt.yaml"


def cache_dir() -> Path:
    """Where callscore keeps what it can make again (the embedded LLM assembled from its packages,
    calibrations): ``CALLSCORE_CACHE_DIR``, else ``$XDG_CACHE_HOME/callscore`` (``~/.cache/callscore``)."""
    if os.environ.get("CALLSCORE_CACHE_DIR"):
        return Path(os.environ["CALLSCORE_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "callscore"
