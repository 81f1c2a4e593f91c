"""Rule criteria: phrases, time windows and conversation measures checked in plain code on
hand-built calls with known words and timings; the pre-check that keeps criteria from the
(real, embedded) LLM; invalid rules; the stored criterion kind; and eval per kind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipeline.errors import ScorecardError
from pipeline.scoring.llama_backend import LlamaBackend
from pipeline.speech.metrics import compute_metrics
from pipeline.models.choice import smollm2_model
from pipeline.scoring.prompt import load_prompt_template
from pipeline.scoring.rules import Condition, Conversation, RuleResult, evaluate
from pipeline.scoring.score import Scorer, ScoringStyle
from pipeline.scoring.scorecard import parse_scorecard
from pipeline.speech.segments import Segment
from pipeline.store.warehouse import CallRecord, EvaluationKey, Warehouse, migrations
from tests.conftest import GOOD_CALL, rows, run_cli
from tests.factories import CARD_YAML, call_record


def seg(speaker: str, start: float, end: float, text: str = "one two three") -> Segment:
    channel = {"agent": 0, "customer": 1}.get(speaker, 0)
    return Segment(speaker, channel, start, end, text, -0.2, 0.01, 1.1)


def rule(data: dict) -> Condition:
    return Condition.model_validate(data)


def check(condition: dict, segments: list[Segment]) -> RuleResult:
    return evaluate(rule(condition), Conversation(segments, compute_metrics(segments)))


COMPANY_IN_15_S = {"said": {"speaker": "agent", "phrases": ["Northwind Energy"], "within": {"first_s": 15}}}


def _call_naming_the_company_at(seconds: float) -> list[Segment]:
    return [
        seg("agent", 0.0, 2.0, "Hello there."),
        seg("customer", 2.5, 4.0 if seconds > 4 else 2.9, "Hi."),
        seg("agent", seconds, seconds + 3.0, "Northwind Energy, how can I help?"),
        seg("customer", seconds + 3.5, seconds + 6.0, "My bill is wrong."),
    ]


# -- said / not_said: words, times, windows ------------------------------------------------------


def test_company_name_at_3_s_passes_a_15_s_window_and_at_40_s_does_not() -> None:
    early = check(COMPANY_IN_15_S, _call_naming_the_company_at(3.0))
    assert early == RuleResult(True, "[00:03] AGENT: Northwind Energy, how can I help?", True)
    late = check(COMPANY_IN_15_S, _call_naming_the_company_at(40.0))
    assert late.holds is False
    assert late.evidence == "outside the first 15 s: [00:40] AGENT: Northwind Energy, how can I help?"


@pytest.mark.parametrize(("at", "holds"), [(15.0, True), (15.01, False)])
def test_the_window_includes_its_end(at: float, holds: bool) -> None:
    """A match counts when the moment its first word is said lies in the window, ends included."""
    assert check(COMPANY_IN_15_S, _call_naming_the_company_at(at)).holds is holds


@pytest.mark.parametrize(("window", "holds"), [
    ({"last_s": 6.0}, True),  # the conversation ends at 21.0: the window starts at 15.0, the match
    ({"last_s": 5.99}, False),
    ({"from_s": 15.0, "to_s": 16.0}, True),
    ({"from_s": 10.0, "to_s": 15.0}, True),
    ({"from_s": 15.01, "to_s": 20.0}, False),
    ({"first_fraction": 15 / 21}, True),  # 15 s of a 21 s conversation
    ({"first_fraction": 0.7}, False),
    ({"last_fraction": 6 / 21 + 1e-9}, True),
    ({"last_fraction": 0.28}, False),
])
def test_window_forms_at_their_edges(window: dict, holds: bool) -> None:
    segments = _call_naming_the_company_at(15.0)  # conversation 0.0-21.0 s, company named at 15.0 s
    condition = {"said": {"phrases": ["northwind energy"], "within": window}}
    assert check(condition, segments).holds is holds


def test_windows_are_relative_to_the_first_spoken_word() -> None:
    """Ten seconds of ringing before anyone speaks do not eat into a 15 s window."""
    segments = [seg("agent", 10.0, 12.0, "Hello."), seg("agent", 22.0, 25.0, "This is Northwind Energy.")]
    result = check(COMPANY_IN_15_S, segments)
    assert result.evidence == "[00:22] AGENT: This is Northwind Energy."  # recording time, as in transcripts


def test_a_match_is_placed_inside_its_segment_by_character_position() -> None:
    text = "x" * 49 + " Northwind Energy" + " y" * 17  # the name starts at character 50 of 100
    assert len(text) == 100
    segments = [seg("agent", 10.0, 20.0, text), seg("customer", 21.0, 22.0, "ok")]
    assert check({"said": {"phrases": ["northwind energy"], "within": {"first_s": 4.9}}}, segments).holds is False
    assert check({"said": {"phrases": ["northwind energy"], "within": {"first_s": 5.0}}}, segments).holds is True


@pytest.mark.parametrize(("phrase", "spoken", "holds"), [
    ("north wind energy", "Thank you for calling Northwind Energy.", True),
    ("Northwind Energy", "thank you for calling north wind energy", True),
    ("Northwind Energy", "thank you for calling Northwinds Energy", True),  # ASR spelling variant
    ("I'm sorry to hear that", "im sorry to hear that!", True),  # punctuation and case do not count
    ("Northwind Energy", "thank you for calling Northern Gas", False),
    ("anything else", "is there anything less", False),
    ("calm down", "please come down to the office", False),
])
def test_asr_spelling_variants_match_and_different_words_do_not(phrase: str, spoken: str, holds: bool) -> None:
    assert check({"said": {"phrases": [phrase]}}, [seg("agent", 0.0, 4.0, spoken)]).holds is holds


@pytest.mark.parametrize(("phrase", "spoken", "holds"), [
    ("это всё", "Хорошо, это все, спасибо.", True),  # ё written as е
    ("это все", "Хорошо, это всё, спасибо.", True),
    ("ЭТО ВСЁ", "это всё", True),  # case folding of Cyrillic
    ("Děkuji za zavolání", "dekuji za zavolani", False),  # accents count unless the rule ignores them
    ("čeština", "ČEŠTINA", True),
])
def test_letters_written_either_way_match(phrase: str, spoken: str, holds: bool) -> None:
    assert check({"said": {"phrases": [phrase]}}, [seg("agent", 0.0, 4.0, spoken)]).holds is holds


def test_a_rule_that_ignores_accents_matches_them_written_or_not() -> None:
    plain = [seg("agent", 0.0, 4.0, "dekuji za zavolani, na shledanou")]
    rule_ = {"said": {"phrases": ["Děkuji za zavolání"], "ignore_accents": True}}
    assert check(rule_, plain).holds is True
    assert check(rule_, [seg("agent", 0.0, 4.0, "Děkuji za zavolání!")]).holds is True
    assert check(rule_, [seg("agent", 0.0, 4.0, "dobrý den")]).holds is False


def test_a_scorecard_without_the_new_keys_keeps_its_version() -> None:
    """ignore_accents, vocabulary and fields left out are not content: the default scorecard
    without its fields (with a said rule) keeps the version its evaluations were stored under
    before fields existed; given, they are content."""
    from pipeline.resources import default_scorecard_path
    from pipeline.scoring.scorecard import load_scorecard

    default = load_scorecard(default_scorecard_path())
    assert default.version == "f9dcbc03206a"  # with the fields reason, outcome and summary
    text = default_scorecard_path().read_text(encoding="utf-8")
    assert parse_scorecard(text.split("\nfields:")[0]).version == "c38373c81f56"  # as before (docs/quality.md)
    text = text.split("\nfields:")[0] + "\n"
    default = parse_scorecard(text)
    assert parse_scorecard(text + "vocabulary: [Northwind Energy]\n").version != default.version
    assert parse_scorecard(text.replace("phrases:", "ignore_accents: true\n        phrases:", 1)).version != default.version


def test_a_phrase_may_run_across_one_speakers_segments_but_not_across_speakers() -> None:
    split = [seg("agent", 0.0, 2.0, "Thank you for calling Northwind"), seg("agent", 3.5, 5.0, "Energy, hello.")]
    assert check({"said": {"phrases": ["calling northwind energy"]}}, split).holds is True
    crossed = [seg("agent", 0.0, 2.0, "Thank you for calling Northwind"), seg("customer", 3.5, 5.0, "Energy?")]
    assert check({"said": {"speaker": "any", "phrases": ["calling northwind energy"]}}, crossed).holds is False


def test_forbidden_phrase_with_negation_and_speaker() -> None:
    forbidden = {"not_said": {"speaker": "agent", "phrases": ["calm down"]}}
    rude = [seg("customer", 0.0, 3.0, "This is the third time I call!"), seg("agent", 3.5, 6.0, "Sir, please calm down.")]
    assert check(forbidden, rude) == RuleResult(False, "[00:03] AGENT: Sir, please calm down.", True)
    customer_says_it = [seg("agent", 0.0, 3.0, "How can I help?"), seg("customer", 3.5, 6.0, "I will not calm down!")]
    assert check(forbidden, customer_says_it) == RuleResult(True, None)
    assert check({"not_said": {"speaker": "any", "phrases": ["calm down"]}}, customer_says_it).holds is False


def test_a_regular_expression_searches_the_normalised_words() -> None:
    segments = [seg("agent", 0.0, 3.0, "Your reference is AB-12, okay?"), seg("agent", 4.0, 6.0, "Calm DOWN.")]
    assert check({"said": {"regex": r"\bab 12\b"}}, segments).evidence == "[00:00] AGENT: Your reference is AB-12, okay?"
    assert check({"not_said": {"regex": r"calm(ed)? down"}}, segments).holds is False
    assert check({"said": {"regex": r"\bab 13\b"}}, segments).holds is False


# -- metrics ---------------------------------------------------------------------------------------


def test_a_long_hold_fails_a_silence_limit_with_the_figure_as_evidence() -> None:
    hold = [seg("agent", 0.0, 4.0, "Let me check, please hold."), seg("agent", 46.0, 49.0, "Thanks for holding."),
            seg("customer", 49.5, 51.0, "Okay.")]
    assert check({"metric": {"name": "longest_silence_s", "max": 30}}, hold) == RuleResult(
        False, "longest_silence_s 42 > max 30")
    assert check({"metric": {"name": "longest_silence_s", "max": 42}}, hold) == RuleResult(
        True, "longest_silence_s 42 <= max 42")  # bounds are inclusive
    assert check({"metric": {"name": "non_talk_ratio", "min": 0.5, "max": 1}}, hold).holds is True


def _interrupting(times: int) -> list[Segment]:
    segments = []
    for i in range(times):
        base = 10.0 * i
        segments += [seg("customer", base, base + 5.0), seg("agent", base + 4.0, base + 6.0)]  # 1 s over the customer
    return segments


@pytest.mark.parametrize(("times", "holds", "evidence"), [
    (2, True, "agent_interruptions 2 <= max 2"),
    (3, False, "agent_interruptions 3 > max 2"),
])
def test_interruption_count(times: int, holds: bool, evidence: str) -> None:
    result = check({"metric": {"name": "agent_interruptions", "max": 2}}, _interrupting(times))
    assert result == RuleResult(holds, evidence)


def test_a_mono_call_makes_per_speaker_conditions_not_applicable() -> None:
    mono = [seg("unknown", 0.0, 3.0, "Northwind Energy, hello."), seg("unknown", 3.5, 6.0, "Hi, my bill.")]
    result = check({"metric": {"name": "agent_interruptions", "max": 2}}, mono)
    assert result == RuleResult(None, "agent_interruptions not measured (no speaker separation)")
    assert check({"said": {"speaker": "agent", "phrases": ["northwind energy"]}}, mono).holds is None
    assert check({"not_said": {"speaker": "agent", "phrases": ["calm down"]}}, mono).holds is None
    assert check({"said": {"speaker": "any", "phrases": ["northwind energy"]}}, mono).evidence == (
        "[00:00] SPEAKER: Northwind Energy, hello.")
    assert check({"metric": {"name": "longest_silence_s", "max": 30}}, mono).holds is True  # not per speaker


def test_a_rule_on_the_customer_s_sentiment_change() -> None:
    from tests.factories import ANGRY_THEN_THANKFUL, CALM_THEN_ANGRY

    happier = {"metric": {"name": "customer_sentiment_change", "min": 0}}

    def judged(segments, language: str | None) -> RuleResult:
        return evaluate(rule(happier), Conversation(list(segments), compute_metrics(segments, language=language)))

    assert judged(ANGRY_THEN_THANKFUL, "en").holds is True
    assert judged(CALM_THEN_ANGRY, "en").holds is False
    assert judged(ANGRY_THEN_THANKFUL, "ru") == RuleResult(None, "customer_sentiment_change not measured (sentiment "
                                                               "not measured: the lexicon is English, the call is in 'ru')")
    silent_start = [s for s in ANGRY_THEN_THANKFUL if not (s.speaker == "customer" and s.start < 5)]
    assert judged(silent_start, "en") == RuleResult(None, "customer_sentiment_change not measured (the speaker said "
                                                          "nothing in the first or the last quarter)")


# -- all / any ---------------------------------------------------------------------------------------


GOOD = [seg("agent", 0.0, 3.0, "Thank you for calling Northwind Energy."), seg("customer", 3.5, 5.0, "Hi."),
        seg("agent", 50.0, 53.0, "Anything else I can help with?")]  # a 45 s silence before the last line
COMPANY = {"said": {"phrases": ["northwind energy"]}}
NO_CALM_DOWN = {"not_said": {"phrases": ["calm down"]}}
SHORT_SILENCE = {"metric": {"name": "longest_silence_s", "max": 30}}


def test_all_and_any_combine_and_nest() -> None:
    both = check({"all": [COMPANY, NO_CALM_DOWN]}, GOOD)
    assert both == RuleResult(True, "[00:00] AGENT: Thank you for calling Northwind Energy.", True)
    failed = check({"all": [COMPANY, SHORT_SILENCE]}, GOOD)
    assert failed == RuleResult(False, "longest_silence_s 45 > max 30")  # the part that failed
    either = check({"any": [SHORT_SILENCE, {"said": {"phrases": ["anything else"], "within": {"last_s": 5}}}]}, GOOD)
    assert either.holds is True and either.evidence == "[00:50] AGENT: Anything else I can help with?"
    neither = check({"any": [SHORT_SILENCE, {"said": {"phrases": ["goodbye"]}}]}, GOOD)
    assert neither == RuleResult(False, "longest_silence_s 45 > max 30")
    nested = check({"any": [{"all": [COMPANY, SHORT_SILENCE]}, {"all": [COMPANY, NO_CALM_DOWN]}]}, GOOD)
    assert nested.holds is True


def test_combinations_are_three_valued_on_a_mono_call() -> None:
    mono = [seg("unknown", 0.0, 3.0, "Northwind Energy, hello.")]
    per_speaker = {"metric": {"name": "agent_interruptions", "max": 2}}
    anyone = {"said": {"speaker": "any", "phrases": ["northwind energy"]}}
    nobody = {"said": {"speaker": "any", "phrases": ["goodbye"]}}
    assert check({"all": [anyone, per_speaker]}, mono).holds is None  # true and unknown: unknown
    assert check({"all": [nobody, per_speaker]}, mono).holds is False  # false decides
    assert check({"any": [anyone, per_speaker]}, mono).holds is True  # true decides
    assert check({"any": [nobody, per_speaker]}, mono).holds is None


# -- scorecard syntax and errors ---------------------------------------------------------------------


MIXED = """
name: mixed
criteria:
  - id: greeted
    question: The agent opens the call with a greeting that names the company.
  - id: company_early
    question: The agent names the company in the first 15 seconds.
    rule:
      said: {speaker: agent, phrases: [northwind energy], within: {first_s: 15}}
  - id: fixed_bill
    question: The agent explains how the bill will be corrected.
    only_if:
      said: {speaker: customer, phrases: [bill]}
  - id: no_long_silence
    question: The customer is never left in silence for more than 30 seconds.
    weight: 0.5
    kind: rule
    rule:
      metric: {name: longest_silence_s, max: 30}
