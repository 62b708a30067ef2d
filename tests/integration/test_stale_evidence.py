"""A service that changes between the evidence read and the write, on real parts: the Run
stand-in refuses the write's stale etag as Cloud Run would (ABORTED, or FAILED_PRECONDITION under
AIP-154's earlier text), and the alert is escalated with nothing written and nothing held."""
from __future__ import annotations

from typing import Any

import grpc
import pytest

from sandbox.scenarios import resolve_scenario
from sandbox.standins.run import TrafficSeed
from shared.remediation.guardrails import BUDGETS, CLAIMS, COOLDOWNS, budget_buckets, slot_keys
from tests.integration.world import SERVICE, World

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"


class ChangedMeanwhile:
    """The Run port, with someone else's change landing on the service just before the first write
    (as a person's `gcloud run services update-traffic` would). The real adapter does the write."""

    def __init__(self, run: Any, change: Any) -> None:
        self.run, self.change, self.changed = run, change, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.run, name)

    def set_traffic(self, *args: Any, **kwargs: Any) -> Any:
        if not self.changed:
            self.changed = True
            self.change()
        return self.run.set_traffic(*args, **kwargs)


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    return World(standin_env, pubsub, project_id, anchor)


@pytest.mark.parametrize("code", [grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION])
def test_a_service_changed_after_the_evidence_escalates_and_writes_nothing(world, code):
    world.seed("bad_revision")
    world.standins.run.stale_etag_code = code
    split = [TrafficSeed(90, NEW), TrafficSeed(10, OLD)]
    world.adapters.run = ChangedMeanwhile(world.adapters.run, lambda: world.standins.run.set_traffic(SERVICE, split))

    outcome = world.handle(world.alert())

    assert outcome.status.value == "escalated"
    assert "rollback_traffic not written" in outcome.reason and "changed after it was read" in outcome.reason
    assert f"[{code.name}]" in outcome.reason and "a person must check" in outcome.reason
    assert outcome.diagnosis.signature == "bad_revision"          # the evidence goes with it
    # The API refused the one write Runwarden sent: the other change is what serves.
    assert world.standins.run.count("UpdateService") == 1
    assert world.serving() == {NEW: 90, OLD: 10}
    # Nothing held: a new alert, or an operator's command, is free to act on fresh evidence.
    incident = resolve_scenario("bad_revision").notification(world.anchor)["incident"]["incident_id"]
    assert world.state.get(CLAIMS, f"{incident}|{SERVICE}|rollback_traffic") is None
    assert world.state.get(COOLDOWNS, SERVICE) is None
    for scope, bucket, capacity in budget_buckets(world.config, SERVICE, world.clock.now()):
        assert all(world.state.get(BUDGETS, key) is None for key in slot_keys(f"{scope}|{bucket}", capacity))
    assert world.state.find_records("actions", "service", SERVICE) == []


def test_a_change_the_server_let_the_write_land_over_is_recorded_and_escalated(world):
    """Under the reading where the server ignores the etag: a person's change between the read and
    the write is written over. The service's generation shows it, so the write is not reported as a
    clean `applied`: it is recorded (the sweep verifies or undoes it, nothing is written twice) and
    escalated, naming both generations."""
    world.seed("bad_revision")
    world.standins.run.stale_etag_code = None
    read = world.standins.run.service(SERVICE)
    split = [TrafficSeed(90, NEW), TrafficSeed(10, OLD)]
    world.adapters.run = ChangedMeanwhile(world.adapters.run, lambda: world.standins.run.set_traffic(SERVICE, split))

    outcome = world.handle(world.alert())

    assert outcome.status.value == "escalated", outcome.reason
    assert "another change around it" in outcome.reason and "may have been written over" in outcome.reason
    assert f"generation {read.generation} when read, {read.generation + 2} after" in outcome.reason
    assert world.serving() == {OLD: 100} and world.standins.run.count("UpdateService") == 1
    [record] = world.state.find_records("actions", "service", SERVICE)
    assert record["state"] == "pending"
    again = world.handle(world.alert(message_id="2"))
    assert again.status.value == "skipped" and world.standins.run.count("UpdateService") == 1


