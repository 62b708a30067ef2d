"""Cloud Monitoring v3 stand-in: MetricService/ListTimeSeries over real gRPC.

It stores time series and answers exactly the subset of the query language the product
uses (see docs/scenarios.md). Anything outside that subset is refused with
INVALID_ARGUMENT naming the unsupported part, never answered approximately.

Google's own metrics are known from a built-in catalogue (metric_catalogue.py): a series that
does not fit its descriptor is refused when seeded, and a query pairing a metric with a resource
type it is not written against, or an aligner its kind does not allow, is INVALID_ARGUMENT even
when no series matches, as the real API answers.

Values are typed as the real API types them: BOOL, INT64, DOUBLE, STRING or DISTRIBUTION
(a real `google.api.Distribution` with bucket options and counts). Which aligner and
reducer may be applied to which metric kind and value type follows the real API; a
combination the real API accepts but the stand-in does not implement is refused as
"not supported by the stand-in", an illegal one as "not valid for".
"""
from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import datetime, timedelta, timezone
from typing import Iterable, Mapping, Sequence, Union

from google.api import distribution_pb2, metric_pb2
from google.rpc import code_pb2, status_pb2
from google.protobuf import timestamp_pb2
from google.cloud import monitoring_v3

from sandbox.standins.base import Rpc, StandIn, invalid, paginate
from sandbox.standins.metric_catalogue import INVALID_COMBINATION, descriptor, series_problems

METRIC_SERVICE = "google.monitoring.v3.MetricService"

_Aligner = monitoring_v3.Aggregation.Aligner
_Reducer = monitoring_v3.Aggregation.Reducer
_Kind = metric_pb2.MetricDescriptor.MetricKind
_ValueType = metric_pb2.MetricDescriptor.ValueType
_View = monitoring_v3.ListTimeSeriesRequest.TimeSeriesView
Distribution = distribution_pb2.Distribution

_CLAUSE = re.compile(r'^\s*([A-Za-z_][\w.]*)\s*=\s*"([^"]*)"\s*$')
_LABEL_KEY = re.compile(r"^(resource|metric)\.labels?\.([A-Za-z_]\w*)$")
_MIN_ALIGNMENT = timedelta(seconds=60)
# ListTimeSeriesRequest.page_size: "If page_size is empty or more than 100,000 results, the
# effective page_size is 100,000 results. If view is set to FULL, this is the maximum number of
# Points returned. If view is set to HEADERS, this is the maximum number of TimeSeries returned"
# (google-cloud-monitoring 2.32.0, google/monitoring/v3/metric_service.proto).
MAX_PAGE_SIZE = 100_000

VALUE_TYPES = ("BOOL", "INT64", "DOUBLE", "STRING", "DISTRIBUTION")
_NUMERIC = frozenset({"INT64", "DOUBLE"})
_GAUGE_ONLY = frozenset({"BOOL", "STRING"})   # the API has no DELTA/CUMULATIVE BOOL or STRING metrics

Value = Union[bool, int, float, str, Distribution]


@dataclass(frozen=True)
class PointSeed:
    """One stored point. DELTA points cover (start, end]; GAUGE points have no start.

    `value` is a bool, int, float, str or `google.api.Distribution`, matching the series'
    value type (ints are accepted for DOUBLE, integral floats for INT64).
    """

    end: datetime
    value: Value
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
    # BOOL | INT64 | DOUBLE | STRING | DISTRIBUTION; None: inferred from the points' Python types
    # (bool, str, Distribution; any float makes it DOUBLE, else INT64).
    value_type: str | None = None

    @cached_property
    def by_end(self) -> tuple[list[datetime], list[tuple[datetime, Value]]]:
        """The (end, value) pairs sorted by end (a stable sort: points with one end keep their
        order), and their ends: computed once (the series is frozen), for bisecting a period's points."""
        pairs = sorted(((p.end, p.value) for p in self.points), key=lambda item: item[0])
        return [end for end, _ in pairs], pairs

    @cached_property
    def aligned_periods(self) -> dict[tuple, tuple[Value, str] | None]:
        """`_align_value`'s answers for this series, by (aligner, period, lower bound, period end):
        a pure function of the frozen points. Queries a minute apart share all their periods but
        one, and every stand-in copying a seeded state shares its series (docs/testing.md)."""
        return {}

    @cached_property
    def aligned_windows(self) -> dict[tuple, tuple[dict[datetime, Value], str]]:
        """`_align`'s values and value type for this series, by (aligner, period, start, end): a pure function
        of the frozen points, as `aligned_periods`. The same window is aligned again and again (each reducer,
        filter or page size asked over it; every copy of a seeded state), and walking its periods (the keys
        hashed, the ends stepped back) cost more than the periods' own answers, which are kept above."""
        return {}


# --- distributions ---------------------------------------------------------------------------

# The bucket layout scenario distributions get (sandbox/scenarios.py): exponential, scale 0.001,
# growth 1.05, 500 finite buckets. Finite buckets span [0.001, ~3.9e7), so one layout serves
# ratios (cpu utilization 0..1) and milliseconds (latencies) alike, each bucket ~5% wide.
DEFAULT_BUCKET_OPTIONS = Distribution.BucketOptions(
    exponential_buckets=Distribution.BucketOptions.Exponential(num_finite_buckets=500, growth_factor=1.05,
                                                                scale=0.001))


