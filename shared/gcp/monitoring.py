"""Cloud Monitoring v3 adapter: implements shared.ports.MonitoringPort.

`query(MetricQuery)` asks one ListTimeSeries question (every page read, the whole call
retried as one on transient faults, the client's own retry off) and returns typed points:

- INT64 and DOUBLE values become floats, BOOL a bool, STRING a str;
- a DISTRIBUTION value (only when the query leaves distributions as they are: ALIGN_NONE,
  ALIGN_DELTA, ALIGN_SUM or ALIGN_NEXT_OLDER, REDUCE_NONE/SUM) becomes its mean, as a float;
  a distribution with no samples (count 0) has no mean, and its point is left out. Ask for
  a percentile (ALIGN_PERCENTILE_*/REDUCE_PERCENTILE_*) to get one: Monitoring computes it.

Points come oldest first; series are sorted by their labels, so the same data always reads
the same. `MetricResult.query` records the request as sent (filter, interval, aggregation).
"""
from __future__ import annotations

import functools
import itertools
import operator
import re
import threading
from datetime import timedelta
from typing import Any

from shared.errors import IncompleteReadError, PermanentError, TransientError
from shared.diagnosis.evidence import (Floats, Histogram, HistogramResult, HistogramSeries, MetricQuery, MetricResult,
                                       MetricSeries, OldestFirst, decoded)
from shared.gcp.endpoints import CallPolicy, PageCursor, call_with_retry, connect, metric_service_client

_LABEL_KEY = re.compile(r"^(resource|metric)\.labels\.[A-Za-z_]\w*$")
_UNQUOTABLE = re.compile(r'["\\\n]')

# Every aligner and reducer the API names; which of them a metric accepts is the server's call.
ALIGNERS = frozenset({
    "ALIGN_NONE", "ALIGN_DELTA", "ALIGN_RATE", "ALIGN_INTERPOLATE", "ALIGN_NEXT_OLDER", "ALIGN_MIN", "ALIGN_MAX",
    "ALIGN_MEAN", "ALIGN_COUNT", "ALIGN_SUM", "ALIGN_STDDEV", "ALIGN_COUNT_TRUE", "ALIGN_COUNT_FALSE",
    "ALIGN_FRACTION_TRUE", "ALIGN_PERCENTILE_99", "ALIGN_PERCENTILE_95", "ALIGN_PERCENTILE_50",
    "ALIGN_PERCENTILE_05", "ALIGN_PERCENT_CHANGE"})
REDUCERS = frozenset({
    "REDUCE_NONE", "REDUCE_MEAN", "REDUCE_MIN", "REDUCE_MAX", "REDUCE_SUM", "REDUCE_STDDEV", "REDUCE_COUNT",
    "REDUCE_COUNT_TRUE", "REDUCE_COUNT_FALSE", "REDUCE_FRACTION_TRUE", "REDUCE_PERCENTILE_99",
    "REDUCE_PERCENTILE_95", "REDUCE_PERCENTILE_50", "REDUCE_PERCENTILE_05"})


# The aligners and reducers whose output keeps a distribution a distribution: ALIGN_DELTA and ALIGN_SUM
# ("The value_type of the aligned result is the same as the value_type of the input"), REDUCE_SUM ("The
# value_type of the output is the same as the value_type of the input"), REDUCE_NONE (no reduction):
# Aggregation.Aligner and Aggregation.Reducer, google/monitoring/v3/common.proto.
DISTRIBUTION_ALIGNERS = frozenset({"ALIGN_DELTA", "ALIGN_SUM"})
DISTRIBUTION_REDUCERS = frozenset({"REDUCE_NONE", "REDUCE_SUM"})


def _refuse(message: str) -> PermanentError:
    return PermanentError(message, code="INVALID_ARGUMENT")


# --- the request, built and described without I/O -----------------------------------------------


def _quoted(what: str, value: str) -> str:
    if _UNQUOTABLE.search(value):
        raise _refuse(f"{what} {value!r} contains a quote, backslash or newline; refusing to build the filter")
    return f'"{value}"'


