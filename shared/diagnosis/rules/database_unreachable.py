"""database_unreachable: Cloud SQL is down (database/up = 0), the application logs database
connection errors while the connector is healthy, or the database answers the application with a
refusal (connection limit, credentials, permission, read-only, restarting): an answer proves the
path to it works, so a busy connector does not explain those."""
from __future__ import annotations

import re
from datetime import datetime
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import NamedTuple

from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.latency_words import latency
from shared.diagnosis.evidence import Connector, LogRecord, Revision, all_logged_by, short_name
from shared.diagnosis.facts import FAILING_LEAD, SQL_CPU_SATURATION, SQL_GAP_SECONDS, Facts, Window, hms, query_of
from shared.diagnosis.env_hosts import (asks_for, connection_names, connection_target_changed, database_address_changed,
                                     database_ports_brought, deploy_brought, deploy_brought_instance, holds_setting,
                                     target_brought)
from shared.diagnosis.log_signals import (POOLER_WAIT, REFUSAL_ADVICE, USERINFO_IN_HOST_ADVICE, LogSignal, Refusal,
                                          closed_connection, database_dial_hosts, database_dial_ports, database_engine,
                                          dial_timed_out, is_pooler_wait, names_another_host, node_host_name_words,
                                          pattern_of, per_text, pool_size, read_timed_out, refresh_failed, refusal_quote,
                                          sql_user_changes_clause, startup_timed_out, userinfo_in_host)
from shared.diagnosis.rules.base import Citation, duration, pct
from shared.diagnosis.rules.connector_signs import dials_around_connector, failing_revision, new_stress
from shared.diagnosis.rules.database_signs import (SLOW_DATABASE, STALE_READS, UP_AGAIN_MIN_POINTS, UpAgain,
                                                   no_failed_dial, on_an_open_connection, outage_inside_failures,
                                                   sql_down_while_failing, sql_still_down, sql_up_again)
from shared.diagnosis.rules.deploy_changes import (ADMIN_API_REFUSALS, cite_hosts_brought, cite_instance_brought,
                                                  max_instances, requests_per_instance)
from shared.diagnosis.rules.never_left import NOTHING_TO_SCALE, never_left_advice, never_left_observed, only_never_left
from shared.diagnosis.pool_settings import pool_size_raised
from shared.diagnosis.server_fatal import names_the_database, names_the_user
from shared.diagnosis.secret_refs import (OFF, ON, env_read_from_secrets, iam_login_asked, iam_login_changed,
                                          names_a_credential, pinned_env_changed, pinned_env_moved, pinned_secrets_changed,
                                          plain_credentials_changed, where_read)
from shared.diagnosis.ip_type_settings import ip_type_changed, ip_types_asked, refused_ip_type
from shared.diagnosis.tls_settings import tls_settings_changed, verifies_server
from shared.diagnosis.rules.refusals import (names_said as _names_said, refusals, refused_hosts, refused_observed,
                                            user_changes, users_logging_in)
from shared.diagnosis.signatures import Finding, Signature


def _too_few(count: int) -> str:
    """What the rule counted, said so that other database words in the logs (a connection found closed after it was
    open, a query cancelled) are not read as "none at all": only failed, timed-out or refused connects are counted."""
    counted = "no errors" if count == 0 else f"only {count} error{'s' if count > 1 else ''}"
    return (f"{counted} of connecting to the database (a connect that failed, timed out or was refused; "
            f"a connection found closed after it was open is not one)")


def evaluate(facts: Facts) -> Finding:
    s = facts.s
    c = Citation(Signature.DATABASE_UNREACHABLE)
    sql = sql_down_while_failing(facts, c)
    down = sql[0] if sql else []
    if sql is not None:
        # The condition checked is "up throughout" the failing minutes: holding refutes "database down".
        c.cite("metric", facts.b.sql_up.query, sql[1], "up = 1 throughout", not down,
               role="supports" if down else "refutes")
    if down:
        back = sql_up_again(facts, down)
        if len(back) == len(down):
            return _down_and_back(facts, c, back, sql[1])
        return c.yes(0.9, _still_down_words(facts, c, down) + f" (database/up over the minutes judged: {sql[1]})",
                     subject=down[0],
                     recommendation="check the Cloud SQL instance (its state and activation policy, its operations: "
                                    "maintenance, failover, a stop or restart, a crash); no automatic action")

    errors = facts.database_lines(LogSignal.DB_CONNECTION)
    enough = len(errors) >= s.db_error_logs_min
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CONNECTION)}",
           f"{len(errors)} database connection errors" + (f", e.g. {excerpt(errors[0].text)!r}" if errors else ""),
           f">= {s.db_error_logs_min}", enough)
    earlier = facts.database_lines_before(LogSignal.DB_CONNECTION)
    if len(earlier) >= s.db_error_logs_min and facts.failing_window is not None:
        # A restart or failover that ended before the failures began (as database/up's blip).
        c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CONNECTION)}",
               f"{len(earlier)} more only before the failures began (before {hms(facts.failing_window.start)}), "
               f"e.g. {excerpt(earlier[0].text)!r}",
               "logged while requests failed (from the first failing minute, less "
               f"{int(FAILING_LEAD.total_seconds() // 60)} min)", False, role="context")
    if not enough:
        saturated = _saturated_while_slow(facts, c)
        if saturated:
            return c.doubt(saturated, SLOW_DATABASE)
        pooled = _pooler_waits(facts, c)
        if pooled:
            return c.doubt(pooled, _POOLER_WAIT_ADVICE)
        waits = pool_waits(facts, c)
        return c.no(f"Cloud SQL is up (or unknown) and the application logs {_too_few(len(errors))}"
                    + (f"; it waits for its own connection pool ({waits}x): requests wait on the database path "
                       "(slow queries or a slow path hold the connections, or the pool is too small for the "
                       "load), which is not the database refusing or unreachable" if waits else ""))
    refused = refusals(facts)
    if refused:
        # The database answered: whatever the connector shows, it carried these.
        c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_REFUSED)}", refused_observed(facts),
               f">= {s.db_error_logs_min} refusals: the database answered, so the path to it works", True)
        for own, query, threshold in _DEPLOYS_OWN:
            why = own(facts, refused)
            if why:
                c.cite("api", query, why, threshold, False)
                return c.no(why)
        renamed = _deploy_named_the_host(facts, c, refused) or _deploy_named_the_instance(facts, c, refused)
        if renamed:
            return c.no(renamed)
        # The most said first, at most _NAMED of them in words (the evidence item counts every kind).
        named = list(refused.items())[:_NAMED]
        more = len(refused) - len(named)
        limited = bool(refused.keys() & _LIMITS)
        raised = _raised_max_instances(facts, c) if limited else ""
        held = _pools_held(facts, c) if limited else ""
        return c.yes(0.8, _who_answered(refused) + ": " + "; ".join(
                         f"{_kind_said(kind, entries)} ({len(entries)}x, e.g. {refusal_quote(entries[0].text)!r})"
                         for kind, entries in named)
                     + (f"; and {more} other kinds of refusal (see the evidence)" if more else "")
                     + (f"; {raised}" if raised else "") + (f"; {held}" if held else ""),
                     recommendation="no automatic action (Runwarden never writes to Cloud SQL); check "
                                    + "; and ".join(_refusal_advice(facts, kind, entries) for kind, entries in named))
    moved = facts.deploy_changed_path(errors)
    if moved is not None:
        # The path itself is the deploy's: the revision before reached the database on its own path
        # until the deploy, and sending traffic back restores it (bad_revision judges the deploy).
        suspect, previous, changed = moved
        c.cite("api", "run.revisions.list: vpc_access (connector, egress, network_interfaces)",
               f"{suspect.short_name} changed the path to its VPC {changed} (against {previous.short_name}); "
               f"every one of the {len(errors)} errors is {suspect.short_name}'s",
               "errors of reaching the database only from a new revision that reaches its VPC another way", False)
        return c.no(f"the errors of reaching the database all come from {suspect.short_name}, whose deploy changed "
                    f"its path to the VPC {changed}: they are the new revision's own (bad_revision)")
    brought = _deploy_brought_the_address(facts, c, errors)
    if brought:
        return c.no(brought)
    inside = _never_left(facts, c, errors)
    if inside is not None:
        return inside
    revision, carried = failing_revision(facts, c)
    connector = _connector_of(facts, revision)
    healthy = _connector_healthy(facts, c, revision, connector)
    if healthy is False:
        state = connector.state if connector else "READY"
        if state != "READY":
            # connector_saturation names the broken connector as a cause not ruled out (it competes).
            return c.no(f"the connector is {state}: the connection errors may be its fault, not the database's")
        if all(map(closed_connection, dict.fromkeys(e.text for e in errors))):   # stops at the first that is not
            # Connections found closed at once are no sign of saturation (connector_saturation's
            # `_answered_at_once` says whether they came at once): the server or the path closed them.
            return c.no("the connector is saturated, but the connection errors say only that open connections were "
                        "found closed (the server ended them, or the path forgot them): not the database "
                        "unreachable")
        if all(map(refresh_failed, dict.fromkeys(e.text for e in errors))):   # stops at the first that is not
            # A connector library's refresh (its Admin API calls) fails before any dial: no symptom of the
            # connector's load on the database's path (connector_saturation's `_refreshes_failed` names it).
            return c.no("the connector is saturated, but the connection errors are a Cloud SQL connector's refreshes "
                        "that failed (its Cloud SQL Admin API calls, before any dial): neither the database "
                        "unreachable nor the connector's symptom")
        return c.no("the connector is saturated: the connection errors are its symptom")
    reads = _reads_on_open_connections(facts, c)
    if reads:
        return c.doubt(reads, STALE_READS + "; no automatic action")
    late = _startups_beside_a_saturated_database(facts, c, errors)
    if late:
        return c.doubt(late, SLOW_DATABASE + "; no automatic action")
    # Logs alone, with the connector's health unknown, leave the path to the database in doubt.
    confidence = 0.8 if healthy else 0.6
    around = dials_around_connector(facts)
    direct = _direct_egress(revision) if healthy and connector is None else ""
    path = ("on a path that does not cross the connector (a public address, egress PRIVATE_RANGES_ONLY)" if around
            else _beyond_the_connector(connector) if healthy and connector is not None else
            _beyond_direct_egress(direct) if direct else
            "over Cloud Run's own egress (the revision has no VPC access), a path Runwarden reads no metric of"
            if healthy else _unknown_path(connector, revision))
    # In a split, which revision's path that is: the one carrying the failing traffic.
    path += f" (the failing traffic is {carried})" if carried else ""
    return c.yes(confidence, f"the application cannot connect to its database ({len(errors)} errors) {path}",
                 recommendation=(_PAST_THE_CONNECTOR.format(connector=connector.short_name,
                                                            range=_range(connector))
                                 if healthy and connector is not None and not around else
                                 _PAST_DIRECT_EGRESS.format(egress=direct) if direct else "")
                 + "check Cloud SQL reachability, credentials and connection limits; no automatic action")


