"""A service idle between its requests (a cron, a batch caller every 5 to 15 minutes): a minute with no
request is neither failing nor clean, so the onset, the recovery and the time to mitigate come from the
minutes with requests (shared/remediation/idle.py, shared/timeline/derive.py).

Runwarden's lines are written by the product's own step writer and lifted into entries as Cloud Run's
agent does (tests/unit/test_timeline_own_writes.py); the request log answers the builder's filters with
one entry per failed request, and Monitoring's request_count one point per minute with requests (Cloud
Run writes none for a minute without: shared/remediation/idle.py). In-memory answers, no Google call."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from shared.diagnosis.evidence import MetricQuery, MetricResult, MetricSeries
from shared.timeline.builder import build_timeline
from shared.timeline.entries import EntryPage, LoggedEntry
from tests.unit.test_timeline_own_writes import INCIDENT, KEY_A, PROJECT, RESOURCE, ROLLBACK, T0, lines, \
    verdict, write

_WINDOW = re.compile(r'timestamp>="([^"]+)" AND timestamp<="([^"]+)"')


def _instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


class World:
    """Runwarden's lines, the request log's failed requests and request_count's points, answered as the
    builder asks: its own lines by their label, the request log by its filter's time bounds and order."""

    def __init__(self, steps: list[LoggedEntry], minutes: dict[datetime, tuple[int, int]]) -> None:
        self.steps = steps
        self.minutes = minutes          # minute -> (requests, of them failed)
        self.errors = [LoggedEntry(insert_id=f"r{minute:%H%M}{i:03d}", timestamp=minute + timedelta(seconds=i),
                                   log_id="run.googleapis.com/requests", severity="ERROR",
                                   resource_type="cloud_run_revision",
                                   resource_labels={"service_name": "backend", "location": "us-central1"},
                                   http_status=503)
                       for minute, (_, failed) in sorted(minutes.items()) for i in range(failed)]

    def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
        if f'runwarden_incident="{INCIDENT}"' in filter and "NOT labels" not in filter:
            found = sorted(self.steps, key=lambda e: e.timestamp)
        elif "httpRequest.status>=500" in filter:
            start, end = (_instant(t) for t in _WINDOW.search(filter).groups())
            found = [e for e in self.errors if start <= e.timestamp <= end]
        else:
            return EntryPage()
        return EntryPage(entries=tuple(found if order_by.endswith("asc") else reversed(found)))

    def query(self, query: MetricQuery) -> MetricResult:
        """request_count aligned per minute (ALIGN_DELTA), summed: a point ends a minute after the minute it
        counts; the 5xx class alone when the query asks for it."""
        failed_only = query.labels.get("metric.labels.response_code_class") == "5xx"
        points = [{"end": minute + timedelta(minutes=1), "value": float(failed if failed_only else requests)}
                  for minute, (requests, failed) in sorted(self.minutes.items())
                  if query.start < minute + timedelta(minutes=1) <= query.end and (failed if failed_only else requests)]
        return MetricResult(query=f"request_count {query.labels}", series=(MetricSeries(points=points),) if points else ())


