"""bad_revision: the newest revision, deployed shortly before the incident, fails while the one
before it served cleanly. Failing means 5xx since the deploy, or startup failures in its logs."""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from shared.alerts.label_filters import label_tests, shown, unselected
from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.facts import (CONNECTIONS_READ, PROMOTION_QUIET_MINUTES, SQL_CONNECTIONS_BEFORE,
                                    SQL_CONNECTIONS_RISE, TARGET_LOAD_MINUTES, Facts, LogIndex, Promotion, Requests,
                                    Window, clock_on, hms, path_changed, query_of)
from shared.diagnosis.evidence import (LogRecord, Revision, TrafficType, all_logged_by, logged_by, short_name,
                                      update_tags_flag, update_traffic_command)
from shared.diagnosis.background import BACKGROUND_FACTOR, TargetBar, background_of, target_bar
from shared.diagnosis import slow_canary
from shared.diagnosis.health_bar import REQUEST_LATENCIES, health_bar, latency_codes, timeout_share_bar
from shared.diagnosis.slow_canary import Beside, SlowCanary
from shared.diagnosis.log_signals import (REPLICA_CONFLICT, SQL_USER_WRITES, LogSignal, Refusal, found_in,
                                         pattern_of, per_text, refusals_of)
from shared.diagnosis.lock_waits import LOCK_ADVICE, LOCK_TIMEOUT, lock_timeouts, lock_words
from shared.diagnosis.replica import REPLICA_ADVICE, replica_conflicts
from shared.diagnosis.rules.base import UNREAD_LOGS_CONFIDENCE, Citation, duration, pct, unread_rule_outs
from shared.diagnosis.env_hosts import (connection_target_changed, database_address_changed, deploy_brought,
                                     endpoint_brought)
from shared.diagnosis.rules.deploy_changes import (ADMIN_API_REFUSALS, DEFAULT_MAX_INSTANCES,
                                                  cite_hosts_brought, cite_instance_brought, scaling_tightened,
                                                  deploy_lowered_timeout, requests_per_instance, settings_changed,
                                                  timeout_seconds)
from shared.diagnosis.rules.platform_onset import (ADVICE as PLATFORM_ADVICE, platform_answers_after_clean_minutes,
                                                  replaced_served_cleanly)
from shared.diagnosis.rules.refusals import refused_hosts, refusals, same_account, user_changes, users_logging_in
from shared.diagnosis.rules.answered_alike import answered_alike
from shared.diagnosis.rules.connector_full import connector_full_alike
from shared.diagnosis.rules.target_capacity import before_the_deploy, cannot_carry, just_before
from shared.diagnosis.rules.target_deps import connector_gone, connector_without_room, database_moved
from shared.diagnosis.rules.target_secrets import secret_version_gone
from shared.diagnosis.rules.same_release import deployed_the_same
from shared.diagnosis.rules.timed_out_alike import timed_out_alike
from shared.diagnosis.pool_settings import pool_size_changed
from shared.diagnosis.secret_refs import modes_changed, plain_credentials_changed, secrets_changed
from shared.diagnosis.secret_values import (CREDENTIAL, may_hold, named, read_at_latest_by_both, read_differently,
                                           url_hosts, value_failure)
from shared.diagnosis.ip_type_settings import ip_type_changed
from shared.diagnosis.tls_settings import tls_settings_changed
from shared.diagnosis.signatures import Finding, Signature, TargetBackground
from shared.gcp.run_logs import REQUEST_LOG, STDERR, SYSTEM_LOG


def evaluate(facts: Facts) -> Finding:
    s, b = facts.s, facts.b
    c = Citation(Signature.BAD_REVISION)
    suspect = facts.newest_serving
    split = ", ".join(f"{t.revision}={t.percent}%" for t in b.service.traffic_statuses) or "none"
    if not c.cite("api", f"run.services.get {b.service.name}: traffic_statuses", split,
                  "newest revision with traffic > 0%", suspect is not None):
        return c.no("no revision of the service is receiving traffic")

    later = None
    promoted = facts.promotion(suspect)
    if promoted is None and suspect.create_time > b.incident_started_at:
        # The newest serving revision is a change made since the incident began: the deploy before it, if one
        # served in the incident's minutes, is judged on its own requests instead (`_deployed_before`).
        later, suspect = suspect, _deployed_before(facts, c, suspect)
        if suspect is None:
            return c.no(_deployed_since(facts, later, (later.create_time - b.incident_started_at).total_seconds()))
        # The deploy before it may be a promotion in the window of a revision created long before.
        promoted = facts.promotion(suspect)
    if promoted is not None:
        # Created long before, given its traffic in the deploy window: the promotion is the deploy, and
        # every window below is cut from it (Facts.deployed).
        _cite_promotion(facts, c, promoted)
        suspect = promoted.revision
    else:
        lead = (b.incident_started_at - suspect.create_time).total_seconds()
        if not c.cite("api", f"run.revisions.get {suspect.short_name}: create_time",
                      f"created {duration(lead)} before the incident started",
                      f"0 s to {s.deploy_window_seconds} s before the incident", 0 <= lead <= s.deploy_window_seconds):
            if lead < 0:
                return c.no(_deployed_since(facts, suspect, -lead))
            # No revision holding a share changed in the window: a tag-only revision that did may be the cause.
            tagged = _tag_only_cause(facts, c, suspect)
            if tagged is not None:
                return tagged
            return c.no(f"{suspect.short_name} was not deployed shortly before the incident"
                        + (_undated_promotion(facts, c, suspect) or _promotion_time(facts, c, suspect))
                        + _tag_only_failures(facts, c))

    judged = _judge(facts, c, suspect, promoted, later)
    if judged.matched:
        return judged
    if later is None:
        # The newest serving deploy is not shown failing: an earlier deploy of the window still holding a share
        # (a split across three revisions, the middle one failing) may be.
        return _earlier_deploy_failing(facts, suspect, promoted) or judged
    # The deploy before the change since is not shown to be the cause: the change since is said first.
    since = (later.create_time - b.incident_started_at).total_seconds()
    return judged.model_copy(update={"summary": f"{_deployed_since(facts, later, since)}; {suspect.short_name}, "
                                                f"deployed before it: {judged.summary}"})


def _judge(facts: Facts, c: Citation, suspect: Revision, promoted: Promotion | None,
           later: Revision | None) -> Finding:
    """bad_revision's checks of `suspect`, dated (its deploy, or its promotion), from its failures on. `later`:
    the revision created since the incident began that serves (`_deployed_before`), or None."""
    s = facts.s
    failing = _failing(facts, c, suspect)
    if failing is not True:
        return c.no(failing)
    if not _errors_concentrated(facts, c, suspect):
        return c.no("5xx are not concentrated on the newest revision")
    doubt = _not_its_own(facts, c, suspect)
    if doubt is not None:
        return doubt
    _cite_instance_the_deploy_named(facts, c, suspect)
    if later is not None:
        return _held_for_a_full_connector(facts, c, suspect, None) or _superseded(facts, c, suspect, later, promoted)
    good, steps, why_none, command, background = _known_good(facts, c, suspect)
    forward = _forward_past_a_move_back(facts, c, promoted, good)
    if forward:
        return c.doubt(forward, f"if the move back to {suspect.short_name} was not meant, send traffic to "
                                f"{good.short_name} by hand; otherwise fix forward: Runwarden does not undo a "
                                "release that went back to an older revision")
    # With no rollback target the finding escalates anyway, saying why (the revision before cannot
    # start either, say); with one, failed dials the revision before would meet too hold it back.
    same = (deployed_the_same(c, suspect, good, lambda: failed_starts(facts.log_matches(LogSignal.STARTUP_FAILURE,
                                                                                        suspect.short_name)))
            if good is not None else None)
    if same:
        # A no-op deploy (a label, a suffix, the same image again): a rollback brings back the same release.
        return c.doubt(*same)
    gone = _connector_gone_for_both(facts, c, suspect, good) if good is not None else ""
    if gone:
        return c.doubt(gone, CONNECTOR_GONE)
    held = _held_for_a_full_connector(facts, c, suspect, good)
    if held:
        # The shared connector full (or being changed): the new revision's new connections wait on it.
        return held
    unreached = _dials_fail_on_the_same_path(facts, c, suspect) if good is not None else ""
    if unreached:
        return c.doubt(unreached, DIALS_FAIL)
    latest = _secret_read_at_latest_by_both(facts, c, suspect, good) if good is not None else None
    if latest:
        return c.doubt(*latest)
    alike = answered_alike(facts, c, suspect, good) if good is not None else None
    if alike:
        # A key revoked at the provider, a quota used up, a certificate expired in the deploy's minutes.
        return c.doubt(*alike)
    slow = timed_out_alike(facts, c, suspect, good) if good is not None else None
    if slow:
        # A partner already slow for the rollback target, in the deploy's minutes.
        return c.doubt(*slow)
    counts = facts.requests(facts.since_deploy(suspect), suspect.short_name)
    confidence = 0.9 if counts.total >= 3 * s.min_requests else 0.75
    unread = unread_rule_outs(facts, c, _LOG_RULE_OUTS)
    if unread:
        # Cloud Run's refusals, another service's 5xx, a failed lookup were never read, not ruled out.
        confidence = min(confidence, UNREAD_LOGS_CONFIDENCE)
    changed = _what_the_deploy_changed(facts, c, suspect, good) + unread
    since = _since_its_deploy(facts, promoted)
    if good is None:
        # Still a bad revision: what is missing is somewhere to send its traffic. Say why, and escalate.
        return c.yes(confidence, f"{suspect.short_name} fails {since} ({_how_it_fails(facts, suspect, counts)}), "
                                 f"and there is no rollback target: {why_none}{changed}",
                     subject=suspect.short_name, suspect_revision=suspect.short_name, no_target_reason=why_none,
                     recommendation="fix forward (deploy a corrected revision), or route traffic by hand to a "
                                    "revision you trust" + (f"; the share the revision before is shown to carry: "
                                                            f"{command}" if command else ""))
    past = f" (stepped past: {why_none})" if why_none else ""
    return c.yes(confidence, f"{suspect.short_name} fails {since} ({_how_it_fails(facts, suspect, counts)}); "
                             f"{good.short_name} served cleanly before it{past}{changed}",
                 subject=suspect.short_name, suspect_revision=suspect.short_name,
                 known_good_revision=good.short_name, steps_back=steps, target_background=background,
                 suspect_promoted_at=promoted.revision.create_time if promoted is not None else None,
                 recommendation=f"send 100% of traffic back to {good.short_name}")


# The refusals of the user a connection logs in as (database_unreachable._USERS_OWN's kinds): what a password
# set on the instance under the service brings about on every new connection, whichever revision opens it.
_LOGIN_REFUSED = frozenset({Refusal.CREDENTIALS, Refusal.PASSWORD_EXPIRED})


