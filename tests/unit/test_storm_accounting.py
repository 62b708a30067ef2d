"""The storm's accounting of the function's timeline: handling spans paired by incident, and the
most deliveries handled at once (what bench/storm.py reports as the pushes the emulator had open)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bench.storm import _handling_spans, _handling_times, most_in_flight

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def step(seconds: float, name: str, incident: str, **fields: str) -> dict:
    return {"time": (T0 + timedelta(seconds=seconds)).isoformat(),
            "runwarden": {"step": name, "incident_id": incident, **fields}}


def delivery(start: float, end: float, incident: str, status: str) -> list[dict]:
    return [step(start, "received", incident, message_id=f"m-{incident}-{start}"),
            step(end, "outcome_published", incident, status=status)]


def test_spans_pair_each_received_with_its_incidents_outcome_by_status():
    lines = sorted(delivery(0.0, 1.5, "a", "applied") + delivery(0.1, 0.2, "b", "skipped")
                   + delivery(1.6, 1.7, "a", "skipped"), key=lambda line: line["time"])

    times = _handling_times(_handling_spans(lines))

    assert {status: sorted(round(t, 6) for t in ts) for status, ts in times.items()} == {
        "applied": [1.5], "skipped": [0.1, 0.1]}


def test_a_received_step_without_message_id_is_not_a_delivery():
    lines = [step(0.0, "received", "a"), step(0.5, "outcome_published", "a", status="skipped")]

    assert _handling_spans(lines) == {}


def test_most_in_flight_counts_overlapping_spans():
    lines = sorted(delivery(0.0, 1.0, "a", "applied") + delivery(0.5, 1.5, "b", "applied")
                   + delivery(0.6, 0.7, "c", "skipped") + delivery(2.0, 3.0, "d", "applied"),
                   key=lambda line: line["time"])

    assert most_in_flight(_handling_spans(lines)) == 3


def test_a_span_ending_when_the_next_begins_is_not_counted_as_overlap():
    lines = delivery(0.0, 1.0, "a", "applied") + delivery(1.0, 2.0, "b", "applied")

    assert most_in_flight(_handling_spans(lines)) == 1
    assert most_in_flight({}) == 0