def bucket_bounds(options: Distribution.BucketOptions) -> list[float]:
    """The finite bucket boundaries b[0] < ... < b[N]: bucket 0 is the underflow (-inf, b[0]),
    bucket i is [b[i-1], b[i]), bucket N+1 the overflow [b[N], +inf)."""
    which = options.WhichOneof("options")
    if which == "linear_buckets":
        lin = options.linear_buckets
        if lin.num_finite_buckets <= 0 or lin.width <= 0:
            raise ValueError("linear buckets need num_finite_buckets > 0 and width > 0")
        return [lin.offset + lin.width * i for i in range(lin.num_finite_buckets + 1)]
    if which == "exponential_buckets":
        exp = options.exponential_buckets
        if exp.num_finite_buckets <= 0 or exp.growth_factor <= 1 or exp.scale <= 0:
            raise ValueError("exponential buckets need num_finite_buckets > 0, growth_factor > 1 and scale > 0")
        return [exp.scale * exp.growth_factor ** i for i in range(exp.num_finite_buckets + 1)]
    if which == "explicit_buckets":
        bounds = list(options.explicit_buckets.bounds)
        if not bounds or any(b >= c for b, c in zip(bounds, bounds[1:])):
            raise ValueError("explicit buckets need at least one bound, strictly increasing")
        return bounds
    raise ValueError("a distribution needs bucket_options (linear, exponential or explicit buckets)")


def distribution_from_samples(samples: Iterable[tuple[float, int]],
                              options: Distribution.BucketOptions = DEFAULT_BUCKET_OPTIONS) -> Distribution:
    """A Distribution holding `count` samples at each `value`: exact count, mean and
    sum_of_squared_deviation, bucket counts per `options` (trailing zero buckets left out)."""
    pairs = [(float(v), int(c)) for v, c in samples if int(c) > 0]
    bounds = bucket_bounds(options)
    counts = [0] * (len(bounds) + 1)
    for value, count in pairs:
        counts[bisect.bisect_right(bounds, value)] += count
    total = sum(c for _, c in pairs)
    mean = sum(v * c for v, c in pairs) / total if total else 0.0
    ssd = sum(c * (v - mean) ** 2 for v, c in pairs)
    while counts and counts[-1] == 0:
        counts.pop()
    dist = Distribution(count=total, mean=mean, sum_of_squared_deviation=ssd, bucket_counts=counts)
    dist.bucket_options.CopyFrom(options)
    return dist


def merge_distributions(dists: Sequence[Distribution]) -> Distribution:
    """The distribution of all their samples (same bucket options required)."""
    first = dists[0]
    options = first.bucket_options.SerializeToString(deterministic=True)
    for other in dists[1:]:
        if other.bucket_options.SerializeToString(deterministic=True) != options:
            raise invalid("the stand-in cannot merge distributions with different bucket_options "
                          f"({first.bucket_options} vs {other.bucket_options})")
    total = sum(d.count for d in dists)
    mean = sum(d.mean * d.count for d in dists) / total if total else 0.0
    ssd = sum(d.sum_of_squared_deviation + d.count * (d.mean - mean) ** 2 for d in dists)
    counts = [0] * max(len(d.bucket_counts) for d in dists)
    for d in dists:
        for i, c in enumerate(d.bucket_counts):
            counts[i] += c
    merged = Distribution(count=total, mean=mean, sum_of_squared_deviation=ssd, bucket_counts=counts)
    merged.bucket_options.CopyFrom(first.bucket_options)
    return merged


_BOUNDS: dict[bytes, tuple[float, ...]] = {}


def _layout_bounds(options: Distribution.BucketOptions) -> tuple[float, ...]:
    """`bucket_bounds(options)`, computed once per layout (500 powers for the default one; every
    percentile of every period asks for them)."""
    key = options.SerializeToString(deterministic=True)
    bounds = _BOUNDS.get(key)
    if bounds is None:
        bounds = _BOUNDS[key] = tuple(bucket_bounds(options))
    return bounds


def distribution_percentile(dist: Distribution, percent: float) -> float:
    """The percentile by linear interpolation inside the bucket holding rank percent/100 * count.

    The underflow and overflow buckets have one finite edge: a rank there answers that edge
    (Monitoring ignores Distribution.range, so there is nothing better to interpolate to).
    """
    if dist.count <= 0:
        raise invalid("percentile of an empty distribution")
    bounds = _layout_bounds(dist.bucket_options)
    rank = percent / 100.0 * dist.count
    below = 0
    for i, count in enumerate(dist.bucket_counts):
        if count and below + count >= rank:
            if i == 0:
                return bounds[0]
            if i > len(bounds) - 1:
                return bounds[-1]
            lower, upper = bounds[i - 1], bounds[i]
            return lower + (upper - lower) * max(0.0, rank - below) / count
        below += count
    return bounds[-1]  # unreachable when bucket counts add up to count


