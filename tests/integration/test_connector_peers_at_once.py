"""A service alert's connector peers read at once, through the pipeline on the stand-ins.

ledger's own 5xx alert blames fin-conn, and three other managed services are behind it. Before, they were read one
after another (each its GetService, then its ListRevisions, then its request metrics: three round trips a peer), so
three peers cost three peers' time, all of it out of the alert's bounded time (sweep_budget.alert_peer_time). Now
their lookups are made at once, then their metrics at once, on a bounded pool of their own: three peers cost about
one's round trips. The stand-ins prove the overlap with no clock (Faults.meet: each call is held until the others
have arrived; made one after another they never meet, and each is refused saying so). A fault meant for one peer is
aimed at its reads by name (`about`), never by the order calls arrive in, which overlap no longer fixes.
"""
from __future__ import annotations

import grpc
import pytest

from shared.errors import TransientError

from sandbox.scenarios import resolve_scenario, seed, with_copies
from tests.integration.world import World

pytestmark = pytest.mark.emulator

CLEAN = "service_alert_saturation_busy_clean_peer_shared_connector"
IDLE = "service_alert_saturation_idle_peer_shared_connector"
PEER = "statements"
MORE = ("payments", "reports")


def _world(name: str, standin_env, pubsub, project_id, anchor) -> World:
    scenario = with_copies(resolve_scenario(name), PEER, MORE)
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    seed(standin_env, scenario, anchor)
    assert len(world.config.services) == 1 + 1 + len(MORE)
    return world


def _named(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"services/{name}" for name in names)


def _serving(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f'service_name = "{name}"' for name in names)


@pytest.mark.parametrize("name, status", [(CLEAN, "escalated"), (IDLE, "proposed")])
def test_the_peers_lookups_and_metrics_are_read_at_once(name, status, standin_env, firestore, pubsub, project_id,
                                                        anchor):
    """The three peers' GetService calls wait for each other, as do their ListRevisions and their request_count
    reads: they meet only when made at once. The verdict is the one the peers make (held on a clean one, proposed
    beside idle ones), none named as not read, each read once. Before, the first peer's GetService waited alone and
    was refused (FAILED_PRECONDITION), the next two with it: all three named as not read."""
    world = _world(name, standin_env, pubsub, project_id, anchor)
    peers = (PEER, *MORE)
    standin_env.run.faults.meet("GetService", _named(peers))
    standin_env.run.faults.meet("ListRevisions", _named(peers))
    standin_env.monitoring.faults.meet("ListTimeSeries", _serving(peers), mentioning="run.googleapis.com/request_count")

    outcome = world.handle(world.alert(name))

    assert outcome.status.value == status, outcome.reason
    assert "could not be read" not in outcome.diagnosis.summary, outcome.diagnosis.summary
    assert standin_env.run.count("GetService") == 1 + len(peers)       # ledger's, then each peer's once
    assert world.writes() == 0


def test_a_refusal_aimed_at_one_peer_names_that_peer_whatever_the_order_its_reads_arrive_in(
        standin_env, firestore, pubsub, project_id, anchor):
    """reports' GetService refused (PERMISSION_DENIED) while payments and statements, idle, are read beside it: the
    scale is held back naming reports alone, with the refusal; the idle ones are not named as unread."""
    world = _world(IDLE, standin_env, pubsub, project_id, anchor)
    standin_env.run.faults.fail_next(1, grpc.StatusCode.PERMISSION_DENIED, method="GetService",
                                     about="services/reports")

    outcome = world.handle(world.alert(IDLE))

    assert outcome.status.value == "escalated", outcome.reason
    summary = outcome.diagnosis.summary
    assert "1 could not be read" in summary and "services/reports: " in summary, summary
    assert "PERMISSION_DENIED" in summary and "run.services.get" in summary, summary
    assert world.writes() == 0


def test_a_metrics_fault_aimed_at_one_peer_is_raised_for_a_redelivery(standin_env, firestore, pubsub, project_id,
                                                                       anchor):
    """payments' request metrics unanswered (UNAVAILABLE on every attempt) while the others are read beside it:
    raised for the alert's redelivery, naming the fault, nothing written."""
    world = _world(IDLE, standin_env, pubsub, project_id, anchor)
    standin_env.monitoring.faults.fail_next(1000, grpc.StatusCode.UNAVAILABLE, method="ListTimeSeries",
                                            about='service_name = "payments"')

    with pytest.raises(TransientError, match="UNAVAILABLE"):
        world.handle(world.alert(IDLE))
    assert world.writes() == 0
