"""Speaker turns: a speaker's consecutive segments joined into one line, as people read a
transcript and as the LLM is shown it (one numbered line per turn).

Segments are cut wherever words are more than a second apart, so one turn of speech is often
several segments. A turn goes on while the same speaker keeps talking with pauses of at most
``TURN_GAP_S`` and nobody else starts in between; it is cut at ``TURN_MAX_S`` so that a line
cited as evidence stays one moment of the call. Segments of speaker ``unknown`` (a call without
speaker separation) are never joined: the next sentence may be the other person's, and each
is a line of its own (transcription cuts such speech at sentence ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from pipeline.intake.audio import Speaker
from pipeline.speech.segments import Segment

TURN_GAP_S = 3.0  # a longer pause ends the turn (non-talk time counts pauses over 3 s)
TURN_MAX_S = 30.0  # a turn longer than this goes on in a new line


@dataclass(frozen=True)
class Turn:
    """One speaker's stretch of speech. Times in seconds from the start of the recording."""

    speaker: Speaker
    start: float
    end: float
    text: str
    segments: tuple[int, ...]  # indexes of the segments it joins, in order


def speaker_turns(segments: Sequence[Segment]) -> list[Turn]:
    """The call as turns, in time order (``segments`` are taken in the order given)."""
    turns: list[Turn] = []
    for index, segment in enumerate(segments):
        text = segment.text.strip()
        last = turns[-1] if turns else None
        if (last is not None and last.speaker == segment.speaker != "unknown" and segment.start - last.end <= TURN_GAP_S
                and segment.end - last.start <= TURN_MAX_S):
            turns[-1] = Turn(last.speaker, last.start, max(last.end, segment.end), f"{last.text} {text}".strip(),
                             last.segments + (index,))
        else:
            turns.append(Turn(segment.speaker, segment.start, segment.end, text, (index,)))
    return turns
