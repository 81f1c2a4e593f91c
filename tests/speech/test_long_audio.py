"""Long recordings are decoded and transcribed in chunks: no sample lost or repeated at a chunk
boundary, no word cut in two, the same transcript as a whole-file pass, and memory that does not
grow with the length of the call (a 3-hour recording scored by the real CLI)."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import duckdb
import numpy as np
import pytest
from rapidfuzz.distance import Levenshtein

import pipeline.intake.audio
import pipeline.processing.procedure
from pipeline.intake.audio import SAMPLE_RATE, AudioStream, decode, decode_stream, quiet_cut
from pipeline.processing.procedure import CallProcessor
from pipeline.config import load_settings
from pipeline.errors import PermanentRecordingError, RecordingError
from pipeline.models.choice import embedded_whisper_model
from pipeline.speech.segments import Segment
from pipeline.speech.hallucinations import RepeatGuard, drop_hallucinations
from pipeline.speech.transcribe import SPLIT_GAP_S, Transcriber
from samples.synth import AUDIBLE_LEVEL, add_line_noise, speak, write_audio, write_audio_blocks
from tests.conftest import GOOD_CALL, MONO_CALL, silence, tone

CHUNK_S = 20.0  # a short chunk length, so that a short call crosses a chunk boundary

# A call where the agent speaks without a pause from 11.5 s to 21 s, across the 20 s chunk limit
# and the whole stretch (15-20 s) where the first chunk may end. The customer speaks only in the
# first chunk: Whisper dates the first word of each window it is given up to ~0.6 s early (into
# the VAD's padding), so a phrase that opens a later chunk of its channel can move by that much.
BOUNDARY_CALL = [
    ("customer", 1.0, "Hello, I would like to check the balance on my account please."),
    ("agent", 6.0, "Of course, one moment please."),
    ("customer", 8.5, "Thank you."),
    ("agent", 11.5, "Thank you for holding. I can see your account here, and the last payment arrived on the"
                    " fourth of March, so there is nothing left to pay until the next bill in June."),
    ("agent", 24.5, "Is there anything else I can help you with today?"),
]
TIME_TOLERANCE_S = 0.5  # chunked vs whole-file turn edges
WORD_ERROR_RATE = 0.1  # tiny.en may hear a word or two differently with other audio around it


def place(lines: list[tuple[str, float, str]], rate: int, seconds: float) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """Spoken lines laid at fixed times: (2 x samples [agent, customer], [(speaker, audible start, end)])."""
    audio = np.zeros((2, int(seconds * rate)), dtype=np.float32)
    timing = []
    for speaker, at, text in lines:
        clip = speak(text, speaker, rate)
        start = int(at * rate)
        audio[0 if speaker == "agent" else 1, start : start + len(clip)] += clip
        audible = np.flatnonzero(np.abs(clip) > AUDIBLE_LEVEL)
        timing.append((speaker, at + audible[0] / rate, at + (audible[-1] + 1) / rate))
    return audio, timing


@pytest.fixture(scope="module")
def boundary_call(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, float, float]]]:
    audio, timing = place(BOUNDARY_CALL, SAMPLE_RATE, 29.0)
    path = tmp_path_factory.mktemp("boundary") / "boundary.mp3"
    write_audio(path, add_line_noise(audio), SAMPLE_RATE)
    return path, timing


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber(str(embedded_whisper_model()), device="auto")


def rms(samples: np.ndarray) -> float:
    """Root mean square over all channels of (channels x samples) audio."""
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def words(segments: list[Segment], speaker: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", " ".join(s.text.lower() for s in segments if s.speaker == speaker))


def turns(segments: list[Segment], speaker: str) -> list[tuple[float, float]]:
    """A speaker's segments joined where they are less than ``SPLIT_GAP_S`` apart (however
    Whisper happened to split them): (start, end) of each turn, seconds."""
    spans: list[list[float]] = []
    for s in segments:
        if s.speaker != speaker:
            continue
        if spans and s.start - spans[-1][1] <= SPLIT_GAP_S:
            spans[-1][1] = max(spans[-1][1], s.end)
        else:
            spans.append([s.start, s.end])
    return [(start, end) for start, end in spans]


# -- decoding in chunks ------------------------------------------------------------------------


def test_chunks_join_into_the_whole_recording_and_end_at_a_pause(boundary_call) -> None:
    path, timing = boundary_call
    whole = decode(path)
    stream = decode_stream(path, chunk_seconds=CHUNK_S)
    chunks = list(stream)
    assert len(chunks) == 2 and stream.finished
    assert stream.duration_s == whole.duration_s and stream.truncated is False and stream.info == whole.info
    assert all(c.duration_s <= CHUNK_S for c in chunks)
    assert [c.offset_s for c in chunks] == [0.0, chunks[0].duration_s]
    for index, channel in enumerate(whole.channels):  # no sample lost or repeated
        assert [(c.channels[index].speaker, c.channels[index].channel) for c in chunks] == [(channel.speaker, channel.channel)] * 2
        assert np.array_equal(np.concatenate([c.channels[index].samples for c in chunks]), channel.samples)

    cut = chunks[1].offset_s
    speaker, start, end = timing[3]
    assert speaker == "agent" and start < CHUNK_S - 5 and end > CHUNK_S  # the agent talks across the whole search
    assert start + 1 < cut < end - 1  # so the cut falls mid-sentence, between two words
    audio = np.stack([c.samples for c in whole.channels])
    at = round(cut * SAMPLE_RATE)
    pause = rms(audio[:, at - 1600 : at + 1600])  # the 0.2 s around the cut
    talk = rms(audio[:, round(start * SAMPLE_RATE) : round(end * SAMPLE_RATE)])
    assert pause < 0.1 * talk


def test_a_stereo_sample_call_streams_like_it_decodes_whatever_the_chunk_length() -> None:
    whole = decode(GOOD_CALL, agent_channel="right")
    for chunk_seconds in (7.0, 15.0, 600.0):
        chunks = list(decode_stream(GOOD_CALL, agent_channel="right", chunk_seconds=chunk_seconds))
        assert (len(chunks) == 1) == (chunk_seconds > whole.duration_s)
        assert all(c.duration_s <= chunk_seconds for c in chunks)
        assert [(ch.speaker, ch.channel) for ch in chunks[0].channels] == [("agent", 1), ("customer", 0)]
        for index, channel in enumerate(whole.channels):
            assert np.array_equal(np.concatenate([c.channels[index].samples for c in chunks]), channel.samples)
    assert len(list(decode_stream(GOOD_CALL, chunk_seconds=15.0))) >= whole.duration_s // 15


def test_mono_and_surround_recordings_stream_as_one_unknown_speaker(write_call) -> None:
    mono = list(decode_stream(MONO_CALL, chunk_seconds=10.0))
    assert len(mono) >= 4 and {(ch.speaker, ch.channel) for c in mono for ch in c.channels} == {("unknown", 0)}
    surround = np.zeros((6, 3 * SAMPLE_RATE), dtype=np.float32)
    surround[4] = tone(3.0)
    path = write_call("surround.wav", surround)
    chunks = list(decode_stream(path, chunk_seconds=1.0))
    assert len(chunks) >= 3 and {(ch.speaker, ch.channel) for c in chunks for ch in c.channels} == {("unknown", -1)}
    assert np.array_equal(np.concatenate([c.channels[0].samples for c in chunks]), decode(path).channels[0].samples)


def test_the_quietest_stretch_ends_the_chunk() -> None:
    audio = np.random.default_rng(1).normal(0, 0.1, (2, 10 * SAMPLE_RATE)).astype(np.float32)  # talk
    audio[1, 7 * SAMPLE_RATE : 7 * SAMPLE_RATE + 4000] = 0  # only one channel pauses: not quiet
    audio[:, 8 * SAMPLE_RATE : 8 * SAMPLE_RATE + 3200] = 0.001  # both pause for 0.2 s
    cut = quiet_cut(audio, search=5 * SAMPLE_RATE, window=3200)
    assert cut == 8 * SAMPLE_RATE + 1600
    silent = np.zeros((2, 10 * SAMPLE_RATE), dtype=np.float32)
    assert quiet_cut(silent, search=5 * SAMPLE_RATE, window=3200) == 10 * SAMPLE_RATE - 1600  # the latest


def test_stream_facts_wait_for_the_last_chunk_and_errors_keep_their_stages(tmp_path: Path) -> None:
    stream = decode_stream(GOOD_CALL, chunk_seconds=CHUNK_S)
    first = stream.peek()
    assert first is not None and first.offset_s == 0 and not stream.finished
    with pytest.raises(RuntimeError):
        stream.duration_s
    assert next(stream) is first and next(stream).offset_s > 0
    text = tmp_path / "call.mp3"
    text.write_bytes(b"this is a shopping list, not a call\n" * 20)
    with pytest.raises(PermanentRecordingError) as caught:
        decode_stream(text)
    assert caught.value.stage == "probe"
    truncated = tmp_path / "cut.mp3"
    data = GOOD_CALL.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    stream = decode_stream(truncated, chunk_seconds=10.0)
    assert len(list(stream)) >= 2 and stream.truncated and 20 < stream.duration_s < 45


# -- transcribing in chunks --------------------------------------------------------------------


@pytest.mark.slow
def test_chunked_transcript_matches_the_whole_file_one(boundary_call, transcriber: Transcriber) -> None:
    path, timing = boundary_call
    whole = transcriber.transcribe(decode(path).channels)
    chunked = transcriber.transcribe_stream(decode_stream(path, chunk_seconds=CHUNK_S))
    assert [(s.start, s.end) for s in chunked] == sorted((s.start, s.end) for s in chunked)
    for speaker in ("agent", "customer"):
        want, got = words(whole, speaker), words(chunked, speaker)
        assert Levenshtein.distance(want, got) <= WORD_ERROR_RATE * len(want), (want, got)
        assert [round(t, 2) for turn in turns(chunked, speaker) for t in turn] == pytest.approx(
            [t for turn in turns(whole, speaker) for t in turn], abs=TIME_TOLERANCE_S)
    # the words on each side of the cut are there once, on the agent's side, where they were said
    said = " ".join(words(chunked, "agent"))
    for phrase in ("thank you for holding", "last payment arrived", "nothing left to pay", "anything else"):
        assert said.count(phrase) == 1, said
    sentence = [turn for turn in turns(chunked, "agent") if turn[0] < timing[3][1] + 1 < turn[1]]
    assert len(sentence) == 1 and sentence[0][1] > CHUNK_S  # one turn, across the cut


def test_a_loop_of_one_text_is_caught_across_chunks() -> None:
    def okay(start: float) -> Segment:
        return Segment("agent", 0, start, start + 1, "Okay.", -0.3, 0.1, 1.2)

    repeats = RepeatGuard()
    first = drop_hallucinations([okay(0), okay(2)], repeats=repeats)  # end of one chunk
    second = drop_hallucinations([okay(600), Segment("customer", 1, 601, 602, "Okay.", -0.3, 0.1, 1.2)], repeats=repeats)
    assert len(first) == 2 and [s.speaker for s in second] == ["customer"]


# -- the batch: too-short recordings, error stages ------------------------------------------------


def test_a_too_short_recording_loads_no_model(write_call) -> None:
    processor = CallProcessor(load_settings({}))
    transcription = processor.transcribe_file(write_call("one-second.mp3", silence(1.0)))
    assert transcription.transcript is None and transcription.duration_s == pytest.approx(1.0, abs=0.1)
    assert processor._transcriber is None


@pytest.mark.slow
def test_a_decode_error_after_the_first_chunk_keeps_its_stage(
        boundary_call, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injected: the file stops decoding 2 s into its second chunk, while the transcriber
    is working through the stream."""
    original = AudioStream._blocks

    def failing_blocks(self) -> Iterator[np.ndarray]:
        decoded = 0
        for block in original(self):
            if decoded > (CHUNK_S + 2) * SAMPLE_RATE:
                raise PermanentRecordingError("cannot decode audio: injected", stage="decode")
            decoded += block.shape[1]
            yield block

    monkeypatch.setattr(pipeline.processing.procedure, "decode_stream", functools.partial(decode_stream, chunk_seconds=CHUNK_S))
    monkeypatch.setattr(AudioStream, "_blocks", failing_blocks)
    processor = CallProcessor(load_settings({}))
    with pytest.raises(PermanentRecordingError, match="injected") as caught:
        processor.transcribe_file(boundary_call[0])
    assert caught.value.stage == "decode" and processor._transcriber is not None  # failed mid-transcription