def _check_distribution(dist: Distribution, where: str) -> None:
    try:
        bounds = bucket_bounds(dist.bucket_options)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    if dist.count < 0:
        raise ValueError(f"{where}: count must not be negative")
    if len(dist.bucket_counts) > len(bounds) + 1:
        raise ValueError(f"{where}: {len(dist.bucket_counts)} bucket_counts for {len(bounds) + 1} buckets")
    if dist.bucket_counts and sum(dist.bucket_counts) != dist.count:
        raise ValueError(f"{where}: bucket_counts add up to {sum(dist.bucket_counts)}, count is {dist.count}")


def _numeric_percentile(values: Sequence[int | float], percent: float) -> float:
    """Across series: linear interpolation between the closest ranks (numpy's default)."""
    ordered = sorted(float(v) for v in values)
    position = percent / 100.0 * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- value types -----------------------------------------------------------------------------


def _python_type(value: object) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, Distribution):
        return "DISTRIBUTION"
    raise ValueError(f"unsupported point value {value!r} ({type(value).__name__})")


def _infer_value_type(values: Iterable[Value]) -> str:
    found = {_python_type(v) for v in values}
    if found <= _NUMERIC:
        return "DOUBLE" if "DOUBLE" in found else "INT64"
    if len(found) == 1:
        return found.pop()
    raise ValueError(f"points mix value types {sorted(found)}")


def _coerce(value: Value, value_type: str, where: str) -> Value:
    got = _python_type(value)
    if value_type == "DOUBLE" and got in _NUMERIC:
        return float(value)
    if value_type == "INT64" and got == "DOUBLE" and float(value).is_integer():
        return int(value)
    if got != value_type:
        raise ValueError(f"{where}: value {value!r} is not {value_type}")
    if value_type == "DISTRIBUTION":
        _check_distribution(value, where)
    return value


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
            if metric_type is not None:
                raise invalid("filter must name exactly one metric.type (one metric type per ListTimeSeries call)")
            metric_type = value
        elif key == "resource.type":
            if resource_type is not None:
                raise invalid("filter names resource.type more than once")
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


_ANY = frozenset(VALUE_TYPES)
_NUMERIC_OR_DIST = _NUMERIC | {"DISTRIBUTION"}

# The real API's rules (kinds, value types) per aligner, for the kinds the stand-in stores.
_ALIGNER_RULES: dict[_Aligner, tuple[frozenset[str], frozenset[str]]] = {
    _Aligner.ALIGN_DELTA: (frozenset({"DELTA"}), _NUMERIC_OR_DIST),
    _Aligner.ALIGN_RATE: (frozenset({"DELTA"}), _NUMERIC),
    _Aligner.ALIGN_INTERPOLATE: (frozenset({"GAUGE"}), _NUMERIC),
    _Aligner.ALIGN_NEXT_OLDER: (frozenset({"GAUGE"}), _ANY),
    _Aligner.ALIGN_MIN: (frozenset({"GAUGE", "DELTA"}), _NUMERIC),
    _Aligner.ALIGN_MAX: (frozenset({"GAUGE", "DELTA"}), _NUMERIC),
    _Aligner.ALIGN_MEAN: (frozenset({"GAUGE", "DELTA"}), _NUMERIC),
    _Aligner.ALIGN_COUNT: (frozenset({"GAUGE", "DELTA"}), _NUMERIC | {"BOOL"}),
    _Aligner.ALIGN_SUM: (frozenset({"GAUGE", "DELTA"}), _NUMERIC_OR_DIST),
    _Aligner.ALIGN_STDDEV: (frozenset({"GAUGE", "DELTA"}), _NUMERIC),
    _Aligner.ALIGN_COUNT_TRUE: (frozenset({"GAUGE"}), frozenset({"BOOL"})),
    _Aligner.ALIGN_COUNT_FALSE: (frozenset({"GAUGE"}), frozenset({"BOOL"})),
    _Aligner.ALIGN_FRACTION_TRUE: (frozenset({"GAUGE"}), frozenset({"BOOL"})),
    _Aligner.ALIGN_PERCENTILE_99: (frozenset({"GAUGE", "DELTA"}), frozenset({"DISTRIBUTION"})),
    _Aligner.ALIGN_PERCENTILE_95: (frozenset({"GAUGE", "DELTA"}), frozenset({"DISTRIBUTION"})),
    _Aligner.ALIGN_PERCENTILE_50: (frozenset({"GAUGE", "DELTA"}), frozenset({"DISTRIBUTION"})),
    _Aligner.ALIGN_PERCENTILE_05: (frozenset({"GAUGE", "DELTA"}), frozenset({"DISTRIBUTION"})),
    _Aligner.ALIGN_PERCENT_CHANGE: (frozenset({"GAUGE", "DELTA"}), _NUMERIC),
}
# The real API's value types per reducer.
_REDUCER_RULES: dict[_Reducer, frozenset[str]] = {
    _Reducer.REDUCE_MEAN: _NUMERIC_OR_DIST,
    _Reducer.REDUCE_MIN: _NUMERIC,
    _Reducer.REDUCE_MAX: _NUMERIC,
    _Reducer.REDUCE_SUM: _NUMERIC_OR_DIST,
    _Reducer.REDUCE_STDDEV: _NUMERIC_OR_DIST,
    _Reducer.REDUCE_COUNT: _ANY,
    _Reducer.REDUCE_COUNT_TRUE: frozenset({"BOOL"}),
    _Reducer.REDUCE_COUNT_FALSE: frozenset({"BOOL"}),
    _Reducer.REDUCE_FRACTION_TRUE: frozenset({"BOOL"}),
    _Reducer.REDUCE_PERCENTILE_99: _NUMERIC_OR_DIST,
    _Reducer.REDUCE_PERCENTILE_95: _NUMERIC_OR_DIST,
    _Reducer.REDUCE_PERCENTILE_50: _NUMERIC_OR_DIST,
    _Reducer.REDUCE_PERCENTILE_05: _NUMERIC_OR_DIST,
}
_PERCENTILE_ALIGNERS = {_Aligner.ALIGN_PERCENTILE_99: 99.0, _Aligner.ALIGN_PERCENTILE_95: 95.0,
                        _Aligner.ALIGN_PERCENTILE_50: 50.0, _Aligner.ALIGN_PERCENTILE_05: 5.0}
