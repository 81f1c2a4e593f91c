"""Who may use the review desk (migration 014): reviewers and viewers, and one-time login links
kept by the SHA-256 of their token only: a link works once, until it expires, and not for a
reviewer who was removed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.reviewer_ledger import ReviewerError, token_hash

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def warehouse(tmp_path: Path):
    with Warehouse.open(tmp_path / "w.duckdb") as opened:
        yield opened


def test_a_link_lets_its_reviewer_in_once(warehouse: Warehouse) -> None:
    token = warehouse.add_reviewer("Ana Novak", "reviewer", now=NOW)
    let_in = warehouse.redeem_link(token, now=NOW + timedelta(minutes=5))
    assert let_in is not None and (let_in.name, let_in.role) == ("Ana Novak", "reviewer")
    assert warehouse.redeem_link(token, now=NOW + timedelta(minutes=6)) is None  # used
    assert warehouse.redeem_link(token + "x", now=NOW) is None


def test_the_token_itself_is_never_stored(warehouse: Warehouse) -> None:
    token = warehouse.add_reviewer("ana", now=NOW)
    stored = " ".join(str(value) for table in ("reviewers", "login_links")
                      for row in warehouse.connection.execute(f"SELECT * FROM {table}").fetchall() for value in row)
    assert token not in stored and token_hash(token) in stored


def test_a_link_expires_and_a_removed_reviewer_is_not_let_in(warehouse: Warehouse) -> None:
    late = warehouse.add_reviewer("ana", now=NOW, valid_for=timedelta(hours=1))
    assert warehouse.redeem_link(late, now=NOW + timedelta(hours=1, seconds=1)) is None
    token = warehouse.add_reviewer("ben", "viewer", now=NOW)
    assert warehouse.remove_reviewer("ben", now=NOW) and not warehouse.remove_reviewer("ben")
    assert warehouse.redeem_link(token, now=NOW) is None
    assert [r.name for r in warehouse.reviewers()] == ["ana"]
    assert [(r.name, r.removed_at is not None) for r in warehouse.reviewers(removed=True)] == [("ana", False),
                                                                                             ("ben", True)]


def test_adding_a_known_reviewer_again_gives_a_new_link_and_the_role_asked(warehouse: Warehouse) -> None:
    warehouse.add_reviewer("ben", "viewer", now=NOW)
    warehouse.remove_reviewer("ben", now=NOW)
    token = warehouse.add_reviewer("ben", "reviewer", now=NOW)
    let_in = warehouse.redeem_link(token, now=NOW)
    assert let_in is not None and let_in.role == "reviewer" and let_in.removed_at is None


@pytest.mark.parametrize(("name", "role"), [("", "reviewer"), ("x" * 65, "reviewer"), ("ana\nmallory", "reviewer"),
                                            ("ana", "admin")])
def test_a_name_or_role_that_cannot_be_used_is_refused(warehouse: Warehouse, name: str, role: str) -> None:
    with pytest.raises(ReviewerError):
        warehouse.add_reviewer(name, role)  # type: ignore[arg-type]
    assert warehouse.reviewers(removed=True) == []


def test_an_active_reviewer_is_one_not_removed(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as warehouse:
        warehouse.add_reviewer("ana", "viewer")
        assert warehouse.active_reviewer("ana").role == "viewer"
        warehouse.remove_reviewer("ana")
        assert warehouse.active_reviewer("ana") is None
        assert warehouse.active_reviewer("nobody") is None
