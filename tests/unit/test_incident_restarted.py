"""An OPEN under an incident id already acted on, whose `started_at` is not the acted-on one's, reaches a person.

Monitoring repeats an incident's start in every notification of it: a re-notification (renotifyInterval)
and a redelivery carry the same `incident_id` and `started_at`, and a condition met again after a close
opens a new incident with its own id (Cloud Monitoring, "Incidents for metric-based alerting policies";
its schema 1.2 example). Whether it ever restates a start under the same id is unconfirmed. Before, an OPEN of
an id acted on was a `skipped` duplicate whatever its start: an id reused by a relay, or an episode whose
CLOSED was lost, was a new failure after the first one's fix, dropped where nobody hears of it. Now the
claim and the action record keep the start they were taken for, and an OPEN that says another one is
`escalated`, naming both starts; nothing is diagnosed or written again (one incident is acted on once).
A re-notification with the same start is still a duplicate. In-process parts (tests/property/fast.py)
through the pipeline's own entry point, on each path a duplicate is found by: this instance's memory of
settled incidents, the claim, and the action record once the claim's retention has lapsed."""
from __future__ import annotations

import copy
import json

import pytest

from shared.outcomes import OutcomeStatus, notify_severity
from shared.pipeline import handle_alert
from shared.remediation.settled import SettledIncidents
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

SCENARIO = "bad_revision"


def notification(shift: int = 0) -> bytes:
    document = copy.deepcopy(scenario_model(SCENARIO).notification(ANCHOR))
    document["incident"]["started_at"] += shift
    return json.dumps(document).encode()


# name: (seconds the second OPEN's start is moved by, the answer)
CASES = {
    "a re-notification, the same start": (0, OutcomeStatus.SKIPPED),
    "a start 50 s later (an id reused, a CLOSED lost)": (50, OutcomeStatus.ESCALATED),
    "a start 10 min earlier": (-600, OutcomeStatus.ESCALATED),
}

# How the duplicate is found: this instance's memory, the claim (another instance), the action record
# (another instance, the claim's retention lapsed while the incident stayed open).
PATHS = ("memory", "claim", "action record")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("shift, status", CASES.values(), ids=CASES.keys())
def test_an_open_with_another_start_under_an_id_acted_on_reaches_a_person(shift, status, path):
    world = FastWorld(seeded_copy(SCENARIO, None), ANCHOR)
    first = handle_alert(event(notification(), "1"), world.config, world.adapters)
    assert first.status is OutcomeStatus.APPLIED, first.reason
    if path != "memory":
        world.adapters.settled = SettledIncidents()   # another instance
    if path == "action record":
        world.clock.advance(world.config.guardrails.claim_retention_seconds + 60)

    again = handle_alert(event(notification(shift), "2"), world.config, world.adapters)

    assert world.standins.run.count("UpdateService") == 1
    assert again.status is status, again.reason
    if status is OutcomeStatus.ESCALATED:
        assert notify_severity(again) is not None
        started = scenario_model(SCENARIO).notification(ANCHOR)["incident"]["started_at"]
        assert f"started at {started} " in again.reason and f"started at {started + shift} " in again.reason
        assert "nothing was diagnosed or written" in again.reason, again.reason
    else:
        assert again.reason.startswith("duplicate"), again.reason


@pytest.mark.parametrize("shift, marked", [(0, True), (50, False)], ids=["the same start", "another start"])
def test_a_closed_that_says_another_start_does_not_mark_the_action(shift, marked):
    """Its recovery would be another episode's: the sweep cites a closing kept on the action, and takes
    it as recovery where the health check cannot read the condition."""
    from shared.remediation.records import ACTIONS

    world = FastWorld(seeded_copy(SCENARIO, None), ANCHOR)
    first = handle_alert(event(notification(), "1"), world.config, world.adapters)
    assert first.status is OutcomeStatus.APPLIED, first.reason
    closed = json.loads(notification(shift))
    closed["incident"].update(state="closed", ended_at=closed["incident"]["started_at"] + 60, observed_value="0.001")

    answer = handle_alert(event(json.dumps(closed).encode(), "c"), world.config, world.adapters)

    assert answer.status is OutcomeStatus.RESOLVED, answer.reason
    [record] = world.state.find_records(ACTIONS, "incident_id", first.incident_id)
    assert (record["incident_closed_at"] is not None) is marked, record
    assert ("0.001" in record["incident_recovery"]) is marked, record
