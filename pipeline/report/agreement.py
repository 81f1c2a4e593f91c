"""How well the automated verdicts agree with human QA labels.

A labels file (CSV: ``recording``, ``criterion_id``, ``label`` = yes/no/na; ``recording`` is a
file name or a recording id) is matched with the warehouse's verdicts for one scorecard version
(optionally one LLM), and for each criterion, each kind of criterion (judged by the LLM or by a
rule) and overall this reports: agreement, Cohen's kappa,
precision and recall of "failed" (label "no"), the majority-class baseline, a confusion table,
and how agreement on the answers left to the model grows as the least confident answers go to a
human (how many to review to reach ``TARGET_AGREEMENT`` on the rest). A label for one of the
scorecard's choice fields (``label`` one of its options) is compared with the option the model
chose: agreement, kappa, the majority baseline and a confusion table per field.

Plain arithmetic on (label, answer, confidence) triples; no model.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection, Iterable, Literal, Mapping, Sequence

from pipeline.errors import SetupError
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.agreement_ledger import RELIABLE_MIN_LABELS

Answer = Literal["yes", "no", "na"]
ANSWERS: tuple[Answer, ...] = ("yes", "no", "na")
TARGET_AGREEMENT = 0.95  # share of agreeing answers a QA team accepts on what it does not review
CONFIDENCE_STEPS = (0.5, 0.6, 0.7, 0.8, 0.9)  # thresholds shown in the review table


class LabelsError(SetupError):
    """The labels file is missing, not CSV, or has bad rows."""


@dataclass(frozen=True)
class Label:
    """A human's answer for one criterion (yes/no/na) or choice field (one of its options) of one call."""

    recording: str  # file name or recording id, as written in the labels file
    criterion_id: str  # or the field's id
    label: str


@dataclass(frozen=True)
class Pair:
    """A human label next to the model's answer for the same call and criterion (or choice
    field: then ``criterion_id`` is the field's id, and label and answer are options)."""

    recording_id: str
    file_name: str
    criterion_id: str
    label: str
    answer: str
    confidence: float | None  # 0-1, the model's probability of its answer
    prompt_version: str | None = None  # of the evaluation that gave the answer

    @property
    def agrees(self) -> bool:
        return self.label == self.answer


@dataclass(frozen=True)
class ReviewStep:
    """Sending every answer under ``threshold`` confidence to a human."""

    threshold: float
    reviewed: int  # answers under the threshold (no confidence counts as under)
    agreement_rest: float | None  # agreement on the answers left to the model


@dataclass(frozen=True)
class Agreement:
    """Figures for one criterion, for all criteria of one kind (``criterion_id`` None, ``kind``
    set), or for all of them (both None)."""

    criterion_id: str | None
    answers: int
    agreement: float | None  # share of answers equal to the label, 0-1
    kappa: float | None  # Cohen's kappa; None when chance agreement is 1 (a single class)
    majority_baseline: float | None  # agreement of always giving the most common label
    precision_failed: float | None  # of the answers "no", the share labelled "no"
    recall_failed: float | None  # of the labels "no", the share answered "no"
    confusion: dict[str, dict[str, int]]  # label -> answer -> count
    review_for_target: int | None  # least-confident answers to review for TARGET_AGREEMENT on the rest
    review_steps: tuple[ReviewStep, ...]
    kind: str | None = None  # 'llm' or 'rule': of the criterion, or of the criteria counted


@dataclass(frozen=True)
class FieldAgreement:
    """Figures for one choice field: its answers against the labels (options, not yes/no)."""

    field_id: str
    answers: int
    agreement: float | None  # share of answers equal to the label, 0-1
    kappa: float | None  # Cohen's kappa over the options; None when chance agreement is 1
    majority_baseline: float | None  # agreement of always giving the most common label
    confusion: dict[str, dict[str, int]]  # label -> answer -> count, the options seen on either side


