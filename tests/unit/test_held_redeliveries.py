"""Pub/Sub delivering again a notification whose write the gate held back, on in-process parts
(tests/property/fast.py).

docs/behaviour.md's model: a redelivery is the same message (a push subscription has no exactly-once
delivery), not a new evaluation; a new evaluation comes from a new notification of the incident or from a
person. So:
- a message held back by a cooldown or a spent budget is kept by its message, as one held back by the kill
  switch or a pause is (shared/remediation/held_messages.py): its delivery again, once the cooldown has ended
  or a slot is free, is `skipped`, naming the hold and what does act, and writes nothing; a new notification
  of the incident acts;
- a held message delivered again after a later notification of its incident acted is answered as what it
  is: a duplicate of that action, naming it, never "held" nor a second write."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.outcomes import OutcomeStatus
from shared.remediation.guardrails import BUDGETS, COOLDOWNS, budget_buckets, slot_keys
from tests.integration.world import SERVICE
from tests.property.fast import FastWorld
from tests.property.harness import CONNECTOR
# The same world, commands and counts as the brake's races (one place for them).
from tests.unit.test_switch_in_flight import _handle, _send, _world, _writes

SKIPPED, APPLIED = OutcomeStatus.SKIPPED, OutcomeStatus.APPLIED
# The scenario's write, and its target.
WRITES = {"bad_revision": ("rollback_traffic", SERVICE), "connector_saturation": ("scale_connector", CONNECTOR)}


def _cooldown(w: FastWorld, target: str) -> None:
    """Another incident's write took the target's cooldown a minute ago; it ends in two minutes."""
    w.state.claim(COOLDOWNS, target, "m-other:1", timedelta(minutes=2), w.clock.now())


def _target_hour_spent(w: FastWorld, target: str) -> None:
    """The target's budget for this hour spent by earlier writes, each slot lapsing in two minutes (a slot
    that lapses is free again, as in a new bucket)."""
    scope, bucket, capacity = budget_buckets(w.config, target, w.clock.now())[0]
    for key in slot_keys(f"{scope}|{bucket}", capacity):
        w.state.claim(BUDGETS, key, "m-other:1", timedelta(minutes=2), w.clock.now())


def _global_hour_spent(w: FastWorld, target: str) -> None:
    scope, bucket, capacity = budget_buckets(w.config, target, w.clock.now())[2]
    for key in slot_keys(f"{scope}|{bucket}", capacity):
        w.state.claim(BUDGETS, key, "m-other:1", timedelta(minutes=2), w.clock.now())


# (scenario, what holds the write back, the refusal's first words, what its redelivery says does not release it)
HOLDS = {
    "a rollback, the target's cooldown": ("bad_revision", _cooldown, "cooldown:", "the cooldown's end"),
    "a connector scale, the connector's cooldown": ("connector_saturation", _cooldown, "cooldown:",
                                                    "the cooldown's end"),
    "a rollback, the target's hourly budget": ("bad_revision", _target_hour_spent, "budget exhausted:",
                                               "a budget's slot coming free"),
    "a connector scale, the global hourly budget": ("connector_saturation", _global_hour_spent,
                                                    "budget exhausted:", "a budget's slot coming free"),
}


@pytest.mark.parametrize("scenario, hold, first_words, not_released_by", HOLDS.values(), ids=HOLDS.keys())
def test_a_message_held_by_a_cooldown_or_budget_is_not_acted_on_when_delivered_again_after_it_clears(
        scenario, hold, first_words, not_released_by):
    w = _world(scenario)
    w.at(1)
    hold(w, WRITES[scenario][1])
    w.at(2)
    alert = w.alert(scenario, message_id="m-held")
    held = _handle(w, alert)
    assert held.status is SKIPPED and held.reason.startswith(first_words), held.reason

    w.at(6)   # the hold has cleared: the cooldown ended, the slots lapsed
    again = _handle(w, alert)   # Pub/Sub delivers the same message again (at least once)
    said = ("message m-held delivered again", "held back at", first_words, f"{not_released_by} does not release it",
            "nothing was diagnosed or written", "A new notification of the incident", "runwarden command diagnose")
    assert again.status is SKIPPED and [words for words in said if words not in again.reason] == [], again.reason
    assert _writes(w) == 0

    renotified = _handle(w, w.alert(scenario, message_id="m-renotified"))   # a new notification: acted on
    assert renotified.status is APPLIED, renotified.reason
    assert _writes(w) == 1


def _kill_switch(w: FastWorld, target: str) -> None:
    assert _send(w, "pz-1", "pause").status is APPLIED


def _pause_target(w: FastWorld, target: str) -> None:
    assert _send(w, "pz-1", "pause", target=target).status is APPLIED


def _released(w: FastWorld, target: str) -> None:
    """The kill switch or the pause released (a cooldown or a budget clears with time: nothing to send)."""
    for command_id, fields in (("rs-1", {}), ("rs-2", {"target": target})):
        _send(w, command_id, "resume", **fields)


# (scenario, what holds the first message's write back)
LATER_ACTED = {
    "a rollback held by the kill switch": ("bad_revision", _kill_switch),
    "a rollback held by a pause of the service": ("bad_revision", _pause_target),
    "a connector scale held by the kill switch": ("connector_saturation", _kill_switch),
    "a connector scale held by a pause of the connector": ("connector_saturation", _pause_target),
    "a rollback held by the target's cooldown": ("bad_revision", _cooldown),
    "a connector scale held by the global hourly budget": ("connector_saturation", _global_hour_spent),
}


@pytest.mark.parametrize("scenario, hold", LATER_ACTED.values(), ids=LATER_ACTED.keys())
def test_a_held_message_delivered_after_its_incident_acted_is_answered_as_that_action(scenario, hold):
    action, target = WRITES[scenario]
    w = _world(scenario)
    w.at(1)
    hold(w, target)
    w.at(2)
    alert = w.alert(scenario, message_id="m-held")
    assert _handle(w, alert).status is SKIPPED
    w.at(5)
    _released(w, target)
    w.at(6)
    acted = _handle(w, w.alert(scenario, message_id="m-renotified"))
    assert acted.status is APPLIED and _writes(w) == 1, acted.reason

    again = _handle(w, alert)   # the held message, delivered again by Pub/Sub
    assert again.status is SKIPPED, again.reason
    assert again.reason.startswith(f"duplicate: {action} on {target} for this incident"), again.reason
    assert "(applied)" in again.reason and "does not release it" not in again.reason, again.reason
    assert any("m-held" in note and "held back at" in note for note in again.notes), again.notes
    assert _writes(w) == 1


def _mode(w: FastWorld, mode: str) -> None:
    from shared.config import Mode
    w.config = w.config.model_copy(update={"mode": Mode(mode)})


# (scenario, what held the dry run's write back, whether it is released by a command before the real run)
DRY_HOLDS = {
    "a rollback, the target's cooldown": ("bad_revision", _cooldown, False),
    "a connector scale, the connector's cooldown": ("connector_saturation", _cooldown, False),
    "a rollback, the kill switch": ("bad_revision", _kill_switch, True),
    "a connector scale, a pause of the connector": ("connector_saturation", _pause_target, True),
    "a rollback, nothing held (the dry run's own answer)": ("bad_revision", None, False),
}


@pytest.mark.parametrize("scenario, hold, released", DRY_HOLDS.values(), ids=DRY_HOLDS.keys())
def test_a_dry_run_held_back_leaves_nothing_that_holds_a_later_real_run(scenario, hold, released):
    """Under the config's dry_run mode a message's write is held back (its cooldown, a brake); the mode is then
    enforce and the message is delivered again once the hold has cleared. The dry run would have written
    nothing either way, so it holds nothing: the delivery is diagnosed afresh and acts. Before, the dry run kept
    the message as held, and the real run answered `skipped` ("its write ... was held back at ..."), a hold of
    a write that was never going to be made, while the failure went on."""
    action, target = WRITES[scenario]
    w = _world(scenario)
    _mode(w, "dry_run")
    w.at(1)
    if hold is not None:
        hold(w, target)
    w.at(2)
    alert = w.alert(scenario, message_id="m-dry")
    held = _handle(w, alert)
    assert held.status is (SKIPPED if hold else OutcomeStatus.DRY_RUN) and _writes(w) == 0, held.reason
    assert hold is None or any("dry run (the config's mode is dry_run): nothing would have been written either way; this hold is "
               "not kept" in note for note in held.notes), held.notes
    w.at(5)
    if released:
        _released(w, target)
    _mode(w, "enforce")
    w.at(6)
    again = _handle(w, alert)
    assert again.status is APPLIED and _writes(w) == 1, again.reason
    assert "delivered again" not in again.reason and not any("held back at" in n for n in again.notes), again
