"""Gathering evidence from live state. All the I/O of a diagnosis happens here, and only here.

Cost of one collection, at most 15 API calls, 16 for an alert, each read below marked "own room" adding its own
(CallBudget enforces it):
  Cloud Run:   GetService, ListRevisions                                              2
  Monitoring:  request_count, request_latencies (p99, p50), container/instance_count   3
  Logging:     the service's stderr/stdout warnings and system log (with a log-match
               alert's own filter); audit entries of the service, its connector and
               a database user changed on its Cloud SQL instances                        2
  if the serving revision uses a VPC connector:
  VPC Access:  GET connector                                                           1
  Monitoring:  connector/instances, connector/cpu/utilizations, received_bytes_count,
               sent_bytes_count                                                     4
  if a rollback's candidate target names a connector the serving revisions do not use, and
  the budget has room (in the fullest collection it takes the third read's place):
  VPC Access:  GET the target's connector (target_connector_name)                       1
  and beside it, but in the verification sweep, own room (TARGET_CONNECTOR_READS):
  Monitoring:  that connector's instances, cpu/utilizations, byte counters (how full)     (4)
  if a Cloud SQL instance is known (revision volumes or config):
  Monitoring:  cloudsql database/up, database/cpu/utilization                           2
  and, with a deploy the suspect, only when the budget keeps room for the third read below:
  Monitoring:  cloudsql database/postgresql/num_backends                                (1)
  for an alert whose `healthy` is judged on a share of 5xx and 429 (`callers_may_decide`):
  Logging:     the service's request log over the minutes judged                        1
  on the alert path, for each version a rollback's candidate target reads (target_secret_reads: a pinned
  number, "latest" or an alias), at most
  TARGET_SECRET_READS, each with its own room in the budget:
  Secret Manager: GetSecretVersion (its state, never its payload)                         (2)
  for an uptime check's alert (or the sweep's collection after one: collect's `check_of`), own room:
  Monitoring:  uptime_check/check_passed of the alert's check (check_passed_query)          1
  then, sequentially, at most one of (one follows a log read refused, never one cut short; the other a full one):
  Logging:     the service's log read again without a log-match alert's own filter, or
               the rollback's candidate targets' startup failures (startup_candidates)    1
  and, in the same last round as the startups' read, when the service read's page came back full before its
  window's start, own room:
  Logging:     the application's failure lines alone over that window (_failure_lines)   1
A rollback's candidates are bad_revision's: those of a deploy (the newest serving revision created in the deploy
window) are read in the second round; those of a promotion (a revision created long before, given its traffic in
the deploy window), dated from that round's request counts as diagnosis dates it (promoted_suspect), are read in
the last round, beside the candidates' startups: the same reads, within the same budget.
Reads of optional sources that fail permanently (e.g. PERMISSION_DENIED on logs) become
`gaps`; transient faults propagate, so the platform retries the whole event, except in the last round: there
every read's failure is a gap (`_Reads.never_raised`), a promoted suspect's reads as the startups' and the failure
lines', and the event is not read again for one read that follows all the others.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence, TypeVar

from shared.config import DiagnosisSettings
from shared.diagnosis.check_results import CHECK_PASSED, CHECK_PASSED_READ, PERIODS, UPTIME_URL, alert_check_id
from shared.diagnosis.connector_names import MAX_LISTED, Naming, may_use, names_connector, uses, whole
from shared.errors import (INCOMPLETE_ANSWER, UNANSWERED, IncompleteReadError, PermanentError, RunwardenError,
                           TransientError, cause_status)
from shared.diagnosis.evidence import (AlertContext, EvidenceBundle, HistogramResult, LogRecord, LogResult,
                                       MetricQuery, MetricResult, Revision, SecretRef, Service, StartupRead,
                                       TargetConnectorRead, TargetSecretRead, short_name)
from shared.diagnosis.facts import (CONNECTIONS_READ, FAILED_SEVERITIES, FAILURE_READ_GAP, INGEST_LAG,
                                   TARGET_LOAD_MINUTES, Facts, finite, promotion_reach, whole_until)
from shared.diagnosis.health_bar import health_bar
from shared.diagnosis.log_signals import (MAX_FILTER_CHARS, app_log_filter, audit_filter, failure_lines_filter,
                                         request_log_filter, target_startup_filter)
from shared.diagnosis.percentiles import revision_latencies
from shared.gcp.identifiers import SqlInstance, is_connection_name, names_sql_instance
from shared.gcp.logging import merge_operation_entries
from shared.diagnosis.secret_refs import where_read
from shared.diagnosis.secret_values import as_read, read_alike
from shared.gcp.run_logs import APP_LOGS
from shared.gcp.secretmanager import version_name
from shared.ports import LoggingPort, MonitoringPort, RunPort, SecretManagerPort, VpcAccessPort
from shared.workers import Workers

T = TypeVar("T")
MAX_API_CALLS = 15
# An uptime check's alert reads its check's own results (`check_passed_query`) in the collection's second round,
# on the alert path and in the verification sweep's collection (collect's `check_of`).
UPTIME_READS = 1
# Read from this much before the incident window's start: two of the longest period a check may have (900 s:
# UptimeCheckConfig.period, check_results.PERIODS), so that every location that ran twice shows the check's period
# (check_results.check_period) before the judged minutes hold a result of a check run every 15 minutes. The same
# one call, a few points more (one a location and period).
CHECK_HISTORY = 2 * PERIODS[-1]
# The verification sweep's reads beside a collection: its request log (`request_lines`).
SWEEP_READS = 1
# The alert path's reads beside the sweep's collection: its request log, when `healthy` may depend on who
# sent the requests (`callers_may_decide`). The sweep collects with no alert and reads its own.
ALERT_READS = 1
# The read of the application's failure lines alone (`_failure_lines`), with its own room in the budget: made
# only when the service read's page came back full before it reached its window's start, one ListLogEntries
# page of max_log_entries, in the collection's last round beside the candidates' startups (no round of its own).
FAILURE_READS = 1
# The alert path's reads of the secret versions a rollback's candidate target pins (target_secret_reads), each
# with its own room in the budget (the budget grows by the reads planned, never past this): a revision that pins
# more is read in part, and a gap says so.
TARGET_SECRET_READS = 2
# The reads of how full a rollback's candidate target's connector is, wherever a target is picked (not in the
# sweep's collection): connector/instances, connector/cpu/utilizations and its two byte counters, beside its GET (_target_connector),
# with their own room in the budget: a connector that exists may be at its ceiling with another service's load (target_deps.connector_without_room).
TARGET_CONNECTOR_READS = 4
# The most request-log lines one read takes: ListLogEntries' largest page ("page_size ... the maximum
# value is 1000": ListLogEntriesRequest, google/logging/v2/logging.proto).
REQUEST_LINES = 1000
# The most Admin Activity entries the audit read takes (the service's changes and its connector's, newest first):
# two of ListLogEntries' largest pages ("page_size ... the maximum value is 1000", ListLogEntriesRequest; a response
# with a `next_page_token` may hold fewer, "The presence of next_page_token in the response indicates that more
# results might be available", ListLogEntriesResponse, google/logging/v2/logging.proto), which the adapter follows
# until this many are read. A busy project (a rollout tool stepping a split, a retry loop refused again and again)
# can log more than one page of `max_log_entries` on a service within the window, and the entries left out are the
# oldest: the very ones from the evidence's read that the sweep asks about. A read cut at this bound says so
# (LogResult.truncated), and the sweep never verifies on it (judging.audit_cut).
MAX_AUDIT_ENTRIES = 2000


class BudgetExceeded(RuntimeError):
    """A bug guard: collection planned more calls than a diagnosis may make."""


# Independent reads in flight at once (per process: one pool serves every collection). As many as the
# budget allows a diagnosis, so no read of a round waits for another of its round to finish: the
# round's reads need nothing from each other, and a smaller pool (6 before) split a second round of
# 12 reads into two waves, one more read's latency before the diagnosis (docs/performance.md, "The
# warm first write, wait by wait and thread by thread").
# The pool holds every read an alert's budget allows, its request log (ALERT_READS) and the rollback target's
# secret versions (TARGET_SECRET_READS, their own room) with them: the largest second round is that, less the
# first round's two, and at MAX_API_CALLS alone (15) an alert's fullest second round of 16 could leave one read
# queued behind another. tests/infra/test_settings.py counts the secret reads as adding no time to the slowest alert
# because they are in flight with the round's other reads (tests/unit/test_evidence_round.py holds the pool to it).
MAX_CONCURRENT_READS = MAX_API_CALLS + ALERT_READS + UPTIME_READS + TARGET_SECRET_READS + TARGET_CONNECTOR_READS
# The reads of one collection that wait for each other, at most: the service and its revisions; every other read
# at once (one wave: the pool holds the largest round); the service's log read again without the alert's filter,
# alone; the last round (the failure lines alone, the candidates' startups, a promoted suspect's reads).
# tests/infra/test_settings.py models the slowest alert's collection from it, and tests/integration/
# test_collection_rounds.py counts them at the ports in the alert path's worst case.
SEQUENTIAL_ROUNDS = 4


@dataclass
class CallBudget:
    limit: int = MAX_API_CALLS
    used: int = 0
    gaps: list[str] = field(default_factory=list)
    # The gaps that are reads answered in part (IncompleteReadError: a search still paging at its deadline, an
    # answer with execution errors): the diagnosis beside them is escalated (EvidenceBundle.incomplete_reads).
    incomplete: list[str] = field(default_factory=list)
    # The alert's last delivery (collect's `last_delivery`): an optional read that never answered (a transient
    # fault past its retries: a first page past its deadline, UNAVAILABLE) is a gap like a read answered in
    # part (`unanswered`), not raised for a redelivery that will not come.
    last_delivery: bool = False
    # For each of `incomplete`, in its order: where a person reads it by hand (`by_hand`), "" when not known.
    by_hand: list[str] = field(default_factory=list)

    def gap(self, gap: str, error: BaseException | None = None, how: str = "") -> None:
        """Records a read not made or refused (`gap`); `error`, its failure, marks a read answered in part, and
        `how`, where a person reads it by hand (`by_hand`), goes with it."""
        self.gaps.append(gap)
        if isinstance(error, IncompleteReadError):
            self.incomplete.append(gap)
            self.by_hand.append(how)

    def settled(self, error: BaseException | None) -> BaseException | None:
        """`error` as an optional read's failure is taken: on the last delivery a transient one is a read
        that never answered (`unanswered`), a gap; otherwise as it is."""
        return unanswered(error) if self.last_delivery and isinstance(error, TransientError) else error

    def call(self, what: str, fn: Callable[[], T]) -> T:
        self.take(what)
        return fn()

    def take(self, what: str) -> None:
        """Counts one call before it is made: the budget is checked when a read is planned."""
        self.used += 1
        if self.used > self.limit:
            raise BudgetExceeded(f"{what}: call {self.used} exceeds the budget of {self.limit}")

    def optional(self, what: str, fn: Callable[[], T], how: str = "") -> T | None:
        """A source diagnosis can do without: a permanent failure is recorded, not raised (and, on the last
        delivery, a transient one: `settled`). `how`: where a person reads it by hand (`by_hand`)."""
        try:
            return self.call(what, fn)
        except RunwardenError as exc:
            error = self.settled(exc)
            if not isinstance(error, PermanentError):
                raise
            self.gap(f"{what}: {error}", error, how)
            return None


def unanswered(exc: TransientError) -> IncompleteReadError:
    """An optional evidence read that never answered on the alert's last delivery (delivery.max_attempts): its
    first page past its deadline, UNAVAILABLE or a quota past the call's retries (TransientError). Raised, the
    alert was given up on: one bare `failed` naming the fault, none of the evidence that was read reaching a
    person. A gap instead, counted with the reads answered in part (EvidenceBundle.incomplete_reads), so the
    diagnosis beside it is escalated with what was read, never acted on nor `healthy`
    (diagnose._held_for_incomplete). Earlier deliveries still raise: a redelivery may find the API answering."""
    return IncompleteReadError(f"{UNANSWERED} (delivery.max_attempts), not used as evidence: {exc}")


def by_hand(project: str, start: datetime, end: datetime, *, log_filter: str = "",
            query: MetricQuery | None = None) -> str:
    """Where a person reads an evidence read again by hand (EvidenceBundle.by_hand): a Logs Explorer query (the
    Logging query language is the one ListLogEntries' filter takes: "Logging query language" in the Cloud Logging
    docs, which the Logs Explorer and the API share; the filter carries its own timestamp bounds), or the metric,
    resource and labels to pick in Metrics Explorer with the ListTimeSeries filter they make (the Monitoring
    filter syntax, "Monitoring filters"; that Metrics Explorer takes it pasted as it is is UNCONFIRMED, so both are
    given), over the minutes the read asked for."""
    minutes = f"from {start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC"
    if query is not None:
        labels = "".join(f' AND {k} = "{v}"' for k, v in query.labels.items())
        on = query.resource_type or "any resource type"
        resource = f' AND resource.type = "{query.resource_type}"' if query.resource_type else ""
        return (f"in Metrics Explorer (project {query.project}), {minutes}: {query.metric_type} on "
                f"{on}{labels.replace(' AND ', ', ', 1) if labels else ''} (as a ListTimeSeries "
                f'filter: metric.type = "{query.metric_type}"{resource}{labels})')
    return f"in Logs Explorer (project {project}), {minutes}, this query: {log_filter}"


def connector_by_hand(connector: str) -> str:
    """Where a person reads a connector by hand (projects/P/locations/L/connectors/C): gcloud's describe."""
    parts = connector.split("/")
    if len(parts) != 6:
        return ""
    return (f"gcloud compute networks vpc-access connectors describe {parts[5]} --region {parts[3]} "
            f"--project {parts[1]}")


