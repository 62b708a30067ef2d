"""connector_saturation: requests fail with 503 or hang at a fixed client timeout while the
service's VPC connector is at max instances, CPU-saturated or near its throughput ceiling,
and Cloud SQL itself is up. The connector is the serving revision's, never the config's."""
from __future__ import annotations

import operator
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import compress

from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.latency_words import latency
from shared.diagnosis.env_hosts import deploy_brought
from shared.diagnosis.evidence import EvidenceItem, LogRecord, Revision, short_name
from shared.diagnosis.database_errors import lines_but
from shared.diagnosis.connector_minutes import NEAR_BAR
from shared.diagnosis.facts import SQL_CPU_SATURATION, SUSTAINED_GAP, Facts, egress_of, hms, path_changed, query_of
from shared.diagnosis.log_signals import (CRASH_EXIT, REPLICA_CONFLICT, LogSignal, Refusal, closed_connection, distinct_texts,
                                         dial_failure, dial_timed_out, greeting_lost, greeting_timed_out, host_address,
                                         lost_mid_query,
                                         memory_limit_wordings, pattern_of, per_text, proxy_reply, read_timed_out,
                                         refresh_failed, upstream_hosts, upstream_read_timed_out,
                                         username_error, words_of)
from shared.diagnosis.rules.base import UNREAD_LOGS_CONFIDENCE, Citation, duration, pct, unread_rule_outs
from shared.diagnosis.connector_names import Naming, names_connector, two_connectors
from shared.diagnosis.rules.connector_dials import DialPath, dial_path
from shared.diagnosis.rules.connector_signs import (CANNOT_SCALE, CHANGE_UNDER_WAY, clean_before,
                                                    dials_around_connector, either, failing_revision, hang_minutes,
                                                    held_at_onset, max_not_reached, max_not_reached_words,
                                                    revision_p99, still_on_a_connector, stress, usual_hang)
from shared.diagnosis.rules.database_signs import (SLOW_DATABASE, STALE_READS, no_failed_dial, reads_among,
                                                  sql_down_while_failing, sql_lagging, sql_unreported,
                                                  sql_unreported_words)
from shared.diagnosis.rules.deploy_changes import (DEFAULT_MAX_INSTANCES, deploy_lowered_timeout,
                                                  requests_per_instance)
from shared.diagnosis.rules.never_left import never_left_observed, only_never_left
from shared.diagnosis.rules.platform_share import platform_share
from shared.diagnosis.rules.refusals import refusals, refused_observed
from shared.diagnosis.served_cleanly import served_cleanly
from shared.diagnosis.signatures import CRASHES, MEMORY, Finding, Signature
from shared.diagnosis.saturated_stretch import ceiling_states
from shared.diagnosis.two_ceilings import Lead, ceilings_order
from shared.gcp.run_logs import REQUEST_LOG, SYSTEM_LOG

_TEXT = operator.attrgetter("text")


def evaluate(facts: Facts) -> Finding:
    b = facts.b
    c = Citation(Signature.CONNECTOR_SATURATION)
    connector = b.connector
    revision, carried = failing_revision(facts, c)
    uses = revision.vpc_connector if revision else None
    if not c.cite("api", f"run.revisions.get {revision.short_name if revision else '-'}: vpc_access.connector",
                  uses or "no connector (direct VPC egress or none)", "a Serverless VPC Access connector",
                  uses is not None):
        if carried:
            return c.no(f"the failing traffic is {carried}, and it does not use a VPC connector: no connector "
                        "explains its failures")
        older = still_on_a_connector(facts)
        return c.no("the serving revision does not use a VPC connector" if not older else
                    f"the newest serving revision, {revision.short_name}, does not use a VPC connector, while "
                    f"{older}: whether that connector is saturated is not judged here (this rule reads the newest "
                    "revision's path), so a person looks at it")
    # The revision's name of its connector is the one read only when names_connector says YES: by a project number
    # that cannot be told from the read connector's project id (MAYBE) it may be another project's connector, so
    # the read one's state and limits are not taken for it (a MAYBE never leans toward acting).
    if connector is None or names_connector(b.service, uses, connector.name) is not Naming.YES:
        c.cite("api", f"vpcaccess.connectors.get {uses}", "not read", "connector state and limits", False)
        if connector is not None and names_connector(b.service, uses, connector.name) is Naming.MAYBE:
            return c.no(f"the failing traffic routes through {uses}, named by a project number that may or may not "
                        f"be the project of {connector.name}, the one read (a revision may name a connector by "
                        "project id or number; nothing read says which project the number is): whether it is "
                        "saturated is not judged")
        if connector is not None:
            # The one connector read is the newest serving revision's (collection); the failing one's is another.
            return c.no(f"the failing traffic is {carried}, which routes through connector {short_name(uses)}, not "
                        f"read (the one read is {connector.short_name}, the newest revision's): whether it is "
                        "saturated is unknown")
        return c.no(f"connector {uses} could not be read")

    symptom = _symptom(facts, c)
    dialled = None if symptom else _dials_timed_out(facts, c, revision)
    if not symptom and dialled is None:
        return c.no("no 503s or hangs at a client timeout")
    stressed = stress(facts, c)
    if not stressed and (connector.state in _BROKEN_STATES or _unowned_update(facts)):
        return _broken(facts, c)
    own = None if stressed else _own_update_before_failures(facts)
    if own is not None:
        return _own_update_competes(facts, c, own)
    if not stressed and _unread(facts):
        # Unknown is not "no saturation": a Shared VPC host project's metrics denied to Runwarden's
        # identity must read as the gap it is (its metrics are in the connector's project).
        return c.no(f"connector {connector.short_name}'s metrics ({', '.join(_unread(facts))}) were not read "
                    f"in project {connector.name.split('/')[1]}: whether it is saturated is unknown")
    if not stressed and _silent(facts):
        # Read, but not one point in the window: a connector created minutes ago, or metrics not yet
        # ingested (up to ~240 s for VPC Access): as unknown as unread, never "no saturation".
        return c.no(f"connector {connector.short_name}'s metrics hold no point in {facts.incident} (a new "
                    "connector, or its metrics not yet ingested): whether it is saturated is unknown")
    if not stressed:
        before = any(" already in " in item.observed for item in c.items)
        stale = any("don't scale in" in item.observed for item in c.items)
        ended = any("only before the failures began" in item.observed for item in c.items)
        return c.no(f"connector {connector.short_name} shows no saturation"
                    + (" while requests failed (a sign that ended before the failures began)" if ended else "")
                    + (" that is news (only what it showed before the failures, while requests were clean)"
                       if before else "")
                    + (" (at its max instances only since load that has gone: connectors don't scale in)"
                       if stale else ""))
    inside, hung = _never_left(facts, c, stressed)
    if inside:
        return c.doubt(inside, HANG_ELSEWHERE) if hung else c.no(inside)
    refreshed = _refreshes_failed(facts, c)
    if refreshed:
        return c.doubt(refreshed, REFRESHES_FAILED)
    if dialled and held_at_onset(facts, stressed) is False:
        return c.doubt(_dials_before_the_stress(facts, c, stressed), DIALS_BEFORE_STRESS)
    if dialled and len(stressed) == 1 and stressed[0].startswith("at max"):
        return c.doubt(_dials_beside_a_high_water_mark(facts, c, stressed[0]), HANG_ELSEWHERE)
    lowered = _timeout_the_deploy_lowered(facts, c)
    if lowered:
        return c.no(lowered)
    high_water, look = _high_water_mark_alone(facts, c, stressed)
    if high_water:
        return c.doubt(high_water, look)
    at_once, look = _answered_at_once(facts, c, stressed)
    if at_once and look is STALE_CONNECTIONS:
        return _stale_pool(facts, c, at_once, look)
    if at_once:
        return c.doubt(at_once, look)
    ended, look = _instances_failed(facts, c, stressed)
    if ended:
        # Its advice is the look-next's for the same lines (narrative.ENDED_BY): said once, here.
        return c.doubt(ended, look, _ENDED_BY_ADVICE[look])
    unresponsive = _instances_unresponsive(facts, c, stressed)
    if unresponsive:
        return c.doubt(unresponsive, INSTANCES_UNRESPONSIVE)
    unstarted = _secret_not_fetched(facts, c, stressed)
    if unstarted:
        return c.no(unstarted)
    peer = _clean_peer(facts, c, stressed)
    if peer:
        return c.doubt(peer, CLEAN_PEER)
    queued = _waiting_for_an_instance(facts, c)
    if queued:
        return c.doubt(queued, WAITING_FOR_AN_INSTANCE)
    moved = _deploy_moved_onto(facts, c)
    if moved:
        return c.no(moved)
    brought = _deploy_brought_dialled(facts, c, dialled) if dialled else ""
    if brought:
        return c.no(brought)
    sql = _sql_up(facts, c)
    if sql is False:
        return c.no("Cloud SQL is down: the database, not the connector, explains the failures")
    answered = _database_answers(facts, c)
    if answered:
        return c.no(answered)
    passed_on = _downstream_answers(facts, c)
    if passed_on:
        return c.doubt(passed_on, DOWNSTREAM_ANSWERS)
    around = dials_around_connector(facts)
    if around:
        c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CONNECTION)}", around,
               "errors of reaching the database through the connector", False, role="refutes")
        return c.no(f"{around}: connector {connector.short_name}'s saturation does not explain them, and scaling "
                    "it changes nothing on their path")
    if dialled and dialled.crosses is False:
        return c.no(_dials_public(facts, dialled))
    elsewhere, ruled_out = _waits_on_named_host(facts, c)
    if elsewhere:
        return c.no(elsewhere) if ruled_out else c.doubt(elsewhere, NAMED_HOST)
    relayed = _proxy_replies(facts, c)
    if relayed:
        return c.doubt(relayed, PROXY_REPLIES)
    late = _http_reads_timed_out(facts, c)
    if late:
        return c.doubt(late, LATE_ANSWERS)
    unresolved = _names_not_resolved(facts, c)
    if unresolved:
        return c.doubt(unresolved, NAMES_NOT_RESOLVED)
    google = _waits_on_google_api(facts, c)
    if google:
        return c.doubt(google, GOOGLE_API)
    busy = _database_saturated(facts, c)
    if busy:
        return c.doubt(busy, SLOW_DATABASE)
    ungreeted = _no_failed_dial(facts, c, _GREETINGS_NEVER_CAME)
    if ungreeted:
        return c.doubt(ungreeted, GREETINGS_NEVER_CAME)
    unanswered = _no_failed_dial(facts, c, _GREETINGS_LOST)
    if unanswered:
        return c.doubt(unanswered, GREETINGS_LOST)
    credentials_or_path = _no_failed_dial(facts, c, _USERNAME_ERRORS)
    if credentials_or_path:
        return c.doubt(credentials_or_path, USERNAME_ERRORS)
    stale = _no_failed_dial(facts, c, _READS_TIMED_OUT)
    if stale:
        return _stale_pool(facts, c, stale, STALE_READS)
    lost = _no_failed_dial(facts, c, _LOST_AT_A_CLIENT_TIMEOUT)
    if lost:
        return c.doubt(lost, LOST_MID_QUERY)
    closed = _no_failed_dial(facts, c, _CLOSED_BY_THEIR_PEER)
    if closed:
        return c.doubt(closed, CLOSED_BY_THEIR_PEER)
    stuck = _workers_stuck(facts, c)
    if stuck:
        return c.doubt(stuck, WORKERS_STUCK)
    tail = _slow_tail(facts, c, stressed)
    if tail:
        return c.doubt(tail, SLOW_TAIL)
    linked = _link_failures_alone(facts, c, stressed)
    if linked:
        return c.doubt(linked, LINK_FAILURES_ALONE)
    unlogged = _unlogged_503s(facts, c, stressed)
    if unlogged:
        return c.doubt(unlogged, UNLOGGED_503S)
    if dialled and dialled.crosses is None:
        return c.doubt(_dials_unplaced(facts, dialled), DIALS_UNPLACED)
    if _rose_after_the_onset(facts, stressed):
        return c.doubt(_dials_before_the_stress(facts, c, stressed, dialled=False), SIGNS_AFTER_ONSET)
    # Saturation with the database confirmed up is clear; with its state unknown, a person decides.
    confidence = 0.7 + 0.1 * min(len(stressed), 2) if sql else 0.6
    unread = unread_rule_outs(facts, c, _LOG_RULE_OUTS)
    if unread:
        # The database's own answers, another service's, a named host, a failed lookup were never
        # read, not ruled out: scaling would rest on checks that did not run. A person decides.
        confidence = min(confidence, UNREAD_LOGS_CONFIDENCE)
    unreported = sql_unreported(facts) if sql is None else None
    lagging = sql_lagging(facts) if sql is None else ""
    silent = (f"; {sql_unreported_words(unreported)}" if unreported else "") + (f"; {lagging}" if lagging else "")
    return c.yes(confidence, f"connector {connector.short_name} ({connector.machine_type}, "
                             f"{connector.min_instances}-{connector.max_instances} instances) is saturated: "
                             + ", ".join(stressed) + (_dials_words(facts, dialled) if dialled else "")
                             + (f"; judged on the path of {carried}, which routes through it" if carried else "")
                             + unread + silent, subject=connector.name,
                 recommendation=_recommendation(connector, stressed, c.items))


# The checks above that read the service's logs to hold the finding back: blind when that read failed.
_LOG_RULE_OUTS = ("instances ended over their memory limit", "Cloud SQL connector refreshes that failed",
                  "the database's own answers (refusals, cancelled statements)", "another service's 5xx passed on",
                  "errors of reaching the database around the connector",
                  "errors of reaching the database that never left the instance",
                  "waits on a named host or a Google API", "names not resolved",
                  "reads on established connections that timed out",
                  "connections lost mid-query at a client timeout",
                  "connects answered whose server greeting never came",
                  "open connections found closed or reset by their peer", "workers the application's server timed out",
                  "instances shut down after their liveness probe failed",
                  "503s with no wait logged on any path",
                  "HTTP calls that timed out reading an answer on a connection made")


# Connector states in which its path is broken (vpcaccess.v1 Connector.state; ERROR is "manual
# deletion recommended"). UPDATING is a change in progress: a person's stands automation down, and
# Runwarden's own is pending verification (docs/behaviour.md); neither is this doubt.
_BROKEN_STATES = frozenset({"ERROR", "DELETING"})


def _unowned_update(facts: Facts) -> bool:
    """UPDATING with no Admin Activity entry on the connector to say whose change it is (the audit
    not read, or no entry matched: the VPC Access methodName is UNCONFIRMED). A person's change
    stands automation down and Runwarden's own is pending verification, but an update nobody is
    known to own is neither: its path is as much in doubt as a broken one's."""
    audit = facts.b.connector_audit
    return facts.b.connector.state == "UPDATING" and (audit is None or not audit.entries)


def _own_update_before_failures(facts: Facts) -> LogRecord | None:
    """Runwarden's own update of the connector (UPDATING, its newest Admin Activity entry on the
    connector under one of `self_principals`) when it began after the newest serving revision's
    deploy (within deploy_window_seconds) and no later than the end of the first failing minute;
    else None. Whether a change of machine type or instances disturbs the traffic through a
    connector while it runs is not documented (UNCONFIRMED), and every revision on the connector
    crosses it alike: failures that began with it are as much its as the deploy's. An update begun
    before the deploy, under which the revision before served cleanly until the deploy (bad_revision
    checks those minutes), or after the failures began (an answer to them), is neither."""
    b = facts.b
    deploy = facts.recent_deploy()
    if b.connector.state != "UPDATING" or b.connector_audit is None or deploy is None or facts.failing_since is None:
        return None
    own = [e for e in b.connector_audit.entries if e.principal in facts.s.self_principals]
    if not own:
        return None
    began = max(own, key=lambda e: e.timestamp)
    if deploy[0].create_time < began.timestamp <= facts.failing_since + timedelta(seconds=60):
        return began
    return None


def _own_update_competes(facts: Facts, c: Citation, began: LogRecord) -> Finding:
    """Runwarden's own update, begun between the deploy and the failures (`_own_update_before_failures`),
    not saturated, not ruled out: it competes with the deploy, so neither acts alone."""
    connector, suspect = facts.b.connector, facts.followed   # the deploy recent_deploy dated (Facts.followed)
    c.cite("log", facts.b.connector_audit.query,
           f"{began.method_name} by {began.principal} at {hms(began.timestamp)} (Runwarden's own); connector "
           f"{connector.short_name} UPDATING; {suspect.short_name} deployed at {hms(suspect.create_time)}; the first "
           f"failing minute began at {hms(facts.failing_since)}",
           "a change to the connector begun after the deploy and by the first failing minute competes with it",
           True, role="context")
    return c.doubt(f"connector {connector.short_name} is UPDATING: Runwarden's own change began at "
                   f"{hms(began.timestamp)}, after {suspect.short_name}'s deploy and by the time the failures began "
                   f"({hms(facts.failing_since)}); whether an update disturbs the traffic through a connector is not "
                   "known, and the revision before the deploy routes through the same connector",
                   f"let the update of connector {connector.short_name} finish and see whether the failures stop; "
                   "send traffic back by hand only if they go on and the deploy is the cause")


def _broken(facts: Facts, c: Citation) -> Finding:
    """A connector in ERROR ("manual deletion recommended", vpcaccess.v1 Connector.state) or DELETING
    while requests fail, with no saturation sign: not saturated, but not ruled out as the cause
    either. The path through it is broken for every revision that routes through it, so a deploy in
    the same minutes competes with it instead of being rolled back alone to a revision on the same
    connector. A deploy that moved the service onto it (the Ready revision before it routes
    elsewhere) is the deploy's own: sending traffic back leaves the connector."""
    connector = facts.b.connector
    whose = " (no audit entry says whose change it is)" if connector.state == "UPDATING" else ""
    why = (f"connector {connector.short_name} is {connector.state}{whose}: the path through it may be broken "
           "for every revision that routes through it")
    deploy = facts.recent_deploy()
    if deploy is not None and two_connectors(facts.b.service, deploy[1].vpc_connector, deploy[0].vpc_connector):
        before = deploy[1].vpc_connector or "no connector"
        return c.no(f"{why}; {deploy[0].short_name} moved the service onto it from {before}: the deploy's own")
    return c.doubt(why, f"repair connector {connector.short_name} or move the service off it; sending traffic back "
                        "to a revision on the same connector changes nothing")


