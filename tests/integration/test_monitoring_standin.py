"""The Monitoring stand-in, driven by the real google-cloud-monitoring client over gRPC."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import monitoring_v3
from google.cloud.monitoring_v3.services.metric_service.transports import MetricServiceGrpcTransport

from google.api import distribution_pb2

from sandbox.standins.monitoring import (DEFAULT_BUCKET_OPTIONS, MonitoringStandIn, PointSeed, SeriesSeed,
                                         distribution_from_samples, distribution_percentile, merge_distributions)
from tests.integration.conftest import TWO_REVISIONS

Aligner = monitoring_v3.Aggregation.Aligner
Reducer = monitoring_v3.Aggregation.Reducer
REQUESTS = 'metric.type = "run.googleapis.com/request_count"'
BACKEND = REQUESTS + ' AND resource.type = "cloud_run_revision" AND resource.labels.service_name = "backend"'
BY_REVISION_AND_CLASS = ["resource.labels.revision_name", "metric.labels.response_code_class"]


@pytest.fixture
def client(standins):
    with grpc.insecure_channel(standins.monitoring.address) as channel:
        yield monitoring_v3.MetricServiceClient(transport=MetricServiceGrpcTransport(channel=channel))


@pytest.fixture
def seeded(seed_scenario):
    return seed_scenario(TWO_REVISIONS)


def query(client, anchor: datetime, *, filter: str = BACKEND, start: timedelta | None = timedelta(minutes=-30),
          end: timedelta = timedelta(0), aggregation: dict | None = None, **extra) -> list[monitoring_v3.TimeSeries]:
    interval = {"end_time": anchor + end}
    if start is not None:
        interval["start_time"] = anchor + start
    request = {"name": "projects/demo-project", "filter": filter, "interval": interval, **extra}
    if aggregation is not None:
        request["aggregation"] = aggregation
    return list(client.list_time_series(request=request, retry=None))


def summed(period: timedelta = timedelta(minutes=30), reducer=Reducer.REDUCE_SUM, group_by=BY_REVISION_AND_CLASS):
    return {"alignment_period": period, "per_series_aligner": Aligner.ALIGN_DELTA,
            "cross_series_reducer": reducer, "group_by_fields": group_by}


def totals(series) -> dict[tuple[str, str], int]:
    return {(ts.resource.labels["revision_name"], ts.metric.labels["response_code_class"]):
            sum(p.value.int64_value for p in ts.points) for ts in series}


def test_delta_sum_grouped_by_revision_and_class(client, seeded, anchor):
    series = query(client, anchor, aggregation=summed())
    assert totals(series) == {
        ("backend-00001-abc", "2xx"): 20 * 40,   # -30m..-10m at 40/min
        ("backend-00002-xyz", "2xx"): 10 * 18,   # -10m..T0 at 18/min
        ("backend-00002-xyz", "5xx"): 10 * 27,   # 503s and 500s summed across series
    }
    for ts in series:  # only the grouped labels survive the reducer
        assert set(ts.resource.labels) == {"revision_name"}
        assert set(ts.metric.labels) == {"response_code_class"}
        assert len(ts.points) == 1
        assert ts.points[0].interval.end_time == anchor
        assert ts.points[0].interval.start_time == anchor - timedelta(minutes=30)


def test_periods_end_at_interval_end_and_step_back(client, seeded, anchor):
    series = query(client, anchor, start=timedelta(minutes=-12), end=timedelta(minutes=-2),
                   filter=BACKEND + ' AND resource.labels.revision_name = "backend-00002-xyz"'
                          ' AND metric.labels.response_code_class = "5xx"',
                   aggregation=summed(timedelta(minutes=5)))
    [ts] = series
    ends = [p.interval.end_time for p in ts.points]
    assert ends == [anchor - timedelta(minutes=2), anchor - timedelta(minutes=7)]  # newest first
    assert [p.value.int64_value for p in ts.points] == [5 * 27, 3 * 27]  # (-12m,-7m] has data from -10m on


def test_raw_points_without_aggregation(client, seeded, anchor):
    series = query(client, anchor, start=timedelta(minutes=-3), end=timedelta(minutes=-1),
                   filter=BACKEND + ' AND resource.label.revision_name = "backend-00002-xyz"'
                          ' AND metric.label.response_code = "503"')
    [ts] = series
    assert [p.value.int64_value for p in ts.points] == [20, 20]
    assert ts.resource.labels["location"] == "us-central1"
    assert ts.metric_kind == 2  # DELTA


def test_rate_max_and_mean(client, seeded, anchor):
    one_revision = BACKEND + ' AND resource.labels.revision_name = "backend-00001-abc"'
    rate = query(client, anchor, filter=one_revision, start=timedelta(minutes=-20), end=timedelta(minutes=-10),
                 aggregation={"alignment_period": timedelta(minutes=10), "per_series_aligner": Aligner.ALIGN_RATE})
    assert rate[0].points[0].value.double_value == pytest.approx(40 / 60)
    peak = query(client, anchor, aggregation={"alignment_period": timedelta(minutes=30),
                                               "per_series_aligner": Aligner.ALIGN_MAX,
                                               "cross_series_reducer": Reducer.REDUCE_MAX})
    assert [p.value.int64_value for p in peak[0].points] == [40]
    mean = query(client, anchor, filter=one_revision, aggregation={
        "alignment_period": timedelta(minutes=30), "per_series_aligner": Aligner.ALIGN_MEAN})
    assert mean[0].points[0].value.double_value == pytest.approx(40.0)


def test_headers_view_returns_no_points(client, seeded, anchor):
    series = query(client, anchor, aggregation=summed(), view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.HEADERS)
    assert len(series) == 3 and all(len(ts.points) == 0 for ts in series)


def test_paging(client, seeded, anchor):
    """page_size counts points in the FULL view and series in HEADERS (ListTimeSeriesRequest.page_size)."""
    def pages(page_size: int, view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL) -> list:
        return list(client.list_time_series(request={
            "name": "projects/demo-project", "filter": BACKEND, "page_size": page_size, "view": view,
            "interval": {"start_time": anchor - timedelta(minutes=30), "end_time": anchor}}, retry=None).pages)

    headers = pages(2, monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.HEADERS)
    assert [len(p.time_series) for p in headers] == [2, 2]
    whole = [(ts.metric.labels, ts.resource.labels, list(ts.points)) for ts in pages(0)[0].time_series]
    paged = pages(2)
    assert all(sum(len(ts.points) for ts in p.time_series) <= 2 for p in paged) and len(paged) > 2
    joined: list = []
    for ts in (ts for p in paged for ts in p.time_series):
        if joined and (joined[-1][0], joined[-1][1]) == (ts.metric.labels, ts.resource.labels):
            joined[-1][2].extend(ts.points)
        else:
            joined.append((ts.metric.labels, ts.resource.labels, list(ts.points)))
    assert joined == whole
    with pytest.raises(exceptions.InvalidArgument, match="page_token"):
        query(client, anchor, page_token="not-issued-here")


def test_other_project_sees_nothing(client, seeded, anchor):
    request = {"name": "projects/other-project", "filter": BACKEND,
               "interval": {"start_time": anchor - timedelta(minutes=30), "end_time": anchor}}
    assert list(client.list_time_series(request=request, retry=None)) == []


def test_gauge_point_in_time_only_under_the_earlier_reading(client, standins, anchor):
    """A read without start_time: refused (TimeInterval, "The start time must be specified"), or a
    GAUGE point in time under the docstring's earlier text (start_optional_for_gauge)."""
    standins.monitoring.add_series(SeriesSeed(
        "run.googleapis.com/container/instance_count", "cloud_run_revision",
        {"project_id": "demo-project", "service_name": "backend"}, {"state": "active"}, kind="GAUGE",
        points=(PointSeed(anchor, 3), PointSeed(anchor - timedelta(minutes=1), 2))))
    instances = 'metric.type = "run.googleapis.com/container/instance_count"'
    with pytest.raises(exceptions.InvalidArgument, match="start_time is required"):
        query(client, anchor, filter=instances, start=None)
    standins.monitoring.start_optional_for_gauge = True
    [ts] = query(client, anchor, filter=instances, start=None)
    assert [p.value.int64_value for p in ts.points] == [3]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"filter": 'resource.type = "cloud_run_revision"'}, "metric.type"),
    ({"filter": REQUESTS + ' AND metric.type = "run.googleapis.com/request_latencies"'}, "exactly one metric.type"),
    ({"filter": REQUESTS + ' OR resource.type = "x"'}, "unsupported filter clause"),
    ({"filter": REQUESTS + ' AND project = "demo-project"'}, "unsupported filter key 'project'"),
    ({"filter": REQUESTS + ' AND resource.labels.service_name != "x"'}, "unsupported filter clause"),
    ({"filter": 'metric.type = starts_with("run.googleapis.com")'}, "unsupported filter clause"),
    ({"start": timedelta(0)}, "must be earlier"),
    ({"start": None}, "start_time is required"),
    ({"aggregation": summed(timedelta(seconds=30))}, "at least 60s"),
    ({"aggregation": {"alignment_period": timedelta(minutes=1), "per_series_aligner": Aligner.ALIGN_PERCENTILE_99}},
     "ALIGN_PERCENTILE_99"),
    ({"aggregation": summed(reducer=Reducer.REDUCE_STDDEV)}, "REDUCE_STDDEV is not supported by the stand-in"),
    ({"aggregation": {"alignment_period": timedelta(minutes=1), "per_series_aligner": Aligner.ALIGN_COUNT}},
     "ALIGN_COUNT is not supported by the stand-in"),
    ({"aggregation": {"cross_series_reducer": Reducer.REDUCE_SUM}}, "ALIGN_NONE"),
    ({"aggregation": summed(group_by=["resource.type"])}, "group_by_fields"),
    ({"order_by": "value"}, "order_by"),
])
def test_unsupported_queries_are_rejected(client, seeded, anchor, kwargs, message):
    with pytest.raises(exceptions.InvalidArgument, match=message):
        query(client, anchor, **kwargs)


