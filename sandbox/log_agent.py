"""What Cloud Run's logging agent does with a function's stdout, for the local sandbox.

Each line becomes one LogEntry in `run.googleapis.com/stdout`, on the function's own resource
(`cloud_run_revision`: a gen2 function runs as a Cloud Run service). A JSON object line becomes a
`jsonPayload`, with the special fields lifted out of it (cloud.google.com/logging/docs/
structured-logging, "Special JSON fields"): `severity`, `logging.googleapis.com/labels` -> labels,
`logging.googleapis.com/insertId`, `logging.googleapis.com/trace`, `logging.googleapis.com/spanId`,
and `time` -> timestamp. `message` stays in the payload, as the agent leaves it. Any other line
is a `textPayload`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from google.logging.type import log_severity_pb2

from google.cloud.logging_v2.types import LogEntry

from sandbox.standins.logging import LoggingStandIn, log_name_for
from shared.gcp.run_logs import STDOUT

_SPECIAL = {"severity", "logging.googleapis.com/labels", "logging.googleapis.com/insertId",
            "logging.googleapis.com/trace", "logging.googleapis.com/spanId", "time"}


@dataclass(frozen=True)
class FunctionResource:
    """The monitored resource a gen2 function's logs carry (resource type cloud_run_revision)."""

    project: str
    location: str
    service_name: str                  # the function's Cloud Run service, e.g. on-alert
    revision_name: str = ""

    def labels(self) -> dict[str, str]:
        revision = self.revision_name or f"{self.service_name}-00001-run"
        return {"project_id": self.project, "location": self.location, "service_name": self.service_name,
                "revision_name": revision, "configuration_name": self.service_name}


def entry_for_line(line: str, resource: FunctionResource, now: Callable[[], datetime]) -> Any:
    """The LogEntry protobuf the agent would write for one stdout line (None for a blank one)."""
    if not line.strip():
        return None
    entry = LogEntry.pb()(log_name=log_name_for(resource.project, STDOUT))
    entry.resource.type = "cloud_run_revision"
    entry.resource.labels.update(resource.labels())
    payload = _json_object(line)
    at = None
    if payload is None:
        entry.text_payload = line
    else:
        at = _timestamp(payload.get("time"))
        entry.severity = _severity(payload.get("severity"))
        labels = payload.get("logging.googleapis.com/labels")
        if isinstance(labels, dict):
            entry.labels.update({str(k): str(v) for k, v in labels.items()})
        entry.insert_id = str(payload.get("logging.googleapis.com/insertId") or "")
        entry.trace = str(payload.get("logging.googleapis.com/trace") or "")
        entry.span_id = str(payload.get("logging.googleapis.com/spanId") or "")
        entry.json_payload.update({k: v for k, v in payload.items() if k not in _SPECIAL})
    entry.timestamp.FromDatetime(at or now())
    return entry


class StdoutSink:
    """Writes a function's stdout lines into the Logging stand-in, the lines that arrived together as one
    batch (the agent sends entries in batches, as WriteLogEntries takes
    them: `entries[]`, Logging API v2 reference)."""

    def __init__(self, logging: LoggingStandIn, resource: FunctionResource) -> None:
        self._logging = logging
        self._resource = resource

    def write_batch(self, lines: list[str]) -> None:
        """One entry a line, the batch written in one call (a blank line writes none)."""
        entries = [e for e in (entry_for_line(line, self._resource, self._logging.clock) for line in lines)
                   if e is not None]
        if not entries:
            return
        try:
            self._logging.add_entries(entries)
        except ValueError:   # the real agent drops what the API refuses; so does this one, entry by entry
            for entry in entries if len(entries) > 1 else ():
                try:
                    self._logging.add_entries([entry])
                except ValueError:
                    pass


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _severity(value: Any) -> int:
    try:
        return log_severity_pb2.LogSeverity.Value(str(value).upper()) if value else 0
    except ValueError:
        return 0                  # an unknown severity is DEFAULT


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
