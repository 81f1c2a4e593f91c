"""Build call recordings from scripted dialogue: espeak-ng speaks each turn, turns are laid on a
timeline (agent and customer on their own channels, or mixed to mono), and PyAV encodes the
result as MP3, WAV, FLAC, OGG or M4A. Used to make the bundled samples and test fixtures.
"""

from __future__ import annotations

import io
import itertools
import subprocess
import wave
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import av
import numpy as np

VOICES = {"agent": ("en-us", 165, 45), "customer": ("en-gb+f3", 150, 60)}  # voice, words/min, pitch
Voices = Mapping[str, tuple[str, int, int]]  # speaker -> (espeak-ng voice, words/min, pitch)

AUDIBLE_LEVEL = 0.01  # sample amplitude (full scale 1.0) above which a clip counts as voice

_CODECS = {".mp3": "libmp3lame", ".wav": "pcm_s16le", ".flac": "flac", ".ogg": "libopus", ".m4a": "aac"}


@dataclass(frozen=True)
class Turn:
    speaker: str  # 'agent' or 'customer'
    text: str
    gap_s: float = 0.6  # silence before this turn; negative overlaps the previous turn


def speak(text: str, speaker: str, rate: int, *, voices: Voices = VOICES) -> np.ndarray:
    """espeak-ng speech as float32 samples at ``rate`` Hz, in ``speaker``'s voice."""
    voice, speed, pitch = voices[speaker]
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        check=True, capture_output=True,
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        source_rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    positions = np.arange(0, len(samples), source_rate / rate)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def lay_out(turns: Sequence[Turn], rate: int, *, lead_s: float = 0.5, tail_s: float = 0.8,
            voices: Voices = VOICES) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """Place turns on a timeline: (2 x samples array [agent, customer], [(speaker, start_s, end_s)]).

    The timing of a turn is where its voice is audible, without the quiet edges espeak-ng adds.
    """
    clips, timing, cursor = [], [], lead_s
    for turn in turns:
        clip = speak(turn.text, turn.speaker, rate, voices=voices)
        start = max(0.0, cursor + turn.gap_s)
        clips.append((turn.speaker, int(start * rate), clip))
        audible = np.flatnonzero(np.abs(clip) > AUDIBLE_LEVEL)
        timing.append((turn.speaker, float(start + audible[0] / rate), float(start + (audible[-1] + 1) / rate)))
        cursor = start + len(clip) / rate
    total = int((cursor + tail_s) * rate)
    channels = np.zeros((2, total), dtype=np.float32)
    for speaker, offset, clip in clips:
        row = 0 if speaker == "agent" else 1
        channels[row, offset : offset + len(clip)] += clip
    return channels, timing


def add_line_noise(channels: np.ndarray, level: float = 0.002, seed: int = 7) -> np.ndarray:
    """A faint noise floor, as on a real line."""
    rng = np.random.default_rng(seed)
    return (channels + rng.normal(0, level, channels.shape)).astype(np.float32)


def write_audio(path: Path, channels: np.ndarray, rate: int, *, bitrate: int = 48_000) -> None:
    """Encode (channels x samples) float32 audio to ``path``; the suffix picks the format."""
    write_audio_blocks(path, [np.atleast_2d(channels)], rate, bitrate=bitrate)


def write_audio_blocks(path: Path, blocks: Iterable[np.ndarray], rate: int, *, bitrate: int = 48_000) -> None:
    """Encode audio given as successive (channels x samples) float32 blocks, all with the same
    channels, to ``path``; the suffix picks the format. A long recording is never held whole."""
    blocks = iter(blocks)
    first = np.atleast_2d(next(blocks))
    count = first.shape[0]
    layout = "mono" if count == 1 else "stereo" if count == 2 else f"{count}c"
    codec = _CODECS[path.suffix.lower()]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate if codec != "libopus" else 48_000, layout=layout)
        if codec not in ("pcm_s16le", "flac"):
            stream.bit_rate = bitrate
        frame_size = 1152 if codec == "libmp3lame" else 1024
        resampler = av.AudioResampler(format=stream.format.name, layout=layout, rate=stream.rate)

        def encode(frame: av.AudioFrame | None) -> None:
            for resampled in resampler.resample(frame):
                for packet in stream.encode(resampled):
                    container.mux(packet)

        def frame_of(pcm: np.ndarray, pts: int) -> av.AudioFrame:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm.T.reshape(1, -1)), format="s16", layout=layout)
            frame.sample_rate = rate
            frame.pts, frame.time_base = pts, Fraction(1, rate)
            return frame

        written, pending = 0, np.zeros((count, 0), dtype=np.int16)  # samples encoded; a part frame left over
        for block in itertools.chain([first], blocks):
            pcm = np.concatenate([pending, (np.clip(np.atleast_2d(block), -1, 1) * 32767).astype(np.int16)], axis=1)
            whole = pcm.shape[1] - pcm.shape[1] % frame_size
            for start in range(0, whole, frame_size):
                encode(frame_of(pcm[:, start : start + frame_size], written))
                written += frame_size
            pending = pcm[:, whole:]
        if pending.shape[1]:
            encode(frame_of(pending, written))
        encode(None)
        for packet in stream.encode(None):
            container.mux(packet)
