"""shared/gcp/monitoring_wire.py sends what the GAPIC client sends: the same method, request bytes,
metadata and deadline, page after page.

Both go through one channel whose interceptor records each call and answers it there (no server,
no connection: a gRPC channel connects on its first RPC, and none reaches the wire)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import grpc
import pytest
from google.cloud import monitoring_v3
from google.cloud.monitoring_v3.services.metric_service.transports import MetricServiceGrpcTransport

from bench.monitoring_query import gapic_request
from shared.diagnosis.evidence import MetricQuery
from shared.gcp.monitoring import list_time_series_request
from shared.gcp.monitoring_wire import MonitoringWire
from tests.unit.grpc_calls import Recorder, failed_call, refusing_channel

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
Response = monitoring_v3.ListTimeSeriesResponse.pb()


def _query(**change: Any) -> MetricQuery:
    fields = dict(project="demo-project", metric_type="run.googleapis.com/request_count",
                  resource_type="cloud_run_revision",
                  labels={"resource.labels.service_name": "backend", "metric.labels.response_code_class": "5xx"},
                  start=T0 - timedelta(minutes=30), end=T0, aligner="ALIGN_DELTA", reducer="REDUCE_SUM",
                  group_by=("resource.labels.revision_name",))
    return MetricQuery(**{**fields, **change})


def _page(token: str, *values: int) -> Any:
    page = Response(next_page_token=token)
    for value in values:
        series = page.time_series.add()
        series.metric.labels["n"] = str(value)
        series.points.add().value.int64_value = value
    return page


def _client(recorder: Recorder) -> tuple[Any, Any]:
    channel = grpc.intercept_channel(grpc.insecure_channel("127.0.0.1:9"), recorder)
    return monitoring_v3.MetricServiceClient(transport=MetricServiceGrpcTransport(channel=channel)), channel


@pytest.mark.parametrize("query", [
    _query(),
    _query(aligner="ALIGN_NONE", reducer="REDUCE_NONE", group_by=(), labels={}),
    _query(aligner="ALIGN_PERCENTILE_99", reducer="REDUCE_MAX", alignment_seconds=300,
           start=datetime(2026, 11, 26, 11, 0, 0, 123456, tzinfo=timezone.utc),
           end=datetime(2026, 11, 26, 14, 0, 0, 999999, tzinfo=timezone(timedelta(hours=2)))),
    _query(aligner="ALIGN_MAX", reducer="REDUCE_NONE", group_by=(), project="example.com:domain-project"),
], ids=["delta-sum", "raw", "percentile-microseconds", "domain-scoped"])
def test_the_request_and_metadata_are_the_gapic_method_s(query: MetricQuery) -> None:
    recorder = Recorder(monitoring_v3.ListTimeSeriesResponse, [_page("")])
    client, channel = _client(recorder)
    try:
        gapic = list(client.list_time_series(request=gapic_request(query), retry=None, timeout=7.0))
        wire = MonitoringWire(client).time_series(list_time_series_request(query), 7.0)
    finally:
        channel.close()
    (g_method, g_metadata, g_bytes, g_timeout), (w_method, w_metadata, w_bytes, w_timeout) = recorder.calls
    assert w_method == g_method == "/google.monitoring.v3.MetricService/ListTimeSeries"
    assert w_metadata == g_metadata
    assert [key for key, _ in w_metadata] == ["x-goog-api-client", "x-goog-request-params"]
    assert w_bytes == g_bytes
    assert w_timeout == pytest.approx(g_timeout, abs=0.05) and 6.5 < w_timeout <= 7.0
    assert [monitoring_v3.TimeSeries.pb(s) for s in gapic] == wire


def test_every_page_is_read_as_the_gapic_pager_reads_them() -> None:
    pages = [_page("t1", 1, 2), _page("t2"), _page("", 3)]
    recorder = Recorder(monitoring_v3.ListTimeSeriesResponse, pages)
    client, channel = _client(recorder)
    query = _query()
    try:
        gapic = list(client.list_time_series(request=gapic_request(query), retry=None, timeout=5.0))
        request = list_time_series_request(query)
        before = request.SerializeToString(deterministic=True)
        wire = MonitoringWire(client).time_series(request, 5.0)
    finally:
        channel.close()
    assert len(recorder.calls) == 6
    gapic_calls, wire_calls = recorder.calls[:3], recorder.calls[3:]
    assert [c[:3] for c in wire_calls] == [c[:3] for c in gapic_calls]   # page tokens "", t1, t2 alike
    sent = [monitoring_v3.ListTimeSeriesRequest.pb().FromString(c[2]).page_token for c in wire_calls]
    assert sent == ["", "t1", "t2"]
    assert [monitoring_v3.TimeSeries.pb(s) for s in gapic] == wire
    assert [s.points[0].value.int64_value for s in wire] == [1, 2, 3]
    assert request.SerializeToString(deterministic=True) == before   # the caller's request is left as it was


def test_errors_are_mapped_as_gapic_maps_them() -> None:
    from google.api_core import exceptions

    from shared.errors import TransientError, classify

    channel = refusing_channel(grpc.StatusCode.UNAVAILABLE, "down")
    client = monitoring_v3.MetricServiceClient(transport=MetricServiceGrpcTransport(channel=channel))
    try:
        with pytest.raises(exceptions.ServiceUnavailable) as wire:
            MonitoringWire(client).time_series(list_time_series_request(_query()), 5.0)
    finally:
        channel.close()
    # What GAPIC's error wrapping raises for the same gRPC error (grpc_helpers._wrap_unary_errors).
    assert type(wire.value) is type(exceptions.from_grpc_error(failed_call(grpc.StatusCode.UNAVAILABLE, "down")))
    assert isinstance(classify(wire.value), TransientError)
