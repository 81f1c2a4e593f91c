"""One call as a supervisor opens it: its facts, QA score, every verdict with its evidence and
how far the criterion can be trusted, the transcript as speaker turns (the numbered lines the
LLM cited) and the timeline of who spoke when. The call page and ``callscore show`` both show
a ``CallView``; its ``to_json`` is what ``show --json`` prints."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Iterator, Literal, Sequence

from pipeline.errors import SetupError
from pipeline.speech.segments import Segment
from pipeline.speech.timeline import Timeline, call_timeline
from pipeline.speech.turns import Turn, speaker_turns
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.agreement_ledger import RELIABLE_MIN_LABELS

Trust = Literal["reliable", "not reliable", "not measured"]
LOAD_BATCH = 200  # calls read per batch of queries
_TRANSCRIPT_LINE = re.compile(r"^\[(?:(\d+):)?(\d{2}):(\d{2})\] [A-Z]+: (.*)$", re.DOTALL)  # prompt.transcript_line
_METRICS = ("conversation_s", "agent_talk_ratio", "customer_talk_ratio", "non_talk_s", "silences", "longest_silence_s",
            "agent_interruptions", "customer_interruptions", "agent_words_per_minute", "customer_words_per_minute",
            "longest_monologue_s", "customer_sentiment_first", "customer_sentiment_last", "customer_sentiment_change")


class CallNotFoundError(SetupError):
    """No recording, or more than one, answers to what was asked for."""


@dataclass(frozen=True)
class CriterionTrust:
    """How far the criterion can be trusted: its agreement with the reviews people gave in the desk,
    or with the labels of its latest ``callscore eval --labels``."""

    trust: Trust
    agreement: float | None = None  # 0-1
    kappa: float | None = None
    labelled_answers: int | None = None
    measured_at: datetime | None = None
    # 'random sample' (the desk's reviews of the calls its queue drew at random), 'reviews' (all
    # the desk's, kept current) or 'labels' (a `callscore eval --labels` file)
    source: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> "CriterionTrust":
        """From a ``criterion_trust`` row; None: never measured."""
        if row is None:
            return cls("not measured")
        return cls(row["trust"], row["agreement"], row["kappa"], row["labelled_answers"], row["measured_at"],
                   row.get("source"))

    def summary(self) -> str:
        """'not reliable yet: kappa 0.12, agreement 64%', or 'agreement not measured'."""
        if self.trust == "not measured":
            return "agreement not measured"
        kappa = "undefined (one class)" if self.kappa is None else f"{self.kappa:.2f}"
        agreement = "–" if self.agreement is None else f"{self.agreement:.0%}"
        noun = "labels" if self.source == "labels" else "reviews"
        few = (f"{self.labelled_answers} {noun} (of {RELIABLE_MIN_LABELS} needed), "
               if (self.labelled_answers or 0) < RELIABLE_MIN_LABELS else "")
        source = {"reviews": f" (from {self.labelled_answers} reviews)",
                  "random sample": f" (from {self.labelled_answers} reviews of a random sample)"}.get(self.source, "")
        source = "" if few else source
        return (f"{'reliable' if self.trust == 'reliable' else 'not reliable yet'}: {few}kappa {kappa},"
                f" agreement {agreement}{source}")


@dataclass(frozen=True)
class VerdictView:
    criterion_id: str
    kind: str  # 'llm' or 'rule'
    weight: float
    critical: bool
    answer: Literal["yes", "no", "n/a"]
    confidence: float | None  # 0-1
    evidence: str | None  # the cited line's text or a quote (redacted as stored)
    evidence_verified: bool | None  # False: the quote was not found in the transcript
    line: int | None  # the transcript line (speaker turn, 1 = the first) the evidence is on
    start_s: float | None  # when that line starts, seconds from the start of the recording
    trust: CriterionTrust
    review: ReviewNote | None = None  # what people answered, when someone reviewed it

    @property
    def critical_failure(self) -> bool:
        return self.critical and self.answer == "no"


@dataclass(frozen=True)
class ReviewNote:
    """The answer people gave to one of the machine's (view ``reviewed_answers``)."""

    answer: str  # yes, no, n.a., or a field's value
    reviewer: str  # who gave it last
    reviewers: int  # how many people reviewed it
    overruled: bool  # their answer is not the machine's

    def summary(self) -> str:
        """'overruled by ana: yes' or 'confirmed by ana' (and how many more reviewed it)."""
        others = f" (+{self.reviewers - 1})" if self.reviewers > 1 else ""
        return (f"overruled by {self.reviewer}{others}: {self.answer}" if self.overruled
                else f"confirmed by {self.reviewer}{others}")

    @classmethod
    def from_row(cls, row: dict[str, Any] | None) -> "ReviewNote | None":
        if row is None:
            return None
        return cls(row["answer"], row["reviewer"], int(row["reviewers"]), bool(row["overruled"]))


