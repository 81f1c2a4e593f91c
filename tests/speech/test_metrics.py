"""Conversation metrics: exact arithmetic on hand-built segments, and the whole chain (audio ->
tiny.en -> segments -> metrics) on synthesised calls whose true timing is known to the sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.intake.audio import decode
from pipeline.speech.metrics import CallMetrics, compute_metrics, longest_monologue, merge, subtract
from pipeline.models.choice import embedded_whisper_model
from pipeline.speech.segments import Segment
from pipeline.speech.transcribe import Transcriber
from samples.synth import Turn, add_line_noise, lay_out, write_audio


def seg(speaker: str, start: float, end: float, text: str = "one two three") -> Segment:
    channel = {"agent": 0, "customer": 1}.get(speaker, 0)
    return Segment(speaker, channel, start, end, text, -0.2, 0.01, 1.2)


# -- arithmetic on known segments -------------------------------------------------------------


def test_talk_ratio_non_talk_and_duration() -> None:
    m = compute_metrics([
        seg("agent", 1.0, 5.0),
        seg("customer", 5.5, 7.5),
        seg("agent", 17.5, 21.0),  # a 10 s hold before this
        seg("customer", 22.0, 25.0),
    ])
    assert m is not None and m.speaker_separated
    assert m.conversation_s == 24.0
    assert m.agent.talk_s == 7.5 and m.agent.talk_ratio == round(7.5 / 24, 4)
    assert m.customer.talk_s == 5.0
    assert m.non_talk_s == 10.0 and m.silences == 1  # 0.5 s and 1 s gaps are not non-talk
    assert m.non_talk_ratio == round(10 / 24, 4)
    assert m.longest_silence_s == 10.0


def test_interruptions_count_only_overlaps_of_at_least_0_3_s() -> None:
    m = compute_metrics([
        seg("agent", 0.0, 10.0),
        seg("customer", 8.0, 12.0),  # starts 2 s before the agent stops: interruption, 2 s
        seg("agent", 11.8, 14.0),  # 0.2 s over the customer: not an interruption
        seg("customer", 20.0, 21.0),
        seg("agent", 20.5, 22.0),  # 0.5 s over: interruption
    ])
    assert (m.customer.interruptions, m.customer.interruption_s) == (1, 2.0)
    assert (m.agent.interruptions, m.agent.interruption_s) == (1, 0.5)
    assert m.overlap_s == pytest.approx(2.0 + 0.2 + 0.5)


def test_simultaneous_starts_are_nobodys_interruption() -> None:
    m = compute_metrics([seg("agent", 1.0, 3.0), seg("customer", 1.0, 2.0)])
    assert m.agent.interruptions == 0 and m.customer.interruptions == 0


def test_words_per_minute_uses_the_speakers_own_talk_time() -> None:
    m = compute_metrics([
        seg("agent", 0.0, 30.0, " ".join(["word"] * 75)),
        seg("customer", 40.0, 52.0, "yes - that is right, thanks"),  # '-' is not a word
    ])
    assert m.agent.words == 75 and m.agent.words_per_minute == 150.0
    assert m.customer.words == 5 and m.customer.words_per_minute == 25.0
    assert m.words == 80 and m.words_per_minute == round(80 / (42 / 60), 1)


def test_longest_monologue_ends_when_the_other_speaks_or_at_non_talk() -> None:
    m = compute_metrics([
        seg("agent", 0.0, 10.0),
        seg("agent", 11.0, 20.0),  # 1 s pause, customer silent: same monologue (0-20)
        seg("customer", 20.5, 21.0),
        seg("agent", 21.5, 25.0),
        seg("agent", 29.0, 31.0),  # after a 4 s silence: a new stretch
    ])
    assert m.agent.longest_monologue_s == 20.0
    assert m.customer.longest_monologue_s == 0.5
    assert m.longest_monologue_s == 20.0
    # talking over the speaker cuts the monologue too
    assert longest_monologue([(0.0, 10.0)], [(4.0, 5.0)]) == 5.0


def test_mono_call_keeps_only_what_it_can_honestly_measure() -> None:
    m = compute_metrics([seg("unknown", 2.0, 6.0), seg("unknown", 12.0, 14.0)])
    assert not m.speaker_separated and m.agent is None and m.customer is None
    assert m.conversation_s == 12.0 and m.talk_s == 6.0 and m.non_talk_s == 6.0
    assert m.longest_monologue_s is None


def test_no_segments_means_no_metrics() -> None:
    assert compute_metrics([]) is None


def test_interval_helpers() -> None:
    assert merge([(3, 4), (0, 1), (0.5, 2), (2, 2.5)]) == [(0, 2.5), (3, 4)]
    assert subtract([(0, 10)], [(2, 3), (5, 6)]) == [(0, 2), (3, 5), (6, 10)]


# -- the whole chain on audio with known timing ----------------------------------------------

# Tolerances, against the true figures of each synthesised call. Whisper's word timestamps are
# the limit: each turn's edges come out 0.1-0.4 s wide of the truth, so figures that add up many
# turns get relative tolerances. Measured worst cases (docs/warehouse.md "Conversation metrics") are about
# two thirds of these.
EDGE_TOLERANCE_S = 0.6  # conversation duration, non-talk time (measured worst: 0.38 s)
TALK_TOLERANCE = 0.12  # talk time, relative (measured worst: 9.6%)
RATIO_TOLERANCE = 0.05  # talk and non-talk ratios (measured worst: 0.029)
OVERLAP_TOLERANCE_S = 0.5  # interruption time (measured worst: 0.21 s)
MONOLOGUE_TOLERANCE_S = 1.25  # longest monologue (measured worst: 0.98 s)
RATE_TOLERANCE = 0.15  # words per minute, relative; tiny.en's word errors count here (worst: 11.9%)


HOLD_CALL = [
    Turn("agent", "Thank you for calling Northwind Energy, this is Sam. How can I help?"),
    Turn("customer", "Hello, I would like to check the balance on my account please."),
    Turn("agent", "Of course. Let me pull that up for you, one moment while I put you on hold."),
    Turn("agent", "Thank you for holding. Your balance is forty two pounds and ten pence.", gap_s=10.0),
    Turn("customer", "Great, thank you very much for your help."),
    Turn("agent", "You are welcome. Have a good day, goodbye."),
]

TALK_OVER_CALL = [
    Turn("agent", "Good afternoon, Northwind Energy, you are speaking with Alex. What can I do for you today?"),
    Turn("customer", "My heating has been broken for a week and nobody has come out to fix it."),
    Turn("agent", "I am sorry about that. I can see an engineer visit was booked for last Tuesday, but the notes say"),
    Turn("customer", "Nobody came on Tuesday. I waited in all day and I want this sorted today.", gap_s=-1.5),
    Turn("agent", "I understand. I will book the first slot tomorrow morning and call you to confirm."),
]


def truth(turns: list[Turn]) -> tuple[CallMetrics, np.ndarray]:
    """The call's true metrics (from where each turn was placed) and its 2 x samples audio."""
    channels, timing = lay_out(turns, 16_000)
    true_segments = [seg(speaker, start, end, turn.text) for turn, (speaker, start, end) in zip(turns, timing)]
    return compute_metrics(true_segments), add_line_noise(channels)


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber(str(embedded_whisper_model()), device="auto")


