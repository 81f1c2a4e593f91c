"""Every command in a code block of docs/getting-started.md runs, in the order shown, in a new
folder, so against a fresh warehouse: the page cannot promise what callscore does not do."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT

PAGE = ROOT / "docs" / "getting-started.md"
DESK = "http://127.0.0.1:8750/"


def page_commands() -> list[str]:
    blocks = re.findall(r"^```sh\n(.*?)^```", PAGE.read_text(encoding="utf-8"), flags=re.S | re.M)
    return [line.strip() for block in blocks for line in block.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def serve_until_it_answers(command: str, folder: Path, env: dict[str, str]) -> None:
    """``callscore serve`` runs until stopped: it must answer on its address, then stop on Ctrl-C."""
    server = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=folder, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(DESK + "login", timeout=2) as response:
                    assert response.status == 200 and b"callscore" in response.read()
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "callscore serve did not answer"
                time.sleep(0.5)
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=30)
    assert "review desk" in output


@pytest.mark.slow
def test_the_getting_started_commands_run_in_order_against_a_fresh_warehouse(tmp_path: Path) -> None:
    assert subprocess.run(["make", "-q", "install"], cwd=ROOT).returncode == 0, "run `make install` first"
    for name in ("Makefile", "pyproject.toml", "requirements.lock", ".venv", "samples"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    commands = page_commands()
    assert commands[:2] == ["make install", "source .venv/bin/activate"] and len(commands) >= 10
    for command in commands:
        if command.startswith("callscore serve"):
            serve_until_it_answers(command, tmp_path, env)
            continue
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
        if command.startswith("callscore sql"):
            assert {"alex", "priya", "sam"} <= set(done.stdout.split())
        if command.startswith("callscore reviewers add"):
            assert "/login?token=" in done.stdout + done.stderr
    warehouse = tmp_path / "warehouse" / "callscore.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM kpi_calls").fetchone() == (3,)
        assert connection.execute("SELECT count(*) FROM evaluations").fetchone() == (3,)  # the flow skipped them
        assert connection.execute("SELECT count(*) FROM runs WHERE source = 'flow'").fetchone() == (1,)
    assert (tmp_path / "report.html").stat().st_size > 10_000
    exported = {path.name for path in (tmp_path / "exported").iterdir()}
    assert {"kpi_calls.parquet", "kpi_agents.parquet", "scores.parquet", "manifest.json"} <= exported
