"""Cloud Monitoring v3 adapter: implements shared.ports.MonitoringPort.

request_counts asks one ListTimeSeries question for a whole service and window: requests
summed over the window (one alignment period), grouped by revision and response code class.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.errors import PermanentError
from shared.evidence import RequestCounts, RequestCountWindow
from shared.gcp.endpoints import CallPolicy, call_with_retry, metric_service_client

REQUEST_COUNT = "run.googleapis.com/request_count"
_SERVICE_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/services/(?P<service>[^/]+)$")
_MIN_ALIGNMENT_SECONDS = 60
_GROUP_BY = ("resource.labels.revision_name", "metric.labels.response_code_class")
_UNLABELLED = "unknown"   # a series without response_code_class still counts toward the total


@dataclass(frozen=True)
class _Query:
    project: str
    filter: str
    start: datetime
    end: datetime
    alignment_seconds: int

    def describe(self) -> str:
        """The request as sent, for evidence a person can re-run."""
        return (f"ListTimeSeries projects/{self.project} filter: {self.filter} | "
                f"interval: ({self.start.isoformat()}, {self.end.isoformat()}] | "
                f"aggregation: alignment_period={self.alignment_seconds}s per_series_aligner=ALIGN_DELTA "
                f"cross_series_reducer=REDUCE_SUM group_by_fields=[{', '.join(_GROUP_BY)}]")


def _build_query(service_name: str, start: datetime, end: datetime) -> _Query:
    match = _SERVICE_NAME.match(service_name)
    if not match:
        raise PermanentError(f"not a Cloud Run service name: {service_name!r}", code="INVALID_ARGUMENT")
    if start.tzinfo is None or end.tzinfo is None:
        raise PermanentError("request_counts needs timezone-aware start and end", code="INVALID_ARGUMENT")
    if start >= end:
        raise PermanentError(f"empty window: start {start.isoformat()} is not before end {end.isoformat()}",
                             code="INVALID_ARGUMENT")
    query_filter = (f'metric.type = "{REQUEST_COUNT}" AND resource.type = "cloud_run_revision" '
                    f'AND resource.labels.service_name = "{match["service"]}" '
                    f'AND resource.labels.location = "{match["location"]}"')
    seconds = max(_MIN_ALIGNMENT_SECONDS, math.ceil((end - start).total_seconds()))
    return _Query(match["project"], query_filter, start, end, seconds)


class CloudMonitoringAdapter:
    """MonitoringPort over Cloud Monitoring v3 (or its stand-in, via MONITORING_EMULATOR_HOST)."""

    def __init__(self, *, policy: CallPolicy = CallPolicy()) -> None:
        self._policy = policy
        self._client: Any = None

    def request_counts(self, service_name: str, start: datetime, end: datetime) -> RequestCountWindow:
        query = _build_query(service_name, start, end)
        series = call_with_retry(lambda: self._list(query), what=f"ListTimeSeries {service_name}",
                                 policy=self._policy)
        return RequestCountWindow(query=query.describe(), start=start, end=end, revisions=_tally(series))

    def close(self) -> None:
        if self._client is not None:
            self._client.transport.close()
            self._client = None

    def _list(self, query: _Query) -> list[Any]:
        from google.cloud import monitoring_v3

        if self._client is None:
            self._client = metric_service_client()
        request = monitoring_v3.ListTimeSeriesRequest(
            name=f"projects/{query.project}", filter=query.filter,
            interval=monitoring_v3.TimeInterval(start_time=query.start, end_time=query.end),
            aggregation=monitoring_v3.Aggregation(
                alignment_period=timedelta(seconds=query.alignment_seconds),
                per_series_aligner=monitoring_v3.Aggregation.Aligner.ALIGN_DELTA,
                cross_series_reducer=monitoring_v3.Aggregation.Reducer.REDUCE_SUM,
                group_by_fields=list(_GROUP_BY)),
            view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL)
        # Reading every page inside the retried call: a fault mid-way re-runs the whole query.
        return list(self._client.list_time_series(request=request, retry=None, timeout=self._policy.call_timeout))


def _tally(series: list[Any]) -> tuple[RequestCounts, ...]:
    counts: dict[str, dict[str, int]] = {}
    for ts in series:
        revision = ts.resource.labels.get("revision_name", "")
        code_class = ts.metric.labels.get("response_code_class") or _UNLABELLED
        total = sum(_point_value(p) for p in ts.points)
        by_class = counts.setdefault(revision, {})
        by_class[code_class] = by_class.get(code_class, 0) + total
    return tuple(RequestCounts(revision=rev, by_class=by_class) for rev, by_class in sorted(counts.items()))


def _point_value(point: Any) -> int:
    # request_count is INT64; a DOUBLE would only come from a rate, rounded to whole requests.
    which = type(point.value).pb(point.value).WhichOneof("value")
    return round(point.value.double_value) if which == "double_value" else int(point.value.int64_value)
