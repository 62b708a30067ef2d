"""Services not in the config that serve through a connector a change scaled: which to read, and how one is
judged. Pure, no I/O; the sweep reads them (verification.Sweep._bystanders) and never acts on them.

A connector change was judged on the managed services behind the connector only, so a scale-up was
`verified` while another service on the same connector, one Runwarden does not manage, failed worse than
before it. A service uses a connector when a revision it serves names it in `vpc_access.connector`
(VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto: "VPC Access connector name. Format:
projects/{project}/locations/{location}/connectors/{connector}, where {project} can be project id or
number"; a name by a number the sweep cannot tell from the connector's project id is a maybe, and such a
service is judged as a user, its verdict saying so: shared/diagnosis/connector_names.py). Such a service
is read, never written: no action, no pause, no cooldown applies to it, and its
standing only holds a `verified` back (`standing`).

Which ones: the services of the connector's own project and region, listed by ListServices (pages of at most
MAX_LISTED, at most MAX_PAGES of them, each next one asked with the token the one before gave: "Lists
Services", google/cloud/run/v2/service.proto; `parent` "projects/{project}/locations/{location}"; its
`page_size` "Maximum number of Services to return in this call"; `page_token` "A page token received from a
previous call to ListServices");
one in another region cannot use it (a connector serves its own region: Cloud Run docs, "Connect to a VPC
network"). A service in another project may use it too: a Shared VPC host project's connector serves its
service projects' services, which name it by its full name (Cloud Run docs, "Connect to a Shared VPC
network"), and one ListServices lists one project (its `parent`). So the projects of the managed services
behind the connector are listed as well, each as its own (`parents`, at most MAX_PROJECTS in all): they are
known to reach it. Any other project's services are not seen (which projects a host serves is not read:
UNCONFIRMED that Runwarden could, it reads no Compute Engine API), and every verdict says so, naming the
projects it did list (`unseen`): never "none uses it" of projects it could not look at.
A listed service whose template does not name the connector, and whose traffic all goes to its latest
revision, built from that template and ready (latest_created_revision == latest_ready_revision, Service in
service.proto), serves no revision that names it: not read further (`may_use`). That covers one on Direct
VPC egress (its template's vpc_access holds network_interfaces, never a connector too: "one and only one of
connector and network_interfaces must be set", googleapis/google-cloud-node #4731): its traffic does not
cross any connector. Each other one costs a ListRevisions call, at most MAX_LOOKED_UP of them, to see what
its serving revisions name.

What a listed entry holds: ListServicesResponse.services is "The resulting list of Services" (service.proto;
the request has no `view` and no field mask), which does not say whether each is whole, as GetService
answers it (its template with vpc_access, its traffic_statuses, its etag). UNCONFIRMED, so both readings
hold: an entry that carries its template and its traffic statuses (`whole`) is used as it is, with no
GetService; one that lacks either is read whole with GetService first, never taken as "names no
connector". Its etag is never needed: a service not in the config is never written. The Service and the
revisions read are handed to the evidence collection (collection.collect's `known`), which reads neither
again: one ListRevisions per service read (two calls with the GetService), where there were four."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from shared.diagnosis.latency_words import latency
from shared.config import DiagnosisSettings
from shared.diagnosis.evidence import EvidenceBundle, Revision, Service
from shared.diagnosis.facts import Facts, Window
from shared.diagnosis.health_bar import health_bar
from shared.diagnosis.connector_names import (MAX_LISTED, MAX_LOOKED_UP, MAX_PAGES, NOT_MANAGED, Naming, listed,
                                              may_use, names_connector, uses, whole)
from shared.diagnosis.connector_names import parents as projects_to_list
from shared.remediation.judging import Health, HealthKind, after_write, settled
from shared.remediation.records import ActionRecord

# A 5xx and 429 share since the write over the healthy bar and over this many times the share before it
# is failing worse (a share that moved from 2.0 % to 2.4 % is noise, not the change's doing).
_WORSE = 1.5
# A p99 since the write over this many times the highest per-minute p99 before it (and over the floor), in
# most minutes, is slower than before (as judging._SLOWER reads a managed service's).
_SLOWER = 3.0
_SLOW_FLOOR_SECONDS = 1.0
_MIN_MINUTES = 2

# The projects listed for one judgement: the connector's own, then those of the managed services behind it.
MAX_PROJECTS = 3


def parents(connector: str, behind: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The projects to list for `connector` in one judgement (connector_names.parents), at most MAX_PROJECTS."""
    return projects_to_list(connector, behind, MAX_PROJECTS)


def unseen(listed_parents: Sequence[str]) -> str:
    """What no list could show: the services of any other project (see the module docstring)."""
    projects = ", ".join(p.split("/")[1] for p in listed_parents)
    return (f"services of projects other than {projects} not listed (a Shared VPC host's connector may serve "
            "other projects' services; one ListServices lists one project)")