def _down_and_back(facts: Facts, c: Citation, back: dict[str, UpAgain], seen: str) -> Finding:
    """Every instance that went down in the minutes judged is up again by their end (database_signs.up_again):
    the database explains the failures that began with its outage, and is no longer down. Said with when it
    went down, since when it is up, and how the service's own requests fared since (`_since_back`): a service
    still failing with its database back is failing for another reason too (a pool holding connections the
    restart ended, say). An HA failover brings the instance up in the other zone "with the same IP address"
    (Cloud SQL docs, "About high availability", "Availability in Cloud SQL"), so clients reconnect to the
    same address. Lower than a database still down (0.9): the outage is over, and the rule does not claim it
    goes on; still escalated, since the service's minutes since may not be settled. `seen`: what
    Facts.sql_down saw over the minutes judged, quoted as the outage's words quote it."""
    for db, up in back.items():
        c.cite("metric", facts.b.sql_up.query,
               f"{db}: {_went_down(up)}, 1 again from {hms(up.up_since)} ({up.points} points through "
               f"{hms(up.newest)})", f">= {UP_AGAIN_MIN_POINTS} points of 1 in a row to the end of the minutes read, "
               f"none more than {SQL_GAP_SECONDS} s apart: up again", True, role="context")
    since = max(up.up_since for up in back.values())
    service, still = _since_back(facts, c, since)
    inside = _outage_inside(facts, c, back, since) if still else ""
    # Ruled out beside another cause, snapshotting its evidence now; the answer below stands only when no cause
    # does (diagnose._verdict), saying that the failures outside the outage are left unexplained.
    ruled_out = c.beside(inside) if inside else None
    stale = _pool_kept_dead(facts, c, since) if still else ""
    service += f"; {stale}" if stale else ""
    service += (f"; the service failed from {hms(facts.failing_since)}, before the database went down, so the outage "
                "explains the failures in its own minutes only, and no other cause was found for those outside it"
                if inside and facts.failing_since else "")
    flapped = [db for db, up in back.items() if up.downs > 1]
    words = "; ".join(f"Cloud SQL {db} {_went_down(up)} and is up again since {hms(up.up_since)} (database/up 1 "
                      f"through {hms(up.newest)}" + (f", after going down {up.downs} times, last at {hms(up.last_down)}"
                                                       if up.downs > 1 else "")
                      + ")" for db, up in back.items()) + f"; database/up over the minutes judged: {seen}"
    found = c.yes(0.6 if still is not False else 0.7, f"{words}. The requests failed while it was down; "
                  + service,
                  subject=next(iter(back)),
                  recommendation="the database is up again: check the Cloud SQL instance's operations and error log "
                                 "for what took it down (maintenance, a failover, a restart, a crash)"
                                 + (" and why it went down more than once" if flapped else "")
                                 + (_RESTART_INSTANCES.format(since=hms(since)) if stale else
                                    "; then the service: its connection pool may hold connections the outage ended "
                                    "(validate connections before use, as SQLAlchemy's pool_pre_ping or HikariCP's "
                                    "keepaliveTime do) and its own logs since " + hms(since) if still else
                                    "; watch the service's requests until its minutes since " + hms(since)
                                    + " are settled")
                                 + (f"; and what failed the service from {hms(facts.failing_since)}, before the outage"
                                    if ruled_out and facts.failing_since else "")
                                 + "; no automatic action")
    return found if ruled_out is None else ruled_out.model_copy(update={"otherwise": found})


def _outage_inside(facts: Facts, c: Citation, back: dict[str, UpAgain], since: datetime) -> str:
    """Why an outage that is over is not the failures' cause, or "": the service failed before the database went
    down and still fails since it came back, and every line of reaching the database or of its refusal was logged
    within the outage (database_signs.outage_inside_failures). A bad deploy's errors with a one-minute restart in
    their minutes: the restart is named as context, and the failures are left to the rule that explains them all."""
    failing_since = facts.failing_since
    # No line of reaching the database proves the outage was not the cause only where the lines were read: the
    # service's logs unread, or the window's first minutes cut from the page, leave both causes competing.
    if failing_since is None or facts.logs_unread or facts.page_cut:
        return ""
    went = min(up.down_at for up in back.values())
    lines = [line for signal in (LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED)
             for line in facts.database_lines(signal) + facts.database_lines_before(signal)]
    if not outage_inside_failures(failing_since, went, since, [line.timestamp for line in lines]):
        return ""
    observed = (f"failing since {hms(failing_since)}, before the database went down at {hms(went)}; "
                f"{len(lines)} line(s) of reaching the database or of its refusal, all between {hms(went - FAILING_LEAD)} "
                f"and {hms(since + FAILING_LEAD)}")
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CONNECTION)}", observed,
           "failures that began more than {0} min before the outage, and no such line outside it (less and more "
           "{0} min)".format(int(FAILING_LEAD.total_seconds() // 60)), False, role="refutes")
    return (f"the database was down inside the failures, not at their start: the service failed from "
            f"{hms(failing_since)}, before Cloud SQL {', '.join(back)} went down at {hms(went)}, and still fails since it "
            f"was up again at "
            f"{hms(since)}, with no error of reaching the database logged outside the outage: context, not the cause")


def _still_down_words(facts: Facts, c: Citation, down: list[str]) -> str:
    """What the summary says of instances down at the end of the minutes judged: for each, since when
    (database_signs.down_since: its first point below 1 after its last 1, or that 1 when it fell silent first)
    and how long before the read (or before a single point of 1 read again at the end), cited; an instance the
    series cannot date (down only by a gap between 1s) keeps the words that do not say which: a series that
    stopped reporting is not shown up either (Facts.sql_down). Before, none said since when, so a person could not tell an outage
    of two minutes from one of two hours."""
    dated = sql_still_down(facts, down)
    read = facts.b.collected_at
    words = []
    for db in down:
        still = dated.get(db)
        if still is None:
            words.append(f"Cloud SQL {db} went down or stopped reporting database/up")
            continue
        since = hms(still.since)
        # With a single 1 read again at the end, the outage is dated up to it, not to the read.
        ago = (f"{duration((still.again - still.since).total_seconds())} to {hms(still.again)}" if still.again else
               f"{duration((read - still.since).total_seconds())} at the read")
        if still.silent and still.newest == still.since:
            said = f"Cloud SQL {db} stopped reporting database/up after {since} (its last point, a 1): silent {ago}"
        elif still.silent:
            said = (f"Cloud SQL {db} stopped reporting database/up after {since} (its last 1), then read 0 through "
                    f"{hms(still.newest)}: down since {since}, {ago}")
        elif still.known:
            said = (f"Cloud SQL {db} is down since {since} (its first database/up 0 after its last 1), still 0 at its "
                    f"newest point {hms(still.newest)}: down {ago}")
        else:
            said = (f"Cloud SQL {db} is down since before {since} (database/up 0 at every point read, through "
                    f"{hms(still.newest)}): down at least {ago}")
        if still.first is not None:
            said += f", after going down first at {hms(still.first)} and reading 1 again between"
        if still.again is not None:
            said += (f"; 1 again at {hms(still.again)} only, fewer than {UP_AGAIN_MIN_POINTS} points in a row: not yet "
                     "read as up again")
        c.cite("metric", facts.b.sql_up.query, said, "the first point below 1 after the last 1 (or the last 1 before a "
               f"silence of more than {SQL_GAP_SECONDS} s): when it went down", True, role="context")
        words.append(said)
    return "; ".join(words)


# What a person does when the service's pool still hands out connections the outage ended: new instances open new
# connections, and a connector change reopens none (the failures are answered at once, on connections found dead).
_RESTART_INSTANCES = ("; then the service, which has not recovered since {since}: replace its instances (deploy a new "
                      "revision of the same configuration: new instances open new connections), not the connector, "
                      "which these failures never waited on; and have its pool validate connections before use "
                      "(SQLAlchemy's pool_pre_ping, HikariCP's keepaliveTime, Go's SetConnMaxIdleTime) so the next "
                      "failover does not leave it so")


def _pool_kept_dead(facts: Facts, c: Citation, since: datetime) -> str:
    """What the service's errors of reaching the database logged after its database came back say, or "": at
    least db_error_logs_min of them (counted as read: they support no action, only words and advice) and at least
    half on a connection made before (database_signs.on_an_open_connection: found closed, reset or lost mid-query,
    MySQL Connector/J's link failure after packets received among them, log_signals.closed_connection): the database
    is up, and the service still meets connections the outage ended, its pool handing them out."""
    lines = [e for e in facts.database_lines(LogSignal.DB_CONNECTION) if e.timestamp > since]
    made = per_text(on_an_open_connection, lines)
    ended = [e for e in lines if made[e.text]]
    if len(ended) < facts.s.db_error_logs_min or 2 * len(ended) < len(lines):
        return ""
    said = (f"{len(ended)} of its {len(lines)} errors of reaching the database logged since {hms(since)} are on "
            f"connections made before (found closed, reset or ended, e.g. {excerpt(ended[0].text)!r})")
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CONNECTION)}", said,
           f">= {facts.s.db_error_logs_min}, and at least half, on connections made before the database came back: "
           "its pool still hands out connections the outage ended", True, role="supports")
    return said + ": its pool still hands out connections the outage ended"


def _went_down(up: UpAgain) -> str:
    """When an instance up again went down, in database/up's words."""
    return (f"stopped reporting database/up after {hms(up.down_at)}" if up.silent else
            f"went down (database/up 0 at {hms(up.down_at)})")


def _since_back(facts: Facts, c: Citation, since: datetime) -> tuple[str, bool | None]:
    """What the service's requests since its database came back show, and whether it still fails: True
    (its 5xx and 429 above healthy_error_ratio), False (at or below it), None (too few requests to tell,
    fewer than min_requests). Minutes not whole yet (Facts.complete_until) are named: they may still hold
    failures, which is why this finding escalates rather than calling the service healthy."""
    s, window = facts.s, Window(since, facts.incident.end)
    seen = facts.requests(window)
    whole = facts.complete_until
    partial = f" (whole up to {hms(whole)} only)" if whole is not None and whole < window.end else ""
    share = seen.refused_ratio
    observed = f"{seen.refused:.0f} 5xx or 429 of {seen.total:.0f} requests ({share:.1%}) in {window}{partial}"
    still = None if seen.total < s.min_requests else share > s.healthy_error_ratio
    c.cite("metric", facts.requests_query, observed,
           f"<= {s.healthy_error_ratio:.1%} 5xx or 429 over >= {s.min_requests} requests since the database was up "
           "again", still is False, role="context")
    if still is None:
        return f"too few requests since it came back to tell whether the service recovered ({observed})", None
    if still:
        return (f"but the service still fails since it came back: {observed}; what still fails is not the outage "
                "alone"), True
    return (f"the service's requests since it came back: {observed}; whether its failures have "
            "ended is not settled" + (" until those minutes are whole" if partial else "")), False


def _never_left(facts: Facts, c: Citation, errors: list[LogRecord]) -> Finding | None:
    """The finding when the errors of reaching the database never left the service's instances
    (rules/never_left.py: at least db_error_logs_min of them, fewer than that of the others), else
    None. Nothing of theirs reached the path or the database, so neither is shown at fault (whatever
    the connector shows) and a person looks inside the instance. When every one is the recent
    deploy's new revision's (Facts.recent_deploy), that revision may have brought them (a proxy
    sidecar left out, a socket path or a host changed, a leak): whether it did, bad_revision judges
    (the revision before served cleanly, the failures began with the deploy), so this steps aside."""
    found = only_never_left(facts)
    if not found:
        return None
    observed = never_left_observed(found)
    deploy = facts.recent_deploy()
    suspect = deploy[0].short_name if deploy else ""
    if suspect and all(e.resource_labels.get("revision_name") == suspect for es in found.values() for e in es):
        c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CONNECTION)}", f"{observed}; all {suspect}'s",
               "errors that never left the instance, logged by revisions the recent deploy did not make", False)
        return c.no(f"the errors of reaching the database never left the service's instances ({'; '.join(found)}) "
                    f"and all come from {suspect}, deployed {duration(deploy[2])} before the incident: whether "
                    "the deploy brought them is bad_revision's to judge")
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CONNECTION)}", observed,
           "errors that never left the instance: neither the database nor the path to it is shown at fault", True,
           role="supports")
    count = sum(map(len, found.values()))
    return c.yes(0.7, f"the application's connections to its database fail inside its own instances ({count} "
                      f"errors: {'; '.join(found)}), before any reached the path or the database",
                 recommendation=f"{never_left_advice(found)}; {NOTHING_TO_SCALE}; no automatic action")


def _connector_of(facts: Facts, revision: Revision | None) -> Connector | None:
    """The connector read (collection reads the newest serving revision's that has one) when it is the
    one `revision`, the revision that carries the failing traffic (connector_signs.failing_revision),
    routes through; None when that revision has no connector or routes through another, not read."""
    connector = facts.b.connector
    if revision is None or connector is None or connector.name != revision.vpc_connector:
        return None
    return connector


def _unknown_path(connector: Connector | None, revision: Revision | None) -> str:
    """The summary's path when the failing revision's connector's health is unknown."""
    if connector is not None:
        return (f"while the health of connector {connector.short_name} on its path is unknown (neither its instance "
                "count nor its CPU has a point in the window)")
    if revision is not None and revision.vpc_connector:
        return (f"while the health of connector {short_name(revision.vpc_connector)}, which {revision.short_name} "
                "routes through, is unknown (not read)")
    return "while the path to it is unknown"


