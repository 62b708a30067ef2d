"""Google Cloud identifiers Runwarden parses, including domain-scoped project ids.

A project id may be domain-scoped: `example.com:my-project` ("Domain-scoped projects", Resource
Manager documentation, cloud.google.com/resource-manager/docs/creating-managing-projects). Such an
id carries a colon, so anything that splits on ":" must count from the right:
- a Cloud SQL connection name is `PROJECT:REGION:INSTANCE`, so `example.com:my-project:us-central1:db`
  (`{project}:{location}:{instance}`: CloudSqlInstance.instances, google/cloud/run/v2/k8s.min.proto;
  the domain-scoped form UNCONFIRMED: no Google page found on it);
- Cloud SQL's monitored resource `cloudsql_database` labels `database_id` as `PROJECT:INSTANCE`
  (Cloud SQL metrics list, cloud.google.com/monitoring/api/metrics_gcp#gcp-cloudsql);
- resource names (`projects/PROJECT/locations/L/services/S`) split on "/", which a project id never holds.
Nothing here imports anything: the bottom layers (config) use it too.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from shared.echo import quoted

# A project id: 6-30 lowercase letters, digits, hyphens, optionally after "domain:" (the domain
# a run of labels with dots). Checked loosely: Runwarden reads names, it never creates them.
_PROJECT = r"(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]*[a-z0-9]"
_CONNECTION = re.compile(rf"^(?P<project>{_PROJECT}):(?P<region>[a-z0-9-]+):(?P<instance>[a-z0-9][a-z0-9-]*)$")
_RESOURCE = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/(?P<kind>[a-zA-Z]+)/(?P<id>[^/]+)$")


def services_in(names: Iterable[str], project: str = "", location: str = "") -> list[str]:
    """The full service names (`projects/P/locations/L/services/S`) in `project` and `location`; an empty one
    matches any. Said to a person as candidates: an alert's labels narrowed them, never named one."""
    return [name for name in names
            if (not project or name.split("/")[1] == project) and (not location or name.split("/")[3] == location)]


@dataclass(frozen=True)
class SqlInstance:
    """A Cloud SQL instance by its connection name."""

    project: str
    region: str
    instance: str

    @classmethod
    def parse(cls, connection_name: str) -> "SqlInstance":
        """`[domain:]project:region:instance`; ValueError naming the value otherwise."""
        match = _CONNECTION.match(connection_name)
        if not match:
            raise ValueError(f"{quoted(connection_name)} is not a Cloud SQL connection name "
                             "([DOMAIN:]PROJECT:REGION:INSTANCE)")
        return cls(match["project"], match["region"], match["instance"])

    @property
    def connection_name(self) -> str:
        return f"{self.project}:{self.region}:{self.instance}"

    @property
    def database_id(self) -> str:
        """The `database_id` label of the cloudsql_database monitored resource: PROJECT:INSTANCE."""
        return f"{self.project}:{self.instance}"


def database_ids(connection_names: Iterable[str]) -> frozenset[str]:
    """The `database_id` (PROJECT:INSTANCE) of each of `connection_names` that parses as a connection name; a
    value that does not names no instance and is left out."""
    named = set()
    for name in connection_names:
        try:
            named.add(SqlInstance.parse(name).database_id)
        except ValueError:
            continue
    return frozenset(named)


def names_sql_instance(named: str, connection_name: str) -> bool:
    """Whether `named` (a Cloud SQL alert's target: a connection name, or "project:instance" when the
    alert kept no region) is the instance `connection_name` names. An instance id is unique in its
    project: the Admin API names an instance `projects/{project}/instances/{instance}`, no region
    (instances.get, instances.delete)."""
    if named == connection_name:
        return True
    try:
        return named == SqlInstance.parse(connection_name).database_id
    except ValueError:
        return False


def is_connection_name(value: str) -> bool:
    return _CONNECTION.match(value) is not None


