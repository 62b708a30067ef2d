"""An action's verdict kept in the incident's SETTLED record (settled.write_verdict), read by a later notification
of the incident instead of a query of its action records (SettledState.keeps_verdicts, judged). Pure logic and
the in-memory store: tests/integration/test_round_trips.py counts the round trips against the emulator, and
tests/integration/test_renotified_after_verdict.py shows the answers alike either way."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.remediation.records import (ACTIONS, SETTLED, ActionState, SettledEntry, SettledVerdict, settled_field,
                                        verdict_field)
from shared.remediation.settled import SettledState, write_verdict
from tests.unit.fakes import MemoryStateStore

T0 = datetime(2026, 11, 26, 12, 2, tzinfo=timezone.utc)
KEY = "inc-1|projects/p/locations/r/services/backend|rollback_traffic"
START = 1795694400


def entry(key: str = KEY, *, recorded: bool = True, verdicts: bool = True, held: bool = False) -> dict:
    return SettledEntry(key=key, kind="claims", target="t", action="rollback_traffic", recorded=recorded,
                        verdicts=verdicts, held=held).model_dump(mode="python")


def verdict(state: str, minutes: int, key: str = KEY, started: int | None = START) -> dict:
    return SettledVerdict(key=key, action="rollback_traffic", target="t", state=ActionState(state), applied_at=T0,
                          resolved_at=T0 + timedelta(minutes=minutes), incident_started_at=started
                          ).model_dump(mode="python")


@pytest.mark.parametrize("fields,keeps", [
    ({settled_field(KEY): entry()}, True),                                     # written by this version
    ({settled_field(KEY): entry(verdicts=False)}, False),                      # by the version before
    ({}, False),                                                               # no entry: a record from before SETTLED
    ({settled_field("held"): entry("held", recorded=False, verdicts=False, held=True)}, False),   # no action record
    ({settled_field(KEY): entry(),                                             # a kept entry beside a refusal's
      settled_field("held"): entry("held", recorded=False, verdicts=False, held=True)}, True),
    ({settled_field(KEY): entry(), settled_field("old"): entry("old", verdicts=False)}, False),  # one from before
], ids=["marked", "unmarked", "no entry", "held only", "marked and held", "marked and unmarked"])
def test_a_settled_record_answers_alone_only_when_every_action_record_keeps_its_verdict_there(fields, keeps):
    assert SettledState.parse({"incident_id": "inc-1", **fields}).keeps_verdicts() is keeps


@pytest.mark.parametrize("verdicts,expected", [
    ([], None),
    ([verdict("verified", 10)], ("verified", 10)),
    ([verdict("undone", 16)], ("undone", 16)),
    ([verdict("verified", 10), verdict("escalated", 20, key="b")], ("escalated", 20)),   # the latest, as the query
    ([verdict("verified", 10, started=START + 3600)], None),                            # another episode's
    ([verdict("escalated", 12, started=None)], ("escalated", 12)),                      # no start stated
], ids=["none", "verified", "undone", "latest", "another start", "no start"])
def test_the_verdict_is_picked_as_the_query_of_the_action_records_picks_it(verdicts, expected):
    fields = {verdict_field(v["key"]): v for v in verdicts}
    found = SettledState.parse({settled_field(KEY): entry(), **fields}).judged(START)
    assert (None if found is None else (found.state.value, int((found.resolved_at - T0).total_seconds() // 60))) \
        == expected


def action(kept: bool = True) -> dict:
    return {"key": KEY, "incident_id": "inc-1", "action": "rollback_traffic", "target": "t", "applied_at": T0,
            "state": "pending", "incident_started_at": START, "verdict_kept": kept}


def store(settled: bool = True, kept: bool = True) -> MemoryStateStore:
    state = MemoryStateStore()
    state.put_record(ACTIONS, KEY, action(kept))
    if settled:
        state.put_record(SETTLED, "inc-1", {"incident_id": "inc-1", settled_field(KEY): entry(verdicts=kept)})
    return state


CHANGES = {"state": "verified", "resolved_at": T0 + timedelta(minutes=10), "note": "healthy"}


def test_a_verdict_is_written_with_its_copy_in_the_settled_record():
    state = store()
    assert write_verdict(state, action(), dict(CHANGES), {"state": "pending"})
    assert state.get_record(ACTIONS, KEY)["state"] == "verified"
    found = SettledState.parse(state.get_record(SETTLED, "inc-1")).judged(START)
    assert (found.state, found.resolved_at, found.key) == (ActionState.VERIFIED, CHANGES["resolved_at"], KEY)


def test_a_record_moved_by_another_hand_writes_neither():
    state = store()
    state.update_record(ACTIONS, KEY, {"state": "escalated"})
    assert not write_verdict(state, action(), dict(CHANGES), {"state": "pending"})
    assert state.get_record(ACTIONS, KEY)["state"] == "escalated"
    assert SettledState.parse(state.get_record(SETTLED, "inc-1")).verdicts == ()


def test_a_settled_record_gone_is_not_created_again_and_the_verdict_is_written_alone():
    state = store(settled=False)
    assert write_verdict(state, action(), dict(CHANGES), {"state": "pending"})
    assert state.get_record(ACTIONS, KEY)["state"] == "verified"
    assert state.get_record(SETTLED, "inc-1") is None   # none without expires_at, which its TTL would never delete


def test_a_record_from_before_keeps_no_copy():
    state = store(kept=False)
    assert write_verdict(state, action(kept=False), dict(CHANGES), {"state": "pending"})
    assert state.get_record(ACTIONS, KEY)["state"] == "verified"
    assert SettledState.parse(state.get_record(SETTLED, "inc-1")).verdicts == ()


def test_only_a_verdict_is_written_so():
    with pytest.raises(ValueError):
        write_verdict(store(), action(), {"state": "undoing", "resolved_at": T0}, {"state": "pending"})


def _without(data: dict, name: str) -> dict:
    return {k: v for k, v in data.items() if k != name}


# A verdict copy damaged by another hand (a console edit, a partial import) or written by a version this one cannot
# read: never read as a verdict, nor as "not judged" (its absence would say that), and never a failed delivery.
DAMAGED_COPIES = {
    "not a map": "verified",
    "no state": _without(verdict("verified", 10), "state"),
    "a state no verdict": {**verdict("verified", 10), "state": "pending"},
    "a state unknown": {**verdict("verified", 10), "state": "judged"},
    "no key": _without(verdict("verified", 10), "key"),
    "another action's key": verdict("verified", 10, key="another"),
    "applied_at no time": {**verdict("verified", 10), "applied_at": "yesterday"},
    "resolved_at no time": {**verdict("verified", 10), "resolved_at": 12},
    "incident_started_at no number": {**verdict("verified", 10), "incident_started_at": "soon"},
    "action no name": {**verdict("verified", 10), "action": None},
}


@pytest.mark.parametrize("copy", DAMAGED_COPIES.values(), ids=DAMAGED_COPIES.keys())
def test_a_damaged_verdict_copy_is_not_known_and_leaves_the_answer_to_the_action_records(copy):
    state = SettledState.parse({"incident_id": "inc-1", settled_field(KEY): entry(), verdict_field(KEY): copy})
    assert not state.keeps_verdicts()
    assert state.judged(START) is None
    assert state.unreadable_verdicts == (verdict_field(KEY),)


def test_a_readable_verdict_copy_beside_a_damaged_one_still_leaves_the_answer_to_the_action_records():
    state = SettledState.parse({settled_field(KEY): entry(), settled_field("b"): entry("b"),
                                verdict_field(KEY): verdict("undone", 16), verdict_field("b"): "verified"})
    assert not state.keeps_verdicts()