def _deploy_brought_the_address(facts: Facts, c: Citation, errors: list[LogRecord]) -> str:
    """Why the errors of reaching the database are the new revision's own, or "": every one came from
    the newest serving revision, deployed within deploy_window_seconds (`recent_deploy`); at least
    db_error_logs_min of them, and at least half, name the database address they dialled
    (log_signals.database_dial_hosts: Go's and Node's dials, pgjdbc's "Connection to H:P refused" and
    HikariCP's wrappings of it, libpq's "connection to server at", a JDBC URL on the line); and every
    address they name is named by a plain env value of that revision and by none of the Ready
    revision before it, whose plain env was read (env_hosts.deploy_brought; Cloud Run Admin v2
    Revision.containers[].env[].value), or the port they name is one only the deploy brought to the
    database's settings (`_ports_brought_of`: DB_PORT moved to a PgBouncer's 6432 on the same host).
    The revision before dialled its own address and served
    cleanly; nothing answers at the one only the deploy gives (a typo in the host, an instance not
    made yet), so sending traffic back restores the address that answered (bad_revision). Lines that
    name no address (pgjdbc's "The connection attempt failed.", the JDK's "Connect timed out") neither
    show nor refute it; an address both revisions name (a firewall rule, the database down) says
    nothing here, and the database competes with the deploy as before."""
    deploy = facts.recent_deploy()
    if deploy is None:
        return ""
    suspect, previous, _ = deploy
    if not all_logged_by(errors, suspect.short_name):
        return ""
    named = per_text(database_dial_hosts, errors)
    ported = _ports_brought_of(errors, suspect, previous)
    addressed = [e for e in errors if named[e.text] or e.text in ported.lines]
    # Supports an action: never scaled up (Facts.logged_enough), counted as read.
    if len(addressed) < facts.s.db_error_logs_min or 2 * len(addressed) < len(errors):
        return ""
    hosts = _hosts_brought(addressed, named, ported, suspect, previous)
    if hosts is None:
        return ""
    shown = ", ".join(sorted(hosts) + ported.shown())
    c.cite("api", f"run.revisions.get {suspect.short_name}, {previous.short_name}: containers[].env[]",
           f"{len(addressed)} of the {len(errors)} errors, all {suspect.short_name}'s, dial {shown}, which "
           f"{suspect.short_name}'s env names and {previous.short_name}'s does not, e.g. "
           f"{excerpt(addressed[0].text)!r}",
           "errors of reaching the database at an address only the new revision's env gives", False)
    return (f"the errors of reaching the database all come from {suspect.short_name} and dial {shown}, an address "
            f"its env names and {previous.short_name}'s does not: the deploy changed where the application "
            "connects, so they are the new revision's own (bad_revision)")


class _PortsBrought(NamedTuple):
    """The lines that name a port only the deploy brought (text -> its ports), and the variables that brought them."""
    lines: dict[str, set[str]]
    variables: list[str]

    def shown(self) -> list[str]:
        """Each port the lines dial, with the variables that set it ("port 6432 (plain env DB_PORT)"): a port
        is what the driver printed, a variable's value is never shown."""
        ports = set().union(*self.lines.values()) if self.lines else set()
        return [f"port {port} ({', '.join(self.variables)})" for port in sorted(ports, key=int)]


def _ports_brought_of(entries: list[LogRecord], suspect: Revision, previous: Revision) -> _PortsBrought:
    """The lines that name a port (log_signals.database_dial_ports) only the deploy brought to the database's
    settings (env_hosts.database_ports_brought: DB_PORT 5432 -> 6432, a DATABASE_URL's port, by the variable's
    name); none when the deploy brought no port, and the lines are then not searched. A line that also names a
    port the revision before sets is not one. Each line is held to the variables of the engine its driver
    speaks to (log_signals.database_engine: a libpq line to no MYSQL_PORT), every variable when it says none."""
    if not database_ports_brought(previous.plain_env, suspect.plain_env)[0]:
        return _PortsBrought({}, [])
    named = per_text(database_dial_ports, entries)
    engines = {text: database_engine(text) for text, found in named.items() if found}
    brought = {engine: database_ports_brought(previous.plain_env, suspect.plain_env, engine)
               for engine in set(engines.values())}
    lines = {text: named[text] for text, engine in engines.items() if named[text] <= brought[engine][0]}
    variables = sorted({v for text in lines for v in brought[engines[text]][1]})
    return _PortsBrought(lines, variables)


def _hosts_brought(addressed: list[LogRecord], named: dict[str, set[str]], ported: _PortsBrought,
                   suspect: Revision, previous: Revision) -> set[str] | None:
    """The hosts the lines that name no port the deploy brought (`ported`) dial, when every one of them
    names hosts and all are ones only the new revision's plain env names (env_hosts.deploy_brought);
    None when any is not: a line at the server the revision before connects to says nothing of the deploy."""
    rest = [e for e in addressed if e.text not in ported.lines]
    if any(not named[e.text] for e in rest):
        return None
    hosts = set().union(*(named[e.text] for e in rest))
    return hosts if not hosts or deploy_brought(hosts, suspect.env_values, previous.env_values) else None


# libpq's words for a refusal over a unix socket: 'connection to server on socket "/cloudsql/P:R:I/.s.PGSQL.5432"
# failed: FATAL: ...' (PostgreSQL's src/interfaces/libpq/fe-connect.c, emitHostIdentityInfo); Cloud Run mounts
# the Cloud SQL volume's socket at /cloudsql/INSTANCE_CONNECTION_NAME (Cloud Run docs, "Connect from Cloud Run
# to Cloud SQL for PostgreSQL": "/cloudsql/INSTANCE_CONNECTION_NAME/.s.PGSQL.5432").
_CLOUDSQL_SOCKET = re.compile(r"/cloudsql/([^/\s\"']+)/\.s\.PGSQL\.\d+")


def _socket_instances(text: str) -> frozenset[tuple[str, str, str]]:
    """The Cloud SQL instances whose socket a line names (lower case), none when it names no /cloudsql/ socket."""
    return frozenset(connection_names(_CLOUDSQL_SOCKET.findall(text)))


def _answered_at_an_address_the_deploy_brought(facts: Facts, refused: dict[str, list[LogRecord]]) -> str:
    """Why the database's refusals are the new revision's own, or "": whatever they say (a password
    refused, a database that does not exist, no pg_hba.conf entry), every one came from the newest
    serving revision, deployed within deploy_window_seconds (`recent_deploy`); at least db_error_logs_min
    of them, and at least half, name the server that answered: its address (log_signals.database_dial_hosts,
    libpq's 'connection to server at "H", port P failed: FATAL: ...', a JDBC URL on the line) or the
    Cloud SQL socket it answered on ('connection to server on socket "/cloudsql/P:R:I/.s.PGSQL.5432"');
    and every address is one only that revision's plain env names (env_hosts.deploy_brought), or the
    port the line names one only its deploy brought (`_ports_brought_of`), every instance one only its
    connection names give (env_hosts.deploy_brought_instance: a plain env value,
    or its Cloud SQL volume). What answered is not the database the revision before connected to and
    served with (DB_HOST moved to another instance, a staging manifest deployed to production): the
    deploy changed where the application connects, and sending traffic back restores the server that
    answered as it should (bad_revision). Refusals that name no server, or one both revisions name (a
    password rotated, a role changed), or an env not read, say nothing here and compete as before. A line
    that names a socket and a host (libpq's hosts tried in turn, each failure joined) is held to both."""
    found = _only_from_the_new_revision(facts, refused, refused.keys())   # whatever kinds they are
    if found is None:
        return ""
    suspect, previous, entries = found
    new_names = connection_names((*suspect.env_values, *suspect.cloudsql_instances))
    before_names = connection_names((*previous.env_values, *previous.cloudsql_instances))
    if set(suspect.env_values) <= set(previous.env_values) and new_names <= before_names:
        # Every plain env value and connection name of the new revision is the old one's too, so no server a
        # refusal names can be one only its settings name (deploy_brought, deploy_brought_instance): the
        # answer is "" whatever the lines say, and they are not searched (database_dial_hosts over a few
        # hundred distinct texts cost a cold LARGE diagnosis about 3.6 million instructions, 12 %).
        return ""
    hosts_of = per_text(database_dial_hosts, entries)
    sockets_of = per_text(_socket_instances, entries)
    ported = _ports_brought_of(entries, suspect, previous)
    addressed = [e for e in entries if hosts_of[e.text] or sockets_of[e.text] or e.text in ported.lines]
    # Supports an action: never scaled up (Facts.logged_enough), counted as read.
    if len(addressed) < facts.s.db_error_logs_min or 2 * len(addressed) < len(entries):
        return ""
    sockets = set().union(*(sockets_of[e.text] for e in addressed))
    # A line that names a socket and a host (libpq's several hosts tried in turn, each one's failure joined in
    # one message, fe-connect.c) was answered at both: the host is held to the same test as on its own.
    hosts = _hosts_brought([e for e in addressed if hosts_of[e.text] or not sockets_of[e.text]], hosts_of, ported,
                           suspect, previous)
    if hosts is None:
        return ""
    if not all(deploy_brought_instance(n, new_names, before_names) for n in sockets):
        return ""
    shown = ", ".join(sorted(hosts) + ported.shown() + sorted(":".join(n) for n in sockets))
    return (f"the database's refusals all come from {suspect.short_name}, and {len(addressed)} of them name the "
            f"server that answered, {shown}, which {suspect.short_name}'s settings name and {previous.short_name}'s "
            "do not: the deploy changed where the application connects, so they are the new revision's own "
            "(bad_revision)")


def _reads_on_open_connections(facts: Facts, c: Citation) -> str:
    """Why the errors do not show a database the application cannot connect to, or "": at least
    db_error_logs_min of them are reads on established connections that timed out (log_signals.
    read_timed_out: node-postgres's query_timeout, libpq's "could not receive data from server: Connection
    timed out", Go's "read tcp A->B: i/o timeout"), with fewer than db_error_logs_min errors beside them that
    are not on an open connection (a failed dial; database_signs.no_failed_dial, counted as connector_saturation
    counts them: a connection found closed, reset or lost mid-query had been opened too), on a path that is not
    shown saturated (asked after `_connector_healthy`). Each such read waited on a connection the database had
    accepted, and new connections open without a failed dial: a pool whose idle flows the path dropped without
    a reset (a NAT's, a firewall's or a connector's idle timeout; with CPU only during requests, the pool's
    keepalives and housekeeping starve between requests) or a database slow to answer (a lock, a long query).
    Not "cannot connect", and no firewall rule that drops the connector's range, which would fail the new
    dials too. Not ruled out either (a server that stops answering mid-statement reads the same): it stays a
    cause not ruled out, and a person looks."""
    read = no_failed_dial(facts, read_timed_out, count_pool_waits=False)
    if read is None:
        return ""
    reads, others, _, alone = read
    c.cite("log", "stderr / stdout: a read on an established connection to the database that timed out "
           "(log_signals.READ_TIMEOUT_TEXTS)",
           f"{len(reads)} reads on established connections timed out, e.g. {excerpt(reads[0].text)!r}; {others} other "
           "errors of reaching the database not on an open connection",
           f"< {facts.s.db_error_logs_min} other errors (a failed dial) beside them: new connections reach the "
           "database", alone, role="refutes" if alone else "context")
    if not alone:
        return ""
    return (f"reads on established connections to the database timed out ({len(reads)}x, e.g. "
            f"{excerpt(reads[0].text, limit=120)!r}) while new connections opened without a failed dial ({others} other errors of "
            "reaching the database not on an open connection): the database accepted those connections, so it is "
            "not shown unreachable; pooled connections whose flow was dropped while idle, or a database slow to "
            "answer, hang their reads until a timeout")


def _saturated_while_slow(facts: Facts, c: Citation) -> str:
    """Why the database is a cause not ruled out, or "": a Cloud SQL instance the service uses had
    its CPU at SQL_CPU_SATURATION or more (Facts.sql_saturated) from shortly before the failures
    began (Facts.failing_window), the requests waited on it (a p99 at hang_latency_seconds or more in
    a failing minute, or at least db_error_logs_min waits for the application's own pool or
    statements the database cancelled), and that saturation is news (Facts.sql_saturation_news). Nothing refused and
    nothing failed to connect: a saturated database runs every statement slowly, whatever revision
    sends it, so a deploy in the same minutes is not shown to be the cause (a new query that pins
    the CPU and another workload look alike here): it competes, and a person chooses. A database
    that always runs that hot, or whose CPU was not read, claims nothing."""
    s, window = facts.s, facts.failing_window
    if window is None:
        return ""
    hot = facts.sql_saturation_news(window)
    if not hot:
        return ""
    p99 = max(facts.p99_seconds(window), default=0.0)
    waits = len(facts.log_matches(LogSignal.DB_POOL_WAIT)) + len(facts.log_matches(LogSignal.DB_CANCELLED))
    if p99 < s.hang_latency_seconds and waits < s.db_error_logs_min:
        return ""
    named = ", ".join(f"{db} at {value:.0%}" for db, value in hot.items())
    c.cite("metric", query_of(facts.b.sql_cpu, "cloudsql database/cpu/utilization"),
           f"{named} of the reserved CPU in {window}; p99 max {latency(p99)}, {waits} pool waits or cancelled statements",
           f"< {SQL_CPU_SATURATION:.0%} while requests failed, or as saturated before the failures", True,
           role="supports")
    return (f"the Cloud SQL instance's own CPU is saturated ({named} in {window}) and requests wait on it (p99 up to "
            f"{latency(p99)}, {waits} pool waits or cancelled statements): a saturated database runs every statement "
            "slowly, whatever revision sends it")


