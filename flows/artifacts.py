"""What a nightly run publishes in the Prefect UI, under stable keys so each night's version
stacks up: the pass rate per criterion, a summary of the run, and a link to its report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact

ARTIFACT_CRITERIA = "callscore-criteria"
ARTIFACT_SUMMARY = "callscore-run-summary"
ARTIFACT_REPORT = "callscore-report"


def publish(summary: dict[str, Any], criteria: list[dict[str, Any]], report_path: Path | None) -> None:
    """The run's artifacts, under stable keys so each night's version stacks up in the UI."""
    counts = summary["counts"]
    create_table_artifact(key=ARTIFACT_CRITERIA, table=criteria or [{"criterion": "(nothing scored this run)"}],
                          description="Pass rate per criterion of the calls scored in this run")
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(summary["stage_seconds"].items())) or "none"
    lines = [
        "## callscore nightly run",
        "",
        "| files seen | scored | without speech | already done | failed | audio | wall time | slowest stage |",
        "|---|---|---|---|---|---|---|---|",
        f"| {counts['seen']} | {counts['scored']} | {counts['no_speech'] + counts['too_short']} | {counts['skipped']} "
        f"| {counts['failed']} | {summary['audio_s'] / 3600:.2f} h | {summary['wall_s']:.1f} s "
        f"| {summary['slowest_stage'] or '-'} |",
        "",
        f"Seconds per stage (summed over recordings): {stages}.",
    ]
    if summary["failed"]:
        lines += ["", "### Failed recordings", "", "| file | stage | error |", "|---|---|---|"]
        lines += [f"| {f['path']} | {f['stage']} | {f['error'].replace('|', '/')} |" for f in summary["failed"]]
    if report_path:
        lines += ["", f"Report: [{report_path.name}]({report_path.as_uri()}) (`{report_path}`)"]
        create_link_artifact(key=ARTIFACT_REPORT, link=report_path.as_uri(), link_text=report_path.name,
                             description="The KPI report written by this run")
    create_markdown_artifact(key=ARTIFACT_SUMMARY, markdown="\n".join(lines), description="What this run did")
