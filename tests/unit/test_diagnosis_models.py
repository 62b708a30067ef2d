"""Models built on diagnosis's hot path without validation are exactly the validated ones: an
evidence item a rule cites (`cited`), and a series' end times known to be oldest first
(`OldestFirst`), which lets diagnosis skip checking their order."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.diagnosis.evidence import (EvidenceItem, Floats, MetricSeries, OldestFirst, all_floats, ascending, at_micros,
                                       cited, decoded)
from shared.diagnosis.facts import Points, Window

_VALUES = st.one_of(st.none(), st.booleans(), st.sampled_from([0, 1, 2, "yes", "false", 0.0, "", "x"]))


def _validated(source, query, observed, threshold, passed, role, about) -> EvidenceItem:
    fields = {"role": role} if role is not None else {}
    return EvidenceItem(source=source, query=query, observed=observed, threshold=threshold, passed=passed,
                        about=about, **fields)


def _same(a: EvidenceItem, b: EvidenceItem) -> None:
    assert a == b
    assert a.model_dump() == b.model_dump() and a.model_dump_json() == b.model_dump_json()
    assert a.model_fields_set == b.model_fields_set
    assert [type(v) for v in vars(a).values()] == [type(v) for v in vars(b).values()]


@pytest.mark.parametrize("passed", [True, False, None])
@pytest.mark.parametrize("role", [None, "supports", "refutes", "context"])
def test_a_cited_item_is_the_validated_item(passed, role):
    args = ("metric", "q", "observed", "threshold", passed, role, "bad_revision")
    _same(cited(*args), _validated(*args))


@settings(max_examples=300, deadline=None)
@given(source=st.sampled_from(["metric", "log", "api", "other", 3]), passed=_VALUES,
       role=st.sampled_from([None, "supports", "refutes", "context", "maybe"]),
       text=st.sampled_from(["", "a", 5, None]))
def test_cited_agrees_with_validation_on_any_values(source, passed, role, text):
    """Values validation would convert (1 for True, "yes") or refuse (a source or role not allowed,
    a number for a text) take the validated path: the same item, or the same refusal."""
    args = (source, "q", text, "t", passed, role, "about")
    try:
        expected = _validated(*args)
    except ValidationError as refused:
        with pytest.raises(ValidationError) as raised:
            cited(*args)
        assert raised.value.errors() == refused.errors()
        return
    _same(cited(*args), expected)


def test_a_fast_path_that_skips_a_check_is_caught():
    """The comparison can fail: an item built with a role `_role_from_passed` would not give differs."""
    wrong = decoded(EvidenceItem, {"source": "log", "query": "q", "observed": "o", "threshold": "", "passed": True,
                                   "role": "context", "about": ""}, set(EvidenceItem.model_fields))
    assert wrong != _validated("log", "q", "o", "", True, None, "")


# --- end times known to be oldest first -------------------------------------------------------------

_MINUTE = 60_000_000


def _series(end_us) -> MetricSeries:
    return MetricSeries(end_us=tuple(end_us), values=tuple(float(i) for i in range(len(end_us))))


@pytest.mark.parametrize("end_us, marked", [
    ((), True), ((5,), True), ((1, 2, 3), True), ((1, 1, 2), True),     # repeated minutes are in order
    ((2, 1), False), ((1, 3, 2), False),
])
def test_a_validated_series_says_whether_its_end_times_are_oldest_first(end_us, marked):
    series = _series(end_us)
    assert (type(series.end_us) is OldestFirst) is marked
    assert series.end_us == end_us and ascending(series.end_us) is marked
    again = MetricSeries.model_validate_json(series.model_dump_json())
    assert again == series and type(again.end_us) is type(series.end_us)
    assert series.model_dump_json() == _series(list(end_us)).model_dump_json()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=5), max_size=8))
def test_a_window_is_the_same_whether_the_order_is_known_or_checked(minutes):
    """Points built on a plain tuple check the order themselves; on an OldestFirst column they
    trust it: every window fact is the same either way (and equals a plain scan)."""
    end_us = [m * _MINUTE for m in minutes]
    values = [float(i) for i in range(len(end_us))]
    plain = MetricSeries.model_construct(end_us=tuple(end_us), values=tuple(values))
    validated = MetricSeries(end_us=tuple(end_us), values=tuple(values))
    for low in range(-1, 6):
        for high in range(low, 7):
            window = Window(at_micros(low * _MINUTE), at_micros(high * _MINUTE))
            scan = [v for at, v in zip(end_us, values) if low * _MINUTE < at <= high * _MINUTE]
            for series in (plain, validated):
                points = Points(series)
                assert points.values_in(window) == scan
                assert points.columns_in(window) == (points.ends_in(window), scan)
                assert points.total_in(window) == sum(scan)


def test_an_unordered_column_taken_as_ordered_is_caught():
    """The comparison can fail: a column marked oldest first when it is not cuts windows wrongly."""
    series = MetricSeries.model_construct(end_us=OldestFirst((3 * _MINUTE, _MINUTE)), values=(1.0, 2.0))
    window = Window(at_micros(0), at_micros(2 * _MINUTE))
    assert Points(series).values_in(window) != [2.0]


@settings(max_examples=300, deadline=None)
@given(st.integers(-62_135_596_800 * 10 ** 6, 253_402_300_799 * 10 ** 6 + 999_999))   # year 1 to year 9999
def test_a_minute_back_as_a_datetime_is_what_the_timedelta_constructor_makes(us):
    """at_micros multiplies a microsecond instead of building the timedelta from the keyword (six
    times cheaper): the same instant, exactly, and micros gives the integer back."""
    from datetime import timedelta

    from shared.diagnosis.evidence import _EPOCH, micros

    assert at_micros(us) == _EPOCH + timedelta(microseconds=us)
    assert micros(at_micros(us)) == us


@pytest.mark.parametrize("order", ["newest first", "oldest first", "shuffled"])
def test_the_monitoring_decoder_marks_its_columns_oldest_first(order):
    """Whatever the answer's order, the decoder sorts the points, and says so by the column's type."""
    from datetime import timedelta

    from google.cloud import monitoring_v3

    from shared.gcp.monitoring import series_from_proto

    start = at_micros(1_800_000_000 * 1_000_000)
    minutes = {"newest first": [3, 2, 1, 0], "oldest first": [0, 1, 2, 3], "shuffled": [2, 0, 3, 1]}[order]
    points = [monitoring_v3.Point(interval=monitoring_v3.TimeInterval(end_time=start + timedelta(minutes=m)),
                                  value=monitoring_v3.TypedValue(int64_value=m)) for m in minutes]
    series = series_from_proto(monitoring_v3.TimeSeries(points=points))
    assert type(series.end_us) is OldestFirst and list(series.end_us) == sorted(series.end_us)
    assert series.values == (0.0, 1.0, 2.0, 3.0)


# --- values known to be exact floats ----------------------------------------------------------------


@pytest.mark.parametrize("values, marked", [
    ((), True), ((1.0,), True), ((0.5, -0.0, 1e300), True),
    ((1,), True), ((1.0, 2), True),                    # validation makes a number a float
    ((True,), False), (("1.5",), False), ((1.0, "x", False), False),
])
def test_a_validated_series_says_whether_its_values_are_exact_floats(values, marked):
    series = MetricSeries(end_us=tuple(range(len(values))), values=values)
    assert (type(series.values) is Floats) is marked
    assert all_floats(series.values) is marked
    again = MetricSeries.model_validate_json(series.model_dump_json())
    assert again == series and type(again.values) is type(series.values)
    plain = MetricSeries.model_construct(end_us=series.end_us, values=tuple(series.values))
    assert series.model_dump_json() == plain.model_dump_json()


class _Subfloat(float):
    pass


def test_only_exact_floats_are_floats():
    assert all_floats(()) and all_floats((1.0, -0.0, float("inf")))
    assert not any(all_floats(v) for v in ((1,), (1.0, 2), (True,), ("1.5",), (_Subfloat(1.0),), (None,)))


def _bits(value) -> str:
    return repr(value) + type(value).__name__


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=5),
                          st.floats(allow_nan=False, width=64) | st.sampled_from([-0.0, 0.0, 1e308, -1e308, 0.1])),
                max_size=10))
def test_a_window_of_exact_floats_adds_up_to_the_same_bits(points):
    """On a Floats column a window's values are taken as they are, not through float(): every window
    fact is the same object for object, to the bit and the type (an empty window's total stays the
    int 0), as on the same values in a plain tuple."""
    points.sort(key=lambda p: p[0])
    end_us = tuple(m * _MINUTE for m, _ in points)
    values = tuple(v for _, v in points)
    marked = MetricSeries.model_construct(end_us=OldestFirst(end_us), values=Floats(values))
    plain = MetricSeries.model_construct(end_us=OldestFirst(end_us), values=values)
    assert Points(marked).floats and not Points(plain).floats
    for low in range(-1, 6):
        for high in range(low, 7):
            window = Window(at_micros(low * _MINUTE), at_micros(high * _MINUTE))
            a, b = Points(marked), Points(plain)
            assert _bits(a.total_in(window)) == _bits(b.total_in(window))
            assert list(map(_bits, a.values_in(window))) == list(map(_bits, b.values_in(window)))
            assert a.columns_in(window) == b.columns_in(window)


def test_a_column_wrongly_marked_floats_is_caught():
    """The mark matters: a str value (which float() reads) in a column marked Floats is not converted."""
    plain = MetricSeries.model_construct(end_us=OldestFirst((_MINUTE, 2 * _MINUTE)), values=("1.5", 2.0))
    marked = MetricSeries.model_construct(end_us=OldestFirst((_MINUTE, 2 * _MINUTE)), values=Floats(("1.5", 2.0)))
    window = Window(at_micros(0), at_micros(2 * _MINUTE))
    assert Points(plain).total_in(window) == 3.5
    with pytest.raises(TypeError):
        Points(marked).total_in(window)


@pytest.mark.parametrize("case", ["int64_value", "double_value", "mixed"])
def test_the_monitoring_decoder_marks_its_numeric_columns_floats(case):
    """A series read as one numeric column (int64 or double) is made of float(): marked Floats. A
    series mixing value cases is read point by point and is not."""
    from datetime import timedelta

    from google.cloud import monitoring_v3

    from shared.gcp.monitoring import series_from_proto

    start = at_micros(1_800_000_000 * 1_000_000)
    cases = {"int64_value": ["int64_value"] * 3, "double_value": ["double_value"] * 3,
             "mixed": ["int64_value", "string_value", "double_value"]}[case]
    raw = {"int64_value": 7, "double_value": 0.25, "string_value": "x"}
    points = [monitoring_v3.Point(interval=monitoring_v3.TimeInterval(end_time=start + timedelta(minutes=m)),
                                  value=monitoring_v3.TypedValue(**{c: raw[c]})) for m, c in enumerate(cases)]
    series = series_from_proto(monitoring_v3.TimeSeries(points=points[::-1]))
    assert (type(series.values) is Floats) is (case != "mixed")
    assert all_floats(series.values) is (case != "mixed")
