"""A connector patch whose operation finished without an error, read back: the pure decision
(shared/gcp/vpcaccess.py, `read_back`) as a table, then what the gate makes of the unknown outcome.

The v1 Connector keeps no generation, etag or update time, so a read-back that does not show the
patch (a person's change landing as the operation ended, or a patch that did not take) is an unknown
outcome: recorded, closed `escalated`, never a permanent failure given back unrecorded."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.clock import FixedClock
from shared.config import parse_config
from shared.diagnosis.evidence import Connector
from shared.errors import NotShownAfterWriteError
from shared.gcp.vpcaccess import read_back
from shared.outcomes import OutcomeStatus
from shared.ports import ClaimStatus
from shared.remediation.actions import get_action
from shared.remediation.actions.scale_connector import ScaleConnectorParams, connector_state
from shared.remediation.guardrails import CLAIMS, Gate, claim_key
from shared.remediation.records import ACTIONS, INTENTS, intent_key

from tests.unit.builders import CONNECTOR, T0
from tests.unit.fakes import MemoryStateStore

ACTION = get_action("scale_connector")


def connector(machine_type: str = "e2-micro", low: int = 2, high: int = 4, state: str = "READY") -> Connector:
    return Connector(name=CONNECTOR, state=state, machine_type=machine_type, min_instances=low, max_instances=high)


# --- the pure decision: (what was asked, what the read-back shows) -> the connector, or unknown ----------

READ_BACKS = {
    "as asked": (connector(), None, True),
    "scaled further meanwhile (at least what was asked)": (connector(low=3, high=6), None, True),
    "another machine type, none asked (the mask left it alone)": (connector("e2-standard-4"), None, True),
    "the machine type asked": (connector("e2-standard-4"), "e2-standard-4", True),
    "max short of what was asked": (connector(high=3), None, False),
    "the machine type put back after the patch": (connector("e2-micro"), "e2-standard-4", False),
    "another machine type than asked": (connector("f1-micro"), "e2-standard-4", False),
}


@pytest.mark.parametrize("shows, machine_type, applied", READ_BACKS.values(), ids=READ_BACKS.keys())
def test_what_a_read_back_after_an_error_free_operation_decides(shows, machine_type, applied):
    """Asked: min 2, max 4 (and `machine_type` when named). Short of it is never a permanent failure."""
    if applied:
        assert read_back(shows, 2, 4, machine_type) is shows
        return
    with pytest.raises(NotShownAfterWriteError) as caught:
        read_back(shows, 2, 4, machine_type)
    said = str(caught.value)
    assert f"shows min {shows.min_instances}, max {shows.max_instances}, {shows.machine_type}" in said
    assert "finished without an error" in said and "another hand" in said and "did not take" in said


def test_min_short_of_what_was_asked_is_unknown_too():
    with pytest.raises(NotShownAfterWriteError, match="shows min 2, max 5, e2-micro .* not the min 3, max 5"):
        read_back(connector(low=2, high=5), 3, 5, None)


# --- the gate: recorded, closed escalated, the plan closed with it -----------------------------------

class ChangedAsTheUpdateEnded:
    """The VPC Access port: the connector as planned on (2-3), and an update whose operation finished
    without an error while the read-back showed another hand's machine type."""

    def __init__(self) -> None:
        self.patches = 0

    def get_connector(self, name):
        return connector(high=3)

    def update_connector(self, name, *, min_instances, max_instances, machine_type=None):
        self.patches += 1
        return connector("e2-standard-4", min_instances, max_instances)


class Adapters:
    def __init__(self, vpcaccess) -> None:
        self.vpcaccess = vpcaccess


def test_the_gate_records_an_unknown_read_back_closed_escalated_and_says_what_the_connector_shows():
    cfg = parse_config({"project": "demo", "outcomes_topic": "projects/demo/topics/runwarden-outcomes",
                        "mode": "enforce", "bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True}]}})
    params = ScaleConnectorParams(target=CONNECTOR, from_min_instances=2, from_max_instances=3,
                                  from_machine_type="e2-micro", min_instances=2, max_instances=4,
                                  machine_type="e2-micro", reason="at max instances (3)")
    state, vpc = MemoryStateStore(), ChangedAsTheUpdateEnded()
    gate = Gate(cfg, state, FixedClock(T0 + timedelta(minutes=2)), owner="m-1:a", message_id="m-1")

    result = gate.execute(ACTION, params, connector_state(connector(high=3)), "inc-1", Adapters(vpc))

    assert (result.status, result.written, vpc.patches) == (OutcomeStatus.ESCALATED, True, 1), result.reason
    assert "e2-standard-4, not e2-micro" in result.reason and "may be a person's change" in result.reason
    key = claim_key("inc-1", CONNECTOR, "scale_connector")
    record = state.get_record(ACTIONS, key)
    assert record["state"] == "escalated" and record["resolved_at"] is not None   # the sweep never judges it
    assert record["note"].startswith("outcome unknown") and not record["after"]
    assert state.get(CLAIMS, key).status is ClaimStatus.COMPLETED                  # a redelivery is a duplicate
    assert state.get_record(INTENTS, intent_key("inc-1", "m-1"))["state"] == "recorded"   # nothing for the sweep
