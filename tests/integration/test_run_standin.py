"""The Cloud Run stand-in, driven by the real google-cloud-run client over gRPC."""
from __future__ import annotations

import time
from datetime import timedelta

import grpc
import pytest
from google.api_core import exceptions
from google.api_core.future import polling
from google.cloud import run_v2
from google.cloud.run_v2.services.revisions.transports import RevisionsGrpcTransport
from google.cloud.run_v2.services.services.transports import ServicesGrpcTransport

from sandbox.standins.run import DEPLOY_ASKED_BEFORE, ConditionSeed, TrafficSeed
from tests.integration.conftest import TWO_REVISIONS

SERVICE = "projects/demo-project/locations/us-central1/services/backend"
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
LATEST = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST
REVISION = run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION
FAST_POLL = polling.DEFAULT_POLLING.with_delay(initial=0.01, maximum=0.05)


@pytest.fixture
def channel(standins):
    with grpc.insecure_channel(standins.run.address) as ch:
        yield ch


@pytest.fixture
def services(channel):
    return run_v2.ServicesClient(transport=ServicesGrpcTransport(channel=channel))


@pytest.fixture
def revisions(channel):
    return run_v2.RevisionsClient(transport=RevisionsGrpcTransport(channel=channel))


@pytest.fixture
def seeded(seed_scenario):
    return seed_scenario(TWO_REVISIONS)


def target(revision: str, percent: int) -> run_v2.TrafficTarget:
    return run_v2.TrafficTarget(type_=REVISION, revision=revision, percent=percent)


def update(services, service: run_v2.Service, *targets: run_v2.TrafficTarget) -> run_v2.Service:
    service.traffic = list(targets)
    return services.update_service(service=service).result(timeout=10, polling=FAST_POLL)


def test_get_service_reports_seeded_state(services, seeded):
    service = services.get_service(name=SERVICE)
    assert [(t.type_, t.revision, t.percent) for t in service.traffic] == [(REVISION, NEW, 100)]
    assert service.latest_ready_revision == f"{SERVICE}/revisions/{NEW}"
    assert service.latest_created_revision == f"{SERVICE}/revisions/{NEW}"
    assert service.labels["runwarden"] == "enabled"
    assert service.etag


def test_a_service_level_change_out_of_band_moves_generation_and_etag_not_the_split(services, standins, seeded):
    """A person's update of the service-level max instances: the desired state changed (generation, etag),
    no revision made, the traffic as it was."""
    before = services.get_service(name=SERVICE)
    standins.run.set_service_max_instances(SERVICE, 2)
    after = services.get_service(name=SERVICE)
    assert after.generation == before.generation + 1 and after.etag != before.etag
    assert after.scaling.max_instance_count == 2
    assert list(after.traffic) == list(before.traffic) and after.latest_created_revision == before.latest_created_revision


@pytest.mark.parametrize("method", ["google.cloud.run.v2.Services.UpdateService",
                                    "google.cloud.run.v1.Services.ReplaceService"])
def test_an_out_of_band_deploy_and_setting_change_write_the_admin_activity_entries_the_audit_query_finds(
        standins, standin_env, seeded, anchor, method):
    """Every change of a service writes its Admin Activity entries ("Cloud Run audit logging": an operation's first,
    with the caller and the request, and its last, with the status), a pipeline's deploy and a person's setting alike;
    through the real Logging client, the product's own audit query finds each as one change by its principal, a
    deploy's dated before the revision it creates. Before, the stand-in's deploy wrote none, and a sweep never saw
    the entry every real deploy leaves."""
    from shared.diagnosis.log_signals import audit_filter
    from shared.gcp.logging import CloudLoggingAdapter, merge_operation_entries

    standins.run.audit_into(standins.logging, method=method)
    created = anchor + timedelta(minutes=4)
    standins.run.deploy(SERVICE, "backend-00003-pip", created, image="europe-docker.pkg.dev/p/backend/api:v3",
                        by="ci-deployer@demo-project.iam.gserviceaccount.com")
    standins.run.set_service_max_instances(SERVICE, 2, by="alice@example.com", at=anchor + timedelta(minutes=6))

    query = audit_filter("demo-project", "backend", "us-central1", anchor, anchor + timedelta(minutes=10))
    changes = sorted(merge_operation_entries(CloudLoggingAdapter().list_entries("demo-project", query, 100)).entries,
                     key=lambda e: e.timestamp)

    named = ("namespaces/demo-project/services/backend" if ".v1." in method else SERVICE)
    assert [(c.method_name, c.resource_name, c.principal) for c in changes] == [
        (method, named, "ci-deployer@demo-project.iam.gserviceaccount.com"), (method, named, "alice@example.com")]
    assert changes[0].timestamp <= created and changes[1].timestamp == anchor + timedelta(minutes=6)


