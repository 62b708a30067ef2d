"""What a person reads besides the verdict: the state of the network path (a connector in ERROR,
one a person is updating, Direct VPC egress) and, when nothing is concluded, what was seen and
where to look next. Pure: facts in, words and evidence items out."""
from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from shared.diagnosis.connector_names import Naming, names_connector
from shared.diagnosis.evidence import Connector, EvidenceItem, LogRecord, short_name
from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.log_signals import LogSignal, is_pooler_wait, per_text, signals_in
from shared.diagnosis.facts import INGEST_LAG, Facts, dated, hms
from shared.diagnosis.lock_waits import LOCK_ADVICE, lock_waits
from shared.diagnosis.notable import notable
from shared.diagnosis.replica import REPLICA_ADVICE, replica_conflicts
from shared.diagnosis.rules.base import duration, pct
from shared.diagnosis.rules.connector_signs import still_on_a_connector
from shared.diagnosis.rules.deploy_changes import DEFAULT_MAX_INSTANCES, settings_changed
from shared.diagnosis.signatures import CRASHES, MEMORY
from shared.diagnosis.principals import is_service_account, named

# VPC Access v1 Connector.state (vpcaccess.v1 discovery document): ERROR is "manual deletion recommended".
_CONNECTOR_STATE_MEANING = {
    "ERROR": "the API marks it 'manual deletion recommended': recreate it, or move the service to another "
             "connector or to Direct VPC egress",
    "UPDATING": "a change to it is in progress",
    "CREATING": "it is still being created",
    "DELETING": "it is being deleted",
}


@dataclass
class PathNotes:
    """Sentences for the summary, a stand-down reason, and the evidence behind them."""

    sentences: list[str] = field(default_factory=list)
    stand_down: str = ""
    items: list[EvidenceItem] = field(default_factory=list)


def alert_text_items(facts: Facts) -> list[EvidenceItem]:
    """A log-match alert's own words, always named, so that its answer says what kind of alert it acted or
    escalated on: the filter that matched and the causes it and the documentation name (the documentation may carry
    the matched entry's extracted labels). A LogMatch condition has a filter and label extractors only
    (AlertPolicy.Condition.LogMatch, google/monitoring/v3/alert.proto): its notification carries no observed value
    nor threshold ("Log match condition fired for ...", a notification's summary in hughbrien/frontend), and
    Monitoring sends no CLOSED for it ("For log-based alert policies, the notification prompts is always OPENED",
    AlertPolicy.AlertStrategy): it closes after its auto-close duration whether or not anything recovered. So
    the item says the verdict rests on the live evidence read, never on the alert's value or its close. Context:
    the entries themselves are counted from the log read, where the alert's filter joined the service's query."""
    alert = facts.b.alert
    if alert is None or not alert.log_filter:
        return []
    text = f"{alert.log_filter}\n{alert.documentation}"
    named = sorted(s.value for s in signals_in(LogRecord(timestamp=facts.b.collected_at, log_id="alert", text=text)))
    said = (f"names {', '.join(named)}: " if named else "matched an entry of ") + f"{alert.log_filter[:160]!r}"
    return [EvidenceItem(source="log", query=f"log-match policy {alert.policy!r}: condition filter and documentation",
                         observed=f"{said}; a log match carries no value nor threshold, and its incident closes after "
                                  "its auto-close duration, not on a recovery: the verdict rests on the live evidence "
                                  "above", threshold="", role="context", about=", ".join(named) or "log match")]


