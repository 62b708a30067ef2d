"""Whether the rollback target would meet the downstream's answer the new revision meets: a deploy coincidental
to a change outside the service.

A deploy is blamed by its timing. When, in the same minutes, the provider revokes the API key both revisions
send, another client uses up the project's quota at a Google API both call, a partner's certificate expires, or
the partner itself goes down or limits the account's calls, the new revision fails from its first request and
the revision before served cleanly until the deploy: everything bad_revision reads says "the deploy". What tells
the two apart is what the downstream answered: a verdict on what the caller presents or on the downstream's own
state (the credential, the project charged, the host's certificate, a 502/503/504, a 429: shared_answers.py),
and whether the rollback target presents the same (the same secret versions and plain credentials, the same
service account, the same hosts). Then the target's new instances meet the same answer: a rollback moves
traffic, cures nothing, and may read as a fix. The deploy is not ruled out either (the new code may call the API
more often, send the key in another header): it competes, and a person chooses (precision over recall: a wrong
rollback is worse than an escalation).

What Runwarden cannot read is left as it stands: the provider's side of a key (never a secret's value), which
client used the quota (serviceruntime.googleapis.com/quota/rate/net_usage on the consumer_quota resource, Cloud
Monitoring "Google Cloud metrics", is not read: UNCONFIRMED which of its series an incident needs), the
certificate itself.
"""
from __future__ import annotations

import re
from collections import Counter

from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.env_hosts import (addresses_with_ports, deploy_brought, looked_up_names, settings_name,
                                        store_address_moved, store_moved_to)
from shared.diagnosis.evidence import LogRecord, Revision
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import LogSignal, found_in, per_text
from shared.diagnosis.rules.base import Citation
from shared.diagnosis.secret_refs import plain_credentials_changed
from shared.diagnosis.secret_values import CREDENTIAL, named, read_differently, url_hosts
from shared.diagnosis.shared_answers import (CERT_EXPIRED, QUOTA, RATE_LIMITED, STORE_STATE, UNAVAILABLE,
                                            quota_services, shared_answer)

# What a person checks for each answer, before sending traffic back by hand.
_CHECKS = {
    CREDENTIAL: ("look at the key at the provider (revoked, expired, rolled or restricted: its dashboard or audit "
                 "log): put a valid one in a new secret version and deploy pinned to it"),
    QUOTA: ("look at the quota's usage (console: IAM & Admin > Quotas, the API's metric) and who draws on it in the "
            "project (another job or service, or the new revision calling it more often): raise the quota or stop "
            "the other caller"),
    CERT_EXPIRED: ("look at the host's certificate (openssl s_client -connect HOST:443 -servername HOST | openssl "
                   "x509 -noout -dates) and have its owner renew it"),
    UNAVAILABLE: ("look at the downstream's own state (its status page, its owner, its other callers): an outage "
                  "there fails every revision's calls"),
    RATE_LIMITED: ("look at who draws on the downstream's limit for the account (another service or job with the "
                   "same key), or whether the new revision calls it more often (retries, a loop)"),
    STORE_STATE: ("look at the data store's own state (a Memorystore instance failing over, loading after a restart, "
                  "at its maxmemory or its client limit: its metrics and operations, who else connects), and whether "
                  "the new revision writes more or holds more connections"),
}
# The answers about a host the caller calls (its availability, its limit, its certificate): "the same hosts" is
# shown only when the answers name them, or the deploy gave no host the target does not call.
_ABOUT_A_HOST = frozenset({UNAVAILABLE, RATE_LIMITED, CERT_EXPIRED, STORE_STATE})
# What each answer means the rollback target would meet.
_ALIKE = {
    CREDENTIAL: "sends the same credential (the same secret versions, the same plain env), which the provider refuses "
                "whichever revision sends it",
    QUOTA: "is charged to the same project (the same service account), whose quota every revision and every other "
           "client in the project draws on",
    CERT_EXPIRED: "calls the same hosts and verifies the same certificate, which has expired for any caller",
    UNAVAILABLE: "calls the same hosts, which answer that they cannot serve whichever revision calls",
    RATE_LIMITED: "calls the same hosts under the same account, whose limit any caller meets",
    STORE_STATE: "names the same data stores, whose state any caller meets",
}