_PERCENTILE_REDUCERS = {_Reducer.REDUCE_PERCENTILE_99: 99.0, _Reducer.REDUCE_PERCENTILE_95: 95.0,
                        _Reducer.REDUCE_PERCENTILE_50: 50.0, _Reducer.REDUCE_PERCENTILE_05: 5.0}
# What the stand-in implements, per aligner / reducer: value types it computes for.
_ALIGNERS_SUPPORTED: dict[_Aligner, frozenset[str]] = {
    _Aligner.ALIGN_DELTA: _NUMERIC_OR_DIST, _Aligner.ALIGN_SUM: _NUMERIC_OR_DIST, _Aligner.ALIGN_RATE: _NUMERIC,
    _Aligner.ALIGN_MAX: _NUMERIC, _Aligner.ALIGN_MIN: _NUMERIC, _Aligner.ALIGN_MEAN: _NUMERIC,
    _Aligner.ALIGN_NEXT_OLDER: _ANY, **{a: frozenset({"DISTRIBUTION"}) for a in _PERCENTILE_ALIGNERS},
}
_REDUCERS_SUPPORTED: dict[_Reducer, frozenset[str]] = {
    _Reducer.REDUCE_SUM: _NUMERIC_OR_DIST, _Reducer.REDUCE_MAX: _NUMERIC, _Reducer.REDUCE_MIN: _NUMERIC,
    _Reducer.REDUCE_MEAN: _NUMERIC, **{r: _NUMERIC_OR_DIST for r in _PERCENTILE_REDUCERS},
}


def _parse_aggregation(request: monitoring_v3.ListTimeSeriesRequest) -> _Aggregation:
    raw = monitoring_v3.ListTimeSeriesRequest.pb(request)
    if raw.HasField("secondary_aggregation"):
        raise invalid("secondary_aggregation is not supported by the stand-in")
    if request.order_by:
        raise invalid("order_by is not supported by the stand-in")
    agg = request.aggregation
    if agg.per_series_aligner != _Aligner.ALIGN_NONE and agg.per_series_aligner not in _ALIGNERS_SUPPORTED:
        raise invalid(f"aggregation.per_series_aligner {agg.per_series_aligner.name} is not supported by the stand-in")
    if agg.cross_series_reducer != _Reducer.REDUCE_NONE and agg.cross_series_reducer not in _REDUCERS_SUPPORTED:
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


def _check_aligner(agg: _Aggregation, series: SeriesSeed) -> None:
    kinds, value_types = _ALIGNER_RULES[agg.aligner]
    if series.kind not in kinds or series.value_type not in value_types:
        raise invalid(f"{agg.aligner.name} is not valid for {series.kind} {series.value_type} metric "
                      f"{series.metric_type} (valid for {'/'.join(sorted(kinds))} metrics with "
                      f"{'/'.join(sorted(value_types))} values)")
    if series.value_type not in _ALIGNERS_SUPPORTED[agg.aligner]:
        raise invalid(f"{agg.aligner.name} on {series.value_type} values is not supported by the stand-in")


def _check_reducer(reducer: _Reducer, value_type: str, metric_type: str) -> None:
    valid = _REDUCER_RULES[reducer]
    if value_type not in valid:
        raise invalid(f"{reducer.name} is not valid for {value_type} values (metric {metric_type}, after "
                      f"alignment); valid for {'/'.join(sorted(valid))}")
    if value_type not in _REDUCERS_SUPPORTED[reducer]:
        raise invalid(f"{reducer.name} on {value_type} values is not supported by the stand-in")


