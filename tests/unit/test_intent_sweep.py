"""The backstop for an alert's write that no attempt recorded: the intent is closed when its action
is recorded (or everything is given back), and the sweep judges the intents still open once their
claim's lease has lapsed (shared/remediation/intents.py, verification.py). Pure decisions as tables,
then the gate and the sweep on the in-memory store."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from shared.clock import FixedClock, skew_safe_lease
from shared.errors import PermanentError, TransientError
from shared.outcomes import OutcomeStatus
from shared.ports import ClaimRecord, ClaimStatus
from shared.remediation import intents
from shared.remediation.guardrails import CLAIMS, Gate
from shared.remediation.intents import SWEEP_MARGIN, Match, Standing, Verdict, due, look_swept, swept_standing
from shared.remediation.records import ACTIONS, INTENTS, ActionRecord, IntentRecord, IntentState, intent_key
from shared.remediation.verification import MAX_INTENTS_PER_SWEEP, Sweep

from tests.unit.builders import SERVICE
from tests.unit.fakes import FaultyStateStore, MemoryStateStore, RecordingRun
from tests.unit.test_guardrails import ACTION, bad_revision_plan, config
from tests.unit.test_intents import KEY, MESSAGE, NOW, OneAtATime, _crashed_after_the_write, _execute, _gate

LEASE = skew_safe_lease(config().guardrails.claim_ttl_seconds)
LATER = NOW + LEASE + SWEEP_MARGIN + timedelta(seconds=1)   # every claim taken at NOW has lapsed


def _claim(owner: str, status: ClaimStatus = ClaimStatus.CLAIMED, expires_in: int = 600) -> ClaimRecord:
    return ClaimRecord(key=KEY, owner=owner, status=status, claimed_at=NOW, expires_at=NOW + timedelta(seconds=expires_in))


# --- the pure decision ----------------------------------------------------------------------------------

@pytest.mark.parametrize("recorded, claim, expected", [
    (True, _claim(f"{MESSAGE}:a"), Standing.RESOLVED),                          # recorded: close it
    (True, None, Standing.RESOLVED),
    (False, None, Standing.LAPSED),                                             # given back or deleted: look
    (False, _claim(f"{MESSAGE}:a", expires_in=-1), Standing.LAPSED),
    (False, _claim(f"{MESSAGE}:a", ClaimStatus.COMPLETED), Standing.LAPSED),    # completed, never recorded
    (False, _claim("m-2:b"), Standing.HELD),     # another message took it over: it may still write or record
    (False, _claim("sweep:1"), Standing.HELD),   # another sweep adopting it now
    (False, _claim(f"{MESSAGE}:a"), Standing.HELD),
], ids=["recorded-held", "recorded-absent", "absent", "expired", "completed-unrecorded", "other-message",
        "other-sweep", "same-message"])
def test_where_a_swept_intents_claim_stands(recorded, claim, expected):
    assert swept_standing(recorded, claim, NOW) is expected


@pytest.mark.parametrize("age, expected", [
    (LEASE, False), (LEASE + SWEEP_MARGIN, False), (LEASE + SWEEP_MARGIN + timedelta(microseconds=1), True),
    (timedelta(days=2), True)])
def test_an_intent_is_swept_only_once_its_claims_lease_and_the_margin_have_passed(age, expected):
    intent = IntentRecord(incident_id="inc-1", message_id=MESSAGE, owner=f"{MESSAGE}:a", claim_key=KEY,
                          action="rollback_traffic", target=SERVICE, service=SERVICE, noted_at=NOW,
                          state=IntentState.OPEN)
    assert due(intent, NOW + age, LEASE) is expected


@pytest.mark.parametrize("where, live, expected", [
    (Standing.RESOLVED, None, Verdict.NONE),       # the sweep closes it as recorded
    (Standing.HELD, None, Verdict.WAIT),
    (Standing.LAPSED, Match.AFTER, Verdict.RECORD),
    (Standing.LAPSED, Match.BEFORE, Verdict.NONE),  # the sweep closes it as void
    (Standing.LAPSED, Match.NEITHER, Verdict.ESCALATE),
    (Standing.LAPSED, Match.UNKNOWN, Verdict.ESCALATE),
])
def test_the_sweeps_verdicts_are_the_redeliverys(where, live, expected):
    assert intents.verdict(where, live) is expected


def test_an_intent_stored_before_intents_had_a_state_is_guarded_as_it_was_read():
    old = IntentRecord.model_validate({"incident_id": "i", "message_id": "m", "owner": "m:a", "claim_key": KEY,
                                       "action": "rollback_traffic", "target": SERVICE, "service": SERVICE,
                                       "noted_at": NOW})
    assert old.state is None and old.unchanged() == {"owner": "m:a", "state": None}
    assert old.key == intent_key("i", "m")
    command = old.model_copy(update={"command_id": "c-1"})
    assert command.key == "command:c-1"


# --- the gate closes its intent ----------------------------------------------------------------------------

def _intent(state) -> dict[str, Any] | None:
    return state.get_record(INTENTS, intent_key("inc-1", MESSAGE))


@pytest.mark.parametrize("store", [MemoryStateStore, OneAtATime], ids=["all-at-once", "one-at-a-time"])
def test_a_recorded_write_closes_its_intent_in_the_same_commit(store):
    state = store()
    _, b = bad_revision_plan()
    result = _execute(_gate(state), RecordingRun(b.service))
    assert result.status is OutcomeStatus.APPLIED, result.reason
    intent = _intent(state)
    assert intent["state"] == "recorded" and intent["closed_by"] == f"{MESSAGE}:a" and intent["closed_at"] == NOW
    assert IntentRecord.model_validate(intent).claim_key == KEY   # the plan is kept, merged into
    assert state.find_before(INTENTS, "state", "open", "noted_at", LATER) == []


@pytest.mark.parametrize("store", [MemoryStateStore, OneAtATime], ids=["all-at-once", "one-at-a-time"])
@pytest.mark.parametrize("fault, status", [(TransientError("UpdateService: UNAVAILABLE"), None),
                                           (PermanentError("denied", code="PERMISSION_DENIED"), OutcomeStatus.FAILED)])
def test_a_given_back_write_voids_its_intent(store, fault, status):
    state = store()
    _, b = bad_revision_plan()
    run = RecordingRun(b.service, fail_with=fault)
    if status is None:
        with pytest.raises(TransientError):
            _execute(_gate(state), run)
    else:
        assert _execute(_gate(state), run).status is status
    assert _intent(state)["state"] == "void"
    claim = state.get(CLAIMS, KEY)   # a refusal's claim is kept `failed` for the cooldown (Gate._refused)
    assert claim is None if status is None else claim.result["status"] == "failed"


def test_a_give_back_never_closes_another_attempts_plan():
    """Two attempts at one message share the intent's key: the one that gives back closes only its own."""
    state = MemoryStateStore()
    gate = _gate(state)
    proposal, b = bad_revision_plan()
    mine = gate._intent(ACTION, proposal.params, proposal.before, KEY, "inc-1", SERVICE, "", None, NOW)
    theirs = mine.model_copy(update={"owner": f"{MESSAGE}:b"})
    state.put_record(INTENTS, theirs.key, theirs.model_dump(mode="python"))
    gate._void_intent(mine)
    assert _intent(state)["state"] == "open" and _intent(state)["owner"] == f"{MESSAGE}:b"


def test_a_failure_to_void_the_intent_does_not_change_the_answer():
    state = FaultyStateStore(MemoryStateStore())
    _, b = bad_revision_plan()
    state.fail_next("write", 1, method="update_record")
    result = _execute(_gate(state), RecordingRun(b.service, fail_with=PermanentError("denied", code="PERMISSION_DENIED")))
    assert result.status is OutcomeStatus.FAILED and _intent(state)["state"] == "open"   # the sweep closes it


# --- one report, whoever finds it ------------------------------------------------------------------------

def test_two_adopters_of_one_unrecorded_write_record_and_report_it_once():
    state, run = _crashed_after_the_write()
    intent = IntentRecord.model_validate(_intent(state))
    found = intents.look(intent, False, state.get(CLAIMS, KEY), ACTION, _Adapters(state, run, LATER), LATER)
    assert found.verdict is Verdict.RECORD
    first = _gate(state, owner=f"{MESSAGE}:b", clock=FixedClock(LATER)).adopt_write(intent, ACTION, found.live, "r")
    second = _gate(state, owner="sweep:1", message_id=None, clock=FixedClock(LATER)).adopt_write(
        intent, ACTION, found.live, "r")
    assert (first.status, second.status) == (OutcomeStatus.ESCALATED, OutcomeStatus.SKIPPED)
    assert second.reason.startswith("duplicate") and len(run.writes) == 1
    assert state.get_record(ACTIONS, KEY)["state"] == "pending"
    assert _intent(state)["state"] == "recorded" and _intent(state)["closed_by"] == f"{MESSAGE}:b"
    assert state.get(CLAIMS, KEY).status is ClaimStatus.COMPLETED


