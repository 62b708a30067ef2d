"""A cold instance as deployed: functions-framework imports main in gunicorn's master and forks
the worker. The master warms up imports and runtime without opening a channel; the worker builds
the clients; the first alert pushed to it is handled with them."""
from __future__ import annotations

import time
from typing import Any

import pytest

import functions.runtime as instance
from tests.e2e.live import live_sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]


@pytest.fixture
def sandbox():
    box = live_sandbox("bad_revision")
    yield box
    box.stop()


def warm_up_lines(server: Any, timeout: float = 120) -> list[dict[str, Any]]:
    """The `warm_up` lines, once the worker's (the one that builds clients) has been written."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen += [line for line in server.timeline() if line.get("runwarden", {}).get("step") == "warm_up"]
        if any(line["runwarden"]["build_clients"] for line in seen):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"no warm_up line from the worker within {timeout} s: {seen}")


def test_the_master_warms_up_without_clients_and_the_worker_builds_them_before_the_first_alert(sandbox):
    server = sandbox.start_function("on_alert")

    master, worker = [line["runwarden"] for line in warm_up_lines(server)]

    assert (master["build_clients"], master["clients"], master["failures"]) == (False, [], {})
    assert worker["build_clients"] is True and worker["failures"] == {}
    assert set(worker["clients"]) == set(instance.ADAPTER_FIELDS)
    assert worker["pid"] != master["pid"]      # built after the fork, in the process that serves

    notification = sandbox.scenario.notification(sandbox.anchor)
    sandbox.publish_alert(notification)
    [outcome] = sandbox.wait_outcomes(1, timeout=60)

    assert outcome.body["status"] == "applied"
    assert sandbox.standins.run.count("UpdateService") == 1


def test_an_alert_pushed_as_the_instance_starts_is_applied_and_the_worker_still_builds_every_client(sandbox):
    """Scale from zero through gunicorn's fork: the alert is pushed as soon as the port accepts,
    while the worker's warm-up is still building (the bench's `waiting` case). The warm-up leaves the
    Pub/Sub client until the event ends (the event builds it itself if it publishes first); the
    alert is applied once, its outcome published, and the worker's warm-up ends with every client."""
    import base64
    import json
    import urllib.request
    import uuid

    from sandbox.stack import ALERTS_TOPIC

    server = sandbox.start_function("on_alert")
    notification = sandbox.scenario.notification(sandbox.anchor)
    push = {"subscription": f"projects/{sandbox.project}/subscriptions/direct",
            "message": {"data": base64.b64encode(json.dumps(notification).encode()).decode(),
                        "messageId": uuid.uuid4().hex}}
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/projects/{sandbox.project}/topics/{ALERTS_TOPIC}",
        data=json.dumps(push).encode(), headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=120) as response:
        status = response.status

    assert status < 300
    [outcome] = sandbox.wait_outcomes(1, timeout=60)
    assert outcome.body["status"] == "applied"
    assert sandbox.standins.run.count("UpdateService") == 1
    worker = [line["runwarden"] for line in warm_up_lines(server) if line["runwarden"]["build_clients"]][0]
    assert worker["failures"] == {}
    assert set(worker["clients"]) == set(instance.ADAPTER_FIELDS)
