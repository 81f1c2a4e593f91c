"""Redaction in the pipeline: personal data said on a real call never reaches the warehouse or
the LLM, a transcript stored unmasked (before redaction was on) is masked before the LLM reads it,
and redaction can be turned off."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from pipeline.scoring.llama_backend import LlamaBackend
from pipeline.store.warehouse import Warehouse
from samples.synth import Turn, add_line_noise, lay_out, write_audio
from tests.conftest import run_cli
from tests.factories import call_record, seg

LONG_DIGITS = re.compile(r"\d[\d\s,.-]{4,}\d")  # six or more digits in a run, however grouped



@pytest.fixture
def llm_inputs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every prompt the LLM is given, in either style: a form's messages, or each statement's
    prompt (the real model still answers)."""
    seen: list[str] = []
    for name in ("fill_form", "read_statement", "write_text"):
        original = getattr(LlamaBackend, name)

        def recording(self, prompt, *args, _original=original, **kwargs):
            seen.append(prompt if isinstance(prompt, str) else "\n".join(m["content"] for m in prompt))
            return _original(self, prompt, *args, **kwargs)

        monkeypatch.setattr(LlamaBackend, name, recording)
    return seen


def _card_call(path: Path) -> Path:
    channels, _ = lay_out([
        Turn("agent", "Northwind Energy, how can I pay for you today?"),
        Turn("customer", "I want to pay by card. The number is 4 5 3 9, 1 4 8 8, 0 3 4 3, 6 4 6 7."),
        Turn("agent", "Thank you. And your account number?"),
        Turn("customer", "It is 7 3 5 2 9 1 0 8."),
    ], 16_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_audio(path, add_line_noise(channels), 16_000)
    return path


@pytest.mark.slow
def test_numbers_said_on_a_call_are_masked_in_the_warehouse_and_the_prompt(tmp_path: Path, card: Path,
                                                                         llm_inputs: list[str]) -> None:
    db = tmp_path / "w.duckdb"
    result = run_cli("score", str(_card_call(tmp_path / "in" / "pay.mp3")), "--db", str(db), "--scorecard", str(card))
    assert result.exit_code == 0, result.stderr
    with duckdb.connect(str(db), read_only=True) as connection:
        text = " ".join(t for (t,) in connection.execute("SELECT text FROM segments").fetchall())
        counts = connection.execute("SELECT redacted_cards + redacted_numbers + redacted_phones, redaction"
                                    " FROM transcripts").fetchone()
    assert "[CARD]" in text or "[NUMBER]" in text, text
    assert not LONG_DIGITS.search(text), text
    assert counts[0] >= 2 and counts[1] == "card,email,phone,number"
    assert llm_inputs and not any(LONG_DIGITS.search(prompt) for prompt in llm_inputs)


@pytest.mark.slow
def test_a_transcript_stored_unmasked_is_masked_before_the_llm_reads_it(tmp_path: Path, card: Path,
                                                                      llm_inputs: list[str]) -> None:
    """A warehouse from before redaction: re-scoring with a new scorecard reads its stored transcript."""
    audio = tmp_path / "old.mp3"
    _card_call(audio)
    from pipeline.intake.inbox import file_identity

    recording_id, _ = file_identity(audio)
    db = tmp_path / "w.duckdb"
    unmasked = [seg("customer", 1.0, 6.0, "My card is 4111 1111 1111 1111, mail me at jane.doe@example.com"),
                seg("agent", 6.5, 8.0, "Thanks, Northwind Energy.")]
    with Warehouse.open(db) as warehouse:
        record = call_record(recording_id, [("greeted", True, 0.9)], segments=unmasked)
        warehouse.save_call(record)  # transcribed by tiny.en, the embedded Whisper model
    result = run_cli("score", str(audio), "--db", str(db), "--scorecard", str(card), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["recordings"][0]["status"] == "scored"
    with_transcript = [prompt for prompt in llm_inputs if "Northwind" in prompt]  # not a calibration's
    assert with_transcript and not any("4111" in p or "jane.doe" in p for p in llm_inputs)
    assert all("[CARD]" in prompt and "[EMAIL]" in prompt for prompt in with_transcript)


@pytest.mark.slow
def test_redaction_can_be_turned_off(tmp_path: Path, card: Path, llm_inputs: list[str]) -> None:
    db = tmp_path / "w.duckdb"
    result = run_cli("score", str(_card_call(tmp_path / "in" / "pay.mp3")), "--db", str(db), "--scorecard", str(card),
                     "--redact", "none")
    assert result.exit_code == 0, result.stderr
    with duckdb.connect(str(db), read_only=True) as connection:
        text = " ".join(t for (t,) in connection.execute("SELECT text FROM segments").fetchall())
        counts = connection.execute("SELECT redacted_cards, redaction FROM transcripts").fetchone()
    assert "[CARD]" not in text and "[NUMBER]" not in text
    assert counts == (None, "")
