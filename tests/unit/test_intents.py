"""The intent stored before an alert's write, and what a redelivery decides from it when the write
was never recorded (shared/remediation/intents.py): the pure decision as tables, then the gate."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.clock import FixedClock
from shared.errors import PermanentError, TransientError
from shared.outcomes import OutcomeStatus
from shared.ports import ClaimRecord, ClaimStatus
from shared.remediation.guardrails import BUDGETS, CLAIMS, COOLDOWNS, Gate, claim_key
from shared.remediation.intents import Match, Standing, Verdict, look, match, standing, verdict
from shared.remediation.records import ACTIONS, INTENTS, IntentRecord, IntentState, intent_key

from tests.unit.builders import SERVICE, T0
from tests.unit.fakes import Adapters, FaultyStateStore, MemoryStateStore, RecordingRun
from tests.unit.test_guardrails import ACTION, bad_revision_plan, config

NOW = T0 + timedelta(minutes=2)
KEY = claim_key("inc-1", SERVICE, "rollback_traffic")
MESSAGE = "m-1"


def _claim(owner: str, status: ClaimStatus = ClaimStatus.CLAIMED, expires_in: int = 600) -> ClaimRecord:
    return ClaimRecord(key=KEY, owner=owner, status=status, claimed_at=NOW - timedelta(seconds=30),
                       expires_at=NOW + timedelta(seconds=expires_in))


# --- the pure decision ------------------------------------------------------------------------------

@pytest.mark.parametrize("recorded, claim, expected", [
    (True, _claim(f"{MESSAGE}:a"), Standing.RESOLVED),                         # the action record exists
    (True, None, Standing.RESOLVED),
    (False, None, Standing.LAPSED),                                            # given back, or deleted
    (False, _claim(f"{MESSAGE}:a", expires_in=-1), Standing.LAPSED),           # its attempt ended
    (False, _claim(f"{MESSAGE}:a", ClaimStatus.COMPLETED), Standing.LAPSED),   # completed, record never came
    (False, _claim("m-2:b"), Standing.RESOLVED),                               # another message: a duplicate
    (False, _claim(f"{MESSAGE}:a"), Standing.HELD),                            # may still be running
], ids=["recorded-held", "recorded-absent", "absent", "expired", "completed-unrecorded", "other-message", "held"])
def test_where_the_earlier_attempts_claim_stands(recorded, claim, expected):
    assert standing(recorded, claim, MESSAGE, NOW) is expected


@pytest.mark.parametrize("after, before, expected", [
    (True, False, Match.AFTER), (False, True, Match.BEFORE), (False, False, Match.NEITHER),
    (True, True, Match.BEFORE), (None, False, Match.UNKNOWN), (True, None, Match.UNKNOWN),
])
def test_what_the_live_target_shows(after, before, expected):
    assert match(after, before) is expected


@pytest.mark.parametrize("after, before, changed, expected", [
    (False, False, True, Match.CHANGED),     # the write landed, someone changed it again since
    (False, False, False, Match.NEITHER),    # no proof the write landed
    (True, False, True, Match.AFTER), (None, False, True, Match.UNKNOWN),
    (False, True, False, Match.BEFORE),      # the state before, nothing to say the write landed: it never took
    (False, True, True, Match.CHANGED),      # the state before again, two generations on: put back after the write
    (True, True, True, Match.BEFORE),        # a plan that changes nothing
])
def test_a_target_changed_again_after_the_write(after, before, changed, expected):
    assert match(after, before, changed) is expected


@pytest.mark.parametrize("then, now, expected", [
    (5, 6, False),     # one update since the plan's read: not the rollback (it would show), so none of Runwarden's
    (5, 7, True),      # two: the rollback (sent on generation 5's etag, so the first), then another over it
    (5, 9, True), (5, 5, False), (None, 7, False), (5, None, False),
])
def test_a_rollback_changed_since_its_write_is_read_from_the_generation(then, now, expected):
    from shared.remediation.actions import get_action

    assert get_action("rollback_traffic").changed_since_write({"generation": then}, {"generation": now}) is expected
    assert get_action("scale_connector").changed_since_write({"generation": then}, {"generation": now}) is False


@pytest.mark.parametrize("after, before, changed, landed, expected", [
    (False, False, False, True, Match.UNCONFIRMED),   # a connector the write could have led to, changed since
    (False, False, False, False, Match.NEITHER),      # one the write cannot have led to
    (False, False, True, True, Match.CHANGED),        # a proof wins over a possibility
    (True, False, False, True, Match.AFTER), (None, False, False, True, Match.UNKNOWN),
    (False, True, False, True, Match.UNCONFIRMED),    # the state before again, and the write may have been put back
    (False, True, False, False, Match.BEFORE),        # the state before, which the write would have ruled out
])
def test_a_target_without_a_record_that_may_have_had_the_write(after, before, changed, landed, expected):
    assert match(after, before, changed, landed) is expected


def _sizes(machine: str, low: int, high: int) -> dict:
    return {"connector": {"machine_type": machine, "min_instances": low, "max_instances": high}}


@pytest.mark.parametrize("planned, live, expected", [
    # Planned 2-3 -> 2-4 on e2-micro.
    (_sizes("e2-micro", 2, 4), _sizes("e2-standard-4", 2, 4), True),    # then a machine type by hand
    (_sizes("e2-micro", 2, 4), _sizes("e2-micro", 2, 5), True),         # then one more instance by hand
    (_sizes("e2-micro", 2, 4), _sizes("e2-standard-4", 2, 3), False),   # max 3 < 4: the patch never landed
    (_sizes("e2-micro", 2, 4), _sizes("e2-micro", 2, 3), False),        # the state before: the patch never landed
    # Planned e2-micro -> e2-standard-4 at 2-3, and e2-micro at 2-3 found: the state before, or the patch's
    # machine type put back by hand (Terraform applying its own `machine_type`): it may have landed.
    (_sizes("e2-standard-4", 2, 3), _sizes("e2-micro", 2, 3), True),
    # Planned e2-micro -> e2-standard-4 at 2-3: any machine type with 2-3 or more could follow it.
    (_sizes("e2-standard-4", 2, 3), _sizes("f1-micro", 2, 3), True),
    (_sizes("e2-standard-4", 2, 3), _sizes("e2-standard-4", 3, 4), True),
    ({}, _sizes("e2-micro", 2, 4), False), (_sizes("e2-micro", 2, 4), {}, False),
])
def test_a_connector_may_have_had_the_write_only_at_the_planned_sizes_or_more(planned, live, expected):
    """Min and max instances only go up (the gcloud `connectors update` reference): fewer than planned rules
    the patch out; as many or more cannot tell a patch changed since from a person's change alone."""
    from shared.remediation.actions import get_action

    assert get_action("scale_connector").may_have_landed(planned, live) is expected
    assert get_action("rollback_traffic").may_have_landed(planned, live) is False   # its generation decides