@dataclass(frozen=True)
class LocationalName:
    """`projects/P/locations/L/{kind}/{id}` (services, connectors), P possibly domain-scoped."""

    project: str
    location: str
    kind: str
    id: str

    @classmethod
    def parse(cls, name: str) -> "LocationalName":
        match = _RESOURCE.match(name)
        if not match:
            raise ValueError(f"{quoted(name)} is not a resource name of the form projects/P/locations/L/KIND/ID")
        return cls(match["project"], match["location"], match["kind"], match["id"])


# A resource name as Google writes it: ASCII, lowercase, no space. Cloud Run service ids and VPC Access
# connector ids are lowercase letters, digits and hyphens, starting with a letter (Cloud Run: "Service
# name must use only letters, numbers and '-'. Must begin with a letter and cannot end with a '-'", the
# API's BadRequest, jamesward/cloud-run-button#4; "only lowercase alphanumeric characters and dashes",
# the rule as a deploy tool's docs quote it, UNCONFIRMED against Google's own page; the VPC Access
# stand-in holds connectors to it: sandbox/standins/vpcaccess.py), regions are lowercase
# (us-central1), and a project is named by its id (lowercase, possibly domain-scoped) or its number
# (Cloud Run v2 Revision.vpc_access.connector: "{project} can be project id or number").
_ZONE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")            # us-central1-a: a zone, not a region
_REGION = re.compile(r"^[a-z][a-z0-9-]*$")
_ID = re.compile(r"^[a-z](?:[a-z0-9-]*[a-z0-9])?$")
_PROJECT_OR_NUMBER = re.compile(r"^(?:[a-z0-9][a-z0-9.-]*:)?[a-z0-9][a-z0-9-]*$")   # loosely, as _PROJECT


def written_name_problem(name: str) -> str | None:
    """Why `name` (`projects/P/locations/L/KIND/ID`, its form already checked) cannot be a name Google
    writes, or None. Each answer says what is wrong and what to write: a stray space, a line break or an
    invisible character copied with the name is not seen in a terminal, where "X is not in the inventory
    (the inventory has X)" reads as the same name twice; an uppercase letter or a zone is never the name
    of anything, and a brake on it would hold nothing back."""
    for index, char in enumerate(name):
        if char.isspace() or not char.isprintable() or not char.isascii():
            what = "a space" if char == " " else f"the character {char!r}" if char.isprintable() \
                else f"the invisible character {ascii(char)}"
            return (f"holds {what} (character {index + 1}), which no Google resource name holds: "
                    f"write {quoted(_printable(name))}")
    match = _RESOURCE.match(name)
    if match is None:
        return None
    project, location, kind, id_ = match["project"], match["location"], match["kind"], match["id"]
    if name != name.lower():
        return f"holds capital letters: Google writes resource names in lowercase, {quoted(name.lower())}"
    if not _PROJECT_OR_NUMBER.match(project):
        return f"project {quoted(project)} is not a project id or number (lowercase letters, digits and hyphens)"
    return location_or_id_problem(location, id_, kind)


# A project id as a config names one (shared/config.py `_PROJECT_ID`): lowercase letters, digits and hyphens,
# starting with a letter, possibly after "domain:".
_PROJECT_ID = re.compile(r"^(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]*$")
_LABELLED_IDS = frozenset({"project_id", "location", "region", "service_name", "connector_name", "database_id"})
_ID_RULE = "lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen"


