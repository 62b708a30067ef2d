"""What an operator is told, on the real path (Pub/Sub emulator, Firestore emulator, the stand-ins): the brake that
holds a write back named as the one it is (one target's pause is no kill switch), a second restore of a rollback told
which restore undid it, and the everyday commands an on-call engineer sends, each answered as they would want."""
from __future__ import annotations

import itertools
from datetime import timedelta, timezone

import pytest

from sandbox.standins.run import TrafficSeed
from shared.remediation.records import ACTIONS, FLAGS, PROPOSALS
from shared.remediation.guardrails import pause_key
from tests.integration.test_commands import proposed  # noqa: F401  (a fixture: alice@example.com an operator)
from tests.integration.world import SERVICE, World

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"
OTHER_SERVICE = SERVICE.replace("/backend", "/frontend")
_ids = itertools.count(1)


def command(world: World, name: str, requested_by: str = "alice@example.com", **fields):
    command_id = fields.pop("command_id", f"op-{next(_ids)}")
    body = {"command": name, "command_id": command_id, "requested_by": requested_by, **fields}
    [outcome] = world.command(body, message_id=f"m-{command_id}")
    return outcome


def writes(world: World) -> int:
    return world.standins.run.count("UpdateService") + world.standins.vpcaccess.count("PatchConnector")


def missing(reason: str, *said: str) -> list[str]:
    return [words for words in said if words not in reason]


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    w = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com", "bob@example.com"])
    w.seed("bad_revision")
    return w


# --- which brake holds a write back ------------------------------------------------------------------------------


def test_a_rollback_held_by_one_services_pause_names_that_pause_and_how_to_lift_it_not_the_kill_switch(world):
    """A pause of one service held an operator's rollback with "kill switch engaged: no writes (… paused by …)":
    told the wrong switch, the operator may release the kill switch (engaged by no one) and stay held."""
    assert command(world, "pause", target=SERVICE, reason="db migration").status.value == "applied"

    held = command(world, "rollback_traffic", requested_by="bob@example.com", target=SERVICE,
                   params={"revision": OLD}, reason="bad deploy")

    assert held.status.value == "skipped", held.reason
    assert "kill switch engaged" not in held.reason, held.reason
    assert missing(held.reason, f"{SERVICE} paused by alice@example.com at ", "db migration",
                   "the kill switch is not engaged", f"runwarden resume --target {SERVICE} --reason",
                   "this rollback_traffic wrote nothing") == [], held.reason
    assert writes(world) == 0


def test_a_scale_held_by_its_connectors_pause_names_that_pause_not_the_kill_switch(proposed):
    world, _ = proposed
    assert command(world, "pause", target=CONNECTOR, reason="network change").status.value == "applied"

    held = command(world, "scale_connector", target=CONNECTOR, params={"max_instances": 10}, reason="r")

    assert held.status.value == "skipped", held.reason
    assert "kill switch engaged" not in held.reason, held.reason
    assert missing(held.reason, f"{CONNECTOR} paused by alice@example.com at ", "network change",
                   f"runwarden resume --target {CONNECTOR} --reason") == [], held.reason
    assert writes(world) == 0


def test_an_approve_held_by_the_pause_of_the_service_it_was_made_for_names_that_pause(proposed):
    world, proposal_id = proposed
    assert command(world, "pause", target=SERVICE, reason="freeze").status.value == "applied"

    held = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok")

    assert held.status.value == "skipped", held.reason
    assert "kill switch engaged" not in held.reason, held.reason
    assert missing(held.reason, f"{SERVICE} paused by alice@example.com at ",
                   f"runwarden resume --target {SERVICE} --reason") == [], held.reason
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "open"
    assert writes(world) == 0


def test_a_diagnose_of_a_paused_service_says_which_pause_would_hold_its_write(world):
    command(world, "pause", target=SERVICE, reason="freeze")

    outcome = command(world, "diagnose", target=SERVICE)

    assert outcome.status.value == "reported", outcome.reason
    assert "kill switch engaged" not in outcome.reason, outcome.reason
    assert f"it would not write now: held by a pause ({SERVICE} paused by alice@example.com at " in outcome.reason, \
        outcome.reason


def test_the_global_kill_switch_is_still_named_the_kill_switch(world):
    command(world, "pause", reason="incident review")

    held = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")

    assert held.status.value == "skipped", held.reason
    assert missing(held.reason, "kill switch engaged", "set by alice@example.com at ", "incident review",
                   "once resumed") == [], held.reason
    assert writes(world) == 0


def test_a_target_paused_under_the_kill_switch_stays_paused_once_the_kill_switch_is_released(world):
    command(world, "pause", reason="incident review")
    command(world, "pause", target=SERVICE, requested_by="bob@example.com", reason="migration")

    released = command(world, "resume", reason="review over")
    held = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")

    assert released.status.value == "applied" and f"still paused, each until resumed by its target: {SERVICE}" in \
        released.reason, released.reason
    assert held.status.value == "skipped" and "kill switch engaged" not in held.reason, held.reason
    assert f"{SERVICE} paused by bob@example.com at " in held.reason, held.reason
    assert writes(world) == 0


