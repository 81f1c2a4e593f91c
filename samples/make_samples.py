"""Regenerate the bundled sample calls in samples/calls/ (needs espeak-ng: `make samples`).

Three calls to a fictional energy supplier: a good stereo call, a poor stereo call (no
identity check, rude, no next step) and a mono 8 kHz telephone call. Each has a sidecar.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from samples.synth import Turn, add_line_noise, lay_out, write_audio  # noqa: E402

CALLS_DIR = Path(__file__).resolve().parent / "calls"

GOOD_CALL = [
    Turn("agent", "Thank you for calling Northwind Energy, my name is Sam. How can I help you today?"),
    Turn("customer", "Hi Sam. I think my last bill is wrong. It is much higher than usual."),
    Turn("agent", "I am sorry to hear that, I understand how frustrating that is. Before I look at your account, "
                  "can you confirm your date of birth and postcode please?"),
    Turn("customer", "Sure. The fourth of May, nineteen eighty. The postcode is N1 4AB."),
    Turn("agent", "Thank you, you are verified. So your March bill is higher than you expected, is that right?"),
    Turn("customer", "Yes, it is almost double."),
    Turn("agent", "I can see the meter reading was estimated. I will send you a form to submit an actual reading, "
                  "and we will correct the bill within five working days."),
    Turn("customer", "Okay, that sounds good."),
    Turn("agent", "To recap, I am sending you a meter reading form today, and your corrected bill will arrive "
                  "within five working days. Is there anything else I can help you with?"),
    Turn("customer", "No, that is all. Thanks."),
    Turn("agent", "Thank you for calling Northwind Energy. Have a lovely day, goodbye."),
]

POOR_CALL = [
    Turn("agent", "Yeah. What is it?"),
    Turn("customer", "Hello, I want to ask why my internet keeps dropping every evening."),
    Turn("agent", "Your account number is four four seven one, and you owe forty pounds."),
    Turn("customer", "What? I am asking about my connection, not my balance."),
    Turn("agent", "Look, that is not my problem. You probably set the router up wrong.", gap_s=0.3),
    Turn("customer", "That is really rude. Can you help me or not?"),
    Turn("agent", "Just restart it. Bye."),
]

MONO_CALL = [
    Turn("agent", "Good morning, Northwind Energy, this is Priya speaking. How can I help?"),
    Turn("customer", "Hi, I have moved house and I need to update my address."),
    Turn("agent", "No problem. Can I take your full name and date of birth for security?"),
    Turn("customer", "Jordan Lee, twelfth of August, nineteen ninety."),
    Turn("agent", "Thanks Jordan, that is confirmed. What is the new address?"),
    Turn("customer", "Twenty two Park Road, Leeds."),
    Turn("agent", "I have updated it. You will get a confirmation email within the hour. "
                  "Is there anything else I can help with today?"),
    Turn("customer", "No thanks."),
    Turn("agent", "Thanks for calling, bye now."),
]

SIDECARS = {
    "billing-good.mp3": {"agent": "sam", "team": "billing", "call_id": "NW-1001", "started_at": "2026-11-16T09:12:00+00:00"},
    "broadband-poor.mp3": {"agent": "alex", "team": "broadband", "call_id": "NW-1002", "started_at": "2026-11-16T10:40:00+00:00", "queue": "tech"},
    "address-change-mono.mp3": {"agent": "priya", "team": "billing", "call_id": "NW-1003", "started_at": "2026-11-17T08:05:00+00:00"},
}


def main() -> None:
    CALLS_DIR.mkdir(parents=True, exist_ok=True)
    for name, turns, rate, mono in (
        ("billing-good.mp3", GOOD_CALL, 16_000, False),
        ("broadband-poor.mp3", POOR_CALL, 16_000, False),
        ("address-change-mono.mp3", MONO_CALL, 8_000, True),
    ):
        channels, timing = lay_out(turns, rate)
        if mono:
            channels = channels.sum(axis=0, keepdims=True)
        path = CALLS_DIR / name
        write_audio(path, add_line_noise(channels), rate, bitrate=32_000 if mono else 48_000)
        path.with_suffix(".json").write_text(json.dumps(SIDECARS[name], indent=2) + "\n")
        print(f"{path}: {timing[-1][2]:.1f} s, {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