def build_filter(query: MetricQuery) -> str:
    """`metric.type = "M" AND resource.type = "R" AND KEY = "VALUE" ...`, labels in the given order. A query whose
    resource_type is None names no resource type: ListTimeSeries' filter "must specify a single metric type, and can
    additionally specify metric labels and other information" (ListTimeSeriesRequest.filter, the REST reference's
    projects.timeSeries.list and google-cloud-monitoring's docstring, whose example names none), so it selects the
    metric on every resource type it is written against. An empty one is refused: a query forgot it."""
    if not query.metric_type or query.resource_type == "":
        raise _refuse("a metric query needs metric_type and resource_type (None for any resource type)")
    clauses = [f"metric.type = {_quoted('metric_type', query.metric_type)}"]
    if query.resource_type is not None:
        clauses.append(f"resource.type = {_quoted('resource_type', query.resource_type)}")
    for key, value in query.labels.items():
        if not _LABEL_KEY.match(key):
            raise _refuse(f"label key {key!r}: use resource.labels.NAME or metric.labels.NAME")
        clauses.append(f"{key} = {_quoted(key, value)}")
    return " AND ".join(clauses)


def validate_query(query: MetricQuery) -> None:
    """Refuses (PermanentError INVALID_ARGUMENT) what no server would answer, before any call."""
    if query.start.tzinfo is None or query.end.tzinfo is None:
        raise _refuse("a metric query needs timezone-aware start and end")
    if query.start >= query.end:
        raise _refuse(f"empty window: start {query.start.isoformat()} is not before end {query.end.isoformat()}")
    if query.aligner not in ALIGNERS:
        raise _refuse(f"unknown aligner {query.aligner!r}")
    if query.reducer not in REDUCERS:
        raise _refuse(f"unknown reducer {query.reducer!r}")
    if query.aligner == "ALIGN_NONE" and query.reducer != "REDUCE_NONE":
        raise _refuse(f"{query.reducer} needs a per-series aligner other than ALIGN_NONE")
    if query.group_by and query.reducer == "REDUCE_NONE":
        raise _refuse(f"group_by {list(query.group_by)} needs a cross-series reducer (Monitoring ignores it "
                      "with REDUCE_NONE)")
    for key in query.group_by:
        if not _LABEL_KEY.match(key):
            raise _refuse(f"group_by field {key!r}: use resource.labels.NAME or metric.labels.NAME")
    build_filter(query)


def describe_query(query: MetricQuery) -> str:
    """The request as sent, for evidence a person can re-run."""
    if query.aligner == "ALIGN_NONE":
        aggregation = "none (raw points)"
    else:
        aggregation = (f"alignment_period={query.alignment_seconds}s per_series_aligner={query.aligner} "
                       f"cross_series_reducer={query.reducer} group_by_fields=[{', '.join(query.group_by)}]")
    return (f"ListTimeSeries projects/{query.project} filter: {build_filter(query)} | "
            f"interval: ({query.start.isoformat()}, {query.end.isoformat()}] | aggregation: {aggregation}")


# --- the adapter ---------------------------------------------------------------------------------