def test_the_adopter_that_took_the_claim_but_lost_the_record_completes_the_claim():
    """Another adopter, which found the claim held and so wrote the records without it, recorded
    first: the one holding the claim writes nothing and completes the claim as that answer."""
    state, run = _crashed_after_the_write()
    intent = IntentRecord.model_validate(_intent(state))
    state.put_record(ACTIONS, KEY, {"key": KEY, "by": "the other adopter"})
    result = _gate(state, owner="sweep:1", message_id=None, clock=FixedClock(LATER)).adopt_write(
        intent, ACTION, {"traffic": []}, "r")
    assert result.status is OutcomeStatus.SKIPPED and result.reason.startswith("duplicate")
    assert state.get_record(ACTIONS, KEY) == {"key": KEY, "by": "the other adopter"}
    claim = state.get(CLAIMS, KEY)
    assert claim.owner == "sweep:1" and claim.status is ClaimStatus.COMPLETED
    assert claim.result["status"] == "escalated"


def test_two_escalations_of_one_intent_report_it_once():
    state, run = _crashed_after_the_write()
    intent = IntentRecord.model_validate(_intent(state))
    run.service = run.service.model_copy(update={"traffic": (), "traffic_statuses": ()})
    found = intents.look(intent, False, state.get(CLAIMS, KEY), ACTION, _Adapters(state, run, LATER), LATER)
    assert found.verdict is Verdict.ESCALATE
    answers = [intents.answer(found, intent, ACTION, _gate(state, owner=owner, clock=FixedClock(LATER)), "p", "e", "f")
               for owner in (f"{MESSAGE}:b", "sweep:1")]
    assert [a.status for a in answers] == [OutcomeStatus.ESCALATED, OutcomeStatus.SKIPPED]
    assert _intent(state)["state"] == "escalated" and state.get_record(ACTIONS, KEY) is None
    # A later delivery reads it escalated: it does not escalate it again.
    again = IntentRecord.model_validate(_intent(state))
    later = intents.answer(found, again, ACTION, _gate(state, owner=f"{MESSAGE}:c", clock=FixedClock(LATER)), "p", "e", "f")
    assert later.status is OutcomeStatus.SKIPPED and later.reason.startswith("duplicate")


def _escalated_before_the_commit(state: Any) -> list[bool]:
    """The race two judges run when they read the target a moment apart and disagree: the one that
    found neither the state before nor the plan escalates the intent (`claim_escalation`) after the
    one that found the planned change read it, and before that one's commit lands."""
    inner, escalated = state.record_all, []

    def escalate_then_commit(*args: Any, **kwargs: Any) -> bool:
        if not escalated:
            read = IntentRecord.model_validate(_intent(state))
            escalated.append(intents.claim_escalation(state, read, "sweep:other", LATER, "shows neither"))
        return inner(*args, **kwargs)
    state.record_all = escalate_then_commit
    return escalated


def test_an_adopter_whose_intent_was_escalated_before_its_commit_writes_and_reports_nothing():
    state, run = _crashed_after_the_write()
    intent = IntentRecord.model_validate(_intent(state))
    found = intents.look(intent, False, state.get(CLAIMS, KEY), ACTION, _Adapters(state, run, LATER), LATER)
    assert found.verdict is Verdict.RECORD
    escalated = _escalated_before_the_commit(state)

    answer = intents.answer(found, intent, ACTION, _gate(state, owner=f"{MESSAGE}:b", clock=FixedClock(LATER)),
                            "p", "e", "f")

    assert escalated == [True]                        # the other judge's report: the only one
    assert answer.status is OutcomeStatus.SKIPPED and answer.reason.startswith("duplicate"), answer.reason
    assert state.get_record(ACTIONS, KEY) is None and len(run.writes) == 1
    assert _intent(state)["state"] == "escalated" and _intent(state)["closed_by"] == "sweep:other"
    claim = state.get(CLAIMS, KEY)   # the lapsed claim it took over: completed as the other's answer
    assert claim.owner == f"{MESSAGE}:b" and claim.status is ClaimStatus.COMPLETED


def test_the_sweep_adopting_an_intent_escalated_before_its_commit_reports_nothing():
    state, run = _crashed_after_the_write()
    escalated = _escalated_before_the_commit(state)

    assert _sweep(state, run, LATER) == []

    assert escalated == [True]
    assert state.get_record(ACTIONS, KEY) is None and _intent(state)["state"] == "escalated"
    assert _sweep(state, run, LATER + timedelta(seconds=1)) == []     # closed: never judged again


# --- the sweep ------------------------------------------------------------------------------------------------

@dataclass
class _Adapters:
    state: Any
    run: Any
    at: Any

    @property
    def clock(self) -> FixedClock:
        return FixedClock(self.at)

    def readers(self) -> Any:
        raise AssertionError("no action is due for verification in these cases")


def _sweep(state, run, at) -> list:
    return Sweep(config(), _Adapters(state, run, at)).run()


def test_the_sweep_leaves_a_young_intent_to_its_attempt_and_redeliveries():
    state, run = _crashed_after_the_write()
    run.get_service = lambda name: pytest.fail("read the target of an intent that is not due")
    assert _sweep(state, run, LATER - timedelta(seconds=2)) == []
    assert _intent(state)["state"] == "open" and state.get_record(ACTIONS, KEY) is None


def test_the_sweep_records_and_reports_a_write_whose_attempt_died_once():
    state, run = _crashed_after_the_write()
    [outcome] = _sweep(state, run, LATER)
    assert outcome.status is OutcomeStatus.ESCALATED and outcome.incident_id == "inc-1"
    assert "now shows the planned change" in outcome.reason and "Recorded now" in outcome.reason
    assert outcome.action.action_id == KEY and outcome.target == SERVICE
    assert state.get_record(ACTIONS, KEY)["state"] == "pending" and len(run.writes) == 1
    assert _intent(state)["state"] == "recorded"
    assert _sweep(state, run, LATER + timedelta(seconds=1)) == []     # idempotent


def test_the_sweep_voids_an_intent_whose_write_never_took():
    state, run = _crashed_after_the_write()
    run.service = bad_revision_plan()[1].service    # as before the plan: a person put it back, say
    assert _sweep(state, run, LATER) == []
    assert _intent(state)["state"] == "void" and state.get_record(ACTIONS, KEY) is None


def test_the_sweep_escalates_a_target_that_shows_neither_once():
    state, run = _crashed_after_the_write()
    run.service = run.service.model_copy(update={"traffic": (), "traffic_statuses": ()})
    [outcome] = _sweep(state, run, LATER)
    assert outcome.status is OutcomeStatus.ESCALATED and "shows neither" in outcome.reason
    assert _intent(state)["state"] == "escalated" and state.get_record(ACTIONS, KEY) is None
    assert _sweep(state, run, LATER + timedelta(seconds=1)) == []


def test_the_sweep_closes_an_intent_whose_action_was_recorded_by_other_means():
    state, run = _crashed_after_the_write()
    state.put_record(ACTIONS, KEY, {"key": KEY})
    run.get_service = lambda name: pytest.fail("read the target of a recorded intent")
    assert _sweep(state, run, LATER) == []
    assert _intent(state)["state"] == "recorded"


def test_the_sweep_waits_while_a_redelivery_holds_the_claim():
    state, run = _crashed_after_the_write()
    assert state.claim(CLAIMS, KEY, f"{MESSAGE}:b", LEASE, LATER).took_over
    run.get_service = lambda name: pytest.fail("read the target while a claim is held")
    assert _sweep(state, run, LATER) == [] and _intent(state)["state"] == "open"


def test_a_transient_fault_leaves_the_intent_for_the_next_sweep():
    state, run = _crashed_after_the_write()

    def unavailable(name):
        raise TransientError("GetService: UNAVAILABLE")
    run.get_service = unavailable
    assert _sweep(state, run, LATER) == [] and _intent(state)["state"] == "open"
    del run.get_service
    assert [o.status for o in _sweep(state, run, LATER)] == [OutcomeStatus.ESCALATED]