@pytest.mark.parametrize("where, live, expected", [
    (Standing.RESOLVED, None, Verdict.NONE),
    (Standing.HELD, None, Verdict.WAIT),                # not read: the attempt may still be running
    (Standing.HELD, Match.AFTER, Verdict.WAIT),         # in place, but that attempt may still answer 'applied'
    (Standing.HELD, Match.BEFORE, Verdict.WAIT),        # not written yet: the attempt may still write
    (Standing.HELD, Match.NEITHER, Verdict.WAIT),
    (Standing.HELD, Match.UNKNOWN, Verdict.WAIT),
    (Standing.LAPSED, Match.AFTER, Verdict.RECORD),
    (Standing.LAPSED, Match.BEFORE, Verdict.NONE),      # the write never took: act as usual
    (Standing.LAPSED, Match.NEITHER, Verdict.ESCALATE),
    (Standing.LAPSED, Match.UNKNOWN, Verdict.ESCALATE),
    (Standing.HELD, Match.CHANGED, Verdict.WAIT),
    (Standing.LAPSED, Match.CHANGED, Verdict.SUPERSEDED),   # recorded, closed escalated: a person took it over
    (Standing.HELD, Match.UNCONFIRMED, Verdict.WAIT),
    (Standing.LAPSED, Match.UNCONFIRMED, Verdict.SUPERSEDED),   # recorded, closed escalated: the outcome unknown
])
def test_the_verdict(where, live, expected):
    assert verdict(where, live) is expected


# --- the gate stores the intent before the write -------------------------------------------------------

class WatchingRun(RecordingRun):
    """Notes whether the intent was stored by the time the write is sent."""

    def __init__(self, service, state) -> None:
        super().__init__(service)
        self.state, self.intent_at_write = state, None

    def set_traffic(self, *args: Any, **kwargs: Any):
        self.intent_at_write = self.state.get_record(INTENTS, intent_key("inc-1", MESSAGE))
        return super().set_traffic(*args, **kwargs)


def _gate(state, message_id: str | None = MESSAGE, owner: str = f"{MESSAGE}:a", clock=None) -> Gate:
    return Gate(config(), state, clock or FixedClock(NOW), owner=owner, message_id=message_id)


def _execute(gate: Gate, run) -> Any:
    proposal, _ = bad_revision_plan()
    return gate.execute(ACTION, proposal.params, proposal.before, "inc-1", Adapters(run), service=SERVICE,
                        signature="bad_revision")


