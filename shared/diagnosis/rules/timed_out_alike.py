"""Whether the rollback target timed out reading from the same host as the new revision: a partner slowing down
in the deploy's minutes.

A read timeout is the caller's verdict, not the partner's: the call was sent on a connection made and no answer
came within the caller's own timeout. New code causes that as well as a slow partner does (a heavier request, a
shorter timeout, more calls at once), so read timeouts alone never hold a rollback back. What tells a partner
already slow apart is the rollback target's own calls to the same host timing out the same way: in the minutes
before the deploy (while it carried the load), or since (a share it still serves), with the deploy changing
neither the host nor a timeout setting. Then the target's calls meet the same slow partner after a rollback, and
whether the deploy made it worse (more calls, heavier ones) the evidence does not say: a person chooses
(precision over recall: a wrong rollback is worse than an escalation; scenario
partner_read_timeouts_old_revision_too_after_deploy). Read timeouts only the new revision logs are its own
(partner_read_timeouts_new_code_only_after_deploy), and a deploy that shortened the timeout is rolled back
(partner_read_timeouts_deploy_shortened_timeout).

What Runwarden cannot read is left as it stands: the partner's latency measured elsewhere (its status page, an
uptime check of another project), the new code's requests themselves.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.env_hosts import deploy_brought
from shared.diagnosis.evidence import LogRecord, Revision
from shared.diagnosis.facts import TARGET_LOAD_MINUTES, Facts, Window, hms
from shared.diagnosis.log_signals import LogSignal, found_in, per_text, upstream_hosts, upstream_read_timed_out
from shared.diagnosis.rules.base import Citation

# The read timeout urllib3 quotes in its ReadTimeoutError, "Read timed out. (read timeout=10)"
# (urllib3/urllib3 src/urllib3/connectionpool.py, HTTPConnectionPool._raise_timeout, as log_signals'
# UPSTREAM_TIMEOUT rows cite it): two revisions quoting different values were given different timeouts.
_QUOTED_TIMEOUT = re.compile(r"\(read timeout=([0-9.]+)\)", re.IGNORECASE)
# A plain env var that sets a timeout by its name ("SHIPPING_TIMEOUT_SECONDS", "HTTP_READ_TIMEOUT",
# "PARTNER_DEADLINE_MS"): a convention, not a rule (UNCONFIRMED for any one application; a timeout set in the
# image is not seen, which is why a hold only escalates).
_TIMEOUT_NAME = re.compile(r"TIMEOUT|DEADLINE", re.IGNORECASE)

_CHECK = ("look at the partner's latency (its status page, its owner, its other callers) and at whether the new "
          "revision calls it more often or with heavier requests (retries, a request per item)")


def timed_out_alike(facts: Facts, c: Citation, suspect: Revision, good: Revision) -> tuple[str, str] | None:
    """(why a rollback is not shown to help, what a person checks), or None: at least startup_failure_logs_min
    of the suspect's failure lines (Facts.logged_enough), and at least half of them, are read timeouts of its
    own calls to named hosts (log_signals.upstream_read_timed_out), the rollback target logged at least
    startup_failure_logs_min read timeouts to one of those hosts from TARGET_LOAD_MINUTES before the deploy on
    (_target_timeouts), the deploy brought none of the hosts (env_hosts.deploy_brought) and changed no timeout
    (_timeouts_changed), and no revision served beside the suspect since the deploy without such timeouts
    (_read_in_time_beside: the partner answered it in time, so the suspect's calls are the cause)."""
    s = facts.s
    reads, failed = _read_timeouts(facts, suspect.short_name, facts.logs.app_failed)
    failures = len(failed)
    # A hold-back signal, counted as answered_alike counts its answers (Facts.half_or_more).
    if not facts.logged_enough(reads, s.startup_failure_logs_min) or not facts.half_or_more(reads, failed):
        return None
    hosts = found_in(upstream_hosts, reads)
    since = Window(suspect.create_time - TARGET_LOAD_MINUTES, facts.incident.end)
    theirs = [e for e in _target_timeouts(facts, good.short_name, hosts) if since.holds(e.timestamp)]
    if len(theirs) < s.startup_failure_logs_min:
        return None
    shared = sorted(hosts & found_in(upstream_hosts, theirs))
    changed = _timeouts_changed(good, suspect, reads, theirs)
    if not changed and deploy_brought(hosts, suspect.env_values, good.env_values):
        changed = f"its env names {', '.join(sorted(hosts))}, which {good.short_name}'s does not"
    if changed or _read_in_time_beside(facts, suspect, hosts):
        if changed:
            c.cite("api", f"run.revisions.get {suspect.short_name}, {good.short_name}: containers[].env[]",
                   f"{suspect.short_name} calls otherwise: {changed}",
                   "the timeouts' host and settings, changed by the deploy: a rollback may cure them", True)
        return None
    first = min(e.timestamp for e in theirs)
    when = _when(theirs, suspect)
    example = _example(reads[0].text)
    c.cite("log", "stderr / stdout: the application's own calls timing out reading from a named host "
                  "(urllib3's ReadTimeoutError, Spring's SocketTimeoutException); run.revisions.list: "
                  "containers[].env[]",
           f"{len(reads)} of {suspect.short_name}'s {failures} failure lines are read timeouts to "
           f"{', '.join(shared)}, e.g. {example!r}; {good.short_name}, the rollback target, logged {len(theirs)} "
           f"from {hms(first)}, {when}",
           "read timeouts only the new revision meets, or a host or timeout the deploy changed: the deploy's",
           False, role="context")
    reason = (f"{suspect.short_name}'s failures are read timeouts of its calls to {', '.join(shared)} "
              f"({len(reads)} of its {failures} failure lines, e.g. {example!r}), and {good.short_name}, the "
              f"rollback target, timed out reading from the same host {len(theirs)} times from {hms(first)}, {when}, "
              f"and the deploy changed neither the host nor a timeout setting: the partner is slow for both, and "
              f"a rollback to {good.short_name} is not shown to help ({_CHECK})")
    return reason, (f"{_CHECK}; send 100% of traffic back to {good.short_name} by hand only if the partner answers "
                    f"its calls in time and the deploy changed how {suspect.short_name} calls it")


def _read_timeouts(facts: Facts, revision: str,
                   among: Sequence[LogRecord]) -> tuple[list[LogRecord], list[LogRecord]]:
    """The revision's lines among `among` that are read timeouts of its own calls to a named host, and its lines
    `among` holds."""
    mine = [e for e in among if e.resource_labels.get("revision_name") == revision]
    timed = {id(e) for e in facts.log_matches(LogSignal.UPSTREAM_TIMEOUT, revision)}
    candidates = [e for e in mine if id(e) in timed]
    read = per_text(upstream_read_timed_out, candidates)
    return [e for e in candidates if read[e.text]], mine


def _target_timeouts(facts: Facts, revision: str, hosts: set[str]) -> list[LogRecord]:
    """The revision's read timeouts (at any severity: a call retried and logged at WARNING timed out as much)
    to one of `hosts`."""
    lines = facts.log_matches(LogSignal.UPSTREAM_TIMEOUT, revision)
    reads, _ = _read_timeouts(facts, revision, lines)
    named = per_text(lambda text: bool(hosts & set(upstream_hosts(text))), reads)
    return [e for e in reads if named[e.text]]


def _timeouts_changed(good: Revision, suspect: Revision, reads: list[LogRecord], theirs: list[LogRecord]) -> str:
    """How the deploy changed the calls' timeout, in words, or "": another read timeout quoted in the lines
    (_QUOTED_TIMEOUT), or a plain env var named as a timeout (_TIMEOUT_NAME) set otherwise, added or dropped
    (names only, never the values: an env value may hold a password)."""
    mine, before = found_in(_quoted_timeouts, reads), found_in(_quoted_timeouts, theirs)
    if mine and before and mine != before:
        return f"its calls quote read timeout={', '.join(sorted(mine))} against {', '.join(sorted(before))}"
    old = {k: v for k, v in good.plain_env if _TIMEOUT_NAME.search(k)}
    new = {k: v for k, v in suspect.plain_env if _TIMEOUT_NAME.search(k)}
    names = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return f"its timeout settings {', '.join(names)} differ" if names else ""


def _quoted_timeouts(text: str) -> list[str]:
    """The read timeouts one line quotes (_QUOTED_TIMEOUT)."""
    return [m.group(1) for m in _QUOTED_TIMEOUT.finditer(text)]


def _when(theirs: list[LogRecord], suspect: Revision) -> str:
    """Whether the target's timeouts came before the suspect's deploy, since it, or both, in words."""
    before = sum(1 for e in theirs if e.timestamp < suspect.create_time)
    if before == len(theirs):
        return f"before {suspect.short_name}'s deploy"
    return f"since {suspect.short_name}'s deploy" if not before else f"before {suspect.short_name}'s deploy and since"


def _read_in_time_beside(facts: Facts, suspect: Revision, hosts: set[str]) -> bool:
    """Whether another revision served at least min_requests requests in the minutes of the suspect's read timeouts
    to `hosts` (Facts.since_first_of) with fewer than startup_failure_logs_min of its own there, or with no more of
    them than healthy_error_ratio of its requests: the partner answered it in time in the same minutes (a canary's
    split; a slow partner times out a like share of every caller's calls), so the suspect's timeouts are its own
    calls'. The minute the traffic moved, before the first timeout, shows nothing of them."""
    s, window = facts.s, facts.since_first_of(suspect, _target_timeouts(facts, suspect.short_name, hosts))
    for name in facts.revision_names_with_requests(window):
        served = facts.requests(window, name).total
        if name == suspect.short_name or served < s.min_requests:
            continue
        timed_out = sum(1 for e in _target_timeouts(facts, name, hosts) if window.holds(e.timestamp))
        if timed_out < s.startup_failure_logs_min or timed_out <= s.healthy_error_ratio * served:
            return True
    return False


def _example(text: str) -> str:
    """The line's read timeout in its client's words, for a person (the last line of a traceback), at most 160
    characters cut between words (excerpts.excerpt)."""
    return excerpt(text.strip().rsplit("\n", 1)[-1])
