"""``callscore report``: one self-contained HTML page of the warehouse's KPIs for supervisors.

The page has no scripts and fetches nothing: styles and SVG charts are inline, so it opens
offline, can be mailed, and is safe to attach to a Prefect artifact. Every string that came
from a recording (file names, agents, evidence quotes) is HTML-escaped.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from pipeline.errors import CallscoreError
from pipeline.report.charts import Bar, histogram, horizontal_bars, line_chart
from pipeline.speech.segments import timestamp
from pipeline.store.warehouse import Warehouse

QA_BUCKETS = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]  # QA score histogram edges
QA_TARGET = 80.0  # a call at or above this reads as good in the charts
REVIEW_ROWS = 50  # most rows in "calls to review first"


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
    )


def _tone_for_rate(rate: float | None) -> str:
    if rate is None:
        return "neutral"
    return "good" if rate >= 0.9 else "warn" if rate >= 0.7 else "bad"


def _tone_for_score(score: float | None) -> str:
    if score is None:
        return "neutral"
    return "good" if score >= QA_TARGET else "warn" if score >= 60 else "bad"


def _when(value: Any) -> str:
    """A stored time or day as text. DuckDB hands back a value outside Python's range (e.g. a
    year-10000 time from an old sidecar) as a string, shown as it is."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


def _fmt(value: Any, pattern: str = "{}") -> str:
    return "–" if value is None else escape(pattern.format(value))


