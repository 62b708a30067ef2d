"""A connector or Cloud SQL alert's users, each collected and diagnosed at once, on the stand-ins.

Once a connector or Cloud SQL alert has found the managed services behind it (scope.users, at once), each one's
evidence was collected and diagnosed one after another: seven users cost seven collections out of the alert's bounded
time. Now they are diagnosed at once on the peers' pool (scope.diagnose_users), the answers taken in the config's
order, each user started only while its collection still ends in the alert's time. The stand-ins prove the overlap
with no clock (Faults.meet: each user's request_count read is held until the others' have arrived; made one after
another they never meet, and each is refused FAILED_PRECONDITION saying so). The verdict is the one made before.
"""
from __future__ import annotations

import grpc
import pytest

from sandbox.scenarios import resolve_scenario, seed, with_copies
from shared.config import parse_config
from shared.diagnosis import collection
from shared.gcp.endpoints import CallPolicy
from shared.remediation.sweep_budget import ALERT_AFTER_PEERS_SECONDS, FUNCTION_TIMEOUT_ENV
from tests.integration.world import World

pytestmark = pytest.mark.emulator

REQUEST_COUNT = "run.googleapis.com/request_count"
# Long enough for three collections started at once to reach their request_count read on a loaded machine (5 s
# was not, on two busy cores); a collection made alone waits this long before it is refused.
MEET_WAIT = 30.0


def _three_users(standin_env, pubsub, project_id, anchor) -> World:
    """connector_alert_shared with payments copied as refunds: orders, payments and refunds behind shared-conn."""
    scenario = with_copies(resolve_scenario("connector_alert_shared"), "payments", ("refunds",))
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    data = scenario.config_data(world.outcomes_topic)
    region = data["services"][0]["name"].split("/")[3]
    data["services"].append({"name": f"projects/{scenario.project}/locations/{region}/services/refunds"})
    world.config = world.config.model_copy(update={"services": parse_config(data).services})
    seed(standin_env, scenario, anchor)
    return world


def _short(world: World) -> tuple[str, ...]:
    return tuple(m.name.rsplit("/", 1)[-1] for m in world.config.services)


def _quoted(world: World) -> tuple[str, ...]:
    """Each user's name as a Monitoring filter quotes it (resource.labels.service_name = "orders")."""
    return tuple(f'"{name}"' for name in _short(world))


def test_a_connector_alerts_three_users_are_diagnosed_at_once(standin_env, firestore, pubsub, project_id, anchor):
    """orders', payments' and refunds' request_count reads meet: the scale is proposed as before, no read refused.
    Before, orders' read waited alone and was refused, then payments', then refunds'."""
    world = _three_users(standin_env, pubsub, project_id, anchor)
    users = _quoted(world)
    assert len(users) == 3
    standin_env.monitoring.faults.meet("ListTimeSeries", users, mentioning=REQUEST_COUNT, wait=MEET_WAIT)

    outcome = world.handle(world.alert("connector_alert_shared"))

    assert outcome.status.value in ("proposed", "applied", "dry_run"), outcome.reason
    assert outcome.diagnosis.signature == "connector_saturation", outcome.reason
    assert "FAILED_PRECONDITION" not in outcome.model_dump_json(), outcome.reason
    # Each user's evidence read once, its service not read again (Users.read).
    assert standin_env.run.count("GetService") == 3, standin_env.run.count("GetService")


def test_a_cloud_sql_alerts_users_are_diagnosed_at_once(standin_env, firestore, pubsub, project_id, anchor):
    """ledger's and statements' request_count reads meet: the database alert is escalated as before, its users'
    evidence whole. Before, ledger's read waited alone and was refused, and the verdict was made without it."""
    world = World.for_scenario(resolve_scenario("cloudsql_down_shared"), standin_env, pubsub, project_id, anchor)
    world.seed("cloudsql_down_shared")
    standin_env.monitoring.faults.meet("ListTimeSeries", _quoted(world), mentioning=REQUEST_COUNT, wait=MEET_WAIT)

    outcome = world.handle(world.alert("cloudsql_down_shared"))

    assert outcome.status.value == "escalated", outcome.reason
    assert outcome.diagnosis.signature == "database_unreachable", outcome.reason
    assert "FAILED_PRECONDITION" not in outcome.model_dump_json(), outcome.reason


def test_one_users_refusal_stays_its_own(standin_env, firestore, pubsub, project_id, anchor):
    """Every Monitoring read of orders is refused PERMISSION_DENIED while payments' and refunds' request_count reads
    meet: orders alone is judged on what it lacks (inconclusive), as one user's refused reads were before, and the
    other two are read whole, each user's verdict in the config's order. Before, payments' and refunds' reads each
    waited alone and were refused too."""
    world = _three_users(standin_env, pubsub, project_id, anchor)
    standin_env.monitoring.faults.fail_next(100, grpc.StatusCode.PERMISSION_DENIED, method="ListTimeSeries",
                                            about='"orders"')
    standin_env.monitoring.faults.meet("ListTimeSeries", ('"payments"', '"refunds"'), mentioning=REQUEST_COUNT,
                                       wait=MEET_WAIT)

    outcome = world.handle(world.alert("connector_alert_shared"))

    assert "FAILED_PRECONDITION" not in outcome.model_dump_json(), outcome.reason
    verdicts = [(e.query.rsplit("/", 1)[-1], e.observed.split(" ", 1)[0]) for e in outcome.diagnosis.evidence
                if e.query.startswith("diagnosis of ")]
    assert verdicts == [("orders", "inconclusive"), ("payments", "connector_saturation"),
                        ("refunds", "connector_saturation")], verdicts


def test_users_whose_evidence_would_not_fit_the_alerts_time_are_named_not_read(
        standin_env, firestore, pubsub, project_id, anchor, monkeypatch):
    """The alert's time leaves less than one user's collection at its longest: no user is diagnosed, each is named
    as not read, the alert escalated and nothing written. Before, every user was read however long it took, and the
    scale proposed as if time allowed it."""
    longest_collection = collection.SEQUENTIAL_ROUNDS * CallPolicy().longest_run
    monkeypatch.setenv(FUNCTION_TIMEOUT_ENV, str(ALERT_AFTER_PEERS_SECONDS + longest_collection - 1))
    world = _three_users(standin_env, pubsub, project_id, anchor)

    outcome = world.handle(world.alert("connector_alert_shared"))

    assert outcome.status.value == "escalated", outcome.reason
    assert world.writes() == 0
    assert all(name in outcome.reason for name in _short(world)), outcome.reason
    assert "time" in outcome.reason, outcome.reason
    assert standin_env.monitoring.count("ListTimeSeries") == 0   # no user's evidence read
