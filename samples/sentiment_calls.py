"""Short scripted calls with a known sentiment turn and a known reason and outcome, made with
espeak-ng: the customer starts angry and ends thankful ("happier"), starts calm and ends angry
("unhappier"), or stays even ("even"). They measure how often the measured sentiment change of
the customer has the scripted direction (``bench/sentiment.py``, and the end-to-end test).

``python -m samples.sentiment_calls DIR`` writes them to DIR as stereo MP3s (agent left,
customer right), each with a sidecar naming its agent.

The customer speaks in the first and the last quarter of each call (the turns that carry the
turn of mood), so both figures are measured; their words are written the way a caller talks,
not the way a lexicon would list them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from samples.synth import Turn, add_line_noise, lay_out, write_audio

RATE = 16_000  # Hz of the written recordings
EVEN_BAND = 0.05  # a change within +-this is "even" (VADER's neutral band, kpi_agent_sentiment's rule)
Direction = Literal["happier", "unhappier", "even"]


@dataclass(frozen=True)
class SentimentCall:
    name: str  # file name
    direction: Direction  # how the customer's mood moves from the first quarter to the last
    reason: str  # the default scorecard's `reason` option the call is about
    outcome: str  # and its `outcome` option
    agent: str
    turns: tuple[Turn, ...]


def _a(text: str) -> Turn:
    return Turn("agent", text)


def _c(text: str) -> Turn:
    return Turn("customer", text)


CALLS: tuple[SentimentCall, ...] = (
    SentimentCall("mood-01-billing-happier.mp3", "happier", "billing", "resolved", "sam", (
        _a("Northwind Energy, Sam speaking."),
        _c("This is ridiculous. You charged me twice this month and I am really angry about it."),
        _a("I can see the second payment. I have refunded it now, it will reach your bank in three days."),
        _c("Okay."),
        _a("And I have fixed the fault, so it will not happen again."),
        _c("Thank you so much, that is brilliant, you have been a great help."),
    )),
    SentimentCall("mood-02-outage-unhappier.mp3", "unhappier", "outage", "unresolved", "alex", (
        _a("Northwind, Alex here."),
        _c("Hi, thanks. My internet is down, could you check it please?"),
        _a("I cannot see anything on the network. I cannot say when it will work."),
        _c("Right."),
        _a("You will have to wait and see."),
        _c("That is useless. I am furious, this is the worst service I have ever had."),
    )),
    SentimentCall("mood-03-move-happier.mp3", "happier", "move", "resolved", "morgan", (
        _a("Northwind Energy, Morgan speaking."),
        _c("I am so stressed and upset. I move house on Friday and nobody has helped me at all."),
        _a("I am sorry. I have moved your account to the new address from Friday."),
        _c("Okay."),
        _a("Send us a meter reading on the day and that is all you need to do."),
        _c("Wonderful, thank you, that is a huge relief. I really appreciate it."),
    )),
    SentimentCall("mood-04-cancel-even.mp3", "even", "cancel", "resolved", "chris", (
        _a("Northwind Energy, Chris speaking."),
        _c("I need to close my account at the end of the month."),
        _a("I have set it to close on the thirtieth of this month, at the address we hold for you."),
        _c("Right."),
        _a("Your final bill will come by email within two weeks of that date, and any credit goes back to your bank."),
        _c("I see, that is everything for today."),
    )),
    SentimentCall("mood-05-billing-unhappier.mp3", "unhappier", "billing", "escalated", "priya", (
        _a("Northwind Energy, Priya speaking."),
        _c("Hello, good morning. I have a quick question about my bill, please."),
        _a("Your bill has gone up by forty pounds. I cannot change it, I will pass it to my manager."),
        _c("What?"),
        _a("Someone may call you next week."),
        _c("That is terrible. I am angry and disappointed, this is awful."),
    )),
    SentimentCall("mood-06-technical-happier.mp3", "happier", "technical", "resolved", "sam", (
        _a("Northwind Energy, Sam speaking."),
        _c("Your app is broken, it keeps crashing, and I am fed up and annoyed with it."),
        _a("There was a fault in the last update. Please install the new version we released today."),
        _c("Okay, one moment."),
        _a("It should open now."),
        _c("It works now, great, thank you very much, I am happy with that."),
    )),
)


def write_calls(out_dir: Path) -> list[Path]:
    """Write every call and its sidecar into ``out_dir``; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, call in enumerate(CALLS, start=1):
        channels, _ = lay_out(call.turns, RATE)
        path = out_dir / call.name
        write_audio(path, add_line_noise(channels, seed=number), RATE)
        path.with_suffix(".json").write_text(json.dumps({"agent": call.agent, "team": "support"}) + "\n",
                                             encoding="utf-8")
        paths.append(path)
    return paths


def direction_of(change: float | None) -> Direction | None:
    """The direction a measured change (last - first, -2..2) reads as; None when not measured."""
    if change is None:
        return None
    return "happier" if change > EVEN_BAND else "unhappier" if change < -EVEN_BAND else "even"


if __name__ == "__main__":
    for written in write_calls(Path(sys.argv[1] if len(sys.argv) > 1 else "samples/sentiment")):
        print(written)
