"""An open incident whose `started_at` is 0 is escalated undiagnosed, saying its start is unknown.

Monitoring sends the start in epoch seconds (Cloud Monitoring's schema 1.2 example, every real sample), and 0
only in the console's test notification, as a placeholder (cloudforet-io/tsc#8). Before, a 1.2 notification
with `started_at: 0` was diagnosed as an incident "open since 00:00:00" on 1970-01-01: every revision was
"deployed before the incident", the window silently became the last 30 minutes, and the failing
revision was rolled back on a deploy correlation that nothing showed. Now nothing is read or written,
and the person paged is told why, which policy and what it is about. In-process parts
(tests/property/fast.py) through the pipeline's own entry point."""
from __future__ import annotations

import json
from typing import Any

import pytest

from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR


def notification(scenario: str, **incident: Any) -> dict[str, Any]:
    document = scenario_model(scenario).notification(ANCHOR)
    document["incident"].update(incident)
    return document


def world(scenario: str) -> FastWorld:
    managed = [s["name"] for s in scenario_model(scenario).config.get("services", [])]
    return FastWorld(seeded_copy(scenario, None), ANCHOR, **({"services": managed} if managed else {}))


def writes(w: FastWorld) -> int:
    return w.standins.run.count("UpdateService") + w.standins.vpcaccess.count("PatchConnector")


@pytest.mark.parametrize("scenario, about", [
    ("bad_revision", "projects/demo-project/locations/us-central1/services/backend"),
    ("connector_alert_shared", "connectors/"),
])
@pytest.mark.parametrize("started_at", [0, "0", 0.0, 86_400, 1_420_070_399])
def test_a_zero_start_is_escalated_and_nothing_is_written(scenario, about, started_at):
    w = world(scenario)
    document = notification(scenario, started_at=started_at)
    outcome = handle_alert(event(json.dumps(document).encode(), "z-1"), w.config, w.adapters)
    assert outcome.status is OutcomeStatus.ESCALATED, outcome.reason
    assert writes(w) == 0 and outcome.action is None
    assert outcome.diagnosis is None, "nothing is diagnosed from a start of 1970"
    assert "gives no start for incident" in outcome.reason and "no time was guessed" in outcome.reason
    assert ("started_at is 0" if not float(started_at) else "before any incident of this schema") in outcome.reason
    assert about in outcome.reason and repr(document["incident"]["policy_name"]) in outcome.reason, outcome.reason


@pytest.mark.parametrize("scenario, diagnosed", [("bad_revision", "bad_revision"),
                                                 ("connector_alert_shared", "connector_saturation")])
def test_the_same_notification_with_its_start_is_diagnosed(scenario, diagnosed):
    """The control: with the scenario's own start, the same notification is diagnosed (and the bad
    revision rolled back)."""
    w = world(scenario)
    outcome = handle_alert(event(json.dumps(notification(scenario)).encode(), "z-2"), w.config, w.adapters)
    shown = str(outcome.diagnosis.signature) if outcome.diagnosis else outcome.reason
    assert diagnosed in shown and "gives no start" not in outcome.reason, outcome.reason
    assert writes(w) == (scenario == "bad_revision")
