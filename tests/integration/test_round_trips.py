"""Round trips to Firestore, counted at the real client's gRPC channel (sandbox/rpc_count.py)
against the emulator: what a duplicate delivery, a first write and a budget slot cost."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from sandbox.rpc_count import CountingStateStore, RpcCounter
from shared.gcp.firestore import FirestoreStateStore
from shared.remediation.guardrails import BUDGETS
from tests.integration.world import World, concurrently

pytestmark = pytest.mark.emulator


@pytest.fixture
def counter() -> RpcCounter:
    return RpcCounter()


CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor, counter):
    world = World(standin_env, pubsub, project_id, anchor,
                  bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": True}]})
    world.state = world.adapters.state = CountingStateStore(counter, project_id)
    return world


def test_a_duplicate_delivery_costs_two_firestore_round_trips_and_one_publish(world, counter):
    world.seed("bad_revision")
    first = world.handle(world.alert(message_id="1"))
    assert first.status.value == "applied"
    counter.reset()
    reads_before = world.reads()

    second = world.handle(world.alert(message_id="1"))   # Pub/Sub redelivers the same message

    assert (second.status.value, second.reason.split(":")[0]) == ("skipped", "duplicate")
    # The query for the targets this incident's actions wrote to, then one batched read of the
    # incident record and every claim on those targets.
    assert counter.by_method() == {"RunQuery": 1, "BatchGetDocuments": 1}
    assert world.reads() == reads_before   # no evidence read for a duplicate
    assert [o["status"] for o in world.published(2)] == ["applied", "skipped"]


def test_a_duplicate_after_a_connector_write_is_still_two_round_trips(world, counter):
    """The claim sits on the connector, a target only the incident's action record names."""
    world.seed("connector_saturation")
    first = world.handle(world.alert("connector_saturation", message_id="1"))
    assert first.status.value == "applied", first.reason
    counter.reset()

    second = world.handle(world.alert("connector_saturation", message_id="1"))

    assert second.status.value == "skipped" and second.reason.startswith("duplicate"), second.reason
    assert second.target == first.target
    assert counter.by_method() == {"RunQuery": 1, "BatchGetDocuments": 1}


def test_the_first_write_checks_the_switches_and_the_incident_in_one_read(world, counter):
    world.seed("bad_revision")

    outcome = world.handle(world.alert(message_id="1"))

    assert outcome.status.value == "applied"
    calls = counter.by_method()
    # Before diagnosis: one query and one batched read. The gate: the kill switch, then the claim
    # and cooldown (creates), every budget's slots (one read, one create each), and right before the write the switches and the
    # incident together; after it, the claim completes and the action is recorded.
    # (Completing the claim reads it first, to check the owner.) Before: 4 reads, and budget slots
    # probed one create at a time; now one batched read holds every budget's slots.
    assert calls["RunQuery"] == 2, calls
    assert calls["BatchGetDocuments"] == 5, calls


# --------------------------------------------------------------------------- budgets

def _gate(store, project_id: str, owner: str, **guardrails):
    from shared.clock import FixedClock
    from shared.config import parse_config
    from shared.remediation.guardrails import Gate

    config = parse_config({"project": project_id, "mode": "enforce", "outcomes_topic": "projects/p/topics/outcomes",
                           "services": [], "guardrails": guardrails})
    return Gate(config, store, FixedClock(NOW), owner=owner)


NOW = datetime(2026, 11, 26, 12, 30, tzinfo=timezone.utc)
BUCKET = "global|2026-11-26T12"


@pytest.mark.parametrize("taken", [0, 1, 7, 39])
def test_a_budget_slot_costs_the_same_round_trips_however_many_are_taken(firestore, project_id, counter, taken):
    store = CountingStateStore(counter, project_id)
    for i in range(taken):
        assert _gate(store, project_id, f"earlier-{i}")._take_slot(BUCKET, 40, NOW)
    counter.reset()

    slot = _gate(store, project_id, "now")._take_slot(BUCKET, 40, NOW)

    assert slot == f"{BUCKET}#{taken}"
    assert counter.by_method() == {"BatchGetDocuments": 1, "Commit": 1}


def test_a_spent_budget_is_one_read(firestore, project_id, counter):
    store = CountingStateStore(counter, project_id)
    for i in range(5):
        assert _gate(store, project_id, f"earlier-{i}")._take_slot(BUCKET, 5, NOW)
    counter.reset()

    assert _gate(store, project_id, "late")._take_slot(BUCKET, 5, NOW) is None
    assert counter.by_method() == {"BatchGetDocuments": 1}


def test_an_expired_slot_is_taken_over(firestore, project_id):
    store = FirestoreStateStore(project_id)
    store.claim(BUDGETS, f"{BUCKET}#0", "long-ago", timedelta(seconds=1), NOW - timedelta(days=3))
    assert _gate(store, project_id, "now")._take_slot(BUCKET, 1, NOW) == f"{BUCKET}#0"


@pytest.mark.parametrize("capacity,taken", [(3, 0), (4, 2)])
def test_racing_instances_never_take_more_than_the_budget(firestore, project_id, capacity, taken):
    for i in range(taken):
        _gate(FirestoreStateStore(project_id), project_id, f"earlier-{i}")._take_slot(BUCKET, capacity, NOW)
    racers = [_gate(FirestoreStateStore(project_id), project_id, f"racer-{i}") for i in range(8)]
    barrier = threading.Barrier(len(racers))

    def take(gate):
        barrier.wait()
        return gate._take_slot(BUCKET, capacity, NOW)

    slots, errors = concurrently(*(lambda g=g: take(g) for g in racers))

    assert errors == []
    won = [s for s in slots if s is not None]
    assert len(won) == capacity - taken and len(set(won)) == len(won), slots
    holders = [FirestoreStateStore(project_id).get(BUDGETS, f"{BUCKET}#{i}") for i in range(capacity)]
    assert all(h is not None for h in holders)
