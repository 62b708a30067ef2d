"""An incident that closes between the diagnosis and the write: the write is held back, and a person
hears of it unless the closing showed recovery.

The gate checks right before the write that the incident is still open (guardrails._stop_before_write).
Before, a closed one was answered `skipped` whatever closed it, and `skipped` pages nobody. But a
snooze on the policy closes its incidents too ("When you apply a snooze to a metric-based ... alerting
policy, Monitoring also closes all alerts related to the alerting policy", Cloud Monitoring, "Snoozes"),
as do data that stopped (AlertStrategy.auto_close), a close by hand or an edit of the policy: then the
failure Runwarden diagnosed, and was about to fix, may still be going on, the snooze silences
Monitoring's own notifications, and the fix was dropped silently. Now such a closing is `escalated`;
one whose CLOSED showed Monitoring's own value on the clear side of the bar (Incident.recovery_shown)
is still `skipped`. Nothing is written either way. The CLOSED is handled through the pipeline's own
entry point, as another instance handles it, at the moment the gate reads the incident before the write;
in-process parts (tests/property/fast.py)."""
from __future__ import annotations

from typing import Any

import pytest

from shared.outcomes import OutcomeStatus, notify_severity
from shared.pipeline import handle_alert
from shared.remediation.records import INCIDENTS, SETTLED
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR

SCENARIO = "bad_revision"   # 5xx share above 0.05 (COMPARISON_GT): a rollback, in enforce mode


def closing_before_the_write(world: FastWorld, **closed: Any) -> None:
    """The CLOSED `closed` describes is handled the moment the gate reads the incident right before the
    write (that read asks for the incident without its settled entries, which the first read has)."""
    state, read = world.state, world.state.get_many
    done: list[bool] = []

    def get_many(keys):
        incidents = [key for kind, key in keys if kind == INCIDENTS]
        if incidents and not done and not any(kind == SETTLED for kind, _ in keys):
            done.append(True)
            handle_alert(world.alert(SCENARIO, message_id="closed", state="closed", **closed), world.config,
                         world.adapters)
        return read(keys)

    state.get_many = get_many


CLOSINGS = {
    # (the CLOSED's observed_value, the answer, paged)
    "a snooze (the value it fired at)": (None, OutcomeStatus.ESCALATED, True),
    "data stopped (no value)": ("", OutcomeStatus.ESCALATED, True),
    "recovered (0.001, under the 0.05 bar)": ("0.001", OutcomeStatus.SKIPPED, False),
}


@pytest.mark.parametrize("value, status, paged", CLOSINGS.values(), ids=CLOSINGS.keys())
def test_an_incident_closed_before_the_write_is_escalated_unless_it_showed_recovery(value, status, paged):
    world = FastWorld(seeded_copy(SCENARIO, None), ANCHOR)
    closing_before_the_write(world, **({} if value is None else {"closed_value": value}))

    outcome = handle_alert(world.alert(SCENARIO, message_id="1"), world.config, world.adapters)

    assert world.standins.run.count("UpdateService") == 0
    assert outcome.status is status, outcome.reason
    assert "before the write" in outcome.reason and "closed (notification)" in outcome.reason, outcome.reason
    assert (notify_severity(outcome) is not None) is paged
    if paged:
        assert "the fix was not sent" in outcome.reason and "a person must look" in outcome.reason
    else:
        assert "showing recovery (Monitoring closed it with a value of 0.001" in outcome.reason, outcome.reason


def test_a_closing_of_another_policy_under_the_same_id_before_the_write_is_escalated():
    """Even one that shows recovery: it is another policy's incident (tests/unit/test_one_incident_id_two_policies.py)."""
    import copy
    import json

    from tests.integration.world import event
    from tests.property.fast import scenario_model

    world = FastWorld(seeded_copy(SCENARIO, None), ANCHOR)
    document = copy.deepcopy(scenario_model(SCENARIO).notification(ANCHOR, state="closed", closed_value="0.001"))
    document["incident"]["condition"]["name"] = "projects/demo-project/alertPolicies/999/conditions/1"
    read, done = world.state.get_many, []

    def get_many(keys):
        if any(kind == INCIDENTS for kind, _ in keys) and not any(kind == SETTLED for kind, _ in keys) and not done:
            done.append(handle_alert(event(json.dumps(document).encode(), "closed"), world.config, world.adapters))
        return read(keys)

    world.state.get_many = get_many
    outcome = handle_alert(world.alert(SCENARIO, message_id="1"), world.config, world.adapters)

    assert [o.status for o in done] == [OutcomeStatus.RESOLVED]
    assert world.standins.run.count("UpdateService") == 0
    assert outcome.status is OutcomeStatus.ESCALATED and "alertPolicies/999" in outcome.reason, outcome.reason
