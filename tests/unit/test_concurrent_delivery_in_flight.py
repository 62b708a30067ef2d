"""Two deliveries of one incident at once, interleaved at the exact point the storm drill once met
(tests/e2e/test_drills_storm.py): delivery B reads the service just after delivery A's rollback was accepted by
Cloud Run and before the service serves it. The service then asks for the rollback's revision at 100%
(Service.traffic) while it still serves the failing one (traffic_statuses: "transient values that might mismatch
traffic" while `reconciling`, google/cloud/run/v2/service.proto), and nothing recorded says the split is
Runwarden's yet: A holds the incident's claim, its action record comes once the write is done.

B's pre-claim checks used to read that split as "a change not recorded as Runwarden's" and answer `escalated`,
for an incident A answered `applied`: two contradictory outcomes for one incident. Now any hold found before the
gate first reads the incident's claim afresh, and B answers as the duplicate it is. One write, one `applied`, the
rest duplicates. In-process parts (tests/property/fast.py) through the pipeline's own entry point, two threads
interleaved by events: deterministic."""
from __future__ import annotations

import dataclasses
import threading
from typing import Any, Callable

import pytest

from sandbox.inprocess import InProcessLogging, InProcessRun, InProcessVpcAccess
from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from shared.remediation.settled import SettledIncidents
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR, CONNECTOR

# The connector's scale, one-way, allowed (tests/property/test_fast_tier.py's policy): written without approval.
SCALE = {"bounds": {"connectors": [{"name": CONNECTOR, "allow_one_way": True, "max_instances_ceiling": 5}]}}
WAIT = 30.0   # seconds: a bound on each hand-over, never reached when the interleaving holds


class _Hooked:
    """A transport that runs `before(method)` ahead of each call and `after(method)` once it returned, outside the
    stand-in's lock."""

    def __init__(self, inner: Any, before: Callable[[str], None] = lambda _m: None,
                 after: Callable[[str], None] = lambda _m: None) -> None:
        self.inner, self.before, self.after = inner, before, after

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.before(method)
        answer = self.inner.call(method, *args, **kwargs)
        self.after(method)
        return answer


class _HookedVpcAccess(InProcessVpcAccess):
    """The VPC Access client, its HTTP requests hooked as `_Hooked` hooks a gRPC stand-in's calls (by verb)."""

    def __init__(self, standin: Any, before: Callable[[str], None], after: Callable[[str], None]) -> None:
        super().__init__(standin)
        self.before, self.after = before, after

    def _send(self, verb: str, resource: str, **kwargs: Any) -> dict[str, Any]:
        self.before(verb)
        answer = super()._send(verb, resource, **kwargs)
        self.after(verb)
        return answer


def _instance(world: FastWorld, read: str, before: Callable[[str], None] = lambda _m: None,
              after: Callable[[str], None] = lambda _m: None) -> Any:
    """The world's adapters for one instance of the function: its own Run, Logging and VPC Access clients (the one
    named by `read` hooked) and its own memory of settled incidents; the world's state and stand-ins."""
    run, logging = InProcessRun(world.standins.run), InProcessLogging(world.standins.logging)
    vpcaccess = (_HookedVpcAccess(world.standins.vpcaccess, before, after) if read == "vpcaccess"
                 else InProcessVpcAccess(world.standins.vpcaccess))
    if read in ("run", "logging"):
        hooked = run if read == "run" else logging
        hooked._transport = _Hooked(hooked._transport, before, after)
    return dataclasses.replace(world.adapters, run=run, logging=logging, vpcaccess=vpcaccess,
                               settled=SettledIncidents())


# Which of B's evidence reads A's accepted write overtakes: the service (its split asked for, not served), the
# audit log (Runwarden's own change, with the cooldown B's gate read ahead of A's claim not there yet), or the
# connector A scales (its new size read as where it stands).
CASES = {
    "rollback, the service read": ("bad_revision", "run", "GetService", "UpdateService", "UpdateService"),
    "rollback, the audit log read": ("bad_revision", "logging", "ListLogEntries", "UpdateService", "UpdateService"),
    "connector scale, the connector read": ("connector_saturation", "vpcaccess", "GET", "PATCH", "PatchConnector"),
}