class CloudMonitoringAdapter:
    """MonitoringPort over Cloud Monitoring v3 (or its stand-in, via MONITORING_EMULATOR_HOST)."""

    # query and histograms are one ListTimeSeries call each (its permission and source: docs/deploy.md, "Each call and
    # the permission Google checks", held to this map by tests/infra/test_iam.py).
    iam_permissions = {"query": ("monitoring.timeSeries.list",), "histograms": ("monitoring.timeSeries.list",)}

    def __init__(self, *, policy: CallPolicy = CallPolicy()) -> None:
        self._policy = policy
        self._client: Any = None
        self._wire: Any = None      # MonitoringWire over the client's channel (shared/gcp/monitoring_wire.py)
        self._lock = threading.Lock()   # evidence reads run on several threads: one client for all

    def query(self, query: MetricQuery) -> MetricResult:
        validate_query(query)
        return result_from_series(describe_query(query), self._series(query))

    def histograms(self, query: MetricQuery) -> HistogramResult:
        """One ListTimeSeries question whose distribution points are kept as histograms (their bucket
        bounds and counts), not read as their means: percentiles are computed from them
        (shared/diagnosis/percentiles.py)."""
        validate_query(query)
        if query.aligner not in DISTRIBUTION_ALIGNERS or query.reducer not in DISTRIBUTION_REDUCERS:
            raise _refuse(f"{query.aligner} / {query.reducer} does not keep distributions: ask with "
                          f"{sorted(DISTRIBUTION_ALIGNERS)} and {sorted(DISTRIBUTION_REDUCERS)}")
        return histograms_from_series(describe_query(query), self._series(query))

    def _series(self, query: MetricQuery) -> list[Any]:
        """The answer's series (every page), retried as the call policy says; an answer cut short is
        missing evidence."""
        cursor, taken = PageCursor.for_call(self._policy), []    # kept across attempts: a retry resumes
        try:
            return call_with_retry(lambda timeout: self._list(query, cursor, taken),
                                   what=f"ListTimeSeries {query.metric_type}",
                                   policy=self._policy, needs=self.iam_permissions["query"])
        except IncompleteAnswerError as exc:
            raise missing_evidence(exc) from exc
        except TransientError as exc:
            if not cursor.cut_short(exc):
                raise
            raise unfinished_answer(query, cursor, taken) from exc

    def warm(self) -> None:
        """Builds the client and its call and opens the connection now (no call is made);
        idempotent and thread-safe."""
        self._calls()
        connect(self._client.transport)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.transport.close()
                self._client = self._wire = None

    def _calls(self) -> Any:
        with self._lock:
            if self._wire is None:
                from shared.gcp.monitoring_wire import MonitoringWire

                if self._client is None:
                    self._client = metric_service_client()
                self._wire = MonitoringWire(self._client)
            return self._wire

    def _list(self, query: MetricQuery, cursor: PageCursor, taken: list[Any]) -> list[Any]:
        # Every page read inside the retried call: a fault mid-way resumes at the page it cut, with the
        # same token (`PageCursor`); the pages taken before it are kept in `taken`. An answer that says it
        # may be incomplete is asked again whole: the cursor starts over. The series come as plain protobuf
        # messages (see "proto -> model" below).
        pages = self._calls().pages(list_time_series_request(query), cursor=cursor, into=taken)
        try:
            check_complete(pages, query)
        except IncompleteAnswerError:
            cursor.restart()
            taken.clear()
            raise
        return [series for page in pages for series in page.time_series]


class IncompleteAnswerError(TransientError):
    """A ListTimeSeries answer that says it may be incomplete: asked again (transient), then
    reported as missing evidence."""


def missing_evidence(exc: IncompleteAnswerError) -> IncompleteReadError:
    """Asked again and still incomplete: missing evidence, said so, never partial data read as
    the whole (a series left out could be the one that shows the fault)."""
    return IncompleteReadError(f"{exc}; the answer is not used as evidence")


def unfinished_answer(query: MetricQuery, cursor: PageCursor, taken: list[Any]) -> IncompleteReadError:
    """A ListTimeSeries read still paging when its deadline ran out (`PageCursor.cut_short`): missing evidence
    in the same shape as an answer with execution errors, named with how far it got. A FULL answer is paged by
    points (page_size: "If `view` is set to `FULL`, this is the maximum number of `Points` returned",
    ListTimeSeriesRequest.page_size, google/monitoring/v3/metric_service.proto), so a series read in part is cut
    at a point, not whole."""
    series = sum(len(page.time_series) for page in taken)
    return IncompleteReadError(
        f"ListTimeSeries {query.metric_type}: the read had not finished when its {cursor.deadline.seconds:g} s ran "
        f"out: {cursor.pages} page(s) read ({series} series parts), and Monitoring still gave a next_page_token "
        "(\"If there are more results than have been returned, then this field is set to a non-empty value\": "
        "ListTimeSeriesResponse.next_page_token, google/monitoring/v3/metric_service.proto); the answer is "
        "incomplete and not used as evidence")


def check_complete(pages: Any, query: MetricQuery) -> None:
    """Raises IncompleteAnswerError when a page carries execution errors: "Query execution errors
    that may have caused the time series data returned to be incomplete"
    (ListTimeSeriesResponse.execution_errors, google/monitoring/v3/metric_service.proto)."""
    errors = [error for page in pages for error in page.execution_errors]
    if errors:
        said = "; ".join(f"code {e.code}: {e.message}" for e in errors[:3])
        raise IncompleteAnswerError(f"ListTimeSeries {query.metric_type}: the answer may be incomplete "
                                    f"({len(errors)} execution error(s): {said})")


