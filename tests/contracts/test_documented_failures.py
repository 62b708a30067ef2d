"""What Google's APIs document about how they answer, held against the stand-ins through the real
client libraries, and the product's adapters run under each reading the documentation leaves open.

Each test names its source. Where the documentation does not settle a behaviour, the stand-in
has a switch for each reading and the product's test runs under both (docs/testing.md, "What the
stand-ins do where the documentation is silent").
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from google.api_core import exceptions
from google.cloud import monitoring_v3

from sandbox.standins.logging import EntrySeed, log_name_for
from sandbox.standins.monitoring import PointSeed, SeriesSeed
from shared.diagnosis.evidence import MetricQuery
from shared.errors import PermanentError
from shared.gcp.endpoints import CallPolicy, logging_client, metric_service_client
from shared.gcp.logging import MAX_SEARCH_PAGES, CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter

PROJECT = "demo-project"
QUICK = CallPolicy(call_timeout=5, attempts=2, initial_backoff=0.01, max_backoff=0.05, total_timeout=5)
TIMELINE = log_name_for(PROJECT, "runwarden")
STDOUT = log_name_for(PROJECT, "run.googleapis.com/stdout")
REVISION = {"project_id": PROJECT, "service_name": "backend", "revision_name": "backend-00002-xyz",
            "location": "us-central1", "configuration_name": "backend"}


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Cloud Logging: ListLogEntries ---------------------------------------------------------------


def _noise(logging, newest: datetime, count: int) -> None:
    """`count` stdout lines in the minutes before `newest`, none of them a timeline step."""
    logging.add_entries([EntrySeed(STDOUT, newest - timedelta(seconds=i), "cloud_run_revision", REVISION, "INFO",
                                   text=f"GET /orders {i}") for i in range(count)])


def _received(logging, at: datetime, incident: str = "0.abc") -> None:
    logging.add_entry(EntrySeed(TIMELINE, at, "cloud_run_revision", REVISION, "INFO",
                                json={"runwarden": {"step": "received"}},
                                labels={"runwarden_incident": incident, "runwarden_step": "received"}))


def _incident_query(since: datetime, incident: str = "0.abc") -> str:
    return (f'labels.runwarden_incident="{incident}" AND labels.runwarden_step="received" '
            f'AND timestamp>="{_stamp(since)}"')


def test_a_logging_search_may_stop_before_it_has_found_anything(standin_env):
    """ListLogEntriesResponse.next_page_token (google/logging/v2/logging.proto): "If a value for
    next_page_token appears and the entries field is empty, it means that the search found no log
    entries so far but it did not have time to search all the possible log entries. Retry the
    method with this value for page_token to continue the search." The stand-in's search_budget
    plays it; the pages, followed to the end, hold exactly the matching entries."""
    logging, now = standin_env.logging, _now()
    _received(logging, now - timedelta(hours=2))
    _noise(logging, now, 5)
    logging.search_budget = 2
    client = logging_client()
    pager = client.list_log_entries(request={"resource_names": [f"projects/{PROJECT}"], "order_by": "timestamp desc",
                                             "filter": _incident_query(now - timedelta(days=7)), "page_size": 1})
    pages = list(pager.pages)
    client.transport.close()

    assert len(pages[0].entries) == 0 and pages[0].next_page_token
    assert [len(p.entries) for p in pages] == [0, 0, 1]     # 6 entries, 2 examined per call
    assert not pages[-1].next_page_token


def test_a_filter_without_timestamp_searches_every_retained_entry(standin_env):
    """The 24-hour default is the client libraries', not the server's: python google-cloud-logging
    adds it in `_helpers._add_defaults_to_filter` (Client/Logger.list_entries, not the GAPIC
    client), googleapis/google-cloud-go #3120 and googleapis/java-logging #304 ("previously ... the
    query would try to retrieve all log entries"). `default_window` plays the other reading."""
    logging, now = standin_env.logging, _now()
    _received(logging, now - timedelta(hours=30), incident="0.old")
    _received(logging, now - timedelta(hours=1), incident="0.new")
    client = logging_client()

    def incidents() -> list[str]:
        entries = client.list_log_entries(request={"resource_names": [f"projects/{PROJECT}"],
                                                   "filter": 'labels.runwarden_step="received"'})
        return sorted(e.labels["runwarden_incident"] for e in entries)

    assert incidents() == ["0.new", "0.old"]
    logging.default_window = timedelta(hours=24)
    assert incidents() == ["0.new"]
    client.transport.close()


