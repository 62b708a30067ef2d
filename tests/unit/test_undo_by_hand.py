"""The escalation of an undo the kill switch or a pause held back (shared/remediation/undo_by_hand.py): it
says Runwarden will not retry it, when writes are allowed again, and the exact command that performs it by
hand, which the command schema accepts as it is written (the CLI's argv, and gcloud's message). Any other
refusal adds nothing. Pure: no I/O."""
from __future__ import annotations

import json
import shlex

import pytest

from shared.alerts.commands import RestoreTraffic, parse_command
from shared.diagnosis.evidence import TrafficTarget, TrafficType
from shared.remediation.undo_by_hand import by_hand, held_by_brake, restore_commands

BACKEND = "projects/my-project/locations/us-central1/services/backend"
ORDERS = "projects/shop-prod/locations/europe-west1/services/orders"
KEY_BACKEND = f"cr:incident-1|{BACKEND}|rollback_traffic"
KEY_ORDERS = f"command:rb-42|{ORDERS}|rollback_traffic"
REV = TrafficType.REVISION
ONE = (TrafficTarget(type=REV, revision="backend-00002-xyz", percent=100),)
SPLIT = (TrafficTarget(type=REV, revision="orders-00007-abc", percent=90), TrafficTarget(type=REV, revision="orders-00008-def", percent=10),
         TrafficTarget(type=REV, revision="orders-00008-def", percent=0, tag="canary"))
LATEST = (TrafficTarget(type=TrafficType.LATEST, percent=100),)

# (refusal, service, key, before, words the answer must hold)
HELD = [
    ("kill switch engaged: no writes (backend paused by alice@example.com: migration)", BACKEND, KEY_BACKEND, ONE,
     ["once a resume allows writes again", "backend-00002-xyz 100%", "if backend still serves as rollback_traffic"]),
    ("kill switch engaged: no writes (set by bob@example.com: incident review)", ORDERS, KEY_ORDERS, SPLIT,
     ["once a resume allows writes again", "orders-00007-abc 90%, orders-00008-def 10%", "if orders still serves"]),
    ("kill switch engaged: no writes (set in config)", BACKEND, KEY_BACKEND, LATEST,
     ["once guardrails.kill_switch is false in the config again", "LATEST 100%"]),
]


@pytest.mark.parametrize("refusal,service,key,before,words", HELD)
def test_a_held_undo_says_it_is_not_retried_and_names_the_command_that_does_it(refusal, service, key, before, words):
    said = by_hand(refusal, service=service, action_id=key, action="rollback_traffic", traffic_before=before)
    assert "Runwarden will not retry this undo" in said, said
    for word in words:
        assert word in said, (word, said)
    cli, _ = restore_commands(service, key, "rollback_traffic", None)
    assert f"`{cli}`" in said and "fresh command_id" in said and "new command_id of its own" in said, said


@pytest.mark.parametrize("service,key", [(BACKEND, KEY_BACKEND), (ORDERS, KEY_ORDERS)])
def test_the_cli_line_is_a_valid_restore_of_that_action(service, key):
    cli, _ = restore_commands(service, key, "rollback_traffic", None)
    argv = shlex.split(cli)
    assert argv[:3] == ["runwarden", "command", "restore_traffic"], argv
    assert argv[argv.index("--target") + 1] == service and argv[argv.index("--param") + 1] == f"action_id={key}"
    command = parse_command(json.dumps({"command": "restore_traffic", "command_id": "cli-1", "requested_by":
                                        "alice@example.com", "target": service, "params": {"action_id": key},
                                        "reason": argv[argv.index("--reason") + 1]}))
    assert isinstance(command, RestoreTraffic) and command.params.action_id == key


@pytest.mark.parametrize("service,key,topic", [(BACKEND, KEY_BACKEND, "projects/my-project/topics/runwarden-commands"),
                                               (ORDERS, KEY_ORDERS, None)])
def test_the_gcloud_line_publishes_that_restore_once_given_a_new_command_id(service, key, topic):
    _, gcloud = restore_commands(service, key, "rollback_traffic", topic)
    argv = shlex.split(gcloud)
    assert argv[:4] == ["gcloud", "pubsub", "topics", "publish"] and argv[4] == (topic or "COMMANDS_TOPIC"), argv
    body = json.loads(argv[argv.index("--message") + 1])
    assert "new id" in body["command_id"], body     # a placeholder: a new id is the sender's to choose
    command = parse_command(json.dumps(body | {"command_id": "undo-1", "requested_by": "alice@example.com"}))
    assert isinstance(command, RestoreTraffic) and command.target == service and command.params.action_id == key


@pytest.mark.parametrize("refusal", [
    "cooldown: projects/p/locations/l/services/backend was written at 10:02:00; next write allowed after 10:07:00",
    "budget exhausted: 3 writes to backend this hour (guardrails.budget)",
    "the incident closed at 10:03:00 (Monitoring CLOSED, value 0.01 on the clear side of 0.05): nothing written",
    "stale evidence: backend changed since it was read (generation 7 -> 8)",
    "a pause of backend is recorded (kill switch engaged earlier)",    # the words, not the gate's prefix
])
def test_any_other_refusal_adds_nothing(refusal):
    assert not held_by_brake(refusal)
    assert by_hand(refusal, service=BACKEND, action_id=KEY_BACKEND, action="rollback_traffic", traffic_before=ONE) == ""
