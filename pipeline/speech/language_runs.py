"""A call in more than one language, transcribed stretch by stretch in the language each was
spoken in, so nothing is dropped or translated.

The call's language is decided on up to four 30 s windows of its speech (``language``). When a
call's speech changes language, those windows mix both, and the decision comes out unsure or
wrong: an English-then-Spanish call was decided as Latin at 0.41 and all but one word dropped;
an English-then-German one as English at 0.54, with the German half written as English
nonsense. Then (a detected decision that is uncertain or mixed) each region of speech VAD finds
is heard on its own: a region of ``MIN_REGION_S`` or more takes the language the detector gives
it at ``REGION_PROBABILITY`` or more (among the ``languages`` setting, when given), else the
call's; a shorter one ("yes") the language of the region before it. Neighbouring regions of one
language form a run, transcribed in that language.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from pipeline.intake.audio import SAMPLE_RATE
from pipeline.speech.language import MIXED_MIN_SECONDS, LanguageDecision, among_allowed

MIN_REGION_S = 2.0  # shorter regions of speech are not read by the detector: too little to tell
REGION_PROBABILITY = 0.6  # a region's own language counts when detected at least this sure
MAX_REGIONS = 60  # regions read per channel of a chunk (each costs one detector pass); later ones follow the last


@dataclass(frozen=True)
class HeardRegion:
    """One region of speech (sample indexes into its channel) and what the detector heard in it."""

    start: int
    end: int
    probabilities: dict[str, float] | None  # language code -> probability; None: not read

    @property
    def seconds(self) -> float:
        return (self.end - self.start) / SAMPLE_RATE


@dataclass(frozen=True)
class LanguageRun:
    """Neighbouring regions of speech in one language: samples ``start``..``end`` of a channel."""

    start: int
    end: int
    language: str
    seconds: float  # of speech in it
    probability: float | None  # seconds-weighted mean of its read regions' probability of ``language``


def region_language(region: HeardRegion, *, previous: str, fallback: str, allowed: Sequence[str] = ()) -> tuple[str, float | None]:
    """(language, its probability) of one region: its own when sure enough, else the call's
    (``fallback``); an unread region follows the one before it (``previous``)."""
    if region.probabilities is None:
        return previous, None
    probabilities = among_allowed(region.probabilities, allowed) if allowed else region.probabilities
    top = max(probabilities, key=probabilities.__getitem__)
    if probabilities[top] >= REGION_PROBABILITY:
        return top, probabilities[top]
    return fallback, probabilities.get(fallback)


def language_runs(regions: Sequence[HeardRegion], *, fallback: str, allowed: Sequence[str] = ()) -> list[LanguageRun]:
    """The regions of one channel as runs of one language each, in order."""
    runs: list[LanguageRun] = []
    weights: list[tuple[float, float]] = []  # per run: (seconds read, probability-seconds)
    language = fallback
    for region in regions:
        language, probability = region_language(region, previous=language, fallback=fallback, allowed=allowed)
        read = (region.seconds, probability * region.seconds) if probability is not None else (0.0, 0.0)
        if runs and runs[-1].language == language:
            last, (seconds, weighted) = runs[-1], weights[-1]
            runs[-1] = replace(last, end=region.end, seconds=last.seconds + region.seconds)
            weights[-1] = (seconds + read[0], weighted + read[1])
        else:
            runs.append(LanguageRun(region.start, region.end, language, region.seconds, None))
            weights.append(read)
    return [replace(run, seconds=round(run.seconds, 3), probability=round(weighted / seconds, 4) if seconds else None)
            for run, (seconds, weighted) in zip(runs, weights)]


def revised(decision: LanguageDecision, runs: Sequence[LanguageRun]) -> LanguageDecision:
    """The call's decision as its runs tell it: the language of most speech, its probability,
    and the others spoken for ``MIXED_MIN_SECONDS`` or more (``mixed``)."""
    seconds: dict[str, float] = {}
    for run in runs:
        seconds[run.language] = seconds.get(run.language, 0.0) + run.seconds
    if not seconds:
        return decision
    language = max(seconds, key=seconds.__getitem__)
    read = [(run.probability, run.seconds) for run in runs if run.language == language and run.probability is not None]
    total = sum(s for _, s in read)
    probability = round(sum(p * s for p, s in read) / total, 4) if total else decision.probability
    others = tuple(sorted(code for code, s in seconds.items() if code != language and s >= MIXED_MIN_SECONDS))
    return replace(decision, language=language, probability=probability, mixed=bool(others), others=others)
