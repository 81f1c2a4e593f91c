"""Choosing a model or prompt by measurement (``callscore eval --compare``): each candidate's
answers on the same labelled calls beside the labels, per criterion (and choice field): agreement,
Cohen's kappa and a bootstrap 90% interval of each (calls resampled with replacement), with the
seconds per call each candidate took. Pure arithmetic: the re-scoring is
``pipeline/processing/comparison_run.py``'s."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Mapping, Sequence

from pipeline.report.agreement import cohens_kappa

BOOTSTRAP_DRAWS = 1000
INTERVAL = 0.90
PRODUCTION = "production"  # the answers stored in the warehouse now


@dataclass(frozen=True)
class CandidateAnswers:
    """One candidate's answers: (recording id, criterion or field id) -> yes / no / na or an option."""

    name: str
    answers: Mapping[tuple[str, str], str]
    seconds_per_call: float | None = None  # None: production, scored before


@dataclass(frozen=True)
class Figure:
    """Agreement or kappa with its bootstrap interval (None where undefined)."""

    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class ComparisonRow:
    """One criterion (or ``all``) measured for one candidate."""

    criterion_id: str
    candidate: str
    answers: int
    agreement: Figure
    kappa: Figure


@dataclass(frozen=True)
class Comparison:
    candidates: tuple[str, ...]
    seconds_per_call: dict[str, float | None]
    calls: int
    rows: tuple[ComparisonRow, ...]  # per criterion in label order, then "all"; candidates in order


def compare(labels: Mapping[tuple[str, str], str], candidates: Sequence[CandidateAnswers], *,
            draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> Comparison:
    """Each candidate against ``labels`` ((recording id, item id) -> the answer that counts), over
    the labelled answers it gave; intervals from ``draws`` resamplings of the calls (``seed``)."""
    items = list(dict.fromkeys(item for _, item in labels))
    calls = sorted({recording for recording, _ in labels})
    chance = random.Random(seed)
    resamples = [[chance.choice(calls) for _ in calls] for _ in range(draws)] if calls else []
    rows = []
    for item in [*items, "all"]:
        for candidate in candidates:
            rows.append(_row(labels, candidate, item, resamples))
    return Comparison(tuple(c.name for c in candidates), {c.name: c.seconds_per_call for c in candidates},
                      len(calls), tuple(rows))


def _row(labels: Mapping[tuple[str, str], str], candidate: CandidateAnswers, item: str,
         resamples: list[list[str]]) -> ComparisonRow:
    by_call: dict[str, list[tuple[str, str]]] = {}
    for (recording, item_id), label in labels.items():
        answer = candidate.answers.get((recording, item_id))
        if answer is not None and (item == "all" or item_id == item):
            by_call.setdefault(recording, []).append((label, answer))
    pairs = [pair for call in by_call.values() for pair in call]
    agreements, kappas = [], []
    for calls in resamples:
        drawn = [pair for recording in calls for pair in by_call.get(recording, ())]
        if drawn:
            agreements.append(_agreement(drawn))
            kappa = cohens_kappa([label for label, _ in drawn], [answer for _, answer in drawn])
            if kappa is not None:
                kappas.append(kappa)
    kappa = cohens_kappa([label for label, _ in pairs], [answer for _, answer in pairs])
    return ComparisonRow(item, candidate.name, len(pairs),
                         Figure(_agreement(pairs) if pairs else None, *_interval(agreements)),
                         Figure(kappa, *_interval(kappas)))


def _agreement(pairs: Sequence[tuple[str, str]]) -> float:
    return sum(label == answer for label, answer in pairs) / len(pairs)


def _interval(values: list[float]) -> tuple[float | None, float | None]:
    """The central ``INTERVAL`` of ``values`` (percentile bootstrap); None for none."""
    if not values:
        return None, None
    ordered = sorted(values)
    tail = (1 - INTERVAL) / 2
    return ordered[int(tail * (len(ordered) - 1))], ordered[round((1 - tail) * (len(ordered) - 1))]
