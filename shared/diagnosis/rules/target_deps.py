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

from shared.diagnosis.env_hosts import connection_names, deploy_brought_instance
from shared.diagnosis.evidence import Revision, all_logged_by, short_name
from shared.diagnosis.facts import Facts
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
    named = candidate.vpc_connector
    read = facts.b.target_connector
    if not named or named == suspect.vpc_connector or read is None or read.name != named:
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


def connector_full(facts: Facts, c: Citation, suspect: Revision, candidate: Revision) -> str:
    """Why the candidate cannot be sent the traffic for how full its connector is, or "": the connector the
    suspect's deploy moved off (connector_gone's, READY as read) is at its max instances
    (Connector.max_instances, "Maximum value of instances in autoscaling group underlying the connector", VPC
    Access v1 Connector) with its CPU p99 at connector_cpu_saturation or more, each in hang_minutes_ratio of
    the incident's minutes since the suspect's deploy: another service's load fills it, and the service's
    traffic sent back to it meets a connector that cannot grow. Both are needed: "Connectors don't scale in" (cloud.google.com/vpc/docs/
    serverless-vpc-access, Scaling), so instances at the max alone may be an old burst's, and a hot CPU below the
    max is a connector still adding instances. Not read (refused, no points): "" and the rule as before."""
    named, read, s = candidate.vpc_connector, facts.b.target_connector, facts.s
    if (not named or named == suspect.vpc_connector or read is None or read.name != named
            or read.connector is None or read.connector.state != "READY"):
        return ""
    # The minutes since the suspect's deploy moved off it: what the connector carries without this service.
    window = Window(max(facts.incident.start, suspect.create_time), facts.incident.end)
    ceiling = read.connector.max_instances
    instances = facts.connector_values(read.instances, window)
    cpu = [min(max(v, 0.0), 1.0) for v in facts.connector_values(read.cpu, window)]
    if not instances or not cpu:
        return ""
    at_max = sum(v >= ceiling for v in instances) / len(instances)
    hot = sum(v >= s.connector_cpu_saturation for v in cpu) / len(cpu)
    full = at_max >= s.hang_minutes_ratio and hot >= s.hang_minutes_ratio
    observed = (f"{short_name(named)}: at its max {ceiling} instances in {at_max:.0%} of the minutes {window}, "
                f"CPU p99 >= {s.connector_cpu_saturation:.0%} in {hot:.0%} (max {max(cpu):.0%})")
    c.cite("metric", f"monitoring: connector/instances, connector/cpu/utilizations of {named}", observed,
           f"the rollback target's own connector has room (not at its max with CPU >= "
           f"{s.connector_cpu_saturation:.0%} in {s.hang_minutes_ratio:.0%} of the minutes)", not full)
    if not full:
        return ""
    return (f"{candidate.short_name} routes through connector {short_name(named)}, which {suspect.short_name}'s "
            f"deploy moved off, and it is full now ({observed}): sending {candidate.short_name} the traffic sends "
            "it over a connector that cannot grow, so a rollback is not shown to restore the service; check who "
            f"fills {short_name(named)} before moving traffic back")


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