def qa_distribution(calls: list[dict[str, Any]]) -> list[int]:
    """Calls per QA bucket: [0,10), [10,20) ... [90,100] (100 falls in the last)."""
    counts = [0] * (len(QA_BUCKETS) - 1)
    for call in calls:
        score = call["qa_score"]
        if score is not None:
            counts[min(int(score // 10), len(counts) - 1)] += 1
    return counts


def render(data: ReportData) -> str:
    """The whole page as one HTML string."""
    scored = [c["qa_score"] for c in data.calls if c["qa_score"] is not None]
    mean_qa = sum(scored) / len(scored) if scored else None
    critical = sum(1 for c in data.calls if c["critical_failed"])
    audio_h = sum(c["duration_s"] or 0 for c in data.calls) / 3600
    period = f"calls since {data.since.isoformat()}" if data.since else "all calls"

    charts = []
    if data.calls:
        charts.append(_figure("qa-distribution", "QA score distribution", histogram(
            qa_distribution(data.calls), QA_BUCKETS, title="Calls per QA score band",
            tones=[_tone_for_score(edge + 5) for edge in QA_BUCKETS[:-1]]),
            f"Calls per band of 10 points; {QA_TARGET:g} and above reads as on target."))
        charts.append(_figure("criteria", "Pass rate per criterion", horizontal_bars(
            [Bar(c["criterion_id"] + (" *" if c["critical"] else ""), c["pass_rate"],
                 f"(n/a {c['na_rate']:.0%})" if c["na_rate"] else "", _tone_for_rate(c["pass_rate"]))
             for c in data.criteria], title="Pass rate per criterion", maximum=1.0),
            "Share of applicable answers that passed. * critical criterion."))
        charts.append(_figure("agents", "Agent comparison", horizontal_bars(
            [Bar(a["agent"], a["mean_qa_score"], f"({a['calls']} call{'s' if a['calls'] != 1 else ''})", _tone_for_score(a["mean_qa_score"]))
             for a in data.agents], title="Mean QA score per agent", maximum=100.0, value_format="{:.0f}"),
            "Mean QA score (0-100) per agent over the period."))
        charts.append(_figure("daily", "Daily trend", line_chart(
            [_when(d["day"]) or "?" for d in data.daily],
            [None if d["mean_qa_score"] is None else round(d["mean_qa_score"], 1) for d in data.daily],
            title="Mean QA score per day", notes=[f"{d['calls']} calls" for d in data.daily],
            positions=_day_positions([d["day"] for d in data.daily])),
            "Mean QA score of the calls of each day (UTC)."))

    return _PAGE.format(
        period=escape(period),
        scorecard=escape(f"{data.scorecard_name} (version {data.scorecard_version})" if data.scorecard_name else "none"),
        generated=escape(data.generated_at.strftime("%Y-%m-%d %H:%M UTC")),
        tiles="".join([
            _tile("Calls scored", str(len(data.calls))),
            _tile("Mean QA score", _fmt(mean_qa, "{:.1f}")),
            _tile("Critical failures", str(critical), "bad" if critical else ""),
            _tile("Audio", f"{audio_h:.1f} h" if audio_h >= 1 else f"{audio_h * 60:.1f} min"),
            _tile("Recordings failed", str(data.failures), "bad" if data.failures else ""),
            _tile("Languages", _languages(data.calls)),
        ]),
        charts="".join(charts) or '<p class="empty">No scored calls in this period.</p>',
        agents=_agents_table(data.agents),
        review=_review_table(data.review),
    )


def write_report(warehouse: Warehouse, out: Path, *, since: date | None = None) -> ReportData:
    """Collect, render and write the page to ``out`` (atomically: a reader never sees half).
    ``out`` may be a new file or an earlier report, never the warehouse or any other file."""
    check_report_target(out, warehouse.path)
    data = collect(warehouse, since=since)
    page = render(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        with open(partial, "x", encoding="utf-8") as handle:  # "x": never through a file or link already there
            handle.write(page)
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return data


def check_report_target(out: Path, db: Path) -> None:
    """Refuse to write the report over the warehouse (or its write-ahead log) or over an
    existing file that is not a callscore report (``ReportTargetError``)."""
    target, warehouse = out.resolve(), db.resolve()
    if target in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        raise ReportTargetError(f"--out {out} is the warehouse itself: give the report a file name of its own")
    if not out.exists() and not out.is_symlink():
        return
    if not target.is_file():
        raise ReportTargetError(f"--out {out} exists and is not a regular file")
    try:
        with open(target, "rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise ReportTargetError(f"cannot read {out}: {exc.strerror or exc}") from exc
    if _REPORT_MARK.encode() not in head:
        raise ReportTargetError(f"{out} exists and is not a callscore report: it is kept; give --out another name")


def _day_positions(days: list[date]) -> list[float] | None:
    """Each day's place (0-1) between the first and the last, so gaps between days show."""
    if len(days) < 2 or not all(isinstance(day, date) for day in days):
        return None
    span = (days[-1] - days[0]).days
    return [(day - days[0]).days / span for day in days]


def _figure(key: str, heading: str, svg: str, caption: str) -> str:
    return (f'<figure class="chart" data-chart="{key}"><h2>{escape(heading)}</h2>{svg}'
            f'<figcaption>{escape(caption)}</figcaption></figure>')


def _languages(calls: list[dict[str, Any]]) -> str:
    """"en 40 · ru 12": the calls per language, most first ("-" for none)."""
    counts = Counter(c.get("language") or "unknown" for c in calls)
    return escape(" · ".join(f"{code} {n}" for code, n in counts.most_common())) or "-"


def _tile(label: str, value: str, tone: str = "") -> str:
    return f'<div class="tile {tone}"><div class="value">{value}</div><div class="label">{escape(label)}</div></div>'


def _agents_table(agents: list[dict[str, Any]]) -> str:
    if not agents:
        return ""
    rows = "".join(
        f"<tr><td>{escape(a['agent'])}</td><td>{a['calls']}</td><td>{_fmt(a['mean_qa_score'], '{:.1f}')}</td>"
        f"<td>{a['critical_failed_calls']}</td><td>{_fmt(a['mean_talk_ratio'], '{:.0%}')}</td>"
        f"<td>{_fmt(a['interruptions_per_call'], '{:.1f}')}</td></tr>"
        for a in agents
    )
    return ('<section><h2>Agents</h2><table id="agents"><thead><tr><th>Agent</th><th>Calls</th><th>Mean QA</th>'
            '<th>Critical failures</th><th>Talk ratio</th><th>Interruptions per call</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></section>")


def _review_table(review: list[dict[str, Any]]) -> str:
    if not review:
        return '<section><h2>Calls to review first</h2><p class="empty">Nothing to review: no critical failures or low-confidence answers.</p></section>'
    rows = []
    for r in review:
        evidence = escape(r["evidence"]) if r["evidence"] else '<span class="muted">no evidence</span>'
        if r["evidence"] and r.get("evidence_start_s") is not None:
            evidence = f'<span class="muted">L{r["evidence_line"]} [{timestamp(r["evidence_start_s"])}]</span> {evidence}'
        if r["evidence"] and r["evidence_verified"] is False:
            evidence += ' <span class="flag" title="not found in the transcript">unverified</span>'
        when = _when(r["started_at"])
        notes = [r.get("language") if r.get("language") not in (None, "en") else None,
                 r.get("channel_layout") if r.get("channel_layout") in ("dual_mono", "silent_agent", "silent_customer")
                 else None]
        file_cell = escape(r["file_name"]) + "".join(f' <span class="flag">{escape(n)}</span>' for n in notes if n)
        rows.append(
            f'<tr class="{"critical" if r["critical_failure"] else ""}"><td>{escape(when)}</td>'
            f"<td>{escape(r['agent'] or '')}</td><td>{file_cell}</td><td>{escape(r['criterion_id'])}</td>"
            f"<td>{escape(r['answer'])}{' (critical)' if r['critical_failure'] else ''}</td>"
            f"<td>{_fmt(r['confidence'], '{:.2f}')}</td><td class=\"quote\">{evidence}</td></tr>"
        )
    return ('<section><h2>Calls to review first</h2><p class="muted">Critical criteria answered "no", then '
            'answers the model was less than 70% sure of.</p><table id="review"><thead><tr><th>Started</th>'
            '<th>Agent</th><th>File</th><th>Criterion</th><th>Answer</th><th>Confidence</th><th>Evidence</th>'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table></section>')


_REPORT_MARK = "<title>callscore report</title>"  # in every report's head: a file that has it may be replaced
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>callscore report</title>
<style>
body {{ font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1360px;
       padding: 0 16px; color: #1d2430; background: #fafbfc; }}
h1 {{ font-size: 22px; margin: 0 0 4px; }} h2 {{ font-size: 16px; margin: 0 0 8px; }}
.meta, .muted, figcaption {{ color: #5b6573; }} .muted {{ fill: #5b6573; font-size: 12px; }}
.tiles {{ display: flex; gap: 12px; flex-wrap: wrap; margin: 16px 0; }}
.tile {{ background: #fff; border: 1px solid #dde2e8; border-radius: 6px; padding: 10px 16px; min-width: 130px; }}
.tile .value {{ font-size: 24px; font-weight: 600; }} .tile.bad .value {{ color: #b3312c; }}
.charts {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(660px, 1fr)); gap: 16px; }}
figure {{ background: #fff; border: 1px solid #dde2e8; border-radius: 6px; padding: 12px; margin: 0; }}
svg text {{ font-size: 12px; }} svg .label {{ fill: #1d2430; }} svg .value {{ fill: #1d2430; font-weight: 600; }}
svg .axis {{ stroke: #8a94a3; }} svg .grid {{ stroke: #e6e9ee; }}
section {{ margin-top: 24px; }}
table {{ border-collapse: collapse; width: 100%; background: #fff; }}
th, td {{ border-bottom: 1px solid #e6e9ee; padding: 6px 8px; text-align: left; vertical-align: top; }}
th {{ background: #f0f2f5; }} tr.critical td {{ background: #fdf1f0; }}
td.quote {{ font-style: italic; max-width: 420px; }}
.flag {{ font-style: normal; font-size: 11px; color: #8a5a00; border: 1px solid #e0c07a; border-radius: 3px; padding: 0 4px; }}
.empty {{ color: #5b6573; font-style: italic; }}
</style></head>
<body>
<h1>Call quality report</h1>
<div class="meta">{period} · scorecard {scorecard} · generated {generated} by callscore</div>
<div class="tiles">{tiles}</div>
<div class="charts">{charts}</div>
{agents}
{review}
</body></html>
"""
