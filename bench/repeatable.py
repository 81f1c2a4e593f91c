"""Is a transcript repeatable, and what does Whisper's temperature fallback buy? tiny.en
transcribes the English labelled calls twice with callscore's decoding (greedy, no fallback)
and twice with faster-whisper's default fallback (0.0, 0.2, ... 1.0, sampling), in one run:
word error rate, seconds, and how many calls came out different the second time. The same for
the Russian and Czech calls of ``samples/languages.py`` (which tiny.en cannot hear: the
fallback is what samples there).

    python bench/repeatable.py [--calls 12]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fixtures import LABELLED_DIR, ensure_labelled_calls, find_calls, word_errors  # noqa: E402
from pipeline.intake.audio import decode_stream  # noqa: E402
from pipeline.models.choice import embedded_whisper_model  # noqa: E402
from pipeline.speech.transcribe import DECODING_TEMPERATURES, Transcriber, cpu_split  # noqa: E402

FALLBACK = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's default


def transcribe_twice(temperatures: tuple[float, ...], paths: list[Path]) -> tuple[float, list[str], int]:
    """(seconds of the first pass, its texts, calls whose second pass differed)."""
    transcriber = Transcriber(str(embedded_whisper_model()), device="cpu", cpu=cpu_split(None, None, os.cpu_count() or 1),
                              temperatures=temperatures)
    passes, seconds = [], 0.0
    for _ in range(2):
        started = time.perf_counter()
        passes.append([" ".join(s.text for s in transcriber.transcribe_call(decode_stream(p)).segments)
                       for p in paths])
        seconds = seconds or time.perf_counter() - started
    return seconds, passes[0], sum(a != b for a, b in zip(*passes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=12, help="English labelled calls (default 12)")
    args = parser.parse_args()
    ensure_labelled_calls()
    calls = [c for c in find_calls([LABELLED_DIR], limit=args.calls) if c.reference]
    from samples.languages import write_calls

    made = write_calls(Path(tempfile.mkdtemp(prefix="callscore-languages-")))
    foreign = [call.path for call in made if call.language != "en"]
    print(f"tiny.en, CPU int8; {len(calls)} English labelled calls, {len(foreign)} Russian and Czech calls\n")
    print("| decoding | English WER | English seconds | English calls different on a 2nd run | "
          "RU/CS calls different on a 2nd run | RU/CS calls with no text |")
    print("|---|---|---|---|---|---|")
    baseline = None
    for name, temperatures in (("greedy (callscore)", DECODING_TEMPERATURES), ("fallback 0.0-1.0", FALLBACK)):
        seconds, texts, changed = transcribe_twice(temperatures, [c.path for c in calls])
        errors = sum((word_errors(c.reference, t) for c, t in zip(calls, texts)), start=word_errors("", ""))
        _, foreign_texts, foreign_changed = transcribe_twice(temperatures, foreign)
        baseline = baseline or seconds
        print(f"| {name} | {errors.rate:.1%} | {seconds:.1f} ({seconds / baseline:.2f}x) | {changed} of {len(calls)} | "
              f"{foreign_changed} of {len(foreign)} | {sum(not t.strip() for t in foreign_texts)} |")


if __name__ == "__main__":
    main()