def _parse_interval(request: monitoring_v3.ListTimeSeriesRequest,
                    start_optional_for_gauge: bool) -> tuple[datetime | None, datetime]:
    """TimeInterval for reads: "A half-open time interval ... (startTime, endTime]. The start time
    must be specified, must be earlier than the end time" (google-cloud-monitoring 2.32.0,
    google/monitoring/v3/common.proto). Earlier versions of that text said instead that "For GAUGE
    metrics, the startTime value is technically optional ... the interval represents a single
    point in time" (it is still said of writes): `start_optional_for_gauge` plays that reading."""
    raw = monitoring_v3.ListTimeSeriesRequest.pb(request)
    if not raw.HasField("interval") or not raw.interval.HasField("end_time"):
        raise invalid("interval.end_time is required")
    end = request.interval.end_time
    if not raw.interval.HasField("start_time"):
        if not start_optional_for_gauge:
            raise invalid("interval.start_time is required: a read's interval is (start_time, end_time]")
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
    values: dict[datetime, Value]
    kind: str
    value_type: str


def _mean(values: Sequence[int | float]) -> float:
    return sum(values) / len(values)


def _sum(values: Sequence[Value], value_type: str) -> Value:
    if value_type == "DISTRIBUTION":
        return merge_distributions(values)  # type: ignore[arg-type]
    total = sum(values)  # type: ignore[arg-type]
    return float(total) if value_type == "DOUBLE" else int(total)


def _align_value(aligner: _Aligner, points: list[tuple[datetime, Value]], seconds: float,
                 value_type: str) -> tuple[Value, str]:
    """The aligned value of one period's points (oldest first) and its value type."""
    values = [v for _, v in points]
    if aligner in (_Aligner.ALIGN_DELTA, _Aligner.ALIGN_SUM):
        return _sum(values, value_type), value_type
    if aligner == _Aligner.ALIGN_RATE:
        return float(sum(values)) / seconds, "DOUBLE"  # type: ignore[arg-type]
    if aligner == _Aligner.ALIGN_MAX:
        return max(values), value_type  # type: ignore[type-var]
    if aligner == _Aligner.ALIGN_MIN:
        return min(values), value_type  # type: ignore[type-var]
    if aligner == _Aligner.ALIGN_MEAN:
        return _mean(values), "DOUBLE"  # type: ignore[arg-type]
    if aligner == _Aligner.ALIGN_NEXT_OLDER:
        return points[-1][1], value_type
    if aligner in _PERCENTILE_ALIGNERS:
        return distribution_percentile(merge_distributions(values), _PERCENTILE_ALIGNERS[aligner]), "DOUBLE"  # type: ignore[arg-type]
    raise invalid(f"{aligner.name} is not supported by the stand-in")


def _reduce_value(reducer: _Reducer, values: list[Value], value_type: str) -> tuple[Value, str]:
    if reducer == _Reducer.REDUCE_SUM:
        return _sum(values, value_type), value_type
    if reducer == _Reducer.REDUCE_MAX:
        return max(values), value_type  # type: ignore[type-var]
    if reducer == _Reducer.REDUCE_MIN:
        return min(values), value_type  # type: ignore[type-var]
    if reducer == _Reducer.REDUCE_MEAN:
        return _mean(values), "DOUBLE"  # type: ignore[arg-type]
    if reducer in _PERCENTILE_REDUCERS:
        percent = _PERCENTILE_REDUCERS[reducer]
        if value_type == "DISTRIBUTION":
            return distribution_percentile(merge_distributions(values), percent), "DOUBLE"  # type: ignore[arg-type]
        return _numeric_percentile(values, percent), "DOUBLE"  # type: ignore[arg-type]
    raise invalid(f"{reducer.name} is not supported by the stand-in")


def _period_ends(start: datetime | None, end: datetime, period: timedelta) -> list[datetime]:
    """Periods end at interval.end_time and step back by `period` until they pass start."""
    if start is None:
        return [end]
    ends, at = [], end
    while at > start:
        ends.append(at)
        at -= period
    return ends


def _aligned_value_type(aligner: _Aligner, value_type: str) -> str:
    if aligner in (_Aligner.ALIGN_RATE, _Aligner.ALIGN_MEAN) or aligner in _PERCENTILE_ALIGNERS:
        return "DOUBLE"
    return value_type


def _align(series: SeriesSeed, agg: _Aggregation, start: datetime | None, end: datetime) -> _Aligned:
    _check_aligner(agg, series)
    assert series.value_type is not None  # set by add_series
    kind = "DELTA" if agg.aligner in (_Aligner.ALIGN_DELTA, _Aligner.ALIGN_SUM) and series.kind == "DELTA" else "GAUGE"
    window = (agg.aligner, agg.period, start, end)
    found = series.aligned_windows.get(window)
    if found is None:
        found = series.aligned_windows[window] = _aligned_values(series, agg, start, end)
    values, out_type = found
    return _Aligned(series, dict(values), kind, out_type)


def _aligned_values(series: SeriesSeed, agg: _Aggregation, start: datetime | None,
                    end: datetime) -> tuple[dict[datetime, Value], str]:
    """The series' value per period end over the window, and their value type."""
    assert series.value_type is not None  # set by add_series
    values: dict[datetime, Value] = {}
    out_type = _aligned_value_type(agg.aligner, series.value_type)
    ends, by_end = series.by_end
    known = series.aligned_periods
    for period_end in _period_ends(start, end, agg.period):
        lower = period_end - agg.period if start is None else max(period_end - agg.period, start)
        key = (agg.aligner, agg.period, lower, period_end)
        if key in known:
            found = known[key]
        else:
            # The points with lower < end <= period_end, oldest first (points with one end in their order).
            in_period = by_end[bisect.bisect_right(ends, lower):bisect.bisect_right(ends, period_end)]
            found = known[key] = (_align_value(agg.aligner, in_period, agg.period.total_seconds(), series.value_type)
                                  if in_period else None)
        if found is not None:  # the API leaves periods without data out
            values[period_end], out_type = found
    return values, out_type


