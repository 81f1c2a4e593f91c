"""Score a transcript against a scorecard with one constrained LLM pass.

The transcript goes to the model as numbered lines, one per speaker turn (``L7 [01:12] AGENT:
...``, ``pipeline.speech.turns``), and the answer is a form (``pipeline.scoring.form``): per
criterion the number of the line that shows it (0: none) and a verdict, line first so the
verdict follows from the evidence. The form allows only the window's line numbers, so the
stored evidence, that line's text and start time, is in the transcript by construction. The
quote style (``evidence: quotes``) asks for a copied quote instead, under a grammar built from
the answer's pydantic model, and keeps a quote only if it is found in the transcript. Each
verdict's confidence is the model's own probability of that answer, renormalised over the
answers the criterion permits.

Transcripts longer than the context are split into overlapping windows of whole lines, each
window is scored, and per criterion the verdicts combine by the criterion's ``combine`` rule:
``any`` passes when some window passes, ``all`` fails when some window fails; windows that
answer "na" do not count unless all do. Nothing is truncated.

Rule criteria (``kind: rule``) are judged in plain code from the segments and the call's
``CallMetrics`` (``pipeline.scoring.rules``), never by the LLM: their verdicts have confidence 1.0 and
the matched words or the measured figure as evidence. A criterion whose ``only_if`` does not
hold is "na" without asking anyone. Only the LLM criteria left are put to the model (the prompt
and the answer grammar list only them); when none is left, the model is not called.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field, replace
from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from pipeline.errors import PermanentRecordingError, SetupError
from pipeline.scoring.backend import Generation, ScoringBackend
from pipeline.scoring.calibration import CriterionCalibration
from pipeline.scoring.extraction import Extraction, answer_tokens, combine_extractions, read_extractions, words_per_window
from pipeline.scoring.form import NO_LINE, form_for, verdict_options
from pipeline.speech.metrics import CallMetrics, compute_metrics
from pipeline.scoring.prompt import PromptTemplate, numbered_line, transcript_line
from pipeline.scoring.quotes import verify_evidence
from pipeline.scoring.rules import Conversation, evaluate
from pipeline.scoring.scorecard import Criterion, ExtractionField, Scorecard
from pipeline.scoring.statements import StatementAsker
from pipeline.scoring.windows import labelled_piece, split_indexed_windows
from pipeline.speech.segments import Segment
from pipeline.speech.turns import Turn, speaker_turns

QUOTE_MAX_CHARS = 120  # the longest evidence quote the LLM may write
ANSWER_TOKENS_PER_CRITERION = QUOTE_MAX_CHARS + 40  # worst case: a token per character, plus JSON
LINE_ANSWER_TOKENS_PER_CRITERION = 40  # a line-evidence answer: id, keys, a number and a verdict
MIN_TRANSCRIPT_TOKENS = 256  # below this the context is too small to score in windows


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evidence: str = Field(max_length=QUOTE_MAX_CHARS)


class YesNoAnswer(_Answer):
    verdict: Literal["yes", "no"]


class YesNoNaAnswer(_Answer):
    verdict: Literal["yes", "no", "na"]


class _VerdictFirst(BaseModel):
    model_config = ConfigDict(extra="forbid")


class YesNoVerdictFirst(_VerdictFirst):
    verdict: Literal["yes", "no"]
    evidence: str = Field(max_length=QUOTE_MAX_CHARS)


class YesNoNaVerdictFirst(_VerdictFirst):
    verdict: Literal["yes", "no", "na"]
    evidence: str = Field(max_length=QUOTE_MAX_CHARS)


class _LineAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    line: int = Field(ge=0)


class YesNoLineAnswer(_LineAnswer):
    verdict: Literal["yes", "no"]


class YesNoNaLineAnswer(_LineAnswer):
    verdict: Literal["yes", "no", "na"]


Questions = Literal["together", "per_criterion", "statements"]
AnswerOrder = Literal["evidence_first", "verdict_first"]
Evidence = Literal["lines", "quotes"]


@dataclass(frozen=True)
class ScoringStyle:
    """How the LLM is asked. ``together``: all criteria in one answer per window (the transcript
    is read once); ``per_criterion``: one question per criterion, each a new prompt that shares
    the transcript as its prefix (llama.cpp re-uses the evaluated prefix); ``statements``: the
    transcript once, each criterion a statement after it, its verdict read from the model's
    probabilities and calibrated (``pipeline.scoring.statements``). ``evidence_first``:
    the model gives its evidence before it judges; ``verdict_first``: it judges, then gives it.
    ``lines``: the evidence is the number of a transcript line; ``quotes``: a copied quote."""

    questions: Questions = "together"
    answer_order: AnswerOrder = "evidence_first"
    evidence: Evidence = "lines"
    calibrated: bool = True  # statements: verdicts calibrated for the model's lean

    @property
    def tag(self) -> str:
        """Part of the prompt version, so each style's verdicts are kept apart ('' = default)."""
        parts = [p for p in (self.questions, self.answer_order, self.evidence,
                             "" if self.calibrated or self.questions != "statements" else "uncalibrated")
                 if p not in ("together", "evidence_first", "lines", "")]
        return "+".join(parts)


