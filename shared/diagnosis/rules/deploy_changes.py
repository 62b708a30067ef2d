"""What a recent deploy changed in the revision's own settings, against the Ready revision before it.

A revision carries its settings (Revision: `timeout`, `scaling`, `max_instance_request_concurrency`,
google/cloud/run/v2/revision.proto), so sending traffic back to the revision before brings its
settings back with it. Unset settings are read as Cloud Run's defaults.
"""
from __future__ import annotations

from collections.abc import Iterable

from shared.diagnosis.env_hosts import deploy_brought
from shared.diagnosis.evidence import LogRecord, Revision
from shared.diagnosis.facts import DEFAULT_REQUEST_TIMEOUT_SECONDS
from shared.diagnosis.log_signals import lookup_host
from shared.diagnosis.rules.base import Citation


def timeout_seconds(revision: Revision) -> float:
    """The revision's request timeout; unset is Cloud Run's default of 300 s ("Set request timeout")."""
    return revision.timeout_seconds or DEFAULT_REQUEST_TIMEOUT_SECONDS


# Cloud Run's defaults for unset limits: "By default, Cloud Run sets 100 instances per revision"
# (docs "Configure maximum instances"); "By default each Cloud Run instance can receive up to 80
# requests at the same time" (docs "About concurrency").
DEFAULT_MAX_INSTANCES = 100
DEFAULT_CONCURRENCY = 80


def settings_changed(before: Revision, after: Revision) -> list[str]:
    """The revision settings `after` changed against `before`, in words ("request timeout from 300 s
    to 10 s"), in a fixed order; [] when none of those read changed."""
    pairs = (("request timeout", f"{timeout_seconds(before):.0f} s", f"{timeout_seconds(after):.0f} s"),
             ("max instances", before.max_instance_count or DEFAULT_MAX_INSTANCES,
              after.max_instance_count or DEFAULT_MAX_INSTANCES),
             ("requests per instance", before.container_concurrency or DEFAULT_CONCURRENCY,
              after.container_concurrency or DEFAULT_CONCURRENCY))
    return [f"{what} from {old} to {new}" for what, old, new in pairs if old != new] + resources_changed(before, after)


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
    Revision.containers[].env[].value, k8s_min.proto EnvVar); or "" (nothing cited). The evidence names
    the hosts, which the log lines printed, never an env value."""
    hosts = {lookup_host(e.text) for e in lookups}
    if not deploy_brought(hosts, new.env_values, before.env_values):
        return ""
    named = ", ".join(sorted(hosts))
    c.cite("api", f"run.revisions.get {new.short_name}, {before.short_name}: containers[].env[]",
           f"{new.short_name}'s env names host {named}; {before.short_name}'s does not", threshold, passed)
    return named
