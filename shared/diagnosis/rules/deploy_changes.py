"""What a recent deploy changed in the revision's own settings, against the Ready revision before it.

A revision carries its settings (Revision: `timeout`, `scaling`, `max_instance_request_concurrency`,
`session_affinity`, `execution_environment`, google/cloud/run/v2/revision.proto; its containers'
`resources`, k8s.min.proto), so sending traffic back to the revision before brings its
settings back with it. Unset settings are read as Cloud Run's defaults.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from shared.diagnosis.latency_words import latency
from shared.diagnosis.env_hosts import (connection_names, deploy_brought, deploy_brought_instance,
                                        deploy_swapped_one_name, hosts_with_ports, mentions_name)
from shared.diagnosis.evidence import LogRecord, Revision
from shared.diagnosis.facts import DEFAULT_REQUEST_TIMEOUT_SECONDS, Facts, Window
from shared.diagnosis.log_signals import Refusal, instance_named, lookup_host, per_text, says_no_such_name
from shared.diagnosis.rules.base import Citation, duration
from shared.diagnosis.secret_refs import secrets_that_may_name_hosts


def timeout_seconds(revision: Revision) -> float:
    """The revision's request timeout; unset is Cloud Run's default of 300 s ("Set request timeout")."""
    return revision.timeout_seconds or DEFAULT_REQUEST_TIMEOUT_SECONDS


# Cloud Run's defaults for unset limits: "By default, Cloud Run sets 100 instances per revision"
# (docs "Configure maximum instances"); "By default each Cloud Run instance can receive up to 80
# requests at the same time" (docs "About concurrency").
DEFAULT_MAX_INSTANCES = 100
DEFAULT_CONCURRENCY = 80
# Under one CPU the default is 1: RevisionTemplate.max_instance_request_concurrency, "If not specified or 0,
# concurrency defaults to 80 when requested CPU >= 1 and defaults to 1 when requested CPU < 1"
# (google/cloud/run/v2/revision_template.proto, google-cloud-run 0.16.2).
DEFAULT_CONCURRENCY_UNDER_ONE_CPU = 1


def requests_per_instance(revision: Revision) -> int:
    """The requests each instance of the revision takes at once: its max_instance_request_concurrency, or, unset (0
    or absent), Cloud Run's default for its CPU limit (1 under one CPU, else 80; a CPU limit not read is Cloud Run's
    default of 1 CPU). Unset and the server's filled default thus read the same (sandbox/standins/run.py)."""
    if revision.container_concurrency:
        return revision.container_concurrency
    under_one_cpu = revision.cpu_limit is not None and revision.cpu_limit < 1
    return DEFAULT_CONCURRENCY_UNDER_ONE_CPU if under_one_cpu else DEFAULT_CONCURRENCY


def max_instances(revision: Revision) -> int:
    """The revision's max instances: scaling.max_instance_count, or, unset, Cloud Run's default of 100."""
    return revision.max_instance_count or DEFAULT_MAX_INSTANCES


class Scaling(NamedTuple):
    """How many instances a revision runs and how many requests each takes at once, read with Cloud Run's defaults
    for unset settings (`max_instances`, `requests_per_instance`): with a pool's size, how many connections it may
    open at once. The one reading of these settings `settings_changed` words and connector_full compares."""

    max_instances: int
    requests_per_instance: int
    min_instances: int


def scaling_of(revision: Revision) -> Scaling:
    return Scaling(max_instances(revision), requests_per_instance(revision), revision.min_instance_count)


def settings_changed(before: Revision, after: Revision) -> list[str]:
    """The revision settings `after` changed against `before`, in words ("request timeout from 300 s
    to 10 s"), in a fixed order; [] when none of those read changed."""
    old_scaling, new_scaling = scaling_of(before), scaling_of(after)
    pairs = (("request timeout", f"{timeout_seconds(before):.0f} s", f"{timeout_seconds(after):.0f} s"),
             *((field.replace("_", " "), getattr(old_scaling, field), getattr(new_scaling, field))
               for field in Scaling._fields))
    return ([f"{what} from {old} to {new}" for what, old, new in pairs if old != new] + resources_changed(before, after)
            + instance_settings_changed(before, after))