def test_missing_end_time_is_rejected(client, seeded, anchor):
    with pytest.raises(exceptions.InvalidArgument, match="end_time"):
        list(client.list_time_series(request={"name": "projects/demo-project", "filter": BACKEND}, retry=None))


def test_delta_aligner_on_gauge_is_rejected(client, standins, anchor):
    standins.monitoring.add_series(SeriesSeed("custom.googleapis.com/g", "global", {"project_id": "demo-project"},
                                              kind="GAUGE", points=(PointSeed(anchor, 1),)))
    with pytest.raises(exceptions.InvalidArgument, match="ALIGN_DELTA is not valid for GAUGE"):
        query(client, anchor, filter='metric.type = "custom.googleapis.com/g"', aggregation=summed(group_by=[]))


def test_faults_apply_to_list_time_series(client, standins, seeded, anchor):
    standins.monitoring.faults.fail_next(2, grpc.StatusCode.UNAVAILABLE)
    for _ in range(2):
        with pytest.raises(exceptions.ServiceUnavailable):
            query(client, anchor)
    assert len(query(client, anchor)) == 4
    assert standins.monitoring.count("ListTimeSeries") == 3


# --- value types, distributions, percentiles --------------------------------------------------------

Distribution = distribution_pb2.Distribution
EXPLICIT = Distribution.BucketOptions(explicit_buckets=Distribution.BucketOptions.Explicit(bounds=[0, 10, 20, 30]))
PROJECT_LABELS = {"project_id": "demo-project"}


