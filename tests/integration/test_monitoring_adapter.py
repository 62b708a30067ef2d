"""CloudMonitoringAdapter against the Monitoring stand-in: real client, real gRPC."""
from __future__ import annotations

from datetime import datetime, timedelta

import grpc
import pytest

from sandbox.scenarios import load_scenario, seed
from sandbox.standins.monitoring import DEFAULT_BUCKET_OPTIONS, bucket_bounds
from shared.errors import PermanentError, TransientError
from shared.diagnosis.evidence import MetricQuery, MetricResult
from shared.gcp.endpoints import CallPolicy
from shared.gcp.monitoring import CloudMonitoringAdapter, describe_query

QUICK = CallPolicy(call_timeout=5, attempts=3, initial_backoff=0.01, max_backoff=0.05, total_timeout=5)


@pytest.fixture
def adapter(standin_env):
    monitoring = CloudMonitoringAdapter(policy=QUICK)
    yield monitoring
    monitoring.close()


# --- generic queries: the metrics Runwarden's diagnosis reads -------------------------------------

PROJECT = "demo-project"
REV = {"resource.labels.service_name": "backend"}
CONN = "backend-conn"
DB = "demo-project:orders-db"
WORLD = """
name: metrics_world
project: demo-project
region: us-central1
services:
  - name: backend
    revisions:
      - name: backend-00001-abc
        created: -3h
        vpc_connector: projects/demo-project/locations/us-central1/connectors/backend-conn
        cloudsql_instances: ["demo-project:us-central1:orders-db"]
timeseries:
  - metric: run.googleapis.com/request_count
    resource: {type: cloud_run_revision, labels: {service_name: backend, revision_name: backend-00001-abc}}
    labels: {response_code_class: 2xx, response_code: "200"}
    points: [{from: -10m, to: 0, value: 30}]
  - metric: run.googleapis.com/request_count
    resource: {type: cloud_run_revision, labels: {service_name: backend, revision_name: backend-00001-abc}}
    labels: {response_code_class: 5xx, response_code: "504"}
    points: [{from: -5m, to: 0, value: 12}]
  - metric: run.googleapis.com/request_count
    resource: {type: cloud_run_revision, labels: {service_name: backend, revision_name: backend-00001-abc}}
    labels: {response_code_class: 5xx, response_code: "503"}
    points: [{from: -5m, to: 0, value: 3}]
  - metric: run.googleapis.com/request_latencies      # DELTA DISTRIBUTION, ms
    resource: {type: cloud_run_revision, labels: {service_name: backend, revision_name: backend-00001-abc}}
    labels: {response_code_class: 5xx, response_code: "504"}
    points: [{from: -5m, to: 0, value: {samples: [[30000, 12]]}}]
  - metric: run.googleapis.com/request_latencies
    resource: {type: cloud_run_revision, labels: {service_name: backend, revision_name: backend-00001-abc}}
    labels: {response_code_class: 2xx, response_code: "200"}
    points: [{from: -10m, to: 0, value: {samples: [[120, 28], [900, 2]]}}]
  - metric: run.googleapis.com/container/instance_count
    kind: GAUGE
    value_type: INT64
    resource: {type: cloud_run_revision, labels: {service_name: backend, revision_name: backend-00001-abc}}
    labels: {state: active}
    points: [{from: -10m, to: -5m, value: 2}, {from: -5m, to: 0, value: 5}]
  - metric: run.googleapis.com/container/instance_count
    kind: GAUGE
    value_type: INT64
    resource: {type: cloud_run_revision, labels: {service_name: backend, revision_name: backend-00001-abc}}
    labels: {state: idle}
    points: [{from: -10m, to: 0, value: 1}]
  - metric: run.googleapis.com/container/startup_latencies   # DELTA DISTRIBUTION, ms
    resource: {type: cloud_run_revision, labels: {service_name: backend, revision_name: backend-00001-abc}}
    points: [{at: -4m, value: {samples: [[8000, 2]]}}]
  - metric: vpcaccess.googleapis.com/connector/instances
    kind: GAUGE
    value_type: INT64
    resource: {type: vpc_access_connector, labels: {connector_name: backend-conn}}
    points: [{from: -10m, to: -5m, value: 2}, {from: -5m, to: 0, value: 3}]
  - metric: vpcaccess.googleapis.com/connector/cpu/utilizations   # GAUGE DISTRIBUTION, ratio
    kind: GAUGE
    resource: {type: vpc_access_connector, labels: {connector_name: backend-conn}}
    points: [{from: -10m, to: 0, value: {samples: [[0.92, 3]]}}]
  - metric: vpcaccess.googleapis.com/connector/cpu/utilizations
    kind: GAUGE
    resource: {type: vpc_access_connector, labels: {connector_name: other-conn}}
    points: [{from: -10m, to: 0, value: {samples: [[0.2, 2]]}}]
  - metric: vpcaccess.googleapis.com/connector/received_bytes_count
    resource: {type: vpc_access_connector, labels: {connector_name: backend-conn}}
    points: [{from: -10m, to: 0, value: 6000000}]
  - metric: vpcaccess.googleapis.com/connector/sent_bytes_count
    resource: {type: vpc_access_connector, labels: {connector_name: backend-conn}}
    points: [{from: -10m, to: 0, value: 1200000}]
  - metric: vpcaccess.googleapis.com/connector/received_packets_count
    resource: {type: vpc_access_connector, labels: {connector_name: backend-conn}}
    points: [{from: -10m, to: 0, value: 90000}]
  - metric: cloudsql.googleapis.com/database/up
    kind: GAUGE
    value_type: INT64
    resource: {type: cloudsql_database, labels: {database_id: "demo-project:orders-db", region: us-central1}}
    points: [{from: -10m, to: -3m, value: 1}, {at: -2m, value: 0}, {from: -2m, to: 0, value: 1}]
  - metric: cloudsql.googleapis.com/database/state
    kind: GAUGE
    resource: {type: cloudsql_database, labels: {database_id: "demo-project:orders-db", region: us-central1}}
    points: [{from: -10m, to: -2m, value: RUNNING}, {from: -2m, to: 0, value: MAINTENANCE}]
  - metric: cloudsql.googleapis.com/database/postgresql/num_backends
    kind: GAUGE
    value_type: INT64
    resource: {type: cloudsql_database, labels: {database_id: "demo-project:orders-db", region: us-central1}}
    labels: {database: orders}
    points: [{from: -10m, to: -5m, value: 40}, {from: -5m, to: 0, value: 97}]
  - metric: cloudsql.googleapis.com/database/cpu/utilization
    kind: GAUGE
    value_type: DOUBLE
    resource: {type: cloudsql_database, labels: {database_id: "demo-project:orders-db", region: us-central1}}
    points: [{from: -10m, to: -5m, value: 0.41}, {from: -5m, to: 0, value: 0.98}]
  - metric: custom.googleapis.com/runwarden/probe_ok
    kind: GAUGE
    resource: {type: global}
    points: [{at: -3m, value: true}, {at: -1m, value: false}]
"""