def answered_alike(facts: Facts, c: Citation, suspect: Revision, good: Revision) -> tuple[str, str] | None:
    """(why a rollback is not shown to help, what a person checks), or None: at least startup_failure_logs_min
    of the new revision's failure lines (Facts.logged_enough), and at least half of them, are a downstream's
    verdict on what it presents (shared_answers.shared_answer), and the rollback target presents the same
    (_presented_differently finds nothing), and no host the answers name is one only the new revision's plain
    env gives (env_hosts.deploy_brought: the deploy sent the calls elsewhere; for a store's answer about its own
    state, no store setting both hold moved to another host or address: env_hosts.store_address_moved), and no
    other revision served beside it in the minutes of those answers with fewer of its own (Facts.since_first_of:
    then the downstream answered it, and they are the deploy's).
    The database's own answers (signal db_connection) are database_unreachable's and are not read here."""
    found, failed = _answers(facts, suspect)
    failures = len(failed)
    lines = [line for line, _ in found]
    # A hold-back signal, counted over the read that carries each line (Facts.half_or_more); both sides are
    # lines at ERROR or worse, which one read carries, so the scale is the same on each.
    if not facts.logged_enough(lines, facts.s.startup_failure_logs_min) or not facts.half_or_more(lines, failed):
        return None
    kinds = Counter(kind for _, kind in found)
    unlike = _presented_differently(suspect, good, set(kinds))
    hosts = found_in(url_hosts, (e for e, _ in found))
    if not unlike and deploy_brought(hosts, suspect.env_values, good.env_values):
        unlike = f"its env names {', '.join(sorted(hosts))}, which the answers name, and {good.short_name}'s does not"
    if not unlike and STORE_STATE in kinds:
        unlike = _store_moved(suspect, good, [e for e, kind in found if kind == STORE_STATE])
    if not unlike and not hosts and kinds.keys() & _ABOUT_A_HOST:
        unlike = _hosts_brought_unnamed(suspect, good)
    if unlike or _answered_beside(facts, suspect, lines):
        if unlike:
            c.cite("api", f"run.revisions.get {suspect.short_name}, {good.short_name}: service_account, "
                          "containers[].env[], secrets", f"{suspect.short_name} presents otherwise: {unlike}",
                   "what the downstream's answer is about, changed by the deploy: a rollback may cure it", True)
        return None
    kind = kinds.most_common(1)[0][0]
    said = " and ".join(sorted(kinds))
    example = _last_line(found[0][0].text)
    what = _what(kind, found, suspect)
    c.cite("log", "stderr / stdout: a downstream's answer about what the caller presents (its credential refused, "
                  "a Google API's quota exceeded, the host's certificate expired); run.revisions.list: "
                  "service_account, containers[].env[], secrets",
           f"{len(found)} of {suspect.short_name}'s {failures} failure lines are {said}, e.g. {excerpt(example)!r}; "
           f"{good.short_name}, the rollback target, {_ALIKE[kind]}",
           "answers about something the deploy changed: a rollback changes what is presented", False, role="context")
    reason = (f"{suspect.short_name}'s failures are {said} ({len(found)} of its {failures} failure lines, e.g. "
              f"{excerpt(example, limit=120)!r}{what}), and {good.short_name} {_ALIKE[kind]}: the deploy's timing is not shown "
              f"to be the cause, and a rollback is not shown to help ({_CHECKS[kind]})")
    return reason, (f"{_CHECKS[kind]}; send traffic back by hand only if the downstream answers "
                    f"{good.short_name}'s calls and the deploy changed how {suspect.short_name} makes them")


def _store_moved(suspect: Revision, good: Revision, answers: list[LogRecord]) -> str:
    """What the deploy moved of the store whose answers about its own state the suspect meets, in words, or "".
    Where the answers name a server a setting of either revision names (`env_hosts.settings_name` over
    `env_hosts.addresses_with_ports`: a client's or the application's own words, "addr=10.60.0.9:6379"), the
    store is the variable that names it, whatever its name: unlike only when the deploy moved a variable to every
    such server (`env_hosts.store_moved_to`; an address the rollback target names too is a store both call, and a
    store setting moved elsewhere does not explain it). Servers no setting names (the client's local address, a
    proxy, a cluster redirect's other node, a Sentinel) neither confirm nor refute. Where the answers name no
    server a setting names, a store setting by its name or its value's shape that moved (`env_hosts.
    store_address_moved`: REDIS_HOST, a redis:// URL, a host with Redis's port); a variable of neither, named for
    no store (`FAST_KV=10.60.0.4`), is not taken for the store on its name alone."""
    named = settings_name(good.plain_env, suspect.plain_env, found_in(addresses_with_ports, answers))
    if named:
        moved = store_moved_to(good.plain_env, suspect.plain_env, named)
        return (f"its plain env {', '.join(moved)} moved to {', '.join(sorted(named))}, the server the store's "
                f"answers name, which {good.short_name}'s does not name: the answers are the new address's"
                if moved else "")
    moved = store_address_moved(good.plain_env, suspect.plain_env)
    return (f"its plain env {', '.join(moved)} names another store address than {good.short_name}'s: the answers "
            "may be the new address's" if moved else "")


def _answers(facts: Facts, suspect: Revision) -> tuple[list[tuple[LogRecord, str]], list[LogRecord]]:
    """The suspect's failure lines (its own logs at ERROR or worse) that are a downstream's verdict on what it
    presents, each with its kind, and its failure lines. The database's lines (signal
    db_connection: a Cloud SQL certificate, the Admin API's quota) are left to database_unreachable."""
    failed = _failure_lines(facts, suspect.short_name)
    database = {id(e) for e in facts.log_matches(LogSignal.DB_CONNECTION, suspect.short_name)}
    kind_of = per_text(shared_answer, failed)
    return [(e, kind_of[e.text]) for e in failed if kind_of[e.text] and id(e) not in database], failed


def _failure_lines(facts: Facts, revision: str) -> list[LogRecord]:
    return [e for e in facts.logs.app_failed if e.resource_labels.get("revision_name") == revision]


