"""Latency percentiles computed from Monitoring's histograms (no I/O): the percentile inside a bucket
under each reading of how Monitoring places it (UNCONFIRMED), a revision's p99 as its series' largest
and its p50 as that of all its requests, and the decoding of distribution points into histograms."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from google.api import distribution_pb2
from google.cloud import monitoring_v3

from sandbox.standins.monitoring import DEFAULT_BUCKET_OPTIONS, distribution_from_samples, distribution_percentile
from shared.diagnosis.evidence import Histogram, HistogramResult, HistogramSeries
from shared.diagnosis.percentiles import Reading, merged, percentile, revision_latencies
from shared.gcp.monitoring import bucket_bounds, histogram_series_from_proto, histograms_from_series

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
BOUNDS = (100.0, 200.0, 400.0, 800.0)   # underflow (-inf, 100), [100, 200), [200, 400), [400, 800), overflow


def histogram(samples: list[tuple[float, int]]) -> Histogram:
    dist = distribution_from_samples(samples)
    return Histogram.of(bucket_bounds(dist.bucket_options), dist.bucket_counts)


PERCENTILES = {
    "the rank in a middle bucket, linear": (Histogram.of(BOUNDS, (0, 50, 50, 0, 0)), 50.0, Reading.LINEAR, 200.0),
    "half-way into a bucket, linear": (Histogram.of(BOUNDS, (0, 0, 100, 0, 0)), 50.0, Reading.LINEAR, 300.0),
    "half-way into a bucket, its lower edge": (Histogram.of(BOUNDS, (0, 0, 100, 0, 0)), 50.0, Reading.LOWER, 200.0),
    "half-way into a bucket, its upper edge": (Histogram.of(BOUNDS, (0, 0, 100, 0, 0)), 50.0, Reading.UPPER, 400.0),
    "the underflow: its one finite edge": (Histogram.of(BOUNDS, (10,)), 99.0, Reading.LINEAR, 100.0),
    "the overflow: its one finite edge": (Histogram.of(BOUNDS, (0, 0, 0, 0, 4)), 99.0, Reading.LINEAR, 800.0),
    "trailing buckets left out count as 0": (Histogram.of(BOUNDS, (0, 4)), 99.0, Reading.LINEAR, 199.0),
    "no sample: no percentile": (Histogram.of(BOUNDS, (0, 0, 0)), 50.0, Reading.LINEAR, None),
    "no counts at all: no percentile": (Histogram.of(BOUNDS, ()), 50.0, Reading.LINEAR, None),
}


@pytest.mark.parametrize("case", PERCENTILES.values(), ids=PERCENTILES.keys())
def test_a_percentile_inside_its_bucket(case):
    hist, percent, reading, expected = case
    assert percentile(hist, percent, reading) == expected


@pytest.mark.parametrize("samples", [[(140, 950), (420, 20), (30500, 30)], [(90, 140), (300, 10)],
                                     [(6000, 22), (38000, 30)], [(30100, 9)], [(0.0005, 3), (5e8, 2)]])
@pytest.mark.parametrize("percent", [99.0, 50.0])
def test_linear_reading_is_the_monitoring_stand_ins_to_the_bit(samples, percent):
    """The stand-in's ALIGN_PERCENTILE_* (linear interpolation): the same figures, so the p99 read from
    the buckets judges every scenario as the aligner's did."""
    dist = distribution_from_samples(samples)
    assert percentile(histogram(samples), percent) == distribution_percentile(dist, percent)


@pytest.mark.parametrize("samples", [[(140, 950), (420, 20), (30500, 30)], [(140, 975), (420, 25)]])
def test_every_reading_lies_in_the_same_bucket(samples):
    hist = histogram(samples)
    for percent in (50.0, 99.0):
        low, mid, high = (percentile(hist, percent, r) for r in (Reading.LOWER, Reading.LINEAR, Reading.UPPER))
        assert low <= mid <= high and high / low <= 1.05 + 1e-9   # one exponential bucket (growth 1.05)


