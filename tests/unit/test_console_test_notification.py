"""The console's "Send test notification" on Runwarden's channel: `"version": "test"`, incident "12345"
OPEN on an `example_resource` in the only copy of its payload found (tests/fixtures/notifications/
console_test_notification.json, from cloudforet-io/tsc#8; that a Pub/Sub channel's test is the same is
UNCONFIRMED). It is answered as a test, whatever state, id or resource it carries, and nothing is read
or written. Before, a test that said CLOSED went down the CLOSED path first: it was answered `resolved`
("incident closed; recorded"), and under the id of an incident Runwarden had acted on it recorded that
incident closed and marked its action closed by it. In-process parts (tests/property/fast.py) through
the pipeline's own entry point."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from shared.remediation.records import ACTIONS, INCIDENTS
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "notifications" / "console_test_notification.json"


def documented(**incident: Any) -> dict[str, Any]:
    document = copy.deepcopy(json.loads(SAMPLE.read_text()))
    document["incident"].update(incident)
    return document


def handle(w: FastWorld, document: dict[str, Any], message_id: str):
    return handle_alert(event(json.dumps(document).encode(), message_id), w.config, w.adapters)


def writes(w: FastWorld) -> int:
    return w.standins.run.count("UpdateService") + w.standins.vpcaccess.count("PatchConnector")


@pytest.mark.parametrize("state", ["OPEN", "CLOSED", "open", "closed"])
def test_a_test_notification_is_answered_as_a_test_and_nothing_is_recorded(state):
    w = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    outcome = handle(w, documented(state=state), "t-1")
    assert outcome.status is OutcomeStatus.SKIPPED, outcome.reason
    assert outcome.reason.startswith("test notification (version 'test'"), outcome.reason
    assert f"state {state.lower()}" in outcome.reason and "nothing was read, diagnosed or recorded" in outcome.reason
    assert w.state.get_record(INCIDENTS, "12345") is None
    assert writes(w) == 0


def test_a_test_closed_under_an_acted_on_incidents_id_leaves_that_incident_open():
    """A test naming a real incident and service (whether the console's ever does is UNCONFIRMED): the
    incident Runwarden rolled back stays open in its records, its action not marked closed."""
    w = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    real = scenario_model("bad_revision").notification(ANCHOR)
    first = handle(w, real, "r-1")
    assert first.status is OutcomeStatus.APPLIED, first.reason
    incident_id = real["incident"]["incident_id"]
    test = copy.deepcopy(real)
    test["version"] = "test"
    test["incident"].update(state="closed", ended_at=int(ANCHOR.timestamp()) + 120, observed_value="0.001")

    outcome = handle(w, test, "t-2")

    assert outcome.status is OutcomeStatus.SKIPPED and outcome.reason.startswith("test notification"), outcome.reason
    assert (w.state.get_record(INCIDENTS, incident_id) or {}).get("state") != "closed"
    assert all(a.get("incident_closed_at") is None for a in w.state.find_records(ACTIONS, "incident_id", incident_id))
    assert writes(w) == 1


# The other reading of a Pub/Sub channel's test (UNCONFIRMED either way: shared/alerts/reasons.test_notification):
# the same dummy incident under schema "1.2", or a normal-looking incident with a dummy id. Nothing in it may be
# acted on or called healthy: its resource is none Runwarden reads, or its start is 0 (no time an incident began).
AS_1_2 = {
    "the sample, version 1.2, OPEN": lambda: documented(),
    "the sample, version 1.2, open": lambda: documented(state="open"),
    "the sample, version 1.2, CLOSED": lambda: documented(state="CLOSED"),
    "a managed service's incident, dummy id, start 0": lambda: {
        **scenario_model("bad_revision").notification(ANCHOR),
        "incident": {**scenario_model("bad_revision").notification(ANCHOR)["incident"], "incident_id": "12345",
                     "started_at": 0}},
    "a managed service's incident, dummy id, start 0, closed": lambda: {
        **scenario_model("bad_revision").notification(ANCHOR),
        "incident": {**scenario_model("bad_revision").notification(ANCHOR)["incident"], "incident_id": "12345",
                     "started_at": 0, "ended_at": 0, "state": "CLOSED"}},
}


@pytest.mark.parametrize("name", AS_1_2)
def test_a_test_under_schema_1_2_is_never_acted_on_nor_called_healthy(name):
    w = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    document = AS_1_2[name]()
    document["version"] = "1.2"
    outcome = handle(w, document, "t-1")
    assert writes(w) == 0
    assert outcome.status in (OutcomeStatus.ESCALATED, OutcomeStatus.REJECTED, OutcomeStatus.RESOLVED), outcome.reason
    assert outcome.diagnosis is None or outcome.diagnosis.signature != "healthy", outcome.reason
    assert w.state.find_records(ACTIONS, "incident_id", "12345") == []
