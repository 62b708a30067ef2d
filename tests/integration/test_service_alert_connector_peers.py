"""A service's own 5xx alert diagnosed as its shared connector's saturation, through the pipeline on the stand-ins.

Before, the service alert's path read only the alerting service: the connector was proposed for a scale even while
statements, another managed service behind the same connector, served cleanly in the very minutes ledger failed.
Now the connector's other managed users are read (collection.users_of, then each one's request metrics) before a
scale is planned: a busy clean one holds the scale back, escalated naming both; one whose read never answers holds
it back too, named (never a scale, never a bare exception), as does one refused (PERMISSION_DENIED), one whose
revision names the connector by a project number that cannot be told from its project's, and one the alert's time
left no room to read. An idle or failing peer leaves the scale as it was.
"""
from __future__ import annotations

import grpc
import pytest

from sandbox.scenarios import resolve_scenario, seed
from shared.diagnosis.collection import READS_AGAIN
from shared.remediation.sweep_budget import ALERT_AFTER_PEERS_SECONDS, FUNCTION_TIMEOUT_ENV
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


def test_a_peer_whose_read_is_refused_holds_the_scale_back_named(standin_env, firestore, pubsub, project_id, anchor):
    """statements' GetService refused (PERMISSION_DENIED, a permanent refusal: never read again): whether it is
    behind the connector, and served cleanly, is not known; escalated naming it and the refusal. Before, it was
    dropped and the connector scaled on ledger's evidence alone."""
    world = _world(CLEAN, standin_env, pubsub, project_id, anchor)
    standin_env.run.faults.fail_next(1, grpc.StatusCode.PERMISSION_DENIED, method="GetService", after=1)

    outcome = world.handle(world.alert(CLEAN))

    assert outcome.status.value == "escalated", outcome.reason
    summary = outcome.diagnosis.summary
    assert "services/statements: " in summary and "PERMISSION_DENIED" in summary, summary
    assert "could not be read" in summary, summary
    assert standin_env.vpcaccess.count("PatchConnector") == 0


def test_a_peer_naming_the_connector_by_another_projects_number_holds_the_scale_back(
        standin_env, firestore, pubsub, project_id, anchor):
    """fin-conn in a Shared VPC host project: ledger's revision names it by the host's id, statements' by a project
    number that is neither its own project's nor told from the host's (nothing read says which project it is):
    whether statements is behind the connector is not known (Naming.MAYBE), as the connector alert's path escalates
    on it (by_number_held); escalated naming it. Before, it was dropped and the connector scaled."""
    scenario = resolve_scenario(CLEAN)
    host = "projects/net-host-prod/locations/us-east1/connectors/fin-conn"
    by_number = "projects/50859491105/locations/us-east1/connectors/fin-conn"
    services = [service.model_copy(update={"revisions": [revision.model_copy(update={"vpc_connector": named})
                                                         for revision in service.revisions]})
                for service, named in zip(scenario.services, (host, by_number))]
    connectors = [connector.model_copy(update={"project": "net-host-prod"}) for connector in scenario.connectors]
    series = [_in_host(series) for series in scenario.timeseries]
    scenario = scenario.model_copy(update={"services": services, "connectors": connectors, "timeseries": series})
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    seed(standin_env, scenario, anchor)

    outcome = world.handle(world.alert(CLEAN))

    assert outcome.status.value == "escalated", outcome.reason
    summary = outcome.diagnosis.summary
    assert "statements: its serving revision names the connector by a project number" in summary, summary
    assert standin_env.vpcaccess.count("PatchConnector") == 0


def _in_host(series):
    """A connector's series, moved to the host project with its connector; any other as it was."""
    if series.resource.type != "vpc_access_connector":
        return series
    labels = {**series.resource.labels, "project_id": "net-host-prod"}
    return series.model_copy(update={"project": "net-host-prod",
                                     "resource": series.resource.model_copy(update={"labels": labels})})


def test_no_peer_read_is_started_past_the_alerts_time_and_the_scale_is_held(
        standin_env, firestore, pubsub, project_id, anchor, monkeypatch):
    """A function timeout that leaves less than one lookup (GetService, ListRevisions at their longest) between the
    alert's reads and what the write needs after them: statements is not looked up at all, and the scale is held
    back naming it (unread is not idle). Before, the peers were read whatever the time left."""
    monkeypatch.setenv(FUNCTION_TIMEOUT_ENV, str(ALERT_AFTER_PEERS_SECONDS + 30))
    world = _world(CLEAN, standin_env, pubsub, project_id, anchor)

    outcome = world.handle(world.alert(CLEAN))

    assert outcome.status.value == "escalated", outcome.reason
    summary = outcome.diagnosis.summary
    assert "statements: not read: the alert's time left no room for its lookup" in summary, summary
    assert standin_env.run.count("GetService") == 1      # ledger's own alone
    assert standin_env.vpcaccess.count("PatchConnector") == 0
