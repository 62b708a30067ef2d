"""Identifiers with domain-scoped project ids (`example.com:my-project`) parse everywhere."""
from __future__ import annotations

import pytest

from shared.config import ManagedService
from shared.diagnosis.collection import database_id
from shared.gcp.identifiers import LocationalName, SqlInstance, is_connection_name


@pytest.mark.parametrize(("name", "project", "region", "instance", "db"), [
    ("my-project:us-central1:orders", "my-project", "us-central1", "orders", "my-project:orders"),
    ("example.com:my-project:europe-west1:orders-db", "example.com:my-project", "europe-west1", "orders-db",
     "example.com:my-project:orders-db"),
])
def test_connection_names_count_from_the_right(name, project, region, instance, db):
    sql = SqlInstance.parse(name)
    assert (sql.project, sql.region, sql.instance) == (project, region, instance)
    assert sql.connection_name == name
    assert sql.database_id == db == database_id(name)


@pytest.mark.parametrize("bad", ["orders", "p:orders", "a:b:c:d:e", "p::orders", "P:us-central1:x", "p:r:i/x"])
def test_malformed_connection_names_are_refused_by_name(bad):
    assert not is_connection_name(bad)
    with pytest.raises(ValueError, match="not a Cloud SQL connection name"):
        SqlInstance.parse(bad)


def test_config_accepts_a_domain_scoped_connection_name():
    service = ManagedService(name="projects/example.com:my-project/locations/us-central1/services/backend",
                             cloudsql_instances=("example.com:my-project:us-central1:orders",))
    assert service.cloudsql_instances == ("example.com:my-project:us-central1:orders",)


def test_resource_names_with_a_domain_scoped_project():
    name = LocationalName.parse("projects/example.com:my-project/locations/us-central1/services/backend")
    assert (name.project, name.location, name.kind, name.id) == (
        "example.com:my-project", "us-central1", "services", "backend")
    with pytest.raises(ValueError, match="not a resource name"):
        LocationalName.parse("projects/p/services/backend")