RUNWARDEN = "runwarden@demo-project.iam.gserviceaccount.com"


def _changes(anchor) -> list:
    """The service's changes as the product's own audit query reads them, one per operation, oldest first."""
    from shared.diagnosis.log_signals import audit_filter
    from shared.gcp.logging import CloudLoggingAdapter, merge_operation_entries

    query = audit_filter("demo-project", "backend", "us-central1", anchor, anchor + timedelta(minutes=10))
    return sorted(merge_operation_entries(CloudLoggingAdapter().list_entries("demo-project", query, 100)).entries,
                  key=lambda e: e.timestamp)


@pytest.mark.parametrize("transport", ["grpc", "in_process"])
def test_runwardens_own_update_service_writes_its_admin_activity_entry_by_its_caller(
        standins, standin_env, seeded, anchor, transport):
    """Cloud Run writes an Admin Activity entry for every UpdateService ("Cloud Run audit logging": methodName
    google.cloud.run.v2.Services.UpdateService, the caller's principalEmail, the service as resourceName), the
    product's own traffic write among them, over the wire and in-process alike, dated on the stand-in's one clock,
    its operation's last entry with the status. Before, only an out-of-band write was audited: the sweep never read
    Runwarden's own entry beside a person's."""
    from sandbox.inprocess import InProcessRun
    from shared.diagnosis.evidence import TrafficTarget, TrafficType
    from shared.gcp.run import CloudRunAdapter

    at = anchor + timedelta(minutes=3)
    standins.run.audit_into(standins.logging, clock=lambda: at)
    run = CloudRunAdapter(poll_initial_delay=0.01, poll_max_delay=0.05) if transport == "grpc" else \
        InProcessRun(standins.run)
    try:
        current = run.get_service(SERVICE)
        written = run.set_traffic(SERVICE, [TrafficTarget(type=TrafficType.REVISION, revision=OLD, percent=100)],
                                  current.etag)
    finally:
        run.close()

    changes = _changes(anchor)
    assert [(c.method_name, c.resource_name, c.principal, c.timestamp, c.status_code) for c in changes] == [
        ("google.cloud.run.v2.Services.UpdateService", SERVICE, RUNWARDEN, at, 0)]
    assert written.update_time == at     # update_time on the same clock as the entry


def test_a_failed_update_services_last_entry_carries_its_error(services, standins, standin_env, seeded, anchor):
    """An UpdateService whose operation fails changed nothing that serves: its last audit entry carries the
    operation's error code (AuditLog.status, google.rpc.Code), which the sweep reads as no change."""
    standins.run.audit_into(standins.logging, clock=lambda: anchor + timedelta(minutes=3))
    standins.run.fail_next_operation()
    with pytest.raises(exceptions.GoogleAPICallError):
        update(services, services.get_service(name=SERVICE), target(OLD, 100))

    assert [(c.principal, c.status_code) for c in _changes(anchor)] == [(RUNWARDEN, 9)]


def test_the_stand_ins_one_clock_dates_update_time_as_it_dates_the_audit_entries(standins, seeded, anchor):
    """A deploy's update_time is its own time (its audit entry's), a setting changed with no time of its own is
    dated by the stand-in's clock, as its entry is. Before, both stamped update_time with wall time while the
    entries followed the test's clock, and a record's update_time (judging.server_time_read) was read on another
    clock than the entries it is compared with."""
    clock = anchor + timedelta(minutes=7)
    standins.run.audit_into(standins.logging, clock=lambda: clock)
    created = anchor + timedelta(minutes=4)
    deployed = standins.run.deploy(SERVICE, "backend-00003-pip", created, by="ci@demo-project.iam.gserviceaccount.com")
    assert deployed.update_time == created - DEPLOY_ASKED_BEFORE

    changed = standins.run.set_service_max_instances(SERVICE, 3, by="alice@example.com")
    assert changed.update_time == clock


