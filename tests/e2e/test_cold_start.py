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
