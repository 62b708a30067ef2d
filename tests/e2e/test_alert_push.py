"""End to end, shaped like production: the Pub/Sub emulator pushes alerts to functions-framework
running the real main.py; the function reads the stand-ins, claims in the Firestore emulator and
publishes its outcome, which the test reads from a subscription."""
from __future__ import annotations

import json
import threading
import time

import grpc
import pytest

from sandbox.stack import Sandbox
from sandbox.standins.run import RUNWARDEN_CALLER
from tests.e2e.live import live_sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]
SERVICE = "projects/demo-project/locations/us-central1/services/backend"


@pytest.fixture
def sandbox():
    box = live_sandbox("bad_revision")
    box.start_function()
    yield box
    box.stop()


def serving(box: Sandbox) -> dict[str, int]:
    return {t.revision: t.percent for t in box.standins.run.service(SERVICE).traffic_statuses}


def test_a_pushed_alert_rolls_back_and_publishes_the_outcome(sandbox):
    notification = sandbox.scenario.notification(sandbox.anchor)
    sandbox.publish_alert(notification)

    [outcome] = sandbox.wait_outcomes(1, timeout=45)

    assert outcome.body["status"] == "applied"
    assert outcome.body["incident_id"] == notification["incident"]["incident_id"]
    assert outcome.body["diagnosis"]["signature"] == "bad_revision"
    assert outcome.attributes == {"status": "applied", "signature": "bad_revision", "action": "rollback_traffic",
                                  "service": "backend", "schema": "runwarden.outcome/v1"}
    assert outcome.ordering_key == notification["incident"]["incident_id"]
    assert serving(sandbox) == {"backend-00001-abc": 100}

    steps = [line["runwarden"]["step"] for line in _timeline(sandbox, until="outcome_published")]
    assert steps == ["received", "diagnosed", "planned", "claimed", "applied", "outcome_published"]


def test_the_function_finds_the_principal_it_writes_as_the_way_a_deployed_one_does(sandbox):
    """The sandbox's writes are recorded as RunStandIn.caller's (Service.last_modifier); the function finds that
    account through the metadata server (GCE_METADATA_HOST, shared/gcp/identity.py), adds it to
    self_principals and names it on its lines (runwarden.principal), by which the timeline tells its own writes
    from a person's. Without it, its own rollback read as someone else's change."""
    sandbox.publish_alert(sandbox.scenario.notification(sandbox.anchor))
    [outcome] = sandbox.wait_outcomes(1, timeout=45)
    assert outcome.body["status"] == "applied", outcome.body["reason"]
    lines = _timeline(sandbox, until="outcome_published")
    assert lines and {line["runwarden"].get("principal") for line in lines} == {RUNWARDEN_CALLER}, lines
    assert sandbox.standins.run.service(SERVICE).last_modifier == RUNWARDEN_CALLER


def test_the_same_alert_published_five_times_acts_once(sandbox):
    body = json.dumps(sandbox.scenario.notification(sandbox.anchor)).encode()
    sandbox.publish_alert(body)
    publishers = [threading.Thread(target=sandbox.publish_alert, args=(body,)) for _ in range(4)]
    for t in publishers:  # four more, concurrently: Monitoring re-notifies, Pub/Sub redelivers
        t.start()
    for t in publishers:
        t.join()

    outcomes = sandbox.wait_outcomes(5, timeout=60)

    statuses = sorted(o.body["status"] for o in outcomes)
    assert statuses == ["applied", "skipped", "skipped", "skipped", "skipped"]
    assert all("duplicate" in o.body["reason"] for o in outcomes if o.body["status"] == "skipped")
    assert sandbox.standins.run.count("UpdateService") == 1
    assert serving(sandbox) == {"backend-00001-abc": 100}


def test_a_poison_message_is_rejected_once_and_not_redelivered(sandbox):
    sandbox.publish_alert(b"{this is not json")

    [outcome] = sandbox.wait_outcomes(1, timeout=30)
    assert outcome.body["status"] == "rejected"
    assert "message.data" in outcome.body["reason"]
    assert outcome.body["received"]["data"] == "{this is not json"   # what it said is not lost with it
    # A non-2xx answer would be redelivered about every second; a 2xx is not.
    assert sandbox.wait_outcomes(1, timeout=3) == []
    assert sandbox.standins.run.calls == []