# What a person checks when requests hang and the connector shows nothing but its instance count.
HANG_ELSEWHERE = ("find what the hanging requests wait for: the application's dial or read timeouts name the "
                  "destination (an internet host behind Cloud NAT with egress ALL_TRAFFIC: the NAT's ports per VM "
                  "and its OUT_OF_RESOURCES drops; the database: its slow queries and lock waits); raise the "
                  "connector's max instances only if its CPU or throughput shows it is the bottleneck")
# ... and when the 503s are answered at once with nothing failing to cross the connector.
OWN_503S = ("find what answers the 503s in the application's own logs (a readiness or health handler, an overload "
            "guard, its connection pool, or the instances' memory); raise the connector's max instances only if its "
            "CPU or throughput shows it is the bottleneck")


def _high_water_mark_alone(facts: Facts, c: Citation, stressed: list[str]) -> tuple[str, str]:
    """Why the connector is not shown to be the cause and where to look, or ("", ""): requests hang
    at a client timeout (no 503 share) and the connector's one sign is its instance count at max,
    while its CPU and throughput,
    both read, stay short of saturation. "Connectors don't scale in" (cloud.google.com/vpc/docs/
    serverless-vpc-access, Scaling): the count is a high-water mark of the traffic that scaled it out,
    not a measure of a bottleneck. And a hang at a client timeout is what any dependency that stops
    answering causes (an internet host whose packets Cloud NAT drops for want of ports, a database
    query waiting on a lock). The connector is not ruled out (a shared-core instance out of CPU
    credits shows little CPU), so it competes with any other cause, but alone it is not enough to act.
    So with a 503 share, when nothing shows a request failing to cross the connector: no hang and
    fewer than db_error_logs_min errors of reaching the database. A connector passes packets and
    answers nothing itself; a request the path fails waits (a dial or read timeout) or its
    application logs the failed dial. Fast 503s with neither are the application's own answers (a
    readiness handler, an overload guard), and a bigger connector changes none of them."""
    s = facts.s
    if len(stressed) != 1 or not stressed[0].startswith("at max"):
        return "", ""
    answered = facts.requests(facts.incident).share(code="503") >= s.status_ratio
    # The database's own refusals rule the connector out further on (`_database_answers`): an answer
    # proves the path works, which says more than this doubt.
    if answered and (hang_minutes(facts)[2] or _unreached(facts) >= s.db_error_logs_min or refusals(facts)):
        return "", ""
    cpu = facts.connector_cpu(facts.incident)
    rates = facts.connector_bytes(facts.incident)   # the larger of the two byte counters, as `_signs` judges
    ceiling = facts.connector_ceiling_mbps()
    if not (cpu and rates and ceiling):
        return "", ""
    mbps = max(rates) * 8 / 1e6
    if answered:
        c.cite("metric", query_of(facts.b.connector_instances, "connector/instances"),
               f"{stressed[0]} is the only sign, with CPU p99 max {max(cpu):.0%} and {mbps:.0f} of {ceiling:.0f} "
               f"Mbps; the 503s come without a hang and with {_unreached(facts)} errors of reaching the database",
               f"more than the instance count (CPU or throughput near saturation, a hang, or >= "
               f"{s.db_error_logs_min} errors of reaching the database) to act on 503s", False, role="context")
        return (f"connector {facts.b.connector.short_name} shows only its instance count at max ({stressed[0]}; CPU "
                f"p99 max {max(cpu):.0%}, {mbps:.0f} of {ceiling:.0f} Mbps), and nothing shows a request failing "
                "to cross it (no hang, no error of reaching the database): the 503s are answered without waiting, "
                "as the application's own are (a readiness or overload handler)"), OWN_503S
    c.cite("metric", query_of(facts.b.connector_instances, "connector/instances"),
           f"{stressed[0]} is the only sign, with CPU p99 max {max(cpu):.0%} and {mbps:.0f} of {ceiling:.0f} Mbps, "
           "and requests hang at a client timeout without 503s",
           "more than the instance count (CPU or throughput near saturation, or 503s) to act on a hang", False,
           role="context")
    return (f"requests hang at a client timeout, and connector {facts.b.connector.short_name} shows only its "
            f"instance count at max ({stressed[0]}; CPU p99 max {max(cpu):.0%}, {mbps:.0f} of {ceiling:.0f} Mbps): "
            "a high-water mark, not saturation; the hang may be any dependency's"), HANG_ELSEWHERE


# A request whose packets a saturated connector drops waits: TCP retransmits an unanswered SYN after
# its initial retransmission timeout of 1 s (RFC 6298, 2.1), and a dial or read timeout is longer.
# Failing minutes whose p99 stayed under this waited on nothing.
ANSWERED_AT_ONCE_SECONDS = 1.0


def _answered_at_once(facts: Facts, c: Citation, stressed: list[str]) -> tuple[str, str]:
    """Why the connector is not shown to be the cause and where to look, or ("", ""): the failures are
    503s answered at once (every failing minute's p99 under ANSWERED_AT_ONCE_SECONDS), with no hang,
    fewer than db_error_logs_min errors of reaching the database that are not a connection found
    closed, and no refusal, whatever the connector shows (its CPU or throughput too, not only its
    instance count: `_high_water_mark_alone`). A connector passes packets and answers nothing; one
    saturated drops them, and the requests that cross it wait (retransmits, dial and read timeouts:
    "causing timeouts", Cloud Run's VPC connector page). 503s answered at once are the application's
    own (a readiness or overload handler), and another service's traffic on a shared connector (a batch
    job) can saturate it in the same minutes: a bigger connector changes none of these 503s.

    An open connection found closed or broken at once (log_signals.closed_connection: "server closed
    the connection unexpectedly", "Connection terminated unexpectedly", MySQL's 2006 and 2013) waited
    on nothing either: its peer's FIN or RST came back at once, from the server (MySQL's wait_timeout
    after a quiet night, a restart) or from something on the path that forgot an idle flow. Stale
    pooled connections fail so on their first use; a saturated connector delays, it does not close.
    Such errors do not make the 503s the connector's. Nor does a dial refused at once (log_signals.refused_dial:
    "connect: connection refused", ECONNREFUSED at the database's address): a reset came back from the far end
    at once, where a saturated connector makes the dial wait. Not ruled out (it competes), not acted on alone."""
    s = facts.s
    if facts.requests(facts.incident).share(code="503") < s.status_ratio or facts.failing_window is None:
        return "", ""
    if hang_minutes(facts)[2] or refusals(facts):
        return "", ""
    failing = [v for at, v in facts.p99_by_minute(facts.failing_window) if at > facts.failing_since]
    if not failing or max(failing) >= ANSWERED_AT_ONCE_SECONDS:
        return "", ""
    unreached = _unreached(facts)
    closed = _closed(facts) if unreached >= s.db_error_logs_min else 0
    refused = _refused_dials(facts) if unreached - closed >= s.db_error_logs_min else 0
    if unreached - closed - refused >= s.db_error_logs_min:
        return "", ""
    stale = closed >= s.db_error_logs_min and closed >= refused
    answers = "; ".join(([f"{closed} of them an open connection found closed"] if closed else [])
                        + ([f"{refused} of them a dial refused"] if refused else []))
    c.cite("metric", facts.latencies_query,
           f"p99 max {latency(max(failing))} in the {len(failing)} failing minutes, no hang, "
           f"{unreached} errors of reaching the database" + (f" ({answers})" if answers else "")
           + f"; the connector shows {', '.join(stressed)}",
           f"a wait (p99 >= {ANSWERED_AT_ONCE_SECONDS:g} s, a hang, or >= {s.db_error_logs_min} errors of reaching "
           "the database" + (" other than " + " or ".join(["a connection found closed"] * bool(closed)
                                                          + ["a dial refused"] * bool(refused)) if answers else "")
           + ") for 503s to be the connector's", False, role="context")
    if refused >= s.db_error_logs_min and not stale:
        return (f"connector {facts.b.connector.short_name} shows {', '.join(stressed)}, but the 503s are answered at "
                f"once (p99 at most {latency(max(failing))} in the failing minutes) and the database errors say "
                f"that dials to it were refused ({refused}x): the far end answered them with a reset at once "
                "(nothing listening on that address and port), where a saturated connector drops packets and makes "
                "requests wait, whatever else crosses it", REFUSED_DIALS)
    if stale:
        return (f"connector {facts.b.connector.short_name} shows {', '.join(stressed)}, but the 503s are answered at "
                f"once (p99 at most {latency(max(failing))} in the failing minutes) and the database errors say "
                f"only that open connections were found closed ({closed}x): their peer closed or reset them at once "
                "(the server, or something on the path that forgot an idle flow), where a saturated connector makes "
                "requests wait; stale pooled connections fail so on their first use, whatever else crosses the "
                "connector", STALE_CONNECTIONS)
    return (f"connector {facts.b.connector.short_name} shows {', '.join(stressed)}, but the 503s are answered at "
            f"once (p99 at most {latency(max(failing))} in the failing minutes) and nothing shows a request "
            "failing to cross it (no hang, no error of reaching the database): a saturated connector makes requests "
            "wait; 503s answered at once are the application's own, whatever else crosses the connector (another "
            "service's job on a shared one)", OWN_503S)


# What a person checks when pooled connections are found closed at once.
STALE_CONNECTIONS = ("look at how the application's pool keeps idle connections: validate them before use (SQLAlchemy "
                     "pool_pre_ping, HikariCP's keepaliveTime, node-postgres idleTimeoutMillis) and retire them before "
                     "the server's or the path's idle timeout (MySQL wait_timeout; pool_recycle, maxLifetime), and at "
                     "the database's log for sessions it ended; raise the connector's max instances only if requests "
                     "wait to cross it")


# What a person checks when dials to the database are refused at once.
REFUSED_DIALS = ("look at what listens at the address and port the application dials: the Cloud SQL instance's state "
                 "and operations (a restart, a failover, maintenance, a stop), the port (5432 PostgreSQL, 3306 MySQL, "
                 "3307 the Cloud SQL connectors' server side), a proxy or pooler in front of the database; raise the "
                 "connector's max instances only if requests wait to cross it")


# What a person checks when the 503s are those of instances whose container's process exited: Cloud Run's
# system-log line when the container's process ends (CRASH_EXIT, read once as Facts.crashes; LogSignal.
# STARTUP_FAILURE's pattern of it, whose comment cites it: not 0, 130, 137 nor 143, the codes of an instance asked to
# stop). An instance whose process ends mid-request (a Go panic exits 2: golang/go src/runtime/panic.go,
# fatalpanic, exit(2); a fatal signal ends it) drops its requests in flight as Cloud Run's own 503
# ("either the HTTP response was malformed or connection to the instance had an error", the
# troubleshooting page's request-log text). The connector answers nothing and ends no process.
INSTANCES_CRASHED = ("look at the service's instances first: the application's last lines before Cloud Run's \"Container "
                     "called exit(N)\" or \"Container terminated on signal N.\" (a panic, a fatal signal, an abort, "
                     "an unhandled error) and the request that brought it; "
                     "roll back if a deploy brought the crash, and raise the connector's max instances only if "
                     "requests still fail to cross it once the instances stay up")


# What a person checks when the 503s are those of instances Cloud Run ended over their memory limit.
INSTANCES_FAILED = ("look at the service's instances first: Cloud Run's system log (\"Memory limit of N MiB "
                    "exceeded\", or \"Memory limit of NM exceeded\" in its older wording) and what holds their "
                    "memory (a request that loads a large result, a leak, more requests per instance); raise the "
                    "memory limit or lower the concurrency, and raise the connector's max instances only if "
                    "requests still fail to cross it once the instances stay up")

# Both at once (some instances over their memory, others crashed): one step that names both, so that neither is
# left to the look-next after a "first" (Finding.ended names both).
INSTANCES_FAILED_AND_CRASHED = (
    "look at the service's instances first: Cloud Run's system log (\"Memory limit of N MiB exceeded\", or \"Memory "
    "limit of NM exceeded\" in its older wording) and what holds their memory (a request that loads a large result, a "
    "leak, more requests per instance), and the application's last lines before Cloud Run's \"Container called "
    "exit(N)\" or \"Container terminated on signal N.\" (a panic, a fatal signal, an abort, an unhandled error) and "
    "the request that brought it; raise the memory limit or lower the concurrency, roll back if a deploy brought the "
    "crash, and raise the connector's max instances only if requests still fail to cross it once the instances stay up")


# What each advice above says of what ended the requests (Finding.ended), for the look-next to leave out.
_ENDED_BY_ADVICE = {INSTANCES_FAILED: frozenset({MEMORY}), INSTANCES_CRASHED: frozenset({CRASHES}),
                    INSTANCES_FAILED_AND_CRASHED: frozenset({MEMORY, CRASHES})}


def _instances_failed(facts: Facts, c: Citation, stressed: list[str]) -> tuple[str, str]:
    """Why the connector is not shown to be the cause and where to look, or ("", ""): Cloud Run ended
    instances over their memory limit, or their container's process exited (Facts.crashes: a panic, a fatal
    signal), or a crash's signal ended it (Facts.crashes: "Container terminated on signal 6.", an
    abort, where the process wrote no exit code), in the failing minutes (at least
    startup_failure_logs_min such system-log lines together; "Memory limit of N MiB exceeded", or "NM" in
    the older wording, quoted in the summary as the log wrote it: "Cloud Run instances that exceed their
    allowed memory limit are terminated", "Configure memory limits"; the requests in flight on them end
    as Cloud Run's own 503, "The request failed because either the HTTP response was malformed or
    connection to the instance had an error"), and nothing shows a request failing to cross the
    connector: no hang, no failing minute's p99 at hang_latency_seconds, fewer than db_error_logs_min
    errors of reaching the database, no refusal, fewer than db_error_logs_min HTTP calls timed out on a
    named host. A saturated connector makes the
    application wait on its dials and log them, then answer or reach the request timeout; Cloud Run
    ends an instance for its memory alone. Another service's job on a shared connector can saturate it
    in the same minutes: not ruled out (it competes: requests held up behind a slow path can pile up in
    memory too), never scaled alone on them.

    Cloud Run's own 503 text alone is not such a sign: its troubleshooting page names a downstream
    network bottleneck, a Serverless VPC Access connector's among them, as one of its causes
    (docs.cloud.google.com/run/docs/troubleshooting, the request log's texts), beside memory and a crashed or
    timed-out worker. So those lines are cited beside the memory limit, never in its place."""
    s = facts.s
    failing = facts.failing_window
    if failing is None or facts.requests(facts.incident).share(code="503") < s.status_ratio:
        return "", ""
    waited = any(v >= s.hang_latency_seconds for _, v in facts.p99_by_minute(failing))
    if (waited or hang_minutes(facts)[2] or _unreached(facts) >= s.db_error_logs_min or refusals(facts)
            or len(facts.log_matches(LogSignal.UPSTREAM_TIMEOUT)) >= s.db_error_logs_min):
        return "", ""
    killed = [e for e in facts.log_matches(LogSignal.MEMORY_LIMIT) if e.timestamp >= failing.start]
    exited, signalled = facts.crashes.exited, facts.crashes.signalled
    if len(killed) + len(exited) + len(signalled) < s.startup_failure_logs_min:
        return "", ""
    ended = _platform_503s(facts)
    observed = ", ".join(part for part in (
        # quoted in the unit the log wrote ("MiB", or "M" in the older wording: log_signals.MEMORY_LIMIT)
        ", ".join(f"{count}x \"{line}\"" for line, count in memory_limit_wordings(e.text for e in killed))
        + " (instances ended)" if killed else "",
        f"{len(exited)}x \"Container called exit(N)\" (the container's process ended: a crash, a panic)" if exited
        else "",
        _signals_words(signalled),
        f"{len(ended)}x Cloud Run's own 503 \"connection to the instance had an error\"" if ended else "") if part)
    c.cite("log", f"{SYSTEM_LOG}: {pattern_of(LogSignal.MEMORY_LIMIT)}"
           + (f"; {CRASH_EXIT}" if exited else "") + ("; Container terminated on signal N (N not 2, 9, 15)"
                                                            if signalled else ""),
           f"{observed} from {hms(failing.start)}; no hang, {_unreached(facts)} errors of reaching the database, "
           f"no refusal; the connector shows {', '.join(stressed)}",
           f"a request failing to cross the connector (a hang, >= {s.db_error_logs_min} errors of reaching the "
           "database) for the 503s of instances ended over their memory" + (" or exited" if exited else "")
           + (" or ended on a signal" if signalled else "") + " to be the connector's", False, role="context")
    how = ("instances ended over their memory limit or their container's process ended"
           if killed and (exited or signalled)
           else "Cloud Run ended instances over their memory limit" if killed
           else "the instances' container process exited (a crash: a panic, a segmentation fault, a worker killed)"
           if not signalled
           else "the instances' container process ended on a signal (a crash: an abort, a segmentation fault)"
           if not exited
           else "the instances' container process exited or ended on a signal (a crash: a panic, an abort)")
    return (f"connector {facts.b.connector.short_name} shows {', '.join(stressed)}, but {how} while the requests "
            f"failed ({observed}) and nothing shows a request failing "
            "to cross the connector (no hang, no error of reaching the database): their requests in flight end as "
            "503s whatever the connector does, and whatever else crosses it (another service's job on a shared "
            "one) changes none of them",
            INSTANCES_FAILED_AND_CRASHED if killed and (exited or signalled) else INSTANCES_FAILED if killed
            else INSTANCES_CRASHED)


def _signals_words(signalled: Sequence[tuple[LogRecord, int]]) -> str:
    """How many lines named each signal, as Cloud Run wrote them ('2x "Container terminated on signal 6."'),
    naming the process as ended on a signal; "" for none."""
    counts = Counter(n for _, n in signalled)
    return (", ".join(f"{count}x \"Container terminated on signal {n}.\"" for n, count in sorted(counts.items()))
            + " (instances ended)") if counts else ""


# Cloud Run's request-log words for a request it failed because no instance could start for it (the
# troubleshooting page's texts, log_signals.PLATFORM_REQUEST_TEXTS: "The request failed because the instance
# could not start successfully.", "... the instance failed the readiness check"), read among LogSignal.
# STARTUP_FAILURE's lines.
_NOT_STARTED = re.compile(r"could not start successfully|instance failed the readiness check", re.IGNORECASE)


