"""Fault drills: a fault at every API step of the alert path, on the real clients and local servers.

Each case injects one fault at one step (a read, the write, or the operation poll), delivers the
alert through `handle_delivery` (what on_alert runs), then delivers the same message again with
the fault gone, as Pub/Sub would. Whatever the fault, three things must hold:
- the first handling completes, escalates or fails with a reason, or raises a transient error
  (Pub/Sub redelivers);
- a write that reached the API always has an action record, or an escalated outcome that says it
  could not be recorded: never a half-applied state nobody knows of;
- the redelivery produces one consistent outcome and never acts a second time.
docs/behaviour.md ("Faults") has the table these cases check.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import grpc
import pytest

from sandbox.standins.run import BARE, LIMIT, RATE
from shared.alerts.delivery import DeliveryCounter, StateStoreUnavailable
from shared.errors import TransientError
from shared.gcp.endpoints import CallPolicy
from shared.gcp.firestore import FirestoreStateStore
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from shared.pipeline import handle_delivery
from shared.remediation.records import ACTIONS
from tests.integration.cuttable_proxy import CuttableProxy
from tests.integration.world import SERVICE, World, readers_at_product_deadlines

pytestmark = pytest.mark.emulator

CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"
# Tight deadlines, so that "slower than the call deadline" takes a second, not a minute. Every
# call is bounded by its deadline, and the deadlines add up to less than the function timeout,
# which is below the ack deadline (docs/deploy.md): a hung API becomes DEADLINE_EXCEEDED long
# before Pub/Sub would redeliver.
# They are the test's, not the product's (10 s a call, docs/deploy.md), so they bound only the API a drill
# faults: a fault-free read under a 0.5 s deadline fails whenever this process stops for longer, and it does
# on a loaded machine (a full garbage collection of the whole suite's heap, measured at 1.6 to 4.3 s on 2 busy
# cores, stops every thread, the clients' included; `hold_the_interpreter` below is that stop).
TIGHT = CallPolicy(call_timeout=0.5, attempts=2, initial_backoff=0.01, max_backoff=0.02, total_timeout=1.5)
SLOWER_THAN_THE_DEADLINE = 0.8


# --- the worlds ------------------------------------------------------------------------------------


def _tight(world: World, parts: tuple[str, ...]) -> World:
    """`parts`' adapters at the TIGHT deadlines, their operation waits 3 s; the others keep the World's."""
    tight = {"run": lambda: CloudRunAdapter(policy=TIGHT, operation_timeout=3, poll_initial_delay=0.01,
                                            poll_max_delay=0.05),
             "monitoring": lambda: CloudMonitoringAdapter(policy=TIGHT),
             "logging": lambda: CloudLoggingAdapter(policy=TIGHT),
             "vpcaccess": lambda: VpcAccessAdapter(policy=TIGHT, operation_timeout=3, poll_initial_delay=0.01,
                                                   poll_max_delay=0.05)}
    for part in parts:
        setattr(world.adapters, part, tight[part]())
    return world


def at_product_deadlines(world: World) -> World:
    """Every reader back at the product's own deadlines (the World's): the fault cleared, nothing is to be slow."""
    for part, adapter in readers_at_product_deadlines().items():
        setattr(world.adapters, part, adapter)
    return world


def rollback_world(standins, pubsub, project_id, anchor, tight: tuple[str, ...] = (), attempts: int = 100) -> World:
    """The bad_revision world, `tight` the parts a test makes slower than a deadline (none by default); `attempts`
    its delivery bound."""
    world = _tight(World(standins, pubsub, project_id, anchor, delivery={"max_attempts": attempts}), tight)
    world.seed("bad_revision")
    return world


def connector_world(standins, pubsub, project_id, anchor, tight: tuple[str, ...] = (), attempts: int = 100) -> World:
    """The connector_saturation world, `tight` as rollback_world's; `attempts` its delivery bound."""
    world = _tight(World(standins, pubsub, project_id, anchor, delivery={"max_attempts": attempts},
                         bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": True}]}), tight)
    world.seed("connector_saturation")
    return world


@dataclass
class Delivered:
    outcome: Any = None          # the Outcome returned, or None when it raised
    raised: BaseException | None = None

    @property
    def result(self) -> str:
        if self.raised is not None:
            return "redelivered" if isinstance(self.raised, TransientError) else f"raised {type(self.raised).__name__}"
        return self.outcome.status.value


def deliver(world: World, scenario: str, counter: DeliveryCounter, message_id: str = "m-1") -> Delivered:
    try:
        return Delivered(outcome=handle_delivery(world.alert(scenario, message_id=message_id), world.config,
                                                 world.adapters, counter=counter))
    except Exception as exc:  # noqa: BLE001 - what it raised is what is judged
        return Delivered(raised=exc)


# --- what the world looks like afterwards ------------------------------------------------------------


def desired_traffic(world: World) -> list[tuple[str, int]]:
    return sorted((t.revision, t.percent) for t in world.standins.run.service(SERVICE).traffic)


def connector_shape(world: World) -> tuple[str, int]:
    c = world.standins.vpcaccess.connector(CONNECTOR)
    return c["machineType"], int(c.get("maxInstances", 0))


def records(world: World, incident_id: str) -> list[dict]:
    return world.state.find_records(ACTIONS, "incident_id", incident_id)


def assert_no_unrecorded_write(world: World, changed: bool, incident_id: str, delivered: Delivered) -> None:
    if not changed:
        return
    known = records(world, incident_id) or (
        delivered.outcome is not None and delivered.outcome.status.value == "escalated"
        and "could not be recorded" in delivered.outcome.reason)
    assert known, f"the write reached the API but nothing records it ({delivered.result})"


# --- a fault at every step -----------------------------------------------------------------------------

UNAVAILABLE, DEADLINE, DENIED, SLOW = "UNAVAILABLE", "DEADLINE_EXCEEDED", "PERMISSION_DENIED", "slower than the deadline"
# A rate quota used up: RESOURCE_EXHAUSTED with ErrorInfo RATE_LIMIT_EXCEEDED and QuotaFailure, no
# RetryInfo, refused until the fault is cleared (sandbox/standins/faults.py, QuotaRefusal).
QUOTA = "RESOURCE_EXHAUSTED quota"
API_SERVICE = {"run": "run.googleapis.com", "monitoring": "monitoring.googleapis.com",
               "logging": "logging.googleapis.com", "vpcaccess": "vpcaccess.googleapis.com"}


@dataclass(frozen=True)
class Step:
    path: str        # "rollback" (Cloud Run) or "connector" (VPC Access)
    part: str        # which stand-in
    method: str      # its RPC (or REST method) name
    kind: str        # read | write | poll


STEPS = [
    Step("rollback", "run", "GetService", "read"),
    Step("rollback", "run", "ListRevisions", "read"),
    Step("rollback", "monitoring", "ListTimeSeries", "read"),
    Step("rollback", "logging", "ListLogEntries", "read"),
    Step("rollback", "run", "UpdateService", "write"),
    Step("rollback", "run", "GetOperation", "poll"),
    Step("connector", "vpcaccess", "GetConnector", "read"),
    Step("connector", "vpcaccess", "PatchConnector", "write"),
    Step("connector", "vpcaccess", "GetOperation", "poll"),
]

# What the first delivery must end in, by step and fault. "redelivered": it raised a transient
# error and nothing was left claimed; a write-side fault after the API may have acted escalates
# with an action record, so the redelivery is a duplicate.
EXPECTED: dict[tuple[str, str], dict[str, str]] = {
    ("run", "GetService"): {UNAVAILABLE: "redelivered", DEADLINE: "redelivered", DENIED: "failed",
                            SLOW: "redelivered", QUOTA: "redelivered"},
    ("run", "ListRevisions"): {UNAVAILABLE: "redelivered", DEADLINE: "redelivered", DENIED: "failed",
                               SLOW: "redelivered", QUOTA: "redelivered"},
    ("monitoring", "ListTimeSeries"): {UNAVAILABLE: "redelivered", DEADLINE: "redelivered", DENIED: "escalated",
                                       SLOW: "redelivered", QUOTA: "redelivered"},
    # A denied log read leaves the rollback target's own startups unread: no target, escalated
    # (bad_revision's `_log_read_failed`; docs/signatures.md).
    ("logging", "ListLogEntries"): {UNAVAILABLE: "redelivered", DEADLINE: "redelivered", DENIED: "escalated",
                                    SLOW: "redelivered", QUOTA: "redelivered"},
    # A quota refusal of the write wrote nothing: given back and redelivered, as UNAVAILABLE is.
    ("run", "UpdateService"): {UNAVAILABLE: "redelivered", DEADLINE: "escalated", DENIED: "failed",
                               SLOW: "escalated", QUOTA: "redelivered"},
    # A slow poll is no fault: polling has no per-call deadline, only the operation's timeout.
    ("run", "GetOperation"): {UNAVAILABLE: "escalated", DEADLINE: "escalated", DENIED: "escalated",
                              SLOW: "applied", QUOTA: "escalated"},
    ("vpcaccess", "GetConnector"): {UNAVAILABLE: "redelivered", DEADLINE: "redelivered", DENIED: "escalated",
                                    SLOW: "redelivered", QUOTA: "redelivered"},
    ("vpcaccess", "PatchConnector"): {UNAVAILABLE: "redelivered", DEADLINE: "escalated", DENIED: "failed",
                                      SLOW: "escalated", QUOTA: "redelivered"},
    ("vpcaccess", "GetOperation"): {UNAVAILABLE: "escalated", DEADLINE: "escalated", DENIED: "escalated",
                                    SLOW: "escalated", QUOTA: "escalated"},
}

CASES = [pytest.param(step, fault, id=f"{step.part}.{step.method}-{fault.split()[0]}")
         for step in STEPS for fault in (UNAVAILABLE, DEADLINE, DENIED, SLOW, QUOTA)]


def inject(world: World, step: Step, fault: str) -> None:
    faults = getattr(world.standins, step.part).faults
    if fault == SLOW:
        faults.add_latency(SLOWER_THAN_THE_DEADLINE, method=step.method)
    elif fault == DENIED:
        faults.deny(method=step.method)
    elif fault == QUOTA:
        faults.rate_limit(3600, step.method, service=API_SERVICE[step.part])
    else:
        faults.fail_next(10_000, getattr(grpc.StatusCode, fault), method=step.method)


@pytest.mark.parametrize("step,fault", CASES)
def test_a_fault_at_each_step_completes_escalates_or_is_redelivered_and_never_acts_twice(
        standin_env, firestore, pubsub, project_id, anchor, step, fault):
    drill(standin_env, pubsub, project_id, anchor, step, fault)


# The CI's two failures (a redelivery's ListTimeSeries past its 0.5 s deadline) and the connector path's.
STALLED = [case for case in CASES if case.id in ("run.ListRevisions-UNAVAILABLE", "run.ListRevisions-slower",
                                                  "vpcaccess.GetConnector-UNAVAILABLE")]


@pytest.mark.parametrize("step,fault", STALLED)
def test_a_redelivery_on_an_instance_that_stops_mid_read_still_completes_once(
        standin_env, firestore, pubsub, project_id, anchor, step, fault):
    """The process stops for 1.2 s while the redelivery's Monitoring reads are in flight, as a loaded instance's
    full garbage collection stops it: a fault-free read is then late by that much and must still be answered."""
    stopped = stop_the_process_at(standin_env.monitoring.faults, "ListTimeSeries", 1.2)
    drill(standin_env, pubsub, project_id, anchor, step, fault, before_redelivery=stopped.arm)
    assert stopped.done, "no ListTimeSeries in the redelivery: the stop never happened"


def drill(standins, pubsub, project_id, anchor, step: Step, fault: str,
          before_redelivery: Callable[[], None] = lambda: None) -> None:
    """One fault at one step, then the redelivery with the fault gone; the drill's three invariants checked."""
    make = rollback_world if step.path == "rollback" else connector_world
    world = make(standins, pubsub, project_id, anchor, tight=(step.part,))
    scenario = "bad_revision" if step.path == "rollback" else "connector_saturation"
    shape = desired_traffic if step.path == "rollback" else connector_shape
    incident_id = resolve_incident(world, scenario)
    before = shape(world)
    counter = DeliveryCounter()
    inject(world, step, fault)

    first = deliver(world, scenario, counter)
    if fault == SLOW:   # a request the client gave up on lands late: judge once the stand-in has handled it
        assert getattr(world.standins, step.part).wait_until_answered(timeout=30), "a call never finished"
    getattr(world.standins, step.part).faults.clear()

    assert first.result == EXPECTED[(step.part, step.method)][fault], (first.result, first.raised or
                                                                        first.outcome.reason)
    assert_no_unrecorded_write(world, shape(world) != before, incident_id, first)
    recorded = bool(records(world, incident_id))

    at_product_deadlines(world)   # the fault is gone: nothing is meant to be slower than a deadline now
    before_redelivery()
    again = deliver(world, scenario, counter)

    assert again.raised is None, again.raised
    assert len(records(world, incident_id)) <= 1
    assert_no_unrecorded_write(world, shape(world) != before, incident_id, again)
    if recorded:
        assert again.outcome.status.value == "skipped" and again.outcome.reason.startswith("duplicate"), \
            again.outcome.reason
    if first.result == "redelivered":
        # The retry is the first handling that counts: it acts as a fault-free delivery would.
        assert again.outcome.status.value in ("applied", "escalated", "skipped"), again.outcome.reason


@dataclass
class ProcessStop:
    """`stop_the_process_at`'s stop: made once `arm`ed, by the first matching call; `done` once made."""

    armed: bool = False
    done: bool = False

    def arm(self) -> None:
        self.armed = True


def stop_the_process_at(faults: Any, method: str, seconds: float) -> ProcessStop:
    """Once armed, the first `method` call the stand-in takes holds the interpreter for `seconds` before it is
    served: every thread of this process stops, the product's clients and the other stand-ins included, while
    gRPC's own deadline timers run on. The stand-ins' fault rules are a slow API (`add_latency`); this is a
    slow instance."""
    stop, before_call = ProcessStop(), faults.before_call

    def stopping(called: str, request: Any = None) -> Any:
        if stop.armed and not stop.done and called == method:
            stop.done = True
            hold_the_interpreter(seconds)
        return before_call(called, request)

    faults.before_call = stopping
    return stop


def hold_the_interpreter(seconds: float) -> None:
    """Runs on this thread alone for `seconds`, as a full garbage collection does: the GIL is handed over only
    when another thread has asked for it for a switch interval (sys.setswitchinterval), made longer than the hold."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(seconds + 1)
    try:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass
    finally:
        sys.setswitchinterval(interval)


def resolve_incident(world: World, scenario: str) -> str:
    from sandbox.scenarios import resolve_scenario

    return resolve_scenario(scenario).notification(world.anchor)["incident"]["incident_id"]


# --- the dangerous case: the write landed, the answer was lost -------------------------------------------------------


@pytest.mark.parametrize("part,method,code,polls,expected", [
    # The answer never came (client deadline, or a dropped connection); the operation is still
    # running on the server, so what serves is not settled: escalated, recorded for the sweep.
    pytest.param("run", "UpdateService", grpc.StatusCode.DEADLINE_EXCEEDED, 2, "escalated", id="run-deadline"),
    pytest.param("run", "UpdateService", grpc.StatusCode.UNAVAILABLE, 2, "escalated", id="run-unavailable"),
    # The same, with an operation that was already done when the answer was lost: the re-read
    # shows the change settled, so it is the applied rollback, once.
    pytest.param("run", "UpdateService", grpc.StatusCode.DEADLINE_EXCEEDED, 0, "applied", id="run-deadline-settled"),
    pytest.param("run", "UpdateService", grpc.StatusCode.UNAVAILABLE, 0, "applied", id="run-unavailable-settled"),
    pytest.param("vpcaccess", "PatchConnector", grpc.StatusCode.DEADLINE_EXCEEDED, 2, "escalated",
                 id="vpc-deadline"),
    pytest.param("vpcaccess", "PatchConnector", grpc.StatusCode.INTERNAL, 2, "escalated", id="vpc-internal"),
    # Permanent codes that are no refusal (shared.errors UNPROVEN_WRITE_CODES): CANCELLED (HTTP 499) and
    # DATA_LOSS (HTTP 500) after the server acted. Read as refusals, they answered `failed` with nothing
    # recorded for a write that took.
    pytest.param("run", "UpdateService", grpc.StatusCode.DATA_LOSS, 2, "escalated", id="run-data-loss"),
    pytest.param("run", "UpdateService", grpc.StatusCode.CANCELLED, 0, "applied", id="run-cancelled-settled"),
    pytest.param("vpcaccess", "PatchConnector", grpc.StatusCode.DATA_LOSS, 2, "escalated", id="vpc-data-loss"),
    pytest.param("vpcaccess", "PatchConnector", grpc.StatusCode.CANCELLED, 2, "escalated", id="vpc-cancelled"),
])
def test_a_write_that_landed_but_whose_answer_was_lost_acts_once(standin_env, firestore, pubsub, project_id, anchor,
                                                                 part, method, code, polls, expected):
    rollback = part == "run"
    make = rollback_world if rollback else connector_world
    world = make(standin_env, pubsub, project_id, anchor, tight=(part,))
    scenario = "bad_revision" if rollback else "connector_saturation"
    incident_id = resolve_incident(world, scenario)
    getattr(world.standins, part).lro_polls_before_done = polls
    getattr(world.standins, part).faults.lose_response(1, code, method=method)
    counter = DeliveryCounter()

    first = deliver(world, scenario, counter)
    again = deliver(world, scenario, counter)                    # Pub/Sub's redelivery
    renotified = deliver(world, scenario, counter, message_id="m-2")  # Monitoring's re-notification

    assert first.result == expected, first.raised or first.outcome.reason
    [record] = records(world, incident_id)
    assert record["state"] == "pending"  # the sweep judges it, like any other action
    for later in (again, renotified):
        assert later.outcome.status.value == "skipped" and later.outcome.reason.startswith("duplicate")
    if rollback:
        assert desired_traffic(world) == [("backend-00001-abc", 100)]
        assert {tuple(t.revision for t in r.service.traffic) for r in world.standins.run.requests(method)} \
            == {("backend-00001-abc",)}  # every request sent was the one rollback (a retry re-sends it)
    else:
        assert world.standins.vpcaccess.count(method) == 1


@pytest.mark.parametrize("part,method", [("run", "UpdateService"), ("vpcaccess", "PatchConnector")])
@pytest.mark.parametrize("code", [grpc.StatusCode.CANCELLED, grpc.StatusCode.DATA_LOSS])
def test_a_write_answered_with_a_code_that_is_no_refusal_is_escalated_once_never_failed(
        standin_env, firestore, pubsub, project_id, anchor, part, method, code):
    """CANCELLED and DATA_LOSS say nothing of whether a write was applied (google/rpc/code.proto; no Cloud Run
    or VPC Access page says either). Under the reading where the server answered before acting (the stand-in
    refuses, nothing changes), the answer must still not be `failed` with the claim given back, which is right
    only for a refusal: it is escalated as of unknown outcome, recorded once for the sweep, and the write is
    sent once. The other reading (it acted) is in test_a_write_that_landed_but_whose_answer_was_lost_acts_once."""
    rollback = part == "run"
    make = rollback_world if rollback else connector_world
    world = make(standin_env, pubsub, project_id, anchor, tight=(part,))
    scenario = "bad_revision" if rollback else "connector_saturation"
    incident_id = resolve_incident(world, scenario)
    getattr(world.standins, part).faults.fail_next(1, code, method=method)
    counter = DeliveryCounter()

    first = deliver(world, scenario, counter)
    again = deliver(world, scenario, counter)

    assert first.result == "escalated", first.raised or first.outcome.reason
    assert code.name in first.outcome.reason
    [record] = records(world, incident_id)
    assert record["state"] == "pending"
    assert again.outcome.status.value == "skipped" and again.outcome.reason.startswith("duplicate"), \
        again.outcome.reason
    assert getattr(world.standins, part).count(method) == 1


def test_a_write_that_lands_after_the_client_gave_up_is_recorded_and_not_repeated(standin_env, firestore, pubsub,
                                                                                  project_id, anchor):
    """The request is slower than the client's deadline: the client sees DEADLINE_EXCEEDED, and the
    server applies it a moment later. The re-read right after the error cannot see it yet."""
    world = rollback_world(standin_env, pubsub, project_id, anchor, tight=("run",))
    incident_id = resolve_incident(world, "bad_revision")
    world.standins.run.faults.add_latency(SLOWER_THAN_THE_DEADLINE, method="UpdateService")
    counter = DeliveryCounter()

    first = deliver(world, "bad_revision", counter)
    assert world.standins.run.wait_until_answered(timeout=30), "the late UpdateService never finished"
    world.standins.run.faults.clear()
    again = deliver(world, "bad_revision", counter)

    assert first.result == "escalated" and "may still be applied" in first.outcome.reason, first.outcome.reason
    assert desired_traffic(world) == [("backend-00001-abc", 100)]  # it did land
    [record] = records(world, incident_id)
    assert record["state"] == "pending"
    assert again.outcome.status.value == "skipped" and again.outcome.reason.startswith("duplicate")
    assert world.standins.run.count("UpdateService") == 1


# --- the state store goes away -----------------------------------------------------------------------------------------


@pytest.fixture
def cuttable_firestore(firestore, monkeypatch):
    proxy = CuttableProxy(firestore.host)
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", proxy.address)
    yield proxy
    proxy.close()


def _state_through(world: World, project_id: str) -> None:
    world.state = world.adapters.state = FirestoreStateStore(project_id, timeout=1.0)


def _cut_when(proxy: CuttableProxy, happened: Callable[[], bool]) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 30
        while not happened() and time.monotonic() < deadline:
            time.sleep(0.001)
        proxy.cut()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("when", ["before anything", "after the evidence"])
def test_firestore_gone_before_the_write_fails_closed_and_says_why(standin_env, cuttable_firestore, pubsub,
                                                                   project_id, anchor, when, capsys):
    world = rollback_world(standin_env, pubsub, project_id, anchor, tight=())
    _state_through(world, project_id)
    counter = DeliveryCounter()
    if when == "before anything":
        cuttable_firestore.cut()
    else:
        _cut_when(cuttable_firestore, lambda: world.standins.logging.count("ListLogEntries") > 0)

    first = deliver(world, "bad_revision", counter)

    assert isinstance(first.raised, StateStoreUnavailable), first.raised or first.outcome.reason
    assert world.writes() == 0
    [deferred] = [line for line in _timeline(capsys) if line["runwarden"]["step"] == "deferred"]
    assert deferred["message"].startswith("state store unavailable: ")
    assert deferred["severity"] == "WARNING" and deferred["runwarden"]["attempt"] == 1
    assert world.pubsub.pull(world.subscription, 1, timeout=1) == []  # no outcome for an attempt to be retried

    cuttable_firestore.restore()
    again = redeliver_until_handled(world, "bad_revision", counter)

    assert again.outcome.status.value == "applied"
    assert world.writes() == 1


def redeliver_until_handled(world: World, scenario: str, counter: DeliveryCounter, tries: int = 10,
                            message_id: str = "m-1") -> Delivered:
    """What Pub/Sub does after a non-2xx: deliver again, a little later, until it is answered.
    (A client whose connection was cut waits out its reconnect backoff first.)"""
    for _ in range(tries):
        delivered = deliver(world, scenario, counter, message_id=message_id)
        if delivered.raised is None:
            return delivered
        assert isinstance(delivered.raised, StateStoreUnavailable), delivered.raised
        time.sleep(1)
    return delivered


def test_firestore_gone_right_after_the_write_escalates_with_what_was_done(standin_env, cuttable_firestore, pubsub,
                                                                           project_id, anchor):
    world = rollback_world(standin_env, pubsub, project_id, anchor, tight=("run",))
    _state_through(world, project_id)
    incident_id = resolve_incident(world, "bad_revision")
    world.standins.run.faults.add_latency(0.3, method="GetOperation")  # the cut lands while it is followed
    counter = DeliveryCounter()
    _cut_when(cuttable_firestore, lambda: world.standins.run.count("UpdateService") > 0)

    first = deliver(world, "bad_revision", counter)
    cuttable_firestore.restore()
    # The first delivery was answered (escalated), so what comes next is the alert's re-notification.
    again = redeliver_until_handled(world, "bad_revision", counter, message_id="m-2")

    assert first.result == "escalated", first.raised or first.outcome.reason
    assert "applied (the API confirmed the change), but it could not be recorded: state store unavailable" \
        in first.outcome.reason
    assert any("pinned" in note for note in first.outcome.notes)  # how to release the pin reaches the person
    assert desired_traffic(world) == [("backend-00001-abc", 100)]
    assert records(world, incident_id) == []  # the record is what could not be written
    # The claim stays held (taken before the write), so the redelivery cannot act again.
    assert again.outcome.status.value == "skipped" and again.outcome.reason.startswith("duplicate")
    assert world.standins.run.count("UpdateService") == 1


def _timeline(capsys) -> list[dict]:
    import json

    lines = []
    for raw in capsys.readouterr().out.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and "runwarden" in line:
            lines.append(line)
    return lines


def test_firestore_down_for_every_delivery_ends_in_one_failed_outcome_that_says_why(standin_env, cuttable_firestore,
                                                                                      pubsub, project_id, anchor):
    world = World(standin_env, pubsub, project_id, anchor, delivery={"max_attempts": 5})   # no API faulted
    world.seed("bad_revision")
    _state_through(world, project_id)
    cuttable_firestore.cut()
    counter = DeliveryCounter()

    attempts = [deliver(world, "bad_revision", counter) for _ in range(5)]

    assert [isinstance(a.raised, StateStoreUnavailable) for a in attempts] == [True, True, True, True, False]
    last = attempts[-1].outcome
    assert last.status.value == "failed"
    assert "gave up after 5 deliveries of message m-1" in last.reason
    assert "state store unavailable: " in last.reason
    assert len(world.published(2)) == 1  # one outcome for the message, not one per attempt
    assert world.writes() == 0


def test_a_claim_left_by_an_attempt_that_died_is_redelivered_never_acted_on(standin_env, firestore, pubsub, project_id,
                                                                        anchor):
    """An attempt killed between its claim and its record (function timeout, instance lost)
    leaves the claim 'claimed'. Its redelivery cannot know what it did: it does not act, and is
    not acknowledged either (acknowledged, the incident would be lost if that attempt died), so
    Pub/Sub delivers it again until the claim completes or expires. Another message about the same
    incident is a plain duplicate."""
    from datetime import timedelta

    from shared.remediation.guardrails import CLAIMS, claim_key

    world = rollback_world(standin_env, pubsub, project_id, anchor, tight=())
    incident_id = resolve_incident(world, "bad_revision")
    ttl = timedelta(seconds=world.config.guardrails.claim_ttl_seconds)
    world.state.claim(CLAIMS, claim_key(incident_id, SERVICE, "rollback_traffic"), "m-1:0123456789ab", ttl,
                      world.clock.now())
    counter = DeliveryCounter()

    redelivered = deliver(world, "bad_revision", counter)
    renotified = deliver(world, "bad_revision", counter, message_id="m-2")

    from shared.remediation.guardrails import InProgress

    assert isinstance(redelivered.raised, InProgress), redelivered.raised or redelivered.outcome.reason
    assert redelivered.result == "redelivered"
    assert renotified.outcome.status.value == "skipped" and renotified.outcome.reason.startswith("duplicate")
    assert "earlier delivery" not in renotified.outcome.reason  # another message: a plain duplicate
    assert world.writes() == 0


# --- a write refused for a missing permission: the outcome names it -------------------------------------------------


@pytest.mark.parametrize("part,method,named,expected", [
    pytest.param("run", "UpdateService", True, "Runwarden's service account needs run.services.update", id="run-named"),
    pytest.param("run", "UpdateService", False,
                 "the API did not name the permission: Runwarden's service account needs every permission "
                 "rollback_traffic declares: run.services.get, run.services.update, run.revisions.list, "
                 "run.operations.get, iam.serviceAccounts.actAs", id="run-unnamed"),
    pytest.param("vpcaccess", "PatchConnector", True, "Runwarden's service account needs vpcaccess.connectors.update",
                 id="vpc-named"),
    pytest.param("vpcaccess", "PatchConnector", False,
                 "the API did not name the permission: Runwarden's service account needs every permission "
                 "scale_connector declares: vpcaccess.connectors.get, vpcaccess.connectors.update, "
                 "vpcaccess.operations.get (on the target's project)", id="vpc-unnamed"),
])
def test_a_write_refused_for_a_permission_names_the_permission_to_grant(standin_env, firestore, pubsub, project_id,
                                                                        anchor, part, method, named, expected):
    """PERMISSION_DENIED on the write: the `failed` outcome ends with the permission to grant, the one
    the refusal names (its ErrorInfo, or its message), or, when it names none ("The caller does not have
    permission"), every permission the action declares. Before, a refusal that named none reached the
    person as a bare "The caller does not have permission"."""
    rollback = part == "run"
    make = rollback_world if rollback else connector_world
    world = make(standin_env, pubsub, project_id, anchor, tight=(part,))
    getattr(world.standins, part).faults.deny(method, named=named)

    first = deliver(world, "bad_revision" if rollback else "connector_saturation", DeliveryCounter())

    assert first.result == "failed", first.raised or first.outcome.reason
    assert expected in first.outcome.reason, first.outcome.reason
    assert getattr(world.standins, part).count(method) == 1


# --- no room to scale the connector: RESOURCE_EXHAUSTED ----------------------------------------------------------

WHAT_TO_CHECK = "gcloud compute networks vpc-access connectors describe backend-conn --region=us-central1"


@pytest.mark.parametrize("where", ["at-the-call", "at-the-operation"])
def test_a_scale_refused_for_want_of_room_is_reported_once_and_never_sent_again(standin_env, firestore, pubsub,
                                                                                project_id, anchor, where):
    """The patch refused RESOURCE_EXHAUSTED with no sign that it passes (a range with no free IP, a project quota),
    or accepted and its operation ended with code 8: `failed` at once, with what to check and the gcloud line,
    the cooldown and budget given back, the incident's claim kept, so that the alert delivered again is answered
    with that same answer, never a second patch. Before, the refusal at the call was transient: redelivered
    until the last delivery, each one patching again, and the person was told nothing to check."""
    world = connector_world(standin_env, pubsub, project_id, anchor, tight=("vpcaccess",))
    vpc = world.standins.vpcaccess
    if where == "at-the-call":
        vpc.exhaust_room()
    else:
        vpc.fail_next_operation(grpc.StatusCode.RESOURCE_EXHAUSTED, "Quota 'CPUS' exceeded. Limit: 24.0 in region "
                                                                    "us-central1.")
    before = connector_shape(world)
    counter = DeliveryCounter()

    first = deliver(world, "connector_saturation", counter)
    sent = vpc.count("PatchConnector")
    again = deliver(world, "connector_saturation", counter)

    assert first.result == "failed", first.raised or first.outcome.reason
    assert "[RESOURCE_EXHAUSTED]" in first.outcome.reason and WHAT_TO_CHECK in first.outcome.reason
    assert "gcloud compute networks vpc-access connectors update backend-conn" in first.outcome.reason
    assert "Not tried again for this incident" in first.outcome.reason
    # The same answer again, from the claim kept `failed` (Gate._refused), with no second patch.
    assert again.result == "failed" and again.outcome.reason == first.outcome.reason, again.result
    assert vpc.count("PatchConnector") == sent <= TIGHT.attempts
    assert connector_shape(world) == before


def test_a_rate_quota_that_clears_by_the_next_delivery_scales_once(standin_env, firestore, pubsub, project_id, anchor):
    """A per-minute quota (RATE_LIMIT_EXCEEDED) refuses the patch at the first delivery: nothing written, all given
    back, redelivered; by the second it has passed, and the connector is scaled once."""
    world = connector_world(standin_env, pubsub, project_id, anchor, tight=("vpcaccess",))
    vpc = world.standins.vpcaccess
    vpc.faults.rate_limit(3600, "PatchConnector", service="vpcaccess.googleapis.com")
    before = connector_shape(world)
    counter = DeliveryCounter()

    first = deliver(world, "connector_saturation", counter)
    vpc.faults.clear()
    again = deliver(world, "connector_saturation", counter)

    assert first.result == "redelivered", first.outcome and first.outcome.reason
    assert connector_shape(world) != before
    assert again.result == "applied", again.raised or again.outcome.reason
    assert len(records(world, resolve_incident(world, "connector_saturation"))) == 1


def test_a_rate_quota_that_never_clears_is_reported_at_the_last_delivery_with_what_to_check(
        standin_env, firestore, pubsub, project_id, anchor):
    """A rate quota still refusing at the message's last delivery: `failed`, naming it and what to check, not the
    bare give-up ("gave up after 5 deliveries") the person got before."""
    world = connector_world(standin_env, pubsub, project_id, anchor, tight=("vpcaccess",), attempts=5)   # the config's least
    world.standins.vpcaccess.faults.rate_limit(3600, "PatchConnector", service="vpcaccess.googleapis.com")
    counter = DeliveryCounter()

    earlier = [deliver(world, "connector_saturation", counter).result for _ in range(4)]
    last = deliver(world, "connector_saturation", counter)

    assert earlier == ["redelivered"] * 4
    assert last.result == "failed", last.raised
    assert "rate quota" in last.outcome.reason and WHAT_TO_CHECK in last.outcome.reason, last.outcome.reason
    assert "gave up" not in last.outcome.reason


# --- Cloud Run's traffic update refused for quota: RESOURCE_EXHAUSTED ------------------------------------------------

RUN_TO_CHECK = "gcloud run services describe backend --region=us-central1 --project=demo-project"
RUN_QUOTAS = "https://console.cloud.google.com/iam-admin/quotas?project=demo-project&service=run.googleapis.com"
RUN_BY_HAND = "gcloud run services update-traffic backend --to-revisions=backend-00001-abc=100"


@pytest.mark.parametrize("shape", [LIMIT, BARE])
def test_a_rollback_refused_for_a_fixed_limit_is_reported_once_and_never_sent_again(standin_env, firestore, pubsub,
                                                                                    project_id, anchor, shape):
    """UpdateService refused RESOURCE_EXHAUSTED with no sign that it passes (an ErrorInfo RESOURCE_QUOTA_EXCEEDED, or
    no details at all): `failed` at once, naming the service to look at, the project's Cloud Run quotas and the
    update-traffic line to run by hand, the cooldown and budget given back, the incident's claim kept, so that the
    incident notified again (another message) is a duplicate of that answer, never a second write. Before, the
    refusal was transient at every delivery: the rollback sent again each time until the last, then a bare give-up
    that named nothing to check."""
    world = rollback_world(standin_env, pubsub, project_id, anchor, tight=("run",))
    run = world.standins.run
    run.exhaust_quota(shape)
    before = desired_traffic(world)
    counter = DeliveryCounter()

    first = deliver(world, "bad_revision", counter)
    again = deliver(world, "bad_revision", counter, message_id="m-2")   # Monitoring's re-notification

    assert first.result == "failed", first.raised or first.outcome.reason
    reason = first.outcome.reason
    assert "[RESOURCE_EXHAUSTED]" in reason and "no wait clears" in reason, reason
    assert RUN_TO_CHECK in reason and RUN_QUOTAS in reason and RUN_BY_HAND in reason, reason
    assert "Not tried again for this incident" in reason
    assert again.result == "skipped" and reason in again.outcome.reason, again.raised or again.outcome.reason
    assert run.count("UpdateService") == 1
    assert desired_traffic(world) == before
    assert records(world, resolve_incident(world, "bad_revision")) == []


def test_a_rollback_refused_by_a_rate_quota_that_never_clears_is_reported_at_the_last_delivery(
        standin_env, firestore, pubsub, project_id, anchor):
    """Cloud Run's write quota (ErrorInfo RATE_LIMIT_EXCEEDED) still refusing at the message's last delivery: each
    earlier delivery gave everything back and was redelivered, and the last is `failed`, naming the rate quota and
    what to check, not the bare give-up ("gave up after 5 deliveries") the person got before."""
    world = rollback_world(standin_env, pubsub, project_id, anchor, tight=("run",), attempts=5)   # the config's least
    world.standins.run.exhaust_quota(RATE)
    before = desired_traffic(world)
    counter = DeliveryCounter()

    earlier = [deliver(world, "bad_revision", counter).result for _ in range(4)]
    last = deliver(world, "bad_revision", counter)

    assert earlier == ["redelivered"] * 4
    assert last.result == "failed", last.raised
    reason = last.outcome.reason
    assert "rate quota" in reason and RUN_TO_CHECK in reason and RUN_QUOTAS in reason, reason
    assert "gave up" not in reason
    assert world.standins.run.count("UpdateService") == 5
    assert desired_traffic(world) == before


@pytest.mark.parametrize("part,method,permission", [
    pytest.param("run", "GetService", "run.services.get", id="run-get-service"),
    pytest.param("run", "ListRevisions", "run.revisions.list", id="run-list-revisions"),
    pytest.param("monitoring", "ListTimeSeries", "monitoring.timeSeries.list", id="monitoring"),
    pytest.param("logging", "ListLogEntries", "logging.logEntries.list", id="logging"),
    pytest.param("vpcaccess", "GetConnector", "vpcaccess.connectors.get", id="vpcaccess"),
])
def test_a_read_refused_bare_names_the_permission_it_needs_and_is_never_healthy(
        standin_env, firestore, pubsub, project_id, anchor, part, method, permission):
    """A read refused PERMISSION_DENIED with no details ("The caller does not have permission", no ErrorInfo):
    the outcome (its reason, or the diagnosis's evidence gaps) names the permission the call needs, as the
    adapter declares it (`iam_permissions`). Before, it quoted the bare refusal and named none."""
    world = connector_world(standin_env, pubsub, project_id, anchor, tight=(part,))
    getattr(world.standins, part).faults.deny(method, named=False)

    first = deliver(world, "connector_saturation", DeliveryCounter())

    assert first.outcome is not None, first.raised
    assert first.result != "healthy", first.outcome.reason
    published = first.outcome.model_dump_json()
    assert "does not have permission" in published, published
    assert f"needs {permission}" in published, published


def test_a_rollback_refused_by_a_rate_quota_asking_for_a_short_wait_is_applied_within_the_delivery_once(
        standin_env, firestore, pubsub, project_id, anchor):
    """Cloud Run's write quota refuses the rollback once, asking for 0.5 s (RetryInfo), which fits in what is left of
    the write's call (the product's CallPolicy): the same UpdateService, the same etag, is sent once more within the
    delivery, under the claim the gate took, and applied: `applied` at the first delivery, one action record, and the
    message delivered again is a duplicate, no third UpdateService. Before, the first delivery was given back and
    redelivered, the rollback made a Pub/Sub backoff later on evidence read again."""
    world = rollback_world(standin_env, pubsub, project_id, anchor)
    run = world.standins.run
    before = desired_traffic(world)
    run.exhaust_quota(RATE, retry_delay=0.5, times=1)
    counter = DeliveryCounter()

    first = deliver(world, "bad_revision", counter)
    again = deliver(world, "bad_revision", counter)

    assert first.result == "applied", first.raised or first.outcome.reason
    sent = [call.request.service.etag for call in run.calls if call.method == "UpdateService"]
    assert len(sent) == 2 and sent[0] == sent[1], sent
    assert desired_traffic(world) != before
    assert len(records(world, resolve_incident(world, "bad_revision"))) == 1
    assert again.result != "applied" and run.count("UpdateService") == 2, again.raised or again.outcome.reason