def answer_model(criteria: Sequence[Criterion] | Scorecard, *, answer_order: AnswerOrder = "evidence_first",
                 evidence: Evidence = "lines") -> type[BaseModel]:
    """The pydantic model of a whole answer: one field per criterion, in scorecard order (the
    order of keys inside a line answer is the form's; pydantic does not check it)."""
    criteria = criteria.criteria if isinstance(criteria, Scorecard) else criteria
    if evidence == "lines":
        kinds: tuple[type[BaseModel], type[BaseModel]] = (YesNoNaLineAnswer, YesNoLineAnswer)
    elif answer_order == "evidence_first":
        kinds = (YesNoNaAnswer, YesNoAnswer)
    else:
        kinds = (YesNoNaVerdictFirst, YesNoVerdictFirst)
    fields = {c.id: (kinds[0] if c.allow_na else kinds[1], ...) for c in criteria}
    return create_model("ScorecardAnswer", __config__=ConfigDict(extra="forbid"), **fields)


@dataclass(frozen=True)
class Verdict:
    """The answer for one criterion."""

    criterion_id: str
    passed: bool | None  # None: not applicable
    confidence: float | None  # 0-1, the model's probability of this answer; None if unavailable
    evidence: str | None  # the cited line's text or a quote, None when none was given or it was not found
    evidence_verified: bool | None  # True: in the transcript; False: a quote not found, dropped; None: none given
    window: int  # which window of the transcript decided it (0-based)
    evidence_line: int | None = None  # the cited line's number (a speaker turn; 1 = the first), line evidence only
    evidence_start_s: float | None = None  # when the cited line starts, seconds from the start of the recording


@dataclass(frozen=True)
class CallScore:
    verdicts: tuple[Verdict, ...]
    windows: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float  # wall time spent scoring: the LLM, and the rules (milliseconds)
    # prompt tokens the LLM evaluated (the rest came from its cache); None when the backend cannot tell
    evaluated_prompt_tokens: int | None = None
    # answer tokens the LLM chose (the rest the form fixed); None when it decoded every token
    decided_tokens: int | None = None
    extractions: tuple[Extraction, ...] = ()  # the scorecard's extraction fields, in its order
    calibrations: tuple[CriterionCalibration, ...] = ()  # statements: the leans the verdicts were divided by


