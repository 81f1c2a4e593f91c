"""Who is asking: a reviewer's session, kept in a signed cookie (or sent by a script as a bearer
token, the same signed value). The value holds the reviewer's name and when it was issued,
signed with HMAC-SHA256 under the desk's key; the role is looked up in the warehouse on every
request, so a removed reviewer is out at once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import SetupError
from pipeline.store.warehouse.reviewer_ledger import Role

SESSION_COOKIE = "callscore_session"
SESSION_MAX_AGE_S = 14 * 24 * 3600  # a session lasts two weeks, then the reviewer needs a new link
KEY_BYTES = 32


@dataclass(frozen=True)
class Actor:
    """A logged-in person: their reviewer name and role (reviewer: reads and reviews; viewer: reads)."""

    name: str
    role: Role

    @property
    def may_review(self) -> bool:
        return self.role == "reviewer"


class SessionSigner:
    """Signs and checks session values with ``key``."""

    def __init__(self, key: bytes, *, max_age_s: int = SESSION_MAX_AGE_S) -> None:
        self._key = key
        self.max_age_s = max_age_s

    def sign(self, name: str, *, now: float | None = None) -> str:
        """A session value for reviewer ``name``, issued ``now`` (seconds since the epoch)."""
        payload = base64.urlsafe_b64encode(json.dumps(
            {"n": name, "i": int(time.time() if now is None else now)}).encode("utf-8")).decode("ascii").rstrip("=")
        return f"{payload}.{self._mac(payload)}"

    def name_in(self, value: str, *, now: float | None = None) -> str | None:
        """The reviewer name a session value was signed for; None when it is forged, damaged or too old."""
        payload, _, mac = value.partition(".")
        if not payload or not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            name, issued = data["n"], float(data["i"])
        except (ValueError, KeyError, TypeError):
            return None
        age = (time.time() if now is None else now) - issued
        return name if isinstance(name, str) and 0 <= age <= self.max_age_s else None

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).hexdigest()


def desk_key(db: Path) -> bytes:
    """The desk's signing key, kept beside the warehouse in ``<db>.desk-key`` (owner-only, made on
    first use). Deleting the file ends every session."""
    path = db.with_name(db.name + ".desk-key")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise SetupError(f"cannot create the desk's key {path}: {exc.strerror}") from exc
    else:
        key = secrets.token_hex(KEY_BYTES)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(key + "\n")
    if len(key) < 2 * KEY_BYTES:
        raise SetupError(f"the desk's key {path} is damaged: delete it (every session ends) and start again")
    return bytes.fromhex(key)