"""


def test_kind_follows_the_rule_and_the_version_covers_rules() -> None:
    card = parse_scorecard(MIXED)
    assert card.kinds == {"greeted": "llm", "company_early": "rule", "fixed_bill": "llm", "no_long_silence": "rule"}
    assert [c.id for c in card.llm_criteria] == ["greeted", "fixed_bill"]
    assert parse_scorecard(MIXED.replace("    kind: rule\n", "")).version == card.version  # kind rule is implied
    assert parse_scorecard(MIXED.replace("max: 30", "max: 31")).version != card.version
    assert parse_scorecard(MIXED.replace("first_s: 15", "first_s: 16")).version != card.version
    assert parse_scorecard(MIXED.replace("[bill]", "[invoice]")).version != card.version
    explicit = MIXED.replace("{speaker: customer, phrases: [bill]}", "{speaker: customer, phrases: [bill], regex: null}")
    assert parse_scorecard(explicit).version == card.version


def test_a_scorecard_without_rules_keeps_the_version_it_had_before_rules() -> None:
    from tests.scoring.test_scorecard import MINIMAL

    assert parse_scorecard(MINIMAL).version == "77dd37861d1a"  # as computed before criteria had kinds


BASE = "name: t\ncriteria:\n  - id: greeted\n    question: The agent greets.\n  - id: r\n    question: A rule criterion.\n"


@pytest.mark.parametrize(("extra", "message"), [
    ("    rule: {said: {regex: '(unclosed'}}\n",
     r"card.yaml: criteria\[1\] \(r\).rule.said.regex: Value error, invalid regular expression '\(unclosed'"),
    ("    rule: {said: {regex: 'x*'}}\n", r"\(r\).rule.said.regex: .*matches empty text"),
    ("    rule: {metric: {name: silence_s, max: 3}}\n", r"\(r\).rule.metric.name: Value error, unknown metric 'silence_s'"),
    ("    rule: {metric: {name: words}}\n", r"\(r\).rule.metric: Value error, give min, max or both"),
    ("    rule: {metric: {name: words, min: 5, max: 1}}\n", r"\(r\).rule.metric: .*min \(5\) is greater than max \(1\)"),
    ("    rule: {said: {phrases: [hi], within: {first_s: -1}}}\n",
     r"\(r\).rule.said.within.first_s: Input should be greater than 0"),
    ("    rule: {said: {phrases: [hi], within: {last_fraction: 1.5}}}\n",
     r"\(r\).rule.said.within.last_fraction: Input should be less than or equal to 1"),
    ("    rule: {said: {phrases: [hi], within: {from_s: 10, to_s: 5}}}\n",
     r"\(r\).rule.said.within: Value error, from_s \(10\) must be less than to_s \(5\)"),
    ("    rule: {said: {phrases: [hi], within: {first_s: 5, last_s: 5}}}\n", r"\(r\).rule.said.within: .*give one of"),
    ("    kind: llm\n    rule: {said: {phrases: [hi]}}\n", r"\(r\).rule: Value error, a rule is given, but kind is 'llm'"),
    ("    kind: rule\n", r"\(r\).rule: Value error, kind is 'rule', but no rule is given"),
    ("    rule: {said: {phrases: [hi]}, metric: {name: words, min: 1}}\n", r"\(r\).rule: .*exactly one of said"),
    ("    rule: {said: {phrases: [hi], regex: hi}}\n", r"\(r\).rule.said: Value error, give either phrases or regex"),
    ("    rule: {any: [{said: {phrases: ['...']}}]}\n", r"\(r\).rule.any\[0\].said.phrases: .*phrase '...' has no words"),
    ("    rule: {said: {speaker: boss, phrases: [hi]}}\n", r"\(r\).rule.said.speaker: Input should be 'agent'"),
    ("    only_if: {said: {regex: 'a**'}}\n", r"\(r\).only_if.said.regex: .*invalid regular expression"),
])
def test_invalid_rules_are_one_line_naming_the_criterion_and_field(extra: str, message: str) -> None:
    with pytest.raises(ScorecardError, match=message) as caught:
        parse_scorecard(BASE + extra, source="card.yaml")
    assert "\n" not in str(caught.value)


def test_callscore_score_with_a_bad_rule_exits_2_with_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE + "    rule: {said: {regex: '(unclosed'}}\n")
    result = run_cli("score", str(tmp_path), "--db", str(tmp_path / "w.duckdb"), "--scorecard", str(bad))
    assert result.exit_code == 2
    assert "criteria[1] (r).rule.said.regex: Value error, invalid regular expression" in result.stderr
    assert "Traceback" not in result.stderr


# -- scoring with the real embedded LLM --------------------------------------------------------------


@pytest.fixture(scope="module")
def counted_backend() -> LlamaBackend:
    """The embedded LLM, its fill_form wrapped to record each call's prompt and answer schema."""
    backend = LlamaBackend(smollm2_model(), n_ctx=4096, device="cpu")
    original = backend.fill_form
    backend.calls = []  # type: ignore[attr-defined]

    def counting(messages, form, **kwargs):  # observe the real calls, change nothing
        backend.calls.append(("\n".join(m["content"] for m in messages), form.schema()))  # type: ignore[attr-defined]
        return original(messages, form, **kwargs)

    backend.fill_form = counting  # type: ignore[method-assign]
    return backend


