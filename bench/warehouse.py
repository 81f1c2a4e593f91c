"""How fast the warehouse writes calls and answers the KPI views, at 10k, 100k and 1M scored calls.

    .venv/bin/python bench/warehouse.py --calls 10000 100000 1000000 [--dir DIR] [--json] [--no-writes]

For each size a real warehouse is created with ``Warehouse.open`` (migrations, views) and filled
in bulk SQL with synthetic scored calls, then its KPI tables are filled as after any bulk load
(``Warehouse.rebuild_kpi_tables``): about 50 agents in 5 teams, a year of calls, 10 criteria per
call from a support scorecard (two critical, two that may be "not applicable"), one
``call_metrics`` row and one scored evaluation per call, written in the order they were scored.
A few calls exercise "latest" and "current": 5% also have an evaluation by the scorecard's
previous version, 2% were scored twice by the current version (the later evaluation counts) and
1% had no speech. Warehouses go to DIR (kept) or to a new folder under /tmp (removed at the end).

Then, on each warehouse:

1. analyst queries on the KPI views and the bundled queries (``warehouse/queries``), each the
   best of 3 after one warm-up, on a freshly opened read-only connection, against a 0.5 s target;
2. the per-call write path, ``Warehouse.save_call`` of synthetic ``CallRecord`` s (40 segments,
   10 verdicts each): the shipped bulk inserts against a baseline that inserts segments and
   scores one row at a time (``executemany``), interleaved in rounds so that both see the same
   machine load; then stored calls scored again by another LLM (``callscore rescore``'s writes).

The exit status is 0 when every query at the largest size is under the target. ``--json``
prints only the JSON of the results on stdout; progress goes to stderr. ``run(sizes,
directory)`` does the same for another script and returns a ``WarehouseBench``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from bench.machine import describe_machine  # noqa: E402

from pipeline.intake.audio import AudioInfo  # noqa: E402
from pipeline.intake.inbox import CallFacts  # noqa: E402
from pipeline.speech.metrics import compute_metrics  # noqa: E402
from pipeline.store.named_queries import bundled_queries, set_variables  # noqa: E402
from pipeline.scoring.score import CallScore, Verdict  # noqa: E402
from pipeline.scoring.scorecard import Scorecard, parse_scorecard  # noqa: E402
from pipeline.speech.segments import Segment  # noqa: E402
from pipeline.speech.transcription import NewTranscript  # noqa: E402
from pipeline.store.warehouse import CallRecord, EvaluationKey, Warehouse  # noqa: E402

TARGET_S = 0.5  # every analyst query at 1M calls
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
WRITE_CALLS = 500  # calls written by each write path at each size
WRITE_ROUNDS = 5  # the two write paths alternate in this many rounds
RESCORE_CALLS = 50  # stored calls scored again (a known recording: the slower path)

WHISPER_MODEL = "small.en"
PROMPT_VERSION = "p-3f9a1c0d2e4b"
LLM_MODEL = "qwen2.5-7b-instruct-q4_k_m.gguf"
EARLIER_LLM_MODEL = "llama-3.2-3b-instruct-q4_k_m.gguf"  # the first scoring of re-scored calls
TEAMS = ("billing", "broadband", "moves", "sales", "retention")
REASONS = ("billing", "outage", "move", "cancel", "technical", "other")  # the default scorecard's fields
OUTCOMES = ("resolved", "follow_up", "escalated", "unresolved")
AGENTS = 50

# The scorecard of the synthetic calls. Weights sum to 12; two critical criteria; two may be n/a.
CARD_YAML = """
name: support-bench
criteria:
  - id: greeted
    question: The agent opens the call with a greeting that names the company.
  - id: introduced
    question: The agent tells the customer their own name.
    weight: 0.5
  - id: verified_identity
    question: Before discussing account details, the agent verifies the customer's identity.
    weight: 2
    critical: true
    allow_na: true
  - id: understood_issue
    question: The agent asks questions or restates the problem to understand the customer's issue.
  - id: empathy
    question: The agent acknowledges the customer's feelings or inconvenience.
    allow_na: true
  - id: clear_next_step
    question: The agent tells the customer clearly what will happen next or what to do next.
    weight: 2
  - id: recap
    question: Before the call ends, the agent summarises what was agreed or done.
  - id: anything_else
    question: The agent asks whether there is anything else they can help with.
    weight: 0.5
    rule:
      said:
        speaker: agent
        phrases: [anything else, something else]
        within: {last_fraction: 0.4}
  - id: thanked_closing
    question: The agent thanks the customer and closes the call politely.
  - id: no_rude_language
    question: The agent is polite throughout and never uses rude, dismissive or blaming language.
    weight: 2
    critical: true
    combine: all
