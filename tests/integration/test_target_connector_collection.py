"""The rollback target's own connector, read through collection against the VPC Access stand-in
(collection.target_connector_name, bundle.target_connector): a deploy that moved the service off a
connector leaves the revision before naming it, and the migration it was made for may have deleted it.
The stand-in answers a connector it does not hold as VPC Access does, 404 NOT_FOUND
(sandbox/standins/vpcaccess.py), and the adapter names the code: only NOT_FOUND is a connector gone."""
from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.diagnosis.diagnose import diagnose
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from shared.remediation.planning import plan

from tests.integration.test_secretmanager_adapter import FIVE_XX

S = DiagnosisSettings()
ORDERS = "projects/ord-prod/locations/us-east1/services/orders"
OLD_CONN = "projects/ord-prod/locations/us-east1/connectors/ord-conn"
NEW_CONN = "projects/ord-prod/locations/us-east1/connectors/ord-conn-2"


def _collected(service, anchor, alert=None, reach_back=None):
    readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(), logging=CloudLoggingAdapter(),
                      vpcaccess=VpcAccessAdapter())
    return collect(service, anchor, readers, S, anchor + timedelta(minutes=2), alert=alert, reach_back=reach_back)


def test_a_rollback_target_on_a_deleted_connector_is_read_as_not_found(standin_env, seed_scenario, anchor):
    seed_scenario("rollback_target_connector_deleted_after_migration")

    bundle = _collected(ORDERS, anchor)

    read = bundle.target_connector
    assert (read.name, read.revisions, read.connector, read.refusal) == (OLD_CONN, ("orders-00211-jel",), None,
                                                                          "NOT_FOUND")
    assert bundle.connector.name == NEW_CONN and bundle.connector_not_found is None
    result = diagnose(bundle, S)
    assert result.known_good_revision is None and plan(result, bundle, S).action is None, result.summary
    assert "ord-conn" in result.no_target_reason and "NOT_FOUND" in result.no_target_reason


def test_a_rollback_target_on_a_connector_that_exists_is_rolled_back_to(standin_env, seed_scenario, anchor):
    seed_scenario("deploy_moved_to_new_connector_pg_hba_not_admitted")

    bundle = _collected(ORDERS, anchor)

    assert bundle.target_connector.connector.name == OLD_CONN and bundle.target_connector.connector.state == "READY"
    result = diagnose(bundle, S)
    assert result.known_good_revision == "orders-00211-jel", result.summary


def test_a_target_connector_read_refused_for_permission_is_not_known(standin_env, seed_scenario, anchor):
    seed_scenario("deploy_moved_to_new_connector_pg_hba_not_admitted")
    standin_env.vpcaccess.faults.deny(method="GetConnector")

    bundle = _collected(ORDERS, anchor)

    assert bundle.target_connector.refusal == "PERMISSION_DENIED" and bundle.target_connector.connector is None
    assert any("rollback's candidate target's connector" in g and "PERMISSION_DENIED" in g for g in bundle.gaps)
    result = diagnose(bundle, S)
    assert result.known_good_revision is None, result.summary


def test_no_target_read_when_the_target_shares_the_serving_connector(standin_env, seed_scenario, anchor):
    seed_scenario("bad_revision")

    bundle = _collected("projects/demo-project/locations/us-central1/services/backend", anchor)

    assert bundle.target_connector is None
    assert not any("candidate target's connector" in g for g in bundle.gaps)