def _reduce(aligned: list[_Aligned], agg: _Aggregation) -> list[_Aligned]:
    groups: dict[tuple, list[_Aligned]] = {}
    for item in aligned:
        _check_reducer(agg.reducer, item.value_type, item.series.metric_type)
        key = (item.series.metric_type, item.series.resource_type, tuple(ref.read(item.series) for ref in agg.group_by))
        groups.setdefault(key, []).append(item)
    return [_reduce_group(members, agg) for members in groups.values()]


def _reduce_group(members: list[_Aligned], agg: _Aggregation) -> _Aligned:
    first = members[0].series
    kept = {ref: ref.read(first) for ref in agg.group_by}
    in_type = members[0].value_type
    out_type = "DOUBLE" if agg.reducer == _Reducer.REDUCE_MEAN or agg.reducer in _PERCENTILE_REDUCERS else in_type
    header = SeriesSeed(
        metric_type=first.metric_type, resource_type=first.resource_type, project=first.project,
        resource_labels={ref.name: v for ref, v in kept.items() if ref.scope == "resource"},
        metric_labels={ref.name: v for ref, v in kept.items() if ref.scope == "metric"},
        kind=members[0].kind, value_type=out_type)
    by_end: dict[datetime, list[Value]] = {}
    for member in members:
        for period_end, value in member.values.items():
            by_end.setdefault(period_end, []).append(value)
    values = {e: _reduce_value(agg.reducer, vals, in_type)[0] for e, vals in by_end.items()}
    return _Aligned(header, values, members[0].kind, out_type)


def _set_typed_value(target: object, value: Value, value_type: str) -> None:
    """The point's value in the field its value type names."""
    if value_type == "BOOL":
        target.bool_value = bool(value)  # type: ignore[attr-defined]
    elif value_type == "INT64":
        target.int64_value = int(value)  # type: ignore[attr-defined,arg-type]
    elif value_type == "DOUBLE":
        target.double_value = float(value)  # type: ignore[attr-defined,arg-type]
    elif value_type == "STRING":
        target.string_value = str(value)  # type: ignore[attr-defined]
    else:
        target.distribution_value.CopyFrom(value)  # type: ignore[attr-defined]


# proto-plus's own datetime -> Timestamp rule, as the TimeSeries constructor applies it.
_MARSHAL = monitoring_v3.TimeSeries.meta.marshal


_TIMESTAMPS: dict[tuple[type, datetime, int], timestamp_pb2.Timestamp] = {}


def _timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    """The Timestamp proto-plus's rule makes of `value`, kept per UTC instant (an answer's points
    fall on a few thousand minutes; the rule builds a message each time), by type and nanosecond
    too (proto-plus's DatetimeWithNanoseconds, which `_parse_interval` gives, has its own rule). Its
    callers only copy from it (CopyFrom), never change it."""
    if not isinstance(value, datetime) or value.tzinfo is not timezone.utc:
        return _MARSHAL.to_proto(timestamp_pb2.Timestamp, value)
    key = (type(value), value, getattr(value, "nanosecond", 0))
    found = _TIMESTAMPS.get(key)
    if found is None:
        if len(_TIMESTAMPS) >= 100_000:
            _TIMESTAMPS.clear()
        found = _TIMESTAMPS[key] = _MARSHAL.to_proto(timestamp_pb2.Timestamp, value)
    return found


def _to_proto(series: SeriesSeed, kind: str, value_type: str, points: list[tuple[datetime | None, datetime, Value]],
              with_points: bool) -> monitoring_v3.TimeSeries:
    """The answer's TimeSeries. Built on the raw protobuf (a proto-plus Point per point cost more
    than the rest of the query); the datetimes are converted by proto-plus's own rule, so the
    message is the one `TimeSeries(metric=..., points=[Point(interval=..., value=...)])` gives
    (tests/unit/test_monitoring_answers.py compares the two)."""
    points = sorted(points, key=lambda p: p[1], reverse=True)  # the API answers newest first
    raw = monitoring_v3.TimeSeries.pb()()
    raw.metric.type = series.metric_type
    raw.metric.labels.update(series.metric_labels)
    raw.resource.type = series.resource_type
    raw.resource.labels.update(series.resource_labels)
    raw.metric_kind = _Kind.Value(kind)
    raw.value_type = _ValueType.Value(value_type)
    if with_points:
        for start, end, value in points:
            point = raw.points.add()
            point.interval.start_time.CopyFrom(_timestamp(start or end))
            point.interval.end_time.CopyFrom(_timestamp(end))
            _set_typed_value(point.value, value, value_type)
    return monitoring_v3.TimeSeries.wrap(raw)


