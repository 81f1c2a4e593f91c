"""Speaker turns: the lines of the transcript the LLM is shown and cites."""

from __future__ import annotations

from pipeline.speech.segments import Segment
from pipeline.speech.turns import TURN_MAX_S, speaker_turns


def _seg(speaker: str, start: float, end: float, text: str) -> Segment:
    return Segment(speaker, 0 if speaker == "agent" else 1, start, end, text, -0.2, 0.01, 1.2)  # type: ignore[arg-type]


def test_a_speakers_segments_with_short_pauses_are_one_turn_until_someone_else_speaks() -> None:
    turns = speaker_turns([
        _seg("agent", 0.5, 2.0, "Thank you for calling."),
        _seg("agent", 3.2, 5.0, " This is Sam."),
        _seg("customer", 5.5, 7.0, "Hi Sam."),
        _seg("customer", 11.0, 12.0, "Are you there?"),  # 4 s of silence: a new turn
        _seg("agent", 12.5, 13.0, "Yes."),
    ])
    assert [(t.speaker, t.start, t.end, t.text, t.segments) for t in turns] == [
        ("agent", 0.5, 5.0, "Thank you for calling. This is Sam.", (0, 1)),
        ("customer", 5.5, 7.0, "Hi Sam.", (2,)),
        ("customer", 11.0, 12.0, "Are you there?", (3,)),
        ("agent", 12.5, 13.0, "Yes.", (4,)),
    ]


def test_a_long_monologue_is_cut_so_a_cited_line_stays_a_moment() -> None:
    talk = [_seg("agent", i * 4.0, i * 4.0 + 3.5, f"Part {i}.") for i in range(20)]  # 80 s, 0.5 s pauses
    turns = speaker_turns(talk)
    assert len(turns) >= 3 and all(t.end - t.start <= TURN_MAX_S for t in turns)
    assert [i for t in turns for i in t.segments] == list(range(20))