def list_time_series_request(query: MetricQuery) -> Any:
    """The ListTimeSeriesRequest for `query`, as the plain protobuf message (FULL view; an
    aggregation only when the query aligns). Its bytes are those of the proto-plus
    `monitoring_v3.ListTimeSeriesRequest` built from the same values (tests/unit/test_monitoring_wire.py):
    a datetime becomes a Timestamp of `int(dt.timestamp())` seconds and `microsecond * 1000` nanos,
    a timedelta a Duration of `days * 86400 + seconds` and `microseconds * 1000`, as proto-plus's
    marshal converts them (proto/marshal/rules/dates.py, TimestampRule and DurationRule)."""
    from google.cloud.monitoring_v3.types import common, metric_service

    request = metric_service.ListTimeSeriesRequest.pb()(
        name=f"projects/{query.project}", filter=build_filter(query),
        view=metric_service.ListTimeSeriesRequest.pb().TimeSeriesView.Value("FULL"))
    interval = request.interval
    for stamp, value in ((interval.start_time, query.start), (interval.end_time, query.end)):
        stamp.seconds, stamp.nanos = int(value.timestamp()), value.microsecond * 1000
    if query.aligner != "ALIGN_NONE":
        aggregation, kind = request.aggregation, common.Aggregation.pb()
        period = timedelta(seconds=query.alignment_seconds)
        aggregation.alignment_period.seconds = period.days * 86400 + period.seconds
        aggregation.alignment_period.nanos = period.microseconds * 1000
        aggregation.per_series_aligner = kind.Aligner.Value(query.aligner)
        aggregation.cross_series_reducer = kind.Reducer.Value(query.reducer)
        aggregation.group_by_fields.extend(query.group_by)
    return request


# --- proto -> model --------------------------------------------------------------------------------
# Decoded from the plain protobuf messages, not through proto-plus: every proto-plus field access
# goes through its marshal (and a timestamp becomes a DatetimeWithNanoseconds), which made the
# decoding of one answer cost more CPU than its round trip, and evidence reads run on threads that
# share the GIL. A series' points become two columns (MetricSeries.end_us, .values): no model and
# no datetime per point. Each field is read with a C-level map over the repeated field
# (operator.attrgetter / methodcaller), not a Python loop per point. The same values come out
# (tests/unit/test_monitoring_decode.py).


def _plain(proto: Any) -> Any:
    """The protobuf message inside a proto-plus wrapper (`Message.pb`); a plain one as it is."""
    return type(proto).pb(proto) if hasattr(type(proto), "pb") else proto


def point_value(value: Any) -> float | str | bool | None:
    """A TypedValue as MetricPoint holds it; None for a distribution without samples."""
    return _value(_plain(value))


def _value(value: Any) -> float | str | bool | None:
    which = value.WhichOneof("value")
    if which == "int64_value":
        return float(value.int64_value)
    if which == "double_value":
        return float(value.double_value)
    if which == "distribution_value":
        dist = value.distribution_value
        return float(dist.mean) if dist.count > 0 else None
    if which == "bool_value":
        return bool(value.bool_value)
    if which == "string_value":
        return str(value.string_value)
    return None


# Each field is read straight from the point, through the interval and value messages: every
# message the protobuf runtime hands out is a new Python object the garbage collector tracks, and
# holding a column of them (1,440 per series) alive at once set off several collections per series
# and filled the older generations, whose full collections then cost tens of milliseconds
# (docs/performance.md, "diagnose() alone: grouping, allocations and the p99 tail"). Read through a
# dotted attrgetter, each is freed as soon as its field is read.
_END_TIME = operator.attrgetter("interval.end_time")
_SECONDS_NANOS = operator.attrgetter("seconds", "nanos")
_TYPED = operator.attrgetter("value")
_WHICH = operator.methodcaller("WhichOneof", "value")
# The oneof cases read as a column when every point of a series holds the same one: Monitoring
# gives each series one value_type (TimeSeries.value_type, google/monitoring/v3/metric.proto), but
# every point is still checked (see _numbers), so a point holding another is never read as a zero.
_NUMBER = {"int64_value": operator.attrgetter("value.int64_value"),
           "double_value": operator.attrgetter("value.double_value")}


