"""A write held back by another write to its target names that write and its incident even when the other's plan
and action record cannot be read yet: two instances in the same instant, the first's claim, cooldown and write claim
committed together (Gate._take_all) while its plan, stored beside that commit on a thread of its own, has not landed
(in_flight.py: "a plan stored beside its claim's commit may land after another attempt's read of the plans"), and no
action record is kept until the write has ended. The holder is read from the claim record itself: the attempt that
took the cooldown or the write claim (the lease's owner) took its incident's claim in the same commit."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.clock import FixedClock
from shared.errors import WriteInFlight
from shared.outcomes import OutcomeStatus
from shared.remediation.actions import get_action
from shared.remediation.guardrails import ACTIONS, CLAIMS, COOLDOWNS, WRITING, Gate, Manual, bound_key
from shared.remediation.records import INTENTS, IntentRecord, IntentState, claim_key
from tests.unit.builders import FIVE_XX_RATIO, SERVICE, T0
from tests.unit.fakes import Adapters, MemoryStateStore, RecordingRun
from tests.unit.test_guardrails import bad_revision_plan, config

NOW = T0 + timedelta(minutes=2)
ROLLBACK = get_action("rollback_traffic")


def first_writes_now(state: MemoryStateStore, incident: str = "0.latencypolicy", cooldown: bool = True) -> None:
    """The first attempt's one commit, as Gate._take_all makes it, and nothing else stored yet."""
    lease = timedelta(minutes=5)
    wanted = [(CLAIMS, claim_key(incident, SERVICE, ROLLBACK.name), lease), (WRITING, bound_key(SERVICE), lease)]
    wanted += [(COOLDOWNS, bound_key(SERVICE), timedelta(minutes=30))] if cooldown else []
    assert state.claim_all(wanted, "attempt-1", NOW) is not None


def second(state: MemoryStateStore, incident: str, manual: Manual | None = None):
    proposal, b = bad_revision_plan()
    gate = Gate(config(), state, FixedClock(NOW), owner="attempt-2", alert=None if manual else FIVE_XX_RATIO)
    run = RecordingRun(b.service)
    return gate.execute(ROLLBACK, proposal.params, proposal.before, incident, Adapters(run), manual=manual), run


def test_an_alert_held_by_the_cooldown_of_a_write_whose_plan_has_not_landed_names_its_incident():
    state = MemoryStateStore()
    first_writes_now(state)

    result, run = second(state, "0.fivexxpolicy")

    assert result.status is OutcomeStatus.SKIPPED and run.writes == [], result.reason
    assert "0.latencypolicy" in result.reason and "rollback_traffic" in result.reason, result.reason
    assert "held for that write" in result.reason, result.reason


def test_an_approve_held_by_the_cooldown_of_a_write_whose_plan_has_not_landed_names_its_incident():
    state = MemoryStateStore()
    first_writes_now(state)

    result, run = second(state, "0.fivexxpolicy", Manual("cmd-2", "alice@example.com", approved="p-2"))

    assert result.status is OutcomeStatus.SKIPPED and run.writes == [], result.reason
    assert "0.latencypolicy" in result.reason and "rollback_traffic" in result.reason, result.reason


def a_losers_plan(state: MemoryStateStore, incident: str, owner: str) -> None:
    """The plan an attempt that lost the commit stored beside it (on a thread of its own), not voided yet."""
    proposal, _ = bad_revision_plan()
    intent = IntentRecord(incident_id=incident, message_id=owner, owner=owner,
                          claim_key=claim_key(incident, SERVICE, ROLLBACK.name), action=ROLLBACK.name, target=SERVICE,
                          service=SERVICE, params=proposal.params.model_dump(mode="json"), noted_at=NOW,
                          state=IntentState.OPEN)
    state.put_record(INTENTS, intent.key, intent.model_dump(mode="python"))


@pytest.mark.parametrize("manual", [None, Manual("cmd-2", "alice@example.com", approved="p-2")],
                         ids=["alert", "approve"])
