"""Calibration figures worked out by hand: 6 calls answered by 3 reviewers and the machine.

    call   a    b    c    consensus  machine
    1      yes  yes  yes  yes        yes
    2      yes  yes  no   yes        yes
    3      no   no   no   no         no
    4      yes  no   no   no         no
    5      no   no   no   no         yes
    6      yes  yes  yes  yes        yes

Cohen's kappa = (observed - chance) / (1 - chance), chance = sum over answers of the product of
each side's share:
    a-b: agree 5/6; a yes 4/6, b yes 3/6: chance (4*3 + 2*3)/36 = 1/2; kappa (5/6 - 1/2)/(1/2) = 2/3
    a-c: agree 4/6; c yes 2/6: chance (4*2 + 2*4)/36 = 4/9; kappa (2/3 - 4/9)/(5/9) = 2/5
    b-c: agree 5/6; chance (3*2 + 3*4)/36 = 1/2; kappa 2/3
Fleiss: a call's agreement P_i = (sum of squared counts - 3) / (3*2): 1, 1/3, 1, 1/3, 1, 1 ->
    mean 7/9; yes 9 of 18 answers: chance 1/4 + 1/4 = 1/2; kappa (7/9 - 1/2)/(1/2) = 5/9
Machine (yes 4/6): against a agree 4/6, chance (16 + 4)/36 = 5/9, kappa 1/4; against b 5/6, 1/2,
    2/3; against c 4/6, 4/9, 2/5; against the consensus (yes 3/6) 5/6, 1/2, 2/3.
    Mean machine kappa 79/180 < mean reviewers' kappa 26/45: not as good as a reviewer.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from pipeline.report.calibration import calibrate_criterion, consensus, fleiss_kappa

REVIEWERS = ("a", "b", "c")
ROWS = {"1": "yyyy", "2": "yyny", "3": "nnnn", "4": "ynnn", "5": "nnny", "6": "yyyy"}  # a, b, c, machine
WORD = {"y": "yes", "n": "no"}
ANSWERS = {call: dict(zip(REVIEWERS, (WORD[x] for x in row[:3]))) for call, row in ROWS.items()}
MACHINE = {call: WORD[row[3]] for call, row in ROWS.items()}


def _close(value: float | None, fraction: Fraction) -> bool:
    return value is not None and value == pytest.approx(float(fraction))


def test_six_calls_by_three_reviewers_give_the_kappas_worked_out_by_hand() -> None:
    figures = calibrate_criterion("greeted", REVIEWERS, ANSWERS, MACHINE)
    assert figures.calls == 6
    kappas = {(p.first, p.second): p.kappa for p in figures.reviewer_pairs}
    assert _close(kappas[("a", "b")], Fraction(2, 3)) and _close(kappas[("a", "c")], Fraction(2, 5))
    assert _close(kappas[("b", "c")], Fraction(2, 3))
    assert _close(figures.fleiss_kappa, Fraction(5, 9))
    machine = {p.second: (p.agreement, p.kappa) for p in figures.machine_pairs}
    assert _close(machine["a"][1], Fraction(1, 4)) and _close(machine["b"][1], Fraction(2, 3))
    assert _close(machine["c"][1], Fraction(2, 5)) and _close(machine["a"][0], Fraction(4, 6))
    assert _close(figures.machine_vs_consensus.kappa, Fraction(2, 3))
    assert _close(figures.machine_vs_consensus.agreement, Fraction(5, 6))
    assert _close(figures.reviewers_kappa, Fraction(26, 45)) and _close(figures.machine_kappa, Fraction(79, 180))
    assert not figures.as_good_as_a_reviewer
    assert [(d.call, d.consensus) for d in figures.disagreements] == [("2", "yes"), ("4", "no"), ("5", "no")]
    assert figures.disagreements[2].answers == {"a": "no", "b": "no", "c": "no", "machine": "yes"}


def test_a_machine_that_gives_the_consensus_is_as_good_as_a_reviewer() -> None:
    consensus_answers = {call: consensus(list(given.values())) for call, given in ANSWERS.items()}
    figures = calibrate_criterion("greeted", REVIEWERS, ANSWERS, consensus_answers)
    assert figures.as_good_as_a_reviewer and _close(figures.machine_vs_consensus.kappa, Fraction(1))


def test_calls_not_answered_by_every_reviewer_do_not_count_and_edge_cases_are_undefined() -> None:
    partial = {**ANSWERS, "7": {"a": "yes", "b": "no"}}
    assert calibrate_criterion("greeted", REVIEWERS, partial, MACHINE).calls == 6
    assert fleiss_kappa([["yes", "yes"], ["yes", "yes"]]) is None  # one answer only: chance is 1
    assert fleiss_kappa([]) is None and fleiss_kappa([["yes"], ["no"]]) is None
    assert fleiss_kappa([["yes", "no"], ["no", "yes"]]) == pytest.approx(-1.0)
    assert consensus(["yes", "no"]) is None and consensus(["na", "na", "yes"]) == "na"