def _startups_beside_a_saturated_database(facts: Facts, c: Citation, errors: list[LogRecord]) -> str:
    """Why the errors are not put on the path past a quiet connector, or "": at least db_error_logs_min of them
    say a connection's start-up timed out at a step their words do not say (log_signals.startup_timed_out:
    libpq's connect_timeout, MyXQL's, node-postgres' connectionTimeoutMillis run over the dial, the TLS handshake
    and authentication alike), none says a dial timed out in words of its own, and the Cloud SQL instance's CPU
    was newly saturated (Facts.sql_saturation_news) in the failing minutes. A saturated database answers the
    handshake and authentication late: the words fit it as well as a firewall dropping the dial, so neither is
    named the cause and a person looks at the database first."""
    window = facts.failing_window
    if window is None:
        return ""
    unsaid = per_text(startup_timed_out, errors)
    startups = [e for e in errors if unsaid[e.text]]
    if len(startups) < facts.s.db_error_logs_min:
        return ""
    dialled = per_text(dial_timed_out, errors)
    if any(dialled[e.text] and not unsaid[e.text] for e in errors):   # a dial that said so: its path, not the database
        return ""
    hot = facts.sql_saturation_news(window)
    if not hot:
        return ""
    named = ", ".join(f"{db} at {value:.0%}" for db, value in hot.items())
    c.cite("metric", query_of(facts.b.sql_cpu, "cloudsql database/cpu/utilization"),
           f"{named} of the reserved CPU in {window}; {len(startups)} connection start-ups timed out at a step their "
           f"words do not say, e.g. {excerpt(startups[0].text)!r}",
           f"< {SQL_CPU_SATURATION:.0%} while the start-ups timed out (connect_timeout covers the TLS handshake and "
           "authentication, which a saturated database answers late)", False, role="refutes")
    return (f"the connections' start-up timed out ({len(startups)}x, e.g. {excerpt(startups[0].text, limit=120)!r}), a timer over the "
            "dial, the TLS handshake and authentication alike, while the Cloud SQL instance's own CPU is saturated "
            f"({named} in {window}): a saturated database answers the handshake and authentication late, so the words "
            "do not show the path past the connector dropping the dial")


# The limits on how many connections the database admits: its max_connections, a PostgreSQL
# role's or database's own CONNECTION LIMIT, a MySQL user's max_user_connections, and the client limit
# of a pooler in front of it (PgBouncer's max_client_conn). More connections (a deploy that raised max
# instances or a pool's size, a larger connector) only bring more refusals at either.
_LIMITS = frozenset({Refusal.CONNECTION_LIMIT, Refusal.ROLE_LIMIT, Refusal.USER_LIMIT, Refusal.POOLER_LIMIT})


# A certificate refused for the name it holds, not its chain: verify-full's own check (log_signals.names_another_host),
# which a rotated server CA does not bring; the host dialled and the certificate's names are what a person compares.
_HOST_NAME_REFUSED = ("the server's TLS certificate names another host than the one dialled (verify-full's check of "
                      "the host name: the client dials an address or name the certificate does not hold)")
_HOST_NAME_ADVICE = ("the host the client dials (an IP address, a DNS name) against the names the instance's server "
                     "certificate holds (gcloud sql ssl server-ca-certs list; its DNS name, `dnsName` of "
                     "instances.get), and the sslmode that checks it (verify-full; verify-ca checks no host name)")


def _host_name_refused(kind: str, entries: Sequence[LogRecord]) -> bool:
    """Whether certificate refusals are all for a certificate naming another host (each distinct text read once)."""
    return kind == Refusal.CERTIFICATE and bool(entries) and all(per_text(names_another_host, entries).values())


def _kind_said(kind: str, entries: Sequence[LogRecord]) -> str:
    """A refusal's kind in words, a certificate naming another host said as such (not as one not trusted)."""
    return _HOST_NAME_REFUSED if _host_name_refused(kind, entries) else kind


def _refusal_advice(facts: Facts, kind: str, entries: Sequence[LogRecord] = ()) -> str:
    """What a person checks for a refusal (REFUSAL_ADVICE), naming only what the service has: at
    the connection limit, the connector its serving revisions route through (scaling it would only
    bring more connections), never one a service on Direct VPC egress or with no VPC access lacks. A
    host name not found that holds an "@" (log_signals.userinfo_in_host: a URL's password cut at an
    unescaped "@") sends the person to the URL's value, not to DNS."""
    if kind == Refusal.NO_SUCH_HOST and any(per_text(userinfo_in_host, entries).values()):   # each text once
        return USERINFO_IN_HOST_ADVICE
    if _host_name_refused(kind, entries):
        return _HOST_NAME_ADVICE
    advice = REFUSAL_ADVICE[kind]
    connectors = list(dict.fromkeys(short_name(r.vpc_connector) for r in facts.serving if r.vpc_connector))
    if kind in _LIMITS and connectors:
        advice += f"; scaling connector {', '.join(connectors)} would only bring more connections"
    return advice


def _direct_egress(revision: Revision | None) -> str:
    """The failing revision's Direct VPC egress network interfaces ("network/subnet"), in words, when it
    reaches its VPC that way (no connector); "" otherwise."""
    if revision is None or revision.vpc_connector or not revision.vpc_network_interfaces:
        return ""
    return ", ".join(revision.vpc_network_interfaces)


def _beyond_direct_egress(egress: str) -> str:
    """The summary's path on Direct VPC egress: Runwarden reads no metric of it, so never "healthy"."""
    return (f"over Direct VPC egress ({egress}), a path Runwarden reads no metric of: they fail between the "
            "service's subnet and the database (a firewall rule, a route, or the database)")


# Direct VPC egress: the instances take addresses in the named subnet and carry the service's network
# tags (Cloud Run Admin v2 VpcAccess.NetworkInterface: network, subnetwork, tags), so the VPC's
# firewall rules and routes for that subnet decide what reaches the database.
_PAST_DIRECT_EGRESS = ("check the path from the service's Direct VPC egress ({egress}) to the database's address and "
                       "port: VPC firewall rules (an ingress rule that admits the subnet's range or the service's "
                       "network tags, an egress deny), routes and peering, and who changed them (the Admin Activity "
                       "audit log); then ")


def pool_waits(facts: Facts, c: Citation) -> int:
    """How many times the application gave up waiting for its own pool's connection (DB_POOL_WAIT),
    cited as context when there are db_error_logs_min or more: a sign that requests wait on the
    database path, never on its own that the database is unreachable or refuses (log_signals,
    POOL_WAIT_TEXTS)."""
    waits = facts.log_matches(LogSignal.DB_POOL_WAIT)
    if len(waits) < facts.s.db_error_logs_min:
        return 0
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_POOL_WAIT)}",
           f"{len(waits)} waits for the application's own pool, e.g. {excerpt(waits[0].text)!r}",
           "context: a pool wait is not an error of reaching the database", None, role="context")
    return len(waits)


# PgBouncer's SHOW POOLS (cl_waiting, maxwait) and SHOW SERVERS say how long clients wait and on what.
_POOLER_WAIT_ADVICE = ("look at the connection pooler first (PgBouncer's SHOW POOLS on its admin console: cl_waiting and "
                       "maxwait; SHOW SERVERS): whether its server connections are all busy (slow or blocked queries "
                       "on the database, a default_pool_size too small for every service and job that connects "
                       "through it) or slow to open; a PgBouncer run beside the application (a sidecar) opens them "
                       "through the connector, one on a VM in the VPC past it; no automatic action")


def _pooler_waits(facts: Facts, c: Citation) -> str:
    """Why the database path is a cause not ruled out, or "": db_error_logs_min or more clients that
    PgBouncer closed at its query_wait_timeout (log_signals.POOLER_WAIT), logged while requests failed.
    Its pool is shared by every revision and service that connects through it, and what kept them
    waiting (busy server connections, or slow ones to open through the connector when PgBouncer is a
    sidecar) is not in the evidence: a deploy in the same minutes is not shown to be the cause, and
    the connector is not shown to be either; it competes, and a person chooses."""
    lines = facts.database_lines(LogSignal.DB_POOL_WAIT)
    pooler = per_text(is_pooler_wait, lines)
    waits = [e for e in lines if pooler[e.text]]
    if len(waits) < facts.s.db_error_logs_min:
        return ""
    c.cite("log", f"stderr / stdout: {POOLER_WAIT}",
           f"{len(waits)} clients the pooler closed after waiting for a server connection, e.g. {excerpt(waits[0].text)!r}",
           f">= {facts.s.db_error_logs_min}: a wait inside a pooler every revision shares", True)
    return (f"the connection pooler in front of the database closed {len(waits)} clients it kept waiting for a server "
            "connection (PgBouncer's query_wait_timeout): its pool is shared by every revision and service that "
            "connects through it, so neither a deploy in the same minutes nor the connector is shown to be the cause")


# A READY connector with no saturation sign forwards the dials; what drops them lies between its
# range and the database: a VPC firewall rule (ingress on the database's side, or an egress deny),
# a route or peering change, or the database itself. A person reads those; Runwarden never writes
# to the network.
_PAST_THE_CONNECTOR = ("check the path from connector {connector}'s range {range} to the database's address and "
                       "port: VPC firewall rules (an ingress rule that admits the range, an egress deny), routes "
                       "and peering, and who changed them (the Admin Activity audit log); then ")


def _range(connector) -> str:
    return connector.ip_cidr_range or "(range not read)"


def _beyond_the_connector(connector) -> str:
    """The summary's path: not "healthy" (the connections fail on it), but past the connector."""
    return (f"while connector {connector.short_name} ({_range(connector)}) is READY and shows no saturation: "
            "they fail between the connector and the database (a firewall rule, a route, or the database)")


def _connector_healthy(facts: Facts, c: Citation, revision: Revision | None,
                       connector: Connector | None) -> bool | None:
    """Whether the path of `revision`, the one that carries the failing traffic, is healthy up to the
    database's side: True with no connector on it (Direct VPC egress, or none) or when the failed dials
    never crossed one; the connector's own judgement when `connector` (its, read) is; None unknown."""
    if revision is not None and revision.vpc_connector is None:
        c.cite("api", f"run.revisions.get {revision.short_name}: vpc_access", "no connector", "context", None)
        return True  # no connector on the path: nothing there to saturate
    if connector is None:
        return None
    around = dials_around_connector(facts)
    if around:
        c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_CONNECTION)}", around,
               "context: the connector is not on the failing path", None, role="context")
        return True   # whatever the connector shows, these connections never crossed it
    instances = facts.connector_values(facts.b.connector_instances, facts.incident)
    cpu = facts.connector_cpu(facts.incident)
    if not instances and not cpu:
        return None
    # The connector rule's own judgement: a sign that already held before the failures, while the
    # service served cleanly, is not news and explains nothing (connector_signs.stress).
    stress = new_stress(facts)
    healthy = not stress and connector.state == "READY"
    c.cite("metric", "connector/instances, connector/cpu/utilizations, received_bytes_count, sent_bytes_count",
           f"max {max(instances, default=0):.0f} of {connector.max_instances} instances, "
           f"CPU p99 max {max(cpu, default=0):.0%}, state {connector.state}; new stress: "
           + (", ".join(stress) or "none"),
           "no saturation sign that is news (connector_saturation) and state READY", healthy)
    return healthy


