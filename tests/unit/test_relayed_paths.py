"""One rule for a relay's wrappings (shared/alerts/relayed.py), wherever a notification is read: the pipeline's
parser, the naming of a rejected alert's incident (shared/alerts/received.py), and `load_any`, which every command
reading an alert file uses. And the path a relayed alert took, as the outcome tells it. Pure: no I/O.

The notification is the real Pub/Sub sample (tests/fixtures/samples, schema 1.2). The wrappings are UNCONFIRMED
forms (no documented relay), as in tests/unit/test_relayed_notifications.py; the envelopes that are no Pub/Sub
shape are a relay's own alert format, which must stay refused."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from shared.alerts.incidents import (MAX_NOTIFICATION_BYTES, IncidentParseError, load_any, parse_message_published,
                                     parse_notification)
from shared.alerts.received import named, received
from shared.alerts.relayed import MAX_WRAPPED_TEXT_BYTES, MAX_WRAPPINGS, NOTIFICATION_BYTES

SAMPLE = Path(__file__).parent.parent / "fixtures" / "samples" / "monitoring_pubsub_threshold_open_gce__flanksource.json"
NOTIFICATION = SAMPLE.read_bytes()
NOTIFIED = json.loads(NOTIFICATION)
INCIDENT_ID = parse_notification(NOTIFICATION).incident_id


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def as_json(value: object) -> bytes:
    return json.dumps(value).encode()


def _nested(depth: int) -> bytes:
    body = NOTIFICATION
    for _ in range(depth):
        body = as_json({"data": b64(body)})
    return body


PUSH_BODY = as_json({"message": {"data": b64(NOTIFICATION), "messageId": "77", "publishTime": "2026-11-26T12:02:00Z",
                                 "attributes": {"relay": "router", "token": "Bearer " + "a" * 40}},
                     "subscription": "projects/relay-project/subscriptions/alerts-relay", "deliveryAttempt": 2})

# Read through, as the notification inside.
READ: dict[str, bytes] = {
    "the notification itself": NOTIFICATION,
    "data: base64": as_json({"data": b64(NOTIFICATION)}),
    "a PubsubMessage republished": as_json({"data": b64(NOTIFICATION), "messageId": "7", "attributes": {"a": "b"}}),
    "a push body republished": PUSH_BODY,
    "data: the notification object": as_json({"data": NOTIFIED}),
    "data inside data": as_json({"data": {"data": b64(NOTIFICATION)}}),
    "a JSON string": as_json(NOTIFICATION.decode()),
    "base64 text": b64(NOTIFICATION).encode(),
    "a JSON string of base64": as_json(b64(NOTIFICATION)),
    "a push body inside a JSON string": as_json(PUSH_BODY.decode()),
    "wrapped as deep as is read": _nested(MAX_WRAPPINGS),
}

# Refused: no Pub/Sub shape around the notification (a relay's own envelope), or past the depth read.
REFUSED: dict[str, bytes] = {
    "incident under a relay's own key": as_json({"alert": NOTIFIED}),
    "incident under a relay's payload": as_json({"payload": {"incident": NOTIFIED["incident"]}, "version": "1.2"}),
    "a relay's envelope with data and its own keys": as_json({"data": b64(NOTIFICATION), "source": "router"}),
    "a relay's envelope around a push body": as_json({"relay": "router", "body": json.loads(PUSH_BODY)}),
    "a push body with a key of another form": as_json({"message": {"data": b64(NOTIFICATION)}, "routedBy": "x"}),
    "a relay's own alert format": as_json({"data": b64(as_json({"alert": "5xx", "status": "firing"}))}),
    "data a number": as_json({"data": 5}),
    "a list of notifications": as_json([NOTIFIED]),
    "a key twice in the wrapping": b'{"data": "' + b64(NOTIFICATION).encode() + b'", "data": "e30="}',
    "wrapped once more than is read": _nested(MAX_WRAPPINGS + 1),
}


def _event(data: bytes) -> dict[str, Any]:
    return {"message": {"data": b64(data), "messageId": "m-1", "publishTime": "2026-11-26T12:03:00Z"}}


def _pipeline_key(data: bytes) -> str | None:
    """The incident the pipeline acts on for `data` on the alerts topic, or None when it rejects it."""
    try:
        return parse_message_published(_event(data))[1].incident_id
    except IncidentParseError:
        return None


def _rejection_key(data: bytes) -> str | None:
    """The incident a rejection of `data` for a field of the notification's own would be named by."""
    return named(received(_event(data)), "incident.started_at").incident_id


