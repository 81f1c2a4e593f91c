"""How a call's channels and language travel through the procedure to the warehouse, with fake
models on real audio: dual-mono and silent sides stored and flagged, the agent channel chosen per
call, the call's language stored and deciding which number words are masked."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from pipeline.intake.audio import SAMPLE_RATE, AudioChunk
from pipeline.processing.batch import run_batch
from pipeline.processing.retries import RetryPolicy
from pipeline.speech.language import LanguageDecision
from pipeline.speech.segments import Segment
from pipeline.speech.transcribe import HeardCall
from pipeline.store.warehouse import Warehouse
from tests.conftest import rows, tone
from tests.fakes import FakeBackend, FakeTranscriber, fake_processor

NO_WAIT = RetryPolicy((0.0,))
AUDIBLE_RMS = 1e-3


class ChannelTranscriber(FakeTranscriber):
    """Hears one segment on each channel that carries sound: 'heard on channel N' (or ``said``,
    when given), so what is stored shows how the audio was split."""

    def __init__(self, said: str | None = None) -> None:
        super().__init__()
        self.said = said

    def transcribe_call(self, chunks: Iterable[AudioChunk], *, language: str | None = None) -> HeardCall:
        self.calls += 1
        self.languages.append(language)
        heard = []
        for chunk in chunks:
            for channel in chunk.channels:
                if channel.samples.size and float(np.sqrt(np.mean(channel.samples ** 2))) > AUDIBLE_RMS:
                    text = self.said or f"heard on channel {channel.channel}"
                    heard.append(Segment(channel.speaker, channel.channel, 0.5, 2.5, text, -0.2, 0.01, 1.1))
        return HeardCall(heard, LanguageDecision(language or "en", None, "given" if language else "model"))


def _stereo(left_hz: int | None, right_hz: int | None, seconds: float = 3.0) -> np.ndarray:
    audio = np.zeros((2, int(seconds * SAMPLE_RATE)), dtype=np.float32)
    for row, hz in enumerate((left_hz, right_hz)):
        if hz:
            audio[row] = tone(seconds, hz)
    return audio


def _stored(db: Path) -> list[tuple]:
    return rows(db, "SELECT r.file_name, r.channel_layout, s.speaker, s.channel, s.text FROM segments AS s"
                    " JOIN recordings AS r USING (recording_id) ORDER BY r.file_name, s.channel")


def test_dual_mono_and_silent_sides_are_stored_once_and_flagged(write_call, card: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    voice = tone(3.0, 300)
    write_call("inbox/dual-mono.mp3", np.stack([voice, voice]))
    write_call("inbox/silent-agent.mp3", _stereo(None, 500))
    write_call("inbox/stereo.mp3", _stereo(300, 500))
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        summary = run_batch([inbox], fake_processor(db, card, transcriber=ChannelTranscriber()), warehouse,
                            retry=NO_WAIT)
    assert {o.path.name: o.flags for o in summary.outcomes} == {
        "dual-mono.mp3": ("dual_mono",), "silent-agent.mp3": ("silent_agent",), "stereo.mp3": ()}
    assert _stored(db) == [
        ("dual-mono.mp3", "dual_mono", "unknown", -1, "heard on channel -1"),  # transcribed once
        ("silent-agent.mp3", "silent_agent", "unknown", 1, "heard on channel 1"),  # not the customer's alone
        ("stereo.mp3", "stereo", "agent", 0, "heard on channel 0"),
        ("stereo.mp3", "stereo", "customer", 1, "heard on channel 1"),
    ]
    assert sorted(rows(db, "SELECT file_name, channel_layout, agent_talk_ratio IS NULL FROM kpi_calls")) == [
        ("dual-mono.mp3", "dual_mono", True), ("silent-agent.mp3", "silent_agent", True), ("stereo.mp3", "stereo", False)]


def test_a_sidecar_agent_channel_swaps_only_its_call(write_call, card: Path, tmp_path: Path) -> None:
    write_call("inbox/as-usual.mp3", _stereo(300, 500))
    write_call("inbox/swapped.mp3", _stereo(310, 510), sidecar={"agent_channel": "right"})
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        run_batch([tmp_path / "inbox"], fake_processor(db, card, transcriber=ChannelTranscriber()), warehouse,
                  retry=NO_WAIT)
    assert rows(db, "SELECT r.file_name, s.speaker, s.channel FROM segments AS s JOIN recordings AS r"
                    " USING (recording_id) ORDER BY 1, 2") == [
        ("as-usual.mp3", "agent", 0), ("as-usual.mp3", "customer", 1),
        ("swapped.mp3", "agent", 1), ("swapped.mp3", "customer", 0)]


def test_a_folder_default_agent_channel_applies_to_the_calls_under_it(write_call, card: Path, tmp_path: Path) -> None:
    write_call("inbox/queue-a/call.mp3", _stereo(300, 500))
    write_call("inbox/queue-b/call.mp3", _stereo(310, 510))
    db = tmp_path / "w.duckdb"
    processor = fake_processor(db, card, transcriber=ChannelTranscriber())
    processor.settings = processor.settings.model_copy(
        update={"agent_channel_by_folder": {str(tmp_path / "inbox" / "queue-b"): "right"}})
    with Warehouse.open(db) as warehouse:
        run_batch([tmp_path / "inbox"], processor, warehouse, retry=NO_WAIT)
    assert rows(db, "SELECT r.path LIKE '%queue-b%', s.channel FROM segments AS s JOIN recordings AS r"
                    " USING (recording_id) WHERE s.speaker = 'agent' ORDER BY 1") == [(False, 0), (True, 1)]


RUSSIAN_CARD = "Номер карты четыре пять три девять, один четыре восемь восемь, ноль три четыре три, шесть четыре шесть семь."


def test_the_call_language_is_stored_and_decides_which_number_words_are_masked(
        write_call, card: Path, tmp_path: Path) -> None:
    write_call("inbox/russian.mp3", _stereo(300, 500), sidecar={"language": "ru"})
    write_call("inbox/unknown.mp3", _stereo(310, 510))
    db, backend = tmp_path / "w.duckdb", FakeBackend()
    transcriber = ChannelTranscriber(said=RUSSIAN_CARD)
    with Warehouse.open(db) as warehouse:
        run_batch([tmp_path / "inbox"], fake_processor(db, card, backend=backend, transcriber=transcriber), warehouse,
                  retry=NO_WAIT)
    assert sorted(transcriber.languages, key=str) == [None, "ru"]
    stored = dict(rows(db, "SELECT r.file_name, list(s.text ORDER BY s.channel) FROM segments AS s JOIN recordings"
                           " AS r USING (recording_id) GROUP BY 1"))
    assert stored["russian.mp3"] == ["Номер карты [CARD].", "Номер карты [CARD]."]
    assert stored["unknown.mp3"] == [RUSSIAN_CARD, RUSSIAN_CARD]  # read as English: no number words in it
    prompts = [" ".join(m["content"] for m in messages) for messages in backend.prompts]
    assert sum("Номер карты [CARD]" in prompt and "четыре пять" not in prompt for prompt in prompts) == 1
    assert sorted(rows(db, "SELECT file_name, language, language_probability FROM kpi_calls")) == [
        ("russian.mp3", "ru", None), ("unknown.mp3", "en", None)]
    assert sorted(rows(db, "SELECT language, language_source, redacted_cards FROM transcripts")) == [
        ("en", "model", 0), ("ru", "given", 2)]  # said on both channels


def test_a_stored_transcript_scored_again_is_redacted_in_its_own_language(
        write_call, card: Path, tmp_path: Path) -> None:
    """Stored with redaction off, a Russian transcript re-scored with it on (a new scorecard
    version) reaches the LLM with its card number masked: the stored language is used."""
    from tests.conftest import WIDER_CRITERION

    write_call("inbox/russian.mp3", _stereo(300, 500), sidecar={"language": "ru"})
    db = tmp_path / "w.duckdb"
    unredacted = fake_processor(db, card, transcriber=ChannelTranscriber(said=RUSSIAN_CARD))
    unredacted.settings = unredacted.settings.model_copy(update={"redact": ()})
    with Warehouse.open(db) as warehouse:
        run_batch([tmp_path / "inbox"], unredacted, warehouse, retry=NO_WAIT)
    assert rows(db, "SELECT DISTINCT text FROM segments") == [(RUSSIAN_CARD,)]
    wider, backend, transcriber = tmp_path / "wider.yaml", FakeBackend(), ChannelTranscriber()
    wider.write_text(card.read_text() + WIDER_CRITERION)
    with Warehouse.open(db) as warehouse:
        run_batch([tmp_path / "inbox"], fake_processor(db, wider, backend=backend, transcriber=transcriber),
                  warehouse, retry=NO_WAIT)
    assert transcriber.calls == 0  # the stored transcript was re-used
    (prompt,) = [" ".join(m["content"] for m in messages) for messages in backend.prompts]
    assert "Номер карты [CARD]" in prompt and "четыре" not in prompt