def by_number(service: Service, revisions: Sequence[Revision], connector: str) -> str:
    """What a verdict says of a service judged as a user of `connector` on a name by a project number that
    cannot be told from the connector's project (`names_connector` MAYBE), "" if it names it plainly."""
    if any(service.serving_percent(r.short_name) > 0 and names_connector(service, r.vpc_connector, connector)
           is Naming.YES for r in revisions):
        return ""
    named = next((r.vpc_connector for r in revisions if service.serving_percent(r.short_name) > 0
                  and names_connector(service, r.vpc_connector, connector) is Naming.MAYBE), "")
    return (f"judged as a user of {connector}: its serving revision names {named}, by a project number the sweep "
            f"cannot tell from {connector.split('/')[1]}'s (the same location and connector id)" if named else "")


def standing(record: ActionRecord, bundle: EvidenceBundle, settings: DiagnosisSettings,
             min_traffic_ratio: float) -> Health:
    """A service not in the config, on the connector `record` scaled, judged on its whole minutes of
    request_count and request_latencies: `failing` when it fails worse since the write than in the lookback
    before it (5xx and 429 over the healthy bar and over _WORSE times its share before, or hanging in most
    minutes where it did not, or a p99 over _SLOWER times its highest before in most minutes); `unclear`
    with requests before and too few since to tell, or under `min_traffic_ratio` of its rate before (its
    callers gave up or went elsewhere: the few left do not show it unhurt, as judging.traffic_lost reads a
    managed service's); `healthy` otherwise ("not failing worse": a share as
    bad as before is its own, not the change's; one with no requests either side is said not judged).
    Never a reason to act: only to hold a `verified` back. The minutes since start at `after_write`, so no
    point of a minute that began before the write is read as after it, and end at the whole minutes."""
    facts = Facts(settled(bundle), settings)
    before = Window(record.applied_at - timedelta(seconds=settings.lookback_seconds), record.applied_at)
    start = after_write(record)
    since = Window(start, max(start, facts.data_until or start))
    was, now = facts.requests(before), facts.requests(since)
    minutes = facts.minutes_with_requests(since)
    said = (f"{now.total:.0f} requests in {since}, {now.refused_ratio:.1%} 5xx or 429, against {was.total:.0f} in "
            f"{before} before the write, {was.refused_ratio:.1%}")
    if now.total < settings.min_requests or minutes < _MIN_MINUTES:
        if was.total < settings.min_requests:
            return Health(HealthKind.HEALTHY, f"{NOT_MANAGED}; too few requests before the write and since "
                                              f"to judge ({said}): nothing shown failing worse, not judged")
        return Health(HealthKind.UNCLEAR, f"{NOT_MANAGED}; it uses the connector and served before the write, "
                                          f"but too few requests since to tell whether it fails worse: {said}")
    rate_was, rate_now = was.total / _minutes(before), now.total / _minutes(since)
    if rate_now < min_traffic_ratio * rate_was:
        return Health(HealthKind.UNCLEAR, f"{NOT_MANAGED}; it uses the connector, and its traffic is mostly gone "
                                          f"since the write ({rate_now:.0f} requests a minute against {rate_was:.0f} "
                                          f"before, under {min_traffic_ratio:.0%}): whether it fails worse cannot be "
                                          f"told; {said}")
    worse = _worse(facts, settings, before, since, was.refused_ratio, now.refused_ratio)
    if worse:
        return Health(HealthKind.FAILING, f"{NOT_MANAGED}; it uses the connector and fails worse since the "
                                          f"write than before it: {worse}; {said}")
    return Health(HealthKind.HEALTHY, f"{NOT_MANAGED}; not failing worse than before the write: {said}")


def _minutes(window: Window) -> float:
    return max(1.0, (window.end - window.start).total_seconds() / 60)


def _worse(facts: Facts, settings: DiagnosisSettings, before: Window, since: Window, was: float, now: float) -> str:
    """How the minutes since fail worse than those before ("" if they do not)."""
    bar = health_bar(None, settings).error_ratio
    if now > bar and now > was * _WORSE:
        return f"{now:.1%} 5xx or 429 since, over the healthy bar ({bar:.1%}) and over {_WORSE:g} times {was:.1%} before"
    p99_now, p99_was = facts.p99_seconds(since), facts.p99_seconds(before)
    if not p99_now:
        return ""
    hang = settings.hang_latency_seconds
    hung_now = sum(v >= hang for v in p99_now) / len(p99_now)
    hung_was = sum(v >= hang for v in p99_was) / len(p99_was) if p99_was else 0.0
    if hung_now >= settings.hang_minutes_ratio > hung_was:
        return f"p99 at or above {hang:g} s in {hung_now:.0%} of its minutes since, {hung_was:.0%} before"
    if p99_was:
        slow = max(_SLOWER * max(p99_was), _SLOW_FLOOR_SECONDS)
        over = sum(v > slow for v in p99_now)
        if over / len(p99_now) >= settings.hang_minutes_ratio:
            return (f"p99 over {latency(slow)} ({_SLOWER:g} times its highest before, {latency(max(p99_was))}) in {over} of "
                    f"{len(p99_now)} minutes since")
    return ""
