"""Relayed notifications in the shapes relays in the field are likely to give them (shared/alerts/relayed.py), the one
rule for what a message's attributes show (Pub/Sub's own and a relay's alike), and the bounds of a rejection's
naming of a huge relayed body. Pure: no I/O.

Which wrappings relays use is UNCONFIRMED (no documented relay): each shape below is built as the named relay would
build it from what it was given. Eventarc's structured CloudEvent: the CloudEvents JSON format (`specversion`, `type`,
`data` or `data_base64`) with Eventarc's `google.cloud.pubsub.topic.v1.messagePublished` type and its
MessagePublishedData; a 1st gen Cloud Function's Pub/Sub event: `{"@type": "type.googleapis.com/google.pubsub.v1
.PubsubMessage", "data": ..., "attributes": ...}` (Cloud Functions 1st gen, "Pub/Sub triggers", the event's data);
base64 wrapped at 76 characters: RFC 2045 6.8 (Python's `base64.encodebytes`, `openssl base64`)."""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from shared.alerts.incidents import IncidentParseError, load_any, read_message_published
from shared.alerts.received import named, received
from shared.alerts.relayed import MAX_WRAPPINGS
from shared.redaction import REDACTED

SAMPLE = Path(__file__).parent.parent / "fixtures" / "samples" / "monitoring_pubsub_threshold_open_gce__flanksource.json"
NOTIFICATION = SAMPLE.read_bytes()
NOTIFIED = json.loads(NOTIFICATION)
INCIDENT_ID = NOTIFIED["incident"]["incident_id"]
MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def as_json(value: object) -> bytes:
    return json.dumps(value).encode()


def envelope(data: bytes, **message: Any) -> dict[str, Any]:
    return {"message": {"data": b64(data), "messageId": "1", **message},
            "subscription": "projects/demo-project/subscriptions/alerts"}


def published_data(body: bytes) -> dict[str, Any]:
    """MessagePublishedData as Eventarc hands it to a relay's function (the body of a binary-mode CloudEvent)."""
    return {"message": {"data": b64(body), "messageId": "9", "publishTime": "2026-11-26T12:02:00Z",
                        "attributes": {"relay": "eventarc"}},
            "subscription": "projects/relay/subscriptions/eventarc-us-central1-forward-123"}


def structured(body: bytes, encoded: bool = False) -> bytes:
    """An Eventarc CloudEvent republished whole in the CloudEvents JSON format, its data an object or base64."""
    event: dict[str, Any] = {"specversion": "1.0", "type": MESSAGE_PUBLISHED, "id": "9",
                             "source": "//pubsub.googleapis.com/projects/relay/topics/monitoring",
                             "time": "2026-11-26T12:02:00Z", "datacontenttype": "application/json"}
    if encoded:
        event["data_base64"] = b64(as_json(published_data(body)))
    else:
        event["data"] = published_data(body)
    return as_json(event)


def gen1_event(body: bytes) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.pubsub.v1.PubsubMessage", "data": b64(body),
            "attributes": {"relay": "gen1"}}


# How each relay republishes the notification `body` it was given, and the wrappings read through to reach it,
# outermost first.
READ: dict[str, tuple[Callable[[bytes], bytes], list[str]]] = {
    "Eventarc's structured CloudEvent republished whole": (structured, ["cloud_event", "push_body"]),
    "a structured CloudEvent with data_base64": (lambda body: structured(body, encoded=True),
                                                 ["cloud_event", "push_body"]),
    "a binary-mode CloudEvent's body republished (MessagePublishedData)": (lambda body: as_json(published_data(body)),
                                                                          ["push_body"]),
    "a 1st gen function's Pub/Sub event republished": (lambda body: as_json(gen1_event(body)), ["message"]),
    "a 1st gen function's legacy event with its context": (
        lambda body: as_json({"context": {"eventId": "9", "timestamp": "2026-11-26T12:02:00Z",
                                          "eventType": "google.pubsub.topic.publish",
                                          "resource": {"name": "projects/relay/topics/monitoring"}},
                              "data": gen1_event(body)}), ["message", "message"]),
    "a gen2 function republishing data and attributes copied": (
        lambda body: as_json({"data": b64(body), "attributes": {"googclient_schemaencoding": "JSON", "relay": "gen2"}}),
        ["message"]),
    "base64 of base64": (lambda body: b64(b64(body).encode()).encode(), ["base64", "base64"]),
    "base64 wrapped at 76 characters": (base64.encodebytes, ["base64"]),
    "base64 of base64 under data": (lambda body: as_json({"data": b64(b64(body).encode())}), ["message", "base64"]),
    "a JSON string of a JSON string": (lambda body: as_json(json.dumps(body.decode())), ["json_string", "json_string"]),
    "a JSON string of base64": (lambda body: as_json(b64(body)), ["json_string"]),
}


@pytest.mark.parametrize("case", READ)
def test_a_relayed_shape_is_read_through_to_its_notification(case):
    wrap, path = READ[case]
    data = wrap(NOTIFICATION)
    _, incident, relayed = read_message_published(envelope(data))
    assert incident.incident_id == INCIDENT_ID
    assert [wrapping.form for wrapping in relayed] == path
    assert load_any(data).incident_id == INCIDENT_ID   # a file holding what was published reads the same