def dist(counts: list[int], mean: float) -> Distribution:
    """Explicit buckets (-inf,0) [0,10) [10,20) [20,30) [30,inf)."""
    d = Distribution(count=sum(counts), mean=mean, bucket_counts=counts)
    d.bucket_options.CopyFrom(EXPLICIT)
    return d


def aligned(period=timedelta(minutes=5), aligner=Aligner.ALIGN_DELTA, reducer=Reducer.REDUCE_NONE, group_by=()):
    return {"alignment_period": period, "per_series_aligner": aligner, "cross_series_reducer": reducer,
            "group_by_fields": list(group_by)}


@pytest.fixture
def latencies(standins, anchor):
    """Two revisions' request_latencies (DELTA DISTRIBUTION, ms), explicit buckets, one point a minute."""
    for revision, counts, mean in [("r1", [0, 10, 0, 10], 15.0), ("r2", [0, 0, 0, 0, 4], 40.0)]:
        standins.monitoring.add_series(SeriesSeed(
            "run.googleapis.com/request_latencies", "cloud_run_revision", {**PROJECT_LABELS, "revision_name": revision},
            points=tuple(PointSeed(anchor - timedelta(minutes=m), dist(counts, mean),
                                   anchor - timedelta(minutes=m + 1)) for m in range(5))))
    return 'metric.type = "run.googleapis.com/request_latencies"'