def _on_off(value: bool) -> str:
    return "on" if value else "off"


def instance_settings_changed(before: Revision, after: Revision) -> list[str]:
    """How `after` runs its instances differently from `before`, in words: startup CPU boost
    (ResourceRequirements.startup_cpu_boost, k8s.min.proto), session affinity (Revision.session_affinity)
    and the execution environment (Revision.execution_environment, compared only where both name one:
    unspecified is Cloud Run's own choice, not guessed)."""
    changed = []
    if before.startup_cpu_boost != after.startup_cpu_boost:
        changed.append(f"startup CPU boost from {_on_off(before.startup_cpu_boost)} to "
                       f"{_on_off(after.startup_cpu_boost)}")
    if before.session_affinity != after.session_affinity:
        changed.append(f"session affinity from {_on_off(before.session_affinity)} to {_on_off(after.session_affinity)}")
    if before.execution_environment and after.execution_environment \
            and before.execution_environment != after.execution_environment:
        changed.append(f"execution environment from {before.execution_environment.lower()} to "
                       f"{after.execution_environment.lower()}")
    return changed


def scaling_tightened(before: Revision, after: Revision) -> list[str]:
    """How `after` leaves the same load fewer instances ready than `before`, in words, in a fixed order;
    [] when none. Fewer requests per instance (max_instance_request_concurrency, unset is Cloud Run's 80):
    the same load needs up to old/new times the instances ("About concurrency"). Fewer min instances
    (RevisionScaling.min_instance_count, 0 unset): fewer kept warm for the load's next rise ("Set minimum
    instances": kept "even if they're not processing requests"), so more of them start as requests wait.
    Startup CPU boost turned off (ResourceRequirements.startup_cpu_boost, which "can help reduce
    cold-start latency", k8s.min.proto): each start is slower. Each leaves Cloud Run shorter of
    instances while it starts them, and each comes back with the revision before it."""
    tightened = []
    old_conc = requests_per_instance(before)
    new_conc = requests_per_instance(after)
    if new_conc < old_conc:
        tightened.append(f"requests per instance lowered from {old_conc} to {new_conc}")
    if after.min_instance_count < before.min_instance_count:
        tightened.append(f"min instances lowered from {before.min_instance_count} to {after.min_instance_count}")
    if before.startup_cpu_boost and not after.startup_cpu_boost:
        tightened.append("startup CPU boost turned off")
    return tightened


def resources_changed(before: Revision, after: Revision) -> list[str]:
    """The container resources `after` changed against `before` (memory, CPU, CPU allocation), in
    words; only what both revisions state is compared (an unset limit is not guessed)."""
    changed = []
    if before.memory_mib and after.memory_mib and before.memory_mib != after.memory_mib:
        changed.append(f"memory limit from {before.memory_mib:g} MiB to {after.memory_mib:g} MiB")
    if before.cpu_limit and after.cpu_limit and before.cpu_limit != after.cpu_limit:
        changed.append(f"CPU limit from {before.cpu_limit:g} to {after.cpu_limit:g}")
    if before.cpu_idle is not None and after.cpu_idle is not None and before.cpu_idle != after.cpu_idle:
        changed.append("CPU allocation from " + " to ".join(
            "only during requests" if idle else "always allocated" for idle in (before.cpu_idle, after.cpu_idle)))
    return changed