"""
# The version before it: empathy could not be n/a and recap weighed 2.
OLD_CARD_YAML = (CARD_YAML.replace("    question: The agent acknowledges the customer's feelings or inconvenience.\n"
                                   "    allow_na: true\n",
                                   "    question: The agent acknowledges the customer's feelings or inconvenience.\n")
                 .replace("    question: Before the call ends, the agent summarises what was agreed or done.\n",
                          "    question: Before the call ends, the agent summarises what was agreed or done.\n"
                          "    weight: 2\n"))
CARD = parse_scorecard(CARD_YAML)
OLD_CARD = parse_scorecard(OLD_CARD_YAML)

# (base pass rate, share answered n/a when the criterion allows it, evidence quote when passed)
ANSWERS = {
    "greeted": (0.93, 0.0, "Thank you for calling Northwind Energy, how can I help?"),
    "introduced": (0.78, 0.0, "My name is Sam and I'll be looking after you today."),
    "verified_identity": (0.90, 0.12, "Can I take your date of birth and postcode, please?"),
    "understood_issue": (0.84, 0.0, "So the bill went up after the meter was replaced, is that right?"),
    "empathy": (0.70, 0.25, "I'm sorry to hear that, I understand how frustrating that is."),
    "clear_next_step": (0.80, 0.0, "You'll get an email with the new plan within two working days."),
    "recap": (0.66, 0.0, "So to recap, I've moved you to the fixed tariff from next month."),
    "anything_else": (0.75, 0.0, "Is there anything else I can help you with today?"),
    "thanked_closing": (0.88, 0.0, "Thanks for calling, have a lovely afternoon."),
    "no_rude_language": (0.97, 0.0, "I completely understand, let me sort that out for you."),
}


# -- results ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Generated:
    """A warehouse filled with synthetic calls in bulk SQL."""

    calls: int  # recordings
    rows: dict[str, int]  # table -> rows written (call_scores and criterion_totals included)
    seconds: float  # wall seconds to generate and commit them, and to fill the KPI tables

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class WriteRate:
    """``Warehouse.save_call`` throughput: one transaction per call, 40 segments and 10 scores."""

    method: str  # 'bulk' (shipped), 'executemany' (baseline: segments and scores one row at a time),
    # or 'rescore' (shipped, a stored recording scored again: no transcript, its rows worked out again)
    calls: int
    seconds: float  # wall seconds for all of them

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class QueryTime:
    """One analyst query on a freshly opened read-only connection."""

    name: str
    sql: str
    seconds: float  # best of 3, after one warm-up, rows fetched into Python
    rows: int  # rows returned

    @property
    def under_target(self) -> bool:
        return self.seconds < TARGET_S


@dataclass(frozen=True)
class SizeResult:
    """One warehouse size: how it was filled, then queried, then written to."""

    calls: int
    file_mb: float  # size of the warehouse file after generation
    generated: Generated
    queries: list[QueryTime]
    writes: list[WriteRate]


@dataclass(frozen=True)
class WarehouseBench:
    """Everything measured, for every size; ``as_dict`` for JSON, ``markdown`` for a report."""

    sizes: list[SizeResult]
    machine: str
    duckdb_version: str
    target_s: float = TARGET_S
    measured_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def largest(self) -> SizeResult | None:
        return max(self.sizes, key=lambda s: s.calls) if self.sizes else None

    def target_met(self) -> bool:
        """Every query under the target at the largest size measured."""
        largest = self.largest()
        return largest is not None and all(q.under_target for q in largest.queries)

    def summary(self) -> str:
        largest = self.largest()
        if largest is None:
            return "not measured"
        slowest = max(largest.queries, key=lambda q: q.seconds)
        return (f"slowest query at {largest.calls:,} calls: {slowest.name} {slowest.seconds:.3f} s; "
                f"save_call {next((w.calls_per_s for w in largest.writes if w.method == 'bulk'), 0):.0f} calls/s")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for size, result in zip(data["sizes"], self.sizes):
            size["generated"]["calls_per_s"] = round(result.generated.calls_per_s, 1)
            for query, measured in zip(size["queries"], result.queries):
                query["under_target"] = measured.under_target
            for write, measured in zip(size["writes"], result.writes):
                write["calls_per_s"] = round(measured.calls_per_s, 1)
        data["target_met"] = self.target_met()
        return data

    def markdown(self) -> str:
        lines = [f"{self.machine}, DuckDB {self.duckdb_version}; queries: best of 3 after a warm-up, "
                 f"target under {self.target_s} s.", "",
                 "| calls | generated rows | generation s | calls per s | file MB | save_call calls per s "
                 "(bulk / executemany baseline / rescore) |", "|---|---|---|---|---|---|"]
        for size in self.sizes:
            rates = {w.method: w.calls_per_s for w in size.writes}
            lines.append(f"| {size.calls:,} | {sum(size.generated.rows.values()):,} | {size.generated.seconds:.1f} "
                         f"| {size.generated.calls_per_s:,.0f} | {size.file_mb:,.0f} "
                         f"| {rates.get('bulk', 0):.0f} / {rates.get('executemany', 0):.0f} "
                         f"/ {rates.get('rescore', 0):.0f} |")
        names = list(dict.fromkeys(q.name for size in self.sizes for q in size.queries))
        lines += ["", "| query | " + " | ".join(f"{s.calls:,} calls" for s in self.sizes) + " |",
                  "|---|" + "---|" * len(self.sizes)]
        for name in names:
            cells = []
            for size in self.sizes:
                query = next((q for q in size.queries if q.name == name), None)
                cells.append("-" if query is None else f"{query.seconds:.3f} s {'ok' if query.under_target else 'SLOW'}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


# -- synthetic data --------------------------------------------------------------------------------

def _criteria_rows(card: Scorecard) -> list[tuple]:
    return [(card.version, position, c.id, c.weight, c.critical, c.allow_na, c.kind, *ANSWERS[c.id])
            for position, c in enumerate(card.criteria)]


# Uniform [0, 1) numbers from a seed and a stream number, so a size gives the same data each time.
_U = "((hash({seed}, {stream}) % 1000003) / 1000003.0)"


def _u(seed: str, stream: int | str) -> str:
    return _U.format(seed=seed, stream=stream)


def generate(warehouse: Warehouse, calls: int, *, now: datetime | None = None) -> Generated:
    """Fill ``warehouse`` (empty, migrated) with ``calls`` synthetic calls in one transaction,
    in the order they were scored, then fill its KPI tables (``Warehouse.rebuild_kpi_tables``).

    Calls start on the 365 days before ``now`` (default: the current hour), 08:00-18:00 UTC;
    they are scored 2 h after they start (re-scorings 1 h later, earlier versions 1 h earlier).
    """
    now = (now or datetime.now(timezone.utc)).replace(minute=0, second=0, microsecond=0)
    today = now.replace(hour=0)
    con = warehouse.connection
    con.execute("SET enable_progress_bar = false")
    started = time.perf_counter()
    with warehouse.transaction():
        con.execute("CREATE TEMP TABLE bench_criteria (scorecard_version VARCHAR, position INTEGER, criterion_id VARCHAR,"
                    " weight DOUBLE, critical BOOLEAN, allow_na BOOLEAN, criterion_kind VARCHAR, pass_rate DOUBLE,"
                    " na_rate DOUBLE, quote VARCHAR)")
        con.executemany("INSERT INTO bench_criteria VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        _criteria_rows(CARD) + _criteria_rows(OLD_CARD))
        # One row per call: who, when, and which of the few special cases it is.
        con.execute(f"""
            CREATE TEMP TABLE bench_calls AS
            WITH base AS (
                SELECT i, 1 + CAST(hash(i, 1) % {AGENTS} AS INTEGER) AS agent_no,
                       1 + CAST(floor({_u('i', 2)} * 365) AS INTEGER) AS days_ago,
                       CAST(8 * 3600 + floor({_u('i', 3)} * 10 * 3600) AS INTEGER) AS second_of_day,
                       {_u('i', 4)} AS length_u, {_u('i', 5)} AS mono_u
                FROM generate_series(1, {int(calls)}) AS g(i)
            )
            SELECT i, sha256('bench-call-' || i) AS recording_id,
                   'agent_' || lpad(CAST(agent_no AS VARCHAR), 2, '0') AS agent,
                   [{', '.join(repr(t) for t in TEAMS)}][1 + agent_no % {len(TEAMS)}] AS team,
                   ((agent_no * 37) % 21 - 10) / 100.0 AS skill,
                   CAST(? AS TIMESTAMPTZ) - to_days(days_ago) + to_seconds(second_of_day) AS started_at,
                   round(90 + 900 * length_u * length_u, 1) AS duration_s,
                   CASE WHEN i % 100 = 0 THEN 'no_speech' WHEN i % 100 <= 5 THEN 'two_versions'
                        WHEN i % 100 <= 7 THEN 'rescored' ELSE 'normal' END AS kind,
                   mono_u < 0.05 AS mono
            FROM base
        """, [today])
        con.execute("""
            INSERT INTO recordings (recording_id, path, file_name, size_bytes, container, codec, channels, sample_rate,
                duration_s, truncated, agent, team, call_id, started_at, started_at_source, metadata, first_seen_at)
            SELECT recording_id, '/srv/calls/inbox/' || strftime(started_at, '%Y/%m/%d') || '/call-' || i || '.mp3',
                   'call-' || i || '.mp3', CAST(duration_s * 8000 AS BIGINT), 'mp3', 'mp3', CASE WHEN mono THEN 1 ELSE 2 END,
                   8000, duration_s, false, agent, team, 'C' || lpad(CAST(i AS VARCHAR), 9, '0'), started_at, 'sidecar',
                   json_object('queue', team, 'direction', CASE WHEN i % 7 = 0 THEN 'outbound' ELSE 'inbound' END),
                   started_at + INTERVAL 1 HOUR
            FROM bench_calls ORDER BY started_at
        """)
        con.execute(f"""
            INSERT INTO transcripts (recording_id, whisper_model, device, segment_count, speech_s, seconds, created_at,
                redacted_cards, redacted_emails, redacted_phones, redacted_numbers, redaction)
            SELECT recording_id, '{WHISPER_MODEL}', 'cpu',
                   CASE WHEN kind = 'no_speech' THEN 0 ELSE 20 + CAST(duration_s / 15 AS INTEGER) END,
                   CASE WHEN kind = 'no_speech' THEN 0 ELSE round(duration_s * 0.8, 3) END,
                   round(duration_s / 12, 3), started_at + INTERVAL 1 HOUR,
                   CAST(i % 50 = 0 AS INTEGER), CAST(i % 23 = 0 AS INTEGER), CAST(i % 5 = 0 AS INTEGER), i % 3,
                   'card,email,phone,number'
            FROM bench_calls ORDER BY started_at
        """)
        con.execute(f"""
            INSERT INTO call_metrics
            WITH m AS (
                SELECT recording_id, mono, round(duration_s * 0.97, 3) AS conversation_s,
                       0.72 + 0.2 * {_u('i', 10)} AS talk_share, {_u('i', 11)} AS agent_share_u,
                       CAST(floor(6 * {_u('i', 12)} * {_u('i', 12)}) AS INTEGER) AS silences,
                       CAST(floor(5 * {_u('i', 13)} * {_u('i', 13)}) AS INTEGER) AS agent_interruptions,
                       CAST(floor(4 * {_u('i', 14)} * {_u('i', 14)}) AS INTEGER) AS customer_interruptions,
                       135 + 50 * {_u('i', 15)} AS agent_wpm, 120 + 60 * {_u('i', 16)} AS customer_wpm,
                       {_u('i', 17)} AS u
                FROM bench_calls WHERE kind <> 'no_speech'
            ), s AS (
                SELECT *, round(conversation_s * talk_share, 3) AS talk_s,
                       round(conversation_s * talk_share * (0.45 + 0.2 * agent_share_u), 3) AS agent_talk_s,
                       round(conversation_s * talk_share * (0.6 - 0.2 * agent_share_u), 3) AS customer_talk_s
                FROM m
            )
            SELECT recording_id, '{WHISPER_MODEL}', NOT mono, conversation_s, talk_s,
                   round(silences * (4 + 20 * u), 3), round(silences * (4 + 20 * u) / conversation_s, 4), silences,
                   round(2 + 40 * u * u, 3), CASE WHEN mono THEN NULL ELSE round(conversation_s * 0.03 * u, 3) END,
                   CAST(talk_s * (2.3 + 0.6 * u) AS INTEGER), round(60 * (2.3 + 0.6 * u), 1),
                   CASE WHEN mono THEN NULL ELSE agent_talk_s END,
                   CASE WHEN mono THEN NULL ELSE round(agent_talk_s / conversation_s, 4) END,
                   CASE WHEN mono THEN NULL ELSE round(agent_wpm, 1) END,
                   CASE WHEN mono THEN NULL ELSE agent_interruptions END,
                   CASE WHEN mono THEN NULL ELSE round(agent_interruptions * 0.8, 3) END,
                   CASE WHEN mono THEN NULL ELSE round(agent_talk_s * (0.15 + 0.2 * u), 3) END,
                   CASE WHEN mono THEN NULL ELSE customer_talk_s END,
                   CASE WHEN mono THEN NULL ELSE round(customer_talk_s / conversation_s, 4) END,
                   CASE WHEN mono THEN NULL ELSE round(customer_wpm, 1) END,
                   CASE WHEN mono THEN NULL ELSE customer_interruptions END,
                   CASE WHEN mono THEN NULL ELSE round(customer_interruptions * 0.6, 3) END,
                   CASE WHEN mono THEN NULL ELSE round(customer_talk_s * (0.2 + 0.2 * u), 3) END,
                   CASE WHEN mono THEN NULL ELSE round(greatest(agent_talk_s * (0.15 + 0.2 * u),
                                                                customer_talk_s * (0.2 + 0.2 * u)), 3) END,
                   started_at + INTERVAL 1 HOUR,
                   NULL, NULL, NULL,  -- the agent's sentiment (migration 011): not used by a view
                   CASE WHEN mono THEN NULL ELSE round(0.6 * {_u('i', 18)} - 0.4, 4) END,
                   CASE WHEN mono THEN NULL ELSE round(0.9 * {_u('i', 19)} - 0.3, 4) END,
                   CASE WHEN mono THEN NULL ELSE round(0.9 * {_u('i', 19)} - 0.6 * {_u('i', 18)} + 0.1, 4) END,
                   NULL
            FROM s JOIN bench_calls USING (recording_id, mono) ORDER BY started_at
        """)
        # Every evaluation: the current version for each call, plus the special cases.
        con.execute(f"""
            CREATE TEMP TABLE bench_evaluations AS
            SELECT i, recording_id, skill, '{CARD.version}' AS scorecard_version, '{LLM_MODEL}' AS llm_model,
                   CASE WHEN kind = 'no_speech' THEN 'no_speech' ELSE 'scored' END AS status,
                   started_at + CASE WHEN kind = 'two_versions' THEN INTERVAL 3 HOUR ELSE INTERVAL 2 HOUR END AS evaluated_at,
                   hash(i, 100) AS seed
            FROM bench_calls
            UNION ALL
            SELECT i, recording_id, skill, '{OLD_CARD.version}', '{LLM_MODEL}', 'scored', started_at + INTERVAL 1 HOUR,
                   hash(i, 101)
            FROM bench_calls WHERE kind = 'two_versions'
            UNION ALL
            SELECT i, recording_id, skill - 0.1, '{CARD.version}', '{EARLIER_LLM_MODEL}', 'scored',
                   started_at + INTERVAL 1 HOUR, hash(i, 102)
            FROM bench_calls WHERE kind = 'rescored'
        """)
        con.execute(f"""
            INSERT INTO evaluations (recording_id, whisper_model, scorecard_version, prompt_version, llm_model,
                scorecard_name, status, windows, prompt_tokens, completion_tokens, llm_seconds, run_id, evaluated_at, worker)
            SELECT recording_id, '{WHISPER_MODEL}', scorecard_version, '{PROMPT_VERSION}', llm_model, '{CARD.name}', status,
                   CASE WHEN status = 'scored' THEN 1 + CAST(seed % 20 = 0 AS INTEGER) END,
                   CASE WHEN status = 'scored' THEN 1800 + CAST(seed % 2400 AS INTEGER) END,
                   CASE WHEN status = 'scored' THEN 300 + CAST(seed % 250 AS INTEGER) END,
                   CASE WHEN status = 'scored' THEN round(8 + (seed % 1000) / 100.0, 3) END,
                   'run-' || strftime(evaluated_at, '%Y%m%d'), evaluated_at,
                   'worker-' || (1 + seed % 3)
            FROM bench_evaluations ORDER BY evaluated_at, recording_id
        """)
        con.execute(f"""
            INSERT INTO scores (recording_id, whisper_model, scorecard_version, prompt_version, llm_model, scorecard_name,
                criterion_id, weight, critical, passed, confidence, evidence, evidence_verified, scored_at, criterion_kind,
                evaluation_id)
            WITH answers AS (
                SELECT e.recording_id, e.scorecard_version, e.llm_model, e.evaluated_at, ev.evaluation_id,
                       c.criterion_id, c.weight,
                       c.critical, c.criterion_kind, c.quote,
                       CASE WHEN c.allow_na AND {_u('e.seed', 'c.position + 20')} < c.na_rate THEN NULL
                            ELSE {_u('e.seed', 'c.position')} < c.pass_rate + e.skill END AS passed,
                       CASE WHEN c.criterion_kind = 'rule' THEN 1.0
                            ELSE round(0.99 - 0.45 * pow({_u('e.seed', 'c.position + 40')}, 3), 3) END AS confidence,
                       {_u('e.seed', 'c.position + 60')} AS quote_u
                FROM bench_evaluations AS e
                JOIN bench_criteria AS c USING (scorecard_version)
                JOIN evaluations AS ev USING (recording_id, scorecard_version, llm_model)
                WHERE e.status = 'scored'
            )
            SELECT recording_id, '{WHISPER_MODEL}', scorecard_version, '{PROMPT_VERSION}', llm_model, '{CARD.name}',
                   criterion_id, weight, critical, passed, confidence,
                   CASE WHEN passed AND quote_u < 0.8 THEN quote END,
                   CASE WHEN passed AND quote_u < 0.8 THEN quote_u > 0.03 END,
                   evaluated_at, criterion_kind, evaluation_id
            FROM answers ORDER BY evaluation_id, criterion_id
        """)
        # Each evaluation's reason and outcome (extraction fields), as the default scorecard asks.
        con.execute(f"""
            INSERT INTO extractions (recording_id, whisper_model, scorecard_version, prompt_version, llm_model,
                scorecard_name, evaluation_id, field_id, field_kind, value, confidence, extracted_at)
            SELECT ev.recording_id, '{WHISPER_MODEL}', ev.scorecard_version, '{PROMPT_VERSION}', ev.llm_model,
                   '{CARD.name}', ev.evaluation_id, f.field_id, 'choice',
                   f.options[1 + CAST(floor({_u('e.seed', 'f.position')} * len(f.options)) AS INTEGER)],
                   round(0.5 + 0.45 * {_u('e.seed', 'f.position + 1')}, 3), ev.evaluated_at
            FROM bench_evaluations AS e
            JOIN evaluations AS ev USING (recording_id, scorecard_version, llm_model)
            CROSS JOIN (VALUES (80, 'reason', {list(REASONS)}), (90, 'outcome', {list(OUTCOMES)}))
                AS f(position, field_id, options)
            WHERE e.status = 'scored'
            ORDER BY ev.evaluation_id, f.field_id
        """)
        for table in ("bench_criteria", "bench_calls", "bench_evaluations"):
            con.execute(f"DROP TABLE {table}")
    # Rows written around save_call must be counted into the KPI tables, as a bulk load would.
    warehouse.rebuild_kpi_tables()
    rows = {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("recordings", "transcripts", "call_metrics", "evaluations", "scores", "extractions",
                          "call_scores", "criterion_totals")}
    return Generated(calls, rows, time.perf_counter() - started)


def synthetic_records(count: int, *, start: int = 0, prefix: str = "bench-write") -> list[CallRecord]:
    """``count`` calls as ``callscore score`` would store them: 40 segments, 10 verdicts, metrics."""
    records = []
    now = datetime.now(timezone.utc)
    for n in range(start, start + count):
        segments, t = [], 0.5
        for k in range(40):
            speaker = "agent" if k % 2 == 0 else "customer"
            length = 2.0 + (n * 7 + k * 3) % 9
            segments.append(Segment(speaker, k % 2, round(t, 2), round(t + length, 2),
                                    f"segment {k} of call {n}: some words the {speaker} said about the bill",
                                    -0.25, 0.02, 1.3))
            t += length + (0.4 if k % 5 else -0.5)  # now and then the next speaker starts early
        verdicts = tuple(
            Verdict(c.id, None if c.allow_na and (n + i) % 9 == 0 else (n * 31 + i * 17) % 10 < 8,
                    round(0.6 + ((n + i) % 40) / 100, 2), ANSWERS[c.id][2], True, 0)
            for i, c in enumerate(CARD.criteria)
        )
        recording_id = f"{prefix}-{n:08d}"
        records.append(CallRecord(
            key=EvaluationKey(recording_id, WHISPER_MODEL, CARD.version, PROMPT_VERSION, LLM_MODEL),
            path=Path(f"/srv/calls/inbox/{recording_id}.mp3"), size_bytes=1_200_000,
            facts=CallFacts(f"agent_{1 + n % AGENTS:02d}", TEAMS[n % len(TEAMS)], f"W{n:09d}",
                            now - timedelta(minutes=n), "sidecar", {"queue": "billing"}),
            scorecard=CARD, status="scored", run_id="run-bench", audio=AudioInfo(t, 2, 8000, "mp3", "mp3"),
            duration_s=t, transcript=NewTranscript("cpu", tuple(segments), 9.5, ("card", "email", "phone", "number"),
                                                   {"card": 0, "email": 1, "phone": 1, "number": 0}),
            score=CallScore(verdicts, 1, 2400, 380, 11.2), metrics=compute_metrics(segments), worker="bench",
        ))
    return records


# -- the write path --------------------------------------------------------------------------------

class ExecutemanyWarehouse(Warehouse):
    """The baseline write path: segments and scores inserted one row at a time."""

    def _insert_rows(self, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> None:
        self.connection.executemany(
            f"INSERT INTO {table} ({', '.join(name for name, _ in columns)}) VALUES ({', '.join('?' * len(columns))})",
            rows)


def time_writes(path: Path, *, calls: int = WRITE_CALLS, rounds: int = WRITE_ROUNDS,
                prefix: str = "bench-write") -> list[WriteRate]:
    """Seconds for ``calls`` calls by each write path into the warehouse at ``path``, alternating
    between the two in ``rounds`` rounds."""
    per_round = max(1, calls // rounds)
    methods = {"bulk": Warehouse, "executemany": ExecutemanyWarehouse}
    seconds = dict.fromkeys(methods, 0.0)
    written = dict.fromkeys(methods, 0)
    start = 0
    for _ in range(rounds):
        for method, cls in methods.items():
            records = synthetic_records(per_round, start=start, prefix=f"{prefix}-{method}")
            start += per_round
            with cls.open(path) as warehouse:
                began = time.perf_counter()
                for record in records:
                    warehouse.save_call(record)
                seconds[method] += time.perf_counter() - began
            written[method] += len(records)
    rates = [WriteRate(method, written[method], seconds[method]) for method in methods]
    with Warehouse.open(path) as warehouse:
        records = rescored_records(warehouse, RESCORE_CALLS)
        began = time.perf_counter()
        for record in records:
            warehouse.save_call(record)
        rates.append(WriteRate("rescore", len(records), time.perf_counter() - began))
    return rates


def rescored_records(warehouse: Warehouse, count: int) -> list[CallRecord]:
    """``count`` stored calls scored again by another LLM from their stored transcripts, as
    ``callscore rescore`` stores them (the recording is known: its rows are worked out again)."""
    ids = [row[0] for row in warehouse.connection.execute(
        "SELECT recording_id FROM evaluations WHERE status = 'scored' AND scorecard_version = ? AND llm_model = ?"
        " ORDER BY evaluation_id LIMIT ?", [CARD.version, LLM_MODEL, count]).fetchall()]
    records = []
    for n, recording_id in enumerate(ids):
        stored = warehouse.stored_recording(recording_id)
        verdicts = tuple(Verdict(c.id, (n + i) % 4 != 0, 0.9, None, None, 0) for i, c in enumerate(CARD.criteria))
        records.append(CallRecord(
            key=EvaluationKey(recording_id, WHISPER_MODEL, CARD.version, PROMPT_VERSION, "rescore-" + LLM_MODEL),
            path=stored.path, size_bytes=stored.size_bytes, facts=stored.facts, scorecard=CARD, status="scored",
            run_id="run-bench-rescore", duration_s=stored.duration_s, score=CallScore(verdicts, 1, 2400, 380, 11.2),
        ))
    return records


# -- the analyst queries ---------------------------------------------------------------------------

def analyst_queries() -> list[tuple[str, str, dict[str, object]]]:
    """(name, SQL, variables) of the queries timed: KPI views and every bundled query."""
    month_ago = (datetime.now(timezone.utc).date() - timedelta(days=30)).isoformat()
    queries: list[tuple[str, str, dict[str, object]]] = [
        ("kpi_agents", "SELECT * FROM kpi_agents", {}),
        ("kpi_criteria", "SELECT * FROM kpi_criteria", {}),
        ("kpi_daily, last 30 days", f"SELECT * FROM kpi_daily WHERE day >= DATE '{month_ago}'", {}),
        ("kpi_calls count, mean QA score", "SELECT count(*), avg(qa_score) FROM kpi_calls", {}),
        ("kpi_calls, one agent's latest 50",
         "SELECT * FROM kpi_calls WHERE agent = 'agent_07' ORDER BY started_at DESC LIMIT 50", {}),
        ("kpi_agent_criteria", "SELECT * FROM kpi_agent_criteria", {}),
        ("kpi_reasons, last 30 days", f"SELECT * FROM kpi_reasons WHERE day >= DATE '{month_ago}'", {}),
        ("kpi_resolution_by_agent", "SELECT * FROM kpi_resolution_by_agent", {}),
        ("kpi_resolution_by_reason", "SELECT * FROM kpi_resolution_by_reason", {}),
        ("kpi_agent_sentiment", "SELECT * FROM kpi_agent_sentiment", {}),
    ]
    variables = {  # each bundled query with the variables an analyst would set
        "agents_below_target": {"criterion": "verified_identity", "target": 0.9, "since": month_ago, "min_calls": 20},
        "calls_to_review": {"since": (datetime.now(timezone.utc).date() - timedelta(days=7)).isoformat()},
        "criterion_trend": {"criterion": "empathy", "weeks": 12},
        "worst_calls_this_week": {"max_calls": 20},
    }
    for name, query in bundled_queries().items():
        queries.append((f"queries/{name}.sql", query.sql, variables.get(name, {})))
    return queries


def time_queries(path: Path, *, repeats: int = 3) -> list[QueryTime]:
    """Each analyst query: one warm-up, then the best of ``repeats``, on a new read-only connection."""
    results = []
    with Warehouse.open(path, read_only=True) as warehouse:
        for name, sql, variables in analyst_queries():
            set_variables(warehouse.connection, variables)
            rows = len(warehouse.connection.execute(sql).fetchall())
            best = float("inf")
            for _ in range(repeats):
                began = time.perf_counter()
                warehouse.connection.execute(sql).fetchall()
                best = min(best, time.perf_counter() - began)
            results.append(QueryTime(name, " ".join(sql.split()), best, rows))
    return results


# -- the whole bench -------------------------------------------------------------------------------

def bench_size(calls: int, directory: Path, *, writes: bool = True,
               log: Callable[[str], None] = print) -> SizeResult:
    """Generate a warehouse of ``calls`` calls in ``directory`` (replacing one there), query it, write to it."""
    path = directory / f"calls-{calls}.duckdb"
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    with Warehouse.open(path) as warehouse:
        generated = generate(warehouse, calls)
    file_mb = round(path.stat().st_size / 2**20, 1)
    log(f"{calls:,} calls: generated {sum(generated.rows.values()):,} rows in {generated.seconds:.1f} s")
    queries = time_queries(path)
    for q in queries:
        log(f"{calls:,} calls: {q.name}: {q.seconds:.3f} s")
    rates = time_writes(path) if writes else []
    for w in rates:
        log(f"{calls:,} calls: save_call ({w.method}): {w.calls_per_s:.0f} calls/s")
    return SizeResult(calls, file_mb, generated, queries, rates)


def run(sizes: Sequence[int] = DEFAULT_SIZES, directory: Path | None = None, *, writes: bool = True,
        log: Callable[[str], None] | None = None) -> WarehouseBench:
    """Generate, query and write at each size under ``directory`` (a new /tmp folder when None,
    removed afterwards); progress lines go to ``log`` (default: stderr)."""
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    owned = directory is None
    directory = Path(tempfile.mkdtemp(prefix="callscore-warehouse-bench-", dir="/tmp")) if owned else Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        results = [bench_size(calls, directory, writes=writes, log=log) for calls in sizes]
    finally:
        if owned:
            shutil.rmtree(directory, ignore_errors=True)
    return WarehouseBench(results, describe_machine(), duckdb.__version__)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, nargs="+", default=list(DEFAULT_SIZES), help="warehouse sizes, in calls")
    parser.add_argument("--dir", type=Path, help="where to write the warehouses (default: a new folder under /tmp, "
                                                 "removed at the end); files there are kept")
    parser.add_argument("--no-writes", action="store_true", help="skip the save_call measurement")
    parser.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = parser.parse_args(argv)
    bench = run(args.calls, args.dir, writes=not args.no_writes)
    if args.json:
        print(json.dumps(bench.as_dict(), indent=2))
    else:
        print(bench.markdown())
    return 0 if bench.target_met() else 1


if __name__ == "__main__":
    raise SystemExit(main())
