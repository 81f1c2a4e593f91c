"""What a worker process keeps between tasks: one ``CallProcessor`` (and so one copy of each
model) per settings, a lock for Whisper and, per processor, as many scoring slots as its LLM
serves at once, so that task threads share the models safely.

Transcription and scoring are held apart, so one thread can transcribe the next call while
others have the LLM score earlier ones: one at a time with the model in this process,
``llm_concurrency`` at a time against an LLM server (its continuous batching serves them).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from pipeline.processing.procedure import CallProcessor
from pipeline.config import load_settings

TRANSCRIBE_LOCK = threading.Lock()  # one transcription at a time per process (the GPU, or all CPU cores)

_processors: dict[str, CallProcessor] = {}
_score_slots: dict[str, threading.BoundedSemaphore] = {}
_processors_lock = threading.Lock()


def processor_for(overrides: dict[str, Any]) -> CallProcessor:
    """The process-wide processor for these settings overrides (flags, as the CLI takes them);
    the rest comes from CALLSCORE_* variables and callscore.toml on this worker."""
    key = json.dumps(overrides, sort_keys=True, default=str)
    with _processors_lock:
        if key not in _processors:
            _processors[key] = CallProcessor(load_settings(overrides))
            _score_slots[key] = threading.BoundedSemaphore(_processors[key].llm_concurrency)
        return _processors[key]


def score_slots(overrides: dict[str, Any]) -> threading.BoundedSemaphore:
    """The scoring slots of ``processor_for(overrides)``: ``llm_concurrency`` for an LLM server,
    1 for the model in this process (llama.cpp evaluates one sequence at a time)."""
    processor_for(overrides)
    return _score_slots[json.dumps(overrides, sort_keys=True, default=str)]