@pytest.mark.parametrize("scenario, read, method, write, logged", CASES.values(), ids=CASES.keys())
def test_a_delivery_that_reads_the_other_deliverys_accepted_write_answers_it_as_a_duplicate(
        scenario, read, method, write, logged, capsys):
    world = FastWorld(seeded_copy(scenario, None), ANCHOR, **(SCALE if write == "PATCH" else {}))
    accepted, release = threading.Event(), threading.Event()
    answers: dict[str, Any] = {}

    def hold_after_update(method: str) -> None:
        if method == write and not accepted.is_set():
            accepted.set()                      # the API accepted A's write; it has not taken effect yet
            assert release.wait(WAIT)

    def delivery_a() -> None:
        answers["a"] = handle_alert(world.alert(scenario, message_id="a"), world.config,
                                    _instance(world, "run" if write == "UpdateService" else "vpcaccess",
                                              after=hold_after_update))

    first, starting = threading.Thread(target=delivery_a), threading.Lock()

    def start_a_before_reading(called: str) -> None:
        """Each of B's reads of `method` (some run at once, on threads of their own) waits for A's write."""
        if called != method:
            return
        with starting:
            if first.ident is None:
                first.start()                   # B read the incident's claims already: none yet
        assert accepted.wait(WAIT)

    try:
        answers["b"] = handle_alert(world.alert(scenario, message_id="b"), world.config,
                                    _instance(world, read, before=start_a_before_reading))
    finally:
        release.set()
        if first.ident is not None:
            first.join(WAIT)

    a, b = answers["a"], answers["b"]
    assert a.status is OutcomeStatus.APPLIED, a.reason
    assert world.standins.run.count(logged) + world.standins.vpcaccess.count(logged) == 1
    assert b.status is OutcomeStatus.SKIPPED and b.reason.startswith("duplicate"), (b.status, b.reason)
    assert "not recorded as Runwarden's" not in b.reason, b.reason
    held = [line for line in capsys.readouterr().out.splitlines() if '"runwarden_step": "held_beside_claim"' in line]
    if read == "run":
        # What B found before the claim (the split asked for, not served) stays on the timeline: should A die
        # before answering, a person reading the incident sees it until A's redelivery reads the evidence again.
        assert len(held) == 1 and "already asks for" in held[0], held


@pytest.mark.parametrize("scenario, read, method, write, logged", CASES.values(), ids=CASES.keys())
def test_a_delivery_that_reads_the_other_deliverys_finished_write_answers_it_as_a_duplicate(
        scenario, read, method, write, logged):
    """The same, A's write done and recorded before B's read: B read the incident's claims and action records before
    A's claim, and its evidence after A's write took effect (the split served, the connector READY at its new
    size)."""
    world = FastWorld(seeded_copy(scenario, None), ANCHOR, **(SCALE if write == "PATCH" else {}))
    answers: dict[str, Any] = {}
    first, starting = threading.Thread(target=lambda: answers.setdefault("a", handle_alert(
        world.alert(scenario, message_id="a"), world.config, _instance(world, "")))), threading.Lock()

    def run_a_before_reading(called: str) -> None:
        if called != method:
            return
        with starting:
            if first.ident is None:
                first.start()
        first.join(WAIT)

    answers["b"] = handle_alert(world.alert(scenario, message_id="b"), world.config,
                                _instance(world, read, before=run_a_before_reading))

    a, b = answers["a"], answers["b"]
    assert a.status is OutcomeStatus.APPLIED, a.reason
    assert world.standins.run.count(logged) + world.standins.vpcaccess.count(logged) == 1
    assert b.status is OutcomeStatus.SKIPPED and b.reason.startswith("duplicate"), (b.status, b.reason)
