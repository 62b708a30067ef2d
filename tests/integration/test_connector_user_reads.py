"""Who is behind a connector, read by the sweep and by an approve, when Cloud Run faults.

The sweep judging a connector's scale and an approve of a connector alert's proposal each read every managed
service (collection.users_of: GetService and ListRevisions) to know who is behind the connector now. A transient
fault (UNAVAILABLE past the call's own retries) was raised: the sweep deferred the judgement without a word, sweep
after sweep, past its deadline too, and the approve was answered by the fault alone. Now the read is made again
while the step's time allows (users_of's `retry`); one that never answers is named: the sweep's verdict is unclear
on it (escalated at the deadline, never verified), and the approve is escalated, nothing written, the proposal open.

On the stand-ins through the real adapters (`fail_next`), as the other fault tests.
"""
from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from sandbox.scenarios import resolve_scenario, seed
from shared.config import parse_config
from shared.diagnosis.collection import READS_AGAIN
from shared.remediation.records import PROPOSALS
from tests.integration.test_commands import command
from tests.integration.test_remediation import (CONNECTOR, REPORTS, SERVICE, _reports_behind_the_connector,
                                                action_state, connector_recovery)
from tests.integration.world import FAST, World

pytestmark = pytest.mark.emulator

# Every attempt of one call (its own retries): the read made once more answers.
ONE_READ = FAST.attempts
# Every attempt of every read users_of makes of a service: it never answers.
EVERY_READ = FAST.attempts * (1 + READS_AGAIN)


def _scaled(standin_env, pubsub, project_id, anchor) -> World:
    """backend-conn scaled for backend; reports, clean, is behind it too; backend recovered since."""
    world = World(standin_env, pubsub, project_id, anchor, services=(SERVICE, REPORTS),
                  bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": True}]})
    world.seed("connector_saturation")
    assert world.handle(world.alert("connector_saturation")).status.value == "applied"
    # reports starts serving through the connector after the scale: a clean user behind it at the alert would
    # hold the service alert's scale back (scope.service_peers_held).
    _reports_behind_the_connector(world, None)
    world.published()
    connector_recovery(world)
    return world


def test_the_sweep_reads_a_service_behind_the_connector_again_after_a_transient_fault(
        standin_env, firestore, pubsub, project_id, anchor):
    """reports' GetService fails UNAVAILABLE on every attempt of one call, then answers. Before, the fault was
    raised and the sweep deferred the judgement (no outcome); now the read is made again and the scale judged."""
    world = _scaled(standin_env, pubsub, project_id, anchor)
    world.at(14)
    standin_env.run.faults.fail_next(ONE_READ, grpc.StatusCode.UNAVAILABLE, method="GetService",
                                     about=REPORTS)

    outcomes = world.command({"command": "sweep"})

    assert [o.status.value for o in outcomes] == ["verified"], [o.reason for o in outcomes]
    assert "reports" in outcomes[0].reason, outcomes[0].reason


def test_a_service_behind_the_connector_that_never_answers_leaves_the_scale_unclear_and_named_at_its_deadline(
        standin_env, firestore, pubsub, project_id, anchor):
    """reports' GetService never answers the sweep. Before, every sweep deferred the judgement, past its deadline
    too, and nobody heard of it. Now the scale is unclear on reports (never verified, never undone): it waits,
    and by its deadline it is escalated naming reports and the fault."""
    world = _scaled(standin_env, pubsub, project_id, anchor)
    world.at(14)
    standin_env.run.faults.fail_next(EVERY_READ, grpc.StatusCode.UNAVAILABLE, method="GetService",
                                     about=REPORTS)
    assert world.command({"command": "sweep"}) == []          # before the deadline: a later sweep reads again

    world.at(20)
    standin_env.run.faults.fail_next(EVERY_READ, grpc.StatusCode.UNAVAILABLE, method="GetService",
                                     about=REPORTS)
    [outcome] = world.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated", outcome.reason
    assert "reports: not answered after 3 read(s) of Cloud Run" in outcome.reason, outcome.reason
    assert "UNAVAILABLE" in outcome.reason, outcome.reason
    assert action_state(world) == "escalated"
    assert world.standins.vpcaccess.count("PatchConnector") == 1       # the scale-up alone, never undone


# orders' reads, aimed at by name: an approve looks up every managed service at once, in no fixed order.
ORDERS = "services/orders"


def _proposed(standin_env, pubsub, project_id, anchor) -> tuple[World, str]:
    """A connector alert's proposal to scale shared-conn (orders and payments behind it), awaiting approval."""
    scenario = resolve_scenario("connector_alert_shared")
    shared = "projects/shop-prod/locations/europe-west1/connectors/shared-conn"
    data = scenario.config_data("projects/x/topics/x", "enforce")
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    world.config = parse_config({**data, "outcomes_topic": world.outcomes_topic, "operators": ["alice@example.com"],
                                 "bounds": {"connectors": [{"name": shared, "allow_one_way": False}]}})
    seed(standin_env, scenario, anchor)
    proposed = world.handle(world.alert("connector_alert_shared"))
    assert proposed.status.value == "proposed", proposed.reason
    return world, proposed.action.proposal_id


def test_an_approve_reads_a_service_behind_the_connector_again_after_a_transient_fault(
        standin_env, firestore, pubsub, project_id, anchor):
    """orders' GetService fails UNAVAILABLE on every attempt of one call at the approve, then answers. Before, the
    approve raised the fault; now it reads again and applies the scale."""
    world, proposal = _proposed(standin_env, pubsub, project_id, anchor)
    standin_env.run.faults.fail_next(ONE_READ, grpc.StatusCode.UNAVAILABLE, method="GetService", about=ORDERS)

    applied = command(world, "approve", params={"proposal_id": proposal}, reason="scale it")

    assert applied.status.value == "applied", applied.reason
    assert standin_env.vpcaccess.count("PatchConnector") == 1


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED])
def test_an_approve_whose_read_of_a_service_never_answers_is_escalated_and_writes_nothing(
        standin_env, firestore, pubsub, project_id, anchor, code):
    """orders' GetService never answers the approve. Before, the approve raised the fault, a bare exception. Now
    it is answered `escalated`, naming orders and the fault; nothing is written; the proposal stays open."""
    world, proposal = _proposed(standin_env, pubsub, project_id, anchor)
    standin_env.run.faults.fail_next(EVERY_READ, code, method="GetService", about=ORDERS)

    answer = command(world, "approve", params={"proposal_id": proposal}, reason="scale it")

    assert answer.status.value == "escalated", answer.reason
    assert "services/orders: not answered after 3 read(s) of Cloud Run" in answer.reason, answer.reason
    assert code.name in answer.reason and "approve it again once Cloud Run answers" in answer.reason, answer.reason
    assert standin_env.vpcaccess.count("PatchConnector") == 0
    assert world.state.get_record(PROPOSALS, proposal)["state"] == "open"


def test_a_connector_alert_reads_each_users_service_once(standin_env, firestore, pubsub, project_id, anchor):
    """A connector alert finds who is behind the connector (GetService and ListRevisions of each managed service),
    then diagnoses each user from that read (collect's `known`). Before, each user's service and revisions were
    read a second time by its diagnosis: four GetService and four ListRevisions for two users, now two of each."""
    scenario = resolve_scenario("connector_alert_shared")
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    world.seed("connector_alert_shared")

    world.handle(world.alert("connector_alert_shared"))

    managed = len(world.config.services)
    assert (standin_env.run.count("GetService"), standin_env.run.count("ListRevisions")) == (managed, managed)
