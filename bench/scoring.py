"""The scoring part of the speed benchmark: the scoring styles side by side on the same
transcripts with the same loaded model, and ``llm_concurrency`` against a local LLM server.

Styles (each a ``Scorer`` over the one loaded model; the model's prompt cache is cleared before
each style, so every style reads its shared prompt start once, as a fresh process would):

- ``lines``: the default. Numbered transcript, line evidence, instructions and criteria first
  (cached), the form decoder skipping the fixed tokens;
- ``lines_no_fields``: the default on the scorecard without its extraction fields (verdicts
  only), so the difference to ``lines`` is what the fields cost;
- ``lines_grammar``: the same prompt and answer, every token decoded under the form's grammar
  (what the form decoder saves);
- ``quotes``: instructions first, copied quotes under a grammar (``llm_evidence = "quotes"``);
- ``before``: the scoring before line evidence, the baseline of the 4x target: the transcript
  first (``prompts/score_prompt.yaml``), copied quotes under a grammar;
- ``naive`` (``--naive``): each criterion its own uncached question.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.llm_server import start_llm_server, stop_llm_server
from pipeline.processing.procedure import CallProcessor
from pipeline.report.agreement import Agreement, Pair, agreement, read_labels
from pipeline.resources import transcript_first_template_path
from pipeline.scoring.backend import Generation
from pipeline.scoring.form import AnswerForm
from pipeline.scoring.prompt import load_prompt_template
from pipeline.scoring.score import CallScore, Scorer, ScoringStyle
from pipeline.scoring.scorecard import Scorecard
from pipeline.speech.metrics import compute_metrics
from pipeline.speech.redact import redact_segments
from pipeline.speech.segments import Segment
from samples.labelled import CALLS

STYLE_NAMES = {
    "lines": "line evidence, fixed tokens skipped, instructions cached (default)",
    "lines_no_fields": "the default without the scorecard's extraction fields (what the fields cost)",
    "lines_grammar": "line evidence, every token decoded under the grammar",
    "quotes": "copied quotes, instructions cached (llm_evidence quotes)",
    "before": "before: copied quotes, transcript first (prompts/score_prompt.yaml)",
    "naive": "naive: one uncached question per criterion",
}
CONCURRENCY_LEVELS = (1, 2, 4)


class GrammarOnly:
    """The in-process model, forms filled under their grammar one token at a time."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.name, self.n_ctx = backend.name, backend.n_ctx

    def count_tokens(self, text: str) -> int:
        return self._backend.count_tokens(text)

    def generate_json(self, messages: list[dict[str, str]], schema: dict, *, max_tokens: int) -> Generation:
        return self._backend.generate_json(messages, schema, max_tokens=max_tokens)

    def fill_form(self, messages: list[dict[str, str]], form: AnswerForm, *, max_tokens: int) -> Generation:
        return self._backend.fill_form(messages, form, max_tokens=max_tokens, grammar_only=True)


class Uncached(GrammarOnly):
    """The naive baseline's model access: the cache is cleared before every question."""

    def generate_json(self, messages: list[dict[str, str]], schema: dict, *, max_tokens: int) -> Generation:
        self._backend.clear_cache()
        return self._backend.generate_json(messages, schema, max_tokens=max_tokens)

    def fill_form(self, messages: list[dict[str, str]], form: AnswerForm, *, max_tokens: int) -> Generation:
        self._backend.clear_cache()
        return super().fill_form(messages, form, max_tokens=max_tokens)


@dataclass
class StyleRun:
    """One style over every call: totals, and the (label, answer) pairs of labelled criteria."""

    seconds: float = 0.0
    llm_calls: int = 0
    prompt_tokens: int = 0  # sent
    evaluated_prompt_tokens: int = 0  # of those, not found in the model's cache
    completion_tokens: int = 0  # every answer token
    decided_tokens: int = 0  # answer tokens the model chose (all of them under a grammar)
    pairs: list[Pair] = field(default_factory=list, repr=False)

    def agreement(self, calls: set[str] | None = None) -> Agreement:
        """Agreement with the labels, over ``calls`` (file names) only when given."""
        return agreement([p for p in self.pairs if calls is None or p.file_name in calls])


