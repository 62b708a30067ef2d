"""A redelivery of an alert that meets its own message's earlier attempt still in progress (Pub/Sub
redelivers a push not acknowledged within its ack deadline, even while the first attempt runs): both
attempts plan the same write under the same intent key (records.intent_key). The redelivery must not
replace the plan of the attempt that holds the claim: every write keeps exactly one truthful intent."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.clock import FixedClock, skew_safe_lease
from shared.errors import AttemptInProgress, PermanentError
from shared.outcomes import OutcomeStatus
from shared.remediation.guardrails import CLAIMS
from shared.remediation.records import INTENTS, IntentRecord, intent_key

from tests.unit.builders import SERVICE
from tests.unit.fakes import Adapters, MemoryStateStore, RecordingRun
from tests.unit.test_guardrails import ACTION, bad_revision_plan, config
from tests.unit.test_intents import KEY, MESSAGE, NOW, OneAtATime, _execute, _gate

LEASE = skew_safe_lease(config().guardrails.claim_ttl_seconds)


class RedeliveredDuringTheWrite(RecordingRun):
    """While attempt `a` writes, the redelivery (attempt `b`) runs the gate to its end."""

    def __init__(self, service, state, fail_with: Exception | None = None) -> None:
        super().__init__(service)
        self.state, self.fail, self.redelivery = state, fail_with, None
        # The redelivery read the gate's state before the first attempt's commit (both run at once).
        self.gate = _gate(state, owner=f"{MESSAGE}:b")
        self.reads = self.gate.read_ahead(SERVICE, NOW)

    def set_traffic(self, *args: Any, **kwargs: Any):
        if self.redelivery is None:
            proposal, _ = bad_revision_plan()
            with pytest.raises(AttemptInProgress) as raised:
                self.gate.execute(ACTION, proposal.params, proposal.before, "inc-1",
                                  Adapters(RecordingRun(self.service)), service=SERVICE, signature="bad_revision",
                                  reads=self.reads)
            self.redelivery = raised.value
        if self.fail is not None:
            raise self.fail
        return super().set_traffic(*args, **kwargs)


def _intent(state) -> IntentRecord:
    return IntentRecord.model_validate(state.get_record(INTENTS, intent_key("inc-1", MESSAGE)))


@pytest.mark.parametrize("store", [MemoryStateStore, OneAtATime], ids=["all-at-once", "one-at-a-time"])
def test_a_redelivery_during_the_write_leaves_the_writers_intent_to_be_recorded(store):
    state = store()
    _, b = bad_revision_plan()
    run = RedeliveredDuringTheWrite(b.service, state)
    assert _execute(_gate(state), run).status is OutcomeStatus.APPLIED
    assert run.redelivery is not None and len(run.writes) == 1
    intent = _intent(state)
    assert (intent.owner, intent.state.value, intent.closed_by) == (f"{MESSAGE}:a", "recorded", f"{MESSAGE}:a")


@pytest.mark.parametrize("store", [MemoryStateStore, OneAtATime], ids=["all-at-once", "one-at-a-time"])
def test_a_redelivery_during_a_failed_write_leaves_nothing_open_for_the_sweep(store):
    state = store()
    _, b = bad_revision_plan()
    run = RedeliveredDuringTheWrite(b.service, state, PermanentError("denied", code="PERMISSION_DENIED"))
    assert _execute(_gate(state), run).status is OutcomeStatus.FAILED
    intent = _intent(state)
    assert (intent.owner, intent.state.value) == (f"{MESSAGE}:a", "void")


@pytest.mark.parametrize("store", [MemoryStateStore, OneAtATime], ids=["all-at-once", "one-at-a-time"])
@pytest.mark.parametrize("age, writes", [(timedelta(seconds=30), 0), (LEASE + timedelta(seconds=1), 1)],
                         ids=["its attempt may still run", "its claim has lapsed"])
def test_an_open_plan_of_another_attempt_is_replaced_only_once_its_attempt_has_ended(store, age, writes):
    """An earlier attempt stored its plan and gave its claim back but could not void the plan (the store
    failed): within a lease it may still be live, so nothing is written; after, it is replaced."""
    state = store()
    proposal, b = bad_revision_plan()
    earlier = _gate(state, owner=f"{MESSAGE}:a", clock=FixedClock(NOW - age))._intent(
        ACTION, proposal.params, proposal.before, KEY, "inc-1", SERVICE, "bad_revision", None, NOW - age)
    state.put_record(INTENTS, earlier.key, earlier.model_dump(mode="python"))
    run = RecordingRun(b.service)
    if writes:
        assert _execute(_gate(state, owner=f"{MESSAGE}:b"), run).status is OutcomeStatus.APPLIED
        assert (_intent(state).owner, _intent(state).state.value) == (f"{MESSAGE}:b", "recorded")
    else:
        with pytest.raises(AttemptInProgress):
            _execute(_gate(state, owner=f"{MESSAGE}:b"), run)
        assert (_intent(state).owner, _intent(state).state.value) == (f"{MESSAGE}:a", "open")
        assert state.get(CLAIMS, KEY) is None
    assert len(run.writes) == writes


class PlanLandsFirst(MemoryStateStore):
    """The other attempt at the message (`b`, which also found no plan) stores its open plan at the
    last moment before this attempt's own store of its plan, whatever form that store takes."""

    def __init__(self, other: IntentRecord, gone_after: int = 0) -> None:
        super().__init__()
        self.other, self.landed, self.gone_after, self.refused = other, False, gone_after, 0

    def _lands(self, kind: str) -> None:
        if kind == INTENTS and not self.landed:
            self.landed = True
            super().put_record(INTENTS, self.other.key, self.other.model_dump(mode="python"))

    def put_record(self, kind, key, data) -> None:
        self._lands(kind)
        super().put_record(kind, key, data)

    def create_record(self, kind, key, data) -> bool:
        self._lands(kind)
        answer = super().create_record(kind, key, data)
        if not answer and self.refused < self.gone_after:
            self.refused += 1   # the plan found is deleted again before it is read
            del self.documents[(INTENTS, self.other.key)]
        return answer


def _other_plan() -> IntentRecord:
    proposal, _ = bad_revision_plan()
    return _gate(MemoryStateStore(), owner=f"{MESSAGE}:b")._intent(
        ACTION, proposal.params, proposal.before, KEY, "inc-1", SERVICE, "bad_revision", None, NOW)


def test_of_two_attempts_that_both_find_no_plan_exactly_one_stores_its_own():
    """Two attempts at one message, neither seeing a plan at its key: the one whose plan lands
    second must not replace the first's (its attempt runs and may write); it writes nothing."""
    other = _other_plan()
    state = PlanLandsFirst(other)
    run = RecordingRun(bad_revision_plan()[1].service)
    with pytest.raises(AttemptInProgress):
        _execute(_gate(state), run)
    assert _intent(state) == other and run.writes == []
    assert state.get(CLAIMS, KEY) is None   # what this attempt took is given back


def test_a_plan_found_and_gone_before_it_is_read_is_created_again():
    other = _other_plan()
    state = PlanLandsFirst(other, gone_after=1)
    run = RecordingRun(bad_revision_plan()[1].service)
    assert _execute(_gate(state), run).status is OutcomeStatus.APPLIED
    assert (_intent(state).owner, _intent(state).state.value) == (f"{MESSAGE}:a", "recorded")
    assert len(run.writes) == 1
