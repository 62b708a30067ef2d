"""A traffic write whose UpdateService operation failed with its split left desired (asked for, not serving),
under both readings of what Cloud Run keeps of a failed update (sandbox/standins/run.py
`failed_update_keeps_spec`): the pin that records it, read by the sweep, its reminder, `status` and the next
incident; and a pin released only when what serves (traffic_statuses) says so. Stand-ins and emulators, no
mocks."""
from __future__ import annotations

import pytest

from sandbox.standins.run import TrafficSeed
from shared.remediation.records import ACTIONS, PINS
from tests.integration.test_rollback_failed_operation import failing_update, world  # noqa: F401 (the fixture)
from tests.integration.world import SERVICE, World

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
READINGS = pytest.mark.parametrize("keeps", [True, False], ids=["spec_kept", "spec_put_back"])
DAY = 60 * 25   # minutes: past the default pin_reminder_seconds (a day) after the rollback


def pin(world: World) -> dict | None:
    return world.state.get_record(PINS, SERVICE)


def sweep(world: World, message_id: str) -> list:
    return world.command({"command": "sweep"}, message_id=message_id)


def operators(command: str, command_id: str, **params) -> dict:
    return {"command": command, "command_id": command_id, "requested_by": "alice@example.com", "target": SERVICE,
            "params": params, "reason": "release"}


@READINGS
def test_a_failed_rollback_left_desired_is_pinned_asked_for_not_serving(world, keeps):
    """Spec kept: OLD asked for at 100%, NEW serving. Before, no pin was written: the sweep never looked at it
    again, `status` listed nothing pinned. Now a pin in state `asked` records it, written with the action record;
    `status` lists it as asked for, not serving. Put back: nothing of the rollback is desired, no pin."""
    failing_update(world, keeps)
    outcome = world.handle(world.alert())
    status = world.command({"command": "status", "command_id": "st1", "requested_by": "alice@example.com"},
                           message_id="st1")[0]

    if not keeps:
        assert pin(world) is None and status.snapshot["pinned"] == []
        return
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    found = pin(world)
    assert found is not None, outcome.reason
    assert found["pinned"] is True and found["state"] == "asked" and found["revision"] == OLD, found
    assert found["action_id"] == record["key"], found
    [listed] = status.snapshot["pinned"]
    assert listed["revision"] == OLD and listed["state"] == "asked", listed
    assert "asked for, not serving" in listed["words"], listed


def test_a_pin_asked_for_is_reminded_of_with_both_splits_and_the_gcloud_lines(world):
    failing_update(world, keeps=True)
    world.handle(world.alert())
    world.at(DAY)

    reminders = [o for o in sweep(world, "s1") if o.status.value == "reminder"]

    [reminder] = reminders
    assert f"asks for {OLD} at 100%" in reminder.reason and f"serves {NEW} 100%" in reminder.reason, reminder.reason
    assert "gcloud run services describe backend" in reminder.reason, reminder.reason
    assert any("--to-latest" in note for note in reminder.notes), reminder.notes
    assert pin(world)["pinned"] is True and pin(world)["state"] == "asked"
    assert world.standins.run.count("UpdateService") == 1
    assert [o for o in sweep(world, "s2") if o.status.value == "reminder"] == []   # once a period


def test_a_pin_asked_for_is_held_once_its_revision_serves(world):
    """Whatever reconciles the service next serves what it asks for: the pin then holds as any other, and a
    person is told once."""
    failing_update(world, keeps=True)
    world.handle(world.alert())
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, OLD)])   # reconciled since
    world.at(30)

    told = [o for o in sweep(world, "s1") if o.status.value == "reminder"]

    assert pin(world)["pinned"] is True and pin(world)["state"] == "serving", pin(world)
    [said] = told
    assert f"{OLD}" in said.reason and "now serves" in said.reason, said.reason
    assert [o for o in sweep(world, "s2") if o.status.value == "reminder"] == []


