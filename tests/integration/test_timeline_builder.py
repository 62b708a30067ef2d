"""The timeline builder against the Logging stand-in: real client, real gRPC, real paging."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest

from sandbox.standins.logging import LoggingStandIn
from shared.errors import PermanentError
from shared.gcp.endpoints import CallPolicy
from shared.gcp.logging import CloudLogPagesAdapter
from shared.timeline.builder import Dependencies, Limits, SearchIncomplete, UnknownIncident, build_timeline
from shared.timeline.queries import BadInput, runwarden_filter
from shared.timeline.render import render
from tests.integration.timeline_world import (AUDIT_LOG, INCIDENT, NOW, ON_COMMAND, PROJECT, ROLLBACK_KEY, RUNWARDEN_SA,
                                              SERVICE_NAME, T0, seed_incident, step)

QUICK = CallPolicy(call_timeout=5, attempts=3, initial_backoff=0.01, max_backoff=0.05, total_timeout=5)


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


@pytest.fixture
def world(standin: LoggingStandIn) -> LoggingStandIn:
    seed_incident(standin)
    return standin


def kinds(timeline) -> list[tuple[str, str]]:
    return [(e.source.value, e.kind) for e in timeline.entries]


def test_the_seeded_incident_reads_as_what_happened(world, logs):
    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=Dependencies(sql_instances={"main-db"}))

    assert timeline.service == SERVICE_NAME
    assert kinds(timeline) == [
        # 11:56 alice's gcloud deploy (one row for the LRO's two entries): a v1 ReplaceService with an image and
        # traffic to the latest revision, which `gcloud run services update-traffic --to-latest` sends too
        ("audit", "service_change"),
        ("platform", "errors_started"),           # 11:57
        ("audit", "traffic_change"),              # 11:59 bob, by hand
        ("alert", "alert_opened"),                # 12:00 Monitoring's started_at
        ("audit", "sql_operation"),               # 12:00:30 frank restarts the database
        ("runwarden", "diagnosed"), ("runwarden", "planned"), ("runwarden", "claimed"),
        ("audit", "service_change"),              # gina, while Runwarden held its claim
        ("audit", "traffic_change"),              # Runwarden's own write, in the audit log
        ("runwarden", "applied"),
        ("runwarden", "diagnosed"),               # the redelivery's own diagnosis: a second event, its own row
        ("runwarden", "outcome_published"), ("runwarden", "skipped"),
        ("platform", "errors_stopped"),           # 12:03: three minutes at zero
        ("runwarden", "override:kill_switch"),
        ("alert", "alert_closed"), ("runwarden", "verified")]
    deploy = timeline.entries[0]
    assert deploy.actor.name == "alice@example.com" and "gcr.io/demo/backend:v2" in deploy.summary
    assert deploy.count == 1 and deploy.last_at == deploy.at + timedelta(seconds=20)
    opened = timeline.entries[3]
    assert opened.at == T0 and opened.count == 2       # delivered twice, one row
    diagnosed = [e for e in timeline.entries if e.kind == "diagnosed"]
    assert [(d.count, d.at) for d in diagnosed] == [(1, T0 + timedelta(minutes=1.1)),
                                                   (1, T0 + timedelta(minutes=1.1, seconds=30))]
    gina, own = timeline.entries[8], timeline.entries[9]
    assert gina.actor.name == "gina@example.com" and gina.actor.kind.value == "person" and gina.marker == "human"
    assert own.actor.kind.value == "runwarden" and RUNWARDEN_SA in own.actor.name and own.marker == ""
    assert timeline.entries[2].marker == "human" and timeline.entries[10].marker == "action"
    command = timeline.entries[15]
    assert command.actor.name == "carol@example.com" and command.actor.kind.value == "person"


def test_milestones_and_measures(world, logs):
    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)
    m, d = timeline.milestones, timeline.durations

    assert m.onset.at == T0 - timedelta(minutes=3)
    assert m.detection.at == T0
    assert m.decision.at == T0 + timedelta(minutes=1.5)
    # bob's traffic move (11:59) was followed by three more minutes of errors, and by other changes: the
    # errors stopped after Runwarden's rollback (12:01:30), which the sweep verified
    assert m.mitigation.at == T0 + timedelta(minutes=1.5) and m.mitigation.by == "Runwarden (runwarden-on-alert)"
    assert any("2 change(s) by people after the onset" in n and "bob@example.com" in n for n in timeline.notes)
    assert m.recovery.at == T0 + timedelta(minutes=3) and "zero" in m.recovery.what
    assert (d.ttd_seconds, d.ttm_seconds, d.ttr_seconds) == (180, 270, 360)
    assert timeline.people == ["alice@example.com", "bob@example.com", "carol@example.com", "gina@example.com"]
    assert timeline.people_acted_first
    assert timeline.signature == "bad_revision"
    assert timeline.evidence[0].threshold == ">= 20 requests and 5xx >= 20%" and timeline.evidence[0].passed
    assert [a.status for a in timeline.actions] == ["applied", "skipped", "verified"]
    pin = next(f for f in timeline.follow_ups if "pinned to backend-00001-abc" in f.text)
    gcloud, runwarden = pin.commands
    assert "update-traffic backend --to-latest --region=us-central1 --project=demo-project" in gcloud
    assert "runwarden command restore_traffic --target projects/demo-project/locations/us-central1/services/backend" in runwarden
    assert not timeline.cut_short


def test_the_audit_read_asks_only_for_the_service_and_what_it_depends_on(world, logs):
    plain = build_timeline(INCIDENT, PROJECT, logs, NOW)
    with_db = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=Dependencies(sql_instances={"main-db"}))

    audit_read = lambda t: next(r for r in t.reads if r.name == "audit")   # noqa: E731
    # alice's deploy (two LRO entries), bob, gina, Runwarden's own write; not frontend, not the secret
    assert audit_read(plain).entries == 5
    assert audit_read(with_db).entries == 6          # + frank's restart; the connect is filtered out
    assert "cloudsql" not in audit_read(plain).filter


def test_errors_per_minute_come_from_the_services_request_log(world, logs):
    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)
    counted = {m.minute: m.errors for m in timeline.errors.minutes if m.errors}

    assert counted == {T0 + timedelta(minutes=k): 20 for k in range(-3, 3)}   # frontend's errors not counted
    assert timeline.errors.minutes[0].minute == timeline.window_start.replace(second=0, microsecond=0)


def test_errors_are_the_services_own_exactly(world, logs):
    # Logging's string comparisons are not case sensitive: the filter on service_name="backend"
    # also returns entries labelled "BACKEND". Only the service's own are counted.
    from tests.integration.timeline_world import request_errors

    request_errors(world, T0 - timedelta(minutes=3), 2, 7, service="BACKEND")
    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)

    assert sum(m.errors for m in timeline.errors.minutes) == 120


def test_a_read_cut_short_says_so(world, logs):
    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, limits=Limits(page_size=25, max_pages=2, max_error_pages=2))

    errors_read = next(r for r in timeline.reads if r.name == "request_errors")
    assert errors_read.cut_short and errors_read.pages == 2 and errors_read.entries == 50
    assert timeline.cut_short
    assert any("cut short" in f.text and "request_errors" in f.text for f in timeline.follow_ups)
    assert any("stopped after 2 pages" in n for n in timeline.notes)


def test_an_error_read_cut_short_shows_no_recovery_it_did_not_read(standin, logs):
    # Errors go on for half an hour after Runwarden's write; the request log read stops after
    # 2,000 of the 3,000. The minutes it did not read are unknown, not quiet: no "errors at zero".
    from tests.integration.timeline_world import request_errors

    step(standin, T0, "received", f"alert {INCIDENT} (open)", message_id="1", state="open",
         started_at=int(T0.timestamp()), resource={"project_id": PROJECT, "location": "us-central1",
                                                    "service_name": "backend"})
    step(standin, T0 + timedelta(minutes=1.5), "applied", "rollback_traffic applied", status="applied")
    request_errors(standin, T0 - timedelta(minutes=3), 30, 100)

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, limits=Limits(max_error_pages=2))

    assert timeline.cut_short and timeline.milestones.recovery is None and timeline.durations.ttr_seconds is None
    assert "errors_stopped" not in [e.kind for e in timeline.entries]
    last = timeline.errors.minutes[-1]
    # 2,000 entries reach into 12:16 (from 11:57): its count may be partial, so the series ends at 12:15
    assert last.minute == T0 + timedelta(minutes=15) and last.errors == 100
    assert any("known only until 12:16Z" in n for n in timeline.notes)


@pytest.mark.parametrize("opened, said", [
    (datetime(2026, 11, 26, 23, 50, tzinfo=timezone.utc), "known only until 2026-11-27 00:06Z"),
    (T0, "known only until 12:16Z"),
], ids=["across midnight", "within a day"])
def test_where_an_error_read_stopped_is_dated_when_the_timeline_spans_days(standin, logs, opened, said):
    """The note on where the request log's read stopped cited a time of day alone ("until 00:09Z"), while the
    rows, spanning midnight, were each dated: it named two moments. It is dated as the other notes are."""
    from tests.integration.timeline_world import request_errors

    step(standin, opened, "received", f"alert {INCIDENT} (open)", message_id="1", state="open",
         started_at=int(opened.timestamp()), resource={"project_id": PROJECT, "location": "us-central1",
                                                        "service_name": "backend"})
    step(standin, opened + timedelta(minutes=1.5), "applied", "rollback_traffic applied", status="applied")
    request_errors(standin, opened - timedelta(minutes=3), 30, 100)

    timeline = build_timeline(INCIDENT, PROJECT, logs, opened + (NOW - T0), limits=Limits(max_error_pages=2))

    [note] = [n for n in timeline.notes if n.startswith("errors per minute are known only until")]
    assert said in note, note


def test_many_pages_read_to_the_end(world, logs):
    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, limits=Limits(page_size=7, max_pages=50))

    assert not timeline.cut_short
    assert sum(m.errors for m in timeline.errors.minutes) == 120
    assert next(r for r in timeline.reads if r.name == "runwarden").pages > 1


def test_a_storm_of_redeliveries_is_one_row_per_event(standin, logs):
    # An attempt in progress makes Pub/Sub redeliver the alert again and again; each delivery
    # writes `received` and a `deferred` line counting its delivery. One row each, counted, with
    # the latest delivery's words; and the read stays within its pages.
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    for n in range(1, 301):
        at = T0 + timedelta(seconds=2 * n)
        step(standin, at, "received", f"alert {INCIDENT} (open) from policy 'p'", message_id="17", state="open",
             started_at=int(T0.timestamp()), resource=resource)
        step(standin, at + timedelta(milliseconds=5), "deferred",
             f"an earlier attempt at this message is in progress; delivery {n} of at most 5: answered non-2xx so "
             "that Pub/Sub redelivers it", severity="WARNING", message_id="17", attempt=n, max_attempts=5,
             transient=True)

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, limits=Limits(page_size=100))

    assert kinds(timeline) == [("alert", "alert_opened"), ("runwarden", "deferred")]
    deferred = timeline.entries[1]
    assert deferred.count == 300 and "delivery 300 of at most 5" in deferred.summary
    assert deferred.last_at == T0 + timedelta(seconds=600, milliseconds=5)
    assert next(r for r in timeline.reads if r.name == "runwarden").pages == 6 and not timeline.cut_short


def test_thousands_of_changes_are_shown_bounded_and_say_so(world, logs):
    # A deploy bot changes the service every half second for 25 minutes: 3,000 rows would make an
    # unreadable page. The rows are bounded, the alert and Runwarden's decisions and write stay,
    # the page says what it left out, and who acted is still everyone.
    from sandbox.standins.logging import AuditSeed, EntrySeed

    world.add_entries([EntrySeed(
        log_name=AUDIT_LOG, timestamp=T0 - timedelta(minutes=25) + timedelta(seconds=i / 2),
        resource_type="audited_resource", severity="NOTICE",
        audit=AuditSeed(method_name="google.cloud.run.v2.Services.UpdateService", resource_name=SERVICE_NAME,
                        principal_email=f"deploy-bot-{i % 3}@example.com", service_name="run.googleapis.com"))
        for i in range(3000)])

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, limits=Limits(max_rows=200))

    assert len(timeline.entries) == 200 and timeline.cut_short
    assert {"alert_opened", "alert_closed", "applied", "errors_started"} <= {e.kind for e in timeline.entries}
    assert [e.at for e in timeline.entries] == sorted(e.at for e in timeline.entries)
    assert "are not shown" in timeline.rows_not_shown and "of 30" in timeline.rows_not_shown
    assert {f"deploy-bot-{i}@example.com" for i in range(3)} <= set(timeline.people)
    assert any("are not shown" in f.text for f in timeline.follow_ups)
    assert "are not shown" in render(timeline, "markdown").split("## Summary")[0]
    assert "are not shown" in render(timeline, "html").split("<h2>")[0]
    assert next(r for r in timeline.reads if r.name == "audit").entries == 3005     # every entry was read


def test_lines_written_at_one_instant_stay_in_the_order_written(standin, logs):
    at = T0 + timedelta(minutes=1)
    step(standin, T0, "received", f"alert {INCIDENT} (open)", message_id="1", state="open",
         started_at=int(T0.timestamp()), resource={"project_id": PROJECT, "location": "us-central1",
                                                    "service_name": "backend"})
    for name in ("planned", "claimed", "applied", "outcome_published"):
        step(standin, at, name, name)

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)

    assert [e.kind for e in timeline.entries] == ["alert_opened", "planned", "claimed", "applied", "outcome_published"]


def test_an_unknown_incident_is_not_found(world, logs):
    with pytest.raises(UnknownIncident, match="0.unknown") as raised:
        build_timeline("0.unknown", PROJECT, logs, NOW)
    assert "did you mean" not in str(raised.value) and "exclusion filter" in str(raised.value), raised.value
    # An incident opened a moment ago: its lines may not be readable yet, and a person is told to try again.
    assert "not reached Cloud Logging yet" in str(raised.value) and "try again" in str(raised.value), raised.value


@pytest.mark.parametrize("asked", ["0.nrwotmyokd9m", "0.nrwotmyok9n"])
def test_a_mistyped_incident_id_names_the_one_meant(world, logs, asked):
    """A digit mistyped, a character dropped: a bare "no Runwarden log entry" read as "this incident never
    reached Runwarden"."""
    with pytest.raises(UnknownIncident) as raised:
        build_timeline(asked, PROJECT, logs, NOW)
    assert f"did you mean {INCIDENT}?" in str(raised.value), raised.value
    assert f"runwarden timeline {INCIDENT} --project {PROJECT}" in str(raised.value)


