"""``callscore report``: one self-contained HTML page of the warehouse's KPIs for supervisors,
and a page per call it lists (``call_page``), in a folder beside it.

The pages fetch nothing: styles and SVG charts are inline, so they open offline and can be
mailed or attached to a Prefect artifact; the report has no scripts. They are rendered from
jinja2 templates (``templates/``) that escape every value, so text from a recording (file
names, agents, transcript lines) shows as text.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pipeline.errors import CallscoreError
from pipeline.files import write_atomically
from pipeline.report.audio_links import AudioLinks
from pipeline.report.call_page import CALL_PAGE_MARK, render_call_page
from pipeline.report.call_view import CallView, CriterionTrust, load_call, load_calls
from pipeline.report.charts import Bar, histogram, horizontal_bars, line_chart
from pipeline.report.templates import TEMPLATES, when
from pipeline.speech.language import is_uncertain
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.agreement_ledger import RELIABLE_MIN_LABELS

QA_BUCKETS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]  # QA score histogram edges
QA_TARGET = 80.0  # a call at or above this reads as good in the charts
REVIEW_ROWS = 50  # most rows in "calls to review first"
WORST_CALLS = 10  # rows in "lowest-scoring calls"
AGENT_CALLS = 20  # calls listed under each agent, lowest score first
_PAGE_NAME = re.compile(r"^[0-9a-f]{16}\.html$")  # a call page in the pages folder
_PAGES_MARK = ".callscore-call-pages"  # in a folder of call pages: callscore may replace what is in it


class ReportTargetError(CallscoreError):
    """The report's output path is one callscore must not write."""


@dataclass(frozen=True)
class ReportData:
    """What the page shows, read from the warehouse for one scorecard version."""

    generated_at: datetime
    since: date | None
    scorecard_name: str | None
    scorecard_version: str | None
    calls: list[dict[str, Any]]  # kpi_calls rows
    criteria: list[dict[str, Any]]  # per criterion: pass_rate, na_rate, mean_confidence, ...
    agents: list[dict[str, Any]]  # per agent: calls, mean_qa_score, talk ratio, interruptions
    daily: list[dict[str, Any]]  # per day: calls, mean_qa_score
    review: list[dict[str, Any]]  # calls_to_review rows
    failures: int  # recordings that failed in the period (from `failures`)
    trust: dict[str, dict[str, Any]] = field(default_factory=dict)  # criterion -> latest agreement (criterion_trust)
    reasons: list[dict[str, Any]] = field(default_factory=list)  # per `reason` answer: calls, share, resolution rate
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # per agent: resolution rate, customer sentiment
    mean_qa_score: float | None = None  # of the calls' unrounded scores, rounded once (as the views do)
    # the same of qa_score_reliable (over the reliable criteria only): None unless the scorecard asks
    mean_qa_score_reliable: float | None = None

    @cached_property
    def worst_calls(self) -> list[dict[str, Any]]:
        """The lowest-scoring calls, critical failures first."""
        scored = [c for c in self.calls if c["qa_score"] is not None]
        return sorted(scored, key=lambda c: (not c["critical_failed"], c["qa_score"]))[:WORST_CALLS]

    @cached_property
    def _calls_by_agent(self) -> dict[str, list[dict[str, Any]]]:
        """Agent (``(unknown)``: calls without one) -> their AGENT_CALLS lowest-scoring calls,
        grouped in one pass over the calls."""
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for call in self.calls:
            grouped[call["agent"] or "(unknown)"].append(call)
        return {agent: sorted(mine, key=lambda c: (c["qa_score"] is None, c["qa_score"] or 0))[:AGENT_CALLS]
                for agent, mine in grouped.items()}

    def agent_calls(self, agent: str) -> list[dict[str, Any]]:
        """``agent``'s calls (``(unknown)``: those without one), lowest score first."""
        return self._calls_by_agent.get(agent, [])

    def linked_calls(self) -> list[str]:
        """Recording ids of every call the page links to, in first-listed order."""
        ids = [r["recording_id"] for r in self.review] + [c["recording_id"] for c in self.worst_calls]
        ids += [c["recording_id"] for a in self.agents for c in self.agent_calls(a["agent"])]
        return list(dict.fromkeys(ids))


