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

A push subscription with payload unwrapping (`no_wrapper`, Pub/Sub "Payload unwrapping") delivers the message's
data as the request body and its attributes and metadata as `x-goog-pubsub-*` headers when `write_metadata` is
set: that body is the notification itself, with no wrapping to read through, and a relay that republishes it
republishes the notification (read as Monitoring's own).

`read_through` is the one rule: the parser (shared/alerts/incidents.py, strict) and the rejection's naming of
its incident (shared/alerts/received.py, lenient) each give it their own JSON reading, so both read through
the same wrappings to the same notification. Only a wrapping whose every key is one of those forms' own is read
through, only to a JSON object's text, and only while the text is an object without `incident` or no object:
anything else stays as it came, and is rejected naming what it lacks. What each wrapping said of the path (the
relay's subscription, message id, publish time, attributes) is kept (`Relayed`), for the outcome. Pure: no I/O.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.redaction import REDACTED, redacted

# How many wrappings are read through: a relay's, and a relay's of a relay's, with room for one more.
MAX_WRAPPINGS = 3

# A text is looked into for a wrapping up to twice a notification's 256 KiB bound (shared/alerts/incidents.py
# MAX_NOTIFICATION_BYTES): base64 of one at its bound is 4/3 of it. The bound on the outer text is the reader's.
MAX_WRAPPED_TEXT_BYTES = 2 * 256 * 1024

# The keys of a PubsubMessage (proto names and their JSON names) and of a push body.
_MESSAGE_KEYS = frozenset({"data", "attributes", "messageId", "message_id", "publishTime", "publish_time",
                           "orderingKey", "ordering_key"})
_PUSH_KEYS = frozenset({"message", "subscription", "deliveryAttempt", "delivery_attempt"})

# A relay's values are cut where they are shown: the whole message is the relay's to keep.
_SHOWN_CHARACTERS = 512
_SHOWN_ATTRIBUTES = 20


class Relayed(BaseModel):
    """One wrapping a relay put around the notification, outermost first on an outcome (`relayed`): its `form`
    (`push_body`: a push body republished; `message`: a PubsubMessage, its data base64 or an object;
    `json_string`, `base64`: the text encoded twice) and what it says of the path the alert took: the relay's
    subscription, the message id, publish time and attributes it carried (credentials redacted, each value cut
    at 512 characters, at most 20 attributes)."""

    model_config = ConfigDict(frozen=True)

    form: Literal["push_body", "message", "json_string", "base64"]
    subscription: str | None = None
    message_id: str | None = None
    publish_time: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class Reached:
    """The JSON object `read_through` reached, and the wrappings it read through to reach it, outermost first."""

    doc: Mapping[str, Any]
    relayed: tuple[Relayed, ...] = ()


def read_through(raw: bytes, as_object: Callable[[bytes], Mapping[str, Any]]) -> Reached:
    """The notification object in `raw`, read through at most MAX_WRAPPINGS wrappings. `as_object` is the caller's
    JSON reading of a text (its bounds, its errors): it raises ValueError for a text that is no JSON object. An
    object with `incident` is the notification, whatever else it holds; when no wrapping is found, `as_object`'s
    error for the innermost text reached is raised, or its object (without `incident`) returned."""
    relayed: list[Relayed] = []
    text = raw
    while True:
        try:
            doc = as_object(text)
        except ValueError:
            inner = _wrapped_text(text) if len(relayed) < MAX_WRAPPINGS else None
            if inner is None:
                raise
        else:
            inner = _wrapped_object(doc) if "incident" not in doc and len(relayed) < MAX_WRAPPINGS else None
            if inner is None:
                return Reached(doc, tuple(relayed))
        text, wrapping = inner
        relayed.append(wrapping)


def _wrapped_text(raw: bytes) -> tuple[bytes, Relayed] | None:
    """The text a relay wrapped in `raw`, when `raw` is no JSON object: a JSON string holding an object's text, or
    base64 of one. None otherwise, or when `raw` is past MAX_WRAPPED_TEXT_BYTES."""
    if len(raw) > MAX_WRAPPED_TEXT_BYTES:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        parsed, form = json.loads(text), "json_string"
    except (ValueError, RecursionError):
        parsed, form = text, "base64"
    inner = _object_text(parsed) if isinstance(parsed, str) else None
    return None if inner is None else (inner, Relayed(form=form))


def _wrapped_object(doc: Mapping[str, Any]) -> tuple[bytes, Relayed] | None:
    """The text a relay wrapped in the JSON object `doc` (a push body or a message republished), or None when `doc`
    is no such wrapping."""
    keys, subscription, form = set(doc), None, "message"
    if "message" in keys and keys <= _PUSH_KEYS and isinstance(doc["message"], Mapping):
        subscription, form = doc.get("subscription"), "push_body"
        doc = doc["message"]
        keys = set(doc)
    if "data" not in keys or not keys <= _MESSAGE_KEYS:
        return None
    data = doc["data"]
    if isinstance(data, Mapping):
        inner: bytes | None = json.dumps(data).encode("utf-8", "surrogatepass")
    else:
        inner = _object_text(data) if isinstance(data, str) else None
    if inner is None:
        return None
    return inner, Relayed(form=form, subscription=_shown(subscription),
                          message_id=_shown(doc.get("messageId", doc.get("message_id"))),
                          publish_time=_shown(doc.get("publishTime", doc.get("publish_time"))),
                          attributes=_attributes(doc.get("attributes")))


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


def _shown(value: Any) -> str | None:
    """A relay's value as text, redacted and cut: it is the relay's, and may be anything."""
    if value is None:
        return None
    text = redacted(value if isinstance(value, str) else json.dumps(value, default=str))
    return text if len(text) <= _SHOWN_CHARACTERS else text[:_SHOWN_CHARACTERS] + "..."


# The words in an attribute's name that say its value is a secret (a webhook's signing secret, a token the relay
# forwards, an API key): a value under such a name is redacted whole, whatever its shape, since a relay's own
# secrets hold none of the shapes redaction knows (shared/redaction.py) and the outcome reaches people and channels.
_SECRET_NAMES = ("token", "secret", "password", "passwd", "key", "auth", "credential", "signature", "cookie",
                 "session")


def _attributes(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(key)[:_SHOWN_CHARACTERS]: _attribute(str(key), value)
            for key, value in list(raw.items())[:_SHOWN_ATTRIBUTES]}


def _attribute(name: str, value: Any) -> str:
    lowered = name.lower()
    if any(word in lowered for word in _SECRET_NAMES):
        return REDACTED
    return _shown(value) or ""