# Answers given before any connection reaches the database: the resolver's NXDOMAIN for its host
# name. Counted with the refusals (an answer proves the path works), but not said to be the
# database's.
_RESOLVER = frozenset({Refusal.NO_SUCH_HOST})
# Answers that depend on the path a connection takes to the database (_resolved_elsewhere): what the
# summary says was answered, and why another path brings that answer.
_PATH_ANSWERS = {
    Refusal.NO_SUCH_HOST: ("the database's host name does not resolve",
                           "a private zone answers only the networks it is visible to"),
    Refusal.SOURCE_NOT_ALLOWED: ("the database does not admit the connections' source address (MySQL's 1130)",
                                 "its accounts' host parts admit the addresses connections come from, and another "
                                 "path brings them from another range"),
    Refusal.HBA_NO_ENTRY: ("the database's pg_hba.conf admits no encrypted connection from the connections' source "
                           "address", "its host entries admit the address ranges connections come from, and another "
                           "path brings them from another range"),
}
_PATH_DEPENDENT = frozenset(_PATH_ANSWERS)
# ... and the Cloud SQL Auth Proxy's own limit, inside the service's instance: not the database's either.
_PROXY = frozenset({Refusal.PROXY_LIMIT})
# ... and a connection pooler's own client limit (PgBouncer's max_client_conn): not the database's.
_POOLER = frozenset({Refusal.POOLER_LIMIT})
# ... and the Cloud SQL Admin API's 429 at the project's quota, to the connectors' calls for connect
# settings and certificates: no connection is dialled, and the database never sees it.
_ADMIN_API = frozenset({Refusal.ADMIN_API_QUOTA})
# ... and the Cloud SQL Admin API disabled in the project: the connectors' same calls refused whole.
_ADMIN_API_OFF = frozenset({Refusal.ADMIN_API_DISABLED})
# ... and the Admin API's answer that the instance is in no state to take connections (not running, or
# stopped, suspended, in maintenance or changed by an operation): the database itself answered nothing.
_INSTANCE_STATE = frozenset({Refusal.NOT_RUNNING, Refusal.NOT_SERVING})


def _who_answered(refused: dict[str, list[LogRecord]]) -> str:
    """The summary's lead: who refused. The database, unless DNS answered for its host name, the
    Auth Proxy beside the application refused at its own limit, a pooler at its own client limit, or
    the Cloud SQL Admin API at the project's quota, disabled in the project, or for the instance's state."""
    if refused.keys() <= _RESOLVER:
        return "the database's host name does not resolve, so the application never reaches it"
    if refused.keys() <= _PROXY:
        return ("the Cloud SQL Auth Proxy in the service's instances refuses the application's connections at its "
                "own limit, so they never reach the database")
    if refused.keys() <= _POOLER:
        return ("the application's connections are refused by the connection pooler in front of the database, at "
                "its own client limit")
    if refused.keys() <= _ADMIN_API:
        return ("the Cloud SQL Admin API refuses the connectors' calls at the project's quota, so the application's "
                "connections are never dialled")
    if refused.keys() <= _ADMIN_API_OFF:
        return ("the Cloud SQL Admin API refuses the connectors' calls, so the application's connections are never "
                "dialled")
    if refused.keys() <= _INSTANCE_STATE:
        return ("the Cloud SQL Admin API answers that the instance is in no state to take connections, so the "
                "application's connections are never dialled")
    others = [who for kinds, who in ((_RESOLVER, "DNS for its host name"),
                                     (_PROXY, "the Cloud SQL Auth Proxy's own limit"),
                                     (_POOLER, "the connection pooler's own client limit"),
                                     (_ADMIN_API, "the Cloud SQL Admin API's quota"),
                                     (_ADMIN_API_OFF, "the Cloud SQL Admin API, disabled"),
                                     (_INSTANCE_STATE, "the Cloud SQL Admin API, for the instance's state"))
              if refused.keys() & kinds]
    if others:
        return f"the database, or {' or '.join(others)}, refuses the application"
    return "the database refuses the application"


# Kinds of refusal a summary names in words; more are counted in the evidence.
_NAMED = 2


def _raised_max_instances(facts: Facts, c: Citation) -> str:
    """At the connection limit, whether the newest serving revision, deployed within
    deploy_window_seconds, raised max instances over the Ready revision before it: every instance
    holds its own pool, so the deploy may have brought the connections (a person weighs it; the
    deploy competes as bad_revision when its failures began with it)."""
    deploy = _deploy_raised(facts, max_instances)
    if deploy is None:
        return ""
    suspect, previous, lead = deploy
    said = (f"{suspect.short_name}, deployed {duration(lead)} before the incident, raised max instances from "
            f"{max_instances(previous)} ({previous.short_name}) to {max_instances(suspect)}: each instance "
            "holds its own connection pool")
    c.cite("api", "run.revisions.list: scaling.max_instance_count", said, "context", None, role="context")
    return said


def _pools_held(facts: Facts, c: Citation) -> str:
    """At the connection limit, the arithmetic a person checks first, where the evidence has both
    figures: the most instances the serving revisions ran at once in the incident (instance_count)
    times the connections one pool may hold, read from the pool's own words in its waits
    (log_signals.pool_size, the largest said). Each process holds its own pool, so it is a floor with
    several per instance; the database's max_connections is not read, so nothing is concluded from
    it: the figure is context for the escalation, never a reason to act. "" without either figure."""
    instances = facts.max_total_instances_seen(facts.incident, (r.short_name for r in facts.serving))
    sizes = [found for found in map(pool_size, dict.fromkeys(e.text for e in facts.log_matches(LogSignal.DB_POOL_WAIT)))
             if found]
    if not instances or not sizes:
        return ""
    size, words = max(sizes)
    peak = int(instances)
    said = (f"{peak} instances x up to {size} connections = {peak * size} connections its pools may hold at the peak "
            f"(the pool's own words: {words!r}; one pool per process, so more with several per instance), against "
            "the database's max_connections, which Runwarden does not read")
    c.cite("metric", query_of(facts.b.instances, "run.googleapis.com/container/instance_count"), said, "context", None,
           role="context")
    return said


def _deploy_raised(facts: Facts, setting: Callable[[Revision], int]) -> tuple[Revision, Revision, float] | None:
    """The recent deploy (`Facts.recent_deploy`: the newest serving revision, the Ready revision before
    it, the seconds from its creation to the incident) when it raised `setting`, a revision's setting as
    Cloud Run runs it (deploy_changes.max_instances, requests_per_instance: unset is Cloud Run's default).
    Unset and the default the server may fill in its place are one value: compared as read, an unset
    max instances (0, read as None) under 200 said nothing where the server's 100 under 200 said "raised",
    the same deploy; else None."""
    deploy = facts.recent_deploy()
    if deploy is None:
        return None
    new, old = (setting(revision) for revision in deploy[:2])
    return deploy if new > old else None


def _resolved_elsewhere(facts: Facts, refused: dict[str, list[LogRecord]]) -> str:
    """Why answers that depend on the path the connections take are the new revision's own, or "":
    every refusal is one (_PATH_DEPENDENT), every one came from the newest serving revision, deployed
    within deploy_window_seconds, and it reaches its VPC another way than the Ready revision before it
    (Facts.deploy_changed_path). Sending traffic back restores the path that served (bad_revision);
    the same path on both (a record deleted, an account's host changed) competes instead.
    - The resolver's "no such host": a Cloud DNS private zone answers only the networks in its
      visibility list (Cloud DNS API v2 ManagedZonePrivateVisibilityConfig.networks: "The list of VPC
      networks that can see this zone"), so a revision on another path (Direct VPC egress in another
      network) may be told the name does not exist where the one before resolved it.
    - MySQL's 1130, the connection's source host not allowed: the server matches the address a
      connection comes from against its accounts' host parts, and another path brings the connections
      from another range (another connector's ipCidrRange, a Direct VPC egress subnet).
    - PostgreSQL's "no pg_hba.conf entry for host" for an encrypted connection (HBA_NO_ENTRY): its
      host entries match the connection's address the same way (an unencrypted one refused is read
      as SSL enforced, NOT_ADMITTED, the same on every path, and is not here)."""
    if not refused.keys() <= _PATH_DEPENDENT:
        return ""
    moved = facts.deploy_changed_path(e for es in refused.values() for e in es)
    if moved is None:
        return ""
    suspect, previous, changed = moved
    said = " and ".join(_PATH_ANSWERS[kind][0] for kind in refused)
    why = "; and ".join(_PATH_ANSWERS[kind][1] for kind in refused)
    return (f"{said} only from {suspect.short_name}, whose deploy changed its path to the VPC {changed} (against "
            f"{previous.short_name}): {why}, so the answers are the new revision's own (bad_revision)")


def _deploy_named_the_host(facts: Facts, c: Citation, refused: dict[str, list[LogRecord]]) -> str:
    """Why the drivers' "no such host" answers are the new revision's own, or "": every refusal is one
    (_RESOLVER: libpq's "could not translate host name "H" to address: Name or service not known",
    pgx's "hostname resolving error (lookup H ...: no such host)", MySQL's 2005 "Unknown MySQL server
    host 'H'"), every one came from the newest serving revision, deployed within
    deploy_window_seconds, and each host they name is named by a plain env value of that revision
    and by none of the Ready revision before it, whose plain env was read (env_hosts.deploy_brought;
    Cloud Run Admin v2 Revision.containers[].env[].value). A record deleted from a zone fails the
    host the revision before names too (both revisions hold it: this says nothing, and the database
    side competes); a name only the deploy's settings hold (a typo in DB_HOST) is cured by sending
    traffic back (bad_revision). The evidence names the host, which the driver printed, never an
    env value."""
    found = _only_from_the_new_revision(facts, refused, _RESOLVER)
    if found is None:
        return ""
    suspect, previous, entries = found
    named = cite_hosts_brought(c, entries, suspect, previous,
                               "a host name that does not resolve, held by the revision before as much as by the "
                               "new one", False)
    if not named:
        return ""
    return (f"the database's host name {named} does not resolve only from {suspect.short_name}, whose env names it "
            f"and {previous.short_name}'s does not: the deploy brought the name, so the answers are the new "
            "revision's own (bad_revision)")


def _only_from_the_new_revision(facts: Facts, refused: dict[str, list[LogRecord]],
                                kinds: Collection[str]) -> tuple[Revision, Revision, list[LogRecord]] | None:
    """(the newest serving revision, the Ready one before it, the refusals) when every refusal is of
    `kinds` and came from that revision, deployed within deploy_window_seconds; else None. A refusal
    from any other revision says the answers are not the deploy's own."""
    if not refused.keys() <= kinds:
        return None
    deploy = facts.recent_deploy()
    if deploy is None:
        return None
    suspect, previous, _ = deploy
    entries = [e for es in refused.values() for e in es]
    if not all_logged_by(entries, suspect.short_name):
        return None
    return suspect, previous, entries


def _deploy_named_the_instance(facts: Facts, c: Citation, refused: dict[str, list[LogRecord]]) -> str:
    """Why the Admin API's refusals of a connection name are the new revision's own, or "": every
    refusal is one (ADMIN_API_REFUSALS: the Auth Proxy's and Go connector's "Error 404: The Cloud SQL
    instance does not exist., instanceDoesNotExist", the Python connector's "404, message='The Cloud
    SQL instance does not exist.'", the Java connector's "The Cloud SQL Instance does not exist or your
    account is not authorized", the Admin API's other 403s), every one came from the newest serving
    revision, deployed within deploy_window_seconds, and each names an instance that revision's
    connection names hold and the Ready revision before's do not (deploy_changes.cite_instance_brought).
    An instance deleted, or a role removed, fails the name the revision before gives too (this says
    nothing, and the database side competes); a connection name only the deploy holds (a typo in
    INSTANCE_CONNECTION_NAME) is cured by sending traffic back (bad_revision)."""
    found = _only_from_the_new_revision(facts, refused, ADMIN_API_REFUSALS)
    if found is None:
        return ""
    suspect, previous, entries = found
    named = cite_instance_brought(c, entries, suspect, previous,
                                  "an instance the Admin API refuses, asked for by the revision before as much as by "
                                  "the new one", False)
    if not named:
        return ""
    return (f"the Cloud SQL Admin API refuses instance {named} only to {suspect.short_name}, whose connection names "
            f"hold it and {previous.short_name}'s do not: the deploy brought the name, so the refusals are the new "
            "revision's own (bad_revision)")