def test_an_incident_id_upper_cased_by_a_chat_client_builds_the_incidents_timeline(world, logs):
    """The alerts path keys an incident by its id lower-cased (shared/gcp/identifiers.folded_incident_id), so
    its lines are written under that: an id asked in capitals reads them, it is not "unknown"."""
    asked = build_timeline(INCIDENT.upper(), PROJECT, logs, NOW)
    exact = build_timeline(INCIDENT, PROJECT, logs, NOW)
    assert asked.incident_id == INCIDENT
    assert asked.entries and [e.kind for e in asked.entries] == [e.kind for e in exact.entries]


def busy_project(standin: LoggingStandIn, n: int = 3000) -> None:
    """Entries of other logs, older than the incident: a search examining a few at a time walks
    through them (empty pages with a token) before it reaches the incident's."""
    from sandbox.standins.logging import EntrySeed, log_name_for

    standin.add_entries([EntrySeed(log_name=log_name_for(PROJECT, "other"), timestamp=T0 - timedelta(days=3, seconds=i),
                                   resource_type="global", severity="INFO") for i in range(n)])


def test_a_search_that_did_not_finish_is_never_an_unknown_incident(world, logs):
    # Cloud Logging may answer empty pages with a token while it searches; after max_pages of
    # them, nothing found is not "no entries" but "not searched yet".
    busy_project(world)
    world.search_budget = 100

    with pytest.raises(SearchIncomplete, match="did not finish searching") as raised:
        build_timeline(INCIDENT, PROJECT, logs, NOW, limits=Limits(max_pages=5))
    assert raised.value.code == "SEARCH_INCOMPLETE"
    # with enough pages the same search finds the incident
    assert build_timeline(INCIDENT, PROJECT, logs, NOW, limits=Limits(max_pages=60)).entries


@pytest.mark.parametrize("bad", ['0.x" OR labels.runwarden_incident:*', "0.x\\", 'a"b', "0.x AND severity>=ERROR",
                                 "", " ", "0.x)", "labels.a=*", "x" * 200, "0.\u200bx"])
