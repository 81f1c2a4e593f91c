"""How often the customer's measured sentiment change has the direction a call was scripted
with (samples/sentiment_calls.py: angry to thankful, calm to angry, even), measured twice in
the same run: on the script's own words laid on the call's timeline (the lexicon alone), and on
the transcript the embedded Whisper makes of the synthesised audio (the lexicon after ASR).

    .venv/bin/python bench/sentiment.py [--json FILE]

No timing: sentiment costs no model (VADER scores a segment in well under a millisecond).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import load_settings  # noqa: E402
from pipeline.processing.procedure import CallProcessor  # noqa: E402
from pipeline.speech.metrics import compute_metrics  # noqa: E402
from pipeline.speech.segments import Segment  # noqa: E402
from samples.sentiment_calls import CALLS, RATE, SentimentCall, direction_of, write_calls  # noqa: E402
from samples.synth import lay_out  # noqa: E402


@dataclass(frozen=True)
class Measured:
    name: str
    scripted: str
    script_change: float | None  # customer sentiment last - first quarter, on the script's words
    transcript_change: float | None  # the same on the Whisper transcript
    language: str | None  # what the transcript was decided to be in

    @property
    def script_right(self) -> bool:
        return direction_of(self.script_change) == self.scripted

    @property
    def transcript_right(self) -> bool:
        return direction_of(self.transcript_change) == self.scripted


def script_segments(call: SentimentCall) -> list[Segment]:
    """The script's turns as segments, timed where the synthesised voice is audible."""
    _, timing = lay_out(call.turns, RATE)
    return [Segment(speaker, 0 if speaker == "agent" else 1, start, end, turn.text, 0.0, 0.0, 1.0)
            for (speaker, start, end), turn in zip(timing, call.turns)]


def measure(folder: Path) -> list[Measured]:
    processor = CallProcessor(load_settings({}))
    results = []
    for call, path in zip(CALLS, write_calls(folder)):
        transcription = processor.transcribe_file(path)
        segments = transcription.transcript.segments if transcription.transcript else ()
        heard = compute_metrics(segments, language=transcription.language)
        scripted = compute_metrics(script_segments(call), language="en")
        results.append(Measured(
            call.name, call.direction,
            scripted.customer.sentiment_change if scripted.customer else None,
            heard.customer.sentiment_change if heard.customer else None, transcription.language))
        print(f"  measured {call.name}", file=sys.stderr)
    return results


def table(results: list[Measured]) -> str:
    def change(value: float | None) -> str:
        return "not measured" if value is None else f"{value:+.2f} ({direction_of(value)})"

    lines = ["| call | scripted | on the script's words | on the Whisper transcript |", "|---|---|---|---|"]
    lines += [f"| {r.name} | {r.scripted} | {change(r.script_change)} | {change(r.transcript_change)} |"
              for r in results]
    n = len(results)
    lines.append(f"| direction accuracy | | {sum(r.script_right for r in results)}/{n} "
                 f"| {sum(r.transcript_right for r in results)}/{n} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callscore-sentiment-") as folder:
        results = measure(Path(folder))
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2) + "\n")


if __name__ == "__main__":
    main()