# A relay's own alert format carrying the notification somewhere of its own choosing: which field means what is the
# relay's, so it is refused for what it lacks, kept whole, and named by what Pub/Sub says of it.
REFUSED: dict[str, Callable[[bytes], bytes]] = {
    "an Alertmanager webhook bridged to Pub/Sub": lambda body: as_json({
        "version": "4", "status": "firing", "receiver": "pubsub", "groupKey": "{}:{alertname=\"backend\"}",
        "alerts": [{"status": "firing", "labels": {"alertname": "backend 5xx"}, "annotations": {}}]}),
    "a PagerDuty webhook holding the body as a string": lambda body: as_json({"event": {
        "event_type": "incident.triggered", "data": {"title": "backend 5xx", "body": body.decode()}}}),
    "an Opsgenie webhook holding the body in its description": lambda body: as_json({
        "action": "Create", "alert": {"message": "backend 5xx", "description": body.decode()}}),
    "a CloudEvent of another type": lambda body: structured(body).replace(
        MESSAGE_PUBLISHED.encode(), b"google.cloud.storage.object.v1.finalized"),
    "an array of one notification": lambda body: as_json([json.loads(body)]),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_relays_own_format_is_refused_and_kept(case):
    data = REFUSED[case](NOTIFICATION)
    event = envelope(data)
    with pytest.raises(IncidentParseError):
        read_message_published(event)
    content = received(event)
    assert content.data_form == "text" and json.loads(content.data) == json.loads(data)


def nested(depth: int, body: bytes = NOTIFICATION) -> bytes:
    for _ in range(depth):
        body = as_json({"data": b64(body)})
    return body


def test_a_notification_wrapped_past_the_depth_read_is_refused_saying_so():
    with pytest.raises(IncidentParseError) as refused:
        read_message_published(envelope(nested(MAX_WRAPPINGS + 1)))
    assert f"wrapped more than {MAX_WRAPPINGS} times" in str(refused.value), str(refused.value)


# --- the one rule for what a message's attributes show --------------------------------------------------------------

def test_pubsubs_own_attributes_follow_the_relays_rule():
    """A name that says its value is a secret is redacted whole, on the received message as on the relay's path."""
    attributes = {"x-webhook-token": "plain-words-not-a-credential-shape", "source": "monitoring"}
    content = received(envelope(b"{}", attributes=attributes))
    _, _, relayed = read_message_published(envelope(as_json({"data": b64(NOTIFICATION), "attributes": attributes})))
    assert content.attributes == relayed[0].attributes == {"x-webhook-token": REDACTED, "source": "monitoring"}


def test_attributes_that_are_no_object_are_shown_alike():
    content = received(envelope(b"{}", attributes="relay=router"))
    _, _, relayed = read_message_published(envelope(as_json({"data": b64(NOTIFICATION), "attributes": "relay=router"})))
    assert content.attributes == relayed[0].attributes == {"(attributes)": "relay=router"}


def test_megabytes_of_attributes_are_bounded_and_say_how_many_more():
    """Pub/Sub takes at most 100 attributes of at most 1024 bytes each (Pub/Sub quotas, "Resource limits", as the
    IngestionFailureEvent.ApiViolationReason docstring quotes them): a message past them came through no Pub/Sub
    topic as it is; it is kept to those bounds, saying what was left out."""
    attributes = {f"a{i}": "v" * 50_000 for i in range(200)}
    content = received(envelope(b"{}", attributes=attributes))
    assert len(content.attributes) == 101
    assert all(len(value) <= 1030 for value in content.attributes.values())
    assert "100 more attributes" in content.attributes["(more)"]


# --- a rejection's naming stays small, whatever the relay sent --------------------------------------------------------

def test_a_rejection_of_a_huge_relayed_body_is_named_in_bounded_words():
    notification = json.loads(NOTIFICATION)
    notification["incident"]["started_at"] = "yesterday"
    # Past the parser's 256 KiB, within what the outcome keeps (1 MiB): named through its wrapping all the same.
    body = as_json({"message": {"data": b64(as_json(notification)), "messageId": "m" * 100_000,
                                "publishTime": "p" * 100_000, "attributes": {f"a{i}": "v" * 1_000 for i in range(300)}},
                    "subscription": "s" * 100_000})
    event = envelope(body, publishTime="t" * 100_000)
    event["message"]["messageId"] = "i" * 100_000
    with pytest.raises(IncidentParseError) as refused:
        read_message_published(event)
    content = received(event)
    name = named(content, refused.value.field)
    assert name.incident_id == INCIDENT_ID and len(name.words) < 500
    assert len(json.dumps(content.excerpt())) < 64 * 1024
    assert [len(json.dumps(wrapping.model_dump())) < 32 * 1024 for wrapping in name.relayed] == [True]


def test_the_timeline_line_of_a_message_with_pubsubs_most_attributes_stays_small():
    """100 attributes of 1024 characters each, all escaped (a control character takes 6 on the line), would make the
    `rejected` line past Cloud Logging's 256 KB entry: the excerpt cuts them as a relay's are, the outcome keeps them."""
    attributes = {f"a{i:03}": "\x01" * 1024 for i in range(100)}
    content = received(envelope(b"not json", attributes=attributes))
    assert content.attributes == attributes
    excerpt = content.excerpt()
    assert len(json.dumps(excerpt)) < 64 * 1024 and excerpt["attributes_cut"]
