"""A timeline whose rows span more than one UTC date dates every time its notes cite (words.spans_days,
words.stamp), as its rows are dated (words.dated): a time of day alone names two moments there. Runwarden's
write at 23:59 left unjudged, the verdict on another at 00:05, and a person's change at 00:02 were cited as
times of day, which the reader could not place against the rows (each dated) nor against each other.

The builder test reads lines written by the product's own writers (tests/unit/test_timeline_verdict_keys.py's
helpers), moved to just before midnight; no Logging call."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.timeline import derive
from shared.timeline.builder import build_timeline
from shared.timeline.classify import Step
from shared.timeline.model import ActorKind, Milestone, Milestones, Source
from shared.timeline.words import spans_days
from shared.timeline.writer import Timeline

from tests.unit.test_timeline import _row, _rows
from tests.unit.test_timeline_verdict_keys import (INCIDENT, KEY_S, PROJECT, RESOURCE, ROLLBACK, SCALE, T0, Line,
                                                   Pages, alert_write, approve_write, entries, verdict)

LATE = datetime(2026, 11, 26, 23, 55, tzinfo=timezone.utc)     # minute 0 of the spec below: 5 minutes to midnight


def _opened(at: datetime) -> list[Line]:
    return [(0.2, "on_alert", lambda: Timeline(INCIDENT, "alert").step(
        "received", f"alert {INCIDENT} (open)", resource=RESOURCE, state="open", started_at=int(at.timestamp())))]


def _built(spec: list[Line], start: datetime):
    """The timeline of `spec`, its minute 0 at `start` (entries() writes them from T0: moved as a whole)."""
    shift = start - T0
    moved = [e.model_copy(update={"timestamp": e.timestamp + shift, "receive_timestamp": e.receive_timestamp + shift})
             for e in entries(spec)]
    return build_timeline(INCIDENT, PROJECT, Pages(INCIDENT, moved), start + timedelta(hours=1))


# An earlier write verified after a later one landed (test_timeline_verdict_keys' first case): the scale-up at
# minute 2, the approved rollback at 4, the scale-up's verification at 10.
TWO_WRITES = (_opened(LATE) + alert_write(2, SCALE) + approve_write(4, ROLLBACK)
              + [verdict(10, "verified", KEY_S, "scale_connector")])


@pytest.mark.parametrize("start, said", [
    (LATE, ["Runwarden's write at 2026-11-26 23:59:00Z (rollback_traffic applied) has no verification",
            "Runwarden's write at 2026-11-26 23:57:00Z (scale_connector applied) was verified, but its write at "
            "2026-11-26 23:59:00Z"]),
    # The control: the same lines at noon, one day's times, said by time of day.
    (T0, ["Runwarden's write at 12:04:00Z (rollback_traffic applied) has no verification",
          "Runwarden's write at 12:02:00Z (scale_connector applied) was verified, but its write at 12:04:00Z"]),
], ids=["across midnight", "within a day"])
def test_the_notes_on_runwardens_writes_are_dated_across_midnight(start, said):
    spec = TWO_WRITES if start == LATE else _opened(T0) + TWO_WRITES[1:]
    timeline = _built(spec, start)

    writes = [n for n in timeline.notes if n.startswith("Runwarden's write at")]
    for words in said:
        assert any(words in n for n in writes), (words, writes)
    assert len(writes) == len(said), writes


def _across(*spec: tuple[float, str]):
    """_rows' rows, moved so that their minute 0 is LATE (5 minutes to midnight)."""
    rows = _rows(*spec)
    shift = LATE - rows[0].at + timedelta(minutes=spec[0][0])
    for row in rows:
        row.at += shift
    return rows


@pytest.mark.parametrize("rows, expected", [
    (_rows((0.5, "alert_opened"), (10, "person:deploy")), False),
    (_across((0.5, "alert_opened"), (10, "person:deploy")), True),
    ([], False),
], ids=["one day", "a row past midnight", "no rows"])
def test_a_timeline_spans_days_when_its_rows_do(rows, expected):
    assert spans_days(rows) is expected


def test_a_persons_changes_are_dated_across_midnight():
    rows = _across((0.5, "alert_opened"), (3, "person:deploy"), (7, "person:traffic_change"))
    m = Milestones(onset=Milestone(at=LATE, what="onset"))
    days = spans_days(rows)

    [note] = derive.unhelped_changes(rows, m, LATE + timedelta(minutes=9), days=days)
    assert "(the first at 2026-11-26 23:58:00Z by" in note and "(the last, at 2026-11-27 00:02:00Z," in note, note


def test_an_unfinished_attempt_and_a_pin_are_dated_across_midnight():
    def step(at: datetime, name: str, **details) -> Step:
        return Step(at=at, step=name, trigger="alert", message=name, severity="INFO", details=details,
                    function="on_alert", insert_id=name)

    planned = step(LATE + timedelta(minutes=3), "planned", action="rollback_traffic",
                   params={"target": "backend", "to_revision": "backend-00001-abc"})
    applied = step(LATE + timedelta(minutes=4), "applied", status="applied")
    moved = _row(LATE + timedelta(minutes=8), Source.AUDIT, "traffic_change", ActorKind.PERSON)
    [pin] = [f for f in derive.follow_ups([planned, applied], [moved], days=True) if "backend-00001-abc" in f.text]
    assert "at 2026-11-26 23:59:00Z, and the service was changed since (2026-11-27 00:03:00Z," in pin.text, pin.text

    claimed = step(LATE + timedelta(minutes=6), "claimed")
    [note] = derive.follow_ups([planned, claimed], [], days=True)
    assert "claimed line of 2026-11-27 00:01:00Z" in note.text, note.text
