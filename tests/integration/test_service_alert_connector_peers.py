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
from shared.alerts.delivery import DeliveryCounter
from shared.diagnosis.collection import READS_AGAIN
from shared.errors import TransientError
from shared.pipeline import handle_delivery
from shared.remediation.sweep_budget import ALERT_AFTER_PEERS_SECONDS, FUNCTION_TIMEOUT_ENV
from tests.integration.world import FAST, World

pytestmark = pytest.mark.emulator

CLEAN = "service_alert_saturation_busy_clean_peer_shared_connector"
IDLE = "service_alert_saturation_idle_peer_shared_connector"
FAILING = "service_alert_saturation_failing_peer_shared_connector"
# Every attempt of every read users_of makes of a service (its own retries, then READS_AGAIN reads again).
EVERY_READ = FAST.attempts * (1 + READS_AGAIN)
# A fault is aimed at the peer's reads by what they name, never by the order calls arrive in: the peers are read at
# once (scope.service_peers_held), so which call comes after which is not fixed.
STATEMENTS = "services/statements"
ITS_METRICS = 'service_name = "statements"'


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


def _deliver(world: World, counter: DeliveryCounter, attempt: int, name: str = CLEAN):
    return handle_delivery(world.alert(name, message_id="m-1"), world.config, world.adapters, counter=counter,
                           delivery_attempt=attempt)


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_a_peer_whose_lookup_never_answers_is_delivered_again_then_named_on_the_last_delivery(
        code, standin_env, firestore, pubsub, project_id, anchor):
    """statements' GetService never answers (every attempt of every read, after ledger's own). Before the last
    delivery the fault is raised, nothing written, so that Pub/Sub delivers the alert again (a transient fault is
    retried); on the last, whether it served cleanly is not known, so the connector is not scaled on ledger's
    evidence alone: escalated, naming it and the fault. Before, the first delivery escalated at once."""
    world = _world(CLEAN, standin_env, pubsub, project_id, anchor)
    limit, counter = world.config.delivery.max_attempts, DeliveryCounter()
    standin_env.run.faults.fail_next(EVERY_READ, code, method="GetService", about=STATEMENTS)
    with pytest.raises(TransientError, match="services/statements: not answered after 3 read"):
        _deliver(world, counter, limit - 1)
    assert world.writes() == 0

    standin_env.run.faults.fail_next(EVERY_READ, code, method="GetService", about=STATEMENTS)
    outcome = _deliver(world, counter, limit)

    assert outcome.status.value == "escalated", outcome.reason
    summary = outcome.diagnosis.summary
    assert "services/statements: not answered after 3 read(s) of Cloud Run" in summary, summary
    assert code.name in summary and "could not be read" in summary, summary
    assert world.writes() == 0


def test_a_peer_whose_metrics_read_never_answers_is_delivered_again_then_named_on_the_last_delivery(
        standin_env, firestore, pubsub, project_id, anchor):
    """statements' request metrics never answer (every Monitoring call naming it, whichever order its reads and the
    others' arrive in): raised for a redelivery before the last delivery, nothing written; on the last, whether it
    served cleanly is not known, so nothing is scaled: escalated, naming the reads. Before, the first delivery
    escalated at once."""
    world = _world(CLEAN, standin_env, pubsub, project_id, anchor)
    limit, counter = world.config.delivery.max_attempts, DeliveryCounter()
    standin_env.monitoring.faults.fail_next(1000, grpc.StatusCode.UNAVAILABLE, about=ITS_METRICS)
    with pytest.raises(TransientError, match="UNAVAILABLE"):
        _deliver(world, counter, limit - 1)
    assert any(ITS_METRICS in call.request.filter for call in standin_env.monitoring.calls)   # made, and failed
    assert world.writes() == 0

    standin_env.monitoring.faults.clear()
    standin_env.monitoring.faults.fail_next(1000, grpc.StatusCode.UNAVAILABLE, about=ITS_METRICS)
    outcome = _deliver(world, counter, limit)

    assert outcome.status.value == "escalated", outcome.reason
    summary = outcome.diagnosis.summary
    assert "services/statements: monitoring: run request_count" in summary, summary
    assert "could not be read" in summary and "UNAVAILABLE" in summary, summary
    assert world.writes() == 0