def path_notes(facts: Facts) -> PathNotes:
    notes = PathNotes(items=alert_text_items(facts))
    revision = facts.newest_serving
    if revision is not None and revision.vpc_network_interfaces and not revision.vpc_connector:
        egress = ", ".join(revision.vpc_network_interfaces)
        notes.items.append(EvidenceItem(
            source="api", query=f"run.revisions.get {revision.short_name}: vpc_access.network_interfaces",
            observed=f"Direct VPC egress through {egress} (egress {revision.vpc_egress or 'default'}); no connector",
            threshold="the egress path", role="context", about="egress"))
        older = still_on_a_connector(facts)
        notes.sentences.append(f"the service reaches its VPC by Direct VPC egress ({egress}): no connector to scale"
                               if not older else
                               f"{revision.short_name} reaches its VPC by Direct VPC egress ({egress}), while {older}")
    connector = facts.b.connector
    if connector is None:
        return notes
    people = [e for e in (facts.b.connector_audit.entries if facts.b.connector_audit else ())
              if e.principal not in facts.s.self_principals]
    if connector.state != "READY":
        meaning = _CONNECTOR_STATE_MEANING.get(connector.state, "it cannot be updated now")
        notes.sentences.append(f"connector {connector.short_name} is {connector.state}: {meaning}")
        notes.items.append(EvidenceItem(source="api", query=f"vpcaccess.connectors.get {connector.name}: state",
                                        observed=connector.state, threshold="READY", passed=False,
                                        role="context", about="connector"))
    if people:
        latest = max(people, key=lambda e: e.timestamp)
        who = f"{named(latest)} ({latest.method_name} at {hms(latest.timestamp)})"
        notes.sentences.append(_change_sentence(connector, latest))
        notes.stand_down = f"connector {connector.short_name} changed by {who}"
        for entry in sorted(people, key=lambda e: e.timestamp):
            notes.items.append(EvidenceItem(
                source="log", query=facts.b.connector_audit.query,
                observed=f"{entry.method_name} by {named(entry)} at {hms(entry.timestamp)} on "
                         f"{entry.resource_name}", threshold="a change to the connector by anyone but Runwarden stands automation down",
                passed=True, role="supports", about="stand_down"))
    return notes


def _principal_words(principal: str | None) -> str:
    """Who made a change, as a person reads it: a service account (Terraform, a CI job) is not a person."""
    if not principal:
        return "an unknown principal"
    if is_service_account(principal):
        return f"service account {principal}"
    return f"a person, {principal}"


def _change_sentence(connector: Connector, entry: LogRecord) -> str:
    """Who changed the connector and whether that change is over: the operation's last audit entry
    (LogEntry.operation.last) says it ended, with its status; without it the connector's state
    does (UPDATING: in progress; any other: no change is running on it now)."""
    who = f"{_principal_words(entry.principal)} ({entry.method_name} at {hms(entry.timestamp)})"
    name = connector.short_name
    if entry.operation_last:
        failed = f", with error code {entry.status_code}" if entry.status_code else ""
        return (f"connector {name} was changed by {who}, a change that has finished{failed}: "
                "check with its owner before anyone scales it")
    if connector.state == "UPDATING":
        return (f"connector {name} is being changed by {who}, in progress (the connector is UPDATING): "
                "let that change finish and check with its owner before anyone scales it")
    return (f"connector {name} was changed by {who}, a change that has finished (the connector is "
            f"{connector.state}): check with its owner before anyone scales it")


# --- what an inconclusive diagnosis saw -------------------------------------------------------------


def _since(started: datetime, collected: datetime) -> str:
    """The incident's start as the narrative cites it: its time of day when it began on the day the
    evidence was collected, else its date too. An incident re-notified days after it opened
    (renotifyInterval) read "open since 12:00:00", today's noon to whoever reads it."""
    if started.date() == collected.date():
        return hms(started)
    return dated(started)


def what_was_seen(facts: Facts) -> str:
    """The 5xx / 504 / 429 split, the onset, and the top error texts with their counts."""
    window = facts.incident
    r = facts.requests(window)
    parts = []
    b = facts.b
    if b.judged_from is not None:
        # A re-notification (or a late delivery) of an incident open long: what follows is its last minutes.
        parts.append(f"the incident is open since {_since(b.incident_started_at, b.collected_at)}; only its last "
                     f"{facts.s.max_incident_window_seconds // 60} min are judged as its current state")
    if r.total:
        other_5xx = r.by_class.get("5xx", 0) - r.by_code.get("503", 0) - r.by_code.get("504", 0)
        parts.append(f"{r.total:.0f} requests in {window}: {r.by_code.get('503', 0):.0f} 503, "
                     f"{r.by_code.get('504', 0):.0f} 504, {other_5xx:.0f} other 5xx, {r.by_code.get('429', 0):.0f} 429 "
                     f"({pct(r.refused_ratio)} refused)")
    cut = not_read_after(facts)
    if cut:
        parts.append(cut)
    onset = _onset(facts)
    if onset:
        parts.append(f"errors began {onset}" if b.judged_from is None else f"errors in the minutes judged from {onset}")
    texts = top_error_texts(facts)
    if texts:
        parts.append("top error texts: " + "; ".join(f"{count}x {text!r}" for text, count in texts))
    return "; ".join(parts) or "no requests and no error logs in the window"


