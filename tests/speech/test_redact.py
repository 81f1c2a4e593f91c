"""PII redaction: each kind written and spoken (as Whisper writes speech), numbers that span
segments, idempotence, kind selection, counts, and sentences that must come back unchanged."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from pipeline.speech.redact import (
    JOIN_MAX_GAP_S,
    PII_KINDS,
    PLACEHOLDERS,
    RedactedSegments,
    RedactedText,
    redact_segments,
    redact_text,
)
from pipeline.speech.segments import Segment

_DIGITS_OR_DIGIT_WORDS = re.compile(r"\d|\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b", re.I)


def seg(speaker: str, start: float, end: float, text: str) -> Segment:
    channel = {"agent": 0, "customer": 1}.get(speaker, 0)
    return Segment(speaker, channel, start, end, text, -0.2, 0.01, 1.2)


CARDS = [
    ("4111 1111 1111 1111", "[CARD]"),
    ("4111-1111-1111-1111", "[CARD]"),
    ("my card is 4111111111111111.", "my card is [CARD]."),
    ("sure, it's 5555 5555 5555 4444, expiry next year", "sure, it's [CARD], expiry next year"),
    ("3782 822463 10005", "[CARD]"),  # 15-digit test card in 4-6-5 groups
    ("4,111,111,111,111,111", "[CARD]"),  # read fast, Whisper writes it as a figure
    ("four one one one one one one one one one one one one one one one", "[CARD]"),
    ("Four one one one, one one one one, one one one one, one one one one.", "[CARD]."),
    ("five five five five. Five five five five. Five five five five. Four four four four", "[CARD]"),
    ("double five double five, triple five five, five five five five, four four four four", "[CARD]"),
    ("four oh oh oh, zero zero zero zero, o o o o, nought nought nought two", "[CARD]"),
    ("it's 4111, one one one one, one one one one, 1111", "it's [CARD]"),
    ("four-one-one-one-one-one-one-one-one-one-one-one-one-one-one-one", "[CARD]"),
]
LUHN_INVALID = [
    ("4111 1111 1111 1112", "[NUMBER]"),
    ("4111111111111112", "[NUMBER]"),
    ("four one one one, one one one one, one one one one, one one one two", "[NUMBER]"),
]
EMAILS = [
    ("email me at jane.doe@example.com please", "email me at [EMAIL] please"),
    ("it's JANE.DOE@Example.COM.", "it's [EMAIL]."),
    ("it's jane dot doe at example dot com", "it's [EMAIL]"),
    ("jane doe at gmail dot com", "jane [EMAIL]"),
    ("j underscore smith at mail dot co dot uk.", "[EMAIL]."),
    ("bob123 at example.com, thanks", "[EMAIL], thanks"),
    ("jane.doe at example dot org", "[EMAIL]"),
]
PHONES = [
    ("+44 20 7946 0958", "[PHONE]"),
    ("call (555) 123-4567 tomorrow", "call [PHONE] tomorrow"),
    ("+1 (555) 123-4567", "[PHONE]"),
    ("it's 555-123-4567.", "it's [PHONE]."),
    ("07700 900123", "[PHONE]"),
    ("it's 020 7946 0958", "it's [PHONE]"),
    ("five five five, one two three, four five six seven", "[PHONE]"),
    ("oh seven seven double oh, nine double oh one two three", "[PHONE]"),
    ("plus four four seven seven double oh nine double oh one two three", "[PHONE]"),
    ("call me on 07700900123", "call me on [PHONE]"),  # bare run, but a phone cue
    ("my phone number is 5551234", "my phone number is [PHONE]"),
    ("My number's 0770 0900 123.", "My number's [PHONE]."),
]
NUMBERS = [
    ("12345678", "[NUMBER]"),  # bare run of 8 digits, no phone cue
    ("123456", "[NUMBER]"),
    ("my account number is 12345678", "my account number is [NUMBER]"),
    ("the order is 5551234567", "the order is [NUMBER]"),  # number cue beats phone grouping
    ("policy number one two three four five six seven eight", "policy number [NUMBER]"),
    ("one two three four five six", "[NUMBER]"),  # 6 spoken digits: too short for a phone
    ("reference 123 456 789, thanks", "reference [NUMBER], thanks"),
    ("ref AB123456", "ref [NUMBER]"),
    ("it's 1234 5678 9012 3456 7890", "it's [NUMBER]"),  # too long for a card or a phone
]
UNCHANGED = [
    "The bill was $1,250.00 this month.",
    "That's 1,250 pounds in total.",
    "twelve hundred fifty dollars",
    "It came to 125000 dollars.",
    "I paid 99.99 for it, about 50%.",
    "I'll call you back at 10:30.",
    "It was due on 2026-11-24.",
    "It was due on 24/11/2026.",
    "It was on November 24, 2026.",
    "We moved here in 2024.",
    "I've been with you since 2019, 2020 maybe.",
    "I have 3 kids.",
    "I'm in room 101.",
    "The last four digits are 1234.",
    "the last four digits are one two three four",
    "It's 12345, I think.",
    "I was at home all day.",
    "Oh I see, thank you.",
    "One of them was broken.",
    "At one point it just stopped.",
    "twenty one, twenty two, twenty three",
    "at ten o'clock, or one o'clock",
    "Can you double check it?",
    "I'm at gmail dot com",
    "I'm on the 3rd floor from 10am.",
    "from 9 to 5, 7 days a week",
    "one or two times, maybe three",
    "Oh, oh, one moment please.",
]
ALL_REDACTED = CARDS + LUHN_INVALID + EMAILS + PHONES + NUMBERS


def test_interface_constants() -> None:
    assert PII_KINDS == ("card", "email", "phone", "number")
    assert PLACEHOLDERS == {"card": "[CARD]", "email": "[EMAIL]", "phone": "[PHONE]", "number": "[NUMBER]"}


@pytest.mark.parametrize(("text", "expected"), CARDS)
def test_cards_written_and_spoken(text: str, expected: str) -> None:
    assert redact_text(text) == RedactedText(expected, {"card": 1})


@pytest.mark.parametrize(("text", "expected"), LUHN_INVALID)
def test_a_luhn_invalid_card_length_run_is_a_number(text: str, expected: str) -> None:
    assert redact_text(text) == RedactedText(expected, {"number": 1})


@pytest.mark.parametrize(("text", "expected"), EMAILS)
def test_emails_written_and_spoken(text: str, expected: str) -> None:
    assert redact_text(text) == RedactedText(expected, {"email": 1})


@pytest.mark.parametrize(("text", "expected"), PHONES)
def test_phone_numbers(text: str, expected: str) -> None:
    assert redact_text(text) == RedactedText(expected, {"phone": 1})


@pytest.mark.parametrize(("text", "expected"), NUMBERS)
def test_other_long_numbers(text: str, expected: str) -> None:
    assert redact_text(text) == RedactedText(expected, {"number": 1})


@pytest.mark.parametrize("text", UNCHANGED)
def test_no_false_positives(text: str) -> None:
    assert redact_text(text) == RedactedText(text, {})


@pytest.mark.parametrize("text", [text for text, _ in ALL_REDACTED] + UNCHANGED)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once.text) == RedactedText(once.text, {})


def test_counts_every_item_by_kind() -> None:
    text = (
        "Card 4111 1111 1111 1111, no wait, 5555 5555 5555 4444. Email jane dot doe at example dot com, "
        "phone 555-123-4567, account 98765432."
    )
    result = redact_text(text)
    assert result.text == (
        "Card [CARD], no wait, [CARD]. Email [EMAIL], phone [PHONE], account [NUMBER]."
    )
    assert result.counts == {"card": 2, "email": 1, "phone": 1, "number": 1}


@pytest.mark.parametrize(
    ("kinds", "expected", "counts"),
    [
        (("email",), "4111 1111 1111 1111 or [EMAIL], 555-123-4567", {"email": 1}),
        (("card", "phone"), "[CARD] or jane@example.com, [PHONE]", {"card": 1, "phone": 1}),
        ("card", "[CARD] or jane@example.com, 555-123-4567", {"card": 1}),
        # a card is a card whatever is selected: never reported as a number
        (("number",), "4111 1111 1111 1111 or jane@example.com, 555-123-4567", {}),
        ((), "4111 1111 1111 1111 or jane@example.com, 555-123-4567", {}),
    ],
)
def test_kinds_selects_what_is_replaced(kinds, expected: str, counts: dict[str, int]) -> None:
    text = "4111 1111 1111 1111 or jane@example.com, 555-123-4567"
    assert redact_text(text, kinds=kinds) == RedactedText(expected, counts)


@pytest.mark.parametrize("kinds", [("card", "ssn"), ("Card",), "names"])
def test_unknown_kind_is_an_error_naming_it(kinds) -> None:
    bad = next(k for k in ((kinds,) if isinstance(kinds, str) else kinds) if k not in PII_KINDS)
    with pytest.raises(ValueError, match=repr(bad)):
        redact_text("hello", kinds=kinds)
    with pytest.raises(ValueError, match=repr(bad)):
        redact_segments([seg("agent", 0.0, 1.0, "hello")], kinds=kinds)


# -- segments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "rest", "kind"),
    [
        ("it's 4111 1111", ["1111 1111."], "card"),
        ("it's four one one one, one one one one,", ["one one one one,", "one one one one."], "card"),
        ("5555 5555", ["5555 4444"], "card"),
        ("my mobile is 07700", ["900123."], "phone"),
        ("it's jane dot doe at", ["example dot com."], "email"),
    ],
)
def test_an_item_spanning_segments_is_replaced_in_each_and_counted_once(
    first: str, rest: list[str], kind: str
) -> None:
    customer = [seg("customer", 3.0, 5.0, first)]
    for i, text in enumerate(rest):
        customer.append(seg("customer", 6.5 + 3 * i, 8.0 + 3 * i, text))
    agent = [seg("agent", 5.2 + 3 * i, 5.5 + 3 * i, "mhm") for i in range(len(rest))]
    call = [customer[0]]
    for said, continued in zip(agent, customer[1:]):
        call += [said, continued]  # time order: the agent's "mhm" between the customer's parts

    result = redact_segments(call)

    assert isinstance(result, RedactedSegments)
    assert result.counts == {kind: 1}
    assert [s.speaker for s in result.segments] == [s.speaker for s in call]
    assert [s.start for s in result.segments] == [s.start for s in call]
    placeholder = PLACEHOLDERS[kind]
    out = [s for s in result.segments if s.speaker == "customer"]
    assert out[0].text.endswith(placeholder) and not _DIGITS_OR_DIGIT_WORDS.search(out[0].text)
    for continued in out[1:]:
        assert continued.text.rstrip(".") == placeholder
    assert all(s.text == "mhm" for s in result.segments if s.speaker == "agent")


def test_cross_segment_card_keeps_every_other_field_and_the_order() -> None:
    call = [
        seg("agent", 0.0, 2.5, "Can I take the card number?"),
        seg("customer", 3.0, 5.0, "Yes, it's 4111 1111"),
        seg("agent", 5.2, 5.5, "mhm"),
        seg("customer", 6.8, 9.0, "1111 1111, and that's it."),
        seg("agent", 9.5, 11.0, "Thank you, that's 4 digits I need again."),
    ]
    result = redact_segments(call)
    assert result.segments == (
        call[0],
        replace(call[1], text="Yes, it's [CARD]"),
        call[2],
        replace(call[3], text="[CARD], and that's it."),
        call[4],
    )
    assert result.counts == {"card": 1}


def test_speakers_are_not_joined_with_each_other() -> None:
    call = [seg("agent", 0.0, 2.0, "it's 4111 1111"), seg("customer", 2.5, 4.0, "1111 1111")]
    result = redact_segments(call)
    assert [s.text for s in result.segments] == ["it's [NUMBER]", "[NUMBER]"]
    assert result.counts == {"number": 2}


def test_segments_far_apart_in_time_are_not_joined() -> None:
    later = 5.0 + JOIN_MAX_GAP_S + 1.0
    call = [seg("customer", 3.0, 5.0, "room 101"), seg("customer", later, later + 2.0, "12345, yes")]
    assert redact_segments(call).segments == tuple(call)


def test_unknown_speaker_segments_are_joined_too() -> None:
    call = [
        seg("unknown", 0.0, 2.0, "four one one one, one one one one,"),
        seg("unknown", 3.5, 6.0, "one one one one, one one one one"),
    ]
    result = redact_segments(call)
    assert [s.text for s in result.segments] == ["[CARD]", "[CARD]"]
    assert result.counts == {"card": 1}


def test_redact_segments_is_idempotent_and_honours_kinds() -> None:
    call = [
        seg("customer", 0.0, 2.0, "my email is jane@example.com and the card"),
        seg("agent", 2.1, 2.4, "okay"),
        seg("customer", 2.5, 4.0, "is 4111 1111"),
        seg("customer", 5.5, 7.0, "1111 1111"),
    ]
    once = redact_segments(call)
    assert once.counts == {"card": 1, "email": 1}
    assert redact_segments(once.segments) == RedactedSegments(once.segments, {})

    only_email = redact_segments(call, kinds=["email"])
    assert [s.text for s in only_email.segments] == [
        "my email is [EMAIL] and the card", "okay", "is 4111 1111", "1111 1111",
    ]
    assert only_email.counts == {"email": 1}


def test_no_segments() -> None:
    assert redact_segments([]) == RedactedSegments((), {})


@pytest.mark.parametrize(("text", "language", "expected"), [
    # said on a real support call (issue #34): no "@", the address stored and repeated in a summary
    ("my email is www.beniamin.gmail.com", None, "my email is [EMAIL]"),
    ("my e-mail is beniamin dot gmail dot com thanks", None, "my e-mail is [EMAIL] thanks"),
    ("моя почта ivan.petrov.mail.ru", "ru", "моя почта [EMAIL]"),
    ("můj email je jana.novakova.seznam.cz", "cs", "můj email je [EMAIL]"),
    # a dotted name with no e-mail cue before it is a web address or a version: kept
    ("the tariffs are on www.northwind.co.uk", None, "the tariffs are on www.northwind.co.uk"),
    ("update the app to version 1.2.3 please", None, "update the app to version 1.2.3 please"),
])
def test_an_address_said_without_an_at_after_an_email_cue_is_masked(text: str, language: str | None,
                                                                    expected: str) -> None:
    assert redact_text(text, language=language).text == expected
