"""The review queue (migration 018): which call the desk gives a reviewer next. A share of the
draws (setting ``review_sample_share``) is a call drawn at random from those nobody has reviewed,
so that agreement measured on them is an honest estimate; the others are doubtful: the call with
the least confident LLM answer, answers of criteria not yet reliable first. A call someone has
open is given to nobody else until they finish it or ``QUEUE_HOLD`` passes."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from pipeline.store.warehouse.errors import mapped_writes

QUEUE_HOLD = timedelta(hours=1)  # an assignment left open longer goes to the next reviewer who asks
CHOSEN_AS = ("random", "doubtful")

_ASSIGNMENT = ("assignment_id, recording_id, scorecard_version, reviewer, chosen_as, criterion_id, assigned_at")

# The calls the queue may give: each scorecard's current version, with answers, nobody has
# reviewed (outside a calibration) or finished in the queue, nobody has open; narrowed.
_CANDIDATES = """
    SELECT c.evaluation_id, c.recording_id, c.scorecard_version
    FROM current_calls AS c
    WHERE c.answers > 0
      AND ($agent IS NULL OR c.agent = $agent) AND ($team IS NULL OR c.team = $team)
      AND NOT EXISTS (SELECT 1 FROM reviews AS r WHERE r.recording_id = c.recording_id
                      AND r.scorecard_version = c.scorecard_version AND r.calibration_id IS NULL)
      AND NOT EXISTS (SELECT 1 FROM review_assignments AS a WHERE a.recording_id = c.recording_id
                      AND a.scorecard_version = c.scorecard_version
                      AND (a.finished_at IS NOT NULL OR a.assigned_at > $open_since))"""


@dataclass(frozen=True)
class QueueNarrowing:
    """Which calls a reviewer asks the queue for: None is any."""

    agent: str | None = None
    team: str | None = None
    criterion_id: str | None = None  # the doubtful draws look at this criterion's answers only

    def params(self, now: datetime) -> dict[str, Any]:
        return {"agent": self.agent, "team": self.team, "open_since": now - QUEUE_HOLD}


@dataclass(frozen=True)
class Assignment:
    assignment_id: int
    recording_id: str
    scorecard_version: str
    reviewer: str
    chosen_as: str  # random or doubtful
    criterion_id: str | None  # doubtful: the answer that drew it
    assigned_at: datetime


class ReviewQueue:
    """The ``Warehouse`` methods that give reviewers calls to review."""

    def open_assignment(self, reviewer: str, *, now: datetime | None = None) -> Assignment | None:
        """``reviewer``'s call given by the queue and not finished yet (within the hold)."""
        since = (now or datetime.now(timezone.utc)) - QUEUE_HOLD
        row = self.connection.execute(
            f"SELECT {_ASSIGNMENT} FROM review_assignments WHERE reviewer = ? AND finished_at IS NULL"
            " AND assigned_at > ? ORDER BY assignment_id DESC LIMIT 1", [reviewer, since]).fetchone()
        return Assignment(*row) if row else None

    def finish_assignment(self, reviewer: str) -> None:
        """Close ``reviewer``'s open assignments (they completed the call, or asked for the next)."""
        with mapped_writes(self.path):
            self._finish(reviewer, datetime.now(timezone.utc))

    def _finish(self, reviewer: str, now: datetime) -> None:
        self.connection.execute("UPDATE review_assignments SET finished_at = ? WHERE reviewer = ?"
                                " AND finished_at IS NULL", [now, reviewer])

    def queue_size(self, narrowing: QueueNarrowing, *, now: datetime | None = None) -> int:
        """How many calls the queue could still give with ``narrowing``."""
        return self._count(narrowing.params(now or datetime.now(timezone.utc)))

    def _count(self, params: dict[str, Any]) -> int:
        return self.connection.execute(f"SELECT count(*) FROM ({_CANDIDATES})", params).fetchone()[0]

    def draw_assignment(self, reviewer: str, narrowing: QueueNarrowing, *, sample_share: float,
                        draw: random.Random, now: datetime | None = None) -> Assignment | None:
        """Finish ``reviewer``'s open assignment and give them the next call: at random with
        probability ``sample_share`` (0-1), else the most doubtful (falling back to the other way
        when one finds nothing); None when no call is left."""
        now = now or datetime.now(timezone.utc)
        params = narrowing.params(now)
        with mapped_writes(self.path), self.transaction():
            self._finish(reviewer, now)
            ways = [self._random_call, self._doubtful_call]
            if draw.random() >= sample_share:
                ways.reverse()
            for way in ways:
                found = way(params, narrowing, draw)
                if found:
                    recording_id, version, chosen_as, criterion_id = found
                    assignment_id = self.connection.execute(
                        "INSERT INTO review_assignments (recording_id, scorecard_version, reviewer, chosen_as,"
                        " criterion_id, assigned_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING assignment_id",
                        [recording_id, version, reviewer, chosen_as, criterion_id, now]).fetchone()[0]
                    return Assignment(assignment_id, recording_id, version, reviewer, chosen_as, criterion_id, now)
        return None

    def _random_call(self, params: dict[str, Any], narrowing: QueueNarrowing,
                     draw: random.Random) -> tuple | None:
        count = self._count(params)
        if not count:
            return None
        row = self.connection.execute(
            f"SELECT recording_id, scorecard_version FROM ({_CANDIDATES}) ORDER BY recording_id, scorecard_version"
            " LIMIT 1 OFFSET $offset", {**params, "offset": draw.randrange(count)}).fetchone()
        return (row[0], row[1], "random", None) if row else None

    def _doubtful_call(self, params: dict[str, Any], narrowing: QueueNarrowing,
                       draw: random.Random) -> tuple | None:
        row = self.connection.execute(
            f"""SELECT d.recording_id, d.scorecard_version, 'doubtful', s.criterion_id
                FROM ({_CANDIDATES}) AS d
                JOIN scores AS s USING (evaluation_id)
                LEFT JOIN criterion_trust AS t ON t.scorecard_version = d.scorecard_version
                                              AND t.criterion_id = s.criterion_id
                WHERE s.criterion_kind = 'llm' AND s.confidence IS NOT NULL
                  AND ($criterion IS NULL OR s.criterion_id = $criterion)
                ORDER BY t.trust IS NOT DISTINCT FROM 'reliable', s.confidence, d.recording_id, s.criterion_id
                LIMIT 1""", {**params, "criterion": narrowing.criterion_id}).fetchone()
        return tuple(row) if row else None
