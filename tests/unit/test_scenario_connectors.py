"""The `connectors:` scenario section: validation, and seeding the VPC Access stand-in."""
from __future__ import annotations

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from sandbox.scenario_connectors import ConnectorSection, ConnectorSpec, connector_name, seed_connectors
from sandbox.standins.vpcaccess import VpcAccessStandIn


class Section(BaseModel):
    """The section as Scenario declares it: `connectors: ConnectorSection = ()`."""

    connectors: ConnectorSection = ()


YAML = """
connectors:
  - {name: backend-conn, machine_type: e2-micro, min_instances: 2, max_instances: 3, state: READY}
  - name: shared-conn
    machine_type: e2-standard-4
    min_instances: 3
    max_instances: 10
    state: UPDATING
    ip_cidr_range: 10.9.0.0/28
"""


def test_section_loads_from_yaml_with_defaults():
    section = Section.model_validate(yaml.safe_load(YAML))
    first, second = section.connectors
    assert first == ConnectorSpec(name="backend-conn", max_instances=3)
    assert (first.network, first.ip_cidr_range, first.min_throughput) == ("default", "10.8.0.0/28", None)
    assert (second.machine_type, second.state, second.max_instances) == ("e2-standard-4", "UPDATING", 10)
    assert Section().connectors == ()


def test_defaults_are_gclouds():
    spec = ConnectorSpec(name="c1")
    assert (spec.machine_type, spec.min_instances, spec.max_instances, spec.state) == ("e2-micro", 2, 10, "READY")


@pytest.mark.parametrize("fields, words", [
    ({"name": "projects/p/locations/l/connectors/c"}, "not a connector id"),
    ({"name": "Backend"}, "not a connector id"),
    ({"name": "a" * 26}, "not a connector id"),
    ({"machine_type": "n1-standard-1"}, "machine_type"),
    ({"min_instances": 1}, "min_instances"),
    ({"max_instances": 11}, "max_instances"),
    ({"min_instances": 5, "max_instances": 5}, "must be lower than"),
    ({"state": "SLEEPING"}, "state"),
    ({"ip_cidr_range": "10.8.0.0/24"}, "/28"),
    ({"ip_cidr_range": "not-a-range"}, "not a CIDR"),
    ({"min_throughput": 500, "max_throughput": 300}, "min_throughput"),
    ({"colour": "red"}, "colour"),
    ({"project": "Net_Host"}, "not a project id"),
    ({"project": "projects/net-host-prod"}, "not a project id"),
])
def test_invalid_specs_are_refused(fields, words):
    with pytest.raises(ValidationError, match=words):
        ConnectorSpec.model_validate({"name": "backend-conn", **fields})


def test_repeated_names_are_refused():
    with pytest.raises(ValidationError, match="connector names repeat"):
        Section.model_validate({"connectors": [{"name": "c1"}, {"name": "c1", "max_instances": 4}]})


def test_seed_connectors_builds_full_names_and_seeds_the_standin():
    standin = VpcAccessStandIn()  # seeding needs no server
    specs = Section.model_validate(yaml.safe_load(YAML)).connectors
    names = seed_connectors(standin, "demo-project", "us-central1", specs)
    assert names == (connector_name("demo-project", "us-central1", "backend-conn"),
                     "projects/demo-project/locations/us-central1/connectors/shared-conn")
    assert standin.connector(names[0]) == {
        "name": names[0], "network": "default", "ipCidrRange": "10.8.0.0/28", "state": "READY",
        "minInstances": 2, "maxInstances": 3, "machineType": "e2-micro"}
    assert standin.connector(names[1])["state"] == "UPDATING"


def test_a_connector_in_a_shared_vpc_host_project_is_seeded_there():
    """The connector lives in the host project ("Connect to a Shared VPC network"): its full name
    names that project, not the scenario's; the same short id may exist in both."""
    standin = VpcAccessStandIn()
    specs = Section.model_validate({"connectors": [{"name": "shop-conn", "project": "net-host-prod"},
                                                   {"name": "shop-conn"}]}).connectors
    names = seed_connectors(standin, "shop-prod", "us-central1", specs)
    assert names == ("projects/net-host-prod/locations/us-central1/connectors/shop-conn",
                     "projects/shop-prod/locations/us-central1/connectors/shop-conn")
    assert standin.connector(names[0])["name"] == names[0]
