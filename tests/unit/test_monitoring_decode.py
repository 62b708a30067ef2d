"""Decoding ListTimeSeries answers (no I/O): the plain-protobuf decoder gives the typed points the
models hold, from proto-plus wrappers and plain messages alike."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from google.cloud import monitoring_v3

from shared.diagnosis.evidence import Floats, MetricPoint, MetricSeries
from shared.gcp.monitoring import point_value, result_from_series, series_from_proto

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def point(end: datetime, **value) -> monitoring_v3.Point:
    return monitoring_v3.Point(interval=monitoring_v3.TimeInterval(start_time=end - timedelta(minutes=1), end_time=end),
                               value=monitoring_v3.TypedValue(**value))


def distribution(count: int, mean: float) -> dict:
    return {"distribution_value": {"count": count, "mean": mean}}


@pytest.mark.parametrize(("value", "expected"), [
    ({"int64_value": 7}, 7.0),
    ({"int64_value": 0}, 0.0),
    ({"double_value": 0.25}, 0.25),
    ({"bool_value": False}, False),
    ({"bool_value": True}, True),
    ({"string_value": "RUNNING"}, "RUNNING"),
    (distribution(3, 120.5), 120.5),
    (distribution(0, 0.0), None),            # no samples, no mean
])
def test_each_value_type(value, expected):
    typed = monitoring_v3.TypedValue(**value)
    assert point_value(typed) == expected
    assert point_value(monitoring_v3.TypedValue.pb(typed)) == expected
    assert type(point_value(typed)) is type(expected)


def test_a_series_from_proto_plus_and_from_plain_protobuf_is_the_same():
    late = T0 + timedelta(microseconds=123456, seconds=1)
    proto = monitoring_v3.TimeSeries(
        metric={"type": "run.googleapis.com/request_count", "labels": {"response_code_class": "5xx"}},
        resource={"type": "cloud_run_revision", "labels": {"revision_name": "backend-00002-xyz"}},
        points=[point(late, int64_value=3), point(T0, int64_value=5), point(T0 - timedelta(minutes=1), **distribution(0, 0))])

    expected = MetricSeries(metric_labels={"response_code_class": "5xx"},
                            resource_labels={"revision_name": "backend-00002-xyz"},
                            points=(MetricPoint(end=T0, value=5.0), MetricPoint(end=late, value=3.0)))
    assert series_from_proto(proto) == expected
    assert series_from_proto(monitoring_v3.TimeSeries.pb(proto)) == expected
    assert series_from_proto(proto).points[1].end.tzinfo is not None


def test_timestamps_far_from_now():
    for end in (datetime(1970, 1, 1, 0, 0, 1, 999999, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc)):
        [decoded] = series_from_proto(monitoring_v3.TimeSeries(points=[point(end, int64_value=1)])).points
        assert decoded.end == end


# --- the columns against a plain decoding, point by point ------------------------------------------


def plain(proto) -> MetricSeries:
    """The plain decoding: one MetricPoint per point with a value, a stable sort by end time."""
    proto = monitoring_v3.TimeSeries.pb(proto)
    points = [MetricPoint(end=p.interval.end_time.ToDatetime(tzinfo=timezone.utc), value=point_value(p.value))
              for p in proto.points if point_value(p.value) is not None]
    points.sort(key=lambda p: p.end)
    return MetricSeries(metric_labels=dict(proto.metric.labels), resource_labels=dict(proto.resource.labels),
                        points=tuple(points))


VALUES = ({"int64_value": 4}, {"double_value": 0.5}, {"bool_value": True}, {"string_value": "UP"},
          distribution(2, 9.5), distribution(0, 0.0))


@pytest.mark.parametrize("seed", range(40))
def test_random_answers_decode_as_the_plain_decoding(seed):
    """Reversed (as Monitoring lists them), ordered and shuffled points; repeated end times with
    different values; sub-microsecond nanos; one value type per series or several."""
    import random

    rng = random.Random(seed)
    kinds = rng.choice((VALUES[:1], VALUES[1:2], VALUES[4:6], VALUES))
    ends = [T0 - timedelta(minutes=rng.randrange(30)) + timedelta(microseconds=rng.choice((0, 0, 7)),
                                                                       seconds=rng.choice((0, 0, 1)))
            for _ in range(rng.randrange(60))]
    order = rng.choice(("reversed", "ordered", "shuffled"))
    ends.sort(reverse=order == "reversed")
    if order == "shuffled":
        rng.shuffle(ends)
    points = [point(end, **rng.choice(kinds)) for end in ends]
    proto = monitoring_v3.TimeSeries(metric={"labels": {"response_code": "503"}},
                                     resource={"labels": {"revision_name": "r"}}, points=points)
    raw = monitoring_v3.TimeSeries.pb(proto)
    for p in raw.points:
        if rng.random() < 0.2:   # nanos beyond the microsecond: cut toward zero
            p.interval.end_time.nanos = p.interval.end_time.nanos + rng.randrange(1000)
    got, expected = series_from_proto(raw), plain(proto)
    assert got == expected
    assert [type(v) for v in got.values] == [type(v) for v in expected.values]
    assert got.points == expected.points


def test_equal_end_times_keep_the_answers_order():
    proto = monitoring_v3.TimeSeries(points=[point(T0, int64_value=1), point(T0, int64_value=2),
                                             point(T0 - timedelta(minutes=1), int64_value=3)])
    assert series_from_proto(proto).values == (3.0, 1.0, 2.0)


def test_columns_must_agree():
    with pytest.raises(ValueError, match="end times"):
        MetricSeries(end_us=(1, 2), values=(1.0,))


@pytest.mark.parametrize("odd", [{"double_value": 2.5}, {"double_value": 0.0}, distribution(0, 0.0), distribution(1, 3.0),
                                 {"string_value": "x"}, {"bool_value": False}, {}])
def test_a_point_of_another_case_among_integers_is_never_read_as_a_zero(odd):
    points = [point(T0 - timedelta(minutes=m), int64_value=m % 3) for m in range(10)]
    points.insert(4, point(T0 - timedelta(seconds=90), **odd))
    proto = monitoring_v3.TimeSeries(points=points)
    assert series_from_proto(proto) == plain(proto)
    doubles = monitoring_v3.TimeSeries(points=[point(T0, double_value=0.0), point(T0 - timedelta(minutes=1), **odd)])
    assert series_from_proto(doubles) == plain(doubles)


def test_points_built_from_the_columns_are_the_validated_models():
    series = MetricSeries(end_us=(0, 60_000_000), values=(1.5, "UP"))
    assert series.points == (MetricPoint(end=datetime(1970, 1, 1, tzinfo=timezone.utc), value=1.5),
                             MetricPoint(end=datetime(1970, 1, 1, 0, 1, tzinfo=timezone.utc), value="UP"))
    assert MetricSeries(points=series.points) == series
    assert series.points[0].model_dump() == {"end": datetime(1970, 1, 1, tzinfo=timezone.utc), "value": 1.5}


def _series(queue: str, *points: monitoring_v3.Point) -> monitoring_v3.TimeSeries:
    return monitoring_v3.TimeSeries(metric={"type": "custom.googleapis.com/q", "labels": {"queue": queue}},
                                    resource={"type": "global", "labels": {"project_id": "p"}}, points=list(points))


def test_the_parts_of_one_series_from_several_pages_are_one_series():
    """A FULL answer is paged by points (ListTimeSeriesRequest.page_size), so one series may come in
    parts, newest first on each page: joined by their labels, points oldest first, each once."""
    t0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    at = [t0 - timedelta(minutes=i) for i in range(5)]
    answer = [_series("a", point(at[0], int64_value=0), point(at[1], int64_value=1)),
              _series("b", point(at[0], double_value=9.5)),
              _series("a", point(at[2], int64_value=2)),
              _series("a", point(at[3], int64_value=3), point(at[4], int64_value=4))]
    result = result_from_series("q", answer)
    assert [s.metric_labels["queue"] for s in result.series] == ["a", "b"]
    whole = result.series[0]
    assert whole.values == (4.0, 3.0, 2.0, 1.0, 0.0) and isinstance(whole.values, Floats)
    assert whole == MetricSeries.model_validate({"metric_labels": {"queue": "a"},
                                                 "resource_labels": {"project_id": "p"},
                                                 "end_us": whole.end_us, "values": whole.values})
    assert list(whole.end_us) == sorted(int(t.timestamp() * 1_000_000) for t in at)
    assert result_from_series("q", [answer[0], answer[2], answer[3], answer[1]]) == result
