"""Counting deliveries of one message, and naming the state store in its faults."""
from __future__ import annotations

import pytest

from shared.alerts.delivery import DeliveryCounter, GuardedState, StateStoreUnavailable, push_delivery_attempt
from shared.errors import PermanentError, TransientError


def test_the_count_is_per_message_and_forgotten_once_answered():
    counter = DeliveryCounter()
    assert [counter.attempt("a"), counter.attempt("a"), counter.attempt("b"), counter.attempt("a")] == [1, 2, 1, 3]
    counter.forget("a")
    assert counter.attempt("a") == 1


def test_pubsubs_delivery_attempt_wins_when_it_is_higher():
    counter = DeliveryCounter()
    assert counter.attempt("a", reported=4) == 4   # earlier attempts went to other instances
    assert counter.attempt("a") == 5
    assert counter.attempt(None, reported=7) == 7 and counter.attempt(None) == 1


def test_the_count_is_bounded():
    counter = DeliveryCounter(capacity=2)
    for message in ("a", "b", "c"):
        counter.attempt(message)
    assert counter.attempt("a") == 1  # the oldest was dropped


@pytest.mark.parametrize("body,expected", [({"deliveryAttempt": 3}, 3), ({"deliveryAttempt": 0}, None),
                                           ({}, None), ({"deliveryAttempt": "3"}, None),
                                           ({"deliveryAttempt": True}, None), (None, None)])
def test_the_push_bodys_delivery_attempt(body, expected):
    assert push_delivery_attempt(body) == expected


class _Store:
    prefix = "runwarden"

    def get_record(self, kind, key):
        raise TransientError("ServiceUnavailable: 503 failed to connect to all addresses")

    def put_record(self, kind, key, data):
        raise PermanentError("PermissionDenied: 403 Missing or insufficient permissions.", code="PERMISSION_DENIED")

    def find_records(self, kind, field, value):
        return [{"key": "k"}]


def test_the_state_store_is_named_in_its_faults_and_nothing_else_changes():
    state = GuardedState(_Store())
    with pytest.raises(StateStoreUnavailable, match="^state store unavailable: ServiceUnavailable"):
        state.get_record("incidents", "i")
    with pytest.raises(PermanentError, match="^state store refused the request") as refused:
        state.put_record("incidents", "i", {})
    assert refused.value.code == "PERMISSION_DENIED"
    assert state.find_records("actions", "incident_id", "i") == [{"key": "k"}]
    assert state.prefix == "runwarden"


# --- giving up: never while an earlier attempt at the same message is in progress -----------------

class _Publisher:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    def publish(self, topic: str, data: bytes, attributes: dict[str, str], ordering_key: str = "") -> str:
        self.messages.append(data)
        return str(len(self.messages))


def _give_up_setup():
    from datetime import datetime, timezone

    from shared.clock import FixedClock
    from shared.config import parse_config
    from shared.pipeline import Adapters
    from tests.unit.fakes import MemoryStateStore

    config = parse_config({"project": "p", "outcomes_topic": "projects/p/topics/outcomes",
                           "services": [{"name": "projects/p/locations/us-central1/services/backend"}],
                           "delivery": {"max_attempts": 3}})
    publisher = _Publisher()
    adapters = Adapters(run=None, monitoring=None, publisher=publisher, state=MemoryStateStore(),
                        clock=FixedClock(datetime(2026, 11, 26, 12, tzinfo=timezone.utc)))
    return config, adapters, publisher


@pytest.mark.parametrize("attempt", [1, 3, 7])
def test_an_attempt_in_progress_elsewhere_is_waited_out_never_given_up(attempt):
    from shared.pipeline import _retry_or_give_up
    from shared.remediation.guardrails import InProgress

    config, adapters, publisher = _give_up_setup()
    with pytest.raises(InProgress):
        _retry_or_give_up(InProgress("k: an earlier attempt is in progress"), {}, "m-1", attempt, config, adapters)
    assert publisher.messages == []   # no `failed` to contradict the `applied` the first attempt may publish


def test_any_other_transient_fault_is_given_up_at_the_limit_with_one_failed_outcome():
    import json

    from shared.pipeline import _retry_or_give_up

    config, adapters, publisher = _give_up_setup()
    with pytest.raises(TransientError):
        _retry_or_give_up(TransientError("state store unavailable"), {}, "m-1", 2, config, adapters)
    outcome = _retry_or_give_up(TransientError("state store unavailable"), {}, "m-1", 3, config, adapters)
    assert outcome.status.value == "failed" and "gave up after 3 deliveries" in outcome.reason
    assert [json.loads(m)["status"] for m in publisher.messages] == ["failed"]