def test_an_alerts_write_held_by_a_pause_names_the_pause(world):
    command(world, "pause", target=SERVICE, reason="freeze")

    held = world.handle(world.alert())

    assert held.status.value == "skipped", held.reason
    assert "kill switch engaged" not in held.reason and f"{SERVICE} paused by alice@example.com" in held.reason, \
        held.reason
    assert writes(world) == 0


# --- a restore sent twice --------------------------------------------------------------------------------------


@pytest.mark.parametrize("second_by", ["alice@example.com", "bob@example.com"])
def test_a_second_restore_of_a_rollback_names_the_restore_that_undid_it(world, second_by):
    """The first restore put the split back and closed the rollback `undone`; the second found the split serving and
    answered only "already serves … nothing to do": not who undid it, when, nor by which message."""
    rolled = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="bad deploy")
    first = command(world, "restore_traffic", target=SERVICE, params={"action_id": rolled.action.action_id},
                    reason="not the deploy", command_id="rs-first")
    assert first.status.value == "applied" and world.serving() == {NEW: 100}, first.reason
    done = writes(world)

    again = command(world, "restore_traffic", requested_by=second_by, target=SERVICE,
                    params={"action_id": rolled.action.action_id}, reason="undo the rollback")

    assert again.status.value == "skipped", again.reason
    undone_at = world.state.get_record(ACTIONS, rolled.action.action_id)["resolved_at"]
    assert missing(again.reason, f"{rolled.action.action_id} was already undone", "alice@example.com",
                   "command rs-first", "Pub/Sub message m-rs-first", f"{undone_at:%Y-%m-%d %H:%M:%S} UTC",
                   "nothing written") == [], again.reason
    assert writes(world) == done and world.serving() == {NEW: 100}


# --- everyday operator inputs ----------------------------------------------------------------------------------


def test_a_resume_of_a_misspelt_service_is_rejected_naming_the_one_managed_and_the_pause_stands(world):
    command(world, "pause", target=SERVICE, reason="freeze")
    typo = SERVICE.replace("backend", "backnd")
    outcome = command(world, "resume", target=typo, reason="freeze over")
    assert outcome.status.value == "rejected" and f"(the inventory has {SERVICE})" in outcome.reason, outcome.reason
    assert world.state.get_record(FLAGS, pause_key(SERVICE))["engaged"] is True


def test_a_resume_of_a_connector_never_paused_names_what_is_paused(proposed):
    world, _ = proposed
    command(world, "pause", target=SERVICE, reason="freeze")
    outcome = command(world, "resume", target=CONNECTOR, reason="done")
    assert outcome.status.value == "applied" and f"no pause of it was ever held; paused now: {SERVICE}" in \
        outcome.reason, outcome.reason
    assert world.state.get_record(FLAGS, pause_key(SERVICE))["engaged"] is True


def test_a_pause_sent_twice_says_it_already_was(world):
    command(world, "pause", target=SERVICE, reason="freeze")
    again = command(world, "pause", target=SERVICE, requested_by="bob@example.com", reason="freeze")
    assert again.status.value == "applied" and "(it already was)" in again.reason, again.reason


def test_a_resume_without_a_reason_is_rejected_and_the_pause_stands(world):
    command(world, "pause", target=SERVICE, reason="freeze")
    outcome = command(world, "resume", target=SERVICE)
    assert outcome.status.value == "rejected" and "reason" in outcome.reason, outcome.reason
    assert world.state.get_record(FLAGS, pause_key(SERVICE))["engaged"] is True


# A rollback to another service's revision; a restore of an action no record holds.
@pytest.mark.parametrize("name, params, said", [
    ("rollback_traffic", {"revision": "frontend-00001-aaa"}, "is not a revision of backend"),
    ("restore_traffic", {"action_id": "nope|x|rollback_traffic"}, "params.action_id"),
])
def test_a_write_naming_what_is_not_the_services_is_rejected_before_any_write(world, name, params, said):
    outcome = command(world, name, target=SERVICE, params=params, reason="r")
    assert outcome.status.value == "rejected" and said in outcome.reason, outcome.reason
    assert writes(world) == 0


def test_a_scale_down_of_a_connector_is_refused_before_any_write_saying_why(proposed):
    """VPC Access only raises a connector's instances (the `gcloud compute networks vpc-access connectors update`
    reference, as shared/remediation/actions/scale_connector.py cites it): a lower max is refused before any write,
    saying so."""
    world, _ = proposed
    assert command(world, "scale_connector", target=CONNECTOR, params={"max_instances": 6},
                   reason="r").status.value == "applied"
    outcome = command(world, "scale_connector", target=CONNECTOR, params={"max_instances": 4}, reason="r")
    assert outcome.status.value == "rejected" and "would go down from 6 to 4" in outcome.reason, outcome.reason
    assert writes(world) == 1


