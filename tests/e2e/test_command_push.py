"""Operators' commands end to end: published on the commands topic, pushed by the Pub/Sub
emulator to functions-framework running the real main.py (on_command, and on_alert where an alert
starts the story), read back from the outcomes topic; writes counted at the stand-ins. The CLI is
run as a process against the same emulator."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from sandbox.emulators import EmulatorMissing
from sandbox.stack import COMMANDS_TOPIC, REPO_ROOT, Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]
SERVICE = "projects/demo-project/locations/us-central1/services/backend"
CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
OPERATOR = "alice@example.com"


def start(scenario: str, functions: tuple[str, ...] = ("on_command",), **config) -> Sandbox:
    anchor = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=2)
    try:
        box = Sandbox(scenario, anchor=anchor, config={"operators": [OPERATOR], **config}).start()
    except EmulatorMissing as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and an emulator is missing: {exc}", pytrace=False)
        pytest.skip(str(exc))
    for target in functions:
        box.start_function(target)
    return box


@pytest.fixture
def rollback_box():
    box = start("bad_revision")
    yield box
    box.stop()


@pytest.fixture
def proposal_box():
    box = start("connector_saturation", ("on_alert", "on_command"), bounds={"connectors": [{"name": CONNECTOR}]})
    yield box
    box.stop()


def send(box: Sandbox, name: str, requested_by: str = OPERATOR, **fields) -> dict:
    body = {"command": name, "command_id": fields.pop("command_id", uuid.uuid4().hex), "requested_by": requested_by,
            **fields}
    box.publish_command(body)
    # A slow delivery can be redelivered meanwhile; once the first result is known, the
    # redelivery answers with a `duplicate` outcome, which may arrive after the command's own.
    # Those late answers to earlier commands are passed over here.
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        for outcome in box.wait_outcomes(1, timeout=max(0.5, deadline - time.monotonic())):
            if outcome.body.get("command_id") == body["command_id"]:
                return outcome.body
    raise AssertionError(f"no outcome for {body}")


def updates(box: Sandbox) -> int:
    return box.standins.run.count("UpdateService")


def serving(box: Sandbox) -> dict[str, int]:
    return {t.revision: t.percent for t in box.standins.run.service(SERVICE).traffic_statuses}


def notify_lines(server, status: str, timeout: float = 5.0) -> list[dict]:
    deadline, found = time.monotonic() + timeout, []
    while time.monotonic() < deadline and not found:
        found += [line for line in server.timeline() if line.get("logging.googleapis.com/labels", {}).get(
            "runwarden_step") == "notify" and line["logging.googleapis.com/labels"].get("runwarden_status") == status]
        time.sleep(0.1)
    return found


def test_diagnose_rollback_duplicate_status_restore_and_refusals(rollback_box):
    box = rollback_box
    diagnosed = send(box, "diagnose", target=SERVICE)
    assert diagnosed["status"] == "reported" and diagnosed["diagnosis"]["signature"] == "bad_revision"

    dry = send(box, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r", dry_run=True)
    expired = send(box, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r",
                   expires_at=(datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat())
    unknown = send(box, "rollback_traffic", target=SERVICE, params={"revision": "backend-00007-zzz"}, reason="r")
    no_reason = send(box, "rollback_traffic", target=SERVICE, params={"revision": OLD})
    assert [dry["status"], expired["status"], unknown["status"], no_reason["status"]] == \
        ["dry_run", "rejected", "rejected", "rejected"]
    assert "params.revision" in unknown["reason"] and "command.reason" in no_reason["reason"]
    assert updates(box) == 0  # nothing reached Cloud Run for any of them

    rolled = send(box, "rollback_traffic", command_id="roll-1", target=SERVICE, params={"revision": OLD},
                  reason="bad deploy")
    assert rolled["status"] == "applied" and serving(box) == {OLD: 100}
    assert any("--region=us-central1 --project=demo-project" in n for n in rolled["notes"])
    again = send(box, "rollback_traffic", command_id="roll-1", target=SERVICE, params={"revision": OLD},
                 reason="bad deploy")
    assert again["status"] == "skipped" and "duplicate" in again["reason"] and updates(box) == 1

    status = send(box, "status")
    assert status["status"] == "reported" and [p["revision"] for p in status["snapshot"]["pinned"]] == [OLD]

    restored = send(box, "restore_traffic", target=SERVICE, params={"to_latest": True}, reason="fixed")
    assert restored["status"] == "applied" and serving(box) == {NEW: 100}
    assert updates(box) == 2


def test_a_notification_pushed_to_the_commands_topic_pages_as_a_rejected_alert(rollback_box):
    """A notification channel pointed at the commands topic: each alert, rejected as a malformed
    command, paged nobody. It is rejected as an alert, naming the topic it belongs on."""
    box = rollback_box
    notification = box.scenario.notification(box.anchor)
    box.publish_command(notification)

    [outcome] = box.wait_outcomes(1, timeout=45)
    body = outcome.body
    assert body["status"] == "rejected" and body["trigger"] == "alert", body["reason"]
    assert body["incident_id"] == notification["incident"]["incident_id"]
    assert "arrived on the commands topic" in body["reason"] and json.loads(body["received"]["data"]) == notification
    [line] = notify_lines(box.functions["on_command"], "rejected")
    assert "point the notification channel at the alerts topic" in line["message"]
    assert updates(box) == 0


def test_pause_resume_and_overrides(rollback_box):
    box = rollback_box
    assert send(box, "pause", reason="maintenance")["status"] == "applied"
    paused = send(box, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")
    assert paused["status"] == "skipped" and "kill switch" in paused["reason"] and updates(box) == 0
    assert send(box, "resume", reason="done")["status"] == "applied"

    assert send(box, "rollback_traffic", target=SERVICE, params={"revision": OLD}, reason="r")["status"] == "applied"
    by_someone = send(box, "rollback_traffic", requested_by="mallory@example.com", target=SERVICE,
                      params={"revision": NEW}, reason="r", override_limits=True)
    assert by_someone["status"] == "rejected" and "requested_by" in by_someone["reason"] and updates(box) == 1
    by_operator = send(box, "rollback_traffic", target=SERVICE, params={"revision": NEW}, reason="r",
                       override_limits=True)
    assert by_operator["status"] == "applied" and by_operator["action"]["overrides"] == ["cooldown", "budgets"]
    assert updates(box) == 2
    steps = [line for line in box.functions["on_command"].timeline() if line.get("runwarden", {}).get("override")]
    assert steps and all(line["runwarden"]["command_id"] == by_operator["command_id"] for line in steps)


def test_approve_a_proposal_after_a_non_operators_attempt(proposal_box):
    box = proposal_box
    box.publish_alert(box.scenario.notification(box.anchor))
    [proposed] = box.wait_outcomes(1, timeout=45)
    assert proposed.body["status"] == "proposed" and proposed.body["action"]["proposed_change"]
    proposal_id = proposed.body["action"]["proposal_id"]
    [line] = notify_lines(box.functions["on_alert"], "proposed")
    assert line["severity"] == "WARNING" and proposal_id in json.dumps(line)

    refused = send(box, "approve", requested_by="mallory@example.com", params={"proposal_id": proposal_id}, reason="x")
    assert refused["status"] == "rejected" and box.standins.vpcaccess.count("PatchConnector") == 0

    rehearsal = send(box, "reject", params={"proposal_id": proposal_id}, reason="rehearsal", dry_run=True)
    assert rehearsal["status"] == "dry_run"  # a dry-run reject leaves the proposal open

    approved = send(box, "approve", params={"proposal_id": proposal_id}, reason="saturated, agreed")
    assert approved["status"] == "applied", approved["reason"]
    assert box.standins.vpcaccess.connector(CONNECTOR)["machineType"] == "e2-standard-4"
    assert box.standins.vpcaccess.count("PatchConnector") == 1


def test_approve_after_the_world_changed_and_a_manual_scale(proposal_box):
    box = proposal_box
    box.publish_alert(box.scenario.notification(box.anchor))
    [proposed] = box.wait_outcomes(1, timeout=45)
    proposal_id = proposed.body["action"]["proposal_id"]

    manual = send(box, "scale_connector", target=CONNECTOR, params={"max_instances": 5}, reason="more room")
    assert manual["status"] == "applied" and box.standins.vpcaccess.connector(CONNECTOR)["maxInstances"] == 5

    stale = send(box, "approve", params={"proposal_id": proposal_id}, reason="ok")
    assert stale["status"] == "skipped" and "world changed" in stale["reason"]
    assert box.standins.vpcaccess.count("PatchConnector") == 1
    closed = send(box, "reject", params={"proposal_id": proposal_id}, reason="too late")
    assert closed["status"] == "rejected" and "already refused" in closed["reason"]


# --- the CLI, as a process, against the emulator with the function running --------------------------


def cli(box: Sandbox, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    env = {**os.environ, **box.pubsub.env(), "RUNWARDEN_CONFIG": str(box.config_path)}
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_cli_publishes_waits_prints_and_exits_by_outcome(rollback_box):
    box = rollback_box
    done = cli(box, "command", "rollback_traffic", "--target", SERVICE, "--param", f"revision={OLD}",
               "--reason", "bad deploy", "--as", OPERATOR, "--json")
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["status"] == "applied" and serving(box) == {OLD: 100}

    status = cli(box, "status", "--as", OPERATOR)
    assert status.returncode == 0 and "pinned: 1" in status.stdout and OLD in status.stdout

    refused = cli(box, "approve", "p-000000000000", "--reason", "x", "--as", "mallory@example.com")
    assert refused.returncode == 3 and "REJECTED" in refused.stdout

    box.functions["on_command"].stop()  # nobody answers now
    timed_out = cli(box, "pause", "--reason", "x", "--as", OPERATOR, "--wait", "3")
    assert timed_out.returncode == 4
    # Every short-lived subscription the CLI made is gone.
    subscriptions = box.pubsub.list_resources("subscriptions")
    assert not [s for s in subscriptions if "runwarden-cli-" in s]


def test_a_resend_after_the_commands_record_and_gate_claim_are_gone_is_a_duplicate_of_its_action(monkeypatch):
    """The command's record and the gate's claim deleted (as Firestore's TTL deletes lapsed ones),
    its intent and action record kept, the service redeployed since, no cooldown: the resend of the
    same command_id is answered as a duplicate of the recorded action, and Cloud Run is not written
    again (shared/commands/recovery.py)."""
    from sandbox.standins.run import TrafficSeed
    from shared.gcp.firestore import FirestoreStateStore
    from shared.remediation.guardrails import CLAIMS, claim_key, command_incident
    from shared.remediation.records import COMMANDS

    box = start("bad_revision", guardrails={"cooldown_seconds": 0})
    try:
        for key, value in box.firestore.env().items():
            monkeypatch.setenv(key, value)
        rolled = send(box, "rollback_traffic", command_id="roll-gone", target=SERVICE, params={"revision": OLD},
                      reason="bad deploy")
        assert rolled["status"] == "applied" and updates(box) == 1, rolled["reason"]
        state = FirestoreStateStore(box.project)
        assert state.get(COMMANDS, "roll-gone").expires_at > datetime.now(timezone.utc) + timedelta(days=29)
        gate_key = claim_key(command_incident("roll-gone"), SERVICE, "rollback_traffic")
        for kind, key in ((COMMANDS, "roll-gone"), (CLAIMS, gate_key)):
            state.release(kind, key, state.get(kind, key).owner)
        box.standins.run.add_revision(SERVICE, "backend-00003-new", datetime.now(timezone.utc))
        box.standins.run.set_traffic(SERVICE, [TrafficSeed(100, "backend-00003-new")])

        again = send(box, "rollback_traffic", command_id="roll-gone", target=SERVICE, params={"revision": OLD},
                     reason="bad deploy")
        assert again["status"] == "skipped" and "already made its change" in again["reason"], again["reason"]
        assert again["action"]["action_id"] == gate_key and updates(box) == 1
    finally:
        box.stop()


def test_a_command_sent_in_attributes_alone_is_answered_under_the_command_id_it_set(rollback_box):
    """`gcloud pubsub topics publish … --attribute command=rollback_traffic,command_id=…` without --message: the
    body is empty and attributes are not read as the command. Its refusal was published under no command_id, so
    a sender waiting on the outcomes' `command_id` attribute (as the CLI waits) never heard it."""
    box = rollback_box
    box.pubsub.publish(COMMANDS_TOPIC, b"", {"command": "rollback_traffic", "command_id": "attr-only-1",
                                             "requested_by": OPERATOR})
    [outcome] = box.wait_outcomes(1, timeout=45)
    assert outcome.body["status"] == "rejected" and outcome.body["command_id"] == "attr-only-1", outcome.body
    assert outcome.attributes.get("command_id") == "attr-only-1", outcome.attributes
    assert "only attributes" in outcome.body["reason"] and "answered under it" in outcome.body["reason"]
    assert updates(box) == 0


def test_an_array_of_commands_and_an_id_with_a_space_around_it_are_answered_under_the_ids_their_senders_wait_on(
        rollback_box):
    """Two commands pasted into one message as a JSON array: refused (one command per message), and answered under
    no command_id, so each sender waiting on the outcomes' `command_id` attribute (as the CLI waits) timed out. A
    command_id with a trailing space (a script's variable): refused, likewise under none. Now each is answered under
    the id meant, and nothing runs."""
    box = rollback_box
    array = [{"command": "rollback_traffic", "command_id": "arr-1", "requested_by": OPERATOR, "target": SERVICE,
              "params": {"revision": OLD}, "reason": "bad deploy"},
             {"command": "pause", "command_id": "arr-2", "requested_by": OPERATOR, "reason": "hold"}]
    box.pubsub.publish(COMMANDS_TOPIC, json.dumps(array).encode(), {})
    box.pubsub.publish(COMMANDS_TOPIC, json.dumps({"command": "pause", "command_id": "spaced-1 ", "reason": "hold",
                                                   "requested_by": OPERATOR}).encode(), {})
    answered: dict[str, dict] = {}
    deadline = time.monotonic() + 45
    while len(answered) < 3 and time.monotonic() < deadline:
        for outcome in box.wait_outcomes(1, timeout=max(0.5, deadline - time.monotonic())):
            answered[outcome.attributes.get("command_id", "")] = outcome.body
    assert sorted(answered) == ["arr-1", "arr-2", "spaced-1"], answered
    assert all(body["status"] == "rejected" for body in answered.values()), answered
    assert "one command per message" in answered["arr-1"]["reason"] and "arr-2" in answered["arr-1"]["reason"]
    assert "command_id 'spaced-1'" in answered["spaced-1"]["reason"], answered["spaced-1"]["reason"]
    assert updates(box) == 0
    assert "kill switch off" in send(box, "status")["reason"]   # the pauses were not run
