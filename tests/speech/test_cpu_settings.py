"""The speed settings reach faster-whisper and llama.cpp, and decoding the channels at once
changes nothing in what is heard."""

import threading

import pytest

from pipeline.config import load_settings
from pipeline.intake.audio import AudioChunk, decode
from pipeline.models.choice import embedded_whisper_model
from pipeline.processing.procedure import CallProcessor
from pipeline.scoring.llama_backend import default_threads
from pipeline.speech.transcribe import CpuSplit, Transcriber, VadSettings, cpu_split
from tests.conftest import GOOD_CALL


def test_cpu_split_fills_in_what_is_unset() -> None:
    assert cpu_split(None, None, 2) == CpuSplit(2, 1)  # two channels, one core each
    assert cpu_split(None, None, 16) == CpuSplit(2, 8)
    assert cpu_split(None, None, 1) == CpuSplit(1, 1)
    assert cpu_split(1, None, 2) == CpuSplit(1, 2)
    assert cpu_split(3, 2, 2) == CpuSplit(3, 2)  # as given, however many cores


def test_the_llm_leaves_one_core_to_the_rest() -> None:
    assert [default_threads(cores) for cores in (1, 2, 4, 16)] == [1, 1, 3, 15]


@pytest.mark.slow
def test_two_workers_decode_the_channels_at_once_and_hear_the_same() -> None:
    channels = decode(GOOD_CALL).channels
    one = Transcriber(str(embedded_whisper_model()), device="cpu", cpu=CpuSplit(1, 2))
    two = Transcriber(str(embedded_whisper_model()), device="cpu", cpu=CpuSplit(2, 1))
    assert (one._model.model.num_workers, two._model.model.num_workers) == (1, 2)
    decoding: set[str] = set()
    decode_part = two._decode

    def watched(part):
        decoding.add(threading.current_thread().name)
        return decode_part(part)

    two._decode = watched  # type: ignore[method-assign]
    heard_by_one, heard_by_two = one.transcribe(channels), two.transcribe(channels)
    assert len(decoding) == 2 and all(name.startswith("whisper") for name in decoding)
    assert [(s.speaker, s.start, s.end, s.text) for s in heard_by_two] == \
        [(s.speaker, s.start, s.end, s.text) for s in heard_by_one]


@pytest.mark.slow
def test_vad_settings_reach_faster_whisper() -> None:
    """More padding around each stretch of speech gives Whisper more audio."""
    channels = decode(GOOD_CALL).channels

    def speech_s(pad_ms: int) -> float:
        transcriber = Transcriber(str(embedded_whisper_model()), device="cpu", cpu=CpuSplit(2, 1),
                                  vad=VadSettings(min_silence_ms=500, speech_pad_ms=pad_ms))
        return transcriber.transcribe_call([AudioChunk(offset_s=0.0, channels=tuple(channels))]).speech_s

    assert speech_s(1000) > speech_s(0) + 1.0


@pytest.mark.slow
def test_thread_settings_reach_whisper_and_llama_cpp() -> None:
    settings = load_settings({"whisper_workers": 2, "whisper_threads": 1, "llm_threads": 1,
                              "llm_batch_threads": 2, "beam_size": 2, "device": "cpu"})
    processor = CallProcessor(settings)
    assert processor.transcriber.workers == 2 and processor.transcriber.beam_size == 2
    assert processor.transcriber._model.model.num_workers == 2
    import llama_cpp

    context = processor.scorer.backend._llm.ctx
    assert (llama_cpp.llama_n_threads(context), llama_cpp.llama_n_threads_batch(context)) == (1, 2)