def _end_us(points: Any) -> list[int]:
    """Each point's end time in microseconds since the epoch (google.protobuf.Timestamp: seconds, and
    nanos in 0..999,999,999, so microseconds are nanos // 1000). The interval and its end time are
    read once per point, both fields taken from them as a pair; the pairs are flattened as they come
    (`chain.from_iterable` drops each once read), so neither the messages nor the pairs are held as
    a column for the collector (docs/performance.md, "The wire's Monitoring decoding")."""
    flat = list(itertools.chain.from_iterable(map(_SECONDS_NANOS, map(_END_TIME, points))))
    end_us = list(map(operator.mul, flat[0::2], itertools.repeat(1_000_000)))
    nanos = flat[1::2]
    if any(nanos):
        end_us = list(map(operator.add, end_us, map(operator.floordiv, nanos, itertools.repeat(1000))))
    return end_us


def _numbers(points: Any) -> list[float] | None:
    """The points' values as floats when every point's TypedValue holds the first one's numeric
    case; else None.

    Read as a column: a TypedValue holding another case (or none) reads as 0 there, its oneof's
    default (proto3), so only the points that read 0 need their case checked."""
    if not len(points):
        return None
    case = _WHICH(points[0].value)
    read = _NUMBER.get(case)
    if read is None:
        return None
    numbers = list(map(read, points))
    if 0 in numbers and any(map(operator.ne, map(_WHICH, map(_TYPED, itertools.compress(points, map(operator.not_,
                                                                                                  numbers)))),
                                itertools.repeat(case))):
        return None
    return list(map(float, numbers))
_SERIES_FIELDS = {"metric_labels", "resource_labels", "end_us", "values"}


def series_from_proto(proto: Any) -> MetricSeries:
    """A TimeSeries (proto-plus or plain protobuf) as a MetricSeries, points oldest first (a
    distribution without samples has no value: its point is left out). Monitoring lists points
    newest first ("points are returned in reverse time order", TimeSeries.points); the sort is a
    stable sort by end time whatever the order, so equal end times keep the answer's order."""
    proto = _plain(proto)
    points = proto.points
    end_us = _end_us(points)
    values = _numbers(points)
    numeric = values is not None   # every value then made by float(): said by the column's type (Floats)
    if values is None:   # not one numeric case throughout: each point as _value reads it
        values = list(map(_value, map(_TYPED, points)))
        if None in values:
            kept = [i for i, v in enumerate(values) if v is not None]
            end_us, values = [end_us[i] for i in kept], [values[i] for i in kept]
    end_us, values = _oldest_first(end_us, values)
    # Oldest first now, whatever the answer's order: said by the column's type, so diagnosis does not check again.
    return decoded(MetricSeries, {"metric_labels": dict(proto.metric.labels),
                                  "resource_labels": dict(proto.resource.labels),
                                  "end_us": OldestFirst(end_us),
                                  "values": Floats(values) if numeric else tuple(values)}, _SERIES_FIELDS)


def _oldest_first(end_us: list[int], values: list[Any]) -> tuple[list[int], list[Any]]:
    """Both columns in a stable sort by end time. The answer's own order, newest first with no two
    points at one time, is that sort reversed: a test in C, then two slices."""
    flipped = end_us[::-1]
    if all(map(operator.lt, flipped, flipped[1:])):   # newest first, no two points at one time
        return flipped, values[::-1]
    if all(map(operator.le, end_us, end_us[1:])):     # oldest first already
        return end_us, values
    order = sorted(range(len(end_us)), key=end_us.__getitem__)
    return [end_us[i] for i in order], [values[i] for i in order]


def result_from_series(query: str, protos: Any) -> MetricResult:
    """The MetricResult of a ListTimeSeries answer (its TimeSeries, every page) to the request
    `query` describes: series decoded, sorted by their labels so the same data always reads the same.

    One series may come in parts on several pages: in the FULL view page_size "is the maximum
    number of Points returned" (ListTimeSeriesRequest.page_size, google/monitoring/v3/
    metric_service.proto), so a series with more points than a page holds is cut. Whether the API
    also cuts smaller ones at a page's end is not documented; either way the parts of one series
    (the same metric and resource labels: the query names one metric type and one resource type)
    are joined into one, never read as two series."""
    keyed = sorted(((_identity(s), s) for s in map(series_from_proto, protos)), key=operator.itemgetter(0))
    series: list[MetricSeries] = []
    last: Any = None
    for key, one in keyed:
        if series and key == last:
            series[-1] = _joined(series[-1], one)
        else:
            series.append(one)
        last = key
    return MetricResult(query=query, series=tuple(series))


