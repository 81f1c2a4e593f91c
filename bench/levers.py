"""Which speed settings matter: `callscore score` end to end with each lever alone and all
together, against the settings before them, quiet and (``--under-load``) with one core kept
busy by another process, as on a server shared with a Prefect worker, a database or the desk.

Each row is a child `callscore score FOLDER` on a new warehouse (bench.speed.bench_end_to_end),
its settings given as environment variables; the rows run one after the other in one run, so
their ratios hold on a noisy machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

BUSY_LIMIT_S = 1800  # the busy process ends by itself after this long, whatever happens to the bench


def before_settings(cores: int) -> dict[str, str]:
    """The speed settings before this bench's levers: greedy Whisper with one worker of every
    core, the LLM on every core, one call after the other."""
    return {"CALLSCORE_BEAM_SIZE": "1", "CALLSCORE_WHISPER_WORKERS": "1", "CALLSCORE_WHISPER_THREADS": str(cores),
            "CALLSCORE_LLM_THREADS": str(cores), "CALLSCORE_OVERLAP_STAGES": "false"}


def levers(cores: int) -> list[tuple[str, dict[str, str]]]:
    """(name, settings) of each row: the settings before, each lever alone on top of them, every
    lever together, and today's defaults (the last row)."""
    before = before_settings(cores)
    return [
        ("before: beam 1, one Whisper worker, LLM on every core", before),
        ("Whisper: two workers of one thread", {**before, "CALLSCORE_WHISPER_WORKERS": "2", "CALLSCORE_WHISPER_THREADS": "1"}),
        ("Whisper: beam 3", {**before, "CALLSCORE_BEAM_SIZE": "3"}),
        ("LLM: every core but one", {**before, "CALLSCORE_LLM_THREADS": str(max(1, cores - 1))}),
        ("stages overlapped (next call transcribed while this one is scored)",
         {**before, "CALLSCORE_OVERLAP_STAGES": "true"}),
        ("LLM every core but one, stages overlapped", {**before, "CALLSCORE_LLM_THREADS": str(max(1, cores - 1)),
                                                        "CALLSCORE_OVERLAP_STAGES": "true"}),
        ("every lever (beam 3 and stages overlapped too)", {"CALLSCORE_BEAM_SIZE": "3", "CALLSCORE_OVERLAP_STAGES": "true"}),
        ("the defaults (LLM every core but one, two Whisper workers)", {}),
    ]


@contextmanager
def busy_core(on: bool) -> Iterator[None]:
    """One process spinning on a core while the block runs (bounded: it ends by itself after
    ``BUSY_LIMIT_S``)."""
    if not on:
        yield
        return
    spin = f"import time\nend = time.time() + {BUSY_LIMIT_S}\nwhile time.time() < end: pass"
    child = subprocess.Popen([sys.executable, "-c", spin])
    try:
        yield
    finally:
        child.kill()
        child.wait()


@dataclass
class LeverRun:
    name: str
    loaded: bool  # one core kept busy
    result: object  # bench.speed.EndToEndBench


def bench_levers(folder: Path, run: Callable[[Path, dict[str, str]], object], *, under_load: bool) -> list[LeverRun]:
    """Every lever's end-to-end run on ``folder``, quiet and, with ``under_load``, loaded."""
    cores = os.cpu_count() or 1
    runs = []
    for name, settings in levers(cores):
        for loaded in (False, True) if under_load else (False,):
            print(f"  lever {name!r}{' under load' if loaded else ''}", file=sys.stderr)
            with busy_core(loaded):
                runs.append(LeverRun(name, loaded, run(folder, settings)))
    return runs


def levers_table(runs: list[LeverRun], label: str) -> list[str]:
    first = runs[0].result
    quiet_of = {r.name: r.result for r in runs if not r.loaded}
    lines = [f"### 4b. Speed levers (`callscore score {label}`, {first.calls} calls, {first.audio_s:.0f} s of audio)", "",
             "| settings | one core busy | wall s | audio s per wall s | vs before, quiet | vs its quiet run "
             "| transcription s | LLM s |", "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        e = r.result
        quiet = quiet_of[r.name]
        lines.append(f"| {r.name} | {'yes' if r.loaded else 'no'} | {e.wall_s:.1f} | {e.audio_per_wall:.1f} "
                     f"| {first.wall_s / e.wall_s:.2f}x | {e.wall_s / quiet.wall_s:.2f}x "
                     f"| {e.transcription_s:.1f} | {e.llm_s:.1f} |")
    return lines + [""]


def under_load_ratio(runs: list[LeverRun]) -> float | None:
    """The defaults' wall time with one core busy over their quiet wall time."""
    name = runs[-1].name
    quiet = [r.result.wall_s for r in runs if r.name == name and not r.loaded]
    loaded = [r.result.wall_s for r in runs if r.name == name and r.loaded]
    return loaded[0] / quiet[0] if quiet and loaded else None