def _busier_instances(facts: Facts, refused: dict[str, list[LogRecord]]) -> str:
    """Why the Auth Proxy's refusals at its own --max-connections are the new revision's own, or "":
    every refusal is one, every one came from the newest serving revision, deployed within
    deploy_window_seconds, and it runs more requests at once in each instance than the Ready
    revision before it (max_instance_request_concurrency; unset is Cloud Run's default). The proxy the refusals come
    from runs in the revision's own instances (its lines are in the revision's stdout: a sidecar),
    and its limit is per instance; more requests at once in each instance hold more connections
    through it, and sending traffic back restores the concurrency that fit (bad_revision judges the
    deploy). The same concurrency on both (a burst of load, a larger pool the revision's settings
    do not show) competes instead."""
    found = _only_from_the_new_revision(facts, refused, _PROXY)
    if found is None or _deploy_raised(facts, requests_per_instance) is None:
        return ""
    suspect, previous, _ = found
    return (f"the Auth Proxy's refusals at its own limit all come from {suspect.short_name}, whose deploy raised the "
            f"requests each instance runs at once from {requests_per_instance(previous)} ({previous.short_name}) to "
            f"{requests_per_instance(suspect)}: the proxy runs in each instance, so they are the new revision's own "
            "(bad_revision)")


def _deploy_changed(facts: Facts, refused: dict[str, list[LogRecord]], kinds: Collection[str],
                    changes: Callable[[Revision, Revision], list[str]]) -> tuple[Revision, Revision, list[str]] | None:
    """The newest serving revision, the Ready one before it and what its deploy changed in `changes`' terms
    (a setting in its plain env, by name), when every refusal is of `kinds` and came from that revision
    (_only_from_the_new_revision); None when not, or when the deploy changed nothing of the kind."""
    found = _only_from_the_new_revision(facts, refused, kinds)
    if found is None:
        return None
    suspect, previous, _ = found
    changed = changes(previous, suspect)
    return (suspect, previous, changed) if changed else None


def _pool_raised(facts: Facts, refused: dict[str, list[LogRecord]]) -> str:
    """Why refusals at a connection limit are the new revision's own, or "": every refusal is at one
    (_LIMITS: max_connections, a role's or database's CONNECTION LIMIT, a MySQL user's max_user_connections, a
    pooler's max_client_conn),
    every one came from the newest serving revision, deployed within deploy_window_seconds, and its
    deploy raised its pool's size in its plain env over the Ready revision before it, lowering none
    (pool_settings.pool_size_raised: both set, by the same name). Each of its instances then holds
    more connections, and sending traffic back restores the size that fit (bad_revision judges the
    deploy). A size the env does not show (a library's default, a secret's DSN), the same size, or an
    older revision refused too competes instead: something else holds the connections."""
    found = _deploy_changed(facts, refused, _LIMITS, pool_size_raised)
    if found is None:
        return ""
    suspect, previous, raised = found
    return (f"the refusals at the connection limit all come from {suspect.short_name}, whose deploy raised its "
            f"connection pool's size ({'; '.join(raised)}, against {previous.short_name}): each instance holds more "
            "connections, so they are the new revision's own (bad_revision)")


# Refusals that depend on who connects, the revision's service account: a deploy that changed it
# can cause them, and sending traffic back undoes that. A password refusal does not depend on it.
_IDENTITY = frozenset({Refusal.NOT_AUTHORIZED, Refusal.IAM_USER})


def _credentials_changed(facts: Facts, refused: dict[str, list[LogRecord]]) -> str:
    """Why the password refusals are the new revision's own, or "": every refusal is of the
    credentials (Refusal.CREDENTIALS), every one came from the newest serving revision, deployed within
    deploy_window_seconds of the incident, and its deploy changed a secret it reads against a revision
    before it that pins every secret it reads (secret_refs.pinned_secrets_changed: DB_PASSWORD from
    version 4 to version 5). The revision before gets, on every new instance, the very values it served
    with (a pinned version is what Cloud Run resolves at instance startup, "Configure secrets"), so
    sending traffic back restores the password that was accepted (bad_revision judges the deploy).
    A revision before that reads any secret at "latest" gets whatever Secret Manager holds now (a
    password rotated around the deploy breaks its new instances too), and the same versions on both
    are not the deploy's doing: the refusals then compete with the deploy. A credential the deploy changed
    in a plain env var (secret_refs.plain_credentials_changed: DB_PASSWORD's value, or the password in
    DATABASE_URL, compared by name, never shown) is the deploy's own in the same way: the revision before
    holds its accepted value in itself (Revision.containers[].env[].value, k8s_min.proto)."""
    if not refused.keys() <= {Refusal.CREDENTIALS}:
        return ""
    deploy = facts.recent_deploy()
    if deploy is None:
        return ""
    suspect, previous, _ = deploy
    if not all_logged_by((e for es in refused.values() for e in es), suspect.short_name):
        return ""
    plain = plain_credentials_changed(previous, suspect)
    if plain:
        return (f"the password refusals all come from {suspect.short_name}, whose deploy changed the "
                f"{', the '.join(plain)} against {previous.short_name} (a plain value, which comes back with the "
                "revision that holds it): they are the new revision's own (bad_revision)")
    changed = pinned_secrets_changed(previous, suspect)
    if not changed:
        return ""
    return (f"the password refusals all come from {suspect.short_name}, whose deploy changed the secrets it reads "
            f"({'; '.join(changed)}) against {previous.short_name}, which pins every secret it reads: they are the "
            "new revision's own (bad_revision)")


# An IAM database user's name: an email, as Cloud SQL names an IAM user of PostgreSQL (a service account's without
# ".gserviceaccount.com", "orders-api@p.iam"; Cloud SQL docs, "IAM database authentication", "Add an IAM user or
# service account to a database instance"). MySQL's IAM users are named without the domain, like built-in ones:
# their refusal is told by Cloud SQL's own IAM words (Refusal.IAM_USER) alone.
_IAM_USER_NAME = re.compile(r"@")


def _refused_users(entries: Iterable[LogRecord]) -> set[str | None]:
    """The user each refusal names (refusals.names_said), each distinct text read once; None for one that names
    none or more than one."""
    users = per_text(lambda text: {name for what, name in _names_said(text) if what == "user"}, entries).values()
    return {next(iter(named)) if len(named) == 1 else None for named in users}


def _iam_switch_explains(direction: str, refused: dict[str, list[LogRecord]]) -> str:
    """How the refusals follow the switch's `direction`, in words, or "" when they do not. Turned OFF: every refusal
    names an IAM user (Cloud SQL's IAM words, or a password refused for an email-named user), which now logs in with
    no token. Turned ON: every refusal is Cloud SQL's IAM words for a built-in user's name (no "@"), which the
    revision before, with the switch off, logged in as with a password: a token is now sent in its place. A password
    refused for a built-in user after the switch went ON is not its doing: built-in users keep logging in with their
    password beside the Auth Proxy's --auto-iam-authn (GoogleCloudPlatform/cloud-sql-proxy issues #2465, #1819), so a
    password rotated on the instance refuses both revisions alike."""
    users = _refused_users(e for es in refused.values() for e in es)
    if None in users:
        return ""
    iam = {u for u in users if _IAM_USER_NAME.search(u)}
    if direction == OFF and (iam == users or refused.keys() == {Refusal.IAM_USER}):
        return f"turned off for IAM user {', '.join(sorted(users))}, now logging in with no token"
    if direction == ON and refused.keys() == {Refusal.IAM_USER} and not iam:
        return (f"turned on for built-in user {', '.join(sorted(users))}, which the revision before logged in as with "
                "a password")
    return ""


def _iam_login_changed(facts: Facts, refused: dict[str, list[LogRecord]]) -> str:
    """Why the login refusals are the new revision's own, or "": every refusal is of a login (Refusal.CREDENTIALS:
    a password refused; Refusal.IAM_USER: IAM database authentication refused), every one came from the newest
    serving revision, deployed within deploy_window_seconds, its deploy switched IAM database authentication in its
    plain env (secret_refs.iam_login_changed: the connectors' own switches by their known names, read as on or off
    wherever held), and the refusals follow the switch's direction (`_iam_switch_explains`): off, an IAM user
    refused; on, Cloud SQL's IAM refusal for a user the revision before logged in as with a password. The revision
    before holds the switch that logged in, and sending traffic back restores it (bad_revision). The same switch on
    both however spelt (a role removed, a token expired, a password rotated), a switch whose reading is unknown (a
    secret that may hold it, a value of another meaning), or refusals of the other direction compete."""
    found = _deploy_changed(facts, refused, {Refusal.CREDENTIALS, Refusal.IAM_USER}, iam_login_changed)
    if found is None:
        return ""
    suspect, previous, changed = found
    how = _iam_switch_explains(iam_login_asked(suspect) or "", refused)
    if not how:
        return ""
    return (f"the login refusals all come from {suspect.short_name}, whose deploy changed the {', the '.join(changed)} "
            f"against {previous.short_name} (IAM database authentication {how}; a plain value, which comes back "
            "with the revision that holds it): they are the new revision's own (bad_revision)")


# The server refused a connection for being unencrypted, in its own words: PostgreSQL's pg_hba.conf
# refusal with the encryption state "no encryption" (PostgreSQL 12+) or "SSL off" (before; auth.c
# ClientAuthentication), MySQL's 3159 ER_SECURE_TRANSPORT_REQUIRED. Another pg_hba.conf refusal (a host
# or user not admitted, encrypted) is not a TLS setting's.
_UNENCRYPTED_WORDS = re.compile(r'database "[^"\n]*", (?:no encryption|SSL off)|Connections using insecure transport',
                                re.IGNORECASE)


def _unencrypted(text: str) -> bool:
    return _UNENCRYPTED_WORDS.search(text) is not None


def _tls_settings_changed(facts: Facts, refused: dict[str, list[LogRecord]]) -> str:
    """Why the TLS refusals are the new revision's own, or "": every refusal is TLS the two ends do not
    agree on (Refusal.TLS_MISMATCH), every one came from the newest serving revision, deployed within
    deploy_window_seconds, and its deploy changed a TLS setting in its plain env against the Ready
    revision before it (tls_settings.tls_settings_changed: sslmode in DATABASE_URL, PGSSLMODE). The
    revision before holds its accepted settings in itself, so sending traffic back restores them
    (bad_revision). The same settings on both (the instance's SSL mode or TLS versions changed, a
    client library's TLS floor raised by a base image the settings do not show), or an env not read,
    compete instead: the revision before's pooled connections, opened before a change, say nothing.
    An unencrypted connection the server does not admit (Refusal.NOT_ADMITTED, `_unencrypted`: pg_hba.conf's
    "..., no encryption", MySQL's 3159 "insecure transport") is one side's TLS setting against the
    other's the same way: a deploy that turned the client's TLS off (sslmode=disable) brings it. A server
    certificate refused (Refusal.CERTIFICATE: not trusted, or naming another host than the one dialled) is the new
    revision's own only when the revision before is known to verify no certificate (tls_settings.verifies_server
    False: sslmode disable, MySQL's REQUIRED, no-verify): a deploy that turned verification on brings the refusal,
    and the revision before connects as it did whatever the server's certificate. When every certificate refusal
    is for a certificate naming another host (log_signals.names_another_host: verify-full's own check), libpq's
    require before checks no host name and counts as verifying none, unless Node.js may read it as verify-full.
    One that verified too (a verify mode or flag, a root CA beside require, pgjdbc's ssl=true) may be refused alike
    (a rotated server CA), and competes; so does one whose verification is unknown (None: no TLS setting in its
    env, a secret that may hold one, libpq's require against an untrusted chain: a root CA file in the image's
    home directory, ~/.postgresql/root.crt, makes it verify-ca, and node-postgres reads it as verify-full)."""
    kinds = {Refusal.TLS_MISMATCH, Refusal.NOT_ADMITTED, Refusal.CERTIFICATE}
    found = _deploy_changed(facts, refused, kinds, tls_settings_changed)
    if found is None or not all(map(_unencrypted, (e.text for e in refused.get(Refusal.NOT_ADMITTED, ())))):
        return ""
    suspect, previous, changed = found
    certificates = refused.get(Refusal.CERTIFICATE, ())
    host_name = all(per_text(names_another_host, certificates).values())   # each asked once per distinct text
    node = any(per_text(node_host_name_words, certificates).values())
    if certificates and verifies_server(previous, host_name=host_name, node=node) is not False:
        return ""
    return (f"the TLS refusals all come from {suspect.short_name}, whose deploy changed the "
            f"{', the '.join(changed)} against {previous.short_name} (a plain value, which comes back with the "
            "revision that holds it): they are the new revision's own (bad_revision)")