@pytest.fixture
def world(standins, anchor, tmp_path):
    path = tmp_path / "metrics_world.yaml"
    path.write_text(WORLD)
    return seed(standins, load_scenario(path), anchor)


def ask(adapter, anchor: datetime, metric: str, resource: str, *, labels=None, minutes: int = 5,
        **aggregation) -> MetricResult:
    return adapter.query(MetricQuery(project=PROJECT, metric_type=metric, resource_type=resource,
                                     labels=labels or {}, start=anchor - timedelta(minutes=minutes), end=anchor,
                                     **aggregation))


# --- faults: the whole query is retried as one; a permanent fault is not retried -----------------

def request_count(adapter, anchor: datetime) -> MetricResult:
    return ask(adapter, anchor, "run.googleapis.com/request_count", "cloud_run_revision", labels=REV,
               aligner="ALIGN_DELTA", reducer="REDUCE_SUM", group_by=("resource.labels.revision_name",))


def test_unavailable_then_success_is_retried(adapter, standins, world, anchor):
    standins.monitoring.faults.fail_next(1, grpc.StatusCode.UNAVAILABLE)
    result = request_count(adapter, anchor)
    assert standins.monitoring.count("ListTimeSeries") == 2
    assert result.series and result == request_count(adapter, anchor)   # the same answer as without the fault


