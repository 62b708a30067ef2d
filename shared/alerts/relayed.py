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
- a 1st gen Cloud Function's Pub/Sub event republished (`{"@type": "type.googleapis.com/google.pubsub.v1.PubsubMessage",
  "data": ..., "attributes": ...}`, Cloud Functions 1st gen "Pub/Sub triggers"; its legacy `{"context", "data"}` form);
- an Eventarc CloudEvent republished whole, in the CloudEvents JSON format (`specversion`, `type`
  `google.cloud.pubsub.topic.v1.messagePublished`, its MessagePublishedData as `data` or `data_base64`);
- the notification's text as a JSON string (encoded twice), or as base64 text (encoded twice), base64 wrapped in lines
  (RFC 2045 6.8: Python's `base64.encodebytes`, `openssl base64`), and either of those again (a JSON string of a JSON
  string, base64 of base64).

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
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.redaction import REDACTED, redacted

# How many wrappings are read through: a relay's, and a relay's of a relay's, with room for one more.
MAX_WRAPPINGS = 3

# A notification's own bound (shared/alerts/incidents.py MAX_NOTIFICATION_BYTES, which imports this module: the two
# are held equal by tests/unit/test_relayed_paths.py).
NOTIFICATION_BYTES = 256 * 1024

# What one wrapping adds around the text it wraps, at most: its attributes (Pub/Sub, "Quotas and limits", resource
# limits, cloud.google.com/pubsub/quotas#resource_limits: at most 100 attributes per message, a key of at most 256
# bytes, a value of at most 1024), each character escaped in JSON at most 6 bytes (`\u0001`), and its other keys
# (message id, publish time, subscription, a CloudEvent's attributes) in 4 KiB.
WRAPPING_BYTES = 100 * (256 + 1024) * 6 + 4096

# A relay's text, and the texts inside it, are read up to what a notification at its bound takes wrapped MAX_WRAPPINGS
# times in base64 (4/3 of what it wraps, and its padding, each time), each wrapping at its largest: 4.6 MiB, under
# Pub/Sub's 10 MB message (same page). Before, each text was held to the notification's own 256 KiB: a relay's push
# body around a notification of 192 KiB (its base64 alone 256 KiB) was refused as too large, the notification inside
# never read. The notification reached is still held to its own bound (incidents.py, _read_notification).
def _wrapped_bound(inner: int, wrappings: int) -> int:
    return inner if wrappings == 0 else _wrapped_bound((inner + WRAPPING_BYTES) * 4 // 3 + 4, wrappings - 1)


MAX_WRAPPED_TEXT_BYTES = _wrapped_bound(NOTIFICATION_BYTES, MAX_WRAPPINGS)

# The keys of a PubsubMessage (proto names and their JSON names) and of a push body.
_MESSAGE_KEYS = frozenset({"data", "attributes", "messageId", "message_id", "publishTime", "publish_time",
                           "orderingKey", "ordering_key"})
_PUSH_KEYS = frozenset({"message", "subscription", "deliveryAttempt", "delivery_attempt"})

# The keys of a 1st gen Cloud Function's legacy event (Cloud Functions 1st gen, "Pub/Sub triggers": `context` and
# `data`, the PubsubMessage with its `@type`), and of a CloudEvent in the CloudEvents JSON format (its required and
# optional attributes: CloudEvents spec 1.0 "Context Attributes"; `data`/`data_base64`: "JSON Event Format").
_LEGACY_KEYS = frozenset({"context", "data"})
_PUBSUB_MESSAGE_TYPE = "type.googleapis.com/google.pubsub.v1.PubsubMessage"
_MESSAGE_PUBLISHED = "google.cloud.pubsub.topic.v1.messagePublished"
_CLOUD_EVENT_KEYS = frozenset({"specversion", "type", "source", "id", "time", "subject", "datacontenttype",
                               "dataschema", "data", "data_base64"})

# A relay's values are cut where they are shown: the whole message is the relay's to keep.
_SHOWN_CHARACTERS = 512
_SHOWN_ATTRIBUTES = 20

# A text in base64's alphabet, as a relay's base64 of base64 decodes to (line breaks allowed: RFC 2045 6.8).
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/=\s]+")


class Relayed(BaseModel):
    """One wrapping a relay put around the notification, outermost first on an outcome (`relayed`): its `form`
    (`push_body`: a push body republished; `message`: a PubsubMessage, its data base64 or an object (a 1st gen
    function's event too); `cloud_event`: an Eventarc CloudEvent republished, its `id` as `message_id`, its `source` as
    `subscription`, its `time` as `publish_time`; `json_string`, `base64`: the text encoded twice) and what it says of the path the alert took: the relay's
    subscription, the message id, publish time and attributes it carried (credentials redacted, each value cut
    at 512 characters, at most 20 attributes)."""

    model_config = ConfigDict(frozen=True)

    form: Literal["push_body", "message", "cloud_event", "json_string", "base64"]
    subscription: str | None = None
    message_id: str | None = None
    publish_time: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class Reached:
    """The JSON object `read_through` reached, and the wrappings it read through to reach it, outermost first.
    `deeper`: `doc` (or the text reached) is itself a wrapping, past the MAX_WRAPPINGS read."""

    doc: Mapping[str, Any]
    relayed: tuple[Relayed, ...] = ()
    deeper: bool = False
    size: int = 0       # the bytes of the text `doc` was read from


class WrappedTooDeep(ValueError):
    """A text that is no JSON object and is a wrapping past the MAX_WRAPPINGS read: `relayed` the ones read."""

    def __init__(self, relayed: tuple[Relayed, ...]) -> None:
        super().__init__(wrapped_too_deep(relayed))
        self.relayed = relayed


def wrapped_too_deep(relayed: tuple[Relayed, ...]) -> str:
    """Why a notification wrapped past the depth read is not read: what was read, and where the bound is."""
    return (f"wrapped more than {MAX_WRAPPINGS} times: {' > '.join(w.form for w in relayed)} were read through and "
            f"another wrapping was found inside, which is not read (at most {MAX_WRAPPINGS} are: a relay's, a relay's "
            "of a relay's, and room for one more); send the notification with fewer wrappings")


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
            inner = _wrapped_text(text)
            if inner is None:
                raise
            if len(relayed) == MAX_WRAPPINGS:
                raise WrappedTooDeep(tuple(relayed)) from None
        else:
            inner = _wrapped_object(doc) if "incident" not in doc else None
            if inner is None or len(relayed) == MAX_WRAPPINGS:
                return Reached(doc, tuple(relayed), deeper=inner is not None, size=len(text))
        text, wrapping = inner
        relayed.append(wrapping)


def _wrapped_text(raw: bytes) -> tuple[bytes, Relayed] | None:
    """The text a relay wrapped in `raw`, when `raw` is no JSON object: a JSON string holding an object's text, or
    base64 of one. None otherwise, or when `raw` is past MAX_WRAPPED_TEXT_BYTES."""
    if len(raw) > MAX_WRAPPED_TEXT_BYTES:
        return None
    try:
        text = raw.decode("utf-8-sig")   # a byte order mark at the start ignored, as incidents._json_object does
    except UnicodeDecodeError:
        return None
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        # No JSON: base64 text, or else no wrapping (a broken object's text is the relay's error, not a wrapping).
        decoded = _decoded(text)
        return None if decoded is None else (decoded, Relayed(form="base64"))
    inner = _object_text(parsed) if isinstance(parsed, str) else None
    return None if inner is None else (inner, Relayed(form="json_string"))


def _wrapped_object(doc: Mapping[str, Any]) -> tuple[bytes, Relayed] | None:
    """The text a relay wrapped in the JSON object `doc` (a push body, a message or a CloudEvent republished), or
    None when `doc` is no such wrapping."""
    keys, subscription, form = set(doc), None, "message"
    if "specversion" in keys:
        return _wrapped_event(doc)
    if "message" in keys and keys <= _PUSH_KEYS and isinstance(doc["message"], Mapping):
        subscription, form = doc.get("subscription"), "push_body"
        doc = doc["message"]
        keys = set(doc)
    if keys == _LEGACY_KEYS and isinstance(doc["data"], Mapping):
        keys = {"data"}   # a 1st gen function's legacy event: its context says nothing of the path
    if doc.get("@type") == _PUBSUB_MESSAGE_TYPE:
        keys = keys - {"@type"}
    if "data" not in keys or not keys <= _MESSAGE_KEYS:
        return None
    data = doc["data"]
    if isinstance(data, Mapping):
        inner: bytes | None = json.dumps(data).encode("utf-8", "surrogatepass")
    else:
        inner = _object_text(data) if isinstance(data, str) else None
    if inner is None:
        return None
    return inner, Relayed(form=form, subscription=shown(subscription),
                          message_id=shown(doc.get("messageId", doc.get("message_id"))),
                          publish_time=shown(doc.get("publishTime", doc.get("publish_time"))),
                          attributes=shown_attributes(doc.get("attributes")))


def _wrapped_event(event: Mapping[str, Any]) -> tuple[bytes, Relayed] | None:
    """The MessagePublishedData an Eventarc CloudEvent republished whole holds (`data`, or `data_base64` decoded), or
    None when `event` is no such CloudEvent (another type, a key no CloudEvent has, no data)."""
    if event.get("type") != _MESSAGE_PUBLISHED or not set(event) <= _CLOUD_EVENT_KEYS:
        return None
    data, encoded = event.get("data"), event.get("data_base64")
    if isinstance(data, Mapping):
        inner: bytes | None = json.dumps(data).encode("utf-8", "surrogatepass")
    else:
        inner = _object_text(encoded) if isinstance(encoded, str) and data is None else None
    if inner is None:
        return None
    return inner, Relayed(form="cloud_event", subscription=shown(event.get("source")),
                          message_id=shown(event.get("id")), publish_time=shown(event.get("time")))


# A byte order mark a writer put before the text it wrapped, ignored once at the start as incidents._json_object
# ignores one (RFC 8259 section 8.1: a parser "MAY ignore the presence of a byte order mark").
_MARK = "\ufeff"
_MARK_BYTES = _MARK.encode("utf-8")


def _object_text(text: str) -> bytes | None:
    """`text` as a JSON object's UTF-8 text, itself or base64-decoded (its line breaks dropped), or as a text wrapping
    again (a JSON string, base64 text), which `read_through` reads on; None when it is none of those."""
    stripped = text.strip().removeprefix(_MARK)
    if stripped.startswith(("{", '"')):
        return stripped.encode("utf-8", "surrogatepass")
    return _decoded(stripped)


def _decoded(text: str) -> bytes | None:
    """`text` base64-decoded (its line breaks dropped), when what it decodes to is a JSON object's or string's text or
    base64 text again; None otherwise."""
    try:
        decoded = base64.b64decode("".join(text.split()), validate=True).strip().removeprefix(_MARK_BYTES)
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded.startswith((b"{", b'"')) or _BASE64_TEXT.fullmatch(decoded) else None


def text_of(value: Any) -> str | None:
    """A value a message gave, as text: a string as it is, anything else as its JSON (None as None)."""
    return None if value is None else value if isinstance(value, str) else json.dumps(value, default=str)


# A Pub/Sub message's id as Runwarden writes it: an outcome's `message_id`, the timeline's, a claim's owner, an intent's
# key. Pub/Sub sets it: "ID of this message, assigned by the server when the message is published. Guaranteed to be
# unique within the topic." (PubsubMessage.message_id, google/pubsub/v1/pubsub.proto); the ids it assigns are decimal
# digits (UNCONFIRMED: the proto promises no format, so any id of a token's characters is taken as it came). A push
# body is JSON posted to the function, so a forged one, or a relay's republished envelope, may put anything under
# `messageId`: a credential, a sentence, megabytes. An id of letters, digits, ".", "_", ":" and "-", at most
# MESSAGE_ID_MAX of them and holding no credential, is written as it came; any other as a digest of itself, which
# names the same message on every delivery (its answers' outcome ids derive from it) and shows none of it.
MESSAGE_ID_MAX = 128
_MESSAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


def message_id_written(value: Any) -> str | None:
    """The id a message gave (`messageId`), as Runwarden writes it; None or "" as given."""
    text = text_of(value)
    if not text:
        return text
    if len(text) <= MESSAGE_ID_MAX and _MESSAGE_ID.fullmatch(text) and redacted(text) == text:
        return text
    return "unreadable-" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def shown(value: Any, characters: int = _SHOWN_CHARACTERS) -> str | None:
    """A message's value as text, its credentials redacted and cut at `characters`, saying so: it is the sender's,
    and may be anything."""
    text = text_of(value)
    if text is None:
        return None
    text = redacted(text)
    return text if len(text) <= characters else text[:characters] + "..."


# The words in an attribute's name that say its value is a secret (a webhook's signing secret, a token the relay
# forwards, an API key): a value under such a name is redacted whole, whatever its shape, since a relay's own
# secrets hold none of the shapes redaction knows (shared/redaction.py) and the outcome reaches people and channels.
_SECRET_NAMES = ("token", "secret", "password", "passwd", "key", "auth", "credential", "signature", "cookie",
                 "session")

# Where attributes that are no object are shown, and where those past the count are counted.
NOT_AN_OBJECT, MORE = "(attributes)", "(more)"


def shown_attributes(raw: Any, count: int = _SHOWN_ATTRIBUTES, characters: int = _SHOWN_CHARACTERS) -> dict[str, str]:
    """The one rule for what a message's attributes show, Pub/Sub's own on a rejected message (`received`) and a relay's
    on its path (`relayed`) alike: the first `count`, each name and value cut at `characters`, a value whose name says
    it is a secret redacted whole and any other's credentials redacted; those past `count` counted under "(more)";
    attributes that are no object shown as text under "(attributes)"."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        return {NOT_AN_OBJECT: shown(raw, characters) or ""}
    items = list(raw.items())
    kept = {str(name)[:characters]: _attribute(str(name), value, characters) for name, value in items[:count]}
    if len(items) > count:
        kept[MORE] = f"{len(items) - count} more attributes not shown"
    return kept


def _attribute(name: str, value: Any, characters: int) -> str:
    lowered = name.lower()
    if any(word in lowered for word in _SECRET_NAMES):
        return REDACTED
    return shown(value, characters) or ""
