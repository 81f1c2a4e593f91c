"""The labelled evaluation set (samples/labelled.py): its labels fit the default scorecard, and
writing it yields stereo MP3s, valid sidecars and a labels.csv that covers every criterion."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import av
import numpy as np
import pytest

from pipeline.intake.inbox import read_call_facts
from samples import labelled
from samples.labelled import CALLS, LabelSetError, check_set, default_scorecard, label_rows
from tests.conftest import ROOT

# An excellent call (all yes), a poor one (all no) and one where identity is not applicable:
# together they hold a "yes" and a "no" for every criterion, and an "na".
QUICK = ("lab-03", "lab-06", "lab-12")


def read_labels(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_call_labels_every_criterion_with_yes_and_no_over_the_set() -> None:
    scorecard = default_scorecard()
    check_set(CALLS, scorecard)  # raises on any broken rule
    ids = [criterion.id for criterion in labelled.labelled_criteria(scorecard)]
    assert ids == list(labelled.LABELLED_CRITERIA)  # every labelled criterion is on the scorecard
    for call in CALLS:
        assert list(call.labels) == ids, call.name
    for criterion in labelled.labelled_criteria(scorecard):
        counts = Counter(call.labels[criterion.id] for call in CALLS)
        assert counts["yes"] >= 3 and counts["no"] >= 3, (criterion.id, counts)
        assert counts["na"] == 0 or criterion.allow_na, criterion.id
    assert Counter(call.labels["verified_identity"] for call in CALLS)["na"] >= 2


def test_the_set_varies_like_real_traffic() -> None:
    assert len(CALLS) >= 24
    assert len({call.name for call in CALLS}) == len(CALLS)
    assert 4 <= len({call.agent for call in CALLS}) <= 5
    assert {call.topic for call in CALLS} == set(labelled.TOPICS)
    assert {call.quality for call in CALLS} == {"excellent", "mixed", "poor"}
    assert min(len(c.turns) for c in CALLS) >= 6 and max(len(c.turns) for c in CALLS) <= 20
    days = {datetime.fromisoformat(call.started_at).date() for call in CALLS}
    assert all(day.year == 2026 and day.month == 11 for day in days)
    assert 10 <= (max(days) - min(days)).days <= 14


def test_pleas_to_the_reviewer_come_with_poor_agents() -> None:
    pleas = [call for call in CALLS if call.injection]
    assert len(pleas) >= 2
    for call in pleas:
        assert any("quality reviewer" in turn.text.lower() for turn in call.turns), call.name
        assert call.quality == "poor", call.name
    assert {turn.speaker for call in pleas for turn in call.turns if "quality reviewer" in turn.text.lower()} == {
        "agent", "customer"}


def test_a_set_that_breaks_the_rules_fails_loudly() -> None:
    scorecard = default_scorecard()
    first = CALLS[0]
    missing = replace(first, labels={k: v for k, v in first.labels.items() if k != "recap"})
    with pytest.raises(LabelSetError, match="no label for recap"):
        check_set((missing, *CALLS[1:]), scorecard)
    with pytest.raises(LabelSetError, match="does not allow not-applicable"):
        check_set((replace(first, labels={**first.labels, "empathy": "na"}), *CALLS[1:]), scorecard)
    all_yes = [replace(call, quality="excellent", labels={k: "yes" for k in call.labels}) for call in CALLS]
    with pytest.raises(LabelSetError, match="greeted: 0 'no' labels"):
        check_set(all_yes, scorecard)
    for line in ("It's four four seven one two three.", "Nineteen sixty-eight. Fourteen Mill Lane."):
        with pytest.raises(LabelSetError, match="would be redacted"):  # read digit by digit; 1968 and 14
            check_set((replace(first, turns=(*first.turns, labelled.customer(line))), *CALLS[1:]), scorecard)


def test_every_call_has_a_reason_and_an_outcome_among_the_fields_options() -> None:
    options = default_scorecard().choice_options
    for call in CALLS:
        reason, outcome = labelled.FIELD_LABELS[call.number]
        assert reason in options["reason"] and outcome in options["outcome"], call.name
    assert len({reason for reason, _ in labelled.FIELD_LABELS.values()}) == len(options["reason"])  # each is used
    first = CALLS[0]
    broken = {**labelled.FIELD_LABELS, first.number: ("refund", "resolved")}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(labelled, "FIELD_LABELS", broken)
        with pytest.raises(LabelSetError, match="reason: label 'refund' is not one of its options"):
            check_set(CALLS, default_scorecard())


def test_tracked_labels_csv_matches_the_set() -> None:
    tracked = ROOT / "samples" / "labelled" / labelled.LABELS_FILE
    rows = [(row["recording"], row["criterion_id"], row["label"]) for row in read_labels(tracked)]
    assert rows == label_rows(CALLS, default_scorecard()), "run `make labelled` to refresh labels.csv"


def test_writes_selected_calls_sidecars_and_labels(tmp_path: Path) -> None:
    first, *rest = QUICK
    assert labelled.main([str(tmp_path), "--only", first]) == 0
    # a later run into the same folder keeps the labels of the calls already there
    assert labelled.main([str(tmp_path), *(arg for name in rest for arg in ("--only", name))]) == 0
    calls = labelled.select(CALLS, QUICK)
    assert sorted(p.name for p in tmp_path.glob("*.mp3")) == sorted(call.name for call in calls)
    for call in calls:
        path = tmp_path / call.name
        with av.open(str(path)) as container:
            assert container.format.name == "mp3" and container.streams.audio[0].channels == 2
            seconds = float(container.duration) / av.time_base
            opening = np.concatenate([frame.to_ndarray() for frame, _ in zip(container.decode(audio=0), range(40))], axis=1)
        assert 15 < seconds < 180, (call.name, seconds)
        left, right = np.abs(opening).mean(axis=1)  # the agent speaks first, on the left
        assert call.turns[0].speaker == "agent" and left > 5 * right, call.name
        sidecar = json.loads(path.with_suffix(".json").read_text())
        assert sidecar == call.sidecar and sidecar["team"] == labelled.AGENTS[call.agent]
        facts = read_call_facts(path)
        assert (facts.agent, facts.call_id, facts.started_at_source) == (call.agent, call.call_id, "sidecar")

    rows = read_labels(tmp_path / labelled.LABELS_FILE)
    ids = [criterion.id for criterion in labelled.labelled_criteria(default_scorecard())]
    assert len(rows) == len(calls) * (len(ids) + len(labelled.LABELLED_FIELDS))
    assert {row["recording"] for row in rows} == {call.name for call in calls}
    for criterion_id in ids:
        verdicts = {row["label"] for row in rows if row["criterion_id"] == criterion_id}
        assert {"yes", "no"} <= verdicts, criterion_id
    assert {row["label"] for row in rows if row["criterion_id"] in ids} == {"yes", "no", "na"}
    reasons = {row["recording"][:6]: row["label"] for row in rows if row["criterion_id"] == "reason"}
    assert reasons == {"lab-03": "outage", "lab-06": "billing", "lab-12": "billing"}


def test_an_unknown_call_name_is_refused(tmp_path: Path) -> None:
    assert labelled.main([str(tmp_path), "--only", "lab-99"]) == 1
    assert not list(tmp_path.iterdir())
