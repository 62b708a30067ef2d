"""Pub/Sub publishing (`shared.ports.PublisherPort`) with per-key ordering.

The client library is imported and the client created on first publish, then reused:
Cloud Functions keeps the instance (and its gRPC channel) warm between events. It finds
the emulator through PUBSUB_EMULATOR_HOST on its own.
"""
from __future__ import annotations

import threading
from typing import Any

from shared.errors import PermanentError, RunwardenError, TransientError, classify


class PubSubPublisher:
    """`PublisherPort`. `topic` is `projects/P/topics/T`, or a bare name when `project` is set."""

    # Publish only: roles/pubsub.publisher holds exactly this permission.
    iam_permissions = {"publish": ("pubsub.topics.publish",)}

    def __init__(self, project: str | None = None, *, timeout: float = 30.0) -> None:
        self.project = project
        self.timeout = timeout
        self._client: Any = None
        self._lock = threading.Lock()

    def publish(self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str = "") -> str:
        from google.cloud.pubsub_v1.publisher.exceptions import PublishToPausedOrderingKeyException

        path = self._topic_path(topic)
        client = self._publisher()
        try:
            try:
                return self._send(client, path, data, attributes, ordering_key)
            except PublishToPausedOrderingKeyException:
                # An earlier publish on this key failed after we stopped waiting for it (a
                # timeout), so nobody resumed the key. This message is new: resume and send it.
                self._resume(client, path, ordering_key)
                return self._send(client, path, data, attributes, ordering_key)
        except Exception as exc:  # noqa: BLE001 - every failure leaves as Transient/Permanent
            if ordering_key:
                self._resume(client, path, ordering_key)
            raise _classify(exc) from exc

    def _send(self, client: Any, path: str, data: bytes, attributes: dict[str, str], ordering_key: str) -> str:
        """Publishes and waits for the server's ack; `timeout` also bounds the client's retries."""
        future = client.publish(path, data, ordering_key=ordering_key, timeout=self.timeout, **attributes)
        return future.result(timeout=self.timeout)

    @staticmethod
    def _resume(client: Any, path: str, ordering_key: str) -> None:
        # A failed publish pauses its ordering key and rejects every later message on it.
        try:
            client.resume_publish(path, ordering_key)
        except (RuntimeError, ValueError):
            pass  # the key was not paused (e.g. we timed out while the publish was in flight)

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
            return pubsub_v1.PublisherClient(
                publisher_options=pubsub_v1.types.PublisherOptions(enable_message_ordering=True))
        except Exception as exc:  # noqa: BLE001 - e.g. no credentials
            raise _classify(exc) from exc


def _classify(exc: BaseException) -> RunwardenError:
    from google.api_core.exceptions import RetryError

    if isinstance(exc, RetryError):
        # The client's retry deadline ran out: no status of its own, but its last cause has one.
        return classify(exc.cause) if exc.cause else TransientError(str(exc))
    return classify(exc)
