"""The incident timeline: one structured JSON line on stdout per step Runwarden takes.

Cloud Logging reads the special fields (severity, message, logging.googleapis.com/labels), so
every line carries the incident id as a label and the timeline is one filter away:
    labels.runwarden_incident="INCIDENT_ID"
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

INCIDENT_LABEL = "runwarden_incident"
STEP_LABEL = "runwarden_step"
# What `json.dumps(line, default=str, sort_keys=True)` builds for every call, built once: an encoder
# keeps no state between calls (JSONEncoder.iterencode starts each from scratch), so one serves
# every thread.
_LINE = json.JSONEncoder(default=str, sort_keys=True)


class Timeline:
    def __init__(self, incident_id: str | None, trigger: str = "alert", stream: TextIO | None = None) -> None:
        self.incident_id = incident_id
        self.trigger = trigger
        self._stream = stream

    def step(self, step: str, message: str, severity: str = "INFO", extra_labels: dict[str, str] | None = None,
             **details: Any) -> None:
        labels = {STEP_LABEL: step, "runwarden_trigger": self.trigger, **(extra_labels or {})}
        if self.incident_id:
            labels[INCIDENT_LABEL] = self.incident_id
        line = {
            "severity": severity,
            "message": message,
            "time": datetime.now(timezone.utc).isoformat(),
            "logging.googleapis.com/labels": labels,
            "runwarden": {"step": step, "incident_id": self.incident_id, **details},
        }
        stream = self._stream or sys.stdout
        stream.write(_LINE.encode(line) + "\n")
        stream.flush()
