"""End to end: an unexpected exception in on_alert publishes one `failed` outcome, and its
redelivery is bounded. The Pub/Sub emulator pushes to functions-framework running main.py; the
emulator sets no deliveryAttempt (it needs a dead-letter policy), so the function's own count
per message bounds it, at `delivery.max_attempts`."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.live import live_sandbox
from sandbox.stack import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]
MAX_ATTEMPTS = 5   # the least Pub/Sub's dead-letter policy allows (shared/config.DeliverySettings)


@pytest.fixture
def sandbox(monkeypatch):
    box = live_sandbox("bad_revision", config={"delivery": {"max_attempts": MAX_ATTEMPTS}})
    for key, value in box.firestore.env().items():
        monkeypatch.setenv(key, value)
    box.start_function(source=Path(__file__).with_name("planted_bug_main.py"))
    yield box
    box.stop()


def test_a_bug_publishes_one_failed_outcome_and_redelivery_stops(sandbox):
    notification = sandbox.scenario.notification(sandbox.anchor)
    incident_id = notification["incident"]["incident_id"]
    # The bug: planning raises an exception no handler expects (planted_bug_main.py), on every delivery.

    sandbox.publish_alert(notification)
    outcomes = sandbox.wait_outcomes(1, timeout=45)
    more = sandbox.wait_outcomes(1, timeout=6)  # the emulator redelivers a non-2xx every second or so

    assert len(outcomes) == 1 and more == [], [o.body["reason"] for o in outcomes + more]
    [failed] = outcomes
    assert failed.body["status"] == "failed"
    assert failed.body["incident_id"] == incident_id
    assert f"gave up after {MAX_ATTEMPTS} deliveries" in failed.body["reason"]
    assert "ZeroDivisionError" in failed.body["reason"] and "planted" in failed.body["reason"]
    assert json.loads(failed.body["received"]["data"]) == notification   # acknowledged now: carried, not lost
    assert sandbox.standins.run.count("UpdateService") == 0

    steps = [line["runwarden"] for line in _lines(sandbox, until="notify")]
    errors = [s for s in steps if s["step"] == "error"]
    assert [s["attempt"] for s in errors] == list(range(1, MAX_ATTEMPTS))
    assert [s["step"] for s in steps].count("gave_up") == 1
    notify = [s for s in steps if s["step"] == "notify"]
    assert len(notify) == 1 and notify[0]["status"] == "failed"  # the one page a person gets
    assert notify[0]["received"]["data_form"] == "text"


def _lines(box: Sandbox, until: str, timeout: float = 5.0) -> list[dict]:
    lines: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines += [line for line in box.function.timeline() if "runwarden" in line]
        if any(line["runwarden"]["step"] == until for line in lines):
            break
        time.sleep(0.05)
    return lines
