"""An escalated plan (a write of unknown outcome a person was told of) holds the incident's next
automatic write on the same target: nothing acts twice on one incident (docs/behaviour.md, "Another
message's plan left unrecorded")."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.clock import FixedClock
from shared.outcomes import OutcomeStatus
from shared.ports import ClaimStatus
from shared.remediation.guardrails import CLAIMS, Gate, claim_key
from shared.remediation.records import INTENT_RETENTION, INTENTS, IntentRecord, IntentState

from tests.unit.builders import SERVICE, T0
from tests.unit.fakes import Adapters, MemoryStateStore, RecordingRun
from tests.unit.test_guardrails import ACTION, bad_revision_plan, config

KEY = claim_key("inc-1", SERVICE, "rollback_traffic")


# The plan was stored long ago (its retention ends 40 minutes after T0), so that the rollback's own
# bound (the revision deployed at most an hour ago) still holds when the hold ends.
NOTED = T0 - timedelta(days=7) + timedelta(minutes=40)


def _earlier_plan(state: MemoryStateStore, plan_state: IntentState) -> IntentRecord:
    """An earlier message's plan for the claim, stored at NOTED, its claim left to lapse, then judged."""
    proposal, _ = bad_revision_plan()
    plan = IntentRecord(incident_id="inc-1", message_id="m-1", owner="m-1:1", claim_key=KEY, action=ACTION.name,
                        target=SERVICE, service=SERVICE, params=proposal.params.model_dump(mode="json"),
                        before=proposal.before, after=ACTION.preview(proposal.params, proposal.before),
                        noted_at=NOTED, state=plan_state, closed_at=NOTED + timedelta(minutes=20),
                        note="neither: its state could not be read")
    state.put_record(INTENTS, plan.key, plan.model_dump(mode="python"))
    state.claim(CLAIMS, KEY, "m-1:1", timedelta(seconds=600), NOTED)
    return plan


def _renotified(state: MemoryStateStore, minutes: int, owner: str = "m-2:1"):
    proposal, b = bad_revision_plan()
    run = RecordingRun(b.service)
    gate = Gate(config(guardrails__claim_retention_seconds=600), state, FixedClock(T0 + timedelta(minutes=minutes)), owner=owner, message_id=owner[:3])
    return gate.execute(ACTION, proposal.params, proposal.before, "inc-1", Adapters(run)), run


def test_a_renotification_taking_over_the_claim_of_an_escalated_plan_writes_nothing_and_says_why() -> None:
    state = MemoryStateStore()
    plan = _earlier_plan(state, IntentState.ESCALATED)
    result, run = _renotified(state, 2)
    assert run.writes == []
    assert result.status is OutcomeStatus.ESCALATED, result.reason
    assert "escalated to a person" in result.reason and plan.key in result.reason
    # Held as this answer until the plan expires: the next notification is a duplicate, not a page.
    held = state.get(CLAIMS, KEY)
    assert held.status is ClaimStatus.COMPLETED and held.result["status"] == "escalated"
    assert held.expires_at == plan.expires_at
    again, run = _renotified(state, 39, owner="m-3:1")
    assert run.writes == [] and again.status is OutcomeStatus.SKIPPED and again.reason.startswith("duplicate")


@pytest.mark.parametrize("closed", [IntentState.VOID, IntentState.RECORDED, IntentState.RELEASED])
def test_a_plan_closed_void_or_recorded_holds_nothing_back(closed: IntentState) -> None:
    state = MemoryStateStore()
    _earlier_plan(state, closed)
    result, run = _renotified(state, 2)
    assert result.status is OutcomeStatus.APPLIED and len(run.writes) == 1, result.reason


def test_the_hold_ends_with_the_plan() -> None:
    """Not forever: once the plan's retention is over (records.INTENT_RETENTION), the claim it held
    lapses and the incident's next notification is decided afresh."""
    state = MemoryStateStore()
    plan = _earlier_plan(state, IntentState.ESCALATED)
    assert plan.expires_at == NOTED + INTENT_RETENTION
    assert _renotified(state, 2)[0].status is OutcomeStatus.ESCALATED
    # Past its expiry, the plan holds nothing, whether or not Firestore's TTL has deleted it yet.
    result, run = _renotified(state, 41, owner="m-4:1")
    assert result.status is OutcomeStatus.APPLIED and len(run.writes) == 1, result.reason