def test_a_plan_stored_by_an_attempt_that_lost_the_commit_is_not_named_as_the_holder(manual):
    """Three policies at once: 0.latencypolicy's attempt took the cooldown; 0.uptimepolicy's lost the commit but
    had stored its plan beside it. The third is held for the holder's write, never for the loser's plan."""
    state = MemoryStateStore()
    first_writes_now(state)
    a_losers_plan(state, "0.uptimepolicy", "attempt-3")

    result, run = second(state, "0.fivexxpolicy", manual)

    assert result.status is OutcomeStatus.SKIPPED and run.writes == [], result.reason
    assert "0.latencypolicy" in result.reason and "0.uptimepolicy" not in result.reason, result.reason


@pytest.mark.parametrize("manual", [None, Manual("cmd-2", "alice@example.com", approved="p-2")],
                         ids=["alert", "approve"])
def test_a_write_whose_cooldown_lapsed_before_the_holders_was_taken_is_not_named_as_the_holder(manual):
    """A write recorded 31 minutes ago, its 30-minute cooldown lapsed; the cooldown now held was taken this
    minute by 0.latencypolicy's attempt, whose plan and record have not landed: the older write is not it."""
    state = MemoryStateStore()
    earlier = NOW - timedelta(minutes=31)
    key = claim_key("0.yesterdays", SERVICE, ROLLBACK.name)
    state.put_record(ACTIONS, key, {"key": key, "incident_id": "0.yesterdays", "target": SERVICE, "service": SERVICE,
                                    "action": ROLLBACK.name, "applied_at": earlier, "state": "verified"})
    first_writes_now(state)

    result, run = second(state, "0.fivexxpolicy", manual)

    assert result.status is OutcomeStatus.SKIPPED and run.writes == [], result.reason
    assert "0.latencypolicy" in result.reason and "0.yesterdays" not in result.reason, result.reason


def test_a_write_held_by_a_write_claim_whose_plan_has_not_landed_names_its_incident():
    """No cooldown configured to hold it: the write claim alone keeps the two writes apart."""
    state = MemoryStateStore()
    first_writes_now(state, cooldown=False)

    result, run = second(state, "command:cmd-2", Manual("cmd-2", "alice@example.com"))

    assert result.status is OutcomeStatus.SKIPPED and run.writes == [], result.reason
    assert "0.latencypolicy" in result.reason and "rollback_traffic" in result.reason, result.reason
    with pytest.raises(WriteInFlight) as raised:
        second(state, "0.fivexxpolicy")
    assert "0.latencypolicy" in str(raised.value), raised.value


def test_one_policys_incidents_on_two_services_each_roll_back_their_own_service():
    """One policy over every service opens an incident per service (a 5xx share with no service filter): each
    service's rollback is its own write, held back by neither the other's cooldown, write claim nor claim."""
    other = SERVICE.replace("/services/backend", "/services/ledger")
    state = MemoryStateStore()
    proposal, b = bad_revision_plan()
    answers = []
    for incident, target in (("0.every5xx-backend", SERVICE), ("0.every5xx-ledger", other)):
        gate = Gate(config(services=[{"name": SERVICE}, {"name": other}]), state, FixedClock(NOW),
                    owner=f"attempt-{incident}", alert=FIVE_XX_RATIO)
        params = proposal.params.model_copy(update={"target": target})
        before = {**proposal.before, "service": {**proposal.before.get("service", {}), "name": target}}
        run = RecordingRun(b.service.model_copy(update={"name": target}))
        answers.append((gate.execute(ROLLBACK, params, before, incident, Adapters(run), service=target), run))

    for result, run in answers:
        assert result.status is OutcomeStatus.APPLIED and len(run.writes) == 1, result.reason
    assert state.get(COOLDOWNS, bound_key(SERVICE)) is not None and state.get(COOLDOWNS, bound_key(other)) is not None