def test_the_next_alert_decides_on_fresh_evidence(world):
    """After the escalation, a new incident reads the service as it now is and acts on it."""
    world.seed("bad_revision")
    split = [TrafficSeed(90, NEW), TrafficSeed(10, OLD)]
    # The change made meanwhile is read by the service's generation alone here (audited, it is a person's move
    # 0 s before the second alert, which then stands down naming it: test_a_persons_move_meanwhile_stands_the_next_alert_down).
    world.adapters.run = ChangedMeanwhile(world.adapters.run,
                                          lambda: world.standins.run.set_traffic(SERVICE, split, audited=False))
    assert world.handle(world.alert()).status.value == "escalated"
    now = world.standins.run.service(SERVICE).etag

    again = world.handle(world.alert(message_id="2", incident_id="0.second"))

    assert again.status.value == "applied", again.reason
    assert world.serving() == {OLD: 100}
    assert world.standins.run.requests("UpdateService")[-1].service.etag == now   # the fresh read's
    assert world.standins.run.count("UpdateService") == 2



def test_a_persons_move_meanwhile_stands_the_next_alert_down(world):
    """A person's split move made while the first alert was read (`gcloud run services update-traffic`) leaves its
    Admin Activity entry, as every split move does: the next alert reads it, stands down naming the person and the
    move, and writes nothing over it. Before, the stand-in audited no split move and the next alert rolled back
    over the person's split a moment after it was made."""
    world.seed("bad_revision")
    split = [TrafficSeed(90, NEW), TrafficSeed(10, OLD)]
    world.adapters.run = ChangedMeanwhile(world.adapters.run, lambda: world.standins.run.set_traffic(
        SERVICE, split, by="alice@example.com"))
    assert world.handle(world.alert()).status.value == "escalated"

    again = world.handle(world.alert(message_id="2", incident_id="0.second"))

    assert again.status.value == "escalated", again.reason
    assert "recent human change" in again.reason and "alice@example.com" in again.reason, again.reason
    assert world.serving() == {NEW: 90, OLD: 10} and world.standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("code", [grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION])
def test_a_status_only_change_is_written_over_once_on_the_fresh_etag(world, code):
    """Under the reading where a status change moves the etag (undocumented): the generation and
    the desired traffic are as read, so the decision stands and the write is sent again, once, on
    the fresh etag; it is not escalated for the service's reconciliation alone."""
    world.seed("bad_revision")
    world.standins.run.stale_etag_code = code
    read = world.standins.run.service(SERVICE)
    world.adapters.run = ChangedMeanwhile(world.adapters.run, lambda: world.standins.run.touch_status(SERVICE))

    outcome = world.handle(world.alert())

    assert outcome.status.value == "applied", outcome.reason
    assert world.serving() == {OLD: 100}
    sent = world.standins.run.requests("UpdateService")
    assert len(sent) == 2 and sent[0].service.etag == read.etag
    assert sent[1].service.etag not in ("", read.etag)       # the re-read's etag, not a blind write


def test_a_status_change_then_a_persons_change_still_escalates(world):
    """The write is sent again once only: a person's change landing between the re-read and the
    second UpdateService is refused by its etag and escalated, never written over."""
    world.seed("bad_revision")
    run = world.standins.run
    split = [TrafficSeed(90, NEW), TrafficSeed(10, OLD)]
    adapter = world.adapters.run
    port = ChangedMeanwhile(adapter, lambda: run.touch_status(SERVICE))
    plain_read = adapter._read_service

    def read_then_a_person_changes_it(name):
        service = plain_read(name)
        if port.changed and run.count("UpdateService") == 1:   # the re-read after the first refusal
            run.set_traffic(SERVICE, split)
        return service

    adapter._read_service = read_then_a_person_changes_it
    world.adapters.run = port

    outcome = world.handle(world.alert())

    assert outcome.status.value == "escalated", outcome.reason
    assert "changed after it was read" in outcome.reason
    assert run.count("UpdateService") == 2
    assert world.serving() == {NEW: 90, OLD: 10}
