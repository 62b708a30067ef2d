"""CPU to decode one ListTimeSeries answer, against decoding it through proto-plus, in the same run.

The answer is shaped like the diagnosis's request_count read: 6 series (revision x response
code) of 72 per-minute points, serialised as the server sends it. Measured with the process's
CPU clock (time.process_time), medians of interleaved rounds:
  - reference: the answer deserialised into proto-plus wrappers and every field read through
    them (the adapter's decoding before; kept here as the reference);
  - the adapter: `series_from_proto` on the plain protobuf messages of the page (each field read
    as a column with a C-level map, the points kept as two columns: no model or datetime per point).
Both must give the same series. Fails only if the adapter's decoding regresses past REGRESSION of
the reference, never on an absolute.

    .venv/bin/python bench/monitoring_decode.py [--rounds 30] [--points 72]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The adapter / the reference, CPU medians: 0.07-0.09 with the columns (432 and 8,640 points), 0.18
# with a MetricPoint model and a datetime per point (docs/performance.md). Fails in between.
REGRESSION = 0.14
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def answer(series: int, points: int) -> bytes:
    from google.cloud import monitoring_v3

    out = []
    for s in range(series):
        pts = [monitoring_v3.Point(interval=monitoring_v3.TimeInterval(start_time=T0 - timedelta(minutes=i + 1),
                                                                       end_time=T0 - timedelta(minutes=i)),
                                   value=monitoring_v3.TypedValue(int64_value=i % 40)) for i in range(points)]
        out.append(monitoring_v3.TimeSeries(
            metric={"type": "run.googleapis.com/request_count",
                    "labels": {"response_code_class": "5xx" if s % 2 else "2xx", "response_code": str(500 + s)}},
            resource={"type": "cloud_run_revision", "labels": {"revision_name": f"backend-0000{s}-abc"}},
            points=pts))
    return monitoring_v3.ListTimeSeriesResponse.serialize(monitoring_v3.ListTimeSeriesResponse(time_series=out))


def through_proto_plus(raw: bytes) -> list[Any]:
    """The reference: proto-plus wrappers, fields read through them."""
    from google.cloud import monitoring_v3

    from shared.diagnosis.evidence import MetricPoint, MetricSeries

    series = []
    for proto in monitoring_v3.ListTimeSeriesResponse.deserialize(raw).time_series:
        points = []
        for point in proto.points:
            value = point.value
            which = type(value).pb(value).WhichOneof("value")
            number = {"int64_value": lambda: float(value.int64_value),
                      "double_value": lambda: float(value.double_value)}[which]()
            end = point.interval.end_time
            points.append(MetricPoint(end=datetime.combine(end.date(), end.timetz()), value=number))
        points.sort(key=lambda p: p.end)
        series.append(MetricSeries(metric_labels=dict(proto.metric.labels),
                                   resource_labels=dict(proto.resource.labels), points=tuple(points)))
    return series


def by_the_adapter(raw: bytes) -> list[Any]:
    from google.cloud import monitoring_v3

    from shared.gcp.monitoring import series_from_proto

    page = monitoring_v3.ListTimeSeriesResponse.deserialize(raw)
    return [series_from_proto(p) for p in monitoring_v3.ListTimeSeriesResponse.pb(page).time_series]


def cpu(fn: Callable[[], object], repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - start) / repeat


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--points", type=int, default=72)
    args = parser.parse_args()
    raw = answer(6, args.points)
    assert through_proto_plus(raw) == by_the_adapter(raw), "the two decodings differ"
    rounds: dict[str, list[float]] = {"reference": [], "adapter": []}
    for _ in range(args.rounds):   # interleaved, so a noisy neighbour slows both alike
        rounds["reference"].append(cpu(lambda: through_proto_plus(raw), 5))
        rounds["adapter"].append(cpu(lambda: by_the_adapter(raw), 5))
    reference, adapter = (statistics.median(rounds[k]) for k in ("reference", "adapter"))
    print(f"one answer of {6 * args.points} points: through proto-plus {reference * 1000:.2f} ms CPU, "
          f"the adapter {adapter * 1000:.2f} ms CPU ({adapter / reference:.2f}x; fails at {REGRESSION}x or above)")
    return 0 if adapter / reference < REGRESSION else 1


if __name__ == "__main__":
    sys.exit(main())
