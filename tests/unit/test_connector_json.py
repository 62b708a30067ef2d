"""A connector as the VPC Access API answers it, read into the model: pure JSON, no I/O."""
from __future__ import annotations

import pytest

from shared.gcp.vpcaccess import connector_from_json

NAME = "projects/host/locations/us-central1/connectors/shared-conn"


@pytest.mark.parametrize("throughput, instances", [
    ({"minThroughput": 200, "maxThroughput": 300}, (2, 3)),
    ({"minThroughput": 200, "maxThroughput": 1000}, (2, 10)),
    ({"minThroughput": "300", "maxThroughput": "700"}, (3, 7)),
])
def test_a_connector_sized_by_throughput_only_has_the_instances_its_throughput_buys(throughput, instances):
    connector = connector_from_json({"name": NAME, "state": "READY", **throughput})

    assert (connector.min_instances, connector.max_instances) == instances


def test_instances_given_take_precedence_over_throughput():
    # "If both max-throughput and max-instances are provided, max-instances takes precedence."
    connector = connector_from_json({"name": NAME, "state": "READY", "minInstances": 2, "maxInstances": 5,
                                     "minThroughput": 200, "maxThroughput": 300})

    assert (connector.min_instances, connector.max_instances) == (2, 5)


def test_neither_given_is_the_create_default():
    # gcloud `connectors create`: --min-instances default 2, --max-instances default 10.
    connector = connector_from_json({"name": NAME, "state": "READY"})

    assert (connector.min_instances, connector.max_instances) == (2, 10)
