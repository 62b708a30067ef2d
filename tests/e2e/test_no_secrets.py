"""Drill: no secret, token or credential ever appears in what Runwarden writes.

The service's revisions carry a plain environment variable holding a password and another
holding an OAuth access token, as careless deployments do. After an alert is handled end to end
(Pub/Sub push -> functions-framework -> stand-ins and emulators), everything captured is scanned:
the function's whole stdout (its timeline, and anything else it printed), every outcome published,
and what the log agent forwarded to Logging.
"""
from __future__ import annotations

import json
import os
import queue
import re
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from sandbox.emulators import EmulatorMissing
from sandbox.stack import Sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.emulator]
ROOT = Path(__file__).resolve().parents[2]
# Shapes of credentials that must never be written, whoever's they are: OAuth access tokens,
# bearer headers, private keys.
CREDENTIAL_SHAPES = re.compile(r"ya29\.[\w-]+|Bearer\s+(?!owner\b)[\w.-]{8,}|-----BEGIN [A-Z ]*PRIVATE KEY")


def _scenario_with_secrets(path: Path, password: str, token: str) -> Path:
    data = yaml.safe_load((ROOT / "sandbox" / "scenarios" / "bad_revision.yaml").read_text())
    for revision in data["services"][0]["revisions"]:
        revision["env"] = {"DB_PASSWORD": password, "UPSTREAM_TOKEN": token}
        revision["secret_env"] = {"DB_PASS_REF": {"secret": "db-password", "version": "3"}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_no_secret_or_token_reaches_logs_or_outcomes(tmp_path):
    password = "pw-" + secrets.token_hex(12)
    token = "ya29." + secrets.token_urlsafe(24)
    anchor = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=2)
    scenario = _scenario_with_secrets(tmp_path / "secrets.yaml", password, token)
    try:
        box = Sandbox(scenario, anchor=anchor).start()
    except EmulatorMissing as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and an emulator is missing: {exc}", pytrace=False)
        pytest.skip(str(exc))
    try:
        server = box.start_function()
        box.publish_alert(box.scenario.notification(anchor))
        box.publish_alert(b"not a notification")   # the rejection path writes too
        outcomes = box.wait_outcomes(2, timeout=45)
        captured = []
        while True:
            try:
                captured.append(server.lines.get_nowait())
            except queue.Empty:
                break
        forwarded = [json.dumps(entry, default=str) for entry in box.standins.logging.entries()]
    finally:
        box.stop()

    assert sorted(o.body["status"] for o in outcomes) == ["applied", "rejected"]
    written = captured + [json.dumps(o.body) + json.dumps(o.attributes) for o in outcomes] + forwarded
    assert any('"step": "applied"' in line for line in captured)   # the scan saw the real timeline
    for text in written:
        assert password not in text and token not in text, text[:300]
        assert not CREDENTIAL_SHAPES.search(text), text[:300]
