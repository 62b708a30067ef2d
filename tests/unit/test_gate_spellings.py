"""A pause of a connector under one spelling of its name holds back a write to the other ("{project} can be
project id or number": VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto), and two revisions naming
one connector in the two forms are not read as a deploy that moved the service between connectors. Pure, from
tables (guardrails.paused_otherwise, connector_names.two_connectors), and the gate on the in-memory store; the
Firestore emulator's run is tests/integration/test_gate_spellings.py."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from shared.clock import FixedClock
from shared.diagnosis.connector_names import two_connectors
from shared.remediation.guardrails import SPELLINGS_READ, Gate, pause_key, paused_otherwise
from shared.remediation.records import FLAGS, KILL_SWITCH
from tests.unit.builders import T0
from tests.unit.fakes import MemoryStateStore
from tests.unit.test_connector_names import HOST, HOST_BY_NUMBER, OWN_URL, _service
from tests.unit.test_guardrails import config

OTHER_ID = "projects/else/locations/us-central1/connectors/shared-conn"
OTHER_CONN = "projects/123456789/locations/us-central1/connectors/other"


def flag(target: str) -> dict:
    return {"kind": "pause", "target": target, "engaged": True, "by": "alice@example.com", "reason": "maintenance"}


PAUSES = [
    # name, the write's target, the engaged pauses, held
    ("paused by id, written by number", HOST_BY_NUMBER, [HOST], True),
    ("paused by number, written by id", HOST, [HOST_BY_NUMBER], True),
    ("paused by its own name only: the batched read's, not this one's", HOST, [HOST], False),
    ("another project's id, by id: two projects", OTHER_ID, [HOST], False),
    ("another connector id by number", OTHER_CONN, [HOST], False),
    ("another region", "projects/123456789/locations/europe-west1/connectors/shared-conn", [HOST], False),
    ("a service's pause", HOST_BY_NUMBER, ["projects/host-proj/locations/us-central1/services/api"], False),
    ("no pause", HOST_BY_NUMBER, [], False),
    ("a service target is no connector", "projects/host-proj/locations/us-central1/services/api", [HOST], False),
]


@pytest.mark.parametrize("name,target,paused,held", PAUSES, ids=[p[0] for p in PAUSES])
def test_a_pause_under_another_spelling_of_the_connector_holds_the_write(name, target, paused, held):
    why = paused_otherwise(target, [flag(p) for p in paused], more=False)
    assert bool(why) is held
    if held:
        assert paused[0] in why and "alice@example.com" in why and "maintenance" in why


def test_pauses_past_those_read_hold_a_connector_write_whose_other_spelling_was_not_read():
    assert "not read" in paused_otherwise(HOST_BY_NUMBER, [], more=True)
    assert paused_otherwise("projects/p/locations/l/services/api", [], more=True) == ""


@pytest.mark.parametrize("paused,target", [(HOST, HOST_BY_NUMBER), (HOST_BY_NUMBER, HOST)])
def test_the_gate_is_held_by_a_pause_of_the_other_spelling(paused, target):
    state = MemoryStateStore()
    state.put_record(FLAGS, pause_key(paused), flag(paused))
    gate = Gate(config(), state, FixedClock(T0 + timedelta(minutes=2)), owner="attempt-1")
    assert paused in gate.kill_switch(target)
    assert paused in gate._stop_before_write("inc-1", (target,))
    assert gate.kill_switch("projects/host-proj/locations/us-central1/connectors/other") == ""


def test_the_gate_reads_past_its_limit_and_holds():
    state = MemoryStateStore()
    for i in range(SPELLINGS_READ + 1):
        name = f"projects/p{i}/locations/us-central1/connectors/c{i}"
        state.put_record(FLAGS, pause_key(name), flag(name))
    gate = Gate(config(), state, FixedClock(T0), owner="attempt-1")
    assert "not read" in gate.kill_switch(HOST_BY_NUMBER)


MOVES = [
    # name, the service, the revision before, the one after, two connectors
    ("the same name", _service(), HOST, HOST, False),
    ("by id, then by a number not known to be any project's: maybe one", _service(), HOST, HOST_BY_NUMBER, False),
    ("by a number, then by id: maybe one", _service(), HOST_BY_NUMBER, HOST, False),
    ("the bare id, then the full name in the service's own project", _service(
        "projects/host-proj/locations/us-central1/services/api"), "shared-conn", HOST, False),
    ("by its own project's number, then by that project's id", _service(
        "projects/svc-proj/locations/us-central1/services/reports", OWN_URL),
     "projects/555000111/locations/us-central1/connectors/c", "projects/svc-proj/locations/us-central1/connectors/c",
     False),
    ("by its own project's number, then the host's id: two", _service(urls=OWN_URL),
     "projects/555000111/locations/us-central1/connectors/shared-conn", HOST, True),
    ("another connector id", _service(), HOST, "projects/host-proj/locations/us-central1/connectors/other", True),
    ("two project ids", _service(), HOST, OTHER_ID, True),
    ("none, then a connector", _service(), None, HOST_BY_NUMBER, True),
    ("a connector, then none", _service(), HOST, None, True),
    ("none either time", _service(), None, None, False),
]


@pytest.mark.parametrize("name,service,before,after,two", MOVES, ids=[m[0] for m in MOVES])
def test_a_deploy_moved_the_service_between_connectors_only_when_the_names_say_no(name, service, before, after, two):
    assert two_connectors(service, before, after) is two


class QueryFirst(MemoryStateStore):
    """A store whose batched read of the switches answers only once the engaged pauses' query has been sent
    (or after `wait` seconds, noting that it was not): the gate sends the two independent reads together, one
    round trip on the way to the write, where the query sent after the batch's answer was a second one."""

    def __init__(self) -> None:
        super().__init__()
        self.wait = 5.0
        self.queried = threading.Event()
        self.serial: list[str] = []

    def find_records(self, kind, field, value, limit=100):
        if (kind, field) == (FLAGS, "engaged"):
            self.queried.set()
        return super().find_records(kind, field, value, limit)

    def get_many(self, keys):
        if (FLAGS, KILL_SWITCH) in keys and not self.queried.wait(self.wait):
            self.serial.append(", ".join(key for _, key in keys))
        self.queried.clear()
        return super().get_many(keys)


