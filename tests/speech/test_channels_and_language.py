"""A call's channel layout settled once transcribed, and its one language decided from what the
detector heard (no model: the detector's answers are given)."""

from __future__ import annotations

import pytest

from pipeline.speech.channel_layout import settle_layout
from pipeline.speech.language import HeardStretch, decide_language
from pipeline.speech.segments import Segment


def _said(speaker: str, start: float) -> Segment:
    return Segment(speaker, 0 if speaker == "agent" else 1, start, start + 1.0, "hello there", -0.2, 0.01, 1.1)


def test_a_stereo_call_with_one_silent_side_is_flagged_and_its_speech_kept_as_unknown() -> None:
    layout, segments = settle_layout("stereo", [_said("customer", 0.0), _said("customer", 2.0)])
    assert layout == "silent_agent"
    assert [s.speaker for s in segments] == ["unknown", "unknown"]
    assert [s.channel for s in segments] == [1, 1]  # where it was heard stays recorded
    assert settle_layout("stereo", [_said("agent", 0.0)])[0] == "silent_customer"


@pytest.mark.parametrize("layout, speakers", [
    ("stereo", ["agent", "customer"]), ("stereo", []), ("mono", ["unknown"]), ("dual_mono", ["unknown"]),
])
def test_other_calls_keep_their_layout_and_speakers(layout: str, speakers: list[str]) -> None:
    given = [_said(speaker, float(i)) for i, speaker in enumerate(speakers)]
    assert settle_layout(layout, given) == (layout, tuple(given))


def test_the_language_is_decided_once_over_all_the_speech_weighted_by_its_seconds() -> None:
    heard = [HeardStretch(30.0, {"ru": 0.5, "uk": 0.3, "en": 0.2}),  # the customer, at length
             HeardStretch(2.0, {"en": 0.9, "ru": 0.1})]  # the agent's short "hello"
    decision = decide_language(heard)
    assert (decision.language, decision.source, decision.mixed) == ("ru", "detected", False)
    assert decision.probability == pytest.approx((0.5 * 30 + 0.1 * 2) / 32, abs=1e-4)


def test_a_long_confident_stretch_in_another_language_marks_the_call_mixed() -> None:
    heard = [HeardStretch(30.0, {"cs": 0.8, "en": 0.2}), HeardStretch(20.0, {"en": 0.9, "cs": 0.1})]
    decision = decide_language(heard)
    assert (decision.language, decision.mixed, decision.others) == ("cs", True, ("en",))


def test_the_allowed_languages_decide_among_themselves() -> None:
    heard = [HeardStretch(30.0, {"la": 0.5, "ru": 0.12, "cs": 0.08, "en": 0.05})]  # synthetic Russian
    assert decide_language(heard).language == "la"
    decision = decide_language(heard, allowed=("ru", "cs"))
    assert decision.language == "ru" and decision.probability == pytest.approx(0.6)
    assert decide_language([], allowed=("cs", "en")).language == "cs"