def collect(warehouse: Warehouse, *, since: date | None = None) -> ReportData:
    """Read the report's figures: calls from ``since`` (all when None), for the scorecard
    version evaluated most recently."""
    first_day = since or date(1, 1, 1)
    name, version = warehouse.latest_scorecard(first_day)
    return ReportData(
        datetime.now(timezone.utc), since, name, version,
        calls=warehouse.calls_of_version(version, first_day),
        criteria=warehouse.criterion_figures(version, first_day),
        agents=warehouse.agent_figures(version, first_day),
        daily=warehouse.daily_figures(version, first_day),
        review=warehouse.answers_to_review(version, first_day, limit=REVIEW_ROWS),
        failures=warehouse.failed_recordings_since(first_day),
        trust=warehouse.criterion_trust(version),
        reasons=warehouse.reason_figures(version, first_day),
        outcomes=warehouse.outcome_figures(version, first_day),
        mean_qa_score=warehouse.mean_qa_score(version, first_day),
        mean_qa_score_reliable=warehouse.mean_qa_score(version, first_day, reliable=True),
    )


def _tone_for_rate(rate: float | None) -> str:
    if rate is None:
        return "neutral"
    return "good" if rate >= 0.9 else "warn" if rate >= 0.7 else "bad"


def _tone_for_score(score: float | None) -> str:
    if score is None:
        return "neutral"
    return "good" if score >= QA_TARGET else "warn" if score >= 60 else "bad"


