"""Times as Cloud Logging holds them: Runwarden's lines read on Logging's clock when their writer's was
minutes off (shared/timeline/builder.py `_on_loggings_clock`), a table over writers, offsets and receipt
times; lines that arrived late; minutes past the request log's retention.
Pure: the builder reads pages from an in-memory answer, no Logging call."""
from __future__ import annotations

import re
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
MIN = timedelta(minutes=1)


@pytest.mark.parametrize("offset, prompt_beside, moved, noted", [
    (timedelta(0), None, False, False),                 # received as written
    (timedelta(seconds=25), None, False, False),        # a slow delivery, within the tolerance: taken as written
    (-timedelta(minutes=2), None, True, True),          # a clock 2 minutes ahead: received before it was "written"
    # 2 minutes late, and no other writer to compare with: a clock 2 minutes behind, or lines that reached
    # Logging late ("late arriving log entries", TailLogEntriesRequest.buffer_window): shown as written,
    # and said
    (timedelta(minutes=2), None, False, True),
    # 2 minutes late while another instance's lines reached Logging at once: that clock is behind
    (timedelta(minutes=2), timedelta(seconds=25), True, True),
    # the other instance's lines 4 minutes after these: Logging was not delaying entries then either
    (timedelta(minutes=2), timedelta(minutes=4), True, True),
    # an hour apart: nothing to compare with
    (timedelta(minutes=2), timedelta(hours=1), False, True),
])
def test_a_writers_lines_move_only_when_its_clock_is_shown_to_be_off(offset, prompt_beside, moved, noted):
    written = [T0 + 10 * S, T0 + 20 * S, T0 + 30 * S]
    entries = [line(step, at, at + offset + delay, n=i) for i, (step, at, delay)
               in enumerate(zip(("planned", "claimed", "applied"), written, (S, 3 * S, 2 * S)))]
    beside = T0 + offset + prompt_beside if prompt_beside else None
    rows, notes = shown(entries + ([line("in_progress", beside, beside, writer="w2")] if beside else []))
    expected = [at + offset + S for at in written] if moved else written
    assert [r for r in rows if r[0] != "in_progress"] == list(zip(("planned", "claimed", "applied"), expected)), rows
    assert any("clock" in n for n in notes) is noted, notes


def test_a_batch_that_reached_logging_late_stays_at_its_own_times_and_runwardens_write_stays_its_own():
    """on_alert wrote its rollback's lines at 12:01:10-12:01:35 on a sound clock; Cloud Logging received
    them together at 12:06:00. Moved by the delay, the claim and the write were set minutes after
    Runwarden's own UpdateService (12:01:30 in Cloud Run's audit log, Google's clock), which then read
    as a person's change, acting before Runwarden."""
    from shared.timeline.entries import AuditInfo

    late = T0 + timedelta(minutes=6)
    resource = {"project_id": "demo-project", "location": "us-central1", "service_name": "backend"}
    steps = [line("received", T0 + 10 * S, late, n=0), line("planned", T0 + 70 * S, late, n=1),
             line("claimed", T0 + 75 * S, late, n=2), line("applied", T0 + 95 * S, late, n=3)]
    steps[0].json_payload["runwarden"]["resource"] = resource
    steps[1].json_payload["runwarden"]["action"] = "rollback_traffic"
    own = LoggedEntry(insert_id="audit-1", timestamp=T0 + 90 * S, log_id="cloudaudit.googleapis.com/activity",
                      audit=AuditInfo(service_name="run.googleapis.com",
                                      method_name="google.cloud.run.v2.Services.UpdateService",
                                      resource_name="projects/demo-project/locations/us-central1/services/backend",
                                      principal="runwarden@demo-project.iam.gserviceaccount.com",
                                      request={"updateMask": "traffic"}))

    class WithAudit(Pages):
        def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
            if "cloudaudit" in filter:
                return EntryPage(entries=(own,))
            return super().read_page(project, filter, page_size=page_size, order_by=order_by)

    timeline = build_timeline(INCIDENT, "demo-project", WithAudit(steps), T0 + timedelta(hours=1))

    assert [(e.kind, e.at) for e in timeline.entries if e.source.value == "runwarden"] == [
        ("received", T0 + 10 * S), ("planned", T0 + 70 * S), ("claimed", T0 + 75 * S), ("applied", T0 + 95 * S)]
    [change] = [e for e in timeline.entries if e.source.value == "audit"]
    assert change.actor.kind.value == "runwarden" and not timeline.people, change
    assert any("late" in n and "4 min 25 s" in n for n in timeline.notes), timeline.notes


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


