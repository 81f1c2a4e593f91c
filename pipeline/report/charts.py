"""Small inline SVG charts for the HTML report: no JavaScript, no fonts or files to fetch.

The functions here work out where each mark goes; ``templates/charts.svg.j2`` draws them, with
every label escaped. Every chart is an ``<svg>`` sized in CSS pixels, with one ``class="bar"``
rect or ``class="point"`` circle per data point (the report test counts them), and a
``<title>`` on each mark so that hovering shows the exact figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


from pipeline.report.templates import TEMPLATES

WIDTH = 640  # px
BAR_HEIGHT = 22  # px per row of a horizontal bar chart
LABEL_WIDTH = 170  # px kept for row labels
COLOURS = {"good": "#2f7d4f", "warn": "#c98a14", "bad": "#b3312c", "neutral": "#3d6fb4", "unreliable": "#9aa1ab"}
TEXT_PX_PER_CHAR = 7.5  # the widest a character of 12 px text takes, on average (bold digits, sans-serif)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: no data (drawn as an empty row)
    note: str = ""  # shown after the value, e.g. "12 calls"
    tone: str = "neutral"  # a key of COLOURS


def _draw(macro: str, **context: object) -> str:
    """The macro's SVG (markup: the report template puts it in as it is)."""
    return getattr(TEMPLATES.get_template("charts.svg.j2").module, macro)(width=WIDTH, colours=COLOURS, **context)


def horizontal_bars(bars: Sequence[Bar], *, title: str, maximum: float, value_format: str = "{:.0%}") -> str:
    """One labelled row per bar, values from 0 to ``maximum``. The plot leaves room after the
    longest bar for its value and note, so no text runs past the chart's edge."""
    texts = [(value_format.format(b.value) if b.value is not None else "") + "  " + b.note for b in bars]
    plot = WIDTH - LABEL_WIDTH - max(110, round(TEXT_PX_PER_CHAR * max(map(len, texts), default=0)) + 12)
    rows = []
    for i, bar in enumerate(bars):
        width = None
        if bar.value is not None:
            width = max(1.0, plot * min(bar.value, maximum) / maximum) if maximum > 0 else 1.0
        rows.append(dict(y=6 + i * BAR_HEIGHT, bar=bar, width=width,
                         label=bar.label if len(bar.label) <= 24 else bar.label[:23] + "…",
                         shown=None if bar.value is None else value_format.format(bar.value)))
    return _draw("horizontal_bars", rows=rows, title=title, height=12 + len(bars) * BAR_HEIGHT,
                 left=LABEL_WIDTH, bar_height=BAR_HEIGHT)


def histogram(counts: Sequence[int], edges: Sequence[float], *, title: str, tones: Sequence[str] | None = None) -> str:
    """Vertical bars: ``counts[i]`` calls between ``edges[i]`` and ``edges[i + 1]``."""
    bottom, left, plot_h = 190, 40, 160
    top = max(max(counts, default=0), 1)
    slot = (WIDTH - left - 10) / max(len(counts), 1)
    ticks = [(tick, bottom - plot_h * tick / top) for tick in sorted({0, top // 2, top})]
    bars = [dict(x=left + i * slot + 2, height=plot_h * count / top, width=slot - 4, count=count,
                 tone=tones[i] if tones else "neutral", low=edges[i], high=edges[i + 1])
            for i, count in enumerate(counts)]
    return _draw("histogram", bars=bars, ticks=ticks, title=title, height=226, bottom=bottom, left=left)


def line_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str, maximum: float = 100.0,
               notes: Sequence[str] | None = None, positions: Sequence[float] | None = None) -> str:
    """Points joined by a line, one per label (for example a day), values 0 to ``maximum``.
    ``positions`` (0-1 across the plot) place the points, e.g. by date; evenly spaced without."""
    bottom, left, plot_h = 180, 40, 160
    plot_w = WIDTH - left - 30
    step = plot_w / max(len(labels) - 1, 1)
    ticks = [(tick, bottom - plot_h * tick / maximum) for tick in (0, maximum / 2, maximum)]
    axis, points = [], []
    for i, (label, value) in enumerate(zip(labels, values)):
        x = left + (plot_w * positions[i] if positions else i * step if len(labels) > 1 else plot_w / 2)
        if i % max(1, len(labels) // 8) == 0 or i == len(labels) - 1:
            anchor = "end" if i == len(labels) - 1 and len(labels) > 1 else "start" if i == 0 and len(labels) > 1 else "middle"
            axis.append(dict(x=x, label=label, anchor=anchor))
        if value is not None:
            points.append(dict(x=x, y=bottom - plot_h * min(value, maximum) / maximum,
                               tip=f"{label}: {value:g}" + (f" ({notes[i]})" if notes else "")))
    return _draw("line_chart", axis=axis, points=points, ticks=ticks, title=title, height=220, bottom=bottom, left=left)
