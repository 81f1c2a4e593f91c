"""The statement style (llm_questions statements): each criterion read from the model's
probabilities after a transcript evaluated once, calibrated for the model's lean, the lean cached
and recorded, and the answer the same validated JSON as the form style's. With the real
embedded SmolLM2 (a chat model) and Gemma 3 270M (a base model, assembled from its packages)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import load_settings
from pipeline.errors import ScorecardError
from pipeline.resources import default_scorecard_path, prompt_template_path, statement_template_path
from pipeline.models.choice import smollm2_model
from pipeline.processing.procedure import CallProcessor
from pipeline.scoring.calibration import CriterionCalibration, cache_dir
from pipeline.scoring.llama_backend import LlamaBackend, gguf_prompt_kind
from pipeline.scoring.prompt import load_prompt_template, numbered_line
from pipeline.scoring.score import Scorer, ScoringStyle, answer_model
from pipeline.scoring.scorecard import load_scorecard
from pipeline.scoring.statements import StatementAsker
from pipeline.speech.segments import Segment
from pipeline.speech.turns import speaker_turns
from tests.conftest import GOOD_CALL, run_cli

CARD = """
name: statements-test
criteria:
  - id: greeted
    question: The agent opens the call with a greeting that names the company.
  - id: verified_identity
    question: The agent checks the customer's identity before discussing the account.
    allow_na: true
  - id: empathy
    question: The agent acknowledges the customer's feelings or inconvenience.
fields:
  - id: reason
    question: Why the customer called.
    kind: choice
    options: [billing, outage, other]
  - id: summary
    question: What the customer wanted, in a few words.
    kind: text
    max_words: 8
"""

CALL = [Segment(speaker, 0 if speaker == "agent" else 1, i * 3.0, i * 3.0 + 2.5, text, -0.2, 0.01, 1.1)
        for i, (speaker, text) in enumerate([
            ("agent", "Thank you for calling Northwind Energy, my name is Sam, how can I help?"),
            ("customer", "Hi, my bill is higher than usual and I'm really worried about it."),
            ("agent", "I'm sorry to hear that. Can you confirm your date of birth first?"),
            ("customer", "Fourth of May, 1980."),
            ("agent", "Thanks. The meter reading was estimated; I'll correct it and send a new bill."),
        ])]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLSCORE_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def smollm2() -> LlamaBackend:
    return LlamaBackend(smollm2_model(), n_ctx=4096, device="cpu")


@pytest.fixture
def card(tmp_path: Path):
    path = tmp_path / "card.yaml"
    path.write_text(CARD)
    return load_scorecard(path)


def _scorer(backend: LlamaBackend, card, calibrated: bool = True) -> Scorer:
    return Scorer(backend, card, load_prompt_template(statements=True),
                  style=ScoringStyle("statements", calibrated=calibrated))


class Spy:
    """The backend's real statement reads, recorded (nothing replaced)."""

    def __init__(self, backend: LlamaBackend) -> None:
        self.backend, self.reads = backend, []

    def __getattr__(self, name: str):
        return getattr(self.backend, name)

    def read_statement(self, prompt, answers, decide, evidence, numbers):
        read = self.backend.read_statement(prompt, answers, decide, evidence, numbers)
        self.reads.append((prompt, dict(answers), read))
        return read


@pytest.mark.slow
def test_a_base_model_gets_a_completion_prompt_and_an_instruct_model_its_chat_template(
        smollm2: LlamaBackend, gemma_model: Path) -> None:
    assert gguf_prompt_kind(smollm2_model()) == smollm2.prompt_kind == "chat"
    assert gguf_prompt_kind(gemma_model) == "completion"
    messages = [{"role": "system", "content": "Judge the call."}, {"role": "user", "content": "L1 AGENT: Hello."}]
    chat = smollm2._llm.detokenize(smollm2._prompt_tokens(messages), special=True).decode()
    assert "<|im_start|>system\nJudge the call.<|im_end|>" in chat and chat.endswith("<|im_start|>assistant\n")
    gemma = LlamaBackend(gemma_model, n_ctx=2048, device="cpu")
    assert gemma.prompt_kind == "completion"
    plain = gemma._llm.detokenize(gemma._prompt_tokens(messages)[1:]).decode()  # after the BOS token
    assert plain == "Judge the call.\n\nL1 AGENT: Hello.\n\n"
    settings = {"llm_model": gemma_model, "llm_questions": "statements"}
    processor = CallProcessor(load_settings(settings))
    assert processor.prompt_version.endswith("+statements+completion")
    chat = {"llm_model": smollm2_model(), "llm_questions": "statements"}
    assert CallProcessor(load_settings(chat)).prompt_version.endswith("+statements")
    # auto: statements for the base model, one form for the chat model
    assert CallProcessor(load_settings({"llm_model": gemma_model})).style.questions == "statements"
    assert CallProcessor(load_settings({"llm_model": smollm2_model()})).style.questions == "together"
    assert CallProcessor(load_settings({**settings, "llm_prompt_kind": "chat"})).prompt_kind == "chat"


