"""A traffic write whose UpdateService operation ended with an error, under both readings of what Cloud Run
keeps of the update then (sandbox/standins/run.py `failed_update_keeps_spec`): its split left desired while
serving stays as it was, or the service put back as it was. Stand-ins and emulators, no mocks."""
from __future__ import annotations

import pytest

from shared.remediation.records import ACTIONS
from tests.integration.world import SERVICE, World

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
READINGS = pytest.mark.parametrize("keeps", [True, False], ids=["spec_kept", "spec_put_back"])


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    w = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"])
    w.seed("bad_revision")
    return w


def failing_update(world: World, keeps: bool) -> None:
    """The next traffic write's operation fails after the update was accepted: the known-good revision is
    Ready, but the reconciliation fails for a reason no read before the write shows."""
    world.standins.run.failed_update_keeps_spec = keeps
    world.standins.run.fail_next_operation()


def desired(world: World) -> list[tuple[str, int]]:
    return [(t.revision, t.percent) for t in world.standins.run.service(SERVICE).traffic]


@READINGS
def test_a_rollback_whose_operation_failed_is_answered_for_what_the_service_now_asks(world, keeps):
    """Spec kept: the service now asks for the known-good revision at 100% while the failing one serves.
    Escalated, recorded as the incident's action with that state, never `failed` "nothing written"; the
    pin's release is named. Put back: nothing of the write is desired, a definite failure."""
    failing_update(world, keeps)

    outcome = world.handle(world.alert())

    assert world.serving() == {NEW: 100}                          # serving unchanged under both readings
    assert world.standins.run.count("UpdateService") == 1
    if keeps:
        assert desired(world) == [(OLD, 100)]
        assert outcome.status.value == "escalated", outcome.reason
        assert "failed" in outcome.reason and f"asks for {OLD} 100%" in outcome.reason, outcome.reason
        assert f"serves {NEW} 100%" in outcome.reason, outcome.reason
        assert "nothing written" not in outcome.reason and "serving is unchanged, but" not in outcome.reason
        assert any("--to-latest" in note for note in outcome.notes), outcome.notes
        [record] = world.state.find_records(ACTIONS, "service", SERVICE)
        assert record["state"] == "escalated", record
        assert [(t["revision"], t["percent"]) for t in record["after"]["traffic"]] == [(OLD, 100)], record
    else:
        assert desired(world) == [(NEW, 100)]
        assert outcome.status.value == "failed", outcome.reason
        assert "still asks for" in outcome.reason and "nothing of this update" in outcome.reason, outcome.reason
        assert world.state.find_records(ACTIONS, "service", SERVICE) == []


def test_a_rollback_whose_operation_failed_with_its_split_left_is_not_written_again(world):
    """Another incident on the service minutes later, and the redelivery of the first alert, write nothing:
    the failed rollback's split is still desired, and its cooldown and budget are kept."""
    failing_update(world, keeps=True)
    assert world.handle(world.alert()).status.value == "escalated"
    world.at(3)

    again = world.handle(world.alert(message_id="1b"))
    other = world.handle(world.alert(message_id="2", incident_id="0.next"))

    assert other.status.value != "applied" and again.status.value != "applied", (other.reason, again.reason)
    assert world.standins.run.count("UpdateService") == 1


@READINGS
def test_an_operators_rollback_whose_operation_failed_says_what_the_service_asks_and_is_not_resent(world, keeps):
    failing_update(world, keeps)
    body = {"command": "rollback_traffic", "command_id": "cmd-1", "requested_by": "alice@example.com",
            "target": SERVICE, "params": {"revision": OLD}, "reason": "bad deploy"}

    [outcome] = world.command(body, message_id="c1")
    [resent] = world.command(body, message_id="c2")

    if keeps:
        assert outcome.status.value == "escalated" and f"asks for {OLD} 100%" in outcome.reason, outcome.reason
        assert world.standins.run.count("UpdateService") == 1, resent.reason
    else:
        assert outcome.status.value == "failed" and "still asks for" in outcome.reason, outcome.reason


def operators(command: str, command_id: str, override_limits: bool = False, **params) -> dict:
    return {"command": command, "command_id": command_id, "requested_by": "alice@example.com", "target": SERVICE,
            "params": params, "reason": "bad deploy", "override_limits": override_limits}


