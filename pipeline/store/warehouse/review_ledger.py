"""``reviews`` (migration 013): a person's confirmations and overrules of the machine's answers,
kept append-only. ``add_review`` checks the answer against what the call's latest evaluation of
that scorecard version holds, and records the machine's answer beside the person's; the view
``reviewed_answers`` says which answer counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.errors import WarehouseError
from pipeline.store.warehouse.errors import mapped_writes
from pipeline.store.warehouse.reviewer_ledger import ReviewerError, checked_name

ItemKind = Literal["criterion", "field"]
Reason = Literal["wrong_verdict", "wrong_evidence", "missing_evidence"]
REASONS: tuple[Reason, ...] = ("wrong_verdict", "wrong_evidence", "missing_evidence")
CRITERION_ANSWERS = ("yes", "no", "n.a.")
MAX_COMMENT_CHARS = 2000


class ReviewError(WarehouseError):
    """A review that does not fit the call: an unknown item, an answer it cannot take."""


@dataclass(frozen=True)
class NewReview:
    """One person's word on one answer of a call (a criterion's verdict or a field's value)."""

    recording_id: str
    scorecard_version: str
    item_kind: ItemKind
    item_id: str
    reviewer: str
    answer: str  # yes, no or n.a. for a criterion; a field's value (one of a choice field's options)
    reason: Reason | None = None  # why the machine was wrong; None when the review confirms it
    comment: str | None = None
    evidence_line: int | None = None  # 1 = the transcript's first line
    calibration_id: int | None = None  # the calibration session it answers in; None: an ordinary review


def machine_answer(passed: bool | None) -> str:
    """A criterion's stored verdict as a review states it: yes, no or n.a."""
    return "n.a." if passed is None else "yes" if passed else "no"