@dataclass(frozen=True)
class EvalReport:
    scorecard_version: str
    llm_models: tuple[str, ...]  # the LLMs whose answers were compared
    overall: Agreement
    criteria: tuple[Agreement, ...]
    unmatched: tuple[str, ...] = ()  # labelled recordings not found scored in the warehouse
    unknown_criteria: tuple[str, ...] = ()  # labelled criteria the scorecard does not have
    kinds: tuple[Agreement, ...] = ()  # one row per kind of criterion on the scorecard ('llm', 'rule')
    pairs: tuple[Pair, ...] = field(default=(), repr=False)
    fields: tuple[FieldAgreement, ...] = ()  # one row per labelled choice field

    @property
    def prompt_versions(self) -> tuple[str, ...]:
        """The prompt versions of the answers compared."""
        return tuple(sorted({p.prompt_version for p in self.pairs if p.prompt_version}))


def read_labels(path: Path, options: Mapping[str, Sequence[str]] | None = None) -> list[Label]:
    """Rows of a labels CSV; a bad file or row is a ``LabelsError`` naming the line. ``options``
    (choice field id -> its options, ``Scorecard.choice_options``): a label for such a field is
    one of them; every other label is yes, no or na."""
    options = options or {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"recording", "criterion_id", "label"} - set(reader.fieldnames or ())
            if missing:
                raise LabelsError(f"{path}: missing column(s) {', '.join(sorted(missing))}"
                                  " (expected recording,criterion_id,label)")
            labels = []
            for line, row in enumerate(reader, start=2):
                value = (row["label"] or "").strip().lower()
                recording, criterion = (row["recording"] or "").strip(), (row["criterion_id"] or "").strip()
                allowed = options.get(criterion, ANSWERS)
                if value not in allowed:
                    raise LabelsError(f"{path}:{line}: label for {criterion} must be "
                                      f"{', '.join(allowed[:-1])} or {allowed[-1]}, not {row['label']!r}")
                if not recording or not criterion:
                    raise LabelsError(f"{path}:{line}: recording and criterion_id must not be empty")
                labels.append(Label(recording, criterion, value))
    except OSError as exc:
        raise LabelsError(f"cannot read labels file {path}: {exc.strerror or exc}") from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise LabelsError(f"{path} is not a CSV file: {exc}") from exc
    if not labels:
        raise LabelsError(f"{path} holds no labels")
    return labels


SAMPLES = {  # which reviews `callscore eval` measures against, and what its figures then say
    "random": "the calls the review queue drew at random: an honest estimate",
    "all": "every reviewed call: leans to the doubtful answers the queue gives first",
    "doubtful": "the calls the review queue gave for a doubtful answer: lower than the truth",
}


def labels_from_reviews(warehouse: Warehouse, scorecard_version: str, item_ids: Collection[str],
                        sample: str = "all") -> list[Label]:
    """The answers people gave in the review desk (the answer that counts of each reviewed
    criterion and choice field among ``item_ids``) as labels of their calls, by recording id;
    ``sample``: which calls (``SAMPLES``)."""
    return [Label(recording_id, item_id, answer)
            for recording_id, item_id, answer in warehouse.reviewed_labels(scorecard_version, sample)
            if item_id in item_ids]


def default_sample(warehouse: Warehouse, scorecard_version: str) -> str:
    """'random' once the queue's random sample holds ``RELIABLE_MIN_LABELS`` reviewed answers (as
    ``criterion_trust`` measures), else 'all'."""
    return "random" if warehouse.random_sample_answers(scorecard_version) >= RELIABLE_MIN_LABELS else "all"


def match_labels(warehouse: Warehouse, labels: Sequence[Label], *, scorecard_version: str,
                 llm_model: str | None = None, prompt_version: str | None = None,
                 ) -> tuple[list[Pair], list[str], tuple[str, ...]]:
    """(pairs, labelled recordings without verdicts, LLMs involved): each label with the
    answer of the call's latest evaluation for ``scorecard_version`` (by ``llm_model`` and with
    ``prompt_version`` if given)."""
    rows = warehouse.latest_verdicts(scorecard_version, llm_model=llm_model, prompt_version=prompt_version)
    answers = [(recording_id, file_name, criterion_id, "na" if passed is None else "yes" if passed else "no",
                confidence, model, prompt)
               for recording_id, file_name, criterion_id, passed, confidence, model, prompt in rows]
    return _pair_up(labels, answers)


