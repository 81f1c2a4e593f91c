"""Transcription with the real embedded tiny.en model, device choice, hallucination filter."""

import logging
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline.intake.audio import ChannelAudio, decode
from pipeline.errors import ModelError
from pipeline.models.choice import embedded_whisper_model
from pipeline.speech.segments import Segment
from pipeline.speech.hallucinations import drop_hallucinations, drop_loops, is_hallucination
from pipeline.speech.transcribe import Transcriber, choose_device, ends_sentence, split_at_pauses
from tests.conftest import GOOD_CALL, MONO_CALL


@pytest.fixture(scope="module")
def transcriber() -> Transcriber:
    return Transcriber(str(embedded_whisper_model()), device="auto")


@pytest.mark.slow
def test_stereo_call_gives_timed_segments_per_speaker(transcriber: Transcriber) -> None:
    call = decode(GOOD_CALL)
    segments = transcriber.transcribe(call.channels)
    assert {s.speaker for s in segments} == {"agent", "customer"}
    assert [s.start for s in segments] == sorted(s.start for s in segments)
    assert all(0 <= s.start < s.end <= call.duration_s + 0.1 for s in segments)
    assert all(-5 < s.avg_logprob <= 0 and 0 <= s.no_speech_prob <= 1 for s in segments)
    first = segments[0]
    assert first.speaker == "agent" and "thank you for calling" in first.text.lower()
    agent_text = " ".join(s.text.lower() for s in segments if s.speaker == "agent")
    customer_text = " ".join(s.text.lower() for s in segments if s.speaker == "customer")
    assert "anything else" in agent_text and "sorry to hear" in agent_text
    assert "higher than usual" in customer_text and "anything else" not in customer_text


@pytest.mark.slow
def test_segments_do_not_bridge_the_other_speakers_turn(transcriber: Transcriber) -> None:
    """The customer's first answer (6.7-12.2 s) and second (23-29 s) stay apart, although VAD
    stitches the customer's channel together before decoding."""
    segments = transcriber.transcribe(decode(GOOD_CALL).channels)
    customer = [s for s in segments if s.speaker == "customer"]
    assert customer[0].end < 13.0
    assert not any(s.start < 13.0 < s.end for s in customer)
    assert any(22.5 < s.start < 25 for s in customer)


@pytest.mark.slow
def test_mono_call_is_transcribed_as_unknown_speaker(transcriber: Transcriber) -> None:
    segments = transcriber.transcribe(decode(MONO_CALL).channels)
    assert segments and {s.speaker for s in segments} == {"unknown"}
    assert "address" in " ".join(s.text.lower() for s in segments)


def test_auto_device_falls_back_to_cpu_int8_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pipeline"):
        choice = choose_device("auto", cuda_devices=0)
    assert (choice.device, choice.compute_type) == ("cpu", "int8")
    assert "no CUDA device" in caplog.text


def test_auto_device_picks_cuda_float16_when_a_gpu_is_visible() -> None:
    choice = choose_device("auto", cuda_devices=1)
    assert (choice.device, choice.compute_type) == ("cuda", "float16")
    assert choose_device("cpu", cuda_devices=1).device == "cpu"


def test_only_a_gpu_uses_the_batched_pipeline() -> None:
    assert choose_device("auto", cuda_devices=1).batched
    assert not choose_device("auto", cuda_devices=0).batched
    assert not choose_device("cpu", cuda_devices=1).batched


def test_cuda_requested_without_a_gpu_is_a_setup_error() -> None:
    with pytest.raises(ModelError, match="no CUDA device"):
        choose_device("cuda", cuda_devices=0)


@pytest.mark.slow
def test_unloadable_whisper_model_is_a_setup_error(tmp_path) -> None:
    (tmp_path / "model.bin").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load Whisper model"):
        Transcriber(str(tmp_path), device="cpu")


def _segment(text: str, *, start: float = 0.0, logprob: float = -0.3, no_speech: float = 0.1, ratio: float = 1.2) -> Segment:
    return Segment("agent", 0, start, start + 1, text, logprob, no_speech, ratio)


