"""A warehouse of three calls on real MP3s (hostile text in an agent's name and a transcript
line), and the review desk serving it: the real ``callscore serve`` in its own process on
loopback, with a login link for a reviewer and one for a viewer."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from pipeline.scoring.score import Verdict
from pipeline.store.warehouse import Warehouse
from tests.conftest import GOOD_CALL, MONO_CALL, POOR_CALL, ROOT, run_cli
from tests.factories import FIELDS_CARD, FIELDS_CARD_YAML, call_record, seg

HOSTILE_AGENT = '<script>document.title="agent"</script>sam'
HOSTILE_LINE = '<img src=x onerror="document.title=\'line\'"> the fourth of May'
CALL_A, CALL_B, CALL_C = ("a" * 64, "b" * 64, "c" * 64)  # recording ids, newest first
SEGMENTS = [
    seg("agent", 0.0, 4.0, "Thank you for calling Northwind Energy, this is Sam."),  # L1
    seg("customer", 4.5, 8.0, "My bill is wrong."),  # L2
    seg("agent", 8.5, 12.0, "Sorry to hear that. Can you confirm your date of birth?"),  # L3
    seg("customer", 17.0, 20.0, HOSTILE_LINE),  # L4
    seg("agent", 20.5, 24.0, "Thank you. Goodbye."),  # L5
]


def _cited(criterion: str, passed: bool | None, confidence: float, line: int) -> Verdict:
    cited = SEGMENTS[line - 1]
    return Verdict(criterion, passed, confidence, cited.text, True, 0, evidence_line=line, evidence_start_s=cited.start)


def _call(recording_id: str, audio: Path, agent: str, team: str, days_ago: int, verdicts: tuple[Verdict, ...]):
    record = call_record(recording_id, [], agent=agent, team=team, segments=SEGMENTS, days_ago=days_ago,
                         card=FIELDS_CARD, extractions=[("reason", "billing", 0.8, 2), ("outcome", "resolved", 0.7, 5),
                                      ("summary", "The bill was wrong.", None, 2)])
    return dataclasses.replace(record, path=audio, score=dataclasses.replace(record.score, verdicts=verdicts))


@pytest.fixture
def desk_db(tmp_path: Path) -> Path:
    """Call A (sam, billing): greeted yes, verified yes, closing no (at L5, 20.5 s). Call B (alex,
    support): greeted no, verified no. Call C (a hostile agent name): all yes."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    audio = {}
    for name, source in (("a.mp3", GOOD_CALL), ("b.mp3", POOR_CALL), ("c.mp3", MONO_CALL)):
        audio[name] = inbox / name
        shutil.copy(source, audio[name])
    db = tmp_path / "desk.duckdb"
    with Warehouse.open(db) as warehouse:
        warehouse.save_call(_call(CALL_A, audio["a.mp3"], "sam", "billing", 1, (
            _cited("greeted", True, 0.91, 1), _cited("verified", True, 0.8, 3), _cited("closing", False, 0.55, 5))))
        warehouse.save_call(_call(CALL_B, audio["b.mp3"], "alex", "support", 2, (
            _cited("greeted", False, 0.6, 1), _cited("verified", False, 0.9, 3), _cited("closing", True, 0.95, 5))))
        warehouse.save_call(_call(CALL_C, audio["c.mp3"], HOSTILE_AGENT, "billing", 3, (
            _cited("greeted", True, 0.9, 1), _cited("verified", True, 0.9, 3), _cited("closing", True, 0.9, 5))))
    return db


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(db: Path, *extra: str) -> Iterator[str]:
    """``callscore serve --db DB`` on a free loopback port until the block ends; its base URL."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "serve", "--db", str(db), "--port", str(port),
                               *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/login", timeout=2)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the desk did not start: {server.communicate()[1]}") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@dataclasses.dataclass
class RunningDesk:
    url: str
    db: Path
    links: dict[str, str]  # name -> its one-time login link

    @contextlib.contextmanager
    def client(self, name: str | None = None, **kwargs) -> Iterator[httpx.Client]:
        """A client logged in as ``name`` through its link (None: not logged in), whose requests
        say they come from the desk's own pages, as a browser's do."""
        with httpx.Client(base_url=self.url, headers={"origin": self.url, "sec-fetch-site": "same-origin"},
                          timeout=30, **kwargs) as client:
            if name is not None:
                token = self.links[name].split("token=", 1)[1]
                answer = client.post("/login", data={"token": token})
                assert answer.status_code == 303, answer.text
            yield client

    def new_link(self, name: str, role: str = "reviewer") -> str:
        """A new login link for ``name``, made by `callscore reviewers add` while the desk runs."""
        result = run_cli("reviewers", "add", name, "--role", role, "--db", str(self.db), "--url", self.url, "--json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)["link"]

    def bearer(self, name: str) -> str:
        """A script's bearer token for ``name``, from a new link posted to /api/login."""
        role = "viewer" if name == "vic" else "reviewer"
        token = self.new_link(name, role).split("token=", 1)[1]
        answer = httpx.post(f"{self.url}/api/login", json={"token": token}, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()["bearer"]


@pytest.fixture
def desk(desk_db: Path) -> Iterator[RunningDesk]:
    """The desk over ``desk_db``, with links for ana (reviewer) and vic (viewer)."""
    with Warehouse.open(desk_db) as warehouse:
        tokens = {"ana": warehouse.add_reviewer("ana"), "vic": warehouse.add_reviewer("vic", "viewer")}
    card = desk_db.parent / "card.yaml"
    card.write_text(FIELDS_CARD_YAML)
    with serving(desk_db, "--scorecard", str(card)) as url:
        yield RunningDesk(url, desk_db, {name: f"{url}/login?token={token}" for name, token in tokens.items()})