@dataclass
class _Read:
    key: str
    what: str
    fn: Callable[[], Any] | None   # None: not a read, a gap noted at this point of the plan
    optional: bool = True
    how: str = ""                  # where a person reads it by hand (by_hand)
    # Any failure a gap, a transient one too (the candidates' startups: `_target_startup`), never raised.
    never_raised: bool = False


class _Reads:
    """Independent reads, planned in order and run concurrently (at most MAX_CONCURRENT_READS
    at once). The budget counts them as they are planned, and the answers and the gaps come back
    in plan order, so the evidence and its call count never depend on which answer came first.
    A transient fault is raised after every read has finished (the first, in plan order). `never_raised`: no read
    of the round is raised (`_Read.never_raised`): the collection's last round, whose reads follow every other."""

    def __init__(self, budget: CallBudget, never_raised: bool = False) -> None:
        self.budget = budget
        self.never_raised = never_raised
        self.planned: list[_Read] = []
        self.gap_at: dict[str, int] = {}   # where each failed read's gap is in budget.gaps
        self.refused: dict[str, str] = {}  # each optional read refused for good: its error's code
        self.failed: dict[str, str] = {}   # each optional read refused for good: its error, in words

    def add(self, key: str, what: str, fn: Callable[[], Any], optional: bool = True, how: str = "",
            never_raised: bool = False) -> None:
        self.budget.take(what)
        self.planned.append(_Read(key, what, fn, optional, how, never_raised or self.never_raised))

    def metric(self, key: str, what: str, read: Callable[[MetricQuery], Any], query: MetricQuery) -> None:
        """One ListTimeSeries read of `query` (`read`: the port's query or histograms), and where to read it by hand."""
        self.add(key, what, lambda: read(query), how=by_hand(query.project, query.start, query.end, query=query))

    def search(self, key: str, what: str, logging: LoggingPort, project: str, log_filter: str, page: int,
               start: datetime, end: datetime) -> None:
        """One ListLogEntries read of `log_filter` (its newest `page` entries), and where to read it by hand."""
        self.add(key, what, lambda: logging.list_entries(project, log_filter, page),
                 how=by_hand(project, start, end, log_filter=log_filter))

    def note(self, gap: str) -> None:
        self.planned.append(_Read("", gap, None))

    def run(self) -> dict[str, Any]:
        calls = [read.fn for read in self.planned if read.fn is not None]
        answers = iter(_run_concurrently(calls))
        outcomes: list[tuple[Any, BaseException | None]] = []
        for read in self.planned:
            value, error = next(answers) if read.fn is not None else (None, None)
            outcomes.append((value, self.budget.settled(error) if read.optional else error))
        found: dict[str, Any] = {}
        for read, (value, error) in zip(self.planned, outcomes):
            if read.fn is None:
                self.budget.gaps.append(read.what)
            elif error is None:
                found[read.key] = value
            elif _a_gap(read, error):
                self.gap_at[read.key] = len(self.budget.gaps)
                self.refused[read.key] = getattr(error, "code", "")
                self.failed[read.key] = str(error)
                self.budget.gap(f"{read.what}: {error}", error, read.how)
                found[read.key] = None
        for read, (_, error) in zip(self.planned, outcomes):
            if error is not None and not _a_gap(read, error):
                raise error
        return found


def _a_gap(read: _Read, error: BaseException) -> bool:
    """Whether `read`'s failure is recorded as a gap rather than raised: an optional read's permanent one, and any
    failure of a read that is never raised (`_Read.never_raised`)."""
    return read.optional and (isinstance(error, PermanentError)
                              or read.never_raised and isinstance(error, RunwardenError))


def _run_concurrently(calls: list[Callable[[], Any]]) -> list[tuple[Any, BaseException | None]]:
    """(value, None) or (None, exception) per call, in the calls' order."""
    if MAX_CONCURRENT_READS <= 1:
        return [_outcome(call) for call in calls]
    return _readers(MAX_CONCURRENT_READS).map(_outcome, calls)


_READERS: dict[int, Workers] = {}


def _readers(size: int) -> Workers:
    """The instance's evidence threads (kept between events: shared/workers.py). At most `size`
    reads are in flight at once in the whole process, however many collections run."""
    workers = _READERS.get(size)
    if workers is None:
        workers = _READERS.setdefault(size, Workers("evidence", size))
    return workers