def test_a_persons_split_move_writes_its_admin_activity_entries_on_the_stand_ins_clock(standins, standin_env, seeded,
                                                                                      anchor):
    """A split moved out of band (`gcloud run services update-traffic`) is an UpdateService like any other write
    ("Cloud Run audit logging"): its entries name the person, carry the split asked for, and are dated on the
    stand-in's one clock, as its update_time is; the split a scenario starts in (seeding) writes none. Before, a
    split move wrote no entry while a deploy and a setting change did, so a person's move was seen only by the
    service's generation."""
    clock = anchor + timedelta(minutes=5)
    standins.run.audit_into(standins.logging, clock=lambda: clock)
    assert _changes(anchor) == []            # the seeded split: the state the scenario starts in
    moved = standins.run.set_traffic(SERVICE, [TrafficSeed(50, OLD), TrafficSeed(50, NEW)], by="alice@example.com")

    [change] = _changes(anchor)
    assert (change.method_name, change.resource_name, change.principal, change.timestamp, change.status_code) == (
        "google.cloud.run.v2.Services.UpdateService", SERVICE, "alice@example.com", clock, 0)
    assert moved.update_time == clock
    from google.cloud.audit import audit_log_pb2
    from google.protobuf.json_format import MessageToDict

    requests = []
    for entry in standins.logging.entries():
        audit = audit_log_pb2.AuditLog()
        type(entry).pb(entry).proto_payload.Unpack(audit)
        if audit.HasField("request"):
            requests.append(MessageToDict(audit.request))
    [request] = requests
    assert [(t["revision"], t["percent"]) for t in request["service"]["traffic"]] == [(OLD, 50), (NEW, 50)]


def test_a_slow_deploy_is_dated_by_its_ready_transition_beside_update_time(standins, standin_env, seeded, anchor):
    """A deploy whose revision takes minutes to start: its Ready condition's last transition (Condition.
    last_transition_time, google/cloud/run/v2/condition.proto) and its operation's last audit entry come when it is
    ready; the service's update_time is when it was asked for, or, under the other reading (`update_time_when_ready`,
    UNCONFIRMED which Cloud Run stamps), that Ready transition. Before, every condition was dated at the revision's
    creation and a slow deploy could not be told from a fast one."""
    from shared.gcp.run import CloudRunAdapter

    standins.run.audit_into(standins.logging)
    created, slow = anchor + timedelta(minutes=1), timedelta(minutes=3)
    ci = "ci@demo-project.iam.gserviceaccount.com"
    asked = standins.run.deploy(SERVICE, "backend-00003-pip", created, by=ci, ready_after=slow)
    standins.run.update_time_when_ready = True
    ready = standins.run.deploy(SERVICE, "backend-00004-pip", created + slow, by=ci, ready_after=slow)

    assert asked.update_time == created - DEPLOY_ASKED_BEFORE and ready.update_time == created + 2 * slow
    run = CloudRunAdapter()
    try:
        [revision] = [r for r in run.list_revisions(SERVICE) if r.short_name == "backend-00003-pip"]
    finally:
        run.close()
    assert revision.create_time == created and revision.settled_at == created + slow
    [first, _] = [c for c in _changes(anchor) if c.principal.startswith("ci@")]
    assert first.operation_ended_at == created + slow


def test_a_service_built_by_hand_was_last_changed_by_its_newest_deploy(standins, anchor):
    """A service seeded with `add_service` and its revisions shows what a real project's would: its last write is
    its newest revision's deploy, by that revision's creator, dated as a deploy is (Service.last_modifier and
    update_time), whenever the world is built; the split it starts in changes neither; a write since is its own.
    Before, the service read as changed by deployer@example.com at the moment the test built it, a person at work
    beside every alert."""
    name = "projects/demo-project/locations/us-central1/services/ledger"
    standins.run.add_service(name)
    standins.run.add_revision(name, "ledger-00001-aaa", anchor - timedelta(days=3))
    standins.run.add_revision(name, "ledger-00002-bbb", anchor - timedelta(hours=2),
                              creator="ci@demo-project.iam.gserviceaccount.com")
    standins.run.add_revision(name, "ledger-00000-old", anchor - timedelta(days=9))   # an older one seeded after
    seeded = standins.run.set_traffic(name, [TrafficSeed(100, "ledger-00002-bbb")], audited=False)

    assert (seeded.last_modifier, seeded.update_time) == (
        "ci@demo-project.iam.gserviceaccount.com", anchor - timedelta(hours=2) - DEPLOY_ASKED_BEFORE)
    moved = standins.run.set_traffic(name, [TrafficSeed(100, "ledger-00001-aaa")], by="alice@example.com",
                                     at=anchor - timedelta(minutes=1))
    standins.run.add_revision(name, "ledger-00003-ccc", anchor - timedelta(minutes=30))
    kept = standins.run.service(name)
    assert (moved.last_modifier, moved.update_time) == ("alice@example.com", anchor - timedelta(minutes=1))
    assert (kept.last_modifier, kept.update_time) == ("alice@example.com", anchor - timedelta(minutes=1))