@pytest.mark.parametrize("overlap, sizes", [(0, [3, 2]), (2, [3, 3, 3])])
def test_page_overlap_answers_the_last_entries_of_a_page_again_on_the_next(standin_env, overlap, sizes):
    """Whether a paged answer ever gives an entry again on a later page is not documented (duplicates are
    "removed in a single query result", LogEntry.insert_id, google/logging/v2/log_entry.proto): `page_overlap`
    plays the reading where it does. Every page after the first begins with the last N entries of the page
    before; the pages, followed to the end, hold every matching entry, the repeats besides."""
    logging, now = standin_env.logging, _now()
    _noise(logging, now, 5)
    logging.page_overlap = overlap
    client = logging_client()
    pager = client.list_log_entries(request={"resource_names": [f"projects/{PROJECT}"], "order_by": "timestamp asc",
                                             "filter": 'textPayload:"GET /orders"', "page_size": 3})
    pages = [[e.text_payload for e in p.entries] for p in pager.pages]
    client.transport.close()

    assert [len(p) for p in pages] == sizes
    assert sorted({t for p in pages for t in p}) == [f"GET /orders {i}" for i in range(5)]
    assert all(later[:overlap] == earlier[-overlap:] for earlier, later in zip(pages, pages[1:])) if overlap else True


def test_route_answers_another_projects_entries_under_their_own_log_name(standin_env):
    """A sink storing project ops-staging's entries in a bucket of demo-project (LogSink.destination,
    google/logging/v2/logging_config.proto): whether a read of projects/demo-project answers them is not
    documented; `route` plays the reading where it does. They keep their own logName."""
    logging, now = standin_env.logging, _now()
    other = log_name_for("ops-staging", "runwarden")
    logging.add_entry(EntrySeed(other, now, "cloud_run_revision", REVISION, "INFO",
                                json={"runwarden": {"step": "received"}},
                                labels={"runwarden_incident": "0.abc", "runwarden_step": "received"}))
    client = logging_client()

    def names() -> list[str]:
        return [e.log_name for e in client.list_log_entries(request={
            "resource_names": [f"projects/{PROJECT}"], "filter": _incident_query(now - timedelta(hours=1))})]

    assert names() == []
    logging.route("ops-staging", PROJECT)
    assert names() == [other]
    client.transport.close()


def test_a_write_sent_twice_reads_as_one_entry(standin_env):
    """LogEntry.insert_id (google/logging/v2/log_entry.proto): entries "in the same project, with
    the same timestamp, and with the same insert_id" are "duplicates which are removed in a single
    query result": a WriteLogEntries retried after a lost answer does not double what a query
    counts. Another timestamp or insert_id is another entry."""
    from google.cloud.logging_v2.types import LogEntry

    now = _now()
    entry = LogEntry(log_name=STDOUT, resource={"type": "cloud_run_revision", "labels": REVISION},
                     text_payload="upstream connect error", timestamp=now, insert_id="line-1")
    client = logging_client()
    try:
        for _ in range(2):
            client.write_log_entries(entries=[entry])
        client.write_log_entries(entries=[LogEntry(entry, insert_id="line-2")])
        client.write_log_entries(entries=[LogEntry(entry, timestamp=now - timedelta(seconds=1))])
        found = list(client.list_log_entries(request={"resource_names": [f"projects/{PROJECT}"],
                                                      "filter": 'textPayload:"upstream"'}))
    finally:
        client.transport.close()
    assert sorted((e.insert_id, e.timestamp == now) for e in found) == [
        ("line-1", False), ("line-1", True), ("line-2", True)]


@pytest.mark.parametrize("budget", [None, 1, 3], ids=["whole-search", "budget-1", "budget-3"])
def test_list_payloads_reads_on_past_pages_the_search_left_empty(standin_env, budget):
    """Live mode finds an incident by one `received` line in a week of logs: an empty first page
    with a token is "not searched yet", not "not there"."""
    logging, now = standin_env.logging, _now()
    _received(logging, now - timedelta(hours=3))
    _noise(logging, now, 4)
    logging.search_budget = budget
    adapter = CloudLoggingAdapter(policy=QUICK)
    try:
        found = adapter.list_payloads(PROJECT, _incident_query(now - timedelta(days=7)), 1)
    finally:
        adapter.close()
    assert [payload for _, payload in found] == [{"runwarden": {"step": "received"}}]