def _outcome(call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    try:
        return call(), None
    except Exception as exc:  # noqa: BLE001 - handed back to the caller, which raises or records it
        return None, exc


@dataclass
class Readers:
    run: RunPort
    monitoring: MonitoringPort
    logging: LoggingPort | None = None
    vpcaccess: VpcAccessPort | None = None
    secretmanager: SecretManagerPort | None = None

    def close(self) -> None:
        """Closes every reader's clients that has a close(), each once (the Google adapters': their gRPC
        channels and HTTP sessions). A caller that builds readers for a while, on a local server that then
        stops, calls it first: a channel still open when its server stops logs the server's GOAWAY."""
        seen: set[int] = set()
        for reader in (self.run, self.monitoring, self.logging, self.vpcaccess, self.secretmanager):
            close = getattr(reader, "close", None)
            if close is not None and id(reader) not in seen:
                seen.add(id(reader))
                close()


def collect(service_name: str, incident_started_at: datetime, readers: Readers, settings: DiagnosisSettings,
            now: datetime, sql_instances: tuple[str, ...] = (), alert: AlertContext | None = None,
            reach_back: datetime | None = None,
            known: tuple[Service, Sequence[Revision]] | None = None, last_delivery: bool = False,
            check_of: AlertContext | None = None, changes_from: datetime | None = None) -> EvidenceBundle:
    """Two rounds of concurrent reads: the service and its revisions, then everything they point
    at. A third, sequential read follows only a log read refused with the alert's own filter (the
    read again without it) or a log read whose page was full with a deploy the suspect (the rollback's
    candidate targets' startup failures, `startup_candidates`): never both. With a promoted suspect
    (`promoted_suspect`, known only from the second round's request counts), its candidates' reads
    (`_TargetReads`) go in that last round, concurrently with the startups' read. `reach_back`: read the
    request metrics (request_count, request_latencies) from at least this far back (the verification
    sweep: where the failure's onset before the action may lie, judging.reach_back), the same calls.
    `known`: the service and its revisions as its caller has just read them (the sweep, of a service not
    in the config: shared/remediation/bystanders.py): the first round is not made again. `last_delivery`: the
    alert's last delivery (delivery.max_attempts): an optional read that never answered is a gap that holds the
    diagnosis (`unanswered`), not a transient fault raised; the service and its revisions still raise. `check_of`:
    the alert an action was taken on (the sweep, which collects with no alert): an uptime check's has its check's
    results read in the second round, as the alert path reads them (`check_passed_query`). `changes_from`: read the
    audit log from this far back at least (the sweep: from when the evidence its action was decided on was read,
    judging.changes_read_from), in the same call."""
    now = now.replace(microsecond=0)  # whole seconds: Monitoring aligns on them
    checked = alert or check_of
    uptime = checked is not None and health_bar(checked, settings).probe_seconds is not None
    budget = CallBudget(MAX_API_CALLS + (ALERT_READS if alert is not None else 0) + (UPTIME_READS if uptime else 0),
                        last_delivery=last_delivery)
    if known is None:
        first = _Reads(budget)
        first.add("service", "run.services.get", lambda: readers.run.get_service(service_name), optional=False)
        first.add("revisions", "run.revisions.list", lambda: readers.run.list_revisions(service_name),
                  optional=False)
        try:
            read = first.run()
        except TransientError as exc:   # the cause kept: its status (cause_status) is the fault's
            raise TransientError(f"{exc}; nothing is diagnosed without the service and its revisions (its suspect, "
                                 "its rollback's targets, its connector): read first, they are not a gap the rest "
                                 "is read around") from (exc.__cause__ or exc)
        known = read["service"], read["revisions"]
    service, revisions = known[0], connectors_by_id(known[0], known[1])
    judged_from = judged_since(incident_started_at, settings, now)
    scope = _Scope.of(service, revisions, incident_started_at, settings, now, judged_from)
    if reach_back is not None:
        scope = replace(scope, reach_back=reach_back.replace(microsecond=0))

    reads = _Reads(budget)
    _run_metrics(reads, readers.monitoring, scope)
    connector_name = scope.connector_name()
    sql = tuple(dict.fromkeys([*scope.sql_instances(), *sql_instances]))
    unreadable = [name for name in sql if not is_connection_name(name)]
    for name in unreadable:
        reads.note(f"cloudsql {name!r}: not a connection name ([domain:]project:region:instance)")
    sql = tuple(name for name in sql if name not in unreadable)
    extra = alert.log_filter if alert else ""
    if extra and len(app_log_filter(scope.project, scope.service, scope.location, scope.start, now,
                                    extra)) > MAX_FILTER_CHARS:
        # Logging would refuse the whole query: the service's own logs are read without it.
        reads.note(f"logging: the alert's own filter left out of the log read: with it the query passes Logging's "
                   f"{MAX_FILTER_CHARS:,} characters")
        extra = ""

    def logs(with_alert: str) -> str:
        return app_log_filter(scope.project, scope.service, scope.location, scope.start, now, with_alert)

    if readers.logging is not None:
        reads.search("logs", "logging: application and system log", readers.logging, scope.project, logs(extra),
                     settings.max_log_entries, scope.start, now)
        audit_from = incident_started_at - timedelta(seconds=settings.manual_change_window_seconds)
        if changes_from is not None:
            audit_from = min(audit_from, changes_from.replace(microsecond=0))
        # The sweep's read (`changes_from`) asks whether anyone changed it since: up to MAX_AUDIT_ENTRIES. The alert
        # path's reads the changes before the incident for the rules: one page of `max_log_entries`, as it always did.
        most = (max(settings.max_log_entries, MAX_AUDIT_ENTRIES) if changes_from is not None
                else settings.max_log_entries)
        reads.search("audit", "logging: audit log", readers.logging, scope.project,
                     audit_filter(scope.project, scope.service, scope.location, audit_from, now,
                                  connector=connector_name, sql_instances=sql), most, audit_from, now)
    if connector_name and readers.vpcaccess is not None:
        reads.add("connector", "vpcaccess.connectors.get", lambda: readers.vpcaccess.get_connector(connector_name),
                  how=connector_by_hand(connector_name))
        _connector_metrics(reads, readers.monitoring, scope, connector_name)
    if sql:
        reads.metric("sql_up", "monitoring: cloudsql database/up", readers.monitoring.query, _sql_up_query(scope, sql))
        # A saturated instance makes statements wait (long queries, lock waits) and every request
        # that reaches it hang, whatever the connector shows: connector_saturation reads it so that a
        # hang is not put on the connector alone (`_database_saturated`).
        reads.metric("sql_cpu", "monitoring: cloudsql database/cpu/utilization", readers.monitoring.query,
                     _sql_cpu_query(scope, sql))
    asked = alert is not None and callers_may_decide(alert, settings)
    if asked:
        _request_lines(reads, readers.logging, scope, incident_started_at, settings, now)
    if uptime:
        check = check_passed_query(checked, scope.project, scope.start - CHECK_HISTORY, scope.end)
        if isinstance(check, str):
            reads.note(check)
        else:
            reads.metric("check_passed", CHECK_PASSED_READ, readers.monitoring.query, check)
    # The reads the rollback's candidate targets need (their connector, their secret versions) and the database's
    # connections: with a deploy the suspect (by its create_time), in this round.
    deploy = rollback_suspect(service, revisions, incident_started_at, settings)
    targets = _TargetReads.plan(reads, readers, scope, known=(service, revisions), started_at=incident_started_at,
                                settings=settings, path=connector_name, sql=sql, alert=alert, suspect=deploy,
                                sweep=reach_back is not None)
    found = reads.run()
    found["latencies"], found["latencies_p50"] = latency_percentiles(found["latencies"])
    if readers.logging is not None and found["logs"] is None and extra and budget.used + 1 <= budget.limit \
            and reads.refused.get("logs") != INCOMPLETE_ANSWER:
        # The alert's own filter may be one Logging refuses here: the service's logs still count. Not after
        # a read cut short at its 30 s (IncompleteReadError): Logging took the filter and was answering,
        # page after page, and the read is already a gap that holds the diagnosis (diagnose.
        # _held_for_incomplete), so a wider search without the filter would spend up to 30 s more for
        # nothing that could lift it. Before, it was read again all the same.
        found["logs"] = budget.optional(
            "logging: application and system log, without the alert's filter",
            lambda: readers.logging.list_entries(scope.project, logs(""), settings.max_log_entries),
            how=by_hand(scope.project, scope.start, now, log_filter=logs("")))
        if found["logs"] is None:   # its gap goes next to the first attempt's
            budget.gaps.insert(reads.gap_at["logs"] + 1, budget.gaps.pop())
    # Without a deploy, the newest serving revision may have been promoted (created long before, given its
    # traffic in the deploy window): dated from the request counts just read, as diagnosis dates it, its
    # candidates' reads follow in the last round, beside the candidates' startups.
    promoted = None if deploy is not None else promoted_suspect(known, found, incident_started_at, settings, now,
                                                                  judged_from)
    # Every read of the last round is a gap when it fails, a promoted suspect's too: the whole event again would
    # read every source again, and spend the searches' quota (entries.list) on the round's other reads twice.
    last = _Reads(budget, never_raised=True)
    if readers.logging is not None:
        _failure_lines(last, readers.logging, scope, found["logs"], settings, now)
    candidates = startup_candidates(service, revisions, found["logs"], incident_started_at, settings,
                                    found.get("requests"), promoted=promoted) if readers.logging is not None else ()
    # In the last round a call is kept back only for the candidates' startups still to come: the read again
    # without the alert's filter, if made, has already taken its own.
    late = _TargetReads.plan(last, readers, scope, known=(service, revisions), started_at=incident_started_at,
                             settings=settings, path=connector_name, sql=sql, alert=alert, suspect=promoted,
                             kept_back=1 if candidates else 0, sweep=reach_back is not None) if promoted is not None else None
    if candidates and budget.used + 1 <= budget.limit:
        _target_startup(last, readers.logging, scope, candidates, now)
    elif candidates:
        # Only after the read again without the alert's filter, which took the third read's place:
        # the targets' startups are not known, and bad_revision escalates rather than guess.
        last.note("logging: the rollback's candidate targets' startup failures: not read (the log "
                  f"read was made twice, and a collection makes at most {budget.limit} calls)")
    found.update(last.run())
    if "target_startup" in found:
        startup = found.pop("target_startup")
        found["target_startup"] = StartupRead(revisions=candidates, result=startup) if startup is not None \
            else StartupRead(revisions=candidates, failure=last.failed.get("target_startup", ""))
    found.update((late or targets).answers(found))
    if readers.logging is not None:
        audit = found.pop("audit")
        # A long-running change logs two entries (start and end): one change, one record.
        merged = merge_operation_entries(audit) if audit is not None else None
        found["audit"], found["connector_audit"] = split_audit(merged)
        found["sql_audit"] = sql_audit(merged)
    # A connector that does not exist is a fact about the path, not a source missing: bad_revision reads it.
    missing = connector_name if reads.refused.get("connector") == "NOT_FOUND" else None
    return EvidenceBundle(incident_started_at=incident_started_at, collected_at=now, service=service,
                          revisions=revisions, sql_instances=sql, gaps=tuple(budget.gaps), api_calls=budget.used,
                          incomplete_reads=tuple(budget.incomplete), by_hand=tuple(budget.by_hand),
                          connector_not_found=missing,
                          alert=alert, judged_from=judged_from if judged_from != incident_started_at else None,
                          callers_asked=asked, **found)


def _failure_lines(reads: "_Reads", logging: LoggingPort, scope: "_Scope", logs: LogResult | None,
                   settings: DiagnosisSettings, now: datetime) -> None:
    """Plans the read of the application's failure lines alone over the service read's window
    (log_signals.failure_lines_filter; its answer under "failure_logs"), when that read's page came back full
    before reaching the window's start (an application logging its ordinary work to stderr fills it within
    minutes); nothing otherwise, and nothing when that page holds the application's failure lines alone (a flood
    of errors: the read would answer that same page). Its own room in the budget (FAILURE_READS): one
    ListLogEntries page, in the last round beside the candidates' startups. Any failure once the adapter's
    retries are spent is a gap and no read (`_Read.never_raised`, as `_target_startup`'s): the failure lines
    are then not known, and failure_lines.lines_unread keeps a verification `unclear`."""
    if logs is None or logs.page_ended_after(scope.start) is None:
        return
    if all(e.log_id in APP_LOGS and e.severity in FAILED_SEVERITIES for e in logs.entries):
        # Failure lines alone (a flood of errors): they are what that read would answer, its newest page.
        return
    reads.budget.limit += FAILURE_READS
    query = failure_lines_filter(scope.project, scope.service, scope.location, scope.start, now)
    reads.add("failure_logs", FAILURE_READ_GAP,
              lambda: logging.list_entries(scope.project, query, settings.max_log_entries),
              how=by_hand(scope.project, scope.start, now, log_filter=query), never_raised=True)


# The rollback's candidate targets whose startups the second read asks for (the newest Ready revisions
# older than the suspect: bad_revision's known-good search steps back through them in that order), and
# its page: a few entries are enough, since startup_failure_logs_min of them make a target unfit.
STARTUP_CANDIDATES = 3
STARTUP_PAGE = 50


def startup_candidates(service: Service, revisions: Sequence[Revision], logs: LogResult | None,
                       incident_started_at: datetime, settings: DiagnosisSettings,
                       requests: MetricResult | None = None, *, promoted: Revision | None = None) -> tuple[str, ...]:
    """The revisions whose own startup failures are read apart (newest first), or () when that read
    cannot matter: the service read's page was not full (it held every line of the window, so a target
    with none there logged none), or no rollback can follow (the newest serving revision was not
    deployed within deploy_window_seconds before the incident, bad_revision's suspect, or nothing
    older is Ready). The service read is one newest-first page over every revision: a failing
    revision's flood of lines pushes the target's older startup failures off it. With the request
    counts read (`requests`, from the baseline on), a Ready revision that served no request in them is
    left out: bad_revision's known-good search passes over it without counting (a `--no-traffic`
    preview, a revision traffic had left), so the few read are ones it can stop at; unread, the
    newest Ready ones are read. `promoted`: the suspect as a promotion (`rollback_suspect`)."""
    if logs is None or not logs.truncated:
        return ()
    older = rollback_candidates(service, revisions, incident_started_at, settings, promoted=promoted)
    if requests is not None:
        # A count read as a number: a replayed bundle's JSON carries int64 points as strings, as Monitoring's REST
        # answer does (projects.timeSeries.list, TypedValue.int64Value: "string (int64 format)"), and "0" is a
        # true string.
        served = {s.resource_labels.get("revision_name") for s in requests.series
                  if any(finite(v) and float(v) > 0 for v in s.values)}
        older = [r for r in older if r.short_name in served]
    return tuple(r.short_name for r in older[:STARTUP_CANDIDATES])


def _target_startup(reads: "_Reads", logging: LoggingPort, scope: "_Scope", candidates: tuple[str, ...],
                    now: datetime) -> None:
    """Plans the read of the candidates' startup failures over the service read's window, the newest STARTUP_PAGE
    (its answer under "target_startup"). Any failure once the adapter's retries are spent, a permanent refusal or
    a transient one (UNAVAILABLE, or entries.list's per-project rate quota used up: RESOURCE_EXHAUSTED; Cloud
    Logging "Quotas and limits", docs/timeline.md), is a gap and a read not made, never an event retried
    (`_Read.never_raised`): the evidence read so far stands, and bad_revision escalates rather than send traffic
    to a target whose starts it could not see (precision first); the whole event again would spend the quota
    again. On the alert's last delivery a transient failure is a read that never answered (`unanswered`), said
    so and counted with the reads that did not finish; before it, the plain gap it always was."""
    query = target_startup_filter(scope.project, scope.service, scope.location, candidates, scope.start, now)
    reads.add("target_startup", "logging: the rollback's candidate targets' startup failures",
              lambda: logging.list_entries(scope.project, query, STARTUP_PAGE),
              how=by_hand(scope.project, scope.start, now, log_filter=query), never_raised=True)


@dataclass
class _TargetReads:
    """The reads a rollback's candidate targets need, planned in one round for one suspect (`plan`): the
    connector a candidate names that the serving revisions do not (`target_connector_name`), the database's
    connections (`_sql_connections_wanted`) and the secret versions the candidates pin (`target_secret_reads`),
    in that order; `answers` gives what they answered as the bundle's fields."""

    reads: "_Reads"
    target: tuple[str, tuple[str, ...]] | None = None
    secrets: list[TargetSecretRead] = field(default_factory=list)

    @classmethod
    def plan(cls, reads: "_Reads", readers: "Readers", scope: "_Scope", *, known: tuple[Service, Sequence[Revision]],
             started_at: datetime, settings: DiagnosisSettings, path: str | None, sql: tuple[str, ...],
             alert: AlertContext | None, suspect: Revision | None, kept_back: int = 1,
             sweep: bool = False) -> "_TargetReads":
        """`suspect`: bad_revision's, a deploy by its create_time or a promotion as Facts.promotion dates it
        (`promoted_suspect`); None plans nothing. The budget's room is judged as each is planned: in the round
        with a deploy the suspect, or in the last round, before the candidates' startups, with a promotion.
        `kept_back`: the calls the database's connections leave for a read after this round (the third read
        after the second round; in the last round, the startups' read when it is still to come, else none). `sweep`: the
        verification sweep's collection (collect's reach_back), which verifies an action taken and picks no target."""
        if suspect is None:
            return cls(reads)
        service, revisions = known
        target = target_connector_name(service, revisions, started_at, settings, path, promoted=suspect)
        if target is not None and readers.vpcaccess is not None:
            # How full it is on every path that picks a target (the alert's, an operator's rollback_traffic with no
            # revision named and the on-demand diagnose, both with no alert): not on the sweep, which verifies an
            # action taken.
            _target_connector(reads, readers, scope, target[0], fullness=not sweep)
        if sql and alert is not None and _sql_connections_wanted(service, revisions, started_at, settings,
                                                                 reads.budget, promoted=suspect,
                                                                 kept_back=kept_back):
            # A database whose connections another client took makes a new revision's requests wait for
            # connections as it would the revision before's: bad_revision holds a rollback on it.
            reads.metric("sql_connections", CONNECTIONS_READ,
                         readers.monitoring.query, _sql_connections_query(scope, sql))
        secrets = target_secret_reads(service, revisions, started_at, settings, promoted=suspect) \
            if alert is not None and readers.secretmanager is not None else []
        _target_secrets(reads, readers.secretmanager, secrets)
        return cls(reads, target, secrets)

    def answers(self, found: dict[str, Any]) -> dict[str, Any]:
        """The bundle's target_secrets and, when read, target_connector, from `found` (the round's answers)."""
        answered: dict[str, Any] = {"target_secrets": _secret_answers(found, self.reads, self.secrets)}
        # Its fullness' answers are no field of the bundle by themselves: taken out of `found` whatever the GET got.
        fullness = {key: found.pop(f"target_{key}", None) for key, *_ in _TARGET_FULLNESS}
        failed = [self.reads.refused[f"target_{key}"] or "UNAVAILABLE" for key, *_ in _TARGET_FULLNESS
                  if f"target_{key}" in self.reads.refused]
        if "target_connector" in found and self.target is not None:
            answered["target_connector"] = TargetConnectorRead(
                name=self.target[0], revisions=self.target[1], connector=found["target_connector"],
                refusal=self.reads.refused.get("target_connector", ""),
                instances=fullness["connector_instances"], cpu=fullness["connector_cpu"],
                received_bytes=fullness["connector_bytes"], sent_bytes=fullness["connector_sent_bytes"],
                fullness_refusal=failed[0] if failed else "")
        return answered


def promoted_suspect(known: tuple[Service, Sequence[Revision]], found: dict[str, Any], started_at: datetime,
                     settings: DiagnosisSettings, now: datetime, judged_from: datetime) -> Revision | None:
    """bad_revision's suspect when it was promoted: the newest serving revision, created long before, as diagnosis
    dates it from the request counts just read (Facts.promotion: its create_time moved to the minute its traffic
    began), on evidence of those counts and latencies alone, as the bundle will hold them; None when it was not
    promoted, that is not dated, or the counts were not read. Its rollback's candidates are then the Ready
    revisions created before that minute, as bad_revision's known-good search steps back through them."""
    service, revisions = known
    serving = [r for r in revisions if service.serving_percent(r.short_name) > 0]
    newest = max(serving, key=lambda r: r.create_time, default=None)
    if newest is None or found.get("requests") is None:
        return None
    counts = EvidenceBundle(incident_started_at=started_at, collected_at=now, service=service,
                            revisions=tuple(revisions), requests=found["requests"], latencies=found.get("latencies"),
                            judged_from=judged_from if judged_from != started_at else None)
    promotion = Facts(counts, settings).promotion(newest)
    return promotion.revision if promotion is not None else None


def target_connector_name(service: Service, revisions: Sequence[Revision], incident_started_at: datetime,
                          settings: DiagnosisSettings, path: str | None, *,
                          promoted: Revision | None = None) -> tuple[str, tuple[str, ...]] | None:
    """The connector a rollback's candidate target names that the serving revisions do not route through
    (`path`, the connector read with the evidence), and the candidates that name it, newest first; None
    when there is none. The candidates are the newest STARTUP_CANDIDATES of bad_revision's
    (`rollback_candidates`), as for the startup read; of the connectors they
    name other than `path`, the newest candidate's is the one read: the revision a rollback most likely
    goes to. A deploy that moved the service off a connector (to another, or to Direct VPC egress) is
    often made because that connector is being replaced or deleted, and the revision before still names it
    (Revision.vpc_access.connector, google/cloud/run/v2/revision.proto): the candidate's clean minutes
    before the deploy say the connector existed then, not now. `promoted`: the suspect as a promotion
    (`rollback_suspect`)."""
    candidates = rollback_candidates(service, revisions, incident_started_at, settings,
                                     promoted=promoted)[:STARTUP_CANDIDATES]
    other = next((r.vpc_connector for r in candidates if r.vpc_connector and r.vpc_connector != path), None)
    if other is None:
        return None
    return other, tuple(r.short_name for r in candidates if r.vpc_connector == other)


def rollback_suspect(service: Service, revisions: Sequence[Revision], incident_started_at: datetime,
                     settings: DiagnosisSettings, *, promoted: Revision | None = None) -> Revision | None:
    """bad_revision's suspect: the newest serving revision, when it was deployed within deploy_window_seconds
    before the incident; None otherwise (no rollback can follow). `promoted`, when given, is the suspect: the
    newest serving revision created long before, as a promotion dates it (`promoted_suspect`, Facts.promotion:
    its create_time moved to the minute its traffic began), which a deploy's create_time cannot tell."""
    if promoted is not None:
        return promoted
    serving = [r for r in revisions if service.serving_percent(r.short_name) > 0]
    suspect = max(serving, key=lambda r: r.create_time, default=None)
    if suspect is None or not 0 <= (incident_started_at - suspect.create_time).total_seconds() \
            <= settings.deploy_window_seconds:
        return None
    return suspect


def rollback_candidates(service: Service, revisions: Sequence[Revision], incident_started_at: datetime,
                        settings: DiagnosisSettings, *, promoted: Revision | None = None) -> list[Revision]:
    """The Ready revisions older than bad_revision's suspect (the newest serving revision, deployed within
    deploy_window_seconds before the incident, or `promoted`: `rollback_suspect`), newest first: the revisions
    its known-good search steps back through; [] when no rollback can follow. A promoted suspect's are those
    created before its promotion, itself left out (its own create_time is earlier), as bad_revision's."""
    suspect = rollback_suspect(service, revisions, incident_started_at, settings, promoted=promoted)
    if suspect is None:
        return []
    return sorted((r for r in revisions if r.ready and r.create_time < suspect.create_time and r.name != suspect.name),
                  key=lambda r: r.create_time, reverse=True)


def target_secret_reads(service: Service, revisions: Sequence[Revision], incident_started_at: datetime,
                        settings: DiagnosisSettings, *, promoted: Revision | None = None) -> list[TargetSecretRead]:
    """The secret versions the rollback's candidate targets read (the newest STARTUP_CANDIDATES of
    `rollback_candidates`, newest first), one read each, not yet read; [] when no rollback can follow.

    A version pinned by number is read as named. "latest" (or unset, read as latest) and a version alias
    ("Can be 'latest' for the latest version, an integer for a specific version, or a version alias",
    SecretKeySelector.version, google/cloud/run/v2/k8s_min.proto) are read too, by that name: GetSecretVersion
    takes both ("projects/*/secrets/*/versions/latest ... is an alias to the most recently created
    SecretVersion", GetSecretVersionRequest.name; "Access by alias is only be supported on GetSecretVersion and
    AccessSecretVersion", Secret.version_aliases, google/cloud/secretmanager/v1; the 2.32.0 client's
    docstrings) and answers the version it resolves to, whatever its state: "latest" is the newest version even
    when that one is DISABLED or DESTROYED, and accessing it then fails ("Secret Version [.../versions/4] is in
    DESTROYED state.", FAILED_PRECONDITION: google-github-actions/get-secretmanager-secrets#268). Whether Cloud
    Run, starting an instance, falls back to an older ENABLED version is not documented (UNCONFIRMED); reading
    it as failing errs toward an escalation, never toward a rollback onto instances that do not start.

    One the suspect reads alike (the same secret id at the same "latest" or alias, secret_values.read_alike) is
    read too, last of its candidate's: the rollback changes nothing about which version either gets, but the
    suspect's running instances hold what they resolved as they started, while the target has none (Cloud Run
    scales a revision without traffic to zero: "About instance autoscaling") and the rollback starts new ones.
    So a newest version DISABLED since leaves the target unable to start where the suspect still serves; and
    which value both get is what bad_revision's read_at_latest_by_both judges. Within a candidate, versions
    pinned by number come first, as they were the only ones read before (the cap, TARGET_SECRET_READS, cuts
    the rest). A version two candidates read is read once per candidate (each is judged alone), in the order
    the candidates are listed. `promoted`: the suspect as a promotion (`rollback_suspect`)."""
    project = service.name.split("/")[1]
    suspect = rollback_suspect(service, revisions, incident_started_at, settings, promoted=promoted)
    reads: list[TargetSecretRead] = []
    for revision in rollback_candidates(service, revisions, incident_started_at, settings,
                                        promoted=promoted)[:STARTUP_CANDIDATES]:
        for ref in sorted(revision.secrets, key=lambda r: _read_order(r, suspect)):
            version = as_read(ref)
            reads.append(TargetSecretRead(revision=revision.short_name, where=where_read(ref), secret=ref.secret,
                                          version=version, name=version_name(project, ref.secret, version)))
    return reads


def _read_order(ref: SecretRef, suspect: Revision | None) -> int:
    """0 for a version pinned by number, 1 for "latest" or an alias, 2 for one `suspect` reads alike."""
    if as_read(ref).isdigit():
        return 0
    return 2 if suspect is not None and read_alike(suspect, ref) else 1


def _target_secrets(reads: "_Reads", secretmanager: SecretManagerPort | None, planned: list[TargetSecretRead]) -> None:
    """Plans the reads of `planned` (target_secret_reads), at most TARGET_SECRET_READS, the budget grown by
    each (their own allowance: no read the evidence already had gives way). Those beyond are a gap:
    bad_revision judges a candidate whose versions were not read as before this read existed. A transient
    failure (UNAVAILABLE, a deadline) is a refusal too, never the event retried: the evidence read so far
    stands, and the read adds to it (rules/target_secrets.py holds nothing back on a refusal)."""
    if secretmanager is None:
        return
    for i, read in enumerate(planned[:TARGET_SECRET_READS]):
        reads.budget.limit += 1
        reads.add(f"target_secret:{i}", f"secretmanager.versions.get {read.name} (a version {read.revision} pins)",
                  lambda name=read.name: _never_retried(lambda: secretmanager.get_secret_version(name)))
    if len(planned) > TARGET_SECRET_READS:
        left = ", ".join(f"{r.secret} version {r.version} ({r.revision})" for r in planned[TARGET_SECRET_READS:])
        reads.note(f"secretmanager.versions.get: not read, beyond the {TARGET_SECRET_READS} versions a collection "
                   f"reads: {left}")


def _secret_answers(found: dict[str, Any], reads: "_Reads", planned: list[TargetSecretRead]) -> tuple[TargetSecretRead, ...]:
    """The planned reads (`_target_secrets`) with what each answered: the version's state, or the code of its
    refusal. Their answers are taken out of `found` (they are no field of the bundle by themselves)."""
    answered = []
    for i, read in enumerate(planned[:TARGET_SECRET_READS]):
        version = found.pop(f"target_secret:{i}", None)
        answered.append(read.model_copy(update={"state": version.state, "resolved": _resolved(read, version.name)}
                                        if version is not None
                                        else {"refusal": reads.refused.get(f"target_secret:{i}", "")}))
    return tuple(answered)


def _resolved(read: TargetSecretRead, answered: str) -> str:
    """The version number GetSecretVersion answered for `read` (SecretVersion.name, .../versions/N), when the
    read named "latest" or an alias; "" when it named that number itself or the answer names none."""
    number = answered.rsplit("/versions/", 1)[-1] if "/versions/" in answered else ""
    return number if number.isdigit() and number != read.version else ""


def _never_retried(read: Callable[[], T]) -> T:
    """`read`, its transient failure given back as a permanent one with the code it had (or UNAVAILABLE)."""
    try:
        return read()
    except TransientError as exc:
        raise PermanentError(str(exc), code=cause_status(exc) or "UNAVAILABLE") from exc


def _target_connector(reads: "_Reads", readers: "Readers", scope: "_Scope", name: str, *,
                      fullness: bool = True) -> None:
    """Plans the read of the rollback's candidate target's connector (`target_connector_name`), when the
    budget has room for it: planned last in the round, it never takes a read the evidence already had, and
    in the fullest collection (a connector on the path, Cloud SQL, the request log) it takes the place of
    the third, sequential read (the log read again, or the candidates' startups), whose absence is a gap
    bad_revision escalates on rather than guess. The two rounds plan at most MAX_API_CALLS - 1 reads before
    it (2 + 3 + 2 + 5 + 2; the request log comes with ALERT_READS more budget), so today there is always room; the check is the
    budget's guard: with no room, a gap, and bad_revision judges the target without its connector, as
    before this read."""
    what = "vpcaccess.connectors.get (the rollback's candidate target's connector)"
    if reads.budget.used + 1 > reads.budget.limit:
        reads.note(f"{what}: not read (a collection makes at most {reads.budget.limit} calls)")
        return
    vpcaccess = readers.vpcaccess
    reads.add("target_connector", what, lambda: vpcaccess.get_connector(name), how=connector_by_hand(name))
    if not fullness:
        return
    # How full it is, in the same round, with their own room (TARGET_CONNECTOR_READS): the queries the serving
    # connector's are (_connector_query), on the connector's own project (a Shared VPC host's). Any failure, a
    # transient one too once the adapter's retries are spent, is a gap in either round (never raised: the
    # promotion's last round holds every read so), kept by its code (_never_retried names a transient one's) in
    # TargetConnectorRead.fullness_refusal: the rule holds the rollback on a fullness not known.
    reads.budget.limit += TARGET_CONNECTOR_READS
    for key, metric, aligner, reducer in _TARGET_FULLNESS:
        query = _connector_query(scope, name, metric, aligner, reducer)
        reads.add(f"target_{key}", f"monitoring: connector/{metric} (the rollback's candidate target's connector)",
                  lambda q=query: _never_retried(lambda: readers.monitoring.query(q)), never_raised=True,
                  how=by_hand(query.project, query.start, query.end, query=query))


def callers_may_decide(alert: AlertContext, settings: DiagnosisSettings) -> bool:
    """Whether the alert's `healthy` may depend on who sent the requests: judged, on a share of 5xx and 429
    (request_count does not say who sent a request, and Cloud Monitoring's uptime checks' clean answers
    dilute a share: shared/diagnosis/request_callers.py). A count of 5xx (`error_count`) is the same
    whoever else was answered, and an alert not judged is never `healthy`: neither reads the request log."""
    bar = health_bar(alert, settings)
    return bar.judged and bar.error_count is None


def _request_lines(reads: "_Reads", logging: LoggingPort | None, scope: "_Scope", started_at: datetime,
                   settings: DiagnosisSettings, now: datetime) -> None:
    """The alert path's read of the service's request log, every revision's (request_count's share is the
    service's), over the minutes `healthy` may judge (the newest `recent_seconds` of whole data since the
    incident's start: Facts.recent_since_incident, whose end is at most `now`), from a minute before them
    (a point counts the minute before its end), the newest REQUEST_LINES of them. Refused for good, a gap,
    and the callers are not known (diagnose._healthy)."""
    if logging is None:
        reads.note("logging: request log (its callers and uptime checks): no Logging reader")
        return
    start = max(started_at, now - timedelta(seconds=settings.recent_seconds) - INGEST_LAG) - timedelta(seconds=60)
    reads.search("request_lines", "logging: request log (its callers and uptime checks)", logging, scope.project,
                 request_log_filter(scope.project, scope.service, scope.location, (), start, now), REQUEST_LINES,
                 start, now)


def check_passed_query(alert: AlertContext, project: str, start: datetime, end: datetime) -> MetricQuery | str:
    """An uptime check's own results from `start` to `end` (shared/diagnosis/check_results.py), raw points (one a
    checker location and period: ALIGN_NONE keeps each result as written), of the alert's check by its id, or,
    the notification naming none, of every check on its host (resource uptime_url, label `host`), in the
    check's project (the resource's `project_id`), else the service's. Or why it is not read (a gap): a check
    named by neither, or on a resource other than a URL without its id."""
    check_id = alert_check_id(alert)
    resource: str | None = UPTIME_URL
    if check_id:
        # By its id on whatever resource its results are written against: uptime_url for a check on a URL, and for
        # a check created on a Cloud Run service (monitored_resource cloud_run_revision) UNCONFIRMED, either its
        # resource or uptime_url. Read on the alert's own resource type alone, a check whose results are on the
        # other was never read passing (check_results.py: no result is never passing).
        labels, resource = {"metric.labels.check_id": check_id}, None
    elif alert.uptime_host and alert.resource_type != "cloud_run_revision":
        labels = {"resource.labels.host": alert.uptime_host}
    else:
        return (f"{CHECK_PASSED_READ}: not read: the notification names no check id (metric.label.check_id) and "
                "no uptime_url host")
    return MetricQuery(project=alert.uptime_project or project, metric_type=CHECK_PASSED, resource_type=resource,
                       labels=labels, start=start, end=end, aligner="ALIGN_NONE")


def request_lines(logging: LoggingPort, bundle: EvidenceBundle, since: datetime,
                  settings: DiagnosisSettings) -> tuple[LogResult | None, str]:
    """The verification sweep's read of the service's request log beside its evidence (`bundle`): every
    line of its serving revisions (or, none known, of all) from a minute before the minutes it judges
    (a point counts the minute before its end) to the newest whole one (judging.settled: INGEST_LAG),
    the newest REQUEST_LINES of them. (the read, "") or, refused for good (the request log not readable
    by the sweep's account, say), (None, the gap): the callers are then not known, never assumed. A
    transient fault raises, as the evidence's own reads do, and so does a read answered in part
    (IncompleteReadError): the sweep reads again later rather than judge on it (verification.read_whole)."""
    parts = bundle.service.name.split("/")  # projects/P/locations/L/services/S
    end = whole_until(bundle)
    start = max(since, end - timedelta(seconds=settings.recent_seconds)) - timedelta(seconds=60)
    serving = [r.short_name for r in bundle.revisions if bundle.service.serving_percent(r.short_name) > 0]
    what = "logging: request log (its callers and uptime checks)"
    try:
        return logging.list_entries(parts[1], request_log_filter(parts[1], parts[5], parts[3], serving, start, end),
                                    REQUEST_LINES), ""
    except IncompleteReadError:
        raise
    except PermanentError as exc:
        return None, f"{what}: {exc}"


def connectors_by_id(service: Service, revisions: Sequence[Revision]) -> tuple[Revision, ...]:
    """The revisions, each naming its connector by its full name and the project's id: a bare
    connector id (`--vpc-connector NAME`) as the service's own project's and region's, and a name by
    the number of that same project by its id (Service.connector_by_id): one connector, one name,
    whatever form the revision was deployed with, so it matches the alert's, the config's and the
    records', and its metrics are read by project and location. A number that is not known to be
    this project's (another project's, or no deterministic URL to tell) is left as it is, and
    matches nothing named by id."""
    return tuple(r if r.vpc_connector == (named := service.connector_by_id(r.vpc_connector))
                 else r.model_copy(update={"vpc_connector": named}) for r in revisions)


def judged_since(incident_started_at: datetime, settings: DiagnosisSettings, now: datetime) -> datetime:
    """Where the evidence of the current state starts: the incident's start, or, for an incident open
    longer than `max_incident_window_seconds`, that long before now. Cloud Monitoring notifies an
    open incident again with the same incident_id and started_at (renotifyInterval, "the frequency at
    which to send reminder notifications for open incidents": AlertPolicy.AlertStrategy.
    NotificationChannelStrategy, Cloud Monitoring v3 reference), and Pub/Sub may redeliver for up to
    a day: judged from its start hours later, an episode long over (a connector's saturation, its
    503s) would stand for the present, and a present failure be diluted by hours of another state."""
    return max(incident_started_at, now - timedelta(seconds=settings.max_incident_window_seconds))


def _on_sql(entry: LogRecord) -> bool:
    """An entry of the Cloud SQL instances' own changes (log_signals.sql_user_changes_clause), by its resource."""
    return entry.resource_type == "cloudsql_database"


def split_audit(result: LogResult | None) -> tuple[LogResult | None, LogResult | None]:
    """One audit answer split into the service's entries and its connector's (by resource name); a Cloud SQL
    instance's entries are neither (`sql_audit`)."""
    if result is None:
        return None, None
    on_connector = tuple(e for e in result.entries if "/connectors/" in (e.resource_name or ""))
    on_service = tuple(e for e in result.entries if e not in on_connector and not _on_sql(e))
    return (result.model_copy(update={"entries": on_service}),
            result.model_copy(update={"entries": on_connector}))


def sql_audit(result: LogResult | None) -> LogResult | None:
    """The audit answer's entries of the revisions' Cloud SQL instances (a database user changed), None unread."""
    if result is None:
        return None
    return result.model_copy(update={"entries": tuple(e for e in result.entries if _on_sql(e))})


# --- which managed services an alert on a shared resource concerns -------------------------------

# Managed services read to find a shared resource's users, at most (two calls each); beyond it the
# diagnosis says how many were not looked at.
MAX_FAN_OUT_SERVICES = 50


@dataclass(frozen=True)
class Users:
    """The managed services whose serving revisions use a connector or a Cloud SQL instance."""

    services: tuple[str, ...]
    looked_at: tuple[str, ...]          # every managed service read
    unreadable: tuple[str, ...] = ()    # services that could not be read (and why)
    api_calls: int = 0
    not_looked_at: int = 0              # managed services beyond MAX_FAN_OUT_SERVICES
    # The managed services that may use the resource and could not be told apart: unreadable, or
    # beyond MAX_FAN_OUT_SERVICES. A write made for the resource's alert is held back by their pauses
    # too (precision: a paused service is never written for by omission).
    maybe: tuple[str, ...] = ()
    # The managed services within the fan-out not read because the caller's `stop` said so (its time
    # ran out): whether they use the resource is not known.
    cut: tuple[str, ...] = ()
    # The managed services whose read answered NOT_FOUND (also in `unreadable`, with the refusal): no
    # such service exists ("Some requested entity (e.g., file or directory) was not found", google.rpc.Code
    # NOT_FOUND; a deleted service goes with every revision: judging.service_gone), so none of its
    # revisions serves through anything. They use the resource no more than a service read and found
    # elsewhere: never in `maybe`, so their pauses hold back no write made for the resource's users (the
    # alert's, an approve's), and the caveat names them as gone. The sweep judges a change without them
    # too (verification.Sweep._behind). Any other refusal (PERMISSION_DENIED, ...) leaves a service `maybe`.
    gone: tuple[str, ...] = ()
    # The managed services read whose serving revision names the connector by a project number that cannot be
    # told from the connector's project id (connector_names.names_connector MAYBE: a Shared VPC service
    # project's revision may name its host's connector by the host's number, "where {project} can be project id
    # or number", VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto). Also in `maybe`: whether
    # they are behind the connector is not known, so their pauses hold back a write made for its users, and
    # neither a `healthy` nor an action is taken without them (a connector alert escalates, naming them).
    by_number: tuple[str, ...] = ()
    # The managed services whose read never answered by the alert's last delivery (users_of's `last_delivery`:
    # a transient fault past the call's retries, with no redelivery to come). Also in `maybe` and `unreadable`
    # (its failure worded by `unanswered`): whether they are behind the resource is not known, so the alert is
    # escalated with what was read of the others, never acted on nor `healthy` (scope.unanswered_held).
    unanswered: tuple[str, ...] = ()
    # Each service read, as it was read (its Service and revisions): its diagnosis is collected from it
    # (collect's `known`), so a connector or Cloud SQL alert reads each user's service once, not twice.
    read: dict[str, tuple[Service, tuple[Revision, ...]]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def caveat(self) -> str:
        parts = []
        if self.not_looked_at:
            parts.append(f"{self.not_looked_at} more managed service(s) not read (at most {MAX_FAN_OUT_SERVICES})")
        unread = [refusal for refusal in self.unreadable if not any(refusal.startswith(f"{g}: ") for g in self.gone)]
        if unread:
            parts.append("not readable: " + "; ".join(unread))
        parts += [f"managed service {short_name(g)} no longer exists (its read answered NOT_FOUND): it uses no "
                  "connector and mounts no Cloud SQL instance" for g in self.gone]
        if self.by_number:
            parts.append(f"{', '.join(short_name(s) for s in self.by_number)} name(s) the connector by a project "
                         "number that cannot be told from its project id: maybe behind it")
        return "; ".join(parts)


# --- the services not in the config on a connector: ListServices, then each one's revisions --------------------
# Read the same way by the verification sweep (its bystanders, verification.Sweep._bystanders) and by an alert's
# scale of a shared connector (its neighbours not in the config, scope.outside_neighbours): one implementation, so
# that what a refusal says and what a listed entry needs read cannot drift apart between them.

@dataclass(frozen=True)
class Listing:
    """The services of one parent as listed: those of the pages read, whether more pages were left (`more`), the
    permanent refusal that stopped the list (None when none did: then the pages before it are kept), whether a page
    was not asked for because `go` said no (`cut`), and the calls made."""
    services: tuple[Service, ...] = ()
    more: bool = False
    refused: PermanentError | None = None
    cut: bool = False
    calls: int = 0


def list_pages(run: RunPort, parent: str, pages: int, go: Callable[[], bool]) -> Listing:
    """At most `pages` ListServices pages of MAX_LISTED in `parent`, each next one asked with the token the one
    before gave ("A page token received from a previous call to ListServices", google/cloud/run/v2/service.proto),
    each asked only while `go()`. A transient fault (past the call's own retries) is raised: each caller says what
    becomes of it."""
    services: list[Service] = []
    token, calls = "", 0
    for _ in range(pages):
        if not go():
            return Listing(tuple(services), bool(token), cut=True, calls=calls)
        try:
            page, token = run.list_services(parent, MAX_LISTED, token)
        except PermanentError as exc:
            return Listing(tuple(services), refused=exc, calls=calls + 1)
        calls += 1
        services += page
        if not token:
            return Listing(tuple(services), calls=calls)
    return Listing(tuple(services), more=True, calls=calls)


@dataclass(frozen=True)
class ListedRead:
    """A listed service read for whether it serves through a connector: its Service (as listed when whole, else
    from GetService), its revisions (() when not read: its Service says no revision it serves may name it), whether
    a serving revision names the connector (connector_names.uses), and the calls made."""
    service: Service
    revisions: tuple[Revision, ...]
    using: bool
    calls: int


def read_listed(run: RunPort, entry: Service, connector: str) -> ListedRead | None:
    """`entry` (as ListServices listed it) read for whether it serves through `connector`: GetService first when the
    entry is not whole (connector_names.whole), then ListRevisions when its Service says it may use it
    (connector_names.may_use). None when it was deleted since the list (NOT_FOUND: it serves nothing through it);
    any other refusal and a transient fault are raised, each caller saying what becomes of it."""
    try:
        service = entry if whole(entry) else run.get_service(entry.name)
        calls = 0 if service is entry else 1
        if not may_use(service, connector):
            return ListedRead(service, (), False, calls)
        revisions = tuple(run.list_revisions(entry.name))
    except PermanentError as exc:
        if exc.code == "NOT_FOUND":
            return None
        raise
    return ListedRead(service, revisions, uses(service, revisions, connector), calls + 1)


# How many times a managed service's read that met a transient fault (UNAVAILABLE, DEADLINE_EXCEEDED past the
# call's own retries: endpoints.CallPolicy) is made again when the caller bounds it in time (users_of's `retry`).
READS_AGAIN = 2


def users_of(readers: Readers, managed: Sequence[tuple[str, tuple[str, ...]]], *, connector: str | None = None,
             sql_instance: str | None = None, stop: Callable[[], bool] | None = None,
             last_delivery: bool = False, retry: Callable[[], bool] | None = None,
             at_once: Workers | None = None) -> Users:
    """`managed` is (service name, Cloud SQL instances from the config) per managed service.

    A service uses the connector when a revision with traffic names it in vpc_access.connector, by
    the connector's project id or by that project's number known to be the service's own
    (connector_names.names_connector YES); one whose serving revision names it by a number that cannot
    be told from the connector's project (MAYBE) and none plainly is `by_number` and `maybe`, never
    "not behind it". It uses the instance when a serving revision mounts it, or when the config names
    it (a private IP connection through the connector has no Cloud SQL volume); connection names are
    compared as written (names_sql_instance): a connection name is "PROJECT_ID:REGION:INSTANCE_ID" (Cloud
    SQL docs, "About connection options"/"Connect from Cloud Run": the project by id; a number there is
    UNCONFIRMED to be accepted at all). `stop`, asked before each service: once it says so, the services
    left are not read (`Users.cut`, and `maybe`). `last_delivery`: the alert's last delivery (delivery.max_attempts):
    a service whose read never answered (a transient fault) is `unanswered`, not raised for a redelivery that will not
    come; before it, the fault is raised, and the alert delivered again. `retry`, for a caller with no redelivery to
    lean on (the sweep, an approve): asked before a read that met a transient fault is made again (at most
    READS_AGAIN times, each while it says the caller's time allows); one that never answered is then `unanswered`,
    its fault named, never raised: a bare exception left the sweep's judgement deferred without a word, and an
    approve answered by nothing but the fault.

    `at_once`: a pool on which the services are read concurrently (at most its size at once), each read then
    `stop` asked as it starts; without it, one after another. Either way each read hands back its own outcome
    (`_Lookup`) and they are taken in the services' order, on the caller's thread: what is found, its calls and
    the first fault raised never depend on which answer came first, and no two reads write one list. Once
    `stop` has said so (`stopped`, an Event the reads share), no read not yet started is made."""
    users, unreadable, looked, maybe, cut, gone, by_number, unanswered_ = [], [], [], [], [], [], [], []
    read: dict[str, tuple[Service, tuple[Revision, ...]]] = {}
    calls = 0
    managed = list(managed)
    within = managed[:MAX_FAN_OUT_SERVICES]
    stopped = threading.Event()
    raised = not last_delivery and retry is None    # a transient fault is the caller's (a redelivery's)

    def look_up(name: str) -> _Lookup:
        if stopped.is_set() or (stop is not None and stop()):
            stopped.set()
            return _Lookup(cut=True)
        attempt = _ServiceRead(readers, name, retry)
        try:
            service, revisions = attempt.run()
        except PermanentError as exc:
            return _Lookup(attempt, error=exc)
        except TransientError as exc:
            if raised:
                raise
            return _Lookup(attempt, error=exc)
        return _Lookup(attempt, read=(service, tuple(revisions)))

    names = [name for name, _ in within]
    lookups = at_once.map(look_up, names) if at_once is not None else [look_up(n) for n in names]
    for (name, configured), lookup in zip(within, lookups):
        if lookup.cut:
            cut.append(name)
            maybe.append(name)
            continue
        looked.append(name)
        calls += lookup.attempt.calls
        if isinstance(lookup.error, PermanentError):
            unreadable.append(f"{name}: {lookup.error}")
            (gone if lookup.error.code == "NOT_FOUND" else maybe).append(name)
            continue
        if isinstance(lookup.error, TransientError):
            fault = unanswered(lookup.error) if last_delivery else lookup.attempt.unanswered(lookup.error)
            unreadable.append(f"{name}: {fault}")
            unanswered_.append(name)
            maybe.append(name)
            continue
        service, revisions = read[name] = lookup.read
        serving = [r for r in connectors_by_id(service, revisions) if service.serving_percent(r.short_name) > 0]
        naming = _naming(service, serving, connector) if connector else Naming.NO
        if naming is Naming.YES:
            users.append(name)
        elif naming is Naming.MAYBE:
            by_number.append(name)
            maybe.append(name)
        elif sql_instance and any(names_sql_instance(sql_instance, used) for used in
                                  (*configured, *(i for r in serving for i in r.cloudsql_instances))):
            users.append(name)
    maybe += [name for name, _ in managed[MAX_FAN_OUT_SERVICES:]]
    return Users(tuple(users), tuple(looked), tuple(unreadable), api_calls=calls,
                 not_looked_at=max(0, len(managed) - MAX_FAN_OUT_SERVICES), maybe=tuple(maybe), cut=tuple(cut),
                 gone=tuple(gone), by_number=tuple(by_number), unanswered=tuple(unanswered_), read=read)


@dataclass(frozen=True)
class _Lookup:
    """One managed service's read for users_of, as it ended: not started (`cut`), read, or refused (`error`)."""

    attempt: "_ServiceRead | None" = None
    read: tuple[Service, tuple[Revision, ...]] | None = None
    error: RunwardenError | None = None
    cut: bool = False


class _ServiceRead:
    """One managed service's GetService and ListRevisions for users_of, made again after a transient fault while
    the caller's `retry` allows (at most READS_AGAIN times); `calls` counts two for each read made."""

    def __init__(self, readers: Readers, name: str, retry: Callable[[], bool] | None) -> None:
        self.readers, self.name, self.retry = readers, name, retry
        self.calls = 0
        self.reads = 0

    def run(self) -> tuple[Service, Sequence[Revision]]:
        while True:
            self.reads += 1
            self.calls += 2     # counted as the two calls a read makes, as before a read again was made
            try:
                return self.readers.run.get_service(self.name), self.readers.run.list_revisions(self.name)
            except TransientError:
                if self.retry is None or self.reads > READS_AGAIN or not self.retry():
                    raise

    def unanswered(self, exc: TransientError) -> str:
        """The failure of a read that never answered, in words: how many times it was made, and the last fault."""
        return f"not answered after {self.reads} read(s) of Cloud Run (GetService, ListRevisions): {exc}"


def _naming(service: Service, serving: Sequence[Revision], connector: str) -> Naming:
    """Whether `service`'s serving revisions route through `connector`: YES when one names it plainly, else
    MAYBE when one names it by a project number that cannot be told from its project, else NO."""
    named = {names_connector(service, r.vpc_connector, connector) for r in serving}
    return Naming.YES if Naming.YES in named else Naming.MAYBE if Naming.MAYBE in named else Naming.NO


def _run_metrics(reads: _Reads, monitoring: MonitoringPort, scope: "_Scope") -> None:
    on_service = {"resource.labels.service_name": scope.service, "resource.labels.location": scope.location}
    by_revision = ("resource.labels.revision_name",)
    # From the baseline before the suspect deploy to now, per minute: one call serves every window. With no
    # deploy, from the deploy window's start less ten minutes: a promotion anywhere in it is dated from its
    # revision's own requests, its rollback target's judged before it (facts.promotion_reach).
    reads.metric("requests", "monitoring: run request_count", monitoring.query, scope.metric(
        "run.googleapis.com/request_count", "cloud_run_revision", on_service,
        start=min(scope.requests_start, scope.reach_back or scope.requests_start),
        aligner="ALIGN_DELTA", reducer="REDUCE_SUM",
        group_by=(*by_revision, "metric.labels.response_code_class", "metric.labels.response_code")))
    # From one lookback before the window: a p99 as long before the failures (a WebSocket lasts as
    # long as its connection) is how the service runs, not a hang (Facts.usual_hangs).
    # Read as histograms (ALIGN_DELTA keeps a distribution, REDUCE_SUM adds them: Aggregation.Aligner and
    # Reducer, google/monitoring/v3/common.proto), one series per revision and per each of the metric's
    # labels (response_code, response_code_class, route: cloud.google.com/monitoring/api/metrics_gcp,
    # run), so that one call gives both the revision's p99 (its series' largest, as ALIGN_PERCENTILE_99
    # then REDUCE_MAX gave it) and the median of all its requests (percentiles.revision_latencies):
    # a p99 at a hang with the median where it was is a slow tail, not a connector (connector_saturation).
    reads.metric("latencies", "monitoring: run request_latencies", monitoring.histograms, scope.metric(
        "run.googleapis.com/request_latencies", "cloud_run_revision", on_service,
        start=min(scope.before, scope.reach_back or scope.before),
        aligner="ALIGN_DELTA", reducer="REDUCE_SUM", group_by=(*by_revision, *LATENCY_LABELS)))
    # Active instances only: instance_count is broken down by `state` (active, idle), and only
    # active ones are busy; summing per-state maxima would overstate how close to the limit it was.
    # From the window's start, or with a deploy suspect from TARGET_LOAD_MINUTES before its deploy if
    # that is earlier: how many instances the rollback target ran for its load (target_capacity). With no
    # deploy, from the deploy window's start less TARGET_LOAD_MINUTES: the same minutes before a promotion
    # anywhere in that window (facts.promotion_reach), in the same call.
    reads.metric("instances", "monitoring: run container/instance_count", monitoring.query,
                 scope.metric("run.googleapis.com/container/instance_count", "cloud_run_revision",
                              {**on_service, "metric.labels.state": "active"}, start=scope.instances_start,
                              aligner="ALIGN_MAX", reducer="REDUCE_SUM", group_by=by_revision))


# request_latencies' metric labels: one series each, so that the revision's p99 is its series' largest.
LATENCY_LABELS = ("metric.labels.response_code_class", "metric.labels.response_code", "metric.labels.route")


def latency_percentiles(read: HistogramResult | None) -> tuple[MetricResult | None, MetricResult | None]:
    """(p99, p50) per revision per minute, in ms, from the request_latencies histograms; (None, None)
    when they were not read. Each cites the request as sent, and how its percentile was taken."""
    if read is None:
        return None, None
    return revision_latencies(read, read.query + P99_NOTE, read.query + P50_NOTE)


# How each percentile was taken from the one read, after the request as sent (the evidence's query).
P99_NOTE = " | p99 per revision: its series' largest, from the buckets"
P50_NOTE = " | p50 per revision: its series' buckets added"


# How full a connector is: its instances (against its max) and its CPU p99, each one ListTimeSeries call.
_FULLNESS = (("connector_instances", "instances", "ALIGN_MAX", "REDUCE_MAX"),
             ("connector_cpu", "cpu/utilizations", "ALIGN_PERCENTILE_99", "REDUCE_MAX"))
# Its throughput: both byte counters. Which direction each counts (from the serverless side or from the VPC
# network) is not said by Google's metric list (cloud.google.com/monitoring/api/metrics_gcp, vpcaccess:
# UNCONFIRMED), and a connector carrying large answers back from the database is busy on one of them only.
# Throughput is judged on the larger of the two, minute by minute (Facts.bytes_by_minute), which is right under
# either reading. Monitoring takes one metric type per ListTimeSeries call ("The filter must specify a single
# metric type", ListTimeSeriesRequest.filter), so each is a call of its own.
_THROUGHPUT = (("connector_bytes", "received_bytes_count", "ALIGN_RATE", "REDUCE_SUM"),
               ("connector_sent_bytes", "sent_bytes_count", "ALIGN_RATE", "REDUCE_SUM"))
# A rollback target's connector is read as the path's is: full by CPU or by throughput (target_deps).
_TARGET_FULLNESS = _FULLNESS + _THROUGHPUT


def _connector_query(scope: "_Scope", connector: str, name: str, aligner: str, reducer: str) -> MetricQuery:
    """One connector metric, on the connector's own project (a Shared VPC host's) and location."""
    parts = connector.split("/")  # projects/P/locations/L/connectors/C
    labels = {"resource.labels.connector_name": parts[5], "resource.labels.location": parts[3]}
    return scope.metric(f"vpcaccess.googleapis.com/connector/{name}", "vpc_access_connector", labels,
                        project=parts[1], start=scope.before, aligner=aligner, reducer=reducer)


def _connector_metrics(reads: _Reads, monitoring: MonitoringPort, scope: "_Scope", connector: str) -> None:
    def metric(key: str, name: str, aligner: str, reducer: str) -> None:
        reads.metric(key, f"monitoring: connector/{name}", monitoring.query,
                     _connector_query(scope, connector, name, aligner, reducer))

    for key, name, aligner, reducer in _TARGET_FULLNESS:   # the same reads as a rollback target's connector's
        metric(key, name, aligner, reducer)


def database_id(connection_name: str) -> str:
    """Cloud SQL's metric label: "project:instance" (the connection name has the region too).
    A domain-scoped project ("example.com:p") keeps its domain: "example.com:p:instance"."""
    return SqlInstance.parse(connection_name).database_id


def _sql_up_query(scope: "_Scope", sql: tuple[str, ...]) -> MetricQuery:
    # One instance: filter on it. Several: group by database_id and read each from one answer.
    labels = {"resource.labels.database_id": database_id(sql[0])} if len(sql) == 1 else {}
    return scope.metric("cloudsql.googleapis.com/database/up", "cloudsql_database", labels,
                        project=SqlInstance.parse(sql[0]).project, aligner="ALIGN_MIN", reducer="REDUCE_MIN",
                        group_by=("resource.labels.database_id",))


def _sql_connections_wanted(service: Service, revisions: Sequence[Revision], incident_started_at: datetime,
                            settings: DiagnosisSettings, budget: CallBudget, *,
                            promoted: Revision | None = None, kept_back: int = 1) -> bool:
    """Whether the instances' connections are read: only bad_revision asks (a deploy the suspect: the
    newest serving revision created within deploy_window_seconds before the incident, or one promoted then:
    `rollback_suspect`), and only when
    the read leaves a call for the third round (startup_candidates' read or the log read again), so it
    never takes that read's place. An alert's collection (the only one that asks) with a connector and a
    database has that room unless it reads the request log too. Not read, its rule claims nothing. `kept_back`:
    the calls left for reads after it (one, the third read, unless its caller knows none is to come)."""
    if budget.used + 1 + kept_back > budget.limit:
        return False
    return rollback_suspect(service, revisions, incident_started_at, settings, promoted=promoted) is not None


def _sql_connections_query(scope: "_Scope", sql: tuple[str, ...]) -> MetricQuery:
    """database/postgresql/num_backends, the largest per minute of each database, summed per instance,
    from one lookback before the window (the instance's connections before the failures). Cloud SQL's
    metrics reference (docs.cloud.google.com/sql/docs/postgres/admin-api/metrics) lists it as "Number of
    connections to the Cloud SQL PostgreSQL instance", GAUGE, INT64, on `cloudsql_database`, with the
    label `database`. A MySQL instance has no such series (its gauge is database/network/connections,
    "Only applicable to MySQL and SQL Server", not read): its answer is empty, and nothing is claimed."""
    labels = {"resource.labels.database_id": database_id(sql[0])} if len(sql) == 1 else {}
    return scope.metric("cloudsql.googleapis.com/database/postgresql/num_backends", "cloudsql_database", labels,
                        project=SqlInstance.parse(sql[0]).project, start=scope.before, aligner="ALIGN_MAX",
                        reducer="REDUCE_SUM", group_by=("resource.labels.database_id",))


def _sql_cpu_query(scope: "_Scope", sql: tuple[str, ...]) -> MetricQuery:
    """database/cpu/utilization, the largest per minute, per instance, from one lookback before the
    window (how busy the instance was before the failures). Cloud SQL's metrics reference
    (cloud.google.com/sql/docs/postgres/admin-api/metrics) lists it on `cloudsql_database`; that it
    is a GAUGE of DOUBLE fractions of the reserved CPU is from third-party tables (UNCONFIRMED)."""
    labels = {"resource.labels.database_id": database_id(sql[0])} if len(sql) == 1 else {}
    return scope.metric("cloudsql.googleapis.com/database/cpu/utilization", "cloudsql_database", labels,
                        project=SqlInstance.parse(sql[0]).project, start=scope.before, aligner="ALIGN_MAX",
                        reducer="REDUCE_MAX", group_by=("resource.labels.database_id",))


@dataclass(frozen=True)
class _Scope:
    """Where and when to look, derived from the service and the incident."""

    project: str
    location: str
    service: str
    start: datetime            # the incident window's start
    requests_start: datetime   # earlier: the suspect's baseline
    end: datetime
    serving: tuple[Revision, ...]
    before: datetime           # one lookback before `start`: the connector's and the requests' prior state
    reach_back: datetime | None = None   # the request metrics read from at least here (collect's `reach_back`)
    instances_start: datetime | None = None   # instance_count read from here (None: `start`)

    @classmethod
    def of(cls, service: Service, revisions: tuple[Revision, ...], started_at: datetime,
           settings: DiagnosisSettings, now: datetime, judged_from: datetime | None = None) -> "_Scope":
        """`started_at`: the incident's start, which names a deploy suspect; `judged_from`: where the
        evidence of the current state is judged from (`judged_since`; the start if None)."""
        parts = service.name.split("/")  # projects/P/locations/L/services/S
        serving = tuple(r for r in revisions if service.serving_percent(r.short_name) > 0)
        start = (judged_from or started_at) - timedelta(seconds=settings.lookback_seconds)
        newest = max(serving, key=lambda r: r.create_time, default=None)
        # One lookback more before the window: how the connector and the service were before the
        # failures began (a connector already at its limit while requests were clean is not news).
        before = start - timedelta(seconds=settings.lookback_seconds)
        requests_start = before
        instances_start = None
        if newest is not None and newest.create_time >= started_at - timedelta(seconds=settings.deploy_window_seconds):
            # A deploy suspect: reach back to its baseline too (and no further for anyone else).
            requests_start = min(before, newest.create_time - timedelta(seconds=settings.baseline_seconds))
            instances_start = min(start, newest.create_time - TARGET_LOAD_MINUTES)
            if newest.create_time > started_at and (judged_from is None or judged_from == started_at):
                # A change made since the incident began: the deploy it followed may be a promotion anywhere in
                # the window (facts.Facts.deploy_before_change), dated as below.
                reach = promotion_reach(started_at, settings)
                requests_start, instances_start = min(requests_start, reach), min(instances_start, reach)
        elif newest is not None and (judged_from is None or judged_from == started_at):
            # Created before the window, it may have been promoted in it (`--no-traffic`, then `update-traffic`):
            # reach back to the window's start less the minutes that date a promotion there and show what its
            # rollback's target carried just before (facts.promotion_reach). A re-notified incident's reads keep
            # to its own lookbacks: what was promoted before them is not dated.
            reach = promotion_reach(started_at, settings)
            requests_start = min(before, reach)
            instances_start = min(start, reach)
        return cls(parts[1], parts[3], parts[5], start, requests_start, max(now, start + timedelta(seconds=60)),
                   serving, before, instances_start=instances_start)

    def metric(self, metric_type: str, resource_type: str, labels: dict[str, str], *, start: datetime | None = None,
               project: str | None = None, aligner: str, reducer: str, group_by: tuple[str, ...] = ()) -> MetricQuery:
        return MetricQuery(project=project or self.project, metric_type=metric_type, resource_type=resource_type,
                           labels=labels, start=start or self.start, end=self.end, alignment_seconds=60,
                           aligner=aligner, reducer=reducer, group_by=group_by)

    def connector_name(self) -> str | None:
        """The connector of the newest serving revision: the path its requests take now."""
        for revision in sorted(self.serving, key=lambda r: r.create_time, reverse=True):
            if revision.vpc_connector:
                return revision.vpc_connector
        return None

    def sql_instances(self) -> list[str]:
        return [name for r in self.serving for name in r.cloudsql_instances]


def epoch_to_datetime(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)