def test_unknown_service_and_revision_are_not_found(services, revisions, seeded):
    with pytest.raises(exceptions.NotFound):
        services.get_service(name=SERVICE.replace("backend", "frontend"))
    with pytest.raises(exceptions.NotFound):
        revisions.get_revision(name=f"{SERVICE}/revisions/backend-00009-nope")
    with pytest.raises(exceptions.NotFound):
        list(revisions.list_revisions(parent=SERVICE.replace("backend", "frontend")))


def test_list_services_under_location(services, seeded):
    names = [s.name for s in services.list_services(parent="projects/demo-project/locations/us-central1")]
    assert names == [SERVICE]
    assert list(services.list_services(parent="projects/demo-project/locations/europe-west1")) == []


def test_revisions_carry_conditions_connector_and_egress(revisions, seeded, anchor):
    revision = revisions.get_revision(name=f"{SERVICE}/revisions/{OLD}")
    assert revision.create_time == anchor - timedelta(hours=3)
    ready = [c for c in revision.conditions if c.type_ == "Ready"]
    assert ready and ready[0].state == run_v2.Condition.State.CONDITION_SUCCEEDED
    assert revision.vpc_access.connector == "projects/demo-project/locations/us-central1/connectors/backend-conn"
    assert revision.vpc_access.egress == run_v2.VpcAccess.VpcEgress.PRIVATE_RANGES_ONLY


def test_list_revisions_pages_in_unsorted_order(revisions, seeded):
    listed = list(revisions.list_revisions(request={"parent": SERVICE, "page_size": 1}))
    assert [r.name.rsplit("/", 1)[-1] for r in listed] == [NEW, OLD]  # newest first: clients must sort


def test_update_traffic_runs_an_operation_polled_n_times(services, standins, seeded):
    before = services.get_service(name=SERVICE)
    result = update(services, before, target(OLD, 100))

    assert [(t.revision, t.percent) for t in result.traffic] == [(OLD, 100)]
    assert [(t.revision, t.percent) for t in result.traffic_statuses] == [(OLD, 100)]
    assert result.generation == before.generation + 1
    assert result.etag != before.etag
    assert standins.run.count("UpdateService") == 1
    assert standins.run.count("GetOperation") == 3  # two not-done answers, then done
    assert services.get_service(name=SERVICE).traffic[0].revision == OLD


def test_operation_done_at_once_when_configured(services, standins, seeded):
    standins.run.lro_polls_before_done = 0
    update(services, services.get_service(name=SERVICE), target(OLD, 100))
    assert standins.run.count("GetOperation") == 0


def test_latest_target_resolves_to_latest_ready_revision(services, seeded):
    result = update(services, services.get_service(name=SERVICE),
                    run_v2.TrafficTarget(type_=LATEST, percent=90), target(OLD, 10))
    statuses = sorted((s.type_, s.revision, s.percent) for s in result.traffic_statuses)
    assert statuses == sorted([(LATEST, NEW, 90), (REVISION, OLD, 10)])


def test_stale_etag_is_aborted(services, standins, seeded):
    stale = services.get_service(name=SERVICE)
    standins.run.set_traffic(SERVICE, [TrafficSeed(50, OLD), TrafficSeed(50, NEW)])  # someone else's change
    with pytest.raises(exceptions.Aborted, match="etag"):
        update(services, stale, target(OLD, 100))
    assert [t.percent for t in services.get_service(name=SERVICE).traffic] == [50, 50]


