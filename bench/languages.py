"""Whisper models, languages and vocabulary, measured in one run on this machine:

1. tiny.en (embedded) against whisper-base-multilingual on the English labelled calls: word
   error rate and transcription seconds (decode included, no redaction);
2. the language each Russian and Czech espeak-ng call (samples/languages.py, in several voices and
   speeds) is decided as: by the detector alone, and among the languages a centre serves;
3. the ``vocabulary`` effect: how many of the company, product and place names said in the
   labelled calls each model writes right, without them, as hotwords and as the initial prompt.

    python bench/languages.py [--calls 12] [--models-dir models]

The multilingual model is assembled first when it is not there (`callscore models pull`).
Times are wall seconds; the ratios compare models within this run.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import LABELLED_DIR, ensure_labelled_calls, find_calls, normalise_words, word_errors  # noqa: E402
from pipeline.intake.audio import decode_stream  # noqa: E402
from pipeline.models.choice import embedded_whisper_model  # noqa: E402
from pipeline.models.presets import assemble, assembled_path, find_preset  # noqa: E402
from pipeline.speech.transcribe import Transcriber, cpu_split  # noqa: E402

# Names the labelled calls say: the company, a product, people and places.
VOCABULARY = ("Northwind Energy", "Fibre Sixty", "Priya", "Stockport", "Harrogate", "Beech Grove")
# espeak-ng voice variants (agent, customer) the RU/CS calls are made in, at (agent, customer) words/min.
VOICE_PAIRS = (("", "+m2"), ("", "+f3"), ("+m3", "+m1"), ("+klatt", ""))
SPEEDS = ((175, 175), (150, 140))
SERVED = (("ru", "cs"), ("en", "ru", "cs"))


def multilingual(models_dir: Path) -> str:
    preset = find_preset("whisper-base-multilingual")
    assert preset is not None
    folder = assembled_path(preset, models_dir)
    return str(folder if (folder / "model.bin").is_file() else assemble(preset, models_dir))


def transcribe_all(model: str, calls: list, *, vocabulary: tuple[str, ...] = (),
                   vocabulary_as: str = "hotwords") -> tuple[float, list[str]]:
    """(seconds, texts) of transcribing ``calls`` in English with ``model``."""
    transcriber = Transcriber(model, device="cpu", language="en", cpu=cpu_split(None, None, os.cpu_count() or 1),
                              vocabulary=vocabulary, vocabulary_as=vocabulary_as)  # type: ignore[arg-type]
    texts, started = [], time.perf_counter()
    for call in calls:
        segments = transcriber.transcribe_call(decode_stream(call.path)).segments
        texts.append(" ".join(s.text for s in segments))
    return time.perf_counter() - started, texts


def name_hits(references: list[str], texts: list[str]) -> tuple[int, int]:
    """(names written right, names said) over the calls, each name counted per occurrence."""
    right = said = 0
    for reference, text in zip(references, texts):
        ref, hyp = " ".join(normalise_words(reference)), " ".join(normalise_words(text))
        for name in VOCABULARY:
            pattern = rf"\b{re.escape(' '.join(normalise_words(name)))}\b"
            spoken = len(re.findall(pattern, ref))
            said += spoken
            right += min(spoken, len(re.findall(pattern, hyp)))
    return right, said


def english(models_dir: Path, limit: int) -> None:
    ensure_labelled_calls()
    calls = [c for c in find_calls([LABELLED_DIR], limit=limit) if c.reference]
    audio_s = sum(c.duration_s for c in calls)
    print(f"\n## English labelled calls: {len(calls)} calls, {audio_s:.0f} s of audio\n")
    print("| model | vocabulary | WER | seconds | audio s per s | names right |")
    print("|---|---|---|---|---|---|")
    baseline = None
    for name, model in (("tiny.en", str(embedded_whisper_model())), ("whisper-base-multilingual", multilingual(models_dir))):
        for vocabulary, given_as in (((), "-"), (VOCABULARY, "hotwords"), (VOCABULARY, "initial_prompt")):
            seconds, texts = transcribe_all(model, calls, vocabulary=vocabulary, vocabulary_as=given_as)
            errors = sum((word_errors(c.reference, t) for c, t in zip(calls, texts)), start=word_errors("", ""))
            right, said = name_hits([c.reference for c in calls], texts)
            baseline = baseline or seconds
            print(f"| {name} | {given_as} | {errors.rate:.1%} | {seconds:.1f} "
                  f"({seconds / baseline:.2f}x) | {audio_s / seconds:.1f} | {right} of {said} |")


def languages(models_dir: Path) -> None:
    from samples import languages as made
    from samples.synth import add_line_noise, lay_out, write_audio

    transcriber = Transcriber(multilingual(models_dir), device="cpu", cpu=cpu_split(None, None, os.cpu_count() or 1))
    folder = Path(tempfile.mkdtemp(prefix="callscore-languages-"))
    right = {"any": 0, **{",".join(s): 0 for s in SERVED}}
    total = 0
    print("\n## Language of the RU/CS espeak-ng calls (whisper-base-multilingual)\n")
    print("| call | voices | detector alone | among ru,cs | among en,ru,cs |")
    print("|---|---|---|---|---|")
    from pipeline.speech.language import decide_language
    from pipeline.speech.transcribe import _speech_windows

    for language in ("ru", "cs"):
        for (agent, customer), (agent_wpm, customer_wpm) in ((v, s) for v in VOICE_PAIRS for s in SPEEDS):
            voices = {"agent": (language + agent, agent_wpm, 45), "customer": (language + customer, customer_wpm, 60)}
            channels, _ = lay_out(made.script(language), made.RATE, voices=voices)
            path = folder / f"{language}-{total}.mp3"
            write_audio(path, add_line_noise(channels), made.RATE)
            chunk = decode_stream(path).peek()
            assert chunk is not None
            heard = [transcriber._hear(window) for window in _speech_windows(chunk.channels)]
            decisions = [decide_language(heard)] + [decide_language(heard, allowed=s) for s in SERVED]
            total += 1
            for key, decision in zip(right, decisions):
                right[key] += decision.language == language
            cells = " | ".join(f"{d.language} {d.probability:.2f}" for d in decisions)
            print(f"| {language} | {voices['agent'][0]} {agent_wpm}, {voices['customer'][0]} {customer_wpm} | {cells} |")
    print(f"\nRight: detector alone {right['any']} of {total}; "
          + "; ".join(f"among {key} {count} of {total}" for key, count in right.items() if key != "any"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=12, help="English labelled calls to transcribe (default 12)")
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("--only", choices=("english", "languages"))
    args = parser.parse_args()
    if args.only != "languages":
        english(args.models_dir, args.calls)
    if args.only != "english":
        languages(args.models_dir)


if __name__ == "__main__":
    main()
