"""The kill switch (or a pause) turned on or off while an alert's action is in flight, on in-process parts
(tests/property/fast.py); the same races on the emulators are in tests/integration/test_pause_races.py.

What an SRE expects at each step (docs/commands.md, "The kill switch and writes in flight"):
- a write held back by the switch is answered `skipped`, naming the switch, who set it and when;
- a resume never releases that write by itself: Pub/Sub delivering the very notification again (at least
  once) after the resume is answered with the hold, nothing diagnosed or written; a new notification of the
  incident (Monitoring's re-notification, another message) or a person's command acts;
- a write already past the gate's last check when the switch lands is not stopped or undone, and its
  `applied` answer says the switch landed while it was under way, by whom and when."""
from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest

from shared.commands import handle_command
from shared.outcomes import Outcome, OutcomeStatus
from tests.integration.world import SERVICE, event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR, CONNECTOR

OPERATOR = "alice@example.com"
SKIPPED, APPLIED = OutcomeStatus.SKIPPED, OutcomeStatus.APPLIED


def _world(scenario: str) -> FastWorld:
    return FastWorld(seeded_copy(scenario, None), ANCHOR, operators=[OPERATOR],
                     bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 6}]})


def _send(w: FastWorld, command_id: str, name: str, **fields: Any) -> Outcome:
    import json
    body = {"command": name, "command_id": command_id, "requested_by": fields.pop("by", OPERATOR),
            "reason": fields.pop("reason", "INC-7"), **fields}
    data = event(json.dumps(body).encode(), f"m-{command_id}")
    data["message"]["publishTime"] = w.clock.now().isoformat().replace("+00:00", "Z")
    with contextlib.redirect_stdout(io.StringIO()):
        [outcome] = handle_command(data, w.config, w.adapters)
    return outcome


def _handle(w: FastWorld, data: dict) -> Outcome:
    with contextlib.redirect_stdout(io.StringIO()):
        return w.handle(data)


def _writes(w: FastWorld) -> int:
    return w.standins.vpcaccess.count("PatchConnector") + w.standins.run.count("UpdateService")


# (scenario, the pause's target: None for the kill switch, who pauses, why)
HOLDS = {
    "a service's rollback, the kill switch": ("bad_revision", None, "bob@example.com", "incident review"),
    "a service's rollback, a pause of the service": ("bad_revision", SERVICE, "carol@example.org", "migration"),
    "a connector alert's scale, a pause of the connector": ("connector_saturation", CONNECTOR, "dave@example.com",
                                                            "vpc maintenance"),
    "a connector alert's scale, the kill switch": ("connector_saturation", None, "erin@example.com", "freeze"),
}


@pytest.mark.parametrize("scenario, target, by, why", HOLDS.values(), ids=HOLDS.keys())
def test_a_resume_never_releases_a_held_alert_redelivered_but_a_new_notification_acts(scenario, target, by, why):
    w = _world(scenario)
    w.at(1)
    paused = _send(w, "pz-1", "pause", by=by, reason=why, **({"target": target} if target else {}))
    assert paused.status is APPLIED, paused.reason
    w.at(2)
    alert = w.alert(scenario, message_id="m-held")
    held = _handle(w, alert)
    # The brake named as the one it is: a pause of one target is no kill switch, and says how it is lifted.
    brake = "kill switch engaged" if target is None else f"held by a pause: no writes ({target} paused by {by}"
    assert held.status is SKIPPED and brake in held.reason, held.reason
    assert (f"runwarden resume --target {target}" in held.reason) is (target is not None), held.reason
    # Who set it and when (12:01:00 UTC, a minute after the anchor): "since when" is what a person checks.
    assert by in held.reason and why in held.reason and "12:01:00" in held.reason, held.reason
    w.at(5)
    assert _send(w, "rs-1", "resume", reason="done", **({"target": target} if target else {})).status is APPLIED

    w.at(6)
    again = _handle(w, alert)   # Pub/Sub delivers the same message again (at least once)
    assert again.status is SKIPPED, again.reason
    said = ("m-held", "held back", "12:02:00", "a resume does not release it", "new notification",
            "nothing was diagnosed or written")
    assert [words for words in said if words not in again.reason] == [], again.reason
    assert _writes(w) == 0

    renotified = _handle(w, w.alert(scenario, message_id="m-renotified"))   # a new notification: acted on
    assert renotified.status is APPLIED, renotified.reason
    assert _writes(w) == 1


def test_a_held_alert_delivered_again_while_the_switch_still_holds_is_held_again_and_nothing_written():
    w = _world("bad_revision")
    _send(w, "pz-2", "pause")
    alert = w.alert("bad_revision", message_id="m-2")
    assert _handle(w, alert).status is SKIPPED
    again = _handle(w, alert)
    assert again.status is SKIPPED and "held back" in again.reason, again.reason
    assert _writes(w) == 0


@pytest.mark.parametrize("target", [None, SERVICE], ids=["the kill switch", "a pause of the service"])
def test_a_switch_landing_after_the_gates_last_check_is_named_in_the_applied_answer(monkeypatch, target):
    """Past the last check, the write is sent once and not undone; its answer says the switch landed while it
    was under way (by whom, when), so the person who paused learns this one went through."""
    w = _world("bad_revision")
    real = w.adapters.run.set_traffic
    landed: list[Outcome] = []

    def write(*args: Any, **kwargs: Any) -> Any:
        if not landed:
            w.at(3)
            landed.append(_send(w, "pz-3", "pause", by="bob@example.com", reason="stop everything",
                                **({"target": target} if target else {})))
        return real(*args, **kwargs)
    monkeypatch.setattr(w.adapters.run, "set_traffic", write)

    w.at(2)
    done = _handle(w, w.alert("bad_revision", message_id="m-3"))
    assert landed and landed[0].status is APPLIED, landed
    assert done.status is APPLIED, done.reason
    said = ("kill switch engaged" if target is None else "a pause engaged", "while it was under way", "bob@example.com", "12:03:00", "stop everything",
            "past the gate's last check", "not undone")
    assert [words for words in said if words not in done.reason] == [], done.reason
    assert _writes(w) == 1


def test_an_applied_answer_says_nothing_of_a_switch_that_was_not_engaged():
    w = _world("bad_revision")
    done = _handle(w, w.alert("bad_revision", message_id="m-4"))
    assert done.status is APPLIED and "kill switch" not in done.reason, done.reason