@pytest.mark.parametrize("case", [*READ, *REFUSED])
def test_the_pipeline_and_the_rejection_read_the_same_wrappings(case):
    """What the parser reads through, the naming of a rejection reads through, to the same incident; what it
    refuses, the naming does not read either."""
    data = {**READ, **REFUSED}[case]

    assert _pipeline_key(data) == _rejection_key(data) == (INCIDENT_ID if case in READ else None)


@pytest.mark.parametrize("case", READ)
def test_load_any_reads_what_the_pipeline_reads(case):
    """An operator pasting the relayed message a dead-letter topic kept gets the incident the pipeline reads."""
    assert load_any(READ[case]) == parse_message_published(_event(READ[case]))[1]


# A push body at the top of a file is the delivery itself, as the pipeline's event data (its other keys ignored by
# both), not a relay's wrapping of one.
DELIVERED_AS_IS = frozenset({"a push body with a key of another form"})


@pytest.mark.parametrize("case", [case for case in REFUSED if case not in DELIVERED_AS_IS])
def test_load_any_refuses_what_the_pipeline_refuses_in_the_same_words(case):
    data = REFUSED[case]
    with pytest.raises(IncidentParseError) as pipeline:
        parse_notification(data)

    with pytest.raises(IncidentParseError) as command:
        load_any(data)

    assert str(command.value) == str(pipeline.value)


@pytest.mark.parametrize("case", READ)
def test_load_any_reads_a_relayed_notification_published_again(case):
    """The relayed message as the alerts topic delivered it (the push body a dead-letter subscription shows)."""
    assert load_any(as_json(_event(READ[case]))).incident_id == INCIDENT_ID


EXPECTED_PATH: dict[str, list[dict[str, Any]]] = {
    "the notification itself": [],
    "data: base64": [{"form": "message"}],
    "a push body republished": [{"form": "push_body", "subscription": "projects/relay-project/subscriptions/alerts-relay",
                                 "message_id": "77", "publish_time": "2026-11-26T12:02:00Z",
                                 "attributes": {"relay": "router", "token": "[redacted credential]"}}],
    "a JSON string": [{"form": "json_string"}],
    "base64 text": [{"form": "base64"}],
    "a push body inside a JSON string": [{"form": "json_string"}, {"form": "push_body", "message_id": "77"}],
    "data inside data": [{"form": "message"}, {"form": "message"}],
}


@pytest.mark.parametrize("case", EXPECTED_PATH)
def test_the_path_a_relayed_notification_took_is_read_with_it(case):
    """Each wrapping read through, outermost first, with what it says of the relay (credentials redacted)."""
    from shared.alerts.incidents import read_message_published

    path = [wrapping.model_dump(exclude_defaults=True) for wrapping in read_message_published(_event(READ[case])).relayed]

    assert len(path) == len(EXPECTED_PATH[case])
    for said, expected in zip(path, EXPECTED_PATH[case]):
        assert {key: said.get(key) for key in expected} == expected, path



@pytest.mark.parametrize("case", READ)
def test_an_alert_file_a_relay_wrapped_is_replayed_as_it_was_published(case, tmp_path):
    """`runwarden diagnose` and `replay` read an alert file (cli/_alerts.py): the data they hand the pipeline is the
    message data as published, which the pipeline reads through its wrapping to the same incident."""
    from datetime import datetime, timezone

    from cli._alerts import message_published, read_alert

    path = tmp_path / "alert.json"
    path.write_bytes(READ[case])

    alert = read_alert(path)

    replayed = parse_message_published(message_published(alert.notification, datetime(2026, 11, 26, tzinfo=timezone.utc)))
    assert alert.incident == replayed[1] == parse_notification(NOTIFICATION)