@dataclass
class ScoringBench:
    calls: int
    labelled_calls: int
    llm_criteria: int
    styles: dict[str, StyleRun]
    injection_calls: set[str] = field(default_factory=set)  # calls whose words ask the reviewer to pass all

    def per_call(self, style: str) -> float:
        return self.styles[style].seconds / self.calls

    @property
    def speedup(self) -> float:
        """Seconds per call before this change / with the default."""
        return self.styles["before"].seconds / self.styles["lines"].seconds

    @property
    def fields_seconds_per_call(self) -> float:
        """The extra LLM seconds per call the scorecard's extraction fields cost (same run)."""
        return (self.styles["lines"].seconds - self.styles["lines_no_fields"].seconds) / self.calls

    @property
    def decided_per_criterion(self) -> float:
        return self.styles["lines"].decided_tokens / max(1, self.calls * self.llm_criteria)


def verdicts_only(card: Scorecard) -> Scorecard:
    """``card`` without its extraction fields."""
    return Scorecard.model_validate(card.model_dump(exclude={"fields"}))


def _scorers(processor: CallProcessor, *, naive: bool) -> dict[str, Scorer]:
    # the one-form style and its variants, whatever style the processor's model gets by default
    backend, card, template = processor.scorer.backend, processor.scorecard, load_prompt_template()
    order = processor.style.answer_order
    form = ScoringStyle("together", order, "lines")
    scorers = {
        "lines": Scorer(backend, card, template, style=form),
        "lines_no_fields": Scorer(backend, verdicts_only(card), template, style=form),
        "lines_grammar": Scorer(GrammarOnly(backend), card, template, style=form),
        "quotes": Scorer(backend, card, template, style=ScoringStyle(answer_order=order, evidence="quotes")),
        "before": Scorer(backend, card, load_prompt_template(transcript_first_template_path()),
                         style=ScoringStyle(answer_order=order, evidence="quotes")),
    }
    if naive:
        scorers["naive"] = Scorer(Uncached(backend), card, template,
                                  style=ScoringStyle("per_criterion", order, evidence="quotes"))
    return scorers


def _score_all(scorer: Scorer, transcripts: dict[str, tuple[Segment, ...]], labels: dict[tuple[str, str], str],
               processor: CallProcessor) -> StyleRun:
    run = StyleRun()
    for name, segments in transcripts.items():
        segments = redact_segments(segments, kinds=processor.settings.redact).segments
        started = time.perf_counter()
        score: CallScore = scorer.score(segments, compute_metrics(segments))
        run.seconds += time.perf_counter() - started
        run.llm_calls += len(scorer.groups) * score.windows
        run.prompt_tokens += score.prompt_tokens
        run.evaluated_prompt_tokens += score.evaluated_prompt_tokens or 0
        run.completion_tokens += score.completion_tokens
        run.decided_tokens += score.completion_tokens if score.decided_tokens is None else score.decided_tokens
        for verdict in score.verdicts:
            label = labels.get((name, verdict.criterion_id))
            if label is not None:
                answer = "na" if verdict.passed is None else ("yes" if verdict.passed else "no")
                pair = Pair(name, name, verdict.criterion_id, label, answer, verdict.confidence)  # type: ignore[arg-type]
                run.pairs.append(pair)
        print(f"  scored {name}", file=sys.stderr)
    return run


def bench_scoring(processor: CallProcessor, transcripts: dict[str, tuple[Segment, ...]], labels_file: Path,
                  *, naive: bool = False) -> ScoringBench:
    """Every style on every call, one style after the other."""
    labels = {(label.recording, label.criterion_id): label.label for label in read_labels(labels_file, processor.scorecard.choice_options)}
    scorers = _scorers(processor, naive=naive)
    backend = processor.scorer.backend
    scorers["lines"].score(next(iter(transcripts.values())))  # warm-up: the first evaluation allocates
    styles = {}
    for name, scorer in scorers.items():
        backend.clear_cache()
        print(f" style {name}", file=sys.stderr)
        styles[name] = _score_all(scorer, transcripts, labels, processor)
    labelled = len({p.file_name for p in styles["lines"].pairs})
    injected = {call.name for call in CALLS if call.injection} & set(transcripts)
    return ScoringBench(len(transcripts), labelled, len(processor.scorecard.llm_criteria), styles, injected)


