"""Decoding, probing and channel splitting on real encoded audio."""

from pathlib import Path

import numpy as np
import pytest

from pipeline.intake.audio import SAMPLE_RATE, decode, probe
from pipeline.errors import PermanentRecordingError
from tests.conftest import GOOD_CALL, MONO_CALL, silence, tone


def _two_speaker_call() -> np.ndarray:
    """Agent (left) tone during 0-1 s, customer (right) tone during 2-3 s, 4 s in all."""
    audio = silence(4.0)
    audio[0, : SAMPLE_RATE] = tone(1.0, 300)
    audio[1, 2 * SAMPLE_RATE : 3 * SAMPLE_RATE] = tone(1.0, 500)
    return audio


def _loud_between(samples: np.ndarray, start_s: float, end_s: float) -> float:
    return float(np.abs(samples[int(start_s * SAMPLE_RATE) : int(end_s * SAMPLE_RATE)]).mean())


@pytest.mark.parametrize("suffix", [".mp3", ".wav", ".flac", ".ogg", ".m4a"])
def test_every_supported_format_decodes_into_agent_and_customer(write_call, suffix: str) -> None:
    path = write_call("call" + suffix, _two_speaker_call())
    call = decode(path)
    info = probe(path)
    assert info.channels == 2
    assert call.duration_s == pytest.approx(4.0, abs=0.15)
    agent, customer = call.channels
    assert (agent.speaker, agent.channel, customer.speaker, customer.channel) == ("agent", 0, "customer", 1)
    assert _loud_between(agent.samples, 0.2, 0.8) > 0.1 and _loud_between(agent.samples, 2.2, 2.8) < 0.01
    assert _loud_between(customer.samples, 2.2, 2.8) > 0.1 and _loud_between(customer.samples, 0.2, 0.8) < 0.01


def test_agent_channel_right_swaps_the_speakers(write_call) -> None:
    path = write_call("call.wav", _two_speaker_call())
    agent, customer = decode(path, agent_channel="right").channels
    assert (agent.channel, customer.channel) == (1, 0)
    assert _loud_between(agent.samples, 2.2, 2.8) > 0.1


def test_mono_telephone_call_is_one_unknown_speaker() -> None:
    call = decode(MONO_CALL)
    assert call.info.channels == 1 and call.info.sample_rate == 8000
    assert [(c.speaker, c.channel) for c in call.channels] == [("unknown", 0)]
    assert call.duration_s == pytest.approx(41.2, abs=0.5)


def test_six_channel_audio_is_mixed_down(write_call) -> None:
    audio = np.zeros((6, SAMPLE_RATE), dtype=np.float32)
    audio[3] = tone(1.0)
    call = decode(write_call("surround.wav", audio))
    assert [(c.speaker, c.channel) for c in call.channels] == [("unknown", -1)]
    assert _loud_between(call.channels[0].samples, 0.2, 0.8) > 0.01


def test_stereo_sample_call_keeps_speakers_apart() -> None:
    call = decode(GOOD_CALL)
    assert call.info.sample_rate == 16000 and not call.truncated
    agent, customer = call.channels
    # The agent opens the call (0.5-3.1 s); the customer is silent then.
    assert _loud_between(agent.samples, 0.8, 3.0) > 5 * _loud_between(customer.samples, 0.8, 3.0)


def test_truncated_mp3_is_decoded_and_flagged(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.mp3"
    data = GOOD_CALL.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    call = decode(truncated)
    assert call.truncated
    assert 20 < call.duration_s < 45


@pytest.mark.parametrize(
    ("content", "stage_message"),
    [
        (b"", "not a readable audio file"),
        (b"this is a shopping list, not a call\n" * 20, "not a readable audio file"),
        (b"\xff\xfb\x90\x00" + bytes(range(256)) * 3, "not a readable audio file|no audio could be decoded|cannot decode"),
    ],
    ids=["zero-bytes", "text-named-mp3", "garbage-after-mp3-sync"],
)
def test_unreadable_files_raise_a_permanent_error(tmp_path: Path, content: bytes, stage_message: str) -> None:
    path = tmp_path / "call.mp3"
    path.write_bytes(content)
    with pytest.raises(PermanentRecordingError, match=stage_message) as caught:
        decode(path)
    assert caught.value.stage in ("probe", "decode")
    assert not caught.value.transient
