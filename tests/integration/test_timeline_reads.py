"""What the timeline makes of answers Cloud Logging may give, read through the real client from the Logging
stand-in: an entry answered again on a later page (whether Logging ever does is UNCONFIRMED: both readings,
the stand-in's `page_overlap`), and two producers' long-running operations under one id."""
from __future__ import annotations

from datetime import timedelta
from typing import Iterator

import pytest

from sandbox.standins.logging import AuditSeed, EntrySeed, LoggingStandIn, OperationSeed
from shared.gcp.endpoints import CallPolicy
from shared.gcp.logging import CloudLogPagesAdapter
from shared.timeline.builder import Dependencies, Limits, build_timeline
from tests.integration.timeline_world import (AUDIT_LOG, INCIDENT, NOW, PROJECT, SERVICE_NAME, T0, request_errors,
                                              seed_incident, step)

QUICK = CallPolicy(call_timeout=5, attempts=3, initial_backoff=0.01, max_backoff=0.05, total_timeout=5)
# Small pages (the audit read takes two), and calls enough to read every one: each page after the first repeats
# up to 3 entries.
SMALL_PAGES = Limits(page_size=4, max_pages=200, max_error_pages=200, max_onset_pages=200, max_other_write_pages=200,
                     max_calls=1000)


@pytest.fixture
def standin() -> Iterator[LoggingStandIn]:
    server = LoggingStandIn(clock=lambda: NOW)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def logs(standin: LoggingStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudLogPagesAdapter]:
    monkeypatch.setenv("LOGGING_EMULATOR_HOST", standin.address)
    adapter = CloudLogPagesAdapter(policy=QUICK)
    yield adapter
    adapter.close()


def _shown(timeline) -> dict:
    """The timeline as every renderer shows it, but for how many pages and entries each read took."""
    data = timeline.to_json_dict()
    data["reads"] = [{k: v for k, v in r.items() if k not in ("pages", "entries")} for r in data["reads"]]
    return data


@pytest.mark.parametrize("overlap", [1, 3])
def test_an_entry_answered_again_on_a_later_page_is_read_once(standin, logs, overlap):
    """The seeded incident (120 failed requests of the service, its steps, its audit entries) read in pages of 4,
    with each page after the first repeating the last `overlap` entries of the one before: the same timeline as
    when no entry repeats. Before, every repeated failed request was counted again (the chart's minutes, the
    peak, the errors_started row's count) while the steps and audit entries, keyed by their identity, were not."""
    seed_incident(standin)
    once = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=Dependencies(sql_instances={"main-db"}),
                          limits=SMALL_PAGES)
    standin.page_overlap = overlap
    again = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=Dependencies(sql_instances={"main-db"}),
                           limits=SMALL_PAGES)

    assert sum(m.errors for m in again.errors.minutes) == 120 and again.errors.peak == 20
    assert next(r for r in again.reads if r.name == "request_errors").entries > 120     # the repeats were answered
    assert _shown(again) == _shown(once)


def test_failed_requests_read_back_before_the_window_are_counted_once(standin, logs):
    """A slow burn (3 failed requests a minute from 10:30) read back from the window's start, newest first, with
    each page repeating 3 entries of the one before: each minute still counts 3, and the onset is where they began."""
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    request_errors(standin, T0 - timedelta(minutes=90), 100, 3)
    step(standin, T0 + timedelta(seconds=60), "received", f"alert {INCIDENT} (open) from policy 'p'", message_id="17",
         state="open", started_at=int(T0.timestamp()), resource=resource)
    standin.page_overlap = 3

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, limits=SMALL_PAGES)

    assert timeline.milestones.onset.at == T0 - timedelta(minutes=90)
    failing = [m.errors for m in timeline.errors.minutes if m.errors]
    assert failing == [3] * 100, failing


def _operation_entry(at, method: str, resource: str, principal: str, service: str, operation: str, *, first: bool,
                     last: bool) -> EntrySeed:
    return EntrySeed(log_name=AUDIT_LOG, timestamp=at, resource_type="audited_resource", severity="NOTICE",
                     audit=AuditSeed(method_name=method, resource_name=resource, principal_email=principal,
                                     service_name=service),
                     operation=OperationSeed(id=operation, producer=service, first=first, last=last))