def test_a_hold_that_cannot_be_completed_is_given_back_not_left_claimed() -> None:
    """The judge escalated the plan and took the lapsed claim to hold it, and the completion failed: left
    claimed, every delivery of that message would wait for it as an attempt in progress."""
    from tests.unit.fakes import FaultyStateStore

    state = FaultyStateStore(MemoryStateStore())
    plan = _earlier_plan(state, IntentState.OPEN)
    state.fail_next("write", 1, method="record_all")
    gate = Gate(config(), state, FixedClock(T0 + timedelta(minutes=2)), owner="m-1:2", message_id="m-1")
    assert not gate.hold_escalated(plan, "shows neither")
    assert state.get(CLAIMS, KEY) is None or state.get(CLAIMS, KEY).owner != "m-1:2"


def test_the_redelivery_of_the_message_held_by_an_escalated_plan_answers_the_escalation_again() -> None:
    """The takeover answered `escalated` (held for the plan) and its publish failed, so the message came
    again: it found the claim completed and answered a `skipped` duplicate, and the escalation never
    reached a person. The very message's redelivery now answers it again; another message is a duplicate."""
    state = MemoryStateStore()
    _earlier_plan(state, IntentState.ESCALATED)
    first, _ = _renotified(state, 2)
    assert first.status is OutcomeStatus.ESCALATED, first.reason
    again, run = _renotified(state, 3, owner="m-2:2")     # the same message, a new attempt
    assert run.writes == [] and (again.status, again.reason) == (first.status, first.reason)
    other, run = _renotified(state, 4, owner="m-3:1")
    assert run.writes == [] and other.status is OutcomeStatus.SKIPPED and other.reason.startswith("duplicate")


def test_a_plan_released_before_the_judge_holds_its_claim_is_not_held() -> None:
    """The sweep escalated the plan, and a person released it (closed `released`) before the sweep took the
    lapsed claim to hold it: the hold was completed all the same, for 7 days, for a plan no longer escalated,
    which no `release` could lift (it refuses a plan that is not escalated). The hold is guarded on the plan."""
    state = MemoryStateStore()
    plan = _earlier_plan(state, IntentState.OPEN)
    state.update_record(INTENTS, plan.key, {"state": IntentState.RELEASED.value})    # escalated, then released
    gate = Gate(config(), state, FixedClock(T0 + timedelta(minutes=2)), owner="sweep:1", message_id="")
    assert not gate.hold_escalated(plan, "shows neither")
    assert state.get(CLAIMS, KEY) is None, state.get(CLAIMS, KEY)
    result, run = _renotified(state, 3, owner="m-3:1")
    assert result.status is OutcomeStatus.APPLIED and len(run.writes) == 1, result.reason


def test_a_plan_released_while_a_takeover_holds_it_leaves_no_seven_day_hold() -> None:
    """A re-notification took the lapsed claim over and read the plan escalated; the release landed between
    that read and the commit that completes the claim as held: kept until the plan's expiry, nothing could
    release it. The commit fails on the plan's guard; the claim lapses with its lease, and the next
    notification past it is decided afresh."""
    state = MemoryStateStore()
    plan = _earlier_plan(state, IntentState.ESCALATED)
    commit = state.record_all

    def released_first(writes, completing=None):
        state.update_record(INTENTS, plan.key, {"state": IntentState.RELEASED.value})
        return commit(writes, completing)

    state.record_all = released_first
    first, _ = _renotified(state, 2)
    state.record_all = commit
    held = state.get(CLAIMS, KEY)
    assert held is None or held.status is not ClaimStatus.COMPLETED, held
    result, run = _renotified(state, 30, owner="m-3:1")
    assert result.status is OutcomeStatus.APPLIED and len(run.writes) == 1, result.reason


