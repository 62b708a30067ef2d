"""Operators' messages as people write them, through the real entry point (`handle_command` on a
Pub/Sub push's data): what each is answered, and that nothing is written, or left stuck, when it
must not be. In-process parts: the memory store and the stand-ins' own handlers
(tests/property/fast.py)."""
from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import pytest

from shared.commands import handle_command
from shared.config import Mode
from shared.outcomes import OutcomeStatus
from shared.remediation.records import FLAGS, KILL_SWITCH, PROPOSALS
from sandbox.standins.run import ConditionSeed, TrafficSeed
from tests.integration.world import SERVICE, event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR, CONNECTOR

OPERATOR = "alice@example.com"
OLD = "backend-00001-abc"
_messages = itertools.count(1)


def world(scenario: str = "bad_revision", **config: Any) -> FastWorld:
    return FastWorld(seeded_copy(scenario, None), ANCHOR, operators=[OPERATOR], **config)


def deliver(w: FastWorld, data: bytes):
    [outcome] = handle_command(event(data, f"m-{next(_messages)}"), w.config, w.adapters)
    return outcome


def send(w: FastWorld, name: str, command_id: str, **fields: Any):
    body = {"command": name, "command_id": command_id, "requested_by": OPERATOR, "reason": "INC-7", **fields}
    return deliver(w, json.dumps(body).encode())


def patches(w: FastWorld) -> int:
    return w.standins.vpcaccess.count("PatchConnector")


def proposed() -> tuple[FastWorld, str]:
    w = world("connector_saturation", bounds={"connectors": [{"name": CONNECTOR}]})
    outcome = w.handle(w.alert("connector_saturation"))
    assert outcome.status is OutcomeStatus.PROPOSED and outcome.action.proposal_id, outcome.reason
    return w, outcome.action.proposal_id


def test_an_approve_held_back_by_the_kill_switch_leaves_the_proposal_open_for_after_resume():
    """The gate refused the write: the approval did not happen, so the proposal must not stay
    `approved` (which no later approve may take), or releasing the brake could never apply it."""
    w, proposal_id = proposed()
    assert send(w, "pause", "p-1").status is OutcomeStatus.APPLIED
    held = send(w, "approve", "ap-1", params={"proposal_id": proposal_id})
    assert held.status is OutcomeStatus.SKIPPED and "kill switch" in held.reason, held.reason
    assert any("stays open" in n and "approve it again" in n for n in held.notes), held.notes
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "open" and patches(w) == 0

    assert send(w, "resume", "r-1").status is OutcomeStatus.APPLIED
    applied = send(w, "approve", "ap-2", params={"proposal_id": proposal_id})
    assert applied.status is OutcomeStatus.APPLIED, applied.reason
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "applied" and patches(w) == 1
    again = send(w, "approve", "ap-3", params={"proposal_id": proposal_id})
    assert again.status is OutcomeStatus.REJECTED and "already applied" in again.reason and patches(w) == 1


def test_a_command_id_reused_for_other_params_is_rejected_naming_the_id_and_runs_neither():
    """A resend is the same command again: `skipped`, quoting the first answer. The same id with
    another revision (or another command) is not a resend: answering it "duplicate: ... applied"
    would tell the operator their new rollback took. Neither the first nor the new one runs."""
    w = world()
    first = send(w, "rollback_traffic", "rb-inc42", target=SERVICE, params={"revision": OLD})
    assert first.status is OutcomeStatus.APPLIED, first.reason
    resend = send(w, "rollback_traffic", "rb-inc42", target=SERVICE, params={"revision": OLD})
    assert resend.status is OutcomeStatus.SKIPPED and resend.reason.startswith("duplicate: command rb-inc42")

    for name, params in (("rollback_traffic", {"revision": "backend-00002-xyz"}),
                         ("restore_traffic", {"to_latest": True})):
        other = send(w, name, "rb-inc42", target=SERVICE, params=params)
        assert other.status is OutcomeStatus.REJECTED, other.reason
        assert other.reason.startswith("command_id: rb-inc42 was already used") and "new command_id" in other.reason
    assert w.standins.run.count("UpdateService") == 1 and w.serving() == {OLD: 100}


def test_an_approve_resent_under_its_id_by_an_operator_after_a_non_operator_is_told_to_use_a_new_id():
    """Someone not in `operators` sent it first (rejected); an operator resending the very same
    body under the same id is another requester's command, not a resend of the first."""
    w, proposal_id = proposed()
    body = {"command": "approve", "command_id": "ap-9", "reason": "r", "params": {"proposal_id": proposal_id}}
    first = deliver(w, json.dumps({**body, "requested_by": "bob@example.com"}).encode())
    assert first.status is OutcomeStatus.REJECTED and first.reason.startswith("requested_by:")
    again = deliver(w, json.dumps({**body, "requested_by": OPERATOR}).encode())
    assert again.status is OutcomeStatus.REJECTED and again.reason.startswith("command_id: ap-9 was already used")
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "open" and patches(w) == 0


def test_a_message_that_sets_dry_run_twice_is_rejected_and_writes_nothing():
    """Hand-edited JSON with a key twice: Python's json would keep the last silently."""
    data = (b'{"command":"rollback_traffic","command_id":"rb-2","requested_by":"alice@example.com","reason":"r",'
            b'"target":"' + SERVICE.encode() + b'","params":{"revision":"' + OLD.encode() + b'"},'
            b'"dry_run":true,"dry_run":false}')
    w = world()
    outcome = deliver(w, data)
    assert outcome.status is OutcomeStatus.REJECTED and outcome.command_id == "rb-2"
    assert outcome.reason.startswith("malformed command: message.data: the key 'dry_run' appears twice"), outcome.reason
    assert w.standins.run.count("UpdateService") == 0


@pytest.mark.parametrize("data, command_id, said", [
    (b'{"command":"status","command_id":"rb-a","requested_by":"alice@example.com","command_id":"rb-a"}', "rb-a",
     "the key 'command_id' appears twice"),
    (b'{"command":"rollback_traffic","command_id":"rb-c","requested_by":"a","reason":"r","target":"t","params":'
     b'{"revision":"backend-00001-abc","revision":"backend-00002-xyz"}}', "rb-c",
     'the key \'revision\' appears twice (in params: "backend-00001-abc", then "backend-00002-xyz")'),
    # A reason typed in a Latin-1 terminal: not UTF-8, and its (ASCII) id was lost with the rest.
    ('{"command":"pause","command_id":"p-jose","requested_by":"jose@example.com","reason":"Jos\u00e9: migration"}'
     .encode("latin-1"), "p-jose", "not UTF-8 text"),
    (b"\xff\xfe" + '{"command":"status","command_id":"st-16"}'.encode("utf-16-le"), "st-16", "not UTF-8 text"),
])
def test_a_malformed_command_is_answered_under_the_id_its_sender_waits_on_and_only_that(data, command_id, said):
    w = world()
    outcome = deliver(w, data)
    assert outcome.status is OutcomeStatus.REJECTED and said in outcome.reason, outcome.reason
    assert outcome.command_id == command_id
    [published] = w.published()
    assert published["command_id"] == command_id and w.standins.run.count("UpdateService") == 0


def _with_ids(head: str, ids: list[Any], tail: str = "") -> bytes:
    """A command body giving `command_id` once per id, in order (what a hand-edited body holds)."""
    given = ",".join(f'"command_id":{json.dumps(i)}' for i in ids)
    return ("{" + head + "," + given + tail + "}").encode("utf-8")