def _secret_not_fetched(facts: Facts, c: Citation, stressed: list[str]) -> str:
    """Why the connector is ruled out, or "": the failing requests are Cloud Run's own answers for want of an
    instance that could start (`_NOT_STARTED`, in the request log: at least db_error_logs_min, Facts.
    logged_enough), Cloud Run's system log says it could not fetch a revision's secret for the instances it
    started (LogSignal.SECRET_FAILURE in varlog/system, at least startup_failure_logs_min: "Could not fetch
    secret ... Instance startup will now abort: Secret Version [...] is in DESTROYED state", "Permission denied
    on secret ... for Revision service account"), those answers are most of the failing requests, compared
    like with like (platform_share: among the request log's lines with a 5xx status, or, the answers' read
    holding the window whole, against request_count's 5xx, or, that read cut short, against request_count's 5xx
    over the whole minutes after its oldest entry; not known, the connector stays in the running; the system
    log's lines count aborted starts, not requests, and never measure the share),
    and nothing shows a request failing to cross the connector: no failing minute's p99 at
    hang_latency_seconds, fewer than db_error_logs_min lines of a wait on any path (`_waits_logged`), no
    refusal. Before the share was asked, five such answers beside hundreds of other 503s in the same minutes
    ruled a saturated shared connector out of what the person was told competes.

    Cloud Run reads a revision's secrets exposed as environment variables itself when it starts an instance,
    before the container runs (Cloud Run's "Configure secrets for services" page: a secret mounted as a volume
    is fetched when read instead, with no check at start; the system log then holds no such line). Its words,
    as encoredev/encore issue #2202 quotes a production log: "Could not fetch secret \"projects/.../versions/243\"
    for environment variable \"...\". Instance startup will now abort: Secret Version [...] is in DESTROYED
    state." then "The request failed because the instance could not start successfully.". The "Permission denied
    on secret ... for Revision service account" form is Cloud Run's deploy-time refusal; that it is logged in
    the same way at an instance's start after the binding is removed is UNCONFIRMED. The container never ran, so nothing it would send
    crossed the connector, and no connector change gives it its secret. Requests that waited for such an
    instance end as Cloud Run's own answer at the latency Cloud Run gave up at. The application's own read of
    a secret (the client library's PERMISSION_DENIED on stderr) is not such a line: it may cross the connector
    (ALL_TRAFFIC egress), so only the system log's lines are read. Requests on warm instances held by a
    saturated connector log their waits or hang, and the connector's case is then judged as before."""
    s = facts.s
    failing = facts.failing_window
    if failing is None or facts.b.logs is None or refusals(facts):
        return ""
    if any(v >= s.hang_latency_seconds for _, v in facts.p99_by_minute(failing)):
        return ""
    started = [e for e in facts.log_matches(LogSignal.STARTUP_FAILURE)
               if e.log_id == REQUEST_LOG and e.timestamp >= failing.start]
    said = per_text(lambda text: _NOT_STARTED.search(text) is not None, started)
    turned_away = [e for e in started if said[e.text]]
    unfetched = [e for e in facts.log_matches(LogSignal.SECRET_FAILURE)
                 if e.log_id == SYSTEM_LOG and e.timestamp >= failing.start]
    if not facts.logged_enough(turned_away) or len(unfetched) < s.startup_failure_logs_min:
        return ""
    share = platform_share(facts, turned_away, _NOT_STARTED, failing)
    if share is None or not share.most:
        return ""
    waits = _waits_logged(facts)
    if facts.logged_enough(waits):
        return ""
    c.cite("log", f"{REQUEST_LOG}: {_NOT_STARTED.pattern}; {SYSTEM_LOG}: {pattern_of(LogSignal.SECRET_FAILURE)}",
           f"{len(turned_away)}x Cloud Run's own answer for an instance that could not start, {len(unfetched)}x its "
           f"system log's secret not fetched (e.g. {excerpt(unfetched[0].text)!r}) from {hms(failing.start)}; "
           f"{share.words}; {len(waits)} lines of a wait on any path, no hang; the connector shows "
           f"{', '.join(stressed)}",
           f"a request failing to cross the connector (a hang, >= {s.db_error_logs_min} lines of a wait), or fewer "
           "than most of the 5xx Cloud Run's own answers, for the failures of instances that never started to be "
           "the connector's", False, role="refutes")
    return (f"connector {facts.b.connector.short_name} shows {', '.join(stressed)}, but the failing requests are Cloud "
            f"Run's own answers for instances that could not start ({len(turned_away)}x; {share.words}), whose secret "
            "Cloud Run could "
            f"not fetch ({len(unfetched)}x in its system log): it reads a revision's secret environment variables "
            "before the container "
            "runs, so nothing crossed the connector, and nothing shows a request failing to cross it (no hang, "
            f"{len(waits)} lines of a wait on any path): scaling it gives no instance its secret")


# What a person checks when Cloud Run shut instances down after their liveness probe failed.
INSTANCES_UNRESPONSIVE = ("look at the service's instances first: what kept them from answering their liveness probe "
                          "(an event loop blocked by CPU-bound work, a deadlock, a lock held, or a dependency the "
                          "probe's route checks) in the application's last lines before Cloud Run's \"LIVENESS ... "
                          "probe failed ... The instance has been shut down.\"; roll back if a deploy brought it, and "
                          "raise the connector's max instances only if requests still fail to cross it once the "
                          "instances stay up")


def _instances_unresponsive(facts: Facts, c: Citation, stressed: list[str]) -> str:
    """Why the connector is not shown to be the cause, or "": Cloud Run shut instances down after their
    liveness probe failed (at least startup_failure_logs_min system-log lines of LogSignal.
    LIVENESS_SHUTDOWN in the failing minutes), and nothing shows a request failing to cross the
    connector: fewer than db_error_logs_min errors of reaching the database, no refusal, fewer than
    db_error_logs_min HTTP calls timed out on a named host.

    A liveness probe is Cloud Run's own call into the container, on its own port: it crosses no
    connector. It fails when the instance stops answering ("catching a deadlock where a service is
    running, but is unable to make progress", Cloud Run, "Configure container health checks for
    services"): an event loop blocked, a lock never released. The requests in flight on that instance
    waited, then end as Cloud Run's own 503 when it is shut down, so a hang is no sign against this, as
    it is against a memory kill (`_instances_failed`). A liveness route that checks the database through
    a saturated connector fails with it, but the application's requests then log the dials that failed
    (at least db_error_logs_min), and the connector's case stands. Not ruled out (an application that
    logs nothing of its waits is not excluded): it competes, and is never scaled alone."""
    s = facts.s
    failing = facts.failing_window
    if failing is None:
        return ""
    shut = [e for e in facts.log_matches(LogSignal.LIVENESS_SHUTDOWN) if e.timestamp >= failing.start]
    if len(shut) < s.startup_failure_logs_min:
        return ""
    unreached, timed_out = _unreached(facts), len(facts.log_matches(LogSignal.UPSTREAM_TIMEOUT))
    if unreached >= s.db_error_logs_min or refusals(facts) or timed_out >= s.db_error_logs_min:
        return ""
    c.cite("log", f"{SYSTEM_LOG}: {pattern_of(LogSignal.LIVENESS_SHUTDOWN)}",
           f"{len(shut)}x instances shut down after their liveness probe failed from {hms(failing.start)}, e.g. "
           f"{excerpt(shut[0].text)!r}; {unreached} errors of reaching the database, {timed_out} HTTP calls timed out, "
           f"no refusal; the connector shows {', '.join(stressed)}",
           f"a request failing to cross the connector (>= {s.db_error_logs_min} errors of reaching the database or "
           "HTTP calls timed out) for the 503s of instances shut down by their liveness probe to be the connector's",
           False, role="context")
    return (f"connector {facts.b.connector.short_name} shows {', '.join(stressed)}, but Cloud Run shut instances "
            f"down after their liveness probe failed ({len(shut)}x, e.g. {excerpt(shut[0].text, limit=120)!r}) while the requests "
            f"failed, and nothing shows a request failing to cross the connector ({unreached} errors of reaching the "
            "database, no refusal): the probe is Cloud Run's own call into the instance, which crosses no "
            "connector; the requests in flight on an instance that stopped answering wait, then end as 503s")


# What a person checks when the serving revision was at its max instances while its requests hung.
WAITING_FOR_AN_INSTANCE = ("compare the revision's request latency with its instances against max instances and "
                           "its requests per instance: requests queued for a free instance need more instances "
                           "(or more requests per instance); raise the connector only if its own signs persist "
                           "with instances to spare")


def _waiting_for_an_instance(facts: Facts, c: Citation) -> str:
    """Why the hang is not shown to be the connector's, or "": the symptom is a hang alone (no 503
    share at status_ratio), and the revision the incident followed (Facts.followed) was at its max
    instances in the incident window (its own max_instance_count, unset Cloud Run's 100, or the service-level one reached by the
    serving revisions together: `_limit_reached`). There, requests wait in Cloud Run for a free instance
    ("each revision is automatically scaled to the number of instances needed to handle all
    incoming requests", up to its max instances; docs "About concurrency", "Configure maximum
    instances"), and their latency includes the wait: with one request per instance, every
    request in flight holds an instance. A slow connector keeps instances busy longer too, so
    either can be the cause; scaling the connector alone is a guess, and a person decides."""
    s, b = facts.s, facts.b
    requests = facts.requests(facts.incident)
    if requests.total >= s.min_requests and requests.share(code="503") >= s.status_ratio:
        return ""
    revision = facts.followed   # its limits, not those of a fix made since the incident began
    if revision is None:
        return ""
    reached = _limit_reached(facts, revision)
    if reached is None:
        return ""   # instances to spare (or none read): judged as before, nothing added to cite
    limit, seen, what = reached
    c.cite("metric", query_of(b.instances, "container/instance_count"), f"max {seen:.0f} instances {facts.incident}",
           f"< {what}: instances to spare, so requests are not shown waiting for one", False)
    order = ceilings_order(facts)
    if order is not None and order.lead is Lead.CONNECTOR:
        # The connector's ceiling came first and the requests hung on it: the instances filled because they hung.
        c.items.append(order.item)
        return ""
    per_instance = requests_per_instance(revision)
    return (f"{revision.short_name} was at its max instances ({seen:.0f} of {limit}, {per_instance} requests per "
            "instance) while its requests hung: they may be waiting in Cloud Run for a free instance, which a "
            "busy connector does not explain alone")


def _limit_reached(facts: Facts, revision: Revision) -> tuple[int, float, str] | None:
    """(the limit, the instances seen, which limit in words) for the first limit the newest serving revision
    reached in the incident window: its own max_instance_count (unset: Cloud Run's default of 100), then the
    service-level one against the serving revisions together; None when it had instances to spare under both
    (or none were read). Both are asked: Google's server answers an unset revision max with 100
    (RevisionScaling.max_instance_count, "When unspecified, the field is set to the server default value of
    100", vendor_settings.proto), so a revision's own 100 says nothing of whether a lower service-level max
    was set, and an unset one read as 0 is the same 100 (rules/target_capacity.py)."""
    own = revision.max_instance_count or DEFAULT_MAX_INSTANCES
    said = (f"{revision.short_name}'s max_instance_count {own}" if revision.max_instance_count
            else f"{revision.short_name}'s max instances, Cloud Run's default of {own} (unset)")
    checks = [(own, facts.max_instances_seen(facts.incident, revision.short_name), said)]
    shared = facts.b.service.max_instance_count
    if shared:
        serving = [r.short_name for r in facts.serving]
        checks.append((shared, facts.max_total_instances_seen(facts.incident, serving),
                       f"the service-level max_instance_count {shared} (Service.scaling)"))
    return next(((limit, seen, what) for limit, seen, what in checks if seen is not None and seen >= limit), None)


# What a person checks when one revision fails and another serves cleanly through the same connector.
CLEAN_PEER = ("compare what the failing revision does that the clean one does not (its code paths, its pool and "
              "timeouts, its instances' memory); raise the connector's max instances only if the revision that "
              "serves cleanly starts failing too")


def _clean_peer(facts: Facts, c: Citation, stressed: list[str]) -> str:
    """Why the connector is not shown to be the cause, or "", when the serving revisions split the
    traffic (a canary, a gradual rollout) and the failing ones are not all it carries alike: another
    serving revision that routes through the same connector served cleanly in the failing minutes
    (at least min_requests requests, a 5xx-and-429 share at most healthy_error_ratio, its p99 under
    hang_latency_seconds in every minute) while another failed, or no failing revision routes through
    it at all (the connector read is the newest serving revision's; an older one may route through
    another). A saturated connector (CPU-bound, at its throughput) delays or drops the packets of
    every revision that crosses it alike: a revision it carries cleanly in the same minutes says the
    failures are the failing revision's own. Not ruled out (it competes), not acted on alone."""
    s, window = facts.s, facts.failing_window
    connector, service = facts.b.connector.name, facts.b.service
    if window is None or len(facts.serving) < 2:
        return ""
    clean, failing = [], []
    for revision in facts.serving:
        counts = facts.requests(window, revision.short_name)
        p99 = max(revision_p99(facts, window, revision.short_name), default=None)
        if counts.total < s.min_requests:
            continue
        judged = (revision, counts, p99 or 0.0)
        if served_cleanly(counts.total, counts.refused_ratio, p99, s):
            clean.append(judged)
        elif counts.refused_ratio >= s.status_ratio or (p99 is not None and p99 >= s.hang_latency_seconds):
            failing.append(judged)
    # A clean revision naming the connector by a project number that may be its project's (names_connector MAYBE)
    # counts as one through it: it only holds the scale back. A failing one is elsewhere only when it is NO.
    clean = [j for j in clean if names_connector(service, j[0].vpc_connector, connector) is not Naming.NO]
    if not clean or not failing:
        return ""
    (peer, counts, p99), (bad, bad_counts, bad_p99) = clean[0], failing[0]
    elsewhere = all(names_connector(service, j[0].vpc_connector, connector) is Naming.NO for j in failing)
    maybe = names_connector(service, peer.vpc_connector, connector) is Naming.MAYBE
    through = (f"through {peer.vpc_connector}, by a project number that may be {facts.b.connector.short_name}'s"
               if maybe else f"through {facts.b.connector.short_name}")
    c.cite("metric", f"{facts.requests_query}; {facts.latencies_query}",
           f"{peer.short_name} ({through}) served {counts.total:.0f} requests, "
           f"{pct(counts.refused_ratio)} 5xx or 429, p99 max {latency(p99)}; {bad.short_name} (through "
           f"{short_name(bad.vpc_connector) if bad.vpc_connector else 'no connector'}) "
           f"{pct(bad_counts.refused_ratio)} 5xx or 429, p99 max {latency(bad_p99)}, in {window}",
           f"every serving revision on the connector failing (a revision with >= {s.min_requests} requests at most "
           f"{s.healthy_error_ratio:.0%} 5xx or 429 and p99 under {s.hang_latency_seconds:g} s rules it out)", False,
           role="refutes")
    return (f"connector {facts.b.connector.short_name} shows {', '.join(stressed)}, but {peer.short_name} served "
            f"{counts.total:.0f} requests through it{' (named by a project number that may be its)' if maybe else ''}"
            f" cleanly in the failing minutes ({pct(counts.refused_ratio)} 5xx "
            f"or 429, p99 max {latency(p99)}) while {bad.short_name} failed"
            + (", and no failing revision routes through it" if elsewhere else
               ": a saturated connector fails every revision that crosses it alike")
            + f", so the failures are {bad.short_name}'s own")


def _deploy_moved_onto(facts: Facts, c: Citation) -> str:
    """Why the connector's saturation is the deploy's own, or "": the newest serving revision,
    deployed within deploy_window_seconds, routes through this connector while the Ready revision
    before it reached its VPC another way (another connector, Direct VPC egress, none). The path is
    the revision's own (vpc_access), so sending traffic back leaves this connector and restores the
    path that served before the deploy (bad_revision judges the deploy), as for a broken connector
    (`_broken`). An egress change on the same connector is not this: the revision before crosses it
    too, so the two compete."""
    deploy = facts.recent_deploy()
    if deploy is None:
        return ""
    suspect, previous, _ = deploy
    if not two_connectors(facts.b.service, previous.vpc_connector, suspect.vpc_connector):
        return ""   # one connector, or one maybe by two spellings (connector_names.two_connectors)
    changed = path_changed(previous, suspect)
    c.cite("api", "run.revisions.list: vpc_access (connector, egress, network_interfaces)",
           f"{suspect.short_name} changed the path to its VPC {changed} (against {previous.short_name})",
           "a connector the revision before the deploy did not route through", False)
    return (f"connector {facts.b.connector.short_name} is saturated, but {suspect.short_name}'s deploy moved the "
            f"service onto it ({changed}): sending traffic back to {previous.short_name} leaves it, so the "
            "saturation is the deploy's own (bad_revision)")


def _unreached(facts: Facts) -> int:
    """Errors of reaching the database in the logs (a dial timeout, a reset, a pool wait), less the
    refusals and the failed name lookups (which dialled nothing: `_names_not_resolved` reads them).
    Errors that never left the instance are counted (`_never_left` has ruled the connector out before
    any check asks, when they are the story). Facts.db_unreached, counted once per diagnosis."""
    return facts.db_unreached


def _never_left(facts: Facts, c: Citation, stressed: list[str]) -> tuple[str, bool]:
    """Why the connector's saturation explains none of the errors of reaching the database, and whether
    requests hang besides, or ("", False): at least db_error_logs_min of them never left the service's
    instance and fewer than db_error_logs_min others (errors of reaching it, waits for a pooled
    connection) may have crossed it (rules/never_left.py). A dial to loopback that nothing answers, a
    socket file that is not there, a socket the process could not make: no packet of theirs reached
    the connector, so a bigger connector changes nothing on their path. Requests that hang besides
    wait on something those errors do not show (the connector among the suspects): then it competes."""
    found = only_never_left(facts)
    if not found:
        return "", False
    s = facts.s
    hung = hang_minutes(facts)[2]
    others = max(0, _unreached(facts) - sum(map(len, found.values())))
    pooled = len(facts.database_lines(LogSignal.DB_POOL_WAIT))
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CONNECTION)}",
           f"{never_left_observed(found)}; {others} other errors of reaching the database, {pooled} "
           "waits for a pooled connection",
           f">= {s.db_error_logs_min} errors of reaching the database that may have crossed the connector (not a "
           "refused dial to loopback, a missing socket, a process out of file descriptors)", False)
    kinds = "; ".join(found)
    return (f"the errors of reaching the database never left the service's instances ({kinds}): none of them "
            f"crossed connector {facts.b.connector.short_name}, so its saturation ({', '.join(stressed)}) does not "
            "explain them and scaling it changes nothing on their path"
            + ("; but requests also hang, on something those errors do not show" if hung else "")), hung