@pytest.mark.parametrize("name, status", [(CLEAN, "escalated"), (IDLE, "proposed")])
def test_a_peer_fault_that_passes_is_judged_on_the_redelivery_once(
        name, status, standin_env, firestore, pubsub, project_id, anchor):
    """statements' lookup unanswered on the first delivery, answered on the second: the peer is read and judged as if
    no fault had been (held on a clean peer, proposed beside an idle one), one outcome, no write. Before, the first
    delivery escalated naming statements as not read, whatever it would have shown."""
    world = _world(name, standin_env, pubsub, project_id, anchor)
    counter = DeliveryCounter()
    standin_env.run.faults.fail_next(EVERY_READ, grpc.StatusCode.UNAVAILABLE, method="GetService", about=STATEMENTS)
    with pytest.raises(TransientError):
        _deliver(world, counter, 1, name)

    outcome = _deliver(world, counter, 2, name)

    assert outcome.status.value == status, outcome.reason
    assert "could not be read" not in outcome.diagnosis.summary, outcome.diagnosis.summary
    assert world.writes() == 0
    assert len(world.published(2)) == 1     # the redelivery's outcome alone: none for the attempt retried


def test_a_peer_whose_read_is_refused_holds_the_scale_back_named(standin_env, firestore, pubsub, project_id, anchor):
    """statements' GetService refused (PERMISSION_DENIED, a permanent refusal: never read again): whether it is
    behind the connector, and served cleanly, is not known; escalated naming it and the refusal. Before, it was
    dropped and the connector scaled on ledger's evidence alone."""
    world = _world(CLEAN, standin_env, pubsub, project_id, anchor)
    standin_env.run.faults.fail_next(1, grpc.StatusCode.PERMISSION_DENIED, method="GetService", about=STATEMENTS)

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


def _approve(world: World, proposal_id: str, command_id: str):
    body = {"command": "approve", "command_id": command_id, "requested_by": "alice@example.com",
            "params": {"proposal_id": proposal_id}, "reason": "looks right"}
    [outcome] = world.command(body, message_id=command_id)
    return outcome


@pytest.mark.parametrize("busy_since", [False, True])
def test_an_approve_of_a_service_alerts_connector_scale_reads_its_peers_again(
        busy_since, standin_env, firestore, pubsub, project_id, anchor):
    """ledger's alert proposed the scale beside statements idle. Before the approve, statements has become busy and
    clean in the very minutes ledger fails (its request metrics now as the busy-clean scenario's): the approve reads
    the peers again, as it reads ledger's own diagnosis again, and is refused naming statements; nothing is scaled.
    Still idle: the scale is applied, once. Before, the approve never read the peers and scaled the connector."""
    world = _world(IDLE, standin_env, pubsub, project_id, anchor)
    world.config = world.config.model_copy(update={"operators": ("alice@example.com",)})
    proposed = world.handle(world.alert(IDLE))
    assert proposed.status.value == "proposed", proposed.reason
    if busy_since:
        for series in resolve_scenario(CLEAN).materialize(anchor).series:
            if series.resource_labels.get("service_name") == "statements":
                world.add_series(series)

    outcome = _approve(world, proposed.action.proposal_id, "approve-1")

    if busy_since:
        assert outcome.status.value == "skipped", outcome.reason
        assert "statements served" in outcome.reason and "ledger failed" in outcome.reason, outcome.reason
        assert standin_env.vpcaccess.count("PatchConnector") == 0
    else:
        assert outcome.status.value == "applied", outcome.reason
        assert standin_env.vpcaccess.count("PatchConnector") == 1


