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



def test_a_guards_method_is_labelled_once_and_read_as_a_plain_attribute_after():
    """Each read of a method through the guard built a new labelled wrapper: a delivery reads every method of
    the port twice before it reads any state (require_state_store, for its Adapters and its gate), about a fifth
    of a duplicate's own CPU. Now the first read labels it and keeps it on the guard."""
    from shared.ports import require_state_store
    from tests.unit.fakes import MemoryStateStore

    state = GuardedState(MemoryStateStore())
    assert state.get_record is state.get_record
    first = {name: getattr(state, name) for name in ("get_record", "put_record", "claim_all")}
    require_state_store(state)
    assert all(getattr(state, name) is kept for name, kept in first.items())
    assert "get_record" in vars(state), "kept on the guard: no __getattr__ on the next read"


def test_a_guards_method_calls_what_the_store_holds_when_called():
    """The labelled method looks the store's method up when called, as each read did before: a method the store
    is given after the guard first read it is the one that runs, its faults still labelled."""
    store = _Store()
    state = GuardedState(store)
    state.find_records("actions", "incident_id", "i")

    def unavailable(*args, **kwargs):
        raise TransientError("UNAVAILABLE: 503")

    store.find_records = unavailable
    with pytest.raises(StateStoreUnavailable, match="^state store unavailable: UNAVAILABLE"):
        state.find_records("actions", "incident_id", "i")
    assert state.prefix == "runwarden" and "prefix" not in vars(state), "a value is read through, not kept"

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
                           "delivery": {"max_attempts": 5}})
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
        _retry_or_give_up(TransientError("state store unavailable"), {}, "m-1", 4, config, adapters)
    outcome = _retry_or_give_up(TransientError("state store unavailable"), {}, "m-1", 5, config, adapters)
    assert outcome.status.value == "failed" and "gave up after 5 deliveries" in outcome.reason
    assert [json.loads(m)["status"] for m in publisher.messages] == ["failed"]


# --- commands: the same bound -------------------------------------------------------------------

def _command_event(message_id: str = "c-1") -> dict:
    import base64
    import json

    body = {"command": "pause", "command_id": "pause-1", "requested_by": "alice", "reason": "maintenance"}
    return {"message": {"data": base64.b64encode(json.dumps(body).encode()).decode(), "messageId": message_id,
                        "publishTime": "2026-11-26T12:02:00Z"}}


class _DownStore:
    """Every state call fails as an unreachable Firestore does (a transient fault)."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise TransientError(f"{name}: ServiceUnavailable: 503 connection refused")
        return fail


def test_a_command_whose_every_delivery_fails_ends_in_one_failed_outcome_with_its_command_id():
    import json
    from dataclasses import replace

    from shared.commands import handle_command_delivery

    config, adapters, publisher = _give_up_setup()
    adapters = replace(adapters, state=_DownStore())
    counter = DeliveryCounter()

    for attempt in (1, 2, 3, 4):
        with pytest.raises(StateStoreUnavailable):
            handle_command_delivery(_command_event(), config, adapters, counter=counter)
        assert publisher.messages == [], attempt
    [outcome] = handle_command_delivery(_command_event(), config, adapters, counter=counter)

    assert outcome.status.value == "failed" and outcome.trigger == "command" and outcome.command_id == "pause-1"
    assert "gave up after 5 deliveries of message c-1" in outcome.reason and "the command's handling did not finish" in outcome.reason
    assert "state store unavailable" in outcome.reason
    assert [json.loads(m)["command_id"] for m in publisher.messages] == ["pause-1"]
    # Acknowledged with the give-up: what the command said travels with it (shared/alerts/received.py).
    assert json.loads(publisher.messages[0])["received"]["data"] == json.dumps(
        {"command": "pause", "command_id": "pause-1", "requested_by": "alice", "reason": "maintenance"})


def test_an_alert_given_up_on_carries_the_notification_to_the_person_it_pages():
    import base64
    import json

    from shared.pipeline import _retry_or_give_up

    config, adapters, publisher = _give_up_setup()
    data = json.dumps({"incident": {"incident_id": "0.g", "state": "open", "started_at": 1764158400}}).encode()
    event = {"message": {"data": base64.b64encode(data).decode(), "messageId": "m-1"}}
    outcome = _retry_or_give_up(TransientError("state store unavailable"), event, "m-1", 5, config, adapters)
    assert outcome.status.value == "failed" and outcome.incident_id == "0.g"
    assert json.loads(publisher.messages[0])["received"]["data"] == data.decode()


def test_a_command_in_progress_elsewhere_is_waited_out():
    from shared.commands import CommandInProgress
    from shared.pipeline import retry_or_give_up

    config, adapters, publisher = _give_up_setup()
    from shared.commands.context import CommandTimeline

    with pytest.raises(CommandInProgress):
        retry_or_give_up(CommandInProgress("pause-1 is being handled"), "c-1", 9, config, adapters,
                         CommandTimeline(None, "pause-1"), trigger="command", command_id="pause-1")
    assert publisher.messages == []


def test_a_give_up_whose_message_is_kept_cut_says_so_in_its_reason():
    """A message past the 1 MiB an outcome keeps, given up on: its reason says the `received` it keeps is cut, as a
    rejected alert's does. Before, only the `[cut: ...]` marker deep in `received.data` said it."""
    import base64

    from shared.pipeline import _retry_or_give_up

    config, adapters, publisher = _give_up_setup()
    data = b"x" * 2_000_000
    event_data = {"message": {"data": base64.b64encode(data).decode(), "messageId": "m-2"}}
    outcome = _retry_or_give_up(TransientError("state store unavailable"), event_data, "m-2", 5, config, adapters)
    assert outcome.status.value == "failed" and outcome.received.data_cut_bytes > 0
    assert (f"the message's data is 2000000 bytes as received, and the outcome holds it only in part (`received`)"
            f"" in outcome.reason and f"the last {outcome.received.data_cut_bytes} are cut" in outcome.reason), \
        outcome.reason