def _page_sizes(state, query: str) -> list[int]:
    """The number of intents each call of the store's `query` answers, from now on (the sweep's
    queries of other records, its pending actions', are not counted)."""
    sizes: list[int] = []
    original = getattr(state, query)

    def counted(*args, **kwargs):
        found = original(*args, **kwargs)
        if (args[0] if args else kwargs.get("kind")) == INTENTS:
            sizes.append(len(found))
        return found
    setattr(state, query, counted)
    return sizes


def test_the_sweep_judges_at_most_a_page_of_intents_oldest_first():
    state, run = _crashed_after_the_write()
    template = IntentRecord.model_validate(_intent(state))
    for i in range(MAX_INTENTS_PER_SWEEP + 5):
        other = template.model_copy(update={"message_id": f"m-{i:03}", "noted_at": NOW - timedelta(seconds=i + 1),
                                            "claim_key": f"{KEY}#{i}"})
        state.put_record(INTENTS, other.key, other.model_dump(mode="python"))
    seen = _page_sizes(state, "find_before")
    _sweep(state, run, LATER)
    assert seen == [MAX_INTENTS_PER_SWEEP]



def test_an_operators_write_never_resent_is_recorded_and_reported_by_the_sweep():
    """An operator's command goes through the same gate: its intent (keyed by its command_id) is
    swept the same way, and the sweep's outcome names the command and who sent it."""
    from shared.commands.context import command_attempts, command_owner
    from shared.remediation.guardrails import Manual, claim_key, command_incident
    from shared.remediation.records import command_intent_key
    from tests.unit.fakes import Adapters

    state = FaultyStateStore(MemoryStateStore())
    proposal, b = bad_revision_plan()
    run, incident = RecordingRun(b.service), command_incident("c-7")
    gate = Gate(config(), state, FixedClock(NOW), owner=command_owner("c-7", "m1"), message_id=command_attempts("c-7"))
    state.fail_next("write", 1, method="record_all")   # its one commit after the write fails ...
    result = gate.execute(ACTION, proposal.params, proposal.before, incident, Adapters(run),
                          manual=Manual("c-7", "alice"))
    assert result.status is OutcomeStatus.ESCALATED and "could not be recorded" in result.reason
    # ... and its answer is never published, nor the command sent again.
    assert state.get_record(INTENTS, command_intent_key("c-7"))["state"] == "open"

    [outcome] = _sweep(state, run, LATER)

    key = claim_key(incident, SERVICE, "rollback_traffic")
    assert outcome.status is OutcomeStatus.ESCALATED and outcome.action.action_id == key
    assert (outcome.command_id, outcome.requested_by, outcome.incident_id) == ("c-7", "alice", incident)
    record = state.get_record(ACTIONS, key)
    assert record["command_id"] == "c-7" and record["state"] == "pending" and len(run.writes) == 1
    assert state.get_record(INTENTS, command_intent_key("c-7"))["state"] == "recorded"


def test_an_intent_for_an_action_this_version_no_longer_has_is_escalated_once():
    state, run = _crashed_after_the_write()
    data = _intent(state) | {"action": "retired_action"}
    state.put_record(INTENTS, intent_key("inc-1", MESSAGE), data)
    [outcome] = _sweep(state, run, LATER)
    assert outcome.status is OutcomeStatus.ESCALATED and "cannot judge it" in outcome.reason
    assert "retired_action" in outcome.reason and _intent(state)["state"] == "escalated"
    assert _sweep(state, run, LATER + timedelta(seconds=1)) == []


def test_a_redelivery_after_the_sweep_escalated_the_intent_never_reports_it_again():
    """The sweep could not tell what the target shows and told a person; the message is still being
    redelivered (its backoff outlasts the sweep's cutoff). Whatever the target shows by then, the
    redelivery answers a duplicate: no second `escalated`, no action record adopted behind the
    person's back, and no fresh write on a target a person was asked to check."""
    state, run = _crashed_after_the_write()
    applied = run.service
    run.service = run.service.model_copy(update={"traffic": (), "traffic_statuses": ()})
    [outcome] = _sweep(state, run, LATER)
    assert outcome.status is OutcomeStatus.ESCALATED and _intent(state)["state"] == "escalated"
    for shows in (applied, bad_revision_plan()[1].service):   # the planned change, the state before
        run.service = shows
        intent = IntentRecord.model_validate(_intent(state))
        later = LATER + timedelta(minutes=5)
        found = intents.look(intent, False, state.get(CLAIMS, KEY), ACTION, _Adapters(state, run, later), later)
        assert found.verdict is Verdict.ESCALATE, found
        answer = intents.answer(found, intent, ACTION, _gate(state, owner=f"{MESSAGE}:c", clock=FixedClock(later)),
                                "p", "e", "f")
        assert answer.status is OutcomeStatus.SKIPPED and answer.reason.startswith("duplicate")
        assert state.get_record(ACTIONS, KEY) is None and _intent(state)["state"] == "escalated"
    assert len(run.writes) == 1


def test_an_intent_this_version_cannot_read_never_stops_the_sweep():
    """An intent whose plan this version's action no longer accepts (its params model changed across
    a deploy) is escalated once, as one whose action is gone; it never makes every sweep fail (the
    oldest, it would come first each time) and take the other intents and outcomes with it."""
    state, run = _crashed_after_the_write()
    template = IntentRecord.model_validate(_intent(state))
    old = template.model_copy(update={"message_id": "m-0", "claim_key": f"{KEY}#old", "params": {"revision": 7},
                                      "noted_at": NOW - timedelta(seconds=30)})
    state.put_record(INTENTS, old.key, old.model_dump(mode="python"))
    outcomes = _sweep(state, run, LATER)
    assert sorted((o.status, o.action.action_id) for o in outcomes) == [
        (OutcomeStatus.ESCALATED, KEY), (OutcomeStatus.ESCALATED, f"{KEY}#old")]
    unreadable = next(o for o in outcomes if o.action.action_id == f"{KEY}#old")
    assert "cannot judge it" in unreadable.reason
    assert state.get_record(INTENTS, old.key)["state"] == "escalated" and _intent(state)["state"] == "recorded"
    assert _sweep(state, run, LATER + timedelta(seconds=1)) == []


def test_an_unrecorded_writes_escalation_says_the_sweep_will_record_it_later():
    """The write's one commit after it failed: the `escalated` outcome must not tell the person the
    verification sweep will never judge the change, since the backstop records it (and the
    verification sweep then verifies or undoes it) once the claim lapses."""
    state = FaultyStateStore(MemoryStateStore())
    _, b = bad_revision_plan()
    run = RecordingRun(b.service)
    state.fail_next("write", 1, method="record_all")
    result = _execute(_gate(state), run)
    assert result.status is OutcomeStatus.ESCALATED and "could not be recorded" in result.reason
    assert "will not judge it" not in result.reason and "once this attempt's claim lapses" in result.reason
    [outcome] = _sweep(state, run, LATER)
    assert "Recorded now for the verification sweep" in outcome.reason


def test_an_attempt_held_back_by_another_incidents_cooldown_leaves_no_intent_for_the_sweep_to_adopt():
    """Two incidents on one service plan the same rollback. Y read the gate's state before X took the
    target's cooldown: Y's one commit fails, its intent already stored, and on the one-at-a-time path
    Y is held back by X's cooldown; nothing of Y's was written. The target now shows Y's planned
    change, made by X: the sweep must not adopt it as Y's write (a second action record, a pin
    taken from X's action, and a false `escalated` saying Y's attempt wrote it)."""
    from shared.remediation.guardrails import PINS, claim_key
    from shared.remediation.records import intent_key as key_of
    from tests.unit.fakes import Adapters

    state = MemoryStateStore()
    proposal, b = bad_revision_plan()
    run = RecordingRun(b.service)
    y = Gate(config(), state, FixedClock(NOW), owner="m-y:a", message_id="m-y")
    reads = y.read_ahead(SERVICE, NOW)          # before X takes the cooldown
    x = Gate(config(), state, FixedClock(NOW), owner="m-x:a", message_id="m-x")
    assert x.execute(ACTION, proposal.params, proposal.before, "inc-x", Adapters(run),
                     service=SERVICE).status is OutcomeStatus.APPLIED
    held_back = y.execute(ACTION, proposal.params, proposal.before, "inc-y", Adapters(run), service=SERVICE,
                          reads=reads)
    assert held_back.status is OutcomeStatus.SKIPPED and "cooldown" in held_back.reason, held_back.reason
    assert len(run.writes) == 1

    outcomes = Sweep(config(), _Adapters(state, run, LATER))._unrecorded_intents()

    assert outcomes == []
    assert state.get_record(ACTIONS, claim_key("inc-y", SERVICE, "rollback_traffic")) is None
    assert state.get_record(PINS, SERVICE)["action_id"] == claim_key("inc-x", SERVICE, "rollback_traffic")
    assert state.get_record(INTENTS, key_of("inc-y", "m-y"))["state"] == "void"