def not_read_after(facts: Facts) -> str:
    """Why the window read ends before the newest point, in the words `healthy`'s note uses
    (diagnose._note_not_whole), or "": where a series ends inside the ingest lag before the newest point
    (Facts.read_until), the minutes after it hold the other series' side without its own and are not read,
    and a person should see which series ends where rather than a window that merely ends early."""
    until, newest = facts.read_until, facts.data_until
    if until is None or newest is None or until >= newest:
        return ""
    return (f"the minutes after {hms(until)} to {hms(newest)} are not read: they are not whole yet (newest points: "
            f"{facts.series_ends()}; a point is visible up to {INGEST_LAG.total_seconds():.0f} s after its minute, "
            "each series on its own, and a minute with no 5xx point may be one whose 5xx are not in yet)")


def look_next(facts: Facts, ended: tuple[str, ...] | None = None) -> str:
    """Where a person should look next, from what is (and is not) in the evidence; `ended`, what ended the
    503s' requests (`what_ended`), when the caller has read it already."""
    hints = []
    if facts.b.gaps:
        hints.append("the sources Runwarden could not read (" + "; ".join(facts.b.gaps) + ")")
    r = facts.requests(facts.incident)
    if r.share(code="504") >= facts.s.healthy_error_ratio:
        hints.append("the slowest handlers and their dependencies in Cloud Trace (504s)")
    if r.share(code="503") >= facts.s.healthy_error_ratio:
        # A connector is a place to look only when a serving revision routes through one (not on
        # Direct VPC egress or with no VPC access at all).
        hints.append(_where_503s_come_from(facts, what_ended(facts) if ended is None else ended))
    if r.share(code="429") >= facts.s.healthy_error_ratio:
        hints.append(_where_429s_come_from(facts))
    waits = facts.log_matches(LogSignal.DB_POOL_WAIT)
    pooler = per_text(is_pooler_wait, waits)
    if sum(pooler[e.text] for e in waits) >= facts.s.db_error_logs_min:
        # PgBouncer kept clients waiting for its own server connections (log_signals.POOLER_WAIT).
        hints.append("the connection pooler (PgBouncer's SHOW POOLS: cl_waiting, maxwait; its default_pool_size "
                     "against every client) and how long the database holds each server connection")
    if sum(not pooler[e.text] for e in waits) >= facts.s.db_error_logs_min:
        # The application waited for its own pool (log_signals.POOL_WAIT_TEXTS): slow database work
        # holding the connections, or a pool too small for what an instance runs at once.
        hints.append("the application's connection pool (its size per instance against the requests an instance "
                     "runs at once) and how long the database holds each connection (slow queries, lock waits)")
    if len(facts.log_matches(LogSignal.GOOGLE_API_WAIT)) >= facts.s.db_error_logs_min:
        # The application's own Google Cloud API calls ran out their client library's deadline
        # (log_signals, LogSignal.GOOGLE_API_WAIT): that API's health and the way to it.
        hints.append("the Google Cloud API the application's client library waits on (Personalized Service Health, "
                     "the API's latency and quotas in the console) and whether it is reached through a private "
                     "endpoint (Private Service Connect) or Cloud Run's own egress")
    failed = _rollout_not_ready(facts)
    if failed:
        hints.append(failed)
    if facts.logged_enough(replica_conflicts(facts)):
        # A read replica cancelled the reads (replica.py): the replica's lag, not the service's code.
        hints.append(REPLICA_ADVICE)
    if facts.logged_enough(lock_waits(facts)):
        # Statements waited on a lock another session held, or deadlocked (lock_waits.py): who holds it.
        hints.append(LOCK_ADVICE)
    if top_error_texts(facts):
        hints.append("the top error texts above in the service's stderr")
    changed = _settings_the_deploy_changed(facts)
    if changed:
        hints.append(changed)
    hints.append("recent changes to " + _what_it_uses(facts))
    return "look next at " + ", ".join(hints)


def _settings_the_deploy_changed(facts: Facts) -> str:
    """The settings the newest serving revision's deploy changed against the revision it replaced
    (Facts.recent_deploy; deploy_changes.settings_changed: timeout, scaling, concurrency, resources,
    CPU allocation, startup CPU boost, session affinity, execution environment), each with its before
    and after, for a person who weighs them against the evidence; "" with no recent deploy or none
    changed. A setting changes what the same evidence means (fewer instances kept warm reads as
    latency, CPU only during requests as stale connections), and it comes back with the revision."""
    deploy = facts.recent_deploy()
    if deploy is None:
        return ""
    revision, previous, lead = deploy
    changed = settings_changed(previous, revision)
    if not changed:
        return ""
    return (f"the settings {revision.short_name}'s deploy {duration(lead)} before the incident changed against "
            f"{previous.short_name} ({'; '.join(changed)}), which come back with {previous.short_name} if they "
            "explain the evidence")


