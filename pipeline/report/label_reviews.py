"""A labels file (as ``callscore eval --labels`` reads it) turned into reviews by a named
reviewer (``callscore reviews import``): each label of a call scored with the scorecard's version
becomes that person's review of the machine's answer, so that labels made outside the desk count
like the desk's own (in the KPI views and in each criterion's trust)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from pipeline.report.agreement import Label, match_field_labels, match_labels
from pipeline.scoring.scorecard import Scorecard
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.review_ledger import NewReview


@dataclass(frozen=True)
class LabelImport:
    stored: int  # new reviews
    unchanged: int  # labels the reviewer had already given, as their latest review of that answer
    unmatched: tuple[str, ...]  # labelled recordings without an evaluation of the scorecard's version
    unknown: tuple[str, ...]  # labelled criteria or fields the scorecard does not have


def import_labels(warehouse: Warehouse, labels: Sequence[Label], reviewer: str, card: Scorecard) -> LabelImport:
    """Store ``labels`` as ``reviewer``'s reviews of the calls' latest evaluations of ``card``'s
    version; each review in its own transaction (``Warehouse.add_review``)."""
    fields = set(card.choice_options)
    known = {c.id for c in card.criteria} | fields
    criterion_pairs, unmatched, _ = match_labels(
        warehouse, [label for label in labels if label.criterion_id not in fields], scorecard_version=card.version)
    field_pairs, unmatched_fields, _ = match_field_labels(
        warehouse, [label for label in labels if label.criterion_id in fields], scorecard_version=card.version)
    before = warehouse.connection.execute("SELECT coalesce(max(review_id), 0) FROM reviews").fetchone()[0]
    ids = []
    for kind, pairs in (("criterion", criterion_pairs), ("field", field_pairs)):
        for pair in pairs:
            answer = "n.a." if pair.label == "na" else pair.label
            ids.append(warehouse.add_review(NewReview(
                pair.recording_id, card.version, kind, pair.criterion_id, reviewer, answer,
                reason=None if pair.agrees else "wrong_verdict")))
    stored = sum(review_id > before for review_id in ids)
    return LabelImport(stored, len(ids) - stored, tuple(sorted(set(unmatched) | set(unmatched_fields))),
                       tuple(sorted({label.criterion_id for label in labels} - known)))