PRECHECK_ONLY = parse_scorecard("""
name: precheck
criteria:
  - id: fixed_bill
    question: The agent explains how the bill will be corrected.
    only_if:
      said: {speaker: customer, phrases: [bill]}
  - id: company_early
    question: The agent names the company in the first 15 seconds.
    rule:
      said: {speaker: agent, phrases: [northwind energy], within: {first_s: 15}}
""")

OUTAGE = [seg("agent", 0.0, 3.0, "Thank you for calling Northwind Energy, Sam speaking."),
          seg("customer", 3.5, 7.0, "Hi, the power is out on my whole street."),
          seg("agent", 7.5, 11.0, "There is an outage in your area, engineers expect it fixed by six."),
          seg("customer", 11.5, 12.5, "Okay, thanks.")]
BILLING = [seg("agent", 0.0, 3.0, "Thank you for calling Northwind Energy, Sam speaking."),
           seg("customer", 3.5, 7.0, "Hi, my bill is twice what it should be."),
           seg("agent", 7.5, 12.0, "The reading was estimated; I will correct the bill within five days."),
           seg("customer", 12.5, 13.5, "Okay, thanks.")]


@pytest.mark.slow
def test_a_failed_pre_check_skips_the_model_and_answers_na(counted_backend: LlamaBackend) -> None:
    scorer = Scorer(counted_backend, PRECHECK_ONLY, load_prompt_template())
    counted_backend.calls.clear()  # type: ignore[attr-defined]
    result = scorer.score(OUTAGE)
    assert counted_backend.calls == []  # type: ignore[attr-defined]
    fixed, company = result.verdicts
    assert (fixed.passed, fixed.confidence, fixed.evidence_verified) == (None, 1.0, None)
    assert fixed.evidence.startswith("not applicable: only_if does not hold")
    assert (company.passed, company.confidence, company.evidence_verified) == (True, 1.0, True)
    assert company.evidence == "[00:00] AGENT: Thank you for calling Northwind Energy, Sam speaking."
    assert (result.windows, result.prompt_tokens, result.completion_tokens) == (0, 0, 0)

    result = scorer.score(BILLING)  # the trigger word is there: the model is asked, about that criterion only
    assert len(counted_backend.calls) == 1  # type: ignore[attr-defined]
    prompt, schema = counted_backend.calls[0]  # type: ignore[attr-defined]
    assert "fixed_bill" in prompt and "company_early" not in prompt
    assert set(schema["properties"]) == {"fixed_bill"}
    assert result.windows == 1 and result.verdicts[0].passed in (True, False)
    assert result.verdicts[1].passed is True