def test_a_malformed_incident_id_is_refused_before_any_read(bad):
    class NoReads:
        def read_page(self, *args, **kwargs):
            raise AssertionError("nothing may be read for a malformed id")

    with pytest.raises(BadInput, match="incident_id"):
        build_timeline(bad, PROJECT, NoReads(), NOW)


@pytest.mark.parametrize("value", ['we"ird', "back\\slash", 'a" OR labels.x="y', "x) OR (y", "trailing\\"])
def test_filter_values_are_quoted_never_pasted(standin, logs, value):
    # The id check refuses these; the quoting must hold on its own too: the stand-in parses the
    # filter as Cloud Logging does and finds exactly the entry carrying the value, nothing else.
    step(standin, T0, "received", "one", incident=value, message_id="1")
    step(standin, T0, "received", "other", incident="y", message_id="2")
    page = logs.read_page(PROJECT, runwarden_filter(value, T0 - timedelta(hours=1), NOW), page_size=10)

    assert [e.labels["runwarden_incident"] for e in page.entries] == [value]


def test_a_refused_query_is_a_permanent_error(standin, logs):
    with pytest.raises(PermanentError):
        logs.read_page(PROJECT, "labels.x=(", page_size=10)


def test_what_the_service_depends_on_comes_from_its_revisions(seed_scenario, standins, standin_env):
    from shared.gcp.run_references import CloudRunReferences
    from shared.timeline.live import dependencies

    seed_scenario("bad_revision")
    standins.run.add_revision(SERVICE_NAME, "backend-00003-sec", T0, secret_env=(
        ("DB_PASSWORD", "db-password", "latest"), ("API_KEY", "projects/other-project/secrets/api-key", "latest")))
    run = CloudRunReferences()
    try:
        deps = dependencies(SERVICE_NAME, None, run)
        missing = dependencies(SERVICE_NAME.replace("backend", "gone"), None, run)
    finally:
        run.close()

    assert deps.connectors == {"projects/demo-project/locations/us-central1/connectors/backend-conn"}
    assert deps.sql_instances == {"demo-project:us-central1:main-db"} and not deps.notes
    # Each by its full name: db-password is the service project's own, api-key another project's.
    assert deps.secrets == {"projects/demo-project/secrets/db-password", "projects/other-project/secrets/api-key"}
    assert not missing.connectors and "could not be read" in missing.notes[0]


def test_a_referenced_secrets_new_version_is_a_change(world, logs):
    from tests.integration.timeline_world import audit

    audit(world, T0 + timedelta(seconds=40), "google.cloud.secretmanager.v1.SecretManagerService.AddSecretVersion",
          f"projects/{PROJECT}/secrets/db-password", "hal@example.com", service="secretmanager.googleapis.com")
    plain = build_timeline(INCIDENT, PROJECT, logs, NOW)
    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=Dependencies(secrets={"db-password"}))

    assert "secret_version" not in [e.kind for e in plain.entries]
    [row] = [e for e in timeline.entries if e.kind == "secret_version"]
    assert row.actor.name == "hal@example.com" and "db-password" in row.summary and row.marker == "human"


class _Refusing:
    """The real adapter, in front of a project whose logs Runwarden may not read (PERMISSION_DENIED, as the
    adapter raises it)."""

    def __init__(self, logs, refused: str) -> None:
        self.logs, self.refused = logs, refused

    def read_page(self, project, *args, **kwargs):
        from shared.errors import PermanentError

        if project == self.refused:
            raise PermanentError(f"ListLogEntries projects/{project}: PermissionDenied: 403 Permission "
                                 "'logging.logEntries.list' denied", code="PERMISSION_DENIED")
        return self.logs.read_page(project, *args, **kwargs)


def _secret_change(standin, project: str, secret: str, who: str) -> None:
    from sandbox.standins.logging import AuditSeed, EntrySeed, log_name_for

    standin.add_entry(EntrySeed(
        log_name=log_name_for(project, "cloudaudit.googleapis.com/activity"), timestamp=T0 - timedelta(minutes=3),
        resource_type="audited_resource", severity="NOTICE",
        audit=AuditSeed(method_name="google.cloud.secretmanager.v1.SecretManagerService.AddSecretVersion",
                        resource_name=f"projects/{project}/secrets/{secret}", principal_email=who,
                        service_name="secretmanager.googleapis.com")))


def test_a_secret_in_another_project_is_read_in_that_projects_audit_log(world, logs):
    """The service reads projects/shared-secrets/secrets/db-pass: its new version is written in shared-secrets'
    audit log (an entry is stored in the project that holds the resource), which only the service's project's
    was read for. Now that project's log is read for it too; a same-named secret of the service's project is
    another secret and stays out."""
    _secret_change(world, "shared-secrets", "db-pass", "sam@example.com")
    _secret_change(world, PROJECT, "db-pass", "other@example.com")

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW,
                              depends_on=Dependencies(secrets={"projects/shared-secrets/secrets/db-pass"}))

    [row] = [e for e in timeline.entries if e.kind == "secret_version"]
    assert row.actor.name == "sam@example.com" and "db-pass" in row.summary, row
    assert "project=shared-secrets" in row.link, row.link
    extra = next(r for r in timeline.reads if r.name == "audit shared-secrets")
    assert "projects/shared-secrets/logs/" in extra.filter and "secretmanager.googleapis.com" in extra.filter
    assert "run.googleapis.com" not in extra.filter and not extra.cut_short


def test_a_secrets_project_runwarden_may_not_read_is_said_in_the_timeline(world, logs):
    """The secret's project is not among the watched projects: the read there is refused. The timeline says that
    the secret's changes were not read, naming it, rather than showing no change."""
    _secret_change(world, "shared-secrets", "db-pass", "sam@example.com")
    timeline = build_timeline(INCIDENT, PROJECT, _Refusing(logs, "shared-secrets"), NOW,
                              depends_on=Dependencies(secrets={"projects/shared-secrets/secrets/db-pass"}))

    assert "secret_version" not in [e.kind for e in timeline.entries]
    refused = next(r for r in timeline.reads if r.name == "audit shared-secrets")
    assert refused.cut_short and "PERMISSION_DENIED" in refused.why, refused
    assert "changes to secret projects/shared-secrets/secrets/db-pass were not read" in refused.why, refused.why
    assert timeline.cut_short


def test_a_secret_named_by_its_projects_number_says_where_its_changes_were_read(world, logs):
    """Cloud Run names another project's secret by that project's number (projects/123456789012/secrets/S); a
    number is not matched to a project id here, so its changes are read only in the service's project's log,
    which holds them only when the number is that project's: the timeline says so."""
    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW,
                              depends_on=Dependencies(secrets={"projects/123456789012/secrets/db-pass"}))

    assert any("projects/123456789012/secrets/db-pass" in n and "named by its project's number" in n
               for n in timeline.notes), timeline.notes
    assert [r.name for r in timeline.reads if r.name.startswith("audit ")] == []


def test_a_service_in_a_watched_project_is_read_in_its_own_project(standin, logs):
    # Runwarden runs in PROJECT and watches `backend` in another project: its step lines are in
    # PROJECT, the service's audit entries and request log in the watched project. A same-named
    # service in PROJECT is a different service and must not be read.
    from sandbox.standins.logging import AuditSeed, EntrySeed, log_name_for

    watched = "watched-project"
    full = f"projects/{watched}/locations/us-central1/services/backend"
    step(standin, T0, "received", f"alert {INCIDENT} (open)", message_id="1", state="open",
         resource={"project_id": watched, "location": "us-central1", "service_name": "backend"})
    step(standin, T0 + timedelta(minutes=1), "diagnosed", "bad_revision", signature="bad_revision")
    for project, who in ((watched, "dave@example.com"), (PROJECT, "eve@example.com")):
        standin.add_entry(EntrySeed(
            log_name=log_name_for(project, "cloudaudit.googleapis.com/activity"), timestamp=T0 - timedelta(minutes=2),
            resource_type="audited_resource", severity="NOTICE",
            audit=AuditSeed(method_name="google.cloud.run.v2.Services.UpdateService",
                            resource_name=f"projects/{project}/locations/us-central1/services/backend",
                            principal_email=who, service_name="run.googleapis.com")))
        standin.add_entries([EntrySeed(
            log_name=log_name_for(project, "run.googleapis.com/requests"), timestamp=T0 - timedelta(minutes=1, seconds=i),
            resource_type="cloud_run_revision", severity="ERROR", http_status=503,
            resource_labels={"project_id": project, "location": "us-central1", "service_name": "backend",
                             "revision_name": "backend-00002-xyz", "configuration_name": "backend"})
            for i in range(3 if project == watched else 7)])

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)

    assert timeline.project == PROJECT and timeline.service == full
    [change] = [e for e in timeline.entries if e.source.value == "audit"]
    assert change.actor.name == "dave@example.com" and f"project={watched}" in change.link
    assert sum(m.errors for m in timeline.errors.minutes) == 3
    reads = {r.name: r.filter for r in timeline.reads}
    assert f"projects/{watched}/logs/" in reads["audit"] and f"projects/{watched}/logs/" in reads["request_errors"]
    assert f"projects/{PROJECT}/logs/" not in reads["audit"] + reads["request_errors"]


