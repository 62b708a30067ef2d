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
