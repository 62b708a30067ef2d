"""A service's own 5xx alert diagnosed as its shared connector's saturation, through the pipeline on the stand-ins.

Before, the service alert's path read only the alerting service: the connector was proposed for a scale even while
statements, another managed service behind the same connector, served cleanly in the very minutes ledger failed.
Now the connector's other managed users are read (collection.users_of, then each one's request metrics) before a
scale is planned: a busy clean one holds the scale back, escalated naming both; one whose read never answers holds
it back too, named (never a scale, never a bare exception). An idle or failing peer leaves the scale as it was.
"""
from __future__ import annotations

import grpc
import pytest

from sandbox.scenarios import resolve_scenario
from shared.diagnosis.collection import READS_AGAIN
from tests.integration.world import FAST, World

pytestmark = pytest.mark.emulator

CLEAN = "service_alert_saturation_busy_clean_peer_shared_connector"
IDLE = "service_alert_saturation_idle_peer_shared_connector"
FAILING = "service_alert_saturation_failing_peer_shared_connector"
# Every attempt of every read users_of makes of a service (its own retries, then READS_AGAIN reads again).
EVERY_READ = FAST.attempts * (1 + READS_AGAIN)


def _world(name: str, standin_env, pubsub, project_id, anchor) -> World:
    world = World.for_scenario(resolve_scenario(name), standin_env, pubsub, project_id, anchor)
    world.seed(name)
    return world


def test_a_busy_clean_peer_on_the_connector_holds_the_service_alerts_scale_back(
        standin_env, firestore, pubsub, project_id, anchor):
    world = _world(CLEAN, standin_env, pubsub, project_id, anchor)

    outcome = world.handle(world.alert(CLEAN))

    assert outcome.status.value == "escalated", outcome.reason
    assert outcome.diagnosis.signature == "inconclusive", outcome.diagnosis
    summary = outcome.diagnosis.summary
    assert "statements served" in summary and "the minutes ledger failed" in summary, summary
    assert standin_env.vpcaccess.count("PatchConnector") == 0
    # The peer is read once: its service and revisions by users_of, its request metrics from that read.
    assert (standin_env.run.count("GetService"), standin_env.run.count("ListRevisions")) == (2, 2)


@pytest.mark.parametrize("name", [IDLE, FAILING])
def test_an_idle_or_failing_peer_leaves_the_scale_as_before(name, standin_env, firestore, pubsub, project_id, anchor):
    world = _world(name, standin_env, pubsub, project_id, anchor)

    outcome = world.handle(world.alert(name))

    assert outcome.status.value == "proposed", outcome.reason
    assert outcome.action.name == "scale_connector", outcome.action


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_a_peer_whose_read_never_answers_holds_the_scale_back_named(
        code, standin_env, firestore, pubsub, project_id, anchor):
    """statements' GetService never answers (every attempt of every read, after ledger's own): whether it served
    cleanly is not known, so the connector is not scaled on ledger's evidence alone; escalated, naming it and the
    fault, never a bare exception."""
    world = _world(CLEAN, standin_env, pubsub, project_id, anchor)
    standin_env.run.faults.fail_next(EVERY_READ, code, method="GetService", after=1)

    outcome = world.handle(world.alert(CLEAN))

    assert outcome.status.value == "escalated", outcome.reason
    summary = outcome.diagnosis.summary
    assert "services/statements: not answered after 3 read(s) of Cloud Run" in summary, summary
    assert code.name in summary and "could not be read" in summary, summary
    assert standin_env.vpcaccess.count("PatchConnector") == 0


def test_a_peer_whose_metrics_read_never_answers_holds_the_scale_back_named(
        standin_env, firestore, pubsub, project_id, anchor):
    """statements' request metrics never answer (every Monitoring call past ledger's own, counted on a world that
    manages ledger alone): whether it served cleanly is not known, so nothing is scaled; escalated, naming the reads."""
    alone = _world(CLEAN, standin_env, pubsub, project_id, anchor)
    alone.config = alone.config.model_copy(update={"services": alone.config.services[:1]})
    assert alone.handle(alone.alert(CLEAN, incident_id="ledger-alone")).status.value == "proposed"
    ledger = len(standin_env.monitoring.calls)
    world = World.for_scenario(resolve_scenario(CLEAN), standin_env, pubsub, project_id, anchor)
    before = len(standin_env.monitoring.calls)
    standin_env.monitoring.faults.fail_next(1000, grpc.StatusCode.UNAVAILABLE, after=ledger)

    outcome = world.handle(world.alert(CLEAN, message_id="2", incident_id="both"))

    assert len(standin_env.monitoring.calls) > before + ledger     # the peer's reads were made, and failed
    assert outcome.status.value == "escalated", outcome.reason
    summary = outcome.diagnosis.summary
    assert "services/statements: monitoring: run request_count" in summary, summary
    assert "could not be read" in summary and "UNAVAILABLE" in summary, summary
    assert standin_env.vpcaccess.count("PatchConnector") == 0