def test_a_watched_project_runwarden_may_not_read_leaves_a_timeline_that_says_so(standin, logs):
    # Runwarden's own lines are in PROJECT; the watched project's logs refuse it (PERMISSION_DENIED,
    # as the adapter raises it). The timeline is built from what could be read and says what not.
    step(standin, T0, "received", f"alert {INCIDENT} (open)", message_id="1", state="open",
         started_at=int(T0.timestamp()),
         resource={"project_id": "watched-project", "location": "us-central1", "service_name": "backend"})
    step(standin, T0 + timedelta(minutes=1), "applied", "rollback_traffic applied", status="applied")

    timeline = build_timeline(INCIDENT, PROJECT, _Refusing(logs, "watched-project"), NOW)

    assert [e.kind for e in timeline.entries] == ["alert_opened", "applied"] and timeline.cut_short
    refused = {r.name: r for r in timeline.reads if r.cut_short}
    assert set(refused) == {"audit", "request_errors"} and "PERMISSION_DENIED" in refused["audit"].why
    assert not timeline.errors.minutes and timeline.milestones.recovery is None
    markdown = render(timeline, "markdown")
    assert "No change found in the entries read" in markdown and "Cloud Logging refused the read" in markdown


def test_a_malformed_project_in_a_step_falls_back_to_runwardens_own(standin, logs):
    step(standin, T0, "received", f"alert {INCIDENT} (open)", message_id="1", state="open",
         resource={"project_id": 'x" OR logName:*', "location": "us-central1", "service_name": "backend"})

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)

    assert timeline.service == SERVICE_NAME
    assert any("not a project id" in n for n in timeline.notes)


@pytest.mark.parametrize("service, location", [
    ('backend" OR logName:*', "us-central1"), ("back\nend|# <script>", "us-central1"), ("x/../../other", "us-central1"),
    ("backend", 'us" OR x'), ("b" * 64, "us-central1"), ("-backend", "us-central1")])
def test_a_step_naming_no_cloud_run_service_is_not_read_under(standin, logs, service, location):
    step(standin, T0, "received", f"alert {INCIDENT} (open)", message_id="1", state="open",
         resource={"project_id": PROJECT, "location": location, "service_name": service})

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)

    assert timeline.service == "" and [r.name for r in timeline.reads] == ["runwarden"]
    assert any("not a Cloud Run service name" in n for n in timeline.notes)
    assert any("do not name a Cloud Run service" in n for n in timeline.notes)


def test_a_connector_in_a_host_project_is_read_there(standin, logs):
    # The service is in PROJECT; its connector in a Shared VPC host project. The connector's
    # change is in the host project's audit log; a same-named `backend` service there is another
    # service and stays out.
    from sandbox.standins.logging import AuditSeed, EntrySeed, log_name_for

    host = "net-host-project"
    step(standin, T0, "received", f"alert {INCIDENT} (open)", message_id="1", state="open",
         resource={"project_id": PROJECT, "location": "us-central1", "service_name": "backend"})
    for method, resource, who, service in (
            ("google.cloud.vpcaccess.v1.VpcAccessService.UpdateConnector",
             f"projects/{host}/locations/us-central1/connectors/shared-conn", "ned@example.com", "vpcaccess.googleapis.com"),
            ("google.cloud.run.v2.Services.UpdateService",
             f"projects/{host}/locations/us-central1/services/backend", "mallory@example.com", "run.googleapis.com")):
        standin.add_entry(EntrySeed(
            log_name=log_name_for(host, "cloudaudit.googleapis.com/activity"), timestamp=T0 - timedelta(minutes=3),
            resource_type="audited_resource", severity="NOTICE",
            audit=AuditSeed(method_name=method, resource_name=resource, principal_email=who, service_name=service)))

    deps = Dependencies(connectors={f"projects/{host}/locations/us-central1/connectors/shared-conn"},
                        sql_instances={f"{PROJECT}:us-central1:main-db"})
    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=deps)

    [change] = [e for e in timeline.entries if e.source.value == "audit"]
    assert change.actor.name == "ned@example.com" and change.kind == "connector_change"
    assert f"project={host}" in change.link
    extra = next(r for r in timeline.reads if r.name == f"audit {host}")
    assert f"projects/{host}/logs/" in extra.filter and "run.googleapis.com" not in extra.filter
    assert "cloudsql" not in extra.filter            # the database is in the service's own project


def test_a_command_whose_steps_carry_another_incident_is_not_found_but_pointed_to(standin, logs):
    """`runwarden timeline command:ID` reads a manual action's lines. An approve's lines carry its
    proposal's incident, so `command:ap-1` finds none of its own; the answer names the incident they
    carry and the command to read it, rather than a bare "no entry", which reads as "no such command".
    A command id that differs only in case (Logging's comparisons are not case sensitive) is not it."""
    from tests.integration.timeline_world import ON_COMMAND

    step(standin, T0, "received", "command approve from alice@example.com", incident=None, trigger="command",
         function=ON_COMMAND, command_id="ap-1", command="approve", requested_by="alice@example.com")
    step(standin, T0 + timedelta(seconds=1), "approved", "approved p-0123456789ab", trigger="command",
         function=ON_COMMAND, command_id="ap-1", proposal_id="p-0123456789ab")
    step(standin, T0 + timedelta(seconds=2), "applied", "scale_connector applied", incident="0.other",
         trigger="command", function=ON_COMMAND, command_id="AP-1")

    with pytest.raises(UnknownIncident) as raised:
        build_timeline("command:ap-1", PROJECT, logs, NOW)
    message = str(raised.value)
    assert f"command ap-1 (approve) has steps under incident {INCIDENT}" in message, message
    assert f"runwarden timeline {INCIDENT} --project {PROJECT}" in message and "0.other" not in message, message


def test_a_command_whose_steps_carry_no_incident_is_not_found_but_says_how_to_read_them(standin, logs):
    from tests.integration.timeline_world import ON_COMMAND

    step(standin, T0, "received", "command pause from alice@example.com", incident=None, trigger="command",
         function=ON_COMMAND, command_id="pz-1", command="pause", requested_by="alice@example.com")
    step(standin, T0 + timedelta(seconds=1), "kill_switch", "kill switch engaged", incident=None, trigger="command",
         function=ON_COMMAND, command_id="pz-1")

    with pytest.raises(UnknownIncident) as raised:
        build_timeline("command:pz-1", PROJECT, logs, NOW)
    message = str(raised.value)
    assert "command pz-1 (pause) has steps, under no incident" in message, message
    assert f"gcloud logging read 'jsonPayload.runwarden.command_id=\"pz-1\"' --project {PROJECT}" in message, message
    # A manual rollback refused before it planned its change (no such revision): no incident either.
    step(standin, T0, "received", "command rollback_traffic from alice@example.com", incident=None,
         trigger="command", function=ON_COMMAND, command_id="rb-9", command="rollback_traffic")
    step(standin, T0 + timedelta(seconds=1), "rejected", "params.revision: backend-00009-zzz is not a revision",
         incident=None, trigger="command", function=ON_COMMAND, command_id="rb-9", status="rejected")
    with pytest.raises(UnknownIncident) as raised:
        build_timeline("command:rb-9", PROJECT, logs, NOW)
    assert "command rb-9 (rollback_traffic) has steps, under no incident (a manual action's carry command:rb-9 only " \
           "once it plans its change" in str(raised.value), raised.value
    # A command of which nothing was logged is still plainly unknown.
    with pytest.raises(UnknownIncident) as raised:
        build_timeline("command:nothing-1", PROJECT, logs, NOW)
    assert str(raised.value).endswith("in the last 30 days"), raised.value


