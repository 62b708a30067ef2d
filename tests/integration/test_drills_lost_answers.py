"""Drills on the Firestore emulator: a commit of Runwarden's state that landed while its answer was
lost. The real commit reaches the real emulator and is applied; the client is then told
DEADLINE_EXCEEDED or UNAVAILABLE (sandbox/lost_answers.py says how, and why at the channel and not
in a TCP proxy). Each drill delivers the message, then delivers it again as Pub/Sub would, and
checks: nothing acts twice, nothing is changed without a record (or an outcome saying it could not
be recorded), and the redelivery either acts once or is recognised as a duplicate, saying why.
docs/behaviour.md ("Faults") has the table."""
from __future__ import annotations

import json

import grpc
import pytest

from sandbox.lost_answers import LostAnswers, request_pb, state_store_losing_answers, writes_to
from shared.alerts.delivery import DeliveryCounter, StateStoreUnavailable
from shared.commands import handle_command_delivery
from shared.remediation.guardrails import CLAIMS, COOLDOWNS, claim_key
from shared.remediation.records import ACTIONS, INTENTS
from tests.integration.test_drills_faults import (CONNECTOR, Delivered, connector_shape, connector_world, deliver,
                                                  desired_traffic, records, resolve_incident, rollback_world)
from tests.integration.world import SERVICE, World, event

pytestmark = pytest.mark.emulator

DEADLINE, UNAVAILABLE = grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE
CODES = [pytest.param(DEADLINE, id="deadline"), pytest.param(UNAVAILABLE, id="unavailable")]
PATHS = [pytest.param("rollback", id="rollback"), pytest.param("connector", id="connector")]


def _losing(world: World, project_id: str) -> LostAnswers:
    faults = LostAnswers()
    world.state = world.adapters.state = state_store_losing_answers(faults, project_id, timeout=2.0)
    return faults


def _world(path: str, standin_env, pubsub, project_id, anchor) -> tuple[World, str, str]:
    make = rollback_world if path == "rollback" else connector_world
    world = make(standin_env, pubsub, project_id, anchor)
    scenario = "bad_revision" if path == "rollback" else "connector_saturation"
    return world, scenario, (SERVICE if path == "rollback" else CONNECTOR)


def _changed(world: World, path: str) -> int:
    return world.standins.run.count("UpdateService") if path == "rollback" \
        else world.standins.vpcaccess.count("PatchConnector")


def _status(delivered: Delivered) -> str:
    return delivered.result


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("code", CODES)
def test_the_alerts_claim_commit_lands_but_its_answer_is_lost(standin_env, firestore, pubsub, project_id, anchor,
                                                              path, code):
    """The gate's one commit (claim, cooldown, a slot of each budget) is applied; the client hears
    an error. The attempt must recognise the commit as its own and act once, or give everything
    back and be redelivered: never a claim held by an attempt that ended."""
    world, scenario, target = _world(path, standin_env, pubsub, project_id, anchor)
    faults = _losing(world, project_id)
    incident_id = resolve_incident(world, scenario)
    faults.lose(code, when=writes_to("runwarden_claims", creating=True))
    counter = DeliveryCounter()

    first = deliver(world, scenario, counter)
    again = deliver(world, scenario, counter)           # Pub/Sub's redelivery of the same message

    assert [lost.code for lost in faults.lost] == [code], faults.lost     # the fault did happen
    assert any(doc.startswith("runwarden_claims/") for doc in faults.lost[0].documents)
    assert _changed(world, path) == 1                     # acted exactly once, over both deliveries
    [record] = records(world, incident_id)
    assert record["state"] == "pending"
    assert first.result == "applied", first.raised or first.outcome.reason
    assert again.outcome.status.value == "skipped" and again.outcome.reason.startswith("duplicate (applied)") \
        or "already completed (applied)" in again.outcome.reason, again.outcome.reason
    held = world.state.get(CLAIMS, claim_key(incident_id, target, record["action"]))
    assert held is not None and held.status.value == "completed"


@pytest.mark.parametrize("code", CODES)
def test_the_claims_completion_lands_but_its_answer_is_lost(standin_env, firestore, pubsub, project_id, anchor, code):
    """After the write, the claim is completed (an update guarded by the claim's update time). Its
    answer is lost: the attempt must not report the change as unrecorded when it was recorded,
    and must never act again."""
    world, scenario, _ = _world("rollback", standin_env, pubsub, project_id, anchor)
    faults = _losing(world, project_id)
    incident_id = resolve_incident(world, scenario)
    faults.lose(code, when=writes_to("runwarden_claims", creating=False))
    counter = DeliveryCounter()

    first = deliver(world, scenario, counter)
    again = deliver(world, scenario, counter)

    assert [lost.code for lost in faults.lost] == [code]
    assert world.standins.run.count("UpdateService") == 1
    assert desired_traffic(world) == [("backend-00001-abc", 100)]
    assert first.result == "applied", first.raised or first.outcome.reason
    [record] = records(world, incident_id)
    assert record["state"] == "pending"
    assert again.outcome.status.value == "skipped" and "(applied)" in again.outcome.reason, again.outcome.reason