def resource_label_problem(field: str, value: str) -> str | None:
    """Why `value`, a notification's identifying resource label `field` (project_id, location, region,
    service_name, connector_name, database_id: Cloud Monitoring's monitored resource list for
    cloud_run_revision, vpc_access_connector and cloudsql_database), is in a form no resource of its
    type is labelled with, or None. Capitals, a zone, a project number name nothing the config manages
    (it names projects by id, resources in lowercase, locations by region: shared/config.py), so an alert
    built of them was answered "not a managed service", which reaches nobody. That Monitoring itself never
    writes a project number in `project_id` is UNCONFIRMED (the list calls it the project's identifier; no
    sample holds one); a log entry's writer sets its entry's resource labels (LogEntry.resource), and a
    relay may rewrite them."""
    if field not in _LABELLED_IDS:
        return None     # a host name is not case-sensitive (uptime_url's `host` is read lowercased)
    if value != value.lower():
        return f"holds capital letters, which no resource of its type is labelled with ({quoted(value.lower())} would be)"
    if field == "project_id":
        return _project_problem(value)
    if field in ("location", "region"):
        return _region_problem(value)
    if field in ("service_name", "connector_name"):
        return None if _ID.match(value) else f"is not a resource id: {_ID_RULE}"
    if field == "database_id":
        project, _, instance = value.rpartition(":")
        return _project_problem(project) or (None if _ID.match(instance) else
                                             f"holds instance {quoted(instance)}, no Cloud SQL instance id: {_ID_RULE}")
    return None


def _project_problem(project: str) -> str | None:
    if project.isdigit():
        return (f"is a project number, not a project id: the config names projects by id, so {quoted(project)} matches "
                "no managed project")
    if not _PROJECT_ID.match(project):
        return f"holds project {quoted(project)}, no project id (lowercase letters, digits and hyphens, starting with a letter)"
    return None


# A region as a notification's label names one: an area, a direction and a number, each joined by a hyphen
# (us-central1, europe-west1, northamerica-northeast1, me-central2). The pattern also takes a one-letter area
# (u-france-east1, said to name a sovereign partner cloud's region: UNCONFIRMED, no page read here lists it; the
# partner pages read name their regions europe-west9 and the like, "Sovereign Controls by Partners: locations").
# Every Cloud Run service and job is in one region (Cloud Run, "Cloud Run locations",
# https://cloud.google.com/run/docs/locations, whose list holds no other shape), as is every Serverless VPC
# Access connector (made with a `--region`: gcloud compute networks vpc-access connectors create; that its region
# list holds no other shape is UNCONFIRMED) and every Cloud SQL instance (Cloud SQL, "Instance settings": Region,
# not modifiable after creation, its values of the same shape: asia-east1, europe-central2, us-central1; the
# first generation's `us-central`, retired in 2020, would be refused, a page, never a write); the cloud_run_revision label `location` is "the location the service is run" (Cloud Monitoring v3
# Service.CloudRun.location: "Corresponds to the location resource label in the cloud_run_revision monitored
# resource"). `global`, a multi-region (`us`, `eu`, `asia`) or a placeholder (`l`) names none: that no Google
# region will ever be named otherwise is UNCONFIRMED, and a notification naming one is refused, never acted on,
# so a new shape costs a page, not a write. The config's and the commands' names keep the looser `_REGION`.
_REGION_NAME = re.compile(r"^[a-z]+(?:-[a-z]+)+[0-9]+$")
# Locations Google names that hold no Cloud Run service: resources with no location ("global") and multi-regions.
_NOT_REGIONS = {"global": "the location of resources that have none", "us": "a multi-region",
                "eu": "a multi-region", "asia": "a multi-region"}


def region_problem(location: str) -> str | None:
    """Why `location` names no region (a zone, `global`, a multi-region, a placeholder such as `l`), or None: the
    rule a notification's `location` label is held to (`resource_label_problem`), and the config's names
    (shared/config.py), so a config naming none fails at load, not at the first alert."""
    return _region_problem(location)


def _region_problem(location: str) -> str | None:
    if _ZONE.match(location):
        return f"is a zone: resources are labelled with their region, {location.rsplit('-', 1)[0]}"
    if _REGION_NAME.match(location):
        return None
    named = f" ({_NOT_REGIONS[location]})" if location in _NOT_REGIONS else ""
    return (f"is not a region{named}: every Cloud Run service, Serverless VPC Access connector and Cloud SQL instance "
            "is in one region, named such as us-central1 or europe-west1 (Cloud Run, \"Cloud Run locations\")")