@dataclass
class _ModelAnswers:
    """What putting criteria and fields to the model gave: verdicts per criterion and answers
    per field (one per window), and cost."""

    verdicts: dict[str, list[Verdict]]
    extractions: dict[str, list[Extraction]] = field(default_factory=dict)
    windows: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    evaluated_prompt_tokens: int | None = 0  # None once a generation could not tell
    decided_tokens: int | None = 0  # None once a generation decoded every token

    def add(self, generation: Generation) -> None:
        self.prompt_tokens += generation.prompt_tokens
        self.completion_tokens += generation.completion_tokens
        if self.decided_tokens is not None and generation.decided_tokens is not None:
            self.decided_tokens += generation.decided_tokens
        else:
            self.decided_tokens = None
        if self.evaluated_prompt_tokens is not None and generation.evaluated_prompt_tokens is not None:
            self.evaluated_prompt_tokens += generation.evaluated_prompt_tokens
        else:
            self.evaluated_prompt_tokens = None


def combine(criterion: Criterion, verdicts: Sequence[Verdict]) -> Verdict:
    """One verdict from the windows' verdicts (see the module docstring for the rule)."""
    applicable = [v for v in verdicts if v.passed is not None]
    if not applicable:
        return max(verdicts, key=lambda v: v.confidence or 0.0)
    decisive_value = criterion.combine == "any"  # any: a pass decides; all: a fail decides
    decisive = [v for v in applicable if v.passed is decisive_value]
    pool = decisive or applicable
    return max(pool, key=lambda v: v.confidence or 0.0)


