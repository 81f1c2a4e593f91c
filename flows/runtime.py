"""What a worker process keeps between tasks: one ``CallProcessor`` (and so one copy of each
model) per settings, and one lock per model, so that task threads share the models safely.

Transcription and scoring hold different locks, so one thread can transcribe the next call
while another has the LLM score this one; neither model is ever used by two threads at once.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from pipeline.processing.procedure import CallProcessor
from pipeline.config import load_settings

TRANSCRIBE_LOCK = threading.Lock()  # one transcription at a time per process (the GPU, or all CPU cores)
SCORE_LOCK = threading.Lock()  # a llama.cpp model serves one request at a time

_processors: dict[str, CallProcessor] = {}
_processors_lock = threading.Lock()


def processor_for(overrides: dict[str, Any]) -> CallProcessor:
    """The process-wide processor for these settings overrides (flags, as the CLI takes them);
    the rest comes from CALLSCORE_* variables and callscore.toml on this worker."""
    key = json.dumps(overrides, sort_keys=True, default=str)
    with _processors_lock:
        if key not in _processors:
            _processors[key] = CallProcessor(load_settings(overrides))
        return _processors[key]
