"""A rollback's kept tags on the stand-ins: a tag on a revision that cannot serve is not carried into
the new split, under both readings of whether Cloud Run routes a split naming such a revision at 0%
(sandbox/standins/run.py, `zero_percent_targets_checked`)."""
from __future__ import annotations

import itertools

import pytest

from sandbox.standins.run import TrafficSeed
from tests.integration.world import SERVICE, World

OLD, BAD, FIX = "backend-00001-abc", "backend-00002-xyz", "backend-00003-fix"
SCENARIO = "bad_revision_fix_tagged_not_ready"
READINGS = pytest.mark.parametrize("checked", [False, True], ids=["zero_percent_unchecked", "zero_percent_checked"])
_ids = itertools.count(1)


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    w = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"])
    w.seed(SCENARIO)
    return w


def split(world: World) -> list[tuple[str, int, str]]:
    return [(t.revision, t.percent, t.tag) for t in world.standins.run.service(SERVICE).traffic]


def test_the_alert_stands_down_for_the_fix_deployed_after_the_failures_began(world):
    """An engineer's candidate fix, deployed without traffic behind the tag `fix` at -3m, after the failing revision's
    failures began at -10m: someone at work on the service, not the failures' cause. The alert writes nothing and
    names that deploy; the rollback is the operator's (below). Before, the split was rolled back over the fix."""
    outcome = world.handle(world.alert(SCENARIO))

    assert outcome.status.value == "escalated", outcome.reason
    assert FIX in outcome.reason and "after the failures began" in outcome.reason, outcome.reason
    assert world.serving()[BAD] == 100 and world.writes() == 0


def _rollback(world: World):
    body = {"command": "rollback_traffic", "command_id": f"cmd-{next(_ids)}", "requested_by": "alice@example.com",
            "target": SERVICE, "params": {"revision": OLD}, "reason": "bad deploy"}
    [outcome] = world.command(body, message_id=body["command_id"])
    return outcome


@READINGS
def test_a_tag_on_a_ready_revision_is_kept_beside_the_one_left_out(world, checked):
    """The control: a tag whose revision is Ready (the failing revision's own `canary` URL) stays at 0%
    while the dead `fix` tag is left out."""
    # The split the incident starts in (set before its window), not a change within it: no audit entry.
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, BAD), TrafficSeed(0, BAD, tag="canary"),
                                             TrafficSeed(0, FIX, tag="fix")], audited=False)
    world.standins.run.zero_percent_targets_checked = checked

    outcome = _rollback(world)

    assert outcome.status.value == "applied", outcome.reason
    assert sorted(split(world)) == [(OLD, 100, ""), (BAD, 0, "canary")]
    assert any("canary" in n and "kept" in n for n in outcome.notes), outcome.notes


@READINGS
def test_an_operators_rollback_leaves_out_a_tag_on_a_revision_that_never_became_ready(world, checked):
    """The candidate fix never became Ready: the split names it at 0%. The rollback pins the known-good revision
    and leaves that tag out, naming it and why. Before, the tag was carried into the new split: where Cloud Run
    checks every named revision (Knative's route), the rollback's operation failed and the failing revision kept
    serving; elsewhere the dead tag was written again."""
    world.standins.run.zero_percent_targets_checked = checked

    outcome = _rollback(world)

    assert outcome.status.value == "applied", outcome.reason
    assert split(world) == [(OLD, 100, "")]
    assert world.serving() == {OLD: 100}
    left_out = [n for n in outcome.notes if "left out" in n]
    assert left_out and "fix" in left_out[0] and FIX in left_out[0] and "(failed: CONDITION_FAILED" in left_out[0], \
        outcome.notes
