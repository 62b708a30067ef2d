"""How many times one Pub/Sub message has been delivered, and what a fault in the state store says.

Pub/Sub redelivers a message the function did not answer with a 2xx. Two sources count the
deliveries of one message:
- the push request's `deliveryAttempt`. Pub/Sub sets it only when the subscription has a
  dead-letter policy: "If a DeadLetterPolicy is not set on the subscription, this will be 0"
  (ReceivedMessage.delivery_attempt, google-cloud-pubsub 2.44.0 types/pubsub.py; the push body
  carries the same number as `deliveryAttempt`, Pub/Sub "Push subscriptions" and "Dead-letter
  topics"). It counts across instances. infra/ sets the policy, so production has it;
- otherwise (the Pub/Sub emulator, a subscription without the policy) this instance's own count
  per message id: a redelivery to another instance starts again at 1, which only delays giving
  up. The count is kept for a bounded number of messages.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from shared.alerts.relayed import message_id_written
from shared.errors import PermanentError, TransientError


class DeliveryCounter:
    """Deliveries seen per message id, thread-safe, for at most `capacity` messages."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, int] = OrderedDict()
        # A message's last delivery held back by another write in flight: (its target, that write's claim
        # holder). Its next delivery here checks that claim first (shared.pipeline `_still_in_flight`).
        self._held_back: dict[str, tuple[str, str]] = {}
        # When a message was first held back so here: how long it has waited for writes in flight, which
        # decides when it is given up on where no dead-letter policy counts its deliveries (shared.pipeline
        # `_gives_up`). Kept until the message is answered, across the writes that held it.
        self._held_since: dict[str, datetime] = {}
        # A message's last delivery waited on its own page claim, taken by another delivery and not completed
        # (shared.pipeline PageInProgress): (that claim's key, its holder). Its next delivery here reads that
        # claim first. Never counted as held back: an attempt at the same message is waited out, not given up on.
        self._page_waits: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def attempt(self, message_id: str | None, reported: int | None = None) -> int:
        """This delivery's number (1 for the first): Pub/Sub's when it reports one, else our count."""
        if message_id is None:
            return reported if reported and reported > 0 else 1
        with self._lock:
            count = max(self._seen.pop(message_id, 0) + 1, reported or 0)
            self._seen[message_id] = count
            while len(self._seen) > self._capacity:
                dropped, _ = self._seen.popitem(last=False)
                self._held_back.pop(dropped, None)
                self._held_since.pop(dropped, None)
                self._page_waits.pop(dropped, None)
            return count

    def hold_back(self, message_id: str | None, target: str, holder: str, now: datetime | None = None) -> None:
        """The message's delivery met `holder`'s write in flight on `target` (WriteInFlight) at `now`."""
        if message_id is None or not target or not holder:
            return
        with self._lock:
            if message_id in self._seen:
                self._held_back[message_id] = (target, holder)
                if now is not None:
                    self._held_since.setdefault(message_id, now)

    def held_for(self, message_id: str | None, now: datetime) -> timedelta:
        """How long the message has been held back by writes in flight, as seen here (0 if it never was)."""
        if message_id is None:
            return timedelta(0)
        with self._lock:
            since = self._held_since.get(message_id)
        return max(now - since, timedelta(0)) if since is not None else timedelta(0)

    def held_back(self, message_id: str | None) -> tuple[str, str] | None:
        """(target, holder) of the write in flight that held back the message's last delivery here, if any."""
        if message_id is None:
            return None
        with self._lock:
            return self._held_back.get(message_id)

    def wait_on_page(self, message_id: str | None, claim_key: str, holder: str) -> None:
        """The message's delivery met its own page claim `claim_key`, held by `holder` and not completed."""
        if message_id is None or not claim_key or not holder:
            return
        with self._lock:
            if message_id in self._seen:
                self._page_waits[message_id] = (claim_key, holder)

    def page_waited_on(self, message_id: str | None) -> tuple[str, str] | None:
        """(claim key, holder) of the page claim the message's last delivery here waited on, if any."""
        if message_id is None:
            return None
        with self._lock:
            return self._page_waits.get(message_id)

    def let_through(self, message_id: str | None) -> None:
        if message_id is not None:
            with self._lock:
                self._held_back.pop(message_id, None)
                self._page_waits.pop(message_id, None)

    def forget(self, message_id: str | None) -> None:
        """The message was answered with a 2xx: Pub/Sub will not deliver it again."""
        if message_id is None:
            return
        with self._lock:
            self._seen.pop(message_id, None)
            self._held_back.pop(message_id, None)
            self._held_since.pop(message_id, None)
            self._page_waits.pop(message_id, None)


class StateStoreUnavailable(TransientError):
    """A transient fault in the state store (Firestore down, unreachable, or contended)."""


