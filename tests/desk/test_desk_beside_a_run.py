"""The desk beside a real scoring run on the same warehouse: while `callscore score` transcribes,
judges and stores calls, supervisors keep reading pages and posting reviews, and every review
posted is stored exactly once (slow tier: the real models)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ROOT, SMALL_CARD, rows, run_cli
from tests.desk.conftest import serving


def test_reviews_posted_while_a_run_writes_are_stored_once(scored_samples: dict, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(scored_samples["db"], db)
    recording_ids = [r[0] for r in rows(db, "SELECT recording_id FROM recordings ORDER BY file_name")]
    card = tmp_path / "card.yaml"
    card.write_text(SMALL_CARD)  # a scorecard the calls were not scored with: the run scores all three again
    with serving(db) as url:
        token = run_cli("reviewers", "add", "ana", "--db", str(db), "--url", url).stdout.strip().split("token=")[1]
        bearer = httpx.post(f"{url}/api/login", json={"token": token}, timeout=30).json()["bearer"]
        run = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "score", str(scored_samples["inbox"]), "--db",
                                str(db), "--scorecard", str(card)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        stored, pages, during_run = [], [], 0
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {bearer}"}, timeout=120) as script:
            while run.poll() is None or len(stored) < 3:
                during_run += run.poll() is None
                recording_id = recording_ids[len(stored) % len(recording_ids)]
                pages.append(script.get("/api/calls").status_code)
                answer = script.post(f"/api/calls/{recording_id}/reviews",
                                     json={"criterion_id": "greeted", "answer": "yes", "comment": f"pass {len(stored)}"})
                assert answer.status_code == 201, answer.text
                stored.append(answer.json()["review_id"])
        _, errors = run.communicate(timeout=600)
    assert run.returncode == 0, errors
    assert during_run >= 3  # pages read and reviews posted while the run wrote
    assert set(pages) == {200}
    assert len(set(stored)) == len(stored) >= 3
    assert rows(db, "SELECT count(*), count(DISTINCT review_id) FROM reviews") == [(len(stored), len(stored))]
    assert rows(db, "SELECT count(*) FROM evaluations WHERE scorecard_name = 'small-test'") == [(3,)]
