"""Whether the service's action records, as the read-ahead reads them, may stop a plan before the gate
(`history.may_stop_a_write`): then the gate's batch for the service is not read ahead, as nothing may read it.
A table, no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.remediation.history import may_stop_a_write

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
WINDOW = 3600


def record(state: str, resolved_minutes_ago: float | None, action: str = "rollback_traffic") -> dict:
    return {"key": "k", "action": action, "state": state,
            "resolved_at": None if resolved_minutes_ago is None else NOW - timedelta(minutes=resolved_minutes_ago)}


@pytest.mark.parametrize("records, stops", [
    ([], False),
    ([record("pending", None)], False),                       # in verification: the gate's own claims answer it
    ([record("verified", 10)], True),                         # recent_verified_fix may stop the plan
    ([record("undone", 59)], True),                           # recent_undone_action may
    ([record("verified", 61)], False),                        # outside the recurrence window
    ([record("undone", 61), record("pending", None)], False),
    ([record("escalated", 5)], False),                        # neither check stops on an escalated record
    ([record("verified", 10, action="scale_connector")], True),   # the plan's action is not known yet: any action
    ([record("verified", None)], False),                      # never resolved: neither check counts it
    ([{"key": "k", "state": "verified", "resolved_at": "2026-11-26T11:50:00Z"}], True),   # not a time: may be
], ids=["none", "pending", "verified lately", "undone lately", "verified long ago", "old and pending", "escalated",
        "another action", "no resolve time", "a time not read as one"])
def test_records_that_may_stop_a_plan(records, stops):
    assert may_stop_a_write(records, NOW, WINDOW) is stops