@pytest.mark.parametrize("data, answered", [
    # Two different ids: each sender may wait on either. Python's json kept the last, and the rejection
    # named "rb-b", an id the sender may never have meant; then it named none, and both senders timed out.
    (_with_ids('"command":"status","requested_by":"alice@example.com"', ["rb-a", "rb-b"]), ["rb-a", "rb-b"]),
    (_with_ids('"command":"pause","requested_by":"bob@example.com","reason":"r"', ["p-2", "p-1", "p-2"]),
     ["p-2", "p-1"]),
    (_with_ids('"command":"rollback_traffic","requested_by":"a","reason":"r","target":"' + SERVICE + '"',
               ["rb-x", "rb-y", "rb-z"], ',"params":{"revision":"' + OLD + '"}'), ["rb-x", "rb-y", "rb-z"]),
    # One id no command may carry (no sender can wait on it: no outcome carries it): the others are answered.
    (_with_ids('"command":"resume","requested_by":"a","reason":"r"', ["bad id", "rs-1"]), ["rs-1"]),
    (_with_ids('"command":"resume","requested_by":"a","reason":"r"', [-7, "x" * 200, "rs-2"]), ["rs-2"]),
    # A number is answered under its text as sent ("7"), which its sender waits on: it was answered under none.
    (_with_ids('"command":"resume","requested_by":"a","reason":"r"', [7, "x" * 200, "rs-2"]), ["7", "rs-2"]),
    # Not UTF-8 as well (a Latin-1 reason): the ids are ASCII, read the same.
    ('{"command":"pause","command_id":"p-a","requested_by":"jose@example.com","reason":"Jos\u00e9",'
     '"command_id":"p-b"}'.encode("latin-1"), ["p-a", "p-b"]),
])
def test_a_command_giving_two_ids_is_rejected_once_under_each_naming_both(data, answered):
    """Neither id is a guess: each sender waits on the one it gave, and hears the rejection under it,
    once, saying why and naming the others; nothing is run."""
    w = world()
    outcomes = handle_command(event(data, "m-two-ids"), w.config, w.adapters)
    assert [o.command_id for o in outcomes] == answered
    for outcome in outcomes:
        assert outcome.status is OutcomeStatus.REJECTED and outcome.reason.startswith("malformed command: message.data: ")
        assert "command_id is given more than once, with different values" in outcome.reason, outcome.reason
        assert all(repr(i) in outcome.reason for i in answered), outcome.reason
        assert "answered under each id" in outcome.reason and "nothing was run" in outcome.reason, outcome.reason
    assert [p["command_id"] for p in w.published()] == answered
    assert [a[2].get("command_id") for a in w.publisher.messages] == answered
    assert w.standins.run.calls == [] and w.state.get_record(FLAGS, KILL_SWITCH) is None


@pytest.mark.parametrize("data, said", [
    ("!!!" + "e30=", "'!' at character 0 is not in the standard base64 alphabet"),
    ("eyJjb21tYW5kIjoic3RhdHVzIn0", "27 characters, not a multiple of 4: its '=' padding is missing"),
    ("e3-9", "'-' at character 2 is not in the standard base64 alphabet"),
])
def test_a_body_whose_base64_does_not_decode_is_answered_saying_why(data, said):
    """Answered "not valid base64" alone, which left the sender to find what was wrong."""
    w = world()
    push = event(b"{}", "m-b64")
    push["message"]["data"] = data
    [outcome] = handle_command(push, w.config, w.adapters)
    assert outcome.status is OutcomeStatus.REJECTED and said in outcome.reason, outcome.reason
    assert outcome.received is not None and outcome.received.data == data


