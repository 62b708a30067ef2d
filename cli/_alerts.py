"""Alert files as operators have them, unwrapped to the notification Monitoring sent.

An alert file may hold the notification itself, a Pub/Sub push body or MessagePublishedData,
a CloudEvent carrying one of those, or a notification a relay wrapped (shared/alerts/relayed.py).
`shared.alerts.incidents.load_published` validates all of them and gives the message data with the
incident, so a replay can publish exactly what was published (Monitoring's notification, or the
relay's wrapping of it); this module wraps it the way Eventarc hands it to the function.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from shared.alerts.incidents import Incident, load_published


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
    incident, data = load_published(raw)  # validates every shape, and reads its message data once
    return Alert(incident, data)


def message_published(notification: bytes, publish_time: datetime, message_id: str = "replay-1") -> dict[str, Any]:
    """MessagePublishedData, the `data` of the CloudEvent the function receives."""
    return {"message": {"data": base64.b64encode(notification).decode("ascii"), "messageId": message_id,
                        "publishTime": publish_time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")}}