def test_list_payloads_says_when_the_search_did_not_finish(standin_env):
    """Still a token and nothing found after MAX_SEARCH_PAGES pages: reported as unfinished, never
    as "no such entry"."""
    logging, now = standin_env.logging, _now()
    _received(logging, now - timedelta(hours=3))
    _noise(logging, now, MAX_SEARCH_PAGES + 5)
    logging.search_budget = 1
    adapter = CloudLoggingAdapter(policy=QUICK)
    try:
        with pytest.raises(PermanentError, match="has not finished") as raised:
            adapter.list_payloads(PROJECT, _incident_query(now - timedelta(days=7)), 1)
    finally:
        adapter.close()
    assert raised.value.code == "SEARCH_INCOMPLETE"
    assert logging.count("ListLogEntries") == MAX_SEARCH_PAGES


@pytest.mark.parametrize("budget", [1, 4])
def test_list_entries_reads_the_same_entries_whatever_the_search_stops_at(standin_env, budget):
    """The evidence read (newest first, up to max_entries) does not depend on where the API's
    search pauses: short and empty pages are read on."""
    logging, now = standin_env.logging, _now()
    logging.add_entries([EntrySeed(STDOUT, now - timedelta(seconds=i), "cloud_run_revision", REVISION,
                                   "ERROR" if i % 3 == 0 else "INFO", text=f"line {i}") for i in range(20)])
    query = f'severity>=ERROR AND timestamp>="{_stamp(now - timedelta(hours=1))}"'
    adapter = CloudLoggingAdapter(policy=QUICK)
    try:
        whole = adapter.list_entries(PROJECT, query, 5)
        logging.search_budget = budget
        paused = adapter.list_entries(PROJECT, query, 5)
    finally:
        adapter.close()
    assert [r.text for r in paused.entries] == [r.text for r in whole.entries] == [
        f"line {i}" for i in (0, 3, 6, 9, 12)]
    assert paused.truncated and whole.truncated


# --- Cloud Monitoring: ListTimeSeries ------------------------------------------------------------

QUEUE = "custom.googleapis.com/queue_depth"
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def _queues(monitoring, points: dict[str, int]) -> None:
    """One GAUGE series per queue, a point a minute up to T0."""
    for queue, count in points.items():
        monitoring.add_series(SeriesSeed(QUEUE, "global", {"project_id": PROJECT}, {"queue": queue}, kind="GAUGE",
                                         points=tuple(PointSeed(T0 - timedelta(minutes=i), 10 * i + len(queue))
                                                      for i in range(count))))


def _raw_pages(page_size: int, view: str = "FULL") -> list[list[tuple[str, int]]]:
    """Each page of a raw-points query, as (queue, number of points) per series."""
    client = metric_service_client()
    try:
        pager = client.list_time_series(request={
            "name": f"projects/{PROJECT}", "filter": f'metric.type = "{QUEUE}"', "page_size": page_size,
            "interval": {"start_time": T0 - timedelta(hours=1), "end_time": T0},
            "view": monitoring_v3.ListTimeSeriesRequest.TimeSeriesView[view]})
        return [[(ts.metric.labels["queue"], len(ts.points)) for ts in page.time_series] for page in pager.pages]
    finally:
        client.transport.close()


def test_a_full_answer_is_paged_by_points_not_series(standin_env):
    """ListTimeSeriesRequest.page_size: "If view is set to FULL, this is the maximum number of
    Points returned. If view is set to HEADERS, this is the maximum number of TimeSeries returned"
    (google/monitoring/v3/metric_service.proto). Under `split_series` (the default reading) a page
    ends at exactly page_size points, the next page going on with the same series."""
    _queues(standin_env.monitoring, {"a": 3, "b": 3})
    assert _raw_pages(4) == [[("a", 3), ("b", 1)], [("b", 2)]]
    assert _raw_pages(1, view="HEADERS") == [[("a", 0)], [("b", 0)]]


def test_a_full_answer_in_whole_series_under_the_other_reading(standin_env):
    """Whether a series is cut at a page's end is not documented: `split_series = False` gives
    whole series only, a page closing before the series that would not fit (at least one)."""
    _queues(standin_env.monitoring, {"a": 3, "b": 3, "c": 5})
    standin_env.monitoring.split_series = False
    assert _raw_pages(4) == [[("a", 3)], [("b", 3)], [("c", 5)]]
    assert _raw_pages(6) == [[("a", 3), ("b", 3)], [("c", 5)]]