def match_field_labels(warehouse: Warehouse, labels: Sequence[Label], *, scorecard_version: str,
                       llm_model: str | None = None, prompt_version: str | None = None,
                       ) -> tuple[list[Pair], list[str], tuple[str, ...]]:
    """``match_labels`` for the choice fields: each label with the option the call's latest
    evaluation chose."""
    rows = warehouse.latest_extractions(scorecard_version, llm_model=llm_model, prompt_version=prompt_version)
    return _pair_up(labels, rows)


def _pair_up(labels: Sequence[Label], answers: Sequence[tuple]) -> tuple[list[Pair], list[str], tuple[str, ...]]:
    """(pairs, labelled recordings without answers, LLMs) from ``answers``: (recording id, file
    name, criterion or field id, answer, confidence, LLM, prompt version)."""
    by_call: dict[str, dict[str, tuple]] = {}
    names: dict[str, list[str]] = {}
    models = set()
    for recording_id, file_name, criterion_id, answer, confidence, model, prompt in answers:
        by_call.setdefault(recording_id, {})[criterion_id] = (file_name, answer, confidence, prompt)
        names.setdefault(file_name, []).append(recording_id)
        models.add(model)
    pairs, unmatched = [], []
    for label in labels:
        recording_ids = names.get(label.recording) or ([label.recording] if label.recording in by_call else [])
        if not recording_ids:
            unmatched.append(label.recording)
            continue
        for recording_id in sorted(set(recording_ids)):
            found = by_call[recording_id].get(label.criterion_id)
            if found is None:
                continue
            file_name, answer, confidence, prompt = found
            pairs.append(Pair(recording_id, file_name, label.criterion_id, label.label, answer, confidence, prompt))
    return pairs, sorted(set(unmatched)), tuple(sorted(models))


def agreement(pairs: Sequence[Pair], criterion_id: str | None = None, kind: str | None = None) -> Agreement:
    """The figures for ``pairs`` (all of one criterion, or all criteria when ``criterion_id`` is None;
    ``kind`` labels the row)."""
    confusion = {label: {answer: 0 for answer in ANSWERS} for label in ANSWERS}
    for pair in pairs:
        confusion[pair.label][pair.answer] += 1
    n = len(pairs)
    agreed = sum(p.agrees for p in pairs)
    answered_no = sum(p.answer == "no" for p in pairs)
    labelled_no = sum(p.label == "no" for p in pairs)
    both_no = confusion["no"]["no"]
    return Agreement(
        criterion_id=criterion_id,
        answers=n,
        agreement=_share(agreed, n),
        kappa=cohens_kappa([p.label for p in pairs], [p.answer for p in pairs]),
        majority_baseline=majority_baseline(pairs),
        precision_failed=_share(both_no, answered_no),
        recall_failed=_share(both_no, labelled_no),
        confusion=confusion,
        review_for_target=review_needed(pairs, TARGET_AGREEMENT),
        review_steps=tuple(review_step(pairs, threshold) for threshold in CONFIDENCE_STEPS),
        kind=kind,
    )


def field_agreement(pairs: Sequence[Pair], field_id: str) -> FieldAgreement:
    """The figures of one choice field's ``pairs``."""
    seen = sorted({p.label for p in pairs} | {p.answer for p in pairs})
    confusion = {label: {answer: 0 for answer in seen} for label in seen}
    for pair in pairs:
        confusion[pair.label][pair.answer] += 1
    return FieldAgreement(field_id, len(pairs), _share(sum(p.agrees for p in pairs), len(pairs)),
                          cohens_kappa([p.label for p in pairs], [p.answer for p in pairs]),
                          majority_baseline(pairs), confusion)


