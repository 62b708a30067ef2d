"""A cancelled incident (its policy's condition deleted or modified while it was open) closes the
incident but is no evidence of recovery: its actions keep no `incident_closed_at`, so the sweep
judges them on live data instead of calling them verified because "the incident closed"."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from shared.alerts.incidents import parse_notification
from shared.remediation.history import incident_closed, note_closed
from shared.remediation.records import ACTIONS, ActionRecord

from tests.unit.fakes import MemoryStateStore
from tests.unit.test_incidents import DOC_EXAMPLE, PUBSUB_CLOSED, raw

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
SERVICE = "projects/p/locations/us-central1/services/backend"


def _with_action(incident_id: str) -> MemoryStateStore:
    state = MemoryStateStore()
    record = ActionRecord(key=f"{incident_id}|{SERVICE}|rollback_traffic", incident_id=incident_id, target=SERVICE,
                          service=SERVICE, action="rollback_traffic", signature="bad_revision", reversible=True,
                          applied_at=NOW - timedelta(minutes=5), settle_at=NOW, deadline_at=NOW + timedelta(minutes=10))
    state.put_record(ACTIONS, record.key, record.model_dump(mode="python"))
    return state


def test_the_real_cancelled_sample_is_cancelled_and_the_documented_closed_one_is_not():
    assert parse_notification(raw(PUBSUB_CLOSED)).is_cancelled
    assert not parse_notification(raw(DOC_EXAMPLE)).is_cancelled


@pytest.mark.parametrize("sample, cancelled", [(PUBSUB_CLOSED, True), (DOC_EXAMPLE, False)])
def test_only_a_closed_that_is_no_cancellation_marks_the_incidents_actions(sample, cancelled):
    incident = parse_notification(raw(sample))
    state = _with_action(incident.incident_id)

    note_closed(state, incident, NOW)

    [action] = state.find_records(ACTIONS, "incident_id", incident.incident_id)
    assert (action["incident_closed_at"] is None) is cancelled
    closed = incident_closed(state, incident.incident_id)
    assert closed is not None and closed.closed_by == ("cancelled" if cancelled else "notification")


def test_an_open_notification_quoting_the_words_is_not_cancelled():
    doc = json.loads(raw(PUBSUB_CLOSED))
    doc["incident"].update(state="open", ended_at=None)
    assert not parse_notification(doc).is_cancelled
