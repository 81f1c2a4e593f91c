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

from pipeline.processing.procedure import TRANSCRIBE_LOCK, CallProcessor
from pipeline.config import load_settings

__all__ = ["TRANSCRIBE_LOCK", "processor_for", "score_slots"]  # the lock is the procedure's, process-wide

_workers: dict[str, tuple[CallProcessor, threading.BoundedSemaphore]] = {}  # settings -> processor, scoring slots
_workers_lock = threading.Lock()


def _worker(overrides: dict[str, Any]) -> tuple[CallProcessor, threading.BoundedSemaphore]:
    key = json.dumps(overrides, sort_keys=True, default=str)
    with _workers_lock:
        if key not in _workers:
            processor = CallProcessor(load_settings(overrides))
            _workers[key] = processor, threading.BoundedSemaphore(processor.llm_concurrency)
        return _workers[key]


def processor_for(overrides: dict[str, Any]) -> CallProcessor:
    """The process-wide processor for these settings overrides (flags, as the CLI takes them);
    the rest comes from CALLSCORE_* variables and callscore.toml on this worker."""
    return _worker(overrides)[0]


def score_slots(overrides: dict[str, Any]) -> threading.BoundedSemaphore:
    """The scoring slots of ``processor_for(overrides)``: ``llm_concurrency`` for an LLM server,
    1 for the model in this process (llama.cpp evaluates one sequence at a time)."""
    return _worker(overrides)[1]
