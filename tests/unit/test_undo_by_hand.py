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
from shared.remediation.refusals import Held, held_by_brake
from shared.remediation.undo_by_hand import by_hand, gives_command, restore_commands

BACKEND = "projects/my-project/locations/us-central1/services/backend"
ORDERS = "projects/shop-prod/locations/europe-west1/services/orders"
KEY_BACKEND = f"cr:incident-1|{BACKEND}|rollback_traffic"
KEY_ORDERS = f"command:rb-42|{ORDERS}|rollback_traffic"
REV = TrafficType.REVISION
ONE = (TrafficTarget(type=REV, revision="backend-00002-xyz", percent=100),)
SPLIT = (TrafficTarget(type=REV, revision="orders-00007-abc", percent=90), TrafficTarget(type=REV, revision="orders-00008-def", percent=10),
         TrafficTarget(type=REV, revision="orders-00008-def", percent=0, tag="canary"))
LATEST = (TrafficTarget(type=TrafficType.LATEST, percent=100),)

# (refusal, its hold, service, key, before, words the answer must hold)
HELD = [
    ("kill switch engaged: no writes (backend paused by alice@example.com: migration)", Held.PAUSED, BACKEND,
     KEY_BACKEND, ONE,
     ["once a resume allows writes again", "backend-00002-xyz 100%", "if backend still serves as rollback_traffic"]),
    ("kill switch engaged: no writes (set by bob@example.com: incident review)", Held.PAUSED, ORDERS, KEY_ORDERS, SPLIT,
     ["once a resume allows writes again", "orders-00007-abc 90%, orders-00008-def 10%", "if orders still serves"]),
    ("kill switch engaged: no writes (set in config)", Held.KILL_SWITCH, BACKEND, KEY_BACKEND, LATEST,
     ["once guardrails.kill_switch is false in the config again", "LATEST 100%"]),
    # Reworded: the hold, not the words, decides.
    ("writes are stopped (backend paused by alice@example.com: migration)", Held.PAUSED, BACKEND, KEY_BACKEND, ONE,
     ["once a resume allows writes again", "backend-00002-xyz 100%"]),
    ("writes are off: the config's switch", Held.KILL_SWITCH, BACKEND, KEY_BACKEND, LATEST,
     ["once guardrails.kill_switch is false in the config again", "LATEST 100%"]),
]


@pytest.mark.parametrize("refusal,held,service,key,before,words", HELD)
def test_a_held_undo_says_it_is_not_retried_and_names_the_command_that_does_it(refusal, held, service, key, before,
                                                                              words):
    said = by_hand(refusal, held, service=service, action_id=key, action="rollback_traffic", traffic_before=before)
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