# What a person checks when a Cloud SQL connector's refreshes failed (log_signals.refresh_failed).
REFRESHES_FAILED = ("check the Cloud SQL connector's calls to the Cloud SQL Admin API (connectSettings, "
                    "generateEphemeralCert) that failed: the revision's service account's roles/cloudsql.client on the "
                    "instance's project, the Cloud SQL Admin API enabled there, its quota (the Quotas page, "
                    "sqladmin.googleapis.com), and whether sqladmin.googleapis.com is reachable from the service (under "
                    "egress ALL_TRAFFIC its calls cross the connector and need Private Google Access or Cloud NAT past "
                    "it); a bigger connector changes none of those")


def _refreshes_failed(facts: Facts, c: Citation) -> str:
    """Why the connector is not acted on, or "": at least db_error_logs_min of the errors of reaching the
    database are a Cloud SQL connector's refresh that failed (log_signals.refresh_failed: the Java
    connector's "Failed to create ephemeral certificate" / "Failed to update metadata", the Go connector's
    and Auth Proxy v2's "Refresh error: ..."), and fewer than db_error_logs_min others are left. A refresh
    is the connector library's calls to the Cloud SQL Admin API, made before any dial to the instance (the
    Python connector's aiohttp "Cannot connect to host sqladmin.googleapis.com:443", asyncio's TimeoutError
    under its and aiohttp's frames and aiohttp's ConnectionTimeoutError on its Admin API URLs, the Node.js
    connector's CloudSQLConnectorErrors and node-fetch's error on its Admin API URLs, too): an
    IAM, API or quota matter (or the way to sqladmin.googleapis.com), never the connector's capacity for
    the database's traffic. Not ruled out (the connector may still carry the API's calls under egress
    ALL_TRAFFIC), never acted on: a person looks, the refresh named. With enough other errors beside them
    (dials that timed out) the rule goes on and judges those under its usual bars."""
    s = facts.s
    lines = _unreached_lines(facts)
    if len(lines) < s.db_error_logs_min:
        return ""
    refreshes: list[LogRecord] = []
    others = 0
    refresh: dict[str, bool] = {}   # each distinct text read once (log_signals.per_text's reason)
    for e in lines:   # stops at the db_error_logs_min-th error that is not a refresh: most reads end at once
        if e.text not in refresh:
            refresh[e.text] = refresh_failed(e.text)
        if refresh[e.text]:
            refreshes.append(e)
        else:
            others += 1
            if others >= s.db_error_logs_min:
                return ""
    if len(refreshes) < s.db_error_logs_min:
        return ""
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CONNECTION)}",
           f"{len(refreshes)} Cloud SQL connector refreshes failed (Admin API calls, before any dial), e.g. "
           f"{excerpt(refreshes[0].text)!r}; {others} other errors of reaching the database",
           f">= {s.db_error_logs_min} errors of reaching the database that are not a connector's refresh failing",
           False, role="refutes")
    return (f"the Cloud SQL connector's refreshes failed ({len(refreshes)} errors: its calls to the Cloud SQL Admin "
            "API for the instance's connect settings and ephemeral certificate, made before any dial to the "
            f"database): an IAM (roles/cloudsql.client), Admin API or quota matter, or the way to "
            f"sqladmin.googleapis.com ({_admin_api_path(facts)}), not connector {facts.b.connector.short_name}'s "
            "capacity for the database's traffic, so scaling it is not the fix")


def _admin_api_path(facts: Facts) -> str:
    """Which way the serving revisions' calls to sqladmin.googleapis.com go, by their egress (facts.egress_of).
    Under ALL_TRAFFIC "All outbound traffic is routed through the VPC connector" (Cloud Run Admin API v2,
    VpcAccess.VpcEgress: google-cloud-run's google/cloud/run_v2/types/vendor_settings.py docstring), so they
    cross it and need Private Google Access on its subnet or Cloud NAT past it; under PRIVATE_RANGES_ONLY
    ("Only private IP ranges are routed through the VPC connector") they leave by Cloud Run's own egress,
    unless a Private Service Connect endpoint gives the API's name an internal address (UNCONFIRMED that
    every connector library follows that DNS). Only the words of the escalation depend on it."""
    egresses = {egress_of(r) for r in facts.serving if r.vpc_connector}
    if egresses == {"ALL_TRAFFIC"}:
        return (f"under egress ALL_TRAFFIC the calls cross connector {facts.b.connector.short_name}: Private Google "
                "Access on its subnet or Cloud NAT past it")
    if egresses == {"PRIVATE_RANGES_ONLY"}:
        return "under egress PRIVATE_RANGES_ONLY the calls leave by Cloud Run's own egress, not the connector"
    return "Private Google Access or Cloud NAT under egress ALL_TRAFFIC"


def _unreached_lines(facts: Facts) -> list[LogRecord]:
    """The errors of reaching the database `_unreached` counts, the lines themselves (Facts.db_unreached_lines)."""
    return facts.db_unreached_lines


def _path_waits(facts: Facts) -> tuple[int, int]:
    """(errors of reaching the database, waits for a pooled connection): what a request logs when it waited
    on the database path; together at db_error_logs_min or more, a wait there is shown."""
    return _unreached(facts), len(facts.database_lines(LogSignal.DB_POOL_WAIT))


def _closed(facts: Facts) -> int:
    """How many of the errors of reaching the database (`_unreached`) say only that an open connection
    was found closed or broken (log_signals.closed_connection): no wait, no failed dial. Facts.db_closed,
    counted once per diagnosis, and only where asked (`_answered_at_once`, past its cheaper checks)."""
    return facts.db_closed


def _refused_dials(facts: Facts) -> int:
    """How many of the errors of reaching the database (`_unreached`) say only that a dial to an address
    other than loopback was refused at once (log_signals.refused_dial): an answer, no wait.
    Facts.db_refused_dials, counted once per diagnosis, and only where asked (`_answered_at_once`)."""
    return facts.db_refused_dials


def _unread(facts: Facts) -> list[str]:
    """The connector's metrics, when none of them was read (else []): the signs are unknown."""
    b = facts.b
    results = {"connector/instances": b.connector_instances, "connector/cpu/utilizations": b.connector_cpu,
               "connector/received_bytes_count": b.connector_bytes,
               "connector/sent_bytes_count": b.connector_sent_bytes}
    return list(results) if all(r is None for r in results.values()) else []


def _silent(facts: Facts) -> bool:
    """Whether none of the connector's metrics has a point in the incident window (read or not)."""
    b, window = facts.b, facts.incident
    return not any(facts.connector_values(r, window) for r in (b.connector_instances, b.connector_cpu,
                                                                b.connector_bytes, b.connector_sent_bytes))


def _symptom(facts: Facts, c: Citation) -> bool:
    s = facts.s
    requests = facts.requests(facts.incident)
    share_503 = requests.share(code="503")
    query = facts.requests_query
    c.cite("metric", query, f"{requests.by_code.get('503', 0):.0f} of {requests.total:.0f} requests 503 "
           f"({pct(share_503)}) {facts.incident}", f">= {s.status_ratio:.0%} 503",
           requests.total >= s.min_requests and share_503 >= s.status_ratio, role=either(
               requests.total >= s.min_requests and share_503 >= s.status_ratio))
    hang = _hang(facts, c) or _cut_at_timeout(facts, c)
    texts = facts.log_matches(LogSignal.CONNECTOR_503)
    if texts:
        c.cite("log", f"run.googleapis.com logs: {pattern_of(LogSignal.CONNECTOR_503)}",
               f"{len(texts)} entries", "context", None)
    return (requests.total >= s.min_requests and share_503 >= s.status_ratio) or hang


# What a person checks when the dials that timed out name no address the connector is known to carry.
DIALS_UNPLACED = ("find the address the application dials (its connection settings, a secret's DSN) and whether it is "
                  "in a private range the connector carries; scale the connector only if it is, and its signs "
                  "rose with the failures")


def _dials_timed_out(facts: Facts, c: Citation, revision) -> DialPath | None:
    """The path of the database dials that timed out, when they are the symptom: no 503 share and no
    hang (`_symptom`), but at least status_ratio of the requests 5xx (a framework answers a driver's
    connect timeout as 500, a proxy as 502, at the connect timeout: under hang_latency_seconds), and at
    least db_error_logs_min errors of reaching the database in the failing minutes whose text says a
    new connection's dial timed out (log_signals.dial_timed_out). A saturated connector drops the
    packets it cannot forward: a dial waits out the driver's connect timeout, as through a firewall
    that drops them or to a server that is down (the rules after this tell those apart). None when
    there is no such symptom."""
    s = facts.s
    requests = facts.requests(facts.incident)
    share = requests.share(code_class="5xx")
    if requests.total < s.min_requests or share < s.status_ratio:
        return None
    unreached = _unreached_lines(facts)
    timed_out = per_text(dial_timed_out, unreached)
    lines = [e for e in unreached if timed_out[e.text]]
    if len(lines) < s.db_error_logs_min:
        return None
    path = dial_path(dict.fromkeys(e.text for e in lines), revision.env_values if revision else (),
                     egress_of(revision) if revision else "")
    where = (f"to {', '.join(path.addresses)} (read from {path.read_from})" if path.addresses
             else "naming no address")
    p99 = facts.p99_seconds(facts.failing_window or facts.incident)
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CONNECTION)}",
           f"{len(lines)} database dials timed out {where}, e.g. {excerpt(lines[0].text)!r}; {pct(share)} of "
           f"{requests.total:.0f} requests 5xx, p99 max {latency(max(p99, default=0))}",
           f">= {s.db_error_logs_min} dials timed out to an address that crosses the connector (a private one "
           f"under PRIVATE_RANGES_ONLY, any under ALL_TRAFFIC), with >= {s.status_ratio:.0%} 5xx",
           path.crosses is True, role="supports" if path.crosses else "refutes" if path.crosses is False else "context")
    return path


# What a person checks when the dials timed out before the connector showed any sign.
DIALS_BEFORE_STRESS = ("find where the dials' packets are dropped (firewall rules and routes from the connector's "
                       "range to the database's address, the database's own state); the connector's load rose after "
                       "the failures began, as the application's retries raise it")


# What a person checks when 503s or hangs began before the connector showed any sign.
SIGNS_AFTER_ONSET = ("find what began the failures (the database's own state and logs, the path past the connector, "
                     "the application); the connector's load rose after the failures began, as retried requests "
                     "raise it: scale it only if its signs stay once that cause is mended")


def _dials_before_the_stress(facts: Facts, c: Citation, stressed: list[str], dialled: bool = True) -> str:
    """Why failures are not put on the connector when its signs rose only after they began (none held from
    FAILING_LEAD before the sustained failure's first minute to twice that after it, nor near its bar there and
    rising, connector_signs.held_at_onset): a cause comes before its effect, and an application whose dials time
    out, or whose requests fail and are retried, loads the connector. `dialled`: the symptom is database dials
    that timed out (else 503s or hangs at a client timeout). Not ruled out (it competes), never acted on alone."""
    since = hms(facts.sustained_since) if facts.sustained_since else "-"
    what = "the database dials time out" if dialled else "the requests fail"
    c.cite("metric", query_of(facts.b.connector_instances, "connector/instances"),
           f"{', '.join(stressed)} only later than the failures' onset ({since})",
           f"a sign at the onset of the {'dials that timed out' if dialled else 'failures'}, or within "
           f"{1 - NEAR_BAR:.0%} of its bar there and crossing it later (from 2 min before the first minute of the "
           f"sustained failure, gaps of up to {SUSTAINED_GAP.seconds // 60} clean minutes, to 4 min into it)",
           False, role="refutes")
    where = "the drops began elsewhere on the path" if dialled else "the failures began elsewhere"
    return (f"{what} from {since}, but connector {facts.b.connector.short_name}'s signs "
            f"({', '.join(stressed)}) rose only minutes later: its load followed the failures (retries), so "
            f"{where}")


def _rose_after_the_onset(facts: Facts, stressed: list[str]) -> bool:
    """Whether 503s or hangs, with nothing more particular to explain them (the checks before this one), began
    inside the incident window (a minute of it read before the sustained failure's first one, Facts.sustained_since:
    their onset seen, and not a lone early minute that cleared again) while no sign of the connector held at that
    onset, nor was near its bar and rising (connector_signs.held_at_onset): its signs rose only later, as failing
    requests retried load it. The symptom of dials that timed out is read so before the other checks."""
    since = facts.sustained_since
    return since is not None and since > facts.incident.start and held_at_onset(facts, stressed) is False


def _dials_words(facts: Facts, path: DialPath) -> str:
    """The dials a finding rests on, in its summary."""
    return (f"; the database dials time out ({', '.join(path.addresses) or 'every address, egress ALL_TRAFFIC'}) "
            f"and {pct(facts.requests(facts.incident).share(code_class='5xx'))} of the requests answer 5xx")


def _dials_beside_a_high_water_mark(facts: Facts, c: Citation, sign: str) -> str:
    """Why dials that timed out are not put on the connector when its one sign is its instance count
    at max: connectors don't scale in, so the count is a high-water mark (`_high_water_mark_alone`),
    and a dial that times out is what any drop on the path causes (a firewall, a server that is down)."""
    c.cite("metric", query_of(facts.b.connector_instances, "connector/instances"),
           f"{sign} is the only sign while the database dials time out",
           "CPU or throughput near saturation to act on dials that time out", False, role="context")
    return (f"the database dials time out, and connector {facts.b.connector.short_name} shows only its instance "
            f"count at max ({sign}): a high-water mark, not saturation; the drops may be anywhere on the path")


def _deploy_brought_dialled(facts: Facts, c: Citation, path: DialPath) -> str:
    """Why the dials that time out are the deploy's, or "": the newest revision, deployed within
    deploy_window_seconds, names in its plain env every address the dials time out on, and the Ready
    revision before it named none of them (env_hosts.deploy_brought): the deploy changed where the
    application connects, so sending traffic back restores the host that answered (bad_revision)."""
    deploy = facts.recent_deploy()
    if deploy is None or not path.addresses:
        return ""
    suspect, previous, _ = deploy
    if not deploy_brought(path.addresses, suspect.env_values, previous.env_values):
        return ""
    c.cite("api", "run.revisions.list: containers[].env[].value",
           f"{suspect.short_name} names {', '.join(path.addresses)}, which {previous.short_name} did not",
           "dials that time out on an address the revision before the deploy also used", False)
    return (f"the database dials time out on {', '.join(path.addresses)}, an address {suspect.short_name}'s deploy "
            f"brought (against {previous.short_name}): the deploy changed where the application connects, so the "
            "connector's saturation does not explain them (bad_revision)")


def _dials_public(facts: Facts, path: DialPath) -> str:
    """Why dials that timed out to public addresses under PRIVATE_RANGES_ONLY are not the connector's:
    they never cross it (`dial_path`), whether the lines or the revision's database settings name the
    address (`dials_around_connector` reads only the first)."""
    return (f"the database dials time out on {', '.join(path.addresses)} (read from {path.read_from}), public "
            "addresses under egress PRIVATE_RANGES_ONLY: that traffic leaves by Cloud Run's internet egress, never "
            f"through connector {facts.b.connector.short_name}, so its saturation does not explain them, and scaling "
            "it changes nothing on their path")


def _dials_unplaced(facts: Facts, path: DialPath) -> str:
    return (f"connector {facts.b.connector.short_name} is saturated and the database dials time out, but "
            + ("they name no address and the revision's database settings place none (a host name, a Cloud SQL "
               "connection name whose address the connectors ask the Admin API for, a proxy on loopback)"
               if not path.addresses else
               f"they go to {', '.join(path.addresses)}, not all addresses in private ranges (a host name's address "
               "is its resolver's)")
            + ": under PRIVATE_RANGES_ONLY only private ranges cross the connector, so whether these did is unknown")


def _hang(facts: Facts, c: Citation) -> bool:
    """p99 held in a band above hang_latency_seconds and below the request timeout, and did not
    before the failures."""
    s = facts.s
    timeout = facts.request_timeout_seconds
    p99, in_band, held = hang_minutes(facts)
    query = facts.latencies_query
    observed = (f"p99 in [{s.hang_latency_seconds:.0f} s, {0.9 * timeout:.0f} s) in {len(in_band)} of {len(p99)} "
                f"minutes (max {latency(max(p99))})") if p99 else "no latency data"
    usual = usual_hang(facts) if p99 else ""
    if usual:
        c.cite("metric", query, f"{observed}; already in {usual} minutes of {facts.before}, while requests were "
               f"clean ({clean_before(facts)})", "new: the band held in the incident window, not before it while "
               "the service served cleanly (long requests of its own: WebSockets, streaming, long polling)",
               False, role="context")
        return False
    c.cite("metric", query, observed, f">= {s.hang_minutes_ratio:.0%} of minutes", held, role=either(held))
    return held


def _short_cut_loaded(facts: Facts, c: Citation, timeout: float) -> bool:
    """Whether a timeout under hang_latency_seconds may stand for the connector's hang: only when the connector
    itself was at its ceiling in a minute of the incident (saturated_stretch.ceiling_states: at its max instances
    with its CPU or throughput at saturation in the same minute). Under that timeout any slow handler is cut as
    a hang is, and the instance count at its max alone is a high-water mark, not saturation ("Connectors don't
    scale in", cloud.google.com/vpc/docs/serverless-vpc-access, Scaling): request_timeout answers alone. A
    timeout from hang_latency_seconds up cuts a latency already in the hang band: judged as before."""
    if timeout >= facts.s.hang_latency_seconds:
        return True
    minutes = sum(ceiling_states(facts, facts.incident).values())
    loaded = minutes > 0
    c.cite("metric", query_of(facts.b.connector_instances, "connector/instances"),
           f"connector at its ceiling (max instances with CPU or throughput at saturation) in {minutes} minutes "
           f"{facts.incident}",
           f"a {timeout:.0f} s request timeout, under hang_latency_seconds {facts.s.hang_latency_seconds:.0f} s, read "
           "as the connector's hang cut short only with the connector at its ceiling", loaded, role="context")
    return loaded


