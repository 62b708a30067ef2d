"""Whether the gate's answer is a duplicate (an answer from a claim another attempt completed: this attempt wrote
nothing of its own) is said in a typed field, GateResult.duplicate, which the sweep's undo reads
(verification.Sweep._undo) rather than the reason's first word. Pure: guardrails.duplicate_result, no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.ports import ClaimRecord, ClaimStatus
from shared.remediation.guardrails import duplicate_result

WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)
TARGET = "projects/p/locations/us-central1/services/backend"


def held(result: dict, owner: str = "msg-1:1") -> ClaimRecord:
    return ClaimRecord(key="k", owner=owner, status=ClaimStatus.COMPLETED, claimed_at=WHEN,
                       expires_at=WHEN + timedelta(hours=1), result=result)


# (the claim's kept result, the policy and message asking now, the answer's status, whether it is a duplicate)
CASES = {
    "another attempt's write applied": ({"status": "applied"}, "", "msg-2", "skipped", True),
    "another attempt's escalation, answered to another message": (
        {"status": "escalated", "reason": "outside bounds"}, "", "msg-2", "skipped", True),
    "a refusal kept for the cooldown, answered to another message": (
        {"status": "failed", "reason": "PERMISSION_DENIED"}, "", "msg-2", "skipped", True),
    "the escalated message itself redelivered: its own answer again, no duplicate": (
        {"status": "escalated", "reason": "outside bounds"}, "", "msg-1", "escalated", False),
    "the refused message itself redelivered: its own answer again, no duplicate": (
        {"status": "failed", "reason": "PERMISSION_DENIED"}, "", "msg-1", "failed", False),
    "another alert policy under the same incident id: escalated, no duplicate": (
        {"status": "applied", "policy": "projects/p/alertPolicies/1"}, "projects/p/alertPolicies/2", "msg-2",
        "escalated", False),
    "another start of the same incident id: escalated, no duplicate": (
        {"status": "applied", "started_at": 100}, "", "msg-2", "escalated", False),
}


@pytest.mark.parametrize("result, policy, message, status, duplicate", CASES.values(), ids=CASES.keys())
def test_the_gates_answer_says_whether_it_is_a_duplicate(result, policy, message, status, duplicate):
    answer = duplicate_result("rollback_traffic", TARGET, "k", held(result), policy=policy, message_id=message,
                              started_at=200)
    assert (answer.status.value, answer.duplicate) == (status, duplicate)


# --- an unfinished claim that holds a write not recorded: its duplicate names the write -------------------------

SERVICE = "projects/p/locations/us-central1/services/backend"


def plan(owner: str = "m-died:1", state: str | None = "open", noted: int = 0, key: str = "i|m-died"):
    from shared.remediation.records import IntentRecord

    return IntentRecord.model_validate({
        "incident_id": "i", "message_id": key.split("|")[1], "owner": owner, "claim_key": "k",
        "action": "rollback_traffic", "target": SERVICE, "service": SERVICE, "signature": "bad_revision",
        "params": {"target": SERVICE, "to_revision": "backend-00001-abc"},
        "before": {"traffic": [{"revision": "backend-00002-xyz", "percent": 100}]},
        "after": {"traffic": [{"revision": "backend-00001-abc", "percent": 100}]},
        "noted_at": WHEN + timedelta(seconds=noted), "state": state})


def unfinished(owner: str) -> ClaimRecord:
    return ClaimRecord(key="k", owner=owner, status=ClaimStatus.CLAIMED, claimed_at=WHEN + timedelta(minutes=16),
                       expires_at=WHEN + timedelta(minutes=26))


# (the claim, the plan it holds, words the answer must carry, words it must not)
HELD_WRITES = {
    "a sweep took the claim over to record the write, and its record failed": (
        unfinished("sweep:s-1"), plan(),
        ["already claimed", "the claim holds a write that may have been made and is not recorded yet: rollback_traffic "
         f"on {SERVICE}: traffic backend-00001-abc: absent -> 100%", "planned by m-died:1 at 2026-01-01 00:00:00 UTC",
         "sweep:s-1 took the claim over at 2026-01-01 00:16:00 UTC to record that write",
         "the first verification sweep after 2026-01-01 00:26:00 UTC", "gcloud run services describe backend"], []),
    "the attempt that wrote holds it, its record failed": (
        unfinished("m-died:1"), plan(),
        ["the attempt that planned it holds the claim", "planned by m-died:1"], ["took the claim over"]),
    "a completed claim: its kept answer says how it ended, nothing more": (
        held({"status": "applied"}, owner="sweep:s-1"), plan(), ["already completed (applied)"],
        ["may have been made"]),
    "no plan held": (unfinished("sweep:s-1"), None, ["already claimed"], ["may have been made"]),
}


@pytest.mark.parametrize("claim, held_plan, said, unsaid", HELD_WRITES.values(), ids=HELD_WRITES.keys())
def test_a_duplicate_of_an_unfinished_claim_names_the_write_it_holds(claim, held_plan, said, unsaid):
    answer = duplicate_result("rollback_traffic", SERVICE, "k", claim, message_id="m-died", plan=held_plan)
    assert (answer.status.value, answer.duplicate, answer.held.value) == ("skipped", True, "claim_held")
    assert [words for words in said if words not in answer.reason] == [], answer.reason
    assert [words for words in unsaid if words in answer.reason] == [], answer.reason


def test_the_write_held_is_the_earliest_plan_still_open():
    from shared.remediation.plans import held_for

    first, later = plan(noted=5, key="i|m-1"), plan(noted=1, key="i|m-2")
    closed = [plan(state=state, noted=0, key=f"i|m-{state}") for state in ("recorded", "void", "escalated")]
    assert held_for([first, *closed, later]) is later
    assert held_for(closed) is None