class OneAtATime(MemoryStateStore):
    """A store whose `claim_all` answers as if a record to take existed (a racer's, given back before the
    one-at-a-time claims: `claim_all`'s None): the gate takes one claim at a time."""

    def claim_all(self, claims: Any, owner: str, now: Any) -> None:
        return None


@pytest.mark.parametrize("store", [MemoryStateStore, OneAtATime], ids=["all-at-once", "one-at-a-time"])
def test_an_alerts_write_is_preceded_by_its_intent(store):
    state = store()
    _, b = bad_revision_plan()
    run = WatchingRun(b.service, state)
    result = _execute(_gate(state), run)
    assert result.status is OutcomeStatus.APPLIED, result.reason
    intent = IntentRecord.model_validate(run.intent_at_write)
    assert (intent.claim_key, intent.owner, intent.action) == (KEY, f"{MESSAGE}:a", "rollback_traffic")
    assert intent.after["traffic"][0]["revision"] == "backend-00001-abc"
    assert ACTION.shows(intent.after, result.after) and not ACTION.shows(intent.before, result.after)


def test_an_attempt_with_no_message_stores_no_intent():
    state = MemoryStateStore()
    _, b = bad_revision_plan()
    run = WatchingRun(b.service, state)
    assert _execute(_gate(state, message_id=None, owner="command"), run).status is OutcomeStatus.APPLIED
    assert run.intent_at_write is None and state.get_record(INTENTS, intent_key("inc-1", MESSAGE)) is None


class FaultyOneAtATime(FaultyStateStore):
    def claim_all(self, claims: Any, owner: str, now: Any) -> None:
        return None


@pytest.mark.parametrize("store,stores", [(FaultyStateStore, 1), (FaultyOneAtATime, 2)],
                         ids=["all-at-once", "one-at-a-time"])
def test_no_write_without_its_intent_and_nothing_left_held(store, stores):
    """`stores`: how often the intent is stored before the write: one at a time after the one commit found
    something taken, it is stored again before the write (its store beside that commit failed: `_write`)."""
    state = store(MemoryStateStore())
    state.fail_next("write", stores, method="create_record")   # the intent's store, each time
    _, b = bad_revision_plan()
    run = RecordingRun(b.service)
    with pytest.raises(TransientError):
        _execute(_gate(state), run)
    assert run.writes == []
    assert state.get(CLAIMS, KEY) is None and state.get(COOLDOWNS, SERVICE) is None
    assert state.find_records(BUDGETS, "owner", f"{MESSAGE}:a") == []


# --- a redelivery after the attempt died right after its write ----------------------------------------

class Crash(BaseException):
    """The instance dies: nothing after the write runs (no give-back, no record, no answer)."""


def _crashed_after_the_write() -> tuple[MemoryStateStore, RecordingRun]:
    state = FaultyStateStore(MemoryStateStore())
    _, b = bad_revision_plan()
    run = RecordingRun(b.service)
    inner = state.record_all   # the one commit after the write: the claim's completion and the records

    def die(*args: Any, **kwargs: Any) -> None:
        raise Crash()
    state.record_all = die
    with pytest.raises(Crash):
        _execute(_gate(state), run)
    state.record_all = inner
    assert len(run.writes) == 1
    return state, run


def test_a_write_whose_attempt_may_still_run_waits_for_its_claim_to_lapse():
    """The change is in place, but the claim is still held: that attempt may still be running and
    answer 'applied' itself, so the redelivery neither reads the target nor records anything."""
    state, run = _crashed_after_the_write()
    intent = IntentRecord.model_validate(state.get_record(INTENTS, intent_key("inc-1", MESSAGE)))
    run.get_service = lambda name: pytest.fail(f"read {name} while its attempt may still run")
    found = look(intent, False, state.get(CLAIMS, KEY), ACTION, Adapters(run), NOW)
    assert (found.standing, found.match, found.verdict) == (Standing.HELD, None, Verdict.WAIT)
    assert state.get_record(ACTIONS, KEY) is None and len(run.writes) == 1


def test_a_write_whose_attempt_died_is_recorded_by_the_redelivery_and_not_repeated():
    state, run = _crashed_after_the_write()
    intent = IntentRecord.model_validate(state.get_record(INTENTS, intent_key("inc-1", MESSAGE)))
    now = NOW + timedelta(minutes=20)
    found = look(intent, False, state.get(CLAIMS, KEY), ACTION, Adapters(run), now)
    assert (found.standing, found.match, found.verdict) == (Standing.LAPSED, Match.AFTER, Verdict.RECORD)

    redelivery = _gate(state, owner=f"{MESSAGE}:b", clock=FixedClock(now))
    result = redelivery.adopt_write(intent, ACTION, found.live, "recorded by the redelivery")
    assert result.status is OutcomeStatus.ESCALATED and len(run.writes) == 1
    record = state.get_record(ACTIONS, KEY)
    assert record["state"] == "pending" and record["before"] == intent.before
    assert state.get(CLAIMS, KEY).status is ClaimStatus.COMPLETED   # the lapsed claim, taken over