def _rollout_not_ready(facts: Facts) -> str:
    """The newest revision when its Ready condition failed and it serves no traffic, named with the
    condition's reason and message; "" otherwise. Cloud Run keeps traffic on the Ready revisions when
    a new one does not become Ready (Revision.conditions, Condition type "Ready", state
    CONDITION_FAILED; Cloud Run Admin API v2), and says so in its System Event audit log, "Ready
    condition status changed to False for Revision R with message: ..." (as public logs print it,
    their repositories and paths UNCONFIRMED), the line a log-match alert on a failed rollout fires
    on. Nothing serves from it, so nothing is acted on: a person looks at that revision."""
    newest = max(facts.b.revisions, key=lambda r: r.create_time, default=None)
    if newest is None or facts.b.service.serving_percent(newest.short_name) > 0:
        return ""
    ready = newest.ready_condition
    if ready is None or ready.state != "CONDITION_FAILED":
        return ""
    said = ": ".join(part for part in (ready.reason, ready.message[:200]) if part)
    return (f"revision {newest.short_name}, whose Ready condition failed" + (f" ({said})" if said else "")
            + " and which serves no traffic (Cloud Run keeps it on the Ready revisions): its image, its "
              "configuration and its startup logs")


def what_ended(facts: Facts, said: Collection[str] = ()) -> tuple[str, ...]:
    """What Cloud Run's system log or the application server says ended the 503s' requests (instances killed
    over their memory limit, crashed, shut down by their liveness probe, workers timed out), each in the
    look-next's words, in the order an SRE checks them (`ENDED_BY`), but those a held cause's advice already
    says (`said`, Finding.ended: a connector's doubt over the instances' crashes gives the crashes' advice);
    () when the 503s are under healthy_error_ratio. Found, it is read before any held cause's advice of where
    to search (diagnose._verdict), and the look-next names it: read once for both."""
    if facts.requests(facts.incident).share(code="503") < facts.s.healthy_error_ratio:
        return ()
    return tuple(words for words in (part(facts) for name, part in ENDED_BY.items() if name not in said) if words)


def _where_503s_come_from(facts: Facts, found: tuple[str, ...]) -> str:
    """Where to look for the 503s, in the order an SRE checks them: what ended the instances in Cloud Run's
    own system log (over their memory limit, LogSignal.MEMORY_LIMIT; their container's process exited or a
    crash's signal ended it, `_crash_exits`; shut down after their liveness probe failed,
    LogSignal.LIVENESS_SHUTDOWN), then the application server's own worker timeouts (`_worker_timeouts`), then
    the request log's 503 texts; `found`, those `what_ended` read. Each ends the requests in flight as Cloud Run's
    own 503s whatever a connector does. A connector's metrics are a place to look only when a serving revision
    routes through one (not on Direct VPC egress or with no VPC access at all), and, beside such evidence, only when they show a
    saturation sign or hold no point (`_connector_quiet`): a quiet connector is no lead."""
    connectors = _serving_connectors(facts)
    if connectors and (not found or not _connector_quiet(facts)):
        where = f"the request log's 503 texts and the metrics of connector {', '.join(connectors)} (503s)"
    else:
        where = "the request log's 503 texts (503s)"
    return "; ".join(found) + f", and {where}" if found else where


def _connector_quiet(facts: Facts) -> bool:
    """Whether the connector's metrics were read with points in the incident window and show none of the
    saturation signs notable._connector reads (instances at its max, CPU p99 at connector_cpu_saturation,
    throughput at connector_throughput_ratio of its ceiling). No point is unknown, never quiet: each of the
    three is read (a throughput with no ceiling known judges nothing), and the connector read is the one every
    serving revision routes through (`_one_connector_read`): another's metrics were not read."""
    if not _one_connector_read(facts):
        return False
    window = facts.incident
    judged = (facts.connector_values(facts.b.connector_instances, window), facts.connector_cpu(window),
              facts.connector_bytes(window) if facts.connector_ceiling_mbps() else [])
    if not all(judged):
        return False
    return not any(n.kind.startswith("connector_") for n in notable(facts))


