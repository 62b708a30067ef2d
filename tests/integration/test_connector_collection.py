"""A VPC Access connector read refused, through collection against the VPC Access stand-in: only
NOT_FOUND says the connector does not exist (`connector_not_found`, which bad_revision and the sweep
read as a fact about the path); PERMISSION_DENIED says nothing of whether it exists ("Permission ...
denied on resource (or it may not exist)", IAM's refusal, sandbox/standins/vpcaccess.py
`permission_denied`), so it is a gap in the evidence, named, and never a connector gone."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter

SERVICE = "projects/demo-project/locations/us-central1/services/backend"
CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"


def _collected(anchor):
    readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(), logging=CloudLoggingAdapter(),
                      vpcaccess=VpcAccessAdapter())
    return collect(SERVICE, anchor, readers, DiagnosisSettings(), anchor + timedelta(minutes=2))


@pytest.mark.parametrize("named", [True, False], ids=["IAM's refusal naming the permission", "bare refusal"])
def test_a_connector_read_refused_for_permission_is_a_gap_never_a_connector_gone(standin_env, seed_scenario,
                                                                                  anchor, named):
    seed_scenario("connector_saturation")
    standin_env.vpcaccess.faults.deny(method="GetConnector", named=named)

    bundle = _collected(anchor)

    assert bundle.connector_not_found is None
    assert bundle.connector is None
    [gap] = [g for g in bundle.gaps if "vpcaccess.connectors.get" in g]
    assert "PERMISSION_DENIED" in gap, bundle.gaps


def test_a_connector_deleted_is_named_as_not_found(standin_env, seed_scenario, anchor):
    seed_scenario("connector_saturation")
    standin_env.vpcaccess.delete_connector(CONNECTOR)

    bundle = _collected(anchor)

    assert bundle.connector_not_found == CONNECTOR and bundle.connector is None
