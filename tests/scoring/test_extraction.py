"""Extraction fields: a scorecard's choice and text fields, answered in the criteria's form,
read with their limits, and combined over windows (fast tier: a fake backend)."""

from __future__ import annotations

import pytest

from pipeline.errors import PermanentRecordingError, ScorecardError
from pipeline.scoring.extraction import Extraction, combine_extractions
from pipeline.scoring.form import TextBlank, form_for
from pipeline.scoring.prompt import load_prompt_template
from pipeline.scoring.score import Scorer
from pipeline.scoring.scorecard import parse_scorecard
from pipeline.speech.segments import Segment
from tests.fakes import FakeBackend

CARD = parse_scorecard("""
name: fields
criteria:
  - id: greeted
    question: The agent opens the call with a greeting that names the company.
fields:
  - id: summary
    question: What the customer wanted and what the agent did.
    kind: text
    max_words: 8
  - id: reason
    question: Why the customer called.
    kind: choice
    options: [billing, outage, other]
""")
CALL = (
    Segment("agent", 0, 0.5, 3.0, "Thank you for calling Northwind Energy, this is Sam.", -0.2, 0.01, 1.1),
    Segment("customer", 1, 3.4, 6.0, "Hi, my bill is wrong.", -0.3, 0.02, 1.1),
)


def test_fields_are_asked_in_the_criteria_form_choice_fields_first() -> None:
    form = form_for(CARD.llm_criteria, (1, 2), fields=CARD.extraction_fields)
    assert [f.id for f in form.fields] == ["greeted", "reason", "summary"]
    assert any(isinstance(p, TextBlank) and p.max_words == 8 for p in form.parts())
    assert form.schema()["properties"]["reason"]["properties"]["value"]["enum"] == ["billing", "outage", "other"]


def test_a_choice_is_stored_with_its_line_and_a_text_is_cut_to_its_limit() -> None:
    backend = FakeBackend(line=2, values={"reason": "billing"}, text="one two three four five six seven eight nine ten")
    score = Scorer(backend, CARD, load_prompt_template()).score(CALL)
    assert len(backend.prompts) == 1  # one pass for criteria and fields
    found = {e.field_id: e for e in score.extractions}
    assert found["reason"].value == "billing" and found["reason"].confidence == 1.0
    assert found["reason"].evidence == "Hi, my bill is wrong." and found["reason"].evidence_start_s == 3.4
    assert found["summary"].value == "one two three four five six seven eight"
    assert "reason (one of billing, outage, other)" in backend.prompts[0][0]["content"]


def test_an_answer_outside_the_options_is_refused() -> None:
    with pytest.raises(PermanentRecordingError, match="not one of its options"):
        Scorer(FakeBackend(values={"reason": "weather"}), CARD, load_prompt_template()).score(CALL)


def test_window_texts_join_within_the_limit_and_the_most_confident_choice_wins() -> None:
    summary, reason = CARD.fields
    texts = [Extraction("summary", "a b c d e", None, window=1), Extraction("summary", "x y z w", None, window=0)]
    assert combine_extractions(summary, texts).value == "x y z w a b c d"
    choices = [Extraction("reason", "other", 0.9, window=0), Extraction("reason", "billing", 0.6, evidence="bill",
                                                                          evidence_line=2, window=1)]
    assert combine_extractions(reason, choices).value == "billing"  # a cited line first


@pytest.mark.parametrize("field", [
    "{id: greeted, question: an id a criterion has, kind: text, max_words: 5}",
    "{id: reason, question: options of a text field, kind: text, options: [a, b]}",
    "{id: reason, question: a choice with no options, kind: choice}",
    "{id: reason, question: options with spaces, kind: choice, options: [a b, c]}",
])
def test_a_malformed_field_is_a_scorecard_error(field: str) -> None:
    with pytest.raises(ScorecardError):
        parse_scorecard("name: x\ncriteria: [{id: greeted, question: The agent greets.}]\nfields: [" + field + "]\n")