def test_the_slow_tail_scenarios_figures_stand_off_the_bars_under_every_reading():
    """lock_waits_slow_endpoint_shared_connector_export: the p99 well above hang_latency_seconds (25 s)
    and the median well under one resend (1 s) above its usual, whichever way a bucket is read."""
    during = histogram([(140, 950), (420, 20), (30500, 30)])
    before = histogram([(140, 975), (420, 25)])
    for reading in Reading:
        assert percentile(during, 99.0, reading) > 27_000
        assert percentile(during, 50.0, reading) - percentile(before, 50.0, reading) < 100


def test_histograms_with_other_buckets_are_not_added():
    assert merged([Histogram.of(BOUNDS, (1,)), Histogram.of((1.0, 2.0), (1,))]) is None
    assert merged([Histogram.of(BOUNDS, (1, 2)), Histogram.of(BOUNDS, (0, 1, 3))]) == Histogram.of(BOUNDS, (1, 3, 3))
    # Trailing buckets left out count as 0: the running sum stays at its last past them.
    assert merged([Histogram.of(BOUNDS, (1,)), Histogram.of(BOUNDS, (0, 0, 2, 1))]) == Histogram.of(BOUNDS, (1, 0, 2, 1))
    assert merged([Histogram.of(BOUNDS, ()), Histogram.of(BOUNDS, (0, 2))]) == Histogram.of(BOUNDS, (0, 2))


def _series(revision: str, code_class: str, histograms: list[Histogram]) -> HistogramSeries:
    return HistogramSeries(metric_labels={"response_code_class": code_class},
                           resource_labels={"revision_name": revision},
                           end_us=tuple(int((T0 + timedelta(minutes=i)).timestamp() * 1e6)
                                        for i in range(len(histograms))),
                           histograms=tuple(histograms))


def test_a_revisions_p99_is_its_series_largest_and_its_p50_that_of_all_its_requests():
    fast = histogram([(140, 990), (300, 10)])
    slow = histogram([(30000, 5)])           # five 504s at the timeout: 0.5 % of the requests
    result = HistogramResult(query="q", series=(_series("a", "2xx", [fast, fast]), _series("a", "5xx", [slow]),
                                                _series("b", "2xx", [fast])))

    p99, p50 = revision_latencies(result, "p99 q", "p50 q")

    assert (p99.query, p50.query) == ("p99 q", "p50 q")
    by_revision = {s.resource_labels["revision_name"]: s for s in p99.series}
    assert by_revision["a"].values[0] == percentile(slow, 99.0)          # ALIGN_PERCENTILE_99, then REDUCE_MAX
    assert by_revision["a"].values[1] == percentile(fast, 99.0)          # the 504s' series has no second point
    medians = {s.resource_labels["revision_name"]: s for s in p50.series}
    both = merged([fast, slow])
    assert medians["a"].values == (percentile(both, 50.0), percentile(fast, 50.0))
    assert medians["a"].end_us == by_revision["a"].end_us
    assert [s.resource_labels for s in p99.series] == [{"revision_name": "a"}, {"revision_name": "b"}]


def _proto_point(minute: int, dist: distribution_pb2.Distribution | None) -> monitoring_v3.Point:
    end = T0 + timedelta(minutes=minute)
    value = monitoring_v3.TypedValue(distribution_value=dist) if dist is not None else monitoring_v3.TypedValue()
    return monitoring_v3.Point(interval=monitoring_v3.TimeInterval(start_time=end - timedelta(minutes=1),
                                                                   end_time=end), value=value)


def test_distribution_points_decode_as_histograms_oldest_first():
    full = distribution_from_samples([(140, 9), (30500, 1)])
    no_histogram = distribution_pb2.Distribution(count=3, mean=120.0)   # no bucket_options: "omit this field"
    empty = distribution_pb2.Distribution(count=0)
    empty.bucket_options.CopyFrom(DEFAULT_BUCKET_OPTIONS)
    proto = monitoring_v3.TimeSeries(
        metric={"type": "run.googleapis.com/request_latencies", "labels": {"response_code_class": "2xx"}},
        resource={"type": "cloud_run_revision", "labels": {"revision_name": "a"}},
        points=[_proto_point(3, full), _proto_point(2, empty), _proto_point(1, no_histogram), _proto_point(0, full)])

    series = histogram_series_from_proto(proto)

    assert series.end_us == (int(T0.timestamp() * 1e6), int((T0 + timedelta(minutes=3)).timestamp() * 1e6))
    assert series.histograms[0] == Histogram.of(bucket_bounds(DEFAULT_BUCKET_OPTIONS), full.bucket_counts)
    assert histograms_from_series("q", [proto, proto]).series[0].histograms == series.histograms * 2


