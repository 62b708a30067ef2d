"""The rollback target's own connector, read against the stand-ins through the real adapters: its GET, and on the
path that picks a target its `connector/instances`, `connector/cpu/utilizations` and both byte counters
(`received_bytes_count`, `sent_bytes_count`), each one ListTimeSeries call on the
connector's own project (a Shared VPC host's, where its metrics are: the `vpc_access_connector` resource's
`project_id`, cloud.google.com/monitoring/api/resources#tag_vpc_access_connector). The four queries are the
path connector's (docs/api-contracts.md, "The queries of one collection") with the target connector's name and project: a
change to them shows here, beside the table. Scenario rollback_target_host_connector_at_ten_after_move_to_direct_egress.
"""
from __future__ import annotations

from datetime import timedelta

from sandbox.scenarios import resolve_scenario, seed
from shared.config import DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter

from tests.contracts.test_contracts import QUICK, _check, _recorded
from tests.integration.test_secretmanager_adapter import FIVE_XX

ORDERS = "projects/shop-prod/locations/us-central1/services/orders"


def test_the_target_connector_fullness_queries(standin_env, anchor):
    seed(standin_env, resolve_scenario("rollback_target_host_connector_at_ten_after_move_to_direct_egress"), anchor)
    readers = Readers(run=CloudRunAdapter(policy=QUICK), monitoring=CloudMonitoringAdapter(policy=QUICK),
                      logging=CloudLoggingAdapter(policy=QUICK), vpcaccess=VpcAccessAdapter(policy=QUICK))
    collect(ORDERS, anchor, readers, DiagnosisSettings(), anchor + timedelta(minutes=2), alert=FIVE_XX)
    target = [r for r in _recorded(standin_env.monitoring) if 'resource.type = "vpc_access_connector"'
              in r["request"].get("filter", "")]
    assert len(target) == 4, target
    _check("monitoring_target_connector", target, ordered=False)