def test_percentile_interpolates_linearly_inside_the_bucket(client, latencies, anchor):
    r1 = latencies + ' AND resource.labels.revision_name = "r1"'
    cases = {Aligner.ALIGN_PERCENTILE_50: 10.0,   # rank 50 of 100 ends bucket [0,10)
             Aligner.ALIGN_PERCENTILE_95: 29.0,   # rank 95: 45 of 50 into [20,30)
             Aligner.ALIGN_PERCENTILE_05: 1.0,    # rank 5: 5 of 50 into [0,10)
             Aligner.ALIGN_PERCENTILE_99: 29.8}
    for aligner, expected in cases.items():
        [ts] = query(client, anchor, filter=r1, start=timedelta(minutes=-5), aggregation=aligned(aligner=aligner))
        assert ts.value_type == 3 and ts.metric_kind == 1  # DOUBLE GAUGE
        assert ts.points[0].value.double_value == pytest.approx(expected), aligner.name


def test_overflow_bucket_answers_its_finite_edge(client, latencies, anchor):
    [ts] = query(client, anchor, filter=latencies + ' AND resource.labels.revision_name = "r2"',
                 start=timedelta(minutes=-5), aggregation=aligned(aligner=Aligner.ALIGN_PERCENTILE_99))
    assert ts.points[0].value.double_value == 30.0


def test_align_delta_merges_distributions_and_keeps_the_type(client, latencies, anchor):
    series = query(client, anchor, filter=latencies, start=timedelta(minutes=-5), aggregation=aligned())
    by_revision = {ts.resource.labels["revision_name"]: ts for ts in series}
    r1 = by_revision["r1"]
    assert (r1.metric_kind, r1.value_type) == (2, 5)  # DELTA DISTRIBUTION
    merged = r1.points[0].value.distribution_value
    assert merged.count == 100 and list(merged.bucket_counts) == [0, 50, 0, 50]
    assert merged.mean == pytest.approx(15.0)
    assert list(merged.bucket_options.explicit_buckets.bounds) == [0, 10, 20, 30]
    assert r1.points[0].interval.start_time == anchor - timedelta(minutes=5)


