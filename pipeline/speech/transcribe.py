"""Speech to timed text with faster-whisper, one pass per speaker channel (per chunk of a long
recording, see ``Transcriber.transcribe_call``), in one language per call: the one given, else
the one detected on the speech of all channels together (``pipeline.speech.language``).

Settings chosen for call audio: Silero VAD on (silent halves of a stereo call cost nothing),
``condition_on_previous_text=False`` (stops one misheard phrase from repeating for minutes),
the ``vocabulary`` setting's names and terms as ``hotwords`` (every 30 s window) or as the
``initial_prompt`` (the first window only; fewer other words lost: docs/languages.md),
int8 on CPU, where the channels are decoded at once by CTranslate2 workers of their own (their
segments then filtered in channel order, as if one after the other), and float16 on CUDA,
where faster-whisper's batched pipeline decodes
``CUDA_BATCH_SIZE`` stretches of speech at once. Segments that look like Whisper hallucinating on silence are
dropped (``pipeline.speech.hallucinations``). Repeatable: no temperature fallback (``DECODING_TEMPERATURES``),
so the same audio, models and settings give the same transcript every run.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Iterable, Literal

import numpy as np

from pipeline.intake.audio import SAMPLE_RATE, AudioChunk, ChannelAudio
from pipeline.errors import ModelError
from pipeline.stopping import check_stop
from pipeline.speech.english_check import check_english
from pipeline.speech.hallucinations import RepeatGuard, drop_hallucinations, drop_loops
from pipeline.speech.language_runs import MAX_REGIONS, MIN_REGION_S, HeardRegion, LanguageRun, language_runs, revised
from pipeline.speech.language import LANGUAGE_WINDOWS, HeardStretch, LanguageDecision, decide_language
from pipeline.speech.segments import Segment

log = logging.getLogger(__name__)

# VAD stitches speech regions together before decoding, so one Whisper segment can span a long
# silence (for example two separate answers of the customer). Segments are split where the
# words are further apart than this.
SPLIT_GAP_S = 1.0
CUDA_BATCH_SIZE = 16  # stretches of speech (of up to 30 s) decoded together on a GPU
# Whisper decodes at these temperatures, the next only when a text fails its checks (compression
# ratio, log probability). faster-whisper's default (0.0, 0.2, ... 1.0) samples at the higher
# ones, from a random generator CTranslate2 never lets be seeded again: the same call gave another
# transcript each run. Greedy (or beam) decoding alone is repeatable (bench/repeatable.py: what
# the fallback is worth in word error rate).
DECODING_TEMPERATURES: tuple[float, ...] = (0.0,)
DETECTION_WINDOW_S = 30.0  # audio the language detector reads at once, seconds


@dataclass(frozen=True)
class HeardCall:
    """A call's segments, merged in time order, and the language they were transcribed in."""

    segments: list[Segment]
    language: LanguageDecision
    speech_s: float = 0.0  # seconds of speech Whisper was given (after VAD), all channels


@dataclass(frozen=True)
class DeviceChoice:
    device: Literal["cpu", "cuda"]
    compute_type: Literal["int8", "float16"]

    @property
    def batched(self) -> bool:
        """Decode with faster-whisper's batched pipeline: on a GPU, where batches fill it; on the
        CPU a batch takes as long as its parts one after another, so there is nothing to gain."""
        return self.device == "cuda"


def cuda_device_count() -> int:
    import ctranslate2

    try:
        return ctranslate2.get_cuda_device_count()
    except Exception:  # a broken CUDA install reads as "no GPU"
        return 0


def choose_device(requested: Literal["auto", "cpu", "cuda"], *, cuda_devices: int | None = None) -> DeviceChoice:
    """``auto``: CUDA (float16) when a GPU is visible, else CPU (int8) with a log line."""
    count = cuda_device_count() if cuda_devices is None else cuda_devices
    if requested == "cuda" and count == 0:
        raise ModelError("device is 'cuda' but no CUDA device is visible; use --device cpu or auto")
    if requested == "cpu" or count == 0:
        if requested == "auto":
            log.info("no CUDA device found: transcribing on the CPU with int8")
        return DeviceChoice("cpu", "int8")
    return DeviceChoice("cuda", "float16")


@dataclass(frozen=True)
class CpuSplit:
    """How Whisper uses the CPU: ``workers`` decode channels at once, ``threads`` each (0:
    CTranslate2's own choice)."""

    workers: int
    threads: int


