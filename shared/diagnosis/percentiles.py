"""Latency percentiles computed from Monitoring's histograms. Pure: no I/O.

request_latencies is read once, as distributions (ALIGN_DELTA, REDUCE_SUM grouped by revision and by
each of the metric's labels: shared/diagnosis/collection.py), and two answers come out of it:

- the revision's p99 per minute: the largest of its series' own p99s, which is what
  ALIGN_PERCENTILE_99 then REDUCE_MAX by revision gave ("The resulting data point in each alignment
  period is the 99th percentile of all data points in the period", Aggregation.Aligner
  ALIGN_PERCENTILE_99, google/monitoring/v3/common.proto; REDUCE_MAX across the revision's series);
- the revision's p50 per minute: the median of all its requests, its series' histograms added bucket
  by bucket ("the sum across time series for each alignment period", REDUCE_SUM). A median of one
  series' requests (its 5xx alone) is not the revision's.

How Monitoring places a percentile inside the bucket that holds its rank is not documented (the
Aligner's text says "percentile aggregation" and no more: UNCONFIRMED). `Reading.LINEAR` interpolates
linearly inside the bucket, as the project's Monitoring stand-in does; `LOWER` and `UPPER` answer the
bucket's edges. They differ by at most the width of the bucket that holds the rank (which layout
Cloud Run gives request_latencies is not published: UNCONFIRMED), and the rules' bars and the
scenarios' figures are tested under all three (tests/unit/test_percentiles.py).
"""
from __future__ import annotations

import bisect
import functools
import operator
from enum import Enum
from typing import Iterable, Sequence

from shared.diagnosis.evidence import (Floats, Histogram, HistogramResult, HistogramSeries, MetricResult, MetricSeries,
                                       OldestFirst, decoded)


class Reading(Enum):
    LINEAR = "linear"   # linear interpolation inside the bucket that holds the rank
    LOWER = "lower"     # the bucket's lower edge
    UPPER = "upper"     # the bucket's upper edge


_REVISION = "resource.labels.revision_name"


def percentile(histogram: Histogram, percent: float, reading: Reading = Reading.LINEAR) -> float | None:
    """The `percent` percentile of the histogram, or None when it holds no sample.

    The rank is percent/100 x the count; the bucket that holds it is the first whose running count
    reaches it. The underflow and overflow buckets have one finite edge each, and a rank there answers
    that edge (Distribution.range is optional and carries no more: google/api/distribution.proto)."""
    bounds, running = histogram
    if not running or running[-1] <= 0:
        return None
    rank = percent / 100.0 * running[-1]
    i = bisect.bisect_left(running, rank)
    if i == 0:
        return bounds[0]
    if i > len(bounds) - 1:
        return bounds[-1]
    lower, upper = bounds[i - 1], bounds[i]
    if reading is Reading.LOWER:
        return lower
    if reading is Reading.UPPER:
        return upper
    below = running[i - 1]
    return lower + (upper - lower) * max(0.0, rank - below) / (running[i] - below)


def merged(histograms: Sequence[Histogram]) -> Histogram | None:
    """The histogram of all their samples, bucket by bucket (their running sums added: a sum's running
    sum is the sum of theirs); None when their buckets differ (a percentile across them would mix
    bucket edges: not known, never guessed)."""
    bounds = histograms[0].bounds
    if any(h.bounds != bounds for h in histograms[1:]):
        return None
    if len(histograms) == 1:
        return histograms[0]
    width = max(len(h.running) for h in histograms)
    padded = [h.running + h.running[-1:] * (width - len(h.running)) if h.running else (0,) * width
              for h in histograms]
    return Histogram(bounds, tuple(functools.reduce(lambda a, b: list(map(operator.add, a, b)), padded)))


def revision_latencies(result: HistogramResult, p99_query: str, p50_query: str,
                       reading: Reading = Reading.LINEAR) -> tuple[MetricResult, MetricResult]:
    """(p99, p50) per revision per minute, in the histograms' unit: the p99 the largest of the
    revision's series' own, the p50 that of their histograms added (module docstring). Each as a
    MetricResult whose series carry the revision_name label alone, oldest first, as a reduction by
    revision gives them."""
    by_revision: dict[str, list[HistogramSeries]] = {}
    for series in result.series:
        by_revision.setdefault(series.label(_REVISION), []).append(series)
    p99s, p50s = [], []
    for revision in sorted(by_revision):
        ats, groups = tuple(zip(*_by_minute(by_revision[revision]))) or ((), ())
        labels = {"revision_name": revision} if revision else {}
        p99s.append(_series(labels, zip(ats, [_largest(hs, 99.0, reading) for hs in groups])))
        p50s.append(_series(labels, zip(ats, [_median(hs, reading) for hs in groups])))
    return (MetricResult(query=p99_query, series=tuple(p99s)), MetricResult(query=p50_query, series=tuple(p50s)))


def _by_minute(series: Iterable[HistogramSeries]) -> list[tuple[int, list[Histogram]]]:
    minutes: dict[int, list[Histogram]] = {}
    for one in series:
        for at, histogram in zip(one.end_us, one.histograms):
            minutes.setdefault(at, []).append(histogram)
    return sorted(minutes.items())


def _largest(histograms: list[Histogram], percent: float, reading: Reading) -> float | None:
    """The largest of the histograms' own percentiles. A minute of one (a revision read as one series,
    the usual case) is read directly, here and in `_median`."""
    if len(histograms) == 1:
        return percentile(histograms[0], percent, reading)
    values = [v for v in (percentile(h, percent, reading) for h in histograms) if v is not None]
    return max(values) if values else None


def _median(histograms: list[Histogram], reading: Reading) -> float | None:
    if len(histograms) == 1:
        return percentile(histograms[0], 50.0, reading)
    whole = merged(histograms)
    return percentile(whole, 50.0, reading) if whole is not None else None


_SERIES_FIELDS = {"metric_labels", "resource_labels", "end_us", "values"}


def _series(labels: dict[str, str], points: Iterable[tuple[int, float | None]]) -> MetricSeries:
    kept = [(at, value) for at, value in points if value is not None]
    return decoded(MetricSeries, {"metric_labels": {}, "resource_labels": labels,
                                  "end_us": OldestFirst(at for at, _ in kept),
                                  "values": Floats(float(value) for _, value in kept)}, _SERIES_FIELDS)
