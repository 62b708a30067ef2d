"""Every brake that holds an operator's write is named, on the real path (Pub/Sub emulator, Firestore emulator, the
stand-ins): the kill switch and the pauses beside it, each with how it is lifted; and a resume says which other
pauses still hold which of its writes by the connector each service uses as Cloud Run's GetService answers."""
from __future__ import annotations

import grpc

from tests.integration.test_operator_answers import CONNECTOR, OLD, command, missing, writes
from tests.integration.test_operator_answers import world  # noqa: F401  (a fixture: bad_revision, two operators)
from tests.integration.world import SERVICE, World

OTHER_CONNECTOR = CONNECTOR.replace("/backend-conn", "/billing-conn")


def test_a_rollback_held_by_the_kill_switch_and_a_pause_names_both_and_how_each_is_lifted(world):
    """Told of the kill switch alone, the operator released it, sent the rollback again and was held by the pause."""
    command(world, "pause", reason="incident review")
    command(world, "pause", target=SERVICE, requested_by="bob@example.com", reason="db migration")

    held = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="bad deploy")

    assert held.status.value == "skipped", held.reason
    assert missing(held.reason, "kill switch engaged", "incident review", "releasing the kill switch alone leaves it held",
                   f"{SERVICE} paused by bob@example.com at ", "db migration",
                   f"runwarden resume --target {SERVICE} --reason") == [], held.reason
    assert writes(world) == 0


def test_a_scale_held_by_the_kill_switch_and_its_connectors_pause_names_both(standin_env, firestore, pubsub,
                                                                           project_id, anchor):
    world = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com", "bob@example.com"],
                  bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": True}]})
    world.seed("connector_saturation")
    command(world, "pause", reason="incident review")
    command(world, "pause", target=CONNECTOR, requested_by="bob@example.com", reason="network change")

    held = command(world, "scale_connector", target=CONNECTOR, params={"max_instances": 5}, reason="r")

    assert held.status.value == "skipped", held.reason
    assert missing(held.reason, "kill switch engaged", "releasing the kill switch alone leaves it held",
                   f"{CONNECTOR} paused by bob@example.com at ", f"runwarden resume --target {CONNECTOR} --reason"
                   ) == [], held.reason
    assert writes(world) == 0


def test_a_service_resumed_under_the_kill_switch_names_the_kill_switch_and_its_connectors_pause(world):
    command(world, "pause", reason="incident review")
    command(world, "pause", target=CONNECTOR, reason="network change")
    command(world, "pause", target=SERVICE, reason="migration")

    resumed = command(world, "resume", target=SERVICE, reason="migration over")

    assert resumed.status.value == "applied", resumed.reason
    assert missing(resumed.reason, "the kill switch is engaged", f"{CONNECTOR} is paused, and this service uses that "
                   "connector", f"runwarden resume --target {CONNECTOR} --reason") == [], resumed.reason


def test_a_service_resumed_names_the_connector_it_uses_as_holding_not_maybe(world):
    command(world, "pause", target=CONNECTOR, reason="network change")
    command(world, "pause", target=SERVICE, reason="migration")

    resumed = command(world, "resume", target=SERVICE, reason="migration over")

    assert resumed.status.value == "applied", resumed.reason
    assert "if this service uses it" not in resumed.reason, resumed.reason
    assert missing(resumed.reason, "are still held by another pause", f"{CONNECTOR} is paused, and this service "
                   "uses that connector (its template names it") == [], resumed.reason


def test_a_service_resumed_does_not_name_a_connector_it_does_not_use(world):
    world.standins.vpcaccess.add_connector(OTHER_CONNECTOR)
    assert command(world, "pause", target=OTHER_CONNECTOR, reason="billing network change").status.value == "applied"
    command(world, "pause", target=SERVICE, reason="migration")

    resumed = command(world, "resume", target=SERVICE, reason="migration over")

    assert resumed.status.value == "applied", resumed.reason
    assert OTHER_CONNECTOR not in resumed.reason and "another pause" not in resumed.reason, resumed.reason


