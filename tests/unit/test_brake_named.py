"""The brake that holds a write back, named as the one it is: the kill switch (the config's, or a command's) or one
target's pause, with who engaged it, when, and for a pause how it is lifted. A pause was answered "kill switch
engaged: …", and the operator told so released the kill switch (engaged by no one) and stayed held."""
from __future__ import annotations

import pytest

from shared.clock import FixedClock
from shared.errors import PermanentError, TransientError
from shared.remediation.guardrails import Gate, MaybeBehind, pause_key
from shared.remediation.records import FLAGS, KILL_SWITCH
from shared.remediation.refusals import BRAKE, PAUSE_HEAD, Held, brake_named, braked, engaged_named, held_of_words

from tests.unit.builders import CONNECTOR, PROJECT, SERVICE, T0
from tests.unit.fakes import MemoryStateStore
from tests.unit.test_guardrails import config

OTHER = SERVICE.replace("/backend", "/billing")
# The connector named by a project number: another key than CONNECTOR's, found by the gate's pause query only.
BY_NUMBER = CONNECTOR.replace(f"projects/{PROJECT}/", "projects/123456789012/")
KILL = "kill switch"


def engage(state: MemoryStateStore, target: str) -> None:
    key, kind = (KILL_SWITCH, "kill_switch") if target == KILL else (pause_key(target), "pause")
    state.put_record(FLAGS, key, {"kind": kind, "target": None if target == KILL else target, "engaged": True,
                                  "by": "alice@example.com", "reason": "migration", "at": T0})


# (engaged, the write's target, made for, the head said, the pause named as lifted: None for the kill switch)
ROWS = {
    "the kill switch by command": ([KILL], SERVICE, [SERVICE], BRAKE, None),
    "the kill switch and a pause: the kill switch first": ([KILL, SERVICE], SERVICE, [SERVICE], BRAKE, None),
    "the service's own pause": ([SERVICE], SERVICE, [SERVICE], PAUSE_HEAD, SERVICE),
    "the connector's own pause": ([CONNECTOR], CONNECTOR, [], PAUSE_HEAD, CONNECTOR),
    "a pause of the service a connector's write is made for": ([SERVICE], CONNECTOR, [SERVICE], PAUSE_HEAD, SERVICE),
    "a pause of a service that may be behind the connector": ([OTHER], CONNECTOR, [MaybeBehind(OTHER)], PAUSE_HEAD,
                                                              OTHER),
    "a pause of the connector by its project's number": ([BY_NUMBER], CONNECTOR, [], PAUSE_HEAD, BY_NUMBER),
}


@pytest.mark.parametrize("engaged, target, made_for, head, lifted", ROWS.values(), ids=ROWS.keys())
def test_the_brake_is_named_as_the_one_engaged(engaged, target, made_for, head, lifted):
    state = MemoryStateStore()
    for name in engaged:
        engage(state, name)
    switch = Gate(config(), state, FixedClock(T0), owner="attempt-1").kill_switch(target, on_behalf=made_for)
    refusal = braked(switch, Held.PAUSED)

    assert refusal.startswith(f"{head}: no writes ("), refusal
    assert "alice@example.com at " in refusal and "migration" in refusal, refusal
    # every pause engaged is named with its resume, beside the kill switch too (released alone, it leaves them)
    assert [n for n in engaged if n != KILL and f"runwarden resume --target {n} --reason" not in refusal] == [], \
        refusal
    assert ("kill switch engaged" in refusal) is (lifted is None), refusal
    assert held_of_words(refusal) is Held.PAUSED
    assert engaged_named(switch) == ("a pause engaged" if lifted else BRAKE)


def test_the_connector_by_number_is_another_spelling_of_it():
    assert BY_NUMBER != CONNECTOR and pause_key(BY_NUMBER) != pause_key(CONNECTOR)


def test_the_configs_kill_switch_is_named_the_kill_switch():
    gate = Gate(config(guardrails__kill_switch=True), MemoryStateStore(), FixedClock(T0), owner="attempt-1")
    switch = gate.kill_switch(SERVICE, on_behalf=[SERVICE])
    assert brake_named(switch) == BRAKE and braked(switch, Held.KILL_SWITCH) == f"{BRAKE}: no writes (set in config)"


def test_nothing_engaged_names_no_brake():
    assert Gate(config(), MemoryStateStore(), FixedClock(T0), owner="attempt-1").kill_switch(SERVICE) == ""


class _QueryFails(MemoryStateStore):
    """A state store whose query of the engaged pauses fails as Firestore's can: at once and for good (a query it
    refuses, FAILED_PRECONDITION: PermanentError) or after its retries (UNAVAILABLE: TransientError)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def find_records(self, *args, **kwargs):
        raise self.error


# (the query's fault, what is engaged, the write's target: a connector, whose write reads the query)
QUERY_FAULTS = {
    "refused for good, the kill switch by command": (PermanentError("FAILED_PRECONDITION: query refused"), [KILL]),
    "refused for good, the kill switch and the connector's own pause": (
        PermanentError("FAILED_PRECONDITION: query refused"), [KILL, CONNECTOR]),
    "refused for good, the connector's own pause": (PermanentError("FAILED_PRECONDITION: query refused"),
                                                     [CONNECTOR]),
    "unavailable, the kill switch by command": (TransientError("UNAVAILABLE: try again"), [KILL]),
}


@pytest.mark.parametrize("error, engaged", QUERY_FAULTS.values(), ids=QUERY_FAULTS.keys())
def test_a_write_held_by_a_brake_is_held_whatever_the_pause_query_answers(error, engaged):
    """A brake read by key holds the write whatever the engaged pauses' query answers: its fault is said as the
    other spelling's pauses not read, never raised (raised, a write held was answered `failed`)."""
    state = _QueryFails(error)
    for name in engaged:
        engage(state, name)
    switch = Gate(config(), state, FixedClock(T0), owner="attempt-1").kill_switch(CONNECTOR, on_behalf=[])
    assert "alice@example.com" in switch and "was not read" in switch and str(error) in switch, switch