@READINGS
def test_a_restore_by_action_id_after_a_failed_rollback_puts_back_what_it_left_desired(world, keeps):
    """The rollback's operation failed with its split left desired (OLD asked for, NEW serving): the recorded
    split before it (NEW 100%) serves still, but is no longer what the service asks for; whatever reconciles the
    service next would serve OLD. Before, the restore by action_id read what serves alone and was refused
    "already serves". Now it is written through the gate, once; a second restore is refused with what serves
    and is asked for. Put back: nothing of the rollback is desired, and nothing was recorded to restore."""
    failing_update(world, keeps)
    world.handle(world.alert())
    found = world.state.find_records(ACTIONS, "service", SERVICE)

    if not keeps:
        assert found == [] and desired(world) == [(NEW, 100)]
        return
    [record] = found
    [restored] = world.command(operators("restore_traffic", "cmd-r1", action_id=record["key"]), message_id="r1")
    [again] = world.command(operators("restore_traffic", "cmd-r2", action_id=record["key"]), message_id="r2")

    assert restored.status.value == "applied", restored.reason
    assert desired(world) == [(NEW, 100)] and world.serving() == {NEW: 100}
    assert world.standins.run.count("UpdateService") == 2, again.reason
    assert again.status.value == "skipped", again.reason
    assert "already serves and asks for" in again.reason, again.reason


@READINGS
def test_a_failed_update_of_a_split_asked_for_before_says_so(world, keeps):
    """An earlier failed write left OLD 100% asked for while NEW serves; an operator's rollback to OLD writes it
    again (what serves is not it) and its operation fails too. Before: "nothing of this update is desired or
    serving", though the split is desired. Now: `failed` (the write changed nothing), saying the split was asked
    for before this write and still does not serve, under both readings of what the second failure keeps."""
    world.standins.run.failed_update_keeps_spec = True
    world.standins.run.fail_next_operation()
    [first] = world.command(operators("rollback_traffic", "cmd-1", revision=OLD), message_id="c1")
    assert first.status.value == "escalated" and desired(world) == [(OLD, 100)], first.reason
    failing_update(world, keeps)

    [outcome] = world.command(operators("rollback_traffic", "cmd-2", True, revision=OLD), message_id="c2")

    assert world.standins.run.count("UpdateService") == 2
    assert desired(world) == [(OLD, 100)] and world.serving() == {NEW: 100}
    assert outcome.status.value == "failed", outcome.reason
    assert "nothing of this update is desired" not in outcome.reason, outcome.reason
    assert f"asked for {OLD} 100% before this write" in outcome.reason, outcome.reason
    assert f"still serves {NEW} 100%" in outcome.reason, outcome.reason


@pytest.fixture
def pinned(world):
    """The incident's rollback applied (OLD pinned at 100%), its verification pending."""
    assert world.handle(world.alert()).status.value == "applied"
    assert world.serving() == {OLD: 100}
    return world


@READINGS
def test_the_sweep_after_an_operators_restore_whose_operation_failed_says_what_is_asked_for_and_served(pinned, keeps):
    """An operator restores the rollback by action_id; the restore's operation fails. Spec kept: NEW is asked
    for while OLD, the rollback's revision, serves. Before, the sweep escalated the rollback as "a change made
    since by someone else". Now it names the restore, its failed operation, the split asked for against the one
    serving, and the gcloud line to check; nothing is written again, the pin kept. Put back: the rollback stands
    as it was, and no word of someone else's change."""
    [record] = pinned.state.find_records(ACTIONS, "service", SERVICE)
    failing_update(pinned, keeps)
    [restore] = pinned.command(operators("restore_traffic", "cmd-r1", action_id=record["key"]), message_id="r1")
    assert restore.status.value == ("escalated" if keeps else "failed"), restore.reason
    # Within the restore's lease its write may still be reconciling (asked for, not serving yet): a sweep then
    # neither escalates the rollback as failed nor as changed, and writes nothing; it is judged again later.
    pinned.at(12)
    early = pinned.command({"command": "sweep"}, message_id="s0")
    assert not [o for o in early if o.action is not None and o.action.action_id == record["key"]
                and o.status.value == "escalated"], [o.reason for o in early]
    pinned.at(45)   # past the restore's lease (the claim's TTL and the clocks' skew allowance)

    outcomes = pinned.command({"command": "sweep"}, message_id="s1")

    assert pinned.standins.run.count("UpdateService") == 2
    assert all("someone else" not in o.reason for o in outcomes), [o.reason for o in outcomes]
    assert world_pin(pinned)["pinned"] is True
    if keeps:
        [outcome] = [o for o in outcomes if o.action is not None and o.action.action_id == record["key"]]
        assert outcome.status.value == "escalated", outcome.reason
        assert "alice@example.com" in outcome.reason and "cmd-r1" in outcome.reason, outcome.reason
        assert "operation failed" in outcome.reason, outcome.reason
        assert f"asks for {NEW} 100%" in outcome.reason and f"serves {OLD} 100%" in outcome.reason, outcome.reason
        assert "gcloud run services describe backend" in outcome.reason, outcome.reason


def world_pin(world: World) -> dict:
    from shared.remediation.records import PINS
    return world.state.get_record(PINS, SERVICE)