def test_a_commands_incident_label_not_of_an_ids_shape_is_never_offered_as_a_command_to_run(standin, logs):
    """The incident label on a command's lines is read back from Cloud Logging, where any principal allowed
    to write entries can set it: one like `0.abc;w` pasted into `runwarden timeline ...` would run `w`."""
    from tests.integration.timeline_world import ON_COMMAND

    step(standin, T0, "received", "command approve from mallory@example.com", incident="0.nrwotmyokd9n;w",
         trigger="command", function=ON_COMMAND, command_id="ap-7", command="approve")

    with pytest.raises(UnknownIncident) as raised:
        build_timeline("command:ap-7", PROJECT, logs, NOW)
    message = str(raised.value)
    assert ";w" not in message and "command ap-7 (approve) has steps, under no incident" in message, message


def test_a_commands_name_read_back_from_the_logs_is_shown_on_one_line_and_cut(standin, logs):
    """The command's name in the not-found answer is read back from Cloud Logging, anyone's text: a name of
    thousands of characters and line breaks made an answer of that size over several lines."""
    from tests.integration.timeline_world import ON_COMMAND

    step(standin, T0, "received", "command from mallory@example.com", incident=None, trigger="command",
         function=ON_COMMAND, command_id="ap-8", command="approve\n" + "x" * 5000 + "\u202e")

    with pytest.raises(UnknownIncident) as raised:
        build_timeline("command:ap-8", PROJECT, logs, NOW)
    message = str(raised.value)
    assert "\n" not in message and "\u202e" not in message and len(message) < 1000, message[:300]
    assert "command ap-8 (approve " in message, message[:300]


def _alerted_and_rolled_back(standin: LoggingStandIn) -> None:
    step(standin, T0, "received", f"alert {INCIDENT} (open)", message_id="1", state="open",
         started_at=int(T0.timestamp()), resource={"project_id": PROJECT, "location": "us-central1",
                                                    "service_name": "backend"})
    step(standin, T0 + timedelta(minutes=1.5), "applied", "rollback_traffic applied", status="applied")


def test_a_read_quota_used_up_mid_timeline_leaves_the_timeline_with_that_read_cut_short(standin, logs):
    """ListLogEntries' per-minute quota runs out while the request log is read (another reader took
    its share this minute): RESOURCE_EXHAUSTED after the adapter's retries. Before, the whole timeline
    failed (503, "try again in a minute") and what was read was thrown away; the same reads then met
    the same quota. Now that read is cut short, saying why, and the timeline claims nothing past it."""
    from tests.integration.timeline_world import request_errors

    _alerted_and_rolled_back(standin)
    request_errors(standin, T0 - timedelta(minutes=3), 30, 100)
    standin.read_quota = 10

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, limits=Limits(page_size=100))

    errors_read = next(r for r in timeline.reads if r.name == "request_errors")
    assert errors_read.cut_short and 0 < errors_read.pages < 30 and "read quota" in errors_read.why, errors_read.why
    assert timeline.cut_short and timeline.milestones.recovery is None and timeline.durations.ttr_seconds is None
    assert {"alert_opened", "applied", "errors_started"} <= {e.kind for e in timeline.entries}
    assert any("read quota" in f.text for f in timeline.follow_ups)


def test_reads_in_other_projects_never_take_a_timeline_past_the_read_quota(standin, logs):
    """A service whose connectors sit in two other projects (Shared VPC hosts) adds an audit read in
    each: 10 pages each, on top of 10 + 10 + 30. Past ListLogEntries' 60 calls a minute, the request
    log's read was refused and the whole timeline failed, and failed again a minute later. The reads
    now share one budget of calls (Limits.max_calls) under the quota; the last is cut short, saying so."""
    from tests.integration.timeline_world import audit, request_errors
    from sandbox.standins.logging import AuditSeed, EntrySeed, log_name_for

    _alerted_and_rolled_back(standin)
    for i in range(12):
        audit(standin, T0 - timedelta(minutes=5, seconds=i), "google.cloud.run.v2.Services.UpdateService",
              SERVICE_NAME, "bob@example.com")
    hosts = ("net-host-a", "net-host-b")
    for host in hosts:
        for i in range(12):
            standin.add_entry(EntrySeed(
                log_name=log_name_for(host, "cloudaudit.googleapis.com/activity"),
                timestamp=T0 - timedelta(minutes=4, seconds=i), resource_type="audited_resource", severity="NOTICE",
                audit=AuditSeed(method_name="google.cloud.vpcaccess.v1.VpcAccessService.UpdateConnector",
                                resource_name=f"projects/{host}/locations/us-central1/connectors/conn",
                                principal_email="ned@example.com", service_name="vpcaccess.googleapis.com")))
    request_errors(standin, T0 - timedelta(minutes=3), 10, 5)
    standin.read_quota = 60
    deps = Dependencies(connectors={f"projects/{h}/locations/us-central1/connectors/conn" for h in hosts})

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=deps, limits=Limits(page_size=1))

    assert standin.count("ListLogEntries") <= Limits().max_calls
    errors_read = next(r for r in timeline.reads if r.name == "request_errors")
    assert errors_read.cut_short and "calls (under Cloud Logging's per-minute read quota) were spent" in \
        errors_read.why, errors_read.why
    assert timeline.milestones.recovery is None


def test_a_service_with_many_secrets_still_shows_its_changes(standin, logs):
    """Its revisions reference 120 secrets with long names: one audit filter naming them all passed
    Logging's 20,000 characters and was refused (INVALID_ARGUMENT), so no change at all was shown, the
    person's deploy included. The names are split over filters within the limit, each read."""
    from tests.integration.timeline_world import audit

    step(standin, T0, "received", f"alert {INCIDENT} (open)", message_id="1", state="open",
         started_at=int(T0.timestamp()), resource={"project_id": PROJECT, "location": "us-central1",
                                                    "service_name": "backend"})
    audit(standin, T0 - timedelta(minutes=4), "google.cloud.run.v2.Services.UpdateService", SERVICE_NAME,
          "alice@example.com", request={"template": {"containers": [{"image": "gcr.io/p/backend:v2"}]}})
    secrets = {f"projects/{PROJECT}/secrets/{'payments-provider-credential-' * 6}{i:03}" for i in range(120)}
    last = sorted(s.rsplit("/", 1)[-1] for s in secrets)[-1]
    audit(standin, T0 - timedelta(minutes=3), "google.cloud.secretmanager.v1.SecretManagerService.AddSecretVersion",
          f"projects/{PROJECT}/secrets/{last}", "bob@example.com", service="secretmanager.googleapis.com")

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=Dependencies(secrets=secrets))

    audits = [r for r in timeline.reads if r.name.startswith("audit")]
    assert len(audits) > 1 and not any(r.cut_short for r in audits), [(r.name, r.why) for r in audits]
    assert all(len(r.filter) <= 20_000 for r in audits)
    assert {"alice@example.com", "bob@example.com"} <= set(timeline.people), timeline.people