# The gate's other refusals of the undo (guardrails: Gate._cooldown, Gate._budgets, plan_refusal's approval,
# Gate._write on StaleEvidenceError): (refusal, its hold, words the answer must hold, words it must not, a command
# given)
OTHER = {
    "a cooldown: passes by itself, and says when": (
        f"cooldown: {BACKEND} was acted on at 2026-12-03T10:02:00+00:00; next action after 2026-12-03T10:07:00+00:00", Held.COOLDOWN,
        ["Runwarden will not retry this undo", "the cooldown passes by itself", "after 2026-12-03T10:07:00+00:00",
         "backend-00002-xyz 100%"], ["once a resume"], True),
    "a cooldown of another target, other times": (
        f"cooldown: {ORDERS} was acted on at 2026-05-01T23:59:30+00:00; next action after 2026-05-02T00:04:30+00:00", Held.COOLDOWN,
        ["the cooldown passes by itself", "after 2026-05-02T00:04:30+00:00"], ["10:07"], True),
    "an hour's budget spent: passes when its hour is over": (
        f"budget exhausted: 3 actions for target|{BACKEND} in 2026-12-03T10", Held.BUDGET,
        ["Runwarden will not retry this undo", "budget", "2026-12-03T10", "is over"], ["once a resume"], True),
    "a day's global budget spent": (
        "budget exhausted: 20 actions for global in 2026-12-03", Held.BUDGET,
        ["Runwarden will not retry this undo", "2026-12-03", "is over"], [], True),
    "an approval required: a person's command is that approval": (
        "proposed, not applied: restore_traffic moves traffic of a service another team owns", Held.APPROVAL,
        ["Runwarden will not retry this undo", "approval", "your command is that approval"], ["once a resume"], True),
    "a change since the check (the etag refused): no command, it would write over that change": (
        "restore_traffic not written: the service changed since it was read [ABORTED]. The decision was made on "
        f"evidence read before that change, so it does not stand; a person must check {BACKEND}", Held.CHANGED,
        ["Runwarden will not retry this undo", "no longer serves as rollback_traffic left it",
         "would write over that change", "no command is given"], ["runwarden command", "restore_traffic --target"],
        False),
    "a change since the check, another wording of the API's": (
        "restore_traffic not written: etag mismatch (generation 7 -> 8) [FAILED_PRECONDITION]. The decision was made "
        f"on evidence read before that change, so it does not stand; a person must check {ORDERS}", Held.CHANGED,
        ["would write over that change", "no command is given"], ["runwarden command"], False),
    # Reworded: the hold decides; words that no longer carry the time leave it out, never the command.
    "a cooldown reworded": (
        f"{BACKEND} is cooling down until 2026-12-03T10:07:00+00:00", Held.COOLDOWN,
        ["Runwarden will not retry this undo", "the cooldown passes by itself"], ["once a resume"], True),
    "a budget reworded": (
        "no budget left: 20 actions today", Held.BUDGET,
        ["Runwarden will not retry this undo", "the budget passes by itself", "is over"], ["once a resume"], True),
    "an approval reworded": (
        "awaiting a person: restore_traffic moves traffic of a service another team owns", Held.APPROVAL,
        ["your command is that approval"], ["once a resume"], True),
    "a change since the check reworded": (
        "restore_traffic refused: the service moved on [ABORTED]", Held.CHANGED,
        ["would write over that change", "no command is given"], ["runwarden command"], False),
}


@pytest.mark.parametrize("refusal,held,words,never,command", OTHER.values(), ids=OTHER.keys())
def test_each_other_refusal_says_what_a_person_needs(refusal, held, words, never, command):
    said = by_hand(refusal, held, service=BACKEND, action_id=KEY_BACKEND, action="rollback_traffic", traffic_before=ONE)
    for word in words:
        assert word in said, (word, said)
    for word in never:
        assert word not in said, (word, said)
    cli, _ = restore_commands(BACKEND, KEY_BACKEND, "rollback_traffic", None)
    assert (f"`{cli}`" in said) is command and gives_command(held) is command, said


@pytest.mark.parametrize("refusal,held", [
    ("the incident closed at 10:03:00 (Monitoring CLOSED, value 0.01 on the clear side of 0.05): nothing written",
     Held.CLOSED),
    (f"outside bounds: {BACKEND} is not a managed service", Held.BOUNDS),
    ("restore_traffic failed: permission denied [PERMISSION_DENIED]", None),
    # The gate's words for a brake, a cooldown or an approval, with another hold (or none): the hold decides.
    ("kill switch engaged: no writes (set in config)", None),
    ("kill switch engaged: no writes (backend paused by alice@example.com: migration)", Held.WRITE_IN_FLIGHT),
    (f"cooldown: {BACKEND} was acted on at 2026-12-03T10:02:00+00:00; next action after 2026-12-03T10:07:00+00:00",
     Held.CLAIM_HELD),
    ("proposed, not applied: restore_traffic moves traffic of a service another team owns", Held.BLAST_RADIUS),
])
def test_any_other_refusal_adds_nothing(refusal, held):
    assert not held_by_brake(held) and not gives_command(held)
    assert by_hand(refusal, held, service=BACKEND, action_id=KEY_BACKEND, action="rollback_traffic", traffic_before=ONE) == ""