class Scorer:
    """Scores transcripts against one scorecard with one backend and prompt template."""

    def __init__(self, backend: ScoringBackend, scorecard: Scorecard, template: PromptTemplate,
                 *, style: ScoringStyle = ScoringStyle()) -> None:
        self.backend = backend
        self.scorecard = scorecard
        self.template = template
        self.style = style
        self.llm_criteria = scorecard.llm_criteria
        self.fields = scorecard.extraction_fields
        self.statements = (StatementAsker(backend, template, calibrate=style.calibrated)
                           if style.questions == "statements" else None)
        if self.statements and style.evidence != "lines":
            raise SetupError("llm_questions statements cites transcript lines: set llm_evidence to lines")
        self.groups: tuple[tuple[Criterion, ...], ...] = self._groups(self.llm_criteria)
        self.models: dict[tuple[Criterion, ...], type[BaseModel]] = {}
        self.schemas: dict[tuple[Criterion, ...], dict] = {}
        for group in self.groups:
            self._schema(group)
        self.max_answer_tokens = self._answer_tokens(len(self.llm_criteria)) + answer_tokens(self.fields)
        frame = template.messages("", self.llm_criteria, part=(99, 99), evidence=style.evidence, fields=self.fields)
        reserved = (self.statements.reserved_tokens(backend.count_tokens, self.llm_criteria, self.fields) if self.statements
                    else sum(backend.count_tokens(m["content"]) for m in frame) + 32 + self.max_answer_tokens)
        self.transcript_budget = backend.n_ctx - reserved  # 32: chat markup
        if (self.llm_criteria or self.fields) and self.transcript_budget < MIN_TRANSCRIPT_TOKENS:
            raise SetupError(
                f"the LLM context ({backend.n_ctx} tokens) is too small for this scorecard "
                f"({len(self.llm_criteria)} LLM criteria, {len(self.fields)} fields): raise llm_context to at least "
                f"{backend.n_ctx - self.transcript_budget + MIN_TRANSCRIPT_TOKENS}"
            )

    def _groups(self, criteria: tuple[Criterion, ...]) -> tuple[tuple[Criterion, ...], ...]:
        """The criteria of each question put to the model (see ``ScoringStyle``)."""
        if not criteria:
            return ()
        return (criteria,) if self.style.questions != "per_criterion" else tuple((c,) for c in criteria)

    def _answer_tokens(self, criteria: int) -> int:
        """The most tokens an answer for ``criteria`` criteria may take."""
        per_criterion = LINE_ANSWER_TOKENS_PER_CRITERION if self.style.evidence == "lines" else ANSWER_TOKENS_PER_CRITERION
        return per_criterion * criteria + 20

    def _answer_model(self, group: tuple[Criterion, ...]) -> type[BaseModel]:
        """The pydantic model of the answer for ``group``, and its JSON schema, built once per
        distinct group (a call's pre-checks can leave a group the scorecard alone does not have)."""
        if group not in self.models:
            self.models[group] = answer_model(group, answer_order=self.style.answer_order, evidence=self.style.evidence)
            self.schemas[group] = self.models[group].model_json_schema()
        return self.models[group]

    def _schema(self, group: tuple[Criterion, ...]) -> dict:
        """The answer model's JSON schema for ``group``."""
        self._answer_model(group)
        return self.schemas[group]

    def score(self, segments: Sequence[Segment], metrics: CallMetrics | None = None) -> CallScore:
        """Verdicts for every criterion of the scorecard, in its order. ``metrics`` are the
        call's measures (computed from ``segments`` when not given)."""
        started = time.perf_counter()
        call = Conversation(segments, metrics if metrics is not None else compute_metrics(segments))
        decided: dict[str, Verdict] = {}
        asked: list[Criterion] = []
        for criterion in self.scorecard.criteria:
            if criterion.only_if is not None:
                pre = evaluate(criterion.only_if, call)
                if pre.holds is False:
                    why = f" ({pre.evidence})" if pre.evidence else ""
                    decided[criterion.id] = Verdict(criterion.id, None, 1.0, f"not applicable: only_if does not hold{why}",
                                                    None, 0)
                    continue
            if criterion.kind == "rule":
                assert criterion.rule is not None
                result = evaluate(criterion.rule, call)
                decided[criterion.id] = Verdict(criterion.id, result.holds, 1.0, result.evidence,
                                                True if result.quoted else None, 0)
            else:
                asked.append(criterion)
        asking = self._ask(segments, tuple(asked))
        verdicts = tuple(
            decided[c.id] if c.id in decided else combine(c, asking.verdicts[c.id]) for c in self.scorecard.criteria
        )
        return CallScore(
            verdicts=verdicts,
            windows=asking.windows,
            prompt_tokens=asking.prompt_tokens,
            completion_tokens=asking.completion_tokens,
            seconds=time.perf_counter() - started,
            evaluated_prompt_tokens=asking.evaluated_prompt_tokens,
            decided_tokens=asking.decided_tokens,
            extractions=tuple(combine_extractions(f, asking.extractions[f.id]) for f in self.fields),
            calibrations=tuple(self.statements.calibrations.values()) if self.statements else (),
        )

    def _questions(self, asked: tuple[Criterion, ...]) -> tuple[tuple[tuple[Criterion, ...], tuple[ExtractionField, ...]], ...]:
        """(criteria, fields) of each question put to the model per window: the fields go with
        the criteria in one answer form (the default style), else in a form of their own."""
        if self.style.questions != "per_criterion" and self.style.evidence == "lines":
            return ((asked, self.fields),) if asked or self.fields else ()
        return tuple([(group, ()) for group in self._groups(asked)] + ([((), self.fields)] if self.fields else []))

    def _ask(self, segments: Sequence[Segment], asked: tuple[Criterion, ...]) -> _ModelAnswers:
        """The verdicts per criterion and the answers per field per window, and the cost, of
        putting ``asked`` and the fields to the model; nothing is asked, and no window made, when
        there are neither."""
        asking = _ModelAnswers(verdicts={c.id: [] for c in asked}, extractions={f.id: [] for f in self.fields})
        questions = self._questions(asked)
        if not questions:
            return asking
        numbered = self.style.evidence == "lines"
        units: Sequence[Segment | Turn] = speaker_turns(segments) if numbered else segments
        lines = [numbered_line(i + 1, u) if numbered else transcript_line(u) for i, u in enumerate(units)]
        counts = [self.backend.count_tokens(line + "\n") for line in lines]
        windows = split_indexed_windows(lines, counts, self.transcript_budget)
        asking.windows = len(windows)
        words = words_per_window(self.fields, len(windows))
        for index, window in enumerate(windows):
            text = "\n".join(labelled_piece(piece, numbered) for piece in window)
            line_numbers = tuple(sorted({line + 1 for line, _ in window}))
            for group, fields in questions:
                messages = self.template.messages(text, group, part=(index + 1, len(windows)),
                                                  evidence=self.style.evidence, fields=fields)
                budget = self._answer_tokens(len(group)) + answer_tokens(fields)
                if self.statements:
                    generation = self.statements.answer(text, self.statements.questions(group, fields, words),
                                                        line_numbers)
                elif numbered or fields:  # fields are answered in a form (no line to cite without numbers)
                    form = form_for(group, line_numbers if numbered else (), fields=fields, max_words=words,
                                    line_first=self.style.answer_order == "evidence_first")
                    generation = self.backend.fill_form(messages, form, max_tokens=budget)
                else:
                    generation = self.backend.generate_json(messages, self._schema(group), max_tokens=budget)
                asking.add(generation)
                raw, verdicts = self._read(generation, text, index, group, units, line_numbers, fields)
                for verdict in verdicts:
                    asking.verdicts[verdict.criterion_id].append(verdict)
                for extraction in read_extractions(raw, fields, generation.choice_probabilities, list(raw), units,
                                                   line_numbers, index):
                    asking.extractions[extraction.field_id].append(extraction)
        return asking

    def _read(self, generation: Generation, transcript: str, window: int, group: tuple[Criterion, ...],
              lines: Sequence[Segment | Turn], line_numbers: tuple[int, ...],
              fields: Sequence[ExtractionField] = ()) -> tuple[dict, list[Verdict]]:
        """The parsed answer and the verdicts in it (its fields are read by ``read_extractions``)."""
        try:
            raw = json.loads(generation.text, strict=False)  # a raw tab or newline inside a quote is fine
            if not isinstance(raw, dict):
                raise ValueError("the answer is not a JSON object")
            asked = {f.id for f in fields}
            answer = self._answer_model(group).model_validate({k: v for k, v in raw.items() if k not in asked})
        except (json.JSONDecodeError, ValidationError, ValueError) as exc:
            raise PermanentRecordingError(
                f"the LLM answer did not parse ({str(exc).splitlines()[0]}); "
                "was it cut off? raise llm_context", stage="score"
            ) from exc
        order = list(raw)  # the order criteria appear in the output = the order of verdict probes
        verdicts = []
        for criterion in group:
            item = getattr(answer, criterion.id)
            position = order.index(criterion.id)
            chances = generation.choice_probabilities
            probabilities = chances[position] if position < len(chances) else {}
            allowed = verdict_options(criterion.allow_na)
            mass = sum(probabilities.get(option, 0.0) for option in allowed)
            confidence = probabilities.get(item.verdict, 0.0) / mass if mass > 0 else None
            verdict = Verdict(
                criterion_id=criterion.id,
                passed=None if item.verdict == "na" else item.verdict == "yes",
                confidence=None if confidence is None else round(confidence, 4),
                evidence=None, evidence_verified=None, window=window,
            )
            verdicts.append(self._with_evidence(verdict, item, transcript, lines, line_numbers))
        return raw, verdicts

    def _with_evidence(self, verdict: Verdict, item: BaseModel, transcript: str, lines: Sequence[Segment | Turn],
                       line_numbers: tuple[int, ...]) -> Verdict:
        """The verdict with its evidence: the cited line (its text and start), or a checked quote."""
        if self.style.evidence == "quotes":
            quote, verified = verify_evidence(item.evidence, transcript)  # type: ignore[attr-defined]
            return replace(verdict, evidence=quote, evidence_verified=verified)
        line: int = item.line  # type: ignore[attr-defined]
        if line == NO_LINE:
            return verdict
        if line not in line_numbers:  # a server that ignored the schema's enum
            raise PermanentRecordingError(f"the LLM cited line {line}, which is not in the transcript given to it",
                                          stage="score")
        cited = lines[line - 1]
        return replace(verdict, evidence=cited.text.strip(), evidence_verified=True, evidence_line=line,
                       evidence_start_s=cited.start)