def cohens_kappa(labels: Sequence[str], answers: Sequence[str]) -> float | None:
    """(observed - chance agreement) / (1 - chance agreement); None without answers or when
    chance agreement is 1 (both sides always give the same single class)."""
    n = len(labels)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(labels, answers)) / n
    label_counts, answer_counts = Counter(labels), Counter(answers)
    chance = sum(label_counts[k] * answer_counts[k] for k in label_counts) / (n * n)
    if chance >= 1.0:
        return None
    return (observed - chance) / (1 - chance)


def majority_baseline(pairs: Sequence[Pair]) -> float | None:
    """Agreement of answering every criterion with its most common label (per criterion, so the
    overall baseline is as strong as a constant answer per criterion can be)."""
    if not pairs:
        return None
    by_criterion: dict[str, Counter] = {}
    for pair in pairs:
        by_criterion.setdefault(pair.criterion_id, Counter())[pair.label] += 1
    return sum(counts.most_common(1)[0][1] for counts in by_criterion.values()) / len(pairs)


def review_step(pairs: Sequence[Pair], threshold: float) -> ReviewStep:
    below = [p for p in pairs if p.confidence is None or p.confidence < threshold]
    rest = [p for p in pairs if p.confidence is not None and p.confidence >= threshold]
    return ReviewStep(threshold, len(below), _share(sum(p.agrees for p in rest), len(rest)))


def review_needed(pairs: Sequence[Pair], target: float) -> int | None:
    """How many of the least confident answers a human must review so that the answers left
    agree with the labels at least ``target`` of the time (0 if they already do; all of them
    when nothing short of that does). None without answers."""
    if not pairs:
        return None
    ranked = sorted(pairs, key=lambda p: (-1.0 if p.confidence is None else p.confidence))
    agreed_rest = sum(p.agrees for p in ranked)
    for reviewed, pair in enumerate(ranked):
        if agreed_rest / (len(ranked) - reviewed) >= target:
            return reviewed
        agreed_rest -= pair.agrees
    return len(ranked)


def evaluate(warehouse: Warehouse, labels: Sequence[Label], *, scorecard_version: str,
             criterion_ids: Iterable[str], llm_model: str | None = None, prompt_version: str | None = None,
             kinds: Mapping[str, str] | None = None, field_ids: Iterable[str] = ()) -> EvalReport:
    """Compare ``labels`` with the warehouse's answers for one scorecard version. ``kinds``
    (criterion id -> 'llm' or 'rule', from the scorecard) adds a row per kind; ``field_ids``
    (the scorecard's choice fields) a row per labelled field."""
    known, fields = list(criterion_ids), list(field_ids)
    kinds = dict(kinds or {})
    unknown = sorted({label.criterion_id for label in labels} - set(known) - set(fields))
    field_labels = [label for label in labels if label.criterion_id in fields]
    labels = [label for label in labels if label.criterion_id not in fields]
    pairs, unmatched, models = match_labels(warehouse, labels, scorecard_version=scorecard_version,
                                            llm_model=llm_model, prompt_version=prompt_version)
    field_pairs, _, field_models = match_field_labels(warehouse, field_labels, scorecard_version=scorecard_version,
                                                      llm_model=llm_model, prompt_version=prompt_version)
    per_field = tuple(field_agreement([p for p in field_pairs if p.criterion_id == f], f)
                      for f in fields if any(p.criterion_id == f for p in field_pairs))
    per_criterion = tuple(
        agreement([p for p in pairs if p.criterion_id == c], c, kinds.get(c))
        for c in known if any(p.criterion_id == c for p in pairs)
    )
    per_kind = tuple(
        agreement([p for p in pairs if kinds.get(p.criterion_id) == kind], kind=kind)
        for kind in ("llm", "rule") if kind in kinds.values()
    )
    return EvalReport(scorecard_version, tuple(sorted(set(models) | set(field_models))), agreement(pairs),
                      per_criterion, tuple(unmatched), tuple(unknown), kinds=per_kind, pairs=tuple(pairs), fields=per_field)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
