"""Fault drills on the real parts: what Runwarden does when a dependency it needs is gone."""
from __future__ import annotations

import socket

import pytest

from shared.errors import TransientError
from shared.gcp.firestore import FirestoreStateStore
from tests.integration.world import World


def _dead_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.emulator
def test_firestore_unavailable_fails_closed_and_is_redelivered(standin_env, pubsub, project_id, anchor,
                                                               monkeypatch):
    """No state, no write: the gate cannot claim, so nothing is applied, and the handler raises a
    transient error, which the function answers with a non-2xx so Pub/Sub redelivers it."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{_dead_port()}")
    world = World(standin_env, pubsub, project_id, anchor)
    world.state = world.adapters.state = FirestoreStateStore(project_id, timeout=2.0)
    world.seed("bad_revision")

    with pytest.raises(TransientError) as raised:
        world.handle(world.alert(message_id="1"))

    assert any(word in str(raised.value) for word in ("ServiceUnavailable", "DeadlineExceeded")), raised.value
    assert world.writes() == 0
    assert world.standins.run.count("GetService") == 0   # it stopped before reading any evidence
