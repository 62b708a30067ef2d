"""Cloud Monitoring v3 stand-in: MetricService/ListTimeSeries over real gRPC.

It stores time series and answers exactly the subset of the query language the product
uses (see docs/scenarios.md). Anything outside that subset is refused with
INVALID_ARGUMENT naming the unsupported part, never answered approximately.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Callable, Iterable, Mapping, Sequence

from google.api import metric_pb2
from google.cloud import monitoring_v3

from sandbox.standins.base import Rpc, StandIn, invalid, paginate

METRIC_SERVICE = "google.monitoring.v3.MetricService"

_Aligner = monitoring_v3.Aggregation.Aligner
_Reducer = monitoring_v3.Aggregation.Reducer
_Kind = metric_pb2.MetricDescriptor.MetricKind
_ValueType = metric_pb2.MetricDescriptor.ValueType
_View = monitoring_v3.ListTimeSeriesRequest.TimeSeriesView

_CLAUSE = re.compile(r'^\s*([A-Za-z_][\w.]*)\s*=\s*"([^"]*)"\s*$')
_LABEL_KEY = re.compile(r"^(resource|metric)\.labels?\.([A-Za-z_]\w*)$")
_MIN_ALIGNMENT = timedelta(seconds=60)
_DEFAULT_PAGE_SIZE = 100_000   # the real API's effective maximum


@dataclass(frozen=True)
class PointSeed:
    """One stored point. DELTA points cover (start, end]; GAUGE points have no start."""

    end: datetime
    value: int | float
    start: datetime | None = None


@dataclass(frozen=True)
class SeriesSeed:
    metric_type: str
    resource_type: str
    resource_labels: Mapping[str, str]
    metric_labels: Mapping[str, str] = field(default_factory=dict)
    kind: str = "DELTA"                  # DELTA | GAUGE
    points: tuple[PointSeed, ...] = ()
    project: str | None = None           # default: resource_labels["project_id"]


# --- query parsing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _LabelRef:
    """`resource.labels.X` / `metric.labels.X` (or the singular `label` forms)."""

    scope: str    # "resource" | "metric"
    name: str

    def read(self, series: SeriesSeed) -> str:
        labels = series.resource_labels if self.scope == "resource" else series.metric_labels
        return labels.get(self.name, "")


def _parse_label(key: str) -> _LabelRef | None:
    match = _LABEL_KEY.match(key)
    return _LabelRef(match.group(1), match.group(2)) if match else None


@dataclass(frozen=True)
class _Filter:
    metric_type: str
    resource_type: str | None
    labels: tuple[tuple[_LabelRef, str], ...]

    def matches(self, series: SeriesSeed) -> bool:
        return (series.metric_type == self.metric_type
                and (self.resource_type is None or series.resource_type == self.resource_type)
                and all(ref.read(series) == value for ref, value in self.labels))


def _parse_filter(text: str) -> _Filter:
    if not text.strip():
        raise invalid("filter is required and must name metric.type")
    metric_type, resource_type, labels = None, None, []
    for clause in re.split(r"\s+AND\s+", text.strip()):
        match = _CLAUSE.match(clause)
        if not match:
            raise invalid(f'unsupported filter clause {clause!r}: the stand-in supports KEY = "VALUE" joined by AND')
        key, value = match.groups()
        if key == "metric.type":
            metric_type = value
        elif key == "resource.type":
            resource_type = value
        elif (ref := _parse_label(key)) is not None:
            labels.append((ref, value))
        else:
            raise invalid(f"unsupported filter key {key!r}: use metric.type, resource.type, "
                          "resource.labels.NAME or metric.labels.NAME")
    if metric_type is None:
        raise invalid("filter must include metric.type")
    return _Filter(metric_type, resource_type, tuple(labels))


@dataclass(frozen=True)
class _Aggregation:
    aligner: _Aligner
    reducer: _Reducer
    period: timedelta
    group_by: tuple[_LabelRef, ...]


_ALIGNERS = {_Aligner.ALIGN_NONE, _Aligner.ALIGN_DELTA, _Aligner.ALIGN_SUM, _Aligner.ALIGN_RATE,
             _Aligner.ALIGN_MAX, _Aligner.ALIGN_MEAN}
_REDUCERS = {_Reducer.REDUCE_NONE, _Reducer.REDUCE_SUM, _Reducer.REDUCE_MAX, _Reducer.REDUCE_MEAN}


def _parse_aggregation(request: monitoring_v3.ListTimeSeriesRequest) -> _Aggregation:
    raw = monitoring_v3.ListTimeSeriesRequest.pb(request)
    if raw.HasField("secondary_aggregation"):
        raise invalid("secondary_aggregation is not supported by the stand-in")
    if request.order_by:
        raise invalid("order_by is not supported by the stand-in")
    agg = request.aggregation
    if agg.per_series_aligner not in _ALIGNERS:
        raise invalid(f"aggregation.per_series_aligner {agg.per_series_aligner.name} is not supported by the stand-in")
    if agg.cross_series_reducer not in _REDUCERS:
        raise invalid(f"aggregation.cross_series_reducer {agg.cross_series_reducer.name} is not supported by the stand-in")
    if agg.per_series_aligner == _Aligner.ALIGN_NONE:
        if agg.cross_series_reducer != _Reducer.REDUCE_NONE:
            raise invalid(f"aggregation.cross_series_reducer {agg.cross_series_reducer.name} needs a "
                          "per_series_aligner other than ALIGN_NONE")
    elif agg.alignment_period < _MIN_ALIGNMENT:
        raise invalid(f"aggregation.alignment_period must be at least 60s, got {agg.alignment_period.total_seconds():g}s")
    group_by = []
    for name in agg.group_by_fields:
        ref = _parse_label(name)
        if ref is None:
            raise invalid(f"aggregation.group_by_fields: unsupported field {name!r}; "
                          "use resource.labels.NAME or metric.labels.NAME")
        group_by.append(ref)
    return _Aggregation(agg.per_series_aligner, agg.cross_series_reducer, agg.alignment_period, tuple(group_by))


def _parse_interval(request: monitoring_v3.ListTimeSeriesRequest) -> tuple[datetime | None, datetime]:
    raw = monitoring_v3.ListTimeSeriesRequest.pb(request)
    if not raw.HasField("interval") or not raw.interval.HasField("end_time"):
        raise invalid("interval.end_time is required")
    end = request.interval.end_time
    if not raw.interval.HasField("start_time"):
        return None, end
    start = request.interval.start_time
    if start >= end:
        raise invalid(f"interval.start_time ({start.isoformat()}) must be earlier than interval.end_time ({end.isoformat()})")
    return start, end


# --- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Aligned:
    """One series after per-series alignment: a value per period end."""

    series: SeriesSeed
    values: dict[datetime, int | float]
    kind: str


def _mean(values: Sequence[int | float]) -> float:
    return sum(values) / len(values)


_ALIGN_FUNCS: dict[_Aligner, Callable[[list[int | float], float], int | float]] = {
    _Aligner.ALIGN_DELTA: lambda values, _: sum(values),
    _Aligner.ALIGN_SUM: lambda values, _: sum(values),
    _Aligner.ALIGN_RATE: lambda values, seconds: sum(values) / seconds,
    _Aligner.ALIGN_MAX: lambda values, _: max(values),
    _Aligner.ALIGN_MEAN: lambda values, _: _mean(values),
}
_REDUCE_FUNCS: dict[_Reducer, Callable[[list[int | float]], int | float]] = {
    _Reducer.REDUCE_SUM: sum,
    _Reducer.REDUCE_MAX: max,
    _Reducer.REDUCE_MEAN: _mean,
}


def _period_ends(start: datetime | None, end: datetime, period: timedelta) -> list[datetime]:
    """Periods end at interval.end_time and step back by `period` until they pass start."""
    if start is None:
        return [end]
    ends, at = [], end
    while at > start:
        ends.append(at)
        at -= period
    return ends


def _align(series: SeriesSeed, agg: _Aggregation, start: datetime | None, end: datetime) -> _Aligned:
    if agg.aligner in (_Aligner.ALIGN_DELTA, _Aligner.ALIGN_RATE) and series.kind != "DELTA":
        raise invalid(f"{agg.aligner.name} is not valid for {series.kind} metric {series.metric_type}")
    values: dict[datetime, int | float] = {}
    for period_end in _period_ends(start, end, agg.period):
        lower = period_end - agg.period if start is None else max(period_end - agg.period, start)
        in_period = [p.value for p in series.points if lower < p.end <= period_end]
        if in_period:  # the API leaves periods without data out
            values[period_end] = _ALIGN_FUNCS[agg.aligner](in_period, agg.period.total_seconds())
    kind = "DELTA" if agg.aligner in (_Aligner.ALIGN_DELTA, _Aligner.ALIGN_SUM) and series.kind == "DELTA" else "GAUGE"
    return _Aligned(series, values, kind)


def _reduce(aligned: list[_Aligned], agg: _Aggregation) -> list[_Aligned]:
    groups: dict[tuple, list[_Aligned]] = {}
    for item in aligned:
        key = (item.series.metric_type, item.series.resource_type, tuple(ref.read(item.series) for ref in agg.group_by))
        groups.setdefault(key, []).append(item)
    return [_reduce_group(members, agg) for members in groups.values()]


def _reduce_group(members: list[_Aligned], agg: _Aggregation) -> _Aligned:
    first = members[0].series
    kept = {ref: ref.read(first) for ref in agg.group_by}
    header = SeriesSeed(
        metric_type=first.metric_type, resource_type=first.resource_type, project=first.project,
        resource_labels={ref.name: v for ref, v in kept.items() if ref.scope == "resource"},
        metric_labels={ref.name: v for ref, v in kept.items() if ref.scope == "metric"})
    by_end: dict[datetime, list[int | float]] = {}
    for member in members:
        for period_end, value in member.values.items():
            by_end.setdefault(period_end, []).append(value)
    values = {e: _REDUCE_FUNCS[agg.reducer](vals) for e, vals in by_end.items()}
    return _Aligned(header, values, members[0].kind)


def _typed_value(value: int | float) -> monitoring_v3.TypedValue:
    if isinstance(value, float):
        return monitoring_v3.TypedValue(double_value=value)
    return monitoring_v3.TypedValue(int64_value=value)


def _value_type(values: Iterable[int | float]) -> int:
    return _ValueType.Value("DOUBLE" if any(isinstance(v, float) for v in values) else "INT64")


def _to_proto(series: SeriesSeed, kind: str, points: list[tuple[datetime | None, datetime, int | float]],
              with_points: bool) -> monitoring_v3.TimeSeries:
    points = sorted(points, key=lambda p: p[1], reverse=True)  # the API answers newest first
    proto = monitoring_v3.TimeSeries(
        metric={"type": series.metric_type, "labels": dict(series.metric_labels)},
        resource={"type": series.resource_type, "labels": dict(series.resource_labels)},
        metric_kind=_Kind.Value(kind), value_type=_value_type(v for _, _, v in points))
    if with_points:
        proto.points = [monitoring_v3.Point(interval=monitoring_v3.TimeInterval(start_time=s or e, end_time=e),
                                            value=_typed_value(v)) for s, e, v in points]
    return proto


def _raw_points(series: SeriesSeed, start: datetime | None, end: datetime) -> list[tuple[datetime | None, datetime, int | float]]:
    if start is None:  # a point in time: the points that end exactly then
        return [(p.start, p.end, p.value) for p in series.points if p.end == end]
    return [(p.start, p.end, p.value) for p in series.points if start < p.end <= end]


class MonitoringStandIn(StandIn):
    """In-memory time series store answering ListTimeSeries."""

    def __init__(self) -> None:
        super().__init__()
        self._series: list[SeriesSeed] = []

    def rpcs(self) -> list[Rpc]:
        return [Rpc(METRIC_SERVICE, "ListTimeSeries", self._list_time_series,
                    monitoring_v3.ListTimeSeriesRequest.deserialize, monitoring_v3.ListTimeSeriesResponse.serialize)]

    def add_series(self, series: SeriesSeed) -> None:
        """Stores a series (validated like the real ingestion would)."""
        project = series.project or series.resource_labels.get("project_id")
        if not project:
            raise ValueError(f"series {series.metric_type}: give project or resource label project_id")
        if series.kind not in ("DELTA", "GAUGE"):
            raise ValueError(f"series {series.metric_type}: kind must be DELTA or GAUGE, got {series.kind!r}")
        for point in series.points:
            if series.kind == "DELTA" and (point.start is None or point.start >= point.end):
                raise ValueError(f"series {series.metric_type}: a DELTA point needs start < end, got {point}")
        with self.lock:
            self._series.append(replace(series, project=project))

    @property
    def series(self) -> list[SeriesSeed]:
        with self.lock:
            return list(self._series)

    def _list_time_series(self, request: monitoring_v3.ListTimeSeriesRequest) -> monitoring_v3.ListTimeSeriesResponse:
        if not re.fullmatch(r"projects/[^/]+", request.name):
            raise invalid(f"name must be projects/PROJECT, got {request.name!r}")
        query = _parse_filter(request.filter)
        start, end = _parse_interval(request)
        agg = _parse_aggregation(request)
        project = request.name.split("/", 1)[1]
        matched = [s for s in self._series if s.project == project and query.matches(s)]
        if start is None and any(s.kind != "GAUGE" for s in matched):
            raise invalid("interval.start_time is required for DELTA metrics")
        with_points = request.view == _View.FULL
        found = self._evaluate(matched, agg, start, end, with_points)
        page, token = paginate(found, request.page_size, request.page_token, default_size=_DEFAULT_PAGE_SIZE)
        return monitoring_v3.ListTimeSeriesResponse(time_series=page, next_page_token=token)

    def _evaluate(self, matched: list[SeriesSeed], agg: _Aggregation, start: datetime | None, end: datetime,
                  with_points: bool) -> list[monitoring_v3.TimeSeries]:
        if agg.aligner == _Aligner.ALIGN_NONE:
            raw = [(s, _raw_points(s, start, end)) for s in matched]
            return [_to_proto(s, s.kind, pts, with_points) for s, pts in raw if pts]
        aligned = [_align(s, agg, start, end) for s in matched]
        if agg.reducer != _Reducer.REDUCE_NONE:
            aligned = _reduce(aligned, agg)
        out = []
        for item in aligned:
            if not item.values:
                continue
            points = [(e - agg.period if item.kind == "DELTA" else None, e, v) for e, v in item.values.items()]
            out.append(_to_proto(item.series, item.kind, points, with_points))
        return out