def test_reduce_percentile_merges_distributions_across_series(client, latencies, anchor):
    # r1 (100 samples, half in [0,10), half in [20,30)) + r2 (20 in the overflow): rank 60 of 120 is in [20,30).
    [ts] = query(client, anchor, filter=latencies, start=timedelta(minutes=-5),
                 aggregation=aligned(reducer=Reducer.REDUCE_PERCENTILE_50))
    assert ts.points[0].value.double_value == pytest.approx(20 + 10 * 10 / 50)
    [summed_ts] = query(client, anchor, filter=latencies, start=timedelta(minutes=-5),
                        aggregation=aligned(reducer=Reducer.REDUCE_SUM))
    assert summed_ts.value_type == 5 and summed_ts.points[0].value.distribution_value.count == 120


def test_reduce_percentile_over_numbers_interpolates_between_ranks(client, standins, anchor):
    for name, value in [("a", 0.1), ("b", 0.5), ("c", 0.9)]:
        standins.monitoring.add_series(SeriesSeed("custom.googleapis.com/load", "generic_node",
                                                  {**PROJECT_LABELS, "location": "us-central1", "namespace": "n",
                                                   "node_id": name}, kind="GAUGE",
                                                  points=(PointSeed(anchor, value),)))
    metric = 'metric.type = "custom.googleapis.com/load"'
    for reducer, expected in [(Reducer.REDUCE_PERCENTILE_50, 0.5), (Reducer.REDUCE_PERCENTILE_95, 0.86),
                              (Reducer.REDUCE_MIN, 0.1), (Reducer.REDUCE_MAX, 0.9)]:
        [ts] = query(client, anchor, filter=metric, aggregation=aligned(aligner=Aligner.ALIGN_MAX, reducer=reducer))
        assert ts.points[0].value.double_value == pytest.approx(expected), reducer.name


def test_string_and_bool_gauges(client, standins, anchor):
    db = {**PROJECT_LABELS, "database_id": "demo-project:orders-db"}
    standins.monitoring.add_series(SeriesSeed(
        "cloudsql.googleapis.com/database/state", "cloudsql_database", db, kind="GAUGE",
        points=(PointSeed(anchor - timedelta(minutes=3), "RUNNING"), PointSeed(anchor - timedelta(minutes=1), "FAILED"))))
    standins.monitoring.add_series(SeriesSeed(
        "custom.googleapis.com/ok", "global", PROJECT_LABELS, kind="GAUGE",
        points=(PointSeed(anchor - timedelta(minutes=2), False),)))
    state = 'metric.type = "cloudsql.googleapis.com/database/state"'
    [ts] = query(client, anchor, filter=state, aggregation=aligned(aligner=Aligner.ALIGN_NEXT_OLDER))
    assert ts.value_type == 4 and ts.points[0].value.string_value == "FAILED"
    [raw] = query(client, anchor, filter=state, start=timedelta(minutes=-5))
    assert [p.value.string_value for p in raw.points] == ["FAILED", "RUNNING"]  # newest first
    [ok] = query(client, anchor, filter='metric.type = "custom.googleapis.com/ok"', start=timedelta(minutes=-5),
                 aggregation=aligned(aligner=Aligner.ALIGN_NEXT_OLDER))
    assert ok.value_type == 1
    assert monitoring_v3.TypedValue.pb(ok.points[0].value).WhichOneof("value") == "bool_value"
    assert ok.points[0].value.bool_value is False


def test_int64_gauge_min_keeps_zero_as_int64(client, standins, anchor):
    standins.monitoring.add_series(SeriesSeed(
        "cloudsql.googleapis.com/database/up", "cloudsql_database", PROJECT_LABELS, kind="GAUGE",
        points=tuple(PointSeed(anchor - timedelta(minutes=m), 0 if m == 2 else 1) for m in range(5))))
    [ts] = query(client, anchor, filter='metric.type = "cloudsql.googleapis.com/database/up"',
                 aggregation=aligned(aligner=Aligner.ALIGN_MIN))
    assert ts.value_type == 2  # INT64
    assert monitoring_v3.TypedValue.pb(ts.points[0].value).WhichOneof("value") == "int64_value"
    assert ts.points[0].value.int64_value == 0


