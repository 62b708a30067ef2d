"""The Monitoring stand-in, driven by the real google-cloud-monitoring client over gRPC."""
from __future__ import annotations

from datetime import datetime, timedelta

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import monitoring_v3
from google.cloud.monitoring_v3.services.metric_service.transports import MetricServiceGrpcTransport

from sandbox.standins.monitoring import PointSeed, SeriesSeed

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
    return seed_scenario("bad_revision")


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
    pager = client.list_time_series(request={
        "name": "projects/demo-project", "filter": BACKEND, "page_size": 2,
        "interval": {"start_time": anchor - timedelta(minutes=30), "end_time": anchor}}, retry=None)
    pages = list(pager.pages)
    assert [len(p.time_series) for p in pages] == [2, 2]
    with pytest.raises(exceptions.InvalidArgument, match="page_token"):
        query(client, anchor, page_token="not-issued-here")


def test_other_project_sees_nothing(client, seeded, anchor):
    request = {"name": "projects/other-project", "filter": BACKEND,
               "interval": {"start_time": anchor - timedelta(minutes=30), "end_time": anchor}}
    assert list(client.list_time_series(request=request, retry=None)) == []


def test_gauge_point_in_time(client, standins, anchor):
    standins.monitoring.add_series(SeriesSeed(
        "run.googleapis.com/container/instance_count", "cloud_run_revision",
        {"project_id": "demo-project", "service_name": "backend"}, {"state": "active"}, kind="GAUGE",
        points=(PointSeed(anchor, 3), PointSeed(anchor - timedelta(minutes=1), 2))))
    [ts] = query(client, anchor, filter='metric.type = "run.googleapis.com/container/instance_count"', start=None)
    assert [p.value.int64_value for p in ts.points] == [3]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"filter": 'resource.type = "cloud_run_revision"'}, "metric.type"),
    ({"filter": REQUESTS + ' OR resource.type = "x"'}, "unsupported filter clause"),
    ({"filter": REQUESTS + ' AND project = "demo-project"'}, "unsupported filter key 'project'"),
    ({"filter": REQUESTS + ' AND resource.labels.service_name != "x"'}, "unsupported filter clause"),
    ({"filter": 'metric.type = starts_with("run.googleapis.com")'}, "unsupported filter clause"),
    ({"start": timedelta(0)}, "must be earlier"),
    ({"start": None}, "start_time is required for DELTA"),
    ({"aggregation": summed(timedelta(seconds=30))}, "at least 60s"),
    ({"aggregation": {"alignment_period": timedelta(minutes=1), "per_series_aligner": Aligner.ALIGN_PERCENTILE_99}},
     "ALIGN_PERCENTILE_99"),
    ({"aggregation": summed(reducer=Reducer.REDUCE_PERCENTILE_99)}, "REDUCE_PERCENTILE_99"),
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
