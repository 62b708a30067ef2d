"""Twin plans (one claim, one possible write) are reported once, even when a judge that records one
and a judge that escalates another read the target a moment apart and disagree (shared/remediation/
plans.py)."""
from __future__ import annotations

from datetime import timedelta

from shared.clock import FixedClock
from shared.outcomes import OutcomeStatus
from shared.remediation import intents
from shared.remediation.guardrails import Gate
from shared.remediation.records import ACTIONS, INTENTS, IntentRecord

from tests.unit.test_guardrails import ACTION, config
from tests.unit.test_intent_sweep import LATER, LEASE, _intent, _twin
from tests.unit.test_intents import KEY, _crashed_after_the_write


def _adopter(state, owner: str = "m-2:b") -> Gate:
    return Gate(config(), state, FixedClock(LATER), owner=owner, message_id=owner.partition(":")[0])


def test_an_escalation_that_comes_after_a_twin_was_recorded_reports_nothing() -> None:
    """One judge (the sweep on the first plan) read the target as neither; another (the twin's redelivery)
    read it a moment later showing the change and recorded it under the twin. The escalation found no
    open twin left, escalated its plan alone, and the claim's one write was reported twice."""
    state, run = _crashed_after_the_write()
    mine, twin = IntentRecord.model_validate(_intent(state)), _twin(state, "m-2")
    recorded = _adopter(state).adopt_write(twin, ACTION, run.service.model_dump(mode="json"), "shows the change")
    assert recorded.status is OutcomeStatus.ESCALATED and state.get_record(ACTIONS, KEY) is not None
    assert not intents.claim_escalation(state, mine, "sweep:one", LATER, "shows neither", lease=LEASE)
    assert _intent(state)["state"] == "recorded" and twin.key in _intent(state)["note"]


def test_a_plan_whose_twin_was_escalated_is_not_recorded_and_reported_again() -> None:
    """The twin's plan was stored less than a lease before the escalation (not closed with it: its attempt
    might still have run); judged later, the target showed the change, and it was recorded and reported:
    a second report of one claim's write, and the write put on the twin that did not make it."""
    state, run = _crashed_after_the_write()
    mine = IntentRecord.model_validate(_intent(state))
    twin = _twin(state, "m-2", noted_at=LATER - timedelta(seconds=30))
    assert intents.claim_escalation(state, mine, "sweep:one", LATER, "shows neither", lease=LEASE)
    assert state.get_record(INTENTS, twin.key)["state"] == "open"
    later = _adopter(state).adopt_write(twin, ACTION, run.service.model_dump(mode="json"), "shows the change")
    assert later.status is OutcomeStatus.SKIPPED and later.reason.startswith("duplicate"), later.reason
    assert state.get_record(ACTIONS, KEY) is None
    assert state.get_record(INTENTS, twin.key)["state"] == "escalated"


def test_an_adoption_whose_commit_follows_an_escalation_of_the_plan_it_watched_records_nothing() -> None:
    """The adopter read the other plan open; the escalation of that plan landed before the adopter's commit.
    Its commit is guarded on that plan still open, so it writes nothing."""
    state, run = _crashed_after_the_write()
    mine = IntentRecord.model_validate(_intent(state))
    twin = _twin(state, "m-2", noted_at=LATER - timedelta(seconds=30))
    adopter = _adopter(state)
    inner, landed = state.record_all, []

    def escalation_lands_first(*args, **kwargs):
        state.record_all = inner    # the escalation's own commit goes straight through
        if not landed:              # once, before the adopter's first commit
            landed.append(intents.claim_escalation(state, mine, "sweep:one", LATER, "shows neither", lease=LEASE))
        return inner(*args, **kwargs)
    state.record_all = escalation_lands_first
    result = adopter.adopt_write(twin, ACTION, run.service.model_dump(mode="json"), "shows the change")
    assert landed == [True]
    assert result.status is OutcomeStatus.SKIPPED, result.reason
    assert state.get_record(ACTIONS, KEY) is None
    # Its plan, left open by the commit that failed, is closed with the escalated twin by its next judge.
    again = _adopter(state, owner="m-2:c").adopt_write(twin, ACTION, run.service.model_dump(mode="json"), "again")
    assert again.status is OutcomeStatus.SKIPPED and state.get_record(INTENTS, twin.key)["state"] == "escalated"


def test_a_plan_its_own_attempt_gave_back_is_nothing_to_recover_whatever_the_target_shows() -> None:
    """A `void` plan (its attempt wrote nothing: a refusal, a target changed under it) was judged by the
    target on the redelivery of its message: a connector showing the state before again after a
    machine-type plan reads as "may have been written", and a refused write was recorded and reported.
    Now it is handled as usual, the target not even read."""
    import pytest

    from shared.remediation.intents import Verdict, look
    from tests.unit.fakes import Adapters, MemoryStateStore, RecordingRun
    from tests.unit.test_guardrails import PermanentError, bad_revision_plan
    from tests.unit.test_intents import NOW, _execute, _gate

    state = MemoryStateStore()
    _, b = bad_revision_plan()
    assert _execute(_gate(state), RecordingRun(b.service, fail_with=PermanentError("denied", code="PERMISSION_DENIED"))
                    ).status is OutcomeStatus.FAILED
    plan = IntentRecord.model_validate(_intent(state))
    assert plan.state.value == "void"
    run = RecordingRun(b.service)
    run.get_service = lambda name: pytest.fail(f"read {name} for a plan given back")
    found = look(plan, False, None, ACTION, Adapters(run), NOW + timedelta(hours=1))
    assert found.verdict is Verdict.NONE
