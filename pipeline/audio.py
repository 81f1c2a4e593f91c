"""Read call recordings: probe their format, decode them to 16 kHz float samples, and split a
stereo call into its agent and customer channels.

Decoding goes through PyAV (the FFmpeg libraries bundled with faster-whisper), so MP3, WAV,
FLAC, OGG and M4A need no system FFmpeg. Each file is decoded once, all channels together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal

import av
import numpy as np

from pipeline.errors import PermanentRecordingError

SAMPLE_RATE = 16_000  # Hz fed to Whisper
AUDIO_EXTENSIONS = frozenset({".mp3", ".wav", ".flac", ".ogg", ".m4a"})
TRUNCATED_FRACTION = 0.9  # decoded/declared duration below this flags the file as truncated

Speaker = Literal["agent", "customer", "unknown"]


@dataclass(frozen=True)
class AudioInfo:
    """What the container says about a recording, before decoding it."""

    duration_s: float | None  # declared duration, seconds (None when the container has none)
    channels: int
    sample_rate: int  # Hz of the source
    codec: str
    container: str


@dataclass(frozen=True)
class ChannelAudio:
    """One speaker's audio, mono float32 samples in [-1, 1] at ``SAMPLE_RATE``."""

    speaker: Speaker
    channel: int  # index of the source channel; -1 for a mix of all channels
    samples: np.ndarray

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


@dataclass(frozen=True)
class DecodedCall:
    """A recording decoded into one channel per speaker."""

    info: AudioInfo
    channels: tuple[ChannelAudio, ...]
    duration_s: float  # decoded duration, seconds
    truncated: bool  # decoded audio is much shorter than the container declares


def probe(path: Path) -> AudioInfo:
    """Read the container header. Raises ``PermanentRecordingError`` (stage ``probe``) for
    anything that is not a readable audio file."""
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise PermanentRecordingError(
                    "no audio stream in the file (not an audio recording?)", stage="probe"
                )
            stream = container.streams.audio[0]
            context = stream.codec_context
            duration = None
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            return AudioInfo(
                duration_s=duration,
                channels=int(context.channels or 0),
                sample_rate=int(context.sample_rate or 0),
                codec=context.name,
                container=container.format.name,
            )
    except PermanentRecordingError:
        raise
    except (av.error.FFmpegError, EOFError, OSError, ValueError, IndexError) as exc:
        raise PermanentRecordingError(f"not a readable audio file: {_reason(exc)}", stage="probe") from exc


def decode(path: Path, *, agent_channel: Literal["left", "right"] = "left") -> DecodedCall:
    """Decode a recording once into per-speaker channels.

    Stereo: the ``agent_channel`` side is the agent, the other the customer. Mono, and audio
    with more than two channels (mixed with equal weights, so no channel is dropped): one
    channel with speaker ``unknown``.
    """
    info = probe(path)
    matrix = _decode_matrix(path)
    if matrix.shape[0] == 2:
        agent_index = 0 if agent_channel == "left" else 1
        channels: tuple[ChannelAudio, ...] = (
            ChannelAudio("agent", agent_index, matrix[agent_index]),
            ChannelAudio("customer", 1 - agent_index, matrix[1 - agent_index]),
        )
    elif matrix.shape[0] == 1:
        channels = (ChannelAudio("unknown", 0, matrix[0]),)
    else:
        channels = (ChannelAudio("unknown", -1, matrix.mean(axis=0)),)

    duration = matrix.shape[1] / SAMPLE_RATE
    if duration == 0 and (info.duration_s or 0) > 0:
        raise PermanentRecordingError("no audio could be decoded (corrupt file?)", stage="decode")
    truncated = bool(info.duration_s and duration < TRUNCATED_FRACTION * info.duration_s)
    return DecodedCall(info=info, channels=channels, duration_s=duration, truncated=truncated)


def _decode_matrix(path: Path) -> np.ndarray:
    """All channels as float32 (channels x samples) at ``SAMPLE_RATE``; damaged frames skipped."""
    blocks: list[np.ndarray] = []
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=SAMPLE_RATE)
            for frame in _valid_frames(container.decode(stream)):
                frame.pts = None
                blocks.extend(r.to_ndarray() for r in resampler.resample(frame))
            blocks.extend(r.to_ndarray() for r in resampler.resample(None))
    except (av.error.FFmpegError, EOFError, OSError, ValueError) as exc:
        raise PermanentRecordingError(f"cannot decode audio: {_reason(exc)}", stage="decode") from exc
    if not blocks:
        return np.zeros((max(1, stream.channels), 0), dtype=np.float32)
    return np.concatenate(blocks, axis=1).astype(np.float32, copy=False)


def _valid_frames(frames: Iterator[av.AudioFrame]) -> Iterator[av.AudioFrame]:
    """Frames of a stream, skipping the ones FFmpeg reports as invalid (damaged files)."""
    while True:
        try:
            yield next(frames)
        except StopIteration:
            return
        except av.error.InvalidDataError:
            continue


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
