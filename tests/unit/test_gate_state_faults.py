"""The gate when the state store fails around a write: nothing is left claimed by an attempt that
did nothing, and a write that took always reaches a person."""
from __future__ import annotations

from typing import Any

import pytest

from shared.errors import PermanentError, TransientError
from shared.outcomes import OutcomeStatus
from shared.remediation.guardrails import BUDGETS, CLAIMS, COOLDOWNS, claim_key
from shared.remediation.records import ACTIONS

from tests.unit.fakes import MemoryStateStore
from tests.unit.test_guardrails import SERVICE, config, run_gate

KEY = claim_key("inc-1", SERVICE, "rollback_traffic")


class FailingStore(MemoryStateStore):
    """Fails the n-th call of `method` (counting from 1) with a transient error, after or before
    doing it: `landed=True` is a commit whose answer was lost (DEADLINE_EXCEEDED on a write that took)."""

    def __init__(self, method: str, nth: int = 1, *, landed: bool, match: str = "", permanent: bool = False) -> None:
        super().__init__()
        self._method, self._nth, self._landed, self._match = method, nth, landed, match
        self._permanent = permanent   # Firestore's PERMISSION_DENIED instead: a retry will not help
        self.calls = 0

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if name != super().__getattribute__("_method"):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            if self._match and self._match not in args:
                return value(*args, **kwargs)
            self.calls += 1
            if self.calls != self._nth:
                return value(*args, **kwargs)
            if self._landed:
                value(*args, **kwargs)
            if self._permanent:
                raise PermanentError(f"{name}: PermissionDenied: 403 (injected)", code="PERMISSION_DENIED")
            raise TransientError(f"{name}: DeadlineExceeded: 504 Deadline Exceeded (injected)")
        return call


class OneAtATimeStore(FailingStore):
    """A store whose `claim_all` answers as if a record to take existed (a racer's, given back before the
    one-at-a-time claims: `claim_all`'s None): the gate takes the claim, the cooldown and the slots one by one."""

    def claim_all(self, claims: Any, owner: str, now: Any) -> None:
        return None


@pytest.mark.parametrize("landed", [True, False], ids=["commit-landed", "commit-not-sent"])
def test_an_all_at_once_commit_whose_answer_is_lost_is_given_back_before_the_retry(landed):
    state = FailingStore("claim_all", landed=landed)
    with pytest.raises(TransientError):
        run_gate(config(), state=state)
    assert state.calls == 1
    assert [key for key, record in state.records.items() if record.owner == "attempt-1"] == []

    again, _, run = run_gate(config(), state=state, owner="attempt-2")
    assert again.status is OutcomeStatus.APPLIED and len(run.writes) == 1


@pytest.mark.parametrize("landed", [True, False], ids=["claim-landed", "claim-not-sent"])
def test_a_claim_whose_answer_is_lost_is_released_before_the_retry(landed):
    state = OneAtATimeStore("claim", landed=landed, match=CLAIMS)
    with pytest.raises(TransientError):
        run_gate(config(), state=state)
    assert state.get(CLAIMS, KEY) is None  # the redelivery is not a "duplicate" of nothing

    again, _, run = run_gate(config(), state=state, owner="attempt-2")
    assert again.status is OutcomeStatus.APPLIED and len(run.writes) == 1


@pytest.mark.parametrize("kind", [COOLDOWNS, BUDGETS])
def test_a_fault_between_the_claim_and_the_write_gives_everything_back(kind):
    state = OneAtATimeStore("claim", landed=True, match=kind)
    with pytest.raises(TransientError):
        _, _, run = run_gate(config(), state=state)
    assert state.get(CLAIMS, KEY) is None
    assert state.get(COOLDOWNS, SERVICE) is None

    again, _, run = run_gate(config(), state=state, owner="attempt-2")
    assert again.status is OutcomeStatus.APPLIED and len(run.writes) == 1


@pytest.mark.parametrize("permanent", [False, True], ids=["transient", "permanent"])
def test_a_fault_recording_a_write_that_took_escalates_with_the_change(permanent):
    """A permanent refusal of that commit (PERMISSION_DENIED, INVALID_ARGUMENT) escaped the gate, and the
    caller answered `failed` for a write that took (an approve's proposal left `approved`): escalated as
    unrecorded now, as a transient one is."""
    state = FailingStore("record_all", landed=False, permanent=permanent)   # the one commit: completion, record, pin
    result, state, run = run_gate(config(), state=state)

    assert len(run.writes) == 1
    assert result.status is OutcomeStatus.ESCALATED
    assert "applied (the API confirmed the change), but it could not be recorded" in result.reason
    assert result.after and any("pinned" in note for note in result.notes)
    assert state.find_records(ACTIONS, "incident_id", "inc-1") == []
    # Still claimed: a redelivery is a duplicate, never a second write.
    again, _, run2 = run_gate(config(), state=state, owner="attempt-2")
    assert again.status is OutcomeStatus.SKIPPED and again.reason.startswith("duplicate") and run2.writes == []