def test_minutes_past_the_request_logs_retention_are_not_known_and_the_onset_is_not_claimed():
    """A postmortem built 30 days after the incident: the request log (the _Default bucket, 30 days by
    default) has deleted the first minutes of errors. Padded with zeros, the series showed the errors
    starting where the retention cut them, a TTD of 2 minutes from an onset that was not the onset."""
    from datetime import timedelta as td

    now = T0 + td(days=30, minutes=5)          # the retention edge is T0 + 5 min
    edge = now - td(days=30)
    resource = {"project_id": "demo-project", "location": "us-central1", "service_name": "backend"}
    opened = line("received", edge + td(minutes=2), None, n=0)
    opened.json_payload["runwarden"].update(state="open", started_at=(edge + td(minutes=2)).timestamp(),
                                            resource=resource)
    failed = [LoggedEntry(insert_id=f"r{i}", timestamp=edge + td(minutes=i // 3, seconds=i % 3),
                          log_id="run.googleapis.com/requests", resource_type="cloud_run_revision",
                          resource_labels={"service_name": "backend"}, http_status=503) for i in range(30)]

    class WithRequests(Pages):
        def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
            if "httpRequest.status" in filter:
                return EntryPage(entries=tuple(failed))
            return super().read_page(project, filter, page_size=page_size, order_by=order_by)

    timeline = build_timeline(INCIDENT, "demo-project", WithRequests([opened]), now)

    assert timeline.errors.minutes[0].minute == edge, timeline.errors.minutes[0]
    assert timeline.milestones.onset is None and timeline.durations.ttd_seconds is None
    assert any("30 days" in n and "not known" in n for n in timeline.notes), timeline.notes


def test_an_incident_longer_than_the_window_says_what_was_not_read_as_a_follow_up():
    """Runwarden's lines span 30 hours (the alert opened, a rollback, the alert closed the next day):
    people's changes and errors are read over the first 24 hours only. The note named the cut as
    "1 day, 0:00:00" and was no follow-up, while "no change by a person" read as complete."""
    from datetime import timedelta as td

    resource = {"project_id": "demo-project", "location": "us-central1", "service_name": "backend"}
    opened, closed = line("received", T0, None, n=0), line("received", T0 + td(hours=30), None, n=1)
    opened.json_payload["runwarden"].update(state="open", started_at=T0.timestamp(), resource=resource)
    closed.json_payload["runwarden"].update(state="closed", ended_at=(T0 + td(hours=30)).timestamp())
    for entry in (opened, closed):
        entry.labels["runwarden_trigger"] = "alert"

    timeline = build_timeline(INCIDENT, "demo-project", Pages([opened, closed]), T0 + td(hours=31))

    cut = [f.text for f in timeline.follow_ups if "24 h" in f.text]
    assert cut and "2026-11-27 11:30" in cut[0] and "not read" in cut[0], timeline.follow_ups
    assert "day," not in " ".join(timeline.notes)


# --- lines stamped in the future: the window never inverts, and says what it left out -----------------


NOW = T0 + timedelta(hours=1)
H = timedelta(hours=1)


def _incident_lines(first: datetime, received: timedelta | None, writer: str) -> list[LoggedEntry]:
    """An alert's steps as an instance writes them from `first` on (received `received` after `first`)."""
    lines = [line(step, first + i * S, first + received + i * S if received is not None else None, writer=writer,
                  n=i) for i, step in enumerate(("received", "planned", "claimed", "applied"))]
    lines[0].json_payload["runwarden"]["resource"] = {"project_id": "demo-project", "location": "us-central1",
                                                      "service_name": "backend"}
    return lines


def _windows(timeline) -> list[tuple[str, str]]:
    return [pair for r in timeline.reads for pair in re.findall(r'timestamp>="([^"]+)" AND timestamp<="([^"]+)"',
                                                                r.filter)]


@pytest.mark.parametrize("lines, window, said", [
    # an earlier version's lines (no writer) 2 h ahead, no receipt time: nothing places the incident. The
    # window began 90 minutes after it ended: every read of changes and errors asked Logging for nothing.
    (_incident_lines(NOW + 2 * H, None, ""), (NOW - H, NOW), "no other time places the incident"),
    # 20 h ahead (Logging keeps up to a day ahead), received an hour ago: framed by Logging's receipt
    (_incident_lines(NOW + 20 * H, -21 * H, ""), (NOW - H - 30 * MIN, NOW - 30 * MIN + 3 * S),
     "4 of them frame the window at the time Cloud Logging received them"),
    # the incident three days ago, and one earlier version's line 20 h ahead: the window stretched from
    # the incident to now, past 24 hours, and its errors were cut to the 24 hours after it began
    (_incident_lines(NOW - 72 * H, S, "w1") + [line("in_progress", NOW + 20 * H, None, writer="", n=9)],
     (NOW - 72 * H - 30 * MIN, NOW - 72 * H + 30 * MIN + 3 * S), "framed by the other lines' times"),
    # within the clock tolerance: taken as written, nothing said
    (_incident_lines(NOW + 10 * S, None, ""), (NOW + 10 * S - 30 * MIN, NOW), None),
])
def test_lines_stamped_in_the_future_never_invert_the_window(lines, window, said):
    timeline = build_timeline(INCIDENT, "demo-project", Pages(lines), NOW)

    assert (timeline.window_start, timeline.window_end) == window
    assert all(start <= end for start, end in _windows(timeline)), _windows(timeline)
    ahead = [n for n in timeline.notes if "stamped after this timeline was built" in n]
    assert (said in ahead[0] if said else not ahead), timeline.notes
    assert not any("spans more than" in n for n in timeline.notes), timeline.notes
    # the window a guess: said as a cut, an open follow-up
    assert any("stamped after" in f.text for f in timeline.follow_ups) is (said == "no other time places the incident")
    assert len([e for e in timeline.entries if e.source.value == "runwarden"]) == len(lines)   # all shown
