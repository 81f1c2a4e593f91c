"""Reviews are labels: the same answers posted through the desk's API, or imported with
`callscore reviews import`, give `callscore eval` (without --labels) the same agreement and
kappa as `callscore eval --labels` on a file of them, and the trust marks follow the reviews."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx

from tests.conftest import rows, run_cli
from tests.desk.conftest import RunningDesk
from tests.factories import CARD_YAML
from tests.report.test_eval import LABELS


def _figures(result) -> dict:  # per criterion
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    return {c["criterion_id"]: (c["answers"], c["agreement"], c["kappa"], c["majority_baseline"]) for c in data["criteria"]}


# Labels of the desk's three calls (tests/desk/conftest.py): A greeted yes, verified yes, closing
# no; B no, no, yes; C yes, yes, yes; every call's reason billing. People disagree with the
# machine on A closing, B verified, C greeted and B's reason.
DESK_LABELS = """recording,criterion_id,label
a.mp3,greeted,yes
a.mp3,verified,yes
a.mp3,closing,yes
b.mp3,greeted,no
b.mp3,verified,na
b.mp3,closing,yes
c.mp3,greeted,no
c.mp3,verified,yes
c.mp3,closing,yes
a.mp3,reason,billing
b.mp3,reason,outage
c.mp3,reason,billing
"""


def _all_figures(result) -> dict:
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    return {item.get("criterion_id") or item.get("field_id"): (item["answers"], item["agreement"], item["kappa"],
                                                               item["majority_baseline"])
            for item in data["criteria"] + data["fields"] + [data["overall"]]}


def test_reviews_posted_in_the_desk_give_the_same_figures_as_the_labels_file(desk: RunningDesk, tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text(DESK_LABELS)
    card = str(desk.db.parent / "card.yaml")
    db = str(desk.db)
    from_file = _all_figures(run_cli("eval", "--labels", str(labels), "--scorecard", card, "--db", db, "--json",
                                     "--no-store"))
    ids = dict(rows(desk.db, "SELECT file_name, recording_id FROM recordings"))
    with httpx.Client(base_url=desk.url, headers={"authorization": f"Bearer {desk.bearer('ana')}"}, timeout=30) as script:
        for row in csv.DictReader(io.StringIO(DESK_LABELS)):
            item = "field_id" if row["criterion_id"] == "reason" else "criterion_id"
            answer = script.post(f"/api/calls/{ids[row['recording']]}/reviews", json={
                item: row["criterion_id"], "answer": "n.a." if row["label"] == "na" else row["label"]})
            assert answer.status_code == 201, answer.text
    from_reviews = run_cli("eval", "--scorecard", card, "--db", db, "--json")
    assert "against 12 answers people reviewed in the desk" in from_reviews.stderr
    assert _all_figures(from_reviews) == from_file
    assert from_file["greeted"][:2] == (3, 2 / 3) and from_file["reason"][:2] == (3, 2 / 3)
    assert rows(desk.db, "SELECT count(*) FROM criterion_agreement") == [(0,)]  # live, not stored
    trust = rows(desk.db, "SELECT criterion_id, labelled_answers, agreement, kappa, source FROM criterion_trust"
                          " ORDER BY 1")
    assert trust == [(c, n, round(a, 3), None if k is None else round(k, 3), "reviews")
                     for c, (n, a, k, _) in sorted((c, f) for c, f in from_file.items() if c is not None)]


def test_reviews_import_turns_a_labels_file_into_reviews_once(kpi_warehouse_path: Path, tmp_path: Path) -> None:
    card, labels = tmp_path / "card.yaml", tmp_path / "labels.csv"
    card.write_text(CARD_YAML)
    labels.write_text(LABELS + "Z.mp3,greeted,yes\nA.mp3,no_such,yes\n")
    db = str(kpi_warehouse_path)
    first = run_cli("reviews", "import", str(labels), "--reviewer", "qa-lead", "--scorecard", str(card), "--db", db,
                    "--json")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout) == {"stored": 15, "unchanged": 0, "unmatched": ["Z.mp3"], "unknown": ["no_such"]}
    again = run_cli("reviews", "import", str(labels), "--reviewer", "qa-lead", "--scorecard", str(card), "--db", db)
    assert again.exit_code == 0 and "0 reviews by qa-lead stored (15 already given)" in again.stderr
    assert rows(kpi_warehouse_path, "SELECT count(*), count(*) FILTER (WHERE reason = 'wrong_verdict') FROM reviews"
                                    " WHERE reviewer = 'qa-lead'") == [(15, 1)]  # only B greeted differs
    from_file = _figures(run_cli("eval", "--labels", str(labels), "--scorecard", str(card), "--db", db, "--json",
                                 "--no-store"))
    assert _figures(run_cli("eval", "--scorecard", str(card), "--db", db, "--json")) == from_file
    shown = run_cli("show", "B.mp3", "--db", db, "--no-transcript").stdout
    assert "overruled by qa-lead: no" in shown
