"""Calibration sessions (migration 016): the calls and reviewers of each session, and the blind
answers its reviewers gave (reviews with its ``calibration_id``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from pipeline.errors import WarehouseError
from pipeline.store.warehouse.errors import mapped_writes
from pipeline.store.warehouse.reviewer_ledger import checked_name


class CalibrationError(WarehouseError):
    """A calibration session that cannot be made or found."""


@dataclass(frozen=True)
class Calibration:
    calibration_id: int
    name: str
    scorecard_version: str
    blind_to_machine: bool
    calls_filter: str | None
    created_at: datetime
    recording_ids: tuple[str, ...]
    reviewers: tuple[str, ...]


@dataclass(frozen=True)
class CalibrationAnswer:
    """A reviewer's latest answer in a session to one criterion or field of one call."""

    recording_id: str
    item_kind: str  # criterion or field
    item_id: str
    reviewer: str
    answer: str  # yes, no, n.a. or a field's value


class CalibrationLedger:
    """The ``Warehouse`` methods that keep calibration sessions and read their answers."""

    def new_calibration(self, name: str, scorecard_version: str, recording_ids: Sequence[str],
                        reviewers: Sequence[str], *, blind_to_machine: bool, calls_filter: str | None = None) -> int:
        """Store a session of ``recording_ids`` for ``reviewers`` (two or more) and return its id."""
        names = list(dict.fromkeys(checked_name(r) for r in reviewers))
        if len(names) < 2:
            raise CalibrationError("a calibration needs two reviewers or more")
        if not recording_ids:
            raise CalibrationError("a calibration needs one call or more")
        with mapped_writes(self.path), self.transaction():
            calibration_id = self.connection.execute(
                "INSERT INTO calibrations (name, scorecard_version, blind_to_machine, calls_filter)"
                " VALUES (?, ?, ?, ?) RETURNING calibration_id",
                [name, scorecard_version, blind_to_machine, calls_filter]).fetchone()[0]
            self.connection.executemany("INSERT INTO calibration_calls VALUES (?, ?)",
                                        [[calibration_id, r] for r in dict.fromkeys(recording_ids)])
            self.connection.executemany("INSERT INTO calibration_reviewers VALUES (?, ?)",
                                        [[calibration_id, r] for r in names])
        return calibration_id

    def calibration(self, calibration_id: int) -> Calibration:
        """The session; ``CalibrationError`` when there is none of that id."""
        row = self.connection.execute(
            "SELECT calibration_id, name, scorecard_version, blind_to_machine, calls_filter, created_at,"
            " (SELECT list(recording_id ORDER BY recording_id) FROM calibration_calls WHERE calibration_id = c.calibration_id),"
            " (SELECT list(reviewer ORDER BY reviewer) FROM calibration_reviewers WHERE calibration_id = c.calibration_id)"
            " FROM calibrations AS c WHERE calibration_id = ?", [calibration_id]).fetchone()
        if row is None:
            raise CalibrationError(f"there is no calibration {calibration_id} (see `callscore calibrate list`)")
        return Calibration(*row[:6], tuple(row[6] or ()), tuple(row[7] or ()))

    def calibrations(self) -> list[Calibration]:
        """Every session, newest first."""
        ids = [r[0] for r in self.connection.execute(
            "SELECT calibration_id FROM calibrations ORDER BY calibration_id DESC").fetchall()]
        return [self.calibration(i) for i in ids]

    def calibration_answers(self, calibration_id: int) -> list[CalibrationAnswer]:
        """Each reviewer's latest answer in the session to each criterion and field of its calls."""
        rows = self.connection.execute(
            "SELECT recording_id, item_kind, item_id, reviewer, answer FROM reviews WHERE calibration_id = ?"
            " QUALIFY row_number() OVER (PARTITION BY recording_id, item_kind, item_id, reviewer"
            "                            ORDER BY review_id DESC) = 1"
            " ORDER BY recording_id, item_kind, item_id, reviewer", [calibration_id]).fetchall()
        return [CalibrationAnswer(*row) for row in rows]
