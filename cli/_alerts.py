"""Alert files as operators have them, unwrapped to the notification Monitoring sent.

An alert file may hold the notification itself, a Pub/Sub push body or MessagePublishedData,
a CloudEvent carrying one of those, or a notification a relay wrapped (shared/alerts/relayed.py).
`shared.alerts.incidents.load_any` validates all of them; this module digs out the message data
so a replay can publish exactly what was published (Monitoring's notification, or the relay's
wrapping of it), and wraps it the way Eventarc hands it to the function.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shared.alerts.incidents import Incident, load_any


@dataclass(frozen=True)
class Alert:
    incident: Incident
    notification: bytes        # the message data: the notification as Monitoring sent it, or as a relay wrapped it

    @property
    def started_at(self) -> datetime:
        return datetime.fromtimestamp(self.incident.started_at, tz=timezone.utc)


def read_alert(path: str | Path) -> Alert:
    """Raises OSError if the file cannot be read, IncidentParseError if it is not an alert."""
    raw = Path(path).read_bytes()
    incident = load_any(raw)  # validates every shape; what follows only unwraps
    return Alert(incident, _message_data(raw))


def message_published(notification: bytes, publish_time: datetime, message_id: str = "replay-1") -> dict[str, Any]:
    """MessagePublishedData, the `data` of the CloudEvent the function receives."""
    return {"message": {"data": base64.b64encode(notification).decode("ascii"), "messageId": message_id,
                        "publishTime": publish_time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")}}


def _message_data(raw: bytes) -> bytes:
    """The data the alert was published with: a push body's or a CloudEvent's message data, else the file itself (a
    notification, or one a relay wrapped, which the pipeline reads through as `load_any` did)."""
    doc = json.loads(raw) if raw.lstrip().startswith(b"{") else None
    if not isinstance(doc, dict) or "incident" in doc:
        return raw
    if "message" in doc:
        return base64.b64decode(doc["message"]["data"])
    if "specversion" in doc:
        data = doc.get("data")
        if data is None:  # a CloudEvent with binary data
            data = json.loads(base64.b64decode(doc["data_base64"]))
        return base64.b64decode(data["message"]["data"])
    return raw
