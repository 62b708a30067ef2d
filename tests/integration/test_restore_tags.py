"""The sweep's undo and an operator's restore_traffic (by action_id and to_latest) keep only the tags that
can serve, on the stand-ins, under both readings of whether Cloud Run routes a split naming a revision that
cannot serve at 0% (sandbox/standins/run.py, `zero_percent_targets_checked`). The recorded split's own tag on
a revision that never became Ready (or was deleted since), or a tag as read on such a revision, is left out
and named with the gcloud line to tag again; the split is put back whole."""
from __future__ import annotations

import itertools

import pytest

from sandbox.standins.run import TrafficSeed
from shared.remediation.records import ACTIONS
from tests.integration.test_remediation import still_failing
from tests.integration.test_rollback_tags import BAD, FIX, OLD, READINGS, world  # noqa: F401
from tests.integration.world import SERVICE, World

SINCE = pytest.mark.parametrize("deleted", [False, True], ids=["never_ready", "deleted_since"])
_ids = itertools.count(1)


def split(world: World) -> list[tuple[str, int, str]]:
    return sorted((t.revision, t.percent, t.tag) for t in world.standins.run.service(SERVICE).traffic)


def rolled_back(world: World, checked: bool, deleted: bool) -> str:
    """An operator's rollback pins OLD and leaves the dead `fix` tag out (recorded before it: BAD 100%, FIX 0%
    `fix`); then, `deleted`, FIX is deleted (no longer named, it can be). Answers the rollback's action id. The
    operator's, not the alert's: the alert stands down for the fix deployed after the failures began
    (tests/integration/test_rollback_tags.py)."""
    outcome = command(world, "rollback_traffic", params={"revision": OLD})
    assert outcome.status.value == "applied", outcome.reason
    assert split(world) == [(OLD, 100, "")]
    world.published()
    if deleted:
        world.standins.run.delete_revision(SERVICE, FIX)
    world.standins.run.zero_percent_targets_checked = checked
    return outcome.action.action_id


def command(world: World, name: str, **fields) -> object:
    body = {"command": name, "command_id": f"cmd-{next(_ids)}", "requested_by": "alice@example.com",
            "target": SERVICE, "reason": "put it back", **fields}
    [outcome] = world.command(body, message_id=body["command_id"])
    return outcome


def left_out(outcome, why: str) -> None:
    notes = [n for n in outcome.notes if "left out" in n]
    assert notes and f"fix -> {FIX} ({why}" in notes[0], outcome.notes
    assert "--update-tags fix=REVISION" in notes[0], notes     # deleted or failed: onto a revision that serves


@READINGS
@SINCE
def test_the_sweeps_undo_leaves_out_the_recorded_splits_dead_tag(world, checked, deleted):
    """Before: the undo wrote the recorded split with its `fix` tag: where Cloud Run checks every named
    revision the write failed and the undo was escalated, not done (or, FIX deleted since, refused before the
    write); elsewhere the dead tag was written again."""
    key = rolled_back(world, checked, deleted)
    still_failing(world)
    world.at(18)

    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "undone", outcome.reason
    assert split(world) == [(BAD, 100, "")]
    assert world.state.get_record(ACTIONS, key)["state"] == "undone"
    left_out(outcome, "deleted" if deleted else "failed")


@READINGS
@SINCE
def test_a_restore_by_action_id_leaves_out_the_recorded_splits_dead_tag(world, checked, deleted):
    """Before: refused under the stricter reading (the write's operation failed) or, FIX deleted since, before
    any write; under the other the dead tag was written again."""
    key = rolled_back(world, checked, deleted)
    world.at(4)

    outcome = command(world, "restore_traffic", params={"action_id": key})

    assert outcome.status.value == "applied", outcome.reason
    assert split(world) == [(BAD, 100, "")]
    left_out(outcome, "deleted" if deleted else "failed")


@READINGS
def test_a_restore_to_latest_leaves_out_a_dead_tag_as_read(world, checked):
    """The pin released (to_latest) while the split names the candidate that never started under `fix`: before,
    the tag was kept as read, and the release failed whole under the stricter reading."""
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, OLD), TrafficSeed(0, BAD, tag="canary"),
                                             TrafficSeed(0, FIX, tag="fix")])
    world.standins.run.zero_percent_targets_checked = checked

    outcome = command(world, "restore_traffic", params={"to_latest": True})

    assert outcome.status.value == "applied", outcome.reason
    assert split(world) == [("", 100, ""), (BAD, 0, "canary")]
    left_out(outcome, "failed")


@READINGS
def test_the_undo_keeps_a_tag_a_person_put_on_a_ready_revision_since(world, checked):
    """The control: a retry of an undo whose earlier write landed keeps the tags a person put on since, where
    their revision can serve (verification.Sweep._undo); only the dead one is left out."""
    key = rolled_back(world, checked, deleted=False)
    still_failing(world)
    # An earlier sweep's undo landed (BAD 100%), then a person tagged OLD; that sweep died before recording it.
    world.state.update_record(ACTIONS, key, {"state": "undoing", "resolved_at": world.anchor.replace(minute=17)})
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, BAD), TrafficSeed(0, OLD, tag="old")])
    world.at(40)

    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "undone", outcome.reason
    assert split(world) == [(OLD, 0, "old"), (BAD, 100, "")]