@pytest.mark.parametrize("fault", [TransientError("RunQuery: UNAVAILABLE"),
                                   PermanentError("RunQuery: the query requires an index", code="FAILED_PRECONDITION")],
                         ids=["transient", "permanent"])
def test_a_failed_query_of_open_intents_never_loses_the_sweeps_other_outcomes(fault):
    """The intents are the sweep's last step: by then it has moved actions (verified, escalated, undone)
    by guarded updates that never happen again. A fault of the query (Firestore unavailable, or the
    composite index still building after a deploy) must not take those outcomes with it; a permanent
    one is itself reported."""
    from shared.remediation.records import ActionRecord

    state = MemoryStateStore()
    done = ActionRecord(key="inc-9|svc|rollback_traffic", incident_id="inc-9", target=SERVICE, service=SERVICE,
                        action="rollback_traffic", signature="bad_revision", reversible=True, applied_at=NOW,
                        settle_at=NOW, deadline_at=LATER)
    state.put_record(ACTIONS, done.key, done.model_dump(mode="python") | {"state": "pending"})

    original = state.find_before

    def find_before(kind, *args, **kwargs):
        if kind == INTENTS:     # the intents' query fails; the pending actions' is read
            raise fault
        return original(kind, *args, **kwargs)
    state.find_before = find_before

    class _Unreadable(_Adapters):    # the action's evidence cannot be read: escalated at its deadline
        def readers(self) -> Any:
            raise PermanentError("ListTimeSeries: denied", code="PERMISSION_DENIED")
    outcomes = Sweep(config(), _Unreadable(state, RecordingRun(bad_revision_plan()[1].service), LATER)).run()
    assert outcomes[0].status is OutcomeStatus.ESCALATED and outcomes[0].incident_id == "inc-9"
    if isinstance(fault, PermanentError):
        [failed] = outcomes[1:]
        assert failed.status is OutcomeStatus.FAILED and "open intents" in failed.reason and "index" in failed.reason
    else:
        assert outcomes[1:] == []


def test_a_permanent_fault_judging_one_intent_never_stops_the_sweep():
    state, run = _crashed_after_the_write()
    template = IntentRecord.model_validate(_intent(state))
    newer = template.model_copy(update={"message_id": "m-9", "claim_key": f"{KEY}#9",
                                        "noted_at": NOW + timedelta(seconds=1)})
    state.put_record(INTENTS, newer.key, newer.model_dump(mode="python"))
    original = state.get_many

    def get_many(keys):
        if (ACTIONS, KEY) in keys:
            raise PermanentError("BatchGetDocuments: denied", code="PERMISSION_DENIED")
        return original(keys)
    state.get_many = get_many
    [outcome] = _sweep(state, run, LATER + timedelta(seconds=1))
    assert outcome.action.action_id == f"{KEY}#9" and outcome.status is OutcomeStatus.ESCALATED
    assert _intent(state)["state"] == "open"     # judged by a later sweep, once it can be read


def test_an_operators_write_whose_completion_is_unknown_is_recorded_as_the_operators():
    """OutcomeUnknown: the write is recorded for the sweep as any other, and, like any other
    operator's write, names the command and who sent it (the sweep's outcomes about it do)."""
    from shared.commands.context import command_attempts, command_owner
    from shared.errors import OutcomeUnknownError
    from shared.remediation.guardrails import Manual, claim_key, command_incident
    from tests.unit.fakes import Adapters

    state = MemoryStateStore()
    proposal, b = bad_revision_plan()
    run, incident = RecordingRun(b.service, fail_with=OutcomeUnknownError("UpdateService: not followed")), \
        command_incident("c-8")
    gate = Gate(config(), state, FixedClock(NOW), owner=command_owner("c-8", "m1"), message_id=command_attempts("c-8"))
    result = gate.execute(ACTION, proposal.params, proposal.before, incident, Adapters(run),
                          manual=Manual("c-8", "bob"))
    assert result.status is OutcomeStatus.ESCALATED and "could not be confirmed" in result.reason
    record = state.get_record(ACTIONS, claim_key(incident, SERVICE, "rollback_traffic"))
    assert (record["command_id"], record["requested_by"]) == ("c-8", "bob")


def _held_back_race(state):
    """X takes the target's cooldown after Y read the gate's state: Y's one commit will fail."""
    from tests.unit.fakes import Adapters

    proposal, b = bad_revision_plan()
    run = RecordingRun(b.service)
    y = Gate(config(), state, FixedClock(NOW), owner="m-y:a", message_id="m-y")
    reads = y.read_ahead(SERVICE, NOW)
    x = Gate(config(), state, FixedClock(NOW), owner="m-x:a", message_id="m-x")
    assert x.execute(ACTION, proposal.params, proposal.before, "inc-x", Adapters(run),
                     service=SERVICE).status is OutcomeStatus.APPLIED
    return lambda: y.execute(ACTION, proposal.params, proposal.before, "inc-y", Adapters(run), service=SERVICE,
                             reads=reads)


@pytest.mark.parametrize("fault", ["claim_all", "claim", "check"])
def test_an_attempt_that_fails_before_its_write_leaves_its_stored_intent_void(fault):
    """Whatever fails between storing the intent ahead and the write (the one commit, the claim on
    the one-at-a-time path, the check before the write), nothing was written: the intent is void,
    so that neither a redelivery nor the sweep takes a change someone else made for this attempt's."""
    from shared.remediation.records import intent_key as key_of

    state = FaultyStateStore(MemoryStateStore())
    if fault == "claim_all":
        state.fail_next("claim", 1, method="claim_all")
        attempt = _gate(state).execute
        proposal, b = bad_revision_plan()
        from tests.unit.fakes import Adapters
        call = lambda: attempt(ACTION, proposal.params, proposal.before, "inc-1", Adapters(RecordingRun(b.service)),
                               service=SERVICE)
        key = key_of("inc-1", MESSAGE)
    elif fault == "claim":
        call = _held_back_race(state)
        state.fail_next("claim", 1, method="claim")
        key = key_of("inc-y", "m-y")
    else:
        proposal, b = bad_revision_plan()
        from tests.unit.fakes import Adapters
        gate = _gate(state)
        reads = gate.read_ahead(SERVICE, NOW)
        state.fail_next("read", 1, method="get_many")    # the gate's check right before the write
        call = lambda: gate.execute(ACTION, proposal.params, proposal.before, "inc-1",
                                    Adapters(RecordingRun(b.service)), service=SERVICE, reads=reads)
        key = key_of("inc-1", MESSAGE)
    with pytest.raises(TransientError):
        call()
    intent = state.get_record(INTENTS, key)
    assert intent is None or intent["state"] == "void", intent


# --- intents an earlier version stored without a state ------------------------------------------------------

def _stateless(state, data: dict[str, Any]) -> None:
    """The intent as an earlier version stored it: no `state`, `closed_at`, `closed_by` or `note`."""
    state.put_record(INTENTS, IntentRecord.model_validate(data).key,
                     {k: v for k, v in data.items() if k not in ("state", "closed_at", "closed_by", "note")})


def test_a_write_whose_intent_an_earlier_version_stored_is_recorded_and_reported_by_the_sweep():
    """Upgrading with an unrecorded write in flight: its intent has no state, so the open query never
    finds it; the sweep's walk by `noted_at` opens it, and the same sweep records and reports it."""
    state, run = _crashed_after_the_write()
    _stateless(state, _intent(state))
    assert "state" not in _intent(state)
    assert state.find_before(INTENTS, "state", "open", "noted_at", LATER) == []   # what the old sweep saw

    [outcome] = _sweep(state, run, LATER)

    assert outcome.status is OutcomeStatus.ESCALATED and "Recorded now" in outcome.reason
    assert state.get_record(ACTIONS, KEY)["state"] == "pending" and len(run.writes) == 1
    assert _intent(state)["state"] == "recorded"
    assert _sweep(state, run, LATER + timedelta(seconds=1)) == []