def cite_hosts_brought(c: Citation, lookups: Iterable[LogRecord], new: Revision, before: Revision,
                       threshold: str, passed: bool) -> str:
    """The hosts the failed lookups name ("a, b"), cited with `threshold` and `passed` as the calling rule
    reads them, when the deploy brought every one: each named by a plain env value of `new` and by none of
    `before`, whose plain env was read (env_hosts.deploy_brought; Cloud Run Admin v2
    Revision.containers[].env[].value, k8s_min.proto EnvVar); or, when some lines name no host,
    _cite_swapped_name's words; or "" (nothing cited). The evidence names the hosts, which the log
    lines printed, never an env value."""
    lookups = list(lookups)
    hosts = set(per_text(lookup_host, lookups).values())
    if "" in hosts:
        return _cite_swapped_name(c, lookups, new, before, threshold, passed)
    if not deploy_brought(hosts, new.env_values, before.env_values):
        return ""
    named = ", ".join(sorted(hosts))
    c.cite("api", f"run.revisions.get {new.short_name}, {before.short_name}: containers[].env[]",
           f"{new.short_name}'s env names host {named}; {before.short_name}'s does not", threshold, passed)
    return named


# What a summary calls the name when the lines name none: the value is an env value, never shown.
SWAPPED_NAME = "the one host name the deploy's env put in place of another (its value not shown)"


def _cite_swapped_name(c: Citation, lookups: list[LogRecord], new: Revision, before: Revision,
                       threshold: str, passed: bool) -> str:
    """SWAPPED_NAME, cited, when failed lookups that name no host (Python's bare "socket.gaierror:
    [Errno -2] Name or service not known", Node's bare "getaddrinfo ENOTFOUND") are still the
    deploy's: the deploy swapped exactly one name to look up in its plain env for another
    (env_hosts.deploy_swapped_one_name: every other name both revisions give is the same, so a
    record deleted under one of those would fail a name the revision before gives too), every
    hostless line says the name does not exist (log_signals.says_no_such_name; a resolver that does
    not answer is no typo's doing), none quotes a name the revision before's env gives
    (env_hosts.mentions_name) nor another name with a port after it (env_hosts.hosts_with_ports:
    redis-py's "Error -2 connecting to H:6379." for a cache whose URL is a secret), and any line that
    names a host names that one, and the new revision reads no secret whose value may hold a host
    (secret_refs.secrets_that_may_name_hosts: a secret volume, or a secret env var whose name does not
    say it is a credential alone, a DATABASE_URL from Secret Manager): a name such a secret gives is
    looked up too, its value is never read, and a record deleted under it in the same minutes fails
    lines that name no host just as the swapped name would. Otherwise "": the lines may be of a name
    held in a secret, a file or the image, and the deploy keeps competing. The evidence counts names
    and lines; it quotes no env value."""
    swapped = deploy_swapped_one_name(new.env_values, before.env_values)
    host_of = per_text(lookup_host, lookups)
    hostless = [e for e in lookups if not host_of[e.text]]
    named = set(host_of.values()) - {""}
    hostless_texts = {text for text, host in host_of.items() if not host}
    if (not swapped or not named <= {swapped} or secrets_that_may_name_hosts(new)
            or not all(map(says_no_such_name, hostless_texts))
            or any(mentions_name(text, before.env_values) or hosts_with_ports(text) - {swapped}
                   for text in hostless_texts)):
        return ""
    c.cite("api", f"run.revisions.get {new.short_name}, {before.short_name}: containers[].env[]",
           f"{len(hostless)} failed lookups on {new.short_name} name no host and say it does not exist; its plain "
           f"env gives one host name {before.short_name}'s does not, in place of one it dropped, every other the "
           "same; no line quotes a name of " + before.short_name + "'s env", threshold, passed)
    return SWAPPED_NAME


# The Cloud SQL Admin API's refusals of a connection name, as the connectors and the Auth Proxy pass
# them on: its 404 (the instance does not exist) and its 403 (the caller is not authorized; the Java
# connector: "This error occurs if the instance doesn't exist or the account isn't authorized",
# GoogleCloudPlatform/cloud-sql-jdbc-socket-factory core/src/main/java/com/google/cloud/sql/core/
# CloudSqlInstance.java). Under either reading, a connection name only the new revision gives is cured
# by sending traffic back to the one whose name served.
ADMIN_API_REFUSALS = frozenset({Refusal.NO_SUCH_INSTANCE, Refusal.NOT_AUTHORIZED})