@pytest.mark.slow
@pytest.mark.parametrize("style", [ScoringStyle(), ScoringStyle("per_criterion")], ids=["together", "per-criterion"])
def test_only_the_llm_criteria_that_apply_are_asked(counted_backend: LlamaBackend, style: ScoringStyle) -> None:
    scorer = Scorer(counted_backend, parse_scorecard(MIXED), load_prompt_template(), style=style)
    counted_backend.calls.clear()  # type: ignore[attr-defined]
    metrics = compute_metrics(OUTAGE)
    result = scorer.score(OUTAGE, metrics)
    assert [prompt for prompt, _ in counted_backend.calls] and all(  # type: ignore[attr-defined]
        set(schema["properties"]) == {"greeted"} for _, schema in counted_backend.calls)  # type: ignore[attr-defined]
    assert all("company_early" not in p and "no_long_silence" not in p and "fixed_bill" not in p
               for p, _ in counted_backend.calls)  # type: ignore[attr-defined]
    verdicts = {v.criterion_id: v for v in result.verdicts}
    assert list(verdicts) == ["greeted", "company_early", "fixed_bill", "no_long_silence"]
    assert verdicts["no_long_silence"].evidence == "longest_silence_s 0.5 <= max 30"
    assert verdicts["fixed_bill"].passed is None


