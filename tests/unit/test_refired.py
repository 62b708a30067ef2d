"""An OPEN of an alert policy on a target with a pending action of another incident of that policy:
the policy fired again during the verification (shared/remediation/history.py `note_refired`). Noted on
the action, once, so that the sweep takes no CLOSED of the first incident as the condition cleared
(judging.refired; tests/unit/test_verification_worlds.py judges it)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.alerts.incidents import parse_notification
from shared.diagnosis.evidence import AlertContext
from shared.remediation.history import note_refired
from shared.remediation.records import ACTIONS, ActionRecord, ActionState
from tests.unit.test_closed_without_recovery import NOW, SERVICE, closed


def opened(incident_id: str, **incident):
    document = closed(**incident)
    document["incident"].update(state="open", ended_at=None, incident_id=incident_id)
    return parse_notification(document)


SECOND = opened("0.second")
POLICY = SECOND.policy_resource


def _state(policy: str | None = POLICY, state: ActionState = ActionState.PENDING, incident_id: str = "0.first"):
    from tests.unit.fakes import MemoryStateStore
    store = MemoryStateStore()
    alert = AlertContext(policy="p", policy_resource=policy) if policy is not None else None
    record = ActionRecord(key=f"{incident_id}|{SERVICE}|rollback_traffic", incident_id=incident_id, target=SERVICE,
                          service=SERVICE, action="rollback_traffic", signature="bad_revision", reversible=True,
                          state=state, applied_at=NOW - timedelta(minutes=5), settle_at=NOW,
                          deadline_at=NOW + timedelta(minutes=10), alert=alert)
    store.put_record(ACTIONS, record.key, record.model_dump(mode="python"))
    return store


@pytest.mark.parametrize("name,store,incident,noted", [
    ("another incident of the same policy: noted", _state(), SECOND, True),
    ("the action's own incident again (a re-notification): not", _state(incident_id="0.second"), SECOND, False),
    ("another policy's incident: not", _state(policy="projects/p/alertPolicies/other"), SECOND, False),
    ("an action of an unknown policy (an operator's command): the same, noted", _state(policy=None), SECOND, True),
    ("an action no longer pending: not", _state(state=ActionState.VERIFIED), SECOND, False),
])
def test_another_incident_of_the_policy_is_noted_on_the_pending_action(name, store, incident, noted):
    assert POLICY
    note_refired(store, incident, NOW, "service", SERVICE)
    [data] = store.find_records(ACTIONS, "service", SERVICE)
    record = ActionRecord.model_validate(data)
    assert (record.refired_at is not None) is noted, name
    assert record.refired_incident == ("0.second" if noted else "")


def test_the_first_refiring_is_kept():
    store = _state()
    note_refired(store, SECOND, NOW, "service", SERVICE)
    note_refired(store, opened("0.third"), NOW + timedelta(minutes=1), "service", SERVICE)
    [data] = store.find_records(ACTIONS, "service", SERVICE)
    assert (data["refired_incident"], data["refired_at"]) == ("0.second", NOW)


def test_a_closed_notification_is_no_refiring():
    store = _state()
    note_refired(store, parse_notification(closed(incident_id="0.second")), NOW, "service", SERVICE)
    [data] = store.find_records(ACTIONS, "service", SERVICE)
    assert data.get("refired_at") is None


def test_the_latest_start_is_noted_beside_the_first_refiring():
    """The first refiring is kept; the one that began latest is noted beside it, so that one begun before the
    action settled (another series already failing) does not hide one begun after it (judging.refired_after_settle).
    Before, only the first was noted, with no start at all."""
    store = _state()
    start = SECOND.started_at
    note_refired(store, SECOND, NOW, "service", SERVICE)
    note_refired(store, opened("0.third", started_at=start + 420), NOW + timedelta(minutes=7), "service", SERVICE)
    note_refired(store, opened("0.fourth", started_at=start + 60), NOW + timedelta(minutes=8), "service", SERVICE)
    [data] = store.find_records(ACTIONS, "service", SERVICE)
    record = ActionRecord.model_validate(data)
    assert (record.refired_incident, record.refired_at) == ("0.second", NOW)
    assert (record.refired_started_incident, record.refired_started_at) == ("0.third", start + 420)


def test_an_incident_of_no_start_notes_no_start():
    """A start of 0 is no time an incident began (Incident.start_unknown; the alert path escalates such an
    incident): noted as a refiring, with no start."""
    store = _state()
    note_refired(store, opened("0.second", started_at=0), NOW, "service", SERVICE)
    [data] = store.find_records(ACTIONS, "service", SERVICE)
    record = ActionRecord.model_validate(data)
    assert record.refired_incident == "0.second" and record.refired_started_at is None


def _on_revision(incident_id: str, revision: str, **incident):
    """An OPEN of the policy on a Cloud Run revision's series (a policy grouped by revision_name keeps the
    label): the monitored resource cloud_run_revision, its labels naming the revision."""
    resource = {"type": "cloud_run_revision", "labels": {"project_id": "p", "location": "us-central1",
                                                         "service_name": "backend", "revision_name": revision,
                                                         "configuration_name": "backend"}}
    return opened(incident_id, resource=resource, resource_type_display_name="Cloud Run Revision", **incident)


def test_the_revision_a_refiring_names_is_noted():
    """Which revision the refired incident names is kept on the action (the first one's, and the latest
    start's), so the sweep can say whether the condition held on the revision the rollback sent the traffic to
    or on the one it took it from, still reached by a tag URL (judging.refire_about). Before, it was dropped."""
    store = _state()
    start = SECOND.started_at
    note_refired(store, _on_revision("0.second", "backend-00002-xyz"), NOW, "service", SERVICE)
    note_refired(store, _on_revision("0.third", "backend-00001-abc", started_at=start + 420),
                 NOW + timedelta(minutes=7), "service", SERVICE)
    [data] = store.find_records(ACTIONS, "service", SERVICE)
    record = ActionRecord.model_validate(data)
    assert (record.refired_incident, record.refired_revision) == ("0.second", "backend-00002-xyz")
    assert (record.refired_started_incident, record.refired_started_revision) == ("0.third", "backend-00001-abc")


def test_a_refiring_on_no_revision_notes_none():
    """An incident on another resource (a policy that reduces revision_name away) names no revision."""
    store = _state()
    note_refired(store, SECOND, NOW, "service", SERVICE)
    [data] = store.find_records(ACTIONS, "service", SERVICE)
    assert ActionRecord.model_validate(data).refired_revision == ""