def _identity(series: MetricSeries) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    return sorted(series.metric_labels.items()), sorted(series.resource_labels.items())


def _joined(first: MetricSeries, second: MetricSeries) -> MetricSeries:
    """Two parts of one series as one: their points together, oldest first."""
    end_us, values = _oldest_first([*first.end_us, *second.end_us], [*first.values, *second.values])
    numeric = isinstance(first.values, Floats) and isinstance(second.values, Floats)
    return decoded(MetricSeries, {"metric_labels": first.metric_labels, "resource_labels": first.resource_labels,
                                  "end_us": OldestFirst(end_us),
                                  "values": Floats(values) if numeric else tuple(values)}, _SERIES_FIELDS)


# --- distributions kept as histograms ------------------------------------------------------------


_HISTOGRAM_SERIES_FIELDS = {"metric_labels", "resource_labels", "end_us", "histograms"}
_OPTIONS = operator.attrgetter("value.distribution_value.bucket_options")
_DISTRIBUTION = operator.attrgetter("value.distribution_value")
_SERIALIZED = operator.methodcaller("SerializeToString")
_LAYOUT_BYTES: dict[bytes, tuple[float, ...] | None] = {}
_LAYOUT_BYTES_KEPT = 64
_UNSEEN = object()
_WHICH_LAYOUT = operator.methodcaller("WhichOneof", "options")


def bucket_bounds(options: Any) -> tuple[float, ...] | None:
    """The finite bucket boundaries b[0] < ... < b[N] of a Distribution.BucketOptions, as
    google/api/distribution.proto gives them: Linear "offset + (width * i)", Exponential
    "scale * (growth_factor ^ i)", Explicit "bounds[i]", for i in 0..N (N finite buckets); None when
    the options name no layout (a distribution without a histogram). Computed afresh: `_bounds_column`
    keeps each layout's bounds by its options' bytes (one metric's points share one)."""
    which = _WHICH_LAYOUT(options)
    if which == "exponential_buckets":
        exp = options.exponential_buckets
        bounds: tuple[float, ...] = tuple(exp.scale * exp.growth_factor ** i
                                          for i in range(exp.num_finite_buckets + 1))
    elif which == "linear_buckets":
        lin = options.linear_buckets
        bounds = tuple(lin.offset + lin.width * i for i in range(lin.num_finite_buckets + 1))
    elif which == "explicit_buckets":
        bounds = tuple(float(b) for b in options.explicit_buckets.bounds)
    else:
        return None
    return bounds or None


def histogram_series_from_proto(proto: Any) -> HistogramSeries:
    """A distribution-valued TimeSeries as a HistogramSeries, points oldest first. A point whose
    distribution holds no sample, or no histogram (no bucket_options or no bucket_counts: "If the
    distribution does not have a histogram, then omit this field", Distribution.bucket_counts), is left
    out: no percentile can be read from it. A point of another value type is refused. Each point's
    counts are summed once, as they are read (Histogram.running; `_running`).

    A point of another value type reads as an empty distribution there (its oneof's default, proto3),
    which has no counts and no layout: so only the points left out have their case checked."""
    proto = _plain(proto)
    points = proto.points
    end_us = _end_us(points)
    running = list(map(_running, map(_DISTRIBUTION, points)))
    bounds = _bounds_column(points)
    kept = [i for i, (b, r) in enumerate(zip(bounds, running)) if b and r and r[-1] > 0]
    if len(kept) < len(points) and any(
            which != "distribution_value"
            for which in map(_WHICH, map(_TYPED, map(points.__getitem__, set(range(len(points))).difference(kept))))):
        raise PermanentError("ListTimeSeries: a point that is not a distribution where histograms were asked for",
                             code="INVALID_ARGUMENT")
    end_us, histograms = _oldest_first([end_us[i] for i in kept], [Histogram(bounds[i], running[i]) for i in kept])
    return decoded(HistogramSeries, {"metric_labels": dict(proto.metric.labels),
                                     "resource_labels": dict(proto.resource.labels),
                                     "end_us": OldestFirst(end_us), "histograms": tuple(histograms)},
                   _HISTOGRAM_SERIES_FIELDS)


