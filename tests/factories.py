"""Hand-built warehouse rows with known answers, for the KPI views, queries and report."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence

from pipeline.intake.inbox import CallFacts
from pipeline.speech.metrics import compute_metrics
from pipeline.scoring.extraction import Extraction
from pipeline.scoring.score import CallScore, Verdict
from pipeline.scoring.scorecard import Scorecard, parse_scorecard
from pipeline.speech.segments import Segment
from pipeline.speech.transcription import NewTranscript
from pipeline.store.warehouse import CallRecord, EvaluationKey

# Weights: greeted 1, verified 2 (critical, may be n/a), closing 3.
CARD_YAML = """
name: kpi-test
criteria:
  - id: greeted
    question: The agent greets the customer.
  - id: verified
    question: The agent verifies the customer's identity.
    weight: 2
    critical: true
    allow_na: true
  - id: closing
    question: The agent closes the call politely.
    weight: 3
"""
CARD = parse_scorecard(CARD_YAML)
# CARD with extraction fields (docs/scorecards.md "Extraction fields"), for the views on reasons and outcomes.
FIELDS_CARD_YAML = CARD_YAML + """
fields:
  - id: reason
    question: Why did the customer call?
    kind: choice
    options: [billing, outage, move, other]
  - id: outcome
    question: How did the call end?
    kind: choice
    options: [resolved, follow_up, escalated, unresolved]
  - id: summary
    question: Summarise the call.
    kind: text
    max_words: 40
