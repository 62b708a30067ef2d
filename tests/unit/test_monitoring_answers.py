"""The Monitoring stand-in's answers are the same bytes as its plain definitions give.

`_align` finds a period's points by bisecting the series' points ordered by end and keeps each
period's value on the series, percentiles take a layout's bucket bounds computed once, and
`_to_proto` builds the answer on the raw protobuf with timestamps kept per instant. Here
the same requests are answered a second time with the plain definitions put back (every point
filtered per period, the bounds computed per call, the answer built with proto-plus's constructors)
and the two answers compared byte for byte, errors included: every aligner and reducer the stand-in
implements, over every metric the scenarios seed, for windows that start and end on, between and
around the points; then the same requests once more, in the other order, from what was kept.
"""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from google.cloud import monitoring_v3

from sandbox.inprocess import unstarted_standins
from sandbox.scenarios import resolve_scenario, seed
from sandbox.standins import monitoring as m
from sandbox.standins.base import ApiError

ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
Aligner, Reducer = monitoring_v3.Aggregation.Aligner, monitoring_v3.Aggregation.Reducer


def _plain_align(series, agg, start, end):
    m._check_aligner(agg, series)
    values = {}
    out_type = m._aligned_value_type(agg.aligner, series.value_type)
    for period_end in m._period_ends(start, end, agg.period):
        lower = period_end - agg.period if start is None else max(period_end - agg.period, start)
        in_period = sorted(((p.end, p.value) for p in series.points if lower < p.end <= period_end),
                           key=lambda item: item[0])
        if in_period:
            values[period_end], out_type = m._align_value(agg.aligner, in_period, agg.period.total_seconds(),
                                                          series.value_type)
    kind = "DELTA" if agg.aligner in (Aligner.ALIGN_DELTA, Aligner.ALIGN_SUM) and series.kind == "DELTA" else "GAUGE"
    return m._Aligned(series, values, kind, out_type)


def _plain_typed_value(value, value_type):
    field = {"BOOL": "bool_value", "INT64": "int64_value", "DOUBLE": "double_value",
             "STRING": "string_value"}.get(value_type, "distribution_value")
    cast = {"BOOL": bool, "INT64": int, "DOUBLE": float, "STRING": str}.get(value_type, lambda v: v)
    return monitoring_v3.TypedValue(**{field: cast(value)})


def _plain_to_proto(series, kind, value_type, points, with_points):
    points = sorted(points, key=lambda p: p[1], reverse=True)
    proto = monitoring_v3.TimeSeries(
        metric={"type": series.metric_type, "labels": dict(series.metric_labels)},
        resource={"type": series.resource_type, "labels": dict(series.resource_labels)},
        metric_kind=m._Kind.Value(kind), value_type=m._ValueType.Value(value_type))
    if with_points:
        proto.points = [monitoring_v3.Point(interval=monitoring_v3.TimeInterval(start_time=s or e, end_time=e),
                                            value=_plain_typed_value(v, value_type)) for s, e, v in points]
    return proto


def _answer(standin, request):
    try:
        return monitoring_v3.ListTimeSeriesResponse.serialize(standin._list_time_series(request))
    except ApiError as err:
        return ("error", err.code, err.message)


def _requests(standin):
    kinds = {(s.project, s.metric_type, s.resource_type) for s in standin.series}
    aggregations = [(Aligner.ALIGN_NONE, Reducer.REDUCE_NONE, [])]
    aggregations += [(aligner, Reducer.REDUCE_NONE, []) for aligner in m._ALIGNERS_SUPPORTED if aligner != Aligner.ALIGN_NONE]
    aggregations += [(aligner, reducer, group_by) for aligner in (Aligner.ALIGN_DELTA, Aligner.ALIGN_PERCENTILE_99)
                     for reducer in m._REDUCERS_SUPPORTED for group_by in ([],)]
    aggregations.append((Aligner.ALIGN_DELTA, Reducer.REDUCE_SUM, ["resource.labels.service_name"]))
    windows = [(ANCHOR + timedelta(seconds=end), timedelta(seconds=length), period)
               for end in (0, 301, 5400) for length, periods in ((180, (60,)), (3600, (60, 300)))
               for period in periods]
    for (project, metric_type, resource_type), (aligner, reducer, group_by), (end, length, period) in itertools.product(
            sorted(kinds), aggregations, windows):
        request = monitoring_v3.ListTimeSeriesRequest(
            name=f"projects/{project}", filter=f'metric.type = "{metric_type}" AND resource.type = "{resource_type}"',
            interval=monitoring_v3.TimeInterval(start_time=end - length, end_time=end),
            view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL)
        if aligner != Aligner.ALIGN_NONE:
            request.aggregation = monitoring_v3.Aggregation(
                alignment_period=timedelta(seconds=period), per_series_aligner=aligner,
                cross_series_reducer=reducer, group_by_fields=group_by)
        elif period != 60:
            continue
        yield request


@pytest.mark.parametrize("scenario", ["bad_revision", "connector_saturation"])
def test_the_answers_are_those_of_the_plain_definitions(monkeypatch, scenario):
    standins = unstarted_standins()
    seed(standins, resolve_scenario(scenario), ANCHOR)
    standin = standins.monitoring
    requests = list(_requests(standin))
    fast = [_answer(standin, request) for request in requests]
    # Again in the other order, every period now answered from what the series kept.
    assert [_answer(standin, request) for request in reversed(requests)] == fast[::-1]
    monkeypatch.setattr(m, "_align", _plain_align)
    monkeypatch.setattr(m, "_to_proto", _plain_to_proto)
    monkeypatch.setattr(m, "_layout_bounds", m.bucket_bounds)
    plain = [_answer(standin, request) for request in requests]
    assert fast == plain
    answered = [a for a in fast if isinstance(a, bytes)]
    with_points = sum(1 for a in answered if monitoring_v3.ListTimeSeriesResponse.deserialize(a).time_series)
    assert with_points > 50 and len(answered) < len(fast)   # answers with points, and refusals, compared
