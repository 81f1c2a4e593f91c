"""``callscore show``: one call in the terminal, as its report page shows it: the facts, every
verdict with its evidence line and time and how far the criterion can be trusted, and the
transcript by speaker turn (``--json``: the same as data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from pipeline.cli.app import main, one_line_errors, read_warehouse
from pipeline.cli.options import db_option, json_option
from pipeline.cli.output import message, plain

_SHOWN_FACTS = {"agent": "agent", "team": "team", "call_id": "call id", "started_at": "started",
                "duration_s": "duration", "language": "language", "channel_layout": "channels"}


@main.command()
@click.argument("recording")
@db_option()
@json_option
@click.option("--no-transcript", is_flag=True, help="Only the facts and verdicts.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write the call's page (as the report's call pages are) to FILE; the player links the"
              " recording as settings audio_base_url and audio_root say.")
def show(recording: str, db: Path | None, as_json: bool, no_transcript: bool, html_out: Path | None) -> None:
    """Show one scored call: why it scored what it scored.

    RECORDING is a recording id or a prefix of one (6 hex digits or more, as kpi_calls and the
    report show them), the path the file was scored from, or its file name. Prints the call's
    facts, QA score, each criterion's verdict with its confidence, kind (LLM or rule), evidence
    (transcript line and time) and its last measured agreement with human labels, then the
    transcript by speaker turn; evidence lines are marked with the criteria they back.

    \b
    Examples:
      callscore show billing-good.mp3
      callscore show 3f9a2c71 --json | jq '.verdicts[] | select(.answer == "no")'
      callscore show 3f9a2c71 --html call.html     # the call's page, for a call the report does not list
    """
    from pipeline.config import load_settings
    from pipeline.report.audio_links import AudioLinks
    from pipeline.report.call_view import find_call, load_call
    from pipeline.report.html_report import write_call_page

    with read_warehouse(db) as warehouse, one_line_errors(html_out or Path(".")):
        recording_id = find_call(warehouse, recording)
        if html_out is None:
            view = load_call(warehouse, recording_id)
        else:
            settings = load_settings({"db": db})
            view = write_call_page(warehouse, recording_id, html_out,
                                   audio=AudioLinks(settings.audio_base_url, settings.audio_root))
            message(f"call page -> {html_out}")
    if as_json:
        data = view.to_json()
        if no_transcript:
            data.pop("transcript")
        click.echo(json.dumps(data, indent=2, default=str))  # ASCII: no control or bidi character reaches a terminal
        return
    _print_call(view, transcript=not no_transcript)


def _print_call(view: Any, *, transcript: bool) -> None:
    from pipeline.speech.segments import SPEAKER_LABELS, timestamp

    out = Console(soft_wrap=True, highlight=False)
    facts = view.facts
    out.print(f"[bold]{plain(view.file_name, lines=False)}[/]  recording {view.recording_id[:12]}")
    out.print(plain(" · ".join(f"{label} {_fact(key, facts[key])}{_language_note(facts) if key == 'language' else ''}"
                               for key, label in _SHOWN_FACTS.items() if facts.get(key) is not None)))
    if view.evaluation is None:
        out.print(f"not scored{': ' + view.status.replace('_', ' ') if view.status else ''}")
    else:
        e = view.evaluation
        score = "–" if view.qa_score is None else f"{view.qa_score:.1f}"
        if view.includes_manual_edits:
            machine = "–" if view.machine_qa_score is None else f"{view.machine_qa_score:.1f}"
            score += f" (with reviews; the machine's {machine})"
        if view.qa_score_reliable is not None:
            score += f"; reliable criteria only {view.qa_score_reliable:.1f}"
        out.print(f"QA score [bold]{score}[/]{'  [bold red]critical failure[/]' if view.critical_failed else ''}"
                  f"  · scorecard {plain(e['scorecard_name'])} {e['scorecard_version']} · LLM {plain(e['llm_model'])}")
    cited = view.cited_lines()
    for v in view.verdicts:
        colour = {"yes": "green", "no": "red"}.get(v.answer, "yellow")
        confidence = "–" if v.confidence is None else f"{v.confidence:.2f}"
        reviewed = f"  [bold]{plain(v.review.summary())}[/]" if v.review else ""
        out.print(f"  [{colour}]{v.answer:>3}[/] {plain(v.criterion_id)}{' (critical)' if v.critical else ''}"
                  f"  [dim]{v.kind}, confidence {confidence}, {v.trust.summary()}[/]{reviewed}")
        if v.evidence:
            where = " ".join(filter(None, [f"L{v.line}" if v.line else "",
                                            f"[{timestamp(v.start_s)}]" if v.start_s is not None else ""]))
            out.print(f"        {plain(where)} \"{plain(v.evidence)}\"")
    if view.fields:
        out.print("[bold]about the call[/] [dim](the scorecard's fields; not in the QA score)[/]")
    for f in view.fields:
        detail = "" if f.confidence is None else f"  [dim]confidence {f.confidence:.2f}[/]"
        where = f"  L{f.line}" if f.line else ""
        out.print(f"  {plain(f.field_id)}: [bold]{plain(f.value)}[/]{detail}{plain(where)}")
    if not transcript:
        return
    out.print("[bold]transcript[/]" if view.turns else "no speech was transcribed")
    for number, turn in enumerate(view.turns, start=1):
        mark = f"  [yellow]<- {', '.join(cited[number])}[/]" if number in cited else ""
        out.print(f"L{number:<3} {timestamp(turn.start)} {SPEAKER_LABELS[turn.speaker]:<8} {plain(turn.text)}{mark}")


def _language_note(facts: dict) -> str:
    """' (uncertain, 0.63)', ' (mixed)', ' (probably not English)' after a call's language, joined
    by '; '; '' when none holds."""
    from pipeline.speech.language import is_uncertain

    probability = facts.get("language_probability")
    notes = ([f"uncertain, {probability:.2f}"] if is_uncertain(probability) else []) + (
        ["mixed"] if facts.get("mixed_language") else []) + (
        ["probably not English"] if facts.get("language_suspect") else [])
    return f" ({'; '.join(notes)})" if notes else ""


def _fact(key: str, value: object) -> str:
    """A fact as the terminal shows it: times as dates, durations as mm:ss."""
    from pipeline.report.templates import when
    from pipeline.speech.segments import timestamp

    if key == "started_at":
        return when(value)
    if key == "duration_s" and isinstance(value, (int, float)):
        return timestamp(value)

    return str(value)