def test_a_poison_message_delivered_again_after_its_2xx_pages_once(sandbox):
    """A push subscription delivers at least once, even after a 2xx (Pub/Sub, "Exactly-once
    delivery": push subscriptions do not support it). The emulator redelivers only non-2xx pushes,
    so the redelivery is the emulator's own push body sent again, as Pub/Sub would send it."""
    import base64
    import urllib.error
    import urllib.request

    from sandbox.stack import ALERTS_TOPIC

    sandbox.publish_alert(b"{this is not json")
    [first] = sandbox.wait_outcomes(1, timeout=30)
    received = first.body["received"]
    push = {"subscription": f"projects/{sandbox.project}/subscriptions/{ALERTS_TOPIC}-push",
            "message": {"data": base64.b64encode(received["data"].encode()).decode(),
                        "messageId": received["message_id"], "publishTime": received["publish_time"]}}
    request = urllib.request.Request(
        f"http://127.0.0.1:{sandbox.function.port}/projects/{sandbox.project}/topics/{ALERTS_TOPIC}",
        data=json.dumps(push).encode(), headers={"Content-Type": "application/json"}, method="POST")
    # The first delivery's claim is completed just after its publish: found before that, the second
    # answers 5xx (`in_progress`) and is delivered again, as Pub/Sub would; never paged either way. Sent
    # again until answered 2xx, for at most 30 s (the claim is completed within the first delivery's own
    # answer, well under a second here): a redelivery that never answers 2xx fails here, by name.
    deadline, refusals = time.monotonic() + 30, []
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                assert response.status < 300
                break
        except urllib.error.HTTPError as exc:
            assert exc.code >= 500, exc
            refusals.append(exc.code)
            time.sleep(0.2)
    else:
        pytest.fail(f"the redelivery was never answered 2xx in 30 s ({len(refusals)} answers {set(refusals)}): "
                    "the first delivery's page claim was never completed")

    [again] = sandbox.wait_outcomes(1, timeout=30)
    assert first.body["status"] == "rejected" and again.body["status"] == "skipped"
    assert "a person was told" in again.body["reason"], again.body["reason"]
    pages = [line for line in _timeline(sandbox, until="never", timeout=2) if line["runwarden"]["step"] == "notify"]
    assert len(pages) == 1


def test_a_transient_fault_is_retried_by_redelivery(sandbox):
    sandbox.standins.run.faults.fail_next(1000, grpc.StatusCode.UNAVAILABLE, method="GetService")
    sandbox.publish_alert(sandbox.scenario.notification(sandbox.anchor))

    # The function raises, answers 500, and the emulator redelivers until the fault clears.
    deadline = time.monotonic() + 20
    while sandbox.standins.run.count("GetService") < 6 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sandbox.standins.run.count("GetService") >= 6
    assert sandbox.wait_outcomes(1, timeout=0.5) == []  # nothing published while failing
    sandbox.standins.run.faults.clear()

    [outcome] = sandbox.wait_outcomes(1, timeout=45)
    assert outcome.body["status"] == "applied"
    assert sandbox.standins.run.count("UpdateService") == 1


def _timeline(box, until: str, timeout: float = 5.0) -> list[dict]:
    """The structured lines of a Sandbox's on_alert server, or of a given FunctionServer."""
    server = box.function if isinstance(box, Sandbox) else box
    lines: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # The events' lines, not the instance's own (its `warm_up` lines: functions/runtime.py).
        lines += [line for line in server.timeline() if "runwarden" in line
                  and line["logging.googleapis.com/labels"].get("runwarden_trigger") != "instance"]
        if any(line["runwarden"]["step"] == until for line in lines):
            return lines
        time.sleep(0.05)
    return lines


def test_an_operators_kill_switch_command_stops_the_next_alert(sandbox):
    sandbox.start_function("on_command")
    sandbox.publish_command({"command": "pause", "command_id": "pause-1", "requested_by": "alice",
                             "reason": "maintenance"})
    [engaged] = sandbox.wait_outcomes(1, timeout=30)
    assert engaged.body["status"] == "applied" and engaged.body["trigger"] == "command"

    sandbox.publish_alert(sandbox.scenario.notification(sandbox.anchor))
    [stopped] = sandbox.wait_outcomes(1, timeout=30)

    assert stopped.body["status"] == "skipped" and "kill switch engaged" in stopped.body["reason"]
    assert sandbox.standins.run.count("UpdateService") == 0


def test_a_pushed_sweep_reports_nothing_before_the_settle_time(sandbox):
    sandbox.start_function("on_command")
    sandbox.publish_alert(sandbox.scenario.notification(sandbox.anchor))
    [applied] = sandbox.wait_outcomes(1, timeout=45)
    assert applied.body["status"] == "applied"

    sandbox.publish_command({"command": "sweep"})
    # The action settles for 5 minutes: the sweep runs, judges nothing, publishes nothing.
    lines = _timeline(sandbox.functions["on_command"], until="swept", timeout=20)
    assert any(line["runwarden"]["step"] == "swept" for line in lines)
    assert sandbox.wait_outcomes(1, timeout=2) == []
