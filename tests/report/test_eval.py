"""`callscore eval` against human labels with known answers (kappa worked out by hand), and
`callscore rescore`: a new scorecard version scored from stored transcripts, no audio read."""

from __future__ import annotations

import json
import shutil
from fractions import Fraction
from pathlib import Path

import pytest

from pipeline.report.agreement import Pair, cohens_kappa, review_needed
from pipeline.speech.transcribe import Transcriber
from tests.conftest import GOOD_CALL, POOR_CALL, SMALL_CARD, held_by_another_process, rows, run_cli
from tests.factories import CARD_YAML

# The hand-built warehouse (tests/factories.py RECENT_CALLS) answers:
#   greeted:  A yes  B yes  C no   D yes  E yes
#   verified: A yes  B no   C na   D no   E yes
#   closing:  A yes  B yes  C yes  D no   E yes
# The labels below differ only on B greeted (label no), so:
#   greeted  agreement 4/5; labels yes 3, no 2; answers yes 4, no 1;
#            chance = (3*4 + 2*1) / 25 = 14/25; kappa = (4/5 - 14/25) / (1 - 14/25) = 6/11
#            failed: answered no 1 (C, right) -> precision 1; labelled no 2 (B, C) -> recall 1/2
#            majority baseline: 3/5 (always "yes")
#   overall  agreement 14/15; labels yes 9, no 5, na 1; answers yes 10, no 4, na 1;
#            chance = (9*10 + 5*4 + 1*1) / 225 = 111/225; kappa = (14/15 - 111/225) / (1 - 111/225) = 99/114
LABELS = """recording,criterion_id,label
A.mp3,greeted,yes
A.mp3,verified,yes
A.mp3,closing,yes
B,greeted,no
B,verified,no
B,closing,yes
C.mp3,greeted,no
C.mp3,verified,na
C.mp3,closing,yes
D.mp3,greeted,yes
D.mp3,verified,no
D.mp3,closing,no
E.mp3,greeted,yes
E.mp3,verified,yes
E.mp3,closing,yes
Z.mp3,greeted,yes
"""


@pytest.fixture
def labelled(tmp_path: Path, kpi_warehouse_path: Path) -> dict:
    labels, card = tmp_path / "labels.csv", tmp_path / "card.yaml"
    labels.write_text(LABELS)
    card.write_text(CARD_YAML)
    return {"db": str(kpi_warehouse_path), "labels": str(labels), "card": str(card)}