def test_two_producers_operations_under_one_id_are_two_changes(standin, logs):
    """An operation is its id with its producer ("The combination of id and producer must be globally unique",
    LogEntryOperation.producer, google/logging/v2/log_entry.proto): alice's Cloud Run update and frank's Cloud SQL
    restart, each a long-running operation whose id happens to be the same string, are two changes, each one row
    for its first and last entries. Keyed by the id alone, frank's restart read as the end of alice's update and
    was not shown, nor frank among the people who acted."""
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    step(standin, T0 + timedelta(seconds=60), "received", f"alert {INCIDENT} (open) from policy 'p'", message_id="17",
         state="open", started_at=int(T0.timestamp()), resource=resource)
    run, sql = "run.googleapis.com", "cloudsql.googleapis.com"
    update = "google.cloud.run.v2.Services.UpdateService"
    standin.add_entries([
        _operation_entry(T0 - timedelta(minutes=5), update, SERVICE_NAME, "alice@example.com", run, "op-1",
                         first=True, last=False),
        _operation_entry(T0 - timedelta(minutes=4), "cloudsql.instances.restart", "instances/main-db",
                         "frank@example.com", sql, "op-1", first=True, last=False),
        _operation_entry(T0 - timedelta(minutes=4, seconds=-20), update, SERVICE_NAME, "alice@example.com", run,
                         "op-1", first=False, last=True),
        _operation_entry(T0 - timedelta(minutes=3), "cloudsql.instances.restart", "instances/main-db",
                         "frank@example.com", sql, "op-1", first=False, last=True)])

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=Dependencies(sql_instances={"main-db"}))

    changes = [(e.actor.name, e.kind, e.at, e.last_at) for e in timeline.entries if e.source.value == "audit"]
    assert changes == [("alice@example.com", "service_change", T0 - timedelta(minutes=5),
                        T0 - timedelta(minutes=4, seconds=-20)),
                       ("frank@example.com", "sql_operation", T0 - timedelta(minutes=4), T0 - timedelta(minutes=3))]
    assert timeline.people == ["alice@example.com", "frank@example.com"]


def test_lines_of_another_projects_logs_routed_into_this_one_are_not_this_timelines(standin, logs):
    """A staging deployment of Runwarden in ops-staging, notified of the same incident (one policy, two channels),
    wrote its own lines under the same incident id, and a sink stores ops-staging's logs in demo-project's bucket
    (a central logging project). Whether a read of projects/demo-project answers them is UNCONFIRMED (the
    stand-in's `route`): when it does, they are another deployment's steps, not this one's. Before, its diagnosis
    and its write were shown among this deployment's, as if this one had written twice."""
    from sandbox.log_agent import FunctionResource

    seed_incident(standin)
    alone = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=Dependencies(sql_instances={"main-db"}))
    staging = FunctionResource("ops-staging", "us-central1", "runwarden-on-alert")
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    step(standin, T0 + timedelta(seconds=40), "received", f"alert {INCIDENT} (open) from policy 'backend 5xx ratio'",
         function=staging, message_id="900", policy="backend 5xx ratio", resource=resource, state="open",
         started_at=int(T0.timestamp()))
    step(standin, T0 + timedelta(seconds=50), "diagnosed", "unknown (confidence 0.10)", function=staging,
         signature="unknown")
    step(standin, T0 + timedelta(seconds=55), "applied", "rollback_traffic applied", function=staging,
         status="applied")
    standin.route("ops-staging", PROJECT)

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=Dependencies(sql_instances={"main-db"}))

    assert [(e.kind, e.at, e.count) for e in timeline.entries] == [(e.kind, e.at, e.count) for e in alone.entries]
    assert timeline.milestones == alone.milestones and timeline.signature == "bad_revision"
    assert any("3 entries" in n and "ops-staging" in n for n in timeline.notes), timeline.notes


def test_an_operation_whose_first_entry_is_read_after_its_last_begins_at_its_first(standin, logs):
    """alice's deploy, a long-running operation, began at 11:29:50 and ended at 11:30:10, astride where the window
    first began (11:30); requests were already failing there (a slow burn from 10:30), so the audit log was read
    again before the window, after the window's own read: the operation's last entry was read first. Its row
    began at 11:30:10, the end, as if alice had deployed 20 seconds later; it begins at 11:29:50 and ends at
    11:30:10."""
    from tests.integration.timeline_world import audit

    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    request_errors(standin, T0 - timedelta(minutes=90), 100, 3)
    audit(standin, T0 - timedelta(minutes=30, seconds=10), "google.cloud.run.v1.Services.ReplaceService",
          f"namespaces/{PROJECT}/services/backend", "alice@example.com", operation="op-deploy-9",
          request={"service": {"spec": {"template": {"spec": {"containers": [{"image": "gcr.io/demo/backend:v7"}]}}}}})
    step(standin, T0 + timedelta(seconds=60), "received", f"alert {INCIDENT} (open) from policy 'p'", message_id="17",
         state="open", started_at=int(T0.timestamp()), resource=resource)

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)

    assert any("read back" in n for n in timeline.notes), timeline.notes
    [deploy] = [e for e in timeline.entries if e.kind == "deploy"]
    assert (deploy.at, deploy.last_at) == (T0 - timedelta(minutes=30, seconds=10), T0 - timedelta(minutes=29, seconds=50))