# -- warehouse: the stored kind, the migration, eval per kind -----------------------------------------


def test_the_migration_adds_criterion_kind_to_an_existing_warehouse(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as connection:  # a warehouse as callscore left it before rules
        before = Warehouse(connection, path)
        before.applied_migrations()  # creates schema_migrations
        for migration in migrations():
            if migration.version < 5:
                connection.execute(migration.path.read_text(encoding="utf-8"))
                connection.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                                   [migration.version, migration.name])
        connection.execute("INSERT INTO scores (recording_id, whisper_model, scorecard_version, prompt_version, llm_model,"
                           " scorecard_name, criterion_id, weight, critical, passed)"
                           " VALUES ('r1', 'tiny.en', 'v1', 'p1', 'm.gguf', 'old', 'greeted', 1, false, true)")
        assert "criterion_kind" not in [c[0] for c in connection.execute("DESCRIBE scores").fetchall()]
    with Warehouse.open(path) as warehouse:
        assert warehouse.applied_migrations() == [m.version for m in migrations()] and 5 in warehouse.applied_migrations()
        assert warehouse.connection.execute("SELECT criterion_id, criterion_kind FROM scores").fetchall() == [
            ("greeted", "llm")]
        assert "criterion_kind" in [c[0] for c in warehouse.connection.execute("DESCRIBE kpi_criteria").fetchall()]


