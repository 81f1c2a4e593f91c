"""How well does callscore tell, from an English-only model's own transcript, that a call is
not in English (``pipeline.speech.english_check``)? tiny.en transcribes English calls (the
bundled samples and labelled calls) and calls in six other languages (``samples/languages.py``:
Russian and Czech stereo, German, French, Spanish and Turkish stereo and mono); for each, the
words per second of speech, the mean log probability, and whether it was flagged.

    python bench/english_check.py [--calls 12]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import LABELLED_DIR, ensure_labelled_calls, find_calls  # noqa: E402
from pipeline.intake.audio import decode_stream  # noqa: E402
from pipeline.models.choice import embedded_whisper_model  # noqa: E402
from pipeline.speech.english_check import (MAX_MEAN_WINDOW_COMPRESSION, MIN_MEAN_LOGPROB,  # noqa: E402
                                           MIN_WORDS_PER_SPEECH_SECOND, check_english)
from pipeline.speech.transcribe import Transcriber, cpu_split  # noqa: E402

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "calls"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=12, help="English labelled calls (default 12)")
    args = parser.parse_args()
    ensure_labelled_calls()
    from samples.languages import write_calls, write_other_calls

    folder = Path(tempfile.mkdtemp(prefix="callscore-languages-"))
    made = [(c.path, c.language) for c in write_calls(folder) + write_other_calls(folder)]
    english = [(p, "en") for p in sorted(SAMPLES.glob("*.mp3"))]
    english += [(c.path, "en") for c in find_calls([LABELLED_DIR], limit=args.calls)]
    transcriber = Transcriber(str(embedded_whisper_model()), device="cpu", cpu=cpu_split(None, None, os.cpu_count() or 1))
    print(f"tiny.en, CPU int8; flagged below {MIN_WORDS_PER_SPEECH_SECOND} words per second of speech, a mean "
          f"log probability under {MIN_MEAN_LOGPROB}, or a mean window compression over {MAX_MEAN_WINDOW_COMPRESSION}\n")
    print("| call | spoken | speech s | words/s of speech | mean log prob | mean window compression | flagged |")
    print("|---|---|---|---|---|---|---|")
    flagged = {"en": [0, 0], "other": [0, 0]}
    for path, language in english + made:
        heard = transcriber.transcribe_call(decode_stream(path))
        check = check_english(heard.segments, heard.speech_s)
        figures = [check.words_per_speech_second, check.mean_logprob, check.mean_compression]
        shown = " | ".join("-" if value is None else f"{value:.2f}" for value in figures)
        print(f"| {path.name} | {language} | {check.speech_s:.1f} | {shown} | {'yes' if heard.language.suspect else 'no'} |")
        tally = flagged["en" if language == "en" else "other"]
        tally[0] += heard.language.suspect
        tally[1] += 1
    print(f"\nflagged: English {flagged['en'][0]} of {flagged['en'][1]}, "
          f"other languages {flagged['other'][0]} of {flagged['other'][1]}")


if __name__ == "__main__":
    main()
