"""How well reviewers agree with one another, and the machine with them, on the same calls (a
calibration: each reviewer answers every call, blind to the others). Per criterion: agreement
and Cohen's kappa of every pair of reviewers, Fleiss' kappa of all of them, the machine against
each reviewer and against their consensus (the answer most of them gave), and the calls they
disagree on. A criterion on which the machine agrees with the reviewers at least as well as
they agree with each other (mean Cohen's kappa) is "as good as a reviewer".

Plain arithmetic on answers (yes / no / na, or a field's options); no model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import combinations
from statistics import mean
from typing import Mapping, Sequence

from pipeline.report.agreement import cohens_kappa

MACHINE = "machine"  # the machine's name among the raters


@dataclass(frozen=True)
class RaterPair:
    """Two raters' answers to the same calls compared."""

    first: str
    second: str
    answers: int  # calls both answered
    agreement: float | None  # 0-1
    kappa: float | None  # Cohen's; None when undefined (one class on both sides, or no calls)


@dataclass(frozen=True)
class Disagreement:
    """A call on which the reviewers did not all give the same answer, or the machine differs
    from their consensus."""

    call: str
    answers: dict[str, str]  # reviewer (and the machine) -> answer
    consensus: str | None  # the answer most reviewers gave; None on a tie


@dataclass(frozen=True)
class CriterionCalibration:
    criterion_id: str
    calls: int  # calls every reviewer answered
    reviewer_pairs: tuple[RaterPair, ...]
    fleiss_kappa: float | None
    machine_pairs: tuple[RaterPair, ...]  # the machine against each reviewer
    machine_vs_consensus: RaterPair
    disagreements: tuple[Disagreement, ...]

    @property
    def reviewers_kappa(self) -> float | None:
        """The mean Cohen's kappa of the reviewers' pairs (those defined)."""
        return _mean(p.kappa for p in self.reviewer_pairs)

    @property
    def machine_kappa(self) -> float | None:
        """The mean Cohen's kappa of the machine against each reviewer (those defined)."""
        return _mean(p.kappa for p in self.machine_pairs)

    @property
    def as_good_as_a_reviewer(self) -> bool:
        """The machine agrees with the reviewers at least as well as they agree with each other."""
        return (self.machine_kappa is not None and self.reviewers_kappa is not None
                and self.machine_kappa >= self.reviewers_kappa)


def pair(first: str, second: str, a: Sequence[str], b: Sequence[str]) -> RaterPair:
    """``first``'s answers ``a`` against ``second``'s ``b`` (the same calls, in the same order)."""
    agreed = sum(x == y for x, y in zip(a, b))
    return RaterPair(first, second, len(a), agreed / len(a) if a else None, cohens_kappa(list(a), list(b)))


def fleiss_kappa(ratings: Sequence[Sequence[str]]) -> float | None:
    """Fleiss' kappa of calls each answered by the same number of raters (one list of answers per
    call): (P - Pe) / (1 - Pe), P the mean agreement among a call's raters, Pe the chance of it
    from the answers' overall shares. None without calls, with fewer than two raters, or when
    Pe is 1 (every answer the same)."""
    raters = {len(answers) for answers in ratings}
    if not ratings or len(raters) != 1 or min(raters) < 2:
        return None
    n = raters.pop()
    per_call = [Counter(answers) for answers in ratings]
    observed = mean((sum(c * c for c in counts.values()) - n) / (n * (n - 1)) for counts in per_call)
    totals = sum(per_call, Counter())
    chance = sum((count / (len(ratings) * n)) ** 2 for count in totals.values())
    return None if chance >= 1.0 else (observed - chance) / (1 - chance)


def consensus(answers: Sequence[str]) -> str | None:
    """The answer most raters gave; None on a tie for the most."""
    ranked = Counter(answers).most_common()
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def calibrate_criterion(criterion_id: str, reviewers: Sequence[str], answers: Mapping[str, Mapping[str, str]],
                        machine: Mapping[str, str]) -> CriterionCalibration:
    """The figures of one criterion. ``answers``: call -> reviewer -> answer; ``machine``: call ->
    the machine's answer. Only calls every reviewer answered count (and, against the machine,
    those it answered too)."""
    calls = sorted(call for call, given in answers.items() if all(r in given for r in reviewers))
    column = {r: [answers[call][r] for call in calls] for r in reviewers}
    reviewer_pairs = tuple(pair(a, b, column[a], column[b]) for a, b in combinations(reviewers, 2))
    judged = [call for call in calls if call in machine]
    machine_pairs = tuple(pair(MACHINE, r, [machine[c] for c in judged], [answers[c][r] for c in judged])
                          for r in reviewers)
    agreed = {call: consensus([answers[call][r] for r in reviewers]) for call in calls}
    with_consensus = [call for call in judged if agreed[call] is not None]
    versus = pair(MACHINE, "consensus", [machine[c] for c in with_consensus], [agreed[c] for c in with_consensus])
    disagreements = tuple(
        Disagreement(call, {**{r: answers[call][r] for r in reviewers}, **({MACHINE: machine[call]} if call in machine else {})},
                     agreed[call])
        for call in calls
        if len({answers[call][r] for r in reviewers}) > 1 or (call in machine and machine[call] != agreed[call]))
    return CriterionCalibration(criterion_id, len(calls), reviewer_pairs,
                                fleiss_kappa([[answers[call][r] for r in reviewers] for call in calls]),
                                machine_pairs, versus, disagreements)


def _mean(values) -> float | None:
    found = [v for v in values if v is not None]
    return mean(found) if found else None
