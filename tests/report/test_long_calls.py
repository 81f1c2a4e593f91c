"""The long labelled calls of the speed benchmark (samples/long_calls.py): each keeps its base
call's labels because what is put in is neutral account work before the closing turns."""

from __future__ import annotations

from samples.long_calls import CLOSING_TURNS, LONG_CALLS, check_work_is_neutral


def test_the_work_goes_in_before_the_closing_turns_and_after_a_customer_turn() -> None:
    for call in LONG_CALLS:
        turns, base = call.turns(), call.base.turns
        assert turns[-CLOSING_TURNS:] == base[-CLOSING_TURNS:]
        added = len(turns) - len(base)
        assert added == 2 * call.months
        start = next(i for i, (a, b) in enumerate(zip(turns, base)) if a != b)
        assert turns[start - 1].speaker == "customer" and turns[start].speaker == "agent"


def test_the_bases_had_identity_checked_and_the_issue_understood_so_their_labels_hold() -> None:
    assert len({call.name for call in LONG_CALLS}) == len(LONG_CALLS) >= 3
    for call in LONG_CALLS:
        assert call.base.labels["verified_identity"] == call.base.labels["understood_issue"] == "yes"
        assert call.name.startswith("long-") and not call.base.injection
    check_work_is_neutral()  # raises if redaction would change a word that was added