SECRET_ATTRIBUTES = [   # (attribute, value, kept as sent)
    ("relay", "router", True),
    ("team", "payments", True),
    ("token", "s3cr3t-relay-value", False),
    ("auth_token", "s3cr3t-relay-value", False),
    ("X-Api-Key", "0123456789abcdef", False),
    ("password", "hunter2-relay", False),
    ("webhookSecret", "whsec_0123456789", False),
    ("signature", "sha256=0123456789abcdef", False),
    ("Authorization", "Basic dXNlcjpwYXNz", False),
    ("credentials", "{\"k\": \"v\"}", False),
]


@pytest.mark.parametrize("name, value, kept", SECRET_ATTRIBUTES, ids=[c[0] for c in SECRET_ATTRIBUTES])
def test_a_relays_attribute_named_as_a_secret_never_reaches_the_outcome(name, value, kept):
    """A relay's attributes are its own (a webhook's signing secret, an auth token it forwards): a value that holds
    no credential's shape (shared/redaction.py) but sits under a name that says it is one is redacted too, since
    the outcome reaches people and channels. A plain attribute is shown as sent."""
    from shared.alerts.incidents import read_message_published
    from shared.redaction import REDACTED

    body = as_json({"message": {"data": b64(NOTIFICATION), "messageId": "77", "attributes": {name: value}},
                    "subscription": "projects/relay-project/subscriptions/alerts-relay"})
    [wrapping] = read_message_published(_event(body)).relayed

    assert wrapping.attributes[name] == (value if kept else REDACTED), wrapping.attributes
    assert kept or value not in json.dumps(wrapping.model_dump(mode="json"))


# --- a relay's wrapping around a notification near its bound ---------------------------------------------------------

def _notification_of(size: int) -> bytes:
    """The sample notification, its summary padded so that its text is `size` bytes."""
    doc = json.loads(NOTIFICATION)
    doc["incident"]["summary"] = ""
    doc["incident"]["summary"] = "x" * (size - len(as_json(doc)))
    padded = as_json(doc)
    assert len(padded) == size
    return padded


def _wrappings(inner: bytes) -> dict[str, bytes]:
    push = as_json({"message": {"data": b64(inner), "messageId": "77", "attributes": {f"a{i}": "v" * 1024
                                                                                     for i in range(100)}},
                    "subscription": "projects/relay-project/subscriptions/alerts-relay"})
    deepest = inner
    for _ in range(MAX_WRAPPINGS):
        deepest = as_json({"data": b64(deepest)})
    return {"a push body republished, with 100 attributes": push, "base64 text": b64(inner).encode(),
            "wrapped as deep as is read": deepest}


@pytest.mark.parametrize("size", [192 * 1024 + 3, MAX_NOTIFICATION_BYTES])
@pytest.mark.parametrize("form", list(_wrappings(b"{}")))
def test_a_notification_within_its_bound_is_read_through_a_relays_wrapping_whatever_the_wrappings_size(form, size):
    """A relay's push body around a notification of 192 KiB is over 256 KiB (base64 is 4/3): it was refused as a
    notification too large, the notification inside never read. A notification at its bound, wrapped as deep as is
    read, is read."""
    data = _wrappings(_notification_of(size))[form]
    assert len(data) > MAX_NOTIFICATION_BYTES
    assert _pipeline_key(data) == _rejection_key(data) == INCIDENT_ID


@pytest.mark.parametrize("form", list(_wrappings(b"{}")))
def test_a_notification_past_its_bound_is_refused_inside_a_wrapping_naming_its_own_size(form):
    data = _wrappings(_notification_of(MAX_NOTIFICATION_BYTES + 1))[form]
    with pytest.raises(IncidentParseError) as caught:
        parse_message_published(_event(data))
    assert caught.value.reason == (f"{MAX_NOTIFICATION_BYTES + 1} bytes (the notification inside the relay's "
                                   f"wrappings) is over the {MAX_NOTIFICATION_BYTES}-byte limit")


def test_the_relays_bound_and_the_notifications_are_one():
    assert NOTIFICATION_BYTES == MAX_NOTIFICATION_BYTES
    assert MAX_WRAPPED_TEXT_BYTES < 10 * 1000 * 1000    # within Pub/Sub's 10 MB message