def _ip_type_changed(facts: Facts, refused: dict[str, list[LogRecord]]) -> str:
    """Why refusals for an IP type the instance lacks are the new revision's own, or "": every refusal is the
    connector's or the Auth Proxy's (Refusal.NO_IP_OF_TYPE: 'instance does not have IP of type "PRIVATE"'), every
    one came from the newest serving revision, deployed within deploy_window_seconds, its deploy changed which
    IP type it asks for in its plain env against the Ready revision before it (ip_type_settings.ip_type_changed:
    DB_IP_TYPE, PRIVATE_IP, the Auth Proxy's --private-ip), every refusal names the one type (`refused_ip_type`)
    the new revision asks for, and the revision before asks for another (ip_type_settings.ip_types_asked). The
    revision before then dials an address the refusals do not say is missing. A refused type the revision before
    asks for too (its own choice would be refused alike: the address went away, or the variable is not what the
    connector reads), a type the new revision does not ask for, or a choice either revision's env does not show (a
    secret, a default of the code's) competes instead, as the same choice on both does."""
    found = _deploy_changed(facts, refused, {Refusal.NO_IP_OF_TYPE}, ip_type_changed)
    if found is None:
        return ""
    suspect, previous, changed = found
    named = set(per_text(refused_ip_type, refused[Refusal.NO_IP_OF_TYPE]).values())   # each distinct text once
    old, new = ip_types_asked(previous, suspect)
    if named != {new} or new is None or old is None or old == new:
        return ""
    return (f"the refusals for an IP type the instance lacks ({new}) all come from {suspect.short_name}, whose deploy "
            f"changed the {', the '.join(changed)} against {previous.short_name}, which asks for {old} (a plain value, "
            "which comes back with the revision that holds it): they are the new revision's own (bad_revision)")


def _identity_changed(facts: Facts, refused: dict[str, list[LogRecord]]) -> str:
    """Why the refusals are the new revision's own, or "": every refusal is of the caller's identity,
    every one came from the newest serving revision, deployed within deploy_window_seconds of the
    incident, and it runs as another service account than the Ready revision before it. Then the
    deploy changed who connects (bad_revision judges it; a rollback undoes it). The same account on
    both (a role taken from a shared account) is not the deploy's doing, and competes with it."""
    if not refused.keys() <= _IDENTITY:
        return ""
    changed = facts.deploy_changed_account(e for es in refused.values() for e in es)
    if changed is None:
        return ""
    suspect, previous = changed
    return (f"the refusals ({', '.join(refused)}) all come from {suspect.short_name}, deployed as "
            f"{suspect.service_account}; {previous.short_name} ran as {previous.service_account}: the deploy changed "
            "who connects, so they are the new revision's own (bad_revision)")


def _pointed_elsewhere(facts: Facts, refused: dict[str, list[LogRecord]]) -> str:
    """Why the read-only refusals are the new revision's own, or "": every refusal is a write refused as
    read-only (Refusal.READ_ONLY: PostgreSQL's 25006 "cannot execute UPDATE in a read-only transaction",
    MySQL's 1290 "--read-only option"), every one came from the newest serving revision, deployed
    within deploy_window_seconds, and its deploy changed where it connects against the Ready revision
    before it (env_hosts.database_address_changed: DB_HOST, a DATABASE_URL's host, an instance
    connection name, its Cloud SQL volume; Cloud Run Admin v2 Revision.containers[].env[].value and
    volumes[].cloud_sql_instance, k8s_min.proto). Whether a server refuses writes is the server's: a
    read replica answers so, the primary does not, and the revision before holds the address it wrote
    to in itself, so sending traffic back restores it (bad_revision). The same address on both (a
    primary set read-only, a promotion that left the old primary a replica, a full disk) is not the
    deploy's doing and competes with it, as before."""
    found = _deploy_changed(facts, refused, {Refusal.READ_ONLY},
                            lambda before, after: database_address_changed(
                                before.plain_env, after.plain_env, before.cloudsql_instances, after.cloudsql_instances))
    if found is None:
        return ""
    suspect, previous, changed = found
    return (f"the writes refused as read-only all come from {suspect.short_name}, whose deploy changed where it "
            f"connects ({', '.join(changed)}) against {previous.short_name} (a plain value, which comes back with the "
            "revision that holds it): the new revision writes to another server, so they are its own (bad_revision)")


# What a refusal says the server does not hold or admit for the connection's own settings: the database it
# asks for (PostgreSQL 3D000 'database "%s" does not exist', postinit.c InitPostgres; 55000 'database "%s" is
# not currently accepting connections' and 42501 'permission denied for database "%s"', postinit.c
# CheckMyDatabase; MySQL 1049 "Unknown database", by the name it gives: _NAME_TIES_ONLY), or the user (28000 'role "%s" does not exist' and 'role "%s"
# is not permitted to log in', miscinit.c InitializeSessionUserId; 'password authentication failed for user',
# auth.c, 28P01 in current releases: UNCONFIRMED against the source read, an 8.x auth.c whose auth_failed sends
# "%s authentication failed for user" with 28000; MySQL 1045 "Access denied for user", Refusal.CREDENTIALS).
# Any other FATAL the server sends (out of memory) names neither. The patterns live in
# shared/diagnosis/server_fatal.py, shared with lasting_refusals.
# The refusals of the user the connection logs in as, whatever their words name: a password refused
# (Refusal.CREDENTIALS; PostgreSQL says the same 'password authentication failed for user' for a role past
# its VALID UNTIL, auth.c) and MySQL's expired password, 1862 at the login and 1820 at each statement
# (Refusal.PASSWORD_EXPIRED; MySQL Server Error Message Reference, "Server Handling of Expired Passwords"):
# an expiry is the server's, per account, so a revision that logs in as another user is not refused so.
_USERS_OWN = frozenset({Refusal.CREDENTIALS, Refusal.PASSWORD_EXPIRED})
# The kinds `_settings_named` reads a setting from. The server's FATAL
# (Refusal.SERVER_FATAL: PostgreSQL ends the session at connect for the database or role the connection asks
# for, server_fatal's patterns) names the setting by its words.
_NAMED_BY_WORDS = frozenset({Refusal.SERVER_FATAL})
_SETTINGS_NAMED = _USERS_OWN | _NAMED_BY_WORDS
# The refusals a statement answers as well as a login, tied to a deploy only by the name they give
# (`_names_brought`), never by the kind of setting changed: MySQL's 1044 (ER_DBACCESS_DENIED_ERROR, "Access denied
# for user '%s'@'%s' to database '%s'") and 1049 (ER_BAD_DB_ERROR, "Unknown database '%s'"; both MySQL Server
# Error Message Reference) at connect name the database configured, and at a statement (USE analytics, SHOW
# TABLES FROM analytics, a migration's) any other; a database
# or role said missing in words that leave its severity unsaid (Refusal.NAME_MISSING: 'pq: database "D" does not
# exist', sqlx's 'error returned from database: role "R" does not exist') may be a FATAL at login or an ERROR of a
# statement (CREATE ... OWNER TO, GRANT ... TO R, dblink). A deploy that changed DB_NAME beside a line naming
# another database did not bring it: only a name the new revision asks for and the one before does not does.
_NAME_TIES_ONLY = frozenset({Refusal.DB_ACCESS, Refusal.UNKNOWN_DATABASE, Refusal.NAME_MISSING})


def _settings_named(kind: str, text: str) -> tuple[str, ...]:
    """The connection settings (connection_target_changed's "database", "user") one refusal names, either of
    which changed explains it (`_kinds_changed`); () for a refusal no setting of the client's decides. A missing
    CONNECT privilege names both (server_fatal.NAMES_THE_USER and NAMES_THE_DATABASE): the grant is a role's on a
    database. MySQL's 1044 and 1049 and a name said missing with its severity unsaid are not read here
    (_NAME_TIES_ONLY)."""
    named = []
    if kind in _USERS_OWN or (kind in _NAMED_BY_WORDS and names_the_user(text)):
        named.append("user")
    if kind in _NAMED_BY_WORDS and names_the_database(text):
        named.append("database")
    return tuple(named)


# The refusals whose answer turns on which user or database the connection asks for: besides the three
# kinds `_settings_named` reads, pg_hba.conf's 'no pg_hba.conf entry for host "A", user "U", database "D"'
# (src/backend/libpq/auth.c, ClientAuthentication; Refusal.NOT_ADMITTED and HBA_NO_ENTRY) and a role's or a
# database's own CONNECTION LIMIT, 'too many connections for role "U"' (src/backend/utils/init/miscinit.c,
# InitializeSessionUserId; 'for database "D"', postinit.c; Refusal.ROLE_LIMIT) or a MySQL user's (1203 "User U
# already has more than 'max_user_connections' ...", 1226 "User 'U' has exceeded ..."; Refusal.USER_LIMIT), and an
# IAM login refused,
# 'Cloud SQL IAM service account authentication failed for user "U"' (Refusal.IAM_USER; the words as
# GoogleCloudPlatform/cloud-sql-jdbc-socket-factory issue #727 quotes them): the login is refused for the user
# it asks for, which for a service account is its email without ".gserviceaccount.com" (Cloud SQL docs, "Manage
# users with IAM database authentication"), set by the application (the Python connector's `user=`, from
# DB_IAM_USER in GoogleCloudPlatform/python-docs-samples cloud-sql/postgres/sqlalchemy/
# connect_connector_auto_iam_authn.py): a deploy that changed that name brings the refusal, as a DB_USER moved
# does. Whether Cloud SQL answers a user name it does not hold with these words or another is UNCONFIRMED;
# a name both revisions ask for ties nothing to the deploy either way (_names_brought). The server admits one
# user or database and not another.
_NAMES_DECIDE = _SETTINGS_NAMED | _NAME_TIES_ONLY | {Refusal.NOT_ADMITTED, Refusal.HBA_NO_ENTRY, Refusal.ROLE_LIMIT,
                                                     Refusal.USER_LIMIT,
                                                     Refusal.IAM_USER}
def _kinds_changed(refused: dict[str, list[LogRecord]], suspect: Revision, previous: Revision) -> dict[str, list[str]]:
    """Each setting the refusals' kinds name (`_settings_named`: a role or database that does not exist, a
    password refused or expired, a CONNECT privilege missing) -> the variables the deploy changed for it (a plain
    value, or a pinned secret's version), when every refusal names one and the deploy changed, for every refusal,
    one of the settings it names; {} otherwise."""
    if not refused.keys() <= _SETTINGS_NAMED:
        return {}
    said = [per_text(lambda text, kind=kind: _settings_named(kind, text), entries) for kind, entries in refused.items()]
    each = [whats for by_text in said for whats in by_text.values()]
    if not each or not all(each):
        return {}
    changed = {what: connection_target_changed(previous.plain_env, suspect.plain_env, what)
               or pinned_env_changed(previous, suspect, lambda name, what=what: holds_setting(name, what))
               for what in {what for whats in each for what in whats}}
    if not all(any(changed[what] for what in whats) for whats in each):
        return {}
    return {what: variables for what, variables in changed.items() if variables}


def _names_brought(refused: dict[str, list[LogRecord]], suspect: Revision, previous: Revision) -> dict[str, list[str]]:
    """Each setting -> the variables that brought the user or database the refusals name (`_names_said`):
    a plain env variable (env_hosts.target_brought: a name only the new revision asks for, against a revision
    before that asks for another), or for a pg_hba.conf refusal a pinned secret the deploy moved that holds
    it (`_names_in_moved_secrets`), when every refusal names at least one such; {} otherwise. A name both
    revisions give (the same user refused at pg_hba.conf) ties nothing to the deploy."""
    brought: dict[str, list[str]] = {}
    kinds = {e.text: kind for kind, entries in refused.items() for e in entries}
    for text, kind in kinds.items():
        tied = sorted({(what, v) for what, name in _names_said(text)
                       for v in target_brought(previous.plain_env, suspect.plain_env, what, name)})
        if not tied and kind in _HBA_REFUSALS:
            tied = _names_in_moved_secrets(text, suspect, previous)
        if not tied:
            return {}
        for what, variable in tied:
            brought.setdefault(what, [])
            if variable not in brought[what]:
                brought[what].append(variable)
    return brought


