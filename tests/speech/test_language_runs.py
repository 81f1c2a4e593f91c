"""A call that changes language is transcribed stretch by stretch in each one's language: an
English-then-Spanish call was decided as Latin at 0.41 with all but one word dropped, and an
English-then-German one had its German half written as English nonsense."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.intake.audio import SAMPLE_RATE, decode_stream
from pipeline.speech.language import LanguageDecision
from pipeline.speech.language_runs import HeardRegion, LanguageRun, language_runs, revised
from samples.languages import write_mixed_call


def _region(start_s: float, end_s: float, probabilities: dict[str, float] | None) -> HeardRegion:
    return HeardRegion(int(start_s * SAMPLE_RATE), int(end_s * SAMPLE_RATE), probabilities)


def test_regions_form_runs_of_one_language_and_short_or_unsure_ones_follow() -> None:
    regions = [_region(0, 4, {"en": 0.9, "es": 0.05}), _region(5, 6, None),  # "yes": follows English
               _region(7, 10, {"es": 0.93, "en": 0.02}), _region(11, 14, {"la": 0.4, "es": 0.3}),  # unsure: the call's
               _region(15, 19, {"es": 0.86})]
    runs = language_runs(regions, fallback="es")
    assert [(r.start / SAMPLE_RATE, r.end / SAMPLE_RATE, r.language) for r in runs] == [(0, 6, "en"), (7, 19, "es")]
    assert runs[0].seconds == 5.0 and runs[0].probability == 0.9
    assert runs[1].seconds == 10.0 and runs[1].probability == pytest.approx((0.93 * 3 + 0.3 * 3 + 0.86 * 4) / 10, abs=1e-4)


def test_the_allowed_languages_decide_each_region() -> None:
    runs = language_runs([_region(0, 4, {"la": 0.5, "ru": 0.3, "en": 0.1})], fallback="en", allowed=("en", "ru"))
    assert [r.language for r in runs] == ["ru"]


def test_the_decision_is_the_language_of_most_speech_and_mixed_with_the_others() -> None:
    unsure = LanguageDecision("la", 0.41, "detected")
    runs = [LanguageRun(0, 1, "en", 14.0, 0.8), LanguageRun(2, 3, "es", 20.0, 0.9), LanguageRun(4, 5, "fr", 2.0, 0.7)]
    assert revised(unsure, runs) == LanguageDecision("es", 0.9, "detected", mixed=True, others=("en",))
    one = revised(unsure, [LanguageRun(0, 1, "es", 20.0, 0.9)])
    assert one.language == "es" and not one.mixed


@pytest.mark.slow
def test_an_english_then_spanish_call_keeps_both_halves_in_their_own_language(multilingual_models_dir: Path,
                                                                            tmp_path: Path) -> None:
    from pipeline.speech.transcribe import Transcriber

    call = write_mixed_call(tmp_path, "es")
    transcriber = Transcriber(str(multilingual_models_dir / "whisper-base-multilingual"), device="cpu")
    heard = transcriber.transcribe_call(decode_stream(call.path))
    assert heard.language.mixed and {heard.language.language, *heard.language.others} == {"en", "es"}
    english = " ".join(s.text for s in heard.segments if s.end < 24.0).lower()
    spanish = " ".join(s.text for s in heard.segments if s.start > 25.0).lower()
    assert "thank you for calling" in english and "balance" in english  # not dropped, not translated
    assert "buenos días" in spanish and "gracias" in spanish and not re.search(r"\b(thank|good morning)\b", spanish)