def test_eval_reports_agreement_kappa_baseline_and_failed_precision_recall(labelled: dict) -> None:
    result = run_cli("eval", "--labels", labelled["labels"], "--scorecard", labelled["card"], "--db", labelled["db"],
                     "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["unmatched"] == ["Z.mp3"] and "1 labelled recordings have no answers of scorecard" in result.stderr
    greeted = next(c for c in report["criteria"] if c["criterion_id"] == "greeted")
    assert greeted["answers"] == 5 and greeted["agreement"] == pytest.approx(4 / 5)
    assert greeted["kappa"] == pytest.approx(float(Fraction(6, 11)))
    assert (greeted["precision_failed"], greeted["recall_failed"]) == (1.0, 0.5)
    assert greeted["majority_baseline"] == pytest.approx(3 / 5)
    assert greeted["confusion"]["no"] == {"yes": 1, "no": 1, "na": 0}
    verified = next(c for c in report["criteria"] if c["criterion_id"] == "verified")
    assert verified["agreement"] == 1.0 and verified["kappa"] == pytest.approx(1.0)

    overall = report["overall"]
    assert overall["answers"] == 15 and overall["agreement"] == pytest.approx(14 / 15)
    assert overall["kappa"] == pytest.approx(float(Fraction(99, 114)))
    assert overall["confusion"] == {"yes": {"yes": 9, "no": 0, "na": 0}, "no": {"yes": 1, "no": 4, "na": 0},
                                    "na": {"yes": 0, "no": 0, "na": 1}}
    # answers under 0.7 confidence: B verified (0.5) and C greeted (0.6); both agree
    step = next(s for s in overall["review_steps"] if s["threshold"] == 0.7)
    assert step["reviewed"] == 2 and step["agreement_rest"] == pytest.approx(12 / 13)


def test_eval_prints_tables_for_people(labelled: dict) -> None:
    result = run_cli("eval", "--labels", labelled["labels"], "--scorecard", labelled["card"], "--db", labelled["db"])
    assert result.exit_code == 0, result.stderr
    assert "kappa" in result.stdout and "0.55" in result.stdout and "majority baseline" in result.stdout
    assert "15 answers: agreement 93% (majority baseline" in result.stdout
    # piped (as `make demo` is in CI): no column is cut to fit 80 characters
    assert "criterion" in result.stdout and "answers" in result.stdout and "…" not in result.stdout
    assert "precision (failed)" in result.stdout and "recall (failed)" in result.stdout


def test_eval_keeps_each_criterion_s_agreement_and_kpi_criteria_shows_the_latest(labelled: dict,
                                                                                  tmp_path: Path) -> None:
    args = ("--scorecard", labelled["card"], "--db", labelled["db"])
    trust = "SELECT criterion_id, agreement, kappa, labelled_answers, trust FROM kpi_criteria ORDER BY criterion_id"
    assert run_cli("eval", "--labels", labelled["labels"], *args, "--no-store").exit_code == 0
    assert rows(Path(labelled["db"]), trust) == [("closing", None, None, None, "not measured"),
                                                 ("greeted", None, None, None, "not measured"),
                                                 ("verified", None, None, None, "not measured")]
    assert run_cli("eval", "--labels", labelled["labels"], *args).exit_code == 0
    # kappa 0.4 or more, but 5 labels of the 20 a reliable criterion needs
    assert rows(Path(labelled["db"]), trust) == [("closing", 1.0, 1.0, 5, "not reliable"),
                                                 ("greeted", 0.8, 0.545, 5, "not reliable"),  # kappa 6/11
                                                 ("verified", 1.0, 1.0, 5, "not reliable")]
    # a later measurement of closing alone: A and D labelled the other way round -> agreement 3/5,
    # chance (4*4 + 1*1) / 25 = 17/25, kappa (15/25 - 17/25) / (8/25) = -0.25
    closing = tmp_path / "closing.csv"
    closing.write_text("recording,criterion_id,label\nA,closing,no\nB,closing,yes\nC,closing,yes\n"
                       "D,closing,yes\nE,closing,yes\n")
    assert run_cli("eval", "--labels", str(closing), *args).exit_code == 0
    assert rows(Path(labelled["db"]), trust)[0] == ("closing", 0.6, -0.25, 5, "not reliable")
    assert rows(Path(labelled["db"]), trust)[1][2] == 0.545  # greeted keeps its own latest measurement
    for view in ("kpi_agent_criteria", "kpi_daily"):  # every view that shows a pass rate says how far to trust it
        assert rows(Path(labelled["db"]), f"SELECT DISTINCT trust FROM {view}") == [("not reliable",)], view
    stored = rows(Path(labelled["db"]), "SELECT measurement_id, count(*), any_value(prompt_version), any_value(llm_model),"
                  " any_value(labels_file) FROM criterion_agreement GROUP BY ALL ORDER BY 1")
    assert stored == [(1, 3, "p1", "model.gguf", labelled["labels"]), (2, 1, "p1", "model.gguf", str(closing))]


def test_eval_keeps_its_figures_unstored_when_a_run_takes_the_warehouse_first(labelled: dict,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.errors import WarehouseBusyError
    from pipeline.store.warehouse import Warehouse

    real_open = Warehouse.open.__func__

    def busy_for_writing(cls, path, *, read_only=False, **kwargs):  # a run started between eval's read and its write
        if not read_only:
            raise WarehouseBusyError(f"warehouse {path} is in use by another callscore run")
        return real_open(cls, path, read_only=True, **kwargs)

    monkeypatch.setattr(Warehouse, "open", classmethod(busy_for_writing))
    monkeypatch.setenv("CALLSCORE_LOCK_WAIT_S", "1")  # eval waits this long for the run, then gives up
    result = run_cli("eval", "--labels", labelled["labels"], "--scorecard", labelled["card"], "--db", labelled["db"])
    assert result.exit_code == 0 and "15 answers: agreement 93%" in result.stdout
    assert "agreement not stored (warehouse" in result.stderr and "run eval again when the run is over" in result.stderr
    monkeypatch.undo()
    assert rows(Path(labelled["db"]), "SELECT count(*) FROM criterion_agreement") == [(0,)]
    monkeypatch.setenv("CALLSCORE_LOCK_WAIT_S", "1")
    with held_by_another_process(Path(labelled["db"])):  # held all along: eval cannot read either, and says so
        held = run_cli("eval", "--labels", labelled["labels"], "--scorecard", labelled["card"], "--db", labelled["db"])
    assert held.exit_code == 2 and "in use by another callscore run" in held.stderr
    assert "waited 1 s, setting lock_wait_s" in held.stderr


def test_review_needed_counts_the_least_confident_answers_to_hand_over() -> None:
    def pair(label: str, answer: str, confidence: float | None) -> Pair:
        return Pair("r", "r.mp3", "c", label, answer, confidence)  # type: ignore[arg-type]

    pairs = [pair("yes", "no", 0.55), pair("no", "no", None), pair("yes", "yes", 0.9), pair("yes", "yes", 0.95),
             pair("no", "yes", 0.6)] + [pair("yes", "yes", 0.99)] * 15
    # by confidence: None (right), 0.55 (wrong), 0.6 (wrong), then 17 right ones
    assert review_needed(pairs, 0.95) == 3  # after two, 17 right of 18 left = 94.4% is not enough
    assert review_needed(pairs[2:4], 0.95) == 0 and review_needed([], 0.95) is None
    assert cohens_kappa(["yes", "yes"], ["yes", "yes"]) is None  # one class only: chance agreement is 1


@pytest.mark.parametrize(("text", "message"), [
    ("recording,criterion_id,label\nA.mp3,greeted,maybe\n", "labels.csv:2: label for greeted must be yes, no or na"),
    ("file,criterion,label\nA.mp3,greeted,yes\n", "missing column(s) criterion_id, recording"),
    ("recording,criterion_id,label\n", "holds no labels"),
])
def test_a_bad_labels_file_is_one_line(tmp_path: Path, kpi_warehouse_path: Path, text: str, message: str) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(text)
    result = run_cli("eval", "--labels", str(labels), "--db", str(kpi_warehouse_path))
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_rescore_scores_a_new_scorecard_version_without_touching_audio(tmp_path: Path, card: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, db = tmp_path / "inbox", tmp_path / "w.duckdb"
    inbox.mkdir()
    for call in (GOOD_CALL, POOR_CALL):
        shutil.copy(call, inbox)
    assert run_cli("score", str(inbox), "--db", str(db), "--scorecard", str(card)).exit_code == 0
    shutil.rmtree(inbox)  # the audio is gone: rescoring must not need it

    def no_transcription(self, *args, **kwargs):
        raise AssertionError("rescore transcribed audio")

    monkeypatch.setattr(Transcriber, "transcribe_stream", no_transcription)
    monkeypatch.setattr(Transcriber, "__init__", no_transcription)  # not even a model load
    new_card = tmp_path / "card-v2.yaml"
    new_card.write_text(SMALL_CARD + "  - id: thanked\n    question: The agent thanks the customer.\n")
    result = run_cli("rescore", "--db", str(db), "--scorecard", str(new_card), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["counts"]["scored"] == 2 and report["counts"]["failed"] == 0

    versions = rows(db, "SELECT scorecard_version, count(DISTINCT recording_id), count(*) FROM version_scores"
                        " GROUP BY scorecard_version ORDER BY count(*)")
    assert [(calls, answers) for _, calls, answers in versions] == [(2, 4), (2, 6)]  # old version kept
    new_version = versions[1][0]
    assert rows(db, "SELECT DISTINCT scorecard_version FROM kpi_calls") == [(new_version,)]
    assert rows(db, "SELECT count(*) FROM kpi_criteria") == [(3,)]
    assert rows(db, "SELECT count(*) FROM transcripts") == [(2,)]  # nothing transcribed again
    assert rows(db, "SELECT source, files_scored FROM runs ORDER BY started_at") == [("cli", 2), ("rescore", 2)]

    again = json.loads(run_cli("rescore", "--db", str(db), "--scorecard", str(new_card), "--json").stdout)
    assert again["counts"]["skipped"] == 2 and again["counts"]["scored"] == 0


def test_a_criterion_reads_reliable_from_a_kappa_of_0_4_on_20_labels(kpi_warehouse_path: Path) -> None:
    from pipeline.report.call_view import CriterionTrust
    from pipeline.store.warehouse import Warehouse
    from pipeline.store.warehouse.agreement_ledger import CriterionAgreement
    from tests.factories import CARD

    measured = [CriterionAgreement("greeted", 20, 0.8, 0.4, 0.6), CriterionAgreement("verified", 19, 0.9, 0.8, 0.6),
                CriterionAgreement("closing", 200, 0.95, None, 0.95)]
    with Warehouse.open(kpi_warehouse_path) as warehouse:
        warehouse.save_agreement(measured, scorecard_name=CARD.name, scorecard_version=CARD.version,
                                 prompt_versions=["p1"], llm_models=["m"], labels_file="l.csv")
        trust = {c: CriterionTrust.from_row(row) for c, row in warehouse.criterion_trust(CARD.version).items()}
    assert {c: t.trust for c, t in trust.items()} == {"greeted": "reliable", "verified": "not reliable",
                                                      "closing": "not reliable"}
    assert trust["greeted"].summary() == "reliable: kappa 0.40, agreement 80%"
    assert trust["verified"].summary() == "not reliable yet: 19 labels (of 20 needed), kappa 0.80, agreement 90%"
    assert trust["closing"].summary() == "not reliable yet: kappa undefined (one class), agreement 95%"
    assert CriterionTrust.from_row(None).summary() == "agreement not measured"


# tests/factories.py OUTCOME_CALLS answer reason: O1 billing, O2 outage, O3 billing, O4 move;
# outcome: O1 resolved, O2 escalated, O3 resolved, O4 unresolved. The labels below differ on O3's
# reason (move) and O2's outcome (unresolved), so for each field agreement is 3/4 and:
#   reason   labels billing 1, outage 1, move 2; answers billing 2, outage 1, move 1;
#            chance = (1*2 + 1*1 + 2*1) / 16 = 5/16; kappa = (3/4 - 5/16) / (11/16) = 7/11; baseline 2/4
#   outcome  labels resolved 2, unresolved 2; answers resolved 2, escalated 1, unresolved 1;
#            chance = (2*2 + 2*1) / 16 = 6/16; kappa = (12/16 - 6/16) / (10/16) = 3/5; baseline 2/4
FIELD_LABELS = """recording,criterion_id,label
O1.mp3,reason,billing
O2.mp3,reason,outage
O3.mp3,reason,move
O4.mp3,reason,move
O1.mp3,outcome,resolved
O2.mp3,outcome,unresolved
O3.mp3,outcome,resolved
O4.mp3,outcome,Unresolved
O1.mp3,greeted,yes
"""


def test_eval_reports_agreement_per_choice_field_and_keeps_it(tmp_path: Path, outcome_warehouse_path: Path) -> None:
    from tests.factories import FIELDS_CARD, FIELDS_CARD_YAML

    labels, card = tmp_path / "labels.csv", tmp_path / "card.yaml"
    labels.write_text(FIELD_LABELS)
    card.write_text(FIELDS_CARD_YAML)
    result = run_cli("eval", "--labels", str(labels), "--scorecard", str(card), "--db", str(outcome_warehouse_path),
                     "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["scorecard_version"] == FIELDS_CARD.version and report["unknown_criteria"] == []
    fields = {f["field_id"]: f for f in report["fields"]}
    assert list(fields) == ["reason", "outcome"]
    reason, outcome = fields["reason"], fields["outcome"]
    assert (reason["answers"], reason["agreement"], reason["majority_baseline"]) == (4, 0.75, 0.5)
    assert reason["kappa"] == pytest.approx(7 / 11) and outcome["kappa"] == pytest.approx(3 / 5)
    assert reason["confusion"]["move"] == {"billing": 1, "move": 1, "outage": 0}
    assert outcome["confusion"]["unresolved"] == {"escalated": 1, "resolved": 0, "unresolved": 1}
    assert report["overall"]["answers"] == 1  # the criterion label, counted apart from the fields
    kept = rows(outcome_warehouse_path, "SELECT criterion_id, labelled_answers, agreement FROM criterion_trust ORDER BY 1")
    assert kept == [("greeted", 1, 1.0), ("outcome", 4, 0.75), ("reason", 4, 0.75)]

    printed = run_cli("eval", "--labels", str(labels), "--scorecard", str(card), "--db", str(outcome_warehouse_path),
                      "--no-store")
    assert printed.exit_code == 0 and "choice fields" in printed.stdout and "reason: labels (rows)" in printed.stdout

    labels.write_text("recording,criterion_id,label\nO1.mp3,reason,refund\n")
    bad = run_cli("eval", "--labels", str(labels), "--scorecard", str(card), "--db", str(outcome_warehouse_path))
    assert bad.exit_code != 0
    assert "label for reason must be billing, outage, move or other, not 'refund'" in bad.stderr
