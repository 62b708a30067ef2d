"""Whether a rollback target can still reach what it names: its VPC connector and its Cloud SQL instances.

bad_revision's known-good revision served cleanly before the deploy, so what it names existed then. A deploy
made BECAUSE a dependency was replaced (the service moved to a new connector, to Direct VPC egress, or to a
new Cloud SQL instance, the old one then deleted) leaves the revision before naming the old one: sending it
all traffic starts instances on a path, or against a database, that may be gone. Cloud Run serves a
revision's traffic only from instances it can start ("when a revision does not receive any traffic, it is
scaled down to zero instances by default", Cloud Run, "About instance autoscaling"), so the target's clean
minutes before the deploy do not vouch for it now. Each check here says why the candidate is no rollback
target, or "" (bad_revision._known_good steps no further back: a person decides).

Where a revision names them (google/cloud/run/v2/revision.proto): `vpc_access.connector`
(VpcAccess.connector, "projects/{project}/locations/{location}/connectors/{connector}",
vendor_settings.proto); `volumes[].cloud_sql_instance.instances` (CloudSqlInstance.instances, k8s_min.proto);
a connection name in a plain env value (Container.env[].value, an INSTANCE_CONNECTION_NAME for the Cloud SQL
connectors) is read the same way (env_hosts.connection_names).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.diagnosis.connector_minutes import ConnectorMinutes, Sign
from shared.diagnosis.connector_names import Naming, names_connector, two_connectors
from shared.diagnosis.env_hosts import connection_names, deploy_brought_instance
from shared.diagnosis.evidence import Revision, TargetConnectorRead, all_logged_by, short_name
from shared.diagnosis.facts import Facts, ceiling_mbps
from shared.diagnosis.log_signals import instance_named, per_text
from shared.diagnosis.rules.base import Citation
from shared.diagnosis.rules.deploy_changes import ADMIN_API_REFUSALS
from shared.diagnosis.rules.refusals import refusals
from shared.diagnosis.windows import Window

# Connector states in which it carries no traffic (Connector.State, google/cloud/vpcaccess/v1/vpc_access.proto:
# DELETING "Connector is being deleted", ERROR "Connector is in a bad state, manual deletion recommended";
# READY "Connector is deployed and ready to receive traffic"). CREATING and UPDATING are a change under way on
# a connector that exists: not read as gone.
_GONE_STATES = frozenset({"DELETING", "ERROR"})


def connector_gone(facts: Facts, c: Citation, suspect: Revision, candidate: Revision) -> str:
    """Why the candidate cannot be sent the traffic for its connector, or "": it names a connector the
    serving revisions do not route through (the suspect's deploy moved the path: to another connector, or to
    Direct VPC egress), read apart (collection.target_connector_name), and the read answered NOT_FOUND
    (vpcaccess.connectors.get; Google's Get answers NOT_FOUND for a resource that does not exist, AIP-131
    "Standard methods: Get"), a state that carries no traffic (_GONE_STATES), or a refusal that leaves it
    not known (PERMISSION_DENIED: precision first, never a rollback onto a path not known to exist). A
    candidate on the suspect's own connector is bad_revision._connector_gone_for_both's; one whose connector
    was not read (beyond the candidates read, or no room in the budget: the collection's gap says so) keeps
    the rule as before."""
    named, read = candidate.vpc_connector, _read_apart(facts, suspect, candidate)
    if read is None:
        return ""
    query = f"vpcaccess.connectors.get {named}"
    if read.connector is not None and read.connector.state not in _GONE_STATES:
        c.cite("api", query, f"{read.connector.state}; {candidate.short_name} routes through it, "
               f"{suspect.short_name} does not", "the rollback target's own connector exists", True)
        return ""
    state = f"it is {read.connector.state}" if read.connector is not None else (
        "its read answered NOT_FOUND: deleted, or not in that project and region" if read.refusal == "NOT_FOUND"
        else f"its read was refused ({read.refusal or 'no answer'}): whether it exists is not known")
    c.cite("api", query, f"{state}; {candidate.short_name} routes through it, {suspect.short_name} does not",
           "the rollback target's own connector exists", False)
    path = ("carries no traffic" if read.connector is not None else
            "is gone" if read.refusal == "NOT_FOUND" else "is not known to exist")
    return (f"{candidate.short_name} routes through connector {short_name(named)}, which {suspect.short_name}'s "
            f"deploy moved off, and {state}: sending {candidate.short_name} the traffic sends it over a path that "
            f"{path} (a deploy made for a connector migration), so a rollback is not shown to restore the service")


def _read_apart(facts: Facts, suspect: Revision, candidate: Revision) -> TargetConnectorRead | None:
    """The read of the connector the candidate routes through and the suspect does not (two connectors, or one
    and Direct VPC egress or none: connector_names.two_connectors, two spellings of one connector not two), when
    the read is of that connector (names_connector: by project id or number); None otherwise."""
    named, read, service = candidate.vpc_connector, facts.b.target_connector, facts.b.service
    if (not named or read is None or not two_connectors(service, named, suspect.vpc_connector)
            or names_connector(service, named, read.name) is not Naming.YES):
        return None
    return read


def connector_without_room(facts: Facts, c: Citation, suspect: Revision, candidate: Revision) -> str:
    """Why the candidate cannot be sent the traffic for how full its connector is, or "": the connector it
    routes through and the suspect does not (connector_gone's, READY as read) sat at its ceiling, minute by
    minute as the path's connector is read (Facts.minutes_of, as saturated_stretch.ceiling_states: at its max instances,
    Connector.max_instances, "Maximum value of instances in autoscaling group underlying the connector", VPC
    Access v1 Connector, with its CPU p99 at connector_cpu_saturation, or its throughput at
    connector_throughput_ratio of its machine type's ceiling, in that same minute: _minutes), in
    hang_minutes_ratio of the whole minutes since the suspect's deploy (_whole_minutes: up to Facts.complete_until,
    a minute Monitoring may not have ingested yet is not counted), a whole minute with no point counted as not
    shown full: another service's load fills it, and the traffic sent back meets a connector that cannot grow.
    Fewer than MIN_FULL_MINUTES whole minutes: held, how full it is not known yet. At its max with a cool CPU is
    no sign ("Connectors don't scale in", cloud.google.com/vpc/docs/serverless-vpc-access, Scaling: an old
    burst's high-water mark), nor a hot CPU below its max (a connector still adding instances). A candidate that
    carries, cleanly and from the first minute read full on, at least the traffic a rollback would add
    (`_carries_it_now`: the stable revision of a canary) shows the connector has room for it; that evidence is
    weighed first, so a fullness not read because Monitoring refused or failed
    (TargetConnectorRead.fullness_refusal) holds only a target without it, precision first, as connector_gone
    holds a refused GET. No points at all: "" and the rule as before."""
    read = _read_apart(facts, suspect, candidate)
    if read is None or read.connector is None or read.connector.state != "READY":
        return ""
    s, ceiling = facts.s, read.connector.max_instances
    # The minutes since the suspect's deploy moved off it: what the connector carries without this service.
    window = Window(max(facts.incident.start, suspect.create_time), facts.incident.end)
    if read.fullness_refusal:
        # A revision carrying the traffic cleanly over it is evidence of room read apart from Monitoring's refusal.
        if _carries_it_now(facts, c, suspect, candidate, window):
            return ""
        return _fullness_unknown(c, suspect, candidate, read.name, read.fullness_refusal)
    rates = _rates(facts, read, window)
    read_minutes = _minutes(facts, read, window, rates)
    if not read_minutes.ceiling_states():
        return ""
    # Only whole minutes count (_whole_minutes): a minute Monitoring has not ingested yet is no room. The cut window
    # starts where the one read did: its minutes are those read, cut to it, never read again.
    window = _whole_minutes(facts, window, read_minutes.values(Sign.AT_MAX))
    low, high = window.micros
    cut = read_minutes.within(low, high)
    rates = {at: v for at, v in rates.items() if low < at <= high}
    states = cut.ceiling_states()
    minutes = max(int((window.end - window.start).total_seconds() // 60), len(states))
    full_minutes = sum(states.values())
    if _carries_it_now(facts, c, suspect, candidate, _full_since(window, states)):
        return ""
    cpu = [min(v, 1.0) for v in cut.values(Sign.CPU).values()]
    mbps = [v * 8 / 1e6 for v in rates.values()]
    most = f"{max(mbps):.0f} Mbps of its {ceiling_mbps(read.connector) or '?'}" if mbps else "throughput not read"
    observed = (f"{short_name(read.name)}: at its max {ceiling} instances with CPU p99 >= "
                f"{s.connector_cpu_saturation:.0%} or throughput >= {s.connector_throughput_ratio:.0%} of its "
                f"{read.connector.machine_type} ceiling in the same minute in {full_minutes} of the {minutes} whole "
                f"minutes {window} ({len(states)} read; CPU p99 max {max(cpu, default=0.0):.0%}, {most} at most)")
    if minutes < MIN_FULL_MINUTES:
        return _too_few_minutes(c, suspect, candidate, read.name, observed)
    full = full_minutes >= s.hang_minutes_ratio * minutes
    c.cite("metric", f"monitoring: connector/instances, connector/cpu/utilizations, byte counters of {read.name}",
           observed,
           f"the rollback target's own connector has room (at its ceiling in fewer than {s.hang_minutes_ratio:.0%} "
           f"of the whole minutes since the deploy, at least {MIN_FULL_MINUTES} of them)", not full)
    if not full:
        return ""
    return (f"{candidate.short_name} routes through connector {short_name(read.name)}, which {suspect.short_name} "
            f"does not, and it is full now ({observed}): sending {candidate.short_name} the traffic sends it over a "
            "connector that cannot grow, so a rollback is not shown to restore the service; check who fills "
            f"{short_name(read.name)} before moving traffic back")


def _rates(facts: Facts, read: TargetConnectorRead, window: Window) -> dict[int, float]:
    """The connector's bytes per second by minute in `window`, the larger of its two byte counters."""
    return facts.bytes_by_minute((read.received_bytes, read.sent_bytes), window)


def _minutes(facts: Facts, read: TargetConnectorRead, window: Window, rates: dict[int, float]) -> ConnectorMinutes:
    """The connector's minutes, read as the path's connector is (Facts.minutes_of, the bars saturated_stretch.
    ceiling_states judges by): its instances against its max, its CPU p99 and its throughput (`rates`, against its
    machine type's ceiling: facts.ceiling_mbps) each against its bar."""
    return facts.minutes_of(read.connector.max_instances if read.connector else 0, read.instances, read.cpu, rates,
                            ceiling_mbps(read.connector), window)


def _whole_minutes(facts: Facts, window: Window, instances: dict[int, float]) -> Window:
    """`window` ended where the minutes are whole (Facts.complete_until, or Facts.whole_line with no request data)
    and at the connector's newest connector/instances point: a connector's series is ingested on its own, up to
    INGEST_LAG after its minute (facts.py) and "up to 240 seconds" for some metrics (Cloud Monitoring, "Latency
    of metric data", cloud.google.com/monitoring/api/v3/latency-n-retention), so a minute after its newest point
    may hold none yet; counted as not full it would be room read where none is known. (A gauge written each
    minute while the connector exists: a series that stopped long before leaves few minutes, and a hold.)"""
    newest = _at(max(instances)) if instances else window.start
    end = min(window.end, facts.complete_until or facts.whole_line, newest)
    return Window(window.start, max(end, window.start))


def _at(minute_end: int) -> datetime:
    """A minute's end as Facts.busiest_by_minute keys it (microseconds since the epoch)."""
    return datetime.fromtimestamp(minute_end / 1e6, tz=timezone.utc)


def _full_since(window: Window, states: dict[int, bool]) -> Window:
    """From the first minute read full on: the minutes a target carrying the traffic must have carried it in."""
    first = min((at for at, is_full in states.items() if is_full), default=None)
    if first is None:
        return window
    start = _at(first) - timedelta(minutes=1)
    return Window(max(window.start, start), window.end)


def _too_few_minutes(c: Citation, suspect: Revision, candidate: Revision, named: str, observed: str) -> str:
    """The hold when fewer than MIN_FULL_MINUTES whole minutes since the deploy exist: how full it is is not known."""
    c.cite("metric", f"monitoring: connector/instances, connector/cpu/utilizations of {named}", observed,
           f"the rollback target's own connector has room (judged on at least {MIN_FULL_MINUTES} whole minutes)",
           False)
    return (f"{candidate.short_name} routes through connector {short_name(named)}, which {suspect.short_name} does "
            f"not, and fewer than {MIN_FULL_MINUTES} whole minutes since the deploy are read ({observed}): how full it "
            f"is is not known yet, so a rollback is not shown to restore the service; diagnose again once Monitoring "
            "has the minutes")


# Minutes since the deploy a connector must have been read at its ceiling in at least, for "full": a verdict on
# fewer is no verdict (judging's and diagnose's own floor for a verdict on minutes is 2).
MIN_FULL_MINUTES = 2


def _carries_it_now(facts: Facts, c: Citation, suspect: Revision, candidate: Revision, window: Window) -> bool:
    """Whether the candidate, serving still (a canary's stable revision), carried cleanly in `window` (the
    minutes since the first read full, or since the suspect's deploy when none is, or the fullness was not read)
    at least min_requests, under healthy_error_ratio failed, with a traffic share no smaller than the one a
    rollback adds to it (the rest): its connector then carries its traffic in the minutes read as full, and at
    most twice that after the rollback. A smaller share is no such evidence: held to the fullness."""
    s = facts.s
    share = facts.b.service.serving_percent(candidate.short_name)
    if share <= 0:
        return False
    counts = facts.requests(window, candidate.short_name)
    failed = counts.share(code_class="5xx")
    carried = counts.total >= s.min_requests and failed <= s.healthy_error_ratio and share >= 100 - share
    c.cite("metric", facts.requests_query, f"{candidate.short_name} serves {share}% of the traffic, "
           f"{counts.total:.0f} requests {window}, {failed:.1%} 5xx",
           f"the rollback target carries at least the {100 - share}% a rollback adds, cleanly (>= {s.min_requests} "
           f"requests, <= {s.healthy_error_ratio:.0%} 5xx), over its connector now", carried, role="context")
    return carried


def _fullness_unknown(c: Citation, suspect: Revision, candidate: Revision, named: str, code: str) -> str:
    """The hold when the connector's Monitoring reads failed: how full it is is not known."""
    project = named.split("/")[1] if named.count("/") >= 5 else "the connector's project"
    # ListTimeSeries needs monitoring.timeSeries.list on the project named in the request ("Authorization
    # requires the following IAM permission on the specified resource name: monitoring.timeSeries.list",
    # projects.timeSeries.list, Cloud Monitoring API v3 reference); a Shared VPC host's connector's metrics are
    # in the host project, where the service's own grant does not reach.
    c.cite("api", f"monitoring: connector/instances, connector/cpu/utilizations of {named}",
           f"read failed ({code}): how full it is is not known", "the rollback target's own connector has room",
           False)
    return (f"{candidate.short_name} routes through connector {short_name(named)}, which {suspect.short_name} does "
            f"not, and how full it is could not be read (Monitoring answered {code} for its connector/instances, "
            f"connector/cpu/utilizations and byte counters): sending {candidate.short_name} the traffic may send it over a connector "
            f"that cannot grow, so a rollback is not shown to restore the service; grant monitoring.timeSeries.list "
            f"(roles/monitoring.viewer) on project {project} or check the connector there")


def database_moved(facts: Facts, c: Citation, suspect: Revision, candidate: Revision) -> str:
    """Why the candidate cannot be sent the traffic for its database, or "": the suspect names a Cloud SQL
    instance the candidate does not, in place of one the candidate names and the suspect does not (its
    volumes, or a connection name in its plain env): the deploy moved the service to another instance, a
    migration. Whether the old instance still exists, or still holds the data the service has written since,
    is not read (Runwarden does not call the Cloud SQL Admin API): a rollback may start instances that cannot
    connect, or send writes to the database the service left. One exception, the deploy's own mistake: every
    refusal of the Cloud SQL Admin API in the logs (ADMIN_API_REFUSALS: the instance does not exist, or the
    caller may not reach it) is on the suspect and names an instance only the deploy brought (a mistyped
    INSTANCE_CONNECTION_NAME): the service never moved, and a rollback restores the instance that served. A
    deploy that removed the connection, or added one beside the old, moved nothing: ""."""
    before = connection_names((*candidate.env_values, *candidate.cloudsql_instances))
    after = connection_names((*suspect.env_values, *suspect.cloudsql_instances))
    left, came = before - after, after - before
    if not left or not came or _refused_what_the_deploy_brought(facts, suspect, before, after):
        return ""
    old, new = _names(left), _names(came)
    c.cite("api", f"run.revisions.list {facts.b.service.name}: volumes[].cloud_sql_instance.instances, "
           "containers[].env[]", f"{suspect.short_name} names Cloud SQL instance {new} in place of {old}, which the "
           f"rollback target {candidate.short_name} names", "the rollback target names the Cloud SQL instance the "
           "failing revision does (or the Admin API refuses the one the deploy brought)", False)
    return (f"{suspect.short_name}'s deploy moved the service from Cloud SQL instance {old} to {new} (a migration), "
            f"and {candidate.short_name} still names {old}: whether it still exists and holds the data written since "
            f"is not read, so sending {candidate.short_name} the traffic may start instances that cannot connect, or "
            "write to the database the service left")


def _refused_what_the_deploy_brought(facts: Facts, suspect: Revision, before: set[tuple[str, str, str]],
                                     after: set[tuple[str, str, str]]) -> bool:
    """Whether the logs' database refusals are all the Admin API's, all on the suspect, and every instance
    they name is one only the deploy brought (env_hosts.deploy_brought_instance)."""
    found = refusals(facts)
    if not found or not found.keys() <= ADMIN_API_REFUSALS:
        return False
    entries = [e for es in found.values() for e in es]
    if not all_logged_by(entries, suspect.short_name):
        return False
    named = set(per_text(instance_named, entries).values())
    return bool(named) and None not in named and all(deploy_brought_instance(n, after, before) for n in named)


def _names(instances: set[tuple[str, str, str]]) -> str:
    return ", ".join(sorted(":".join(n) for n in instances))