@pytest.mark.parametrize(("aggregation", "message"), [
    (aligned(aligner=Aligner.ALIGN_RATE), "ALIGN_RATE is not valid for DELTA DISTRIBUTION"),
    (aligned(aligner=Aligner.ALIGN_MAX), "ALIGN_MAX is not valid for DELTA DISTRIBUTION"),
    (aligned(aligner=Aligner.ALIGN_NEXT_OLDER), "ALIGN_NEXT_OLDER is not valid for DELTA DISTRIBUTION"),
    (aligned(reducer=Reducer.REDUCE_MIN), "REDUCE_MIN is not valid for DISTRIBUTION"),
    (aligned(reducer=Reducer.REDUCE_MEAN), "REDUCE_MEAN on DISTRIBUTION values is not supported by the stand-in"),
    (aligned(aligner=Aligner.ALIGN_PERCENTILE_99, reducer=Reducer.REDUCE_COUNT_TRUE),
     "REDUCE_COUNT_TRUE is not supported by the stand-in"),
])
def test_illegal_combinations_on_distributions(client, latencies, anchor, aggregation, message):
    with pytest.raises(exceptions.InvalidArgument, match=message):
        query(client, anchor, filter=latencies, start=timedelta(minutes=-5), aggregation=aggregation)


def test_illegal_combinations_on_strings(client, standins, anchor):
    standins.monitoring.add_series(SeriesSeed("cloudsql.googleapis.com/database/state", "cloudsql_database",
                                              PROJECT_LABELS, kind="GAUGE", points=(PointSeed(anchor, "RUNNING"),)))
    state = 'metric.type = "cloudsql.googleapis.com/database/state"'
    for aggregation, message in [(aligned(aligner=Aligner.ALIGN_MIN), "ALIGN_MIN is not valid for GAUGE STRING"),
                                 (aligned(aligner=Aligner.ALIGN_PERCENTILE_50), "not valid for GAUGE STRING"),
                                 (aligned(aligner=Aligner.ALIGN_NEXT_OLDER, reducer=Reducer.REDUCE_MAX),
                                  "REDUCE_MAX is not valid for STRING")]:
        with pytest.raises(exceptions.InvalidArgument, match=message):
            query(client, anchor, filter=state, aggregation=aggregation)


def test_ingestion_checks_types_like_the_api():
    standin = MonitoringStandIn()
    ok = SeriesSeed("custom.googleapis.com/x", "global", PROJECT_LABELS, kind="GAUGE",
                    points=(PointSeed(datetime(2026, 1, 1), 1),))
    standin.add_series(ok)
    with pytest.raises(ValueError, match="already has it as GAUGE INT64"):
        standin.add_series(SeriesSeed("custom.googleapis.com/x", "global", PROJECT_LABELS, kind="GAUGE",
                                      points=(PointSeed(datetime(2026, 1, 1), 0.5),)))
    with pytest.raises(ValueError, match="STRING metrics must be GAUGE"):
        standin.add_series(SeriesSeed("custom.googleapis.com/s", "global", PROJECT_LABELS, kind="DELTA",
                                      points=(PointSeed(datetime(2026, 1, 1), "x", datetime(2025, 12, 31)),)))
    with pytest.raises(ValueError, match="mix value types"):
        standin.add_series(SeriesSeed("custom.googleapis.com/m", "global", PROJECT_LABELS, kind="GAUGE",
                                      points=(PointSeed(datetime(2026, 1, 1), "x"), PointSeed(datetime(2026, 1, 2), 1))))
    broken = dist([1, 2], 5.0)
    broken.count = 7
    with pytest.raises(ValueError, match="add up to 3"):
        standin.add_series(SeriesSeed("custom.googleapis.com/d", "global", PROJECT_LABELS, kind="GAUGE",
                                      points=(PointSeed(datetime(2026, 1, 1), broken),)))
    with pytest.raises(ValueError, match="bucket_options"):
        standin.add_series(SeriesSeed("custom.googleapis.com/e", "global", PROJECT_LABELS, kind="GAUGE",
                                      points=(PointSeed(datetime(2026, 1, 1), Distribution(count=0)),)))
    with pytest.raises(ValueError, match="not INT64"):
        standin.add_series(SeriesSeed("custom.googleapis.com/i", "global", PROJECT_LABELS, kind="GAUGE",
                                      value_type="INT64", points=(PointSeed(datetime(2026, 1, 1), 0.5),)))


