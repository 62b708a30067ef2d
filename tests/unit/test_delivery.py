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
