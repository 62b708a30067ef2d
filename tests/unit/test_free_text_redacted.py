"""Free text a person writes that every line and outcome quotes: a command's `reason` and `requested_by`, an alert
policy's display name, its condition's, the incident's summary. A credential pasted there reaches neither the timeline
nor an outcome: each is redacted as it is read (shared/alerts/commands.py `Reason`, `Principal`;
shared/alerts/incidents.py `ShownText`). The in-process world (tests/property/fast.py) through the real entry points."""
from __future__ import annotations

import contextlib
import io
import json

import pytest

from shared.commands import handle_command
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, seeded_copy, scenario_model
from tests.property.harness import ANCHOR

OPERATOR = "alice@example.com"
SECRET = "Zq8s3cretW"
# Each a credential as a person pastes it, from a runbook or an env dump.
PASTED = {
    "an encryption key": f"ENCRYPTION_KEY={SECRET}",
    "a DSN": f"postgres://app:{SECRET}@10.40.0.3/orders",
    "a bearer header": f"Authorization: Bearer {SECRET}abcdefghijklmn",
    "a password before a sentence": f"password: {SECRET} was rejected",
    "a passphrase opening as a driver's message": f"password: connection lost {SECRET}",
    "a MySQL client's -p and a space": f"ran mysql -u app -p {SECRET} orders",
    "a long option's value": f"--encryption-key {SECRET}",
}


def _written(world: FastWorld, run) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run()
    return out.getvalue() + json.dumps(world.published())


@pytest.mark.parametrize("command", ["pause", "status"])
@pytest.mark.parametrize("pasted", PASTED.values(), ids=PASTED.keys())
def test_a_commands_reason_is_written_with_its_credentials_redacted(pasted, command):
    """Before, a pause's reason reached its `kill_switch` and `applied` lines and its outcome as sent."""
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR, operators=[OPERATOR])
    body = {"command": command, "command_id": "c-1", "requested_by": OPERATOR, "reason": f"rotating {pasted}"}
    written = _written(world, lambda: handle_command(event(json.dumps(body).encode(), "m-1"), world.config,
                                                      world.adapters))
    assert world.published() and SECRET not in written
    if command == "pause":
        assert "rotating" in written and "[redacted credential]" in written


@pytest.mark.parametrize("pasted", PASTED.values(), ids=PASTED.keys())
def test_who_asks_is_written_with_its_credentials_redacted(pasted):
    """`requested_by` is recorded on every line of the command and its outcome, as its reason is."""
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR, operators=[OPERATOR])
    body = {"command": "status", "command_id": "c-1", "requested_by": f"ops {pasted}", "reason": "check"}
    written = _written(world, lambda: handle_command(event(json.dumps(body).encode(), "m-1"), world.config,
                                                      world.adapters))
    assert world.published() and SECRET not in written


@pytest.mark.parametrize("field", ["policy_name", "condition_name", "summary"])
@pytest.mark.parametrize("pasted", PASTED.values(), ids=PASTED.keys())
def test_an_alerts_display_names_are_written_with_their_credentials_redacted(pasted, field):
    """Before, a policy's or a condition's display name holding a credential reached the `received` line and the
    outcome's reason as written."""
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    notification = scenario_model("bad_revision").notification(ANCHOR)
    notification["incident"][field] = f"{notification['incident'].get(field, '')} {pasted}"
    written = _written(world, lambda: handle_alert(event(json.dumps(notification).encode(), "7"), world.config,
                                                    world.adapters))
    assert world.published() and SECRET not in written


# An incident id keys every record and labels every line of its incident: one holding a credential (an access token is
# of an id's shape) is refused, on the alerts topic and misrouted to the commands topic alike, and named nowhere.
IDS = {"a key's pair": f"ENCRYPTION_KEY={SECRET}", "an access token": f"ya29.{SECRET}-abc"}


@pytest.mark.parametrize("topic", ["alerts", "commands"])
@pytest.mark.parametrize("incident_id", IDS.values(), ids=IDS.keys())
def test_an_incident_id_holding_a_credential_is_refused_and_written_nowhere(incident_id, topic):
    """Before, the alert was read and acted on, its id written on every line and outcome as sent."""
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    notification = scenario_model("bad_revision").notification(ANCHOR)
    notification["incident"]["incident_id"] = incident_id
    handle = handle_alert if topic == "alerts" else handle_command
    written = _written(world, lambda: handle(event(json.dumps(notification).encode(), "7"), world.config,
                                              world.adapters))
    assert [o["status"] for o in world.published()] == ["rejected"] and SECRET not in written
    assert world.standins.run.calls == []
