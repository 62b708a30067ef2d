"""The sweep's reads of the services not in the config behind a scaled connector (shared/remediation/
bystanders.py), on the Cloud Run stand-in and the emulators: what they cost in round trips, counted at the
real client's channel (sandbox/rpc_count.py), under both readings of what a ListServices entry holds, and
what the verdict says when the list cannot show every service that may use the connector."""
from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
import yaml

from sandbox.rpc_count import CountingRunAdapter, RpcCounter
from sandbox.scenarios import Scenario, seed
from sandbox.standins.run import TrafficSeed
from shared.config import ManagedService
from shared.remediation import bystanders
from tests.integration.test_remediation import CONNECTOR, connector_recovery, request_lines, scaled  # noqa: F401
from tests.integration.test_verification_worlds import REPORTS, _reports
from tests.integration.world import FAST

pytestmark = pytest.mark.emulator

# Whether a listed Service is whole is not documented (RunStandIn.list_services_whole): both readings.
READINGS = [pytest.param(True, id="listed-whole"), pytest.param(False, id="listed-summary")]


def _counted(world) -> RpcCounter:
    counter = RpcCounter()
    world.adapters.run = CountingRunAdapter(counter, policy=FAST, poll_initial_delay=0.01, poll_max_delay=0.05)
    return counter


@pytest.mark.parametrize("whole", READINGS)
def test_a_service_not_in_the_config_is_read_once_after_the_list(scaled, whole):
    """`reports`, not in the config, serves through the scaled connector. Before, the sweep listed it, then
    read it with GetService, then ListRevisions, then its evidence collection read both again: 2 GetService
    and 2 ListRevisions for what the list had already said. Now the listed Service is used as it is, and
    what was read is passed on to the collection: one ListRevisions; where the list answers a summary (no
    template, no status), one GetService too."""
    connector_recovery(scaled)
    _reports(scaled, failing_since=0)
    scaled.standins.run.list_services_whole = whole
    counter = _counted(scaled)
    scaled.at(14)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "verified", outcome.reason
    assert "services not in the config read on backend-conn: reports" in outcome.reason, outcome.reason
    assert counter.on(REPORTS) == ({"ListRevisions": 1} if whole else {"GetService": 1, "ListRevisions": 1})
    assert counter.by_method()["ListServices"] == 1


@pytest.mark.parametrize("whole", READINGS)
def test_a_failing_service_not_in_the_config_holds_the_verdict_under_both_readings(scaled, whole):
    """Under the summary reading a listed entry names no connector and no serving revision: never read as
    "does not use it"."""
    connector_recovery(scaled)
    _reports(scaled, failing_since=20)
    scaled.standins.run.list_services_whole = whole
    scaled.at(14)
    assert scaled.command({"command": "sweep"}) == []                 # not verified: waits
    scaled.at(20)

    [outcome] = scaled.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated", outcome.reason
    assert "reports: not in the config: read only, never acted on; it uses the connector and fails worse" in \
        outcome.reason, outcome.reason


SHOP = "shop-project"       # a Shared VPC service project: its services reach the host's connector by full name
NOT_LISTED = "services of projects other than"


def _series(world, project: str, timeseries: str) -> None:
    """Time series in `project`, as later minutes of the same incident (test_remediation.more_series)."""
    extra = yaml.safe_load(f"name: later\nproject: {project}\nregion: us-central1\ntimeseries:\n{timeseries}")
    seed(world.standins, Scenario.model_validate(extra), world.anchor)


def _unmanaged(world, name: str, *, failing_since: int, project: str = "demo-project",
               connector: str | None = CONNECTOR, network_interfaces: tuple = ()) -> None:
    """A service the config does not manage: 40 requests a minute, clean up to the write, then `failing_since`
    of them answered 503 from +6m; its revision on `connector`, or on Direct VPC egress (`network_interfaces`)."""
    service, revision = f"projects/{project}/locations/us-central1/services/{name}", f"{name}-00001-xyz"
    world.standins.run.add_service(service)
    world.standins.run.add_revision(service, revision, world.anchor - timedelta(days=3), vpc_connector=connector,
                                    network_interfaces=network_interfaces)
    world.standins.run.set_traffic(service, [TrafficSeed(percent=100, revision=revision)], audited=False)  # as it was
    labels = f"{{type: cloud_run_revision, labels: {{service_name: {name}, revision_name: {revision}}}}}"
    _series(world, project, f"""
  - metric: run.googleapis.com/request_count
    resource: {labels}
    labels: {{response_code_class: 2xx, response_code: "200"}}
    points: [{{from: -20m, to: +5m, every: 60s, value: 40}}, {{from: +6m, to: +20m, every: 60s, value: {40 - failing_since}}}]
  - metric: run.googleapis.com/request_latencies
    value_type: DISTRIBUTION
    resource: {labels}
    labels: {{response_code_class: 2xx}}
    points: [{{from: -20m, to: +20m, every: 60s, value: {{samples: [[120, 40]]}}}}]
""" + (f"""
  - metric: run.googleapis.com/request_count
    resource: {labels}
    labels: {{response_code_class: 5xx, response_code: "503"}}
    points: [{{from: +6m, to: +20m, every: 60s, value: {failing_since}}}]
""" if failing_since else ""))