"""
FIELDS_CARD = parse_scorecard(FIELDS_CARD_YAML)

DEFAULT_SEGMENTS = (Segment("agent", 0, 0.5, 2.0, "Hello, Northwind Energy.", -0.2, 0.01, 1.1),)


def seg(speaker: str, start: float, end: float, text: str = "one two three") -> Segment:
    channel = {"agent": 0, "customer": 1}.get(speaker, -1)
    return Segment(speaker, channel, start, end, text, -0.2, 0.01, 1.2)


def call_record(
    recording_id: str,
    verdicts: Sequence[tuple],  # (criterion, passed, confidence[, evidence[, verified]])
    *,
    agent: str | None = "sam",
    started_at: datetime | None = None,
    days_ago: int | None = None,
    segments: Sequence[Segment] = DEFAULT_SEGMENTS,
    with_transcript: bool = True,
    llm_model: str = "model.gguf",
    team: str | None = "billing",
    card: Scorecard = CARD,
    extractions: Sequence[tuple] = (),  # (field, value, confidence[, evidence line])
    language: str | None = None,  # for sentiment (English only); None: not measured
) -> CallRecord:
    """A scored call of ``card`` as `callscore score` would store it."""
    if started_at is None:
        started_at = (datetime.now(timezone.utc) - timedelta(days=days_ago)) if days_ago is not None else datetime(
            2026, 11, 16, 9, 0, tzinfo=timezone.utc)
    key = EvaluationKey(recording_id, "tiny.en", card.version, "p1", llm_model)
    verdict_rows = []
    for criterion, passed, confidence, *rest in verdicts:
        evidence = rest[0] if rest else None
        verified = rest[1] if len(rest) > 1 else (True if evidence else None)
        verdict_rows.append(Verdict(criterion, passed, confidence, evidence, verified, 0))
    answers = tuple(Extraction(field_id, value, confidence,
                               *((segments[rest[0] - 1].text, rest[0], segments[rest[0] - 1].start) if rest else ()))
                    for field_id, value, confidence, *rest in extractions)  # line n: segment n (one per turn)
    return CallRecord(
        key=key, path=Path(f"/inbox/{recording_id}.mp3"), size_bytes=1000,
        facts=CallFacts(agent, team, None, started_at, "sidecar", {"queue": "a"}),
        scorecard=card, status="scored", run_id="run-1", duration_s=60.0,
        transcript=NewTranscript("cpu", tuple(segments), 1.5) if with_transcript else None,
        score=CallScore(tuple(verdict_rows), 1, 500, 100, 2.0, extractions=answers),
        metrics=compute_metrics(segments, language=language) if with_transcript else None,
    )


HOSTILE_QUOTE = '<script>document.title="pwned"</script><img src="http://example.invalid/x.png">'

# Five calls over three weeks, relative to today, with known answers (see tests/store/test_kpi.py).
RECENT_CALLS = [
    call_record("A", [("greeted", True, 0.9, "Hello, Northwind Energy."), ("verified", True, 0.9), ("closing", True, 0.9)],
                agent="sam", days_ago=1,
                segments=[seg("agent", 0, 6), seg("customer", 5, 9), seg("agent", 9.5, 12)]),
    call_record("B", [("greeted", True, 0.9), ("verified", False, 0.5, HOSTILE_QUOTE, False), ("closing", True, 0.9)],
                agent="sam", days_ago=2,
                segments=[seg("agent", 0, 4), seg("customer", 4.5, 8), seg("agent", 7, 10), seg("customer", 15, 16),
                          seg("agent", 15.5, 17)]),
    call_record("C", [("greeted", False, 0.6, "Yeah what is it"), ("verified", None, 0.9), ("closing", True, 0.95)],
                agent="alex", days_ago=3, segments=[seg("unknown", 0, 5), seg("unknown", 10, 12)]),
    call_record("D", [("greeted", True, 0.9), ("verified", False, 0.9), ("closing", False, 0.9)],
                agent="alex", days_ago=20, segments=[seg("agent", 0, 3), seg("customer", 3.5, 5)]),
    call_record("E", [("greeted", True, 0.9), ("verified", True, 0.9), ("closing", True, 0.9)],
                agent="priya", days_ago=10, segments=[seg("agent", 0, 4), seg("customer", 4.2, 6)]),
]

# A call with a clear sentiment turn: the customer angry in the first quarter (0-5 s of 0-20 s),
# thankful in the last.
ANGRY_THEN_THANKFUL = (
    seg("agent", 0, 2, "Hello, Northwind Energy, how can I help?"),
    seg("customer", 2, 5, "This is ridiculous, I am furious, your bill is wrong and useless!"),
    seg("agent", 5, 12, "I am sorry about that, let me correct the bill now."),
    seg("customer", 12, 14, "Okay."),
    seg("agent", 14, 16, "Done, the refund is on its way."),
    seg("customer", 16, 20, "Thank you so much, that is wonderful, great help!"),
)
# The other way round: calm at first, angry at the end.
CALM_THEN_ANGRY = (
    seg("agent", 0, 2, "Hello, Northwind Energy, how can I help?"),
    seg("customer", 2, 5, "Hi, thanks, I would like to ask about the outage."),
    seg("agent", 5, 12, "I cannot tell you when it will be fixed."),
    seg("customer", 12, 14, "Okay."),
    seg("agent", 14, 16, "It may take a week."),
    seg("customer", 16, 20, "That is terrible, I am angry and disappointed, this is awful."),
)
_PASS = [("greeted", True, 0.9), ("verified", True, 0.9), ("closing", True, 0.9)]

# Four calls of FIELDS_CARD with known reasons, outcomes and sentiment (tests/store/test_kpi_outcomes.py).
OUTCOME_CALLS = [
    call_record("O1", _PASS, card=FIELDS_CARD, agent="sam", team="billing", days_ago=1, language="en",
                segments=ANGRY_THEN_THANKFUL,
                extractions=[("reason", "billing", 0.8, 2), ("outcome", "resolved", 0.9, 5),
                             ("summary", "Bill corrected, refund sent.", None)]),
    call_record("O2", _PASS, card=FIELDS_CARD, agent="sam", team="billing", days_ago=1, language="en",
                segments=CALM_THEN_ANGRY,
                extractions=[("reason", "outage", 0.6, 2), ("outcome", "escalated", 0.7),
                             ("summary", "Outage, no date for the fix.", None)]),
    call_record("O3", _PASS, card=FIELDS_CARD, agent="alex", team="moves", days_ago=2, language="en",
                segments=ANGRY_THEN_THANKFUL,
                extractions=[("reason", "billing", 0.7), ("outcome", "resolved", 0.8)]),
    call_record("O4", _PASS, card=FIELDS_CARD, agent="alex", team="moves", days_ago=2, language="ru",
                segments=ANGRY_THEN_THANKFUL,
                extractions=[("reason", "move", 0.9), ("outcome", "unresolved", 0.6)]),
]
