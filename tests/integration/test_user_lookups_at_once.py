"""Who is behind a connector, looked up at once by every caller of users_of, on the stand-ins.

A connector alert, the sweep judging a connector's scale and an approve of a connector alert's proposal each read
every managed service (GetService, then ListRevisions) to know who is behind the connector. Before, they read one
service after another: each managed service cost its two round trips, all of it out of the caller's bounded time.
Now they are read at once on the peers' pool (scope.PEERS), as a service alert's peers are: several services cost
about one's round trips. The stand-ins prove the overlap with no clock (Faults.meet: each call is held until the
others have arrived; made one after another they never meet, and each is refused FAILED_PRECONDITION saying so).
The verdict is the one made before: the answers are taken in the config's order whichever came first.
"""
from __future__ import annotations

import pytest

from sandbox.scenarios import resolve_scenario

from tests.integration.test_commands import command
from tests.integration.test_connector_user_reads import _proposed, _scaled
from tests.integration.world import World

pytestmark = pytest.mark.emulator


def _meet_lookups(standin_env, names: tuple[str, ...]) -> None:
    """Each service's GetService waits for the others', as do their ListRevisions."""
    standin_env.run.faults.meet("GetService", names)
    standin_env.run.faults.meet("ListRevisions", names)


def _managed(world: World) -> tuple[str, ...]:
    return tuple(m.name for m in world.config.services)


def test_a_connector_alert_looks_up_its_users_at_once(standin_env, firestore, pubsub, project_id, anchor):
    """orders' and payments' lookups meet: the connector alert proposes its scale as before, each service read once.
    Before, orders' GetService waited alone and was refused, and the alert failed to read its evidence."""
    world = World.for_scenario(resolve_scenario("connector_alert_shared"), standin_env, pubsub, project_id, anchor)
    world.seed("connector_alert_shared")
    _meet_lookups(standin_env, _managed(world))

    outcome = world.handle(world.alert("connector_alert_shared"))

    assert outcome.status.value in ("proposed", "applied", "dry_run"), outcome.reason
    assert "could not be read" not in outcome.reason and "FAILED_PRECONDITION" not in outcome.reason, outcome.reason
    managed = len(world.config.services)
    assert (standin_env.run.count("GetService"), standin_env.run.count("ListRevisions")) == (managed, managed)


def test_an_approve_looks_up_the_services_behind_the_connector_at_once(
        standin_env, firestore, pubsub, project_id, anchor):
    """At the approve, orders' and payments' lookups meet: the scale is applied as before. Before, orders'
    GetService waited alone and was refused: the approve was escalated, nothing written."""
    world, proposal = _proposed(standin_env, pubsub, project_id, anchor)
    _meet_lookups(standin_env, _managed(world))

    applied = command(world, "approve", params={"proposal_id": proposal}, reason="scale it")

    assert applied.status.value == "applied", applied.reason
    assert standin_env.vpcaccess.count("PatchConnector") == 1


def test_the_sweep_looks_up_the_services_behind_the_connector_at_once(
        standin_env, firestore, pubsub, project_id, anchor):
    """The sweep judging backend-conn's scale looks up backend and reports at once: their lookups meet and the scale
    is verified as before, reports named among its users. Before, backend's GetService waited alone and was refused."""
    world = _scaled(standin_env, pubsub, project_id, anchor)
    world.at(14)
    _meet_lookups(standin_env, _managed(world))

    outcomes = world.command({"command": "sweep"})

    assert [o.status.value for o in outcomes] == ["verified"], [o.reason for o in outcomes]
    assert "reports" in outcomes[0].reason, outcomes[0].reason