def _raw_points(series: SeriesSeed, start: datetime | None, end: datetime) -> list[tuple[datetime | None, datetime, Value]]:
    if start is None:  # a point in time: the points that end exactly then
        return [(p.start, p.end, p.value) for p in series.points if p.end == end]
    return [(p.start, p.end, p.value) for p in series.points if start < p.end <= end]


class MonitoringStandIn(StandIn):
    """In-memory time series store answering ListTimeSeries."""

    permissions = {"ListTimeSeries": "monitoring.timeSeries.list"}   # projects.timeSeries.list reference

    def __init__(self) -> None:
        super().__init__()
        self._series: list[SeriesSeed] = []
        # The effective page size's ceiling (MAX_PAGE_SIZE, the documented one); tests lower it to
        # page answers of a few points the way a large answer is paged.
        self.max_page_size = MAX_PAGE_SIZE
        # A FULL answer is paged by points. Whether one series' points may be split across pages
        # is not documented: a series with more points than a page holds must be, unless a page may
        # exceed its page_size. True: pages are cut at exactly page_size points, splitting a series
        # (its header repeated on the next page). False: a page holds whole series only (at least
        # one, however many points it has).
        self.split_series = True
        # A read without interval.start_time: refused, as the current TimeInterval docstring says
        # ("The start time must be specified"); True plays the earlier text (a GAUGE point in time).
        self.start_optional_for_gauge = False
        # (metric type or None for any, google.rpc.Code, message) per answer to spoil
        self._incomplete: list[tuple[str | None, int, str]] = []

    def rpcs(self) -> list[Rpc]:
        return [Rpc(METRIC_SERVICE, "ListTimeSeries", self._list_time_series,
                    monitoring_v3.ListTimeSeriesRequest.deserialize, monitoring_v3.ListTimeSeriesResponse.serialize)]

    def add_series(self, series: SeriesSeed) -> None:
        """Stores a series (validated like the real ingestion would).

        All series of one metric type in one project share its descriptor: the same kind and
        value type. BOOL and STRING metrics are GAUGE only, as in the real API.
        """
        what = f"series {series.metric_type}"
        project = series.project or series.resource_labels.get("project_id")
        if not project:
            raise ValueError(f"{what}: give project or resource label project_id")
        if series.kind not in ("DELTA", "GAUGE"):
            raise ValueError(f"{what}: kind must be DELTA or GAUGE, got {series.kind!r}")
        known = descriptor(series.metric_type)
        value_type = series.value_type or (known.value_type if known else None) or _infer_value_type(
            p.value for p in series.points)
        problems = series_problems(series.metric_type, series.resource_type, series.kind, value_type,
                                   series.metric_labels, series.resource_labels)
        if problems:
            raise ValueError(f"{what}: " + "; ".join(problems))
        if value_type not in VALUE_TYPES:
            raise ValueError(f"{what}: value_type must be one of {', '.join(VALUE_TYPES)}, got {value_type!r}")
        if value_type in _GAUGE_ONLY and series.kind != "GAUGE":
            raise ValueError(f"{what}: {value_type} metrics must be GAUGE, got {series.kind}")
        points = []
        for point in series.points:
            if series.kind == "DELTA" and (point.start is None or point.start >= point.end):
                raise ValueError(f"{what}: a DELTA point needs start < end, got {point}")
            points.append(replace(point, value=_coerce(point.value, value_type, f"{what} point at {point.end}")))
        stored = replace(series, project=project, value_type=value_type, points=tuple(points))
        with self.lock:
            for other in self._series:
                if other.project == project and other.metric_type == series.metric_type and (
                        (other.kind, other.value_type) != (stored.kind, stored.value_type)):
                    raise ValueError(f"{what}: project {project} already has it as {other.kind} {other.value_type}, "
                                     f"not {stored.kind} {stored.value_type} (one descriptor per metric type)")
            self._series.append(stored)

    @property
    def series(self) -> list[SeriesSeed]:
        with self.lock:
            return list(self._series)

    def _list_time_series(self, request: monitoring_v3.ListTimeSeriesRequest) -> monitoring_v3.ListTimeSeriesResponse:
        if re.fullmatch(r"(organizations|folders)/[^/]+", request.name):
            # Valid names ("projects/..., organizations/..., folders/...", ListTimeSeriesRequest.name).
            raise invalid(f"name {request.name!r} is not supported by the stand-in; use projects/PROJECT")
        if not re.fullmatch(r"projects/[^/]+", request.name):
            raise invalid(f"name must be projects/PROJECT, organizations/ORGANIZATION or folders/FOLDER, "
                          f"got {request.name!r}")
        query = _parse_filter(request.filter)
        start, end = _parse_interval(request, self.start_optional_for_gauge)
        agg = _parse_aggregation(request)
        project = request.name.split("/", 1)[1]
        self._check_against_descriptor(query, agg, project)
        matched = [s for s in self._series if s.project == project and query.matches(s)]
        if start is None and any(s.kind != "GAUGE" for s in matched):
            raise invalid("interval.start_time is required for DELTA metrics")
        with_points = request.view == _View.FULL
        found = self._evaluate(matched, agg, start, end, with_points)
        if request.page_size < 0:   # "A positive number"; what the API answers to a negative one is not documented
            raise invalid(f"page_size must not be negative, got {request.page_size}")
        size = min(request.page_size or self.max_page_size, self.max_page_size)
        if with_points:
            page, token = _points_page(found, size, request.page_token, self.split_series)
        else:
            page, token = paginate(found, size, request.page_token)
        response = monitoring_v3.ListTimeSeriesResponse(time_series=page, next_page_token=token)
        spoiled = next((rule for rule in self._incomplete if rule[0] in (None, query.metric_type)), None)
        if spoiled is not None:
            self._incomplete.remove(spoiled)
            response.time_series = page[:-1]   # the answer lacks what the failed part would have read
            response.execution_errors = [status_pb2.Status(code=spoiled[1], message=spoiled[2])]
        return response

    def incomplete_next(self, n: int = 1, code: int = code_pb2.UNAVAILABLE,
                        message: str = "a part of the query could not be read (injected by the stand-in)",
                        metric_type: str | None = None) -> None:
        """The next `n` ListTimeSeries answers (of `metric_type`, or any) are incomplete: the page
        lacks its last series and carries an execution error ("Query execution errors that may have
        caused the time series data returned to be incomplete", ListTimeSeriesResponse.
        execution_errors, google/monitoring/v3/metric_service.proto). Which codes and how much is
        missing in practice is not documented."""
        if n < 1:
            raise ValueError("incomplete_next needs n >= 1")
        with self.lock:
            self._incomplete.extend([(metric_type, code, message)] * n)

    def _check_against_descriptor(self, query: _Filter, agg: _Aggregation, project: str) -> None:
        """What the real API refuses from the descriptors alone, before looking at any data."""
        known = descriptor(query.metric_type)
        if known is not None:
            if query.resource_type is not None and query.resource_type not in known.resources:
                raise invalid(INVALID_COMBINATION)
            shape = SeriesSeed(query.metric_type, query.resource_type or "", {}, kind=known.kind,
                               value_type=known.value_type)
        else:  # a user-defined metric: its descriptor is what its first series made it
            shape = next((s for s in self._series if s.project == project and s.metric_type == query.metric_type),
                         None)
            if shape is None:
                return
        if agg.aligner == _Aligner.ALIGN_NONE:
            return
        _check_aligner(agg, shape)
        if agg.reducer != _Reducer.REDUCE_NONE:
            _check_reducer(agg.reducer, _aligned_value_type(agg.aligner, shape.value_type or "INT64"),
                           query.metric_type)

    def _evaluate(self, matched: list[SeriesSeed], agg: _Aggregation, start: datetime | None, end: datetime,
                  with_points: bool) -> list[monitoring_v3.TimeSeries]:
        if agg.aligner == _Aligner.ALIGN_NONE:
            raw = [(s, _raw_points(s, start, end)) for s in matched]
            return [_to_proto(s, s.kind, s.value_type or "INT64", pts, with_points) for s, pts in raw if pts]
        aligned = [_align(s, agg, start, end) for s in matched]
        if agg.reducer != _Reducer.REDUCE_NONE:
            aligned = _reduce(aligned, agg)
        out = []
        for item in aligned:
            if not item.values:
                continue
            points = [(e - agg.period if item.kind == "DELTA" else None, e, v) for e, v in item.values.items()]
            out.append(_to_proto(item.series, item.kind, item.value_type, points, with_points))
        return out