@pytest.mark.parametrize(("targets", "message"), [
    ([target(OLD, 60), target(NEW, 30)], "sum to 100, got 90"),
    ([run_v2.TrafficTarget(type_=REVISION, percent=100)], "revision is required"),
    ([run_v2.TrafficTarget(type_=LATEST, revision=OLD, percent=100)], "must not name a revision"),
    ([run_v2.TrafficTarget(revision=OLD, percent=100)], "type must be"),
    # Tags: one entry per tag, each a DNS-1035 label (it becomes part of a host name).
    ([run_v2.TrafficTarget(type_=REVISION, revision=OLD, percent=100, tag="canary"),
      run_v2.TrafficTarget(type_=REVISION, revision=NEW, percent=0, tag="canary")],
     'more than one target has tag "canary"'),
    ([run_v2.TrafficTarget(type_=REVISION, revision=OLD, percent=100, tag="Canary")], "not a DNS-1035 label"),
    ([run_v2.TrafficTarget(type_=REVISION, revision=OLD, percent=100, tag="1st")], "not a DNS-1035 label"),
    ([run_v2.TrafficTarget(type_=REVISION, revision=OLD, percent=100, tag="v" * 64)], "not a DNS-1035 label"),
])
def test_invalid_traffic_is_rejected(services, standins, seeded, targets, message):
    before = services.get_service(name=SERVICE)
    with pytest.raises(exceptions.InvalidArgument, match=message):
        update(services, before, *targets)
    after = services.get_service(name=SERVICE)
    assert (after.generation, after.etag) == (before.generation, before.etag)


def _fails_while_reconciling(services, standins, targets, error):
    before = services.get_service(name=SERVICE)
    operation = services.update_service(service=_unnamed(before, *targets))
    with pytest.raises(error) as caught:
        operation.result(timeout=10, polling=FAST_POLL)
    after = services.get_service(name=SERVICE)
    # Accepted: the desired split is stored and the generation moved on ...
    assert after.generation == before.generation + 1
    assert [(t.revision, t.percent) for t in after.traffic] == [(t.revision, t.percent) for t in targets]
    # ... but what serves is what served before, and terminal_condition says why.
    assert [(t.revision, t.percent) for t in after.traffic_statuses] == [(NEW, 100)]
    assert after.observed_generation == before.observed_generation
    assert not after.reconciling
    assert after.terminal_condition.state == run_v2.Condition.State.CONDITION_FAILED
    assert after.terminal_condition.message == caught.value.message
    return caught.value


def _unnamed(service: run_v2.Service, *targets: run_v2.TrafficTarget) -> run_v2.Service:
    service.template.revision = ""
    service.traffic = list(targets)
    return service


def test_unknown_revision_fails_the_operation_with_the_real_text(services, standins, seeded):
    error = _fails_while_reconciling(services, standins, [target("backend-00007-ghost", 100)],
                                     exceptions.InternalServerError)
    assert "Revision 'backend-00007-ghost' does not exist or is deleted" in error.message


def test_revision_of_another_service_fails_the_operation(services, standins, seeded, anchor):
    other = "projects/demo-project/locations/us-central1/services/frontend"
    standins.run.add_service(other)
    standins.run.add_revision(other, "frontend-00001-aaa", anchor)
    _fails_while_reconciling(services, standins, [target("frontend-00001-aaa", 100)], exceptions.InternalServerError)


def test_traffic_to_a_revision_that_is_not_ready_fails_the_operation(services, standins, seeded):
    standins.run.set_conditions(f"{SERVICE}/revisions/{OLD}",
                                [ConditionSeed("Ready", "CONDITION_FAILED", "CONTAINER_MISSING", "image gone")])
    error = _fails_while_reconciling(services, standins, [target(OLD, 100)], exceptions.FailedPrecondition)
    assert "not ready" in error.message


def test_reconciling_while_the_operation_runs(services, standins, seeded):
    operation = services.update_service(service=_unnamed(services.get_service(name=SERVICE), target(OLD, 100)))
    during = services.get_service(name=SERVICE)
    assert during.reconciling
    assert [(t.revision, t.percent) for t in during.traffic_statuses] == [(NEW, 100)]  # not yet moved
    done = operation.result(timeout=10, polling=FAST_POLL)
    assert not done.reconciling and done.observed_generation == done.generation
    assert [(t.revision, t.percent) for t in done.traffic_statuses] == [(OLD, 100)]


