"""A call's page: one self-contained HTML file (``templates/call.html.j2``) that shows why the
call scored what it scored. Verdicts link to the transcript line their evidence is on and play
the recording from that moment; the transcript is the numbered speaker turns the LLM read; a
timeline strip shows who spoke when, the silences over 3 s and the interruptions."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.speech.language import is_uncertain
from pipeline.report.audio_links import AudioLinks
from pipeline.report.call_view import CallView
from pipeline.report.templates import TEMPLATES, when
from pipeline.speech.segments import SPEAKER_LABELS, timestamp

TIMELINE_WIDTH = 1000  # px of the strip's viewBox; it scales to the page's width
TIMELINE_ROW = 18  # px per speaker row
CALL_PAGE_MARK = "<title>callscore call "  # in every call page's head


@dataclass(frozen=True)
class Mark:
    """A shape on the strip: x and width in px of the viewBox, and its hover text."""

    x: float
    width: float
    title: str
    href: str = ""


@dataclass(frozen=True)
class StripRow:
    label: str
    css: str  # 'agent', 'customer' or 'unknown'
    y: int
    marks: tuple[Mark, ...]


@dataclass(frozen=True)
class Strip:
    """The timeline strip's geometry."""

    height: int
    rows: tuple[StripRow, ...]
    silences: tuple[Mark, ...]
    interruptions: tuple[Mark, ...]
    evidence: tuple[Mark, ...]  # one tick per cited line, linked to it
    ticks: tuple[Mark, ...]  # time axis labels


def timeline_strip(view: CallView) -> Strip:
    line = view.timeline
    scale = TIMELINE_WIDTH / line.length if line.length > 0 else 0.0

    def mark(start: float, end: float, title: str, href: str = "") -> Mark:
        return Mark(round(start * scale, 2), round(max((end - start) * scale, 1.0), 2), title, href)

    rows = []
    for index, (speaker, intervals) in enumerate(line.speech.items()):
        label = SPEAKER_LABELS[speaker].lower()
        rows.append(StripRow(label, speaker, 4 + index * TIMELINE_ROW, tuple(
            mark(s, e, f"{label} {timestamp(s)}-{timestamp(e)}") for s, e in intervals)))
    bottom = 4 + len(rows) * TIMELINE_ROW
    silences = tuple(mark(s, e, f"silence {e - s:.1f} s at {timestamp(s)}") for s, e in line.silences)
    interruptions = tuple(mark(i.start, i.end, f"{SPEAKER_LABELS[i.speaker].lower()} interrupts at {timestamp(i.start)}")
                          for i in line.interruptions)
    evidence = tuple(mark(view.turns[n - 1].start, view.turns[n - 1].start, f"L{n}: {', '.join(ids)}", f"#L{n}")
                     for n, ids in sorted(view.cited_lines().items()))
    step = _tick_step(line.length)
    ticks = tuple(Mark(round(t * scale, 2), 0, timestamp(t)) for t in _range(0.0, line.length, step))
    return Strip(bottom + 22, tuple(rows), silences, interruptions, evidence, ticks)


@dataclass(frozen=True)
class ReviewControls:
    """What the review desk adds to a call page it serves: its own audio route, the review forms
    (for a reviewer), and the way back to the list and on to the next call."""

    audio_src: str  # the desk's URL of the recording
    action: str  # where the review forms post
    list_href: str
    next_href: str  # "complete + next"
    reviewer: str
    may_review: bool  # False for a viewer: no forms
    script_src: str  # the desk's script (play links and keys), served by the desk
    field_options: dict[str, list[str]]  # choice field id -> the options a reviewer may pick
    # opened from the review queue: "complete + next" posts these (its narrowing) to /queue/next
    next_form: dict[str, str] | None = None


def render_call_page(view: CallView, audio: AudioLinks, *, report_href: str | None = None,
                     controls: ReviewControls | None = None) -> str:
    """The page as one HTML string; ``report_href`` links back to the report it was made with;
    ``controls``: the page as the review desk serves it."""
    source = controls.audio_src if controls else audio.source(view.path)
    return TEMPLATES.get_template("call.html.j2").render(
        view=view, audio_src=source, play=lambda seconds: AudioLinks.at(source, seconds),
        strip=timeline_strip(view), width=TIMELINE_WIDTH, cited=view.cited_lines(), report_href=report_href,
        speaker_labels=SPEAKER_LABELS, embedded=source.startswith("data:") or controls is not None,
        fact_text=fact_text, controls=controls,
    )


def fact_text(key: str, value: object) -> tuple[str, str]:
    """(label, value) of a call fact or measure as the page lists it: seconds as 'N.N s',
    ratios as percentages, times as dates."""
    label = key.removesuffix("_s").replace("_", " ")
    if key == "started_at":
        return "started", when(value)
    if key == "truncated":
        return label, "yes: only the first part was decoded" if value else "no"
    if key == "language_probability" and isinstance(value, float):
        return label, f"{value:.2f}" + (" (uncertain: give the languages the calls are in)" if is_uncertain(value) else "")
    if key == "mixed_language":
        return label, "yes: speech in another language was heard too" if value else "no"
    if key == "language_suspect":
        return "probably not English", ("yes: an English-only model made this text up; transcribe the call with a"
                                        " multilingual model" if value else "no")
    if isinstance(value, float) and key.endswith("_s"):
        return label, f"{value:.1f} s"
    if isinstance(value, float) and key.endswith("_ratio"):
        return label, f"{value:.0%}"
    if isinstance(value, float):
        return label, f"{value:.1f}"
    return label, str(value)


def _tick_step(length: float) -> float:
    """Seconds between time labels: about eight along the strip, on a round step."""
    for step in (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if length / step <= 8:
            return float(step)
    return 7200.0


def _range(start: float, stop: float, step: float) -> list[float]:
    return [start + i * step for i in range(int((stop - start) // step) + 1)] if stop > start else [0.0]