def test_an_alert_on_a_connector_not_ready_plans_again_when_renotified_once_it_is_ready():
    """The escalation says a notification of the incident arriving once the connector is READY plans the
    scale again: it does, once, and the one after is a duplicate."""
    w = world("connector_saturation", bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": True}]})
    w.standins.vpcaccess.set_state(CONNECTOR, "UPDATING")
    held = w.handle(w.alert("connector_saturation", message_id="n-1"))
    assert held.status is OutcomeStatus.ESCALATED and "plans the scale again" in held.reason, held.reason
    assert patches(w) == 0
    w.standins.vpcaccess.set_state(CONNECTOR, "READY")
    again = w.handle(w.alert("connector_saturation", message_id="n-2"))
    assert again.status is OutcomeStatus.APPLIED and patches(w) == 1, again.reason
    third = w.handle(w.alert("connector_saturation", message_id="n-3"))
    assert third.status is OutcomeStatus.SKIPPED and third.reason.startswith("duplicate:"), third.reason
    assert patches(w) == 1


def test_a_sweep_a_person_sends_with_an_id_is_answered_and_the_schedulers_stays_silent():
    """With nothing to verify the sweep publishes no verdict: the person waiting on their
    command_id must still hear that it ran. The scheduler's fixed body publishes nothing extra."""
    w = world()
    [answer] = handle_command(event(json.dumps({"command": "sweep", "command_id": "sw-1", "requested_by": OPERATOR})
                                    .encode(), "m-sweep"), w.config, w.adapters)
    assert answer.status is OutcomeStatus.REPORTED and answer.command_id == "sw-1", answer
    assert answer.reason.startswith("sweep done: 0 outcome(s)") and answer.requested_by == OPERATOR
    assert [o["command_id"] for o in w.published()] == ["sw-1"]
    assert handle_command(event(b'{"command": "sweep"}', "m-cron"), w.config, w.adapters) == []


def test_a_resume_without_a_target_names_the_pauses_it_leaves_in_place():
    """`resume` with no target releases the kill switch only: a target paused by itself stays
    paused, and the answer must say so rather than "writes allowed again" alone."""
    w = world()
    assert send(w, "pause", "p-svc", target=SERVICE).status is OutcomeStatus.APPLIED
    resumed = send(w, "resume", "r-all")
    assert resumed.status is OutcomeStatus.APPLIED
    assert resumed.reason.startswith("the kill switch released") and f"still paused, each until resumed by its " \
        f"target: {SERVICE}" in resumed.reason, resumed.reason
    held = send(w, "rollback_traffic", "rb-3", target=SERVICE, params={"revision": OLD})
    assert held.status is OutcomeStatus.SKIPPED and w.standins.run.count("UpdateService") == 0

    assert "still paused" not in send(w, "resume", "r-svc", target=SERVICE).reason
    assert "still paused" not in send(w, "resume", "r-all-2").reason


def test_a_short_service_name_is_rejected_saying_which_form_to_send():
    w = world()
    outcome = send(w, "rollback_traffic", "rb-4", target="backend", params={"revision": OLD})
    assert outcome.status is OutcomeStatus.REJECTED and outcome.command_id == "rb-4"
    assert outcome.reason.startswith("malformed command: command.target: 'backend' is not a full service name, "
                                     "projects/PROJECT/locations/REGION/services/SERVICE"), outcome.reason
    assert w.standins.run.count("UpdateService") == 0


@pytest.mark.parametrize("target", [
    "projects/demo-project/locations/us-central1/services/backnd",       # a typo
    "projects/demo-project/locations/europe-west1/services/backend",     # the same service id, another region
])
def test_a_target_not_in_the_inventory_names_the_one_likely_meant_and_writes_nothing(target):
    w = world()
    outcome = send(w, "rollback_traffic", "rb-typo", target=target, params={"revision": OLD})
    assert outcome.status is OutcomeStatus.REJECTED, outcome.reason
    assert outcome.reason.endswith(f"is not in the inventory: the config's services list does not name it (the "
                                   f"inventory has {SERVICE})"), outcome.reason
    assert w.standins.run.count("UpdateService") == 0


def test_a_pause_of_a_connector_that_does_not_exist_is_rejected_never_a_brake_on_nothing():
    """`pause` takes any connector (the gate may act on one no policy names), so a typo answered
    `applied` ("... backend-con paused") while backend-conn stayed writable."""
    import grpc

    w = world()
    typo = CONNECTOR[:-1]
    refused = send(w, "pause", "p-typo", target=typo)
    assert refused.status is OutcomeStatus.REJECTED, refused.reason
    assert refused.reason.startswith(f"target: connector {typo} does not exist (VPC Access:"), refused.reason
    assert send(w, "pause", "p-real", target=CONNECTOR).status is OutcomeStatus.APPLIED

    # A read that fails otherwise never holds a brake back.
    w.standins.vpcaccess.faults.fail_next(10, grpc.StatusCode.PERMISSION_DENIED, method="GetConnector")
    other = CONNECTOR.replace("backend-conn", "other-conn")
    assert send(w, "pause", "p-denied", target=other).status is OutcomeStatus.APPLIED


@pytest.mark.parametrize("vpcaccess_answers", [None, "INVALID_ARGUMENT", "PERMISSION_DENIED"])
@pytest.mark.parametrize("target, said", [
    (CONNECTOR.replace("backend-conn", "Backend-Conn"), "holds capital letters: Google writes resource names in "
                                                         f"lowercase, '{CONNECTOR}'"),
    (CONNECTOR + " ", f"holds a space (character {len(CONNECTOR) + 1}), which no Google resource name holds: "
                      f"write '{CONNECTOR}'"),
    (CONNECTOR + "\n", f"holds the invisible character '\\n' (character {len(CONNECTOR) + 1})"),
    (CONNECTOR.replace("backend-conn", "backend\u200bconn"), "holds the invisible character '\\u200b'"),
    (CONNECTOR.replace("us-central1", "us-central1-a"), "location 'us-central1-a' is a zone: write its region, "
                                                         "us-central1"),
])
def test_a_pause_of_a_name_google_never_writes_is_rejected_whatever_vpc_access_answers(target, said,
                                                                                      vpcaccess_answers):
    """`pause` takes a connector no policy names on its word unless VPC Access says NOT_FOUND; what it
    answers for a malformed name is not documented. Under any other answer (INVALID_ARGUMENT, or
    PERMISSION_DENIED for a project Runwarden cannot read) "Backend-Conn" was paused, `applied`, while
    backend-conn stayed writable. Refused from its form, before any read, under every reading."""
    import grpc

    from shared.remediation.guardrails import pause_key
    from shared.remediation.records import FLAGS

    w = world()
    if vpcaccess_answers:
        w.standins.vpcaccess.faults.fail_next(10, getattr(grpc.StatusCode, vpcaccess_answers), method="GetConnector")
    outcome = send(w, "pause", "p-case", target=target)
    assert outcome.status is OutcomeStatus.REJECTED, outcome.reason
    assert outcome.reason.startswith("malformed command: command.target: ") and said in outcome.reason, outcome.reason
    assert w.state.get_record(FLAGS, pause_key(target)) is None


@pytest.mark.parametrize("target, said", [
    (SERVICE + " ", f"holds a space (character {len(SERVICE) + 1}), which no Google resource name holds: "
                    f"write '{SERVICE}'"),
    (SERVICE.replace("backend", "Backend"), f"holds capital letters: Google writes resource names in lowercase, "
                                            f"'{SERVICE}'"),
    (SERVICE.replace("backend", "backend-"), "'backend-' is not a service id as the API writes it"),
    # Only a trailing slash or the spaces around it keep it from its form: said, not "not a full service name".
    (SERVICE + "/", f"ends with '/': write '{SERVICE}'"),
    (" " + SERVICE, f"has spaces around it: write '{SERVICE}'"),
])
def test_a_write_to_a_name_google_never_writes_says_what_is_wrong_with_it_not_that_it_is_unmanaged(target, said):
    """Answered "… backend  is not in the inventory (the inventory has …/backend)", the two names looked
    the same in a terminal: the operator under pressure is told what to fix instead."""
    w = world()
    outcome = send(w, "rollback_traffic", "rb-space", target=target, params={"revision": OLD})
    assert outcome.status is OutcomeStatus.REJECTED, outcome.reason
    assert outcome.reason.startswith("malformed command: command.target: ") and said in outcome.reason, outcome.reason
    assert w.standins.run.count("UpdateService") == 0


@pytest.mark.parametrize("fields", [
    {"reason": "x" * 70_000},                                              # past 64 KiB
    {"params": {"revision": OLD, "percent": 50}},                           # an unknown param
    {"target": SERVICE + " "},                                              # a name Google never writes
])
def test_a_malformed_commands_rejected_step_carries_its_command_id_when_readable(fields, capsys):
    """The outcome names the command_id, so the waiting CLI hears it; the `rejected` step did not, and the
    steps the CLI says to read (`jsonPayload.runwarden.command_id="…"`) found nothing of it."""
    w = world()
    capsys.readouterr()
    body = {"command": "rollback_traffic", "command_id": "rb-bad", "requested_by": OPERATOR, "reason": "INC-7",
            "target": SERVICE, **fields}
    outcome = deliver(w, json.dumps(body).encode())
    assert outcome.status is OutcomeStatus.REJECTED and outcome.command_id == "rb-bad", outcome.reason
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    rejected = [line for line in lines if line["runwarden"].get("step") == "rejected"]
    assert rejected and all(line["runwarden"]["command_id"] == "rb-bad" for line in rejected), rejected


@pytest.mark.parametrize("state, said", [
    ("UPDATING", "is UPDATING (VPC Access: \"The connector is being updated\"): nothing written; another change of "
                 "it is under way, and it is scaled only once READY: see it with runwarden status --target"),
    ("CREATING", "is CREATING (VPC Access: \"An Insert operation is in progress."),
    ("ERROR", "is ERROR (VPC Access: \"Connector is in a bad state, manual deletion recommended\"): nothing "
              "written; it cannot be scaled in that state"),
])
def test_a_scale_of_a_connector_not_ready_is_held_back_saying_why_and_its_dry_run_agrees(state, said):
    """Answered "… is UPDATING: only a READY connector can be updated", a rule of no cited source that
    said neither what the state means nor what to do; the dry run answers what the real run does."""
    answers = []
    for dry_run in (False, True):
        w = world("connector_saturation", bounds={"connectors": [{"name": CONNECTOR}]})
        w.standins.vpcaccess.set_state(CONNECTOR, state)
        outcome = send(w, "scale_connector", f"sc-{dry_run}", target=CONNECTOR, params={"max_instances": 6},
                       dry_run=dry_run)
        assert outcome.status is OutcomeStatus.SKIPPED and said in outcome.reason, outcome.reason
        assert patches(w) == 0
        answers.append((outcome.status, outcome.reason))
    assert answers[0] == answers[1]


def test_a_command_sent_as_attributes_is_rejected_saying_the_body_is_read():
    w = world()
    data = event(b"", "m-attrs")
    data["message"]["attributes"] = {"command": "status", "command_id": "st-1", "requested_by": OPERATOR}
    [outcome] = handle_command(data, w.config, w.adapters)
    assert outcome.status is OutcomeStatus.REJECTED
    assert outcome.reason.startswith("malformed command: message.data: is required") and "not read" in outcome.reason \
        and "command, command_id, requested_by" in outcome.reason, outcome.reason


def test_a_resend_of_a_command_the_kill_switch_held_back_says_a_new_id_runs_it():
    w = world()
    send(w, "pause", "p-all")
    body = {"target": SERVICE, "params": {"revision": OLD}}
    assert send(w, "rollback_traffic", "rb-5", **body).status is OutcomeStatus.SKIPPED
    send(w, "resume", "r-all")
    again = send(w, "rollback_traffic", "rb-5", **body)
    assert again.status is OutcomeStatus.SKIPPED and again.reason.startswith("duplicate: command rb-5")
    assert again.reason.endswith("to run it again, send it with a new command_id"), again.reason
    assert w.standins.run.count("UpdateService") == 0
    assert send(w, "rollback_traffic", "rb-6", **body).status is OutcomeStatus.APPLIED


def test_a_resume_of_a_target_never_paused_names_what_is_paused():
    """A misspelt resume answered "… resumed: writes allowed again (it already was)" while the
    connector meant stayed paused."""
    w = world()
    assert send(w, "pause", "p-1", target=CONNECTOR).status is OutcomeStatus.APPLIED
    typo = CONNECTOR[:-1]
    answer = send(w, "resume", "r-1", target=typo)
    assert answer.status is OutcomeStatus.APPLIED
    assert answer.reason.endswith(f"(no pause of it was ever held; paused now: {CONNECTOR})"), answer.reason


def test_a_restore_naming_no_recorded_action_lists_the_services_rollbacks():
    """"no recorded action x" alone sent the operator digging through outcomes for the key."""
    w = world()
    assert send(w, "restore_traffic", "r-0", target=SERVICE, params={"action_id": "x"}).reason == (
        "params.action_id: no recorded action x (the service has no recorded rollback: to release a pin, send "
        "to_latest: true)")
    rolled = send(w, "rollback_traffic", "rb-1", target=SERVICE, params={"revision": OLD})
    assert rolled.status is OutcomeStatus.APPLIED, rolled.reason
    answer = send(w, "restore_traffic", "r-1", target=SERVICE, params={"action_id": rolled.action.action_id[:-3]})
    assert answer.status is OutcomeStatus.REJECTED
    assert f"(the service's recorded rollbacks, newest first: {rolled.action.action_id} (pending" in answer.reason, \
        answer.reason
    assert w.standins.run.count("UpdateService") == 1


def test_a_restore_of_a_split_naming_a_revision_deleted_since_is_rejected_before_any_write():
    """The split recorded before a rollback named backend-00002-xyz, deleted since (or no longer Ready). Sent
    to Cloud Run, the update's operation failed and left the service's desired traffic set to that failed
    split (`failed`, after a write): the restore is refused naming the revision and the ways on, as a
    rollback to a missing revision is, and nothing is written."""
    new = "backend-00002-xyz"
    w = world()
    rolled = send(w, "rollback_traffic", "rb-2", target=SERVICE, params={"revision": OLD})
    assert rolled.status is OutcomeStatus.APPLIED, rolled.reason
    w.standins.run.delete_revision(SERVICE, new)
    answer = send(w, "restore_traffic", "rs-2", target=SERVICE, params={"action_id": rolled.action.action_id})
    assert answer.status is OutcomeStatus.REJECTED, answer.reason
    assert answer.reason.startswith("params.action_id: ") and new in answer.reason, answer.reason
    assert "to_latest: true" in answer.reason, answer.reason
    assert w.standins.run.count("UpdateService") == 1


def test_a_status_whose_lists_hold_more_than_it_reads_says_so(monkeypatch):
    """status reads each list up to a limit: "2 paused" when more are paused must not read as all."""
    from shared.commands import status
    from shared.remediation.records import FLAGS

    monkeypatch.setattr(status, "LIMIT", 2)
    w = world()
    for i in range(3):
        w.state.put_record(FLAGS, f"pause|t{i}", {"kind": "pause", "target": f"t{i}", "engaged": True, "by": OPERATOR,
                                                   "reason": "r", "at": w.clock.now(), "command_id": f"c{i}"})
    answer = send(w, "status", "st-1")
    assert answer.status is OutcomeStatus.REPORTED and answer.snapshot["more_than_shown"] == ["paused"], answer
    assert len(answer.snapshot["paused"]) == 2 and "more than 2 records each in paused" in answer.reason, answer.reason


def test_a_resume_says_when_writes_stay_off():
    """A target resumed while the kill switch is engaged, or the kill switch released while the config
    sets its own: "writes allowed again" was said, and the operator waited for automation that could
    not act. The answer now names what still holds writes back."""
    w = world()
    target = "projects/demo-project/locations/us-central1/services/backend"
    assert send(w, "pause", "p-all").status is OutcomeStatus.APPLIED
    assert send(w, "pause", "p-one", target=target).status is OutcomeStatus.APPLIED
    one = send(w, "resume", "r-one", target=target)
    assert one.status is OutcomeStatus.APPLIED and "still off: the kill switch is engaged" in one.reason, one.reason
    released = send(w, "resume", "r-all")
    assert "still off" not in released.reason, released.reason

    configured = world(guardrails={"kill_switch": True})
    released = send(configured, "resume", "r-all")
    assert "still off: the config sets guardrails.kill_switch: true" in released.reason, released.reason


def test_a_pause_of_a_service_holds_back_the_connector_scale_proposed_for_its_alert():
    """The gate held back only writes to the paused target itself: the service's own alert could still
    scale the connector it uses (here: approved and applied while the service was paused), and the
    pause's answer had to warn of it. An operator who pauses a service expects nothing done because of
    its alerts: the approve is held back now, its proposal left open for after the resume."""
    w, proposal_id = proposed()
    service = "projects/demo-project/locations/us-central1/services/backend"
    paused = send(w, "pause", "p-svc", target=service)
    assert paused.status is OutcomeStatus.APPLIED and "every write made for its alerts" in paused.reason, \
        paused.reason
    held = send(w, "approve", "ap-1", params={"proposal_id": proposal_id})
    assert held.status is OutcomeStatus.SKIPPED and patches(w) == 0, held.reason
    assert f"{service} paused by {OPERATOR}" in held.reason and f"the write to {CONNECTOR}" in held.reason, \
        held.reason
    assert send(w, "resume", "r-svc", target=service).status is OutcomeStatus.APPLIED
    approved = send(w, "approve", "ap-2", params={"proposal_id": proposal_id})
    assert approved.status is OutcomeStatus.APPLIED and patches(w) == 1, approved.reason


def test_a_diagnose_says_when_what_runwarden_would_do_is_held_back_now():
    """`diagnose` answered "Runwarden would roll back …" while the kill switch (or a pause of the
    service) would hold that write back: a person read it as what would happen. It now says so."""
    w = world()
    service = "projects/demo-project/locations/us-central1/services/backend"
    plain = send(w, "diagnose", "d-1", target=service)
    assert plain.status is OutcomeStatus.REPORTED and "Runwarden would" in plain.reason, plain.reason
    assert "would not write" not in plain.reason
    assert send(w, "pause", "p-1", target=service).status is OutcomeStatus.APPLIED
    held = send(w, "diagnose", "d-2", target=service)
    assert "but it would not write now: held by a pause (" in held.reason and "paused" in held.reason, held.reason


def test_a_reject_while_another_operators_approve_is_under_way_says_how_to_hold_it_back():
    """Bob's approve has moved the proposal to `approved` and is on its way to the write; Alice's reject
    was answered only "already approved by bob", though a pause of the target still stops that write
    (the gate checks the switches right before it writes). The answer now says so."""
    w, proposal_id = proposed()
    assert w.state.update_record(PROPOSALS, proposal_id, {"state": "approved", "decided_by": "bob@example.com",
                                                          "command_id": "ap-bob"}, expect={"state": "open"})
    answer = send(w, "reject", "rj-1", params={"proposal_id": proposal_id})
    assert answer.status is OutcomeStatus.REJECTED and "already approved by bob@example.com" in answer.reason
    assert f"runwarden pause --target {CONNECTOR}" in answer.reason, answer.reason


def in_flight(w: FastWorld, target: str = SERVICE, service: str = SERVICE, minutes_ago: float = 0.5,
              incident: str = "0.inflight") -> None:
    """An alert's rollback past the gate's last check: its plan stored (open), its write under way."""
    from datetime import timedelta

    from shared.remediation.guardrails import claim_key
    from shared.remediation.records import INTENTS, IntentRecord, IntentState
    intent = IntentRecord(incident_id=incident, message_id="17", owner="17:a", action="rollback_traffic",
                          claim_key=claim_key(incident, target, "rollback_traffic"), target=target,
                          service=service, noted_at=w.clock.now() - timedelta(minutes=minutes_ago),
                          state=IntentState.OPEN)
    w.state.put_record(INTENTS, intent.key, intent.model_dump(mode="python"))


@pytest.mark.parametrize("target", [None, SERVICE])
def test_a_pause_says_which_writes_it_cannot_stop_already_under_way(target):
    """A write past the gate's last check when the pause lands is sent all the same (a rollback waits
    on Cloud Run's operation for seconds): the answer said "no writes until resumed", and the operator
    who paused to stop it read that nothing more would change. The answer names the writes under way."""
    w = world()
    in_flight(w)
    fields = {"target": target} if target else {}
    paused = send(w, "pause", "pz-1", **fields)
    assert paused.status is OutcomeStatus.APPLIED, paused.reason
    assert "may already be under way" in paused.reason and "rollback_traffic" in paused.reason, paused.reason
    assert "0.inflight" in paused.reason


def test_a_pause_of_another_target_or_after_the_write_ended_names_no_write_under_way():
    w = world()
    in_flight(w, target=CONNECTOR, service=CONNECTOR)
    in_flight_old = world()
    in_flight(in_flight_old, minutes_ago=60)       # past every lease: the sweep's, not under way
    assert "under way" not in send(w, "pause", "pz-2", target=SERVICE).reason
    assert "under way" not in send(in_flight_old, "pause", "pz-3").reason


def undo_in_flight(w: FastWorld, minutes_ago: float = 0.5) -> str:
    """The sweep's undo of a rollback: its action record `undoing` since its decision, its write under way."""
    from datetime import timedelta

    from shared.remediation.records import ACTIONS, ActionRecord, ActionState
    now = w.clock.now()
    record = ActionRecord(key=f"0.undo|{SERVICE}|rollback_traffic", incident_id="0.undo", target=SERVICE,
                          service=SERVICE, action="rollback_traffic", signature="bad_revision", reversible=True,
                          state=ActionState.UNDOING, applied_at=now - timedelta(minutes=30),
                          settle_at=now - timedelta(minutes=25), deadline_at=now - timedelta(minutes=5),
                          resolved_at=now - timedelta(minutes=minutes_ago))
    w.state.put_record(ACTIONS, record.key, record.model_dump(mode="python"))
    return record.key


def restore_in_flight(w: FastWorld, minutes_ago: float = 0.5) -> None:
    """An operator's restore_traffic: its note on the pin stored before its write, the write under way."""
    from datetime import timedelta

    from shared.remediation.records import PINS, PinRecord, RestoreMark
    now = w.clock.now()
    mark = RestoreMark(command_id="rt-9", requested_by="carol@example.com", at=now - timedelta(minutes=minutes_ago),
                       traffic=[{"revision": "backend-00001", "percent": 100}])
    pin = PinRecord(service=SERVICE, revision="backend-00001", action_id="a-1", pinned_at=now - timedelta(hours=1))
    w.state.put_record(PINS, SERVICE, pin.model_dump(mode="python") | {"restoring": mark.stored()})


@pytest.mark.parametrize("target", [None, SERVICE])
def test_a_pause_names_a_corrective_restore_under_way(target):
    """A corrective restore_traffic (the sweep's undo, an operator's restore) stores no plan, so a pause
    that landed while one was being written answered as if no write were under way."""
    fields = {"target": target} if target else {}
    w = world()
    key = undo_in_flight(w)
    paused = send(w, "pause", "pz-u", **fields).reason
    assert "1 write(s) may already be under way" in paused and "the sweep's undo" in paused and key in paused, paused
    w = world()
    restore_in_flight(w)
    paused = send(w, "pause", "pz-r", **fields).reason
    assert "1 write(s) may already be under way" in paused and "command rt-9 by carol@example.com" in paused, paused


def test_a_pause_names_no_restore_that_ended_or_is_of_another_target():
    w = world()
    undo_in_flight(w, minutes_ago=60)
    restore_in_flight(w, minutes_ago=60)
    assert "under way" not in send(w, "pause", "pz-o").reason
    w = world()
    undo_in_flight(w)
    restore_in_flight(w)
    assert "under way" not in send(w, "pause", "pz-c", target=CONNECTOR).reason


def test_a_pause_says_when_more_plans_are_open_than_it_read():
    """It read at most 21 open plans, and a write under way past them went unnamed without a word."""
    w = world()
    for i in range(25):
        in_flight(w, incident=f"0.inflight-{i}")
    paused = send(w, "pause", "pz-m").reason
    assert "20 write(s) may already be under way" in paused, paused
    assert "more than 20 writes with a plan are open" in paused and "may not be named" in paused, paused


@pytest.mark.parametrize("attributes, field", [
    ({"target": SERVICE}, "target"),                 # the body releases the kill switch, not one target
    ({"command": "pause"}, "command"),
    ({"dry_run": "true"}, "dry_run"),
    ({"command_id": "rs-other"}, "command_id"),
])
def test_a_command_field_in_the_attributes_that_the_body_does_not_say_is_rejected_not_ignored(attributes, field):
    """`gcloud pubsub topics publish --message '{"command":"resume",...}' --attribute target=...`: the
    attributes are not read, so the resume released the kill switch itself rather than the one target
    the sender named (or ran for real a command whose attribute said dry_run). A field named in the
    attributes that the body does not say the same way is ambiguous: rejected, naming it, nothing run."""
    w = world()
    assert send(w, "pause", "pz-1").status is OutcomeStatus.APPLIED
    data = event(json.dumps({"command": "resume", "command_id": "rs-1", "requested_by": OPERATOR,
                             "reason": "r"}).encode(), "m-both")
    data["message"]["attributes"] = {"origin": "script", **attributes}
    [outcome] = handle_command(data, w.config, w.adapters)
    assert outcome.status is OutcomeStatus.REJECTED, outcome.reason
    assert f"message.attributes.{field}" in outcome.reason and "not read" in outcome.reason, outcome.reason
    assert "kill switch engaged" in send(w, "rollback_traffic", "rb-1", target=SERVICE,
                                         params={"revision": OLD}).reason      # still engaged


def test_attributes_that_repeat_the_body_or_name_no_command_field_are_fine():
    w = world()
    data = event(json.dumps({"command": "status", "command_id": "st-1", "requested_by": OPERATOR}).encode(), "m-ok")
    data["message"]["attributes"] = {"origin": "cloud-scheduler", "command": "status", "command_id": "st-1"}
    [outcome] = handle_command(data, w.config, w.adapters)
    assert outcome.status is OutcomeStatus.REPORTED, outcome.reason


def test_attributes_that_say_the_commands_defaults_or_the_same_time_are_fine():
    w = world()
    body = {"command": "pause", "command_id": "pz-9", "requested_by": OPERATOR, "reason": "r",
            "expires_at": "2026-11-26T13:00:00Z"}
    data = event(json.dumps(body).encode(), "m-defaults")
    data["message"]["attributes"] = {"schema": "runwarden.command/v1", "dry_run": "false",
                                     "expires_at": "2026-11-26T13:00:00+00:00", "params": "{}"}
    [outcome] = handle_command(data, w.config, w.adapters)
    assert outcome.status is OutcomeStatus.APPLIED, outcome.reason


@pytest.mark.parametrize("params", [{"max_instances": 3}, {"machine_type": "e2-micro"},
                                    {"max_instances": 3, "machine_type": "e2-micro"}])
def test_a_scale_to_what_the_connector_already_is_is_nothing_to_do_not_a_refusal(params):
    """A scale asking for exactly the connector as it is (e2-micro, 2-3: the same command sent again
    under a new id after its answer was lost, or by a second operator) was `rejected` as "outside
    bounds", exit 3 "the command itself was refused", while a rollback to the revision already serving
    and a restore of the split already serving are `skipped`, nothing to do (exit 5). Now the same."""
    w = world("connector_saturation", bounds={"connectors": [{"name": CONNECTOR}]})
    outcome = send(w, "scale_connector", "sc-same", target=CONNECTOR, params=params)
    assert outcome.status is OutcomeStatus.SKIPPED, outcome.reason
    assert "nothing to do" in outcome.reason and "e2-micro, 2-3 instances" in outcome.reason, outcome.reason
    assert patches(w) == 0
    lower = send(w, "scale_connector", "sc-low", target=CONNECTOR, params={"machine_type": "f1-micro"})
    assert lower.status is OutcomeStatus.REJECTED and "outside bounds" in lower.reason, lower.reason


def test_a_time_cut_sweep_says_what_it_left_in_its_heartbeat_and_in_a_manual_sweeps_answer(monkeypatch, capsys):
    """A sweep whose time ran out leaves the due items for the next one: the `swept` heartbeat and the
    answer to a person's sweep say how many, not only the `sweep_cut` line."""
    from datetime import timedelta

    from shared.remediation.sweep_budget import FUNCTION_TIMEOUT_ENV

    w = world()
    applied = w.handle(w.alert("bad_revision"))
    assert applied.status is OutcomeStatus.APPLIED, applied.reason
    w.clock.advance(timedelta(hours=2).total_seconds())     # its verification is due
    monkeypatch.setenv(FUNCTION_TIMEOUT_ENV, "1")            # shorter than one step: nothing may start
    capsys.readouterr()
    [answer] = handle_command(event(json.dumps({"command": "sweep", "command_id": "sw-cut", "requested_by": OPERATOR})
                                    .encode(), "m-sweep-cut"), w.config, w.adapters)
    assert answer.status is OutcomeStatus.REPORTED, answer
    assert "left for the next sweep (its time ran out): 1 action(s)" in answer.reason, answer.reason
    assert handle_command(event(b'{"command": "sweep"}', "m-cron-cut"), w.config, w.adapters) == []
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    swept = [line for line in lines if line["runwarden"]["step"] == "swept"]
    assert len(swept) == 2, swept
    for line in swept:
        assert "left for the next sweep (its time ran out): 1 action(s)" in line["message"], line
        assert line["runwarden"]["left"] == {"action(s)": 1}, line


def sent_at(w: FastWorld, name: str, command_id: str, published: str, **fields: Any):
    """A command whose Pub/Sub publish time is `published` (a redelivery keeps its message's)."""
    body = {"command": name, "command_id": command_id, "requested_by": OPERATOR, "reason": "INC-7", **fields}
    data = event(json.dumps(body).encode(), f"m-{next(_messages)}")
    data["message"]["publishTime"] = published
    [outcome] = handle_command(data, w.config, w.adapters)
    return outcome


@pytest.mark.parametrize("target", [None, SERVICE])
def test_a_resume_that_arrives_late_never_releases_a_pause_sent_after_it(target):
    """Pub/Sub delivers a message again after a failed attempt, with backoff and in no set order: a
    resume sent at 12:00 whose first delivery failed lands at 12:05 on the pause bob sent at 12:02.
    Written over it, bob's brake went, unseen by anyone who sent a command after it. The pause stands,
    the resume is `skipped` naming it, and a resume sent after the pause releases it."""
    w = world()
    where = {"target": target} if target else {}
    assert sent_at(w, "pause", "p-bob", "2026-11-26T12:02:00Z", **where).status is OutcomeStatus.APPLIED
    late = sent_at(w, "resume", "r-alice", "2026-11-26T12:00:00Z", **where)
    assert late.status is OutcomeStatus.SKIPPED, late.reason
    assert "not released" in late.reason and "p-bob" in late.reason and "sent before it" in late.reason, late.reason
    held = send(w, "rollback_traffic", "rb-late", target=SERVICE, params={"revision": OLD})
    assert held.status is OutcomeStatus.SKIPPED and w.standins.run.count("UpdateService") == 0, held.reason
    dry = sent_at(w, "resume", "r-dry", "2026-11-26T12:00:30Z", dry_run=True, **where)
    assert dry.status is OutcomeStatus.SKIPPED and "not released" in dry.reason, dry.reason

    assert sent_at(w, "resume", "r-now", "2026-11-26T12:03:00Z", **where).status is OutcomeStatus.APPLIED
    assert send(w, "rollback_traffic", "rb-now", target=SERVICE, params={"revision": OLD}).status \
        is OutcomeStatus.APPLIED


def test_a_pause_that_arrives_late_still_lands_after_a_resume_sent_later():
    """The other order keeps the brake: a pause is never held back by a resume sent after it."""
    w = world()
    assert sent_at(w, "resume", "r-1", "2026-11-26T12:02:00Z").status is OutcomeStatus.APPLIED
    assert sent_at(w, "pause", "p-1", "2026-11-26T12:00:00Z").status is OutcomeStatus.APPLIED
    held = send(w, "rollback_traffic", "rb-1", target=SERVICE, params={"revision": OLD})
    assert held.status is OutcomeStatus.SKIPPED and "kill switch" in held.reason, held.reason


def test_a_pause_landing_between_a_resumes_read_and_its_write_is_judged_not_overwritten(monkeypatch):
    """The resume's write is guarded on the flag it read: a pause sent after it that lands in between is
    read again and stands."""
    from datetime import datetime, timezone

    from shared.remediation.records import FLAGS, KILL_SWITCH

    w = world()
    assert sent_at(w, "pause", "p-1", "2026-11-26T12:00:00Z").status is OutcomeStatus.APPLIED
    real = w.state.get_record

    def read_then_bob_pauses(kind, key):
        found = real(kind, key)
        if kind == FLAGS and key == KILL_SWITCH and found and found.get("command_id") == "p-1":
            later = datetime(2026, 11, 26, 12, 2, tzinfo=timezone.utc)
            w.state.put_record(FLAGS, KILL_SWITCH, {**found, "command_id": "p-bob", "by": "bob@example.com",
                                                    "published_at": later})
        return found

    monkeypatch.setattr(w.state, "get_record", read_then_bob_pauses)
    late = sent_at(w, "resume", "r-1", "2026-11-26T12:01:00Z")
    assert late.status is OutcomeStatus.SKIPPED and "p-bob" in late.reason, late.reason
    assert real(FLAGS, KILL_SWITCH)["engaged"] is True


@pytest.mark.parametrize("since", [
    [("backend-00003-fix", 100)],                          # a fix deployed since, all traffic to it
    [("backend-00003-fix", 10), ("backend-00001-abc", 90)],  # a canary of it beside the rollback's revision
    [(None, 100)],                                         # the pin released by gcloud --to-latest
])
def test_a_restore_by_action_id_after_someone_moved_the_traffic_overwrites_nothing(since):
    """The rollback took backend off backend-00002-xyz; a person then deployed a fix and moved traffic to
    it. A restore of the rollback (sent late, or by someone who had not seen the deploy) put back the
    split from before it: all traffic to the revision rolled back, the fix overwritten, answered
    "applied: it undoes a change of Runwarden's". Now it is `skipped`, naming the change, nothing written;
    with the traffic as the rollback left it, the restore still applies."""
    from sandbox.standins.run import TrafficSeed

    w = world()
    rolled = send(w, "rollback_traffic", "rb-1", target=SERVICE, params={"revision": OLD})
    assert rolled.status is OutcomeStatus.APPLIED, rolled.reason
    w.standins.run.add_revision(SERVICE, "backend-00003-fix", w.clock.now())
    w.standins.run.set_traffic(SERVICE, [TrafficSeed(percent, revision) for revision, percent in since])
    writes = w.standins.run.count("UpdateService")

    late = send(w, "restore_traffic", "rs-1", target=SERVICE, params={"action_id": rolled.action.action_id})
    assert late.status is OutcomeStatus.SKIPPED, late.reason
    assert "no longer serves as the rollback left it" in late.reason and "would overwrite that change" in \
        late.reason and "nothing written" in late.reason, late.reason
    assert w.standins.run.count("UpdateService") == writes
    assert [(t.revision or None, t.percent) for t in w.standins.run.service(SERVICE).traffic] == since

    w.standins.run.set_traffic(SERVICE, [TrafficSeed(100, OLD)])   # back as the rollback left it
    undone = send(w, "restore_traffic", "rs-2", target=SERVICE, params={"action_id": rolled.action.action_id})
    assert undone.status is OutcomeStatus.APPLIED, undone.reason
    assert [(t.revision, t.percent) for t in w.standins.run.service(SERVICE).traffic] == [("backend-00002-xyz", 100)]


def test_a_change_landing_between_a_restores_check_and_its_write_is_not_written_over(monkeypatch):
    """The restore checks the service as the rollback left it, then writes on that read's etag (as the
    sweep's undo does): a person's change landing in between is refused by Cloud Run, not overwritten."""
    from sandbox.standins.run import TrafficSeed

    w = world()
    rolled = send(w, "rollback_traffic", "rb-1", target=SERVICE, params={"revision": OLD})
    assert rolled.status is OutcomeStatus.APPLIED, rolled.reason
    w.standins.run.add_revision(SERVICE, "backend-00003-fix", w.clock.now())
    real = w.adapters.run.set_traffic

    def a_deploy_first(service, traffic, etag):
        w.standins.run.set_traffic(SERVICE, [TrafficSeed(100, "backend-00003-fix")])
        return real(service, traffic, etag)

    monkeypatch.setattr(w.adapters.run, "set_traffic", a_deploy_first)
    answer = send(w, "restore_traffic", "rs-1", target=SERVICE, params={"action_id": rolled.action.action_id})
    assert answer.status is OutcomeStatus.ESCALATED and "changed after it was read" in answer.reason \
        and "nothing written" in answer.reason, answer.reason
    assert [(t.revision, t.percent) for t in w.standins.run.service(SERVICE).traffic] == [("backend-00003-fix", 100)]


def test_a_write_that_arrives_hours_after_it_was_sent_is_rejected_unless_its_sender_bounded_it():
    """A rollback sent at 10:00 during an incident, held in a backlog (an endpoint failing for hours) and
    delivered at 12:02, pinned the service over whatever was deployed since. By its publish_time it is now
    `rejected`, nothing written; an expires_at of the sender's own decides instead, a pause (a brake) is
    taken however late, and one within the bound runs."""
    w = world()
    body = {"target": SERVICE, "params": {"revision": OLD}}
    late = sent_at(w, "rollback_traffic", "rb-late", "2026-11-26T10:00:00Z", **body)
    assert late.status is OutcomeStatus.REJECTED, late.reason
    assert late.reason.startswith("publish_time: the command was sent at 2026-11-26T10:00:00+00:00") and \
        "2.0 h later" in late.reason and "guardrails.command_max_age_seconds" in late.reason, late.reason
    assert w.standins.run.count("UpdateService") == 0
    for name, fields in (("resume", {}), ("restore_traffic", {"target": SERVICE, "params": {"to_latest": True}})):
        assert sent_at(w, name, f"{name}-late", "2026-11-26T10:00:00Z", **fields).status is OutcomeStatus.REJECTED

    assert sent_at(w, "pause", "p-late", "2026-11-26T10:00:00Z").status is OutcomeStatus.APPLIED
    assert sent_at(w, "resume", "r-now", "2026-11-26T12:01:00Z").status is OutcomeStatus.APPLIED
    bounded = sent_at(w, "rollback_traffic", "rb-bounded", "2026-11-26T10:00:00Z",
                      expires_at="2026-11-26T13:00:00Z", **body)
    assert bounded.status is OutcomeStatus.APPLIED, bounded.reason


def test_a_late_resend_of_a_write_that_ran_is_its_duplicate_not_a_rejection():
    """The bound holds back a command never handled; one that ran is answered as a duplicate however late."""
    from datetime import timedelta

    w = world()
    body = {"target": SERVICE, "params": {"revision": OLD}}
    first = sent_at(w, "rollback_traffic", "rb-1", "2026-11-26T11:30:00Z", **body)
    assert first.status is OutcomeStatus.APPLIED, first.reason
    w.clock.set(w.clock.now() + timedelta(hours=1))    # the same message delivered again an hour on
    again = sent_at(w, "rollback_traffic", "rb-1", "2026-11-26T11:30:00Z", **body)
    assert again.status is OutcomeStatus.SKIPPED and again.reason.startswith("duplicate: command rb-1"), again.reason


@pytest.mark.parametrize("name, fields", [
    ("pause", {}),
    ("pause", {"target": SERVICE}),
    ("reject", {"params": {"proposal_id": "p-0123456789ab"}}),
])
def test_a_command_replayed_after_its_record_lapsed_is_rejected_not_run_again(name, fields):
    """A subscription keeps, and a seek replays, a message for up to 31 days; a command's record is kept
    30. A pause answered, then resumed, and replayed a month on found no record and ran as new (as a
    lapsed idempotency record is taken): the kill switch engaged again, stopping every write. Now it is
    rejected by its publish_time, nothing written; within the record it is its duplicate, as before."""
    from datetime import timedelta

    from shared.remediation.guardrails import pause_key
    from shared.remediation.records import FLAGS, KILL_SWITCH

    w = world()
    published = "2026-11-26T12:01:00Z"
    first = sent_at(w, name, "c-old", published, **fields)
    if name == "pause":
        assert first.status is OutcomeStatus.APPLIED, first.reason
        assert sent_at(w, "resume", "r-1", "2026-11-26T12:01:30Z", **fields).status is OutcomeStatus.APPLIED
    w.clock.set(w.clock.now() + timedelta(days=29))
    within = sent_at(w, name, "c-old", published, **fields)
    assert within.status is not OutcomeStatus.APPLIED and within.reason.startswith("duplicate: command c-old"), \
        within.reason
    w.clock.set(w.clock.now() + timedelta(days=2))      # 31 days on: the record has lapsed
    replayed = sent_at(w, name, "c-old", published, **fields)
    assert replayed.status is OutcomeStatus.REJECTED, replayed.reason
    assert replayed.reason.startswith("publish_time: the command was sent at 2026-11-26T12:01:00+00:00") and \
        "31 days later: longer than a command's record is kept (30 days)" in replayed.reason, replayed.reason
    flag = w.state.get_record(FLAGS, pause_key(SERVICE) if fields.get("target") else KILL_SWITCH) or {}
    assert not flag.get("engaged")
    # Still wanted, it is sent again under a new id, as the answer says: it runs.
    if name == "pause":
        again = sent_at(w, name, "c-new", w.clock.now().isoformat(), **fields)
        assert again.status is OutcomeStatus.APPLIED, again.reason


def _during_first_call(adapter: Any, method: str, send_meanwhile: Any) -> list[Any]:
    """`send_meanwhile()` run once, as `adapter.method`'s first call is about to be sent: another
    terminal's command (or an alert) landing while the first write is in flight."""
    real, box = getattr(adapter, method), []

    def in_flight(*args: Any, **kwargs: Any) -> Any:
        if not box:
            box.append(None)
            box[0] = send_meanwhile()
        return real(*args, **kwargs)

    setattr(adapter, method, in_flight)
    return box


def test_an_override_never_writes_over_a_scale_still_in_flight():
    """Two on-call engineers scale the saturated connector within a second, both with override_limits (the
    cooldown stood in the way). The second's gate ran while the first's PATCH was being sent: the
    override set the cooldown aside, and VPC Access's update carries no etag, so both were sent, the
    first answered `failed` ("can only be increased") or, the other way round, written over. Now the
    second is `skipped`, naming the first (its command and requester), nothing sent; once the first has
    ended, an override goes ahead as before."""
    w = world("connector_saturation", bounds={"connectors": [{"name": CONNECTOR}]})
    second = _during_first_call(w.adapters.vpcaccess, "update_connector", lambda: send(
        w, "scale_connector", "sc-bob", target=CONNECTOR, params={"max_instances": 6}, override_limits=True))
    first = send(w, "scale_connector", "sc-alice", target=CONNECTOR, params={"max_instances": 5},
                 override_limits=True)
    assert first.status is OutcomeStatus.APPLIED, first.reason
    [held] = second
    assert held.status is OutcomeStatus.SKIPPED, held.reason
    assert "under way" in held.reason and "command sc-alice" in held.reason and "nothing was written" in held.reason
    assert patches(w) == 1
    later = send(w, "scale_connector", "sc-bob-2", target=CONNECTOR, params={"max_instances": 6}, override_limits=True)
    assert later.status is OutcomeStatus.APPLIED and patches(w) == 2, later.reason


def test_an_override_sent_while_an_alerts_rollback_is_in_flight_holds_back_and_the_alert_stands():
    """An operator's rollback with override_limits lands while the alert's own rollback of the same service
    is being sent: it was sent too, and Cloud Run refused the alert's (its etag had changed), which was
    then escalated to a person for a change that was the operator's. Now the override holds back, naming
    the alert's write, and the alert's rollback is applied, once."""
    w = world()
    command = _during_first_call(w.adapters.run, "set_traffic", lambda: send(
        w, "rollback_traffic", "rb-late", target=SERVICE, params={"revision": OLD}, override_limits=True))
    alert = w.handle(w.alert("bad_revision"))
    assert alert.status is OutcomeStatus.APPLIED, alert.reason
    [held] = command
    assert held.status is OutcomeStatus.SKIPPED and "under way" in held.reason, held.reason
    assert f"incident {alert.incident_id}" in held.reason, held.reason
    assert w.standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("ahead_seconds, age_seconds, runs", [
    (270, 60, True),      # sent a minute ago, read 5.5 min old by a clock 4.5 min ahead: within the bound
    (0, 299, True),       # within the bound by any clock
    (0, 599, True),       # past it by less than the skew allowance: it may be within it by Pub/Sub's clock
    (0, 601, False),      # past it by more than the allowance: older than the bound by any clock
    (-270, 901, False),   # a clock behind reads it younger than it is; still past the bound by more
])
def test_the_age_bound_never_rejects_a_command_within_it_by_an_instance_clock_running_ahead(
        ahead_seconds, age_seconds, runs):
    """`command_max_age_seconds` compared Pub/Sub's publish_time with this instance's clock: with the
    bound at its least (300 s) and an instance's clock minutes ahead (the clock-skew drill), a rollback
    sent a minute ago read as older than the bound and was rejected, and so was every resend of it, on
    that instance. It is now rejected only when past the bound by more than the skew every lease
    allows for (shared/clock.py CLOCK_SKEW_ALLOWANCE); one past that is rejected however the clocks
    stand."""
    from datetime import timedelta

    w = world(guardrails={"command_max_age_seconds": 300})
    sent = w.clock.now() - timedelta(seconds=age_seconds)
    w.clock.set(w.clock.now() + timedelta(seconds=ahead_seconds))
    answer = sent_at(w, "rollback_traffic", "rb-skew", sent.isoformat().replace("+00:00", "Z"), target=SERVICE,
                     params={"revision": OLD})
    if runs:
        assert answer.status is OutcomeStatus.APPLIED, answer.reason
    else:
        assert answer.status is OutcomeStatus.REJECTED and answer.reason.startswith("publish_time:"), answer.reason
        assert "allowed for clock skew" in answer.reason and w.standins.run.count("UpdateService") == 0


@pytest.mark.parametrize("published_by", ["resend", "sweep"])
def test_a_pause_answer_published_late_says_a_resume_released_it_since(published_by):
    """alice pauses the service; her answer's publish fails, and before it reaches her bob resumes it. The
    answer kept with her command is published later, by her resend or by the sweep, as made: "paused: no
    writes until resumed", while writes run. It now carries a note naming bob's resume; the answer itself
    stays as made (the same outcome_id), and an answer whose flag still stands carries none."""
    from datetime import timedelta

    from shared.errors import TransientError
    from shared.remediation.records import COMMANDS

    w = world()
    body = {"command": "pause", "command_id": "p-alice", "requested_by": OPERATOR, "reason": "migration",
            "target": SERVICE}
    message = event(json.dumps(body).encode(), "m-pause-alice")
    w.adapters.publisher.fail_next(1)
    with pytest.raises(TransientError):
        handle_command(message, w.config, w.adapters)
    resumed = deliver(w, json.dumps({"command": "resume", "command_id": "r-bob", "requested_by": "bob@example.com",
                                     "reason": "migration done", "target": SERVICE}).encode())
    assert resumed.status is OutcomeStatus.APPLIED, resumed.reason

    if published_by == "resend":
        [late] = handle_command(message, w.config, w.adapters)
    else:
        w.clock.advance(timedelta(hours=1).total_seconds())     # past the delivery's hold: dead-lettered
        outcomes = handle_command(event(b'{"command": "sweep"}', "m-sweep-late"), w.config, w.adapters)
        [late] = [o for o in outcomes if o.command_id == "p-alice"]
    assert late.status is OutcomeStatus.APPLIED and "no writes until resumed" in late.reason, late.reason
    assert late.outcome_id == w.state.get(COMMANDS, "p-alice").result["outcome_id"]
    [note] = [n for n in late.notes if n.startswith("since this pause was answered")]
    assert "resumed by bob@example.com (migration done; command r-bob" in note and "no longer holds" in note, note


def test_a_pause_delivered_after_a_resume_sent_after_it_says_so():
    """A pause sent at 12:00 whose first delivery failed lands at 12:05, after a resume sent at 12:02 released
    the target. The brake engages all the same; its answer now says that it overrides that later resume."""
    w = world()
    assert sent_at(w, "resume", "r-bob", "2026-11-26T12:02:00Z", target=SERVICE).status is OutcomeStatus.APPLIED
    late = sent_at(w, "pause", "p-alice", "2026-11-26T12:00:00Z", target=SERVICE)
    assert late.status is OutcomeStatus.APPLIED, late.reason
    assert "after a resume sent after it had released it" in late.reason and "command r-bob" in late.reason, late.reason
    assert "resume again to release it" in late.reason
    on_time = sent_at(w, "pause", "p-carol", "2026-11-26T12:03:00Z", target=SERVICE)
    assert "after a resume" not in on_time.reason, on_time.reason


def test_an_approve_with_override_racing_a_scale_in_flight_holds_back_and_its_proposal_stays_open():
    """An operator approves the proposal with override_limits while another's scale of the same connector is
    being sent: the approve writes nothing, names that scale, and its proposal stays open for after it."""
    w, proposal_id = proposed()
    approve = _during_first_call(w.adapters.vpcaccess, "update_connector", lambda: send(
        w, "approve", "ap-race", params={"proposal_id": proposal_id}, override_limits=True))
    scaled = send(w, "scale_connector", "sc-first", target=CONNECTOR, params={"max_instances": 5})
    assert scaled.status is OutcomeStatus.APPLIED, scaled.reason
    [held] = approve
    assert held.status is OutcomeStatus.SKIPPED and "command sc-first" in held.reason, held.reason
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "open" and patches(w) == 1


def test_the_same_rollback_from_two_terminals_is_written_once_and_the_second_names_the_first():
    """Two engineers send the same rollback within a second, under two command_ids. The second is held by
    the cooldown the first took; its answer said only "acted on at …", and its sender could not tell that
    the write under way was the colleague's same rollback. It now names it (command, requester); one
    write is made."""
    w = world()
    second = _during_first_call(w.adapters.run, "set_traffic", lambda: deliver(w, json.dumps({
        "command": "rollback_traffic", "command_id": "rb-bob", "requested_by": "bob@example.com", "reason": "INC-7",
        "target": SERVICE, "params": {"revision": OLD}}).encode()))
    first = send(w, "rollback_traffic", "rb-alice", target=SERVICE, params={"revision": OLD})
    assert first.status is OutcomeStatus.APPLIED, first.reason
    [held] = second
    assert held.status is OutcomeStatus.SKIPPED and held.reason.startswith("cooldown:"), held.reason
    assert "under way now: rollback_traffic on" in held.reason and "command rb-alice by alice@example.com" in \
        held.reason, held.reason
    assert w.standins.run.count("UpdateService") == 1


def test_a_resend_of_a_pause_a_later_resume_released_quotes_it_and_says_so():
    """alice's pause was answered; bob resumed the service; alice, unsure her pause went through, sends it
    again with the same command_id. The duplicate quoted "paused: no writes until resumed" and no more;
    it now says bob's resume released it since. With the pause still standing, no such note."""
    w = world()
    assert send(w, "pause", "p-alice", target=SERVICE).status is OutcomeStatus.APPLIED
    again = send(w, "pause", "p-alice", target=SERVICE)
    assert again.status is OutcomeStatus.SKIPPED and not [n for n in again.notes if n.startswith("since")], again.notes
    assert deliver(w, json.dumps({"command": "resume", "command_id": "r-bob", "requested_by": "bob@example.com",
                                  "reason": "done", "target": SERVICE}).encode()).status is OutcomeStatus.APPLIED
    late = send(w, "pause", "p-alice", target=SERVICE)
    assert late.status is OutcomeStatus.SKIPPED and late.reason.startswith("duplicate: command p-alice"), late.reason
    [note] = [n for n in late.notes if n.startswith("since this pause was answered")]
    assert "resumed by bob@example.com (done; command r-bob" in note and "no longer holds" in note, note


FAILED_PROBE = ("The user-provided container failed the configured startup probe checks.")


@pytest.mark.parametrize("ready, said", [
    (ConditionSeed("Ready", "CONDITION_FAILED", "HEALTH_CHECK_CONTAINER_ERROR", FAILED_PROBE),
     f"failed to become Ready (HEALTH_CHECK_CONTAINER_ERROR: {FAILED_PROBE})"),
    (ConditionSeed("Ready", "CONDITION_RECONCILING", "", "Deploying revision."),
     "is not Ready yet (CONDITION_RECONCILING: Deploying revision.)"),
])
def test_a_release_of_latest_whose_newest_revision_never_served_says_what_the_service_shows(ready, said):
    """Answered "already sends all traffic to the latest revision: no pin to release" off the desired
    split alone, while the newest revision's rollout had failed and LATEST still served the one before:
    the operator read that the latest revision served."""
    w = world()
    w.standins.run.set_traffic(SERVICE, [TrafficSeed(100)])
    new = "backend-00003-qrs"
    w.standins.run.add_revision(SERVICE, new, ANCHOR - timedelta(minutes=2), conditions=(ready,))
    writes = w.standins.run.count("UpdateService")
    outcome = send(w, "restore_traffic", "rt-latest", target=SERVICE, params={"to_latest": True})
    assert outcome.status is OutcomeStatus.SKIPPED, outcome.reason
    assert (f"its newest revision {new} (latest_created_revision) {said}" in outcome.reason
            and "LATEST serves backend-00002-xyz (latest_ready_revision)" in outcome.reason
            and f"writing LATEST again would not serve {new}" in outcome.reason), outcome.reason
    assert w.standins.run.count("UpdateService") == writes


def test_a_release_of_latest_that_serves_the_newest_revision_says_only_no_pin():
    w = world()
    w.standins.run.set_traffic(SERVICE, [TrafficSeed(100)])
    outcome = send(w, "restore_traffic", "rt-latest", target=SERVICE, params={"to_latest": True})
    assert outcome.status is OutcomeStatus.SKIPPED and outcome.reason.endswith(
        "already sends all traffic to LATEST: no pin to release, nothing written"), outcome.reason


# What a write held back says: which brake, that this command wrote nothing, what would have changed, and how
# to go on. "dry-run: everything but the write" and "kill switch engaged: no writes" alone left the sender to
# guess whether anything changed, whose dry run it was (their flag, or the config's mode) and whether
# resending the same command would run it (a resend of the id only repeats its first answer).
_WRITES = {
    "rollback": ("bad_revision", "rollback_traffic", {"target": SERVICE, "params": {"revision": OLD}},
                 "backend-00001-abc: absent -> 100%"),
    "restore": ("bad_revision", "restore_traffic", {"target": SERVICE, "params": {"to_latest": True}},
                "LATEST: absent -> 100%"),
    "scale": ("connector_saturation", "scale_connector", {"target": CONNECTOR, "params": {"max_instances": 6}},
              "max_instances: 3 -> 6"),
}


@pytest.mark.parametrize("write", _WRITES)
@pytest.mark.parametrize("brake, status, said", [
    ("dry_run", "dry_run", ["dry-run (asked by this command's dry_run: true): nothing written",
                            "it would change: "]),
    ("config", "dry_run", ["dry-run (the config's mode is dry_run): nothing written", "it would change: "]),
    ("kill", "skipped", ["kill switch engaged", "this {command} wrote nothing: once resumed, send it again with a "
                         "new command_id (a resend under command_id {id} only repeats this answer)"]),
])
def test_a_write_held_back_says_plainly_that_nothing_was_written_and_why(write, brake, status, said):
    scenario, name, fields, change = _WRITES[write]
    w = world(scenario, bounds={"connectors": [{"name": CONNECTOR}]}, **({"mode": "dry_run"} if brake == "config" else {}))
    if brake == "kill":
        assert send(w, "pause", "pz-1").status is OutcomeStatus.APPLIED
    outcome = send(w, name, "w-1", **fields, **({"dry_run": True} if brake == "dry_run" else {}))
    assert outcome.status.value == status, outcome.reason
    for words in said:
        assert words.format(command=name, id="w-1") in outcome.reason, outcome.reason
    if status == "dry_run":
        assert change in outcome.reason, outcome.reason
    assert w.standins.run.count("UpdateService") == 0 and patches(w) == 0


@pytest.mark.parametrize("brake, said", [
    ("dry_run", "dry-run (asked by this command's dry_run: true): nothing written"),
    ("config", "dry-run (the config's mode is dry_run): nothing written"),
])
def test_an_approve_run_dry_says_nothing_was_written_and_the_proposal_stays_open(brake, said):
    w, proposal_id = proposed()
    if brake == "config":
        w.config = w.config.model_copy(update={"mode": Mode.DRY_RUN})
    outcome = send(w, "approve", "ap-d", params={"proposal_id": proposal_id},
                   **({"dry_run": True} if brake == "dry_run" else {}))
    assert outcome.status is OutcomeStatus.DRY_RUN and said in outcome.reason, outcome.reason
    assert "it would change: machine_type: e2-micro -> " in outcome.reason and f"proposal {proposal_id} stays open" in \
        outcome.reason
    assert w.state.get_record(PROPOSALS, proposal_id)["state"] == "open" and patches(w) == 0


def test_a_resume_under_the_configs_dry_run_mode_does_not_say_writes_are_allowed_unqualified():
    w = world(mode="dry_run")
    assert send(w, "pause", "pz-c").status is OutcomeStatus.APPLIED
    resumed = send(w, "resume", "rs-c")
    assert resumed.status is OutcomeStatus.APPLIED, resumed.reason
    assert "but nothing is written to Google Cloud: the config's mode is dry_run" in resumed.reason, resumed.reason