class ReviewLedger:
    """The ``Warehouse`` methods that keep and read reviews."""

    def add_review(self, review: NewReview) -> int:
        """Store ``review`` in its own transaction and return its id; a review the same as the
        reviewer's latest of that answer (a second click, a retried request) is not stored again:
        that one's id is returned. ``ReviewError`` when the
        call has no evaluation of that scorecard version holding the item, or the answer, the
        reason, the comment or the reviewer's name does not fit."""
        _check(review)
        with mapped_writes(self.path), self.transaction():
            shown = self._machine_item(review)
            if shown is None:
                raise ReviewError(f"call {review.recording_id} has no {review.item_kind} {review.item_id!r} in "
                                  f"scorecard version {review.scorecard_version}")
            scorecard_name, answer, llm_model, prompt_version = shown
            if review.calibration_id is not None:
                self._check_calibration(review)
            repeated = self._same_as_latest(review, answer)
            if repeated is not None:
                return repeated
            return self.connection.execute(
                "INSERT INTO reviews (recording_id, scorecard_name, scorecard_version, item_kind, item_id,"
                " machine_answer, machine_llm_model, machine_prompt_version, reviewer, answer, reason, comment,"
                " evidence_line, calibration_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING review_id",
                [review.recording_id, scorecard_name, review.scorecard_version, review.item_kind, review.item_id,
                 answer, llm_model, prompt_version, review.reviewer, review.answer, review.reason, review.comment,
                 review.evidence_line, review.calibration_id],
            ).fetchone()[0]

    def _check_calibration(self, review: NewReview) -> None:
        """``ReviewError`` unless the review's calibration session holds its call, its reviewer and
        its scorecard version."""
        row = self.connection.execute(
            "SELECT c.scorecard_version, EXISTS (SELECT 1 FROM calibration_calls WHERE calibration_id = ?"
            " AND recording_id = ?), EXISTS (SELECT 1 FROM calibration_reviewers WHERE calibration_id = ?"
            " AND reviewer = ?) FROM calibrations AS c WHERE c.calibration_id = ?",
            [review.calibration_id, review.recording_id, review.calibration_id, review.reviewer,
             review.calibration_id]).fetchone()
        if row is None:
            raise ReviewError(f"there is no calibration {review.calibration_id}")
        version, has_call, has_reviewer = row
        if not has_call or version != review.scorecard_version:
            raise ReviewError(f"calibration {review.calibration_id} does not hold this call")
        if not has_reviewer:
            raise ReviewError(f"{review.reviewer} is not a reviewer of calibration {review.calibration_id}")

    def _same_as_latest(self, review: NewReview, machine: str | None) -> int | None:
        """The id of the reviewer's latest review of the item when ``review`` says the same about
        the same machine answer; else None."""
        row = self.connection.execute(
            "SELECT review_id, machine_answer, answer, reason, comment, evidence_line FROM reviews"
            " WHERE recording_id = ? AND scorecard_version = ? AND item_kind = ? AND item_id = ? AND reviewer = ?"
            " AND calibration_id IS NOT DISTINCT FROM ? ORDER BY review_id DESC LIMIT 1",
            [review.recording_id, review.scorecard_version, review.item_kind, review.item_id, review.reviewer,
             review.calibration_id]).fetchone()
        said = (machine, review.answer, review.reason, review.comment, review.evidence_line)
        return row[0] if row is not None and tuple(row[1:]) == said else None

    def _machine_item(self, review: NewReview) -> tuple[str, str | None, str, str] | None:
        """(scorecard name, the machine's answer, its LLM, its prompt version) of the item in the
        call's latest evaluation of the version; None: not there. A field's options are the
        scorecard's: whoever takes the review (the desk) checks a choice against them."""
        if review.item_kind == "criterion":
            row = self.connection.execute(
                "SELECT scorecard_name, passed, llm_model, prompt_version FROM version_scores"
                " WHERE recording_id = ? AND scorecard_version = ? AND criterion_id = ?",
                [review.recording_id, review.scorecard_version, review.item_id]).fetchone()
            return None if row is None else (row[0], machine_answer(row[1]), row[2], row[3])
        row = self.connection.execute(
            "SELECT x.scorecard_name, x.value, x.llm_model, x.prompt_version FROM extractions AS x"
            " JOIN call_scores AS c USING (evaluation_id) WHERE c.is_latest AND x.recording_id = ?"
            " AND x.scorecard_version = ? AND x.field_id = ?",
            [review.recording_id, review.scorecard_version, review.item_id]).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def stored_review(self, review_id: int) -> dict:
        """The review stored under ``review_id``, as its row."""
        cursor = self.connection.execute("SELECT * FROM reviews WHERE review_id = ?", [review_id])
        return dict(zip([d[0] for d in cursor.description], cursor.fetchone()))

    def reviews_of(self, recording_id: str) -> list[dict]:
        """Every ordinary review of a call, oldest first (superseded ones too); a calibration's
        blind answers are left out (``calibration_answers`` has them)."""
        cursor = self.connection.execute(
            "SELECT * FROM reviews WHERE recording_id = ? AND calibration_id IS NULL ORDER BY review_id", [recording_id])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _check(review: NewReview) -> None:
    try:
        checked_name(review.reviewer)
    except ReviewerError as exc:
        raise ReviewError(str(exc)) from exc
    if review.item_kind == "criterion" and review.answer not in CRITERION_ANSWERS:
        raise ReviewError(f"a criterion's answer is one of {', '.join(CRITERION_ANSWERS)}, not {review.answer!r}")
    if review.reason is not None and review.reason not in REASONS:
        raise ReviewError(f"a reason is one of {', '.join(REASONS)}, not {review.reason!r}")
    if review.comment is not None and len(review.comment) > MAX_COMMENT_CHARS:
        raise ReviewError(f"a comment is at most {MAX_COMMENT_CHARS} characters")
    if review.evidence_line is not None and review.evidence_line < 1:
        raise ReviewError("an evidence line is 1 or more (1 = the transcript's first line)")
