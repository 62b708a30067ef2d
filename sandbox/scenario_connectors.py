"""The `connectors:` section of a scenario: Serverless VPC Access connectors to seed.

    connectors:
      - {name: backend-conn, machine_type: e2-micro, min_instances: 2, max_instances: 3, state: READY}

`name` is the short connector id; the full name is built from the scenario's project (or the
connector's own `project`, a Shared VPC host project) and region. Values are checked against what the API can hold (the VPC Access v1 reference and gcloud's `connectors update`), so a scenario cannot
seed a connector the real service would never show. Wire it into `Scenario` as
`connectors: ConnectorSection = ()` and call `seed_connectors` from `seed`.
"""
from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Annotated, Iterable, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from sandbox.standins.vpcaccess import VpcAccessStandIn

# The API's connector id: lowercase letters, digits and hyphens, 1-25 characters.
_CONNECTOR_ID = re.compile(r"^[a-z][-a-z0-9]{0,23}[a-z0-9]$")
# A project id: 6-30 lowercase letters, digits and hyphens, starting with a letter, not ending in a
# hyphen (Resource Manager, "Creating and managing projects").
_PROJECT_ID = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")

MachineType = Literal["e2-micro", "f1-micro", "e2-standard-4"]
ConnectorState = Literal["READY", "CREATING", "DELETING", "ERROR", "UPDATING"]


class ConnectorSpec(BaseModel):
    """One connector as the scenario describes it (defaults: gcloud's create defaults)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str                                   # short id, e.g. backend-conn
    # The project the connector lives in, when not the scenario's own: a Shared VPC host project
    # ("Connect to a Shared VPC network", Cloud Run docs: the connector is created in the host project
    # and the service names it as projects/HOST_PROJECT_ID/locations/REGION/connectors/CONNECTOR).
    project: str | None = None
    machine_type: MachineType = "e2-micro"
    min_instances: int = Field(default=2, ge=2, le=9)
    max_instances: int = Field(default=10, ge=3, le=10)
    state: ConnectorState = "READY"
    network: str = "default"
    ip_cidr_range: str = "10.8.0.0/28"
    min_throughput: int | None = Field(default=None, ge=100)
    max_throughput: int | None = Field(default=None, le=16000)

    @model_validator(mode="after")
    def _check(self) -> ConnectorSpec:
        if not _CONNECTOR_ID.match(self.name):
            raise ValueError(f"name {self.name!r} is not a connector id (1-25 of a-z, 0-9, '-'; "
                             f"starts with a letter; the short id, not projects/...)")
        if self.project is not None and not _PROJECT_ID.match(self.project):
            raise ValueError(f"project {self.project!r} is not a project id")
        if self.min_instances >= self.max_instances:
            raise ValueError(f"min_instances ({self.min_instances}) must be lower than "
                             f"max_instances ({self.max_instances})")
        if self.min_throughput and self.max_throughput and self.min_throughput >= self.max_throughput:
            raise ValueError(f"min_throughput ({self.min_throughput}) must be lower than "
                             f"max_throughput ({self.max_throughput})")
        _check_cidr(self.ip_cidr_range)
        return self


def _check_cidr(value: str) -> None:
    try:
        network = ipaddress.ip_network(value)
    except ValueError:
        raise ValueError(f"ip_cidr_range {value!r} is not a CIDR range") from None
    if network.version != 4 or network.prefixlen != 28:
        raise ValueError(f"ip_cidr_range must be an IPv4 /28, got {value!r}")


def _unique_names(specs: tuple[ConnectorSpec, ...]) -> tuple[ConnectorSpec, ...]:
    names = [(s.project, s.name) for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"connector names repeat: {names}")
    return specs


# The field type for `Scenario.connectors`: a list of specs with distinct names.
ConnectorSection = Annotated[tuple[ConnectorSpec, ...], AfterValidator(_unique_names)]


def connector_name(project: str, region: str, connector: str) -> str:
    return f"projects/{project}/locations/{region}/connectors/{connector}"


def seed_connectors(vpcaccess_standin: VpcAccessStandIn, project: str, region: str,
                    specs: Iterable[ConnectorSpec]) -> tuple[str, ...]:
    """Adds each connector to the stand-in; returns their full names, in order."""
    names = []
    for spec in specs:
        name = connector_name(spec.project or project, region, spec.name)
        vpcaccess_standin.add_connector(
            name, machine_type=spec.machine_type, min_instances=spec.min_instances,
            max_instances=spec.max_instances, state=spec.state, network=spec.network,
            ip_cidr_range=spec.ip_cidr_range, min_throughput=spec.min_throughput,
            max_throughput=spec.max_throughput)
        names.append(name)
    return tuple(names)