def test_a_point_that_is_no_distribution_is_refused():
    from shared.errors import PermanentError

    proto = monitoring_v3.TimeSeries(points=[monitoring_v3.Point(
        interval=monitoring_v3.TimeInterval(end_time=T0), value=monitoring_v3.TypedValue(double_value=1.0))])
    with pytest.raises(PermanentError, match="not a distribution"):
        histogram_series_from_proto(proto)


@pytest.mark.parametrize(("options", "expected"), [
    (distribution_pb2.Distribution.BucketOptions(linear_buckets={"num_finite_buckets": 2, "width": 10, "offset": 5}),
     (5.0, 15.0, 25.0)),
    (distribution_pb2.Distribution.BucketOptions(exponential_buckets={"num_finite_buckets": 2, "growth_factor": 2,
                                                                      "scale": 3}), (3.0, 6.0, 12.0)),
    (distribution_pb2.Distribution.BucketOptions(explicit_buckets={"bounds": [1, 10, 100]}), (1.0, 10.0, 100.0)),
    (distribution_pb2.Distribution.BucketOptions(), None),
])
def test_bucket_bounds_of_each_layout(options, expected):
    """google/api/distribution.proto: Linear offset + width * i, Exponential scale * growth_factor ^ i,
    Explicit bounds[i], i in 0..N."""
    assert bucket_bounds(options) == expected


