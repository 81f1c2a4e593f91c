"""The review queue (pipeline/store/warehouse/review_queue.py): a share of the calls it gives is
drawn at random, the rest are the most doubtful answers; nobody gets a call another has open or
one already reviewed; and agreement on the random sample is told apart from agreement on all
reviews, which leans to the doubtful ones."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.store.warehouse import Warehouse
from pipeline.store.warehouse.review_ledger import NewReview
from pipeline.store.warehouse.review_queue import QUEUE_HOLD, QueueNarrowing
from tests.conftest import rows, run_cli
from tests.factories import CARD, CARD_YAML, call_record

ANY = QueueNarrowing()


def _draw(warehouse: Warehouse, reviewer: str, share: float, narrowing: QueueNarrowing = ANY, **kwargs):
    return warehouse.draw_assignment(reviewer, narrowing, sample_share=share, draw=random.Random(7), **kwargs)


def test_doubtful_draws_give_the_least_confident_answer_and_nobody_gets_a_call_another_has_open(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        warehouse.save_call(call_record("sure", [("greeted", True, 0.95), ("closing", True, 0.9)]))
        warehouse.save_call(call_record("unsure", [("greeted", True, 0.95), ("closing", False, 0.31)]))
        warehouse.save_call(call_record("middling", [("greeted", False, 0.5), ("closing", True, 0.9)], agent="kim"))
        first = _draw(warehouse, "ana", share=0.0)
        assert (first.recording_id, first.chosen_as, first.criterion_id) == ("unsure", "doubtful", "closing")
        assert warehouse.open_assignment("ana") == first
        second = _draw(warehouse, "ben", share=0.0)  # ana has "unsure" open
        assert (second.recording_id, second.criterion_id) == ("middling", "greeted")
        assert _draw(warehouse, "cy", share=0.0, narrowing=QueueNarrowing(agent="kim")) is None  # ben has it
        assert warehouse.queue_size(ANY) == 1
        later = datetime.now(timezone.utc) + QUEUE_HOLD + timedelta(minutes=1)  # ana left hers open too long
        assert _draw(warehouse, "cy", share=0.0, now=later).recording_id == "unsure"
        assert _draw(warehouse, "ben", share=0.0).recording_id == "sure"  # finishing "middling"
        warehouse.add_review(NewReview("sure", CARD.version, "criterion", "greeted", "ben", "yes", reason=None))
        assert _draw(warehouse, "dee", share=0.0) is None  # every call reviewed, finished or open
        assert _draw(warehouse, "dee", share=1.0) is None
    assert rows(db, "SELECT reviewer, recording_id, finished_at IS NULL FROM review_assignments ORDER BY assignment_id") == [
        ("ana", "unsure", True), ("ben", "middling", False), ("cy", "unsure", True), ("ben", "sure", True)]


def test_random_draws_follow_the_share_and_narrow_by_agent(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        for n in range(12):
            warehouse.save_call(call_record(f"c{n:02d}", [("greeted", True, 0.9)], agent="kim" if n < 6 else "sam"))
        draws = [_draw(warehouse, f"r{n}", share=1.0, narrowing=QueueNarrowing(agent="kim")) for n in range(6)]
    assert {d.chosen_as for d in draws} == {"random"}
    assert sorted(d.recording_id for d in draws) == [f"c{n:02d}" for n in range(6)]  # each of kim's once


def _answer(n: int) -> bool:
    return n % 2 == 0


def test_the_random_sample_gives_its_own_figure_and_says_so(tmp_path: Path) -> None:
    """Constructed: the machine is right on its 30 confident answers and wrong on its 10 doubtful
    ones. Ten doubtful draws find the 10 wrong answers; twenty random draws then find right ones.
    All reviews: 20 of 30 agree; the random sample: 20 of 20."""
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as warehouse:
        for n in range(40):
            warehouse.save_call(call_record(f"c{n:02d}", [("greeted", _answer(n), 0.9 if n < 30 else 0.3)]))
        for share, draws in ((0.0, 10), (1.0, 20)):
            for _ in range(draws):
                given = _draw(warehouse, "ana", share=share)
                n = int(given.recording_id[1:])
                truth = _answer(n) if n < 30 else not _answer(n)
                warehouse.add_review(NewReview(given.recording_id, CARD.version, "criterion", "greeted", "ana",
                                               "yes" if truth else "no", reason=None))
    assert rows(db, "SELECT chosen_as, count(*) FROM review_pairs GROUP BY ALL ORDER BY 1") == [
        ("doubtful", 10), ("random", 20)]
    figures = rows(db, "SELECT sample, answers, round(agreement, 3) FROM review_agreement ORDER BY sample")
    assert figures == [("all", 30, 0.667), ("random", 20, 1.0)]
    assert rows(db, "SELECT labelled_answers, agreement, trust, source FROM criterion_trust") == [
        (20, 1.0, "reliable", "random sample")]
    assert rows(db, "SELECT agreement, agreement_source FROM kpi_criteria WHERE criterion_id = 'greeted'") == [
        (1.0, "random sample")]
    card = tmp_path / "card.yaml"
    card.write_text(CARD_YAML)
    figures = {}
    for sample in ("random", "doubtful", "all", None):
        result = run_cli("eval", "--scorecard", str(card), "--db", str(db), "--json",
                         *(("--sample", sample) if sample else ()))
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        figures[sample] = (data["sample"], data["overall"]["answers"], data["overall"]["agreement"])
        assert f"sample {data['sample']}:" in result.stderr
    assert figures == {"random": ("random", 20, 1.0), "doubtful": ("doubtful", 10, 0.0),
                       "all": ("all", 30, 20 / 30), None: ("random", 20, 1.0)}  # random: it holds 20 answers
    assert "an honest estimate" in run_cli("eval", "--scorecard", str(card), "--db", str(db)).stderr
