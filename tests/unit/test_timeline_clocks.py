"""Runwarden's lines read on Cloud Logging's clock when their writer's was minutes off
(shared/timeline/builder.py `_on_loggings_clock`): a table over writers, offsets and receipt times.
Pure: the builder reads pages from an in-memory answer, no Logging call."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.timeline.builder import build_timeline
from shared.timeline.entries import EntryPage, LoggedEntry

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
INCIDENT = "0.clocks"


class Pages:
    """ListLogEntries over a fixed list: Runwarden's lines for its filter, nothing for any other read."""

    def __init__(self, entries: list[LoggedEntry]) -> None:
        self.entries = sorted(entries, key=lambda e: e.timestamp)

    def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
        if "runwarden_incident" not in filter:
            return EntryPage()
        return EntryPage(entries=tuple(self.entries if order_by.endswith("asc") else reversed(self.entries)))


def line(step: str, at: datetime, received: datetime | None, writer: str = "w1", n: int = 0) -> LoggedEntry:
    details = {"step": step, "incident_id": INCIDENT, **({"writer": writer} if writer else {})}
    return LoggedEntry(insert_id=f"{step}-{writer}-{n}", timestamp=at, receive_timestamp=received,
                       log_id="run.googleapis.com/stdout", labels={"runwarden_incident": INCIDENT,
                                                                   "runwarden_step": step},
                       json_payload={"message": step, "runwarden": details}, text=step)


def shown(entries: list[LoggedEntry]) -> tuple[list[tuple[str, datetime]], list[str]]:
    timeline = build_timeline(INCIDENT, "demo-project", Pages(entries), T0 + timedelta(hours=1))
    return [(e.kind, e.at) for e in timeline.entries], timeline.notes


S = timedelta(seconds=1)


@pytest.mark.parametrize("offset, moved", [
    (timedelta(0), False),                    # received as written
    (timedelta(seconds=25), False),           # a slow delivery, within the tolerance: taken as written
    (timedelta(minutes=2), True),             # a clock 2 minutes behind
    (-timedelta(minutes=2), True),            # a clock 2 minutes ahead: received before it was "written"
])
def test_a_writers_lines_move_only_when_its_clock_is_off_beyond_the_tolerance(offset, moved):
    written = [T0 + 10 * S, T0 + 20 * S, T0 + 30 * S]
    rows, notes = shown([line(step, at, at + offset + delay, n=i) for i, (step, at, delay)
                         in enumerate(zip(("planned", "claimed", "applied"), written, (S, 3 * S, 2 * S)))])
    expected = [at + offset + S for at in written] if moved else written
    assert rows == list(zip(("planned", "claimed", "applied"), expected)), rows
    assert any("clock" in n for n in notes) is moved, notes


def test_lines_of_no_writer_or_no_receipt_are_taken_as_written():
    rows, notes = shown([line("planned", T0, T0 + timedelta(minutes=5), writer=""),
                         line("claimed", T0 + S, None, writer="w2")])
    assert rows == [("planned", T0), ("claimed", T0 + S)] and not any("clock" in n for n in notes), notes


def test_two_instances_minutes_apart_read_in_the_order_logging_received_them():
    """w1's clock is 3 minutes behind: its `applied` (received at 12:01:35) came after w2's
    `in_progress` (12:01:20), though its own time says 11:58:35."""
    behind = timedelta(minutes=3)
    rows, notes = shown([line("claimed", T0 + 75 * S - behind, T0 + 75 * S, writer="w1"),
                         line("applied", T0 + 95 * S - behind, T0 + 95 * S, writer="w1"),
                         line("in_progress", T0 + 80 * S, T0 + 80 * S, writer="w2")])
    assert [k for k, _ in rows] == ["claimed", "in_progress", "applied"], rows
    clocks = [n for n in notes if "clock" in n]
    assert len(clocks) == 1 and "3 min 00 s behind" in clocks[0], notes
