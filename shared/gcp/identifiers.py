"""Google Cloud identifiers Runwarden parses, including domain-scoped project ids.

A project id may be domain-scoped: `example.com:my-project` ("Domain-scoped projects", Resource
Manager documentation, cloud.google.com/resource-manager/docs/creating-managing-projects). Such an
id carries a colon, so anything that splits on ":" must count from the right:
- a Cloud SQL connection name is `PROJECT:REGION:INSTANCE`, so `example.com:my-project:us-central1:db`
  (the Cloud SQL connectors' documentation; gcp-facts §9);
- Cloud SQL's monitored resource `cloudsql_database` labels `database_id` as `PROJECT:INSTANCE`
  (Cloud SQL metrics list, cloud.google.com/monitoring/api/metrics_gcp#gcp-cloudsql);
- resource names (`projects/PROJECT/locations/L/services/S`) split on "/", which a project id never holds.
Nothing here imports anything: the bottom layers (config) use it too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# A project id: 6-30 lowercase letters, digits, hyphens, optionally after "domain:" (the domain
# a run of labels with dots). Checked loosely: Runwarden reads names, it never creates them.
_PROJECT = r"(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]*[a-z0-9]"
_CONNECTION = re.compile(rf"^(?P<project>{_PROJECT}):(?P<region>[a-z0-9-]+):(?P<instance>[a-z0-9][a-z0-9-]*)$")
_RESOURCE = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/(?P<kind>[a-zA-Z]+)/(?P<id>[^/]+)$")


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
            raise ValueError(f"{connection_name!r} is not a Cloud SQL connection name "
                             "([DOMAIN:]PROJECT:REGION:INSTANCE)")
        return cls(match["project"], match["region"], match["instance"])

    @property
    def connection_name(self) -> str:
        return f"{self.project}:{self.region}:{self.instance}"

    @property
    def database_id(self) -> str:
        """The `database_id` label of the cloudsql_database monitored resource: PROJECT:INSTANCE."""
        return f"{self.project}:{self.instance}"


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
            raise ValueError(f"{name!r} is not a resource name of the form projects/P/locations/L/KIND/ID")
        return cls(match["project"], match["location"], match["kind"], match["id"])