@pytest.mark.slow
def test_the_transcript_is_evaluated_once_and_each_criterion_reads_as_from_a_fresh_start(
        smollm2: LlamaBackend, card) -> None:
    spy = Spy(smollm2)
    scorer = _scorer(spy, card)
    scorer.statements.calibrate(scorer.statements.questions(card.llm_criteria, card.extraction_fields, {}))
    spy.reads.clear()
    smollm2.clear_cache()
    score = scorer.score(CALL)
    transcript = "\n".join(numbered_line(i + 1, t) for i, t in enumerate(speaker_turns(CALL)))
    transcript_tokens = smollm2.count_tokens(transcript)
    # five things asked (three criteria, two fields), each prompt holding the whole transcript ...
    assert score.prompt_tokens > 5 * transcript_tokens
    # ... which is evaluated once: every prompt after the first costs its own question only
    first_prompt = spy.reads[0][2].prompt_tokens
    assert score.evaluated_prompt_tokens < first_prompt + 4 * (first_prompt - transcript_tokens)
    assert all(read.evaluated_prompt_tokens < read.prompt_tokens - transcript_tokens for _, _, read in spy.reads[1:])
    for prompt, answers, read in spy.reads:  # the same probabilities with nothing in the cache
        smollm2.clear_cache()
        fresh = smollm2.read_statement(prompt, answers, lambda p, option=read.option: option, "\nL", [1])
        assert fresh.evaluated_prompt_tokens == fresh.prompt_tokens
        assert fresh.probabilities == pytest.approx(read.probabilities, rel=1e-3, abs=1e-6)


@pytest.mark.slow
def test_the_stored_confidence_is_the_calibrated_probability_and_the_answer_validates(
        smollm2: LlamaBackend, card) -> None:
    spy = Spy(smollm2)
    scorer = _scorer(spy, card)
    score = scorer.score(CALL)
    asked = scorer.statements.questions(card.llm_criteria, card.extraction_fields, {})
    # the leans are read first (three content-free transcripts each), then the call's four choices
    assert len(spy.reads) == 4 * 3 + 4
    read_of = dict(zip([q.id for q in asked if q.answers], [read for _, _, read in spy.reads[-4:]]))
    for verdict in score.verdicts:
        calibration = scorer.statements.calibrations[verdict.criterion_id]
        assert calibration.content_free and "na" not in calibration.content_free
        calibrated = calibration.calibrated(read_of[verdict.criterion_id].probabilities)
        answer = "na" if verdict.passed is None else "yes" if verdict.passed else "no"
        assert answer == max(calibrated, key=calibrated.get)
        assert verdict.confidence == pytest.approx(round(calibrated[answer], 4), abs=1e-4)
        assert verdict.evidence_line in (1, 2, 3, 4, 5) and verdict.evidence == CALL[verdict.evidence_line - 1].text
    reason = next(e for e in score.extractions if e.field_id == "reason")
    calibrated = scorer.statements.calibrations["reason"].calibrated(read_of["reason"].probabilities)
    assert reason.value == max(calibrated, key=calibrated.get)
    assert reason.confidence == pytest.approx(round(calibrated[reason.value], 4), abs=1e-4)
    summary = next(e for e in score.extractions if e.field_id == "summary")
    assert 0 < len(summary.value.split()) <= 8 and '"' not in summary.value
    transcript = "\n".join(numbered_line(i + 1, t) for i, t in enumerate(speaker_turns(CALL)))
    generation = scorer.statements.answer(transcript, asked, (1, 2, 3, 4, 5))
    document = json.loads(generation.text)
    assert list(document) == ["greeted", "verified_identity", "empathy", "reason", "summary"]
    answer_model(card.llm_criteria).model_validate({c.id: document[c.id] for c in card.llm_criteria})
    assert document["reason"]["value"] in ("billing", "outage", "other")