def test_a_pin_released_by_a_person_after_the_rollback_is_not_said_to_hold(world, logs):
    """The seeded rollback pinned backend-00001-abc; later a person sent the traffic back to LATEST by
    hand. The follow-up still said "Traffic is pinned … until someone releases the pin", a false
    statement in a postmortem. It now says the service was changed since, by whom, and to check."""
    from tests.integration.timeline_world import audit

    audit(world, T0 + timedelta(minutes=9), "google.cloud.run.v2.Services.UpdateService", SERVICE_NAME,
          "dave@example.com", request={"service": {"name": SERVICE_NAME, "traffic": [
              {"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]}, "updateMask": "traffic"})

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)

    pin = next(f for f in timeline.follow_ups if "pinned to backend-00001-abc" in f.text)
    assert not pin.text.startswith("Traffic is pinned"), pin.text
    assert "dave@example.com" in pin.text and "check whether the pin still holds" in pin.text, pin.text


def storm_then_end(standin, deliveries: int) -> None:
    """An alert redelivered `deliveries` times while its first attempt runs (two lines each), then the
    rollback applied, the sweep's verification and the alert's close: the end of the incident comes
    after every line of the storm."""
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    for n in range(1, deliveries + 1):
        at = T0 + timedelta(seconds=n / 4)
        step(standin, at, "received", f"alert {INCIDENT} (open) from policy 'p'", message_id="17", state="open",
             started_at=int(T0.timestamp()), resource=resource)
        step(standin, at + timedelta(milliseconds=5), "deferred", f"delivery {n} of at most 5: an earlier attempt is in progress",
             severity="WARNING", message_id="17", attempt=n, transient=True)
    end = T0 + timedelta(seconds=deliveries / 4 + 60)
    step(standin, end, "applied", "rollback_traffic applied", status="applied", action="rollback_traffic",
         key=ROLLBACK_KEY)
    step(standin, end + timedelta(minutes=6), "verified", "rollback_traffic verified: healthy", trigger="command",
         function=ON_COMMAND, action="rollback_traffic", key=ROLLBACK_KEY)
    step(standin, end + timedelta(minutes=7), "received", f"alert {INCIDENT} (closed) from policy 'p'",
         message_id="31", resource=resource, state="closed", started_at=int(T0.timestamp()),
         ended_at=int((end + timedelta(minutes=6, seconds=30)).timestamp()))


def test_more_of_runwardens_own_lines_than_one_read_holds_still_shows_how_the_incident_ended(standin, logs):
    """Read in time order and stopped after its pages (10,000 lines by default), the read of Runwarden's
    own lines kept the storm's start and lost its end: no write, no verification, no close, no recovery.
    The newest lines are now read too, newest first, down to where the first read stopped."""
    storm_then_end(standin, 600)          # 1,200 lines of storm, then 3 more; 10 pages of 100 read 1,000

    timeline = build_timeline(INCIDENT, PROJECT, logs, T0 + timedelta(hours=1), limits=Limits(page_size=100))

    assert {"applied", "verified", "alert_closed"} <= {e.kind for e in timeline.entries}, kinds(timeline)
    assert timeline.milestones.recovery is not None and timeline.milestones.mitigation is not None
    deferred = next(e for e in timeline.entries if e.kind == "deferred")
    assert deferred.count == 600 and "delivery 600" in deferred.summary      # every line was read, once
    assert not timeline.cut_short, timeline.notes


def test_runwardens_lines_read_from_both_ends_say_which_were_not_read(standin, logs):
    storm_then_end(standin, 1000)         # 2,000 lines of storm: 1,000 from the start, 500 from the end

    timeline = build_timeline(INCIDENT, PROJECT, logs, T0 + timedelta(hours=1), limits=Limits(page_size=100))

    assert {"applied", "verified", "alert_closed"} <= {e.kind for e in timeline.entries}, kinds(timeline)
    first = next(r for r in timeline.reads if r.name == "runwarden")
    assert first.cut_short and "were not read" in first.why and "12:02:05" in first.why, first.why
    assert timeline.cut_short and any("runwarden" in f.text and "cut short" in f.text for f in timeline.follow_ups)


def test_runwardens_own_lines_cut_short_by_a_failed_page_show_what_was_read_labelled_incomplete(standin, logs):
    """The read of Runwarden's own lines fails on its fourth page (the per-minute read quota spent, after the
    adapter's retries; a page's 30 s spent, DEADLINE_EXCEEDED, ends the same way), and the newest-first read
    after it too. Before, the whole timeline failed (503, "try again"), the three pages read thrown
    away, though they show the incident's alert and its storm: a retry met the same quota. Now the timeline shows
    what was read, under THE TIMELINE IS INCOMPLETE (answered 200: functions/timeline.py), saying why."""
    storm_then_end(standin, 300)          # 600 lines of storm, then 3 more: 7 pages of 100
    standin.read_quota = 3

    timeline = build_timeline(INCIDENT, PROJECT, logs, T0 + timedelta(hours=1), limits=Limits(page_size=100))

    first = next(r for r in timeline.reads if r.name == "runwarden")
    assert first.cut_short and first.pages == 3 and "read quota" in first.why, first.why
    assert "alert_opened" in {e.kind for e in timeline.entries}, kinds(timeline)
    assert timeline.cut_short and timeline.milestones.recovery is None
    assert "THE TIMELINE IS INCOMPLETE" in render(timeline, "text")


def test_runwardens_own_lines_not_read_at_all_still_fail_the_timeline(standin, logs):
    """With no page of Runwarden's lines read there is nothing to show: the failure is raised, as before (a 503
    with a Retry-After: shared/timeline/live.py `logging_failure`)."""
    from shared.errors import TransientError

    storm_then_end(standin, 10)
    standin.read_quota = 0
    with pytest.raises(TransientError):
        build_timeline(INCIDENT, PROJECT, logs, T0 + timedelta(hours=1), limits=Limits(page_size=100))


def test_an_instance_whose_clock_is_minutes_off_is_read_on_loggings_clock(standin, logs):
    """on_alert ran on an instance whose clock was 3 minutes behind: its lines carry times 3 minutes
    early. Its rollback (12:01:30 by Cloud Run's audit log) was shown as a person's change, 3 minutes
    after Runwarden's `applied`, and the sweep's lines from a sound instance fell among the alert's.
    Cloud Logging stamps each entry with its own receipt time (LogEntry.receive_timestamp): the lines
    of that writer are read at its clock's offset from it, and the timeline says so."""
    from tests.integration.timeline_world import audit
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    behind = timedelta(minutes=3)

    def slow(real, name, message, **details):     # written by the instance whose clock is behind
        step(standin, real - behind, name, message, writer="slow0instance", received=real + timedelta(seconds=1),
             **details)

    slow(T0 + timedelta(seconds=60), "received", f"alert {INCIDENT} (open) from policy 'p'", message_id="17",
         state="open", started_at=int(T0.timestamp()), resource=resource)
    slow(T0 + timedelta(seconds=70), "planned", "roll back", action="rollback_traffic",
         params={"target": SERVICE_NAME, "to_revision": "backend-00001-abc"})
    slow(T0 + timedelta(seconds=75), "claimed", "claimed")
    audit(standin, T0 + timedelta(seconds=90), "google.cloud.run.v2.Services.UpdateService", SERVICE_NAME,
          RUNWARDEN_SA, request={"service": {"traffic": [{"revision": "backend-00001-abc", "percent": 100}]}})
    slow(T0 + timedelta(seconds=95), "applied", "rollback_traffic applied", status="applied")
    # A redelivery of the same alert, on a sound instance, while the first attempt worked
    step(standin, T0 + timedelta(seconds=80), "in_progress", "an earlier attempt at this message is in progress",
         writer="sound0instance", message_id="17")

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)

    change = next(e for e in timeline.entries if e.source.value == "audit")
    assert change.actor.kind.value == "runwarden", change
    assert [e.kind for e in timeline.entries if e.source.value == "runwarden"] == [
        "planned", "claimed", "in_progress", "applied"], kinds(timeline)
    applied = next(e for e in timeline.entries if e.kind == "applied")
    assert applied.at == T0 + timedelta(seconds=96)            # Logging's receipt, as its clock would have said
    assert not timeline.people and any("clock" in n and "3 min" in n for n in timeline.notes), timeline.notes


def test_an_instance_whose_clock_is_ahead_is_read_though_its_lines_carry_times_after_now(standin, logs):
    """The incident is under way; on_alert ran on an instance whose clock is 10 minutes ahead, so the lines it
    wrote a minute ago carry times 9 minutes from now. Cloud Logging stores them ("Future timestamp that can
    be stored in log buckets: Up to 1 day in the future", Cloud Logging "Quotas and limits"); a read that
    stopped at now never saw them, and the timeline showed the alert and no plan, claim or write."""
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    ahead = timedelta(minutes=10)
    step(standin, T0 + timedelta(seconds=30), "received", f"alert {INCIDENT} (open) from policy 'p'", message_id="5",
         state="open", started_at=int(T0.timestamp()), resource=resource, writer="sound0instance",
         received=T0 + timedelta(seconds=31))
    for real, name in ((NOW - timedelta(minutes=2), "planned"), (NOW - timedelta(seconds=90), "claimed"),
                       (NOW - timedelta(minutes=1), "applied")):
        step(standin, real + ahead, name, name, writer="fast0instance", received=real + timedelta(seconds=1),
             **({"action": "rollback_traffic"} if name == "planned" else {}))

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)

    assert [e.kind for e in timeline.entries if e.source.value == "runwarden"] == [
        "planned", "claimed", "applied"], kinds(timeline)
    applied = next(e for e in timeline.entries if e.kind == "applied")
    assert applied.at == NOW - timedelta(seconds=59)           # Logging's receipt, not the clock ahead
    assert any("clock" in n and "ahead" in n for n in timeline.notes), timeline.notes


CONNECTOR = f"projects/{PROJECT}/locations/us-central1/connectors/backend-conn"
DEPLOY_BOT = "deployer@demo-project.iam.gserviceaccount.com"
TERRAFORM = "terraform@demo-project.iam.gserviceaccount.com"


def _rollback_with_others_writing(standin: LoggingStandIn) -> None:
    """Runwarden rolls `backend` back (claimed 12:01:15, applied 12:01:35) while a deploy bot ships a
    fix with gcloud and Terraform, also a service account, resizes the service's connector: three
    service accounts' changes within two minutes of Runwarden's write, only one of them its own."""
    from tests.integration.timeline_world import audit
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    step(standin, T0 + timedelta(seconds=60), "received", f"alert {INCIDENT} (open) from policy 'p'", message_id="17",
         state="open", started_at=int(T0.timestamp()), resource=resource)
    step(standin, T0 + timedelta(seconds=70), "planned", "roll back", action="rollback_traffic",
         params={"target": SERVICE_NAME, "to_revision": "backend-00001-abc"})
    step(standin, T0 + timedelta(seconds=75), "claimed", "claimed")
    audit(standin, T0 + timedelta(seconds=90), "google.cloud.run.v2.Services.UpdateService", SERVICE_NAME,
          RUNWARDEN_SA, request={"service": {"traffic": [{"revision": "backend-00001-abc", "percent": 100}]},
                                 "updateMask": "traffic"})
    step(standin, T0 + timedelta(seconds=95), "applied", "rollback_traffic applied", status="applied")
    audit(standin, T0 + timedelta(seconds=100), "google.cloud.run.v1.Services.ReplaceService",
          f"namespaces/{PROJECT}/services/backend", DEPLOY_BOT,
          request={"service": {"spec": {"template": {"spec": {"containers": [{"image": "gcr.io/demo/backend:v3"}]}}}}})
    audit(standin, T0 + timedelta(seconds=110), "google.cloud.vpcaccess.v1.VpcAccessService.UpdateConnector",
          CONNECTOR, TERRAFORM, service="vpcaccess.googleapis.com", operation="operations/tf-1")


def test_other_service_accounts_changes_beside_runwardens_write_are_not_its_own(standin, logs):
    _rollback_with_others_writing(standin)
    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=Dependencies(connectors={CONNECTOR}))

    by = {e.actor.name.removeprefix("Runwarden (").rstrip(")"): e for e in timeline.entries if e.source.value == "audit"}
    assert by[RUNWARDEN_SA].actor.kind.value == "runwarden"
    assert by[DEPLOY_BOT].actor.kind.value == "person" and by[DEPLOY_BOT].kind == "deploy", by[DEPLOY_BOT]
    assert by[TERRAFORM].actor.kind.value == "person" and by[TERRAFORM].marker == "human", by[TERRAFORM]
    assert timeline.people == [DEPLOY_BOT, TERRAFORM]



@pytest.mark.parametrize("method", ["PATCH_METHOD", "PATCH_METHOD_GRPC"])
@pytest.mark.parametrize("who", ["person", "runwarden"])
def test_a_connector_patch_shows_whichever_method_name_the_audit_log_gives_it(standin, logs, monkeypatch, method,
                                                                             who):
    """The connector PATCH through the real adapter, its audit entries written by the VPC Access stand-in
    under either methodName it may carry (`Connectors.PatchConnector`, `VpcAccessService.PatchConnector`;
    the "Serverless VPC Access audit logging" page lists `VpcAccessService.UpdateConnector`: seeded in
    the test above). Read only as UpdateConnector, a person's resize of the connector during the
    incident, and Runwarden's own scale, were left out of the timeline."""
    from sandbox.standins import vpcaccess
    from shared.gcp.vpcaccess import VpcAccessAdapter

    vpc = vpcaccess.VpcAccessStandIn(lro_polls_before_done=0)
    vpc.start()
    try:
        monkeypatch.setenv("VPCACCESS_EMULATOR_HOST", vpc.address)
        vpc.add_connector(CONNECTOR, min_instances=2, max_instances=3)
        principal = RUNWARDEN_SA if who == "runwarden" else "dave@example.com"
        at = T0 + timedelta(seconds=90)
        vpc.audit_into(standin, principal, clock=lambda: at, method=getattr(vpcaccess, method))
        resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
        step(standin, T0 + timedelta(seconds=60), "received", f"alert {INCIDENT} (open) from policy 'p'",
             message_id="17", state="open", started_at=int(T0.timestamp()), resource=resource)
        if who == "runwarden":
            step(standin, T0 + timedelta(seconds=70), "planned", "scale the connector", action="scale_connector",
                 params={"target": CONNECTOR, "max_instances": 5})
            step(standin, T0 + timedelta(seconds=75), "claimed", "claimed")
        VpcAccessAdapter(poll_initial_delay=0.01, poll_max_delay=0.02).update_connector(
            CONNECTOR, min_instances=2, max_instances=5)
        if who == "runwarden":
            step(standin, T0 + timedelta(seconds=95), "applied", "scale_connector applied", status="applied")
    finally:
        vpc.stop()

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW, depends_on=Dependencies(connectors={CONNECTOR}))

    [change] = [e for e in timeline.entries if e.source.value == "audit"]
    assert change.kind == "connector_change" and change.actor.kind.value == who, change
    assert timeline.people == ([] if who == "runwarden" else ["dave@example.com"])