def test_page_size_above_the_maximum_is_the_maximum_and_a_negative_one_is_refused(standin_env):
    """"If page_size is empty or more than 100,000 results, the effective page_size is 100,000
    results" (same docstring): not an error. The ceiling is lowered here to see it at work. A
    negative page_size is not "a positive number"; its answer is not documented (INVALID_ARGUMENT
    here, and the product never sends one)."""
    _queues(standin_env.monitoring, {"a": 3, "b": 3})
    standin_env.monitoring.max_page_size = 4
    assert _raw_pages(200_000) == [[("a", 3), ("b", 1)], [("b", 2)]]
    with pytest.raises(exceptions.InvalidArgument, match="page_size"):
        _raw_pages(-1)


@pytest.mark.parametrize("split", [True, False], ids=["series-split", "whole-series"])
@pytest.mark.parametrize("page_points", [1, 4, 7])
def test_the_adapter_reads_a_series_cut_across_pages_as_one(standin_env, split, page_points):
    """The product's query reads the same series, with every point once, however the answer is
    paged: a series' parts on several pages are joined, never read as two series."""
    _queues(standin_env.monitoring, {"a": 3, "bb": 6, "c": 2})
    query = MetricQuery(project=PROJECT, metric_type=QUEUE, resource_type="global", start=T0 - timedelta(hours=1),
                        end=T0, aligner="ALIGN_NONE", reducer="REDUCE_NONE")
    adapter = CloudMonitoringAdapter(policy=QUICK)
    try:
        whole = adapter.query(query)
        standin_env.monitoring.max_page_size, standin_env.monitoring.split_series = page_points, split
        paged = adapter.query(query)
    finally:
        adapter.close()
    assert paged == whole
    assert [(s.metric_labels["queue"], len(s.end_us)) for s in paged.series] == [("a", 3), ("bb", 6), ("c", 2)]
    assert all(list(s.end_us) == sorted(set(s.end_us)) for s in paged.series)
    assert standin_env.monitoring.count("ListTimeSeries") > 2


def test_a_read_without_start_time_is_refused_and_the_adapter_always_sends_one(standin_env):
    """TimeInterval for reads: "The start time must be specified, must be earlier than the end
    time" (google/monitoring/v3/common.proto, google-cloud-monitoring 2.32.0); the earlier text
    let a GAUGE read omit it (start_optional_for_gauge). The adapter sends (start, end] always."""
    _queues(standin_env.monitoring, {"a": 3})
    client = metric_service_client()
    try:
        with pytest.raises(exceptions.InvalidArgument, match="start_time is required"):
            list(client.list_time_series(request={"name": f"projects/{PROJECT}", "filter": f'metric.type = "{QUEUE}"',
                                                  "interval": {"end_time": T0}}))
    finally:
        client.transport.close()
    adapter = CloudMonitoringAdapter(policy=QUICK)
    try:
        adapter.query(MetricQuery(project=PROJECT, metric_type=QUEUE, resource_type="global",
                                  start=T0 - timedelta(minutes=5), end=T0, aligner="ALIGN_MAX"))
    finally:
        adapter.close()
    [sent] = standin_env.monitoring.requests("ListTimeSeries")[-1:]
    assert sent.interval.start_time < sent.interval.end_time


