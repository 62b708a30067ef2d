"""The outcome's Publish call is the GAPIC one: same request bytes, same metadata (no I/O: a
client's channel connects only when a call is made)."""
from __future__ import annotations

import pytest

from shared.gcp.pubsub import _PublishWire

TOPIC = "projects/demo-project/topics/runwarden-outcomes"


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:9")   # no credentials needed; nothing is sent
    from google.cloud import pubsub_v1

    return pubsub_v1.PublisherClient()


def test_the_request_is_the_one_the_gapic_method_builds(client) -> None:
    from google.pubsub_v1 import types

    attributes = {"status": "skipped", "schema": "runwarden.outcome/v1", "service": "api"}
    raw = _PublishWire(client).request(TOPIC, b'{"status": "skipped"}', attributes, "0.incident")

    gapic = types.PublishRequest(topic=TOPIC, messages=[types.PubsubMessage(
        data=b'{"status": "skipped"}', attributes=attributes, ordering_key="0.incident")])
    assert raw.SerializeToString(deterministic=True) == types.PublishRequest.pb(gapic).SerializeToString(
        deterministic=True)


def test_the_metadata_is_the_gapic_method_s_api_client_header_and_routing_header(client) -> None:
    from google.api_core.gapic_v1 import routing_header

    wrapped = client.transport._wrapped_methods[client.transport.publish]
    metadata = _PublishWire(client).metadata(TOPIC)

    assert metadata == (("x-goog-api-client", wrapped._x_goog_api_client),
                        routing_header.to_grpc_metadata((("topic", TOPIC),)))