def _managed_in(world, project: str, name: str) -> None:
    """A managed service of `project` on the connector, clean before and since (as `connector_recovery`
    leaves backend), and the config naming it beside backend."""
    service, revision = f"projects/{project}/locations/us-central1/services/{name}", f"{name}-00001-abc"
    world.standins.run.add_service(service)
    world.standins.run.add_revision(service, revision, world.anchor - timedelta(days=3), vpc_connector=CONNECTOR)
    world.standins.run.set_traffic(service, [TrafficSeed(percent=100, revision=revision)], audited=False)  # as it was
    request_lines(world, revision, "-20m", "+20m", 40, service=name, project=project)
    labels = f"{{type: cloud_run_revision, labels: {{service_name: {name}, revision_name: {revision}}}}}"
    _series(world, project, f"""
  - metric: run.googleapis.com/request_count
    resource: {labels}
    labels: {{response_code_class: 2xx, response_code: "200"}}
    points: [{{from: -20m, to: +20m, every: 60s, value: 40}}]
  - metric: run.googleapis.com/request_latencies
    value_type: DISTRIBUTION
    resource: {labels}
    labels: {{response_code_class: 2xx}}
    points: [{{from: -20m, to: +20m, every: 60s, value: {{samples: [[120, 40]]}}}}]
""")
    world.config = world.config.model_copy(update={"services": (*world.config.services, ManagedService(name=service))})


def _escalated_at_the_deadline(world):
    world.at(14)
    assert world.command({"command": "sweep"}) == []                  # not verified: waits
    world.at(20)
    [outcome] = world.command({"command": "sweep"}, message_id="c2")
    assert outcome.status.value == "escalated", outcome.reason
    assert [c for c in world.standins.run.calls if c.method == "UpdateService"] == []
    return outcome


def test_a_service_of_another_project_on_a_shared_connector_is_never_said_unharmed(scaled):
    """`reports`, in another project (a Shared VPC service project), names the connector by its full name and
    fails worse since the scale-up. No managed service lives in its project, so no list can show it. Before,
    the verdict said "none: projects/demo-project/locations/us-central1 holds no service outside the config",
    as if nothing else could use the connector. Now it says which projects were listed and that other
    projects' services were not."""
    connector_recovery(scaled)
    _unmanaged(scaled, "reports", failing_since=20, project=SHOP)
    scaled.at(14)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "verified", outcome.reason
    assert f"{NOT_LISTED} demo-project not listed" in outcome.reason, outcome.reason


def test_a_failing_service_in_the_project_of_a_managed_service_on_a_shared_connector_holds_the_verdict(scaled):
    """`shop`, managed, in the service project `shop-project`, reaches the connector of `demo-project` (its
    host): `reports`, not managed, in that same project, on the same connector, fails worse since. Before, only
    the connector's own project was listed: `verified`. Now each project of a managed service behind the
    connector is listed too: `reports` is read and the change escalated at the deadline, nothing written."""
    connector_recovery(scaled)
    _managed_in(scaled, SHOP, "shop")
    _unmanaged(scaled, "reports", failing_since=20, project=SHOP)

    outcome = _escalated_at_the_deadline(scaled)

    assert "reports: not in the config: read only, never acted on; it uses the connector and fails worse" in \
        outcome.reason, outcome.reason
    assert f"{NOT_LISTED} demo-project, {SHOP} not listed" in outcome.reason, outcome.reason


@pytest.mark.parametrize("whole", READINGS)
def test_a_service_on_direct_vpc_egress_is_not_judged_on_the_connector(scaled, whole):
    """`reports` fails worse, but its revision reaches the VPC by Direct VPC egress (network_interfaces, no
    connector): its traffic crosses no connector, and the scale-up is verified, naming it as not using it."""
    connector_recovery(scaled)
    _unmanaged(scaled, "reports", failing_since=20, connector=None, network_interfaces=(("default", "default"),))
    scaled.standins.run.list_services_whole = whole
    counter = _counted(scaled)
    scaled.at(14)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "verified", outcome.reason
    assert "none of the 1 listed" in outcome.reason, outcome.reason
    assert counter.on(REPORTS) == ({} if whole else {"GetService": 1})