def _points_page(found: list[monitoring_v3.TimeSeries], size: int, token: str,
                 split_series: bool) -> tuple[list[monitoring_v3.TimeSeries], str]:
    """One page of a FULL answer: at most `size` points (ListTimeSeriesRequest.page_size). The
    token is the position of the next point: (series index, points of it already given)."""
    first, done = _read_points_token(token, len(found))
    page: list[monitoring_v3.TimeSeries] = []
    room = size
    index = first
    while index < len(found) and room > 0:
        points = len(found[index].points)
        left = points - done
        if left <= room or (not split_series and not page):
            page.append(found[index] if done == 0 else _points_slice(found[index], done, points))
            room -= left
            index, done = index + 1, 0
        elif split_series:
            page.append(_points_slice(found[index], done, done + room))
            done += room
            room = 0
        else:
            break   # whole series only: this one starts the next page
    return page, (f"p:{index}:{done}" if index < len(found) else "")


def _read_points_token(token: str, series: int) -> tuple[int, int]:
    if not token:
        return 0, 0
    parts = token.split(":")
    if len(parts) != 3 or parts[0] != "p" or not parts[1].isdigit() or not parts[2].isdigit() \
            or int(parts[1]) >= series:
        raise invalid(f"page_token {token!r} was not issued by this server")
    return int(parts[1]), int(parts[2])


def _points_slice(series: monitoring_v3.TimeSeries, start: int, end: int) -> monitoring_v3.TimeSeries:
    """The series with its points [start, end) only (newest first, as answered)."""
    raw = monitoring_v3.TimeSeries.pb(series)
    part = type(raw)()
    part.CopyFrom(raw)
    del part.points[:]
    part.points.extend(raw.points[start:end])
    return monitoring_v3.TimeSeries.wrap(part)
