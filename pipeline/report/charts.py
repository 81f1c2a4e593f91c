"""Small inline SVG charts for the HTML report: no JavaScript, no fonts or files to fetch.

Every chart is an ``<svg>`` string sized in CSS pixels, with one ``class="bar"`` rect or
``class="point"`` circle per data point (the report test counts them), and a ``<title>`` on
each mark so that hovering shows the exact figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Sequence

WIDTH = 640  # px
BAR_HEIGHT = 22  # px per row of a horizontal bar chart
LABEL_WIDTH = 170  # px kept for row labels
COLOURS = {"good": "#2f7d4f", "warn": "#c98a14", "bad": "#b3312c", "neutral": "#3d6fb4"}


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: no data (drawn as an empty row)
    note: str = ""  # shown after the value, e.g. "12 calls"
    tone: str = "neutral"  # a key of COLOURS


def _svg(height: int, body: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}"><title>{escape(title)}</title>{body}</svg>'
    )


def horizontal_bars(bars: Sequence[Bar], *, title: str, maximum: float, value_format: str = "{:.0%}") -> str:
    """One labelled row per bar, values from 0 to ``maximum``."""
    plot = WIDTH - LABEL_WIDTH - 110
    rows = []
    for i, bar in enumerate(bars):
        y = 6 + i * BAR_HEIGHT
        label = escape(bar.label if len(bar.label) <= 24 else bar.label[:23] + "…")
        rows.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + 14}" text-anchor="end" class="label">{label}</text>')
        if bar.value is None:
            rows.append(f'<text x="{LABEL_WIDTH + 4}" y="{y + 14}" class="muted">no data</text>')
            continue
        width = max(1.0, plot * min(bar.value, maximum) / maximum) if maximum > 0 else 1.0
        shown = value_format.format(bar.value)
        tip = escape(f"{bar.label}: {shown} {bar.note}".strip())
        rows.append(
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{y + 2}" width="{width:.1f}" height="{BAR_HEIGHT - 6}" '
            f'fill="{COLOURS[bar.tone]}"><title>{tip}</title></rect>'
        )
        rows.append(
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 14}" class="value">{escape(shown)}'
            f'<tspan class="muted">  {escape(bar.note)}</tspan></text>'
        )
    return _svg(12 + len(bars) * BAR_HEIGHT, "".join(rows), title)


def histogram(counts: Sequence[int], edges: Sequence[float], *, title: str, tones: Sequence[str] | None = None) -> str:
    """Vertical bars: ``counts[i]`` calls between ``edges[i]`` and ``edges[i + 1]``."""
    height, bottom, left = 220, 190, 40
    plot_w, plot_h = WIDTH - left - 10, 160
    top = max(max(counts, default=0), 1)
    slot = plot_w / max(len(counts), 1)
    parts = [f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - 10}" y2="{bottom}" class="axis"/>']
    for tick in sorted({0, top // 2, top}):
        y = bottom - plot_h * tick / top
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="muted">{tick}</text>')
    for i, count in enumerate(counts):
        h = plot_h * count / top
        x = left + i * slot + 2
        tone = COLOURS[tones[i]] if tones else COLOURS["neutral"]
        tip = escape(f"{edges[i]:g}-{edges[i + 1]:g}: {count} calls")
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{bottom - h:.1f}" width="{slot - 4:.1f}" height="{max(h, 0.5):.1f}" '
            f'fill="{tone}"><title>{tip}</title></rect>'
        )
        parts.append(f'<text x="{x + (slot - 4) / 2:.1f}" y="{bottom + 16}" text-anchor="middle" class="muted">{edges[i]:g}</text>')
    return _svg(height + 6, "".join(parts), title)


def line_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str, maximum: float = 100.0,
               notes: Sequence[str] | None = None, positions: Sequence[float] | None = None) -> str:
    """Points joined by a line, one per label (for example a day), values 0 to ``maximum``.
    ``positions`` (0-1 across the plot) place the points, e.g. by date; evenly spaced without."""
    height, bottom, left = 220, 180, 40
    plot_w, plot_h = WIDTH - left - 30, 160
    step = plot_w / max(len(labels) - 1, 1)
    parts = [f'<line x1="{left}" y1="{bottom}" x2="{WIDTH - 10}" y2="{bottom}" class="axis"/>']
    for tick in (0, maximum / 2, maximum):
        y = bottom - plot_h * tick / maximum
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - 10}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="muted">{tick:g}</text>')
    points = []
    for i, (label, value) in enumerate(zip(labels, values)):
        x = left + (plot_w * positions[i] if positions else i * step if len(labels) > 1 else plot_w / 2)
        if i % max(1, len(labels) // 8) == 0 or i == len(labels) - 1:
            anchor = "end" if i == len(labels) - 1 and len(labels) > 1 else "start" if i == 0 and len(labels) > 1 else "middle"
            parts.append(f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="{anchor}" class="muted">{escape(label)}</text>')
        if value is None:
            continue
        y = bottom - plot_h * min(value, maximum) / maximum
        points.append(f"{x:.1f},{y:.1f}")
        note = f" ({notes[i]})" if notes else ""
        parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{COLOURS["neutral"]}">'
                     f'<title>{escape(f"{label}: {value:g}{note}")}</title></circle>')
    if len(points) > 1:
        parts.insert(0, f'<polyline points="{" ".join(points)}" fill="none" stroke="{COLOURS["neutral"]}" stroke-width="2"/>')
    return _svg(height, "".join(parts), title)