def test_the_hold_never_outlives_the_plan_whatever_the_claim_retention() -> None:
    """The hold was kept for at least the config's claim retention (a day by default, up to 30): taken late
    in the plan's life (or with a retention past 7 days), it outlived the plan, and past the plan's expiry
    `release` refused it as "expired: it holds nothing" (and past Firestore's TTL found no plan at all)
    while every notification was still its duplicate. It ends with the plan, as the answer says."""
    state = MemoryStateStore()
    plan = _earlier_plan(state, IntentState.ESCALATED)
    proposal, b = bad_revision_plan()
    gate = Gate(config(guardrails__claim_retention_seconds=30 * 86400), state,
                FixedClock(T0 + timedelta(minutes=2)), owner="m-2:1", message_id="m-2")
    assert gate.execute(ACTION, proposal.params, proposal.before, "inc-1",
                        Adapters(RecordingRun(b.service))).status is OutcomeStatus.ESCALATED
    assert state.get(CLAIMS, KEY).expires_at == plan.expires_at
    # The sweep's hold (Gate.hold_escalated) ends with the plan too.
    fresh = MemoryStateStore()
    plan = _earlier_plan(fresh, IntentState.OPEN)
    fresh.update_record(INTENTS, plan.key, {"state": IntentState.ESCALATED.value})
    sweep = Gate(config(guardrails__claim_retention_seconds=30 * 86400), fresh,
                 FixedClock(T0 + timedelta(minutes=2)), owner="sweep:1", message_id="")
    assert sweep.hold_escalated(plan, "shows neither")
    assert fresh.get(CLAIMS, KEY).expires_at == plan.expires_at


def test_a_shorter_lived_entry_merged_later_does_not_shorten_the_hold_in_the_settled_record() -> None:
    """An escalated connector plan of the incident holds its claim for 7 days, and its SETTLED entry (`held`)
    is what holds the incident's later notifications before any evidence is read, whatever they are now
    diagnosed as: a rollback of the service included (shared.pipeline `_AlertRun.prior`; no action record
    names the connector). The record has one `expires_at`, Firestore's TTL field, and each merge set it to
    the entry merged last: a claim of the same incident completed after the hold with a 600 s retention (a
    delivery that had read the state before the hold landed) made the record expire 10 minutes later, and
    the TTL could delete the hold's entry with it, days before its claim expired."""
    from shared.remediation.records import SETTLED
    from shared.remediation.settled import SettledState
    from tests.unit.builders import CONNECTOR

    state = MemoryStateStore()
    connector_key = claim_key("inc-1", CONNECTOR, "scale_connector")
    noted = T0 - timedelta(minutes=30)
    plan = IntentRecord(incident_id="inc-1", message_id="m-1", owner="m-1:1", claim_key=connector_key,
                        action="scale_connector", target=CONNECTOR, service=SERVICE,
                        params={"target": CONNECTOR, "max_instances": 6}, before={"max_instances": 3},
                        after={"max_instances": 6}, noted_at=noted, state=IntentState.ESCALATED,
                        closed_at=noted + timedelta(minutes=20), note="neither: its state could not be read")
    state.put_record(INTENTS, plan.key, plan.model_dump(mode="python"))
    state.claim(CLAIMS, connector_key, "m-1:1", timedelta(seconds=600), noted)
    sweep = Gate(config(guardrails__claim_retention_seconds=600), state, FixedClock(T0), owner="sweep:1",
                 message_id="")
    assert sweep.hold_escalated(plan, "shows neither")
    hold_ends = state.get(CLAIMS, connector_key).expires_at
    assert hold_ends == plan.expires_at

    result, _ = _renotified(state, 2)      # the incident's rollback, claimed on the service, kept 600 s
    assert result.status is OutcomeStatus.APPLIED, result.reason

    record = state.get_record(SETTLED, "inc-1")
    assert record["expires_at"] >= hold_ends, "the TTL may delete the hold's entry before its claim expires"
    held = SettledState.parse(record).held()
    assert [entry.key for entry in held.entries] == [connector_key]
