"""The per-recording procedure with fake models (no model loads: the fast tier): what is
planned, re-used, retried, refused and stored, on real audio and real DuckDB files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.work import WorkItem
from pipeline.errors import PermanentRecordingError, TransientRecordingError
from pipeline.processing.batch import run_batch
from pipeline.processing.retries import RetryPolicy
from pipeline.store.warehouse import Warehouse
from tests.conftest import GOOD_CALL, MONO_CALL, WIDER_CRITERION, rows
from tests.fakes import HELLO, FakeBackend, FakeTranscriber, fake_processor

NO_WAIT = RetryPolicy((0.0, 0.0))


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for call in (GOOD_CALL, MONO_CALL):
        shutil.copy(call, folder)
    return folder


def test_each_recording_is_transcribed_scored_and_stored_once(inbox: Path, card: Path, tmp_path: Path) -> None:
    db, transcriber = tmp_path / "w.duckdb", FakeTranscriber()
    processor = fake_processor(db, card, transcriber=transcriber)
    with Warehouse.open(db) as warehouse:
        first = run_batch([inbox], processor, warehouse, retry=NO_WAIT)
        again = run_batch([inbox], processor, warehouse, retry=NO_WAIT)
    assert [o.status for o in first.outcomes] == ["scored", "scored"]
    assert all(o.qa_score == 100.0 for o in first.outcomes)
    assert again.counts["skipped"] == 2 and transcriber.calls == 2
    assert rows(db, "SELECT count(*), count(DISTINCT recording_id) FROM evaluations") == [(2, 2)]


def test_a_changed_scorecard_scores_the_stored_transcripts_and_transcribes_nothing(
        inbox: Path, card: Path, tmp_path: Path) -> None:
    db, transcriber = tmp_path / "w.duckdb", FakeTranscriber()
    with Warehouse.open(db) as warehouse:
        run_batch([inbox], fake_processor(db, card, transcriber=transcriber), warehouse, retry=NO_WAIT)
    wider = tmp_path / "wider.yaml"
    wider.write_text(card.read_text() + WIDER_CRITERION)
    with Warehouse.open(db) as warehouse:
        summary = run_batch([inbox], fake_processor(db, wider, transcriber=transcriber), warehouse, retry=NO_WAIT)
    assert summary.counts["scored"] == 2 and transcriber.calls == 2  # none more
    assert rows(db, "SELECT count(*), count(DISTINCT scorecard_version) FROM evaluations") == [(4, 2)]
    assert rows(db, "SELECT count(*) FROM transcripts") == [(2,)]


def test_a_transient_failure_is_tried_again_and_a_permanent_one_fails_that_recording_alone(
        inbox: Path, card: Path, tmp_path: Path) -> None:
    db, backend = tmp_path / "w.duckdb", FakeBackend()
    backend.enqueue(TransientRecordingError("model server busy", stage="score"))  # first call, first try
    with Warehouse.open(db) as warehouse:
        first = run_batch([inbox / MONO_CALL.name], fake_processor(db, card, backend=backend), warehouse,
                          retry=NO_WAIT)
        backend.enqueue(PermanentRecordingError("the answer did not parse", stage="score"))
        second = run_batch([inbox / GOOD_CALL.name], fake_processor(db, card, backend=backend), warehouse,
                           retry=NO_WAIT)
    assert [o.status for o in first.outcomes] == ["scored"]
    assert [(o.status, o.stage) for o in second.outcomes] == [("failed", "score")]
    assert rows(db, "SELECT stage, transient FROM failures") == [("score", False)]


def test_a_worker_refuses_work_planned_for_other_models_or_scorecard(inbox: Path, card: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    planner = fake_processor(db, card)
    with Warehouse.open(db) as warehouse:
        planned = planner.plan(inbox / GOOD_CALL.name, warehouse)
    item = WorkItem.of(planned, None)
    assert item.planned().key == planned.key and item.planned().state == planned.state
    planner.check_key(item.planned().key)  # the same settings: accepted
    wider = tmp_path / "wider.yaml"
    wider.write_text(card.read_text() + WIDER_CRITERION)
    with pytest.raises(PermanentRecordingError, match="scorecard_version") as refused:
        fake_processor(db, wider).check_key(item.planned().key)
    assert refused.value.stage == "plan"


def test_the_retry_policy_backs_off() -> None:
    assert RetryPolicy.backoff().delays_s == (2.0, 10.0)
    assert RetryPolicy.backoff(0.1, retries=3).delays_s == pytest.approx((0.1, 0.5, 2.5))
    assert RetryPolicy((1.0,)).delay_before(0) == 1.0 and RetryPolicy((1.0,)).delay_before(1) is None


def test_the_cited_line_is_stored_with_its_text_number_and_start(inbox: Path, card: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        run_batch([inbox / GOOD_CALL.name], fake_processor(db, card, backend=FakeBackend(line=2)), warehouse,
                  retry=NO_WAIT)
    line = HELLO[1]
    assert rows(db, "SELECT DISTINCT evidence, evidence_line, evidence_start_s, evidence_verified FROM scores"
                    " WHERE criterion_kind = 'llm'") == [(line.text, 2, line.start, True)]


def test_rescore_with_another_whisper_model_names_the_models_whose_transcripts_are_stored(
        inbox: Path, card: Path, tmp_path: Path) -> None:
    from pipeline.config import load_settings
    from pipeline.errors import SetupError
    from pipeline.processing.batch import run_rescore
    from pipeline.processing.procedure import CallProcessor

    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        run_batch([inbox], fake_processor(db, card), warehouse, retry=NO_WAIT)
    other = tmp_path / "other-whisper"
    other.mkdir()
    (other / "model.bin").write_bytes(b"")  # a model directory, as far as choosing it goes
    processor = CallProcessor(load_settings({"db": db, "scorecard": card, "whisper_model": str(other)}),
                              backend=FakeBackend(), transcriber=FakeTranscriber())
    with Warehouse.open(db) as warehouse, pytest.raises(SetupError) as caught:
        run_rescore(processor, warehouse, retry=NO_WAIT)
    assert str(caught.value) == (f"no transcript by other-whisper is stored in {db}; stored transcripts are by "
                                 "tiny.en (2 calls): give rescore --whisper-model tiny.en")


FIELDS = """fields:
  - id: reason
    question: Why the customer called.
    kind: choice
    options: [billing, outage, other]
  - id: summary
    question: What the customer wanted and what the agent did.
    kind: text
    max_words: 6
