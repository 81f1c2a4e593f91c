"""A calibration session's figures (``callscore calibrate show``): each criterion's and choice
field's calibration (``calibration``) over the session's calls, from the blind answers its
reviewers gave and the machine's answers in the calls' latest evaluation of the session's
scorecard version, and how far each reviewer has got."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.report.calibration import CriterionCalibration, calibrate_criterion
from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.calibration_ledger import Calibration
from pipeline.store.warehouse.review_ledger import machine_answer


@dataclass(frozen=True)
class CalibrationReport:
    calibration: Calibration
    items: tuple[CriterionCalibration, ...]  # per criterion, then per choice field
    answered_calls: dict[str, dict[str, int]]  # reviewer -> recording id -> answers given to that call
    per_call: int  # answers each reviewer is to give a call: its criteria and choice fields
    file_names: dict[str, str]  # recording id -> file name

    @property
    def answered(self) -> dict[str, int]:
        """reviewer -> answers given in the session."""
        return {reviewer: sum(calls.values()) for reviewer, calls in self.answered_calls.items()}

    @property
    def expected(self) -> int:
        """Answers each reviewer is to give: calls x criteria and choice fields."""
        return len(self.calibration.recording_ids) * self.per_call

    @property
    def complete(self) -> bool:
        """Every reviewer has answered every criterion and field of every call."""
        return all(self.answered.get(r, 0) >= self.expected for r in self.calibration.reviewers)


def calibration_report(warehouse: Warehouse, calibration_id: int) -> CalibrationReport:
    session = warehouse.calibration(calibration_id)
    machine = _machine_answers(warehouse, session)
    answers: dict[str, dict[str, dict[str, str]]] = {}
    answered: dict[str, dict[str, int]] = {}
    for a in warehouse.calibration_answers(calibration_id):
        if a.item_id in machine:
            answers.setdefault(a.item_id, {}).setdefault(a.recording_id, {})[a.reviewer] = a.answer
            calls = answered.setdefault(a.reviewer, {})
            calls[a.recording_id] = calls.get(a.recording_id, 0) + 1
    items = tuple(calibrate_criterion(item, session.reviewers, answers.get(item, {}), machine[item]) for item in machine)
    names = dict(warehouse.connection.execute(
        "SELECT recording_id, file_name FROM recordings WHERE recording_id IN (SELECT unnest(?))",
        [list(session.recording_ids)]).fetchall())
    return CalibrationReport(session, items, answered, len(machine), names)


def _machine_answers(warehouse: Warehouse, session: Calibration) -> dict[str, dict[str, str]]:
    """criterion or choice field id -> call -> the machine's answer (yes, no, n.a., or an option),
    in the scorecard's order."""
    ids = list(session.recording_ids)
    verdicts = warehouse.connection.execute(
        """SELECT s.criterion_id, s.recording_id, s.passed FROM scores AS s JOIN call_scores AS c USING (evaluation_id)
           WHERE c.is_latest AND c.scorecard_version = ? AND c.recording_id IN (SELECT unnest(?))""",
        [session.scorecard_version, ids]).fetchall()
    options = warehouse.connection.execute(
        """SELECT x.field_id, x.recording_id, x.value FROM extractions AS x JOIN call_scores AS c USING (evaluation_id)
           WHERE c.is_latest AND c.scorecard_version = ? AND x.field_kind = 'choice'
             AND c.recording_id IN (SELECT unnest(?))""",
        [session.scorecard_version, ids]).fetchall()
    machine: dict[str, dict[str, str]] = {}
    for criterion_id, recording_id, passed in verdicts:
        machine.setdefault(criterion_id, {})[recording_id] = machine_answer(passed)
    for field_id, recording_id, value in options:
        machine.setdefault(field_id, {})[recording_id] = value
    return machine
