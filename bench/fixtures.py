"""The recordings the speed benchmark runs on, with what was said in them (for word error rate).

The bundled fixtures are scripted, so their words are known: the three sample calls
(``samples/make_samples.py``) and the labelled calls (``samples/labelled.py``, written on first
use with espeak-ng). A user's own folder works too: a recording's reference text is read from a
``NAME.txt`` next to ``NAME.mp3`` when there is one; without it, that call counts for speed but
not for word error rate.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.intake.audio import AUDIO_EXTENSIONS, probe  # noqa: E402
from samples.synth import Turn  # noqa: E402

SAMPLE_CALLS_DIR = ROOT / "samples" / "calls"
LABELLED_DIR = ROOT / "samples" / "labelled"


@dataclass(frozen=True)
class FixtureCall:
    """One recording to benchmark on."""

    path: Path
    duration_s: float  # declared length, seconds
    channels: int
    reference: str | None  # the words spoken, in time order; None when unknown


def _script_text(turns: Iterable[Turn]) -> str:
    return " ".join(turn.text for turn in turns)


def scripted_references() -> dict[str, str]:
    """File name -> spoken words, for every scripted call of the project."""
    from samples.labelled import CALLS
    from samples.make_samples import GOOD_CALL, MONO_CALL, POOR_CALL

    references = {
        "billing-good.mp3": _script_text(GOOD_CALL),
        "broadband-poor.mp3": _script_text(POOR_CALL),
        "address-change-mono.mp3": _script_text(MONO_CALL),
    }
    references.update({call.name: _script_text(call.turns) for call in CALLS})
    return references


def ensure_labelled_calls(directory: Path = LABELLED_DIR) -> None:
    """Write the labelled calls (and labels.csv) into ``directory`` unless all are there."""
    from samples.labelled import CALLS, generate

    missing = [call for call in CALLS if not (directory / call.name).is_file()]
    if missing:
        print(f"writing {len(missing)} labelled calls into {directory} (espeak-ng)", file=sys.stderr)
        generate(directory, missing)


def find_calls(folders: Sequence[Path], *, limit: int | None = None) -> list[FixtureCall]:
    """Audio files under ``folders``, sorted by path, with their reference text where known."""
    references = scripted_references()
    calls = []
    for folder in folders:
        paths = [folder] if folder.is_file() else sorted(
            p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()
        )
        for path in paths:
            info = probe(path)
            text_file = path.with_suffix(".txt")
            reference = text_file.read_text(encoding="utf-8") if text_file.is_file() else references.get(path.name)
            calls.append(FixtureCall(path, info.duration_s or 0.0, info.channels, reference))
    return calls[:limit] if limit else calls


# -- word error rate ------------------------------------------------------------------------------

def normalise_words(text: str) -> list[str]:
    """Lower-case words without punctuation, numbers as figures ("nineteen eighty" and "1980"
    both become "19 80" / "1980" alike as far as possible), so formatting is not counted as error."""
    from samples.labelled import as_digits

    text = as_digits(text.lower())
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,000 -> 1000
    text = re.sub(r"[^\w\s']|_", " ", text.replace("-", " "))
    return [word.strip("'") for word in text.split() if word.strip("'")]


def word_edits(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Levenshtein distance in words (substitutions + deletions + insertions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_word in enumerate(hypothesis, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class WordErrors:
    edits: int
    reference_words: int

    @property
    def rate(self) -> float | None:
        """Word error rate, 0-1 (can exceed 1 with many insertions)."""
        return self.edits / self.reference_words if self.reference_words else None

    def __add__(self, other: "WordErrors") -> "WordErrors":
        return WordErrors(self.edits + other.edits, self.reference_words + other.reference_words)


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    ref = normalise_words(reference)
    return WordErrors(word_edits(ref, normalise_words(hypothesis)), len(ref))
