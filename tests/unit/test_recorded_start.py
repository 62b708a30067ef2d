"""`other_start` reads the start a completed claim recorded only when it is a whole number of seconds
(a JSON integer): anything else (none, a bool, which Python counts as an int, a float, a string) is an
unknown start, and an unknown start is never another start. Pure: a ClaimRecord built in place."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.outcomes import OutcomeStatus
from shared.ports import ClaimRecord, ClaimStatus
from shared.remediation.guardrails import other_start

_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
START = 1_767_225_600

CASES = [
    # (the recorded start, this notification's start, escalated)
    (START, START, False),
    (START, START + 60, True),
    (START, None, False),
    (None, START, False),
    (True, 1, False),
    (False, 0, False),
    (float(START), START + 60, False),
    (str(START), START + 60, False),
]


@pytest.mark.parametrize("recorded, started_at, escalated", CASES)
def test_only_a_recorded_whole_second_is_another_start(recorded, started_at, escalated):
    result = {"status": "applied"} | ({"started_at": recorded} if recorded is not None else {})
    held = ClaimRecord(key="k", owner="o", status=ClaimStatus.COMPLETED, claimed_at=_AT, expires_at=_AT,
                       result=result)
    found = other_start("rollback_traffic", "svc", held, started_at)
    assert (found is not None) is escalated
    if escalated:
        assert found.status is OutcomeStatus.ESCALATED
