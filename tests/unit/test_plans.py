"""One reader of a claim's plans (shared/remediation/plans.py `of_claim`) serves both the judges' siblings
and the gate's takeover (`unjudged`): one query each, the same plans left out (the reader's own, the ones
this version cannot read)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.errors import DamagedRecord
from shared.remediation import plans
from shared.remediation.records import INTENTS, IntentRecord, IntentState

from tests.unit.builders import T0
from tests.unit.fakes import MemoryStateStore

KEY = "inc-1|svc|rollback_traffic"


def _plan(state: MemoryStateStore, message: str, plan_state: IntentState | None, *, params: dict | None = None,
          noted_at=T0, expires_in: timedelta | None = None) -> IntentRecord:
    plan = IntentRecord(incident_id="inc-1", message_id=message, owner=f"{message}:1", claim_key=KEY,
                        action="rollback_traffic", target="svc", service="svc", params=params or {"to": "r1"},
                        before={"split": "r2"}, after={"split": "r1"}, noted_at=noted_at, state=plan_state,
                        **({"expires_at": T0 + expires_in} if expires_in is not None else {}))
    state.put_record(INTENTS, plan.key, plan.model_dump(mode="python"))
    return plan


class _Counting(MemoryStateStore):
    def __init__(self) -> None:
        super().__init__()
        self.queries = 0

    def find_records(self, *args, **kwargs):
        self.queries += 1
        return super().find_records(*args, **kwargs)


@pytest.mark.parametrize("states,expected", [
    ([], None),
    ([IntentState.VOID, IntentState.RECORDED], None),
    ([IntentState.RELEASED], None),                            # escalated, then released by a person
    ([None], None),                                            # stored before plans had a state: not the gate's
    ([IntentState.ESCALATED], 0),
    ([IntentState.ESCALATED, IntentState.OPEN], 1),            # an open plan first, whatever its order
    ([IntentState.ESCALATED, IntentState.ESCALATED], 0),       # the first escalated one
])
def test_the_plan_that_holds_a_takeover(states, expected) -> None:
    state = _Counting()
    stored = [_plan(state, f"m-{i}", s) for i, s in enumerate(states)]
    found = plans.unjudged(state, KEY, None, T0)
    assert found == (stored[expected] if expected is not None else None)
    assert state.queries == 1


def test_the_takers_own_plan_and_an_expired_escalation_hold_nothing() -> None:
    state = _Counting()
    own = _plan(state, "m-own", IntentState.OPEN)
    _plan(state, "m-old", IntentState.ESCALATED, expires_in=timedelta(seconds=0))
    assert plans.unjudged(state, KEY, own, T0) is None
    assert {p.message_id for p in plans.of_claim(state, KEY)} == {"m-own", "m-old"}
    assert {p.message_id for p in plans.of_claim(state, KEY, but=own.key)} == {"m-old"}


def test_a_plan_of_the_claim_this_version_cannot_read_is_named_never_left_out() -> None:
    """It may be the open plan of a write that landed: left out, the gate took the lapsed claim over and wrote on
    top of it. Every reader of the claim's plans now meets DamagedRecord naming it (fail closed)."""
    state = _Counting()
    own = _plan(state, "m-own", IntentState.OPEN)
    state.put_record(INTENTS, "inc-1|m-bad", {"claim_key": KEY, "state": "open", "incident_id": "inc-1",
                                              "message_id": "m-bad"})   # not a plan this version reads
    for read in (lambda: plans.unjudged(state, KEY, own, T0), lambda: plans.of_claim(state, KEY, but=own.key),
                 lambda: plans.siblings(state, own)):
        with pytest.raises(DamagedRecord, match=r"the intents record 'inc-1\|m-bad' cannot be read"):
            read()


def test_siblings_read_the_same_plans_through_the_one_reader() -> None:
    state = _Counting()
    mine = _plan(state, "m-1", IntentState.OPEN)
    twin = _plan(state, "m-2", IntentState.OPEN, noted_at=T0 - timedelta(minutes=30))
    other = _plan(state, "m-3", IntentState.OPEN, params={"to": "r0"})
    reported = _plan(state, "m-4", IntentState.ESCALATED)
    near = plans.siblings(state, mine, cutoff=T0 - timedelta(minutes=10))
    assert (near.twins, near.watched, near.reported, near.recorded) == ([twin], [other], reported, None)
    assert state.queries == 1
