"""State-loss drill: Firestore's documents are gone (the emulator keeps none across a restart; the
real database loses them only if it is deleted, restored to an earlier point, or the config
names another one). Claims, cooldowns, budgets and action records go with them, and a redelivered
alert is judged afresh on live state. docs/behaviour.md ("Drills") discusses what that means."""
from __future__ import annotations

import pytest

from sandbox.standins.vpcaccess import PATCH_METHOD, PATCH_METHOD_GRPC
from tests.integration.world import World

pytestmark = pytest.mark.emulator
CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"


def test_a_rollback_is_not_repeated_after_state_is_lost(standin_env, firestore, pubsub, project_id, anchor):
    """The live traffic no longer shows the bad revision, so nothing is planned again; the outcome
    is a fresh judgement (escalated), not a second write."""
    world = World(standin_env, pubsub, project_id, anchor)
    world.seed("bad_revision")
    assert world.handle(world.alert(message_id="1")).status.value == "applied"

    firestore.reset()
    again = world.handle(world.alert(message_id="1"))

    assert world.writes() == 1
    assert again.status.value != "applied", again.reason


# The identity Runwarden's code runs as: the stand-in attributes every call to it (it authenticates
# nobody), and Runwarden knows it as its own (diagnosis.self_principals; found at start-up in
# production, shared/gcp/identity.py).
RUNWARDEN = "runwarden@demo-project.iam.gserviceaccount.com"


def connector_world(standin_env, pubsub, project_id, anchor, method: str) -> World:
    world = World(standin_env, pubsub, project_id, anchor,
                  bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": True}]},
                  diagnosis={"self_principals": [RUNWARDEN]})
    world.seed("connector_saturation")
    world.standins.vpcaccess.audit_into(world.standins.logging, RUNWARDEN, clock=world.clock.now, method=method)
    return world


# Both readings of the VPC Access audit methodName (UNCONFIRMED which the API writes).
METHODS = [pytest.param(PATCH_METHOD, id="Connectors"), pytest.param(PATCH_METHOD_GRPC, id="VpcAccessService")]


@pytest.mark.parametrize("method", METHODS)
def test_a_connector_scale_up_is_not_repeated_after_state_is_lost(standin_env, firestore, pubsub, project_id,
                                                                  anchor, method):
    """The metrics still show saturation (they lag the change) and the claim, cooldown and action
    record are gone; the connector's own audit log still says Runwarden changed it moments ago.
    The redelivery is escalated with that entry, not a second scale-up."""
    world = connector_world(standin_env, pubsub, project_id, anchor, method)
    assert world.handle(world.alert("connector_saturation", message_id="1")).status.value == "applied"

    firestore.reset()
    world.at(5)
    again = world.handle(world.alert("connector_saturation", message_id="1"))

    assert world.writes() == 1
    assert again.status.value == "escalated", again.reason
    assert "Runwarden itself changed" in again.reason and "no record of that change" in again.reason
    assert RUNWARDEN in again.reason and method in again.reason


def test_with_its_state_intact_the_cooldown_answers_not_the_audit_log(standin_env, firestore, pubsub, project_id,
                                                                      anchor):
    """A second incident on the same connector within the cooldown: the cooldown holds it back, as
    before; the platform's record is only consulted when the state has none."""
    world = connector_world(standin_env, pubsub, project_id, anchor, PATCH_METHOD)
    assert world.handle(world.alert("connector_saturation", message_id="1")).status.value == "applied"

    world.at(5)
    other = world.handle(world.alert("connector_saturation", message_id="2", incident_id="0.other-incident"))

    assert world.writes() == 1
    assert "Runwarden itself changed" not in other.reason, other.reason
