"""Whether a connector's name, as a revision or a template wrote it, is a given connector: pure, no I/O.
Read wherever a service is matched to a connector named elsewhere: a connector alert's users
(collection.users_of, read by the alert, an approve and the sweep), the verification sweep (its
bystanders, shared/remediation/bystanders.py; its own service, judging.off_the_connector), and a
connector's policy in the config (`doubtful_policies`: planning and scale_connector's bounds)."""
from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from shared.diagnosis.evidence import Service


class Naming(str, Enum):
    """Whether a connector's name as a revision wrote it is a given connector (`names_connector`)."""
    YES = "yes"
    NO = "no"
    MAYBE = "maybe"     # by a project number that cannot be told from the connector's project id


def names_connector(service: Service, named: str | None, connector: str) -> Naming:
    """Whether `named` (a revision's or template's VpcAccess.connector, as written) is `connector` (projects/
    ID/locations/L/connectors/C, by project id, as alerts, the config and the records name it). The proto
    allows either form of the project: "Format: projects/{project}/locations/{location}/connectors/
    {connector}, where {project} can be project id or number" (VpcAccess.connector, google/cloud/run/v2/
    vendor_settings.proto). A number is read as the service's own project when its run.app URL says it is
    (Service.connector_by_id); any other number cannot be told from the connector's project by what the sweep
    reads (it reads no Resource Manager API): a Shared VPC service project's revision names its host's
    connector by the host's number as validly as by its id. So a name by such a number, of the same location
    and connector id, is MAYBE, never NO: read as NO, such a service was never judged, and a change was
    `verified` while it failed. The location and the connector id must agree either way; two project ids
    that differ, or two numbers, are two projects."""
    if not named:
        return Naming.NO
    named = service.connector_by_id(named) or ""
    if named == connector:
        return Naming.YES
    if not by_another_form(named, connector):
        return Naming.NO    # another location or connector id; or two ids, or two numbers, that differ: two projects
    ours, theirs = named.split("/"), connector.split("/")
    number = ours[1] if ours[1].isdigit() else theirs[1]
    known = service.project_number()
    if known is not None and number == known:
        return Naming.NO    # this service's own project's number (its id differs from the connector's)
    if known is not None and (ours[1] if number == theirs[1] else theirs[1]) == service.name.split("/")[1]:
        return Naming.NO    # the id is this service's project, whose number is known and another
    return Naming.MAYBE


def by_another_form(named: str, connector: str) -> bool:
    """Whether two full connector names (projects/P/locations/L/connectors/C) agree in location and connector id
    and name their projects one by number, the other by id: they may be one connector or two, which the names
    alone cannot tell (VpcAccess.connector: "{project} can be project id or number", google/cloud/run/v2/
    vendor_settings.proto; the VPC Access v1 Connector.name is "projects/*/locations/*/connectors/*",
    google/cloud/vpcaccess/v1/vpc_access.proto, which does not say which form GetConnector answers with:
    UNCONFIRMED)."""
    ours, theirs = named.split("/"), connector.split("/")
    return (len(ours) == 6 and len(theirs) == 6 and ours[2:] == theirs[2:]
            and ours[1].isdigit() != theirs[1].isdigit())


def doubtful_policies(named: str, policies: Iterable[str]) -> tuple[str, ...]:
    """The connectors of the config's policies (bounds.connectors, named by project id: shared/config.py
    refuses a number) that `named`, a connector named by a project number, may be (`by_another_form`). The
    policy of a connector is looked up by its exact name: a connector named by number matches none and
    would get the default policy (its ceiling, its machine types) where its own says otherwise. (The gate's
    cooldown, budgets and write claim are shared by both names, guardrails.bound_key; a pause is found under
    the other name too, guardrails.paused_otherwise.) So such a name is never scaled under either: a person
    decides."""
    return tuple(p for p in policies if p != named and by_another_form(named, p))


def two_connectors(service: Service, before: str | None, after: str | None) -> bool:
    """Whether two revisions of `service` route through two connectors: one has none, or `names_connector` says
    NO. Two spellings of one connector ("{project} can be project id or number", VpcAccess.connector,
    google/cloud/run/v2/vendor_settings.proto) are not two, and a MAYBE is not read as two either: "the deploy
    moved the service onto the connector" sends traffic back, an action, on what the names alone cannot tell."""
    if before == after:
        return False
    if not before or not after:
        return True
    ours, theirs = service.connector_by_id(before) or before, service.connector_by_id(after) or after
    return ours != theirs and names_connector(service, ours, theirs) is Naming.NO
