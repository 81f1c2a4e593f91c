"""The calls page's reads: one page of the calls a ``CallFilter`` picks, how many it picks in
all, the call after a given one in that order ("complete + next"), and the values its filter
menus offer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.desk.call_filters import CallFilter, listed_calls
from pipeline.store.warehouse import Warehouse


@dataclass(frozen=True)
class CallPage:
    """One page of listed calls (dicts of ``listed_calls``' columns) and how many calls match in all."""

    calls: list[dict[str, Any]]
    total: int
    filter: CallFilter

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filter.per_page))


@dataclass(frozen=True)
class FilterChoices:
    """What the filter menus list: the agents, teams, languages and criteria the warehouse knows."""

    agents: list[str]
    teams: list[str]
    languages: list[str]
    criteria: list[str]


def list_calls(warehouse: Warehouse, wanted: CallFilter) -> CallPage:
    """The page of calls ``wanted`` asks for: first which calls (and how many in all), from the
    machine's scores unless a filter or the order needs the answers that count; then those few
    calls in full, reading only their reviews."""
    where, params = wanted.where()
    query = f"SELECT * FROM ({listed_calls(reviews=wanted.needs_reviews)}) AS listed WHERE {where}"
    picked = warehouse.connection.execute(
        f"SELECT recording_id, count(*) OVER () FROM ({query}) ORDER BY {wanted.order_by()} LIMIT ? OFFSET ?",
        params + [wanted.per_page, (wanted.page - 1) * wanted.per_page]).fetchall()
    ids = [row[0] for row in picked]
    total = picked[0][1] if picked else warehouse.connection.execute(f"SELECT count(*) FROM ({query})",
                                                                      params).fetchone()[0]
    cursor = warehouse.connection.execute(f"SELECT * FROM ({listed_calls('$ids')}) ORDER BY {wanted.order_by()}",
                                          {"ids": ids})
    names = [d[0] for d in cursor.description]
    return CallPage([dict(zip(names, row)) for row in cursor.fetchall()], total, wanted)


def call_after(warehouse: Warehouse, wanted: CallFilter, recording_id: str) -> str | None:
    """The recording listed after ``recording_id`` in ``wanted``'s order (with the call itself kept
    in the list, so that one just reviewed out of a "not reviewed" list still has a place); None
    after the last."""
    where, params = wanted.where()
    row = warehouse.connection.execute(
        f"""WITH listed AS (
                SELECT recording_id, row_number() OVER (ORDER BY {wanted.order_by()}) AS place
                FROM ({listed_calls(reviews=wanted.needs_reviews)}) AS calls
                WHERE ({where}) OR recording_id = ?)
            SELECT recording_id FROM listed
            WHERE place > (SELECT min(place) FROM listed WHERE recording_id = ?) AND recording_id <> ?
            ORDER BY place LIMIT 1""",
        params + [recording_id, recording_id, recording_id]).fetchone()
    return None if row is None else row[0]


def pick_calls(warehouse: Warehouse, wanted: CallFilter, count: int, scorecard_version: str, *,
               seed: int) -> list[str]:
    """``count`` calls drawn at random (by ``seed``) from those ``wanted`` picks that were scored
    with ``scorecard_version`` (a calibration's calls)."""
    where, params = wanted.where()
    return [row[0] for row in warehouse.connection.execute(
        f"SELECT recording_id FROM ({listed_calls(reviews=wanted.needs_reviews)}) AS listed"
        f" WHERE {where} AND scorecard_version = ? ORDER BY hash(recording_id, ?) LIMIT ?",
        params + [scorecard_version, seed, count]).fetchall()]


def filter_choices(warehouse: Warehouse) -> FilterChoices:
    def values(sql: str) -> list[str]:
        return [row[0] for row in warehouse.connection.execute(sql).fetchall()]

    return FilterChoices(
        agents=values("SELECT DISTINCT agent FROM recordings WHERE agent IS NOT NULL ORDER BY 1"),
        teams=values("SELECT DISTINCT team FROM recordings WHERE team IS NOT NULL ORDER BY 1"),
        languages=values("SELECT DISTINCT language FROM transcripts WHERE language IS NOT NULL ORDER BY 1"),
        criteria=values("SELECT DISTINCT criterion_id FROM criterion_totals ORDER BY 1"),
    )


def field_options(warehouse: Warehouse, scorecard_version: str, field_id: str) -> list[str]:
    """The options a reviewer may pick for a choice field: the values the machine gave it under
    that scorecard version (the scorecard's options it has met)."""
    return [row[0] for row in warehouse.connection.execute(
        "SELECT DISTINCT value FROM extractions WHERE scorecard_version = ? AND field_id = ? AND field_kind = 'choice'"
        " ORDER BY 1", [scorecard_version, field_id]).fetchall()]
