"""Pub/Sub publishing (`shared.ports.PublisherPort`) with per-key ordering.

The client library is imported and the client created on first publish, then reused:
Cloud Functions keeps the instance (and its gRPC channel) warm between events. It finds
the emulator through PUBSUB_EMULATOR_HOST on its own.
"""
from __future__ import annotations

import threading
from typing import Any

from shared.errors import PermanentError, RunwardenError, TransientError, classify
from shared.gcp.wire import unary, within


class PubSubPublisher:
    """`PublisherPort`. `topic` is `projects/P/topics/T`, or a bare name when `project` is set."""

    # Publish only: roles/pubsub.publisher holds exactly this permission.
    iam_permissions = {"publish": ("pubsub.topics.publish",)}

    def __init__(self, project: str | None = None, *, timeout: float = 30.0) -> None:
        self.project = project
        self.timeout = timeout
        self._client: Any = None
        self._publish_retry: Any = None
        self._publish_wire: _PublishWire | None = None
        self._lock = threading.Lock()

    def publish(self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str = "") -> str:
        path = self._topic_path(topic)
        client = self._publisher()
        try:
            return self._send(client, path, data, attributes, ordering_key)
        except Exception as exc:  # noqa: BLE001 - every failure leaves as Transient/Permanent
            raise _named(_classify(exc), path) from exc

    def _send(self, client: Any, path: str, data: bytes, attributes: dict[str, str], ordering_key: str) -> str:
        """One Publish call, answered before it returns; `timeout` bounds it and its retries.

        Not `PublisherClient.publish`: that hands the message to a batch and a sequencer, starts a
        commit thread for it and returns a future (publisher/client.py, _batch/thread.py,
        google-cloud-pubsub 2.x): machinery for many messages in flight, where a handler sends
        one outcome and waits for its ack. Ordering is the same: a handler's publishes on a key
        are sequential (each waits for its ack), and the server keeps "publish order" per key
        (PubsubMessage.ordering_key, google/pubsub/v1/pubsub.proto). A failure no longer pauses
        the key (the sequencer did that, so that later messages on it failed too); it is raised,
        and the redelivered event publishes again. Retried on the codes, and with the backoff,
        of the GAPIC's default for Publish (pubsub_v1 services/publisher/transports/base.py),
        within `timeout` instead of its 600 s.

        The call is the GAPIC `Publish` as the client's GAPIC method makes it (`_PublishWire`),
        on the client's own channel, with the raw protobuf request: the GAPIC method would build
        a proto-plus request and go through its wrappers for the same bytes on the wire."""
        wire = self._wire(client)
        request = wire.request(path, data, attributes, ordering_key)
        return within(lambda timeout=None: wire.call(request, timeout), self.timeout, self._retry()).message_ids[0]

    def _wire(self, client: Any) -> "_PublishWire":
        wire = self._publish_wire
        if wire is None or wire.client is not client:
            wire = self._publish_wire = _PublishWire(client)
        return wire

    def _retry(self) -> Any:
        """The Publish retry (see `_send`), built once per publisher: it depends only on `timeout`."""
        if self._publish_retry is None:
            from google.api_core import exceptions
            from google.api_core import retry as retries

            self._publish_retry = retries.Retry(
                initial=0.1, maximum=60.0, multiplier=4, timeout=self.timeout,
                predicate=retries.if_exception_type(
                    exceptions.Aborted, exceptions.Cancelled, exceptions.DeadlineExceeded,
                    exceptions.InternalServerError, exceptions.ResourceExhausted,
                    exceptions.ServiceUnavailable, exceptions.Unknown))
        return self._publish_retry

    def warm(self) -> None:
        """Builds the client and opens its connection now (nothing is published); idempotent and
        thread-safe."""
        from shared.gcp.endpoints import connect

        connect(self._publisher().transport)

    def _topic_path(self, topic: str) -> str:
        if topic.startswith("projects/"):
            return topic
        if not self.project:
            raise PermanentError(f"topic {topic!r} is not a full path and no project is set", code="INVALID_ARGUMENT")
        return f"projects/{self.project}/topics/{topic}"

    def _publisher(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._new_client()
            return self._client

    @staticmethod
    def _new_client() -> Any:
        from google.cloud import pubsub_v1

        try:
            # No batch settings or ordering options: they configure the library's batching
            # `publish`, which `_send` does not use (it makes the GAPIC Publish call itself).
            return pubsub_v1.PublisherClient()
        except Exception as exc:  # noqa: BLE001 - e.g. no credentials
            raise _classify(exc) from exc


class _PublishWire:
    """The GAPIC Publish, made as `google.pubsub_v1.services.publisher.PublisherClient.publish`
    makes it: on the client transport's channel, method `/google.pubsub.v1.Publisher/Publish`,
    with the metadata its wrapped method adds (`x-goog-api-client` from the transport's
    DEFAULT_CLIENT_INFO, `gapic_v1.method.wrap_method`) and its routing header
    (`x-goog-request-params: topic=...`, `gapic_v1.routing_header.to_grpc_metadata`), errors mapped
    as GAPIC maps them (`google.api_core.exceptions.from_grpc_error`). The request is the raw
    protobuf behind proto-plus's PublishRequest (the library builds its messages the same way:
    publisher/client.py `_raw_proto_pubbsub_message`); the server receives the same bytes."""

    METHOD = "/google.pubsub.v1.Publisher/Publish"

    def __init__(self, client: Any) -> None:
        from google.pubsub_v1 import types
        from google.pubsub_v1.services.publisher.transports.base import DEFAULT_CLIENT_INFO

        self.client = client
        validate = getattr(client, "_validate_universe_domain", None)   # what the GAPIC method checks first
        if validate is not None:
            validate()
        self._request = types.PublishRequest.pb()
        self._stub = client.transport.grpc_channel.unary_unary(
            self.METHOD, request_serializer=self._request.SerializeToString,
            response_deserializer=types.PublishResponse.pb().FromString)
        self._client_info = DEFAULT_CLIENT_INFO.to_grpc_metadata()
        self._metadata: dict[str, tuple[tuple[str, str], ...]] = {}

    def request(self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str) -> Any:
        request = self._request(topic=topic)
        request.messages.add(data=data, attributes=attributes, ordering_key=ordering_key)
        return request

    def metadata(self, topic: str) -> tuple[tuple[str, str], ...]:
        found = self._metadata.get(topic)
        if found is None:
            from google.api_core.gapic_v1 import routing_header

            found = self._metadata[topic] = (self._client_info, routing_header.to_grpc_metadata((("topic", topic),)))
        return found

    def call(self, request: Any, timeout: float | None) -> Any:
        return unary(self._stub, request, timeout, self.metadata(request.topic))


def _named(err: RunwardenError, path: str) -> RunwardenError:
    """`err` saying which topic the publish was for, and, for a refusal for good, what to fix: the
    API's own words do not name it ("Topic not found"; PERMISSION_DENIED names no permission in
    Pub/Sub's "User not authorized to perform this action.", UNCONFIRMED as its only wording), and a
    publish that fails is reported where a person reads it, the timeline's `error` line."""
    if type(err) is TransientError:
        return TransientError(f"Publish {path}: {err}")
    if type(err) is not PermanentError:
        return err
    fix = {"NOT_FOUND": " (the topic does not exist: create it, or correct outcomes_topic)",
           "PERMISSION_DENIED": " (Runwarden's service account needs pubsub.topics.publish on it)"}.get(err.code, "")
    return PermanentError(f"Publish {path}: {err}{fix}", code=err.code)


def _classify(exc: BaseException) -> RunwardenError:
    from google.api_core.exceptions import RetryError

    if isinstance(exc, RetryError):
        # The client's retry deadline ran out: no status of its own, but its last cause has one.
        return classify(exc.cause) if exc.cause else TransientError(str(exc))
    return classify(exc)