def test_runwardens_write_under_another_incident_of_the_same_service_is_not_a_persons(standin, logs):
    """Two policies fired for `backend` (its 5xx ratio, and its latency): the latency incident's handling
    rolled the service back, and this incident's was skipped (the rollback's cooldown). Read against
    this incident's lines alone, Runwarden's own UpdateService was a person's change by its service
    account: "people acted before Runwarden", and the mitigation "a person's change"."""
    from tests.integration.timeline_world import audit
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    other = "0.latencyincident"
    step(standin, T0 + timedelta(seconds=50), "received", f"alert {other} (open) from policy 'latency'",
         incident=other, message_id="16", state="open", policy="latency", started_at=int(T0.timestamp()),
         resource=resource)
    step(standin, T0 + timedelta(seconds=70), "planned", "roll back", incident=other, action="rollback_traffic",
         params={"target": SERVICE_NAME, "to_revision": "backend-00001-abc"})
    step(standin, T0 + timedelta(seconds=75), "claimed", "claimed", incident=other)
    audit(standin, T0 + timedelta(seconds=90), "google.cloud.run.v2.Services.UpdateService", SERVICE_NAME,
          RUNWARDEN_SA, request={"service": {"traffic": [{"revision": "backend-00001-abc", "percent": 100}]},
                                 "updateMask": "traffic"})
    step(standin, T0 + timedelta(seconds=95), "applied", "rollback_traffic applied", incident=other,
         status="applied")
    step(standin, T0 + timedelta(seconds=60), "received", f"alert {INCIDENT} (open) from policy '5xx ratio'",
         message_id="17", state="open", policy="5xx ratio", started_at=int(T0.timestamp()), resource=resource)
    step(standin, T0 + timedelta(seconds=100), "skipped", "cooldown: backend was rolled back a minute ago",
         status="skipped")

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)
    # the other incident is named, with its policy and the command for its own timeline
    [named] = [n for n in timeline.notes if other in n and "another policy's incident" in n]
    assert "(policy 'latency')" in named and f"runwarden timeline {other} --project {PROJECT}" in named, named

    [change] = [e for e in timeline.entries if e.source.value == "audit"]
    assert change.actor.kind.value == "runwarden" and other in change.actor.name, change
    assert change.marker == "" and not timeline.people and not timeline.people_acted_first
    assert timeline.milestones.mitigation is None or "person" not in timeline.milestones.mitigation.what