def scoring_table(bench: ScoringBench) -> list[str]:
    lines = [
        f"### 3. Scoring ({bench.calls} calls, {bench.llm_criteria} LLM criteria each; agreement on the "
        f"{bench.labelled_calls} labelled calls)", "",
        "| style | LLM calls | s per call | vs before | prompt tokens sent per call | evaluated per call "
        "| answer tokens per call | decided per criterion | agreement with labels | kappa "
        f"| agreement on the {len(bench.injection_calls)} injection calls |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    before = bench.styles["before"].seconds
    for key, run in bench.styles.items():
        found = run.agreement()
        lines.append(
            f"| {STYLE_NAMES[key]} | {run.llm_calls} | {run.seconds / bench.calls:.2f} | {before / run.seconds:.2f}x "
            f"| {run.prompt_tokens / bench.calls:.0f} | {run.evaluated_prompt_tokens / bench.calls:.0f} "
            f"| {run.completion_tokens / bench.calls:.0f} "
            f"| {run.decided_tokens / max(1, bench.calls * bench.llm_criteria):.1f} "
            f"| {_pct(found.agreement)} | {'-' if found.kappa is None else f'{found.kappa:.2f}'} "
            f"| {_pct(run.agreement(bench.injection_calls).agreement) if bench.injection_calls else '-'} |")
    return lines + [""]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


# -- llm_concurrency against a server ----------------------------------------------------------

@dataclass
class ConcurrencyRun:
    concurrency: int
    wall_s: float
    calls: int
    stored_once: bool  # every call has exactly one evaluation by this scorecard version


def bench_concurrency(callscore: str, folder: Path, model: Path) -> list[ConcurrencyRun]:
    """``callscore score FOLDER`` once with the model in process (transcripts stored), then, per
    level, ``callscore rescore`` of a copy of that warehouse under a renamed scorecard (a new
    version: every call is scored again, no audio read) against ``python -m llama_cpp.server``."""
    import duckdb

    from pipeline.resources import default_scorecard_path

    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        base, card = Path(scratch) / "base.duckdb", Path(scratch) / "renamed.yaml"
        card.write_text(default_scorecard_path().read_text().replace("\nname: ", "\nname: renamed-", 1))
        subprocess.run([callscore, "score", str(folder), "--db", str(base), "--json"], check=True,
                       capture_output=True)
        try:
            process, url = start_llm_server(model, Path(scratch) / "server.log")
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from None
        try:
            for level in CONCURRENCY_LEVELS:
                db = Path(scratch) / f"c{level}.duckdb"
                shutil.copy(base, db)
                started = time.perf_counter()
                subprocess.run([callscore, "rescore", "--db", str(db), "--scorecard", str(card), "--llm-backend",
                                "openai", "--llm-url", url, "--llm-concurrency", str(level), "--json"],
                               check=True, capture_output=True)
                wall = time.perf_counter() - started
                with duckdb.connect(str(db), read_only=True) as connection:
                    calls, once = connection.execute(
                        "SELECT count(DISTINCT recording_id), bool_and(n = 1) FROM (SELECT recording_id, count(*) AS n"
                        " FROM evaluations WHERE scorecard_name LIKE 'renamed-%' GROUP BY recording_id)").fetchone()
                runs.append(ConcurrencyRun(level, wall, int(calls), bool(once)))
                print(f"  llm_concurrency {level}: {wall:.1f} s", file=sys.stderr)
        finally:
            stop_llm_server(process)
    return runs


def concurrency_table(runs: list[ConcurrencyRun]) -> list[str]:
    if not runs:
        return []
    first = runs[0].wall_s
    lines = [f"### 3b. `llm_concurrency` against `python -m llama_cpp.server` on loopback "
             f"(`callscore rescore`, {runs[0].calls} calls)", "",
             "| llm_concurrency | wall s | vs 1 | every call stored once |", "|---|---|---|---|"]
    for run in runs:
        lines.append(f"| {run.concurrency} | {run.wall_s:.1f} | {first / run.wall_s:.2f}x "
                     f"| {'yes' if run.stored_once and run.calls else 'NO'} |")
    return lines + [""]
