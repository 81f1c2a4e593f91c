"""Turning a model's probabilities of the answer words into verdicts it can be trusted with:
contextual calibration (Zhao et al. 2021, "Calibrate Before Use").

A small model leans to one answer whatever the call says: asked about a transcript with no
content ("N/A"), Gemma 3 270M still calls most statements true, SmolLM2 most of them false. That
lean is measured per criterion on the content-free transcripts of the prompt template, and each
call's probabilities are divided by it and renormalised, so that a content-free call would come
out even. The verdict is the most probable calibrated option, and its calibrated probability is
the stored confidence.

The lean is computed once per model file, prompt template and criterion wording, and kept in a
cache folder as JSON (``CALLSCORE_CACHE_DIR``, default ``~/.cache/callscore``); each evaluation
records the figures it used (table ``llm_calibrations``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from pipeline.resources import cache_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CriterionCalibration:
    """One criterion's (or choice field's) lean: option -> its mean probability on the
    content-free transcripts, renormalised over the options calibrated. "na" is never among
    them: on a transcript with no content "not applicable" is the right answer, not a lean.
    Empty: no calibration (the probabilities as read)."""

    criterion_id: str
    content_free: Mapping[str, float]

    def calibrated(self, probabilities: Mapping[str, float]) -> dict[str, float]:
        """The probabilities (renormalised over the options read) with the calibrated options'
        share divided among them by probability / lean; the others' share kept as read. A lean
        is taken no lower than ``1 / (4 * options)``, so no option is raised more than that."""
        total = sum(probabilities.values())
        if total <= 0:
            return {o: 1 / len(probabilities) for o in probabilities}
        read = {o: p / total for o, p in probabilities.items()}
        leaning = [o for o in read if o in self.content_free]
        if not leaning:
            return read
        floor = 1 / (4 * len(leaning))
        weights = {o: read[o] / max(self.content_free[o], floor) for o in leaning}
        share, weight = sum(read[o] for o in leaning), sum(weights.values())
        return {o: (weights[o] * share / weight if weight > 0 else share / len(leaning)) if o in weights else p
                for o, p in read.items()}

    def decide(self, probabilities: Mapping[str, float]) -> str:
        """The option with the highest calibrated probability."""
        calibrated = self.calibrated(probabilities)
        return max(calibrated, key=lambda option: calibrated[option])


def model_identity(path: Path) -> str:
    """A model file's identity for the cache: its name, size and the SHA-256 of its first MiB."""
    with open(path, "rb") as handle:
        head = hashlib.sha256(handle.read(1 << 20)).hexdigest()[:16]
    return f"{Path(path).name}:{Path(path).stat().st_size}:{head}"


def calibration_for(key: Mapping[str, object], measure: Callable[[], dict[str, float]]) -> dict[str, float]:
    """The lean for ``key`` (what it depends on: model, template, kind, criterion wording), from
    the cache, or ``measure()``d and cached. A cache that cannot be read or written is measured
    again, with a warning."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir() / "calibration" / f"{digest}.json"
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored.get("key") == json.loads(json.dumps(key)):
            return {str(o): float(p) for o, p in stored["content_free"].items()}
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        log.warning("calibration cache %s is unreadable (%s): measured again", path, exc)
    lean = measure()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(json.dumps({"key": key, "content_free": lean}), encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        log.warning("cannot cache the calibration in %s (%s): it is measured again next time", path.parent, exc)
    return lean