def test_a_scale_past_the_apis_own_maximum_is_rejected_before_any_write(proposed):
    world, _ = proposed
    outcome = command(world, "scale_connector", target=CONNECTOR, params={"max_instances": 11}, reason="r")
    assert outcome.status.value == "rejected" and "VPC Access allows at most 10 instances" in outcome.reason, \
        outcome.reason
    assert writes(world) == 0


def test_an_approve_sent_twice_writes_once_and_the_second_names_the_decision(proposed):
    world, proposal_id = proposed
    first = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok")
    again = command(world, "approve", params={"proposal_id": proposal_id}, reason="ok, from my shell's history")
    assert first.status.value == "applied", first.reason
    assert again.status.value == "rejected" and "already applied" in again.reason, again.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 1


def test_an_approve_from_someone_not_in_operators_is_rejected_naming_who_may(proposed):
    world, proposal_id = proposed
    outcome = command(world, "approve", requested_by="mallory@example.com", params={"proposal_id": proposal_id},
                      reason="ok")
    assert outcome.status.value == "rejected" and "is not in operators" in outcome.reason, outcome.reason
    assert world.state.get_record(PROPOSALS, proposal_id)["state"] == "open" and writes(world) == 0


def test_status_names_the_pause_of_one_target_and_no_kill_switch(world):
    command(world, "pause", target=SERVICE, reason="freeze")
    status = command(world, "status")
    assert status.snapshot["kill_switch"] == "", status.snapshot
    assert [(p["target"], p["by"]) for p in status.snapshot["paused"]] == [(SERVICE, "alice@example.com")]


def test_a_rollback_of_a_service_another_rollback_pins_already_is_skipped_naming_it(world):
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW)])
    first = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")
    again = command(world, "rollback_traffic", requested_by="bob@example.com", target=SERVICE,
                    params={"revision": OLD}, reason="r")
    assert first.status.value == "applied", first.reason
    assert again.status.value == "skipped" and "already serves 100%" in again.reason, again.reason
    assert writes(world) == 1


def test_a_pause_sent_with_an_expires_at_says_it_holds_until_resumed_not_until_then(world):
    """`expires_at` is the latest time a command may still be run, not an end of what it does: a pause sent with
    one (read as "pause until 14:00", in a timezone offset) holds until a resume. Its answer says so, and after that
    time writes are still held back."""
    until = (world.clock.now() + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    paused = command(world, "pause", target=SERVICE, reason="migration", expires_at=until.isoformat())

    assert paused.status.value == "applied", paused.reason
    assert missing(paused.reason, "no writes until resumed", "expires_at", "not an end of the pause",
                   f"runwarden resume --target {SERVICE}") == [], paused.reason
    world.at(90)
    held = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")
    assert held.status.value == "skipped" and f"{SERVICE} paused by alice@example.com" in held.reason, held.reason
    assert writes(world) == 0


def test_a_pause_whose_expires_at_has_passed_is_rejected_and_engages_nothing(world):
    paused = command(world, "pause", target=SERVICE, reason="migration",
                     expires_at=(world.clock.now() - timedelta(minutes=5)).isoformat())
    assert paused.status.value == "rejected" and "expires_at" in paused.reason, paused.reason
    assert (world.state.get_record(FLAGS, pause_key(SERVICE)) or {}).get("engaged") is not True


# A pause of the service spelt as people say it: its short name, its project by number, a trailing slash. Each
# either holds that service's writes back or is rejected naming the name to send; never `applied` while writes go on.
@pytest.mark.parametrize("spelt", [
    "backend",
    SERVICE.replace("demo-project", "123456789012"),
    SERVICE + "/",
    SERVICE.upper(),
], ids=["short-name", "project-number", "trailing-slash", "capitals"])
def test_a_pause_of_the_service_spelt_otherwise_holds_its_writes_or_is_rejected(world, spelt):
    paused = command(world, "pause", target=spelt, reason="freeze")
    assert paused.status.value in ("applied", "rejected"), paused.reason
    rolled = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")
    if paused.status.value == "applied":
        assert rolled.status.value == "skipped" and writes(world) == 0, (paused.reason, rolled.reason)
    else:
        assert SERVICE in paused.reason, paused.reason


def test_status_names_a_write_in_flight_while_its_claim_is_held_and_not_once_it_lapsed(world):
    """Another instance's write to the service holds its write claim (5 min lease): `status` names it, and an
    operator's rollback sent meanwhile writes nothing; once the lease has passed (the write ended or died), `status`
    no longer names it and the rollback is written, once."""
    from shared.remediation.guardrails import WRITING, bound_key

    assert world.state.claim(WRITING, bound_key(SERVICE), "m-7:other", timedelta(minutes=5),
                             world.clock.now()).acquired
    held = command(world, "status", target=SERVICE).snapshot["writes_in_flight"]
    assert [(w["target"], w["held_by"]) for w in held] == [(SERVICE, "m-7:other")], held
    waits = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")
    assert waits.status.value != "applied" and writes(world) == 0, waits.reason

    world.at(10)
    assert command(world, "status", target=SERVICE).snapshot["writes_in_flight"] == []
    rolled = command(world, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")
    assert rolled.status.value == "applied" and writes(world) == 1, rolled.reason
