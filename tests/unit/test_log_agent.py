"""The sandbox's stand-in for Cloud Run's logging agent: one stdout line -> one LogEntry."""
from __future__ import annotations

import io
from datetime import datetime, timezone

from google.logging.type import log_severity_pb2
from google.protobuf import json_format

from sandbox.log_agent import FunctionResource, entry_for_line
from shared.timeline.writer import Timeline

AT = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
RESOURCE = FunctionResource("demo-project", "us-central1", "runwarden-on-alert")


def test_a_step_line_becomes_a_structured_entry_with_its_labels_and_severity():
    out = io.StringIO()
    Timeline("0.abc", stream=out).step("applied", "done", severity="WARNING", status="applied")
    entry = entry_for_line(out.getvalue().strip(), RESOURCE, lambda: AT)

    assert entry.log_name == "projects/demo-project/logs/run.googleapis.com%2Fstdout"
    assert entry.resource.type == "cloud_run_revision"
    assert entry.resource.labels["service_name"] == "runwarden-on-alert"
    assert entry.severity == log_severity_pb2.WARNING
    assert dict(entry.labels) == {"runwarden_incident": "0.abc", "runwarden_step": "applied",
                                  "runwarden_trigger": "alert"}
    payload = json_format.MessageToDict(entry.json_payload)
    assert "logging.googleapis.com/labels" not in payload and "severity" not in payload and "time" not in payload
    assert payload["message"] == "done" and payload["runwarden"]["status"] == "applied"
    assert abs(entry.timestamp.ToDatetime(tzinfo=timezone.utc) - datetime.now(timezone.utc)).total_seconds() < 60


def test_other_lines_are_text_at_the_time_they_arrive():
    entry = entry_for_line("[INFO] Booting worker with pid: 7", RESOURCE, lambda: AT)
    assert entry.text_payload == "[INFO] Booting worker with pid: 7"
    assert entry.timestamp.ToDatetime(tzinfo=timezone.utc) == AT and entry.severity == 0


def test_an_unknown_severity_is_default_and_blank_lines_are_dropped():
    assert entry_for_line('{"severity": "LOUD", "message": "x"}', RESOURCE, lambda: AT).severity == 0
    assert entry_for_line("   ", RESOURCE, lambda: AT) is None
