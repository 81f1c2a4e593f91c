"""One language decision per call, from what Whisper hears in stretches of its speech.

Whisper's language detector reads 30 s of audio at a time. A call's decision weighs the
detector's probabilities over up to ``LANGUAGE_WINDOWS`` stretches of speech taken from all of
its channels together (each weighted by its seconds of speech), so that one channel's short
"yes, hello" does not decide it alone. A stretch of at least ``MIXED_MIN_SECONDS`` whose own top
language is another one, at ``MIXED_LANGUAGE_PROBABILITY`` or more, marks the call as mixed.

A contact centre knows the languages it serves: given them (the ``languages`` setting), the
decision is among those only, each stretch's probabilities renormalised over them. That is what
tells synthetic or accented Russian from the Latin or Georgian the detector alone may hear in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

LANGUAGE_WINDOWS = 4  # stretches of speech of up to 30 s read by the detector per call
MIXED_LANGUAGE_PROBABILITY = 0.6  # a stretch this sure of another language makes the call mixed
MIXED_MIN_SECONDS = 5.0  # seconds of speech a stretch needs to count towards "mixed"
# A detected language less probable than this is flagged ``uncertain_language``: a Czech call was
# decided as Slovak at 0.63 (among en,ru,cs it was Czech at 0.9998). Give ``languages`` then.
UNCERTAIN_LANGUAGE_PROBABILITY = 0.8


@dataclass(frozen=True)
class LanguageDecision:
    """The language a call is transcribed in."""

    language: str  # Whisper's code (ISO 639-1 where there is one): en, ru, cs, ...
    probability: float | None  # 0-1, the detector's weighted mean; None when given, not detected
    source: Literal["detected", "given", "model"]  # detected; given (sidecar or setting); model: English-only
    mixed: bool = False  # speech in another language was heard too
    others: tuple[str, ...] = ()  # the other languages heard, when mixed
    suspect: bool = False  # an English-only model probably heard another language (english_check)

    @property
    def uncertain(self) -> bool:
        """Detected, but less probable than ``UNCERTAIN_LANGUAGE_PROBABILITY``."""
        return is_uncertain(self.probability)


def is_uncertain(probability: float | None) -> bool:
    """Whether a detected language's ``probability`` (None: given, not detected) is too low to trust."""
    return probability is not None and probability < UNCERTAIN_LANGUAGE_PROBABILITY


@dataclass(frozen=True)
class HeardStretch:
    """The detector's answer for one stretch of speech."""

    seconds: float  # speech in the stretch
    probabilities: dict[str, float]  # language code -> probability


def decide_language(stretches: Sequence[HeardStretch], *, allowed: Sequence[str] = (),
                    fallback: str = "en") -> LanguageDecision:
    """The call's language: the highest seconds-weighted mean probability over ``stretches``,
    among the ``allowed`` languages when any are given (``fallback``, or the first allowed, with
    probability 0 when there is no speech to hear)."""
    if allowed:
        stretches = [HeardStretch(s.seconds, among_allowed(s.probabilities, allowed)) for s in stretches]
        fallback = allowed[0]
    total = sum(s.seconds for s in stretches)
    if total <= 0:
        return LanguageDecision(fallback, 0.0, "detected")
    weighted: dict[str, float] = {}
    for stretch in stretches:
        for code, probability in stretch.probabilities.items():
            weighted[code] = weighted.get(code, 0.0) + probability * stretch.seconds / total
    language = max(weighted, key=weighted.__getitem__)
    others = sorted({
        top for stretch in stretches if stretch.seconds >= MIXED_MIN_SECONDS and stretch.probabilities
        for top in [max(stretch.probabilities, key=stretch.probabilities.__getitem__)]
        if top != language and stretch.probabilities[top] >= MIXED_LANGUAGE_PROBABILITY
    })
    return LanguageDecision(language, round(weighted[language], 4), "detected", mixed=bool(others),
                            others=tuple(others))


def among_allowed(probabilities: dict[str, float], allowed: Sequence[str]) -> dict[str, float]:
    """``probabilities`` of the ``allowed`` languages only, renormalised to sum to 1."""
    kept = {code: probabilities.get(code, 0.0) for code in allowed}
    total = sum(kept.values())
    return {code: (p / total if total > 0 else 1 / len(kept)) for code, p in kept.items()}