def cite_instance_brought(c: Citation, refusals: Iterable[LogRecord], new: Revision, before: Revision,
                          threshold: str, passed: bool) -> str:
    """The Cloud SQL instances the Admin API's refusals (ADMIN_API_REFUSALS) name ("p:r:i"), cited with
    `threshold` and `passed`, when the deploy brought every one: each refusal names an instance
    (log_signals.instance_named), which a connection name of `new` names (a plain env value, whole or
    in a "/cloudsql/" path, or its Cloud SQL volume, Revision.volumes[].cloud_sql_instance.instances,
    revision.proto) and none of `before`'s, which holds one of its own (env_hosts.deploy_brought_instance);
    or "" (nothing cited). A connection name mistyped in the new revision (INSTANCE_CONNECTION_NAME) is
    refused by the Admin API on it alone, and the revision before asks for the instance that served. The
    evidence names the instance as the log lines printed it, never an env value."""
    named = set(per_text(instance_named, refusals).values())
    new_names = connection_names((*new.env_values, *new.cloudsql_instances))
    before_names = connection_names((*before.env_values, *before.cloudsql_instances))
    if None in named or not named or not all(deploy_brought_instance(n, new_names, before_names) for n in named):
        return ""
    shown = ", ".join(sorted(":".join(n) if n[1] else f"projects/{n[0]}/instances/{n[2]}" for n in named))
    c.cite("api", f"run.revisions.get {new.short_name}, {before.short_name}: containers[].env[], volumes[]",
           f"{new.short_name} names Cloud SQL instance {shown}, which the Admin API refuses; {before.short_name} "
           "does not", threshold, passed)
    return shown


def deploy_lowered_timeout(facts: Facts, c: Citation, timeout: float) -> str:
    """Why the 504s are the deploy's and not a slow application, or "": the revision the incident followed,
    deployed within `deploy_window_seconds`, lowered the request timeout below that of the revision
    it replaced (Facts.replaced), and before the deploy the service's p99 already reached the new timeout in at least
    `hang_minutes_ratio` of the minutes read (at least MINUTES_READ of them). Requests that always
    took that long are now cut: the application is no slower, the deploy moved the limit under it,
    and sending traffic back restores the longer timeout (bad_revision decides). A p99 well under
    the new timeout before the deploy leaves the 504s a slowness of their own, as before. Read by
    request_timeout (which stands aside) and connector_saturation (which is ruled out), so it lives
    here, beside neither. The revision is the one the incident followed (Facts.followed): a fix made since it
    began, restoring the longer timeout, is not the deploy that lowered it."""
    revision = facts.followed
    deploy = facts.replaced(revision) if revision else None
    if deploy is None:
        return ""
    previous, lead = deploy
    before = timeout_seconds(previous)
    if timeout >= before:
        return ""
    window = Window(max(facts.before.start, previous.create_time), revision.create_time)
    p99 = facts.p99_seconds(window)
    long = [v for v in p99 if v >= timeout]
    usual = len(p99) >= MINUTES_READ and len(long) >= facts.s.hang_minutes_ratio * len(p99)
    c.cite("metric", facts.latencies_query,
           f"before {revision.short_name}'s deploy {window}: p99 at or above its {timeout:.0f} s timeout in "
           f"{len(long)} of {len(p99)} minutes" + (f" (max {latency(max(p99))})" if p99 else ""),
           f"in >= {facts.s.hang_minutes_ratio:.0%} of at least {MINUTES_READ} minutes: requests that long were "
           "usual before the deploy lowered the timeout", not usual, role="refutes" if usual else "context")
    if not usual:
        return ""
    return (f"{revision.short_name}'s deploy {duration(lead)} before the incident lowered the request timeout "
            f"from {before:.0f} s to {timeout:.0f} s (against {previous.short_name}), and before it the p99 "
            f"already reached {timeout:.0f} s in {len(long)} of {len(p99)} minutes: the 504s cut requests that "
            "always took that long; they are the deploy's, not a slower application")


# Minutes of p99 before the deploy needed to call long requests usual (Monitoring's points are
# per minute; fewer say too little).
MINUTES_READ = 3