def test_the_walk_opens_only_intents_without_a_state_and_never_one_a_judge_changed_since():
    state, run = _crashed_after_the_write()
    template = IntentRecord.model_validate(_intent(state))
    closed = template.model_copy(update={"message_id": "m-closed", "claim_key": f"{KEY}#c",
                                         "state": IntentState.VOID, "noted_at": NOW - timedelta(seconds=5)})
    state.put_record(INTENTS, closed.key, closed.model_dump(mode="python"))
    _stateless(state, _intent(state))
    sweep = Sweep(config(), _Adapters(state, run, LATER))
    original = state.update_record

    def a_judge_first(kind, key, changes, expect=None):
        if changes == {"state": "open"}:   # a redelivery of the earlier version's message escalated it just now
            original(kind, key, {"state": "escalated", "closed_by": f"{MESSAGE}:b"}, expect={"state": None})
        return original(kind, key, changes, expect)
    state.update_record = a_judge_first

    sweep._stateless_intents(intents.cutoff(LATER, LEASE))

    assert _intent(state)["state"] == "escalated" and _intent(state)["closed_by"] == f"{MESSAGE}:b"
    assert state.get_record(INTENTS, closed.key)["state"] == "void"


def test_the_walk_reads_a_bounded_page_a_sweep_and_misses_none():
    from shared.remediation.records import SWEEP_MARKS
    from shared.remediation.verification import MAX_STATELESS_PER_SWEEP, STATELESS_CURSOR

    state, run = _crashed_after_the_write()
    template = _intent(state)
    total = MAX_STATELESS_PER_SWEEP + 7
    for i in range(total):   # some stored at the same instant, across the page's end
        _stateless(state, template | {"message_id": f"m-{i:03}", "claim_key": f"{KEY}#{i}",
                                      "noted_at": NOW - timedelta(seconds=200 - i // 3)})
    reads = _page_sizes(state, "find_between")
    sweep = Sweep(config(), _Adapters(state, run, LATER))

    sweep._stateless_intents(intents.cutoff(LATER, LEASE))
    opened = [d for (k, _), d in state.documents.items() if k == INTENTS and d.get("state") == "open"]
    assert reads == [MAX_STATELESS_PER_SWEEP] and len(opened) == MAX_STATELESS_PER_SWEEP + 1   # + the template's
    sweep._stateless_intents(intents.cutoff(LATER, LEASE))
    opened = [d for (k, _), d in state.documents.items() if k == INTENTS and d.get("state") == "open"]
    assert len(opened) == total + 1 and reads[1] < MAX_STATELESS_PER_SWEEP
    assert state.get_record(SWEEP_MARKS, STATELESS_CURSOR)["cursor"] == intents.cutoff(LATER, LEASE)
    sweep._stateless_intents(intents.cutoff(LATER, LEASE))
    assert len(reads) == 2    # caught up: nothing before the cutoff is read again


def test_a_fault_walking_the_intents_leaves_the_bookmark_and_never_stops_the_sweep():
    state, run = _crashed_after_the_write()
    _stateless(state, _intent(state))
    state.fail_next("read", 1, method="find_between")
    assert _sweep(state, run, LATER) == [] and "state" not in _intent(state)
    [outcome] = _sweep(state, run, LATER + timedelta(seconds=1))
    assert outcome.status is OutcomeStatus.ESCALATED and _intent(state)["state"] == "recorded"


# --- a change another record owns --------------------------------------------------------------------------

def _killed_before_its_write(state, x_records: bool = True, x_after: int = 20):
    """Y stored its intent and was killed before writing (nothing of it given back, nothing voided);
    X, another incident's attempt, then made the very change Y planned. With `x_records` False, X
    wrote and has not recorded yet (still running, or died after its write)."""
    from shared.remediation.guardrails import claim_key
    from tests.unit.fakes import Adapters

    proposal, b = bad_revision_plan()
    run = RecordingRun(b.service)
    y = Gate(config(), state, FixedClock(NOW), owner="m-y:a", message_id="m-y")
    intent = y._intent(ACTION, proposal.params, proposal.before, claim_key("inc-y", SERVICE, "rollback_traffic"),
                       "inc-y", SERVICE, "bad_revision", None, NOW)
    state.put_record(INTENTS, intent.key, intent.model_dump(mode="python"))
    x = Gate(config(), state, FixedClock(NOW + timedelta(seconds=x_after)), owner="m-x:a", message_id="m-x")
    if not x_records:
        inner = state.record_all

        def crash(*args, **kwargs):
            raise KeyboardInterrupt()
        state.record_all = crash
    try:
        x.execute(ACTION, proposal.params, proposal.before, "inc-x", Adapters(run), service=SERVICE,
                  signature="bad_revision")
    except KeyboardInterrupt:
        state.record_all = inner
    assert len(run.writes) == 1
    return run, intent


@pytest.mark.parametrize("x_after", [20, -20], ids=["x-after-y-planned", "x-before-y-planned"])
@pytest.mark.parametrize("x_records", [True, False], ids=["x-recorded", "x-in-flight"])
def test_the_sweep_never_takes_another_incidents_identical_change_for_a_killed_attempts_write(x_records, x_after):
    """The target shows Y's planned change, but X made it: Y's intent must not be adopted (a second
    action record, X's pin taken over, a report saying Y's attempt wrote it). X's action record, or
    X's cooldown taken after Y planned, owns the change: Y's intent is escalated with that evidence."""
    from shared.remediation.guardrails import PINS, claim_key

    state = MemoryStateStore()
    run, intent = _killed_before_its_write(state, x_records, x_after)
    x_key = claim_key("inc-x", SERVICE, "rollback_traffic")

    outcomes = Sweep(config(), _Adapters(state, run, LATER))._unrecorded_intents()   # X's verification aside

    [escalated] = [o for o in outcomes if o.incident_id == "inc-y"]
    assert escalated.status is OutcomeStatus.ESCALATED and "Recorded now" not in escalated.reason, escalated.reason
    assert ("m-x:a" in escalated.reason if not x_records else x_key in escalated.reason), escalated.reason
    assert state.get_record(ACTIONS, intent.claim_key) is None and len(run.writes) == 1
    assert state.get_record(INTENTS, intent.key)["state"] == "escalated"
    later = Sweep(config(), _Adapters(state, run, LATER + timedelta(seconds=30)))._unrecorded_intents()
    assert [o for o in later if o.incident_id == "inc-y"] == []
    # X's write is X's: recorded by X, or else adopted from X's own intent once X's claim lapsed.
    assert state.get_record(ACTIONS, x_key) is not None and state.get_record(PINS, SERVICE)["action_id"] == x_key
    if not x_records:
        [adopted] = [o for o in outcomes + later if o.incident_id == "inc-x"]
        assert "Recorded now" in adopted.reason, adopted.reason


def test_a_killed_attempts_own_cooldown_and_no_other_record_still_let_the_sweep_record_its_write():
    """The evidence is another owner's: the attempt's own cooldown, or an older record of the same
    change (before this plan's lease), never keeps its own write from being recorded."""
    from shared.remediation.records import ActionRecord

    state, run = _crashed_after_the_write()
    old = ActionRecord(key="inc-0|svc|rollback_traffic", incident_id="inc-0", target=SERVICE, service=SERVICE,
                       action="rollback_traffic", signature="bad_revision", reversible=True,
                       params=IntentRecord.model_validate(_intent(state)).params,
                       applied_at=NOW - timedelta(days=2), settle_at=NOW, deadline_at=NOW, state="verified")
    state.put_record(ACTIONS, old.key, old.model_dump(mode="python") | {"state": "verified"})
    [outcome] = _sweep(state, run, LATER)
    assert "Recorded now" in outcome.reason and state.get_record(ACTIONS, KEY)["state"] == "pending"


# --- the sweep's report is kept until published ---------------------------------------------------------------

class _Published:
    """The handler's publish: fails while told to (Pub/Sub unavailable), else keeps what it published."""

    def __init__(self, failures: int = 0) -> None:
        self.failures, self.outcomes = failures, []

    def __call__(self, outcome):
        if self.failures:
            self.failures -= 1
            raise TransientError("Publish: 503 UNAVAILABLE")
        self.outcomes.append(outcome)
        return outcome


def _swept_and_published(state, run, at, publish: _Published):
    sweep = Sweep(config(), _Adapters(state, run, at))
    outcomes = sweep.run()
    try:
        return sweep.publish(outcomes, publish)
    except TransientError:
        return None


@pytest.mark.parametrize("shows", ["planned", "neither"])
def test_a_report_whose_publish_failed_is_published_by_the_next_sweep_once(shows):
    """The sweep recorded (or escalated) the intent and its `escalated` publish failed: the intent is
    closed, but the report is kept in it, pending, and the retried sweep publishes the very same
    outcome; later sweeps publish nothing more."""
    state, run = _crashed_after_the_write()
    if shows == "neither":
        run.service = run.service.model_copy(update={"traffic": (), "traffic_statuses": ()})
    publish = _Published(failures=1)

    assert _swept_and_published(state, run, LATER, publish) is None      # the publish failed: the sweep raised
    intent = _intent(state)
    assert intent["state"] in ("recorded", "escalated") and intent["report_state"] == "pending"
    assert intent["report_by"] == "" and publish.outcomes == []          # given back for the next sweep

    [again] = _swept_and_published(state, run, LATER + timedelta(seconds=10), publish)

    assert again.status is OutcomeStatus.ESCALATED and again.outcome_id == json_id(intent["report"])
    assert _intent(state)["report_state"] == "sent"
    assert _swept_and_published(state, run, LATER + timedelta(seconds=20), publish) == []
    assert publish.outcomes == [again] and len(run.writes) == 1


def json_id(report: str) -> str:
    import json
    return json.loads(report)["outcome_id"]


def test_a_published_report_is_marked_sent_and_never_published_again():
    state, run = _crashed_after_the_write()
    publish = _Published()
    [outcome] = _swept_and_published(state, run, LATER, publish)
    assert _intent(state)["report_state"] == "sent" and json_id(_intent(state)["report"]) == outcome.outcome_id
    later = LATER + LEASE + timedelta(minutes=1)        # past any hold: still nothing to publish
    sweep = Sweep(config(), _Adapters(state, run, later))
    assert sweep._unsent_reports() == []


def test_a_report_held_by_a_sweep_that_died_is_published_once_its_hold_lapses():
    state, run = _crashed_after_the_write()
    [made] = Sweep(config(), _Adapters(state, run, LATER)).run()     # the instance dies before publishing
    assert _intent(state)["report_state"] == "pending" and _intent(state)["report_by"].startswith("sweep:")
    assert Sweep(config(), _Adapters(state, run, LATER + timedelta(minutes=5)))._unsent_reports() == []   # held
    [retried] = Sweep(config(), _Adapters(state, run, LATER + LEASE + timedelta(seconds=1)))._unsent_reports()
    assert retried.to_json() == made.to_json()     # the very outcome, byte for byte: the same outcome_id


def test_two_sweeps_that_read_an_unsent_report_at_once_publish_it_once():
    state, run = _crashed_after_the_write()
    assert _swept_and_published(state, run, LATER, _Published(failures=1)) is None
    read = IntentRecord.model_validate(_intent(state))
    at = LATER + timedelta(seconds=10)
    taken = [intents.take_report(state, read, owner, at, LEASE) for owner in ("sweep:a", "sweep:b")]
    assert taken == [True, False] and _intent(state)["report_by"] == "sweep:a"
    assert not intents.report_sent(state, read.key, "sweep:b", at)       # only the holder marks it
    assert intents.report_sent(state, read.key, "sweep:a", at) and _intent(state)["report_state"] == "sent"


def test_a_failed_publish_never_stops_the_sweeps_other_outcomes():
    """One outcome's publish fails: the others are still published, then the sweep raises (Pub/Sub
    delivers it again); the failed one's report is kept for that retry."""
    state, run = _crashed_after_the_write()
    template = IntentRecord.model_validate(_intent(state))
    other = template.model_copy(update={"message_id": "m-9", "claim_key": f"{KEY}#9", "action": "retired_action",
                                        "noted_at": NOW + timedelta(seconds=1)})
    state.put_record(INTENTS, other.key, other.model_dump(mode="python"))
    publish = _Published(failures=1)
    assert _swept_and_published(state, run, LATER + timedelta(seconds=2), publish) is None
    assert len(publish.outcomes) == 1
    states = sorted(state.get_record(INTENTS, k)["report_state"] for k in (template.key, other.key))
    assert states == ["pending", "sent"]
    [retried] = _swept_and_published(state, run, LATER + timedelta(seconds=3), publish)
    assert len(publish.outcomes) == 2 and retried.outcome_id not in {o.outcome_id for o in publish.outcomes[:1]}


def test_a_report_this_version_cannot_read_never_keeps_the_others_from_being_published():
    """A pending report stored by another version (its outcome no longer fits this one's model) is
    replaced by an `escalated` naming it; the unsent reports after it in the same page are still
    published, and a failed publish of either is retried by the next sweep as the same outcome."""
    state, run = _crashed_after_the_write()
    template = IntentRecord.model_validate(_intent(state))
    unreadable = template.model_copy(update={"message_id": "m-0", "claim_key": f"{KEY}#0", "state": IntentState.ESCALATED,
                                             "report": '{"status": "no such status"}', "report_state": "pending"})
    documents = dict(state.documents)
    state.documents.clear()            # the unreadable one first, as the query's order may put it
    state.put_record(INTENTS, unreadable.key, unreadable.model_dump(mode="python"))
    state.documents.update(documents)
    publish = _Published(failures=1)
    assert _swept_and_published(state, run, LATER, publish) is None     # the replacement's publish failed
    replaced = state.get_record(INTENTS, unreadable.key)
    assert replaced["report_state"] == "pending" and "cannot read it" in replaced["report"]
    assert [json_id(_intent(state)["report"])] == [o.outcome_id for o in publish.outcomes]

    [again] = _swept_and_published(state, run, LATER + timedelta(seconds=10), publish)
    assert again.outcome_id == json_id(replaced["report"]) and again.status is OutcomeStatus.ESCALATED
    assert state.get_record(INTENTS, unreadable.key)["report_state"] == "sent"


def test_reports_this_version_cannot_read_are_replaced_and_never_fill_the_page():
    """A full page of pending reports stored by another version (their outcomes do not fit this one's
    model): each is replaced by an `escalated` naming its intent, published once and marked sent, so
    that the report queued behind them (its publish failed) is published by the next sweep."""
    from shared.remediation.verification import MAX_INTENTS_PER_SWEEP

    state, run = _crashed_after_the_write()
    assert _swept_and_published(state, run, LATER, _Published(failures=1)) is None
    main = _intent(state)
    assert main["report_state"] == "pending" and main["report_by"] == ""
    template = IntentRecord.model_validate(main)
    documents = dict(state.documents)
    state.documents.clear()            # the unreadable ones first, as the query's order may put them
    unreadable = [template.model_copy(update={"message_id": f"m-x{i}", "claim_key": f"{KEY}#x{i}",
                                              "state": IntentState.ESCALATED, "report_state": "pending",
                                              "report": '{"status": "no such status"}'})
                  for i in range(MAX_INTENTS_PER_SWEEP)]
    for intent in unreadable:
        state.put_record(INTENTS, intent.key, intent.model_dump(mode="python"))
    state.documents.update(documents)

    publish = _Published()
    replaced = _swept_and_published(state, run, LATER + timedelta(seconds=10), publish)
    assert len(replaced) == MAX_INTENTS_PER_SWEEP
    assert all(o.status is OutcomeStatus.ESCALATED and "cannot read it" in o.reason for o in replaced)
    assert {o.action.action_id for o in replaced} == {i.claim_key for i in unreadable}
    assert all(state.get_record(INTENTS, i.key)["report_state"] == "sent" for i in unreadable)

    [again] = _swept_and_published(state, run, LATER + timedelta(seconds=20), publish)
    assert again.outcome_id == json_id(main["report"])
    later = Sweep(config(), _Adapters(state, run, LATER + LEASE + timedelta(minutes=1)))   # past every hold
    assert later._unsent_reports() == []
    assert len(publish.outcomes) == MAX_INTENTS_PER_SWEEP + 1 and len(run.writes) == 1


def _unreadable_first(state, count: int = 1) -> list[str]:
    """`count` open intents this version cannot read (`target` null, as another version might store it),
    put first, as the query's order may put them: their keys."""
    template = IntentRecord.model_validate(_intent(state))
    documents = dict(state.documents)
    state.documents.clear()
    keys = []
    for i in range(count):
        keys.append(intent_key(template.incident_id, f"m-x{i}"))
        state.put_record(INTENTS, keys[-1], template.model_dump(mode="python") | {
            "message_id": f"m-x{i}", "claim_key": f"{KEY}#x{i}", "target": None})
    state.documents.update(documents)
    return keys


def test_an_open_intent_this_version_cannot_read_is_escalated_once_and_never_stops_the_sweep():
    """An open intent whose fields do not fit this version's model (or whose claim does not), past its
    lease: escalated once, naming it, with nothing written; the intents after it are still judged."""
    state, run = _crashed_after_the_write()
    [key] = _unreadable_first(state)
    outcomes = _sweep(state, run, LATER)
    assert sorted(o.action.action_id for o in outcomes) == [KEY, f"{KEY}#x0"]
    unreadable = next(o for o in outcomes if o.action.action_id == f"{KEY}#x0")
    assert unreadable.status is OutcomeStatus.ESCALATED and f"the intent {key}" in unreadable.reason
    assert "cannot read it" in unreadable.reason and "nothing is written" in unreadable.reason
    assert state.get_record(INTENTS, key)["state"] == "escalated" and len(run.writes) == 1
    assert state.get_record(ACTIONS, KEY)["state"] == "pending"
    assert _sweep(state, run, LATER + timedelta(seconds=1)) == []


def test_open_intents_this_version_cannot_read_never_hold_the_page_and_their_reports_are_kept():
    """A full page of unreadable open intents, the first sweep's publish failing: each escalation is
    kept in its (unreadable) intent and published by the next sweep, once; the readable intent behind
    them is judged by then too."""
    state, run = _crashed_after_the_write()
    keys = _unreadable_first(state, MAX_INTENTS_PER_SWEEP)
    publish = _Published(failures=1)
    assert _swept_and_published(state, run, LATER, publish) is None
    assert all(state.get_record(INTENTS, k)["state"] == "escalated" for k in keys)
    assert _intent(state)["state"] == "open"                           # behind the full page
    again = _swept_and_published(state, run, LATER + timedelta(seconds=10), publish)
    assert {o.action.action_id for o in publish.outcomes} >= {f"{KEY}#x{i}" for i in range(MAX_INTENTS_PER_SWEEP)}
    assert all(state.get_record(INTENTS, k)["report_state"] == "sent" for k in keys)
    assert KEY in {o.action.action_id for o in again} and len(run.writes) == 1
    assert len(publish.outcomes) == len({o.outcome_id for o in publish.outcomes}) == MAX_INTENTS_PER_SWEEP + 1


# --- the sweep's other kept outcomes: a pin's reminder, a log-based incident's resolved ------------------------

def _kept_elsewhere(report: str, pinned: bool = True, incident: bool = True, state=None):
    """A young pin (no reminder due) and a closed log-based incident, each with a report kept pending and
    held by no sweep, as an earlier sweep whose publish failed leaves them: (the store, the Run adapter)."""
    from shared.remediation.records import INCIDENTS, PINS, IncidentRecord, PinRecord

    state = state if state is not None else MemoryStateStore()
    run = RecordingRun(bad_revision_plan()[1].service)
    kept = {"report": report, "report_state": "pending", "report_by": "", "report_until": None}
    pin = PinRecord(service=SERVICE, revision="svc-00001-abc", action_id=KEY, pinned_at=LATER, pinned=pinned,
                    released_by="" if pinned else "alice@example.com")
    state.put_record(PINS, pin.key, pin.model_dump(mode="python") | kept)
    if incident:
        closed = IncidentRecord(incident_id="inc-9", target=SERVICE, log_based=True, opened_at=NOW, state="closed")
        state.put_record(INCIDENTS, closed.key, closed.model_dump(mode="python") | kept)
    return state, run


def test_a_pins_or_incidents_kept_report_this_version_cannot_read_is_replaced_by_an_escalation():
    from shared.remediation.records import INCIDENTS, PINS

    state, run = _kept_elsewhere('{"status": "no such status"}')
    publish = _Published()
    replaced = _swept_and_published(state, run, LATER, publish)
    assert sorted(o.status.value for o in replaced) == ["escalated", "escalated"]
    reasons = " | ".join(o.reason for o in replaced)
    assert "the pin of " + SERVICE in reasons and "log-based incident inc-9" in reasons and "cannot read it" in reasons
    assert state.get_record(PINS, SERVICE)["report_state"] == "sent"
    assert state.get_record(INCIDENTS, "inc-9")["report_state"] == "sent"
    assert _swept_and_published(state, run, LATER + timedelta(seconds=10), publish) == []


@pytest.mark.parametrize("pinned", [True, False])
def test_a_kept_reminder_is_published_once_unless_its_pin_was_released_since(pinned):
    from shared.outcomes import Outcome, Timestamps
    from shared.remediation.records import PINS

    reminder = Outcome(trigger="command", target=SERVICE, status=OutcomeStatus.REMINDER, reason="pinned for 25.0 h",
                       timestamps=Timestamps(received_at=NOW, completed_at=NOW))
    state, run = _kept_elsewhere(reminder.to_json().decode(), pinned=pinned, incident=False)
    publish = _Published()
    published = _swept_and_published(state, run, LATER, publish)
    assert [o.outcome_id for o in published] == ([reminder.outcome_id] if pinned else [])
    assert state.get_record(PINS, SERVICE)["report_state"] == ("sent" if pinned else "dropped")
    assert _swept_and_published(state, run, LATER + timedelta(seconds=10), publish) == []


@pytest.mark.parametrize("query", [("actions", "state"), ("incidents", "state"), ("pins", "pinned")])
def test_a_step_whose_query_meets_a_transient_fault_never_holds_back_the_outcomes_before_it(query):
    """The sweep publishes an incident's kept `resolved` first; a later step's query then fails
    (UNAVAILABLE): that step waits for the next sweep, and the kept outcome is still published now,
    not held until its hold lapses."""
    from shared.outcomes import Outcome, Timestamps

    class _OneQueryDown(MemoryStateStore):
        def find_records(self, kind, field, value, limit=100):
            if (kind, field) == query:
                raise TransientError("RunQuery: 503 UNAVAILABLE")
            return super().find_records(kind, field, value, limit)

    resolved = Outcome(incident_id="inc-9", trigger="command", status=OutcomeStatus.RESOLVED, reason="closed",
                       timestamps=Timestamps(received_at=NOW, completed_at=NOW))
    state, run = _kept_elsewhere(resolved.to_json().decode(), state=_OneQueryDown())
    state.update_record("pins", SERVICE, {"report_state": "sent"})      # the incident's report alone
    publish = _Published()
    assert [o.outcome_id for o in _swept_and_published(state, run, LATER, publish)] == [resolved.outcome_id]
    assert state.get_record("incidents", "inc-9")["report_state"] == "sent"


def test_an_attempt_that_finds_the_incident_claimed_by_another_message_leaves_its_intent_void():
    """Found by `make soak` (two deliveries of one incident under distinct message ids, at once): Y read
    the gate's state, X claimed the incident meanwhile, so Y's one commit (its intent stored ahead)
    found the claim taken and the one-at-a-time claim answered a duplicate. Y wrote nothing, but its
    intent was left open: once the lease lapsed the sweep escalated it as 'may have been written by
    the attempt that planned it', once per such loser, beside X's own answer."""
    from shared.remediation.records import intent_key as key_of
    from tests.unit.fakes import Adapters

    state = MemoryStateStore()
    proposal, b = bad_revision_plan()
    run = RecordingRun(b.service)
    y = Gate(config(), state, FixedClock(NOW), owner="m-y:a", message_id="m-y")
    reads = y.read_ahead(SERVICE, NOW)
    x = Gate(config(), state, FixedClock(NOW), owner="m-x:a", message_id="m-x")
    assert x.execute(ACTION, proposal.params, proposal.before, "inc-1", Adapters(run),
                     service=SERVICE).status is OutcomeStatus.APPLIED
    result = y.execute(ACTION, proposal.params, proposal.before, "inc-1", Adapters(run), service=SERVICE, reads=reads)
    assert result.status is OutcomeStatus.SKIPPED and result.reason.startswith("duplicate"), result.reason
    intent = state.get_record(INTENTS, key_of("inc-1", "m-y"))
    assert intent is None or intent["state"] == "void", intent


@pytest.mark.parametrize("status", [OutcomeStatus.VERIFIED, OutcomeStatus.UNDONE, OutcomeStatus.ESCALATED])
def test_a_sweep_verdict_names_the_action_record_it_is_about(status):
    state = MemoryStateStore()
    _, b = bad_revision_plan()
    assert _execute(_gate(state), RecordingRun(b.service)).status is OutcomeStatus.APPLIED
    record = ActionRecord.model_validate(state.get_record(ACTIONS, KEY))
    outcome = Sweep(config(), _Adapters(state, None, LATER))._outcome(record, status, "judged")
    assert outcome.action.action_id == KEY == record.key
    assert json.loads(outcome.model_dump_json(by_alias=True))["action"]["action_id"] == KEY


@pytest.mark.parametrize("race", ["claimed by another message", "held back by another incident's cooldown",
                                  "the claim after it fails"])
def test_an_attempt_that_loses_its_one_commit_voids_its_intent_whose_store_lost_its_answer(race):
    """Found by `make soak` (batch seed 13: three deliveries of one incident under distinct message ids, at
    once, the state store's writes landing with their answers lost). Y stored its intent ahead of its one
    commit; the store landed, but its answer was lost (it raised), and X's commit took what Y's wanted
    (the incident's claim, or the target's cooldown) between Y's read and Y's commit. Y wrote nothing, yet
    it voided its intent only if the store had answered: the plan stayed open, and once the lease lapsed
    the sweep judged it as a write that may have been made, once per such loser (two `escalated` outcomes
    for one incident's rollback after an operator made the same change). Fails if the void waits for the
    store's answer."""
    from shared.remediation.records import intent_key as key_of
    from tests.unit.fakes import Adapters

    state = FaultyStateStore(MemoryStateStore())
    proposal, b = bad_revision_plan()
    run = RecordingRun(b.service)
    incident = "inc-1" if race == "claimed by another message" else "inc-y"
    y = Gate(config(), state, FixedClock(NOW), owner="m-y:a", message_id="m-y")
    reads = y.read_ahead(SERVICE, NOW)
    x = Gate(config(), state, FixedClock(NOW), owner="m-x:a", message_id="m-x")
    assert x.execute(ACTION, proposal.params, proposal.before, "inc-1" if incident == "inc-1" else "inc-x",
                     Adapters(run), service=SERVICE).status is OutcomeStatus.APPLIED
    state.fail_next("write", 1, lost=True, method="create_record")   # Y's intent: it lands, its answer is lost
    if race == "the claim after it fails":
        state.fail_next("claim", 1, method="claim")                  # the one-at-a-time claim, after the commit
    attempt = lambda: y.execute(ACTION, proposal.params, proposal.before, incident, Adapters(run), service=SERVICE,
                                reads=reads)
    if race == "the claim after it fails":
        with pytest.raises(TransientError):
            attempt()
    else:
        result = attempt()
        assert result.status is OutcomeStatus.SKIPPED, result.reason
        assert result.reason.startswith("duplicate" if incident == "inc-1" else "cooldown"), result.reason
    assert ("create_record", "UNAVAILABLE", True) in state.injected and len(run.writes) == 1
    intent = state.get_record(INTENTS, key_of(incident, "m-y"))
    assert intent is not None and intent["state"] == "void", intent


def _twin(state, message: str, noted_at=NOW) -> IntentRecord:
    """Another message's plan of the very same change on the very same state (a delivery of the same
    incident planned at once), left open: it lost the race for the claim and its void did not land."""
    mine = IntentRecord.model_validate(_intent(state))
    twin = mine.model_copy(update={"message_id": message, "owner": f"{message}:a", "noted_at": noted_at})
    state.put_record(INTENTS, twin.key, twin.model_dump(mode="python") | {"state": "open"})
    return twin


def test_the_sweep_reports_open_twin_plans_of_one_claim_once():
    """Deliveries of one incident under distinct message ids plan the same change at once; one holds the
    claim, the others lose the race, and a loser whose void did not land leaves its plan open. Past the
    lease, each plan was judged on its own, and a target showing neither was escalated once per plan:
    one claim, at most one write, two reports (`make soak`, batch seed 13, where an operator's rollback
    made the change they planned). Now the first escalation closes its twins in the same commit. Fails
    if each plan of the claim is escalated on its own."""
    state, run = _crashed_after_the_write()
    twin = _twin(state, "m-2")
    run.service = run.service.model_copy(update={"traffic": (), "traffic_statuses": ()})
    [outcome] = _sweep(state, run, LATER)
    assert outcome.status is OutcomeStatus.ESCALATED and "shows neither" in outcome.reason
    assert _intent(state)["state"] == "escalated" and state.get_record(INTENTS, twin.key)["state"] == "escalated"
    assert state.get_record(ACTIONS, KEY) is None
    assert _sweep(state, run, LATER + timedelta(seconds=1)) == []


def test_of_two_judges_of_twin_plans_at_once_one_reports():
    """Two judges (a sweep and a redelivery, or two sweeps) each read one of two twin plans open, and both
    escalate: the one whose commit lands first closes both; the other's plan is closed by then, and it
    reports nothing."""
    state, _ = _crashed_after_the_write()
    mine, twin = IntentRecord.model_validate(_intent(state)), _twin(state, "m-2")
    assert intents.claim_escalation(state, twin, "sweep:other", LATER, "shows neither", lease=LEASE)
    assert not intents.claim_escalation(state, mine, "sweep:one", LATER, "shows neither", lease=LEASE)
    assert _intent(state)["closed_by"] == "sweep:other" and "reported once" in _intent(state)["note"]


@pytest.mark.parametrize("other", ["its attempt may still run", "another plan", "closed already"])
def test_an_escalation_leaves_every_plan_but_its_twins_to_be_judged_on_its_own(other):
    """Not a twin: a plan stored less than a lease ago (its attempt may still write and record it), a plan
    of another change (its own judgement may differ), a plan already closed (it was reported, or given
    back: nothing to close)."""
    state, _ = _crashed_after_the_write()
    mine = IntentRecord.model_validate(_intent(state))
    twin = _twin(state, "m-2", noted_at=LATER - timedelta(seconds=30) if other == "its attempt may still run" else NOW)
    if other == "another plan":
        state.update_record(INTENTS, twin.key, {"params": {**twin.params, "to_revision": "backend-00000-old"}})
    if other == "closed already":
        state.update_record(INTENTS, twin.key, {"state": "void"})
    before = state.get_record(INTENTS, twin.key)["state"]
    assert intents.claim_escalation(state, mine, "sweep:one", LATER, "shows neither", lease=LEASE)
    assert state.get_record(INTENTS, twin.key)["state"] == before


# --- a pin's kept reminder, the pin released since ----------------------------------------------------------------

def _pin_with_kept_reminder(state, released_at, by_the_release: bool):
    """A pin released at `released_at` whose reminder, made then too, is kept pending (its publish failed): kept by
    the update that released it (`by_the_release`: named on it), or by a sweep before a person's release."""
    from shared.outcomes import Outcome, Timestamps
    from shared.remediation.records import PINS, REPORT_PENDING, PinRecord
    reminder = Outcome(trigger="command", target=SERVICE, status=OutcomeStatus.REMINDER, reason="the pin to OLD",
                       timestamps=Timestamps(received_at=released_at, completed_at=released_at))
    pin = PinRecord(service=SERVICE, revision="backend-00001-abc", action_id="a-1", pinned_at=NOW, pinned=False,
                    released_at=released_at, released_by="revision deleted", report=reminder.to_json(),
                    report_state=REPORT_PENDING, release_report=reminder.outcome_id if by_the_release else "")
    state.put_record(PINS, SERVICE, pin.model_dump(mode="python"))
    return reminder


@pytest.mark.parametrize("by_the_release,published", [
    (True, True),        # kept by the update that released the pin: it tells of the release
    (False, False),      # a reminder of the pin still held, released since (at the same clock reading): untrue
])
def test_a_kept_pin_reminder_is_dropped_only_when_the_pin_was_released_after_it(by_the_release, published):
    """Before, any reminder kept on a released pin was dropped: a release told by the very update that made it
    (a revision deleted, a rollback released before its verdict) was lost when its first publish failed."""
    from shared.remediation.records import PINS
    state, run = _crashed_after_the_write()
    reminder = _pin_with_kept_reminder(state, LATER - timedelta(minutes=5), by_the_release)

    outcomes = Sweep(config(), _Adapters(state, run, LATER))._unsent_outcomes()

    pinned = [o for o in outcomes if o.status is OutcomeStatus.REMINDER]
    assert [o.outcome_id for o in pinned] == ([reminder.outcome_id] if published else [])
    assert state.get_record(PINS, SERVICE)["report_state"] == ("pending" if published else "dropped")
