"""Read call recordings: probe their format, decode them to 16 kHz float samples, and split a
stereo call into its agent and customer channels.

Many recorders write a mono call as two identical channels: a stereo recording whose channels
correlate at ``DUAL_MONO_CORRELATION`` or more (measured over its first chunk) is *dual mono*
and is decoded as one mixed channel, so every word is transcribed once.

Decoding goes through PyAV (the FFmpeg libraries bundled with faster-whisper), so MP3, WAV,
FLAC, OGG and M4A need no system FFmpeg. Each file is decoded once, all channels together, and
streamed in chunks of at most ``CHUNK_SECONDS``, so memory stays bounded however long the call:
``decode_stream`` yields the chunks, ``decode`` joins them for short recordings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Literal

import av
import numpy as np

from pipeline.errors import PermanentRecordingError
from pipeline.intake.audio_file import open_audio

SAMPLE_RATE = 16_000  # Hz fed to Whisper
AUDIO_EXTENSIONS = frozenset({".mp3", ".wav", ".flac", ".ogg", ".m4a"})
TRUNCATED_FRACTION = 0.9  # decoded/declared duration below this flags the file as truncated
CHUNK_SECONDS = 600.0  # longest stretch of audio held in memory at once, seconds
CUT_SEARCH_SECONDS = 5.0  # a chunk ends at the quietest point of its last this many seconds
CUT_WINDOW_SECONDS = 0.2  # length of the stretch whose loudness (RMS) picks that point, seconds
DUAL_MONO_CORRELATION = 0.98  # channels correlating at least this much carry one signal twice
SILENT_RMS = 1e-4  # a channel quieter than this (RMS, full scale = 1) holds no signal at all
LAYOUT_BLOCK_SAMPLES = 1 << 20  # samples summed at a time when measuring the layout

Speaker = Literal["agent", "customer", "unknown"]
# How a recording's channels carry the call: ``stereo`` (agent and customer on their own channel),
# ``dual_mono`` (one signal on both), ``mono``; ``silent_agent`` / ``silent_customer``: stereo, but
# that side said nothing while the other spoke (decided once transcribed, see ``silent_side``).
ChannelLayout = Literal["stereo", "dual_mono", "mono", "silent_agent", "silent_customer"]


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
class AudioChunk:
    """A stretch of a recording, one channel per speaker (all of the same length)."""

    offset_s: float  # where the chunk starts, seconds from the start of the recording
    channels: tuple[ChannelAudio, ...]

    @property
    def duration_s(self) -> float:
        return self.channels[0].duration_s if self.channels else 0.0


@dataclass(frozen=True)
class DecodedCall:
    """A recording decoded into one channel per speaker."""

    info: AudioInfo
    channels: tuple[ChannelAudio, ...]
    duration_s: float  # decoded duration, seconds
    truncated: bool  # decoded audio is much shorter than the container declares
    layout: ChannelLayout = "mono"


def probe(path: Path) -> AudioInfo:
    """Read the container header. Raises ``PermanentRecordingError`` (stage ``probe``) for
    anything that is not a readable audio file."""
    try:
        with open_audio(path) as source, av.open(source, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise PermanentRecordingError(
                    "no audio stream in the file (not an audio recording?)", stage="probe"
                )
            stream = container.streams.audio[0]
            context = stream.codec_context
            if not context.channels or not context.sample_rate:  # e.g. zeros (a sparse file) taken for MP3
                raise PermanentRecordingError(
                    f"the audio stream has {context.channels or 0} channels at {context.sample_rate or 0} Hz "
                    "(not an audio recording?)", stage="probe")
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
    """Decode a whole recording into per-speaker channels (the chunks of ``decode_stream``
    joined; meant for calls that fit in memory).

    Stereo: the ``agent_channel`` side is the agent, the other the customer. Mono, and audio
    with more than two channels (mixed with equal weights, so no channel is dropped): one
    channel with speaker ``unknown``.
    """
    audio = decode_stream(path, agent_channel=agent_channel)
    chunks = list(audio)
    channels = tuple(
        ChannelAudio(first.speaker, first.channel, _join([chunk.channels[index].samples for chunk in chunks]))
        for index, first in enumerate(chunks[0].channels)
    )
    return DecodedCall(info=audio.info, channels=channels, duration_s=audio.duration_s, truncated=audio.truncated,
                       layout=audio.layout)


def decode_stream(
    path: Path,
    *,
    agent_channel: Literal["left", "right"] = "left",
    chunk_seconds: float = CHUNK_SECONDS,
) -> AudioStream:
    """Open a recording for decoding chunk by chunk (see ``AudioStream``). Probes it first:
    raises ``PermanentRecordingError`` (stage ``probe``) for anything that is not audio."""
    return AudioStream(Path(path), agent_channel=agent_channel, chunk_seconds=chunk_seconds)


class AudioStream:
    """A recording decoded in ``AudioChunk``s of at most ``chunk_seconds`` seconds, in order.

    Channels are split as ``decode`` does. Every chunk but the last ends at the quietest
    ``CUT_WINDOW_SECONDS`` stretch (RMS over all channels) of its last ``CUT_SEARCH_SECONDS``,
    so no word is cut in two; the rest of the audio starts the next chunk, so no sample is lost
    or repeated. There is always at least one chunk (empty for an empty recording).

    An iterator, consumed once; ``peek`` decodes the next chunk without consuming it. Once the
    last chunk is decoded, ``duration_s`` and ``truncated`` are known (``finished``). Damaged
    frames are skipped; an undecodable file raises ``PermanentRecordingError`` (stage ``decode``)
    while iterating.
    """

    def __init__(
        self,
        path: Path,
        *,
        agent_channel: Literal["left", "right"] = "left",
        chunk_seconds: float = CHUNK_SECONDS,
    ) -> None:
        if chunk_seconds < 4 * CUT_WINDOW_SECONDS:
            raise ValueError(f"chunk_seconds must be at least {4 * CUT_WINDOW_SECONDS} s, got {chunk_seconds}")
        self.path = path
        self.agent_channel = agent_channel
        self.chunk_seconds = chunk_seconds
        self.info = probe(path)
        self._chunks = self._decode_chunks()
        self._peeked: AudioChunk | None = None
        self._duration_s: float | None = None
        self._truncated = False
        self._layout: ChannelLayout | None = None

    @property
    def layout(self) -> ChannelLayout:
        """``stereo``, ``dual_mono`` or ``mono`` (more than two channels are mixed: ``mono``);
        known once the first chunk is decoded (``peek``)."""
        if self._layout is None:
            raise RuntimeError("the channel layout is known once the first chunk is decoded")
        return self._layout

    @property
    def finished(self) -> bool:
        """True once the last chunk has been decoded (it may not have been consumed yet)."""
        return self._duration_s is not None

    @property
    def duration_s(self) -> float:
        """Decoded duration, seconds; known once ``finished``."""
        if self._duration_s is None:
            raise RuntimeError("the decoded duration is known once the last chunk is decoded")
        return self._duration_s

    @property
    def truncated(self) -> bool:
        """Decoded audio is much shorter than the container declares; known once ``finished``."""
        if self._duration_s is None:
            raise RuntimeError("truncation is known once the last chunk is decoded")
        return self._truncated

    def __iter__(self) -> AudioStream:
        return self

    def __next__(self) -> AudioChunk:
        if self._peeked is not None:
            chunk, self._peeked = self._peeked, None  # hold no reference once handed out
            return chunk
        return next(self._chunks)

    def peek(self) -> AudioChunk | None:
        """The next chunk, decoded but not consumed; None when there is none left."""
        if self._peeked is None:
            self._peeked = next(self._chunks, None)
        return self._peeked

    def _decode_chunks(self) -> Iterator[AudioChunk]:
        limit = max(1, round(self.chunk_seconds * SAMPLE_RATE))
        search = round(min(CUT_SEARCH_SECONDS, self.chunk_seconds / 2) * SAMPLE_RATE)
        window = round(CUT_WINDOW_SECONDS * SAMPLE_RATE)
        buffer: np.ndarray | None = None  # channels x limit, filled up to `filled`
        filled = offset = 0
        for block in self._blocks():
            if buffer is None:
                buffer = np.empty((block.shape[0], limit), dtype=np.float32)
            start = 0
            while start < block.shape[1]:
                if filled == limit:  # full, and more audio follows: end the chunk at a quiet point
                    cut = quiet_cut(buffer, search=search, window=window)
                    rest = buffer[:, cut:].copy()
                    head, buffer = buffer[:, :cut], None
                    yield self._chunk(head, offset)
                    del head  # the consumer is done with it: free it before filling the next
                    offset += cut
                    buffer = np.empty((rest.shape[0], limit), dtype=np.float32)
                    filled = rest.shape[1]
                    buffer[:, :filled] = rest
                    del rest
                take = min(block.shape[1] - start, limit - filled)
                buffer[:, filled : filled + take] = block[:, start : start + take]
                filled += take
                start += take
        if buffer is None:
            buffer = np.zeros((max(1, self.info.channels), 0), dtype=np.float32)
        duration = (offset + filled) / SAMPLE_RATE
        if duration == 0 and (self.info.duration_s or 0) > 0:
            raise PermanentRecordingError("no audio could be decoded (corrupt file?)", stage="decode")
        self._truncated = bool(self.info.duration_s and duration < TRUNCATED_FRACTION * self.info.duration_s)
        self._duration_s = duration
        head, buffer = buffer[:, :filled], None
        yield self._chunk(head, offset)

    def _chunk(self, matrix: np.ndarray, offset: int) -> AudioChunk:
        """One chunk from (channels x samples) audio starting at sample ``offset``; the first
        decides the layout of the whole recording."""
        if self._layout is None:
            self._layout = channel_layout(matrix)
        if self._layout == "dual_mono":
            channels: tuple[ChannelAudio, ...] = (ChannelAudio("unknown", -1, matrix.mean(axis=0)),)
        elif matrix.shape[0] == 2:
            agent_index = 0 if self.agent_channel == "left" else 1
            channels = (
                ChannelAudio("agent", agent_index, matrix[agent_index]),
                ChannelAudio("customer", 1 - agent_index, matrix[1 - agent_index]),
            )
        elif matrix.shape[0] == 1:
            channels = (ChannelAudio("unknown", 0, matrix[0]),)
        else:
            channels = (ChannelAudio("unknown", -1, matrix.mean(axis=0)),)
        return AudioChunk(offset_s=offset / SAMPLE_RATE, channels=channels)

    def _blocks(self) -> Iterator[np.ndarray]:
        """All channels as float32 blocks (channels x samples) at ``SAMPLE_RATE``, in order;
        damaged frames skipped."""
        try:
            with open_audio(self.path) as source, av.open(source, mode="r", metadata_errors="ignore") as container:
                stream = container.streams.audio[0]
                resampler = av.AudioResampler(format="fltp", layout=stream.layout, rate=SAMPLE_RATE)
                for frame in _valid_frames(container.decode(stream)):
                    frame.pts = None
                    for resampled in resampler.resample(frame):
                        yield resampled.to_ndarray().astype(np.float32, copy=False)
                for resampled in resampler.resample(None):
                    yield resampled.to_ndarray().astype(np.float32, copy=False)
        except (av.error.FFmpegError, EOFError, OSError, ValueError) as exc:
            raise PermanentRecordingError(f"cannot decode audio: {_reason(exc)}", stage="decode") from exc


def channel_layout(matrix: np.ndarray) -> ChannelLayout:
    """``dual_mono`` for two channels that carry one signal (Pearson correlation at least
    ``DUAL_MONO_CORRELATION``: a copy, or a copy at another volume), ``stereo`` for two others
    (a silent channel included), ``mono`` for one channel or more than two."""
    if matrix.shape[0] != 2:
        return "mono"
    if matrix.shape[1] == 0:
        return "stereo"
    n = matrix.shape[1]
    sums = np.zeros(2)  # sum of left, of right
    products = np.zeros(3)  # sum of left*left, right*right, left*right
    for start in range(0, n, LAYOUT_BLOCK_SAMPLES):  # float64 a block at a time: no copy of the whole chunk
        left, right = matrix[:, start:start + LAYOUT_BLOCK_SAMPLES].astype(np.float64)
        sums += (left.sum(), right.sum())
        products += (np.dot(left, left), np.dot(right, right), np.dot(left, right))
    means = sums / n
    variances = np.maximum(products[:2] / n - means ** 2, 0.0)  # of each channel, centred
    covariance = products[2] / n - means[0] * means[1]
    if variances.min() == 0 or float(np.sqrt(variances.min())) < SILENT_RMS:  # the quieter side's centred RMS
        return "stereo"
    return "dual_mono" if covariance / float(np.sqrt(variances.prod())) >= DUAL_MONO_CORRELATION else "stereo"


def quiet_cut(matrix: np.ndarray, *, search: int, window: int) -> int:
    """Where to end a chunk of (channels x samples) audio: the middle of the quietest
    ``window``-sample stretch (lowest RMS over all channels) within its last ``search``
    samples. A sample index; of equally quiet stretches, the latest wins."""
    length = matrix.shape[1]
    search, window = min(search, length), min(window, length)
    tail = matrix[:, length - search :].astype(np.float64)
    energy = np.cumsum(np.concatenate(([0.0], np.square(tail).sum(axis=0))))
    sums = energy[window:] - energy[:-window]  # energy of the stretch starting at each sample
    latest_quietest = len(sums) - 1 - int(np.argmin(sums[::-1]))
    return length - search + latest_quietest + window // 2


def _join(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


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
    """FFmpeg's reason, without its error number and the '<none>' a file object has for a name."""
    if isinstance(exc, av.error.FFmpegError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