def test_samples_round_trip_within_one_bucket():
    d = distribution_from_samples([(30000, 40), (120, 5)])
    assert d.count == 45 and d.mean == pytest.approx((30000 * 40 + 120 * 5) / 45)
    assert d.bucket_options == DEFAULT_BUCKET_OPTIONS
    p99 = distribution_percentile(d, 99)
    assert 30000 / 1.05 <= p99 <= 30000 * 1.05
    both = merge_distributions([d, distribution_from_samples([(0.5, 5)])])
    assert both.count == 50 and sum(both.bucket_counts) == 50


# --- the catalogue: refusals that need no data -----------------------------------------------


@pytest.mark.parametrize(("filter", "aggregation", "message"), [
    ('metric.type = "run.googleapis.com/request_count" AND resource.type = "vpc_access_connector"', None,
     "does not specify a valid combination of metric and monitored resource"),
    ('metric.type = "run.googleapis.com/container/instance_count"', {"aligner": Aligner.ALIGN_RATE},
     "ALIGN_RATE is not valid for GAUGE INT64"),
    ('metric.type = "run.googleapis.com/request_count"', {"aligner": Aligner.ALIGN_PERCENTILE_99},
     "ALIGN_PERCENTILE_99 is not valid for DELTA INT64"),
    ('metric.type = "cloudsql.googleapis.com/database/state"',
     {"aligner": Aligner.ALIGN_NEXT_OLDER, "reducer": Reducer.REDUCE_MAX}, "REDUCE_MAX is not valid for STRING"),
])
def test_invalid_queries_are_refused_even_when_nothing_matches(client, standins, anchor, filter, aggregation, message):
    assert standins.monitoring.series == []        # no data at all: the descriptors alone decide
    with pytest.raises(exceptions.InvalidArgument, match=message):
        query(client, anchor, filter=filter, aggregation=aligned(**aggregation) if aggregation else None)


def test_a_valid_query_on_no_data_is_empty_not_refused(client, standins, anchor):
    assert query(client, anchor, filter='metric.type = "run.googleapis.com/container/instance_count" AND '
                 'resource.type = "cloud_run_revision"', aggregation=aligned(aligner=Aligner.ALIGN_MAX)) == []


@pytest.mark.parametrize(("seed", "message"), [
    (SeriesSeed("run.googleapis.com/request_count", "cloud_run_revision", PROJECT_LABELS, kind="GAUGE",
                points=(PointSeed(datetime(2026, 1, 1, tzinfo=timezone.utc), 1),)), "kind GAUGE does not fit"),
    (SeriesSeed("run.googleapis.com/container/instance_count", "cloud_run_revision", PROJECT_LABELS, kind="GAUGE",
                points=(PointSeed(datetime(2026, 1, 1, tzinfo=timezone.utc), 1),)), r"\['state'\] are missing"),
    (SeriesSeed("compute.googleapis.com/instance/uptime", "gce_instance", PROJECT_LABELS, kind="DELTA"),
     "not in the stand-in's catalogue"),
])
def test_series_that_do_not_fit_the_catalogue_are_refused_at_seeding(standins, seed, message):
    with pytest.raises(ValueError, match=message):
        standins.monitoring.add_series(seed)