def test_a_ci_accounts_update_service_in_runwardens_write_window_is_not_runwardens(standin, logs, monkeypatch):
    """Runwarden rolls `backend` back (claimed 12:01:15, applied 12:01:35), its lines naming the account
    it acts as (the writer's `principal`, found at start-up), while a CI pipeline's service account shifts
    the service's traffic with the v2 API (`UpdateService`, update_mask traffic) at 12:01:40. Before, the
    CI account's change read as Runwarden's own write: nobody else acted."""
    from shared.timeline import writer
    from tests.integration.timeline_world import audit
    ci = "ci-canary@demo-project.iam.gserviceaccount.com"
    monkeypatch.setattr(writer, "_principal", RUNWARDEN_SA)
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    step(standin, T0 + timedelta(seconds=60), "received", f"alert {INCIDENT} (open) from policy 'p'", message_id="17",
         state="open", started_at=int(T0.timestamp()), resource=resource)
    step(standin, T0 + timedelta(seconds=70), "planned", "roll back", action="rollback_traffic",
         params={"target": SERVICE_NAME, "to_revision": "backend-00001-abc"})
    step(standin, T0 + timedelta(seconds=75), "claimed", "claimed")
    for at, who, split in ((90, RUNWARDEN_SA, [("backend-00001-abc", 100)]),
                           (100, ci, [("backend-00003-new", 10), ("backend-00001-abc", 90)])):
        audit(standin, T0 + timedelta(seconds=at), "google.cloud.run.v2.Services.UpdateService", SERVICE_NAME, who,
              request={"service": {"traffic": [{"revision": r, "percent": p} for r, p in split]},
                       "updateMask": "traffic"})
    step(standin, T0 + timedelta(seconds=95), "applied", "rollback_traffic applied", status="applied")

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)

    kinds = {e.actor.name: (e.actor.kind.value, e.marker) for e in timeline.entries if e.source.value == "audit"}
    assert kinds == {f"Runwarden ({RUNWARDEN_SA})": ("runwarden", ""), ci: ("person", "human")}, kinds
    assert timeline.people == [ci]


def test_a_slow_burn_that_began_before_the_window_is_read_back_to_its_onset_and_its_deploy(standin, logs):
    """alice deploys at 10:25 with gcloud; a trickle of 503s (3 a minute) starts at 10:30 and the alert, a
    ratio over an hour, opens at 12:00. The window began at 11:30, 30 minutes before the first line, where
    requests were already failing: the onset, TTD, TTM and TTR were "not known", and alice's deploy, the
    change that started it, was not read. Through the real client, the stand-in answering newest first."""
    from tests.integration.timeline_world import audit, request_errors
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    audit(standin, T0 - timedelta(minutes=95), "google.cloud.run.v1.Services.ReplaceService",
          f"namespaces/{PROJECT}/services/backend", "alice@example.com",
          request={"service": {"spec": {"template": {"spec": {"containers": [{"image": "gcr.io/demo/backend:v7"}]}}}}})
    request_errors(standin, T0 - timedelta(minutes=90), 100, 3)
    step(standin, T0 + timedelta(seconds=60), "received", f"alert {INCIDENT} (open) from policy 'p'", message_id="17",
         state="open", started_at=int(T0.timestamp()), resource=resource)

    timeline = build_timeline(INCIDENT, PROJECT, logs, NOW)

    assert timeline.milestones.onset.at == T0 - timedelta(minutes=90)
    assert timeline.durations.ttd_seconds == 90 * 60
    [deploy] = [e for e in timeline.entries if e.kind == "deploy"]
    assert deploy.actor.name == "alice@example.com" and timeline.people_acted_first is False
    assert timeline.window_start == T0 - timedelta(minutes=120)
    assert any("read back" in n for n in timeline.notes) and not timeline.cut_short, timeline.notes


def test_a_flapping_alert_says_the_service_failed_again_and_names_the_incidents_that_followed(standin, logs):
    """One policy on `backend` flaps: opened 12:00, closed 12:08; its condition met again, Monitoring opened a
    new incident at 12:20 (closed 12:29), and another at 12:40. The first incident's timeline showed its
    recovery (errors at zero from 12:08) and nothing of the failures that followed, under other ids."""
    from tests.integration.timeline_world import request_errors
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    episodes = [(INCIDENT, 0, 8), ("0.flap2", 20, 29), ("0.flap3", 40, 47)]
    for incident, opened, closed in episodes:
        request_errors(standin, T0 + timedelta(minutes=opened - 2), closed - opened + 1, 20)
        step(standin, T0 + timedelta(minutes=opened, seconds=30), "received",
             f"alert {incident} (open) from policy '5xx ratio'", incident=incident, message_id=f"{incident}-o",
             state="open", policy="5xx ratio", started_at=int((T0 + timedelta(minutes=opened)).timestamp()),
             resource=resource)
        step(standin, T0 + timedelta(minutes=opened, seconds=40), "escalated", "no fix applies: a person decides",
             incident=incident, status="escalated", severity="WARNING")
        step(standin, T0 + timedelta(minutes=closed, seconds=10), "received",
             f"alert {incident} (closed) from policy '5xx ratio'", incident=incident, message_id=f"{incident}-c",
             state="closed", policy="5xx ratio", started_at=int((T0 + timedelta(minutes=opened)).timestamp()),
             ended_at=int((T0 + timedelta(minutes=closed)).timestamp()), resource=resource)

    timeline = build_timeline(INCIDENT, PROJECT, logs, T0 + timedelta(hours=2))

    assert timeline.milestones.recovery is not None and timeline.milestones.recovery.at <= T0 + timedelta(minutes=9)
    again = [n for n in timeline.notes if n.startswith("requests failed again")]
    assert again and "2026-11-26 12:18Z" in again[0], timeline.notes
    reopened = [n for n in timeline.notes if "opened again" in n]
    assert len(reopened) == 1 and "0.flap2" in reopened[0] and "runwarden timeline 0.flap2" in reopened[0], reopened


def test_runwardens_rollback_that_did_not_help_and_a_persons_update_traffic_that_did(standin, logs):
    """Runwarden rolled `backend` back at 12:01:35 to a revision that failed too (the bad change was in a
    secret both read); the errors went on, dana ran `gcloud run services update-traffic` at 12:06 (a v1
    ReplaceService with the whole service), the errors stopped, and the sweep then found the service healthy
    and verified Runwarden's write. Before, the write was the mitigation (TTM from it) and dana's change a
    deploy; now dana's change is the mitigation, shown as the deploy or traffic change it may be, and the
    pin follow-up says it may have been released."""
    from tests.integration.timeline_world import audit, request_errors
    resource = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
    request_errors(standin, T0 - timedelta(minutes=2), 9, 20)       # 11:58 .. 12:06
    step(standin, T0 + timedelta(seconds=60), "received", f"alert {INCIDENT} (open) from policy 'p'", message_id="17",
         state="open", started_at=int(T0.timestamp()), resource=resource)
    step(standin, T0 + timedelta(seconds=70), "planned", "roll back", action="rollback_traffic",
         params={"target": SERVICE_NAME, "to_revision": "backend-00004-abc"})
    step(standin, T0 + timedelta(seconds=75), "claimed", "claimed")
    audit(standin, T0 + timedelta(seconds=90), "google.cloud.run.v2.Services.UpdateService", SERVICE_NAME,
          RUNWARDEN_SA, request={"service": {"traffic": [{"revision": "backend-00004-abc", "percent": 100}]},
                                 "updateMask": "traffic"})
    step(standin, T0 + timedelta(seconds=95), "applied", "rollback_traffic applied", status="applied")
    audit(standin, T0 + timedelta(minutes=6), "google.cloud.run.v1.Services.ReplaceService",
          f"namespaces/{PROJECT}/services/backend", "dana@example.com",
          request={"service": {"spec": {"template": {"spec": {"containers": [{"image": "gcr.io/demo/backend:v5"}]}},
                                        "traffic": [{"revisionName": "backend-00002-def", "percent": 100}]}}})
    step(standin, T0 + timedelta(minutes=11), "verified", "rollback_traffic verified: healthy", status="verified",
         trigger="command", function=ON_COMMAND, action="rollback_traffic", key=ROLLBACK_KEY)

    timeline = build_timeline(INCIDENT, PROJECT, logs, T0 + timedelta(hours=1))

    m = timeline.milestones
    assert m.mitigation is not None and m.mitigation.by == "dana@example.com", m.mitigation
    assert timeline.durations.ttm_seconds == 8 * 60
    [dana] = [e for e in timeline.entries if e.actor.name == "dana@example.com"]
    assert dana.kind == "service_change" and "backend-00002-def 100%" in dana.summary, dana
    pin = [f.text for f in timeline.follow_ups if "backend-00004-abc" in f.text]
    assert pin and "may have released it" in pin[0] and "dana@example.com" in pin[0], timeline.follow_ups