def measured(path: Path, transcriber: Transcriber) -> CallMetrics:
    return compute_metrics(transcriber.transcribe(decode(path).channels))


def assert_close(got: CallMetrics, want: CallMetrics) -> None:
    assert got.conversation_s == pytest.approx(want.conversation_s, abs=EDGE_TOLERANCE_S)
    assert got.non_talk_s == pytest.approx(want.non_talk_s, abs=EDGE_TOLERANCE_S)
    assert got.talk_s == pytest.approx(want.talk_s, rel=TALK_TOLERANCE)
    assert got.non_talk_ratio == pytest.approx(want.non_talk_ratio, abs=RATIO_TOLERANCE)
    assert got.silences == want.silences
    for side in ("agent", "customer"):
        g, w = getattr(got, side), getattr(want, side)
        assert g.talk_s == pytest.approx(w.talk_s, rel=TALK_TOLERANCE), side
        assert g.talk_ratio == pytest.approx(w.talk_ratio, abs=RATIO_TOLERANCE), side
        assert g.words_per_minute == pytest.approx(w.words_per_minute, rel=RATE_TOLERANCE), side
        assert g.interruptions == w.interruptions, side
        assert g.interruption_s == pytest.approx(w.interruption_s, abs=OVERLAP_TOLERANCE_S), side
        assert g.longest_monologue_s == pytest.approx(w.longest_monologue_s, abs=MONOLOGUE_TOLERANCE_S), side


@pytest.mark.slow
def test_a_10_second_hold_is_non_talk_time(tmp_path: Path, transcriber: Transcriber) -> None:
    want, audio = truth(HOLD_CALL)
    assert want.silences == 1 and 10.0 <= want.non_talk_s < 10.5
    path = tmp_path / "hold.mp3"
    write_audio(path, audio, 16_000)
    got = measured(path, transcriber)
    assert_close(got, want)


@pytest.mark.slow
def test_customer_talking_over_the_agent_is_their_interruption(tmp_path: Path, transcriber: Transcriber) -> None:
    want, audio = truth(TALK_OVER_CALL)
    assert want.customer.interruptions == 1 and want.agent.interruptions == 0
    assert want.customer.interruption_s == pytest.approx(1.5, abs=0.4)  # the agent's clip ends in a quiet tail
    path = tmp_path / "talk-over.mp3"
    write_audio(path, audio, 16_000)
    got = measured(path, transcriber)
    assert_close(got, want)


@pytest.mark.slow
def test_mono_recording_of_a_hold_call(tmp_path: Path, transcriber: Transcriber) -> None:
    want, audio = truth(HOLD_CALL)
    path = tmp_path / "hold-mono.mp3"
    write_audio(path, audio.sum(axis=0, keepdims=True), 16_000)
    got = measured(path, transcriber)
    assert not got.speaker_separated and got.agent is None and got.customer is None
    assert got.conversation_s == pytest.approx(want.conversation_s, abs=EDGE_TOLERANCE_S)
    assert got.non_talk_s == pytest.approx(want.non_talk_s, abs=EDGE_TOLERANCE_S)
    assert got.words_per_minute == pytest.approx(want.words_per_minute, rel=RATE_TOLERANCE)


def test_speaking_rate_is_not_counted_in_languages_written_without_spaces() -> None:
    japanese = [Segment("unknown", -1, 0.0, 6.0, "お電話ありがとうございます。ご用件をお伺いします。", -0.2, 0.01, 1.1)]
    assert compute_metrics(japanese, language="ja").words_per_minute is None  # was 20.0: two "words"
    english = [Segment("unknown", -1, 0.0, 6.0, "thank you for calling how can I help", -0.2, 0.01, 1.1)]
    assert compute_metrics(english, language="en").words_per_minute == 80.0