def test_a_pin_asked_for_is_released_once_the_service_neither_asks_for_nor_serves_it(world):
    failing_update(world, keeps=True)
    world.handle(world.alert())
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW)])   # a person's split since
    world.at(30)

    sweep(world, "s1")

    assert pin(world)["pinned"] is False and pin(world)["released_by"] == "observed", pin(world)


@READINGS
def test_a_release_whose_operation_failed_keeps_the_pin_while_the_pinned_revision_serves(world, keeps):
    """The rollback applied (OLD pinned); the operator's release to LATEST fails. Spec kept: LATEST asked for
    while OLD still serves. Before, the reminder released the pin silently ("observed") since LATEST appears in
    the desired split. Now the pin holds, and its reminder says LATEST is asked for and OLD still serves. Put
    back: the pin holds and is reminded of as before."""
    assert world.handle(world.alert()).status.value == "applied"
    failing_update(world, keeps)
    [release] = world.command(operators("restore_traffic", "cmd-l1", to_latest=True), message_id="l1")
    assert release.status.value in ("escalated", "failed"), release.reason
    world.at(DAY)

    reminders = [o for o in sweep(world, "s1") if o.status.value == "reminder"]

    assert pin(world)["pinned"] is True, pin(world)
    [reminder] = reminders
    assert OLD in reminder.reason, reminder.reason
    if keeps:
        assert f"still serves {OLD} at 100%" in reminder.reason and "asks for LATEST 100%" in reminder.reason, \
            reminder.reason
    assert world.standins.run.count("UpdateService") == 2


def test_the_next_incident_does_not_take_a_failed_rollback_left_desired_as_never_made(world):
    """Another incident (no cooldown configured) of the same failing revision: the rollback's split is still asked
    for and not serving. Before, nothing recorded it and the same rollback was planned again. Now it is
    escalated naming the failed rollback, what is asked for and what serves, and nothing is written."""
    world.config = world.config.model_copy(update={"guardrails": world.config.guardrails.model_copy(
        update={"cooldown_seconds": 0})})
    failing_update(world, keeps=True)
    world.handle(world.alert())
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    world.at(4)

    outcome = world.handle(world.alert(message_id="9", incident_id="0.later"))

    assert world.standins.run.count("UpdateService") == 1, outcome.reason
    assert outcome.status.value == "escalated", outcome.reason
    assert record["key"] in outcome.reason and "asked for, not serving" in outcome.reason, outcome.reason


def test_a_release_sent_again_after_its_operation_failed_is_told_the_pin_still_serves(world):
    """The release's split (LATEST) is asked for while OLD still serves. Before, sending it again was answered
    "already sends all traffic to LATEST: no pin to release", as though LATEST served. Now it is refused saying
    OLD still serves, with the gcloud line that shows both; nothing is written again, the pin holds."""
    assert world.handle(world.alert()).status.value == "applied"
    failing_update(world, keeps=True)
    world.command(operators("restore_traffic", "cmd-l1", to_latest=True), message_id="l1")

    [again] = world.command(operators("restore_traffic", "cmd-l2", to_latest=True), message_id="l2")

    assert again.status.value == "skipped", again.reason
    assert "no pin to release" not in again.reason, again.reason
    assert f"still serves {OLD} 100%" in again.reason and "gcloud run services describe backend" in again.reason, \
        again.reason
    assert world.standins.run.count("UpdateService") == 2
    assert pin(world)["pinned"] is True


def test_a_pause_names_a_rollback_asked_for_not_serving_which_it_cannot_hold_back(world):
    """Before, a pause of the service said nothing of the split it asks for: its sender read "no writes until
    resumed" while whatever reconciles the service next may still move its traffic."""
    failing_update(world, keeps=True)
    world.handle(world.alert())
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)

    [paused] = world.command(operators("pause", "cmd-p1"), message_id="p1")

    assert paused.status.value == "applied", paused.reason
    assert f"asks for {OLD} at 100%, not serving" in paused.reason and record["key"] in paused.reason, paused.reason
    assert "no pause holds back" in paused.reason, paused.reason