def cron(period: int, first_failing: datetime, failing: int, until: datetime, per_call: int = 30,
         every_minute: bool = False) -> dict[datetime, tuple[int, int]]:
    """A caller every `period` minutes (`per_call` requests in its minute), from two hours before the first
    failing call to `until`; `failing` calls from `first_failing` fail, every request of them. `every_minute`:
    a busy service, with requests in every minute besides (the control)."""
    out: dict[datetime, tuple[int, int]] = {}
    at = first_failing - timedelta(hours=2)
    while at <= until:
        if every_minute:
            out[at] = (per_call, 0)
        since = int((at - first_failing).total_seconds() // 60)
        if since % period == 0:
            bad = 0 <= since < failing * period
            out[at] = (per_call, per_call if bad else 0)
        at += timedelta(minutes=1)
    return out


def opened(started: datetime) -> list[tuple]:
    return [((started - T0).total_seconds() / 60 + 0.2, "alert", "received", f"alert {INCIDENT} (open)",
             {"resource": RESOURCE, "state": "open", "started_at": int(started.timestamp())})]


def closed(ended: datetime) -> list[tuple]:
    return [((ended - T0).total_seconds() / 60 + 0.3, "alert", "received", f"alert {INCIDENT} (closed)",
             {"resource": RESOURCE, "state": "closed", "ended_at": int(ended.timestamp())})]


@pytest.mark.parametrize("period", [5, 10, 15])
def test_a_service_idle_between_its_callers_recovers_and_fails_only_on_minutes_with_requests(period):
    """A cron calls the service every `period` minutes; three calls in a row fail from 12:00 (a bad deploy),
    the alert opens after the third, Runwarden rolls back two minutes later, and the next three calls are
    clean; the sweep verifies it after them (its bursts logic), the alert closes between. Before, the
    timeline counted only the 5xx per minute: the onset was the last failing call (the run "ended" in each
    idle gap), and the recovery the idle minutes right after the rollback, which no request had shown."""
    p = timedelta(minutes=period)
    started = T0 + 2 * p + timedelta(minutes=1)
    applied = started + timedelta(minutes=2)
    first_clean = T0 + 3 * p
    spec = (opened(started) + write((applied - T0).total_seconds() / 60, ROLLBACK)
            + closed(first_clean + timedelta(minutes=4))
            + [verdict((T0 + 5 * p - T0).total_seconds() / 60 + 2, "verified", KEY_A, "rollback_traffic")])
    built = T0 + 5 * p + timedelta(minutes=40)
    world = World(lines(spec), cron(period, T0, 3, built))

    timeline = build_timeline(INCIDENT, PROJECT, world, built, monitoring=world)
    m, d = timeline.milestones, timeline.durations

    assert m.onset is not None and m.onset.at == T0, (m.onset, timeline.notes)
    assert m.mitigation is not None and m.mitigation.at == applied, m.mitigation
    assert m.recovery is not None and m.recovery.at == first_clean, m.recovery
    assert (d.ttd_seconds, d.ttm_seconds, d.ttr_seconds) == (
        (started - T0).total_seconds(), (applied - T0).total_seconds(), (first_clean - T0).total_seconds())
    idle = [x for x in timeline.errors.minutes if x.idle]
    assert idle and all(x.requests == 0 and x.errors == 0 for x in idle)


@pytest.mark.parametrize("period", [10])
def test_a_failing_call_after_the_alert_closed_on_idle_minutes_is_no_recovery(period):
    """The rollback did not help: the next call fails too. The alert (a ratio over a window) closes in the
    idle minutes after it, and the call after the close fails again: neither the close nor the idle
    minutes are a recovery, and no recovery is shown before a call succeeds."""
    p = timedelta(minutes=period)
    started = T0 + 2 * p + timedelta(minutes=1)
    applied = started + timedelta(minutes=2)
    spec = opened(started) + write((applied - T0).total_seconds() / 60, ROLLBACK) + closed(T0 + 4 * p - timedelta(minutes=3))
    built = T0 + 4 * p + timedelta(minutes=8)
    world = World(lines(spec), cron(period, T0, 5, built))

    timeline = build_timeline(INCIDENT, PROJECT, world, built, monitoring=world)

    assert timeline.milestones.recovery is None, timeline.milestones.recovery
    assert timeline.milestones.onset.at == T0


def test_a_busy_service_reads_as_before():
    """Control: requests in every minute, so no minute is idle: the onset, the mitigation and the recovery
    (three error-free minutes after the rollback) are those the 5xx alone gave."""
    started, applied = T0 + timedelta(minutes=5), T0 + timedelta(minutes=7)
    minutes = {T0 + timedelta(minutes=i): (60, 40 if 0 <= i < 8 else 0) for i in range(-120, 60)}
    spec = (opened(started) + write(7, ROLLBACK) + closed(T0 + timedelta(minutes=12))
            + [verdict(16, "verified", KEY_A, "rollback_traffic")])
    built = T0 + timedelta(minutes=50)
    world = World(lines(spec), minutes)

    timeline = build_timeline(INCIDENT, PROJECT, world, built, monitoring=world)
    m = timeline.milestones

    assert (m.onset.at, m.mitigation.at, m.recovery.at) == (T0, applied, T0 + timedelta(minutes=8))
    assert not any(x.idle for x in timeline.errors.minutes)


def test_a_request_count_with_no_request_where_requests_failed_is_not_read_for_idle_minutes():
    """Monitoring's request_count has no point in the minutes the request log shows failing (a metric not
    written for the service, or read where it is not): it is not the service's demand, so no minute is read
    as idle from it (all of them would be, and the onset would read as not known), and a note says so."""
    started, applied = T0 + timedelta(minutes=5), T0 + timedelta(minutes=7)
    minutes = {T0 + timedelta(minutes=i): (60, 40 if 0 <= i < 8 else 0) for i in range(-120, 60)}
    spec = opened(started) + write(7, ROLLBACK) + [verdict(16, "verified", KEY_A, "rollback_traffic")]
    world = World(lines(spec), minutes)
    silent = World([], {})

    timeline = build_timeline(INCIDENT, PROJECT, world, T0 + timedelta(minutes=50), monitoring=silent)

    assert timeline.milestones.onset.at == T0 and timeline.milestones.recovery.at == T0 + timedelta(minutes=8)
    assert not any(x.idle for x in timeline.errors.minutes)
    assert any("request_count shows no request" in n for n in timeline.notes), timeline.notes