@pytest.mark.parametrize("retry_info", [False, True])
def test_a_read_quota_refusal_carries_the_details_of_a_rate_quota(standin_env, retry_info):
    """A rate quota used up is RESOURCE_EXHAUSTED with an ErrorInfo {reason RATE_LIMIT_EXCEEDED,
    domain googleapis.com, metadata service, quota_metric, quota_limit, consumer} ("The request is
    denied because there is not enough rate quota for the consumer", google/api/error_reason.proto)
    and a QuotaFailure (google/rpc/error_details.proto), which google-api-core reads into the
    exception (reason, domain, metadata, details). Whether Logging adds a RetryInfo is not documented:
    `read_quota_retry_info` plays both readings; with it, the delay is what is left of the minute."""
    from google.rpc import error_details_pb2

    logging = standin_env.logging
    logging.read_quota, logging.read_quota_retry_info = 1, retry_info
    client = logging_client()
    request = {"resource_names": [f"projects/{PROJECT}"], "filter": _incident_query(_now() - timedelta(hours=1))}
    try:
        list(client.list_log_entries(request=request, retry=None).pages)
        with pytest.raises(exceptions.ResourceExhausted) as refused:
            list(client.list_log_entries(request=request, retry=None).pages)
    finally:
        client.transport.close()
    error = refused.value
    assert (error.reason, error.domain) == ("RATE_LIMIT_EXCEEDED", "googleapis.com")
    assert error.metadata["quota_metric"] == "logging.googleapis.com/read_requests"
    assert any(isinstance(d, error_details_pb2.QuotaFailure) for d in error.details)
    delays = [d.retry_delay.ToTimedelta() for d in error.details if isinstance(d, error_details_pb2.RetryInfo)]
    assert len(delays) == int(retry_info) and all(timedelta(0) < d <= timedelta(minutes=1) for d in delays)


# --- IAM refusals and Google's error shapes --------------------------------------------------------

SERVICE = "projects/demo-project/locations/us-central1/services/backend"
CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"


def test_a_grpc_permission_refusal_names_the_permission_in_an_error_info(standin_env, anchor):
    """PERMISSION_DENIED carries google.rpc.ErrorInfo {reason IAM_PERMISSION_DENIED, domain
    iam.googleapis.com, metadata permission/resource} in its status details, which google-api-core
    reads into the exception (exceptions.from_grpc_error: reason, domain, metadata). The product
    reports it as a permanent error naming the permission."""
    from sandbox.scenarios import resolve_scenario, seed
    from shared.gcp.endpoints import run_services_client
    from shared.gcp.run import CloudRunAdapter

    seed(standin_env, resolve_scenario("bad_revision"), anchor)
    standin_env.run.faults.deny("GetService")
    client = run_services_client()
    try:
        with pytest.raises(exceptions.PermissionDenied) as raised:
            client.get_service(name=SERVICE, retry=None)
    finally:
        client.transport.close()
    assert raised.value.reason == "IAM_PERMISSION_DENIED" and raised.value.domain == "iam.googleapis.com"
    assert raised.value.metadata == {"permission": "run.services.get", "resource": SERVICE}
    assert "Permission 'run.services.get' denied on resource" in raised.value.message

    run = CloudRunAdapter(policy=QUICK)
    with pytest.raises(PermanentError, match="run.services.get") as denied:
        run.get_service(SERVICE)
    assert denied.value.code == "PERMISSION_DENIED"


def test_rest_errors_have_google_s_body_with_details(vpc_standin):
    """Google's REST error body: {"error": {"code", "message", "status", "details"}} (google.rpc.Status
    in the VPC Access v1 discovery document; AIP-193). A field refusal carries a google.rpc.BadRequest
    naming the field; an IAM refusal an ErrorInfo naming the permission."""
    import requests

    url = f"http://{vpc_standin.address}/v1/{CONNECTOR}"
    bad = requests.patch(url, params={"updateMask": "minInstances,maxInstances"},
                         json={"minInstances": 2, "maxInstances": 11}, timeout=5)
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT") and "maxInstances" in error["message"]
    assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                 "fieldViolations": [{"field": "connector.maxInstances",
                                                      "description": error["message"]}]}]
    vpc_standin.faults.deny("PatchConnector")
    denied = requests.patch(url, params={"updateMask": "minInstances,maxInstances"},
                            json={"minInstances": 2, "maxInstances": 4}, timeout=5).json()["error"]
    assert (denied["code"], denied["status"]) == (403, "PERMISSION_DENIED")
    assert denied["details"] == [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "IAM_PERMISSION_DENIED",
                                  "domain": "iam.googleapis.com",
                                  "metadata": {"permission": "vpcaccess.connectors.update", "resource": CONNECTOR}}]