@pytest.mark.parametrize("code", CODES)
def test_the_action_record_lands_but_its_answer_is_lost(standin_env, firestore, pubsub, project_id, anchor, code):
    """The `applied` record (the action the sweep verifies) is a whole-document set: written again
    after a lost answer, it is the same document. The outcome must not say it could not be
    recorded when it was."""
    world, scenario, _ = _world("connector", standin_env, pubsub, project_id, anchor)
    faults = _losing(world, project_id)
    incident_id = resolve_incident(world, scenario)
    before = connector_shape(world)
    faults.lose(code, when=writes_to(f"runwarden_{ACTIONS}"))
    counter = DeliveryCounter()

    first = deliver(world, scenario, counter)
    again = deliver(world, scenario, counter)

    assert [lost.code for lost in faults.lost] == [code]
    assert world.standins.vpcaccess.count("PatchConnector") == 1 and connector_shape(world) != before
    assert first.result == "applied", first.raised or first.outcome.reason
    [record] = records(world, incident_id)
    assert record["state"] == "pending"
    assert again.outcome.status.value == "skipped" and "(applied)" in again.outcome.reason, again.outcome.reason


@pytest.mark.parametrize("code", CODES)
def test_a_give_back_whose_delete_lands_but_whose_answer_is_lost(standin_env, firestore, pubsub, project_id, anchor,
                                                                 code):
    """The write is refused for good (PERMISSION_DENIED), so the gate gives back the cooldown and the
    budget slots (deletes guarded by each record's update time) and keeps the incident's claim `failed`
    for the cooldown (Gate._refused). The cooldown's delete lands and its answer is lost: the outcome is
    still the one `failed` with the API's error, and nothing else stays held, so another incident may act."""
    world, scenario, target = _world("connector", standin_env, pubsub, project_id, anchor)
    faults = _losing(world, project_id)
    incident_id = resolve_incident(world, scenario)
    world.standins.vpcaccess.faults.deny(method="PatchConnector")
    faults.lose(code, when=lambda request: any(
        write.delete and "/runwarden_cooldowns/" in write.delete for write in request_pb(request).writes))
    counter = DeliveryCounter()

    first = deliver(world, scenario, counter)

    assert [lost.code for lost in faults.lost] == [code]
    assert first.result == "failed", first.raised or first.outcome.reason
    assert "PERMISSION_DENIED" in first.outcome.reason or "denied" in first.outcome.reason.lower()
    held = world.state.get(CLAIMS, claim_key(incident_id, target, "scale_connector"))
    assert held.status.value == "completed" and held.result["status"] == "failed"
    assert world.state.get(COOLDOWNS, target) is None
    assert records(world, incident_id) == []


def _operator_world(standin_env, pubsub, project_id, anchor) -> tuple[World, LostAnswers]:
    """The rollback world with alice@example.com as an operator, and its channel's lost answers."""
    world, _, _ = _world("rollback", standin_env, pubsub, project_id, anchor)
    world.config = world.config.model_copy(update={"operators": ("alice@example.com",)})
    return world, _losing(world, project_id)


def _command(world: World, counter: DeliveryCounter, message_id: str) -> Delivered:
    body = {"command": "rollback_traffic", "command_id": "cmd-lost-1", "requested_by": "alice@example.com",
            "target": SERVICE, "params": {"revision": "backend-00001-abc"}, "reason": "bad deploy"}
    try:
        [outcome] = handle_command_delivery(event(json.dumps(body).encode(), message_id), world.config,
                                            world.adapters, counter=counter)
        return Delivered(outcome=outcome)
    except Exception as exc:  # noqa: BLE001 - what it raised is what is judged
        return Delivered(raised=exc)


@pytest.mark.parametrize("code", CODES)
def test_a_commands_claim_lands_but_its_answer_is_lost(standin_env, firestore, pubsub, project_id, anchor, code):
    """An operator's command claims its command_id first (a create). Its answer is lost: the
    command must run once, and its redelivery must not wait out a claim nobody is working on."""
    world, faults = _operator_world(standin_env, pubsub, project_id, anchor)
    faults.lose(code, when=writes_to("runwarden_commands", creating=True))
    counter = DeliveryCounter()

    first = _command(world, counter, "c-1")
    again = _command(world, counter, "c-1")

    assert [lost.code for lost in faults.lost] == [code]
    assert world.standins.run.count("UpdateService") == 1
    assert first.result == "applied", first.raised or first.outcome.reason
    assert again.outcome.status.value == "skipped" and again.outcome.reason.startswith("duplicate"), \
        again.outcome.reason
    assert not isinstance(again.raised, StateStoreUnavailable)


@pytest.mark.parametrize("code", CODES)
def test_a_commands_intent_lands_but_its_answer_is_lost(standin_env, firestore, pubsub, project_id, anchor, code):
    """Before an operator's write, the gate stores the command's intent (shared/commands/recovery.py),
    a whole-document set. Its answer is lost: the store finds it landed and the command acts once; a
    resend in a new message finds the change recorded and is a duplicate, not a second write nor a
    recovery of a change that was recorded."""
    world, faults = _operator_world(standin_env, pubsub, project_id, anchor)
    faults.lose(code, when=writes_to(f"runwarden_{INTENTS}"))
    counter = DeliveryCounter()

    first = _command(world, counter, "c-1")
    again = _command(world, counter, "c-2")

    assert [lost.code for lost in faults.lost] == [code]
    assert world.standins.run.count("UpdateService") == 1
    assert first.result == "applied", first.raised or first.outcome.reason
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    assert record["state"] == "pending" and record["command_id"] == "cmd-lost-1", record
    assert again.outcome.status.value == "skipped" and again.outcome.reason.startswith("duplicate"), \
        again.outcome.reason
