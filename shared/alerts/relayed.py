"""A Monitoring notification that reached the alerts topic wrapped by a relay, read through its wrapping.

Cloud Monitoring's Pub/Sub channel publishes the notification's JSON itself as the message's data
(Cloud Monitoring, "Notification content" and "Create and manage notification channels": Pub/Sub; the
schema 1.2 samples in tests/fixtures/samples). Something between Monitoring and Runwarden (a Cloud Function
forwarding its trigger to another topic, an organisation's alert router) may republish it in a wrapping of
its own. Which wrappings relays in the field use is UNCONFIRMED (no documented relay, no sample); those read
here are the forms a function that re-sends what it was given takes, none of which can mean anything but the
notification inside:
- the push body or its `message` object republished: `{"message": {"data": "<base64>", ...}, "subscription": ...}`
  or `{"data": "<base64>", "messageId": ..., "attributes": ...}` (PubsubMessage, google/pubsub/v1/pubsub.proto:
  `data` is bytes, base64 in JSON; Pub/Sub "Push subscriptions" for the push body);
- that again, its `data` an object of the same form, or the notification object itself;
- the notification's text as a JSON string (encoded twice), or as base64 text (encoded twice).

Only a wrapping whose every key is one of those forms' own is read through, and only to a JSON object's text:
anything else stays as it came, and is rejected naming what it lacks. Pure: no I/O.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

# How many wrappings are read through: a relay's, and a relay's of a relay's, with room for one more.
MAX_WRAPPINGS = 3

# The keys of a PubsubMessage (proto names and their JSON names) and of a push body.
_MESSAGE_KEYS = frozenset({"data", "attributes", "messageId", "message_id", "publishTime", "publish_time",
                           "orderingKey", "ordering_key"})
_PUSH_KEYS = frozenset({"message", "subscription", "deliveryAttempt", "delivery_attempt"})


def wrapped_text(raw: bytes) -> bytes | None:
    """The text a relay wrapped in `raw`, when `raw` is no JSON object: a JSON string holding an object's text, or
    base64 of one. None otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        parsed = text
    return _object_text(parsed) if isinstance(parsed, str) else None


def wrapped_object(doc: Mapping[str, Any]) -> bytes | None:
    """The text a relay wrapped in the JSON object `doc` (a push body or a message republished), or None when `doc`
    is no such wrapping."""
    keys = set(doc)
    if "message" in keys and keys <= _PUSH_KEYS and isinstance(doc["message"], Mapping):
        doc = doc["message"]
        keys = set(doc)
    if "data" not in keys or not keys <= _MESSAGE_KEYS:
        return None
    data = doc["data"]
    if isinstance(data, Mapping):
        return json.dumps(data).encode("utf-8", "surrogatepass")
    return _object_text(data) if isinstance(data, str) else None


def _object_text(text: str) -> bytes | None:
    """`text` as a JSON object's UTF-8 text, itself or base64-decoded, or None when it is neither."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return stripped.encode("utf-8", "surrogatepass")
    try:
        decoded = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded.lstrip().startswith(b"{") else None
