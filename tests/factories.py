"""Hand-built warehouse rows with known answers, for the KPI views, queries and report."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence

from pipeline.intake.inbox import CallFacts
from pipeline.speech.metrics import compute_metrics
from pipeline.scoring.score import CallScore, Verdict
from pipeline.scoring.scorecard import parse_scorecard
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
) -> CallRecord:
    """A scored call of CARD as `callscore score` would store it."""
    if started_at is None:
        started_at = (datetime.now(timezone.utc) - timedelta(days=days_ago)) if days_ago is not None else datetime(
            2026, 11, 16, 9, 0, tzinfo=timezone.utc)
    key = EvaluationKey(recording_id, "tiny.en", CARD.version, "p1", llm_model)
    verdict_rows = []
    for criterion, passed, confidence, *rest in verdicts:
        evidence = rest[0] if rest else None
        verified = rest[1] if len(rest) > 1 else (True if evidence else None)
        verdict_rows.append(Verdict(criterion, passed, confidence, evidence, verified, 0))
    return CallRecord(
        key=key, path=Path(f"/inbox/{recording_id}.mp3"), size_bytes=1000,
        facts=CallFacts(agent, "billing", None, started_at, "sidecar", {"queue": "a"}),
        scorecard=CARD, status="scored", run_id="run-1", duration_s=60.0,
        transcript=NewTranscript("cpu", tuple(segments), 1.5) if with_transcript else None,
        score=CallScore(tuple(verdict_rows), 1, 500, 100, 2.0),
        metrics=compute_metrics(segments) if with_transcript else None,
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