def _password_set_under_it(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why `suspect`'s failures are the database's credentials changed under the service, not its deploy, or "":
    every database refusal is of the login (`_LOGIN_REFUSED`), the Admin Activity audit log shows a database user of
    an instance the revisions name changed or deleted (cloudsql.users.update, .delete: log_signals.SQL_USER_WRITES;
    read with the service's changes) at or before the first refusal, by anyone but Runwarden, and the deploy changed nothing of
    how the service logs in against the revision before it (the same user, password settings and secrets, the same
    database address: secret_refs, env_hosts). The revision before would present the same credentials to the same
    server and be refused on its new connections too: a rollback cannot bring the old password back
    (database_unreachable names the refusals; a person sets the password on one side). With no such entry (a
    password changed in SQL logs nothing there, or the entry not read), the deploy and the database compete as
    before; a deploy that changed a credential setting is the deploy's (database_unreachable._DEPLOYS_OWN).
    Nor is the deploy ruled out when the revision before is shown logging in where the suspect is refused
    (`_previous_not_refused`: a canary's old revision serving cleanly after the first refusal, none of its own):
    the change named was then not shown to refuse every revision, and the two compete again."""
    read = facts.b.sql_audit
    if read is None or not read.entries:
        return ""     # no database user changed: the refusals are not read for this
    refused = refusals(facts)
    if not refused or not refused.keys() <= _LOGIN_REFUSED:
        return ""
    deploy = facts.recent_deploy()
    if deploy is None or deploy[0].name != suspect.name:
        return ""
    previous = deploy[1]
    if _login_settings_changed(previous, suspect):
        return ""
    first = min(e.timestamp for entries in refused.values() for e in entries)
    users = users_logging_in(refused, previous, suspect)
    hosts = refused_hosts(refused)
    changes = user_changes(facts, read.entries, users, first, hosts=hosts)
    others = sorted({e.sql_account for e in read.entries
                     if e.sql_user is not None and (e.sql_user not in users or not same_account(e, hosts))})
    if not c.cite("log", read.query, f"{len(changes)} database user change(s) on the revisions' Cloud SQL instances "
                                     f"at or before the first refusal ({first:%H:%M:%S})"
                                     + (f"; of another user than the revisions log in as ({', '.join(users) or 'none read'}):"
                                        f" {', '.join(others)}" if others else ""),
                  "at least 1 (cloudsql.users.update or .delete) of a user the revisions log in as (or naming none), "
                  "with the login refused and the deploy changing no credential setting", bool(changes)):
        return ""
    if _previous_not_refused(facts, c, previous, first):
        return ""
    last = max(changes, key=lambda e: e.timestamp)
    return (f"the database refused the login ({', '.join(refused)}) from {last.timestamp:%H:%M:%S}: "
            f"{last.principal or 'someone'} {SQL_USER_WRITES[last.method_name]} a database user on "
            f"{last.resource_name or 'the instance'} "
            f"({last.method_name}) at {last.timestamp:%H:%M:%S}, and {suspect.short_name}'s deploy changed no "
            f"user, password or secret it logs in with against {previous.short_name}: the credentials changed "
            "under the service, and sending traffic back presents the same ones (database_unreachable)")


def _login_settings_changed(previous: Revision, suspect: Revision) -> bool:
    """Whether the deploy changed how the service logs in against the revision before: a secret, a plain credential,
    the user asked for, the database's address (secret_refs, env_hosts)."""
    return bool(secrets_changed(previous, suspect) or plain_credentials_changed(previous, suspect)
                or connection_target_changed(previous.plain_env, suspect.plain_env, "user")
                or database_address_changed(previous.plain_env, suspect.plain_env, previous.cloudsql_instances,
                                            suspect.cloudsql_instances))


def _login_refused_on_both(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why `suspect`'s failures are the database's, not its deploy's, or "": every database refusal is of the login
    (`_LOGIN_REFUSED`), the suspect logged at least db_error_logs_min of them (its own failures are the refusals, not
    a bug of its own beside them), and the revision the deploy replaced, still serving beside it (a canary), logged
    at least db_error_logs_min of them itself. The server refuses what both revisions present: a rollback sends the traffic
    to a revision refused the same way (database_unreachable names the refusals). A deploy that changed how the
    service logs in (`_login_settings_changed`) is not ruled out: the two compete, as before. The opposite split,
    the new revision refused alone while the old one logs in, is database_unreachable's
    `_refused_on_the_new_revision_alone`."""
    refused = refusals(facts)
    if not refused or not refused.keys() <= _LOGIN_REFUSED:
        return ""
    deploy = facts.replaced(suspect)
    if deploy is None or _login_settings_changed(deploy[0], suspect):
        return ""     # a user or password the deploy changed: its own refusals are judged elsewhere, and compete
    previous = deploy[0].short_name
    lines = [e for entries in refused.values() for e in entries]
    own = logged_by(lines, previous)
    # The suspect's own refusals too: a canary failing of its own bug (a traceback, no refusal) beside a revision
    # before it that is refused is not cleared by refusals that are not its own.
    theirs = logged_by(lines, suspect.short_name)
    if not facts.logged_enough(theirs):
        c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_REFUSED)}",
               f"{len(theirs)} of the login refusals on {suspect.short_name} itself",
               f"< {facts.s.db_error_logs_min}: its failures are not shown to be the refusals the revision before "
               "logs, and its deploy is not ruled out", True)
        return ""
    both = facts.logged_enough(own)
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DB_REFUSED)}",
           f"{len(own)} of the login refusals on {previous}, the revision {suspect.short_name} replaced",
           f">= {facts.s.db_error_logs_min} on the revision before too: the server refuses both revisions' logins",
           not both)
    if not both:
        return ""
    return (f"the database refuses the login ({', '.join(refused)}) of {previous}, the revision {suspect.short_name} "
            f"replaced, too ({len(own)}x, e.g. {excerpt(own[0].text, limit=120)!r}): both present what the server "
            "refuses, and sending traffic back meets the same refusals (database_unreachable)")


def _previous_not_refused(facts: Facts, c: Citation, previous: Revision, first: datetime) -> bool:
    """Whether the revision the deploy replaced (`previous`) served cleanly after the database's first refusal
    (`first`) with no refusal of its own: at least min_requests of its requests since that minute, at most
    healthy_error_ratio of them 5xx, and none of the database's refusals in the log read on it. A password set
    under the service refuses every revision's new logins, so the revision before, still serving a canary's share,
    is refused too; one that is not shows the refusals the new revision's own (its image logs in otherwise: another
    driver, another auth method, a user it reads elsewhere). The service's log read is one page, newest first:
    holding the first refusal, it holds every line after it, so none seen on `previous` is none logged.
    Its clean requests may also be served on connections it opened before the change (a pool keeps them): that a
    changed password refuses only a new login and leaves a session already authenticated alone is UNCONFIRMED
    (PostgreSQL's "Client Authentication" chapter and ALTER ROLE's page describe authentication as the connection
    starts and say nothing of open sessions), and how soon a pool opens new connections is the application's.
    Under that reading the deploy is not shown the cause either, so it is not ruled out and not named: the two
    compete, escalated, never a rollback on this alone."""
    s = facts.s
    name = previous.short_name
    counts = facts.requests(Window(first, facts.incident.end), name)
    own = [e for e in facts.database_lines(LogSignal.DB_REFUSED) if e.resource_labels.get("revision_name") == name]
    clean = counts.total >= s.min_requests and counts.error_ratio <= s.healthy_error_ratio and not own
    c.cite("metric", f"{facts.requests_query}; the log read: {pattern_of(LogSignal.DB_REFUSED)}",
           f"{name} since the first refusal ({first:%H:%M:%S}): {counts.total:.0f} requests, "
           f"{pct(counts.error_ratio)} 5xx, {len(own)} refusal(s) of its own",
           f"under {s.min_requests} requests, over {pct(s.healthy_error_ratio)} 5xx or a refusal of its own on the "
           "revision before: the password change refusing it too (else the deploy is not ruled out)", not clean)
    return clean


def _not_its_own(facts: Facts, c: Citation, suspect: Revision) -> Finding | None:
    """The doubt that `suspect`'s failures, concentrated on it, are its deploy's own, or None: refused for want of
    instances, passed on from another service it calls, begun after minutes of clean serving, Cloud Run's own 503s
    after clean minutes with its container silent (platform_onset.py), or a cause the
    revisions beside it share (names unresolved on its path, replica conflicts, lock waits, connections taken on its
    database). One list for every path that names a revision the cause (`_judge`, `_earlier_deploy_failing`,
    `_tag_only_cause`): a revision named by one path is cleared of what every path clears it of."""
    password = _password_set_under_it(facts, c, suspect) or _login_refused_on_both(facts, c, suspect)
    if password:
        return c.no(password)
    refused = _refused_for_want_of_instances(facts, c, suspect)
    if refused:
        return c.doubt(refused, f"compare the traffic and {suspect.short_name}'s startup latency with the previous "
                                "revision's: a burst needs min instances (or a faster start), a slower start is the "
                                "deploy's; send traffic back by hand only if the deploy is the cause")
    passed_on = _passed_on_from_another_service(facts, c, suspect)
    if passed_on:
        return c.doubt(passed_on, "look at the named Cloud Run service's revisions and deploys in the same minutes; "
                                  f"send traffic back by hand only if {suspect.short_name}'s deploy changed its calls")
    first = _began_before_its_deploy(facts, c, suspect)
    if first:
        # The failures came first, on the revision it replaced: the deploy (a hotfix, a routine release) did not
        # start them. Not ruled out (it may have made them worse), never named the cause alone.
        return c.doubt(first, f"find what began failing {_ONSET_WORDS}: a dependency the revisions share (the failure "
                              "lines quoted), load, or a change outside the service; send traffic back by hand only "
                              f"if {suspect.short_name}'s deploy made them worse")
    late = _clean_before_onset(facts, c, suspect)
    if late:
        # Not shown to be the deploy, not cleared of it either (a leak fails late too): no rollback,
        # and no other cause acts alone beside it.
        return c.doubt(late, f"find what changed when the failures began (a dependency, load, or a leak in "
                             f"{suspect.short_name}); send traffic back by hand if the deploy is the cause")
    platform = platform_answers_after_clean_minutes(facts, c, suspect)
    if platform:
        # Cloud Run's own 503s after clean minutes, the container silent: a platform incident as likely.
        return c.doubt(platform, PLATFORM_ADVICE)
    for check, what_to_do in ((_names_unresolved_on_the_same_path, NAMES_UNRESOLVED),
                              (_replica_conflicts_on_the_same_replica, REPLICA_CONFLICTS),
                              (_lock_waits_on_the_same_database, LOCK_WAITS),
                              (_connections_taken_on_the_same_database, CONNECTIONS_TAKEN)):
        shared_cause = check(facts, c, suspect)
        if shared_cause:
            return c.doubt(shared_cause, what_to_do)
    return None


def _held_for_a_full_connector(facts: Facts, c: Citation, suspect: Revision, beside: Revision | None
                               ) -> Finding | None:
    """The doubt connector_full raises of `suspect`'s failures (its timed-out dials crossing a connector full, not
    filled by the deploy alone, or being changed), or None. Asked on every path that names a revision the cause and
    ends in a rollback or in a share a person is told to move (`_judge`, `_superseded`, `_earlier_deploy_failing`,
    `_tag_only_cause`): a full connector fails the new connections of whichever revision the traffic goes to.
    `beside`: the revision the traffic would go to (the rollback target, the revision serving cleanly beside it);
    with none, the one `suspect`'s deploy replaced (Facts.replaced)."""
    if beside is None:
        replaced = facts.replaced(suspect)
        beside = replaced[0] if replaced is not None else None
    full = connector_full_alike(facts, c, suspect, beside) if beside is not None else None
    return c.doubt(*full) if full else None


def _earlier_deploy_failing(facts: Facts, newest: Revision, promoted: Promotion | None) -> Finding | None:
    """The finding naming an earlier deploy of the window that still holds a share and fails, when the newest
    serving deploy (`newest`) does not (a split across three revisions: the oldest, a failing release, a newer one
    serving cleanly), or None. Created 0 to deploy_window_seconds before the incident, before `newest`, the only
    such revision failing (>= bad_error_ratio of >= min_requests since its deploy), every other revision with
    requests serving cleanly beside it (`_errors_concentrated`); a doubt `_judge` would raise of it as the newest
    (`_not_its_own`: failing late, passed on, a shared cause) is answered as `_judge` answers it. No rollback target: all
    traffic back to the revision before it would take `newest`'s share too, a release that serves cleanly and
    that the evidence does not blame; a person moves the failing revision's share (the command is given)."""
    if promoted is not None:
        return None
    s, b = facts.s, facts.b
    started = b.incident_started_at
    earlier = [r for r in facts.serving if r.name != newest.name and r.create_time < newest.create_time
               and 0 <= (started - r.create_time).total_seconds() <= s.deploy_window_seconds]
    c = Citation(Signature.BAD_REVISION)
    failing = [r for r in earlier if _failing(facts, Citation(Signature.BAD_REVISION), r) is True]
    if len(failing) != 1:
        return None
    suspect = failing[0]
    if _failing(facts, c, suspect) is not True or not _errors_concentrated(facts, c, suspect):
        return None
    doubt = _not_its_own(facts, c, suspect) or _held_for_a_full_connector(facts, c, suspect, newest)
    if doubt is not None:
        return doubt   # as _judge answers the same revision as the newest
    counts = facts.requests(facts.since_deploy(suspect), suspect.short_name)
    confidence = 0.9 if counts.total >= 3 * s.min_requests else 0.75
    unread = unread_rule_outs(facts, c, _LOG_RULE_OUTS)
    if unread:
        confidence = min(confidence, UNREAD_LOGS_CONFIDENCE)
    mine, theirs = b.service.serving_percent(suspect.short_name), b.service.serving_percent(newest.short_name)
    why = (f"{newest.short_name}, deployed after it and serving {theirs:g}% cleanly, would lose its share too if all "
           f"traffic went back to a revision before {suspect.short_name}")
    changed = _what_the_deploy_changed(facts, c, suspect, None)
    return c.yes(confidence, f"{suspect.short_name} fails since its deploy ({_how_it_fails(facts, suspect, counts)} "
                             f"of {counts.total:.0f}) at {mine:g}% of the split, the revisions beside it clean; there is "
                             f"no rollback target: {why}{changed}{unread}",
                 subject=suspect.short_name, suspect_revision=suspect.short_name, no_target_reason=why,
                 recommendation=_share_moved(facts, suspect, mine))


def _share_moved(facts: Facts, suspect: Revision, mine: float) -> str:
    """What a person does with a failing revision's share of a split no rollback may replace: move that share
    alone to the revision that served cleanly (`_share_taker`), every other share kept, with the `gcloud run
    services update-traffic --to-revisions` line that writes it (its REVISION=PERCENT form, as the plan's kept
    split gives it: docs/api-contracts.md cites it from Cloud Run's rollouts page). A LATEST share counts by the
    revision it reaches (Service.reaches): the failing one's is moved with it; another's is kept as `LATEST=N`, so
    that it still follows the latest ready revision (gcloud takes "LATEST" in --to-revisions, its reference says);
    each tag on a Ready revision is named to stay (evidence.update_tags_flag). By hand, in words, only when no
    other revision holding a share was read serving cleanly, or a LATEST share's revision was not read."""
    b = facts.b
    taker = _share_taker(facts, suspect)
    # A revision may hold two entries (an untagged share and a tagged one): summed, as planning._shares_beside
    # sums them, so that the line keeps every share (--to-revisions names a revision once).
    shares: dict[str, float] = {}
    for t in b.service.traffic_statuses:
        if t.percent > 0:
            reaches = b.service.reaches(t)
            key = reaches if reaches in (suspect.short_name, None) or t.type is not TrafficType.LATEST else "LATEST"
            shares[key] = shares.get(key, 0) + t.percent
    if taker is None or not all(shares):
        return f"move {suspect.short_name}'s {mine:g}% to a revision that served cleanly before it by hand"
    shares[taker.short_name] = shares.get(taker.short_name, 0) + shares.pop(suspect.short_name, 0)
    split = ",".join(f"{name}={percent:g}" for name, percent in shares.items())
    ready = {r.short_name for r in b.revisions if r.ready}
    tags = update_tags_flag(t for t in b.service.traffic if t.revision in ready)
    gcloud = update_traffic_command(b.service.name, f"--to-revisions {split}{tags}")
    return (f"move {suspect.short_name}'s {mine:g}% alone to {taker.short_name}, which served cleanly beside it, "
            f"keeping the other shares: {gcloud}")


def _share_taker(facts: Facts, suspect: Revision) -> Revision | None:
    """The revision a failing revision's share moves to: among the others holding a share that served at least
    min_requests since the suspect's deploy (clean, as `_errors_concentrated` found every such one), the revision
    it replaced (Facts.replaced) when it still holds one, else the newest created before it (what served before the
    release), else the one holding the most (a newer release, clean beside it); None when none was read so."""
    s, window = facts.s, facts.since_deploy(suspect)
    read = [r for r in facts.serving if r.name != suspect.name
            and facts.requests(window, r.short_name).total >= s.min_requests]
    replaced = facts.replaced(suspect)
    if replaced is not None and replaced[0] in read:
        return replaced[0]
    before = [r for r in read if r.create_time < suspect.create_time]
    if before:
        return max(before, key=lambda r: r.create_time)
    return max(read, key=lambda r: (facts.b.service.serving_percent(r.short_name), r.create_time), default=None)


def _forward_past_a_move_back(facts: Facts, c: Citation, promoted: Promotion | None, good: Revision | None) -> str:
    """Why a rollback would send the traffic forward ("" when it would not): the suspect is an older revision
    traffic was sent back to (Facts.promotion: a rollback by hand, or an older release promoted again), and the
    target is one created after it, the one that traffic left. Sending it there undoes someone's decision on
    the evidence of the 5xx share alone; the audit log that would say who moved it is not read here
    (`_human_changes` stands down only for entries it read), so the move is escalated, never reversed."""
    if promoted is None or good is None or good.create_time <= promoted.created:
        return ""
    c.cite("api", f"run.revisions.get {good.short_name}: create_time",
           f"{good.short_name} created {clock_on(good.create_time, promoted.created)}, after "
           f"{promoted.revision.short_name} ({clock_on(promoted.created, good.create_time)})",
           "a rollback target older than the revision it replaces", False, role="context")
    return (f"traffic was sent back to the older {promoted.revision.short_name} at "
            f"{clock_on(promoted.revision.create_time, facts.b.incident_started_at)}, away from the newer "
            f"{good.short_name}: a rollback would send it forward again, undoing that move")


def _since_its_deploy(facts: Facts, promoted: Promotion | None) -> str:
    """When the suspect's failures are counted from, in words: its deploy, or its promotion with its creation."""
    if promoted is None:
        return "since its deploy"
    at = promoted.revision.create_time
    return f"since it was promoted at {clock_on(at, facts.b.incident_started_at)} (created {clock_on(promoted.created, at)})"


def _cite_promotion(facts: Facts, c: Citation, promoted: Promotion) -> None:
    """Cite what dates the promotion (Facts.promotion): its creation long before, and its first request
    after minutes the service served without it."""
    s, name, at = facts.s, promoted.revision.short_name, promoted.revision.create_time
    lead = (facts.b.incident_started_at - at).total_seconds()
    c.cite("api", f"run.revisions.get {name}: create_time",
           f"created {clock_on(promoted.created, at)}, "
           f"{duration((facts.b.incident_started_at - promoted.created).total_seconds())} before the incident started",
           f"more than {s.deploy_window_seconds} s before the incident: a revision given its traffic later is "
           "dated by its first request", True, role="context")
    c.cite("metric", facts.requests_query,
           f"{name} served no request {promoted.quiet} while the service served {promoted.served:.0f}, then "
           f"served from the minute starting {hms(at)}, {duration(lead)} before the incident started: promoted then",
           f"at least {PROMOTION_QUIET_MINUTES // timedelta(minutes=1)} minutes read without a request of its own, "
           f"then its first, 0 s to {s.deploy_window_seconds} s before the incident", True)


def _deployed_since(facts: Facts, suspect: Revision, after: float) -> str:
    """Why the newest serving revision, created after the incident started, is not judged as its deploy: a change
    made since (a person's fix, a revert released) cannot have caused failures before it, and is no deploy to
    send traffic back from. The revisions serving beside it are named, so a person sees the one that may have
    failed; the rule judges none of them, as the evidence was gathered for the newest (a rollback could undo
    the fix)."""
    beside = [f"{t.revision} at {t.percent}%" for t in facts.b.service.traffic_statuses
              if t.percent > 0 and t.revision and t.revision != suspect.short_name]
    serving = f"; serving beside it: {', '.join(beside)}" if beside else ""
    return (f"{suspect.short_name} was created {duration(after)} after the incident started: a change made since "
            f"(a fix or another release), not the incident's deploy, and nothing to send traffic back from"
            f"{serving}; a person judges the revisions deployed before it")


def _deployed_before(facts: Facts, c: Citation, later: Revision) -> Revision | None:
    """The revision deployed 0 to deploy_window_seconds before the incident started that served in its minutes,
    when `later`, the newest serving revision, was created since it began (a person's fix at a share, a revert
    the pipeline released, an unrelated config deploy, a canary): the deploy that change followed
    (`Facts.deploy_before_change`, the one every rule reads through `Facts.followed`), judged by bad_revision on
    its own evidence. None when there is none. Cited either way."""
    started = facts.b.incident_started_at
    window = facts.s.deploy_window_seconds
    earlier = facts.deploy_before_change
    c.cite("api", f"run.revisions.get {later.short_name}: create_time",
           f"created {duration((later.create_time - started).total_seconds())} after the incident started"
           + (f"; {earlier.short_name}, deployed before it, served since the incident began" if earlier else
              "; no revision deployed in the window before the incident served since it began"),
           f"a revision created (or promoted: Facts.promotion) 0 s to {window} s before the incident that served "
           f"in its minutes (a share now, "
           f"or >= {facts.s.min_requests} requests {facts.since_incident_began})", earlier is not None,
           role="context")
    return earlier


def _superseded(facts: Facts, c: Citation, suspect: Revision, later: Revision,
                promoted: Promotion | None = None) -> Finding:
    """`suspect`, deployed before the incident, fails; `later`, created since it began, serves: the cause is named,
    with no rollback target. Sending traffic back writes over the change since (a fix under way, a revert, a
    release of its own) on the evidence of the suspect's share alone, whoever made it, whether or not the audit
    log that stands automation down for it was read: a person decides, told which revision served before the
    suspect (Facts.replaced) and how it did then. The target is never `later`, nor any revision created after
    the suspect (the known-good search steps back only)."""
    s = facts.s
    counts = facts.requests(facts.since_deploy(suspect), suspect.short_name)
    confidence = 0.9 if counts.total >= 3 * s.min_requests else 0.75
    unread = unread_rule_outs(facts, c, _LOG_RULE_OUTS)
    if unread:
        confidence = min(confidence, UNREAD_LOGS_CONFIDENCE)
    share = facts.b.service.serving_percent(later.short_name)
    after = duration((later.create_time - facts.b.incident_started_at).total_seconds())
    why = (f"{later.short_name}, created {after} after the incident started, now serves {share:g}%: a change made "
           f"since (a fix, a revert, another release); sending traffic back would write over it")
    before = facts.replaced(suspect)
    by_hand = ""
    if before is not None:
        previous = before[0]
        then = facts.requests(facts.baseline(suspect), previous.short_name)
        c.cite("metric", facts.requests_query, f"{previous.short_name} {facts.baseline(suspect)}: "
                                               f"{then.total:.0f} requests, {pct(then.error_ratio)} 5xx",
               "the revision that served before the deploy, for a person to judge", role="context")
        by_hand = (f"; if it does not hold, send traffic by hand to {previous.short_name}, which served "
                   f"{then.total:.0f} requests with {pct(then.error_ratio)} 5xx in the {duration(s.baseline_seconds)} "
                   f"before {suspect.short_name}'s deploy")
    # What the deploy changed, against the revision before it: the settings a person restores, whatever the fix did.
    changed = _what_the_deploy_changed(facts, c, suspect, None)
    return c.yes(confidence, f"{suspect.short_name} fails {_since_its_deploy(facts, promoted)} "
                             f"({pct(counts.error_ratio)} 5xx of "
                             f"{counts.total:.0f}), and there is no rollback target: {why}{changed}{unread}",
                 subject=suspect.short_name, suspect_revision=suspect.short_name, no_target_reason=why,
                 recommendation=f"see whether {later.short_name}'s change holds (its own 5xx share){by_hand}")


def _undated_promotion(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why a revision created long before, whose first request read falls in the deploy window, is not dated
    as promoted then (Facts.promotion: the minutes before it not read, or its own requests in them), as a
    clause, cited; "" when its first request read is not in the deploy window."""
    s = facts.s
    read_from = facts.promotion_read_from
    served = [at for at, total, _ in facts.revision_minutes(Window(read_from, facts.incident.end),
                                                           suspect.short_name) if total > 0]
    if not served:
        return ""
    at = served[0] - timedelta(seconds=60)
    lead = (facts.b.incident_started_at - at).total_seconds()
    if at <= read_from or not 0 <= lead <= s.deploy_window_seconds:
        return ""
    c.cite("metric", facts.requests_query,
           f"{suspect.short_name}'s first request read is in the minute starting {hms(at)}, {duration(lead)} before "
           "the incident started", f"at least {PROMOTION_QUIET_MINUTES // timedelta(minutes=1)} minutes read before "
           "it with the service serving and it not, and most of the service's requests in its first minutes: a "
           "promotion dated", False, role="context")
    return (f"; its first request read is at {hms(at)}, but the minutes read do not show its traffic beginning "
            f"then (at least {PROMOTION_QUIET_MINUTES // timedelta(minutes=1)} minutes read without a request of its "
            "own before it, and most of the service's requests from it), so when its traffic reached it is not "
            "dated (a person looks at the service's traffic changes)")


def _promotion_time(facts: Facts, c: Citation, suspect: Revision) -> str:
    """When traffic moved to `suspect`, an older revision serving while a newer one exists (a promotion or a
    rollback: revisions are ordered by their create_time, which dates the revision, not its traffic), as a clause,
    cited; "" when no newer revision exists. The Service keeps no history of its splits and `traffic` carries no
    time; Service.update_time ("The last-modified time", output only, google/cloud/run/v2/service.proto) moves with
    every change to the service, its traffic among them: one before the deploy window dates the move before it too.
    One inside it dates nothing (a label moves it as well: which changes do is UNCONFIRMED), nor do its own requests
    read (Facts.promotion) nor an audit entry read (the audit log is read over the incident's window only): the
    promotion's time is then said to be unknown, never guessed from the revision's creation."""
    newer = [r for r in facts.b.revisions if r.create_time > suspect.create_time]
    if not newer:
        return ""
    s, started, changed = facts.s, facts.b.incident_started_at, facts.b.service.update_time
    last = max(newer, key=lambda r: r.create_time)
    dated = changed is not None and (started - changed).total_seconds() > s.deploy_window_seconds
    c.cite("api", f"run.services.get {facts.b.service.name}: update_time",
           f"the service last changed at {clock_on(changed, started)}" if changed is not None else "not read",
           f"before the {duration(s.deploy_window_seconds)} deploy window: the traffic moved to {suspect.short_name} "
           "before it too", dated, role="context")
    # A newer revision at 0% may never have served (deployed with --no-traffic): whether traffic moved to the older
    # one at all is not known from the revisions, so the words say "if".
    if dated:
        return (f"; it serves though older than {last.short_name}, and its share dates from before the deploy window: "
                f"the service has not changed since {clock_on(changed, started)} (Service.update_time)")
    return (f"; it serves though older than {last.short_name} (created {clock_on(last.create_time, started)}): if "
            f"traffic moved back to it, nothing read dates when (the service last changed "
            + (f"at {clock_on(changed, started)}, which any change moves" if changed is not None else "at a time not read")
            + ", and its own requests read do not show its traffic beginning): the promotion's time is unknown, so "
            "it is not shown to be outside the deploy window either (a person looks at the service's traffic changes "
            "in the audit log)")


# The checks above that read the service's logs to hold the finding back: blind when that read failed.
_LOG_RULE_OUTS = ("Cloud Run's own refusals for want of an instance", "another Cloud Run service's 5xx passed on",
                  "names not resolved on the same path")


def _what_the_deploy_changed(facts: Facts, c: Citation, suspect: Revision, good: Revision | None) -> str:
    """The settings the suspect's deploy changed, against the revision traffic would go back to
    (or, with none, the Ready revision before it), cited, as a clause for the summary; "" if none."""
    against = good or (facts.replaced(suspect) or (None, 0))[0]
    changed = settings_changed(against, suspect) if against is not None else []
    path = path_changed(against, suspect) if against is not None else ""
    changed += [f"path to its VPC {path}"] if path else []
    secrets = [f"secret {what}" for what in secrets_changed(against, suspect) + modes_changed(against, suspect)] \
        if against is not None else []
    plain = plain_credentials_changed(against, suspect) + tls_settings_changed(against, suspect) \
        + ip_type_changed(against, suspect) if against is not None else []
    plain += [f"connection pool's size {key} from {old} to {new}"
              for key, old, new in (pool_size_changed(against, suspect) if against is not None else [])]
    # Where it connects, by name only (a DB_HOST, a DSN's host, a connection name; never a value).
    moved = database_address_changed(against.plain_env, suspect.plain_env, against.cloudsql_instances,
                                      suspect.cloudsql_instances) if against is not None else []
    plain += [f"database it connects to ({', '.join(moved)})"] if moved else []
    # Which database and which user it asks for, by name only (DB_NAME, DB_USER, a URL's path or user).
    for what, words in (("database", "database it asks for"), ("user", "user it connects as")):
        asked = connection_target_changed(against.plain_env, suspect.plain_env, what) if against is not None else []
        plain += [f"{words} ({', '.join(asked)})"] if asked else []
    changed += secrets + plain
    if not changed:
        return ""
    c.cite("api", "run.revisions.list: timeout, scaling, max_instance_request_concurrency, containers[].resources"
           + (", vpc_access" if path else "")
           + (", containers[].env[].value_source.secret_key_ref, volumes[].secret" if secrets else "")
           + (", containers[].env[].value" if plain else ""),
           f"{suspect.short_name} changed {', '.join(changed)} (against {against.short_name})", "context", None,
           role="context")
    return f"; its deploy changed the {', the '.join(changed)} (against {against.short_name})"


def _tag_only_failures(facts: Facts, c: Citation) -> str:
    """A recent revision with no share of the split that fails through its tagged URL (a
    `--no-traffic --tag` deploy being tried), as a clause for the finding, or "", when it is not named as the
    cause (`_tag_only_cause`). Moving the split changes nothing its tag serves (TrafficTarget.tag: "a string to
    be part of the URI to exclusively reference this target"), so it is never rolled back."""
    s = facts.s
    found = []
    for revision, tag, counts in _tag_only_revisions(facts):
        failing = counts.error_ratio >= s.bad_error_ratio
        c.cite("metric", facts.requests_query,
               f"{revision.short_name} (0% of the split, tag {tag}) since its deploy: "
               f"{counts.by_class.get('5xx', 0):.0f} of {counts.total:.0f} requests 5xx ({pct(counts.error_ratio)})",
               f"5xx >= {s.bad_error_ratio:.0%}", failing, role="context")
        if failing:
            found.append(f"{revision.short_name} fails ({pct(counts.error_ratio)} 5xx) but is reached only through "
                         f"its tag {tag} (0% of the split): moving traffic does not change what its tagged URL serves")
    return ("; " + "; ".join(found)) if found else ""


def _tag_only_cause(facts: Facts, c: Citation, serving: Revision) -> Finding | None:
    """The finding naming a tag-only revision (0% of the split, reached through its tag URL: `gcloud run deploy
    --no-traffic --tag`) deployed 0 to deploy_window_seconds before the incident as its cause, when no revision
    holding a share changed (`serving`, the newest that does, predates the window), or None.

    Named only when the alert counts its requests: request_count is "Number of requests reaching the revision",
    on the cloud_run_revision resource labelled by revision_name (Cloud Run's metrics list, as mirrored by
    docs.observeinc.com "GCP Cloud Run Metrics"), so a request through a tag's URL
    (TrafficTarget.tag: "a dedicated url for referencing this target exclusively", run v1 REST reference) is
    counted in its own revision's series, and a service's 5xx ratio over cloud_run_revision counts it unless the
    condition names another revision. That a tagged URL's requests are counted under their revision is read from
    "reaching the revision", not said of tags in words: UNCONFIRMED. Right under both readings: the failures
    judged here are read from that same metric, so a revision whose tagged requests it did not count would show
    none. An alert on another metric (an uptime check of the service's URL, latency, a load balancer's) or on
    another revision does not count them: the revision is then a clause only (`_tag_only_failures`).

    Its failures must be what crossed: the only tag-only revision failing (>= bad_error_ratio of >= min_requests
    since its deploy), every revision holding a share serving cleanly beside it (`_errors_concentrated`), failing
    from its deploy and not doubted as `_judge` doubts a revision holding a share (`_not_its_own`: a doubt is
    answered as there). No rollback target: moving the split
    changes nothing its tag serves, and the revisions holding the split already serve cleanly."""
    failing = [(r, tag) for r, tag, counts in _tag_only_revisions(facts)
               if counts.error_ratio >= facts.s.bad_error_ratio]
    if len(failing) != 1:
        return None
    suspect, tag = failing[0]
    counted = _alert_counts(facts, suspect)
    c.cite("metric", "the notification: metric type, resource type, condition filter, resource.labels.revision_name",
           counted or "the alert's metric counts its requests (request_count on cloud_run_revision)",
           f"the alert counts {suspect.short_name}'s requests", not counted, role="context")
    if counted:
        return None
    if _failing(facts, c, suspect) is not True or not _errors_concentrated(facts, c, suspect):
        return None
    doubt = _not_its_own(facts, c, suspect) or _held_for_a_full_connector(facts, c, suspect, serving)
    if doubt is not None:
        return doubt   # as _judge answers the same revision holding a share
    window = facts.since_deploy(suspect)
    counts, service = facts.requests(window, suspect.short_name), facts.requests(window)
    mine, all_5xx = counts.by_class.get("5xx", 0), service.by_class.get("5xx", 0)
    if not c.cite("metric", facts.requests_query, f"{suspect.short_name} {window}: {mine:.0f} of the service's "
                  f"{all_5xx:.0f} 5xx", "more than half of the service's 5xx: its failures are what the alert "
                  "counted", 2 * mine > all_5xx):
        return None
    confidence = 0.9 if counts.total >= 3 * facts.s.min_requests else 0.75
    unread = unread_rule_outs(facts, c, _LOG_RULE_OUTS)
    if unread:
        confidence = min(confidence, UNREAD_LOGS_CONFIDENCE)
    share = facts.b.service.serving_percent(serving.short_name)
    why = (f"{suspect.short_name} holds no share of the split (reached only through its tag {tag}): moving traffic "
           f"does not change what its tagged URL serves, and {serving.short_name}, at {share:g}%, serves cleanly")
    lead = duration((facts.b.incident_started_at - suspect.create_time).total_seconds())
    changed = _what_the_deploy_changed(facts, c, suspect, None)
    return c.yes(confidence, f"{suspect.short_name}, deployed {lead} before the incident with no share and tag "
                             f"{tag}, fails through its tagged URL since its deploy ({pct(counts.error_ratio)} 5xx of "
                             f"{counts.total:.0f}), and the alert's request_count counts its requests; there is no "
                             f"rollback target: {why}{changed}{unread}",
                 subject=suspect.short_name, suspect_revision=suspect.short_name, no_target_reason=why,
                 recommendation=f"stop the tests on the {tag} URL or fix forward; remove the tag if it is not wanted "
                                f"(gcloud run services update-traffic {short_name(facts.b.service.name)} "
                                f"--remove-tags {tag}); the traffic split needs no change")


def _tag_only_revisions(facts: Facts) -> list[tuple[Revision, str, Requests]]:
    """The revisions with a tag and no share of the split, deployed 0 to deploy_window_seconds before the incident,
    with at least min_requests since their deploy: (revision, tag, requests since its deploy)."""
    s, b = facts.s, facts.b
    tags = {t.revision: t.tag for t in b.service.traffic if t.tag and t.revision}
    found = []
    for revision in b.revisions:
        tag = tags.get(revision.short_name)
        if not tag or b.service.serving_percent(revision.short_name) > 0:
            continue
        lead = (b.incident_started_at - revision.create_time).total_seconds()
        counts = facts.requests(facts.since_deploy(revision), revision.short_name)
        if 0 <= lead <= s.deploy_window_seconds and counts.total >= s.min_requests:
            found.append((revision, tag, counts))
    return found


# The metric whose per-revision series count a tagged URL's requests (`_tag_only_cause`).
_REQUEST_COUNT = "run.googleapis.com/request_count"


def _alert_counts(facts: Facts, revision: Revision) -> str:
    """Why the alert is not shown to count `revision`'s requests, or "" when it is: its metric is request_count on
    cloud_run_revision (or a resource unsaid) and neither the revision the notification names nor its condition's
    filter of revision_name leaves `revision` out. No alert context (a table, a replay without it): not shown."""
    alert = facts.b.alert
    if alert is None:
        return "no notification says what the alert counts"
    if alert.metric_type != _REQUEST_COUNT or alert.resource_type not in ("", "cloud_run_revision"):
        return (f"the alert measures {alert.metric_type or 'a metric unsaid'} on "
                f"{alert.resource_type or 'a resource unsaid'}, not request_count per revision")
    if alert.revision and alert.revision != revision.short_name:
        return f"the alert is {alert.revision}'s (resource.labels.revision_name), not {revision.short_name}'s"
    tests = [t for t in label_tests(alert.condition_filter) if t.label == "revision_name"]
    if tests and unselected(tests, revision.short_name) is not None:
        return f"the condition's filter may leave {revision.short_name} out ({shown(tests)})"
    return ""


# Cloud Run's lines for a container whose process ended ("Container called exit(1).", or "Container
# terminated on signal 6." when a signal ended it: log_signals.CRASH_SIGNAL): one failed start may log
# one of them and the startup probe's failure both.
_EXIT = ("Container called exit(", "Container terminated on signal ")


def failed_starts(lines: list[LogRecord]) -> int:
    """How many failed starts `lines` (signal startup_failure) show at least: the exits (a process that
    exited or a signal ended) and the other startup texts counted apart, the larger of the two. An
    instance whose process exits as it starts may log "Container called exit(1)." and then its probe's
    failure, and the log line carries no instance to pair them by: counted once, never twice (a burst
    with two failed starts is not three)."""
    exits = sum(1 for e in lines if e.text.startswith(_EXIT))
    return max(exits, len(lines) - exits)


def _failing(facts: Facts, c: Citation, suspect: Revision) -> bool | str:
    """True, or why the suspect is not shown to fail."""
    s = facts.s
    window = facts.since_deploy(suspect)
    counts = facts.requests(window, suspect.short_name)
    startups = facts.log_matches(LogSignal.STARTUP_FAILURE, suspect.short_name)
    query = facts.requests_query
    if failed_starts(startups) >= s.startup_failure_logs_min:
        c.cite("log", f"{SYSTEM_LOG}, stderr: {pattern_of(LogSignal.STARTUP_FAILURE)}",
               f"{failed_starts(startups)} startup failures on {suspect.short_name}, e.g. {excerpt(startups[0].text)!r}",
               f">= {s.startup_failure_logs_min}", True)
        # Instances that failed to start and were replaced fail no caller: Cloud Run starts others
        # (a startup probe's failures end that instance: "The instance was not started."). A
        # revision that served its traffic cleanly since the deploy is not shown failing by them.
        if counts.total >= s.min_requests and counts.refused_ratio <= s.healthy_error_ratio:
            c.cite("metric", query,
                   f"{suspect.short_name} {window}: {counts.total:.0f} requests, {pct(counts.refused_ratio)} 5xx or 429",
                   f"> {s.healthy_error_ratio:.0%} 5xx or 429: the startup failures reached callers", False)
            return (f"{suspect.short_name} logged {failed_starts(startups)} startup failures, but served its "
                    f"{counts.total:.0f} requests cleanly since its deploy ({pct(counts.refused_ratio)} 5xx or 429): "
                    "instances that failed to start were replaced; no caller is shown failing")
        return True
    if counts.total < s.min_requests:
        unread = _served_in_minutes_unread(facts, suspect, window, counts)
        c.cite("metric", query, f"{suspect.short_name} {window}: {counts.total:.0f} requests"
               + (f"; {unread}" if unread else ""), f">= {s.min_requests} requests", False)
        return unread or f"too little traffic on {suspect.short_name} to judge ({counts.total:.0f} requests)"
    failing = counts.error_ratio >= s.bad_error_ratio
    c.cite("metric", query,
           f"{suspect.short_name} {window}: {counts.by_class.get('5xx', 0):.0f} of {counts.total:.0f} requests 5xx "
           f"({pct(counts.error_ratio)})", f"5xx >= {s.bad_error_ratio:.0%}", failing)
    if failing or _cut_at_the_timeout_its_deploy_lowered(facts, c, suspect, counts):
        return True
    slow = _slow_alone(facts, c, suspect)
    if slow.slow:
        return True
    return slow.why or f"{suspect.short_name} is not failing enough to blame it"


def _slow_alone(facts: Facts, c: Citation, suspect: Revision) -> SlowCanary:
    """`_slowness`, cited (the evidence, or the part of it missing)."""
    verdict = _slowness(facts, suspect)
    if verdict.why:
        threshold = facts.b.alert.threshold if facts.b.alert is not None else None
        c.cite("metric", facts.latencies_query, verdict.why,
               f"its p99 >= the alert's {threshold:g} ms in {slow_canary.SLOW_SHARE:.0%} of its minutes, "
               f"{slow_canary.WELL_OVER:g} times it in the middle one; every revision beside it with >= "
               f"{facts.s.min_requests} requests under it; the service under it before the deploy", verdict.slow)
    return verdict


def _how_it_fails(facts: Facts, suspect: Revision, counts: Requests) -> str:
    """The suspect's failure in words for the summary: its 5xx share, and its own slowness where that is what
    failed it (`_slowness`)."""
    shown = f"{pct(counts.error_ratio)} 5xx"
    if counts.error_ratio >= facts.s.bad_error_ratio:
        return shown
    slow = _slowness(facts, suspect)
    return f"{shown}, slow alone: {slow.why}" if slow.slow else shown


def _slowness(facts: Facts, suspect: Revision) -> SlowCanary:
    """`_slowness_read`, read once per revision and diagnosis: `_failing` asks it of each revision in the deploy
    window, and the summary (`_how_it_fails`) says it again."""
    kept = facts.once(_slowness_kept)
    if suspect.name not in kept:
        kept[suspect.name] = _slowness_read(facts, suspect)
    return kept[suspect.name]


def _slowness_kept(facts: Facts) -> dict[str, SlowCanary]:
    return {}


def _slowness_read(facts: Facts, suspect: Revision) -> SlowCanary:
    """Whether, on a latency alert, the suspect is slow on its own requests while the revisions beside it serve
    fast in the same minutes, and the service was fast before its deploy (slow_canary.judged): failing as surely as
    by 5xx, at the alert's own bar (its request_latencies threshold, a percentile the p99 read bounds:
    health_bar.health_bar). Each revision's p99 is its own request_latencies series
    (Facts.revision_p99_by_minute), so a 2 % canary's tail is told from the 98 % beside it, minute by minute: a
    revision is compared in the minutes it served beside the canary, its requests counted there alone. Not asked
    on any other alert: a 5xx alert's slow canary is not the alert's failure."""
    alert = facts.b.alert
    if alert is None or alert.metric_type != REQUEST_LATENCIES or alert.threshold is None:
        return SlowCanary(False, "")
    # Judged as the health check judges the alert (an upper threshold on a percentile), and on the latency of all
    # requests: a condition on some classes' latency alone (5xx) is not what each revision's p99 of all measures.
    if not health_bar(alert, facts.s).judged or latency_codes(alert) != frozenset():
        return SlowCanary(False, "")
    bar = alert.threshold / 1000.0   # request_latencies is in milliseconds
    window = facts.since_deploy(suspect)
    beside = [Beside(name, {at: total for at, total, _ in facts.revision_minutes(window, name)},
                     facts.revision_p99_by_minute(window, name))
              for name in facts.revision_names_with_requests(window) if name != suspect.short_name]
    before = Window(suspect.create_time - timedelta(seconds=facts.s.baseline_seconds), suspect.create_time)
    return slow_canary.judged(suspect.short_name, facts.revision_p99_by_minute(window, suspect.short_name), beside,
                              facts.p99_seconds(before), bar, facts.s.min_requests)


def _cut_at_the_timeout_its_deploy_lowered(facts: Facts, c: Citation, suspect: Revision, counts: Requests) -> bool:
    """Whether the suspect, under bad_error_ratio, fails by 504s at a request timeout its deploy lowered under
    requests that always took that long (deploy_changes.deploy_lowered_timeout), at least at request_timeout's own
    bar for 504s (health_bar.timeout_share_bar: the alert's ratio, else status_ratio). request_timeout stands aside
    for such 504s as the deploy's, and "bad_revision decides": with the general 20 % bar here, a deploy that cut a
    fifth of the requests less a minute (the first minute after it, before a long request reached the new limit)
    matched neither rule and was escalated with no cause. Only the suspect the incident followed (Facts.followed,
    whose timeout cut the requests), and only when its own timeout is lower than the revision it replaced."""
    if facts.followed is None or facts.followed.name != suspect.name:
        return False
    deploy = facts.replaced(suspect)
    if deploy is None or timeout_seconds(suspect) >= timeout_seconds(deploy[0]):
        return False
    bar, source = timeout_share_bar(facts.s, facts.b.alert)
    share = counts.share(code="504")
    if share < bar:
        return False
    lowered = deploy_lowered_timeout(facts, c, timeout_seconds(suspect))
    c.cite("metric", facts.requests_query,
           f"{suspect.short_name}: {counts.by_code.get('504', 0):.0f} of {counts.total:.0f} requests 504 "
           f"({pct(share)}) at the {timeout_seconds(suspect):.0f} s timeout its deploy lowered from "
           f"{timeout_seconds(deploy[0]):.0f} s", f">= {bar:.0%} 504 ({source}), requests that long usual before the "
           "deploy: the deploy's", bool(lowered))
    return bool(lowered)


def _served_in_minutes_unread(facts: Facts, suspect: Revision, window: Window, counts: Requests) -> str:
    """Why `suspect`'s few requests in `window` (since its deploy, up to the end of the minutes the rules read:
    Facts.read_until) are not its traffic, or "": enough of them are in the minutes after it, not read as they are
    not whole yet (narrative.not_read_after: another series may still be arriving there). A deploy in the newest
    minutes, beside a series that stopped with it (the revision it replaced), had its requests all there and read
    "too little traffic on it (0 requests)" while it served 45 a minute."""
    newest = facts.data_until
    if newest is None or newest <= window.end:
        return ""
    after = facts.requests(Window(max(window.start, window.end), newest), suspect.short_name)
    if not after.total or counts.total + after.total < facts.s.min_requests:
        return ""
    return (f"{suspect.short_name}'s requests since its deploy ({hms(suspect.create_time)}) are in minutes not read "
            f"yet: {counts.total:.0f} up to {hms(window.end)}, where the minutes read end, and {after.total:.0f} after "
            f"them up to {hms(newest)} ({after.refused:.0f} 5xx or 429), not whole yet; not judged until they are, "
            "not too little traffic")


def _errors_concentrated(facts: Facts, c: Citation, suspect: Revision) -> bool:
    """Whether every other revision with requests since the deploy served cleanly: one failing too holds
    the rollback. Read since the deploy and, where that reads minutes not yet whole, over its whole minutes
    alone (Facts.whole_part): a revision failing in the whole minutes whose newest minutes hold its 200s and
    not (or not yet) its 5xx read clean, diluted, and a canary was rolled back beside it."""
    s = facts.s
    window = facts.since_deploy(suspect)
    others = [(name, facts.requests(window, name)) for name in facts.revision_names_with_requests(window)
              if name != suspect.short_name]
    others = [(name, r) for name, r in others if r.total >= s.min_requests]
    whole = facts.whole_part(window)
    if whole is not None:
        others = [(name, _worse(r, facts.requests(whole, name), s.min_requests)) for name, r in others]
    usual = {name: _at_its_background(facts, suspect, name, r.error_ratio) for name, r in others
             if r.error_ratio > s.healthy_error_ratio}
    failing = [name for name, why in usual.items() if not why]
    if others:
        # Which minutes a share was read over, where the whole minutes alone read worse.
        upto = {name: f" in its whole minutes {whole}" for name, r in others
                if whole is not None and r.total != facts.requests(window, name).total}
        c.cite("metric", facts.requests_query,
               "; ".join(f"{name}: {pct(r.error_ratio)} 5xx of {r.total:.0f}{upto.get(name, '')}"
                         + (f" (its steady background: {usual[name]})" if usual.get(name) else "")
                         for name, r in others),
               f"other serving revisions <= {s.healthy_error_ratio:.0%} 5xx, or at their own steady background "
               "(background.target_bar)", not failing)
    return not failing


def _at_its_background(facts: Facts, suspect: Revision, name: str, since: float) -> str:
    """Why the other serving revision `name`, at `since` 5xx since the suspect's deploy (over the clean share),
    still serves as it always did ("" when it is not shown to): it had a steady background of 5xx before that
    deploy which background.target_bar accepts (under the alert's own share bar and the ceiling, steady into
    the deploy, the suspect failing at least BACKGROUND_FACTOR times as much), and its share since holds at
    that bar. A canary failing 40 % beside the revision that answered its usual 2 % all along was held as "5xx
    not concentrated on the newest revision" at the clean share, and escalated: that revision is the one a
    rollback sends everything to, judged at the same bar (`_failing_since_the_deploy`)."""
    other = next((r for r in facts.b.revisions if r.short_name == name), None)
    if other is None or other.create_time >= suspect.create_time:
        return ""
    window = _before_the_deploy(facts, suspect, other)
    counts = facts.requests(window, name)
    if counts.total < facts.s.min_requests:
        return ""
    bar, why_not = _background_bar(facts, suspect, suspect, other, counts.error_ratio)
    return bar.why if bar.why and not why_not and bar.holds(since) else ""


def _worse(read: Requests, whole: Requests, min_requests: int) -> Requests:
    """Of a revision's requests as read and over the whole minutes alone, the one with the larger 5xx share
    (the whole minutes only with enough requests to judge)."""
    return whole if whole.total >= min_requests and whole.error_ratio > read.error_ratio else read


def _refused_for_want_of_instances(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why the suspect's failures are not shown to be its own, or "": Cloud Run itself refused its
    requests for want of an instance ("The request was aborted because there was no available
    instance.": a 500 when it cannot scale fast enough, a 429 at max instances; Cloud Run's
    troubleshooting page, docs.cloud.google.com/run/docs/troubleshooting), and no startup failed. A burst of
    traffic on a service that scales from zero does that to any revision: the previous one, with no instance
    left, would cold-start the same way, so rolling back is a guess. A revision that starts slower does it
    too, which would be the deploy's fault: not ruled out, a person compares."""
    s = facts.s
    refusals = facts.log_matches(LogSignal.NO_INSTANCE, suspect.short_name)
    if len(refusals) < s.startup_failure_logs_min:
        return ""
    if failed_starts(facts.log_matches(LogSignal.STARTUP_FAILURE, suspect.short_name)) >= s.startup_failure_logs_min:
        return ""
    if _shut_down_by_its_liveness_probe(facts, c, suspect):
        return ""
    if _killed_for_memory_the_deploy_took(facts, c, suspect):
        return ""
    if _fewer_instances_ready_under_the_same_load(facts, c, suspect):
        return ""
    c.cite("log", f"{REQUEST_LOG}: {pattern_of(LogSignal.NO_INSTANCE)}",
           f"{len(refusals)} requests to {suspect.short_name} refused by Cloud Run for want of an instance, "
           f"e.g. {excerpt(refusals[0].text, limit=120)!r}; no startup failure",
           f"< {s.startup_failure_logs_min} such refusals: the revision's own failures, not the platform's", False)
    return (f"{suspect.short_name}'s failures include {len(refusals)} of Cloud Run's own refusals for want of an "
            "instance ('no available instance', a scaling limit): a burst on a service that scales from zero, "
            "or a slower start, does that; whether the deploy caused it is not shown"
            + _scaling_the_deploy_changed(facts, suspect))


def _scaling_the_deploy_changed(facts: Facts, suspect: Revision) -> str:
    """The settings the suspect's deploy changed against the revision it replaced (deploy_changes.
    settings_changed: scaling, concurrency, resources, how instances run), as a clause that names each
    with its before and after, for a person who weighs them against the load; "" with no deploy or no
    change read."""
    deploy = facts.replaced(suspect)
    changed = settings_changed(deploy[0], suspect) if deploy is not None else []
    return f"; its deploy changed the {', the '.join(changed)} (against {deploy[0].short_name})" if changed else ""


_RUN_APP_HOST = re.compile(r"https?://([^/\s'\"]+\.run\.app)", re.IGNORECASE)


def _run_app_host(text: str) -> str:
    """The run.app host a line calls (lower case), or ""."""
    found = _RUN_APP_HOST.search(text)
    return found.group(1).lower() if found else ""


def _passed_on_from_another_service(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why the suspect's failures are not shown to be its own, or "": at least
    `startup_failure_logs_min` of its log lines, and at least half of its failure lines (its own
    logs at ERROR or worse, with those), are its HTTP client raising on a 5xx from another Cloud
    Run service (LogSignal.DOWNSTREAM_5XX). The application passes that service's failures on as
    its own 502s or 503s: the other service may have changed in the same minutes (a deploy of
    its own, which Runwarden does not read), and sending this one's traffic back leaves it as it
    is. Whether this deploy changed its calls is not shown either: a person looks."""
    calls = facts.log_matches(LogSignal.DOWNSTREAM_5XX, suspect.short_name)
    # Read over the window (Facts.logged_enough): the calls hold a rollback back.
    if not facts.logged_enough(calls, facts.s.startup_failure_logs_min):
        return ""
    failed = logged_by(facts.logs.app_failed, suspect.short_name)
    host_of = per_text(_run_app_host, (*failed, *calls))
    lines = [*calls, *(e for e in failed if not host_of[e.text])]
    failures = len(lines)
    hosts = Counter(host_of[e.text] for e in calls if host_of[e.text])
    named = ", ".join(host for host, _ in hosts.most_common(2))
    # Each counted over its read (Facts.half_or_more): calls logged at INFO are on the page alone.
    mostly = facts.half_or_more(calls, lines)
    sampled = facts.counted_over_the_page(calls)
    c.cite("log", f"{STDERR}, stdout: {pattern_of(LogSignal.DOWNSTREAM_5XX)}",
           f"{len(calls)} of {suspect.short_name}'s {failures} failure lines are its calls to {named} answered "
           f"with a 5xx, e.g. {excerpt(calls[0].text)!r}{sampled}",
           "fewer than half (or than the minimum): the revision's own failures", not mostly)
    if not mostly:
        return ""
    return (f"{suspect.short_name}'s failures are mostly another Cloud Run service's, passed on: {len(calls)} of its "
            f"{failures} failure lines are its calls to {named} answered with a 5xx{sampled}; that service may have "
            "changed in the same minutes, and whether the deploy caused the failures is not shown")


def _shut_down_by_its_liveness_probe(facts: Facts, c: Citation, suspect: Revision) -> bool:
    """Whether Cloud Run shut the suspect's own instances down after their liveness probe failed: at least
    `startup_failure_logs_min` system-log lines of LogSignal.LIVENESS_SHUTDOWN on it ("LIVENESS HTTP probe
    failed 3 times consecutively for container ... The instance has been shut down."). Liveness probes
    "determine whether to restart a container" (Cloud Run, "Configure container health checks for
    services"), and "when a service experiences repeated startup or liveness probe failures, Cloud Run
    limits instance restarts to prevent uncontrolled crash loops" (the same page): the revision's instances
    are ended as they serve, as after its startup failures, so Cloud Run's refusals for want of an instance
    follow from its own failures (a probe on a path the new image does not serve, a handler that blocks
    the event loop). The revision it replaced served cleanly before the deploy with its own probe
    (`_known_good`), so sending traffic back restores instances that stay up. Shutdowns logged by another
    revision say nothing of this one's."""
    s = facts.s
    shut = facts.log_matches(LogSignal.LIVENESS_SHUTDOWN, suspect.short_name)
    if len(shut) < s.startup_failure_logs_min:
        return False
    c.cite("log", f"{SYSTEM_LOG}: {pattern_of(LogSignal.LIVENESS_SHUTDOWN)}",
           f"{len(shut)} instances of {suspect.short_name} shut down after their liveness probe failed, e.g. "
           f"{excerpt(shut[0].text, limit=140)!r}", f">= {s.startup_failure_logs_min}: Cloud Run's refusals follow the revision's own "
           "failures", True)
    return True


def _killed_for_memory_the_deploy_took(facts: Facts, c: Citation, suspect: Revision) -> bool:
    """Whether the suspect's instances are ended over a memory limit its deploy made tighter: at
    least `startup_failure_logs_min` of Cloud Run's "Memory limit of N MiB exceeded" lines on it (or
    "NM" in its older wording: LogSignal.MEMORY_LIMIT; the citation quotes the line as read, and the
    summary's MiB are the revisions' configured limits, not the log's) ("Cloud Run instances that exceed
    their allowed memory limit are terminated", docs "Configure memory limits"), and, against the revision it replaced (Facts.replaced), a lower memory limit,
    or more requests per instance sharing no more memory (each concurrent request holds its own
    memory). Instances ended as they work leave Cloud Run short of instances, so its refusals
    follow: they are the deploy's, and sending traffic back restores the settings. Otherwise (a
    burst, a leak under the same settings) the refusals stay in doubt."""
    s = facts.s
    killed = facts.log_matches(LogSignal.MEMORY_LIMIT, suspect.short_name)
    deploy = facts.replaced(suspect)
    if len(killed) < s.startup_failure_logs_min or deploy is None:
        return False
    previous, _ = deploy
    tighter = _memory_tightened(previous, suspect)
    c.cite("log", f"{SYSTEM_LOG}: {pattern_of(LogSignal.MEMORY_LIMIT)}; "
                  "run.revisions.list: containers[].resources.limits, max_instance_request_concurrency",
           f"{len(killed)} instances of {suspect.short_name} ended over their memory limit, e.g. "
           f"{excerpt(killed[0].text, limit=100)!r}; {tighter or 'memory and requests per instance no tighter'} against "
           f"{previous.short_name}", f">= {s.startup_failure_logs_min}, and a deploy that lowered the memory or "
           "raised the requests sharing it: Cloud Run's refusals follow the revision's own failures", bool(tighter))
    return bool(tighter)


# The most the service's request rate since the deploy may exceed its rate in the minutes before it
# (LOAD_SHARE_MINUTES) for the load to count as unchanged: a larger rise is a burst, which any
# revision meets with refusals while Cloud Run scales (cold_start_burst_after_deploy).
SAME_LOAD_MAX_RISE = 1.5


def _fewer_instances_ready_under_the_same_load(facts: Facts, c: Citation, suspect: Revision) -> bool:
    """Whether the suspect's deploy left the same load fewer instances ready than the revision it
    replaced (Facts.replaced) did (deploy_changes.scaling_tightened: fewer requests per instance, fewer
    min instances kept warm, startup CPU boost turned off), while the service's request rate stayed
    within SAME_LOAD_MAX_RISE of its rate just before the deploy. Each revision "is automatically
    scaled to the number of instances needed to handle all incoming requests" (docs "About
    concurrency"): under the load the revision before served cleanly, Cloud Run's refusals while it
    starts the instances the new settings need or no longer keep warm ("no available instance", a 500
    when it cannot scale fast enough) are the deploy's, and sending traffic back restores the
    settings (a revision's scaling and resources are its own: Revision.scaling,
    max_instance_request_concurrency, containers[].resources, revision.proto). Under a burst, or with
    the minutes before the deploy too quiet to compare, they stay in doubt."""
    s = facts.s
    deploy = facts.replaced(suspect)
    if deploy is None:
        return False
    previous, _ = deploy
    tightened = scaling_tightened(previous, suspect)
    if not tightened:
        return False
    before = Window(suspect.create_time - timedelta(minutes=LOAD_SHARE_MINUTES), suspect.create_time)
    after = facts.since_deploy(suspect)
    before_total, after_total = facts.requests(before).total, facts.requests(after).total
    if before_total < s.min_requests or after_total < s.min_requests:
        return False
    rate_before = before_total / max((before.end - before.start).total_seconds() / 60, 1)
    rate_after = after_total / max((after.end - after.start).total_seconds() / 60, 1)
    same_load = rate_after <= SAME_LOAD_MAX_RISE * rate_before
    c.cite("metric", facts.requests_query + "; run.revisions.list: max_instance_request_concurrency, "
           "scaling.min_instance_count, containers[].resources.startup_cpu_boost",
           f"{suspect.short_name}: {', '.join(tightened)} against {previous.short_name}; the service's requests "
           f"{rate_after:.0f}/min since the deploy {after}, {rate_before:.0f}/min in the {LOAD_SHARE_MINUTES} "
           f"minutes before it {before}",
           f"fewer instances ready and <= {SAME_LOAD_MAX_RISE:g}x the request rate before the deploy: "
           "Cloud Run's refusals are the deploy's", same_load)
    return same_load


def _memory_tightened(before: Revision, after: Revision) -> str:
    """How `after` gives each request less memory than `before`, in words, or "". An unread memory
    limit is unknown (the API fills one on every revision); unset concurrency is Cloud Run's 80."""
    known = bool(before.memory_mib and after.memory_mib)
    old_conc = requests_per_instance(before)
    new_conc = requests_per_instance(after)
    if known and after.memory_mib < before.memory_mib:
        return f"memory limit lowered from {before.memory_mib:g} MiB to {after.memory_mib:g} MiB"
    if new_conc > old_conc and (not known or after.memory_mib <= before.memory_mib):
        return (f"requests per instance raised from {old_conc} to {new_conc} with memory "
                + (f"at {after.memory_mib:g} MiB" if known else "unread"))
    return ""


# A revision that served this many minutes cleanly after its deploy before it began to fail did not
# fail because of the deploy as far as the evidence shows: a bad deploy fails as traffic reaches it
# (a crash, a missing setting, a broken hot path); a failure that starts later has another likely
# trigger (a dependency, load, a leak), and rolling back is a guess a person makes.
LATE_ONSET_MINUTES = 5


def _clean_before_onset(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why the failures did not begin with the deploy, or "" when they did (or cannot be told apart): `suspect`
    served LATE_ONSET_MINUTES or more cleanly after its deploy before its first failing minute, and the revision it
    replaced (Facts.replaced) does not show the failures its own (`_replaced_beside`). A canary whose old revision
    served cleanly in the very minutes the new one failed, and before the deploy, shows them the new revision's own
    though they began late (a leak, a path its traffic reached later): on the same platform, dependencies and load
    the old one was clean, and the deploy is not cleared. One whose old revision failed too, in those minutes or
    before the deploy, shows a cause both share; with the old one serving too few requests to compare (all traffic
    moved), the late onset decides alone: a person looks."""
    s = facts.s
    window = Window(suspect.create_time, facts.incident.end)   # from the deploy itself (its baseline is read)
    name = suspect.short_name
    before: list[tuple[float, float]] = []
    onset = None
    for at, total, errors in facts.revision_minutes(window, name):
        if total and errors / total >= s.bad_error_ratio:
            onset = at
            break
        if total:
            before.append((total, errors))
    if onset is None or not before:
        return ""
    served, errors = sum(t for t, _ in before), sum(e for _, e in before)
    clean = (len(before) >= LATE_ONSET_MINUTES and served >= s.min_requests
             and errors / served <= s.healthy_error_ratio)
    c.cite("metric", facts.requests_query,
           f"{name} served {len(before)} minutes after its deploy before its first failing minute ({hms(onset)}): "
           f"{errors:.0f} of {served:.0f} requests 5xx", f"fewer than {LATE_ONSET_MINUTES} clean minutes (<= "
           f"{s.healthy_error_ratio:.0%} 5xx) between the deploy and the failures", not clean)
    if not clean:
        return ""
    failing = Window(onset - timedelta(minutes=1), facts.incident.end)
    beside = _more_load(facts, c, suspect, failing, served / len(before)) or _replaced_beside(facts, c, suspect,
                                                                                             failing)
    if beside is None:
        return ""
    return (f"{name} served cleanly for {len(before)} minutes after its deploy before failing from {hms(onset)}, and "
            f"{beside}: the failures did not begin with the deploy (a dependency, load or a leak may have started "
            "them)")


def _more_load(facts: Facts, c: Citation, suspect: Revision, failing: Window, clean_rate: float) -> str:
    """How `suspect`'s own request rate rose when its failures began (a larger share sent to it: a rollout's next
    step), in words, or "": over SAME_LOAD_MAX_RISE times its rate in its clean minutes (`clean_rate`, a minute).
    Then the late onset may be the load the revision before no longer carries, on one side of a split that moved,
    and its serving cleanly beside it shows nothing of the same load (scenario gradual_rollout_by_hand_midway)."""
    minutes = [total for _, total, _ in facts.revision_minutes(failing, suspect.short_name) if total]
    rate = sum(minutes) / len(minutes) if minutes else 0.0
    rose = rate > SAME_LOAD_MAX_RISE * clean_rate
    c.cite("metric", facts.requests_query,
           f"{suspect.short_name}'s requests {rate:.0f}/min from its first failing minute {failing}, "
           f"{clean_rate:.0f}/min in its clean minutes before",
           f"> {SAME_LOAD_MAX_RISE:g}x its clean minutes' rate: more load sent to it when the failures began", rose)
    if not rose:
        return ""
    return (f"its requests rose from {clean_rate:.0f}/min to {rate:.0f}/min as they began (a larger share sent to "
            "it): the revision before, serving less beside it, does not show the same load served cleanly")


def _replaced_beside(facts: Facts, c: Citation, suspect: Revision, failing: Window) -> str | None:
    """What the revision `suspect` replaced shows of `suspect`'s late failures (`_clean_before_onset`), in words, or
    None when it shows them `suspect`'s own: it served cleanly in the minutes `suspect` failed
    (platform_onset.replaced_served_cleanly: at least min_requests, at most healthy_error_ratio 5xx) and had no
    failing minute of min_requests or more in the baseline before the deploy (Facts.baseline, minute by minute: a
    sum over the baseline would dilute a failing stretch)."""
    s = facts.s
    deploy = facts.replaced(suspect)
    if deploy is None:
        return "no revision it replaced is read beside it"
    previous = deploy[0].short_name
    minutes = facts.revision_minutes(facts.baseline(suspect), previous)
    bad = [(at, total, failed) for at, total, failed in minutes if total and failed / total >= s.bad_error_ratio]
    total, failed = sum(m[1] for m in bad), sum(m[2] for m in bad)
    failing_before = total >= s.min_requests
    c.cite("metric", facts.requests_query,
           f"{previous}, the revision {suspect.short_name} replaced, in the {len(minutes)} minutes with requests "
           f"before the deploy {facts.baseline(suspect)}: {len(bad)} failing minute(s), {failed:.0f} 5xx of "
           f"{total:.0f} in them",
           f"failing minutes (>= {s.bad_error_ratio:.0%} 5xx) holding >= {s.min_requests} requests: the revision "
           "before was failing before the deploy", failing_before)
    if failing_before:
        first = min(at for at, _, _ in bad) - timedelta(minutes=1)
        return (f"{previous}, the revision it replaced, was itself failing before the deploy ({failed:.0f} 5xx of "
                f"{total:.0f} in {len(bad)} minute(s) from {hms(first)})")
    if replaced_served_cleanly(facts, c, suspect, failing):
        return None
    during = facts.requests(failing, previous)
    if during.total >= s.min_requests:
        how = "failed too" if during.error_ratio >= s.bad_error_ratio else "did not serve cleanly either"
        return (f"{previous}, the revision it replaced, {how} in those minutes ({pct(during.error_ratio)} 5xx of "
                f"{during.total:.0f})")
    return (f"{previous}, the revision it replaced, served {during.total:.0f} requests in those minutes, too few to "
            "tell a cause of its own from one both share")


def _began_before_its_deploy(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why the failures are not the deploy's, or "": they began on the revision `suspect` replaced
    (Facts.replaced), at least a minute before the deploy (or the promotion: `suspect` as deployed), after it had
    served cleanly for LATE_ONSET_MINUTES or more (its own deploy did not start them either), and it kept failing
    (>= bad_error_ratio of >= min_requests) from their first minute to the deploy. A deploy made into an incident
    already under way (a hotfix, a routine release) fails as the revision before did; an SRE dates the cause to the
    onset, not to the deploy. Read over the deploy window before the deploy, minute by minute (Facts.revision_minutes),
    never an hour's sum, which dilutes minutes of failure into a few percent."""
    s = facts.s
    replaced = facts.replaced(suspect)
    if replaced is None:
        return ""
    previous, deployed = replaced[0], suspect.create_time
    minutes = facts.revision_minutes(Window(deployed - timedelta(seconds=s.deploy_window_seconds), deployed),
                                     previous.short_name)
    onset = next((i for i, (_, total, errors) in enumerate(minutes) if total and errors / total >= s.bad_error_ratio),
                 None)
    if onset is None or minutes[onset][0] > deployed - timedelta(seconds=60):
        return ""
    clean, since = minutes[:onset], minutes[onset:]
    served, errors = sum(t for _, t, _ in clean), sum(e for _, _, e in clean)
    total, failed = sum(t for _, t, _ in since), sum(e for _, _, e in since)
    began = minutes[onset][0] - timedelta(seconds=60)
    # Still failing in its last minutes before the deploy: a blip that had stopped by then did not run into it. Read
    # back from the deploy until they hold min_requests, so that a minute of a few requests (traffic draining as the
    # deploy lands) decides nothing alone.
    tail_total = tail_failed = 0.0
    for _, t, e in reversed(since):
        tail_total, tail_failed = tail_total + t, tail_failed + e
        if tail_total >= s.min_requests:
            break
    shown = (len(clean) >= LATE_ONSET_MINUTES and served >= s.min_requests and errors / served <= s.healthy_error_ratio
             and total >= s.min_requests and failed / total >= s.bad_error_ratio
             and tail_total > 0 and tail_failed / tail_total >= s.bad_error_ratio)
    c.cite("metric", facts.requests_query,
           f"{previous.short_name} before {suspect.short_name}'s deploy: {errors:.0f} 5xx of {served:.0f} in its "
           f"{len(clean)} minutes before {hms(began)}, then {pct(failed / total if total else 0)} 5xx of {total:.0f} "
           f"from {hms(began)} to the deploy at {hms(deployed)}",
           f">= {LATE_ONSET_MINUTES} clean minutes (<= {s.healthy_error_ratio:.0%} 5xx), then >= "
           f"{s.bad_error_ratio:.0%} 5xx of >= {s.min_requests} from a minute before the deploy, its last minutes before "
           f"it (back to {s.min_requests} requests) among them: the failures began before it", not shown)
    if not shown:
        return ""
    lead = duration((deployed - began).total_seconds())
    return (f"the failures began at {hms(began)} on {previous.short_name}, {lead} before {suspect.short_name}'s deploy "
            f"({pct(failed / total)} 5xx of {total:.0f} from then to the deploy, after {len(clean)} clean minutes): "
            f"the deploy did not start them, and {suspect.short_name} is not shown to be their cause")


# Where a person looks for what began the failures that came before the deploy (`_began_before_its_deploy`).
_ONSET_WORDS = "when the failures began, before the deploy"


# What a person checks when the new revision's name lookups fail on the path the revision before used.
NAMES_UNRESOLVED = ("find the names that do not resolve and why: a record deleted or changed in a Cloud DNS private "
                    "zone, the resolver timing out, or a host setting the deploy changed; send traffic back by hand "
                    "only if the deploy changed the name")


def _names_unresolved_on_the_same_path(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why the deploy is not shown to be the cause, or "": the new revision logged at least
    db_error_logs_min failed name lookups (_failed_lookups: signal dns_failure, "getaddrinfo EAI_AGAIN
    H", "lookup H on 169.254.169.254:53: no such host", "Temporary failure in name resolution", and a
    database driver's own "no such host" words), and reaches its VPC
    the way the revision it replaced did (path_changed: same connector, egress and network
    interfaces). A lookup is answered by Cloud Run's resolver, which the revision before asks the
    same way: a record deleted from a private zone, or a resolver that stops answering, fails it too,
    and a rollback cures neither; a host setting the deploy changed is cured by it, and only a
    host the new revision's env names and the one before's does not shows that
    (_deploy_named_the_hosts). Otherwise the deploy is not ruled out, nor shown (it competes),
    as database_unreachable's "no such host" is (scenario private_dns_record_deleted_after_deploy). A deploy that changed the path (Direct VPC egress on a
    network the private zone is not visible to) is the lookups' cause, and rolling back restores
    the path that resolved: this says nothing ("")."""
    lookups = _failed_lookups(facts, suspect.short_name)
    deploy = facts.recent_deploy()
    if not facts.logged_enough(lookups) or deploy is None or deploy[0].name != suspect.name:
        return ""
    previous = deploy[1]
    if path_changed(previous, suspect) or _served_beside(facts, suspect):
        return ""
    if _deploy_named_the_hosts(c, lookups, suspect, previous):
        return ""
    c.cite("log", f"stderr / stdout: {pattern_of(LogSignal.DNS_FAILURE)}",
           f"{len(lookups)} failed name lookups on {suspect.short_name}, e.g. {excerpt(lookups[0].text)!r}; its path to "
           f"the VPC is {previous.short_name}'s", "failed name lookups on a path the revision before resolves on "
           "too: a rollback cures a name the deploy changed, not a record or a resolver", False, role="context")
    return (f"{suspect.short_name}'s name lookups fail ({len(lookups)}x, e.g. {excerpt(lookups[0].text, limit=120)!r}) on the same "
            f"path to the VPC as {previous.short_name}, which asks the same resolver: a deleted record or a resolver "
            "that stops answering fails both, and only a host name the deploy changed is cured by sending "
            "traffic back")


REPLICA_CONFLICTS = ("look at " + REPLICA_ADVICE + "; send traffic back by hand only if the deploy brought longer "
                     "reads to the replica")


def _replica_conflicts_on_the_same_replica(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why the deploy is not shown to be the cause, or "": the new revision's failures are reads a
    read replica cancelled for conflicting with its recovery (replica.replica_conflicts), on the
    database the revision before reads (_same_database_answers). The replica cancels a read that holds
    back the replay of the primary's changes past max_standby_streaming_delay (PostgreSQL docs, "Hot
    Standby"): the primary's VACUUM or a bulk change brings that on as much as a longer read does, and
    the revision before reads the same replica, so a rollback is not shown to help. The deploy is not
    ruled out either (it may have brought the longer reads): it competes, and a person chooses."""
    found = _same_database_answers(facts, c, suspect, replica_conflicts, REPLICA_CONFLICT,
                                   ("reads a read replica cancelled",
                                    "reads cancelled by a replica's recovery, at least half of the failure lines, on "
                                    "the database the revision before reads"))
    if not found:
        return ""
    lines, previous = found
    return (f"{suspect.short_name}'s failures are reads a read replica cancelled for conflicting with its recovery "
            f"({len(lines)}x, e.g. {excerpt(lines[0].text, limit=120)!r}), and its deploy changed no setting that says which "
            f"database it reads: {previous.short_name} reads the same replica, which cancels reads that hold back "
            "the replay of the primary's changes whatever revision sends them, so a rollback is not shown to help")


# What a person checks when the new revision's statements wait on locks of the database both revisions use.
LOCK_WAITS = "look at " + LOCK_ADVICE + "; send traffic back by hand only if the deploy brought the lock"


def _lock_waits_on_the_same_database(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why the deploy is not shown to be the cause, or "": the new revision's failures are statements
    the database cancelled at a lock timeout (lock_waits.lock_timeouts), on the
    database the revision before uses (_same_database_answers). The session holding the lock is not in
    the evidence: a migration run beside the deploy (a CREATE INDEX without CONCURRENTLY holds a SHARE
    lock for its whole build, PostgreSQL docs "CREATE INDEX", "Building Indexes Concurrently"), a batch,
    another service. A rollback leaves it holding the lock, and the revision before writes the same
    rows: it is sent traffic only once it is seen serving cleanly beside the suspect since the deploy
    (then the waits are the suspect's own, and this check finds none). The deploy is not ruled out
    either (its own new statement may hold the lock): it competes, and a person chooses. Deadlocks are
    not read here: a cycle the database broke may be the new revision's own lock order, rolled back."""
    found = _same_database_answers(facts, c, suspect, lock_timeouts, LOCK_TIMEOUT,
                                   ("statements the database cancelled at a lock timeout",
                                    "lock timeouts, at least half of the failure lines, on the database the revision "
                                    "before writes to"))
    if not found:
        return ""
    lines, previous = found
    return (f"{suspect.short_name}'s failures are statements the database cancelled waiting on a lock "
            f"({len(lines)}x, e.g. {lock_words(lines[0].text)!r}), and its deploy changed no setting that "
            f"says which database it uses: {previous.short_name} writes to the same database, where whatever holds "
            "the lock (a migration beside the deploy, a batch, a long transaction) stays, so a rollback is not "
            "shown to help")


# What a person checks when the new revision's requests wait for connections the database no longer gives.
CONNECTIONS_TAKEN = ("look at who holds the instance's connections (SELECT usename, application_name, client_addr, "
                     "state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3, 4) against its max_connections (SHOW "
                     "max_connections; a database flag): a batch or job, another service's pools, sessions idle in "
                     "transaction (a leak); end or limit them (idle_in_transaction_session_timeout, a role's "
                     "CONNECTION LIMIT); send traffic back by hand only if the new revision holds them")
# The refusals that say the database had no connection left to give (log_signals.Refusal).
_NO_CONNECTION_LEFT = frozenset({Refusal.CONNECTION_LIMIT, Refusal.ROLE_LIMIT, Refusal.USER_LIMIT})


def _connections_taken_on_the_same_database(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why the deploy is not shown to be the cause, or "": the new revision's failures are waits for a
    connection (its own pool's, DB_POOL_WAIT) or the database's refusals at its connection limit, on
    the database the revision before uses (_same_database_answers), and the instance's connections
    rose with the failures (Facts.sql_connections_risen, database/postgresql/num_backends). Whoever
    took them (a batch, another service, sessions a leak left open) is not in the evidence; the
    revision before would wait on the same full instance. The deploy is not ruled out (a leak of its
    own fills it too): it competes, and a person chooses. Not read (no room, no deploy) or MySQL (no series),
    nothing. Read and failed (its gap: a refusal, or a fault in the collection's last round, where a promoted
    suspect's read is a gap rather than the event read again), the same waits compete as well: whether the
    connections rose is what the read would have said."""
    risen = facts.sql_connections_risen()
    unread = "" if risen else _connections_unread(facts)
    if not risen and not unread:
        return ""
    found = _same_database_answers(facts, c, suspect, _connection_waits, "db_pool_wait, db_refused at the limit",
                                   ("waits for a connection or refusals at the connection limit",
                                    "waits for a connection, at least half of the failure lines, on the database "
                                    "the revision before uses"))
    if not found:
        return ""
    lines, previous = found
    if unread:
        c.cite("metric", "cloudsql database/postgresql/num_backends", unread, "the instance's connections read", False,
               role="context")
        return (f"{suspect.short_name}'s failures are waits for a database connection ({len(lines)}x, e.g. "
                f"{excerpt(lines[0].text, limit=120)!r}) and the Cloud SQL instance's connections were not read ({unread}): "
                f"{previous.short_name} connects to the same instance, and whether another client took its "
                "connections, so that it would wait as well, is not known")
    rose = "; ".join(f"{db}: {usual:.0f} before, {peak:.0f} while failing" for db, (usual, peak) in risen.items())
    before = duration(SQL_CONNECTIONS_BEFORE.total_seconds())
    c.cite("metric", query_of(facts.b.sql_connections, "cloudsql database/postgresql/num_backends"), rose,
           f"connections below {SQL_CONNECTIONS_RISE:g}x their largest in the {before} before the failures", False,
           role="refutes")
    return (f"{suspect.short_name}'s failures are waits for a database connection ({len(lines)}x, e.g. "
            f"{excerpt(lines[0].text, limit=120)!r}) while the Cloud SQL instance's connections rose with them ({rose}): "
            f"{previous.short_name} connects to the same instance and would wait as well, so a rollback is not "
            "shown to help; whether the new revision holds them (a leak) or another client does (a batch, "
            "another service) is not in the evidence")


def _connections_unread(facts: Facts) -> str:
    """The gap of the instance's connections' read (collection's "monitoring: cloudsql database/postgresql/
    num_backends"), when it was made and failed; "" when it answered or was not made."""
    if facts.b.sql_connections is not None:
        return ""
    return next((gap for gap in facts.b.gaps if gap.startswith(CONNECTIONS_READ)), "")


def _connection_waits(facts: Facts, revision: str) -> list[LogRecord]:
    """`revision`'s waits for a connection of its own pool and the database's refusals at its connection
    limit, logged while requests failed (Facts.database_lines)."""
    waits = [e for e in facts.database_lines(LogSignal.DB_POOL_WAIT)
             if e.resource_labels.get("revision_name") == revision]
    refused = [e for e in facts.database_lines(LogSignal.DB_REFUSED)
               if e.resource_labels.get("revision_name") == revision]
    named = refusals_of(e.text for e in refused)
    return waits + [e for e in refused if named[e.text] in _NO_CONNECTION_LEFT]


def _same_database_answers(facts: Facts, c: Citation, suspect: Revision,
                           lines_of: Callable[[Facts, str], list[LogRecord]], pattern: str,
                           said: tuple[str, str]) -> tuple[list[LogRecord], Revision] | None:
    """(the lines, the revision before) when the new revision logged at least db_error_logs_min of
    the database's own answers `lines_of` reads, at least half of its failure lines (its own logs at
    ERROR or worse), and its deploy changed none of the settings that say which database it uses (its
    plain env values, its Cloud SQL connections, its secrets), nor did another revision serve beside
    it in the same minutes with fewer of them (a canary's split: then the answers are its own); None
    otherwise. `said`: what the lines are, and the bar, as the citation words them."""
    what, bar = said
    lines = lines_of(facts, suspect.short_name)
    deploy = facts.recent_deploy()
    if not facts.logged_enough(lines) or deploy is None or deploy[0].name != suspect.name:
        return None
    previous = deploy[1]
    failed = logged_by(facts.logs.app_failed, suspect.short_name)
    failures = len(failed)
    same_database = (set(suspect.env_values) == set(previous.env_values)
                     and set(suspect.cloudsql_instances) == set(previous.cloudsql_instances)
                     and not secrets_changed(previous, suspect))
    if (not facts.half_or_more(lines, failed) or not same_database
            or _answered_beside(facts, suspect, lines_of, lines)):
        return None
    c.cite("log", f"stderr / stdout: {pattern!r}",
           f"{len(lines)} {what} on {suspect.short_name}, e.g. {excerpt(lines[0].text)!r}; "
           f"{failures} failure lines; its database settings are {previous.short_name}'s",
           bar, True,
           role="refutes")
    return lines, previous


def _answered_beside(facts: Facts, suspect: Revision, lines_of: Callable[[Facts, str], list[LogRecord]],
                     lines: list[LogRecord]) -> bool:
    """Whether another revision served at least min_requests requests in the minutes of the suspect's `lines`
    (Facts.since_first_of) with fewer than db_error_logs_min of the same answers of its own: the database
    served it."""
    s, window = facts.s, facts.since_first_of(suspect, lines)
    return any(facts.requests(window, name).total >= s.min_requests
               and len(lines_of(facts, name)) < s.db_error_logs_min
               for name in facts.revision_names_with_requests(window) if name != suspect.short_name)


# What a person checks when the new revision cannot open connections to a dependency the revision
# before reaches the same way.
DIALS_FAIL = ("find why the dependency does not answer on the path both revisions share: the dependency itself (a "
              "Memorystore instance scaling, failing over or under maintenance, an internal load balancer's "
              "backends down, a VPN tunnel), a firewall rule or route that changed for the connector's range, or "
              "the connector at its limit; send traffic back by hand only if the deploy changed what it dials")


def _dials_fail_on_the_same_path(facts: Facts, c: Citation, suspect: Revision) -> str:
    """Why the deploy is not shown to be the cause, or "": the new revision logged at least
    db_error_logs_min failed dials to a dependency other than its database (log_signals.dial_failure:
    a connect that timed out, was refused or found no route, to Memorystore, an internal load
    balancer, a host over VPN), at least half of its failure lines (its own logs at ERROR or worse,
    those with them), and it reaches its VPC the way the revision it replaced did (path_changed). A
    connect that gets no answer is the network's or the dependency's, whatever code asks for it: the
    revision before dials the same address over the same connector and egress, so a dependency down,
    a firewall rule or route changed for the connector's range (the connector's subnet or
    ipCidrRange, VPC Access v1 Connector), or a connector at its limit fails it too, and a rollback
    cures none of those. It is cured only when the deploy changed what is dialled: every line names a
    host the new revision's plain env names and the one before's does not (env_hosts.deploy_brought;
    Cloud Run Admin v2 Revision.containers[].env[].value), or another revision served beside it in the
    same minutes (a canary's split) with fewer such dials, so the dependency answered it. The
    database's own dials are database_unreachable's, which competes the same way (scenario
    asyncpg_connect_timeouts_after_deploy); a deploy that changed the path is the dials' likely cause,
    and says nothing here ("")."""
    dials = _failed_dials(facts, suspect.short_name)
    deploy = facts.recent_deploy()
    if not facts.logged_enough(dials) or deploy is None or deploy[0].name != suspect.name:
        return ""
    previous = deploy[1]
    counted = {id(e) for e in dials}
    failed = [*dials, *(e for e in facts.logs.app_failed
                        if e.resource_labels.get("revision_name") == suspect.short_name and id(e) not in counted)]
    failures = len(failed)
    if (not facts.half_or_more(dials, failed) or path_changed(previous, suspect)
            or _dialled_beside(facts, suspect, dials)):
        return ""
    hosts = {facts.logs.dials[e.text] or "" for e in dials}
    named = ", ".join(sorted(hosts - {""})) or "no host named"
    if deploy_brought(hosts, suspect.env_values, previous.env_values):
        c.cite("api", f"run.revisions.get {suspect.short_name}, {previous.short_name}: containers[].env[]",
               f"{suspect.short_name}'s env names host {named}, which its failed dials name; "
               f"{previous.short_name}'s does not", "a host the failed dials name, set only by the deploy", True)
        return ""
    moved = _ports_the_deploy_moved(facts, dials, suspect, previous)
    if moved:
        c.cite("api", f"run.revisions.get {suspect.short_name}, {previous.short_name}: containers[].env[]",
               f"{suspect.short_name}'s env pairs {named} with port {moved}, which its failed dials name; "
               f"{previous.short_name}'s pairs it with another", "a host's port the failed dials name, moved only by "
               "the deploy", True)
        return ""
    c.cite("log", "stderr / stdout: a dial to a dependency that timed out, was refused or found no route",
           f"{len(dials)} of {suspect.short_name}'s {failures} failure lines are failed dials ({named}), e.g. "
           f"{excerpt(dials[0].text)!r}; its path to the VPC is {previous.short_name}'s, and no host they name is one "
           "only its env gives", "failed dials on a path the revision before shares: a rollback cures an address "
           "the deploy changed, not the dependency, a firewall rule or the connector", False, role="context")
    return (f"{suspect.short_name} cannot open connections to a dependency ({len(dials)} failed dials, {named}, e.g. "
            f"{excerpt(dials[0].text, limit=120)!r}) on the same path to the VPC as {previous.short_name}, which dials it the same "
            "way: a dependency down, a firewall rule or route changed, or a connector at its limit fails both, and "
            "only an address the deploy changed is cured by sending traffic back")


def _ports_the_deploy_moved(facts: Facts, dials: list[LogRecord], suspect: Revision, previous: Revision) -> str:
    """The ports ("6432", "6380, 6381") the failed dials name where every one names its host and a port the
    deploy moved that host to (env_hosts.endpoint_brought: DB_PORT 5432 -> 6432 with DB_HOST the same,
    REDIS_PORT, a URL's or DSN's port; the port written after the host the dial names, `_port_after`: Go's
    "dial tcp H:P", Node's "connect ECONNREFUSED H:P", redis-py's "Error 111 connecting to H:P.", as
    log_signals.dial_failure cites them); "" when any dial names no host or port, or one the
    revision before pairs the same way. The host and port are tied together: a port another dependency's
    variable moved says nothing of a dial to this host. A dial another revision logged too is not the
    deploy's: that revision's settings do not pair them."""
    texts = {e.text for e in dials}
    name = suspect.short_name   # read once, not once per line
    if any(e.text in texts and e.resource_labels.get("revision_name") != name for e in facts.logs.app):
        return ""
    moved: set[str] = set()
    for text in texts:
        host = facts.logs.dials[text]
        port = _port_after(host, text) if host else ""
        if not port or not endpoint_brought(host, port, suspect.plain_env, previous.plain_env):
            return ""
        moved.add(port)
    return ", ".join(sorted(moved, key=int))


def _port_after(host: str, text: str) -> str:
    """The one port a line writes right after `host` ("H:P"), or "" for none or several."""
    ports = set(re.findall(rf"(?<![\w.-]){re.escape(host)}:(\d{{1,5}})(?!\d)", text, re.IGNORECASE))
    return ports.pop() if len(ports) == 1 else ""


# What a person does when the connector the revisions route through does not exist.
CONNECTOR_GONE = ("find what happened to the connector (the VPC Access Admin Activity audit log: a DeleteConnector), "
                  "then recreate it or deploy the service onto a connector that exists or onto Direct VPC egress; "
                  "sending traffic back to a revision that names the same connector restores nothing")


def _connector_gone_for_both(facts: Facts, c: Citation, suspect: Revision, good: Revision) -> str:
    """Why a rollback cannot restore the path, or "": the connector the suspect routes through was read
    and answered NOT_FOUND (vpcaccess.connectors.get: Google's Get methods answer NOT_FOUND for a
    resource that does not exist, AIP-131 "Standard methods: Get"; the sweep reads a connector deleted
    since its action the same way, judging.connector_gone), and the rollback target names the same
    connector. Whatever the revisions do without it (Cloud Run's
    behaviour for a revision whose connector was deleted under it is not documented: UNCONFIRMED), the
    target would be sent its traffic over a path that is gone, as the suspect's is: a rollback restores
    nothing, and a connector deleted in the same minutes as the deploy is the likelier cause. A target
    on another connector, or on Direct VPC egress, reaches its VPC another way: this says nothing, and
    the rollback restores the path that served (the suspect's deploy moved it: path_changed), if that
    connector still exists (read apart: target_deps.connector_gone)."""
    missing = facts.b.connector_not_found
    if not missing or suspect.vpc_connector != missing or good.vpc_connector != missing:
        return ""
    c.cite("api", f"vpcaccess.connectors.get {missing}",
           f"NOT_FOUND; {suspect.short_name} and the rollback target {good.short_name} both route through it",
           "the connector exists, or the rollback target reaches its VPC another way", False)
    return (f"connector {short_name(missing)}, which both {suspect.short_name} and {good.short_name} route through, "
            "does not exist (its read answered NOT_FOUND: deleted, or not in that project and region): sending "
            f"traffic back to {good.short_name} sends it over the same missing path, so a rollback restores nothing")


def _secret_read_at_latest_by_both(facts: Facts, c: Citation, suspect: Revision,
                                   good: Revision) -> tuple[str, str] | None:
    """(why a rollback is not shown to help, what a person checks), or None: the new revision's failures
    are what a broken secret value gives (_value_failures: a downstream refusing the credential sent, or
    a configuration it cannot parse as its instances fail to start), at least startup_failure_logs_min
    of them (Facts.logged_enough) and at least half of its failure lines, and the rollback target reads
    a secret that may hold that value at "latest" as the new revision does (secret_values.
    read_at_latest_by_both, secret_values.may_hold). Cloud Run resolves a secret env var "at instance
    startup time" and reads a mounted one from Secret Manager "with the latest version" (docs
    "Configure secrets for services"): the target's clean minutes were served by instances that read
    the secret before; its new instances read the version Secret Manager holds now, which a version
    added around the deploy (a rejected key, a malformed config) makes the failing one's. A rollback
    then loses the deploy and cures nothing, and later fails its verification. The deploy is not ruled
    out either (a new call with the old key, a parser it changed): it competes, and a person chooses.
    None when the deploy changed a secret it reads against the target (secret_values.read_differently:
    another secret or a pinned version, which a rollback undoes), or a credential in its plain env (secret_refs.
    plain_credentials_changed), or when every refused call went to a host only its plain env names
    (env_hosts.deploy_brought: the deploy pointed the key elsewhere). Failures of another kind (the new
    code's own exceptions) hold nothing back, whatever secrets both read at latest."""
    shared = read_at_latest_by_both(good, suspect)
    if not shared or read_differently(good, suspect) or plain_credentials_changed(good, suspect):
        return None
    found, failed = _value_failures(facts, suspect)
    failures, lines = len(failed), [line for line, _ in found]
    kinds = {kind for _, kind in found}
    secrets = [ref for ref in shared if any(may_hold(ref, kind) for kind in kinds)]
    # A hold-back signal, counted over the read that carries each line (Facts.half_or_more), as answered_alike.
    if not secrets or not facts.logged_enough(lines, facts.s.startup_failure_logs_min) \
            or not facts.half_or_more(lines, failed):
        return None
    hosts = found_in(url_hosts, (e for e, kind in found if kind == CREDENTIAL))
    if deploy_brought(hosts, suspect.env_values, good.env_values):
        c.cite("api", f"run.revisions.get {suspect.short_name}, {good.short_name}: containers[].env[]",
               f"{suspect.short_name}'s env names {', '.join(sorted(hosts))}, which its refused calls name; "
               f"{good.short_name}'s does not", "a host the refused calls name, set only by the deploy", True)
        return None
    said = " and ".join(sorted(kinds))
    which = named(secrets)
    last = _last_line(found[0][0].text)
    c.cite("log", "stderr / stdout: a downstream refusing the credential sent (401, an invalid API key), a "
                  "configuration not parsed as instances fail to start; run.revisions.list: "
                  "containers[].env[].value_source.secret_key_ref, volumes[].secret",
           f"{len(found)} of {suspect.short_name}'s {failures} failure lines are {said}, e.g. {excerpt(last)!r}; "
           f"{good.short_name}, the rollback target, reads {which} at latest too",
           "failures a secret's value gives, on a secret the rollback target does not read at latest: a rollback "
           "restores the value", False, role="context")
    check = (f"look at the newest version of {', '.join(sorted({ref.secret for ref in secrets}))} in Secret Manager "
             "(what it holds, when it was added and by whom): disable it or add a corrected version, and pin the "
             "revisions to a version that works")
    reason = (f"{suspect.short_name}'s failures are {said} ({len(found)} of its {failures} failure lines, e.g. "
              f"{excerpt(last, limit=120)!r}), and {good.short_name} reads {which} at latest too: its new instances would read "
              "the version Secret Manager holds now, as the failing ones do, so a rollback brings back its settings, "
              f"not the value it served with, and is not shown to help ({check})")
    return reason, (f"{check}; send traffic back by hand only if the secret's versions are as they were and the "
                    "deploy is the cause")


def _last_line(text: str) -> str:
    """A traceback's last line, the exception it ended in (a line of one line is itself)."""
    return text.strip().rsplit("\n", 1)[-1]


def _value_failures(facts: Facts, suspect: Revision) -> tuple[list[tuple[LogRecord, str]], list[LogRecord]]:
    """The new revision's failure lines (its own logs at ERROR or worse) that are what a broken secret
    value gives, each with its kind (secret_values.value_failure), and its failure lines.
    A configuration not parsed counts only when its instances fail to start (at least
    startup_failure_logs_min of Cloud Run's startup texts, failed_starts): a configuration read at start
    ends the instance, while a request's parse failure is of what a call answered. A line of the
    database's (signal db_connection) is database_unreachable's, which judges its password refusals
    (_credentials_changed) and competes with the deploy itself."""
    name = suspect.short_name
    failed = [e for e in facts.logs.app_failed if e.resource_labels.get("revision_name") == name]
    database = {id(e) for e in facts.log_matches(LogSignal.DB_CONNECTION, name)}
    kind_of = per_text(value_failure, failed)
    starts = failed_starts(facts.log_matches(LogSignal.STARTUP_FAILURE, name)) >= facts.s.startup_failure_logs_min
    found = [(e, kind_of[e.text]) for e in failed
             if id(e) not in database and (kind_of[e.text] == CREDENTIAL or (kind_of[e.text] and starts))]
    return found, failed


def _failed_dials(facts: Facts, revision: str) -> list[LogRecord]:
    """The revision's failed dials to a dependency other than its database, from its own logs. A line
    that is an error of reaching the database (signal db_connection) is the database's, whatever
    hostless words it shares with other clients (pgjdbc's "The connection attempt failed." carries the
    JDK's "SocketTimeoutException: Connect timed out" as its cause): database_unreachable judges it,
    and whether the deploy changed the address it dials (its _deploy_brought_the_address)."""
    dialled = facts.logs.dials
    database = {id(e) for e in facts.log_matches(LogSignal.DB_CONNECTION, revision)}
    return [e for e in facts.logs.app if e.resource_labels.get("revision_name") == revision
            and dialled[e.text] is not None and id(e) not in database]


def _dialled_beside(facts: Facts, suspect: Revision, dials: list[LogRecord]) -> bool:
    """Whether another revision served at least min_requests requests in the minutes of the suspect's failed
    `dials` (Facts.since_first_of; cleanly: _errors_concentrated has checked it) with fewer than
    db_error_logs_min failed dials of its own: the dependency answered it over the same path in the same
    minutes. The minute the traffic moved, before the first dial failed, shows nothing of them."""
    s, window = facts.s, facts.since_first_of(suspect, dials)
    return any(facts.requests(window, name).total >= s.min_requests
               and len(_failed_dials(facts, name)) < s.db_error_logs_min
               for name in facts.revision_names_with_requests(window) if name != suspect.short_name)


def _failed_lookups(facts: Facts, revision: str) -> list[LogRecord]:
    """The revision's failed name lookups: the resolver's and runtimes' words (signal dns_failure) and
    the database drivers' own words for a host that does not exist (Refusal.NO_SUCH_HOST: libpq's
    "could not translate host name "H" to address: Name or service not known", pgx's "hostname
    resolving error (lookup H ...: no such host)", MySQL's 2005 "Unknown MySQL server host 'H'"),
    each line once. The drivers' texts are the same failed lookup of the database's name."""
    lookups = facts.log_matches(LogSignal.DNS_FAILURE, revision)
    seen = {id(e) for e in lookups}
    refused = [e for e in facts.log_matches(LogSignal.DB_REFUSED, revision) if id(e) not in seen]
    named = refusals_of(e.text for e in refused)    # each distinct text once
    return lookups + [e for e in refused if named[e.text] == Refusal.NO_SUCH_HOST]


def _deploy_named_the_hosts(c: Citation, lookups: list[LogRecord], suspect: Revision, previous: Revision) -> bool:
    """Whether the deploy brought the names that fail: every failed lookup names a host (Node's
    "getaddrinfo ENOTFOUND H", Go's "lookup H on ...", Java's "UnknownHostException: H", the
    database drivers' own: libpq's "could not translate host name "H"", MySQL's "Unknown MySQL server
    host 'H'"), and each is
    named by a plain env value of the new revision (the whole value, a URL's or DSN's host) and by
    none of the revision it replaced, whose plain env values were read (Cloud Run Admin v2
    Revision.containers[].env[].value, k8s_min.proto EnvVar). A record deleted or a resolver down
    would fail the host the revision before names too; a name only the new revision's settings hold
    (a typo in DB_HOST) is cured by sending traffic back. Env from secrets alone, env not read, a line
    that names no host: not shown, and the deploy keeps competing. The evidence names the hosts (the
    log lines printed them), never an env value."""
    return bool(cite_hosts_brought(c, lookups, suspect, previous,
                                   "a host the failed lookups name, set only by the deploy", True))


def _cite_instance_the_deploy_named(facts: Facts, c: Citation, suspect: Revision) -> None:
    """Cite the Cloud SQL instance the Admin API's refusals name (ADMIN_API_REFUSALS: it does not
    exist, or the caller may not reach it) when the deploy brought it (deploy_changes.
    cite_instance_brought: a connection name only the new revision gives, a typo in
    INSTANCE_CONNECTION_NAME): database_unreachable leaves those refusals to this rule, and the person
    reading the rollback sees why. Nothing when any refusal is another kind or another revision's."""
    refused = refusals(facts)
    deploy = facts.recent_deploy()
    if not refused or not refused.keys() <= ADMIN_API_REFUSALS or deploy is None or deploy[0].name != suspect.name:
        return
    entries = [e for es in refused.values() for e in es]
    if all_logged_by(entries, suspect.short_name):
        cite_instance_brought(c, entries, suspect, deploy[1],
                              "an instance the Admin API refuses, asked for only by the new revision", True)


def _served_beside(facts: Facts, suspect: Revision) -> bool:
    """Whether another revision served at least min_requests requests in the minutes of the suspect's failed
    lookups (Facts.since_first_of: a canary's split), cleanly (_errors_concentrated has checked it), with fewer than
    db_error_logs_min failed lookups of its own: it resolved its names on the same resolver in the same minutes, so
    the new revision's failed lookups are of names its own deploy brought (a host setting). The minute the traffic
    moved, before the first lookup failed, shows nothing of them."""
    s, window = facts.s, facts.since_first_of(suspect, _failed_lookups(facts, suspect.short_name))
    return any(facts.requests(window, name).total >= s.min_requests
               and len(_failed_lookups(facts, name)) < s.db_error_logs_min
               for name in facts.revision_names_with_requests(window) if name != suspect.short_name)


class _Target(NamedTuple):
    """_known_good's answer: the rollback target or None, the steps back to it, why there is none (with
    one, what was stepped past to reach it, "" when nothing was), and, held for the target's capacity, the
    gcloud line that moves only the share it is shown to carry ("" otherwise)."""
    good: Revision | None
    steps: int
    why: str
    command: str = ""
    background: TargetBackground | None = None   # the target's steady background, when one was accepted


def _known_good(facts: Facts, c: Citation, suspect: Revision) -> _Target:
    """Newest Ready revision older than the suspect that served cleanly before the deploy, the
    steps back to it (the Ready revisions that served before the deploy, counting it), and, when
    there is none, why; with one, what was stepped past to reach it ("" when nothing was)."""
    s = facts.s
    earlier = sorted((r for r in facts.b.revisions if r.create_time < suspect.create_time and r.name != suspect.name),
                     key=lambda r: r.create_time, reverse=True)
    older = [r for r in earlier if r.ready]
    if not earlier:
        # Monitoring keeps a deleted revision's series: one that served before the deploy and is not
        # listed was deleted (by hand, or past the 1,000 revisions a service keeps: Cloud Run docs,
        # "Manage revisions"), and the suspect is not the first.
        gone = [name for name in facts.revision_names_with_requests(facts.baseline(suspect))
                if name != suspect.short_name]
        c.cite("api", f"run.revisions.list {facts.b.service.name}", f"no revision older than {suspect.short_name}"
               + (f"; {', '.join(gone)} served before the deploy and is no longer listed" if gone else ""),
               "an older Ready revision", False, role="context")
        if gone:
            return _Target(None, 0, f"{', '.join(gone)}, which served before {suspect.short_name}'s deploy, is no "
                                    "longer listed (deleted), and no older revision is")
        return _Target(None, 0, f"{suspect.short_name} is the service's first revision")
    if not older:
        previous = earlier[0]
        state = _ready_state(previous)
        c.cite("api", f"run.revisions.list {facts.b.service.name}",
               f"no Ready revision older than {suspect.short_name}; the previous, {previous.short_name}, is {state}",
               "Ready=CONDITION_SUCCEEDED", False, role="context")
        return _Target(None, 0, f"the previous revision {previous.short_name} is not Ready ({state})")
    baseline = facts.baseline(suspect)
    reasons = []
    steps = 0
    # The deploy that replaced the candidate: the suspect's, or, past a revision that served (two
    # deploys in quick succession), that revision's. The candidate's last minutes and its share of
    # the load are judged just before it: a revision that carried everything until a failing one
    # replaced it is no canary's share, and the minutes after that deploy are not its own.
    replaced = suspect
    for candidate in older:
        counts = facts.requests(baseline, candidate.short_name)
        # A step back is a revision that served before the deploy. One that served no request in the
        # baseline (a `--no-traffic` deploy, a revision traffic had already left) is passed over
        # without counting: the one that served before the deploy is still one release back.
        steps += 1 if counts.total > 0 else 0
        failed, words = _failed_share(facts, candidate, counts, baseline)
        bar, why_not = _target_bar(facts, c, suspect, replaced, candidate, failed)
        clean = counts.total >= s.min_requests and bar.holds(failed)
        c.cite("metric", facts.requests_query,
               f"{candidate.short_name} before the deploy {baseline}: {counts.total:.0f} requests, {words}",
               f">= {s.min_requests} requests and {bar.words} failed (5xx, and 429 when Cloud "
               "Run's refusals)", clean)
        if clean:
            late = (_failing_just_before(facts, c, replaced, candidate, bar) or _cannot_start(facts, c, candidate)
                    or _failing_since_the_deploy(facts, c, replaced, candidate, bar)
                    or connector_gone(facts, c, suspect, candidate) or connector_without_room(facts, c, suspect, candidate)
                    or database_moved(facts, c, suspect, candidate)
                    or secret_version_gone(facts, c, candidate))
            if late:
                # Clean over the hour, failing at its end, or failing since: the failures are on the
                # revision a rollback would bring back (they began before the deploy, or the deploy
                # changed something it shares); or what it names (its connector, its Cloud SQL instance)
                # may be gone since (target_deps), or a secret version it reads (pinned, or "latest" or an
                # alias as resolved) disabled or destroyed since (target_secrets). Stepping past it goes further back than automation
                # may; sending it everything is a guess. A person decides.
                return _Target(None, steps, "; ".join(reasons + [late]))
            share, where = _load_share(facts, c, replaced, candidate)
            if share is not None and share <= KNOWN_GOOD_MIN_SHARE:
                # A canary of an earlier rollout: clean, but never proven at the whole load. Sending
                # it everything promotes that rollout; stepping past it goes further back than
                # automation may. Either is a person's call.
                return _Target(None, steps, "; ".join(reasons + [
                    f"{candidate.short_name}, the newest revision that served cleanly, carried only {share:.0%} of "
                    f"the service's requests {where} {replaced.short_name}'s deploy (a share of a rollout"
                    + ("" if where == JUST_BEFORE else ", or a tagged URL's") + ", not the whole load)"]))
            short = cannot_carry(facts, c, suspect, candidate, _before_the_deploy(facts, replaced, candidate),
                                 _just_before(replaced, candidate))
            if short:
                # Clean at the load it had, not shown at today's at the instances it may have
                # (target_capacity): sending it everything may refuse most of it. A person decides, given
                # the line that moves only the share it is shown to carry.
                return _Target(None, steps, "; ".join(reasons + [short.reason]), short.command)
            # With a target, the reasons say what was stepped past (a revision failing too).
            return _Target(candidate, steps, "; ".join(reasons), background=background_of(candidate.short_name, bar))
        if counts.total > 0:
            replaced = candidate
        if counts.total < s.min_requests:
            # Its clean serving, if any, is too long ago to vouch for it now.
            reasons.append(f"{candidate.short_name} served too little before the deploy to be known good "
                           f"({counts.total:.0f} requests in {baseline})")
        else:
            reasons.append(f"{candidate.short_name} was failing too before the deploy "
                           f"({_failing_in_the_incident(facts, candidate, baseline) or words}"
                           + (f"; not a background a target may carry: {why_not})" if why_not else ")"))
    return _Target(None, steps, "; ".join(reasons[:2]))


def _failing_in_the_incident(facts: Facts, candidate: Revision, baseline: Window) -> str:
    """A revision stepped past as failing too, in the incident's minutes before the deploy (from the service's first
    failing minute, Facts.failing_since, to the end of `baseline`) beside its hour's share, or "" when the failures
    began after the deploy or it served none of those minutes: the hour's sum dilutes minutes of failure into a few
    percent (the partner's 503s at 40% for 7 minutes read 4.7% over the hour)."""
    since = facts.failing_since
    if since is None or not baseline.start < since < baseline.end:
        return ""
    window = Window(since, baseline.end)
    counts = facts.requests(window, candidate.short_name)
    if not counts.total:
        return ""
    words = _failed_share(facts, candidate, counts, window)[1]
    hour_words = _failed_share(facts, candidate, facts.requests(baseline, candidate.short_name), baseline)[1]
    return f"{words} of {counts.total:.0f} {window}, from the first failing minute; {hour_words} over {baseline}"


# The known-good revision takes 100% of the traffic: it must have carried most of it (more than
# half) just before the deploy (the last LOAD_SHARE_MINUTES), not a canary's share nor one side of a
# standing 50/50 split. Judged only when those minutes hold at least min_requests requests; with
# fewer, the share says nothing and the rule is as before.
KNOWN_GOOD_MIN_SHARE = 0.5
LOAD_SHARE_MINUTES = TARGET_LOAD_MINUTES // timedelta(minutes=1)
# Which minutes a share is of, in words: the LOAD_SHARE_MINUTES before the deploy (_load_share).
JUST_BEFORE = "just before"


# The minutes just before the deploy of the revision that replaced the candidate, and its baseline before that
# deploy: target_capacity's, which capacity's advice to send traffic back reads too.
_just_before = just_before
_before_the_deploy = before_the_deploy


def _target_bar(facts: Facts, c: Citation, suspect: Revision, replaced: Revision, candidate: Revision,
                failed: float) -> tuple[TargetBar, str]:
    """The bar the candidate's failed share before the deploy is judged at: `healthy_error_ratio`, or, for a
    steady background under the alert's own bar and `background_error_ratio` beside a new revision failing
    many times more, that background's bar (shared/diagnosis/background.py); and why a background was not
    allowed ("" when it was, or the share is clean), cited as context."""
    if failed <= facts.s.healthy_error_ratio:
        return TargetBar(facts.s.healthy_error_ratio), ""
    bar, why_not = _background_bar(facts, suspect, replaced, candidate, failed)
    c.cite("metric", facts.requests_query,
           f"{candidate.short_name}'s {pct(failed)} failed before the deploy as a steady background: "
           + (why_not or bar.why), "a background under the alert's bar and the ceiling, steady, the new revision "
           f"at {BACKGROUND_FACTOR} times it or more", not why_not, role="context")
    return bar, why_not


def _background_bar(facts: Facts, suspect: Revision, replaced: Revision, candidate: Revision,
                    failed: float) -> tuple[TargetBar, str]:
    """background.target_bar on the candidate's evidence: its share `failed` over the baseline before the
    deploy of `replaced`, its share at that baseline's end, the suspect's since its deploy. Nothing cited."""
    s = facts.s
    new = facts.requests(facts.since_deploy(suspect), suspect.short_name)
    return target_bar(s.healthy_error_ratio, s.background_error_ratio, _alert_share_bar(facts), failed,
                      _share_before_the_deploy(facts, replaced, candidate), new.error_ratio)


def _share_before_the_deploy(facts: Facts, replaced: Revision, candidate: Revision) -> float | None:
    """The candidate's failed share in the minutes just before the deploy of `replaced` (LOAD_SHARE_MINUTES),
    or, those too quiet (under min_requests), over the latter half of its baseline before that deploy: a
    longer reading of the same minutes' end, which a share rising into the deploy still lifts. None when that
    is too quiet as well: its background is not shown steady (background.target_bar refuses it)."""
    s = facts.s
    before = _before_the_deploy(facts, replaced, candidate)
    for window in (_just_before(replaced, candidate), Window(before.start + (before.end - before.start) / 2, before.end)):
        counts = facts.requests(window, candidate.short_name)
        if counts.total >= s.min_requests:
            return _failed_share(facts, candidate, counts, window)[0]
    return None


def _alert_share_bar(facts: Facts) -> float | None:
    """The alert's own share threshold when `healthy` judges the alert as a share of the service's requests
    (health_bar: a ratio condition on 5xx and 429, judged, with no count bar); None otherwise."""
    alert = facts.b.alert
    if alert is None or not alert.ratio or alert.threshold is None or not 0 < alert.threshold < 1:
        return None
    bar = health_bar(alert, facts.s)
    return alert.threshold if bar.judged and bar.error_count is None else None


def _failing_just_before(facts: Facts, c: Citation, replaced: Revision, candidate: Revision,
                         bar: TargetBar) -> str:
    """Why the candidate, clean over its baseline hour, is no known-good revision: it was failing in
    the minutes just before the deploy of `replaced`, the revision that replaced it (more than
    `healthy_error_ratio` failed: 5xx, and Cloud Run's 429s); "" when it was not, or
    when those minutes are too quiet to tell. An hour's sum hides a failure that began minutes
    before the deploy (a dependency getting worse, a deploy made into an incident): the previous
    revision would bring back that failure, not a clean service."""
    s = facts.s
    window = _just_before(replaced, candidate)
    counts = facts.requests(window, candidate.short_name)
    if counts.total < s.min_requests:
        return ""
    failed, words = _failed_share(facts, candidate, counts, window)
    failing = not bar.holds(failed)
    c.cite("metric", facts.requests_query,
           f"{candidate.short_name} just before {replaced.short_name}'s deploy {window}: {counts.total:.0f} "
           f"requests, {words}", f"{bar.words} failed (5xx, and 429 when Cloud Run's refusals) "
           f"in the {LOAD_SHARE_MINUTES} minutes before the deploy", not failing)
    if not failing:
        return ""
    return (f"{candidate.short_name} was already failing in the minutes just before {replaced.short_name}'s "
            f"deploy ({words} {window}): the failures began before {replaced.short_name}")


# The fewest failed requests (5xx, and Cloud Run's 429s) of the rollback target since the deploy that
# show it failing now when they are fewer than min_requests in all: a single 500 is any service's noise,
# several over a clean share are not. With min_requests or more, _errors_concentrated has already judged
# it at healthy_error_ratio.
TARGET_FAILED_MIN = 3


def _failing_since_the_deploy(facts: Facts, c: Citation, replaced: Revision, candidate: Revision,
                              bar: TargetBar) -> str:
    """Why the candidate, clean before the deploy of `replaced` (the revision that replaced it), is no
    known-good revision now: its own requests since that deploy failed (at least TARGET_FAILED_MIN of
    them, 5xx and Cloud Run's 429s, over `healthy_error_ratio` of them), however few they are (the seconds
    before the traffic switch, the 10% a split still gives it: under min_requests, _errors_concentrated
    does not judge them); "" otherwise. Clean minutes before the deploy say how it served then, not
    now: a deploy that ran a schema migration as it started (the old code's "column ... does not exist"),
    a dependency both revisions share failing since (or failing under the new revision's load), fail its
    requests as they fail the suspect's, and sending it everything is not shown to help: only the
    suspect's own code would be taken away, and which of the shared causes it is, a person finds. Its
    own failure lines since the deploy (its stderr and stdout at ERROR or worse) are quoted for the
    person, never counted alone: an instance stopped at scale-in may log at ERROR as it ends (npm's
    "signal SIGTERM")."""
    s = facts.s
    window = facts.since_deploy(replaced)
    counts = facts.requests(window, candidate.short_name)
    failed, words = _failed_share(facts, candidate, counts, window)
    if round(failed * counts.total) < TARGET_FAILED_MIN:
        return ""
    failing = not bar.holds(failed)
    lines = [e for e in logged_by(facts.logs.app_failed, candidate.short_name) if window.holds(e.timestamp)]
    said = f", e.g. {excerpt(lines[0].text, limit=140)!r}" if lines else ""
    c.cite("metric", facts.requests_query,
           f"{candidate.short_name} since {replaced.short_name}'s deploy {window}: {counts.total:.0f} requests, "
           f"{words}{said}", f"{bar.words} failed (5xx, and 429 when Cloud Run's refusals), or "
           f"fewer than {TARGET_FAILED_MIN} failed, on the rollback target since the deploy", not failing)
    if not failing:
        return ""
    return (f"{candidate.short_name} has failed since {replaced.short_name}'s deploy too ({words} of its "
            f"{counts.total:.0f} requests {window}{said}): something it shares with {replaced.short_name} fails it "
            "now (a schema the deploy migrated, a dependency both use, or the new revision's load on it), so sending "
            "it all traffic is not shown to help")


def _cannot_start(facts: Facts, c: Citation, candidate: Revision) -> str:
    """Why the candidate, clean in its requests, is no known-good revision: its own new instances
    failed to start in the log read (at least `startup_failure_logs_min` of Cloud Run's startup texts
    on it, signal startup_failure: "Default STARTUP TCP probe failed 1 time consecutively for container
    ... The instance was not started.", "The user-provided container failed to start and listen on the
    port defined provided by the PORT=8080 environment variable within the allocated timeout.": Cloud
    Run's troubleshooting page, docs.cloud.google.com/run/docs/troubleshooting); "" otherwise. Its requests
    stayed clean on instances already warm, which a rollback does not bring back: "when a revision does not
    receive any traffic, it is scaled down to zero instances by default" (Cloud Run, "About instance
    autoscaling"; min instances keep a few idle ones, never the whole load), so after one most
    requests need a new instance of it, and its starts fail as the suspect's do. Both revisions
    failing to start points at something they share (a dependency read at start): a rollback is a
    guess, a person decides. How soon a revision left at 0% loses its instances is not documented
    (UNCONFIRMED): under any reading its starts were failing, so a rollback is not shown to help."""
    lines, unknown = _startups_read(facts, candidate)
    failing = failed_starts(lines) >= facts.s.startup_failure_logs_min
    if unknown and not failing:
        c.cite("log", f"{SYSTEM_LOG}, stderr, requests: {pattern_of(LogSignal.STARTUP_FAILURE)}",
               f"{candidate.short_name}'s own startups not known: {unknown}",
               f"{candidate.short_name}'s startup lines read whole: a rollback target whose new instances start", False)
        return (f"whether {candidate.short_name}'s own instances start is not known ({unknown}); a revision "
                "left without traffic scales to zero, so a rollback needs its starts")
    if not lines:
        return ""
    c.cite("log", f"{SYSTEM_LOG}, stderr: {pattern_of(LogSignal.STARTUP_FAILURE)}",
           f"{failed_starts(lines)} startup failures on {candidate.short_name}, e.g. {excerpt(lines[0].text)!r}",
           f"< {facts.s.startup_failure_logs_min} startup failures on the rollback target: its new instances start",
           not failing)
    if not failing:
        return ""
    return (f"{candidate.short_name}'s own instances failed to start too ({failed_starts(lines)} startup failures, "
            f"e.g. {excerpt(lines[0].text, limit=120)!r}): its clean requests were served by warm instances a rollback does not bring "
            "back, and both revisions failing to start points at something they share (a dependency read at "
            "start)")


def _startups_read(facts: Facts, candidate: Revision) -> tuple[list[LogRecord], str]:
    """The candidate's own startup failures as read, and why they are not known ("" when they are).
    The service read is one newest-first page of every revision's lines: not full, it held every
    line of the window, and none seen is none logged. Full (LogResult.truncated), the failing
    revision's lines may have pushed the candidate's older ones off it, so the candidate's own
    startup read (collection.startup_candidates) counts: its lines, whichever read holds more. Not
    made, failed, or its own page full of the other candidates' lines with fewer than the bar on
    this one: not known, never taken for none. The service read itself failed (`logs` None): not
    known either (_log_read_failed)."""
    seen = facts.log_matches(LogSignal.STARTUP_FAILURE, candidate.short_name)
    logs, read = facts.b.logs, facts.b.target_startup
    if logs is None:
        return seen, _log_read_failed(facts)
    if not logs.truncated or failed_starts(seen) >= facts.s.startup_failure_logs_min:
        return seen, ""
    full = f"the log read's page was full ({len(logs.entries)} entries, newest first, over every revision)"
    if read is None or candidate.short_name not in read.revisions:
        return seen, f"{full}, and its startup lines were not read apart"
    if read.result is None:
        return seen, f"{full}, and the read of its startup lines failed: {read.failure[:160]}"
    found = [e for e in LogIndex(read.result.entries).by_signal.get(LogSignal.STARTUP_FAILURE, ())
             if e.resource_labels.get("revision_name") == candidate.short_name]
    lines = found if failed_starts(found) > failed_starts(seen) else seen
    if read.result.truncated and failed_starts(lines) < facts.s.startup_failure_logs_min:
        return lines, (f"{full}, and the read of its startup lines was full too ({len(read.result.entries)} "
                       f"entries of {', '.join(read.revisions)})")
    return lines, ""


def _log_read_failed(facts: Facts) -> str:
    """Why the candidate's startups are not known when the service log read itself failed (a
    permanent fault, PERMISSION_DENIED or RESOURCE_EXHAUSTED, recorded in the bundle's gaps by
    collection; no startup read is made then, collection.startup_candidates): nothing was read, so
    no startup failure seen is no startup known. Nothing else collected stands in for the read:
    the candidate's clean request_count before the deploy was served by instances already warm
    (startup_dependency_down_previous_cannot_start: clean requests, every new instance failing its
    probe); its Ready condition (Cloud Run Admin v2 Revision.conditions, "Ready") says the revision
    was deployed and could serve then, and it stays CONDITION_SUCCEEDED while later starts fail
    (UNCONFIRMED that Cloud Run never flips it for failed autoscaling starts: under either reading a
    Ready revision is not shown to start now); instance_count counts instances, not starts that
    succeeded. A person who can read the logs decides."""
    return f"{facts.logs_unread}, so none of its startup lines were read"


def _failed_share(facts: Facts, candidate: Revision, counts: Requests, window: Window) -> tuple[float, str]:
    """The share of the candidate's requests in `window` that failed their callers, and what it is
    made of, in words: its 5xx, and its 429s when they are Cloud Run's refusals for want of an
    instance ("no available instance", a 429 at max instances): a refusal that sending traffic back
    brings back, as `healthy` counts it. An application's own 429s (an API's rate limiting) answer
    their callers as designed, and do not count."""
    share_429 = counts.share(code="429")
    counted = share_429 if share_429 and _refused_by_cloud_run(facts, candidate, window) else 0.0
    words = f"{pct(counts.error_ratio)} 5xx" + (f" and {pct(counted)} 429 (Cloud Run's refusals)" if counted else "")
    return counts.error_ratio + counted, words


def _refused_by_cloud_run(facts: Facts, candidate: Revision, window: Window) -> bool:
    """Whether the candidate's 429s are Cloud Run's: its refusal text on the candidate in the log
    read, or the candidate at its max instances in `window` (Cloud Run refuses with 429 there,
    troubleshooting page): its own limit (unset: Cloud Run's default of 100) or the service-level one, the
    lower. Google's server answers an unset revision max with 100 (RevisionScaling.max_instance_count,
    vendor_settings.proto), so its own 100 does not say that no lower service-level max binds it."""
    if facts.log_matches(LogSignal.NO_INSTANCE, candidate.short_name):
        return True
    own = candidate.max_instance_count or DEFAULT_MAX_INSTANCES
    limit = min(own, facts.b.service.max_instance_count or own)
    seen = facts.max_instances_seen(window, candidate.short_name)
    return seen is not None and seen >= limit


def _load_share(facts: Facts, c: Citation, replaced: Revision, candidate: Revision) -> tuple[float | None, str]:
    """The candidate's share of the service's requests in the minutes just before the deploy of
    `replaced`, the revision that replaced it, from the candidate's own deploy if that is later
    (two deploys in quick succession), cited. When those minutes are too quiet to tell (a night's
    trickle), over the baseline before that deploy instead (`_before_the_deploy`): a revision reached
    only through its tag (a `--no-traffic --tag` preview a tester opened) serves requests that
    request_count counts as its own, clean ones, and in a quiet hour they are enough to call it good;
    its share of that hour says it never carried the load. With the share, which minutes it is of, in
    words ("just before", "in the hour before"); None when both are too quiet."""
    window = _just_before(replaced, candidate)
    total = facts.requests(window).total
    where = JUST_BEFORE
    if total < facts.s.min_requests:
        window = _before_the_deploy(facts, replaced, candidate)
        total = facts.requests(window).total
        where = f"in the {duration((window.end - window.start).total_seconds())} before"
    if total < facts.s.min_requests:
        return None, where
    share = facts.requests(window, candidate.short_name).total / total
    quiet = "" if where == JUST_BEFORE else f" (its last {LOAD_SHARE_MINUTES} minutes too quiet to judge)"
    c.cite("metric", facts.requests_query,
           f"{candidate.short_name} {window}: {share:.0%} of the service's requests ({total:.0f})",
           f"> {KNOWN_GOOD_MIN_SHARE:.0%} of the service's requests {where} the deploy{quiet} (most of the load)",
           share > KNOWN_GOOD_MIN_SHARE)
    return share, where


def _ready_state(revision: Revision) -> str:
    ready = revision.ready_condition
    if ready is None:
        return "no Ready condition"
    detail = ", ".join(p for p in (ready.reason, ready.message[:120]) if p)
    return f"Ready={ready.state}" + (f", {detail}" if detail else "")
