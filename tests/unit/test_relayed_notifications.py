"""A notification a relay republished in a wrapping of its own (shared/alerts/relayed.py) is read through it; a
wrapping of anything else, or past MAX_WRAPPINGS, is refused for what it lacks. Pure: no I/O.

The notification is the real Pub/Sub sample (tests/fixtures/samples, schema 1.2). The wrappings are UNCONFIRMED
forms (no documented relay): what a function re-sending its trigger's push body (Pub/Sub "Push subscriptions"), its
PubsubMessage (google/pubsub/v1/pubsub.proto: `data` base64 in JSON), or the text it decoded would publish."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Callable

import pytest

from shared.alerts.incidents import IncidentParseError, parse_message_published, parse_notification
from shared.alerts.received import named, received
from shared.alerts.relayed import MAX_WRAPPINGS

SAMPLE = Path(__file__).parent.parent / "fixtures" / "samples" / "monitoring_pubsub_threshold_open_gce__flanksource.json"
NOTIFICATION = SAMPLE.read_bytes()
INCIDENT_ID = parse_notification(NOTIFICATION).incident_id

Wrap = Callable[[bytes], bytes]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def as_json(value: object) -> bytes:
    return json.dumps(value).encode()


def _nested(notification: bytes, depth: int) -> bytes:
    body = notification
    for _ in range(depth):
        body = as_json({"data": b64(body)})
    return body


READ_THROUGH: dict[str, Wrap] = {
    "data: base64": lambda n: as_json({"data": b64(n)}),
    "a PubsubMessage republished": lambda n: as_json({"data": b64(n), "messageId": "7", "publishTime":
                                                      "2026-11-26T12:02:00Z", "attributes": {"relay": "router"}}),
    "a push body republished": lambda n: as_json({"message": {"data": b64(n), "message_id": "7"},
                                                  "subscription": "projects/p/subscriptions/s", "deliveryAttempt": 2}),
    "data: the notification object": lambda n: as_json({"data": json.loads(n)}),
    "data: the notification's text": lambda n: as_json({"data": n.decode()}),
    "data inside data": lambda n: as_json({"data": {"data": b64(n)}}),
    "a JSON string": lambda n: as_json(n.decode()),
    "base64 text": lambda n: b64(n).encode(),
    "base64 text with a newline": lambda n: (b64(n) + "\n").encode(),
    "a JSON string of base64": lambda n: as_json(b64(n)),
    "wrapped as deep as is read": lambda n: _nested(n, MAX_WRAPPINGS),
}

# Not a wrapping of a notification, or one too deep: refused, the field and what it lacks named.
REFUSED: dict[str, tuple[bytes, str]] = {
    "a relay's own format": (as_json({"data": b64(as_json({"alert": "5xx", "status": "firing"}))}), "incident"),
    "data beside keys of another format": (as_json({"data": b64(NOTIFICATION), "alertname": "x"}), "incident"),
    "base64 of prose": (b64(b"backend is down").encode(), "not valid JSON"),
    "a JSON string of prose": (as_json("backend is down"), "got string"),
    "data a number": (as_json({"data": 5}), "incident"),
    "wrapped once more than is read": (_nested(NOTIFICATION, MAX_WRAPPINGS + 1), f"wrapped more than {MAX_WRAPPINGS} times"),
}


@pytest.mark.parametrize("case", READ_THROUGH)
def test_a_relayed_notification_is_the_notification_it_wraps(case):
    incident = parse_notification(READ_THROUGH[case](NOTIFICATION))

    assert incident == parse_notification(NOTIFICATION)
    assert incident.incident_id == INCIDENT_ID


@pytest.mark.parametrize("case", READ_THROUGH)
def test_a_relayed_notification_on_pubsub_is_read_the_same(case):
    body = READ_THROUGH[case](NOTIFICATION)

    _, incident = parse_message_published({"message": {"data": b64(body), "messageId": "1"}})

    assert incident.incident_id == INCIDENT_ID


@pytest.mark.parametrize("case", REFUSED)
def test_a_wrapping_of_no_notification_is_refused_for_what_it_lacks(case):
    body, said = REFUSED[case]

    with pytest.raises(IncidentParseError) as raised:
        parse_notification(body)

    assert said in str(raised.value), str(raised.value)


def test_a_notification_itself_is_parsed_as_it_always_was():
    """A malformed notification is refused for its own fault, not read as a wrapping."""
    broken = json.loads(NOTIFICATION)
    broken["incident"]["started_at"] = "yesterday"

    with pytest.raises(IncidentParseError) as raised:
        parse_notification(as_json(broken))

    assert raised.value.field == "incident.started_at"


@pytest.mark.parametrize("case", ["data: base64", "a push body republished", "a JSON string", "base64 text"])
def test_a_relayed_notification_rejected_for_its_own_fault_still_names_its_incident(case):
    """The rejection is answered under the incident's id, as a notification sent directly is."""
    broken = json.loads(NOTIFICATION)
    broken["incident"]["started_at"] = "yesterday"
    content = received({"message": {"data": b64(READ_THROUGH[case](as_json(broken))), "messageId": "m-1"}})

    assert named(content, "incident.started_at").incident_id == INCIDENT_ID
