"""PubSubPublisher against the real Pub/Sub emulator."""
from __future__ import annotations

import subprocess
import sys

import pytest

from sandbox.emulators import PubSubNamespace
from shared.errors import PermanentError, TransientError
from shared.gcp.pubsub import PubSubPublisher


@pytest.mark.emulator
def test_publish_delivers_data_attributes_and_ordering_key(pubsub: PubSubNamespace) -> None:
    topic = pubsub.topic("outcomes")
    subscription = pubsub.pull_subscription(topic, enable_message_ordering=True)
    publisher = PubSubPublisher()

    message_id = publisher.publish(topic, b'{"outcome": "rolled_back"}',
                                   {"kind": "outcome", "service": "api"}, ordering_key="projects/p/services/api")

    [message] = pubsub.pull(subscription, max_messages=1, timeout=10)
    assert message.message_id == message_id
    assert message.data == b'{"outcome": "rolled_back"}'
    assert message.attributes == {"kind": "outcome", "service": "api"}
    assert message.ordering_key == "projects/p/services/api"


@pytest.mark.emulator
def test_messages_on_one_key_arrive_in_publish_order(pubsub: PubSubNamespace) -> None:
    topic = pubsub.topic("ordered")
    subscription = pubsub.pull_subscription(topic, enable_message_ordering=True)
    publisher = PubSubPublisher(project=pubsub.project)

    for step in range(5):
        publisher.publish(topic.rsplit("/", 1)[-1], str(step).encode(), {}, ordering_key="svc")

    messages = pubsub.pull(subscription, max_messages=5, timeout=10)
    assert [m.data for m in messages] == [b"0", b"1", b"2", b"3", b"4"]


@pytest.mark.emulator
def test_publish_to_a_missing_topic_is_permanent_and_does_not_block_the_key(pubsub: PubSubNamespace) -> None:
    publisher = PubSubPublisher()
    missing = f"projects/{pubsub.project}/topics/{pubsub.name('missing')}"

    with pytest.raises(PermanentError) as failure:
        publisher.publish(missing, b"x", {"a": "b"}, ordering_key="svc")
    assert failure.value.code == "NOT_FOUND"
    # The API's words ("Topic not found") name no topic: the error a person reads in the timeline does.
    assert str(failure.value).startswith(f"Publish {missing}: ") and "correct outcomes_topic" in str(failure.value)

    # The failure paused (topic, key); it was resumed, so once the topic exists a later
    # publish on the same key goes out instead of being rejected.
    topic = pubsub.topic("missing")
    assert topic == missing
    subscription = pubsub.pull_subscription(topic)
    publisher.publish(topic, b"after", {}, ordering_key="svc")
    assert [m.data for m in pubsub.pull(subscription, max_messages=1, timeout=10)] == [b"after"]


@pytest.mark.emulator
def test_a_failed_publish_on_a_key_does_not_block_the_next_one(pubsub: PubSubNamespace) -> None:
    from shared.errors import RunwardenError

    publisher = PubSubPublisher()
    missing = f"projects/{pubsub.project}/topics/{pubsub.name('late')}"
    # The library's batching publish would pause (topic, key) after a failure, and refuse every
    # later message on it; Runwarden's publish is one GAPIC Publish call (shared/gcp/pubsub.py),
    # which no pause holds.
    with pytest.raises(RunwardenError, match="NotFound|not found|404"):
        publisher.publish(missing, b"lost", {}, ordering_key="svc")
    topic = pubsub.topic("late")
    subscription = pubsub.pull_subscription(topic)

    publisher.publish(topic, b"next", {}, ordering_key="svc")

    assert [m.data for m in pubsub.pull(subscription, max_messages=1, timeout=10)] == [b"next"]


@pytest.mark.emulator
def test_publish_reuses_one_client(pubsub: PubSubNamespace) -> None:
    topic = pubsub.topic()
    publisher = PubSubPublisher()
    publisher.publish(topic, b"1", {})
    client = publisher._client
    publisher.publish(topic, b"2", {})
    assert client is not None and publisher._client is client


def test_unreachable_emulator_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", f"127.0.0.1:{port}")
    publisher = PubSubPublisher(timeout=2)

    with pytest.raises(TransientError, match="^Publish projects/p/topics/nowhere: "):
        publisher.publish("projects/p/topics/nowhere", b"x", {}, ordering_key="svc")


def test_bare_topic_needs_a_project() -> None:
    with pytest.raises(PermanentError):
        PubSubPublisher().publish("outcomes", b"x", {})


def test_module_import_does_not_load_the_client_library() -> None:
    code = "import sys, shared.gcp.pubsub; sys.exit('google.cloud.pubsub_v1' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
