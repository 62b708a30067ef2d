"""Errors already under way where the window begins: the request log read back to where they began
(shared/timeline/builder.py, `reach_back`). Pure: the builder reads pages from an in-memory Cloud
Logging that honours each filter's time range and order, no Logging call."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from shared.timeline.builder import build_timeline
from shared.timeline.entries import AuditInfo, EntryPage, LoggedEntry

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
M = timedelta(minutes=1)
INCIDENT = "0.slowburn"
PROJECT = "demo-project"
SERVICE = f"namespaces/{PROJECT}/services/backend"
_WINDOW = re.compile(r'timestamp>="([^"]+)" AND timestamp<="([^"]+)"')


def _rfc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Logging:
    """Runwarden's lines, the audit log and the request log, each read within the filter's time range."""

    def __init__(self, steps: list[LoggedEntry], audit: list[LoggedEntry], requests: list[LoggedEntry]) -> None:
        self.steps, self.audit, self.requests = steps, audit, requests

    def read_page(self, project, filter, *, page_size, page_token="", order_by="timestamp asc"):
        if "cloudaudit" in filter:
            found = self.audit
        elif "httpRequest.status" in filter:
            found = self.requests
        elif f'labels.runwarden_incident="{INCIDENT}"' in filter and "NOT labels" not in filter:
            found = self.steps
        else:
            return EntryPage()
        start, end = (_rfc(t) for t in _WINDOW.search(filter).groups())
        found = sorted((e for e in found if start <= e.timestamp <= end), key=lambda e: e.timestamp,
                       reverse=order_by.endswith("desc"))
        return EntryPage(entries=tuple(found))


def received(at: datetime, started_at: datetime, state: str = "open") -> LoggedEntry:
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    return LoggedEntry(insert_id=f"received-{state}", timestamp=at, log_id="run.googleapis.com/stdout",
                       labels={"runwarden_incident": INCIDENT, "runwarden_step": "received",
                               "runwarden_trigger": "alert"},
                       json_payload={"message": "alert", "runwarden": {
                           "step": "received", "incident_id": INCIDENT, "state": state,
                           "started_at": started_at.timestamp(), "ended_at": at.timestamp(), "resource": resource}},
                       text=f"alert ({state})")


def failures(first: datetime, last: datetime, per_minute: int = 2) -> list[LoggedEntry]:
    out, at = [], first
    while at <= last:
        out += [LoggedEntry(insert_id=f"r{at:%H%M}-{i}", timestamp=at + timedelta(seconds=10 * i),
                            log_id="run.googleapis.com/requests", resource_type="cloud_run_revision",
                            resource_labels={"service_name": "backend"}, http_status=503)
                for i in range(per_minute)]
        at += M
    return out


def deploy(at: datetime) -> LoggedEntry:
    return LoggedEntry(insert_id="deploy-1", timestamp=at, log_id="cloudaudit.googleapis.com/activity",
                       audit=AuditInfo(service_name="run.googleapis.com",
                                       method_name="google.cloud.run.v1.Services.ReplaceService",
                                       resource_name=SERVICE, principal="alice@example.com",
                                       request={"service": {"spec": {"template": {"spec": {"containers": [
                                           {"image": "gcr.io/demo/backend:v7"}]}}}}}))


@pytest.mark.parametrize("began_before, onset_known", [
    (timedelta(minutes=90), True),     # a slow burn: 2 failed requests a minute for 90 minutes before the alert
    (timedelta(minutes=20), True),     # began inside the window: read as before
    (timedelta(hours=8), False),       # failing further back than the read back reaches: still not known
])
def test_errors_already_failing_where_the_window_begins_are_read_back_to_their_onset(began_before, onset_known):
    """A deploy by alice brought a slow leak: a trickle of 503s for 90 minutes before the alert's ratio (over
    an hour) crossed its threshold. The window began 30 minutes before the incident's first line, where
    requests were already failing: no onset, no TTD, and the deploy that caused it was not shown."""
    onset = T0 - began_before
    logging = Logging([received(T0 + M, T0)], [deploy(onset - 5 * M)], failures(onset, T0 + 10 * M))

    timeline = build_timeline(INCIDENT, PROJECT, logging, T0 + timedelta(hours=2))

    m = timeline.milestones
    if onset_known:
        assert m.onset is not None and m.onset.at == onset, m.onset
        assert timeline.durations.ttd_seconds == began_before.total_seconds()
        assert [e.actor.name for e in timeline.entries if e.kind == "deploy"] == ["alice@example.com"]
        assert timeline.window_start <= onset - 5 * M
    else:
        assert m.onset is None and timeline.durations.ttd_seconds is None
        assert any("already failing" in n and "not known" in n for n in timeline.notes), timeline.notes
        assert timeline.errors.minutes[0].minute == T0 - timedelta(hours=6) - 30 * M, timeline.errors.minutes[0]


def test_an_incident_longer_than_a_day_shows_the_changes_near_its_end():
    """A 30-hour incident: the alert opened at 12:00, a person rolled the service back at 17:00 the next day,
    and the alert closed at 18:00. Its errors are read over the first 24 hours (a minute each); its changes,
    few, were cut there too, so the person's rollback near the end, and that anyone acted, were not shown."""
    opened, closed = received(T0 + M, T0), received(T0 + timedelta(hours=30), T0, "closed")
    rollback = deploy(T0 + timedelta(hours=29))
    timeline = build_timeline(INCIDENT, PROJECT, Logging([opened, closed], [rollback], []), T0 + timedelta(hours=31))

    assert [e.actor.name for e in timeline.entries if e.source.value == "audit"] == ["alice@example.com"]
    assert timeline.people == ["alice@example.com"]
    assert any("errors after 2026-11-27 11:30Z were not read" in f.text for f in timeline.follow_ups), timeline.follow_ups
    # no error series was read past the cut: the change is not the mitigation on its own say
    assert timeline.milestones.mitigation is None


def test_lines_an_exclusion_filter_dropped_are_said_missing():
    """A cost-saving exclusion on the functions' logs (`severity<NOTICE`) drops Runwarden's INFO lines: the
    alert's `received` lines (the opening, the close, the service's name) are gone, its NOTICE `applied` and
    WARNING `escalated` kept. The timeline showed no detection and no alert, and said nothing of why."""
    applied = received(T0 + 2 * M, T0)
    applied.labels["runwarden_step"] = "escalated"
    applied.json_payload["runwarden"] = {"step": "escalated", "incident_id": INCIDENT, "status": "escalated"}
    timeline = build_timeline(INCIDENT, PROJECT, Logging([applied], [], []), T0 + timedelta(hours=1))

    assert timeline.milestones.detection is None
    assert any("no alert notification" in n and "exclusion filter" in n for n in timeline.notes), timeline.notes