def cpu_split(workers: int | None, threads: int | None, cores: int) -> CpuSplit:
    """The settings' split, the unset parts filled in: two workers when there are two cores or
    more (a call has two channels; measured on tiny.en, two workers of one thread beat one of
    two), and the cores shared among them."""
    workers = workers or min(2, max(1, cores))
    return CpuSplit(workers, threads or max(1, cores // workers))


@dataclass(frozen=True)
class VadSettings:
    """What Silero VAD passes to Whisper: a stretch of speech ends after ``min_silence_ms`` of
    silence, and ``speech_pad_ms`` of audio is kept either side (faster-whisper's defaults)."""

    min_silence_ms: int = 2000
    speech_pad_ms: int = 400


class Transcriber:
    """A loaded faster-whisper model. Create once per process; ``transcribe`` is re-entrant."""

    def __init__(
        self,
        model: str,
        *,
        device: Literal["auto", "cpu", "cuda"] = "auto",
        beam_size: int = 1,
        language: str | None = None,
        cpu: CpuSplit | None = None,
        vad: VadSettings | None = None,
        vocabulary: Iterable[str] = (),
        languages: Iterable[str] = (),
        vocabulary_as: Literal["hotwords", "initial_prompt"] = "hotwords",
        temperatures: tuple[float, ...] = DECODING_TEMPERATURES,
    ) -> None:
        """``language``: the code every call is transcribed in unless one is given per call
        (None: detected per call, among ``languages`` when given); ``vocabulary``: names and
        terms passed to Whisper as ``vocabulary_as``; ``temperatures``: Whisper's decoding
        temperatures, the next tried when a text fails its checks (more than one samples, and
        the same audio then gives other text on another run); ``cpu``: how the CPU's cores are
        used (None: one worker, CTranslate2's own thread count); ``vad``: what Silero VAD passes
        to Whisper."""
        from faster_whisper import WhisperModel

        self.choice = choose_device(device)
        self.model_name = model
        self.beam_size = beam_size
        self.temperatures = tuple(temperatures)
        self.language = language
        vocabulary = tuple(vocabulary)
        terms = ", ".join(vocabulary) or None
        self.vocabulary_options = {vocabulary_as: terms} if terms else {}
        self.languages = tuple(languages)
        cpu = cpu or CpuSplit(1, 0)
        self.workers = cpu.workers if self.choice.device == "cpu" else 1
        self.vad = vad or VadSettings()
        try:
            self._model = WhisperModel(
                model,
                device=self.choice.device,
                compute_type=self.choice.compute_type,
                cpu_threads=cpu.threads,
                num_workers=self.workers,
            )
        except Exception as exc:  # faster-whisper raises many kinds for a bad model
            raise ModelError(
                f"cannot load Whisper model {model!r}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                " (give --whisper-model a CTranslate2 model directory, or a model name that can be downloaded)"
            ) from exc
        if vocabulary:
            self._say_vocabulary_read(vocabulary)
        self._batched = None
        if self.choice.batched:
            from faster_whisper import BatchedInferencePipeline

            self._batched = BatchedInferencePipeline(self._model)

    def _say_vocabulary_read(self, vocabulary: tuple[str, ...]) -> None:
        """Warn when Whisper reads only part of the vocabulary: its prompt takes at most half
        its context (``max_length // 2 - 1`` tokens, 223), the first terms first."""
        budget = self._model.max_length // 2 - 1

        def tokens(count: int) -> int:
            return len(self._model.hf_tokenizer.encode(" " + ", ".join(vocabulary[:count])).ids)

        used = tokens(len(vocabulary))
        if used <= budget:
            return
        low, high = 0, len(vocabulary)  # the most terms whose tokens fit: binary search
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if tokens(middle) <= budget else (low, middle - 1)
        log.warning("the vocabulary's %d terms take %d Whisper tokens; Whisper reads the first %d, so only the "
                    "first %d terms are used: list the most important first", len(vocabulary), used, budget, low)

    @property
    def multilingual(self) -> bool:
        """Whether the model knows other languages than English (tiny.en does not)."""
        return bool(self._model.model.is_multilingual)

    def transcribe(self, channels: Iterable[ChannelAudio]) -> list[Segment]:
        """Transcribe every channel and return its segments merged in time order."""
        return self.transcribe_stream([AudioChunk(offset_s=0.0, channels=tuple(channels))])

    def transcribe_stream(self, chunks: Iterable[AudioChunk]) -> list[Segment]:
        """``transcribe_call``'s segments."""
        return self.transcribe_call(chunks).segments

    def transcribe_call(self, chunks: Iterable[AudioChunk], *, language: str | None = None) -> HeardCall:
        """Transcribe a recording chunk by chunk (as ``audio.decode_stream`` yields them) in one
        language: ``language``, else this transcriber's, else the one detected on the first
        chunk; a call detected unsure or mixed, stretch by stretch in each one's language
        (``pipeline.speech.language_runs``). Segments merged in time order, times in seconds
        from the start of the recording. Only one chunk is held at a time; a loop of one text is
        caught across chunks."""
        segments: list[Segment] = []
        repeats = RepeatGuard()
        decision: LanguageDecision | None = None
        by_stretch = False
        speech_s = 0.0
        for chunk in chunks:
            plans: dict[int, list[LanguageRun]] = {}
            if decision is None:
                decision = self.decide_language(chunk, language=language or self.language)
                by_stretch = self.multilingual and decision.source == "detected" and (
                    decision.uncertain or decision.mixed)
                if by_stretch:
                    plans = self._language_plans(chunk, decision)
                    decision = revised(decision, [run for runs in plans.values() for run in runs])
            elif by_stretch:
                plans = self._language_plans(chunk, decision)
            parts = [part for index, channel in enumerate(chunk.channels)
                     for part in _parts(channel, plans.get(index), language=decision.language, offset_s=chunk.offset_s)]
            for part, (decoded, seconds) in zip(parts, self._decode_all(parts)):
                segments.extend(self._kept(decoded, part, repeats=repeats))
                speech_s += seconds
            del chunk  # free this chunk's samples before the next one is decoded
        segments.sort(key=lambda s: (s.start, s.end))
        decision = decision or LanguageDecision(language or self.language or "en", None, "given")
        if decision.source == "model" and check_english(segments, speech_s).suspect:
            decision = replace(decision, suspect=True)
        return HeardCall(segments, decision, round(speech_s, 3))

    def _language_plans(self, chunk: AudioChunk, decision: LanguageDecision) -> dict[int, list[LanguageRun]]:
        """Each channel's (by index) speech as runs of one language, heard region by region."""
        from faster_whisper.vad import get_speech_timestamps

        plans: dict[int, list[LanguageRun]] = {}
        for index, channel in enumerate(chunk.channels):
            regions = []
            for number, span in enumerate(get_speech_timestamps(channel.samples) if channel.samples.size else []):
                start, end = span["start"], span["end"]
                read = number < MAX_REGIONS and (end - start) / SAMPLE_RATE >= MIN_REGION_S
                regions.append(HeardRegion(start, end, self._hear(channel.samples[start:end]).probabilities
                                           if read else None))
            plans[index] = language_runs(regions, fallback=decision.language, allowed=self.languages)
        return plans

    def decide_language(self, chunk: AudioChunk, *, language: str | None = None) -> LanguageDecision:
        """The call's language: English for an English-only model (whatever is given, with a log
        line, as faster-whisper does); ``language`` when given; else detected on up to
        ``LANGUAGE_WINDOWS`` stretches of the chunk's speech, taken from its channels in turn
        (see ``pipeline.speech.language``)."""
        if not self.multilingual:
            if language not in (None, "en"):
                log.warning("%s is English-only: transcribing a call given as %r in English (use a multilingual "
                            "--whisper-model, e.g. whisper-base-multilingual)", self.model_name, language)
            return LanguageDecision("en", None, "model")
        if language is not None:
            return LanguageDecision(language, None, "given")
        return decide_language([self._hear(window) for window in _speech_windows(chunk.channels)],
                               allowed=self.languages)

    def _hear(self, samples: np.ndarray) -> HeardStretch:
        check_stop()
        _language, _probability, ranked = self._model.detect_language(audio=samples, language_detection_segments=1)
        return HeardStretch(len(samples) / SAMPLE_RATE, dict(ranked))

    def _decode_all(self, parts: list[ChannelPart]) -> list[tuple[list[Any], float]]:
        """Each part's decoded Whisper segments and seconds of speech (what VAD passed on), in the
        order given; up to ``workers`` parts are decoded at once."""
        if self.workers == 1 or len(parts) < 2:
            return [self._decode(part) for part in parts]
        with ThreadPoolExecutor(self.workers, thread_name_prefix="whisper") as pool:
            return list(pool.map(self._decode, parts))

    def _decode(self, part: ChannelPart) -> tuple[list[Any], float]:
        if part.audio.samples.size == 0:
            return [], 0.0
        options: dict[str, Any] = dict(beam_size=self.beam_size, language=part.language, vad_filter=True,
                                       vad_parameters=dict(min_silence_duration_ms=self.vad.min_silence_ms,
                                                           speech_pad_ms=self.vad.speech_pad_ms),
                                       word_timestamps=True, temperature=list(self.temperatures),
                                       **self.vocabulary_options)
        if self._batched is not None:  # VAD cuts the speech into stretches that are decoded in batches
            generator, info = self._batched.transcribe(part.audio.samples, batch_size=CUDA_BATCH_SIZE, **options)
        else:
            generator, info = self._model.transcribe(part.audio.samples, condition_on_previous_text=False, **options)
        decoded = []
        for segment in generator:  # consumes the generator: decoding happens here
            check_stop()  # a stop asked for ends the transcription at the next segment
            decoded.append(segment)
        return decoded, float(info.duration_after_vad)

    @staticmethod
    def _kept(decoded: list[Any], part: ChannelPart, *, repeats: RepeatGuard) -> list[Segment]:
        """A part's segments as callscore keeps them: loops dropped (judged whole, before the
        cuts), split at pauses, hallucinations dropped (a loop caught across parts too)."""
        raw = [piece for segment in drop_loops(decoded)
               for piece in split_at_pauses(segment, part.audio, offset_s=part.offset_s)]
        return drop_hallucinations(raw, repeats=repeats)


@dataclass(frozen=True)
class ChannelPart:
    """Audio of one channel transcribed in one language: the whole channel, or one run of a
    call heard stretch by stretch; ``offset_s``: where it starts in the recording, seconds."""

    audio: ChannelAudio
    language: str
    offset_s: float


def _parts(channel: ChannelAudio, runs: list[LanguageRun] | None, *, language: str, offset_s: float) -> list[ChannelPart]:
    """The channel in ``language``, or each of its ``runs`` in the run's own."""
    if runs is None:
        return [ChannelPart(channel, language, offset_s)]
    return [ChannelPart(ChannelAudio(channel.speaker, channel.channel, channel.samples[run.start:run.end]),
                        run.language, offset_s + run.start / SAMPLE_RATE) for run in runs]


def _speech_windows(channels: Iterable[ChannelAudio]) -> list[np.ndarray]:
    """Up to ``LANGUAGE_WINDOWS`` stretches of speech (Silero VAD) of up to
    ``DETECTION_WINDOW_S`` each, taken from the channels in turn, so each side is heard."""
    from faster_whisper.vad import collect_chunks, get_speech_timestamps

    size = round(DETECTION_WINDOW_S * SAMPLE_RATE)
    per_channel: list[list[np.ndarray]] = []
    for channel in channels:
        if channel.samples.size == 0:
            continue
        pieces, _ = collect_chunks(channel.samples, get_speech_timestamps(channel.samples))
        speech = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        per_channel.append([speech[i:i + size] for i in range(0, len(speech), size) if len(speech[i:i + size])])
    windows: list[np.ndarray] = []
    for turn in range(max((len(w) for w in per_channel), default=0)):
        windows += [w[turn] for w in per_channel if turn < len(w)]
    return windows[:LANGUAGE_WINDOWS]


# A word ending in one of these ends a sentence, unless it is a title or a common abbreviation.
_SENTENCE_END = re.compile(r"[.?!\u2026\u3002\uff1f\uff01][\"'\u201d\u2019)]*$")
_ABBREVIATIONS = frozenset({"mr.", "mrs.", "ms.", "dr.", "st.", "no.", "vs.", "etc.", "e.g.", "i.e.", "approx."})


def ends_sentence(word: str) -> bool:
    """Whether a transcribed ``word`` (with its punctuation) ends a sentence."""
    word = word.strip()
    return bool(_SENTENCE_END.search(word)) and word.lower() not in _ABBREVIATIONS


def split_at_pauses(
    segment: Any, channel: ChannelAudio, *, gap_s: float = SPLIT_GAP_S, offset_s: float = 0.0
) -> list[Segment]:
    """One faster-whisper segment as one or more ``Segment``s, cut where words are more than
    ``gap_s`` seconds apart, and, on a channel whose speaker is not known (a mono call), at every
    sentence end too: there each line may be another speaker's, and cited evidence should point at
    a sentence, not at 30 s of speech. Times come from the words, shifted by ``offset_s`` seconds
    (where the transcribed chunk starts in the recording)."""
    words = list(segment.words or [])
    at_sentences = channel.speaker == "unknown"
    groups: list[list[Any]] = []
    for word in words:
        if (groups and word.start - groups[-1][-1].end <= gap_s
                and not (at_sentences and ends_sentence(groups[-1][-1].word))):
            groups[-1].append(word)
        else:
            groups.append([word])
    spans = [(g[0].start, g[-1].end, "".join(w.word for w in g)) for g in groups] or [
        (segment.start, segment.end, segment.text)
    ]
    return [
        Segment(
            speaker=channel.speaker,
            channel=channel.channel,
            start=round(offset_s + float(start), 3),
            end=round(offset_s + float(end), 3),
            text=text.strip(),
            avg_logprob=float(segment.avg_logprob),
            no_speech_prob=float(segment.no_speech_prob),
            compression_ratio=float(segment.compression_ratio),
        )
        for start, end, text in spans
    ]
