"""What the transcribe stage hands on: facts about the audio and the timed text, no samples.

A ``Transcription`` either carries a ``NewTranscript`` (the recording was decoded and transcribed
in this run, so the warehouse stores the text) or an earlier transcript by the same Whisper
model, re-used so that a new scorecard, prompt or LLM re-scores a call without decoding it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pipeline.intake.audio import AudioInfo, ChannelLayout
from pipeline.speech.language import LanguageDecision
from pipeline.speech.segments import Segment

CallStatus = Literal["scored", "no_speech", "too_short"]


@dataclass(frozen=True)
class NewTranscript:
    """A transcript made in this run, as the warehouse stores it."""

    device: str
    segments: tuple[Segment, ...]  # already redacted
    seconds: float  # wall time to decode and transcribe
    redaction: tuple[str, ...] = ()  # kinds of personal data masked (pipeline.speech.redact.PII_KINDS)
    redactions: dict[str, int] = field(default_factory=dict)  # kind -> items masked
    language: LanguageDecision | None = None  # the one language the call was transcribed in

    @property
    def language_suspect(self) -> bool:
        """An English-only model transcribed it, and it is probably in another language."""
        return self.language is not None and self.language.suspect


@dataclass(frozen=True)
class Transcription:
    """One recording's text and audio facts, new or re-used."""

    audio: AudioInfo | None  # None when the transcript was stored earlier
    duration_s: float | None  # decoded audio seconds
    truncated: bool
    transcript: NewTranscript | None  # a new transcription; None when too short, or stored earlier
    stored_segments: tuple[Segment, ...] | None = None  # an earlier transcript by the same model
    channel_layout: ChannelLayout | None = None  # None when the transcript was stored earlier
    stored_language: str | None = None  # the language of an earlier transcript, when known

    @classmethod
    def reused(cls, segments: tuple[Segment, ...], *, duration_s: float | None,
               language: str | None = None) -> "Transcription":
        """An earlier transcript, stored by the same Whisper model (``duration_s``: audio seconds;
        ``language``: the language it was made in, when known)."""
        return cls(audio=None, duration_s=duration_s, truncated=False, transcript=None, stored_segments=segments,
                   stored_language=language)

    @property
    def segments(self) -> tuple[Segment, ...]:
        if self.transcript is not None:
            return self.transcript.segments
        return self.stored_segments or ()

    @property
    def status(self) -> CallStatus:
        """'too_short' (not transcribed), 'no_speech' (nothing said) or 'scored' (to be scored)."""
        if self.transcript is None and self.stored_segments is None:
            return "too_short"
        return "scored" if self.segments else "no_speech"

    @property
    def language(self) -> str | None:
        """The code of the language the call was transcribed in (None: not known)."""
        if self.transcript is not None and self.transcript.language is not None:
            return self.transcript.language.language
        return self.stored_language

    @property
    def language_suspect(self) -> bool:
        """An English-only model transcribed it, and it is probably in another language."""
        return self.transcript is not None and self.transcript.language_suspect

    @property
    def trusted_language(self) -> str | None:
        """``language``, or None when it is suspect: what sentiment and the speaking rate go by."""
        return None if self.language_suspect else self.language

    @property
    def flags(self) -> tuple[str, ...]:
        """What a supervisor should know of this call's audio: ``truncated``, ``dual_mono``,
        ``silent_agent`` / ``silent_customer``, ``mixed_language``, ``uncertain_language``,
        ``language_suspect``."""
        flags = ["truncated"] if self.truncated else []
        if self.channel_layout in ("dual_mono", "silent_agent", "silent_customer"):
            flags.append(self.channel_layout)
        decision = self.transcript.language if self.transcript is not None else None
        if decision is not None and decision.mixed:
            flags.append("mixed_language")
        if decision is not None and decision.uncertain:
            flags.append("uncertain_language")
        if self.language_suspect:
            flags.append("language_suspect")
        return tuple(flags)

    @property
    def seconds(self) -> float:
        """Wall seconds spent transcribing in this run (0 for a re-used transcript)."""
        return self.transcript.seconds if self.transcript is not None else 0.0
