"""The same incident id under two alert policies is not one incident.

Monitoring gives each incident its own id ("0.nrwotmyokd9n"), and an incident belongs to one policy:
its notifications carry the policy's condition, named "projects/P/alertPolicies/ID/conditions/ID"
(AlertPolicy.Condition.name, google/monitoring/v3/alert.proto; every sample). Runwarden keys what it
did by the incident id, so before, a notification of another policy under an id already acted on
(something that reuses ids: a relay, a hand-written payload) was answered `skipped` as a duplicate of
the first policy's action: the second alert, perhaps about another failure, was dropped where nobody
hears of it. Now the claim keeps the policy it was completed for, and another policy's notification is
`escalated`, naming both; nothing is diagnosed or written for it. The same policy renamed while its
incident is open (its display name, `policy_name`, is a person's to edit) is still the same incident.
In-process parts (tests/property/fast.py) through the pipeline's own entry point."""
from __future__ import annotations

import copy
import json

import pytest

from shared.outcomes import OutcomeStatus, notify_severity
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

SCENARIO = "bad_revision"
OTHER_POLICY = "projects/demo-project/alertPolicies/999/conditions/1"


def notification(**incident) -> bytes:
    document = copy.deepcopy(scenario_model(SCENARIO).notification(ANCHOR))
    condition_name = incident.pop("condition_resource", None)
    if condition_name is not None:
        document["incident"]["condition"]["name"] = condition_name
    document["incident"].update(incident)
    return json.dumps(document).encode()


CASES = {
    "another policy under the same id": (dict(condition_resource=OTHER_POLICY, policy_name="checkout latency"),
                                         OutcomeStatus.ESCALATED),
    "the same policy, renamed": (dict(policy_name="backend 5xx ratio (renamed)"), OutcomeStatus.SKIPPED),
    "no condition name to tell": (dict(condition_resource=""), OutcomeStatus.SKIPPED),
}


@pytest.mark.parametrize("second, status", CASES.values(), ids=CASES.keys())
def test_a_second_policys_notification_under_an_id_acted_on_reaches_a_person(second, status):
    world = FastWorld(seeded_copy(SCENARIO, None), ANCHOR)
    first = handle_alert(event(notification(), "1"), world.config, world.adapters)
    assert first.status is OutcomeStatus.APPLIED, first.reason

    again = handle_alert(event(notification(**second), "2"), world.config, world.adapters)

    assert world.standins.run.count("UpdateService") == 1
    assert again.status is status, again.reason
    if status is OutcomeStatus.ESCALATED:
        assert notify_severity(again) is not None
        assert "alertPolicies/4021480765164349360" in again.reason and "alertPolicies/999" in again.reason
        assert "nothing was diagnosed or written" in again.reason, again.reason
    else:
        assert again.reason.startswith("duplicate"), again.reason


@pytest.mark.parametrize("second, status", CASES.values(), ids=CASES.keys())
def test_an_open_of_a_second_policy_after_a_closed_under_its_id_reaches_a_person(second, status):
    """The first policy's CLOSED came first (it closes the incident's record): the second policy's OPEN
    under the same id is no reordered OPEN of a closed incident."""
    world = FastWorld(seeded_copy(SCENARIO, None), ANCHOR)
    closing = world.alert(SCENARIO, message_id="c", state="closed")
    # No OPEN of it reached Runwarden before: escalated (tests/unit/test_closed_never_opened.py), recorded closed.
    assert handle_alert(closing, world.config, world.adapters).status is OutcomeStatus.ESCALATED

    late = handle_alert(event(notification(**second), "2"), world.config, world.adapters)

    assert world.standins.run.count("UpdateService") == 0
    assert late.status is status, late.reason
    if status is OutcomeStatus.ESCALATED:
        assert notify_severity(late) is not None
        assert "alertPolicies/4021480765164349360" in late.reason and "alertPolicies/999" in late.reason
    else:
        assert "already closed" in late.reason, late.reason


def test_a_closed_of_another_policy_under_the_id_does_not_mark_the_first_policys_action():
    """Its recovery is another condition's: the action keeps no closing of it (the sweep would cite it,
    and, for a condition the health check cannot read, take it as the action's recovery)."""
    from shared.remediation.records import ACTIONS

    world = FastWorld(seeded_copy(SCENARIO, None), ANCHOR)
    first = handle_alert(event(notification(), "1"), world.config, world.adapters)
    assert first.status is OutcomeStatus.APPLIED, first.reason
    closed = json.loads(notification(condition_resource=OTHER_POLICY))
    closed["incident"].update(state="closed", ended_at=closed["incident"]["started_at"] + 60, observed_value="0.001")

    answer = handle_alert(event(json.dumps(closed).encode(), "c"), world.config, world.adapters)

    assert answer.status is OutcomeStatus.RESOLVED, answer.reason
    [record] = world.state.find_records(ACTIONS, "incident_id", first.incident_id)
    assert record["incident_closed_at"] is None and record["incident_recovery"] == "", record
    assert record["alert"]["policy_resource"] == "projects/demo-project/alertPolicies/4021480765164349360"


def test_a_closed_of_the_same_policy_marks_its_action():
    from shared.remediation.records import ACTIONS

    world = FastWorld(seeded_copy(SCENARIO, None), ANCHOR)
    first = handle_alert(event(notification(), "1"), world.config, world.adapters)
    handle_alert(world.alert(SCENARIO, message_id="c", state="closed", closed_value="0.001"), world.config,
                 world.adapters)

    [record] = world.state.find_records(ACTIONS, "incident_id", first.incident_id)
    assert record["incident_closed_at"] is not None and "0.001" in record["incident_recovery"], record