def test_template_naming_a_revision_with_a_changed_configuration_is_409(services, seeded):
    service = services.get_service(name=SERVICE)
    assert service.template.revision == NEW          # as gcloud deploy leaves it
    service.template.containers[0].image = "gcr.io/demo/other:v2"
    for mask in (None, {"paths": ["traffic"]}):      # #14259: the mask did not help
        with pytest.raises(exceptions.Conflict, match=f"Revision named '{NEW}' with different configuration"):
            services.update_service(request={"service": service, "update_mask": mask})


def test_template_naming_its_revision_unchanged_is_accepted(services, seeded):
    service = services.get_service(name=SERVICE)
    assert update(services, service, target(OLD, 100)).traffic[0].revision == OLD


def test_non_traffic_change_is_refused(services, seeded):
    service = services.get_service(name=SERVICE)
    service.template.revision = ""
    service.template.containers[0].image = "gcr.io/demo/other:v2"
    with pytest.raises(exceptions.MethodNotImplemented, match="traffic updates only.*template"):
        update(services, service, target(OLD, 100))


def test_update_mask_other_than_traffic_is_refused(services, seeded):
    service = services.get_service(name=SERVICE)
    with pytest.raises(exceptions.MethodNotImplemented, match="labels"):
        services.update_service(request={"service": service, "update_mask": {"paths": ["labels"]}})


def test_update_mask_traffic_applies_only_traffic(services, seeded):
    partial = run_v2.Service(name=SERVICE, traffic=[target(OLD, 100)])
    op = services.update_service(request={"service": partial, "update_mask": {"paths": ["traffic"]}})
    result = op.result(timeout=10, polling=FAST_POLL)
    assert result.traffic[0].revision == OLD
    assert result.labels["runwarden"] == "enabled"


def test_latest_ready_skips_a_revision_that_is_not_ready(services, standins, seeded, anchor):
    standins.run.add_revision(SERVICE, "backend-00003-bad", anchor,
                              conditions=[ConditionSeed("Ready", "CONDITION_FAILED", "CONTAINER_MISSING", "no image")])
    service = services.get_service(name=SERVICE)
    assert service.latest_created_revision.endswith("backend-00003-bad")
    assert service.latest_ready_revision.endswith(NEW)


def test_calls_are_recorded_with_requests(services, standins, seeded):
    services.get_service(name=SERVICE)
    calls = standins.run.calls
    assert [c.method for c in calls] == ["GetService"]
    assert calls[0].request.name == SERVICE


def test_injected_unavailable_then_success(services, standins, seeded):
    standins.run.faults.fail_next(1, method="GetService")
    with pytest.raises(exceptions.ServiceUnavailable):
        services.get_service(name=SERVICE, retry=None)
    assert services.get_service(name=SERVICE, retry=None).name == SERVICE
    assert standins.run.count("GetService") == 2


def test_a_fault_with_a_reason_carries_its_error_info_in_process_as_over_grpc(services, standins, seeded):
    """The fast tier's transport refuses with the ErrorInfo the gRPC stand-in puts in the trailer: a test of a rule
    that reads a refusal's reason tests the same error in both tiers."""
    from sandbox.inprocess import Transport

    standins.run.faults.fail_next(1, grpc.StatusCode.ABORTED, method="GetService", reason="CONCURRENT_REQUEST")
    with pytest.raises(exceptions.Aborted) as over_grpc:
        services.get_service(name=SERVICE, retry=None)
    standins.run.faults.fail_next(1, grpc.StatusCode.ABORTED, method="GetService", reason="CONCURRENT_REQUEST")
    with pytest.raises(exceptions.Aborted) as in_process:
        Transport(standins.run).call("GetService", run_v2.GetServiceRequest(name=SERVICE), lambda data: data)
    assert over_grpc.value.reason == "CONCURRENT_REQUEST"
    assert in_process.value.reason == over_grpc.value.reason
    assert [type(d).__name__ for d in in_process.value.details] == [type(d).__name__ for d in over_grpc.value.details]


def _details(error) -> list:
    return [(type(d).__name__, d.SerializeToString(deterministic=True)) for d in error.details]


