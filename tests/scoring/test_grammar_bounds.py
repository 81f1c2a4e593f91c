"""Scorecards whose answer llama.cpp once could not take: choice options that share their first
tokens and long text fields. The form decoder fills them (with a confidence for the choice),
every grammar callscore builds stays inside llama.cpp's limits, and a grammar llama.cpp refuses
is a one-line error, never a crash (it segfaulted the scorer: exit 139)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.errors import ModelError
from pipeline.models.choice import smollm2_model
from pipeline.scoring.form import form_for
from pipeline.scoring.llama_backend import LlamaBackend
from pipeline.scoring.scorecard import parse_scorecard
from tests.conftest import MONO_CALL, rows

pytestmark = pytest.mark.slow

CALLSCORE = str(Path(sys.executable).with_name("callscore"))

SHARED_FIRST_TOKENS = """
name: billing-kinds
criteria:
  - id: greeted
    question: The agent opens the call with a greeting that names the company.
fields:
  - id: bill_kind
    question: What the customer asks about.
    kind: choice
    options: [bill, billing, billed, bills]
  - id: summary
    question: What the customer wanted and what the agent did about it.
    kind: text
    max_words: 200
"""


@pytest.fixture(scope="module")
def llm() -> LlamaBackend:
    return LlamaBackend(smollm2_model(), n_ctx=4096, device="cpu")


def test_a_scorecard_that_crashed_the_scorer_scores_a_call(tmp_path: Path) -> None:
    card, db = tmp_path / "card.yaml", tmp_path / "w.duckdb"
    card.write_text(SHARED_FIRST_TOKENS)
    done = subprocess.run([CALLSCORE, "score", str(MONO_CALL), "--db", str(db), "--scorecard", str(card), "--json"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]  # was -11 (SIGSEGV), the run left 'running'
    assert json.loads(done.stdout)["counts"]["scored"] == 1
    (kind, confidence), = rows(db, "SELECT value, confidence FROM extractions WHERE field_id = 'bill_kind'")
    assert kind in ("bill", "billing", "billed", "bills") and 0 < confidence <= 1  # was NULL under the grammar
    (summary,), = rows(db, "SELECT value FROM extractions WHERE field_id = 'summary'")
    assert len(summary.split()) <= 200
    assert rows(db, "SELECT status FROM runs") == [("completed",)]


def test_options_that_share_first_tokens_take_the_most_probable_one(llm: LlamaBackend) -> None:
    card = parse_scorecard(SHARED_FIRST_TOKENS)
    form = form_for(card.criteria, (1, 2), fields=card.extraction_fields)
    messages = [{"role": "user", "content": "1 AGENT: Hello, Northwind Energy.\n2 CUSTOMER: My bills are too high."}]
    answer = llm.fill_form(messages, form, max_tokens=400)
    assert answer.decided_tokens is not None  # filled by the form decoder, not under a grammar
    chances = answer.choice_probabilities[1]
    assert set(chances) == {"bill", "billing", "billed", "bills"}
    assert all(0 < chance <= 1 for chance in chances.values()) and sum(chances.values()) <= 1
    value = json.loads(answer.text)["bill_kind"]["value"]
    assert chances[value] == max(chances.values())  # not the first branch's best: the option's own


def test_the_largest_scorecard_builds_a_grammar_llama_cpp_takes(llm: LlamaBackend) -> None:
    """50 criteria; 10 choice fields of 20 options of 40 characters sharing their first tokens;
    10 text fields of 200 words; a window of 2000 lines: the most the scorecard allows."""
    criteria = "".join(f"  - id: c{i}\n    question: Question number {i} about the call.\n    allow_na: true\n"
                       for i in range(50))
    choices = "".join(f"  - id: f{i}\n    question: Which kind it was.\n    kind: choice\n    options: ["
                      + ", ".join(f"billing_{j:02d}_" + "x" * 29 for j in range(20)) + "]\n" for i in range(10))
    texts = "".join(f"  - id: t{i}\n    question: Say it in words.\n    kind: text\n    max_words: 200\n"
                    for i in range(10))
    card = parse_scorecard(f"name: largest\ncriteria:\n{criteria}fields:\n{choices}{texts}")
    form = form_for(card.criteria, tuple(range(1, 2001)), fields=card.extraction_fields)
    assert llm._grammar(form.schema()) is not None


def test_a_grammar_llama_cpp_refuses_is_an_error_not_a_crash(llm: LlamaBackend) -> None:
    schema = {"type": "object", "properties": {"v": {"type": "string", "maxLength": 5000}}, "required": ["v"]}
    with pytest.raises(ModelError, match="llama.cpp refuses the answer grammar"):
        llm._grammar(schema)
    with pytest.raises(ModelError):
        llm.generate_json([{"role": "user", "content": "hi"}], schema, max_tokens=8)