@dataclass(frozen=True)
class FieldView:
    """One extraction field's answer (never part of the QA score)."""

    field_id: str
    kind: str  # 'choice' or 'text'
    value: str
    confidence: float | None  # 0-1, the model's probability of the option; None for text
    evidence: str | None  # the cited line's text
    line: int | None  # the transcript line (speaker turn, 1 = the first) it cites
    start_s: float | None  # when that line starts, seconds from the start of the recording
    review: ReviewNote | None = None  # what people answered, when someone reviewed it


@dataclass(frozen=True)
class CallView:
    recording_id: str
    file_name: str
    path: str
    facts: dict[str, Any]  # agent, team, call_id, started_at, duration_s, language, channel_layout, ...
    status: str | None  # latest evaluation: scored, no_speech, too_short; None when never evaluated
    evaluation: dict[str, Any] | None  # scorecard name and version, LLM, Whisper model, prompt version, evaluated_at
    qa_score: float | None  # 0-100, one decimal, from the answers that count (people's over the machine's)
    critical_failed: bool
    metrics: dict[str, Any]  # the conversation measures of kpi_calls
    verdicts: tuple[VerdictView, ...]
    turns: tuple[Turn, ...]
    timeline: Timeline
    fields: tuple[FieldView, ...] = ()  # the extraction fields' answers, in the scorecard's order
    machine_qa_score: float | None = None  # 0-100, the machine's own when reviews changed it
    includes_manual_edits: bool = False  # a person overruled one of its verdicts
    qa_score_reliable: float | None = None  # 0-100, over the reliable criteria only, when its scorecard asks

    def cited_lines(self) -> dict[int, list[str]]:
        """Transcript line -> the criteria (and fields) whose evidence is on it."""
        cited: dict[int, list[str]] = {}
        for answer in (*self.verdicts, *self.fields):
            if answer.line is not None:
                cited.setdefault(answer.line, []).append(getattr(answer, "criterion_id", None) or answer.field_id)
        return cited

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["transcript"] = [{"line": i + 1, "speaker": t.speaker, "start_s": round(t.start, 2),
                               "end_s": round(t.end, 2), "text": t.text} for i, t in enumerate(self.turns)]
        del data["turns"]
        return data


def find_call(warehouse: Warehouse, key: str) -> str:
    """The recording id that ``key`` (an id prefix, a path or a file name) names;
    ``CallNotFoundError`` when none or several do."""
    found = warehouse.find_recordings(key)
    if not found:
        raise CallNotFoundError(f"no recording in {warehouse.path} is {key!r} (give a recording id or a prefix of"
                                " 6 hex digits or more, the path it was scored from, or its file name)")
    if len(found) > 1:
        shown = ", ".join(f"{r['recording_id'][:12]} ({r['path']})" for r in found[:5])
        raise CallNotFoundError(f"{len(found)} recordings are {key!r}: {shown}{' ...' if len(found) > 5 else ''};"
                                " give a recording id prefix instead")
    return found[0]["recording_id"]


def load_call(warehouse: Warehouse, recording_id: str) -> CallView:
    """The call as stored: its latest evaluation by its scorecard's current version (else by any)."""
    for view in load_calls(warehouse, [recording_id]):
        return view
    raise CallNotFoundError(f"no recording {recording_id} in {warehouse.path}")


def load_calls(warehouse: Warehouse, recording_ids: Sequence[str], *, prefer_version: str | None = None,
               batch: int = LOAD_BATCH) -> Iterator[CallView]:
    """The calls as stored, in the order given, read ``batch`` at a time: each by its latest
    evaluation of ``prefer_version`` when it has one (else as ``load_call``). An id the warehouse
    does not have is left out."""
    trust: dict[str, dict[str, dict[str, Any]]] = {}  # scorecard version -> criterion -> its trust row
    for first in range(0, len(recording_ids), batch):
        ids = list(recording_ids[first:first + batch])
        facts = warehouse.recordings_facts(ids)
        evaluations = warehouse.calls_evaluations(ids, prefer_version)
        verdicts = warehouse.evaluations_verdicts([e["evaluation_id"] for e in evaluations.values()])
        extractions = warehouse.evaluations_extractions([e["evaluation_id"] for e in evaluations.values()])
        reviews = warehouse.calls_reviews(ids)
        transcripts = {rid: (rid, evaluations[rid]["whisper_model"] if rid in evaluations else facts[rid]["transcript_model"])
                       for rid in ids if rid in facts}
        segments = warehouse.transcripts_segments([t for t in transcripts.values() if t[1] is not None])
        for recording_id in (rid for rid in ids if rid in facts):
            evaluation = evaluations.get(recording_id)
            if evaluation and evaluation["scorecard_version"] not in trust:
                trust[evaluation["scorecard_version"]] = warehouse.criterion_trust(evaluation["scorecard_version"])
            yield _view(facts[recording_id], evaluation, verdicts.get(evaluation["evaluation_id"], []) if evaluation else [],
                        segments.get(transcripts[recording_id], []),
                        trust.get(evaluation["scorecard_version"], {}) if evaluation else {},
                        extractions.get(evaluation["evaluation_id"], []) if evaluation else [],
                        reviews.get((recording_id, evaluation["scorecard_version"]), {}) if evaluation else {})


