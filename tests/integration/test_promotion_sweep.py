"""The verification sweep of a rollback away from a promoted revision (a blue/green release: `--no-traffic` hours
before, promoted minutes before the incident), on the stand-ins through the real client libraries.

The alert path dates the promotion from the request counts (Facts.promotion) and rolls back to the revision that
served before it. The sweep then collects from the action's settle time, with its own clock's lead
(EvidenceBundle.clock_ahead): the promotion minutes before the incident is not what it judges (the serving revision
is the rollback's target, which served before the promotion: nothing to date), and its verdict is the one a fresh
deploy's rollback gets: verified on a clean recovery, never on a target failing as well."""
from __future__ import annotations

import pytest

from tests.integration.test_remediation import action_state, counted, more_series, request_lines, timed
from tests.integration.world import World

pytestmark = pytest.mark.emulator

BLUE, GREEN = "backend-00001-blu", "backend-00002-grn"


@pytest.fixture
def promoted_rolled_back(standin_env, firestore, pubsub, project_id, anchor) -> World:
    world = World(standin_env, pubsub, project_id, anchor)
    world.seed("blue_green_promotion_fails")
    outcome = world.handle(world.alert("blue_green_promotion_fails"))
    assert outcome.status.value == "applied", outcome.reason
    assert outcome.action.params["from_revision_promoted_at"] is not None, outcome.action.params
    assert world.serving() == {BLUE: 100}
    world.published()
    return world


def _blue_serves(world: World, errors: int) -> None:
    """From +2m, BLUE serves 40 requests a minute, `errors` of them 500."""
    request_lines(world, BLUE, "+2m", "+25m", 40)
    more_series(world, counted(BLUE, 200, "+2m", "+25m", 40 - errors)
                + (counted(BLUE, 500, "+2m", "+25m", errors) if errors else "")
                + timed(BLUE, "2xx", "+2m", "+25m", [[120, 40]]))


def test_a_rollback_away_from_a_promotion_that_recovered_is_verified(promoted_rolled_back):
    _blue_serves(promoted_rolled_back, errors=0)
    promoted_rolled_back.at(12)

    [outcome] = promoted_rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "verified", outcome.reason
    assert action_state(promoted_rolled_back) == "verified"


def test_a_rollback_away_from_a_promotion_whose_target_fails_too_is_never_verified(promoted_rolled_back):
    _blue_serves(promoted_rolled_back, errors=20)
    promoted_rolled_back.at(12)

    swept = promoted_rolled_back.command({"command": "sweep"})

    assert all(o.status.value != "verified" for o in swept), [o.reason for o in swept]
    assert action_state(promoted_rolled_back) != "verified"
