"""A review as the desk receives it (a page's form or the API's JSON) turned into the warehouse's
``NewReview``: which answer it is about, checked against the call as shown; the answer the
person gave (a choice field's among its options); and, when no reason is given, the reason the
answer implies (a different answer: wrong verdict; the same answer with another evidence line:
wrong evidence; the same: a confirmation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from pipeline.desk.guard import DeskError
from pipeline.report.call_view import CallView
from pipeline.store.warehouse.review_ledger import CRITERION_ANSWERS, MAX_COMMENT_CHARS, REASONS, NewReview

MAX_TEXT_ANSWER_CHARS = 500  # a text field's corrected value


@dataclass(frozen=True)
class ReviewSubmission:
    item_kind: str  # criterion or field
    item_id: str
    answer: str
    reason: str | None
    comment: str | None
    evidence_line: int | None  # 1 = the transcript's first line
    calibration_id: int | None = None  # the calibration session it answers in

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> "ReviewSubmission":
        """From ``{"criterion_id" or "field_id", "answer", "reason", "comment", "evidence_line"}``
        (empty strings are unset); ``DeskError`` 400 naming what does not fit."""
        def text(name: str) -> str | None:
            value = data.get(name)
            if value is None or value == "":
                return None
            if not isinstance(value, str):
                raise DeskError(400, f"{name} is text")
            return value

        criterion, field = text("criterion_id"), text("field_id")
        if (criterion is None) == (field is None):
            raise DeskError(400, "give criterion_id or field_id (one of them)")
        answer = text("answer")
        if answer is None:
            raise DeskError(400, "give an answer")
        reason = text("reason")
        if reason is not None and reason not in REASONS:
            raise DeskError(400, f"reason is one of {', '.join(REASONS)}")
        comment = text("comment")
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise DeskError(400, f"a comment is at most {MAX_COMMENT_CHARS} characters")
        line = data.get("evidence_line")
        try:
            line = None if line in (None, "") else int(line)
        except (TypeError, ValueError):
            raise DeskError(400, "evidence_line is a line number") from None
        calibration = data.get("calibration_id")
        if calibration not in (None, "") and not (isinstance(calibration, int) or str(calibration).isdigit()):
            raise DeskError(400, "calibration_id is a calibration's number")
        return cls("criterion" if criterion else "field", criterion or field, answer, reason, comment, line,
                   None if calibration in (None, "") else int(calibration))

    def review(self, view: CallView, reviewer: str, field_options: Mapping[str, list[str]]) -> NewReview:
        """The ``NewReview`` of this submission on ``view``; ``DeskError`` 400 when the call has no
        such answer, or the answer or the line does not fit it."""
        if view.evaluation is None:
            raise DeskError(400, "this call was not scored: there is nothing to review")
        if self.evidence_line is not None and not 0 < self.evidence_line <= len(view.turns):
            raise DeskError(400, f"evidence_line is a line of the transcript, 1 to {len(view.turns)}")
        machine, cited = self._machine(view, field_options)
        reason = self.reason
        if reason is None and self.calibration_id is None:  # a calibration's answer is blind: no reason is implied
            if self.answer != machine:
                reason = "wrong_verdict"
            elif self.evidence_line is not None and self.evidence_line != cited:
                reason = "wrong_evidence"
        return NewReview(view.recording_id, view.evaluation["scorecard_version"], self.item_kind, self.item_id,
                         reviewer, self.answer, reason, self.comment, self.evidence_line, self.calibration_id)

    def _machine(self, view: CallView, field_options: Mapping[str, list[str]]) -> tuple[str, int | None]:
        """(the machine's answer, the line it cited) of the item; checks the answer fits it."""
        if self.item_kind == "criterion":
            verdict = next((v for v in view.verdicts if v.criterion_id == self.item_id), None)
            if verdict is None:
                raise DeskError(400, f"this call has no criterion {self.item_id!r}")
            if self.answer not in CRITERION_ANSWERS:
                raise DeskError(400, f"a criterion's answer is one of {', '.join(CRITERION_ANSWERS)}")
            return ("n.a." if verdict.answer == "n/a" else verdict.answer), verdict.line
        field = next((f for f in view.fields if f.field_id == self.item_id), None)
        if field is None:
            raise DeskError(400, f"this call has no field {self.item_id!r}")
        options = set(field_options.get(field.field_id) or [field.value])
        if field.kind == "choice" and self.answer not in options:
            raise DeskError(400, f"{field.field_id} is one of {', '.join(sorted(options))}")
        if len(self.answer) > MAX_TEXT_ANSWER_CHARS:
            raise DeskError(400, f"an answer is at most {MAX_TEXT_ANSWER_CHARS} characters")
        return field.value, field.line


def next_anchor(view: CallView, item_kind: str, item_id: str) -> str:
    """The page anchor of the answer after the one just reviewed (or of that one, when last)."""
    anchors = [f"criterion-{v.criterion_id}" for v in view.verdicts] + [f"field-{f.field_id}" for f in view.fields]
    here = anchors.index(f"{item_kind}-{item_id}") if f"{item_kind}-{item_id}" in anchors else -1
    return anchors[min(here + 1, len(anchors) - 1)] if anchors else ""