def test_the_vpcaccess_adapter_reads_google_s_error_body(vpc_standin):
    """The adapter takes the status name and message from that body (details or not) and reports
    a refused patch as permanent, naming what was refused; nothing was changed."""
    from shared.gcp.vpcaccess import VpcAccessAdapter

    vpc = VpcAccessAdapter(policy=QUICK, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    try:
        with pytest.raises(PermanentError, match="maxInstances must be between") as invalid:
            vpc.update_connector(CONNECTOR, min_instances=2, max_instances=11)
        vpc_standin.faults.deny("PatchConnector")
        with pytest.raises(PermanentError, match="vpcaccess.connectors.update") as denied:
            vpc.update_connector(CONNECTOR, min_instances=2, max_instances=4)
    finally:
        vpc.close()
    assert (invalid.value.code, denied.value.code) == ("INVALID_ARGUMENT", "PERMISSION_DENIED")
    assert vpc_standin.connector(CONNECTOR)["maxInstances"] == 3


# --- Cloud Run Admin v2: UpdateService ------------------------------------------------------------


@pytest.mark.parametrize("paths", [["trafic"], ["traffic", "traffic"]], ids=["unmappable", "duplicated"])
def test_an_update_mask_path_that_names_no_field_or_repeats_is_invalid(standin_env, anchor, paths):
    """google/protobuf/field_mask.proto: "return an INVALID_ARGUMENT error if any path is duplicated
    or unmappable"; checked before anything else, so nothing is applied."""
    from google.protobuf import field_mask_pb2

    from sandbox.scenarios import resolve_scenario, seed
    from shared.gcp.endpoints import run_services_client

    seed(standin_env, resolve_scenario("bad_revision"), anchor)
    before = standin_env.run.service(SERVICE)
    client = run_services_client()
    try:
        service = client.get_service(name=SERVICE)
        with pytest.raises(exceptions.InvalidArgument, match="update_mask"):
            client.update_service(request={"service": service, "update_mask": field_mask_pb2.FieldMask(paths=paths)},
                                  retry=None)
    finally:
        client.transport.close()
    assert standin_env.run.service(SERVICE).generation == before.generation


# --- Serverless VPC Access v1: PATCH and its operation --------------------------------------------


def test_a_running_operation_leaves_done_out(vpc_standin):
    """proto3 JSON leaves a field at its default out of the answer (protobuf JSON mapping), so a
    running Operation has no `done` at all ("If the value is false, it means the operation is still
    in progress", Operation.done, v1 discovery document). The adapter waits on it all the same."""
    import requests

    from shared.gcp.vpcaccess import VpcAccessAdapter

    url = f"http://{vpc_standin.address}/v1/{CONNECTOR}"
    running = requests.patch(url, params={"updateMask": "minInstances,maxInstances"},
                             json={"minInstances": 2, "maxInstances": 4}, timeout=5).json()
    assert "done" not in running and "response" not in running and "error" not in running
    assert running["metadata"]["target"] == CONNECTOR
    for _ in range(3):
        polled = requests.get(f"http://{vpc_standin.address}/v1/{running['name']}", timeout=5).json()
    assert polled["done"] is True and polled["response"]["maxInstances"] == 4

    vpc = VpcAccessAdapter(policy=QUICK, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    try:
        assert vpc.update_connector(CONNECTOR, min_instances=2, max_instances=5).max_instances == 5
    finally:
        vpc.close()


@pytest.mark.parametrize("updates_all", [False, True], ids=["fields-in-body", "all-modifiable-fields"])
def test_the_adapter_always_names_its_fields_whatever_an_empty_mask_means(vpc_standin, updates_all):
    """connectors.patch updateMask: "If absent or empty, all modifiable fields are updated". Read
    literally, a body without machineType would put it back to its default (e2-micro); read as
    AIP-134 reads a missing mask, only the fields the body sets change. The adapter never relies
    on either: it names every field it changes, and the machine type it does not name stays."""
    from shared.gcp.vpcaccess import VpcAccessAdapter
    import requests

    big = CONNECTOR.replace("backend-conn", "big-conn")
    vpc_standin.add_connector(big, machine_type="e2-standard-4", min_instances=2, max_instances=3)
    vpc_standin.empty_mask_updates_all = updates_all
    vpc = VpcAccessAdapter(policy=QUICK, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    try:
        after = vpc.update_connector(big, min_instances=2, max_instances=4)
    finally:
        vpc.close()
    assert (after.machine_type, after.max_instances) == ("e2-standard-4", 4)
    [sent] = vpc_standin.requests("PatchConnector")
    assert sent.update_mask == "minInstances,maxInstances"

    bare = requests.patch(f"http://{vpc_standin.address}/v1/{big}", json={"minInstances": 2, "maxInstances": 5},
                          timeout=5).json()
    for _ in range(3):
        requests.get(f"http://{vpc_standin.address}/v1/{bare['name']}", timeout=5)
    assert vpc_standin.connector(big)["machineType"] == ("e2-micro" if updates_all else "e2-standard-4")


# --- Cloud Run Admin v2: what a ListServices entry holds -------------------------------------------


@pytest.mark.parametrize("whole", [True, False], ids=["listed-whole", "listed-summary"])
def test_a_listed_service_is_used_as_it_is_only_when_it_carries_its_template_and_status(standins, monkeypatch,
                                                                                       anchor, whole):
    """ListServicesResponse.services is "The resulting list of Services" (google/cloud/run/v2/service.proto):
    whether each entry is whole, as GetService answers it, is not documented. Whole, the listed Service is
    the one GetService reads (its template's connector, its serving revision, its etag), and is judged as
    it is; a summary (no template, no status) is never read as naming no connector
    (shared/remediation/bystanders.py: `whole`, `may_use`)."""
    from sandbox.scenarios import resolve_scenario, seed
    from shared.gcp.run import CloudRunAdapter
    from shared.remediation import bystanders

    for key, value in standins.env().items():
        monkeypatch.setenv(key, value)
    standins.run.list_services_whole = whole
    seed(standins, resolve_scenario("connector_saturation"), anchor)
    run = CloudRunAdapter(policy=QUICK)

    [listed], token = run.list_services(SERVICE.split("/services/")[0], bystanders.MAX_LISTED)

    assert token == "" and bystanders.whole(listed) is whole
    assert (listed == run.get_service(SERVICE)) is whole
    assert bystanders.may_use(listed, CONNECTOR)     # its template names it, or the entry does not say


# --- Cloud Run Admin v2: what traffic_statuses names ----------------------------------------------


@pytest.mark.parametrize("names_revision", [True, False], ids=["latest-named", "latest-unnamed"])
def test_a_latest_traffic_status_is_read_as_the_latest_ready_revision(standins, monkeypatch, anchor, names_revision):
    """Whether a LATEST entry of traffic_statuses names its revision is not documented
    (TrafficTargetStatus.revision: "Revision to which this traffic is sent"). LATEST "Allocates
    instances to the Service's latest ready Revision" (TrafficTargetAllocationType), so the adapter
    reads an unnamed one as latest_ready_revision, and a bad revision serving through LATEST is
    diagnosed the same either way."""
    from sandbox.scenarios import resolve_scenario, seed
    from shared.config import DiagnosisSettings
    from shared.diagnosis.collection import Readers, collect
    from shared.diagnosis.diagnose import diagnose
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter

    for key, value in standins.env().items():
        monkeypatch.setenv(key, value)
    standins.run.latest_status_names_revision = names_revision
    pinned = resolve_scenario("bad_revision")
    # The same incident with the API's default split: 100% to the latest ready revision.
    scenario = pinned.model_copy(update={"services": [pinned.services[0].model_copy(update={"traffic": ()})]})
    seed(standins, scenario, anchor)
    [status] = standins.run.service(SERVICE).traffic_statuses
    assert status.revision == ("backend-00002-xyz" if names_revision else "") and status.percent == 100

    run = CloudRunAdapter(policy=QUICK)
    service = run.get_service(SERVICE)
    assert service.serving_percent("backend-00002-xyz") == 100 and service.serving_percent("backend-00001-abc") == 0
    readers = Readers(run=run, monitoring=CloudMonitoringAdapter(policy=QUICK),
                      logging=CloudLoggingAdapter(policy=QUICK), vpcaccess=VpcAccessAdapter(policy=QUICK))
    settings = DiagnosisSettings()
    diagnosis = diagnose(collect(SERVICE, anchor, readers, settings, anchor + timedelta(minutes=2)), settings)
    assert diagnosis.signature.value == scenario.expect.signature


def test_an_answer_that_may_be_incomplete_is_asked_again_then_reported_missing(standin_env):
    """ListTimeSeriesResponse.execution_errors: "Query execution errors that may have caused the
    time series data returned to be incomplete" (google/monitoring/v3/metric_service.proto). Such
    an answer is never read as the whole: the adapter asks again, and if the answer stays
    incomplete the query fails as missing evidence (INCOMPLETE_ANSWER), naming the errors."""
    _queues(standin_env.monitoring, {"a": 3, "b": 3})
    query = MetricQuery(project=PROJECT, metric_type=QUEUE, resource_type="global", start=T0 - timedelta(hours=1),
                        end=T0, aligner="ALIGN_NONE", reducer="REDUCE_NONE")
    adapter = CloudMonitoringAdapter(policy=QUICK)     # 2 attempts
    try:
        standin_env.monitoring.incomplete_next(1)
        healed = adapter.query(query)
        standin_env.monitoring.incomplete_next(2)
        with pytest.raises(PermanentError, match="may be incomplete") as raised:
            adapter.query(query)
    finally:
        adapter.close()
    assert [s.metric_labels["queue"] for s in healed.series] == ["a", "b"]
    assert raised.value.code == "INCOMPLETE_ANSWER" and "could not be read" in str(raised.value)
    assert standin_env.monitoring.count("ListTimeSeries") == 4


@pytest.mark.parametrize("code", ["ABORTED", "FAILED_PRECONDITION", None], ids=["aborted", "failed-precondition",
                                                                             "etag-ignored"])
def test_a_change_between_the_read_and_the_write_under_each_etag_reading(standin_env, anchor, code):
    """Cloud Run v2 names no code for a stale etag (open question 1). ABORTED (AIP-154) and
    FAILED_PRECONDITION (its earlier text): nothing is written and the adapter says the service
    changed (ConcurrentModificationError). If the server ignored the etag (the REST discovery
    clients call Service.etag "Output only", google-apis-run_v2 GoogleCloudRunV2Service#etag;
    AIP-203 has a service ignore such fields in a request), the write lands over the other change;
    the answer's generation, two past the read, is what shows it, and the adapter reports the write
    as in doubt (ChangedAroundWriteError), never as a clean write."""
    import grpc

    from sandbox.scenarios import resolve_scenario, seed
    from sandbox.standins.run import TrafficSeed
    from shared.diagnosis.evidence import TrafficTarget, TrafficType
    from shared.errors import ChangedAroundWriteError
    from shared.gcp.run import CloudRunAdapter, ConcurrentModificationError

    seed(standin_env, resolve_scenario("bad_revision"), anchor)
    standin_env.run.stale_etag_code = None if code is None else grpc.StatusCode[code]
    run = CloudRunAdapter(policy=QUICK, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    read = run.get_service(SERVICE)
    standin_env.run.set_traffic(SERVICE, [TrafficSeed(50, "backend-00001-abc"), TrafficSeed(50, "backend-00002-xyz")])
    rollback = [TrafficTarget(type=TrafficType.REVISION, revision="backend-00001-abc", percent=100)]
    if code is not None:
        with pytest.raises(ConcurrentModificationError):
            run.set_traffic(SERVICE, rollback, read.etag)
        assert [t.percent for t in standin_env.run.service(SERVICE).traffic] == [50, 50]
    else:
        with pytest.raises(ChangedAroundWriteError, match=f"generation {read.generation} when read, "
                                                          f"{read.generation + 2} after"):
            run.set_traffic(SERVICE, rollback, read.etag)
        assert [t.percent for t in standin_env.run.service(SERVICE).traffic] == [100]     # written over


def test_an_incomplete_answer_is_a_gap_in_the_evidence_not_part_of_it(standin_env, anchor):
    """In a whole collection: the request counts answered incomplete on both attempts are a named
    gap ("diagnosis treats a missing source as unknown, never as healthy", EvidenceBundle.gaps),
    never a count that lacks the failing revision's series."""
    from sandbox.scenarios import resolve_scenario, seed
    from shared.config import DiagnosisSettings
    from shared.diagnosis.collection import Readers, collect
    from shared.diagnosis.diagnose import diagnose
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter

    seed(standin_env, resolve_scenario("bad_revision"), anchor)
    standin_env.monitoring.incomplete_next(2, metric_type="run.googleapis.com/request_count")
    readers = Readers(run=CloudRunAdapter(policy=QUICK), monitoring=CloudMonitoringAdapter(policy=QUICK),
                      logging=CloudLoggingAdapter(policy=QUICK), vpcaccess=VpcAccessAdapter(policy=QUICK))
    settings = DiagnosisSettings()
    bundle = collect(SERVICE, anchor, readers, settings, anchor + timedelta(minutes=2))
    [gap] = [g for g in bundle.gaps if "request_count" in g]
    assert "INCOMPLETE_ANSWER" in gap or "may be incomplete" in gap
    assert bundle.requests is None
    assert diagnose(bundle, settings).signature.value != "healthy"