@pytest.mark.parametrize("shape, retry_delay", [("rate", 0.05), ("rate", None), ("limit", None)])
def test_a_quota_refusal_of_the_handler_carries_its_details_in_process_as_over_grpc(services, standins, seeded,
                                                                                      shape, retry_delay):
    """Cloud Run's UpdateService refused for quota by the stand-in's handler (exhaust_quota: ErrorInfo, QuotaFailure,
    Help and RetryInfo in the trailer) reaches the fast tier's transport with the same details as the real client: a
    rate quota read as one in both tiers. Before, the in-process transport dropped them (a bare refusal)."""
    from sandbox.inprocess import Transport

    service = services.get_service(name=SERVICE)
    standins.run.exhaust_quota(shape, retry_delay=retry_delay)
    with pytest.raises(exceptions.ResourceExhausted) as over_grpc:
        services.update_service(service=service, retry=None)
    with pytest.raises(exceptions.ResourceExhausted) as in_process:
        Transport(standins.run).call("UpdateService", run_v2.UpdateServiceRequest(service=service), lambda data: data)
    assert (in_process.value.message, in_process.value.reason, _details(in_process.value)) == \
        (over_grpc.value.message, over_grpc.value.reason, _details(over_grpc.value))
    assert over_grpc.value.reason == ("RATE_LIMIT_EXCEEDED" if shape == "rate" else "RESOURCE_QUOTA_EXCEEDED")


def test_an_iam_refusal_carries_its_error_info_in_process_as_over_grpc(services, standins, seeded):
    """PERMISSION_DENIED for want of a permission (Faults.deny): IAM's ErrorInfo (IAM_PERMISSION_DENIED, the
    permission in its metadata) reaches both tiers alike. Before, the in-process transport sent the words alone."""
    from sandbox.inprocess import Transport

    standins.run.faults.fail_next(1, grpc.StatusCode.PERMISSION_DENIED, method="GetService")
    with pytest.raises(exceptions.PermissionDenied) as over_grpc:
        services.get_service(name=SERVICE, retry=None)
    standins.run.faults.fail_next(1, grpc.StatusCode.PERMISSION_DENIED, method="GetService")
    with pytest.raises(exceptions.PermissionDenied) as in_process:
        Transport(standins.run).call("GetService", run_v2.GetServiceRequest(name=SERVICE), lambda data: data)
    assert (in_process.value.message, in_process.value.reason, _details(in_process.value)) == \
        (over_grpc.value.message, over_grpc.value.reason, _details(over_grpc.value))
    assert over_grpc.value.reason == "IAM_PERMISSION_DENIED"


def test_injected_deny_until_cleared(services, standins, seeded):
    standins.run.faults.deny("GetService")
    with pytest.raises(exceptions.PermissionDenied):
        services.get_service(name=SERVICE, retry=None)
    with pytest.raises(exceptions.PermissionDenied):
        services.get_service(name=SERVICE, retry=None)
    standins.run.faults.clear()
    assert services.get_service(name=SERVICE, retry=None).name == SERVICE


def test_injected_latency_delays_only_its_method(services, revisions, standins, seeded):
    standins.run.faults.add_latency(0.3, method="ListRevisions")
    started = time.monotonic()
    services.get_service(name=SERVICE)
    assert time.monotonic() - started < 0.25
    started = time.monotonic()
    list(revisions.list_revisions(parent=SERVICE))
    assert time.monotonic() - started >= 0.3


def test_unknown_operation_is_not_found(services, channel):
    from google.api_core import operations_v1

    with pytest.raises(exceptions.NotFound):
        operations_v1.OperationsClient(channel).get_operation("projects/p/locations/l/operations/nope")


def test_revision_limits_and_cloudsql_in_the_real_fields(revisions, standins, seeded, anchor):
    standins.run.add_revision(SERVICE, "backend-00003-sql", anchor, cloudsql_instances=["demo-project:us-central1:orders-db"],
                              max_instance_count=5, timeout=timedelta(seconds=300), concurrency=80)
    revision = revisions.get_revision(name=f"{SERVICE}/revisions/backend-00003-sql")
    [volume] = revision.volumes
    assert list(volume.cloud_sql_instance.instances) == ["demo-project:us-central1:orders-db"]
    assert [(m.name, m.mount_path) for m in revision.containers[0].volume_mounts] == [(volume.name, "/cloudsql")]
    assert revision.scaling.max_instance_count == 5
    assert revision.timeout == timedelta(seconds=300)
    assert revision.max_instance_request_concurrency == 80
    plain = revisions.get_revision(name=f"{SERVICE}/revisions/{OLD}")  # nothing given: the server's defaults
    # RevisionScaling.max_instance_count, "When unspecified, the field is set to the server default value of 100"
    # (vendor_settings.proto); the request timeout's 5 minutes (Cloud Run, "Set request timeout"); concurrency
    # "defaults to 80 when requested CPU >= 1" (RevisionTemplate.max_instance_request_concurrency,
    # revision_template.proto). Written into the revision: UNCONFIRMED for the last two (SERVER_DEFAULT_TIMEOUT).
    assert not plain.volumes and plain.scaling.max_instance_count == 100
    assert plain.timeout == timedelta(seconds=300) and plain.max_instance_request_concurrency == 80