def test_the_pause_query_is_sent_beside_the_switches_batched_read():
    """Every read of a connector's switches (the gate's before its claim, right before the write, and the
    kill switch as asked) sends the query with the batch; and the pause it finds still holds the write."""
    state = QueryFirst()
    gate = Gate(config(), state, FixedClock(T0 + timedelta(minutes=2)), owner="attempt-1")
    assert gate.kill_switch(HOST_BY_NUMBER) == ""
    assert gate._stop_before_write("inc-1", (HOST_BY_NUMBER,)) == ""
    assert state.serial == []
    state.put_record(FLAGS, pause_key(HOST), flag(HOST))
    assert HOST in gate.kill_switch(HOST_BY_NUMBER) and HOST in gate._stop_before_write("inc-1", (HOST_BY_NUMBER,))
    assert state.serial == []


def test_the_gates_first_write_to_a_connector_sends_its_pause_queries_beside_its_batched_reads():
    """The whole first write, on the one-commit path: its reads before the claim, its check right before the
    write, and its read of the switches after it (`_landed_meanwhile`)."""
    from tests.unit.test_gate_bounds_spellings import OneConnector, _scale

    state, vpc = QueryFirst(), OneConnector()
    state.wait = 2.0
    written = _scale(Gate(config(), state, FixedClock(T0 + timedelta(minutes=2)), owner="attempt-1"), vpc,
                     HOST_BY_NUMBER, "c1")
    assert written.status.value == "applied" and vpc.patches == [HOST_BY_NUMBER], written.reason
    assert state.serial == []
