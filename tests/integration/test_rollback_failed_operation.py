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