@pytest.mark.parametrize(("cpu", "concurrency"), [(None, 80), ("1", 80), ("2", 80), ("1000m", 80), ("0.5", 1),
                                                  ("500m", 1)])
def test_an_unset_concurrency_is_the_servers_default_for_the_cpu(revisions, standins, seeded, anchor, cpu, concurrency):
    """"If not specified or 0, concurrency defaults to 80 when requested CPU >= 1 and defaults to 1 when requested
    CPU < 1" (RevisionTemplate.max_instance_request_concurrency, google-cloud-run 0.16.2); a set value is kept."""
    standins.run.add_revision(SERVICE, "backend-00003-cpu", anchor, cpu=cpu)
    standins.run.add_revision(SERVICE, "backend-00004-set", anchor, cpu=cpu, concurrency=7)
    assert revisions.get_revision(name=f"{SERVICE}/revisions/backend-00003-cpu").max_instance_request_concurrency \
        == concurrency
    assert revisions.get_revision(name=f"{SERVICE}/revisions/backend-00004-set").max_instance_request_concurrency == 7


def test_the_other_reading_leaves_an_unset_timeout_and_concurrency_unset(revisions, standins, seeded, anchor):
    """Whether the server writes those two defaults into the revision is UNCONFIRMED: `fills_revision_defaults`
    off answers them unset (absent, 0), as the stand-in did before; the max instances stay filled (documented)."""
    standins.run.fills_revision_defaults = False
    try:
        standins.run.add_revision(SERVICE, "backend-00003-raw", anchor)
    finally:
        standins.run.fills_revision_defaults = True
    raw = revisions.get_revision(name=f"{SERVICE}/revisions/backend-00003-raw")
    assert not run_v2.Revision.pb(raw).HasField("timeout") and raw.max_instance_request_concurrency == 0
    assert raw.scaling.max_instance_count == 100


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"cloudsql_instances": ["orders-db"]}, "project:region:instance"),
    ({"max_instance_count": 0}, "at least 1"),
    ({"concurrency": 1001}, "1..1000"),
    ({"timeout": timedelta(hours=2)}, "3600s"),
])
def test_revision_limits_are_validated(standins, seeded, anchor, kwargs, message):
    with pytest.raises(ValueError, match=message):
        standins.run.add_revision(SERVICE, "backend-00003-bad", anchor, **kwargs)


def test_a_write_slower_than_its_callers_deadline_lands_and_is_waited_for_by_the_standins_own_count(
        services, standins, seeded):
    """The client gives up at its deadline; the stand-in's handler still runs and applies the write. A drill
    judging the world waits on `wait_until_answered` (the stand-in's count of calls in flight), not on a sleep."""
    standins.run.faults.add_latency(0.6, method="UpdateService")
    service = services.get_service(name=SERVICE)
    service.traffic = [target(OLD, 100)]
    with pytest.raises(exceptions.DeadlineExceeded):
        services.update_service(service=service, timeout=0.2, retry=None)

    assert [(t.revision, t.percent) for t in services.get_service(name=SERVICE).traffic] != [(OLD, 100)], \
        "the write landed at once: nothing was late"
    assert standins.run.wait_until_answered(timeout=10)
    assert [(t.revision, t.percent) for t in services.get_service(name=SERVICE).traffic] == [(OLD, 100)]


def test_waiting_for_calls_in_flight_says_when_one_is_still_running(services, standins, seeded):
    standins.run.faults.add_latency(1.0, method="UpdateService")
    service = services.get_service(name=SERVICE)
    service.traffic = [target(OLD, 100)]
    with pytest.raises(exceptions.DeadlineExceeded):
        services.update_service(service=service, timeout=0.1, retry=None)

    assert standins.run.wait_until_answered(timeout=0.05) is False
    assert standins.run.wait_until_answered(timeout=10) is True