def _one_connector_read(facts: Facts) -> bool:
    """Whether the connector read (EvidenceBundle.connector, the only one whose metrics are read) is the one
    each serving revision routes through (connector_names.names_connector: YES; a name by another project's
    number, MAYBE, is not shown to be it)."""
    connector = facts.b.connector
    return connector is not None and all(
        names_connector(facts.b.service, r.vpc_connector, connector.name) is Naming.YES
        for r in facts.serving if r.vpc_connector)


def _crash_exits(facts: Facts) -> str:
    """The instances' crashes, when Cloud Run's system log says their container's process exited with a
    crash's code ("Container called exit(N).", N not 0, 130, 137 nor 143: log_signals.CRASH_EXIT) or ended on a
    crash's signal ("Container terminated on signal N.", log_signals.crash_signal) in the failing minutes, at
    least startup_failure_logs_min times: the requests in flight on them end as Cloud Run's own 503s."""
    crashed = facts.crashes.lines
    if len(crashed) < facts.s.startup_failure_logs_min:
        return ""
    return (f"the instances' crashes (Cloud Run's system log: {len(crashed)} entries of a container's process that "
            f"exited or ended on a signal, e.g. {excerpt(crashed[0].text)!r}; their requests in flight end as 503s): "
            "the application's last lines before each (a panic, an unhandled error, an abort) and the request that "
            "brought it")


def _memory_kills(facts: Facts) -> str:
    killed = facts.log_matches(LogSignal.MEMORY_LIMIT)
    if not killed:
        return ""
    # The line does not say which container went over (a sidecar's own limit counts too).
    return (f"the instances' memory (Cloud Run ended instances over a memory limit: {len(killed)} 'Memory "
            f"limit ... exceeded' entries in its system log; their requests in flight end as 503s): each "
            f"container's memory limit against what it holds")


def _worker_timeouts(facts: Facts) -> str:
    """The application's own server, when it timed its workers out while the requests failed, at least
    startup_failure_logs_min times over the window (LogSignal.WORKER_TIMEOUT, counted as connector_saturation's
    `_workers_stuck` counts them): gunicorn's arbiter ends a worker that did not notify it within --timeout, 30 s
    by default (benoitc/gunicorn gunicorn/arbiter.py murder_workers; docs "Settings", timeout), and the request
    that worker held ends unanswered, which Cloud Run answers 503 ("connection to the instance had an error":
    its troubleshooting page names a framework's timeout, gunicorn's WORKER TIMEOUT, among that 503's causes).
    Its line says a worker was stuck, not on what, and carries no severity of its own, so the top error texts,
    warnings and worse, leave it out: named here, before the connector, where a person starts."""
    lines = facts.matches_while_failing(LogSignal.WORKER_TIMEOUT)
    if not facts.logged_enough(lines, facts.s.startup_failure_logs_min):
        return ""
    return (f"the application server's own worker timeout ({len(lines)} entries of workers it timed out or killed, "
            f"e.g. {excerpt(lines[0].text)!r}; the requests those workers held end unanswered, as 503s): which "
            "handlers ran past it and what they waited on (a slow query, a lock, a call with no timeout of its own)")


def _liveness_shutdowns(facts: Facts) -> str:
    """The instances' liveness probe, when Cloud Run shut instances down after it failed in the
    failing minutes. Its line names the container, port and (HTTP) path; the settings that decide
    when it fails are the probe's path, periodSeconds and failureThreshold (Cloud Run, "Configure
    container health checks for services"), against what kept the instance from answering."""
    failing = facts.failing_window
    shut = [e for e in facts.log_matches(LogSignal.LIVENESS_SHUTDOWN)
            if failing is not None and e.timestamp >= failing.start]
    if not shut:
        return ""
    return (f"the instances' liveness probe (Cloud Run shut instances down after it failed: {len(shut)} 'LIVENESS "
            f"... probe failed ... shut down' entries in its system log, e.g. {excerpt(shut[0].text)!r}; their "
            f"requests in flight end as 503s): the probe's path, period and failure threshold against how long "
            f"the instances take to answer it, and what kept them from answering (a blocked event loop, a "
            f"deadlock, a dependency the probe's route checks)")