@pytest.mark.parametrize(
    ("segment", "dropped"),
    [
        (_segment("Thank you for calling."), False),
        (_segment("Thank you.", logprob=-1.4, no_speech=0.9), True),  # made up on silence
        (_segment("Thank you.", logprob=-0.2, no_speech=0.9), False),  # confident speech
        (_segment("so so so so so so so so so so so so", ratio=3.1), True),  # compressible loop
        (_segment("I see, I see, I see, I see, I see"), True),  # one phrase four times over
    ],
)
def test_hallucination_rules(segment: Segment, dropped: bool) -> None:
    assert is_hallucination(segment.text, segment.avg_logprob, segment.no_speech_prob, segment.compression_ratio) is dropped


def test_runs_of_the_same_text_are_cut_to_two() -> None:
    loop = [_segment("Okay.", start=i) for i in range(5)] + [_segment("Goodbye.", start=6)]
    assert [s.text for s in drop_hallucinations(loop)] == ["Okay.", "Okay.", "Goodbye."]


@pytest.mark.slow
def test_a_vocabulary_longer_than_whisper_reads_says_how_much_is_used(caplog: pytest.LogCaptureFixture) -> None:
    terms = [f"Product{i}" for i in range(10_000)]
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        Transcriber(str(embedded_whisper_model()), device="cpu", vocabulary=terms)
    said = caplog.text
    assert "the vocabulary's 10000 terms take" in said and "Whisper reads the first 223" in said
    used = int(said.split("so only the first ")[1].split()[0])
    assert 10 < used < 223  # the terms that fit, counted with the model's own tokenizer
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pipeline"):
        Transcriber(str(embedded_whisper_model()), device="cpu", vocabulary=terms[:20])
    assert "vocabulary" not in caplog.text


def _whisper_segment(words: list[tuple[float, float, str]]) -> SimpleNamespace:
    """A faster-whisper segment as it comes, with word timings (seconds)."""
    return SimpleNamespace(words=[SimpleNamespace(start=a, end=b, word=w) for a, b, w in words],
                           start=words[0][0], end=words[-1][1], text="".join(w for _, _, w in words),
                           avg_logprob=-0.3, no_speech_prob=0.1, compression_ratio=1.3)


SPOKEN = [(0.0, 0.4, " Hello,"), (0.4, 0.8, " Mr."), (0.8, 1.2, " Dawson."), (1.3, 1.6, " How"),
          (1.6, 1.8, " can"), (1.8, 2.0, " I"), (2.0, 2.3, " help?"), (2.5, 2.9, " I've"), (2.9, 3.3, " moved.")]


def test_a_mono_channel_is_cut_at_sentence_ends_and_a_speakers_channel_at_pauses_only() -> None:
    mono = ChannelAudio("unknown", -1, np.zeros(16, dtype=np.float32))
    agent = ChannelAudio("agent", 0, np.zeros(16, dtype=np.float32))
    assert [(s.start, s.end, s.text) for s in split_at_pauses(_whisper_segment(SPOKEN), mono)] == [
        (0.0, 1.2, "Hello, Mr. Dawson."), (1.3, 2.3, "How can I help?"), (2.5, 3.3, "I've moved.")]
    assert [s.text for s in split_at_pauses(_whisper_segment(SPOKEN), agent)] == [
        "Hello, Mr. Dawson. How can I help? I've moved."]
    assert ends_sentence(" done.\u201d") and ends_sentence("\u308f\u304b\u308a\u307e\u3057\u305f\u3002")
    assert not ends_sentence(" Dr.") and not ends_sentence(" well,")


def _decoded(seek: int, ratio: float, text: str) -> SimpleNamespace:
    """A faster-whisper segment of the window at ``seek`` whose text compresses by ``ratio``."""
    return SimpleNamespace(seek=seek, compression_ratio=ratio, avg_logprob=-0.3, text=text)


def test_a_window_that_loops_keeps_its_sentences_heard_once() -> None:
    window = [_decoded(0, 3.3, " Hi, I would like to check the balance on my account please."),
              _decoded(0, 3.3, " Great, thank you, that is all I needed."),
              _decoded(0, 3.3, " I am not a god," * 30)]  # a loop of its own: compresses far over 2.4
    looping = [_decoded(3000, 12.0, " I am not even a fan of the fan"), _decoded(3000, 12.0, " of the fan I am not"),
               _decoded(3000, 12.0, " I am not even a fan")]  # one loop cut into segments that look fine alone
    sound = [_decoded(6000, 1.4, " Thank you for calling."), _decoded(6000, 1.4, " Thank you for calling, Sam here.")]
    assert [s.text for s in drop_loops(window + looping + sound)] == [
        window[0].text, window[1].text, sound[0].text, sound[1].text]  # a sound window's repeats are speech