# `closing` judged by a rule instead of the LLM; otherwise tests/factories.py CARD.
MIXED_KPI_YAML = CARD_YAML.replace(
    "    weight: 3\n", "    weight: 3\n    rule:\n      said: {phrases: [goodbye], within: {last_fraction: 0.3}}\n")


def test_scores_carry_the_kind_and_eval_reports_agreement_per_kind(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    card = parse_scorecard(MIXED_KPI_YAML)
    db = tmp_path / "w.duckdb"
    answers = {"A": [("greeted", True, 0.9), ("verified", True, 0.8), ("closing", True, 1.0, "[00:09] AGENT: goodbye")],
               "B": [("greeted", False, 0.6), ("verified", None, 0.9), ("closing", False, 1.0)]}
    with Warehouse.open(db) as warehouse:
        for recording_id, verdicts in answers.items():
            record = call_record(recording_id, verdicts)
            key = EvaluationKey(recording_id, "tiny.en", card.version, "p1", "model.gguf")
            warehouse.save_call(CallRecord(**{**record.__dict__, "key": key, "scorecard": card}))
        kinds = warehouse.connection.execute(
            "SELECT criterion_id, criterion_kind, pass_rate FROM kpi_criteria ORDER BY criterion_id").fetchall()
    assert kinds == [("closing", "rule", 0.5), ("greeted", "llm", 0.5), ("verified", "llm", 1.0)]
    labels, card_file = tmp_path / "labels.csv", tmp_path / "card.yaml"
    labels.write_text("recording,criterion_id,label\nA.mp3,greeted,yes\nA.mp3,verified,yes\nA.mp3,closing,yes\n"
                      "B.mp3,greeted,yes\nB.mp3,verified,na\nB.mp3,closing,yes\n")
    card_file.write_text(MIXED_KPI_YAML)
    result = run_cli("eval", "--labels", str(labels), "--scorecard", str(card_file), "--db", str(db), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    per_kind = {row["kind"]: (row["answers"], row["agreement"]) for row in report["kinds"]}
    assert per_kind == {"llm": (4, 0.75), "rule": (2, 0.5)}
    assert {c["criterion_id"]: c["kind"] for c in report["criteria"]} == {
        "greeted": "llm", "verified": "llm", "closing": "rule"}
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: no cell is cut
    table = run_cli("eval", "--labels", str(labels), "--scorecard", str(card_file), "--db", str(db))
    assert "all llm criteria" in table.stdout and "all rule criteria" in table.stdout


@pytest.mark.slow
def test_callscore_score_stores_rule_verdicts_beside_llm_ones(tmp_path: Path) -> None:
    inbox, db, card = tmp_path / "inbox", tmp_path / "w.duckdb", tmp_path / "mixed.yaml"
    inbox.mkdir()
    shutil.copy(GOOD_CALL, inbox)
    card.write_text("""
name: mixed-e2e
criteria:
  - id: verified_identity
    question: The agent checks the customer's identity before discussing the account.
  - id: company_early
    question: The agent names the company in the first 15 seconds.
    rule:
      said: {speaker: agent, phrases: [northwind energy], within: {first_s: 15}}
  - id: anything_else
    question: The agent asks whether there is anything else they can help with.
    rule:
      said: {speaker: agent, phrases: [anything else], within: {last_fraction: 0.4}}
  - id: no_long_silence
    question: The customer is never left in silence for more than 30 seconds.
    rule:
      metric: {name: longest_silence_s, max: 30}
""")
    result = run_cli("score", str(inbox), "--db", str(db), "--scorecard", str(card), "--json")
    assert result.exit_code == 0, result.stderr
    stored = {r[0]: r[1:] for r in rows(db, "SELECT criterion_id, criterion_kind, passed, confidence, evidence,"
                                            " evidence_verified FROM scores")}
    assert {k: v[0] for k, v in stored.items()} == {"verified_identity": "llm", "company_early": "rule",
                                                    "anything_else": "rule", "no_long_silence": "rule"}
    kind, passed, confidence, evidence, verified = stored["company_early"]
    assert (passed, confidence, verified) == (True, 1.0, True)
    assert evidence.startswith("[00:0") and "AGENT:" in evidence and "energy" in evidence.lower()
    assert stored["anything_else"][1] is True and "anything else" in stored["anything_else"][3].lower()
    silence = stored["no_long_silence"]
    assert silence[1] is True and silence[3].startswith("longest_silence_s ") and silence[3].endswith("<= max 30")
    assert rows(db, "SELECT criterion_id, criterion_kind FROM kpi_criteria ORDER BY criterion_id") == [
        ("anything_else", "rule"), ("company_early", "rule"), ("no_long_silence", "rule"), ("verified_identity", "llm")]
    assert rows(db, "SELECT qa_score IS NOT NULL FROM kpi_calls") == [(True,)]