def location_or_id_problem(location: str, id_: str, kind: str) -> str | None:
    """Why a name's location (a region) or its id (of `kind`, plural as in the name: "services") is not
    one Google writes, or None: shared by the commands' targets and the config's names."""
    if _ZONE.match(location):
        return f"location {quoted(location)} is a zone: write its region, {location.rsplit('-', 1)[0]}"
    if not _REGION.match(location):
        return f"location {quoted(location)} is not a region such as us-central1 (lowercase)"
    if not _ID.match(id_):
        return (f"{quoted(id_)} is not a {kind.rstrip('s')} id as the API writes it: lowercase letters, digits and "
                "hyphens, starting with a letter and not ending with a hyphen")
    return None


def _printable(name: str) -> str:
    return "".join(c for c in name if c.isascii() and c.isprintable() and not c.isspace())


# --- Monitoring incident ids -------------------------------------------------------------------------

# What a character inside an incident id is called in its refusal (any other by its code point).
_INVISIBLE_NAMES = {" ": "a space", "\t": "a tab", "\n": "a line break", "\r": "a carriage return"}
INCIDENT_ID_CHARACTER = ("{id} holds {what} at character {at}: an incident id has no whitespace nor invisible "
                         "character inside (Monitoring's look like '0.nrwotmyokd9n'), and which id is meant cannot "
                         "be told")


class IncidentIdCharacter(ValueError):
    """Whitespace or an invisible character inside an incident id; `context` fills INCIDENT_ID_CHARACTER."""

    def __init__(self, stripped: str, at: int, char: str) -> None:
        shown = quoted(stripped, 60)
        self.context = {"id": shown, "at": at, "what": _INVISIBLE_NAMES.get(char, f"U+{ord(char):04X}")}
        super().__init__(INCIDENT_ID_CHARACTER.format(**self.context))


def stripped_incident_id(value: str) -> str:
    """An incident id as every entry point reads it (a notification, `runwarden timeline`, the timeline
    function): without the whitespace around it; IncidentIdCharacter when whitespace or an invisible
    character is inside. Monitoring writes its ids itself, short and of letters, digits and '.'
    ("0.nrwotmyokd9n", every sample); a relayed, pasted or hand-typed one may carry spaces, a line
    break or a no-break space around it. Kept as it came, " 0.abc" and "0.abc" keyed two claims
    (shared/gcp/firestore.document_id), and one incident could be acted on twice. Around the id
    nothing is meant, so it is dropped (str.strip: every Unicode whitespace). Inside it, which of two
    ids is meant cannot be told. A zero-width space or a byte-order mark (Unicode categories Cf, Cc)
    is invisible and not whitespace to str.strip, so it is refused wherever it stands."""
    stripped = value.strip()
    for at, char in enumerate(stripped):
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp"):
            raise IncidentIdCharacter(stripped, at, char)
    return stripped


# Whether Monitoring's `incident_id` is case-sensitive is UNCONFIRMED: the "Notification content" page
# (cloud.google.com/monitoring/support/notification-options, schema 1.2) gives it as a string and says no
# more, and every id seen is lowercase letters, digits and '.' ("0.nrwotmyokd9n": its example and every
# sample in tests/fixtures/samples). A relay or a hand may change its case. Read as it came, "0.NRWOTMYOKD9N"
# and "0.nrwotmyokd9n" keyed two claims (shared/remediation/records.claim_key) and one incident could be
# acted on twice; folded, two incidents whose ids differ only in case are one, which precision prefers
# (nothing acts twice) and which is said on each outcome of the id that was folded (Incident.id_note).
COMMAND_INCIDENT_PREFIX = "command:"


def folded_incident_id(value: str) -> str:
    """An incident id (read by `stripped_incident_id`) as Runwarden keys it: its letters lower-cased. An
    operator's manual action ("command:COMMAND_ID") is kept as it is: a command id is the operator's own."""
    return value if value.startswith(COMMAND_INCIDENT_PREFIX) else value.lower()