@pytest.mark.slow
def test_a_transcriber_error_is_a_transcribe_failure(write_call, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injected: the model runs out of memory on the first chunk."""

    def out_of_memory(self, part):
        raise RuntimeError("CUDA failed with error out of memory")

    monkeypatch.setattr(Transcriber, "_decode", out_of_memory)
    processor = CallProcessor(load_settings({}))
    with pytest.raises(RecordingError, match="transcribe failed: CUDA failed") as caught:
        processor.transcribe_file(write_call("call.wav", silence(3.0)))
    assert caught.value.stage == "transcribe" and caught.value.transient


# -- a 3-hour recording through the CLI ----------------------------------------------------------

LONG_RATE = 8_000  # Hz, as telephone recordings are
LONG_BITRATE = 24_000  # bits/s
LATE_BEFORE_END_S = 300.0  # the late phrase starts this long before the end: 2 h 55 min into 3 h
MEMORY_MARGIN_MB = 300  # a 3-hour call may take at most this much more memory than a 10-minute one
MEMORY_CEILING_MB = 2048
LONG_CALL = [
    ("agent", 1.0, "Thank you for calling Northwind Energy, how can I help you today?"),
    ("customer", 5.5, "Hello, I would like to check the balance on my account please."),
    ("agent", 10.5, "Of course, one moment while I put you on hold."),
]
LATE_LINE = ("customer", "Great, thank you very much for your help. Goodbye.")


def write_long_call(path: Path, seconds: float, *, block_s: float = 60.0) -> float:
    """A stereo MP3 of ``seconds``: the opening lines, silence, and ``LATE_LINE`` starting
    ``LATE_BEFORE_END_S`` before the end. Written a block at a time, never held whole. Returns
    where the late line becomes audible, seconds."""
    late_at = seconds - LATE_BEFORE_END_S
    lines = [*LONG_CALL, (LATE_LINE[0], late_at, LATE_LINE[1])]
    clips = []
    for speaker, at, text in lines:
        clip = speak(text, speaker, LONG_RATE)
        clips.append((0 if speaker == "agent" else 1, round(at * LONG_RATE), clip))
    audible = np.flatnonzero(np.abs(clips[-1][2]) > AUDIBLE_LEVEL)[0] / LONG_RATE
    total, block = round(seconds * LONG_RATE), round(block_s * LONG_RATE)

    def blocks() -> Iterator[np.ndarray]:
        for begin in range(0, total, block):
            audio = np.zeros((2, min(block, total - begin)), dtype=np.float32)
            for row, start, clip in clips:
                lo, hi = max(start, begin), min(start + len(clip), begin + audio.shape[1])
                if lo < hi:
                    audio[row, lo - begin : hi - begin] = clip[lo - start : hi - start]
            yield audio

    write_audio_blocks(path, blocks(), LONG_RATE, bitrate=LONG_BITRATE)
    return late_at + audible


# Runs `callscore` and, as it exits, writes its peak resident memory (VmHWM, KiB) to the file
# named by CALLSCORE_TEST_PEAK. VmHWM belongs to the process's own address space, which starts
# afresh at exec; the kernel's ru_maxrss would also count the (large) test process it forked from.
_MEASURED_CLI = """
import atexit, os, re, sys
def _peak():
    status = open("/proc/self/status").read()
    open(os.environ["CALLSCORE_TEST_PEAK"], "w").write(re.search(r"VmHWM:\\s+(\\d+)", status).group(1))
atexit.register(_peak)
from pipeline.cli import main
main(sys.argv[1:], prog_name="callscore")
"""


def score_measured(path: Path, db: Path) -> tuple[dict, float, float]:
    """`callscore score PATH --db DB --json` in a child process: (its JSON report, its peak
    resident memory in MB, its wall time in seconds)."""
    peak_file = db.with_suffix(".peak")
    started = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", _MEASURED_CLI, "score", str(path), "--db", str(db), "--json"],
                           capture_output=True, text=True, env={**os.environ, "CALLSCORE_TEST_PEAK": str(peak_file)})
    wall = time.perf_counter() - started
    assert child.returncode == 0, child.stderr[-3000:]
    return json.loads(child.stdout), int(peak_file.read_text()) / 1024, wall


@pytest.mark.slow
def test_a_three_hour_call_is_scored_in_the_memory_of_a_ten_minute_one(tmp_path: Path) -> None:
    measured = {}
    for name, seconds in (("ten-minutes", 600.0), ("three-hours", 3 * 3600.0)):
        path = tmp_path / f"{name}.mp3"
        late_at = write_long_call(path, seconds)
        db = tmp_path / f"{name}.duckdb"
        report, peak_mb, wall = score_measured(path, db)
        (outcome,) = report["recordings"]
        assert outcome["status"] == "scored" and outcome["duration_s"] == pytest.approx(seconds, abs=1), outcome
        with duckdb.connect(str(db), read_only=True) as connection:
            late = connection.execute(
                "SELECT start_s, speaker, text FROM segments WHERE start_s > ? ORDER BY start_s", [seconds / 2]
            ).fetchall()
        assert late, f"nothing transcribed in the second half of {name}"
        assert late[0][0] == pytest.approx(late_at, abs=3.0) and late[0][1] == "customer", late
        assert "thank you" in " ".join(text.lower() for _, _, text in late)
        measured[name] = peak_mb
        print(f"{name}: peak RSS {peak_mb:.0f} MB, wall {wall:.1f} s, late line at {late[0][0]:.2f} s (placed {late_at:.2f} s)")
    assert measured["three-hours"] <= measured["ten-minutes"] + MEMORY_MARGIN_MB, measured
    assert measured["three-hours"] < MEMORY_CEILING_MB, measured