def _plain_histograms(proto: monitoring_v3.TimeSeries) -> tuple[tuple[int, ...], tuple[Histogram, ...]]:
    """The plain decoding, point by point: each point's end time from its Timestamp, its layout's bounds
    from google/api/distribution.proto's definitions (not the decoder's), its counts summed as they come."""
    kept = []
    for p in monitoring_v3.TimeSeries.pb(proto).points:
        assert p.value.WhichOneof("value") == "distribution_value"
        dist, options = p.value.distribution_value, p.value.distribution_value.bucket_options
        which = options.WhichOneof("options")
        if which == "linear_buckets":
            lin = options.linear_buckets
            bounds = tuple(lin.offset + lin.width * i for i in range(lin.num_finite_buckets + 1))
        elif which == "exponential_buckets":
            exp = options.exponential_buckets
            bounds = tuple(exp.scale * exp.growth_factor ** i for i in range(exp.num_finite_buckets + 1))
        elif which == "explicit_buckets":
            bounds = tuple(float(b) for b in options.explicit_buckets.bounds)
        else:
            bounds = ()
        running, total = [], 0
        for count in dist.bucket_counts:
            total += count
            running.append(total)
        if bounds and running and running[-1] > 0:
            end = p.interval.end_time
            kept.append((end.seconds * 1_000_000 + end.nanos // 1000, Histogram(bounds, tuple(running))))
    kept.sort(key=lambda one: one[0])   # stable: equal end times keep the answer's order
    return tuple(at for at, _ in kept), tuple(h for _, h in kept)


LAYOUTS = (DEFAULT_BUCKET_OPTIONS,
           distribution_pb2.Distribution.BucketOptions(linear_buckets={"num_finite_buckets": 3, "width": 10,
                                                                       "offset": 5}),
           distribution_pb2.Distribution.BucketOptions(exponential_buckets={"num_finite_buckets": 4,
                                                                            "growth_factor": 2, "scale": 1}),
           distribution_pb2.Distribution.BucketOptions(explicit_buckets={"bounds": [1, 10, 100]}),
           distribution_pb2.Distribution.BucketOptions(explicit_buckets={"bounds": [1, 10, 1000]}),
           distribution_pb2.Distribution.BucketOptions())


@pytest.mark.parametrize("seed", range(40))
def test_random_distribution_answers_decode_as_the_plain_decoding(seed):
    """Layouts mixed within one series or one per series, counts sparse and dense, small and beyond a
    varint's byte and 2**32, trailing buckets left out, no samples, no layout; end times newest first,
    oldest first, shuffled, repeated, with nanos beyond the microsecond."""
    import random

    rng = random.Random(seed)
    layouts = rng.choice((LAYOUTS[:1], LAYOUTS[1:2], LAYOUTS[3:5], LAYOUTS))
    top = rng.choice((3, 127, 128, 300, 2**33))
    points = []
    ends = [rng.randrange(40) for _ in range(rng.randrange(50))]
    ends.sort(reverse=rng.random() < 0.5)
    if rng.random() < 0.3:
        rng.shuffle(ends)
    for minute in ends:
        dense = rng.random() < 0.3
        counts = [rng.randrange(top + 1) if dense or rng.random() < 0.05 else 0 for _ in range(rng.randrange(12))]
        dist = distribution_pb2.Distribution(count=sum(counts), bucket_counts=counts)
        dist.bucket_options.CopyFrom(rng.choice(layouts))
        point = _proto_point(minute, dist)
        monitoring_v3.Point.pb(point).interval.end_time.nanos = rng.choice((0, 0, 0, 999, 1_000, 123_456_789))
        points.append(point)
    proto = monitoring_v3.TimeSeries(resource={"type": "cloud_run_revision", "labels": {"revision_name": "a"}},
                                     points=points)

    series = histogram_series_from_proto(monitoring_v3.TimeSeries.pb(proto))

    assert (series.end_us, series.histograms) == _plain_histograms(proto)
    assert all(type(c) is int for h in series.histograms for c in h.running)


def test_a_point_that_is_no_distribution_among_distributions_is_refused():
    from shared.errors import PermanentError

    full = distribution_from_samples([(140, 9)])
    for odd in (monitoring_v3.TypedValue(double_value=0.0), monitoring_v3.TypedValue(int64_value=3),
                monitoring_v3.TypedValue()):
        proto = monitoring_v3.TimeSeries(points=[
            _proto_point(2, full), monitoring_v3.Point(interval=monitoring_v3.TimeInterval(end_time=T0), value=odd),
            _proto_point(0, full)])
        with pytest.raises(PermanentError, match="not a distribution"):
            histogram_series_from_proto(proto)


@pytest.mark.parametrize("seed", range(30))
def test_each_revisions_minutes_read_as_the_plain_definitions(seed):
    """Revisions of no series, one series (minutes of one histogram, or two at a repeated end time) and
    several; each minute's p99 the largest of its histograms' own, its p50 that of them all added."""
    import random

    rng = random.Random(seed)
    series = []
    for revision in rng.sample(("a", "b", ""), rng.randrange(1, 4)):
        for code_class in rng.sample(("2xx", "5xx", "4xx"), rng.randrange(0, 3)):
            minutes = sorted(rng.randrange(6) for _ in range(rng.randrange(8)))
            histograms = [Histogram.of(BOUNDS, [rng.choice((0, 0, 1, 7, 300)) for _ in range(rng.randrange(6))])
                          for _ in minutes]
            series.append(HistogramSeries(metric_labels={"response_code_class": code_class},
                                          resource_labels={"revision_name": revision} if revision else {},
                                          end_us=tuple(m * 60_000_000 for m in minutes), histograms=tuple(histograms)))
        if not any(s.resource_labels.get("revision_name", "") == revision for s in series):
            series.append(HistogramSeries(resource_labels={"revision_name": revision} if revision else {}))

    p99, p50 = revision_latencies(HistogramResult(query="q", series=tuple(series)), "p99", "p50")

    for revision, got99, got50 in zip(sorted({s.resource_labels.get("revision_name", "") for s in series}),
                                      p99.series, p50.series):
        minutes: dict[int, list[Histogram]] = {}
        for one in (s for s in series if s.resource_labels.get("revision_name", "") == revision):
            for at, h in zip(one.end_us, one.histograms):
                minutes.setdefault(at, []).append(h)
        largest = [(at, max(v for v in (percentile(h, 99.0) for h in hs) if v is not None))
                   for at, hs in sorted(minutes.items()) if any(percentile(h, 99.0) is not None for h in hs)]
        medians = [(at, percentile(merged(hs), 50.0)) for at, hs in sorted(minutes.items())
                   if percentile(merged(hs), 50.0) is not None]
        assert list(zip(got99.end_us, got99.values)) == largest
        assert list(zip(got50.end_us, got50.values)) == medians