def test_a_connector_resumed_names_the_paused_service_behind_it(world):
    command(world, "pause", target=SERVICE, reason="migration")
    command(world, "pause", target=CONNECTOR, reason="network change")

    resumed = command(world, "resume", target=CONNECTOR, reason="network done")

    assert resumed.status.value == "applied", resumed.reason
    assert missing(resumed.reason, f"{SERVICE} is paused, and that service uses this connector",
                   f"runwarden resume --target {SERVICE} --reason") == [], resumed.reason
    assert "if it is behind it" not in resumed.reason, resumed.reason


def test_a_connector_resumed_while_its_service_cannot_be_read_names_the_pause_as_one_that_may_hold(world):
    command(world, "pause", target=SERVICE, reason="migration")
    command(world, "pause", target=CONNECTOR, reason="network change")
    world.standins.run.faults.fail_next(10_000, grpc.StatusCode.UNAVAILABLE, method="GetService")

    resumed = command(world, "resume", target=CONNECTOR, reason="network done")

    assert resumed.status.value == "applied", resumed.reason
    assert missing(resumed.reason, "may still be held by another pause", f"{SERVICE} is paused, and that service may "
                   "use this connector (the service could not be read from Cloud Run") == [], resumed.reason


def test_a_rollback_held_by_the_configs_kill_switch_and_a_pause_names_both(standin_env, firestore, pubsub,
                                                                         project_id, anchor):
    """The config's guardrails.kill_switch named alone: the config was changed, and the rollback stayed held."""
    world = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com", "bob@example.com"],
                  guardrails={"kill_switch": True})
    world.seed("bad_revision")
    command(world, "pause", target=SERVICE, requested_by="bob@example.com", reason="db migration")

    held = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="bad deploy")

    assert held.status.value == "skipped", held.reason
    assert missing(held.reason, "kill switch engaged: no writes (set in config; and beside the kill switch",
                   f"{SERVICE} paused by bob@example.com at ", f"runwarden resume --target {SERVICE} --reason",
                   "once guardrails.kill_switch is false in the config again and the pause named is resumed "
                   f"(runwarden resume --target {SERVICE}), send it again") == [], held.reason
    assert writes(world) == 0


def test_a_service_resumed_names_its_connector_paused_under_its_projects_number(world):
    """The same connector, paused by the project's number (GetService's run.app URL gives it), named by id in the
    service's template: the resume said "writes allowed again" while the gate still held the scale."""
    number = world.adapters.run.get_service(SERVICE).project_number()   # its deterministic run.app URL
    assert number, "the Run stand-in gave no project number"
    by_number = CONNECTOR.replace(f"projects/{CONNECTOR.split('/')[1]}/", f"projects/{number}/")
    assert command(world, "pause", target=by_number, reason="network change").status.value == "applied"
    command(world, "pause", target=SERVICE, reason="migration")

    resumed = command(world, "resume", target=SERVICE, reason="migration over")

    assert resumed.status.value == "applied", resumed.reason
    assert missing(resumed.reason, "are still held by another pause", f"{by_number} is paused",
                   f"runwarden resume --target {by_number}") == [], resumed.reason


def test_a_service_resumed_under_the_configs_kill_switch_names_its_connectors_pause(standin_env, firestore, pubsub,
                                                                                  project_id, anchor):
    """Named alone, the config was changed and the scale made for the service stayed held by the connector's pause."""
    world = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com", "bob@example.com"],
                  guardrails={"kill_switch": True})
    world.seed("bad_revision")
    command(world, "pause", target=CONNECTOR, reason="network change")
    command(world, "pause", target=SERVICE, reason="migration")

    resumed = command(world, "resume", target=SERVICE, reason="migration over")

    assert resumed.status.value == "applied", resumed.reason
    assert missing(resumed.reason, "guardrails.kill_switch: true", "and once it is changed, writes for it are still held",
                   f"runwarden resume --target {CONNECTOR}") == [], resumed.reason