def _presented_differently(suspect: Revision, good: Revision, kinds: set[str]) -> str:
    """What the suspect presents otherwise than the target that the answers may be about, in words, or "":
    another service account (the token sent, the project a call is charged to: "the quota project is the
    project associated with the credentials" for most APIs, Google Cloud "Quota project overview";
    UNCONFIRMED for APIs that charge the resource's project); for a refused credential, a secret read otherwise
    for a new instance (secret_values.read_differently: another secret or pinned version) or a credential in its
    plain env changed (secret_refs.plain_credentials_changed), or no credential read from its settings at all
    (a key baked into the image, which the deploy may have changed); for a rate limit, a secret or plain
    credential read otherwise too (the limit of another account)."""
    if suspect.service_account != good.service_account:
        return f"its service account {suspect.service_account or 'unset'} (against {good.service_account or 'unset'})"
    if not kinds & {CREDENTIAL, RATE_LIMITED}:
        return ""
    # A rate limit is counted for the account the key names: another key may be another account's limit.
    changed = read_differently(good, suspect) + plain_credentials_changed(good, suspect)
    if changed:
        return f"it reads {', '.join(changed)} otherwise"
    if CREDENTIAL in kinds and not suspect.secrets and not _holds_plain_credential(suspect):
        return "no credential is read from its secrets or plain env (one in its image may have changed)"
    return ""


def _holds_plain_credential(revision: Revision) -> bool:
    """Whether its plain env holds a credential (secret_refs' reading: a name that says so, a DSN's password):
    plain_credentials_changed against a revision with no env tells each one as changed."""
    return bool(plain_credentials_changed(revision.model_copy(update={"plain_env": ()}), revision))


def _what(kind: str, found: list[tuple[LogRecord, str]], suspect: Revision) -> str:
    """The clause naming what the answers are about: the secrets read, the APIs, the hosts."""
    if kind == CREDENTIAL and suspect.secrets:
        return f"; the secrets it reads: {named(suspect.secrets)}"
    if kind == QUOTA:
        services = sorted(found_in(quota_services, (e for e, k in found if k == QUOTA)))
        return f"; the quota of {', '.join(services)}" if services else ""
    hosts = sorted(found_in(url_hosts, (e for e, k in found if k == kind)))
    return f"; hosts called: {', '.join(hosts)}" if hosts else ""


def _answered_beside(facts: Facts, suspect: Revision, lines: list[LogRecord]) -> bool:
    """Whether another revision served at least min_requests requests in the minutes of the suspect's answers
    `lines` (Facts.since_first_of) with fewer than startup_failure_logs_min such answers of its own: the
    downstream answered it in the same minutes (a canary's split), so the suspect's are its own doing. The
    minute the traffic moved, before the downstream first answered so, shows nothing of it."""
    s, window = facts.s, facts.since_first_of(suspect, lines)
    for name in facts.revision_names_with_requests(window):
        if name == suspect.short_name or facts.requests(window, name).total < s.min_requests:
            continue
        failed = _failure_lines(facts, name)
        answered = per_text(shared_answer, failed)
        if sum(1 for e in failed if answered[e.text]) < s.startup_failure_logs_min:
            return True
    return False


def _hosts_brought_unnamed(suspect: Revision, good: Revision) -> str:
    """What the suspect calls in place of what the target calls, in words, or "", for answers about a host that
    name none (a gRPC C-core client names its peer by address only, "Error received from peer ipv4:10.9.0.7:443",
    log_signals' downstream answers; a CPython "certificate verify failed" names no host): its plain env gives a
    name to look up that the target's does not, and drops one the target's gives (env_hosts.looked_up_names: a
    target moved to another host). The answers may then be the new host's, and "the same hosts" is not shown: a
    rollback may cure it (scenario grpc_unavailable_no_host_deploy_changed_target). A name only added (a new
    downstream beside the same ones) leaves the hold: the answers may as well be the shared host's, and a wrong
    rollback is worse than an escalation. Names only, never the values (an env value may hold a password). ""
    when either plain env was not read (what it named is unknown, as deploy_brought reads it)."""
    if not good.env_values or not suspect.env_values:
        return ""
    before = {n for v in good.env_values for n in looked_up_names(v)}
    after = {n for v in suspect.env_values for n in looked_up_names(v)}
    brought, dropped = sorted(after - before), sorted(before - after)
    if not brought or not dropped:
        return ""
    return (f"the answers name no host, and its env names {', '.join(brought)} in place of {', '.join(dropped)}, "
            f"which {good.short_name}'s names: the answers may be the new host's")


def _last_line(text: str) -> str:
    """A traceback's last line, the exception it ended in (a line of one line is itself); the last line
    with a word in it, so that grpcio's repr, "<_InactiveRpcError of RPC that terminated with: ... >", ends
    in its debug_error_string rather than in its closing ">"."""
    last = text.strip().rsplit("\n", 1)[-1]
    if re.search(r"\w", last):
        return last
    return next((line.strip() for line in reversed(text.strip().split("\n")) if re.search(r"\w", line)), last)