def test_a_write_that_never_took_lets_the_redelivery_act_as_usual():
    state = MemoryStateStore()
    _, b = bad_revision_plan()
    run = RecordingRun(b.service, fail_with=TransientError("UpdateService: UNAVAILABLE"))
    with pytest.raises(TransientError):
        _execute(_gate(state), run)
    intent = IntentRecord.model_validate(state.get_record(INTENTS, intent_key("inc-1", MESSAGE)))
    run.fail_with = None
    found = look(intent, False, state.get(CLAIMS, KEY), ACTION, Adapters(run), NOW)
    # Its plan was given back (`void`): nothing to recover, the target not even read.
    assert (found.standing, found.match, found.verdict) == (Standing.LAPSED, None, Verdict.NONE)
    open_again = intent.model_copy(update={"state": IntentState.OPEN})   # as if the void had not landed
    found = look(open_again, False, state.get(CLAIMS, KEY), ACTION, Adapters(run), NOW)
    assert (found.standing, found.match, found.verdict) == (Standing.LAPSED, Match.BEFORE, Verdict.NONE)


def test_a_target_changed_by_something_else_is_escalated_and_an_unreadable_one_too():
    state, run = _crashed_after_the_write()
    intent = IntentRecord.model_validate(state.get_record(INTENTS, intent_key("inc-1", MESSAGE)))
    later = NOW + timedelta(minutes=20)
    run.service = run.service.model_copy(update={"traffic": (), "traffic_statuses": ()})
    found = look(intent, False, state.get(CLAIMS, KEY), ACTION, Adapters(run), later)
    assert (found.match, found.verdict) == (Match.NEITHER, Verdict.ESCALATE)

    class Refused(RecordingRun):
        def get_service(self, name):
            raise PermanentError("run.services.get denied", code="PERMISSION_DENIED")
    found = look(intent, False, state.get(CLAIMS, KEY), ACTION, Adapters(Refused(run.service)), later)
    assert (found.match, found.verdict) == (Match.UNKNOWN, Verdict.ESCALATE) and "PERMISSION_DENIED" in found.error
    # While the claim is still held, an unreadable target is waited for, not escalated.
    found = look(intent, False, state.get(CLAIMS, KEY), ACTION, Adapters(Refused(run.service)), NOW)
    assert found.verdict is Verdict.WAIT


def test_a_completed_claim_whose_action_record_failed_is_recorded_by_the_redelivery():
    """The claim's completion took, the action record after it did not (and the escalation saying so
    was never published): the completed claim alone would answer every delivery as a duplicate. The
    gate's one commit after a write (`record_all`) cannot leave this; state left by a version before it
    (one call at a time) can."""

    class OneCallAtATime(MemoryStateStore):
        """Such a version's commit: the claim completed, then the action record refused."""

        def record_all(self, writes: Any, completing: Any = None) -> bool:
            if completing is None or not any(write.kind == ACTIONS for write in writes):
                return super().record_all(writes, completing)
            c = completing
            self.complete(c.kind, c.key, c.held.owner, c.retain, c.now, c.result)
            raise TransientError("put_record: UNAVAILABLE")

    state = OneCallAtATime()
    _, b = bad_revision_plan()
    run = RecordingRun(b.service)
    gate = _gate(state)
    result = _execute(gate, run)
    assert result.status is OutcomeStatus.ESCALATED and "could not be recorded" in result.reason
    assert state.get(CLAIMS, KEY).status is ClaimStatus.COMPLETED and state.get_record(ACTIONS, KEY) is None

    intent = IntentRecord.model_validate(state.get_record(INTENTS, intent_key("inc-1", MESSAGE)))
    found = look(intent, False, state.get(CLAIMS, KEY), ACTION, Adapters(run), NOW)
    assert (found.standing, found.verdict) == (Standing.LAPSED, Verdict.RECORD)
    state.__class__ = MemoryStateStore   # the store works again, with record_all, for the redelivery
    _gate(state, owner=f"{MESSAGE}:b").adopt_write(intent, ACTION, found.live, "recorded by the redelivery")
    assert state.get_record(ACTIONS, KEY)["state"] == "pending" and len(run.writes) == 1
    # Once recorded, the intent needs no look: the pipeline passes `recorded=True`.
    assert look(intent, True, state.get(CLAIMS, KEY), ACTION, Adapters(run), NOW).verdict is Verdict.NONE
