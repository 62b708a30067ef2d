"""Whether a connector's name, as a revision or a template wrote it, is a given connector: pure, no I/O.
Read wherever a service is matched to a connector named elsewhere: a connector alert's users
(collection.users_of, read by the alert, an approve and the sweep), the verification sweep (its
bystanders, shared/remediation/bystanders.py; its own service, judging.off_the_connector), and a
connector's policy in the config (`doubtful_policies`: planning and scale_connector's bounds)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from shared.diagnosis.evidence import Revision, Service


class Naming(str, Enum):
    """Whether a connector's name as a revision wrote it is a given connector (`names_connector`)."""
    YES = "yes"
    NO = "no"
    MAYBE = "maybe"     # by a project number that cannot be told from the connector's project id


def names_connector(service: Service, named: str | None, connector: str) -> Naming:
    """Whether `named` (a revision's or template's VpcAccess.connector, as written) is `connector` (projects/
    P/locations/L/connectors/C, as alerts, the config, the records and a pause name it: by project id, or by the
    number of the service's own project, which is read as that project's id). The proto
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
    # `connector` by this service's own project number (a pause's target, an operator's name) is that project's
    # connector by id: the number read off the service's deterministic run.app URL (Service.project_number). Left
    # by number, it was told NO against the template's name by id, one connector read as two.
    connector = service.own_project_form(connector) or connector
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


# --- the services of a connector's project and region, as ListServices lists them -----------------------------
# Read by the verification sweep (its bystanders, shared/remediation/bystanders.py, whose docstring says why each
# bound and reading) and by an alert's scale of a shared connector (its neighbours not in the config:
# neighbour_deploys, scope.outside_neighbours).

# One ListServices page, and the pages read per project: the services of the connector's project and region
# (a larger project's services past them are not looked at, and hold the verdict back: the sweep names them,
# verification.Sweep._bystanders).
MAX_LISTED = 200
MAX_PAGES = 3
# Services not in the config whose revisions are read (one ListRevisions each), and whose requests are
# read when they use the connector (a collection without logs or the connector: GetService, ListRevisions
# and the request metrics). More than this many candidates: the rest are not read, and hold the verdict back.
MAX_LOOKED_UP = 5
NOT_MANAGED = "not in the config: read only, never acted on"
# ListServices' permission (Cloud Run IAM permissions reference; CloudRunReader.iam_permissions), named when
# a list is refused, since a refusal need not name it.
LIST_PERMISSION = "run.services.list"

@dataclass(frozen=True)
class Listed:
    """What the ListServices pages say of the services not in the config: those to read further (their
    revisions; each as its page listed it), those not read (past MAX_LOOKED_UP), and how many were listed."""
    to_read: tuple[Service, ...]
    not_read: tuple[str, ...]
    listed: int


def listed(services: Sequence[Service], managed: Sequence[str], connector: str) -> Listed:
    """The services of the ListServices pages that may serve through `connector` and are not managed (one
    listed twice, by two names of one project, once), the MAX_LOOKED_UP to read being the last changed:
    Service.update_time newest first ("The last-modified time", google/cloud/run/v2/service.proto), since a
    service just deployed or changed is the likelier to have moved the connector's load. ListServices' own
    order is not documented; an entry without update_time comes after those with one, in list order."""
    others = list({s.name: s for s in services if s.name not in set(managed)}.values())
    maybe = sorted((s for s in others if may_use(s, connector)), key=_newest_first)
    return Listed(tuple(maybe[:MAX_LOOKED_UP]), tuple(s.name for s in maybe[MAX_LOOKED_UP:]), len(others))


def _newest_first(service: Service) -> tuple[bool, float]:
    changed = service.update_time
    return changed is None, -changed.timestamp() if changed else 0.0


def parents(connector: str, behind: Sequence[str], most: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The projects/P/locations/L to list for `connector` (projects/P/locations/L/connectors/C), its own
    first, then each other project of a managed service in `behind` (services in its region, which use it:
    a Shared VPC host's connector serves its service projects' services, Cloud Run docs, "Connect to a
    Shared VPC network"), at most `most`; and those past that bound, not listed.

    One project named once by its id and once by its number (the connector by id, a managed service of the host
    project by number: "{project} can be project id or number", VpcAccess.connector, google/cloud/run/v2/
    vendor_settings.proto) is listed twice and may use up the bound. Neither the config's names nor the
    connector's give both forms of one project, so the two are not told apart here (UNCONFIRMED whether a
    config names a project by number in practice); a project past the bound is said unread, never guessed."""
    location = connector.split("/connectors/")[0]
    region = location.split("/")[3]
    found = [location]
    for name in behind:
        parts = name.split("/")
        if len(parts) == 6 and parts[3] == region:
            parent = "/".join(parts[:4])
            if parent not in found:
                found.append(parent)
    return tuple(found[:most]), tuple(found[most:])


def list_refused(parent: str, refusal: Exception) -> str:
    """Why the services of `parent` could not be listed, in a person's words: the refusal as raised, and
    LIST_PERMISSION only when it is PERMISSION_DENIED (a refusal need not name the permission it lacks). An
    outage or a quota (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) is no missing grant."""
    denied = getattr(refusal, "code", "") == "PERMISSION_DENIED" and LIST_PERMISSION not in str(refusal)
    need = f"; listing them needs {LIST_PERMISSION} in that project" if denied else ""
    return f"the services of {parent} could not be listed ({refusal}{need})"


def whole(service: Service) -> bool:
    """Whether a listed `service` says both what its template names and what serves (its template and its
    traffic statuses), so that it can be judged without GetService (see the module docstring)."""
    return service.template_known and bool(service.traffic_statuses)


def may_use(service: Service, connector: str) -> bool:
    """Whether a revision `service` serves may name `connector`: its template names it, or it serves a
    revision other than its latest, or its latest is not ready (the template then may not be what serves),
    or the entry does not say (not `whole`)."""
    if not whole(service) or names_connector(service, service.template_connector, connector) is not Naming.NO:
        return True
    serving = {t.revision for t in service.traffic_statuses if t.percent}
    latest = service.latest_ready_revision
    return not latest or service.latest_created_revision != latest or serving != {latest}


def uses(service: Service, revisions: Sequence[Revision], connector: str) -> bool:
    """Whether a revision with a share of `service`'s traffic names `connector` (in either project form), or
    may (`names_connector` MAYBE: judged as a user, since its standing only holds a `verified` back)."""
    return any(service.serving_percent(r.short_name) > 0
               and names_connector(service, r.vpc_connector, connector) is not Naming.NO for r in revisions)
