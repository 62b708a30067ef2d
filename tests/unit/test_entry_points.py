"""The deployed entry points: what main.py exports and what importing it costs."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ["google.cloud.pubsub_v1", "google.cloud.run_v2", "google.cloud.monitoring_v3",
         "google.cloud.firestore", "google.cloud.logging", "grpc", "shared.pipeline"]


def test_importing_main_loads_no_google_client_library():
    probe = f"import json, sys, main; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_main_exports_only_working_entry_points():
    import main

    assert main.__all__ == ["on_alert", "on_command", "incident_timeline"]
    assert callable(main.on_alert) and callable(main.on_command) and callable(main.incident_timeline)


def test_deploy_ignores_the_sandbox_and_tests():
    ignored = (ROOT / ".gcloudignore").read_text().split()
    for path in ("sandbox/", "tests/", "cli/", "bench/"):
        assert path in ignored


def test_a_bad_config_fails_loudly_so_the_alert_is_redelivered(tmp_path, monkeypatch, capsys):
    import base64

    import functions_framework

    import functions.runtime

    (tmp_path / "bad.yaml").write_text("project: p\noutcomes_topic: not-a-topic\n")
    monkeypatch.setenv("RUNWARDEN_CONFIG", str(tmp_path / "bad.yaml"))
    functions.runtime.reset()
    app = functions_framework.create_app(target="on_alert", source=str(ROOT / "main.py"),
                                         signature_type="cloudevent")
    push = {"subscription": "projects/p/subscriptions/s",
            "message": {"data": base64.b64encode(b"{}").decode(), "messageId": "1"}}

    response = app.test_client().post("/projects/p/topics/alerts", json=push)

    assert response.status_code == 500  # not acknowledged: Pub/Sub keeps the alert
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(line["severity"] == "CRITICAL" and "outcomes_topic" in line["message"] for line in lines)
