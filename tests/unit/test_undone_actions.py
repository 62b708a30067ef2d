"""A change the sweep undid (the service still failed after it) is not made again for another alert
within the recurrence window: a rollback to the revision that failed too would flip traffic back to it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.remediation.history import recent_undone_action
from shared.remediation.records import ACTIONS, ActionRecord, ActionState
from tests.unit.fakes import MemoryStateStore

SERVICE = "projects/p/locations/us-central1/services/backend"
NOW = datetime(2026, 11, 26, 13, 20, tzinfo=timezone.utc)
WINDOW = 6 * 3600


def _state(state: ActionState, resolved_ago: timedelta, to_revision: str = "backend-00001-abc",
           action: str = "rollback_traffic") -> MemoryStateStore:
    store = MemoryStateStore()
    applied = NOW - resolved_ago - timedelta(minutes=15)
    record = ActionRecord(key=f"inc-1|{SERVICE}|{action}", incident_id="inc-1", target=SERVICE, service=SERVICE,
                          action=action, signature="bad_revision", reversible=True, applied_at=applied,
                          settle_at=applied + timedelta(minutes=5), deadline_at=applied + timedelta(minutes=15),
                          params={"from_revision": "backend-00002-xyz", "to_revision": to_revision},
                          state=state, resolved_at=NOW - resolved_ago)
    store.put_record(ACTIONS, record.key, record.model_dump(mode="python"))
    return store


@pytest.mark.parametrize("state, resolved_ago, to_revision, action, found", [
    (ActionState.UNDONE, timedelta(hours=1), "backend-00001-abc", "rollback_traffic", True),
    (ActionState.UNDONE, timedelta(hours=7), "backend-00001-abc", "rollback_traffic", False),   # past the window
    (ActionState.UNDONE, timedelta(hours=1), "backend-00000-old", "rollback_traffic", False),   # another revision
    (ActionState.VERIFIED, timedelta(hours=1), "backend-00001-abc", "rollback_traffic", False),
    (ActionState.ESCALATED, timedelta(hours=1), "backend-00001-abc", "rollback_traffic", False),
    (ActionState.UNDONE, timedelta(hours=1), "backend-00001-abc", "scale_connector", False),    # another action
])
def test_an_undone_rollback_to_the_same_revision_within_the_window_is_found(state, resolved_ago, to_revision,
                                                                          action, found):
    store = _state(state, resolved_ago, to_revision, action)

    record = recent_undone_action(store, SERVICE, "rollback_traffic", {"to_revision": "backend-00001-abc"}, NOW,
                                  WINDOW)

    assert (record is not None) == found