def qa_distribution(calls: list[dict[str, Any]]) -> list[int]:
    """Calls per QA bucket: [0,10), [10,20) ... [90,100] (100 falls in the last)."""
    counts = [0] * (len(QA_BUCKETS) - 1)
    for call in calls:
        score = call["qa_score"]
        if score is not None:
            counts[min(int(score // 10), len(counts) - 1)] += 1
    return counts


def trust_note(trust: dict[str, Any] | None) -> str:
    """How far a criterion's pass rate can be trusted, in a few words (``trust``: its
    ``criterion_trust`` row, None when never measured)."""
    return CriterionTrust.from_row(trust).summary()


def _charts(data: ReportData) -> list[dict[str, str]]:
    """The figures' keys, headings, SVG and captions."""
    if not data.calls:
        return []
    criteria = []
    for c in data.criteria:
        trust = data.trust.get(c["criterion_id"])
        reliable = trust is not None and trust["trust"] == "reliable"
        shown_kappa = "" if trust is None or trust["kappa"] is None else f"kappa {trust['kappa']:.2f}"
        note = " ".join(filter(None, [f"(n/a {c['na_rate']:.0%})" if c["na_rate"] else "",
                                      "not measured" if trust is None else "" if reliable else shown_kappa or "one class"]))
        criteria.append(Bar(c["criterion_id"] + (" *" if c["critical"] else "") + ("" if reliable else " ?"),
                            c["pass_rate"], note, _tone_for_rate(c["pass_rate"]) if reliable else "unreliable"))
    return [*_qa_charts(data, criteria), *_outcome_charts(data)]


def _qa_charts(data: ReportData, criteria: list[Bar]) -> list[dict[str, str]]:
    return [
        dict(key="qa-distribution", heading="QA score distribution", svg=histogram(
            qa_distribution(data.calls), QA_BUCKETS, title="Calls per QA score band",
            tones=[_tone_for_score(edge + 5) for edge in QA_BUCKETS[:-1]]),
            caption=f"Calls per band of 10 points; {QA_TARGET:g} and above reads as on target."),
        dict(key="criteria", heading="Pass rate per criterion", svg=horizontal_bars(
            criteria, title="Pass rate per criterion", maximum=1.0),
            caption="Share of applicable answers that passed. * critical criterion. ? not shown reliable: its "
                    "agreement with human labels was not measured (callscore eval), or its kappa is below 0.4 "
                    f"or rests on fewer than {RELIABLE_MIN_LABELS} labels; such bars are drawn grey."),
        dict(key="agents", heading="Agent comparison", svg=horizontal_bars(
            [Bar(a["agent"], a["mean_qa_score"], f"({a['calls']} call{'s' if a['calls'] != 1 else ''})",
                 _tone_for_score(a["mean_qa_score"])) for a in data.agents],
            title="Mean QA score per agent", maximum=100.0, value_format="{:.0f}"),
            caption="Mean QA score (0-100) per agent over the period."),
        dict(key="daily", heading="Daily trend", svg=line_chart(
            [when(d["day"]) or "?" for d in data.daily],
            [None if d["mean_qa_score"] is None else round(d["mean_qa_score"], 1) for d in data.daily],
            title="Mean QA score per day", notes=[f"{d['calls']} calls" for d in data.daily],
            positions=_day_positions([d["day"] for d in data.daily])),
            caption="Mean QA score of the calls of each day (UTC)."),
    ]


def _calls(count: int) -> str:
    return f"{count} call{'' if count == 1 else 's'}"


def _outcome_charts(data: ReportData) -> list[dict[str, str]]:
    """The charts of the extraction fields ``reason`` and ``outcome`` and of customer sentiment,
    each only when the period has its figures."""
    charts = []
    if data.reasons:
        charts.append(dict(key="reasons", heading="Why customers called", svg=horizontal_bars(
            [Bar(r["reason"], r["share"], f"({_calls(r['calls'])}"
                 + (f", {r['resolution_rate']:.0%} resolved)" if r["resolution_rate"] is not None else ")"))
             for r in data.reasons], title="Share of calls per reason", maximum=1.0),
            caption="The scorecard's field reason, as the LLM answered it, and the share of those calls whose "
                    "outcome was resolved; callscore eval measures how often it agrees with human labels."))
    resolved = [o for o in data.outcomes if o["resolution_rate"] is not None]
    if resolved:
        charts.append(dict(key="resolution", heading="Resolution rate per agent", svg=horizontal_bars(
            [Bar(o["agent"], o["resolution_rate"], f"({_calls(o['with_outcome'])})", _tone_for_rate(o["resolution_rate"]))
             for o in resolved], title="Share of calls resolved per agent", maximum=1.0),
            caption="Share of each agent's calls whose field outcome is resolved."))
    measured = [o for o in data.outcomes if o["happier_share"] is not None]
    if measured:
        charts.append(dict(key="sentiment", heading="Did the call leave the customer happier?", svg=horizontal_bars(
            [Bar(o["agent"], o["happier_share"], f"({_calls(o['measured_calls'])})") for o in measured], title="Share of calls the customer ended happier than they began", maximum=1.0),
            caption="Per agent: the share of calls whose customer sentiment (VADER, -1 to 1, English calls only) "
                    "rose by more than 0.05 from the first quarter of the call to the last (the means of both are "
                    "in the table below)."))
    return charts


def render(data: ReportData, *, pages: str | None = None) -> str:
    """The whole page as one HTML string; ``pages``: the folder (relative to the page) that
    holds the call pages it links to, None for no links."""
    audio_h = sum(c["duration_s"] or 0 for c in data.calls) / 3600
    critical = sum(1 for c in data.calls if c["critical_failed"])
    tiles = [
        ("Calls scored", str(len(data.calls)), ""),
        ("Mean QA score", "–" if data.mean_qa_score is None else f"{data.mean_qa_score:.1f}", ""),
        *([("Reliable criteria only", f"{data.mean_qa_score_reliable:.1f}", "")]
          if data.mean_qa_score_reliable is not None else []),
        ("Critical failures", str(critical), "bad" if critical else ""),
        ("Audio", f"{audio_h:.1f} h" if audio_h >= 1 else f"{audio_h * 60:.1f} min", ""),
        ("Recordings failed", str(data.failures), "bad" if data.failures else ""),
        ("Languages", _languages(data.calls), ""),
    ]
    return TEMPLATES.get_template("report.html.j2").render(
        data=data, tiles=tiles, charts=_charts(data), trust_note=trust_note,
        period=f"calls since {data.since.isoformat()}" if data.since else "all calls",
        scorecard=f"{data.scorecard_name} (version {data.scorecard_version})" if data.scorecard_name else "none",
        generated=data.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        page_of=lambda recording_id: f"{quote(os.fsencode(pages))}/{page_name(recording_id)}" if pages else None,
    )


def page_name(recording_id: str) -> str:
    """A call page's file name: the recording id's first 16 hex digits (of its SHA-256 when the
    id is not one, as in hand-made warehouses)."""
    if not re.fullmatch(r"[0-9a-f]{64}", recording_id):
        recording_id = hashlib.sha256(recording_id.encode()).hexdigest()
    return f"{recording_id[:16]}.html"


def write_report(warehouse: Warehouse, out: Path, *, since: date | None = None,
                 audio: AudioLinks | None = None) -> ReportData:
    """Collect, render and write the page to ``out``, and a page per call it lists into the
    folder ``<out's stem>-calls`` beside it (each file atomically: a reader never sees half).
    ``out`` may be a new file or an earlier report, never the warehouse or any other file; the
    folder a new one or one callscore made."""
    check_report_target(out, warehouse.path)
    pages = out.with_name(f"{out.stem}-calls")
    check_pages_folder(pages)
    data = collect(warehouse, since=since)
    audio = audio or AudioLinks()
    pages.mkdir(parents=True, exist_ok=True)
    (pages / _PAGES_MARK).touch()
    written = set()
    for view in load_calls(warehouse, data.linked_calls(), prefer_version=data.scorecard_version):
        name = page_name(view.recording_id)
        write_atomically(pages / name, render_call_page(view, audio, report_href=f"../{quote(os.fsencode(out.name))}").encode(), durable=False)
        written.add(name)
    for stale in pages.iterdir():
        if _PAGE_NAME.match(stale.name) and stale.name not in written:
            stale.unlink(missing_ok=True)
    write_atomically(out, render(data, pages=pages.name).encode(), durable=False)
    return data


def check_report_target(out: Path, db: Path, *, mark: str | None = None, what: str = "report",
                        flag: str = "--out") -> None:
    """Refuse to write a page over the warehouse (or its write-ahead log) or over an existing
    file that is not a callscore ``what`` (one whose head holds ``mark``: ``ReportTargetError``)."""
    target, warehouse = out.resolve(), db.resolve()
    if target in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        raise ReportTargetError(f"{flag} {out} is the warehouse itself: give the {what} a file name of its own")
    if not out.exists() and not out.is_symlink():
        return
    if not target.is_file():
        raise ReportTargetError(f"{flag} {out} exists and is not a regular file")
    try:
        with open(target, "rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise ReportTargetError(f"cannot read {out}: {exc.strerror or exc}") from exc
    if (mark or _REPORT_MARK).encode() not in head:
        raise ReportTargetError(f"{out} exists and is not a callscore {what}: it is kept; give {flag} another name")


def write_call_page(warehouse: Warehouse, recording_id: str, out: Path, *, audio: AudioLinks | None = None) -> CallView:
    """One call's page, written to ``out`` (atomically), for a call the report does not list.
    ``out`` may be a new file or an earlier call page, never the warehouse or any other file."""
    check_report_target(out, warehouse.path, mark=CALL_PAGE_MARK, what="call page", flag="--html")
    view = load_call(warehouse, recording_id)
    write_atomically(out, render_call_page(view, audio or AudioLinks()).encode(), durable=False)
    return view


def check_pages_folder(pages: Path) -> None:
    """Refuse a call-pages folder that is a link, not a folder, or a folder callscore did not
    make that holds anything (``ReportTargetError``)."""
    if pages.is_symlink() or (pages.exists() and not pages.is_dir()):
        raise ReportTargetError(f"{pages} (where the call pages go) exists and is not a folder: it is kept;"
                                " give --out another name")
    if pages.is_dir() and not (pages / _PAGES_MARK).is_file() and any(pages.iterdir()):
        raise ReportTargetError(f"{pages} (where the call pages go) holds files callscore did not write: it is kept;"
                                " give --out another name")


def _day_positions(days: list[date]) -> list[float] | None:
    """Each day's place (0-1) between the first and the last, so gaps between days show."""
    if len(days) < 2 or not all(isinstance(day, date) for day in days):
        return None
    span = (days[-1] - days[0]).days
    return [(day - days[0]).days / span for day in days]


def _languages(calls: list[dict[str, Any]]) -> str:
    """"en 40 · ru 12 (3 uncertain, 1 mixed, 2 probably not English)": the calls per language,
    most first ("-" for none), and how many of them were decided with a low probability, heard
    mixed, or transcribed by an English-only model that probably heard another language."""
    counts = Counter(c.get("language") or "unknown" for c in calls)
    uncertain = sum(is_uncertain(c.get("language_probability")) for c in calls)
    mixed = sum(bool(c.get("mixed_language")) for c in calls)
    suspect = sum(bool(c.get("language_suspect")) for c in calls)
    notes = ", ".join(f"{n} {what}" for n, what in ((uncertain, "uncertain"), (mixed, "mixed"),
                                                    (suspect, "probably not English")) if n)
    shown = " · ".join(f"{code} {n}" for code, n in counts.most_common()) or "-"
    return f"{shown} ({notes})" if notes else shown


_REPORT_MARK = "<title>callscore report</title>"  # in every report's head: a file that has it may be replaced