def _cut_at_timeout(facts: Facts, c: Citation) -> bool:
    """504s pinned at a request timeout short enough to cut the hang: with the timeout at 30 s, a
    connector's 30-35 s hang ends as a 504 at 30 s, never in the band below 0.9 x the timeout. Any
    timeout under the hang's length cuts it, however short: at 10 s the same hang ends as a 504 at 10 s,
    and the band above (from hang_latency_seconds) lies past the timeout, so nothing else would show it.
    request_timeout matches the same 504s, so the two compete and a person chooses. Judged on news as
    the band is (`_hang`): a p99 that sat at the timeout of its time before the incident while the
    service served cleanly (Facts.usual_timeouts) is how the service runs, not a hang cut short."""
    s = facts.s
    timeout = facts.request_timeout_seconds
    if timeout > s.hang_ceiling_seconds or not _short_cut_loaded(facts, c, timeout):
        return False
    requests = facts.requests(facts.incident)
    share = requests.share(code="504")
    p99, pinned = facts.p99_at_timeout(facts.incident)
    held = (requests.total >= s.min_requests and share >= s.status_ratio and bool(p99)
            and len(pinned) / len(p99) >= s.hang_minutes_ratio)
    observed = (f"{requests.by_code.get('504', 0):.0f} of {requests.total:.0f} requests 504 ({pct(share)}), p99 at the "
                f"{timeout:.0f} s request timeout in {len(pinned)} of {len(p99)} minutes")
    usual = facts.usual_timeouts if held else ""
    if usual:
        c.cite("metric", facts.latencies_query, f"{observed}; already at the {facts.before_timeout_seconds:.0f} s "
               f"timeout of its time in {usual} minutes of {facts.before}, while requests were clean "
               f"({clean_before(facts)})", "new: the p99 reached the timeout in the incident window, not before it "
               "while the service served cleanly (requests of its own that run to the timeout: long polls, "
               "server-sent events, streams)", False, role="context")
        return False
    c.cite("metric", facts.requests_query, observed,
           f">= {s.status_ratio:.0%} 504 at a request timeout <= hang_ceiling_seconds "
           f"{s.hang_ceiling_seconds:.0f} s: a hang cut short", held, role=either(held))
    return held


def _database_answers(facts: Facts, c: Citation) -> str:
    """Why the connector explains nothing when the database itself answers the application with
    refusals (too many clients, bad credentials, read-only, restarting) and nothing failed to
    reach it: the path through the connector carried those answers. "" otherwise. Both kinds at
    once (dial timeouts and refusals) leave the connector in the running beside the database."""
    s = facts.s
    refused = refusals(facts)
    if not refused:
        return _statements_cancelled(facts, c)
    unreached = _unreached(facts)
    alone = unreached < s.db_error_logs_min
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_REFUSED)}",
           f"{refused_observed(facts)}; {unreached} errors of reaching the database",
           f"the database's refusals with < {s.db_error_logs_min} errors of reaching it: the path works",
           not alone, role="refutes" if alone else "context")
    if not alone:
        return ""
    if refused.keys() <= _BEFORE_THE_CONNECTOR:
        return (f"the application's connections are refused before they cross connector "
                f"{facts.b.connector.short_name} ({', '.join(refused)}): its stress does not explain the failures, "
                "and scaling it changes none of them")
    if refused.keys() <= _POOLER:
        return (f"the connection pooler in front of the database answers the application and refuses it at its own "
                f"client limit ({', '.join(refused)}): connector {facts.b.connector.short_name}'s stress does not "
                "explain the failures, and scaling it would only bring more clients")
    return (f"the database answers the application and refuses it ({', '.join(refused)}): the path through "
            f"connector {facts.b.connector.short_name} works, so its stress does not explain the failures; "
            "scaling it would only bring more connections")


# Refusals given before any connection to the database is dialled: the Auth Proxy's own connection
# limit, inside the service's instance (log_signals, Refusal.PROXY_LIMIT), and the Cloud SQL Admin API's
# 429 at the project's quota to the connectors' calls for connect settings and certificates
# (Refusal.ADMIN_API_QUOTA) or its 403 with the API disabled in the project (Refusal.ADMIN_API_DISABLED):
# those calls go to sqladmin.googleapis.com, and the database is never dialled.
_BEFORE_THE_CONNECTOR = frozenset({Refusal.PROXY_LIMIT, Refusal.ADMIN_API_QUOTA, Refusal.ADMIN_API_DISABLED})
# A connection pooler's own client limit (PgBouncer's max_client_conn): given by the pooler, in the
# instance (a sidecar) or past the connector (a VM), never by the connector.
_POOLER = frozenset({Refusal.POOLER_LIMIT})


# What a person checks when the application's calls are answered with 429s or 5xx by a downstream.
DOWNSTREAM_ANSWERS = ("look at the downstream the application's HTTP or gRPC calls are answered by (its status page, "
                      "its own logs and limits: a 429 or RESOURCE_EXHAUSTED is its rate limit or quota, or a message "
                      "over the client's size limit, a 5xx, INTERNAL or UNAVAILABLE its own failure or load shedding, "
                      "a 401, 403, PERMISSION_DENIED or UNAUTHENTICATED the application's credentials, another gRPC "
                      "code its request) and at how the application retries and passes the answers on; a bigger "
                      "connector changes none of those answers")


def _downstream_answers(facts: Facts, c: Citation) -> str:
    """Why the connector is not shown to be the cause, or "": at least db_error_logs_min of the
    application's log lines, and at least half of its failure lines (its own logs at ERROR or worse,
    those with them), are its HTTP client raising on a 429 or a 5xx a downstream answered
    (log_signals.downstream_answer: aiohttp's "429, message='Too Many Requests', url=...", requests'
    "503 Server Error: ... for url:", urllib3's "too many 503 error responses", axios' "Request failed
    with status code 503", Retrofit's "HTTP 429", Spring's HttpServerErrorException, .NET's
    EnsureSuccessStatusCode; a gRPC C-core client's INTERNAL or UNAVAILABLE "received from peer"; a gRPC
    code no network failure is raised as, RESOURCE_EXHAUSTED, PERMISSION_DENIED, NOT_FOUND and the like,
    in grpc-go's, grpcio's, grpc-java's or grpc-js's words, peer named or not, and google-api-core's
    "ResourceExhausted: 429 ..."), with fewer than db_error_logs_min errors of reaching the database and
    of failed dials. An answer proves the path to the downstream carried the request and brought the
    answer back, whichever path it is (a public API under PRIVATE_RANGES_ONLY egress never crosses the
    connector; a private one answered through it): a downstream's rate limit or failure, passed on as
    the service's own 5xx (slowly, when its client retries), is not the connector's, and a bigger
    connector changes none of those answers, whatever the connector shows (another service's job on
    a shared one). Not ruled out (it competes), never acted on alone."""
    s = facts.s
    answered, dialled = facts.logs.answers, facts.logs.dials
    app = facts.logs.app
    # Each line's answer looked up in C (compress keeps the lines whose answer is not "").
    answers = list(compress(app, map(answered.__getitem__, map(_TEXT, app))))
    if not facts.logged_enough(answers):
        return ""
    dials = sum(1 for e in app if dialled[e.text] is not None)
    if _unreached(facts) >= s.db_error_logs_min or dials >= s.db_error_logs_min:
        return ""
    failed = [*answers, *(e for e in facts.logs.app_failed if not answered[e.text])]
    failures = len(failed)
    # A hold-back signal, each line counted over the read that carries it (Facts.half_or_more): a client that
    # logs a downstream's 429 at INFO leaves it to a chatty page's last minutes, its ERROR lines to the window.
    mostly = facts.half_or_more(answers, failed)
    sampled = facts.counted_over_the_page(answers)
    codes = sorted({answered[e.text] for e in answers})
    c.cite("log", "stderr / stdout: an HTTP or gRPC client raising on a downstream's 429 or 5xx (or gRPC code)",
           f"{len(answers)} of the application's {failures} failure lines are its calls answered with "
           f"{', '.join(codes)} by a downstream{sampled}, e.g. {excerpt(answers[0].text)!r}; {_unreached(facts)} "
           f"errors of reaching the database, {dials} failed dials",
           "fewer than half of the failures: answers prove the path to the downstream works", not mostly,
           role="context")
    if not mostly:
        return ""
    return (f"the application's calls are answered by a downstream with {', '.join(codes)} ({len(answers)} of its "
            f"{failures} failure lines{sampled}, e.g. {excerpt(answers[0].text, limit=120)!r}): an answer proves the path to it works, so "
            f"connector {facts.b.connector.short_name}'s stress does not explain those failures, and scaling it "
            "changes none of them")


# What a person checks when the requests wait on an HTTP dependency the application names.
NAMED_HOST = ("check the host the application's HTTP calls time out on (its status page, its latency from another "
              "network) and where its name resolves: with egress PRIVATE_RANGES_ONLY only private ranges cross the "
              "connector; raise the connector's max instances only if that host resolves to a private address and "
              "the connector's CPU or throughput shows it is the bottleneck")


def _hosts_named(text: str, dialled: dict[str, str | None], waited: dict[str, str | None]) -> list[str]:
    """The hosts an upstream timeout's line names, or the host its failed dial names, or the host its wait on
    a downstream names ("" for none), the last two as the log index read them (LogIndex.dials, .waits)."""
    return upstream_hosts(text) or [dialled[text] or waited[text] or ""]


def _waits_on_named_host(facts: Facts, c: Citation) -> tuple[str, bool]:
    """(why the connector is not shown to be the cause, whether that rules it out), or ("", False),
    when the requests wait on an HTTP dependency the application names: at least db_error_logs_min
    of its own HTTP calls timed out on a named host (urllib3's "Read timed out", Go's
    "Client.Timeout exceeded"), fewer than db_error_logs_min errors of reaching the database, and
    every serving revision's egress is PRIVATE_RANGES_ONLY ("Only private IP ranges are routed
    through the VPC connector", Cloud Run Admin v2 VpcAccess.VpcEgress). Hosts that are all
    public addresses never crossed the connector: ruled out. A host name may resolve to a private
    address (a private zone) or not, which Runwarden cannot tell: not ruled out, it competes, so a
    connector busy with another service's traffic is never scaled for a dependency that stopped
    answering. A private address among them crosses the connector: this says nothing ("").

    Calls that waited on a downstream in their RPC or HTTP client's own words (log_signals.
    downstream_wait: gRPC's DEADLINE_EXCEEDED and UNAVAILABLE from grpc-go, grpc-java, grpc-js and
    grpcio, Envoy's "upstream request timeout", undici's "Headers Timeout Error", the JDK HttpClient's
    "request timed out") count beside them, the Google client libraries' own (GOOGLE_API_WAIT, read
    apart) left out. Most name no host, or only a proxy beside the application: where such a wait went
    is as unknown as a name's address, so it competes as a name does, under PRIVATE_RANGES_ONLY: a
    downstream that stopped answering is never scaled for. An Envoy's answer proves the path to the
    Envoy, not past it: unknown under both readings of where it runs (a sidecar, a gateway past the
    connector), so it competes too."""
    s, serving = facts.s, facts.serving
    if not serving or any(r.vpc_connector is None or egress_of(r) != "PRIVATE_RANGES_ONLY" for r in serving):
        return "", False
    if _unreached(facts) >= s.db_error_logs_min:
        return "", False
    timeouts = facts.log_matches(LogSignal.UPSTREAM_TIMEOUT)
    # Failed dials to a dependency other than the database that name the host dialled (Go's "dial tcp
    # 34.117.59.81:443: i/o timeout" inside net/http's error, Node's "connect ETIMEDOUT H:P":
    # log_signals.dial_failure) are waits on a named host too, as the database's dials to a public
    # address are (dials_around_connector).
    seen = {id(e) for e in timeouts} | {id(e) for e in facts.log_matches(LogSignal.GOOGLE_API_WAIT)}
    dialled, waited = facts.logs.dials, facts.logs.waits
    dials = [e for e in facts.logs.app if id(e) not in seen
             and (dialled[e.text] or waited[e.text] is not None)]
    timeouts = timeouts + dials
    # Read over the window (Facts.logged_enough): the timeouts hold a connector move back.
    if not facts.logged_enough(timeouts):
        return "", False
    every = {host for named in per_text(lambda text: _hosts_named(text, dialled, waited), timeouts).values()
             for host in named}
    hosts, unnamed = sorted(every - {""}), "" in every
    addresses = [a for a in map(host_address, hosts) if a is not None]
    # A private IPv4 address is in the ranges the connector carries: this says nothing. An IPv6 address
    # that is not global (fd00::/8, say) is private too, but whether a connector carries IPv6 at all is
    # not said by VpcEgress's docstring nor the connector's docs (UNCONFIRMED): it competes, as a name
    # does, which holds a connector move back under either reading.
    if not every or any(not a.is_global for a in addresses if a.version == 4):
        return "", False
    public = not unnamed and len(addresses) == len(hosts) and all(a.is_global for a in addresses)
    named = ", ".join(hosts + ["a downstream they do not name"] * unnamed)
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.UPSTREAM_TIMEOUT)}",
           f"{len(timeouts)} of the application's {'gRPC or HTTP' if unnamed else 'HTTP'} calls timed out on "
           f"{named}, e.g. {excerpt(timeouts[0].text)!r}; "
           f"{_unreached(facts)} errors of reaching the database; egress PRIVATE_RANGES_ONLY",
           "requests that wait on a dependency routed through the connector (a private address, or the database)",
           False, role="refutes" if public else "context")
    where = ("public addresses, which leave by Cloud Run's internet egress and never cross the connector" if public
             else "unnamed in the client's words (a gRPC or HTTP client's deadline, or a proxy's answer that its "
                  "upstream did not answer); whether that downstream is in a private range, the only traffic the "
                  "connector carries under PRIVATE_RANGES_ONLY, is not known here" if unnamed
             else "a host name; whether it resolves to a private range, the only traffic the connector carries under "
                  "PRIVATE_RANGES_ONLY, is not known here" if len(addresses) < len(hosts)
             else "an IPv6 address outside the public internet; whether the connector carries IPv6 under "
                  "PRIVATE_RANGES_ONLY is not known here")
    waits_on = ("a downstream the application calls (gRPC or HTTP)" if unnamed
                else "an HTTP dependency the application names")
    return (f"the requests wait on {waits_on}: {len(timeouts)} of its calls to {named} "
            f"timed out, with {_unreached(facts)} errors of reaching the database; {named} is {where}: connector "
            f"{facts.b.connector.short_name}'s stress is not shown to be on their path"), public


# What a person checks when the failures are an Envoy's replies that it reached no upstream.
PROXY_REPLIES = ("find which proxy answers \"upstream connect error\" or \"no healthy upstream\" (a sidecar in the "
                 "service's instances, or the downstream's own front: a service mesh, an internal load balancer) and "
                 "the state of its upstream (its backends' health checks, their own logs); raise the connector's max "
                 "instances only if that proxy runs in the service's instances and its dials cross the connector")


def _proxy_replies(facts: Facts, c: Citation) -> str:
    """Why the connector is not shown to be the cause, or "": at least db_error_logs_min of the
    application's lines, and at least half of its failure lines, hold an Envoy's own reply that it
    reached no upstream (log_signals.proxy_reply: "upstream connect error or disconnect/reset before
    headers. reset reason: connection failure / connection timeout", response flag UF; "no healthy
    upstream", UH), read over the window, with fewer than db_error_logs_min errors of reaching the
    database. Under any egress (`_waits_on_named_host` reads them under PRIVATE_RANGES_ONLY first): the
    words do not say where the proxy runs. A downstream's front (a service mesh, an Envoy-based load
    balancer) answered across the path, which then works, and its upstream failed beyond it; "no
    healthy upstream" dialled nothing for the request at all; only a sidecar in the instance would dial
    through the connector. Not ruled out (it competes), never acted on alone."""
    s = facts.s
    if _unreached(facts) >= s.db_error_logs_min:
        return ""
    waited = facts.logs.waits
    replies = [e for e in facts.logs.app if waited[e.text] is not None and proxy_reply(e.text)]
    if not facts.logged_enough(replies):
        return ""
    seen = {id(e) for e in replies}
    failed = [*replies, *(e for e in facts.logs.app_failed if id(e) not in seen)]
    failures = len(failed)
    mostly = facts.half_or_more(replies, failed)   # a hold-back signal, counted as `_downstream_answers` counts
    sampled = facts.counted_over_the_page(replies)
    c.cite("log", "stderr / stdout: an Envoy's reply that it reached no upstream (UF, UH)",
           f"{len(replies)} of the application's {failures} failure lines{sampled}, e.g. {excerpt(replies[0].text)!r}; "
           f"{_unreached(facts)} errors of reaching the database",
           "fewer than half of the failures: a proxy's replies say its upstream failed, not where the proxy runs",
           not mostly, role="context")
    if not mostly:
        return ""
    return (f"the failures are a proxy's replies that it reached no upstream ({len(replies)} of {failures} failure "
            f"lines{sampled}, e.g. {excerpt(replies[0].text, limit=120)!r}): where that proxy runs the words do not say (a downstream's "
            "front answered across the path, which then works; \"no healthy upstream\" dialled nothing), so "
            f"connector {facts.b.connector.short_name}'s stress is not shown to be on their path")


# What a person checks when the application's HTTP calls timed out reading the answer.
LATE_ANSWERS = ("look at the host the application's HTTP calls time out reading from: its own latency and its "
                "dependencies (another Cloud Run service's request latencies, an internal load balancer's "
                "backends), and the client's read timeout; raise the connector's max instances only if dials "
                "through it fail too, or its CPU or throughput shows it is the bottleneck")


