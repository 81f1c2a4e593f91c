"""Per-criterion thresholds on P(yes) fitted on labels, and the leave-one-out answers that never
use a call's own label."""

from __future__ import annotations

from pipeline.report.agreement import Pair
from pipeline.report.thresholds import cross_validated, fit, p_yes


def _pair(index: int, label: str, probability_yes: float) -> Pair:
    answer = "yes" if probability_yes >= 0.5 else "no"
    confidence = probability_yes if answer == "yes" else 1 - probability_yes
    return Pair(f"r{index}", f"call-{index}.mp3", "greeted", label, answer, confidence)


def test_p_yes_reads_the_stored_confidence_of_either_answer() -> None:
    assert p_yes(_pair(1, "yes", 0.8)) == 0.8
    assert abs(p_yes(_pair(2, "no", 0.3)) - 0.3) < 1e-12
    assert p_yes(Pair("r", "f", "c", "na", "na", 0.9)) is None
    assert p_yes(Pair("r", "f", "c", "yes", "yes", None)) is None


def test_a_lean_the_model_has_is_fitted_away() -> None:
    """Every call sits above 0.5 (the model leans to yes) but the yes calls sit higher: the
    threshold lands between them, and leave-one-out answers agree with every label."""
    pairs = [_pair(i, "yes", 0.80 + i / 1000) for i in range(12)] + [_pair(20 + i, "no", 0.60 + i / 1000) for i in range(12)]
    threshold = fit(pairs)
    assert 0.611 < threshold < 0.8
    answered = cross_validated(pairs)
    assert [p.answer for p in answered] == [p.label for p in pairs]
    assert sum(p.answer == p.label for p in pairs) == 12  # as scored: every "no" call answered yes
    # the confidence stays the probability of the answer given: a "no" under the threshold has 1 - P(yes)
    assert all(abs(a.confidence - (p_yes(p) if a.answer == "yes" else 1 - p_yes(p))) < 1e-9
               for a, p in zip(answered, pairs))


def test_too_few_labels_fit_nothing_and_leave_the_answers_as_scored() -> None:
    few = [_pair(i, "yes", 0.9) for i in range(10)] + [_pair(10 + i, "no", 0.7) for i in range(9)]
    assert fit(few) is None  # 19 labels, under the minimum of 20
    assert cross_validated(few) == few
    one_sided = [_pair(i, "yes", 0.9) for i in range(25)] + [_pair(30, "no", 0.1), _pair(31, "no", 0.2)]
    assert fit(one_sided) is None  # two "no" labels: under the minimum of each


def test_a_call_is_never_answered_with_its_own_label() -> None:
    """Two calls whose P(yes) is out of line with their labels stay wrong under leave-one-out:
    fitting on the others gives a threshold that cannot know about them."""
    pairs = [_pair(i, "yes", 0.7 + i / 100) for i in range(12)] + [_pair(20 + i, "no", 0.2 + i / 100) for i in range(12)]
    pairs += [_pair(40, "yes", 0.25), _pair(41, "no", 0.75)]
    answered = {p.recording_id: p.answer for p in cross_validated(pairs)}
    assert answered["r40"] == "no" and answered["r41"] == "yes"