def _where_429s_come_from(facts: Facts) -> str:
    """Where to look for the 429s: Cloud Run's refusals at max instances, or the application's own.

    Cloud Run refuses with 429 "The request was aborted because there was no available instance"
    (Cloud Run troubleshooting; LogSignal.NO_INSTANCE, read from the request log); an application's
    own limiter answers 429 too, and then instance counts against max instances point a person the
    wrong way. The 429s are said to be the application's own only when the log was read whole (not a
    page cut short) with no such refusal and every serving revision's active instances were read and
    stayed below its max (and the service-level max, if set); otherwise both are named."""
    if facts.log_matches(LogSignal.NO_INSTANCE):
        return "instance counts against max instances (Cloud Run's 'no available instance' 429s)"
    below = _below_max_instances(facts)
    logs = facts.b.logs
    if below and logs is not None and not logs.truncated:
        return (f"the application's own rate limiter or quotas and the callers they refuse (the 429s are not "
                f"Cloud Run's: it logged no 'no available instance' refusal, and {below})")
    return ("whether the 429s are Cloud Run's ('no available instance' in the request log, instance counts "
            "against max instances) or the application's own (its rate limiter or quotas)")


def _below_max_instances(facts: Facts) -> str:
    """In words, how far below its max instances each serving revision stayed in the incident
    window (active instances, the most in one minute), or "" when one reached it or was not read.
    A revision without max_instance_count has Cloud Run's default (deploy_changes.DEFAULT_MAX_INSTANCES)."""
    if facts.b.instances is None or not facts.serving:
        return ""
    said = []
    for revision in facts.serving:
        limit = revision.max_instance_count or DEFAULT_MAX_INSTANCES
        seen = facts.max_total_instances_seen(facts.incident, [revision.short_name])
        if seen is None or seen >= limit:
            return ""
        said.append(f"{revision.short_name} ran at most {seen:.0f} of its {limit} max instances")
    limit = facts.b.service.max_instance_count
    if limit:
        seen = facts.max_total_instances_seen(facts.incident, [r.short_name for r in facts.serving])
        if seen is None or seen >= limit:
            return ""
        said.append(f"the service at most {seen:.0f} of its service-level {limit}")
    return ", ".join(said)


def _serving_connectors(facts: Facts) -> list[str]:
    """The short names of the connectors the serving revisions route through."""
    return list(dict.fromkeys(short_name(r.vpc_connector) for r in facts.serving if r.vpc_connector))


def _what_it_uses(facts: Facts) -> str:
    """The service and only the parts it really uses, from its serving revisions (vpc_access: a
    connector, or Direct VPC egress's network interfaces) and the Cloud SQL instances it names (the
    revisions' Cloud SQL volumes and the config's, EvidenceBundle.sql_instances). With no serving
    revision read, nothing else is named: what it uses is unknown."""
    parts = ["the service"]
    if not facts.serving:
        return "the service (its serving revisions were not read, so its network path and database are unknown)"
    connectors = _serving_connectors(facts)
    if connectors:
        parts.append(f"its connector {', '.join(connectors)}" if len(connectors) == 1
                     else f"its connectors {', '.join(connectors)}")
    direct = list(dict.fromkeys(i for r in facts.serving if not r.vpc_connector for i in r.vpc_network_interfaces))
    if direct:
        parts.append(f"its Direct VPC egress ({', '.join(direct)}: firewall rules, routes)")
    sql = list(dict.fromkeys(facts.b.sql_instances))
    if sql:
        parts.append(f"its Cloud SQL instance {', '.join(sql)}" if len(sql) == 1
                     else f"its Cloud SQL instances {', '.join(sql)}")
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]


def top_error_texts(facts: Facts, limit: int = 3) -> list[tuple[str, int]]:
    """The service's commonest warning-or-worse texts, numbers masked so repeats group together, each quoted
    up to 160 characters cut between words (excerpts.excerpt)."""
    return [(excerpt(text.strip()), n) for text, n in facts.logs.top_error_texts(limit)]


def _onset(facts: Facts) -> str:
    """The first minute whose 5xx + 429 share reached status_ratio."""
    for at, total, bad in facts.refused_minutes:
        if total and bad / total >= facts.s.status_ratio:
            return f"in the minute to {hms(at)}"
    return ""


# What ended the 503s' requests, by name (Finding.ended), in the order an SRE checks it (`what_ended`).
ENDED_BY: dict[str, Callable[[Facts], str]] = {MEMORY: _memory_kills, CRASHES: _crash_exits,
                                              "liveness": _liveness_shutdowns, "workers": _worker_timeouts}