def _http_reads_timed_out(facts: Facts, c: Citation) -> str:
    """Why the connector is not shown to be the cause, or "": at least db_error_logs_min of the
    application's HTTP calls timed out reading the answer on a connection they had made
    (log_signals.upstream_read_timed_out: urllib3's and Spring's "Read timed out"), read over the window
    (Facts.logged_enough), and beside them fewer than db_error_logs_min failed dials together (HTTP calls
    that timed out otherwise, dials that failed to any host, errors of reaching the database), and no
    refusal. Under any egress: under ALL_TRAFFIC every call crosses the connector ("All outbound traffic
    is routed through the VPC connector", Cloud Run Admin v2 VpcAccess.VpcEgress), and a private address
    does under PRIVATE_RANGES_ONLY too (`_waits_on_named_host` says nothing of either).

    A read that timed out was sent on a connection the path carried; the downstream's answer came late.
    urllib3 drops a connection whose read timed out, so the next call dials a new one: a path saturated
    enough to hold answers back fails those dials too, and connect timeouts pile up beside the reads, as
    `_READS_TIMED_OUT` reads the database's. Reads alone, with the dials crossing, are a slow downstream's
    (another Cloud Run service, a backend behind an internal load balancer), not shown to be the
    connector's, whatever it shows (another service's job on a shared one). Not ruled out (a connector
    that delays an established flow's packets and not a new one's is not excluded): it competes, and is
    never scaled alone."""
    s = facts.s
    timeouts = facts.log_matches(LogSignal.UPSTREAM_TIMEOUT)
    reads = reads_among(facts, timeouts, upstream_read_timed_out)
    if not reads:
        return ""
    read_ids = {id(e) for e in reads}
    dialled = facts.logs.dials
    failed_dials = [e for e in facts.logs.app if id(e) not in read_ids
                    and dialled[e.text]]
    others = len(timeouts) - len(reads)
    dials = len({id(e) for e in failed_dials} | {id(e) for e in timeouts if id(e) not in read_ids})
    unreached = _unreached(facts)
    alone = dials + unreached < s.db_error_logs_min
    hosts = sorted({host for named in per_text(upstream_hosts, reads).values() for host in named})
    named = ", ".join(hosts) or "a host the lines do not name"
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.UPSTREAM_TIMEOUT)} (a read timed out: "
           "log_signals.upstream_read_timed_out)",
           f"{len(reads)} of the application's HTTP calls to {named} timed out reading the answer, e.g. "
           f"{excerpt(reads[0].text)!r}; {others} timed out otherwise, {dials} failed dials in all, {unreached} errors of "
           "reaching the database",
           f"reads that timed out with < {s.db_error_logs_min} failed dials and errors of reaching the database "
           "beside them: the path carries new connections", not alone, role="context")
    if not alone:
        return ""
    return (f"the application's HTTP calls to {named} timed out reading the answer on connections they had made "
            f"({len(reads)}x, e.g. {excerpt(reads[0].text, limit=120)!r}) while new connections crossed ({dials} failed dials, "
            f"{unreached} errors of reaching the database): the downstream answered late, and a path saturated "
            f"enough to hold answers back fails new dials too, so connector {facts.b.connector.short_name}'s stress "
            "is not shown to explain them")


# What a person checks when the application's name lookups fail.
NAMES_NOT_RESOLVED = ("check the names the application fails to resolve and who answers for them: a Cloud DNS private "
                      "zone's records and the networks it is visible to, a recent change of a host setting, the "
                      "resolver's answers from another instance; scale the connector only if its CPU or throughput "
                      "shows it is the bottleneck once names resolve")


def _names_not_resolved(facts: Facts, c: Citation) -> str:
    """Why the connector is not shown to be the cause, or "": at least db_error_logs_min of the
    application's name lookups failed (signal dns_failure: "getaddrinfo EAI_AGAIN", "Temporary failure
    in name resolution", Go's "lookup H on 169.254.169.254:53: no such host"), with fewer than
    db_error_logs_min errors of reaching the database. A lookup is answered by the resolver, not by the
    connector's instances: Cloud Run's is the metadata server (169.254.169.254, the server Go's lookups
    name), which a connector lets consult the network's private zones ("internal DNS", Serverless VPC
    Access docs). Whether a lookup's packets ever cross the connector is not documented (UNCONFIRMED):
    if they do, a saturated connector could time lookups out, so this does not rule the connector out;
    it competes, under either egress, and the requests that fail on names are never a scale-up alone.
    Never a cause on its own either: which name, and whose resolver, the words seldom say."""
    failed = facts.log_matches(LogSignal.DNS_FAILURE)
    unreached = _unreached(facts)
    if not facts.logged_enough(failed) or unreached >= facts.s.db_error_logs_min:
        return ""
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DNS_FAILURE)}",
           f"{len(failed)} of the application's name lookups failed, e.g. {excerpt(failed[0].text)!r}; {unreached} "
           "errors of reaching the database",
           f"< {facts.s.db_error_logs_min} failed name lookups: a request that fails on a name never dials through "
           "the connector", False, role="context")
    return (f"the application's name lookups fail ({len(failed)}x, e.g. {excerpt(failed[0].text, limit=120)!r}), with {unreached} "
            f"errors of reaching the database: a request that cannot resolve its host dials nothing, through "
            f"connector {facts.b.connector.short_name} or elsewhere, so its stress is not shown to explain the "
            "failures")


# What a person checks when the requests wait on a Google Cloud API the application calls.
GOOGLE_API = ("check the Google Cloud API the application's client library calls time out on (Personalized Service "
              "Health and the API's own latency in the console, its quotas) and where its names resolve: with egress "
              "PRIVATE_RANGES_ONLY only private ranges cross the connector, so those calls leave by Cloud Run's own "
              "egress unless the API is reached through a private endpoint (Private Service Connect); raise the "
              "connector's max instances only if they are, and its CPU or throughput shows it is the bottleneck")


def _waits_on_google_api(facts: Facts, c: Citation) -> str:
    """Why the connector is not shown to be the cause, or "": at least db_error_logs_min of the
    application's own calls to a Google Cloud API through Google's client libraries ran out their
    deadline (signal google_api_wait: google-api-core's "DeadlineExceeded: 504", its retry's "Deadline of
    Ns exceeded", Java gax's DeadlineExceededException), fewer than db_error_logs_min errors of reaching
    the database, and every serving revision's egress is PRIVATE_RANGES_ONLY ("Only private IP ranges are
    routed through the VPC connector", Cloud Run Admin v2 VpcAccess.VpcEgress). Google's APIs answer on
    public addresses by default, so such calls leave by Cloud Run's own egress and a busy connector
    (another service's job on a shared one) explains none of their waits. But a project may reach them
    through a Private Service Connect endpoint, an internal address its private DNS gives the API's
    names, which does cross the connector (UNCONFIRMED that every client library call follows that
    DNS): not ruled out, it competes, and is never scaled alone. Under ALL_TRAFFIC ("All outbound traffic
    is routed through the VPC connector", VpcAccess.VpcEgress) those calls cross the connector: this
    says nothing. An unset egress is PRIVATE_RANGES_ONLY (facts.egress_of: the API's documented default)."""
    s, serving = facts.s, facts.serving
    if not serving or any(r.vpc_connector is None or egress_of(r) != "PRIVATE_RANGES_ONLY" for r in serving):
        return ""
    waits = facts.log_matches(LogSignal.GOOGLE_API_WAIT)
    unreached = _unreached(facts)
    # Read over the window (Facts.logged_enough): the waits hold a connector move back.
    if not facts.logged_enough(waits) or unreached >= s.db_error_logs_min:
        return ""
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.GOOGLE_API_WAIT)}",
           f"{len(waits)} of the application's Google Cloud API calls ran out their deadline, e.g. "
           f"{excerpt(waits[0].text)!r}; {unreached} errors of reaching the database; egress PRIVATE_RANGES_ONLY",
           f"< {s.db_error_logs_min} Google API calls out of time: under PRIVATE_RANGES_ONLY they leave by Cloud Run's "
           "own egress unless the API is reached through a private endpoint", False, role="context")
    return (f"the application's own Google Cloud API calls run out their deadline ({len(waits)}x, e.g. "
            f"{excerpt(waits[0].text, limit=120)!r}), with {unreached} errors of reaching the database: under egress "
            f"PRIVATE_RANGES_ONLY those calls leave by Cloud Run's own egress, not through connector "
            f"{facts.b.connector.short_name}, unless the API is reached through a private endpoint, so its stress is "
            "not shown to explain the failures")


_REPLICA_CONFLICT = re.compile(REPLICA_CONFLICT, re.IGNORECASE)


def _statements_cancelled(facts: Facts, c: Citation) -> str:
    """Why the connector explains nothing when the database ran the application's statements and
    ended them itself, and nothing failed to reach it: cancelled at a timeout of its own (PostgreSQL's
    statement or lock timeout, MySQL's max_execution_time or lock wait timeout: it is slow or blocked) or
    at the client's cancel request while it still ran them (PostgreSQL's "due to user request", MySQL's
    1317 after a KILL QUERY, Connector/J's query timeout),
    or failed with an error of its own (a deadlock it broke, temp_file_limit, its shared memory full:
    LogSignal.DB_STATEMENT_FAILED). Either way the statements crossed the connector both ways and the
    server answered them. "" otherwise."""
    s = facts.s
    cancelled = facts.log_matches(LogSignal.DB_CANCELLED)
    failed = facts.log_matches(LogSignal.DB_STATEMENT_FAILED)
    ended = cancelled + failed
    if not facts.logged_enough(ended):   # read over the window: they hold a connector move back
        return ""
    unreached = _unreached(facts)
    alone = unreached < s.db_error_logs_min
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CANCELLED)}"
           + (f"; {pattern_of(LogSignal.DB_STATEMENT_FAILED)}" if failed else ""),
           f"{len(ended)} statements the database {'cancelled' if not failed else 'cancelled or failed'}, e.g. "
           f"{excerpt(ended[0].text)!r}; {unreached} errors of reaching the database",
           f"statements the database {'cancelled' if not failed else 'ended'} with < {s.db_error_logs_min} errors "
           "of reaching it: the path works", not alone, role="refutes" if alone else "context")
    if not alone:
        return ""
    if not facts.logged_enough(cancelled):
        return (f"the database runs the application's statements and fails them with errors of its own "
                f"({len(failed)}x, e.g. {excerpt(failed[0].text, limit=120)!r}: a deadlock, a limit such as temp_file_limit, its "
                f"shared memory): the path through connector {facts.b.connector.short_name} works, so its stress "
                "does not explain the failures; look at the statements that fail (their locks' order, their sorts "
                "and hashes, a recent deploy that brought them) and the instance's settings")
    replica = any(_REPLICA_CONFLICT.search(text) for text in dict.fromkeys(e.text for e in cancelled))
    return (f"the database runs the application's statements and cancels them at its own timeout or at the client's "
            f"cancel request ({len(cancelled)}x, "
            f"e.g. {excerpt(cancelled[0].text, limit=120)!r}): it is slow or blocked (a runaway query, lock waits, its CPU), and "
            f"the path through connector {facts.b.connector.short_name} works, so its stress does not explain the "
            "failures; look at the instance's CPU, its slow queries and lock waits"
            + ("; a read replica cancels the queries that hold back the replay of the primary's changes (\"conflict "
               "with recovery\"): look at the replica the application reads from, its lag, max_standby_streaming_delay "
               "and hot_standby_feedback" if replica else "")
            + (f"; it also fails statements with errors of its own ({len(failed)}x, e.g. {excerpt(failed[0].text, limit=80)!r})"
               if failed else ""))


def _database_saturated(facts: Facts, c: Citation) -> str:
    """Why the connector is not shown to be the cause, or "": a Cloud SQL instance the service uses
    had its CPU at SQL_CPU_SATURATION or more (database/cpu/utilization) in a minute from shortly
    before the failures began to the end (Facts.failing_window). A saturated instance runs every
    statement slowly and makes the requests that wait on it hang at their timeouts; and the
    requests piling up open more connections, which can raise a small connector's CPU and
    instance count too. Either may be the cause, and a bigger connector changes nothing of the
    database's: not ruled out (it competes), not acted on alone. An instance that always runs that
    hot (Facts.sql_saturation_news), or whose CPU was not read or holds no point (Cloud SQL's metrics
    are visible up to minutes late), says nothing either way."""
    window = facts.failing_window or facts.incident
    cpu = facts.sql_cpu(window)
    if not cpu:
        return ""
    hot = facts.sql_saturation_news(window)
    seen = "; ".join(f"{db}: max {max(vals):.0%}" for db, vals in cpu.items())
    c.cite("metric", query_of(facts.b.sql_cpu, "cloudsql database/cpu/utilization"), f"{seen} in {window}",
           f"< {SQL_CPU_SATURATION:.0%} while requests failed, or as saturated before the failures (a newly "
           "saturated database makes them wait, whatever the connector shows)", not hot,
           role="context" if not hot else "refutes")
    if not hot:
        return ""
    named = ", ".join(f"{db} at {value:.0%}" for db, value in hot.items())
    return (f"connector {facts.b.connector.short_name} is busy, but the Cloud SQL instance's own CPU is saturated "
            f"({named} of its reserved CPU in {window}): a saturated database makes every statement and the requests "
            "that wait on it slow, and its queued requests open more connections through the connector; a bigger "
            "connector changes nothing of the database's")


@dataclass(frozen=True)
class _NoFailedDial:
    """A kind of database error on a connection the path had carried (a read that timed out, a greeting that
    never came, a connection lost or found closed), that holds the connector as a doubt when fewer than
    db_error_logs_min failed dials and pool waits stand beside it (`_no_failed_dial`): a path saturated enough
    to fail these fails new dials too. What differs between the kinds is declared here; a new kind is one
    declaration, read in `evaluate` where its doubt is weighed."""
    matches: Callable[[str], bool]   # the line's text is of this kind (a log_signals predicate)
    hung: bool                       # asked only while requests hung at a client timeout (`_hung_while_failing`)
    source: str                      # the cited source
    observed: str                    # cited: "{n} " + observed + ", e.g. ...; {others} other errors ..."
    kind: str                        # cited threshold: kind + ", with < N failed dials and pool waits " + beside_it
    beside_it: str
    doubt: str                       # the doubt: doubt + " ({n}x, e.g. ...)" + meanwhile + " ({others} ...): "
    meanwhile: str                   # + because + ", so connector X's stress is not shown to explain them"
    because: str


def _no_failed_dial(facts: Facts, c: Citation, kind: _NoFailedDial) -> str:
    """Why the connector is not shown to be the cause, or "": (while requests hung at a client timeout, for a
    `kind` that asks it) at least db_error_logs_min of the errors of reaching the database are of `kind`
    (database_signs.no_failed_dial: enough read, and no refusal), with fewer than db_error_logs_min other
    errors of reaching the database (not on an open connection: a failed dial) and waits for a pooled
    connection together. Cited either way."""
    if kind.hung and not _hung_while_failing(facts):
        return ""
    read = no_failed_dial(facts, kind.matches, count_pool_waits=True)
    if read is None:
        return ""
    found, others, pooled, alone = read
    beside = f"{others} other errors of reaching the database, {pooled} waits for a pooled connection"
    c.cite("log", kind.source, f"{len(found)} {kind.observed}, e.g. {excerpt(found[0].text)!r}; {beside}",
           f"{kind.kind}, with < {facts.s.db_error_logs_min} failed dials and pool waits {kind.beside_it}",
           not alone, role="context")
    if not alone:
        return ""
    return (f"{kind.doubt} ({len(found)}x, e.g. {excerpt(found[0].text, limit=120)!r}){kind.meanwhile} ({beside}): "
            f"{kind.because}, so connector {facts.b.connector.short_name}'s stress is not shown to explain them")


_NEW_DIALS_OPENED = " while new connections opened without a failed dial"
_HUNG_AND_NEW_DIALS_OPENED = (" while requests hung at a client timeout, and new connections opened without a "
                              "failed dial")

# Reads on established connections that timed out (log_signals.read_timed_out: libpq's "could not receive data
# from server: Connection timed out", over SSL "SSL SYSCALL error: Connection timed out", pgjdbc's socketTimeout
# "Read timed out" under "An I/O error occurred while sending to the backend", PyMySQL's "Lost connection to MySQL
# server during query (timed out)", Go's "read tcp A->B:5432: i/o timeout"); a connection found closed at once
# beside them is the same stale pool's (`_answered_at_once`). Weighed with the stale pool's advice (`_stale_pool`).
#
# A read that times out waited on a connection that had answered before. A flow that a NAT, a firewall or a
# connector forgot while it sat idle in the pool, with no reset sent, hangs its next query until the driver's read
# timer or the kernel's retransmissions give up (the kernel's "Connection timed out" on a read: its data was never
# acknowledged); the pool then dials a new connection, and that one works. A path saturated enough to hang reads
# hangs new dials too: dial timeouts and pool waits pile up beside the reads. So reads that time out while new
# connections open without a failed dial are a stale pool's (or a slow server's, for a driver's read timer), not
# shown to be the connector's, whatever it shows (another service's job on a shared one). Not ruled out (a
# connector that drops an established flow's packets and not a new one's is not excluded): it competes, and is
# never scaled alone.
_READS_TIMED_OUT = _NoFailedDial(
    matches=read_timed_out, hung=False,
    source="stderr / stdout: a read on an established connection to the database that timed out "
           "(log_signals.READ_TIMEOUT_TEXTS)",
    observed="reads on established connections timed out",
    kind="a read on an established connection that timed out",
    beside_it="beside it: the path carries new connections",
    doubt="reads on established connections to the database timed out", meanwhile=_NEW_DIALS_OPENED,
    because="pooled connections whose flow was dropped while idle (a NAT's, a firewall's or a connector's idle "
            "timeout, no reset sent) hang their next query until a timeout, and a path saturated enough to hang reads "
            "fails new dials too")

# libmysqlclient's connects whose server greeting never came within the connect timeout
# (log_signals.greeting_timed_out: "Lost connection to MySQL server at 'reading initial communication packet',
# system error: 110"). Weighed with GREETINGS_NEVER_CAME.
#
# The TCP connect was answered, by the database's host or by a local proxy that dials on; the greeting did not
# come in time. A server slow to greet (short of threads or memory, a reverse lookup) says these words on a quiet
# path; a saturated connector that delays packets could too (a greeting retransmitted past the timer:
# UNCONFIRMED), but one saturated enough to do so fails plain dials beside them. The words alone do not tell the
# two apart: the connector competes and is never scaled on them.
_GREETINGS_NEVER_CAME = _NoFailedDial(
    matches=greeting_timed_out, hung=False,
    source="stderr / stdout: a MySQL connect answered whose greeting never came (log_signals.greeting_timed_out)",
    observed="connects got no server greeting within their connect timeout",
    kind="a connect answered whose greeting never came",
    beside_it="beside it: the path carried the connect, and a server slow to greet says the same words",
    doubt="new connections to the database were answered but got no server greeting within their connect timeout",
    meanwhile=", with no dial that failed beside them",
    because="the path carried the connects, and a database slow to greet them (short of threads or memory, a reverse "
            "lookup of the client) or a local proxy that could not dial on says these words")

