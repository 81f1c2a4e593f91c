"""Decoding, probing and channel splitting on real encoded audio."""

from pathlib import Path

import numpy as np
import pytest

from pipeline.intake.audio import SAMPLE_RATE, channel_layout, decode, decode_stream, probe
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


def _voice_like(seconds: float, seed: int = 3) -> np.ndarray:
    """Noise shaped in bursts, so two copies correlate and two draws do not."""
    rng = np.random.default_rng(seed)
    samples = rng.normal(0, 0.2, int(seconds * SAMPLE_RATE)).astype(np.float32)
    envelope = (np.sin(np.linspace(0, 12 * np.pi, samples.size)) > 0).astype(np.float32)
    return samples * envelope


@pytest.mark.parametrize("suffix", [".mp3", ".wav"])
def test_a_mono_call_written_on_both_channels_is_decoded_once_as_one_channel(write_call, suffix: str) -> None:
    voice = _voice_like(4.0)
    call = decode(write_call("dual" + suffix, np.stack([voice, voice])))
    assert call.layout == "dual_mono"
    (only,) = call.channels
    assert (only.speaker, only.channel) == ("unknown", -1)
    assert call.duration_s == pytest.approx(4.0, abs=0.15)


def test_channels_tell_dual_mono_from_stereo() -> None:
    voice, other = _voice_like(2.0, seed=1), _voice_like(2.0, seed=2)
    assert channel_layout(np.stack([voice, 0.3 * voice])) == "dual_mono"  # a copy at another volume
    assert channel_layout(np.stack([voice, voice + 0.002 * other])) == "dual_mono"  # a faint line noise apart
    assert channel_layout(np.stack([voice, other])) == "stereo"
    assert channel_layout(np.stack([voice, 0.5 * voice + other])) == "stereo"  # crosstalk is not a copy
    assert channel_layout(np.stack([voice, np.zeros_like(voice)])) == "stereo"  # a silent side: settled later
    assert channel_layout(voice[None, :]) == "mono"
    assert channel_layout(np.stack([voice, voice, voice])) == "mono"


def test_the_layout_of_a_streamed_recording_is_known_from_its_first_chunk(write_call) -> None:
    voice = _voice_like(12.0)
    audio = decode_stream(write_call("dual.wav", np.stack([voice, voice])), chunk_seconds=4.0)
    with pytest.raises(RuntimeError):
        audio.layout
    assert audio.peek() is not None and audio.layout == "dual_mono"
    assert all(len(chunk.channels) == 1 for chunk in audio)


def test_the_stereo_sample_call_stays_stereo() -> None:
    assert decode(GOOD_CALL).layout == "stereo"
    assert decode(MONO_CALL).layout == "mono"


_PEAK_MEMORY = r"""
import re, sys
from pathlib import Path
from pipeline.errors import PermanentRecordingError
from pipeline.intake.audio import decode_stream
try:
    audio = decode_stream(Path(sys.argv[1]))
    seconds = sum(chunk.duration_s for chunk in audio)
    print("decoded", round(seconds, 1), audio.truncated)
except PermanentRecordingError as exc:
    print(exc.stage, exc)
# this process's own peak (getrusage would count the parent's memory at the fork too)
print("peak_mb", int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024)
"""


def _decode_elsewhere(path: Path) -> tuple[str, int]:
    """What decoding ``path`` gives, in a process of its own, and that process's peak memory (MB)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _PEAK_MEMORY, str(path)], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    outcome, peak = done.stdout.strip().splitlines()
    return outcome, int(peak.split()[1])


def test_a_sparse_file_named_mp3_fails_at_probe_in_bounded_memory(tmp_path: Path) -> None:
    sparse = tmp_path / "big.mp3"
    with open(sparse, "wb") as handle:
        handle.truncate(2 << 30)  # 2 GB of zeros that take no disk: FFmpeg buffered all of them
    outcome, peak_mb = _decode_elsewhere(sparse)
    assert outcome.startswith("probe not a readable audio file"), outcome
    assert peak_mb < 400, peak_mb  # was 2.2 GB


def test_a_recording_whose_tail_was_never_written_decodes_what_it_has(tmp_path: Path) -> None:
    preallocated = tmp_path / "crashed.mp3"
    preallocated.write_bytes(GOOD_CALL.read_bytes())
    with open(preallocated, "r+b") as handle:
        handle.truncate(500 << 20)  # a recorder that preallocated 500 MB and died after the call
    outcome, peak_mb = _decode_elsewhere(preallocated)
    assert outcome == "decoded 69.4 True", outcome  # the call, flagged truncated
    assert peak_mb < 400, peak_mb


def test_a_wav_of_digital_silence_is_read_whole(write_call) -> None:
    path = write_call("hold.wav", silence(60.0))  # 3.8 MB of zero samples: no zero run cuts a WAV
    assert decode(path).duration_s == pytest.approx(60.0, abs=0.05)


def test_a_stream_of_no_channels_is_not_audio(tmp_path: Path) -> None:
    zeros = tmp_path / "zeros.mp3"
    zeros.write_bytes(bytes(4096))
    with pytest.raises(PermanentRecordingError) as refused:
        probe(zeros)
    assert refused.value.stage == "probe" and "<none>" not in str(refused.value)


def test_a_wav_named_mp3_keeps_its_digital_silence(tmp_path: Path, write_call) -> None:
    wav = write_call("hold.wav", silence(60.0))
    misnamed = tmp_path / "hold-as.mp3"
    misnamed.write_bytes(wav.read_bytes())  # told by its content, as FFmpeg decodes it
    assert decode(misnamed).duration_s == pytest.approx(60.0, abs=0.05)