def test_an_approve_that_cannot_read_a_peer_leaves_the_proposal_open_for_a_later_approve(
        standin_env, firestore, pubsub, project_id, anchor, monkeypatch):
    """ledger's alert proposed the scale beside statements idle. An approve whose time leaves no room to read
    statements again does not know whether it is still idle: nothing has changed that it knows of, so it decides
    nothing (escalated, naming statements and why), writes nothing, and leaves the proposal open; a later approve,
    with the time to read it, applies the scale, once. Before, the unread peer was taken for a changed world: the
    proposal was closed `refused` and the later approve rejected as "already refused", the connector never scaled."""
    world = _world(IDLE, standin_env, pubsub, project_id, anchor)
    world.config = world.config.model_copy(update={"operators": ("alice@example.com",)})
    proposed = world.handle(world.alert(IDLE))
    assert proposed.status.value == "proposed", proposed.reason

    with monkeypatch.context() as short:
        short.setenv(FUNCTION_TIMEOUT_ENV, str(ALERT_AFTER_PEERS_SECONDS + 30))
        unread = _approve(world, proposed.action.proposal_id, "approve-1")

    assert unread.status.value == "escalated", unread.reason
    assert "statements: not read: the alert's time left no room" in unread.reason, unread.reason
    assert "stays open" in unread.reason, unread.reason
    assert standin_env.vpcaccess.count("PatchConnector") == 0

    later = _approve(world, proposed.action.proposal_id, "approve-2")

    assert later.status.value == "applied", later.reason
    assert standin_env.vpcaccess.count("PatchConnector") == 1


def _approve_unread(world: World, proposal_id: str, command_id: str, accept: bool):
    body = {"command": "approve", "command_id": command_id, "requested_by": "alice@example.com",
            "params": {"proposal_id": proposal_id, **({"accept_unread_peers": True} if accept else {})},
            "reason": "statements cannot be read; scaling on ledger's evidence"}
    [outcome] = world.command(body, message_id=command_id)
    return outcome


def test_an_approve_refused_a_peers_read_says_which_permission_and_can_accept_the_peer_unread(
        standin_env, firestore, pubsub, project_id, anchor):
    """ledger's alert proposed the scale beside statements idle; since, Runwarden's account has lost run.services.get
    on statements (every GetService of it refused, PERMISSION_DENIED). Each approve reads the same refusal: it is
    escalated, the proposal left open, naming the permission and the service, and saying how to approve knowing the
    peer is unread. An approve that says so (params.accept_unread_peers) scales, once, naming statements as unread
    in its answer. Before, every approve was escalated the same until the proposal expired, with no way through."""
    world = _world(IDLE, standin_env, pubsub, project_id, anchor)
    world.config = world.config.model_copy(update={"operators": ("alice@example.com",)})
    proposed = world.handle(world.alert(IDLE))
    assert proposed.status.value == "proposed", proposed.reason
    standin_env.run.faults.fail_next(1000, grpc.StatusCode.PERMISSION_DENIED, method="GetService", about=STATEMENTS)

    for attempt in ("approve-1", "approve-2"):
        unread = _approve_unread(world, proposed.action.proposal_id, attempt, accept=False)
        assert unread.status.value == "escalated", unread.reason
        assert "services/statements: " in unread.reason and "run.services.get" in unread.reason, unread.reason
        assert "stays open" in unread.reason and "params.accept_unread_peers: true" in unread.reason, unread.reason
        assert standin_env.vpcaccess.count("PatchConnector") == 0

    accepted = _approve_unread(world, proposed.action.proposal_id, "approve-3", accept=True)

    assert accepted.status.value == "applied", accepted.reason
    assert standin_env.vpcaccess.count("PatchConnector") == 1
    said = " ".join(accepted.notes)
    assert "accept_unread_peers by alice@example.com" in said and "services/statements: " in said, said


def test_accepting_unread_peers_never_passes_a_peer_read_and_serving_cleanly(
        standin_env, firestore, pubsub, project_id, anchor):
    """statements has become busy and clean since the proposal: an approve with params.accept_unread_peers is still
    refused naming it (the acceptance is of peers unread, not of evidence read against the connector)."""
    world = _world(IDLE, standin_env, pubsub, project_id, anchor)
    world.config = world.config.model_copy(update={"operators": ("alice@example.com",)})
    proposed = world.handle(world.alert(IDLE))
    for series in resolve_scenario(CLEAN).materialize(anchor).series:
        if series.resource_labels.get("service_name") == "statements":
            world.add_series(series)

    outcome = _approve_unread(world, proposed.action.proposal_id, "approve-1", accept=True)

    assert outcome.status.value == "skipped", outcome.reason
    assert "statements served" in outcome.reason, outcome.reason
    assert standin_env.vpcaccess.count("PatchConnector") == 0