# libmysqlclient's connects closed or reset before the server's greeting (log_signals.greeting_lost, less the
# greeting's timer above: "Lost connection to MySQL server at 'reading initial communication packet', system
# error: 0"). Weighed with GREETINGS_LOST.
#
# Something accepted the connect, then closed it before any greeting: the database's host (its connect_timeout,
# an address it does not admit, a restart), or a local proxy in front of it (the Cloud SQL Auth Proxy, a connector
# library's listener) that accepted at once and whose own dial on failed, which its clients read as these very
# words (log_signals._GREETING_LOST cites them). A failed dial past a proxy may be the connector's, a server that
# closes is not: the words cannot tell, so they are a doubt that holds the scale back, never a dial that failed
# (no match for the connector) and never a connection the path carried (database_signs.on_an_open_connection).
_GREETINGS_LOST = _NoFailedDial(
    matches=lambda text: greeting_lost(text) and not greeting_timed_out(text), hung=False,
    source="stderr / stdout: a MySQL connect closed before the server's greeting (log_signals.greeting_lost)",
    observed="connects closed before the server's greeting",
    kind="a connect closed before the server's greeting",
    beside_it="beside it: a server that closes connects and a proxy whose own dial failed say the same words",
    doubt="new connections to the database were closed before the server's greeting",
    meanwhile=", with no dial that failed in words of its own beside them",
    because="a database that closes connects before greeting them (its connect_timeout, an address it does not admit, "
            "a restart) and a local proxy in front of it (the Cloud SQL Auth Proxy, a connector library) whose own "
            "dial on failed say these words alike")

# Rails' username error (log_signals.username_error) with no failed dial in words of its own beside it. Weighed with
# USERNAME_ERRORS.
#
# Rails replaces libpq's message with these words whenever it holds the configured user's name: the server's refusal
# of that user (a password rotated on one side, a role missing), and as well any failure whose message names a host
# or a socket path holding the name, a dial through a saturated connector that timed out among them (activerecord
# postgresql_adapter.rb, new_client). A refusal proves the path works and a timed-out dial may be the connector's:
# the words cannot tell, so they hold the scale back as a doubt, never a refusal that rules the connector out.
_USERNAME_ERRORS = _NoFailedDial(
    matches=username_error, hung=False,
    source="stderr / stdout: Rails' username error (log_signals.username_error)",
    observed="Rails username errors (a refusal of the user, or any failure whose words hold the user's name)",
    kind="Rails' username error",
    beside_it="beside it: a password or role refused and a dial to a host named like the user say the same words",
    doubt="Rails said its username error",
    meanwhile=", with no dial that failed in words of its own beside it",
    because="Rails says these words for the server's refusal of the user (a password rotated, a role missing) and "
            "for any failure whose message holds the user's name (a host or socket path named like it)")

# While requests hang at a client timeout (`_hung_while_failing`): MySQL 2013s that name no reason
# (log_signals.lost_mid_query: mysqlclient's and mysql-connector-python's bare "Lost connection to MySQL server
# during query"); a connection found closed at once is not a wait. Weighed with LOST_MID_QUERY.
#
# The bare 2013 is what libmysqlclient says both when a flow was dropped under a statement and when the client's
# own read timeout gave up on a statement that waited on a lock or ran long (log_signals' _BARE_LOST cites both):
# beside hangs at the client's timeout the words do not tell a path that drops packets from a statement that
# waited on the database. A path saturated enough to drop an open flow's packets fails new dials too; with no
# failed dial beside them, the connector's own signs (another service's job on a shared one) do not settle it. Not
# ruled out: it competes, and is never scaled alone.
_LOST_AT_A_CLIENT_TIMEOUT = _NoFailedDial(
    matches=lost_mid_query, hung=True,
    source="stderr / stdout: a MySQL 2013 that names no reason (log_signals.lost_mid_query)",
    observed="connections lost mid-query while requests hung at a client timeout",
    kind="a connection lost mid-query at a client timeout",
    beside_it="beside it: the path carries new connections, and the client's own read timeout says the same words",
    doubt="connections to the database were lost mid-query", meanwhile=_HUNG_AND_NEW_DIALS_OPENED,
    because="a MySQL client says these words when its own read timeout ends a statement that waited (a lock, a slow "
            "query) as well as when the path drops the flow")

# While requests hang at a client timeout (`_hung_while_failing`): an open connection found closed or reset by its
# peer (log_signals.closed_connection: Node mysqljs's and mysql2's "Connection lost: The server closed the
# connection.", PyMySQL's "(2013, 'Lost connection to MySQL server during query ([Errno 104] Connection reset by
# peer)')", libpq's "server closed the connection unexpectedly", a reset under a driver's frame). Requests that
# waited less than a hang beside such closes are judged as before (503s answered at once by `_answered_at_once`; a
# wait of seconds stays the connector's case, tests/unit/test_connector_closed_failed_crashed.py). Weighed with
# CLOSED_BY_THEIR_PEER.
#
# The words name a close, not a wait: mysqljs raises PROTOCOL_CONNECTION_LOST when its socket ends under a
# connection it did not end itself (mysqljs/mysql lib/protocol/Protocol.js, Protocol.end), mysql2 on its stream's
# 'close' (sidorares/node-mysql2 lib/base/connection.js), PyMySQL when a read's OSError is the kernel's ECONNRESET
# (PyMySQL pymysql/connections.py, _read_bytes: f"Lost connection to MySQL server during query ({e})"). The server
# ends a session so (a KILL, wait_timeout, a failover or restart: MySQL's "Server System Variables";
# cloud-sql-proxy issue #35), as a proxy that restarts does. A saturated connector drops or delays packets
# ("causing timeouts", Cloud Run's VPC connector page); whether one that sheds or replaces an instance resets the
# flows it carried is UNCONFIRMED. A path saturated enough to hang requests fails new dials too, and none failed:
# the connector's own signs (another service's job on a shared one) do not settle it. Not ruled out: it competes,
# and is never scaled alone.
_CLOSED_BY_THEIR_PEER = _NoFailedDial(
    matches=closed_connection, hung=True,
    source="stderr / stdout: an open connection to the database found closed or reset by its peer "
           "(log_signals.CLOSED_CONNECTION_TEXTS)",
    observed="open connections found closed or reset", kind="connections found closed",
    beside_it="beside them: the path carries new connections, and the server ending sessions says the same words",
    doubt="open connections to the database were found closed or reset by their peer",
    meanwhile=_HUNG_AND_NEW_DIALS_OPENED,
    because="the server ending sessions (a kill, wait_timeout, a failover or restart) or a proxy restarting says these "
            "words, where a saturated connector makes packets wait and fails new dials")


# What a person checks when connects were answered but got no greeting.
GREETINGS_NEVER_CAME = ("find why the database did not greet new connections in time: its state and log at those "
                        "minutes (threads_connected against max_connections, CPU and memory, a restart or "
                        "failover), skip_name_resolve, and any local proxy or tunnel between (the Cloud SQL Auth "
                        "Proxy's own dial errors); raise the connector's max instances only if plain dials fail to "
                        "cross it")


# What a person checks when connects were closed before the server's greeting.
GREETINGS_LOST = ("find what closed the new connections before the server greeted them: any local proxy in front of "
                  "the database (the Cloud SQL Auth Proxy's or the connector library's own log lines: its dial to the "
                  "instance, its refresh), then the database's state and log at those minutes (a restart, "
                  "connect_timeout, Aborted_connects, an address it does not admit); raise the connector's max "
                  "instances only if a dial through it is shown to fail")


# What a person checks when Rails said its username error.
USERNAME_ERRORS = ("find the driver's own error under Rails' words (log the exception's cause, or connect with psql as "
                   "the revision's user from the same network): a password or role the database refuses (the secret "
                   "the revision reads against the user's password, rotated on one side) or a failure at a host or "
                   "socket path named like the user; raise the connector's max instances only if a dial through it "
                   "is shown to fail")


# What a person checks when open connections were found closed or reset while requests waited.
CLOSED_BY_THEIR_PEER = ("find who ended the sessions: the database's log and state (a failover, a restart, "
                        "maintenance, sessions killed, wait_timeout against the pool's idle time) and any proxy "
                        "between (the Cloud SQL Auth Proxy's restarts), and what the hanging requests waited on "
                        "(the database's lock waits and slow statements); validate pooled connections before use "
                        "(SQLAlchemy pool_pre_ping, mysql2's enableKeepAlive) and retire them before wait_timeout; "
                        "raise the connector's max instances only if new connections fail to cross it")


def _hung_while_failing(facts: Facts) -> bool:
    """Whether requests hung at a client timeout: the hang band held over the window (hang_minutes), or the
    p99 of a minute after the failures began reached hang_latency_seconds (the failing requests waited there,
    whatever the minutes before them)."""
    if hang_minutes(facts)[2]:
        return True
    if facts.failing_window is None:
        return False
    failing = [v for at, v in facts.p99_by_minute(facts.failing_window) if at > facts.failing_since]
    return bool(failing) and max(failing) >= facts.s.hang_latency_seconds


# What a person checks when MySQL connections were lost mid-query at a client timeout. mysql-connector-python's
# connection_timeout set libmysqlclient's read and write timeouts too (its C extension) before 8.0.21, the
# connect's alone since (BUG30996790, mysql/mysql-connector-python commit b6d5d57, src/mysql_capi.c).
LOST_MID_QUERY = ("find what the statements waited on before the client's read timeout ended them: the database's lock "
                  "waits and long-running statements (performance_schema.data_lock_waits, SHOW PROCESSLIST, the slow "
                  "query log) and the driver's read timeout (mysqlclient's read_timeout, mysql-connector-python's "
                  "connection_timeout before 8.0.21); raise the connector's max instances only if new connections fail "
                  "to cross it")


# Said beside a stale pool's advice when the revision's CPU is allocated only during requests.
IDLE_CPU = ("set the revision's CPU always allocated (instance-based billing, Cloud Run's \"Billing settings\"), or "
            "keep the pool's background work inside requests: with CPU only during requests, a pool's housekeeping, "
            "validation and keepalives are starved between them, so idle connections go stale and the first queries "
            "after a quiet spell wait on them; then ")


def _timeout_the_deploy_lowered(facts: Facts, c: Citation) -> str:
    """Why the failures are a deploy's shorter request timeout and not the connector, or "": at least half
    of the incident's 5xx are 504s, and the newest serving revision's deploy lowered the request timeout
    (Revision.timeout, revision.proto) under what the service's p99 already reached before it
    (deploy_changes.deploy_lowered_timeout). Requests that always took that long are cut now, wherever
    they wait: a connector busy in the same minutes gives them no more time when scaled, and sending
    traffic back brings the longer timeout back (bad_revision decides). Only with no wait on the database
    path logged (_path_waits: errors of reaching the database, waits for a pooled connection, fewer than
    db_error_logs_min together): a failed dial or a pool wait is a sign of the path itself, judged as
    before."""
    requests = facts.requests(facts.incident)
    failed = requests.by_class.get("5xx", 0)
    waited = sum(_path_waits(facts)) >= facts.s.db_error_logs_min
    if not failed or 2 * requests.by_code.get("504", 0) < failed or waited:
        return ""
    lowered = deploy_lowered_timeout(facts, c, facts.request_timeout_seconds)
    return (f"{lowered}; connector {facts.b.connector.short_name}'s stress gives them no more time when scaled"
            if lowered else "")


def _stale_pool(facts: Facts, c: Citation, why: str, look: str) -> Finding:
    """A stale pool's finding: ruled out when the deploy starved the pool (_deploy_starved_pool), else
    a doubt that names the revision's CPU allocation (_idle_cpu)."""
    starved = _deploy_starved_pool(facts, c, why)
    return c.no(starved) if starved else c.doubt(*_idle_cpu(facts, c, why, look))


def _deploy_starved_pool(facts: Facts, c: Citation, why: str) -> str:
    """Why a stale pool (`why`) is the deploy's and not the connector's, or "": the newest serving
    revision, deployed within deploy_window_seconds (Facts.replaced), allocates CPU only during
    requests (Revision.containers[].resources.cpu_idle true, k8s.min.proto ResourceRequirements)
    where the revision it replaced stated CPU always allocated (cpu_idle false; unset or unread is
    not compared). The pool's housekeeping and keepalives ran before the deploy and are starved
    since ("when the Cloud Run service finishes handling a request, the instance's access to CPU
    will be disabled or severely limited", Cloud Run, "General development tips"): the connector's
    stress is not shown to explain the stale connections, scaling it leaves them stale, and sending
    traffic back brings the CPU allocation back with the revision (bad_revision decides whether the
    failures began with the deploy)."""
    deploy = facts.recent_deploy()
    if deploy is None:
        return ""
    revision, previous, lead = deploy
    if revision.cpu_idle is not True or previous.cpu_idle is not False:
        return ""
    c.cite("api", f"run.revisions.list {revision.short_name}, {previous.short_name}: containers[].resources.cpu_idle",
           f"{revision.short_name} (deployed {duration(lead)} before the incident) allocates CPU only during "
           f"requests; {previous.short_name} had it always allocated",
           "a deploy that turned CPU allocation to only during requests: the pool's stale connections are "
           "the deploy's", True, role="refutes")
    return (f"{why}; {revision.short_name}'s deploy {duration(lead)} before the incident changed the CPU "
            f"allocation from always allocated ({previous.short_name}) to only during requests, which starves the "
            "pool's housekeeping and keepalives between requests: the stale connections are the deploy's, and "
            f"scaling connector {facts.b.connector.short_name} leaves them stale")


def _idle_cpu(facts: Facts, c: Citation, why: str, look: str) -> tuple[str, str]:
    """A stale pool's doubt (`why`, `look`), with the revision's CPU allocation named when it is only during
    requests: Revision.containers[].resources.cpu_idle ("Determines whether CPU is only allocated during
    requests", google/cloud/run/v2/k8s.min.proto ResourceRequirements), and then "when the Cloud Run
    service finishes handling a request, the instance's access to CPU will be disabled or severely limited"
    (Cloud Run, "General development tips", Background activity). A pool's housekeeper (HikariCP's, which
    logs "Thread starvation or clock leap detected (housekeeper delta=...)" when it ran late,
    brettwooldridge/HikariCP src/main/java/com/zaxxer/hikari/pool/HikariPool.java), its idle checks and
    keepalives run between requests: starved, they retire and validate nothing, and the first request after
    a quiet spell meets the connections the path or the server dropped meanwhile. Unset or always allocated
    (False, None: not read where the revision sets no limits): as it was."""
    revision = facts.followed   # the revision that served the incident (a fix made since is not judged)
    if revision is None or revision.cpu_idle is not True:
        return why, look
    c.cite("api", f"run.revisions.get {revision.short_name}: containers[].resources.cpu_idle", "true (CPU only "
           "during requests)", "context: work between requests (a pool's housekeeping and keepalives) is starved",
           None, role="context")
    return (f"{why}; {revision.short_name} allocates CPU only during requests (cpu_idle), which starves a pool's "
            "housekeeping and keepalives between them"), IDLE_CPU + look


# What a person checks when the application's server timed its own workers out.
WORKERS_STUCK = ("find where the workers were stuck: gunicorn aborts a timed-out worker (SIGABRT) before it kills it, "
                 "so its worker_abort hook, or faulthandler registered for SIGABRT, logs the stuck request's stack "
                 "(py-spy dump on a live instance shows it too); look for a call with no timeout of its own (an HTTP "
                 "call, a lock, a query) or CPU-bound work on a sync worker; raise the connector's max instances only "
                 "if the stacks show workers waiting on a dial or a read through it")


def _workers_stuck(facts: Facts, c: Citation) -> str:
    """Why the connector is not shown to be the cause, or "": the application's own server ended at
    least startup_failure_logs_min of its workers while the requests failed (signal app_worker_timeout:
    gunicorn's "WORKER TIMEOUT (pid:N)", a worker that did not notify the arbiter within --timeout, and
    "Worker (pid:N) was sent SIGKILL! Perhaps out of memory?"; benoitc/gunicorn gunicorn/arbiter.py,
    murder_workers and reap_workers), and nothing shows a wait on the database path: fewer than
    db_error_logs_min errors of reaching the database and waits for a pooled connection together, and no
    refusal. A worker timeout says a worker was stuck, not on what: a slow handler, a lock, a call with
    no timeout to any dependency, CPU; its request ends unanswered (Cloud Run's own 503, or a hang at
    the worker timeout). A connector that holds a worker's dial or read makes the application log the
    wait (a dial timeout, a pool that ran out): without one, a connector busy with another service's
    traffic is not shown to be what the workers waited on. Not ruled out (a read with no timeout of its
    own waits silently through a saturated connector too), it competes, and is never scaled alone."""
    s = facts.s
    lines = facts.matches_while_failing(LogSignal.WORKER_TIMEOUT)
    if not facts.logged_enough(lines, s.startup_failure_logs_min) or refusals(facts):
        return ""
    unreached, pooled = _path_waits(facts)
    waited = unreached + pooled >= s.db_error_logs_min
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.WORKER_TIMEOUT)}",
           f"{len(lines)} workers the application's server timed out or killed, e.g. {excerpt(lines[0].text)!r}; "
           f"{unreached} errors of reaching the database, {pooled} waits for a pooled connection",
           f">= {s.db_error_logs_min} errors of reaching the database or pool waits beside them: a worker stuck on "
           "the database path", waited, role="context")
    if waited:
        return ""
    return (f"the application's server timed its own workers out ({len(lines)}x, e.g. {excerpt(lines[0].text, limit=120)!r}): "
            f"each was stuck past its application server's timeout, which says it was stuck, not on what, and with "
            f"{unreached} errors of reaching the database and {pooled} waits for a pooled connection nothing shows "
            f"it waiting on the path through connector {facts.b.connector.short_name}, so its stress is not shown to "
            "explain the failures")


# What a person checks when the slowest requests hang while the median stays where it was.
SLOW_TAIL = ("find which requests wait (the request log's latency by URL: one endpoint, one query, a lock on some "
             "rows) and what they wait for; raise the connector's max instances only if the median latency of the "
             "requests that cross it rises too")
# What one lost packet adds to a request: TCP resends an unanswered SYN after its initial retransmission
# timeout of 1 s, then doubles it (RFC 6298, 2.1 and 5.5).
ONE_RETRANSMISSION_SECONDS = 1.0
# A connector that queues rather than drops slows every request that crosses it by its queue: a median
# that doubled has most requests slowed too. Runwarden's own bar (no documented figure): a median risen
# to this many times its usual, or by ONE_RETRANSMISSION_SECONDS, whichever is less, has risen.
MEDIAN_RISE_RATIO = 2.0


