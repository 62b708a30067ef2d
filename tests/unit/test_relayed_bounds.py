"""A relay's large message is refused for its own fault, and read on replay as the pipeline reads it. Pure: the parser
on bytes, no I/O."""
from __future__ import annotations

import base64
import json

import pytest

from shared.alerts.incidents import IncidentParseError, MAX_NOTIFICATION_BYTES, load_published, parse_message_published
from shared.alerts.relayed import MAX_WRAPPED_TEXT_BYTES


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def notification(summary_bytes: int, broken: bool = False) -> bytes:
    incident = {"incident_id": "0.big", "state": "open", "started_at": 1764158400, "policy_name": "backend 5xx",
                "summary": "x" * summary_bytes,
                "resource": {"type": "cloud_run_revision", "labels": {"service_name": "backend"}}}
    text = json.dumps({"incident": incident, "version": "1.2"})
    return (text[:-1] + ",}").encode() if broken else text.encode()   # a trailing comma: no JSON


def push_body(data: bytes) -> bytes:
    return json.dumps({"message": {"data": b64(data), "messageId": "r-1"},
                       "subscription": "projects/relay/subscriptions/forward"}).encode()


@pytest.mark.parametrize("summary", [1_000, 200_000])
def test_a_relayed_notification_that_is_no_json_is_refused_as_no_json_whatever_the_size_of_its_wrapping(summary):
    """A push body of 266,803 bytes around a 200 KB notification with invalid JSON: the wrapping was read fine, the
    notification inside is at fault. Before, any error of a body past 256 KiB was said to be its size ("266803 bytes
    is over the 262144-byte limit"), while the same fault in a small body said "not valid JSON"."""
    relay = push_body(notification(summary, broken=True))
    with pytest.raises(IncidentParseError) as refused:
        parse_message_published({"message": {"data": b64(relay), "messageId": "1"}})
    assert "not valid JSON" in refused.value.reason and "limit" not in refused.value.reason, refused.value.reason


def test_a_text_too_large_to_be_a_notification_and_no_wrapping_is_still_refused_for_its_size():
    text = b"x" * (MAX_NOTIFICATION_BYTES + 10)
    with pytest.raises(IncidentParseError) as refused:
        parse_message_published({"message": {"data": b64(text), "messageId": "1"}})
    assert f"{len(text)} bytes is over the {MAX_NOTIFICATION_BYTES}-byte limit" in refused.value.reason


def test_a_replayed_push_body_past_512_kib_is_read_as_the_pipeline_reads_it():
    """`load_any` (the CLI's replay) of a push body whose message is a relay's, past 512 KiB and within the pipeline's
    bound on a relay's text: its message's data is what a replay publishes. Before, the body was refused as an
    envelope (512 KiB), read as a relay's wrapping of itself, and the whole body published in place of its data."""
    data = push_body(push_body(notification(240_000)))
    body = push_body(data)
    assert 512 * 1024 < len(body) < MAX_WRAPPED_TEXT_BYTES
    incident, published = load_published(body)
    assert incident.incident_id == "0.big" and published == data


def test_a_replayed_cloud_event_whose_data_base64_is_past_512_kib_is_read():
    data = push_body(push_body(notification(240_000)))
    message_published = json.dumps({"message": {"data": b64(data), "messageId": "1"}}).encode()
    event = json.dumps({"specversion": "1.0", "type": "google.cloud.pubsub.topic.v1.messagePublished",
                        "source": "//pubsub.googleapis.com/projects/p/topics/alerts", "id": "1",
                        "data_base64": b64(message_published)}).encode()
    assert len(message_published) > 512 * 1024
    incident, published = load_published(event)
    assert incident.incident_id == "0.big" and published == data