def _idle_services(world, n: int) -> None:
    """`n` services on no connector, each serving its latest ready revision (ruled out by their listing)."""
    for i in range(n):
        name = f"projects/demo-project/locations/us-central1/services/idle-{i:03d}"
        world.standins.run.add_service(name)
        world.standins.run.add_revision(name, f"idle-{i:03d}-00001-a", world.anchor - timedelta(days=3))


def test_a_second_page_of_services_is_read(scaled):
    """201 services besides backend in the connector's region, `reports` among the last listed, failing worse.
    Before, the first page of 200 alone was read and the rest held the verdict back, so the change was never
    verifiable in such a project. Now the next page is read with the token the first gave (at most
    bystanders.MAX_PAGES pages): `reports` is found, and the change escalated at the deadline for it."""
    connector_recovery(scaled)
    _idle_services(scaled, 200)
    _reports(scaled, failing_since=20)
    # The alert's own listing (its neighbours not in the config, scope.outside_neighbours) came before the sweep's.
    alerts = scaled.standins.run.count("ListServices")

    outcome = _escalated_at_the_deadline(scaled)

    assert "reports: not in the config: read only, never acted on; it uses the connector and fails worse" in \
        outcome.reason, outcome.reason
    assert [r.page_token for r in scaled.standins.run.requests("ListServices")][alerts:alerts + 2] == ["", "o:200"]


def test_more_services_than_the_pages_read_hold_the_verdict_naming_the_cut(scaled, monkeypatch):
    """More services than MAX_PAGES pages hold (one page here): those past them are not listed, so the change
    is never verified on them: escalated at the deadline, saying so."""
    monkeypatch.setattr(bystanders, "MAX_PAGES", 1)
    connector_recovery(scaled)
    _idle_services(scaled, 201)

    outcome = _escalated_at_the_deadline(scaled)

    assert "more than 200 services in projects/demo-project/locations/us-central1: those past 1 pages are not " \
        "listed" in outcome.reason, outcome.reason


@pytest.mark.parametrize("named", [pytest.param(True, id="named"), pytest.param(False, id="bare")])
def test_a_refused_list_holds_the_verdict_naming_the_permission(scaled, named):
    """ListServices refused PERMISSION_DENIED (the role lacks run.services.list), as IAM words it or bare:
    whether a service not in the config fails worse is not known. Escalated at the deadline, naming the
    permission; before, a bare refusal ("The caller does not have permission") named none."""
    connector_recovery(scaled)
    scaled.standins.run.faults.deny(method="ListServices", named=named)

    outcome = _escalated_at_the_deadline(scaled)

    assert "could not be listed" in outcome.reason and "run.services.list" in outcome.reason, outcome.reason


def test_a_list_answered_unavailable_is_asked_again(scaled):
    """ListServices answered UNAVAILABLE once: retried within the call, and the sweep verifies as usual."""
    connector_recovery(scaled)
    _reports(scaled, failing_since=0)
    alerts = scaled.standins.run.count("ListServices")   # the alert's own listing (scope.outside_neighbours)
    scaled.standins.run.faults.fail_next(1, grpc.StatusCode.UNAVAILABLE, method="ListServices")
    scaled.at(14)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "verified", outcome.reason
    assert scaled.standins.run.count("ListServices") == alerts + 2


def test_a_list_unavailable_past_its_retries_is_never_read_as_no_service(scaled):
    """ListServices answered UNAVAILABLE on every try: the judgement is transient (the evidence unread), so
    the change is never verified on a list not made; a later sweep that can list judges it."""
    connector_recovery(scaled)
    _reports(scaled, failing_since=0)
    alerts = scaled.standins.run.count("ListServices")   # the alert's own listing (scope.outside_neighbours)
    scaled.standins.run.faults.fail_next(10_000, grpc.StatusCode.UNAVAILABLE, method="ListServices")
    scaled.at(14)

    assert scaled.command({"command": "sweep"}) == []
    assert scaled.standins.run.count("ListServices") == alerts + FAST.attempts

    scaled.standins.run.faults.clear()
    scaled.at(15)
    [outcome] = scaled.command({"command": "sweep"}, message_id="c2")
    assert outcome.status.value == "verified", outcome.reason
    assert "services not in the config read on backend-conn: reports" in outcome.reason, outcome.reason
