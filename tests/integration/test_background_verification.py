"""A rollback to a revision with a steady background of 5xx, verified on real parts (stand-ins and emulators,
no mocks): the diagnosis accepted backend-00001-abc, which answered a steady 2 % of 500s for hours, as the
rollback target under the alert's 5 % bar and the 3 % background ceiling (shared/diagnosis/background.py).
Judged at the clean 1 % after the rollback, the service back at its usual 2 % was `unclear` and escalated at
the deadline; its action record keeps the background now, and the sweep judges it there."""
from __future__ import annotations

from shared.remediation.records import ACTIONS, INTENTS
from tests.integration.test_remediation import (OLD, action_state, counted, more_series, request_lines, timed,  # noqa: F401
                                                world)
from tests.integration.world import SERVICE, World

SCENARIO = "bad_revision_previous_steady_background_5xx"


def _rolled_back(world: World) -> None:
    world.seed(SCENARIO)
    assert world.handle(world.alert(SCENARIO)).status.value == "applied"
    assert world.serving() == {OLD: 100}
    world.published()


def _served(world: World, failed: int, until: str = "+18m") -> None:
    """After the rollback, OLD serves 100 requests a minute, `failed` of them 500 (Monitoring and its
    request log alike)."""
    for status, count in ((200, 100 - failed), (500, failed)):
        request_lines(world, OLD, "+2m", until, count, status=status)
    more_series(world, counted(OLD, 200, "+2m", until, 100 - failed) + counted(OLD, 500, "+2m", until, failed)
                + timed(OLD, "2xx", "+2m", until, [[120, 100 - failed]]))


def test_the_plan_and_the_action_record_keep_the_targets_background(world):
    _rolled_back(world)

    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    [intent] = world.state.find_records(INTENTS, "claim_key", record["key"])

    for kept in (record["target_background"], intent["target_background"]):
        assert kept["revision"] == OLD and kept["share"] == 0.02 and kept["ratio"] == 0.03, kept
        assert "2.0% before the deploy, under the alert's 5.0% bar" in kept["why"], kept


def test_a_rollback_back_at_its_targets_steady_2_percent_is_verified(world):
    _rolled_back(world)
    _served(world, failed=2)
    world.at(12)

    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "verified" and action_state(world) == "verified", outcome.reason
    assert ("judged at 3.0% 5xx or 429, the steady background backend-00001-abc was accepted with" in outcome.reason
            and "in place of the clean share of 1.0%" in outcome.reason), outcome.reason


def test_a_rollback_whose_service_stays_above_its_background_is_never_verified(world):
    """4 % after the rollback: twice the 2 % background, over the 3 % bar, under the alert's 5 %. Not the
    service's usual: waits, and at the deadline escalated, kept, never verified nor undone."""
    _rolled_back(world)
    _served(world, failed=4)
    world.at(12)
    assert world.command({"command": "sweep"}) == []
    world.at(18)

    [outcome] = world.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "judged at 3.0% 5xx or 429" in outcome.reason, outcome.reason
    assert world.serving() == {OLD: 100} and action_state(world) == "escalated"
