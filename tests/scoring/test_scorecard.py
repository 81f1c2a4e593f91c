from pathlib import Path

import pytest

from pipeline.errors import ScorecardError
from pipeline.resources import default_scorecard_path
from pipeline.scoring.scorecard import load_scorecard, parse_scorecard

MINIMAL = """
name: tiny
criteria:
  - id: greeted
    question: The agent opens the call with a greeting that names the company.
  - id: thanked
    question: The agent thanks the customer.
    weight: 2
    critical: true
"""


def test_default_scorecard_covers_a_support_line() -> None:
    scorecard = load_scorecard(default_scorecard_path())
    ids = [c.id for c in scorecard.criteria]
    assert 8 <= len(ids) <= 12
    for expected in ("greeted", "verified_identity", "empathy", "clear_next_step", "recap", "anything_else",
                     "thanked_closing", "no_rude_language"):
        assert expected in ids
    assert scorecard.criterion("verified_identity").allow_na
    assert scorecard.criterion("no_rude_language").critical
    kinds = scorecard.kinds  # exact checks are rules, judgement is the LLM's
    assert kinds["anything_else"] == kinds["no_long_silence"] == kinds["few_interruptions"] == "rule"
    assert kinds["no_rude_language"] == kinds["empathy"] == "llm"


def test_version_ignores_formatting_and_follows_content() -> None:
    base = parse_scorecard(MINIMAL)
    reformatted = parse_scorecard("# a comment\n" + MINIMAL.replace("weight: 2", "weight: 2.0") + "\n\n")
    explicit_defaults = parse_scorecard(MINIMAL.replace(
        "names the company.", "names the company.\n    weight: 1\n    critical: false\n    allow_na: false"))
    edited = parse_scorecard(MINIMAL.replace("thanks the customer", "thanks the caller"))
    assert base.version == reformatted.version == explicit_defaults.version
    assert edited.version != base.version
    assert len(base.version) == 12


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL.replace("weight: 2", "weight: -1"), r"criteria\[1\] \(thanked\)\.weight"),
        (MINIMAL.replace("id: thanked", "id: Thanked!"), r"criteria\[1\] \(Thanked!\)\.id"),
        (MINIMAL.replace("id: thanked", "id: greeted"), "'greeted' is used more than once"),
        (MINIMAL.replace("critical: true", "critical: true\n    colour: red"), r"thanked\)\.colour"),
        ("name: x\ncriteria: []\n", "criteria"),
        ("name: x\ncriteria:\n  - id: a\n    question: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_invalid_scorecards_name_the_criterion_and_field(text: str, message: str) -> None:
    with pytest.raises(ScorecardError, match=message):
        parse_scorecard(text, source="card.yaml")


def test_missing_scorecard_file(tmp_path: Path) -> None:
    with pytest.raises(ScorecardError, match="cannot read scorecard"):
        load_scorecard(tmp_path / "nope.yaml")


def _alias_bomb(levels: int) -> str:
    """A scorecard whose rule grows ninefold per level of YAML aliases ("billion laughs")."""
    text = 'name: x\ncriteria:\n  - id: a\n    question: "Is it fine?"\n    rule: &l0 {metric: talk_ratio}\n'
    for level in range(1, levels + 1):
        text += f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]\n"
    return text


@pytest.mark.parametrize(("text", "message"), [
    (_alias_bomb(12), "holds more than 20000 values"),
    ("name: x\ncriteria:\n  - id: a\n    question: Is it fine?\n    rule: " + "[" * 3000 + "]" * 3000, "nested more than 24"),
    ("name: x\ncriteria:\n  - id: a\n    question: Is it fine?\n    rule: " + "{any: " * 30 + "x" + "}" * 30, "nested more than 24"),
    ("name: x\n# " + "x" * 300_000 + "\ncriteria: []\n", "is over 256 KiB"),
])
def test_a_scorecard_too_big_or_too_deep_is_refused_before_it_is_validated(text: str, message: str) -> None:
    with pytest.raises(ScorecardError, match=message):
        parse_scorecard(text)


def test_a_question_of_only_spaces_is_refused() -> None:
    with pytest.raises(ScorecardError, match=r"criteria\[0\] \(a\)\.question: .*at least 5 characters besides spaces"):
        parse_scorecard("name: x\ncriteria:\n  - id: a\n    question: '          '\n")


_FIELD = "name: x\ncriteria:\n  - id: a\n    question: Was it answered?\nfields:\n  - id: f\n    question: Which one?\n"


@pytest.mark.parametrize(("text", "message"), [
    (_FIELD + "    kind: choice\n    options: [yes, no]\n",
     "options[0]: Input should be a valid string (YAML reads yes, no, on, off, true and false unquoted as booleans"),
    (_FIELD + "    kind: choice\n    options: [" + "b" * 500 + ", c]\n", "option '" + "b" * 40 + "...' is not"),
    ('name: x\ncriteria:\n  - id: "a\\nb' + "z" * 200 + '"\n    question: Was it answered?\n',
     "criteria[0] (a\\nb" + "z" * 37 + "...).id"),
    ("name: x\nvocabulary: [\"Acme\\u001b[2J\"]\ncriteria:\n  - id: a\n    question: Was it answered?\n",
     "the vocabulary term 'Acme\\x1b[2J' holds a control character"),
])
def test_scorecard_errors_say_what_yaml_made_of_it_and_never_echo_a_value_whole(text: str, message: str) -> None:
    with pytest.raises(ScorecardError) as refused:
        parse_scorecard(text, source="card.yaml")
    assert message in str(refused.value) and "\n" not in str(refused.value)
    assert len(str(refused.value)) < 300