# pg_hba.conf admits a connection by its type, source address, database and user together: "The first record
# with a matching connection type, client address, requested database, and user name is used for
# authentication" (PostgreSQL docs, 21.1 "The pg_hba.conf File"); Refusal.HBA_NO_ENTRY and NOT_ADMITTED.
_HBA_REFUSALS = frozenset({Refusal.HBA_NO_ENTRY, Refusal.NOT_ADMITTED})


def _names_in_moved_secrets(text: str, suspect: Revision, previous: Revision) -> list[tuple[str, str]]:
    """(setting, the secret the deploy moved, in secret_refs.pinned_env_changed's words) for a pg_hba.conf
    refusal whose user or database sits, as far as the env shows, in a pinned secret whose version the deploy
    moved (secret_refs.pinned_env_moved, env_hosts.holds_setting: DB_NAME, DATABASE_URL), the revision before
    pinning it there: no plain env var of either revision asks for that name (env_hosts.asks_for), and every
    other name the refusal gives is one both revisions' plain env asks for, or is read only from the moved
    secrets (a DATABASE_URL holds the user and the database). A secret's value is never read, so a name a
    plain setting gives, a secret read at "latest", or a user read from a secret the deploy did not move
    leaves the refusal unexplained: [] then."""
    said = _names_said(text)
    moved = {what: pinned_env_moved(previous, suspect, lambda name, what=what: holds_setting(name, what))
             for what in {what for what, _ in said}}
    tied = {(what, name) for what, name in said if moved[what] and not asks_for(previous.plain_env, what, name)
            and not asks_for(suspect.plain_env, what, name)}
    places = {where for what, _ in tied for where in moved[what]}
    for what, name in said - tied:
        alike = asks_for(previous.plain_env, what, name) and asks_for(suspect.plain_env, what, name)
        held = env_read_from_secrets(suspect, lambda variable, what=what: holds_setting(variable, what))
        if not alike and not (held and held <= places):
            return []
    return sorted({(what, words) for what, _ in tied for words in moved[what].values()})


def _asks_for_another(facts: Facts, refused: dict[str, list[LogRecord]]) -> str:
    """Why the refusals of a database or a user the server does not hold are the new revision's own, or
    "": each refusal names the database or the user the connection asks for (`_settings_named`), every
    one came from the newest serving revision, deployed within deploy_window_seconds, and its deploy
    changed, against the Ready revision before it, the setting each one names
    (env_hosts.connection_target_changed: DB_NAME, DB_USER, a database URL's path or user, libpq's
    dbname=/user=; Cloud Run Admin v2 Revision.containers[].env[].value), or the secret or version such a
    variable reads against a revision before that pins it there (secret_refs.pinned_env_changed,
    env_hosts.holds_setting: DB_NAME, DATABASE_URL from Secret Manager; Revision.containers[].env[].
    value_source.secret_key_ref). The revision before holds the settings the server accepted, so sending
    traffic back restores them (bad_revision). A password
    rotated on the server, a database dropped or a role removed, with the same settings on both, or
    refused for the revision before too, is not the deploy's doing and competes with it, as before; so
    does a host moved with the same database and user (the refusal names neither: a password refused
    at another host stays a person's call, test_database_own_failures); a password the deploy changed
    is _credentials_changed's. Beside the kinds that name a setting, a refusal that names the user or the
    database it was refused for (`_names_said`: pgx's "`user=U database=D`", pg_hba.conf's 'user "U",
    database "D"', a role's connection limit) is the deploy's where that name is one only the new
    revision's plain env asks for (`_names_brought`, env_hosts.target_brought), or, for a pg_hba.conf refusal,
    one no plain setting of either revision gives that sits in a pinned secret the deploy moved
    (`_names_in_moved_secrets`); a name both give ties nothing."""
    found = _only_from_the_new_revision(facts, refused, _NAMES_DECIDE)
    if found is None:
        return ""
    suspect, previous, _ = found
    changed = _kinds_changed(refused, suspect, previous) or _names_brought(refused, suspect, previous)
    if not changed:
        return ""
    named = changed.keys()
    said = list(dict.fromkeys(v for what in sorted(named) for v in changed[what]))
    held = ("a plain value, which comes back with the revision that holds it"
            if all(v.startswith("plain env ") for v in said) else
            "a plain value or a pinned secret version, which comes back with the revision that holds it")
    return (f"the refusals of the {' and the '.join(sorted(named))} it asks for all come from {suspect.short_name}, "
            f"whose deploy changed {', '.join(said)} against {previous.short_name} ({held}): the new revision asks "
            "the server for what it does not hold or admit, so they are its own (bad_revision)")


# The refusals of what one revision's connections present (a user and its password, an IAM identity, a database
# name, and the authentication method its client library can answer): an old revision logging in on the same server in
# the same minutes shows the server takes its logins.
_PRESENTED = frozenset({Refusal.CREDENTIALS, Refusal.IAM_USER, Refusal.UNKNOWN_DATABASE, Refusal.AUTH_METHOD})


def _login_read_at_latest(revision: Revision) -> list[str]:
    """Where `revision` reads what it logs in with from a secret at `latest` (or no version, read as latest): an env
    var named as a credential (secret_refs.names_a_credential: DB_PASSWORD), one holding the user or the database
    (env_hosts.holds_setting: DB_USER, DB_NAME, DATABASE_URL), or a secret volume (a file may hold any of them)."""
    return [where_read(ref) for ref in revision.secrets if ref.version in ("", "latest")
            and (ref.volume or names_a_credential(ref.env) or holds_setting(ref.env, "user")
                 or holds_setting(ref.env, "database"))]


def _presented_alike(refused: dict[str, list[LogRecord]], suspect: Revision, previous: Revision) -> bool:
    """Whether the two revisions may present the same refused thing, so that the revision before logging in cleanly
    (on connections its pool opened before, UNCONFIRMED either way) tells nothing of the new one's: either reads its
    login at `latest` (`_login_read_at_latest`: a version added under latest reaches only the instances started
    since, Cloud Run docs "Configure secrets for services", as `_credentials_changed` reads it); an IAM login refused
    for both running as the same service account (the IAM user is the account's email, Cloud SQL docs "Manage users
    with IAM database authentication"); a database refused as unknown whose name the refusal does not give, or the
    revision before asks for too (env_hosts.asks_for: a database dropped refuses the new connections of both)."""
    if _login_read_at_latest(previous) or _login_read_at_latest(suspect):
        return True
    if Refusal.IAM_USER in refused and suspect.service_account == previous.service_account:
        return True
    unknown = {e.text for e in refused.get(Refusal.UNKNOWN_DATABASE, ())}
    return any(not names or any(asks_for(previous.plain_env, "database", name) for name in names)
               for names in ({name for what, name in _names_said(text) if what == "database"} for text in unknown))


def _users_audited(facts: Facts, suspect: Revision, previous: Revision) -> bool:
    """Whether the audit read asked for the database users changed on the instances these revisions name
    (log_signals.sql_user_changes_clause: a Cloud SQL instance of the service's project): none named (a private IP
    reached through the connector) or another project's made no such query, and its empty answer says nothing."""
    project = facts.b.service.name.split("/")[1] if facts.b.service.name.startswith("projects/") else ""
    return bool(sql_user_changes_clause(project, suspect.cloudsql_instances + previous.cloudsql_instances))


def _refused_on_the_new_revision_alone(facts: Facts, refused: dict[str, list[LogRecord]]) -> str:
    """Why the refusals are the new revision's own, or "": every refusal is of what a connection presents
    (`_PRESENTED`) and came from the revision deployed within the window (`_only_from_the_new_revision`), while the
    revision it replaced, still serving beside it (a canary), served at least min_requests since the first refusal
    with at most healthy_error_ratio of them 5xx and no refusal of its own; and no database user the revisions log
    in as (or one unnamed) was changed at or before the first refusal (`refusals.user_changes`). On the same server
    in the same minutes, the database takes the old revision's logins and refuses the new one's: its user, its
    password's source, its driver or identity, what its deploy brought (an SRE sends its share back). A password
    changed under both would refuse the old revision's new connections too; that its pooled sessions, opened
    before, survive such a change is UNCONFIRMED (PostgreSQL's "Client Authentication" chapter describes
    authentication as a connection starts), so with such a change read the two compete (bad_revision's
    `_previous_not_refused`). So they do where the revisions may present the same (`_presented_alike`: a login read
    at `latest`, the same service account, the same database asked for), where the users audit was not read for
    their instances (`_users_audited`: the read failed, or none named), or where a user changed and the revisions'
    own is not read. Both revisions refused: the database's (this says nothing)."""
    s = facts.s
    alone = _only_from_the_new_revision(facts, refused, _PRESENTED)
    if alone is None or _presented_alike(refused, alone[0], alone[1]):
        return ""
    suspect, previous, entries = alone
    first = min(e.timestamp for e in entries)
    read = facts.b.sql_audit
    if read is None or not _users_audited(facts, suspect, previous):
        return ""     # the audit not read for their instances: "not read" is not "no user changed"
    users = users_logging_in(refused, previous, suspect)
    if user_changes(facts, read.entries, users, first, unread_users_match=True, hosts=refused_hosts(refused)):
        return ""
    counts = facts.requests(Window(first, facts.incident.end), previous.short_name)
    if counts.total < s.min_requests or counts.error_ratio > s.healthy_error_ratio:
        return ""
    return (f"every refusal ({len(entries)}x) is {suspect.short_name}'s, while {previous.short_name}, the revision it "
            f"replaced, served {counts.total:.0f} requests ({pct(counts.error_ratio)} 5xx) with no refusal since the "
            f"first one ({first:%H:%M:%S}), and no database user they log in as was changed: the database takes "
            f"{previous.short_name}'s logins in the same minutes, so the refusals are what {suspect.short_name} "
            "presents (its user, password, identity or driver: bad_revision)")


# The refusals a deploy brought about itself, each check in this order with what it read and the
# condition it held: when one says why, the refusals are the new revision's own, this rule does not
# match, and bad_revision judges the deploy. Each asks for refusals of its own kinds only, none of
# them the resolver's or the Admin API's that _deploy_named_the_host and _deploy_named_the_instance
# read after them.
_DEPLOYS_OWN: tuple[tuple[Callable[[Facts, dict[str, list[LogRecord]]], str], str, str], ...] = (
    (_identity_changed, "run.revisions.list: service_account",
     "refusals of the caller's identity only from a new revision that runs as another service account"),
    (_credentials_changed, "run.revisions.list: containers[].env[].value_source.secret_key_ref, volumes[].secret",
     "password refusals only from a new revision whose deploy changed the secret version it reads, against one "
     "that pins every secret"),
    (_iam_login_changed, "run.revisions.list: containers[].env[].value",
     "login refusals only from a new revision whose deploy switched IAM database authentication in its plain env"),
    (_tls_settings_changed, "run.revisions.list: containers[].env[].value",
     "TLS refusals only from a new revision whose deploy changed a TLS setting in its plain env"),
    (_ip_type_changed, "run.revisions.list: containers[].env[].value",
     "refusals for an IP type the instance lacks only from a new revision whose deploy changed the IP type it asks "
     "for in its plain env"),
    (_resolved_elsewhere, "run.revisions.list: vpc_access (connector, egress, network_interfaces)",
     "answers that depend on the path (a host name unresolved, a source host not admitted) only from a new "
     "revision that reaches its VPC another way"),
    (_busier_instances, "run.revisions.list: max_instance_request_concurrency",
     "refusals at the Auth Proxy's own limit only from a new revision that runs more requests at once in each "
     "instance"),
    (_pool_raised, "run.revisions.list: containers[].env[].value",
     "refusals at a connection limit only from a new revision whose deploy raised its pool's size"),
    (_pointed_elsewhere, "run.revisions.list: containers[].env[].value, volumes[].cloud_sql_instance",
     "writes refused as read-only only from a new revision whose deploy changed the database it connects to"),
    (_answered_at_an_address_the_deploy_brought,
     "run.revisions.list: containers[].env[].value, volumes[].cloud_sql_instance.instances",
     "refusals only from a new revision, naming a server (an address, a port, a Cloud SQL socket) only its settings "
     "name"),
    (_asks_for_another, "run.revisions.list: containers[].env[].value",
     "refusals of a database or a user the server does not hold only from a new revision whose deploy changed "
     "which one it asks for"),
    (_refused_on_the_new_revision_alone, "run.googleapis.com/request_count by revision; the log read; the audit read",
     "login refusals only from a new revision while the revision before, serving beside it, logs in cleanly and no "
     "database user they use was changed"),
)