def _running(distribution: Any) -> tuple[int, ...]:
    """A Distribution's bucket counts summed as they run (Histogram.running).

    Read from the packed field's own bytes when every count is under 128: repeated int64
    bucket_counts = 7 (google/api/distribution.proto) is packed, its elements "concatenated" in one
    length-delimited record, each a base-128 varint whose byte has its most significant bit set only
    when more bytes follow (protobuf.dev, "Encoding": "Packed Repeated Fields", "Base 128 Varints").
    Every element takes at least one byte, so a record of as many bytes as the field has elements is
    one byte per element, each a count under 128, and the runs of zero buckets before the first
    sample and after the last (an exponential layout's small buckets below the fastest request) are
    found in C (`lstrip`, `rstrip`) and repeated, not converted and summed one by one. Any other
    record (a count of 128 or more, a negative one; none, were the field ever written unpacked: the
    installed runtime's descriptor says `is_packed`) is read element by element, as before: the same
    sums either way (tests/unit/test_percentiles.py)."""
    counts = distribution.bucket_counts
    packed = _counts_view()(distribution.SerializeToString()).bucket_counts
    if len(packed) != len(counts):
        return tuple(itertools.accumulate(counts[:]))   # the container's slice, a list made in C
    head = packed.lstrip(b"\0")
    if not head:
        return (0,) * len(packed)
    sums = tuple(itertools.accumulate(head.rstrip(b"\0")))
    return (0,) * (len(packed) - len(head)) + sums + sums[-1:] * (len(head) - len(sums))


@functools.cache
def _counts_view() -> Any:
    """The parser of a message whose field 7 is `bytes`: fed a serialised Distribution, it keeps
    bucket_counts' packed record as it is (a length-delimited record is read as bytes whatever it
    holds; the other fields stay unknown). Built once, in a pool of its own, on first use
    (google.protobuf's descriptor_pool.DescriptorPool.Add and message_factory.GetMessageClass)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    file = descriptor_pb2.FileDescriptorProto(name="runwarden/counts_view.proto", package="runwarden.view",
                                              syntax="proto3")
    file.message_type.add(name="CountsView").field.add(
        name="bucket_counts", number=7, type=descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("runwarden.view.CountsView")).FromString


def _bounds_column(points: Any) -> list[tuple[float, ...] | None]:
    """Each point's bucket bounds, known by its BucketOptions' serialised bytes: one call in C a point
    where reading the layout's three or four fields goes through Python (each point carries its options;
    a series' points share one layout). Bytes not seen before are parsed back into the options they
    came from and read as `bucket_bounds` reads them, so a layout's bounds are the same whichever
    bytes name it."""
    keys = list(map(_SERIALIZED, map(_OPTIONS, points)))
    bounds: dict[bytes, Any] = {}   # this answer's own: another reader thread may clear the kept ones
    for key in set(keys):
        bounds[key] = _LAYOUT_BYTES.get(key, _UNSEEN)
        if bounds[key] is _UNSEEN:
            from google.api import distribution_pb2   # on first use: cold starts import no more

            if len(_LAYOUT_BYTES) >= _LAYOUT_BYTES_KEPT:
                _LAYOUT_BYTES.clear()
            options = distribution_pb2.Distribution.BucketOptions.FromString(key)
            bounds[key] = _LAYOUT_BYTES[key] = bucket_bounds(options)
    return list(map(bounds.__getitem__, keys))


def histograms_from_series(query: str, protos: Any) -> HistogramResult:
    """The HistogramResult of a ListTimeSeries answer (every page): series sorted by their labels, the
    parts of one series cut across pages joined (as `result_from_series`)."""
    keyed = sorted(((_identity(s), s) for s in map(histogram_series_from_proto, protos)),
                   key=operator.itemgetter(0))
    series: list[HistogramSeries] = []
    last: Any = None
    for key, one in keyed:
        if series and key == last:
            first = series[-1]
            end_us, histograms = _oldest_first([*first.end_us, *one.end_us], [*first.histograms, *one.histograms])
            series[-1] = decoded(HistogramSeries, {"metric_labels": first.metric_labels,
                                                   "resource_labels": first.resource_labels,
                                                   "end_us": OldestFirst(end_us), "histograms": tuple(histograms)},
                                 _HISTOGRAM_SERIES_FIELDS)
        else:
            series.append(one)
        last = key
    return HistogramResult(query=query, series=tuple(series))