def test_a_rollback_target_on_a_full_host_connector_is_read_from_the_host_project(standin_env, seed_scenario, anchor):
    """The target's connector in a Shared VPC host project: its GET and its fullness' two reads name the host
    project, where its metrics are, and a connector at its max with its CPU hot is no target."""
    seed_scenario("rollback_target_host_connector_at_ten_after_move_to_direct_egress")

    bundle = _collected("projects/shop-prod/locations/us-central1/services/orders", anchor, alert=FIVE_XX)

    read = bundle.target_connector
    assert read.name == "projects/net-host-prod/locations/us-central1/connectors/shop-conn"
    assert read.connector.state == "READY" and read.connector.max_instances == 10
    assert read.instances is not None and read.cpu is not None
    assert all(q.query.startswith("projects/net-host-prod") or "net-host-prod" in q.query
               for q in (read.instances, read.cpu)), (read.instances.query, read.cpu.query)
    result = diagnose(bundle, S)
    assert result.known_good_revision is None and plan(result, bundle, S).action is None, result.summary
    assert "shop-conn" in result.no_target_reason and "cannot grow" in result.no_target_reason


def test_a_rollback_target_on_a_connector_with_room_is_rolled_back_to(standin_env, seed_scenario, anchor):
    seed_scenario("rollback_target_connector_busy_under_its_max_after_connector_move")

    bundle = _collected("projects/shop-prod/locations/us-central1/services/orders", anchor, alert=FIVE_XX)

    assert bundle.target_connector.instances is not None and bundle.target_connector.cpu is not None
    result = diagnose(bundle, S)
    assert result.known_good_revision == "orders-00031-kel", result.summary


def test_the_sweep_reads_the_target_connector_without_its_fullness(standin_env, seed_scenario, anchor):
    """The verification sweep (no alert, its reach_back) reads the target's connector for its state alone."""
    seed_scenario("rollback_target_host_connector_at_ten_after_move_to_direct_egress")

    bundle = _collected("projects/shop-prod/locations/us-central1/services/orders", anchor,
                        reach_back=anchor - timedelta(seconds=S.lookback_seconds))

    read = bundle.target_connector
    assert read.connector.state == "READY"
    assert (read.instances, read.cpu, read.fullness_refusal) == (None, None, "")


def test_an_operators_rollback_with_no_revision_named_judges_the_target_connector_full(standin_env, seed_scenario,
                                                                                        anchor):
    """shared/commands/traffic.py's rollback_traffic with no revision named, and the on-demand diagnose, collect
    with no alert (shared/commands/diagnose.read_diagnosis: its recent_seconds as the window): the target's
    connector's fullness is read there too, and a full one is no target, as on the alert path."""
    seed_scenario("rollback_target_connector_saturated_by_neighbour_after_connector_move")
    now = anchor + timedelta(minutes=2)
    readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(), logging=CloudLoggingAdapter(),
                      vpcaccess=VpcAccessAdapter())

    bundle = collect("projects/shop-prod/locations/us-central1/services/orders",
                     now - timedelta(seconds=S.recent_seconds), readers, S, now)

    assert bundle.target_connector.instances is not None and bundle.target_connector.cpu is not None
    result = diagnose(bundle, S)
    assert result.known_good_revision is None and plan(result, bundle, S).action is None, result.summary
    assert "cannot grow" in result.no_target_reason, result.no_target_reason


@pytest.mark.parametrize("code", [grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAVAILABLE])
def test_a_target_connector_whose_fullness_is_refused_holds_the_rollback(standin_env, seed_scenario, anchor, code):
    """The host project's Monitoring refuses (no monitoring.timeSeries.list there) or never answers: a gap, not
    raised, its code kept, and no rollback onto a connector whose fullness is not known."""
    seed_scenario("rollback_target_connector_busy_under_its_max_after_connector_move")
    standin_env.monitoring.faults.fail_next(20, code, method="ListTimeSeries", about='connector_name = "shop-conn"')

    bundle = _collected("projects/shop-prod/locations/us-central1/services/orders", anchor, alert=FIVE_XX)

    read = bundle.target_connector
    assert read.connector.state == "READY" and read.fullness_refusal == code.name
    assert any("candidate target's connector" in g and code.name in g for g in bundle.gaps), bundle.gaps
    result = diagnose(bundle, S)
    assert result.known_good_revision is None and plan(result, bundle, S).action is None, result.summary
    assert "monitoring.timeSeries.list" in result.no_target_reason, result.no_target_reason
