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
