"""The commands that read the warehouse, ``callscore sql``, ``report``, ``export`` and ``eval``
(which then keeps its figures), and ``upgrade``, the one that only brings its schema up to date."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Sequence

import click

from pipeline.cli.app import fail, main, one_line_errors, read_warehouse, say_waiting
from pipeline.cli.options import db_option, json_option, scorecard_option, setting_option
from pipeline.cli.output import message, print_agreement, print_table, say_unmatched_labels
from pipeline.errors import CallscoreError


def _bundled_query_list() -> str:
    from pipeline.store.named_queries import bundled_queries

    try:
        return "\n".join(f"  {q.name}: {q.summary}" for q in bundled_queries().values())
    except FileNotFoundError:
        return "  (none found)"


@main.command(
    epilog="\b\nBundled queries (warehouse/queries/; their variables are in each file's header):\n"
    + _bundled_query_list()
)
@click.argument("query")
@db_option()
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="table for people; csv or json for programs (--json is the same as --format json).")
@json_option
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Set a query variable (repeatable), e.g. --var target=0.8")
def sql(query: str, db: Path | None, fmt: str, as_json: bool, variables: tuple[str, ...]) -> None:
    """Run a read-only QUERY on the warehouse and print the result.

    QUERY is SQL, a .sql file, or the name of a bundled query. It can read the warehouse and
    nothing else: no other file (read_csv, glob, COPY ... TO, ATTACH), no extension, no setting.

    \b
    Examples:
      callscore sql "SELECT * FROM kpi_criteria"
      callscore sql agents_below_target --var criterion=empathy --var target=0.8
    Tables: recordings, transcripts, segments, scores, call_metrics, evaluations,
    criterion_agreement, failures, runs.
    Views: kpi_calls, kpi_agents, kpi_agent_criteria, kpi_criteria, kpi_daily, latest_scores,
    criterion_trust.
    """
    import csv

    import duckdb

    from pipeline.store.named_queries import check_variables, parse_variables, resolve_query

    try:
        text = resolve_query(query)
        values = check_variables(text, parse_variables(variables))
    except CallscoreError as exc:
        fail(str(exc))
        return
    with read_warehouse(db) as warehouse:
        try:
            columns, rows = warehouse.query(text, values)
        except duckdb.Error as exc:
            fail(f"query failed: {str(exc).splitlines()[0]}")
            return
    if fmt == "json" or as_json:
        click.echo(json.dumps([dict(zip(columns, row)) for row in rows], indent=2, default=str))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        print_table(columns, [["" if value is None else str(value) for value in row] for row in rows])


@main.command()
@db_option()
def upgrade(db: Path | None) -> None:
    """Bring the warehouse's schema up to date after installing a newer callscore.

    Scoring runs do this by themselves; the commands that only read (sql, report, eval) never
    change the file and ask for this instead.
    """
    from pipeline.config import load_settings
    from pipeline.store.warehouse.access import open_waiting

    try:
        settings = load_settings({"db": db})
        path = settings.db
        if not path.is_file():
            fail(f"no warehouse at {path}: run `callscore score` first")
        with open_waiting(path, read_only=False, wait_s=settings.write_wait_s, note=say_waiting) as warehouse:
            version = max(warehouse.applied_migrations())
    except CallscoreError as exc:
        fail(str(exc))
        return
    message(f"warehouse {path}: schema version {version}, up to date")


@main.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("report.html"), show_default=True, help="HTML file to write; the call pages go in the folder <name>-calls beside it.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only calls on or after this day (YYYY-MM-DD). [default: all calls]")
@setting_option("audio_base_url", metavar="URL")
@setting_option("audio_root", type=click.Path(file_okay=False, path_type=Path))
@click.option("--embed-audio", is_flag=True, help="Put each listed call's recording inside its page (pages become as large as the audio; up to 50 MB each).")
@db_option()
def report(out: Path, since: Any, audio_base_url: str | None, audio_root: Path | None, embed_audio: bool,
           db: Path | None) -> None:
    """Write a self-contained HTML report: QA score distribution, pass rate per criterion (with
    its measured agreement with human labels), agent comparison, daily trend, the lowest-scoring
    calls and the calls to review first with their evidence.

    Every call it lists links to a page of its own: verdicts with evidence linked to the
    transcript line and to the moment in the recording, the transcript by speaker turn, and a
    timeline of who spoke when. The files open offline (nothing is fetched) and cover the
    scorecard version scored most recently. Redacted text stays redacted.
    """
    from pipeline.config import load_settings
    from pipeline.report.audio_links import AudioLinks
    from pipeline.report.html_report import write_report

    try:
        settings = load_settings({"db": db, "audio_base_url": audio_base_url, "audio_root": audio_root})
    except CallscoreError as exc:
        fail(str(exc))
    audio = AudioLinks(settings.audio_base_url, settings.audio_root, embed_audio)
    with read_warehouse(db) as warehouse, one_line_errors(out):
        data = write_report(warehouse, out, since=since.date() if since else None, audio=audio)
    message(f"report: {len(data.calls)} calls, {len(data.review)} answers to review, "
            f"{len(data.linked_calls())} call pages -> {out}")
    click.echo(str(out.resolve()))


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv"]), default="parquet", show_default=True,
              help="Parquet keeps types (timestamps, maps); CSV opens anywhere.")
@db_option()
@json_option
def export(folder: Path, fmt: str, db: Path | None, as_json: bool) -> None:
    """Write the KPI views and the main tables into FOLDER, one file per table.

    BI tools and the duckdb CLI then read the files, not the warehouse, so they never wait on
    (or block) a scoring run. Run it after each nightly run; files are replaced whole, and
    FOLDER/manifest.json lists them with their row counts. FOLDER must be new, empty or an
    earlier export.

    \b
    Examples:
      callscore export exports/
      duckdb -c "SELECT agent, mean_qa_score FROM 'exports/kpi_agents.parquet'"
    """
    from pipeline.config import load_settings
    from pipeline.store.export import export_warehouse

    with one_line_errors(folder):
        settings = load_settings({"db": db})
        path = settings.db
        written = export_warehouse(path, folder, fmt=fmt, warehouse_wait_s=settings.lock_wait_s,  # type: ignore[arg-type]
                                   note=say_waiting)
    if as_json:
        click.echo(json.dumps([{"table": t.name, "file": str(folder / t.file), "rows": t.rows} for t in written], indent=2))
        return
    message(f"exported {len(written)} tables from {path} to {folder} ({fmt})")
    print_table(["table", "file", "rows"], [[t.name, t.file, str(t.rows)] for t in written])


@main.command("eval")
@click.option("--labels", type=click.Path(path_type=Path), help="CSV with columns recording (file name or recording id), criterion_id, label (yes/no/na; for a choice field, one of its options). [default: the reviews people gave in the review desk]")
@scorecard_option("Scorecard whose verdicts to compare.")
@click.option("--llm", "llm_model", metavar="NAME", help="Only verdicts by this LLM (as recorded in evaluations.llm_model). [default: each call's latest]")
@click.option("--prompt-version", metavar="VERSION", help="Only verdicts with this prompt version (evaluations.prompt_version: the prompt's hash, plus the scoring style). [default: each call's latest]")
@click.option("--sample", type=click.Choice(["random", "all", "doubtful"]), help="Without --labels, which reviewed calls: those the review queue drew at random (an honest estimate), all, or those it gave for a doubtful answer. [default: random once it holds 20 reviewed answers, else all]")
@click.option("--no-store", is_flag=True, help="Only print the figures; do not keep them in the warehouse.")
@click.option("--compare", is_flag=True, help="Re-score the labelled calls' stored transcripts with each candidate (--llm-model, --prompt, --llm-questions, --llm-answer-order, --llm-evidence: every combination given; each may be repeated) and print them beside the stored answers. Writes nothing to the warehouse.")
@click.option("--llm-model", "candidate_models", multiple=True, type=click.Path(path_type=Path), metavar="FILE", help="With --compare: a GGUF model to try (repeat for more). [default: the settings' model]")
@click.option("--prompt", "candidate_prompts", multiple=True, type=click.Path(path_type=Path), metavar="FILE", help="With --compare: a prompt template to try (repeat for more). [default: prompts/scoring.yaml]")
@click.option("--llm-questions", multiple=True, type=click.Choice(["together", "per_criterion", "statements"]), help="With --compare: scoring styles to try.")
@click.option("--llm-answer-order", multiple=True, type=click.Choice(["evidence_first", "verdict_first"]), help="With --compare: answer orders to try.")
@click.option("--llm-evidence", multiple=True, type=click.Choice(["lines", "quotes"]), help="With --compare: evidence styles to try.")
@db_option()
@json_option
def eval_command(labels: Path | None, scorecard: Path | None, llm_model: str | None, prompt_version: str | None,
                 sample: str | None, no_store: bool, compare: bool, candidate_models: tuple[Path, ...],
                 candidate_prompts: tuple[Path, ...], llm_questions: tuple[str, ...], llm_answer_order: tuple[str, ...],
                 llm_evidence: tuple[str, ...], db: Path | None, as_json: bool) -> None:
    """Measure agreement of the stored verdicts (and choice fields) with human QA labels: the
    answers people gave in the review desk (--sample: which), or a labels file (--labels).

    Per criterion, per kind (LLM or rule) and overall, over the labelled calls scored with the
    scorecard's current version: agreement, Cohen's kappa, the majority baseline, precision and
    recall of "failed", a confusion table, and how many of the least confident answers a person
    would review to reach 95% agreement on the rest; per choice field: agreement, kappa, the
    majority baseline and a confusion table. Against the desk's reviews the figures are kept
    current as reviews land (view criterion_trust), so nothing is stored; with --labels they are
    kept (table criterion_agreement) for the criteria nobody reviewed. A criterion with kappa
    below 0.4 (or fewer than 20 answers) is marked not yet reliable everywhere the trust shows.
    --compare re-scores the labelled calls with candidate models, prompts or styles and prints
    them side by side (docs/calibration.md: "Measuring agreement").
    """
    from dataclasses import asdict

    from pipeline.config import load_settings
    from pipeline.report.agreement import TARGET_AGREEMENT, evaluate, read_labels
    from pipeline.scoring.scorecard import load_scorecard

    try:
        card = load_scorecard(load_settings({"scorecard": scorecard}).scorecard)
        rows = read_labels(labels, card.choice_options) if labels is not None else []
    except CallscoreError as exc:
        fail(str(exc))
        return
    styles = {"llm_questions": llm_questions, "llm_answer_order": llm_answer_order, "llm_evidence": llm_evidence}
    _check_eval_options(labels is not None and sample is not None,
                        not compare and bool(candidate_models or candidate_prompts or any(styles.values())))
    with read_warehouse(db) as warehouse:
        if labels is None:
            sample, rows = _reviews_as_labels(warehouse, card, sample)
        if compare:
            plan, candidates = _comparison_of(card, rows, warehouse, candidate_models, candidate_prompts, styles)
        else:
            report = evaluate(warehouse, rows, scorecard_version=card.version,
                              criterion_ids=[c.id for c in card.criteria], llm_model=llm_model,
                              prompt_version=prompt_version, kinds=card.kinds, field_ids=card.choice_options)
    if compare:  # the warehouse is free again: re-scoring takes minutes
        from pipeline.cli.compare_command import run_compare

        run_compare(load_settings({"scorecard": scorecard}), card, plan, candidates, as_json=as_json)
        return
    say_unmatched_labels(report.unmatched, report.unknown_criteria, card)
    if not report.pairs and not report.fields:
        fail("no labelled call has verdicts in the warehouse: score the labelled recordings first")
    if labels is not None and not no_store:
        _store_agreement(report, card, labels, db)
    if as_json:
        data = asdict(report)
        data.pop("pairs")
        data["sample"] = "labels" if labels is not None else sample
        click.echo(json.dumps(data, indent=2))
        return
    print_agreement(report, card.name, TARGET_AGREEMENT)


def _check_eval_options(sample_with_labels: bool, candidates_without_compare: bool) -> None:
    if sample_with_labels:
        fail("--sample chooses among the desk's reviews: give it without --labels")
    if candidates_without_compare:
        fail("--llm-model, --prompt and the style options name candidates for --compare: add --compare")


def _comparison_of(card: Any, rows: list[Any], warehouse: Any, models: Sequence[Path], prompts: Sequence[Path],
                   styles: dict[str, Sequence[str]]) -> tuple[Any, list[Any]]:
    """(what the comparison reads from the warehouse, the candidates); a bad one fails here."""
    from pipeline.cli.compare_command import candidates_from, prepare_comparison

    try:
        candidates = candidates_from(models, prompts, styles)
        return prepare_comparison(card, rows, warehouse), candidates
    except CallscoreError as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


def _reviews_as_labels(warehouse: Any, card: Any, sample: str | None) -> tuple[str, list[Any]]:
    """(the sample measured, the answers people gave in the desk as labels); ``sample`` None:
    the random sample once it holds 20 reviewed answers, else all."""
    from pipeline.report.agreement import SAMPLES, default_sample, labels_from_reviews

    sample = sample or default_sample(warehouse, card.version)
    reviewable = {c.id for c in card.criteria} | set(card.choice_options)
    rows = labels_from_reviews(warehouse, card.version, reviewable, sample)
    if not rows:
        fail(f"no {'' if sample == 'all' else sample + ' '}call scored with scorecard {card.name}"
             f" {card.version} has been reviewed yet: review calls in the desk (callscore serve),"
             " or give --labels FILE")
    message(f"callscore: against {len(rows)} answers people reviewed in the desk; sample {sample}:"
            f" {SAMPLES[sample]}")
    return sample, rows


def _store_agreement(report: Any, card: Any, labels: Path, db: Path | None) -> None:
    """Keep the per-criterion figures; a warehouse busy with a run leaves them unstored, said so."""
    from pipeline.config import load_settings
    from pipeline.errors import WarehouseBusyError
    from pipeline.store.warehouse.access import open_waiting
    from pipeline.store.warehouse.agreement_ledger import CriterionAgreement

    rows = [CriterionAgreement(c.criterion_id, c.answers, c.agreement, c.kappa, c.majority_baseline)
            for c in report.criteria]
    rows += [CriterionAgreement(f.field_id, f.answers, f.agreement, f.kappa, f.majority_baseline) for f in report.fields]
    try:
        settings = load_settings({"db": db})
        with open_waiting(settings.db, read_only=False, wait_s=settings.lock_wait_s, note=say_waiting) as warehouse:
            warehouse.save_agreement(rows, scorecard_name=card.name, scorecard_version=card.version,
                                     prompt_versions=report.prompt_versions, llm_models=report.llm_models,
                                     labels_file=str(labels))
    except WarehouseBusyError as exc:
        message(f"callscore: agreement not stored ({exc}); run eval again when the run is over")
    except CallscoreError as exc:
        fail(str(exc))
