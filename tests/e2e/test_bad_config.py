"""End to end: a deployed config that cannot be used. The Pub/Sub emulator pushes an alert to
functions-framework running main.py with a config that names an operator with an IAM prefix (a
mistake people make, copying from an IAM binding). Every delivery is refused with a 503 and one
CRITICAL `config_error` line (what infra/watchdog.tf's `config_error` policy pages on), with no
traceback (which would page a second time through `function_errors`), and nothing is written or
published. Once the file is fixed, the redelivered alert is handled: the alert is not lost."""
from __future__ import annotations

import queue
import time

import pytest
import yaml

from tests.e2e.live import live_sandbox
from sandbox.stack import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]
DELIVERIES = 3   # refused deliveries to see before the fix (the emulator redelivers every second or so)


@pytest.fixture
def sandbox(monkeypatch):
    box = live_sandbox("bad_revision", config={"operators": ["user:alice@example.com"]})
    for key, value in box.firestore.env().items():
        monkeypatch.setenv(key, value)
    box.start_function()
    yield box
    box.stop()


def test_a_bad_config_pages_once_per_delivery_writes_nothing_and_loses_no_alert(sandbox):
    sandbox.publish_alert(sandbox.scenario.notification(sandbox.anchor))
    raw = _raw_lines(sandbox, lambda seen: sum('"config_error"' in line for line in seen) >= DELIVERIES + 1)

    errors = [line for line in raw if '"config_error"' in line]
    assert len(errors) >= DELIVERIES + 1, raw    # the warm-up's, then one per delivery
    assert all('"CRITICAL"' in line and "operators" in line and "IAM prefix" in line for line in errors), errors
    # No traceback of the refusal: Flask logs an unhandled exception as "Exception on PATH [POST]"
    # and its traceback.
    plain = [line for line in raw if not line.startswith("{")]
    assert not [line for line in plain if "Traceback" in line or "Exception on " in line or "ConfigError" in line], \
        "\n".join(plain)
    assert sandbox.standins.run.count("UpdateService") == 0
    assert sandbox.wait_outcomes(1, timeout=2) == []

    # The fix: the same file, the operator written as an email. The next delivery reads it.
    data = yaml.safe_load(sandbox.config_path.read_text())
    data["operators"] = ["alice@example.com"]
    sandbox.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
    [outcome] = sandbox.wait_outcomes(1, timeout=60)
    assert outcome.body["status"] == "applied", outcome.body["reason"]
    assert sandbox.standins.run.count("UpdateService") == 1


def _raw_lines(box: Sandbox, enough, timeout: float = 60.0) -> list[str]:
    """Every line the function server wrote (stdout and stderr, JSON or not) until `enough`."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not enough(seen):
        try:
            seen.append(box.function.lines.get(timeout=0.5))
        except queue.Empty:
            continue
    return seen
