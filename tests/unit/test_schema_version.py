"""A notification of another schema version than 1.2 is never acted on.

Every real sample and the documented example say `"version": "1.2"`; the console's test notification
says "test" (tests/fixtures/samples, cloudforet-io/tsc#8). What 1.0 and 1.1 held, and what a later
version will, is unconfirmed: the same key may mean something else there. Before, the version was
read and ignored: a `"version": "2.0"` notification of a failing revision was rolled back as a 1.2
one. Now it is escalated before anything is read, naming the version, the policy and the resource,
and a CLOSED of another version records the incident closed without showing any recovery. In-process
parts (tests/property/fast.py) through the pipeline's own entry point."""
from __future__ import annotations

import json
from typing import Any

import pytest

from shared.alerts.incidents import parse_notification
from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR


def world(scenario: str = "bad_revision") -> FastWorld:
    return FastWorld(seeded_copy(scenario, None), ANCHOR)


def notification(version: Any, scenario: str = "bad_revision", **incident: Any) -> dict[str, Any]:
    document = scenario_model(scenario).notification(ANCHOR)
    document["incident"].update(incident)
    if version is ...:
        del document["version"]
    else:
        document["version"] = version
    return document


def run_app_writes(w: FastWorld) -> int:
    return w.standins.run.count("UpdateService") + w.standins.vpcaccess.count("PatchConnector")


@pytest.mark.parametrize("version", ["2.0", "1.1", "1.0", "1.3", "", ...],
                         ids=["2.0", "1.1", "1.0", "1.3", "empty", "missing"])
def test_a_notification_of_another_schema_is_escalated_and_nothing_is_written(version):
    w = world()
    outcome = handle_alert(event(json.dumps(notification(version)).encode(), "v-1"), w.config, w.adapters)
    assert outcome.status is OutcomeStatus.ESCALATED, outcome.reason
    assert run_app_writes(w) == 0
    assert outcome.action is None
    shown = f"version {version!r}" if version not in ("", ...) else "no version"
    assert f"notification schema {shown}, not 1.2" in outcome.reason, outcome.reason
    assert "Policy 'backend 5xx ratio', about projects/demo-project/locations/us-central1/services/backend" \
        in outcome.reason, outcome.reason


def test_the_same_notification_as_1_2_is_acted_on():
    """The control: the scenario's own 1.2 notification rolls the bad revision back."""
    w = world()
    outcome = handle_alert(event(json.dumps(notification("1.2")).encode(), "v-2"), w.config, w.adapters)
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reason
    assert run_app_writes(w) == 1


def test_a_closed_of_another_schema_closes_the_incident_and_shows_no_recovery():
    """Its values may mean something else there: the incident is recorded closed (which only ever holds
    actions back), and nothing in it counts as the condition's recovery."""
    closed = notification("1.1", state="closed", ended_at=int(ANCHOR.timestamp()) + 60, observed_value="0.001")
    incident = parse_notification(closed)
    assert incident.recovery_shown == ""
    assert parse_notification({**closed, "version": "1.2"}).recovery_shown != ""
    w = world()
    outcome = handle_alert(event(json.dumps(closed).encode(), "v-3"), w.config, w.adapters)
    assert outcome.status is OutcomeStatus.RESOLVED, outcome.reason
    assert "not taken as recovery" in outcome.reason, outcome.reason