def _risen_bar(usual: float | None) -> float:
    """The median (s) at or above which it has risen with the hang: its usual plus the less of what a
    queue (MEDIAN_RISE_RATIO) and a lost packet (ONE_RETRANSMISSION_SECONDS) add; with no usual known
    (no minute before the window), one resend alone."""
    if usual is None:
        return ONE_RETRANSMISSION_SECONDS
    return usual + min(ONE_RETRANSMISSION_SECONDS, usual * (MEDIAN_RISE_RATIO - 1))


def _slow_tail(facts: Facts, c: Citation, stressed: list[str]) -> str:
    """Why the hang is not shown to be the connector's, or "": the symptom is a hang (p99 in the band) or
    504s (a 503 share only with the application's own timeout logged for it: below), and in most of the hung minutes
    the median latency (p50, all the revision's requests: percentiles.py) stayed under `_risen_bar`: short
    of twice its usual (the before window's median p50) and of its usual plus ONE_RETRANSMISSION_SECONDS.
    A connector that drops enough to hold a request 25-30 s needs four or five losses of one packet in a
    row (1 + 2 + 4 + 8 + 16 s, RFC 6298), a loss rate at which most requests that cross it lose one and
    wait a second or more; one that queues that long slows every request that crosses it: either way the
    median rises (scenario memorystore_pool_limit_busy_connector: 35 ms to ~900 ms). A few percent of requests
    waiting while the rest answer as usual is a slow tail (a slow query, a lock on some rows, one slow
    endpoint). Not ruled out: requests that never cross the connector (an endpoint that reads no database)
    keep the median down under any connector, so it competes, and is never scaled alone on a p99. A median
    not read keeps the finding as it was (the p99 comes from the same read, so this is a layout that could
    not be added).

    A 504 share says requests failed, not where they waited: the application's own handler timeout (an
    Express or Spring async timeout, a deadline of its own), or Cloud Run's request timeout reached by one
    route alone, ends one endpoint's slow requests as 504s while the rest answer as usual (scenario
    own_handler_504s_one_route_shared_connector_export). So with 504s the hung minutes are those whose p99
    reached hang_latency_seconds, at the timeout or under it, and the median is read there as for a hang:
    504s that are most of the requests put the median at the timeout, which has risen. 503s are read so
    only when the application logged its own framework's timeout for them (_own_timeout_503s); otherwise a
    503 share is judged as before: a saturated connector's failures end as 503s too."""
    s = facts.s
    requests = facts.requests(facts.incident)
    counted = requests.total >= s.min_requests
    own = _own_timeout_503s(facts, c) if counted and requests.share(code="503") >= s.status_ratio else None
    if own == []:
        return ""
    code = "503" if own else "504"
    cut = counted and requests.share(code=code) >= s.status_ratio
    if not cut and not hang_minutes(facts)[2]:
        return ""
    timeout = facts.request_timeout_seconds
    ceiling = float("inf") if cut else 0.9 * timeout
    hung = {at for at, v in facts.p99_by_minute(facts.incident) if s.hang_latency_seconds <= v < ceiling}
    medians = [v for at, v in facts.p50_by_minute(facts.incident) if at in hung]
    if not medians:
        return ""
    before = sorted(v for _, v in facts.p50_by_minute(facts.before))
    usual = before[len(before) // 2] if before else None
    bar = _risen_bar(usual)
    usual_text = latency(usual) if usual is not None else "unknown"
    rose = [v for v in medians if v >= bar]
    p99 = max(v for at, v in facts.p99_by_minute(facts.incident) if at in hung)
    failed = f"; {pct(requests.share(code=code))} of the requests {code}" if cut else ""
    observed = (f"p99 {'at a hang' if cut else 'in the hang band'} in {len(hung)} minutes (max {latency(p99)}), "
                f"median max {latency(max(medians))} there (usual {usual_text} in {facts.before}); "
                f"at {bar:.2f} s or more in {len(rose)} of {len(medians)}{failed}")
    risen = 2 * len(rose) >= len(medians)
    c.cite("metric", query_of(facts.b.latencies_p50, "request_latencies p50"), observed,
           f"a median at >= {bar:.2f} s (twice its usual, or {ONE_RETRANSMISSION_SECONDS:g} s more, whichever is "
           "less) in at least half of the hung minutes: a connector that holds requests that long slows most of "
           "those that cross it", risen,
           role="context" if risen else "refutes")
    if risen:
        return ""
    typical = sorted(medians)[len(medians) // 2]
    ended = (f", with {pct(requests.share(code='504'))} of the requests 504: requests cut at a timeout (the "
             "application's own handler or framework timeout, or the request timeout reached by one route), which "
             "says they failed, not where they waited") if cut else ""
    if own:
        ended = (f", with {pct(requests.share(code='503'))} of the requests 503 and the application's own timeout "
                 f"logged ({len(own)}x, {_framework_words(own)}): requests its own framework timed out and "
                 "answered 503, which says they failed, not where they waited")
    return (f"requests hang (p99 up to {latency(p99)} in {len(hung)} minutes) while the median held (median at "
            f"{latency(typical)}, usual {usual_text}; {bar:.2f} s or more in {len(rose)} of "
            f"{len(medians)} minutes){ended}: a slow tail (a slow query, a lock "
            f"on some rows, one slow endpoint), not shown to be connector {facts.b.connector.short_name}'s, which "
            f"shows {', '.join(stressed)}: a connector that holds requests 25 s or more (four or five resends of a "
            "lost packet) makes most requests that cross it wait a second or more")


# What a person checks when 503s end at a fixed latency under the hang bar and nothing logs a wait.
UNLOGGED_503S = ("find what ends the requests at that latency: a timeout of the application's own that answers 503 "
                 "and logs nothing (Go's http.TimeoutHandler, Express's connect-timeout, Spring MVC's async request "
                 "timeout, a proxy's or a sidecar's), and what the timed-out handlers wait for (log their database "
                 "and HTTP calls' errors and durations); raise the connector's max instances only if those calls "
                 "show waits to cross it (dial or read timeouts, a pool that ran out)")


def _waits_logged(facts: Facts) -> list[LogRecord]:
    """The lines the application logged of a wait on any path while the requests failed: errors of reaching
    the database and waits for a pooled connection (`_path_waits`), HTTP and RPC calls that timed out or
    failed to dial (UPSTREAM_TIMEOUT, log_signals.dial_failure and downstream_wait), Google API deadlines,
    names not resolved. The lines, not their number: each is counted over the read that carries it
    (Facts.logged_enough)."""
    seen = {id(e): e for signal in (LogSignal.UPSTREAM_TIMEOUT, LogSignal.GOOGLE_API_WAIT, LogSignal.DNS_FAILURE)
            for e in facts.log_matches(signal)}
    dialled, waited = facts.logs.dials, facts.logs.waits
    dials = [e for e in facts.logs.app if id(e) not in seen and (dialled[e.text] or waited[e.text] is not None)]
    return [*_unreached_lines(facts), *facts.database_lines(LogSignal.DB_POOL_WAIT), *seen.values(), *dials]


# What a person checks when Connector/J said only "Communications link failure" and nothing says the path waited.
LINK_FAILURES_ALONE = ("find why the connections ended: the driver's full exception (its 'Caused by:' line and the "
                       "'last packet' timing, which the log line dropped), the database's log (a restart, a failover, "
                       "wait_timeout against the pool's idle time: HikariCP's maxLifetime and keepaliveTime); raise "
                       "the connector's max instances only if dials time out or requests hang crossing it")


def _link_failures_alone(facts: Facts, c: Citation, stressed: list[str]) -> str:
    """Why the connector is not shown to be the cause, or "": the errors of reaching the database are
    Connector/J's "Communications link failure" with no cause said (Facts.db_bare_link_failures; log_signals.
    bare_link_failure cites the driver's message), at least db_error_logs_min of them, while fewer than that
    many lines say a wait on any path (`_waits_logged` less them: no dial or read timeout, no pool wait) and
    no failing minute's p99 reaches hang_latency_seconds (or none was read). The driver says those words for
    any end of a connection (a server restart, wait_timeout, an idle timeout, a refused dial): they do not say
    the path was slow, so the connector competes and is not scaled on them alone. A hang, or dial timeouts
    beside them, say the path is slow, and the case is judged as before."""
    s = facts.s
    if facts.b.logs is None or facts.failing_window is None:
        return ""
    hangs = [v for at, v in facts.p99_by_minute(facts.failing_window) if at > facts.failing_since]
    if hangs and max(hangs) >= s.hang_latency_seconds:
        return ""       # the hang band says the path is slow: asked first, it reads no line
    bare = facts.db_bare_link_failures
    if not facts.logged_enough(bare):
        return ""
    others = lines_but(_waits_logged(facts), bare)
    if facts.logged_enough(others):
        return ""
    p99 = f"p99 {latency(min(hangs))} to {latency(max(hangs))}" if hangs else "p99 not read"
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CONNECTION)}",
           f"{len(bare)} of Connector/J's 'Communications link failure' with no cause said (no 'last packet' timing, "
           f"no 'Caused by:', no refusal or timeout); {len(others)} other lines of a wait on any path; {p99} in the "
           f"failing minutes; the connector shows {', '.join(stressed)}",
           f"dial or read timeouts (>= {s.db_error_logs_min} lines) or a hang (p99 >= {s.hang_latency_seconds:g} s) "
           "beside a link failure for the path to be slow", False, role="context")
    return (f"connector {facts.b.connector.short_name} shows {', '.join(stressed)}, but the errors of reaching the "
            f"database are {len(bare)} of Connector/J's 'Communications link failure' with no cause said, which the driver "
            "says for any end of a connection (a server restart or failover, wait_timeout or an idle timeout closing "
            f"a pooled connection, a refused dial), with {len(others)} lines of a dial or read timing out and {p99}, under "
            f"the hang bar of {s.hang_latency_seconds:g} s: nothing shows the path was slow")


def _unlogged_503s(facts: Facts, c: Citation, stressed: list[str]) -> str:
    """Why the 503s are not shown to be the connector's, or "": a 503 share, no failing minute's p99 at
    hang_latency_seconds (the requests end at a latency of their own, under a client timeout's), no refusal,
    fewer than db_error_logs_min lines of a wait on any path (`_waits_logged`) and fewer than that many of
    Cloud Run's own 503 lines (`_platform_503s`: those answers are Cloud Run's, not the application's), with
    the service's logs read. A connector passes packets and answers nothing: a request it holds waits on a
    dial or a read, and the application then logs that wait (a dial or read timeout, a pool that ran out, an HTTP call
    timed out), or the request hangs at a client timeout. 503s ended at a latency of the application's
    choosing with none of that are a timeout of its own that logs nothing: Go's http.TimeoutHandler
    "responds with a 503 Service Unavailable error and the given message in its body" and logs nothing
    itself (golang/go src/net/http/server.go); Express's connect-timeout passes `createError(503, 'Response
    timeout', {code: 'ETIMEDOUT'})` to next() (expressjs/timeout index.js), logged only as the application's
    error handler chooses;
    Spring MVC's async request timeout answers 503 (its resolver's WARN line, `app_timeout_503`, is read
    by `_own_timeout_503s`; an application that raised that logger's level logs nothing). The handler a
    timeout cut may wait on anything, the connector among them: not ruled out, it competes, and is never
    scaled alone on 503s nothing shows waiting to cross it. With the logs unread nothing is known of what
    was logged: this says nothing ("")."""
    s = facts.s
    requests = facts.requests(facts.incident)
    if facts.b.logs is None or facts.failing_window is None or refusals(facts):
        return ""
    if requests.total < s.min_requests or requests.share(code="503") < s.status_ratio:
        return ""
    failing = [v for at, v in facts.p99_by_minute(facts.failing_window) if at > facts.failing_since]
    if not failing or max(failing) >= s.hang_latency_seconds:
        return ""
    waits = _waits_logged(facts)
    if facts.logged_enough(waits) or facts.logged_enough(_platform_503s(facts)):
        return ""
    c.cite("metric", facts.latencies_query,
           f"p99 {latency(min(failing))} to {latency(max(failing))} in the {len(failing)} failing minutes, with "
           f"{pct(requests.share(code='503'))} of the requests 503; {len(waits)} lines of a wait on any path logged "
           f"(errors of reaching the database, pool waits, HTTP or RPC calls timed out); the connector shows "
           f"{', '.join(stressed)}",
           f"a wait logged (>= {s.db_error_logs_min} lines) or a hang (p99 >= {s.hang_latency_seconds:g} s) for 503s "
           "to be the connector's", False, role="context")
    return (f"connector {facts.b.connector.short_name} shows {', '.join(stressed)}, but the 503s "
            f"({pct(requests.share(code='503'))} of the requests) end at p99 {latency(min(failing))} to {latency(max(failing))}, "
            f"under the hang bar of {s.hang_latency_seconds:g} s, and the application logged no wait on any path "
            f"({len(waits)} errors of reaching the database, pool waits or timed-out calls): a timeout of its own that "
            "answers 503 and logs nothing ends requests so; a request a saturated connector holds logs its dial or "
            "read timing out, or hangs at a client timeout")


def _platform_503s(facts: Facts) -> list[LogRecord]:
    """Cloud Run's own 503 lines in the failing minutes ("The request failed because either the HTTP
    response was malformed or connection to the instance had an error": LogSignal.CONNECTOR_503). Cloud Run
    wrote those answers, not a timeout of the application's: its troubleshooting page names a downstream
    network bottleneck, a Serverless VPC Access connector's among them, as one of their causes
    (docs.cloud.google.com/run/docs/troubleshooting, the request log's texts), so they never make the 503s
    the application's own."""
    return facts.matches_while_failing(LogSignal.CONNECTOR_503)


def _own_timeout_503s(facts: Facts, c: Citation) -> list[LogRecord]:
    """With a 503 share: the application's own words for a timeout it answered 503 (signal app_timeout_503:
    Spring MVC's AsyncRequestTimeoutException, Go's "http: Handler timeout"; log_signals.py), at least
    db_error_logs_min of them while the requests failed, and fewer than db_error_logs_min errors of
    reaching the database and waits for a pooled connection together; else [] (the 503s are judged as
    before: a saturated connector's failures end as 503s too). A 503 share alone does not say whose the
    503s are; the framework's own line does, and a wait logged on the database path puts them back on it."""
    s = facts.s
    lines = facts.matches_while_failing(LogSignal.APP_TIMEOUT_503)
    if not lines or not facts.logged_enough(lines):
        return []
    unreached, pooled = _path_waits(facts)
    waited = unreached + pooled >= s.db_error_logs_min
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.APP_TIMEOUT_503)}",
           f"{len(lines)} requests the application's own framework timed out (answered 503), e.g. "
           f"{excerpt(lines[0].text)!r}; {unreached} errors of reaching the database, {pooled} waits for a pooled "
           "connection", f">= {s.db_error_logs_min} errors of reaching the database or pool waits beside them: a "
           "request that waited on the database path", waited, role="context")
    return [] if waited else lines


def _framework_words(lines: list[LogRecord]) -> str:
    """The framework's own words the lines hold (its exception's or error's name), for the summary."""
    return ", ".join(sorted({words_of(LogSignal.APP_TIMEOUT_503, text) for text in distinct_texts(lines)} - {""}))


def _sql_up(facts: Facts, c: Citation) -> bool | None:
    """True if every known Cloud SQL instance stayed up while requests failed, False if one went
    down, None if unknown (sql_down_while_failing)."""
    sql = sql_down_while_failing(facts, c)
    if sql is None:
        unreported, lagging = sql_unreported(facts), sql_lagging(facts)
        observed = (f"no point for {', '.join(unreported[0])} in {unreported[1]}: unknown" if unreported else
                    lagging or "unknown (no Cloud SQL instance named, or no data)")
        c.cite("metric", query_of(facts.b.sql_up, "cloudsql database/up"), observed, "up = 1 throughout", None)
        return None
    down, seen = sql
    c.cite("metric", facts.b.sql_up.query, seen, "up = 1 throughout", not down)
    return not down


# What a person can do once the API has nothing bigger to give (VPC Access: at most 10 instances,
# e2-standard-4 the largest machine type): split the load, or send less through the connector.
BEYOND_THE_CEILING = ("add a second connector and move some services to it, move the service to Direct VPC "
                      "egress, or shrink each instance's connection pool so fewer connections cross the connector")


def _recommendation(connector, stressed: list[str], evidence: list[EvidenceItem]) -> str:
    """Agrees with the connector as it is and with what planning then does from the same facts
    (shared/remediation/planning.py, _scale_connector): never a scale of a connector not READY, never a
    move to the machine type it already has, never a higher max its instances never reached."""
    if connector.state == "READY":
        return _next_step(connector, stressed, evidence)
    if connector.state in CHANGE_UNDER_WAY:
        return (f"{connector.short_name} is {connector.state}: another change of it is under way; scale it only "
                f"once READY: {_next_step(connector, stressed, evidence)}")
    return f"{connector.short_name} is {connector.state}: {CANNOT_SCALE}"


def _next_step(connector, stressed: list[str], evidence: list[EvidenceItem]) -> str:
    cpu = any(s.startswith("CPU") for s in stressed)
    shared_core = connector.machine_type in ("e2-micro", "f1-micro")
    peak = max_not_reached(evidence, connector.max_instances)
    below = max_not_reached_words(peak, connector.max_instances) if peak is not None else ""
    if shared_core and cpu:
        return (f"move {connector.short_name} from {connector.machine_type} to e2-standard-4 (packet rate exhausts "
                "CPU)" + (f"; {below}" if below else ""))
    if below:
        return (f"{connector.short_name}: {below}: " + ("move it to e2-standard-4, or " if shared_core else "")
                + BEYOND_THE_CEILING)
    if connector.max_instances < 10:
        return f"raise {connector.short_name} max instances above {connector.max_instances} (ceiling 10)"
    if shared_core:
        return (f"{connector.short_name} is at the API's ceiling of 10 instances: move it to e2-standard-4, or "
                + BEYOND_THE_CEILING)
    return (f"{connector.short_name} is already {connector.machine_type} at the API's ceiling of 10 instances: "
            + BEYOND_THE_CEILING)
    return (f"{connector.short_name} is already {connector.machine_type} at the API's ceiling of 10 instances: "
            + BEYOND_THE_CEILING)
