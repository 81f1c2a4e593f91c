"""``reviewers`` and ``login_links`` (migration 014): who may use the review desk, in which role,
and the one-time links they log in with. A link's token is returned once by ``add_reviewer``
and only its SHA-256 is stored, so a copy of the warehouse lets nobody in."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from pipeline.errors import WarehouseError
from pipeline.store.warehouse.errors import mapped_writes

Role = Literal["reviewer", "viewer"]  # reviewer: reads and reviews; viewer: reads
ROLES: tuple[Role, ...] = ("reviewer", "viewer")
LINK_VALID_FOR = timedelta(hours=24)  # how long a login link works, unused
MAX_NAME_CHARS = 64
TOKEN_BYTES = 32  # of randomness in a link's token


class ReviewerError(WarehouseError):
    """A reviewer's name or role that cannot be used."""


@dataclass(frozen=True)
class Reviewer:
    name: str
    role: Role
    created_at: datetime
    removed_at: datetime | None = None


def token_hash(token: str) -> str:
    """The hex SHA-256 a link's token is kept as."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class ReviewerLedger:
    """The ``Warehouse`` methods that keep reviewers and their login links."""

    def add_reviewer(self, name: str, role: Role = "reviewer", *, valid_for: timedelta = LINK_VALID_FOR,
                     now: datetime | None = None) -> str:
        """Make ``name`` a reviewer (or viewer) who may log in, or give one known before (removed
        or not) this role, and return the token of a new one-time login link valid for
        ``valid_for``. Only the token's hash is stored."""
        name = checked_name(name)
        if role not in ROLES:
            raise ReviewerError(f"a role is one of {', '.join(ROLES)}, not {role!r}")
        now = now or datetime.now(timezone.utc)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with mapped_writes(self.path), self.transaction():
            if self.connection.execute("SELECT 1 FROM reviewers WHERE name = ?", [name]).fetchone():
                self.connection.execute("UPDATE reviewers SET role = ?, removed_at = NULL WHERE name = ?", [role, name])
            else:
                self.connection.execute("INSERT INTO reviewers (name, role, created_at) VALUES (?, ?, ?)",
                                        [name, role, now])
            self.connection.execute(
                "INSERT INTO login_links (token_sha256, reviewer, created_at, expires_at) VALUES (?, ?, ?, ?)",
                [token_hash(token), name, now, now + valid_for])
        return token

    def reviewers(self, *, removed: bool = False) -> list[Reviewer]:
        """The reviewers by name; with ``removed``, those removed too."""
        rows = self.connection.execute(
            "SELECT name, role, created_at, removed_at FROM reviewers"
            + ("" if removed else " WHERE removed_at IS NULL") + " ORDER BY name").fetchall()
        return [Reviewer(*row) for row in rows]

    def active_reviewer(self, name: str) -> Reviewer | None:
        """``name`` as a reviewer who may use the desk now; None when unknown or removed."""
        row = self.connection.execute(
            "SELECT name, role, created_at, removed_at FROM reviewers WHERE name = ? AND removed_at IS NULL",
            [name]).fetchone()
        return None if row is None else Reviewer(*row)

    def remove_reviewer(self, name: str, *, now: datetime | None = None) -> bool:
        """Take ``name``'s access away (their reviews stay); False when there is no such reviewer."""
        with mapped_writes(self.path), self.transaction():
            found = self.connection.execute("SELECT 1 FROM reviewers WHERE name = ? AND removed_at IS NULL",
                                            [name]).fetchone()
            if found:
                self.connection.execute("UPDATE reviewers SET removed_at = ? WHERE name = ?",
                                        [now or datetime.now(timezone.utc), name])
        return found is not None

    def redeem_link(self, token: str, *, now: datetime | None = None) -> Reviewer | None:
        """The reviewer a login link's ``token`` lets in, once: None when the link is unknown,
        used, expired, or its reviewer was removed."""
        now = now or datetime.now(timezone.utc)
        with mapped_writes(self.path), self.transaction():
            row = self.connection.execute(
                "SELECT r.name, r.role, r.created_at, r.removed_at FROM login_links AS l"
                " JOIN reviewers AS r ON r.name = l.reviewer"
                " WHERE l.token_sha256 = ? AND l.used_at IS NULL AND l.expires_at > ? AND r.removed_at IS NULL",
                [token_hash(token), now]).fetchone()
            if row is None:
                return None
            self.connection.execute("UPDATE login_links SET used_at = ? WHERE token_sha256 = ?",
                                    [now, token_hash(token)])
        return Reviewer(*row)


def checked_name(name: str) -> str:
    """``name`` without surrounding spaces; ``ReviewerError`` unless 1-64 printable characters."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise ReviewerError(f"a reviewer's name is 1 to {MAX_NAME_CHARS} printable characters")
    return name