"""


def test_fields_and_sentiment_are_stored_and_a_new_field_is_extracted_from_the_stored_transcript(
        inbox: Path, card: Path, tmp_path: Path) -> None:
    db, transcriber = tmp_path / "w.duckdb", FakeTranscriber()
    with_fields = tmp_path / "fields.yaml"
    with_fields.write_text(card.read_text() + FIELDS)
    with Warehouse.open(db) as warehouse:
        run_batch([inbox], fake_processor(db, with_fields, backend=FakeBackend(values={"reason": "billing"}),
                                          transcriber=transcriber), warehouse, retry=NO_WAIT)
    assert rows(db, "SELECT field_id, field_kind, value, confidence FROM extractions ORDER BY recording_id, field_id")[:2] \
        == [("reason", "choice", "billing", 1.0), ("summary", "text", "The customer asked about a bill", None)]
    assert rows(db, "SELECT count(*) FROM scores WHERE criterion_id IN ('reason', 'summary')") == [(0,)]  # not in the QA score
    assert rows(db, "SELECT count(DISTINCT recording_id) FROM call_sentiment WHERE speaker = 'customer'") == [(2,)]
    changed = tmp_path / "changed.yaml"
    changed.write_text(with_fields.read_text().replace("[billing, outage, other]", "[billing, outage, move, other]"))
    with Warehouse.open(db) as warehouse:
        run_batch([inbox], fake_processor(db, changed, backend=FakeBackend(values={"reason": "move"}),
                                          transcriber=transcriber), warehouse, retry=NO_WAIT)
    assert transcriber.calls == 2  # none more: extracted again from the stored transcripts
    assert rows(db, "SELECT value, count(*) FROM extractions WHERE field_id = 'reason' GROUP BY value ORDER BY value") \
        == [("billing", 2), ("move", 2)]  # the earlier version's answers are kept
