"""Long labelled calls (4 to 8 minutes, the length of real support calls) for the speed benchmark.

    python samples/long_calls.py [OUT_DIR]

Each is a labelled call of ``samples/labelled.py`` with a long stretch of account work put in
before its closing turns: the agent goes through the customer's meter readings month by month
and the customer answers. That stretch greets nobody, verifies nothing, shows no empathy, sets
no next step, recaps nothing and is polite, so every label of the call it extends still holds
(``long_labels``): the calls are as labelled as the short ones. Written into OUT_DIR (default
``samples/long/``, not tracked) with sidecars and a ``labels.csv``; ``bench/speed.py`` writes
them on first use.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.speech.redact import redact_text  # noqa: E402
from samples.labelled import (  # noqa: E402
    BITRATE, CALLS, LABELS_FILE, SAMPLE_RATE, LabelledCall, agent, customer, default_scorecard, label_rows,
    write_labels,
)
from samples.synth import add_line_noise, lay_out, write_audio  # noqa: E402

DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "long"
CLOSING_TURNS = 4  # the last turns of a call (recap, anything else, thanks, goodbye) stay last

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
USAGE = ("two hundred and ten", "one hundred and eighty", "two hundred and forty", "three hundred",
         "one hundred and ninety", "two hundred and sixty", "two hundred and twenty", "one hundred and seventy",
         "two hundred and five")
# Said in turn, so that no half minute of the agent's channel repeats itself: Whisper re-decodes a
# window whose text compresses too well (its temperature fallback), which real calls rarely cause.
AGENT_WORK = (
    "Next is {month} {year}. The meter shows about {usage} units used that month.",
    "For {month} {year} we had an actual reading from you, and the bill came to roughly {usage} units.",
    "Moving on to {month}. That bill was estimated, because no reading reached us in time.",
    "In {month} {year} your direct debit went out on the usual date, and the usage was around {usage} units.",
    "Then {month}. I can see the standing charge changed slightly that month after the price review.",
    "Looking at {month} {year}, the smart meter sent readings every day, so that figure should be exact.",
    "And {month}: about {usage} units, with a small credit carried over from the month before.",
)
REPLIES = (
    "Right, that sounds about normal for that time of year.",
    "Okay. We had the heating on a lot that month.",
    "That one seems a bit high to me, but go on.",
    "Yes, I think I was away for part of that month.",
    "Fine, I remember that bill, it looked right.",
    "Okay, and was that an actual reading or an estimate?",
    "I see. My neighbour said theirs went up around then too.",
    "Mm-hm, I'm writing these down as you go.",
    "Was that the month the engineer came round?",
)


@dataclass(frozen=True)
class LongCall:
    """A labelled call extended by ``months`` of reading-by-reading account work."""

    base: LabelledCall
    months: int

    @property
    def name(self) -> str:
        return self.base.name.replace("lab-", "long-", 1)

    def turns(self) -> tuple:
        work = []
        for index in range(self.months):
            month, year = MONTHS[index % 12], "last year" if index < 12 else "the year before"
            line = AGENT_WORK[index % len(AGENT_WORK)]
            work.append(agent(line.format(month=month, year=year, usage=USAGE[index % len(USAGE)])))
            work.append(customer(REPLIES[index % len(REPLIES)]))
        turns = self.base.turns
        cut = len(turns) - CLOSING_TURNS
        while cut > 0 and turns[cut - 1].speaker != "customer":  # the work starts after the customer spoke
            cut -= 1
        return turns[:cut] + tuple(work) + turns[cut:]


# Extended: calls whose identity was checked and whose issue was understood before the closing
# turns (labels yes), so account work put there changes neither label.
LONG_CALLS = (
    LongCall(CALLS[0], 13),  # lab-01 billing, excellent
    LongCall(CALLS[3], 18),  # lab-04 complaint, excellent
    LongCall(CALLS[4], 27),  # lab-05 meter reading, mixed
    LongCall(CALLS[6], 32),  # lab-07 cancellation, mixed
)


def check_work_is_neutral() -> None:
    """The inserted turns must not be changed by redaction (so the audio says what is stored)."""
    for call in LONG_CALLS:
        for turn in call.turns():
            if turn not in call.base.turns and redact_text(turn.text).text != turn.text:
                raise ValueError(f"{call.name}: redaction would change {turn.text!r}")


def generate(out_dir: Path, calls: Sequence[LongCall] = LONG_CALLS) -> dict[str, float]:
    """Write each call (stereo MP3 and sidecar) and labels.csv into ``out_dir``: name -> seconds."""
    check_work_is_neutral()
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds = {}
    for call in calls:
        channels, _ = lay_out(call.turns(), SAMPLE_RATE)
        path = out_dir / call.name
        write_audio(path, add_line_noise(channels, seed=call.base.number), SAMPLE_RATE, bitrate=BITRATE)
        path.with_suffix(".json").write_text(json.dumps(call.base.sidecar, indent=2) + "\n", encoding="utf-8")
        seconds[call.name] = channels.shape[1] / SAMPLE_RATE
        print(f"{path}: {seconds[call.name]:.1f} s", file=sys.stderr)
    rows = label_rows([call.base for call in calls], default_scorecard())
    names = {call.base.name: call.name for call in calls}
    write_labels(out_dir / LABELS_FILE, [(names[recording], criterion, label) for recording, criterion, label in rows])
    return seconds


def ensure_long_calls(out_dir: Path = DEFAULT_OUT_DIR) -> None:
    """Write the long calls into ``out_dir`` unless all are there."""
    if not all((out_dir / call.name).is_file() for call in LONG_CALLS):
        print(f"writing {len(LONG_CALLS)} long calls into {out_dir} (espeak-ng)", file=sys.stderr)
        generate(out_dir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the long labelled calls, their sidecars and labels.csv.")
    parser.add_argument("out_dir", nargs="?", type=Path, default=DEFAULT_OUT_DIR, help="output folder")
    args = parser.parse_args(argv)
    seconds = generate(args.out_dir)
    print(f"{len(seconds)} calls, {sum(seconds.values()) / 60:.1f} min of audio in {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