def test_persistent_unavailable_is_transient(adapter, standins, anchor):
    standins.monitoring.faults.fail_next(10, grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(TransientError, match="ListTimeSeries"):
        request_count(adapter, anchor)
    assert standins.monitoring.count("ListTimeSeries") == QUICK.attempts


def test_permission_denied_is_permanent(adapter, standins, anchor):
    standins.monitoring.faults.deny()
    with pytest.raises(PermanentError) as caught:
        request_count(adapter, anchor)
    assert caught.value.code == "PERMISSION_DENIED"
    assert standins.monitoring.count("ListTimeSeries") == 1


def bucket_width_at(value: float) -> float:
    bounds = bucket_bounds(DEFAULT_BUCKET_OPTIONS)
    upper = next(b for b in bounds if b > value)
    return upper - bounds[bounds.index(upper) - 1]


def test_request_count_per_minute_by_revision_class_and_code(adapter, world, anchor):
    result = ask(adapter, anchor, "run.googleapis.com/request_count", "cloud_run_revision", labels=REV,
                 alignment_seconds=60, aligner="ALIGN_DELTA", reducer="REDUCE_SUM",
                 group_by=("resource.labels.revision_name", "metric.labels.response_code_class",
                           "metric.labels.response_code"))
    by_code = {s.label("metric.labels.response_code"): s for s in result.series}
    assert sorted(by_code) == ["200", "503", "504"]
    for code, per_minute in [("200", 30.0), ("503", 3.0), ("504", 12.0)]:
        series = by_code[code]
        assert series.label("resource.labels.revision_name") == "backend-00001-abc"
        assert [p.end for p in series.points] == [anchor - timedelta(minutes=m) for m in (4, 3, 2, 1, 0)]
        assert {p.value for p in series.points} == {per_minute}
    assert result.latest == anchor


def test_request_latency_p99_is_within_a_bucket_of_the_timeouts(adapter, world, anchor):
    # Across the service: 60 requests at 30 s (timeouts), 140 at 120 ms, 10 at 900 ms.
    result = ask(adapter, anchor, "run.googleapis.com/request_latencies", "cloud_run_revision", labels=REV,
                 alignment_seconds=300, aligner="ALIGN_DELTA", reducer="REDUCE_PERCENTILE_99",
                 group_by=("resource.labels.revision_name",))
    [series] = result.series
    [point] = series.points
    assert abs(point.value - 30000) < bucket_width_at(30000)
    p50 = ask(adapter, anchor, "run.googleapis.com/request_latencies", "cloud_run_revision", labels=REV,
              alignment_seconds=300, aligner="ALIGN_DELTA", reducer="REDUCE_PERCENTILE_50",
              group_by=("resource.labels.revision_name",))
    assert abs(p50.series[0].points[0].value - 120) < bucket_width_at(120)


def test_request_latency_percentile_per_series_and_mean_when_unaligned(adapter, world, anchor):
    per_series = ask(adapter, anchor, "run.googleapis.com/request_latencies", "cloud_run_revision",
                     labels={**REV, "metric.labels.response_code": "504"}, alignment_seconds=60,
                     aligner="ALIGN_PERCENTILE_99")
    [series] = per_series.series
    assert len(series.points) == 5
    assert all(abs(p.value - 30000) < bucket_width_at(30000) for p in series.points)
    # Left a distribution, a point reads as its mean.
    merged = ask(adapter, anchor, "run.googleapis.com/request_latencies", "cloud_run_revision",
                 labels={**REV, "metric.labels.response_code": "200"}, alignment_seconds=300, aligner="ALIGN_DELTA")
    assert merged.series[0].points[0].value == pytest.approx((28 * 120 + 2 * 900) / 30)


def test_request_latencies_as_histograms_give_the_aligners_p99_and_the_revisions_median(adapter, world, anchor):
    """The collection's one latency read (ALIGN_DELTA, REDUCE_SUM by revision and label, kept as histograms):
    the revision's p99 per minute is the one ALIGN_PERCENTILE_99 then REDUCE_MAX answers, to the bit, and its
    median that of all its requests, which REDUCE_PERCENTILE_50 over the revision answers."""
    from shared.diagnosis.collection import LATENCY_LABELS, latency_percentiles

    query = MetricQuery(project=PROJECT, metric_type="run.googleapis.com/request_latencies",
                        resource_type="cloud_run_revision", labels=REV, start=anchor - timedelta(minutes=5),
                        end=anchor, aligner="ALIGN_DELTA", reducer="REDUCE_SUM",
                        group_by=("resource.labels.revision_name", *LATENCY_LABELS))
    histograms = adapter.histograms(query)
    assert sorted(s.label("metric.labels.response_code") for s in histograms.series) == ["200", "504"]
    assert all(len(s.histograms) == 5 for s in histograms.series)
    p99, p50 = latency_percentiles(histograms)

    by_aligner = ask(adapter, anchor, "run.googleapis.com/request_latencies", "cloud_run_revision", labels=REV,
                     aligner="ALIGN_PERCENTILE_99", reducer="REDUCE_MAX", group_by=("resource.labels.revision_name",))
    assert [s.values for s in p99.series] == [s.values for s in by_aligner.series]
    assert [s.end_us for s in p99.series] == [s.end_us for s in by_aligner.series]
    median = ask(adapter, anchor, "run.googleapis.com/request_latencies", "cloud_run_revision", labels=REV,
                 aligner="ALIGN_DELTA", reducer="REDUCE_PERCENTILE_50", group_by=("resource.labels.revision_name",))
    assert [s.values for s in p50.series] == [s.values for s in median.series]
    # A minute: 12 timeouts at 30 s, 28 answers at 120 ms and 2 at 900 ms: the p99 is the timeouts', the
    # median the 200s'.
    assert all(abs(v - 30000) < bucket_width_at(30000) for v in p99.series[0].values)
    assert all(abs(v - 120) < bucket_width_at(120) for v in p50.series[0].values)
    assert p99.query.startswith(describe_query(query)) and p50.query.startswith(describe_query(query))


def test_a_histograms_read_asks_an_aggregation_that_keeps_distributions(adapter, standins, world, anchor):
    with pytest.raises(PermanentError, match="does not keep distributions") as caught:
        adapter.histograms(MetricQuery(project=PROJECT, metric_type="run.googleapis.com/request_latencies",
                                       resource_type="cloud_run_revision", labels=REV,
                                       start=anchor - timedelta(minutes=5), end=anchor,
                                       aligner="ALIGN_PERCENTILE_99", reducer="REDUCE_MAX",
                                       group_by=("resource.labels.revision_name",)))
    assert caught.value.code == "INVALID_ARGUMENT"
    assert standins.monitoring.count("ListTimeSeries") == 0


def test_instance_count_max_per_state(adapter, world, anchor):
    result = ask(adapter, anchor, "run.googleapis.com/container/instance_count", "cloud_run_revision", labels=REV,
                 minutes=10, alignment_seconds=300, aligner="ALIGN_MAX", reducer="REDUCE_SUM",
                 group_by=("metric.labels.state",))
    values = {s.label("state"): [p.value for p in s.points] for s in result.series}
    assert values == {"active": [2.0, 5.0], "idle": [1.0, 1.0]}


def test_startup_latencies(adapter, world, anchor):
    result = ask(adapter, anchor, "run.googleapis.com/container/startup_latencies", "cloud_run_revision",
                 labels=REV, alignment_seconds=300, aligner="ALIGN_PERCENTILE_99")
    [series] = result.series
    assert abs(series.points[0].value - 8000) < bucket_width_at(8000)


def test_connector_instances_max(adapter, world, anchor):
    result = ask(adapter, anchor, "vpcaccess.googleapis.com/connector/instances", "vpc_access_connector",
                 labels={"resource.labels.connector_name": CONN}, minutes=10, alignment_seconds=300,
                 aligner="ALIGN_MAX")
    [series] = result.series
    assert [(p.end, p.value) for p in series.points] == [(anchor - timedelta(minutes=5), 2.0), (anchor, 3.0)]


def test_connector_cpu_p99_per_connector(adapter, world, anchor):
    result = ask(adapter, anchor, "vpcaccess.googleapis.com/connector/cpu/utilizations", "vpc_access_connector",
                 alignment_seconds=300, aligner="ALIGN_PERCENTILE_99", reducer="REDUCE_PERCENTILE_99",
                 group_by=("resource.labels.connector_name",))
    p99 = {s.label("connector_name"): s.points[-1].value for s in result.series}
    assert set(p99) == {CONN, "other-conn"}
    assert abs(p99[CONN] - 0.92) < bucket_width_at(0.92) and p99[CONN] > 0.7
    assert abs(p99["other-conn"] - 0.2) < bucket_width_at(0.2)


def test_connector_traffic_counters(adapter, world, anchor):
    only = {"resource.labels.connector_name": CONN}
    received = ask(adapter, anchor, "vpcaccess.googleapis.com/connector/received_bytes_count",
                   "vpc_access_connector", labels=only, alignment_seconds=300, aligner="ALIGN_RATE")
    assert received.series[0].points[0].value == pytest.approx(6_000_000 / 60)
    sent = ask(adapter, anchor, "vpcaccess.googleapis.com/connector/sent_bytes_count", "vpc_access_connector",
               labels=only, alignment_seconds=300, aligner="ALIGN_DELTA")
    assert sent.series[0].points[0].value == 5 * 1_200_000
    packets = ask(adapter, anchor, "vpcaccess.googleapis.com/connector/received_packets_count",
                  "vpc_access_connector", labels=only, alignment_seconds=60, aligner="ALIGN_RATE")
    assert [p.value for p in packets.series[0].points] == [pytest.approx(1500.0)] * 5


def test_cloudsql_up_min_and_state_next_older(adapter, world, anchor):
    db = {"resource.labels.database_id": DB}
    up = ask(adapter, anchor, "cloudsql.googleapis.com/database/up", "cloudsql_database", labels=db, minutes=10,
             alignment_seconds=300, aligner="ALIGN_MIN")
    assert [p.value for p in up.series[0].points] == [1.0, 0.0]
    state = ask(adapter, anchor, "cloudsql.googleapis.com/database/state", "cloudsql_database", labels=db,
                minutes=10, alignment_seconds=300, aligner="ALIGN_NEXT_OLDER")
    assert [p.value for p in state.series[0].points] == ["RUNNING", "MAINTENANCE"]
    backends = ask(adapter, anchor, "cloudsql.googleapis.com/database/postgresql/num_backends", "cloudsql_database",
                   labels=db, minutes=10, alignment_seconds=300, aligner="ALIGN_MAX", reducer="REDUCE_SUM",
                   group_by=("resource.labels.database_id",))
    assert [p.value for p in backends.series[0].points] == [40.0, 97.0]


def test_cloudsql_cpu_largest_per_minute_and_empty_without_data(adapter, world, anchor):
    """database/cpu/utilization as collection reads it (ALIGN_MAX / REDUCE_MAX by database_id); an
    instance with no series answers an empty list, as Monitoring does, never an error."""
    cpu = ask(adapter, anchor, "cloudsql.googleapis.com/database/cpu/utilization", "cloudsql_database",
              labels={"resource.labels.database_id": DB}, minutes=10, alignment_seconds=300, aligner="ALIGN_MAX",
              reducer="REDUCE_MAX", group_by=("resource.labels.database_id",))
    assert [p.value for p in cpu.series[0].points] == [pytest.approx(0.41), pytest.approx(0.98)]
    none = ask(adapter, anchor, "cloudsql.googleapis.com/database/cpu/utilization", "cloudsql_database",
               labels={"resource.labels.database_id": "demo-project:other-db"}, minutes=10, alignment_seconds=60,
               aligner="ALIGN_MAX", reducer="REDUCE_MAX", group_by=("resource.labels.database_id",))
    assert none.series == ()
    with pytest.raises(PermanentError) as caught:   # the metric is written against cloudsql_database only
        ask(adapter, anchor, "cloudsql.googleapis.com/database/cpu/utilization", "cloud_run_revision",
            alignment_seconds=60, aligner="ALIGN_MAX")
    assert caught.value.code == "INVALID_ARGUMENT"


def test_bool_and_raw_points(adapter, world, anchor):
    raw = ask(adapter, anchor, "custom.googleapis.com/runwarden/probe_ok", "global", aligner="ALIGN_NONE")
    assert [(p.end, p.value) for p in raw.series[0].points] == [
        (anchor - timedelta(minutes=3), True), (anchor - timedelta(minutes=1), False)]
    assert "aggregation: none (raw points)" in raw.query
    latest = ask(adapter, anchor, "custom.googleapis.com/runwarden/probe_ok", "global", alignment_seconds=300,
                 aligner="ALIGN_NEXT_OLDER")
    assert [p.value for p in latest.series[0].points] == [False]


def test_query_string_is_the_request_as_sent(adapter, standins, world, anchor):
    result = ask(adapter, anchor, "vpcaccess.googleapis.com/connector/cpu/utilizations", "vpc_access_connector",
                 labels={"resource.labels.location": "us-central1"}, alignment_seconds=300,
                 aligner="ALIGN_PERCENTILE_99", reducer="REDUCE_PERCENTILE_99",
                 group_by=("resource.labels.connector_name",))
    [request] = standins.monitoring.requests("ListTimeSeries")
    expected_filter = ('metric.type = "vpcaccess.googleapis.com/connector/cpu/utilizations" AND '
                       'resource.type = "vpc_access_connector" AND resource.labels.location = "us-central1"')
    assert request.filter == expected_filter
    assert request.aggregation.per_series_aligner.name == "ALIGN_PERCENTILE_99"
    assert request.aggregation.cross_series_reducer.name == "REDUCE_PERCENTILE_99"
    assert list(request.aggregation.group_by_fields) == ["resource.labels.connector_name"]
    assert result.query == (
        f"ListTimeSeries projects/demo-project filter: {expected_filter} | "
        f"interval: ({(anchor - timedelta(minutes=5)).isoformat()}, {anchor.isoformat()}] | "
        "aggregation: alignment_period=300s per_series_aligner=ALIGN_PERCENTILE_99 "
        "cross_series_reducer=REDUCE_PERCENTILE_99 group_by_fields=[resource.labels.connector_name]")


@pytest.mark.parametrize(("metric", "resource", "aggregation", "message"), [
    ("run.googleapis.com/container/instance_count", "cloud_run_revision", {"aligner": "ALIGN_RATE"},
     "ALIGN_RATE is not valid for GAUGE INT64"),
    ("run.googleapis.com/request_count", "cloud_run_revision", {"aligner": "ALIGN_PERCENTILE_99"},
     "ALIGN_PERCENTILE_99 is not valid for DELTA INT64"),
    ("run.googleapis.com/request_latencies", "cloud_run_revision", {"aligner": "ALIGN_MEAN"},
     "ALIGN_MEAN is not valid for DELTA DISTRIBUTION"),
    ("run.googleapis.com/request_latencies", "cloud_run_revision",
     {"aligner": "ALIGN_DELTA", "reducer": "REDUCE_MAX"}, "REDUCE_MAX is not valid for DISTRIBUTION"),
    ("cloudsql.googleapis.com/database/state", "cloudsql_database", {"aligner": "ALIGN_MAX"},
     "ALIGN_MAX is not valid for GAUGE STRING"),
    ("cloudsql.googleapis.com/database/state", "cloudsql_database",
     {"aligner": "ALIGN_NEXT_OLDER", "reducer": "REDUCE_SUM"}, "REDUCE_SUM is not valid for STRING"),
    ("vpcaccess.googleapis.com/connector/instances", "vpc_access_connector", {"aligner": "ALIGN_DELTA"},
     "ALIGN_DELTA is not valid for GAUGE INT64"),
    ("custom.googleapis.com/runwarden/probe_ok", "global", {"aligner": "ALIGN_COUNT_TRUE"},
     "ALIGN_COUNT_TRUE is not supported by the stand-in"),
])
def test_illegal_aligner_and_type_combinations_are_invalid_argument(adapter, standins, world, anchor, metric,
                                                                    resource, aggregation, message):
    with pytest.raises(PermanentError, match=message) as caught:
        ask(adapter, anchor, metric, resource, **aggregation)
    assert caught.value.code == "INVALID_ARGUMENT"
    assert standins.monitoring.count("ListTimeSeries") == 1  # not retried


@pytest.mark.parametrize(("change", "message"), [
    ({"aligner": "ALIGN_BEST"}, "unknown aligner"),
    ({"reducer": "REDUCE_SUM"}, None),
    ({"aligner": "ALIGN_NONE", "reducer": "REDUCE_SUM"}, "needs a per-series aligner"),
    ({"group_by": ("resource.labels.revision_name",)}, "needs a cross-series reducer"),
    ({"labels": {"resource.labels.service_name": 'x" OR metric.type = "y'}}, "quote"),
    ({"labels": {"project": "demo-project"}}, "label key"),
    ({"start": datetime(2026, 1, 1)}, "timezone-aware"),
])
def test_bad_queries_are_refused_without_a_call(adapter, standins, anchor, change, message):
    fields = dict(project=PROJECT, metric_type="run.googleapis.com/request_count", resource_type="cloud_run_revision",
                  start=anchor - timedelta(minutes=5), end=anchor)
    fields.update(change)
    if message is None:  # the control: a valid query reaches the server
        adapter.query(MetricQuery(**fields))
        assert standins.monitoring.count("ListTimeSeries") == 1
        return
    with pytest.raises(PermanentError, match=message) as caught:
        adapter.query(MetricQuery(**fields))
    assert caught.value.code == "INVALID_ARGUMENT"
    assert standins.monitoring.count("ListTimeSeries") == 0


def test_generic_query_is_retried_as_a_whole(adapter, standins, world, anchor):
    standins.monitoring.faults.fail_next(1, grpc.StatusCode.UNAVAILABLE)
    result = ask(adapter, anchor, "vpcaccess.googleapis.com/connector/instances", "vpc_access_connector",
                 alignment_seconds=300, aligner="ALIGN_MAX")
    assert result.series[0].points[0].value == 3.0
    assert standins.monitoring.count("ListTimeSeries") == 2