class GuardedState:
    """A StateStore whose faults say that the state store is where they happened.

    Everything else (results, permanent errors, attributes) passes through unchanged. A method is labelled once
    per guard, on its first read, and kept as a plain attribute: a delivery reads the port's every method twice
    before it reads any state (`require_state_store`, when its Adapters and its gate are built), and building a
    wrapper on each read was about a fifth of a duplicate delivery's own CPU (docs/performance.md, "The guard of
    the state store, built once per method"). The labelled method looks the inner store's method up when called,
    so that a method the store is given later (a test's double) is the one that runs, as before."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value
        labelled = self.__dict__[name] = _Labelled(self._inner, name)
        return labelled


class _Labelled:
    """The inner store's method `name`, its faults labelled as the state store's."""

    __slots__ = ("_inner", "_name")

    def __init__(self, inner: Any, name: str) -> None:
        self._inner, self._name = inner, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._inner, self._name)(*args, **kwargs)
        except StateStoreUnavailable:
            raise
        except TransientError as exc:
            raise StateStoreUnavailable(f"state store unavailable: {exc}") from exc
        except PermanentError as exc:  # e.g. PERMISSION_DENIED on Firestore
            raise PermanentError(f"state store refused the request: {exc}", code=exc.code) from exc


def push_delivery_attempt(body: Any) -> int | None:
    """`deliveryAttempt` of a Pub/Sub push body, if it carries a positive one."""
    value = body.get("deliveryAttempt") if isinstance(body, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def message_key(event_data: Any) -> str:
    """One Pub/Sub message however often it is delivered: its message id, and a digest of what it
    carries (data, attributes, ordering key), so that a message without an id (an envelope that
    lost it) is still known by its content. Every delivery of a message carries the same message:
    "a Pub/Sub-defined unique message ID" (Pub/Sub "Exactly-once delivery"); the push request's own
    fields (`deliveryAttempt`, the subscription) are not part of it. The id is the one Runwarden writes
    (shared/alerts/relayed.py `message_id_written`): the key names the held-message record (a document's id and
    its `key`) and every outcome id derived from it, so a forged id (a token, a sentence) is keyed by its digest,
    the same on every delivery, and a real id as it came."""
    message = event_data.get("message") if isinstance(event_data, Mapping) else None
    if isinstance(message, Mapping):
        ident = message.get("messageId", message.get("message_id"))
        text = _carried_json(message)
    else:
        ident, text = None, json.dumps({"event": event_data}, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    written = message_id_written(str(ident)) if isinstance(ident, (str, int)) else None
    return f"{written}:{digest}" if written else digest


# What a message carries, by its keys as `json.dumps(..., sort_keys=True)` orders them ("K" sorts before "_").
_CARRIED = ("attributes", "data", "orderingKey", "ordering_key")
# The characters of base64's alphabet ("The Base 64 Alphabet", RFC 4648 section 4), "=" included: none of
# them is escaped in JSON text (json.encoder.encode_basestring_ascii escapes only '"', '\\', the control
# characters and everything past '~').
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def _carried_json(message: Mapping[str, Any]) -> str:
    """`json.dumps({k: message.get(k) for k in _CARRIED}, sort_keys=True, default=str)`, the same text.

    A message's `data` is base64 text ("The message data field", PubsubMessage.data, a `bytes` field,
    which proto3's JSON mapping writes as base64: google/pubsub/v1/pubsub.proto; the proto3 JSON
    mapping's table), some 3 KB for a notification, with nothing to escape: escaping it character by
    character, with an encoder built for the call, was about 4.5 % of a fresh duplicate's own
    instructions (bench/duplicate_instructions.py; docs/performance.md). So text of base64's alphabet
    alone is written between quotes as it is, which is exactly what the encoder writes for it; the other
    values, and any `data` that is not such text (the format is relied on for speed only), are encoded as
    before (tests/unit/test_message_key.py compares the two)."""
    data = message.get("data")
    if not (isinstance(data, str) and data.isascii() and not data.encode("ascii").translate(None, _BASE64_ALPHABET)):
        return json.dumps({k: message.get(k) for k in _CARRIED}, sort_keys=True, default=str)
    attributes, key, snake_key = (_json_value(message.get(k)) for k in ("attributes", "orderingKey", "ordering_key"))
    return f'{{"attributes": {attributes}, "data": "{data}", "orderingKey": {key}, "ordering_key": {snake_key}}}'


def _json_value(value: Any) -> str:
    """`value` as `json.dumps(..., sort_keys=True, default=str)` writes it inside a dict (no indent: the
    same text as alone), without building an encoder for the usual absent value."""
    return "null" if value is None else json.dumps(value, sort_keys=True, default=str)