# A neighbour's deploy and the connector's rise (fin-conn over its bars from -12m) -> the revisions named beside the
# scale (neighbour_deploys): only one that began serving before the rise and at most 15 minutes before it.
NEIGHBOUR_DEPLOYS = {
    "neighbour_deploy_before_shared_connector_rise": ["statements-00094-exp"],
    "neighbour_deploy_after_shared_connector_rise": [],
    "neighbour_deploy_long_before_shared_connector_rise": [],
    "two_neighbour_deploys_before_shared_connector_rise": ["statements-00094-exp", "reports-00211-bat"],
}


@pytest.mark.parametrize("name, named", NEIGHBOUR_DEPLOYS.items(), ids=NEIGHBOUR_DEPLOYS.keys())
def test_a_neighbours_deploy_that_lines_up_with_the_rise_is_named_beside_the_scale(
        name, named, standin_env, firestore, pubsub, project_id, anchor):
    _named_beside_the_scale(name, named, standin_env, pubsub, project_id, anchor)


def _named_beside_the_scale(name: str, named: list[str], standin_env, pubsub, project_id, anchor) -> str:
    """The scenario's alert handled: the scale proposed, each of `named` named beside it as a deploy that began
    serving, none when `named` is empty, nothing written; the summary."""
    world = _world(name, standin_env, pubsub, project_id, anchor)

    outcome = world.handle(world.alert(name))

    assert outcome.status.value == "proposed", outcome.reason
    assert outcome.action.name == "scale_connector", outcome.action
    summary = outcome.diagnosis.summary
    for revision in named:
        assert revision in summary and "began serving" in summary, summary
    assert ("deployed" in summary) is bool(named), summary
    # Never acted on: no write to the neighbour, nothing written at all (proposed).
    assert standin_env.run.count("UpdateService") == 0
    return summary


# A connector alert's scale, and a neighbour not in the config, held to the same bar and window (scope.
# connector_alert_neighbours, scope.outside_neighbours) -> the revisions named beside the scale, and how.
BEYOND_A_SERVICE_ALERT = {
    "connector_alert_neighbour_deploy_before_shared_connector_rise": (["statements-00094-exp"], False),
    "unmanaged_neighbour_deploy_before_shared_connector_rise": (["statements-00094-exp"], True),
    "connector_alert_unmanaged_deploy_on_other_connector_not_named": ([], False),
    # The user whose evidence stands for the connector is a neighbour too: no service owns a connector's alert.
    "connector_alert_saturated_user_deployed_before_rise": (["ledger-00419-kav"], False),
}


@pytest.mark.parametrize("name, named, outside", [(n, *v) for n, v in BEYOND_A_SERVICE_ALERT.items()],
                         ids=BEYOND_A_SERVICE_ALERT.keys())
def test_a_neighbours_deploy_is_named_on_a_connector_alert_and_when_not_in_the_config(
        name, named, outside, standin_env, firestore, pubsub, project_id, anchor):
    summary = _named_beside_the_scale(name, named, standin_env, pubsub, project_id, anchor)
    assert ("not in the config: read only, never acted on" in summary) is outside, summary


def test_a_refused_list_of_the_services_not_in_the_config_never_blocks_the_scale_and_says_so(
        standin_env, firestore, pubsub, project_id, anchor):
    """ListServices refused (the role lacks run.services.list): the scale is proposed as before, and the words say
    whether a neighbour not in the config deployed is not known, naming the permission."""
    name = "unmanaged_neighbour_deploy_before_shared_connector_rise"
    world = _world(name, standin_env, pubsub, project_id, anchor)
    standin_env.run.faults.fail_next(10, grpc.StatusCode.PERMISSION_DENIED, method="ListServices")

    outcome = world.handle(world.alert(name))

    assert outcome.status.value == "proposed", outcome.reason
    assert outcome.action.name == "scale_connector", outcome.action
    summary = outcome.diagnosis.summary
    assert "statements-00094-exp" not in summary, summary
    assert "could not be listed" in summary and "run.services.list" in summary, summary
    assert standin_env.run.count("UpdateService") == 0
