"""Real recordings in other languages and layouts through the real Whisper models (slow tier):
Russian and Czech espeak-ng calls decided as their language once per call and stored, with no
run of their card numbers' digits left in the warehouse or the prompt; a dual-mono MP3 stored once
as mono and a stereo call with a silent agent channel flagged; the vocabulary reaching Whisper."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.processing.batch import run_batch
from pipeline.processing.procedure import CallProcessor
from pipeline.processing.retries import RetryPolicy
from pipeline.speech.number_words import TABLES
from pipeline.store.warehouse import Warehouse
from samples.languages import ENGLISH, write_calls
from tests.conftest import rows
from tests.fakes import FakeBackend

NO_WAIT = RetryPolicy((0.0,))


@pytest.fixture(scope="session")
def made_calls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return {call.path.stem: call.path for call in write_calls(tmp_path_factory.mktemp("languages"))}


def _digit_run(text: str, language: str) -> int:
    """The longest run of digits, or of ``language``'s digit words, in ``text``."""
    words = "|".join(sorted(TABLES[language].digits, key=len, reverse=True))
    tokens = re.findall(rf"\d|\b(?:{words})\b|[^\W\d]+", text.lower())
    longest = run = 0
    for token in tokens:
        run = run + 1 if token.isdigit() or token in TABLES[language].digits else 0
        longest = max(longest, run)
    return longest


def _score(inbox: Path, db: Path, card: Path, transcriber, backend: FakeBackend | None = None) -> list:
    settings = load_settings({"db": db, "scorecard": card})
    processor = CallProcessor(settings, transcriber=transcriber, backend=backend or FakeBackend())
    with Warehouse.open(db) as warehouse:
        return run_batch([inbox], processor, warehouse, retry=NO_WAIT).outcomes


def test_russian_and_czech_calls_are_decided_as_their_language_once_per_call(
        multilingual_model, made_calls: dict[str, Path], card: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("card-ru", "card-cs"):
        shutil.copy(made_calls[name], inbox)
    db, backend = tmp_path / "w.duckdb", FakeBackend()
    outcomes = _score(inbox, db, card, multilingual_model, backend)
    assert [o.status for o in outcomes] == ["scored", "scored"]
    stored = rows(db, "SELECT r.file_name, t.language, t.language_probability, t.language_source FROM transcripts"
                      " AS t JOIN recordings AS r USING (recording_id) ORDER BY 1")
    assert [(name, language, source) for name, language, _, source in stored] == [
        ("card-cs.mp3", "cs", "detected"), ("card-ru.mp3", "ru", "detected")]
    assert all(0.5 < probability <= 1 for _, _, probability, _ in stored)
    assert sorted(rows(db, "SELECT file_name, language FROM kpi_calls")) == [("card-cs.mp3", "cs"), ("card-ru.mp3", "ru")]
    # Transcribed in the language decided: Russian in Cyrillic, Czech with its letters and none of
    # Cyrillic (whisper-base writes some of espeak-ng's Russian in Latin letters all the same).
    text_of = dict(rows(db, "SELECT r.file_name, string_agg(s.text, ' ') FROM segments AS s JOIN recordings AS r"
                            " USING (recording_id) GROUP BY 1"))
    assert re.search("[а-яё]", text_of["card-ru.mp3"].lower()), text_of
    assert re.search("[áčďéěíňóřšťúůýž]", text_of["card-cs.mp3"].lower()) and not re.search("[а-я]", text_of["card-cs.mp3"])

    # Whatever of the card numbers Whisper heard as digits or digit words is masked: no run of six
    # is left in the warehouse or in any prompt (Whisper-base mishears most of espeak-ng's digits,
    # so how much it hears varies: docs/languages.md).
    stored = " ".join(text for (text,) in rows(db, "SELECT text FROM segments"))
    prompts = [" ".join(m["content"] for m in messages) for messages in backend.prompts]
    for text in (stored, *prompts):
        assert _digit_run(text, "cs") < 6 and _digit_run(text, "ru") < 6, text


@pytest.mark.slow
def test_a_dual_mono_mp3_is_stored_once_as_mono_and_a_silent_agent_is_flagged(
        made_calls: dict[str, Path], card: Path, tmp_path: Path) -> None:
    from pipeline.models.choice import embedded_whisper_model
    from pipeline.speech.transcribe import Transcriber

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("dual-mono", "silent-agent"):
        shutil.copy(made_calls[name], inbox)
    db = tmp_path / "w.duckdb"
    outcomes = _score(inbox, db, card, Transcriber(str(embedded_whisper_model()), device="cpu"))
    assert {o.path.name: o.flags for o in outcomes} == {"dual-mono.mp3": ("dual_mono",),
                                                        "silent-agent.mp3": ("silent_agent",)}
    said = sum(len(turn.text.split()) for turn in ENGLISH)
    for name in ("dual-mono.mp3", "silent-agent.mp3"):
        (text,) = rows(db, "SELECT string_agg(s.text, ' ' ORDER BY s.start_s) FROM segments AS s JOIN recordings AS r"
                           " USING (recording_id) WHERE r.file_name = ?", [name])[0]
        heard = text.lower()
        assert heard.count("thank you for calling") == 1 and heard.count("goodbye") == 1, text  # each word once
        assert 0.8 * said <= len(text.split()) <= 1.2 * said, text
    assert sorted(rows(db, "SELECT file_name, channel_layout, speaker_separated, overlap_s FROM kpi_calls")) == [
        ("dual-mono.mp3", "dual_mono", False, None), ("silent-agent.mp3", "silent_agent", False, None)]


@pytest.mark.slow
@pytest.mark.parametrize("given_as", ["hotwords", "initial_prompt"])
def test_the_vocabulary_gets_the_company_name_written_as_it_is_spelt(given_as: str, card: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """tiny.en writes "North Wind Energy" on its own; with the name in the settings' vocabulary
    the stored transcript spells it as the company does (docs/languages.md: 3 -> 22 of 24 names as hotwords)."""
    from tests.conftest import GOOD_CALL, run_cli

    texts = {}
    for vocabulary in ("", "Northwind Energy"):
        db = tmp_path / f"w-{bool(vocabulary)}.duckdb"
        args = ["score", str(GOOD_CALL), "--db", str(db), "--scorecard", str(card), "--json"]
        if vocabulary:
            args += ["--vocabulary", vocabulary]
        monkeypatch.setenv("CALLSCORE_VOCABULARY_AS", given_as)
        assert run_cli(*args).exit_code == 0
        texts[vocabulary] = " ".join(t for (t,) in rows(db, "SELECT text FROM segments ORDER BY start_s"))
    assert texts[""].startswith("Thank you for calling North Wind Energy.")  # the greeting, misspelt
    assert texts["Northwind Energy"].startswith("Thank you for calling Northwind Energy.")
