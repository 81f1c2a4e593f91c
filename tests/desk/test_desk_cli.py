"""`callscore reviewers add/list/remove` and `callscore serve`'s one-line errors and warning."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, rows, run_cli
from tests.desk.conftest import free_port


def test_reviewers_are_added_listed_and_removed(desk_db: Path) -> None:
    added = run_cli("reviewers", "add", "ana", "--db", str(desk_db))
    assert added.exit_code == 0, added.stderr
    link = added.stdout.strip()
    assert link.startswith("http://127.0.0.1:8750/login?token=") and "ana may use the desk as reviewer" in added.stderr
    token = link.split("token=")[1]
    assert token not in json.dumps(rows(desk_db, "SELECT * FROM login_links"), default=str)  # only its hash is kept
    as_json = json.loads(run_cli("reviewers", "add", "vic", "--role", "viewer", "--url", "https://qa.example/desk/",
                                 "--db", str(desk_db), "--json").stdout)
    assert as_json["link"].startswith("https://qa.example/desk/login?token=") and as_json["role"] == "viewer"
    assert run_cli("reviewers", "list", "--db", str(desk_db)).stdout.splitlines() == ["ana\treviewer", "vic\tviewer"]
    assert run_cli("reviewers", "remove", "vic", "--db", str(desk_db)).exit_code == 0
    assert [r["name"] for r in json.loads(run_cli("reviewers", "list", "--db", str(desk_db), "--json").stdout)] == ["ana"]
    listed = run_cli("reviewers", "list", "--removed", "--db", str(desk_db)).stdout
    assert "vic\tviewer\tremoved" in listed


def test_reviewer_mistakes_get_one_line_errors(desk_db: Path) -> None:
    gone = run_cli("reviewers", "remove", "nobody", "--db", str(desk_db))
    assert gone.exit_code == 2 and "no reviewer 'nobody'" in gone.stderr
    bad = run_cli("reviewers", "add", "ana\x1b[2J", "--db", str(desk_db))
    assert bad.exit_code == 2 and "printable characters" in bad.stderr and "Traceback" not in bad.stderr


def test_serve_says_what_stops_it(tmp_path: Path, desk_db: Path) -> None:
    missing = run_cli("serve", "--db", str(tmp_path / "none.duckdb"))
    assert missing.exit_code == 2 and "no warehouse at" in missing.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = run_cli("serve", "--db", str(desk_db), "--port", str(taken.getsockname()[1]))
    assert busy.exit_code == 2 and "cannot listen on 127.0.0.1" in busy.stderr


def test_serve_on_an_open_address_warns_that_it_belongs_behind_tls(desk_db: Path) -> None:
    server = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "serve", "--db", str(desk_db), "--host", "0.0.0.0",
                               "--port", str(free_port())], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        said = ""
        deadline = time.monotonic() + 30
        while "review desk for" not in said and time.monotonic() < deadline:
            said += server.stderr.readline()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "warning" in said and "behind TLS" in said