@pytest.mark.slow
def test_calibration_is_measured_once_cached_and_recorded_with_the_evaluation(
        smollm2: LlamaBackend, card, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scorer = _scorer(smollm2, card)
    scorer.score(CALL)
    cached = sorted((cache_dir() / "calibration").glob("*.json"))
    assert len(cached) == 4  # three criteria and the choice field; a text field has no lean
    leans = {q: c.content_free for q, c in scorer.statements.calibrations.items()}

    def measured_again(self, question):
        raise AssertionError(f"{question.id}: the cached lean was measured again")

    monkeypatch.setattr(StatementAsker, "_lean", measured_again)
    again = _scorer(smollm2, card)
    again.score(CALL)
    assert {q: c.content_free for q, c in again.statements.calibrations.items()} == leans
    uncalibrated = _scorer(smollm2, card, calibrated=False)
    uncalibrated.score(CALL)
    assert all(not c.content_free for c in uncalibrated.statements.calibrations.values())

    monkeypatch.undo()
    monkeypatch.setenv("CALLSCORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CALLSCORE_LLM_QUESTIONS", "statements")
    db = tmp_path / "w.duckdb"
    result = run_cli("score", str(GOOD_CALL), "--db", str(db))
    assert result.exit_code == 0, result.stderr
    rows = run_cli("sql", "--db", str(db), "--json", "SELECT l.item_id, l.content_free, e.prompt_version"
                   " FROM llm_calibrations l JOIN evaluations e ON e.evaluation_id = l.first_evaluation_id")
    recorded = json.loads(rows.stdout)
    default = load_scorecard(default_scorecard_path())
    assert {r["item_id"] for r in recorded} == {c.id for c in default.llm_criteria} | {
        f.id for f in default.extraction_fields if f.kind == "choice"}
    assert all(r["prompt_version"].endswith("+statements+completion") for r in recorded)  # the default: Gemma
    lean = json.loads(next(r["content_free"] for r in recorded if r["item_id"] == "greeted"))
    assert set(lean) == {"yes", "no"} and sum(lean.values()) == pytest.approx(1, abs=1e-4)


def test_calibration_divides_by_the_lean_and_leaves_not_applicable_as_read() -> None:
    leaning = CriterionCalibration("greeted", {"yes": 0.75, "no": 0.25})
    assert leaning.calibrated({"yes": 0.6, "no": 0.4}) == pytest.approx({"yes": 1 / 3, "no": 2 / 3})
    assert leaning.decide({"yes": 0.6, "no": 0.4}) == "no"
    # "na" keeps its share; yes and no divide the rest by their lean
    assert leaning.calibrated({"yes": 0.3, "no": 0.1, "na": 0.6}) == pytest.approx({"yes": 0.2, "no": 0.2, "na": 0.6})
    # a lean near zero raises an option at most 4 x options-fold
    rare = CriterionCalibration("reason", {"billing": 0.999, "other": 0.001})
    assert rare.calibrated({"billing": 0.9, "other": 0.1}) == pytest.approx(
        {"billing": 0.9 / 0.999 / (0.9 / 0.999 + 0.1 / 0.125), "other": 0.1 / 0.125 / (0.9 / 0.999 + 0.1 / 0.125)})
    assert CriterionCalibration("x", {}).calibrated({"yes": 2.0, "no": 2.0}) == {"yes": 0.5, "no": 0.5}


def test_each_style_refuses_a_template_without_its_section() -> None:
    with pytest.raises(ScorecardError, match="has no statements section for the statement style"):
        load_prompt_template(prompt_template_path(), statements=True)
    with pytest.raises(ScorecardError, match="has no system and user section for the form style"):
        load_prompt_template(statement_template_path())
    assert load_prompt_template(statements=True).statements.answer_texts("completion", ("yes", "no")) == {
        "yes": " true", "no": " false"}


def test_the_statement_style_needs_the_model_in_this_process() -> None:
    """A server (or any backend without next-token probabilities) is refused before any call."""
    from pipeline.errors import SetupError
    from tests.fakes import FakeBackend

    with pytest.raises(SetupError, match="needs the LLM in this process"):
        Scorer(FakeBackend(), load_scorecard(default_scorecard_path()), load_prompt_template(statements=True),
               style=ScoringStyle("statements"))


@pytest.mark.slow
def test_gemma_rewinds_past_its_sliding_window_as_if_read_afresh(gemma_model: Path) -> None:
    """Gemma 3 attends within a 512-token window on most layers; a transcript four times longer,
    shared by three statements, gives each the probabilities a fresh read gives, evaluating only
    its statement."""
    gemma = LlamaBackend(gemma_model, n_ctx=4096, device="cpu")
    transcript = "\n".join(f"L{i} [00:{i:02d}] AGENT: line {i} of the call, thanks for calling Northwind"
                           for i in range(1, 80))
    answers = {"yes": (" true", " True"), "no": (" false", " False")}
    prompts = [f'{transcript}\nEND OF TRANSCRIPT.\n\nA quality reviewer checked: "{q}"\nTrue or false? The reviewer'
               " answered:" for q in ("The agent greets.", "The agent is rude.", "The agent says thanks.")]
    assert gemma.count_tokens(prompts[0]) > 4 * 512
    shared = [gemma.read_statement(p, answers, lambda p: max(p, key=p.get), "\nL", [1, 2]) for p in prompts]
    assert all(read.evaluated_prompt_tokens < 20 for read in shared[1:])
    for prompt, read in zip(prompts, shared):
        gemma.clear_cache()
        fresh = gemma.read_statement(prompt, answers, lambda p: max(p, key=p.get), "\nL", [1, 2])
        assert fresh.probabilities == pytest.approx(read.probabilities, rel=1e-4)
