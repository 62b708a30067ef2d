"""State records this version cannot read (damaged, or written by a version whose fields it does not know), met on
the alert path and by the sweep, written with the real client on the Firestore emulator: each is named in an
`escalated` answer, once, never raised as an unexpected exception (a `failed` outcome, redeliveries failing the
same way, and the sweep stopped for every service). A restore to_latest closes a pending rollback a read of the
service's first 100 records leaves out. No mocks: stand-ins and emulators."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.remediation.records import ACTIONS, PINS
from tests.integration.test_remediation import (action_state, recovery, rolled_back,  # noqa: F401
                                                world)
from tests.integration.world import SERVICE, World


def _damaged_action(world: World, key: str, service: str = SERVICE, **fields) -> None:
    """An action record as a version with other fields might have left it: no `applied_at` nor `reversible`,
    which this one requires, and a `state` it does not know unless given."""
    world.state.put_record(ACTIONS, key, {"key": key, "incident_id": key.split("|")[0], "target": service,
                                          "service": service, "action": "rollback_traffic", "signature": "bad_deploy",
                                          "state": "reverted-by-hand",
                                          "deadline_at": world.anchor + timedelta(minutes=5), **fields})


def test_an_alert_on_a_service_whose_action_record_cannot_be_read_is_escalated_naming_it(world):
    """A record of the service the plan's checks read (a verified fix that came back, an undone one it would
    repeat) cannot be read. Before, the alert raised a ValidationError: a `failed` outcome, redelivered and
    failing again, the record unnamed. Now it is escalated naming the record, and nothing is written."""
    world.seed("bad_revision")
    _damaged_action(world, "old-incident|backend|rollback_traffic", state="verified",
                    resolved_at=world.anchor - timedelta(minutes=30))

    outcome = world.handle(world.alert())

    assert outcome.status.value == "escalated", outcome.reason
    assert "'old-incident|backend|rollback_traffic'" in outcome.reason and "cannot be read" in outcome.reason
    assert "Field required" in outcome.reason, outcome.reason
    assert world.writes() == 0


def test_a_damaged_action_record_of_another_service_does_not_block_the_alert(world):
    world.seed("bad_revision")
    _damaged_action(world, "other-incident|frontend|rollback_traffic", service="frontend", state="verified",
                    resolved_at=world.anchor - timedelta(minutes=30))

    assert world.handle(world.alert()).status.value == "applied"


def test_a_damaged_pending_action_is_escalated_once_and_the_sweep_judges_the_others(rolled_back):
    """Another service's pending action record cannot be read. Before, the sweep raised on it: no action of any
    service was judged again. Now it is escalated once, naming it, and the rollback is verified as usual."""
    _damaged_action(rolled_back, "other-incident|frontend|rollback_traffic", service="frontend", state="pending")
    recovery(rolled_back)
    rolled_back.at(12)

    outcomes = rolled_back.command({"command": "sweep"})

    by_status = {o.status.value: o for o in outcomes}
    assert set(by_status) == {"verified", "escalated"}, [(o.status.value, o.reason) for o in outcomes]
    assert "'other-incident|frontend|rollback_traffic'" in by_status["escalated"].reason
    assert action_state(rolled_back) == "verified"
    rolled_back.at(14)
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []   # told once


@pytest.mark.parametrize("others", [120])
def test_a_restore_to_latest_closes_a_pending_rollback_past_the_first_hundred_records(rolled_back, others):
    """The service has more action records than one read returns (100), the pending rollback not among the first
    ones by document order. Before, the restore left it pending: the sweep would judge and undo it over the
    restore. Now every pending rollback of the service is closed."""
    for n in range(others):
        key = f"!older-{n:03d}|{SERVICE}|scale_connector"     # '!' sorts before any incident id
        rolled_back.state.put_record(ACTIONS, key, {"key": key, "service": SERVICE, "action": "scale_connector",
                                                    "state": "verified"})
    assert rolled_back.state.get_record(PINS, SERVICE)["pinned"] is True
    body = {"command": "restore_traffic", "command_id": "rs-1", "requested_by": "alice@example.com",
            "target": SERVICE, "params": {"to_latest": True}, "reason": "fixed"}

    [restored] = rolled_back.command(body, message_id="rs-1")

    assert restored.status.value == "applied", restored.reason
    assert rolled_back.state.get_record(ACTIONS, action_key_of(rolled_back))["state"] == "undone"


def action_key_of(world: World) -> str:
    [record] = [r for r in world.state.find_records(ACTIONS, "action", "rollback_traffic") if r["service"] == SERVICE]
    return record["key"]


def test_a_damaged_pin_of_another_service_is_escalated_once_and_the_sweep_goes_on(rolled_back):
    """A pin record that cannot be read (no revision, its pinned_at not a time). Before, the sweep's pin step raised
    on it, every sweep. Now it is escalated once, naming it, and the rest of the sweep runs."""
    other = SERVICE.replace("/backend", "/frontend")
    rolled_back.state.put_record(PINS, other, {"service": other, "pinned": True, "pinned_at": "yesterday"})
    recovery(rolled_back)
    rolled_back.at(12)

    outcomes = rolled_back.command({"command": "sweep"})

    escalated = [o for o in outcomes if o.status.value == "escalated"]
    assert [o.status.value for o in outcomes if o not in escalated] == ["verified"], [o.reason for o in outcomes]
    [told] = escalated
    assert f"'{other}'" in told.reason and "Field required" in told.reason, told.reason
    rolled_back.at(14)
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []
