"""What the Logging and Monitoring stand-ins keep between requests, and that it changes no answer.

The Logging stand-in parses a filter once per text (`_parsed`): the service log query runs to some
10,000 characters and was parsed again for every request. The Monitoring stand-in aligns a series
over a window once (`SeriesSeed.aligned_windows`): the same window is asked for with each reducer,
filter and page size. Both are pure functions of what they are kept by; here a refused filter is
still refused every time, and a kept alignment is the same values as a fresh one, never shared with
its caller."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from google.cloud import monitoring_v3

from sandbox.inprocess import unstarted_standins
from sandbox.scenarios import resolve_scenario, seed
from sandbox.standins import monitoring as m
from sandbox.standins.base import ApiError
from sandbox.standins.logging import EntrySeed, _flatten, entry_from_seed, log_name_for, parse_filter
from shared.diagnosis.log_signals import app_log_filter

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
Aligner, Reducer = monitoring_v3.Aggregation.Aligner, monitoring_v3.Aggregation.Reducer


def test_a_filter_is_parsed_once_per_text():
    text = app_log_filter("p", "orders", "us-central1", NOW - timedelta(minutes=30), NOW)
    assert parse_filter(text) is parse_filter(text)
    assert parse_filter(text) is not parse_filter(text + " ")   # another text, another tree


def test_the_kept_tree_answers_as_a_fresh_parse():
    from sandbox.standins.logging import _Parser

    text = app_log_filter("p", "orders", "us-central1", NOW - timedelta(minutes=30), NOW)
    entry = _flatten(entry_from_seed(EntrySeed(
        log_name=log_name_for("p", "run.googleapis.com/stderr"), resource_type="cloud_run_revision",
        resource_labels={"service_name": "orders", "location": "us-central1", "project_id": "p"},
        timestamp=NOW - timedelta(minutes=1), severity="ERROR", text="connection refused")), "p")
    parse_filter(text)
    assert parse_filter(text).matches(entry) == _Parser(text).parse().matches(entry)
    assert parse_filter(text) == _Parser(text).parse()


@pytest.mark.parametrize("text", ['severity >= "ERROR" AND (textPayload:"x"', "textPayload", 'a.b.c("x")'])
def test_a_refused_filter_is_refused_every_time(text):
    messages = []
    for _ in range(3):
        with pytest.raises(ApiError) as refused:
            parse_filter(text)
        messages.append(refused.value.message)
    assert len(set(messages)) == 1


def _seeded_series():
    standins = unstarted_standins()
    seed(standins, resolve_scenario("bad_revision"), NOW)
    return next(s for s in standins.monitoring.series if s.kind == "DELTA" and len(s.points) > 10)


def _aggregation(aligner=Aligner.ALIGN_DELTA, seconds=60):
    request = monitoring_v3.ListTimeSeriesRequest(aggregation=monitoring_v3.Aggregation(
        alignment_period=timedelta(seconds=seconds), per_series_aligner=aligner))
    return m._parse_aggregation(request)


def test_a_window_is_aligned_once(monkeypatch):
    series, agg = _seeded_series(), _aggregation()
    start, end = NOW - timedelta(minutes=30), NOW + timedelta(minutes=5)
    first = m._align(series, agg, start, end)
    assert first.values
    monkeypatch.setattr(m, "_period_ends", lambda *_: pytest.fail("the window's periods walked again"))
    again = m._align(series, agg, start, end)
    assert (again.values, again.kind, again.value_type) == (first.values, first.kind, first.value_type)


def test_a_kept_window_is_the_fresh_one_and_not_shared():
    series = _seeded_series()
    windows = [(NOW - timedelta(minutes=minutes), NOW + timedelta(seconds=seconds))
               for minutes in (3, 30, 60) for seconds in (0, 61, 300)]
    for aligner, seconds in ((Aligner.ALIGN_DELTA, 60), (Aligner.ALIGN_RATE, 300), (Aligner.ALIGN_MAX, 60)):
        agg = _aggregation(aligner, seconds)
        for start, end in windows:
            kept = m._align(series, agg, start, end)
            fresh = m._aligned_values(series, agg, start, end)
            assert (kept.values, kept.value_type) == fresh
            kept.values.clear()   # a caller's copy: what is kept is untouched
            assert m._align(series, agg, start, end).values == fresh[0]
