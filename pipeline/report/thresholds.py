"""A per-criterion threshold on the stored confidence, fitted on labels: the probability of
"yes" from which a verdict is yes, chosen where it agrees best with the labels, and measured by
leave-one-out cross-validation (each call's answer given by a threshold fitted on the others),
so that the agreement reported is never measured on the labels it was fitted on.

The stored confidence is the probability of the answer given; the probability of "yes" is that,
or one minus it for a "no". Answers and labels "na" are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from pipeline.report.agreement import Pair

MIN_LABELS = 20  # yes/no labels a criterion needs before a threshold is fitted
MIN_EACH = 3  # and of each of yes and no


@dataclass(frozen=True)
class Threshold:
    """A criterion's fitted threshold on P(yes) (None: too few labels), on ``labels`` labels."""

    criterion_id: str
    threshold: float | None
    labels: int


def p_yes(pair: Pair) -> float | None:
    """The probability of "yes" behind a stored yes/no answer (None: "na", or no confidence)."""
    if pair.confidence is None or pair.answer not in ("yes", "no"):
        return None
    return pair.confidence if pair.answer == "yes" else 1 - pair.confidence


def _usable(pairs: Sequence[Pair]) -> list[tuple[float, bool]]:
    return [(p, pair.label == "yes") for pair in pairs
            if pair.label in ("yes", "no") and (p := p_yes(pair)) is not None]


def fit(pairs: Sequence[Pair], *, min_labels: int = MIN_LABELS) -> float | None:
    """The threshold on P(yes) that agrees best with the labels of ``pairs`` (one criterion),
    the one nearest 0.5 among equals; None with fewer than ``min_labels`` yes/no labels or fewer
    than ``MIN_EACH`` of either."""
    points = _usable(pairs)
    yes = sum(label for _, label in points)
    if len(points) < min_labels or min(yes, len(points) - yes) < MIN_EACH:
        return None
    values = sorted({p for p, _ in points})
    candidates = [0.5] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[0] - 1e-9, values[-1] + 1e-9]
    return max(candidates, key=lambda t: (sum((p >= t) == label for p, label in points), -abs(t - 0.5)))


def cross_validated(pairs: Sequence[Pair], *, min_labels: int = MIN_LABELS) -> list[Pair]:
    """``pairs`` (one criterion) with each yes/no answer given again by the threshold fitted on
    the other pairs (leave one out); kept as it is where no threshold can be fitted."""
    pairs, answered = list(pairs), []
    for index, pair in enumerate(pairs):
        probability = p_yes(pair)
        threshold = fit(pairs[:index] + pairs[index + 1:], min_labels=min_labels) if probability is not None else None
        if probability is None or threshold is None:
            answered.append(pair)
            continue
        answer = "yes" if probability >= threshold else "no"
        answered.append(replace(pair, answer=answer, confidence=probability if answer == "yes" else 1 - probability))
    return answered
