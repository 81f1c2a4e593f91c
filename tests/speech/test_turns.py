"""Speaker turns: the lines of the transcript the LLM is shown and cites; on a mono call, one
sentence each."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.speech.segments import Segment
from pipeline.speech.transcribe import ends_sentence
from pipeline.speech.turns import TURN_MAX_S, speaker_turns
from tests.conftest import MONO_CALL, rows, run_cli


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


def test_a_call_without_speaker_separation_keeps_each_segment_a_line_of_its_own() -> None:
    """On a mono call the next sentence may be the other person's: nothing is joined (it was,
    up to 30 s, and every verdict quoted the same block)."""
    said = [_seg("unknown", 0.5, 2.0, "Good morning, how can I help?"),
            _seg("unknown", 2.3, 5.0, "I have moved house."),
            _seg("unknown", 5.2, 6.0, "No problem.")]
    assert [(t.text, t.segments) for t in speaker_turns(said)] == [
        ("Good morning, how can I help?", (0,)), ("I have moved house.", (1,)), ("No problem.", (2,))]


@pytest.mark.slow
def test_a_mono_dialogue_is_stored_as_sentence_sized_lines_and_cites_one_sentence(card: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    result = run_cli("score", str(MONO_CALL), "--db", str(db), "--scorecard", str(card), "--json")
    assert result.exit_code == 0, result.stderr
    texts = [text for (text,) in rows(db, "SELECT text FROM segments ORDER BY start_s")]
    assert len(texts) >= 10, texts  # the 40 s dialogue: 13 sentences heard by tiny.en
    assert all(sum(ends_sentence(word) for word in text.split()[:-1]) == 0 for text in texts), texts
    assert max(end - start for start, end in rows(db, "SELECT start_s, end_s FROM segments")) < 8.0
    lines = speaker_turns([Segment("unknown", 0, 0.0, 1.0, t, -0.3, 0.1, 1.2) for t in texts])
    assert len(lines) == len(texts)  # one line per sentence, as the LLM is shown them
    cited = rows(db, "SELECT evidence FROM scores WHERE evidence_line IS NOT NULL")
    assert cited and all(evidence in texts for (evidence,) in cited), (cited, texts)