def _view(facts: dict[str, Any], evaluation: dict[str, Any] | None, answers: list[dict[str, Any]],
          segments: Sequence[Segment], trust: dict[str, dict[str, Any]],
          extractions: Sequence[dict[str, Any]] = (),
          reviews: dict[tuple[str, str], dict[str, Any]] | None = None) -> CallView:
    turns = tuple(speaker_turns(segments))
    shown = ("agent", "team", "call_id", "started_at", "duration_s", "channel_layout", "language",
             "language_probability", "mixed_language", "language_suspect", "channels", "sample_rate", "codec", "truncated")
    qa_score = evaluation["qa_score"] if evaluation else None
    return CallView(
        recording_id=facts["recording_id"], file_name=facts["file_name"], path=facts["path"],
        facts={k: facts.get(k) for k in shown}, status=facts["status"],
        evaluation={k: evaluation[k] for k in ("scorecard_name", "scorecard_version", "llm_model", "whisper_model",
                                               "prompt_version", "evaluated_at")} if evaluation else None,
        qa_score=None if qa_score is None else round(qa_score, 1),
        machine_qa_score=None if not evaluation or evaluation["machine_qa_score"] is None
        else round(evaluation["machine_qa_score"], 1),
        includes_manual_edits=bool(evaluation and evaluation["includes_manual_edits"]),
        qa_score_reliable=None if not evaluation or evaluation.get("qa_score_reliable") is None
        else round(evaluation["qa_score_reliable"], 1),
        critical_failed=bool(evaluation and evaluation["critical_failed"]),
        metrics={k: evaluation[k] for k in _METRICS} if evaluation else {},
        verdicts=tuple(replace(_verdict(row, turns, trust.get(row["criterion_id"])),
                               review=ReviewNote.from_row((reviews or {}).get(("criterion", row["criterion_id"]))))
                       for row in answers),
        turns=turns, timeline=call_timeline(segments, facts["duration_s"]),
        fields=tuple(replace(_field(row, turns), review=ReviewNote.from_row((reviews or {}).get(("field", row["field_id"]))))
                     for row in extractions),
    )


def _field(row: dict[str, Any], turns: tuple[Turn, ...]) -> FieldView:
    line = row["evidence_line"]
    if line is not None and not (0 < line <= len(turns) and turns[line - 1].text.strip() == (row["evidence"] or "")):
        line = _line_quoting(turns, row["evidence"] or "")  # numbered from other turns than these
    return FieldView(row["field_id"], row["field_kind"], row["value"], row["confidence"], row["evidence"], line,
                     row["evidence_start_s"])


def _verdict(row: dict[str, Any], turns: tuple[Turn, ...], trust: dict[str, Any] | None) -> VerdictView:
    line, start = row["evidence_line"], row["evidence_start_s"]
    if line is not None and not (0 < line <= len(turns) and turns[line - 1].text.strip() == (row["evidence"] or "")):
        line = None  # numbered from other turns than these: found again by its text below
    if line is None and row["evidence"]:
        quoted_at, quote = _quoted_line(row["evidence"])
        line = _line_quoting(turns, quote)
        if line is not None and start is None:
            start = quoted_at if quoted_at is not None else turns[line - 1].start
    passed = row["passed"]
    return VerdictView(
        criterion_id=row["criterion_id"], kind=row["criterion_kind"] or "llm", weight=row["weight"],
        critical=row["critical"], answer="n/a" if passed is None else "yes" if passed else "no",
        confidence=row["confidence"], evidence=row["evidence"], evidence_verified=row["evidence_verified"],
        line=line, start_s=start,
        trust=CriterionTrust.from_row(trust),
    )


def _quoted_line(evidence: str) -> tuple[float | None, str]:
    """(its time in seconds, the text) of a quoted transcript line such as a rule's
    ``[00:57] AGENT: Is there anything else``; (None, the evidence) for any other quote."""
    match = _TRANSCRIPT_LINE.match(evidence.strip())
    if not match:
        return None, evidence
    hours, minutes, seconds = match.group(1), match.group(2), match.group(3)
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds), match.group(4)


def _line_quoting(turns: tuple[Turn, ...], quote: str) -> int | None:
    """The first line whose text holds ``quote`` (case and spacing aside), 1-based."""
    wanted = " ".join(quote.lower().split())
    for number, turn in enumerate(turns, start=1):
        if wanted and wanted in " ".join(turn.text.lower().split()):
            return number
    return None
