"""One failure, several alerting policies, on real parts (the stand-ins over gRPC, the Firestore and Pub/Sub
emulators). A service usually has several policies: a 5xx share, a p99 latency, an uptime check, its connector's
CPU, its Cloud SQL instance's state. One failure fires several of them within a minute. An incident is "a record of
when the condition of an alerting policy is met" (cloud.google.com/monitoring/alerts/incidents-events), so each policy
opens its own, notified with its own incident_id (that one condition met on two resources opens one incident for
each is UNCONFIRMED there: the doc does not say it); the notifications are delivered concurrently to different
instances, in any order and at least once (Pub/Sub's at-least-once delivery).

What every set must show: at most one rollback of the service and one scale of the connector; every notification
answered with words a person can follow (the one that acted names its action, the others name that action and its
incident and that they were held for it), and never a contradictory pair (one `healthy` while another acts, one
saying nothing was done while another acted).

The deliveries that race are let into the gate together (a barrier at Gate.execute), each with the target as it
read it before any write: what instances that received the notifications within the same second do.
"""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest

from sandbox.scenarios import AlertSpec, resolve_scenario
from shared.remediation import guardrails
from tests.integration.world import World, concurrently, event

pytestmark = pytest.mark.emulator

CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"
FIVE_XX, LATENCY, UPTIME, CONNECTOR_CPU = "0.fivexxpolicy", "0.latencypolicy", "0.uptimepolicy", "0.connectorcpu"

LATENCY_ALERT = {"policy_name": "backend p99 latency", "condition_name": "p99 latency above 2 s",
                 "metric_type": "run.googleapis.com/request_latencies",
                 "resource": {"type": "cloud_run_revision", "labels": {"service_name": "backend"}},
                 "observed_value": "2400", "threshold_value": "2000"}
CONNECTOR_CPU_ALERT = {"policy_name": "backend-conn CPU p99 above 80%",
                       "condition_name": "VPC connector CPU utilization p99 > 0.8",
                       "metric_type": "vpcaccess.googleapis.com/connector/cpu/utilizations",
                       "resource": {"type": "vpc_access_connector", "labels": {"connector_name": "backend-conn"}},
                       "observed_value": "0.95", "threshold_value": "0.8"}


def uptime_alert(scenario_name: str, service: str) -> dict[str, Any]:
    """An uptime check on the service's run.app URL, as the scenario's Cloud Run lists it."""
    host = resolve_scenario(scenario_name).run_app_url(service).removeprefix("https://")
    return {"policy_name": f"{service} uptime", "condition_name": f"Uptime check on {service} failing",
            "metric_type": "monitoring.googleapis.com/uptime_check/check_passed",
            "resource": {"type": "uptime_url", "labels": {"host": host}},
            "metric_labels": {"check_id": f"{service}-uptime"}, "comparison": "below",
            "observed_value": "0", "threshold_value": "1"}


def message(world: World, scenario_name: str, message_id: str, incident_id: str,
            alert: dict[str, Any] | None = None, started=None, **args: Any) -> dict:
    """The scenario's notification, or another policy's on the same world (`alert`), as a push's CloudEvent data."""
    scenario = resolve_scenario(scenario_name)
    if alert is not None:
        scenario = scenario.model_copy(update={"alert": AlertSpec.model_validate(alert)})
    notification = scenario.notification(started or world.anchor, incident_id, **args)
    return event(json.dumps(notification).encode(), message_id)


def at_the_gate_together(monkeypatch: pytest.MonkeyPatch, world: World, messages: list[dict]) -> list[Any]:
    """The messages handled on threads at once, let into the gate together (each with what it read before any
    write). Their answers, in the order given."""
    barrier, real_execute = threading.Barrier(len(messages), timeout=60), guardrails.Gate.execute

    def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return real_execute(self, *args, **kwargs)

    monkeypatch.setattr(guardrails.Gate, "execute", execute)
    answers: dict[int, Any] = {}
    results, errors = concurrently(*[(lambda i=i, m=m: answers.__setitem__(i, world.handle(m)))
                                     for i, m in enumerate(messages)])
    monkeypatch.setattr(guardrails.Gate, "execute", real_execute)
    assert not errors, errors
    return [answers[i] for i in range(len(messages))]


def held_for(outcome: Any, acted: Any) -> None:
    """`outcome` is a notification held for the write `acted` made: nothing written, and its answer names that
    action and its incident, and that it was held for it."""
    assert outcome.status.value == "skipped", outcome.reason
    assert acted.action.name in outcome.reason and acted.incident_id in outcome.reason, outcome.reason
    assert "held for that write" in outcome.reason, outcome.reason


def one_acted(answers: list[Any], status: str = "applied") -> Any:
    [acted] = [a for a in answers if a.status.value == status]
    assert all(a.status.value not in ("healthy", "resolved") for a in answers), [a.reason for a in answers]
    return acted


@pytest.fixture
def bad_revision(standin_env, firestore, pubsub, project_id, anchor) -> World:
    world = World(standin_env, pubsub, project_id, anchor)
    world.seed("bad_revision")
    return world


@pytest.fixture
def saturated(standin_env, firestore, pubsub, project_id, anchor) -> World:
    """connector_saturation with the connector's bounds allowing its one-way scale (so it is applied, not proposed)."""
    world = World(standin_env, pubsub, project_id, anchor,
                  bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": True}]})
    world.seed("connector_saturation")
    return world


def test_a_bad_revision_firing_5xx_latency_and_uptime_at_once_rolls_back_once_and_the_others_name_it(
        bad_revision, monkeypatch):
    world = bad_revision
    messages = [message(world, "bad_revision", "m-5xx", FIVE_XX),
                message(world, "bad_revision", "m-p99", LATENCY, LATENCY_ALERT),
                message(world, "bad_revision", "m-up", UPTIME, uptime_alert("bad_revision", "backend"))]

    answers = at_the_gate_together(monkeypatch, world, messages)

    acted = one_acted(answers)
    assert acted.action.name == "rollback_traffic", acted.reason
    for outcome in answers:
        if outcome is not acted:
            held_for(outcome, acted)
    assert world.standins.run.count("UpdateService") == 1
    # Each delivered again (Pub/Sub delivers at least once), and a minute later: still one rollback. The held ones
    # are held again, their answer keeping the write they were held for.
    world.at(3)
    again = [world.handle(m) for m in messages]
    assert world.standins.run.count("UpdateService") == 1
    for outcome, before in zip(again, answers):
        assert outcome.status.value == "skipped", outcome.reason
        if before is not acted:
            assert acted.incident_id in outcome.reason, outcome.reason


def test_a_saturated_connector_under_its_cpu_alert_and_the_services_5xx_at_once_is_scaled_once(saturated, monkeypatch):
    world = saturated
    messages = [message(world, "connector_saturation", "m-5xx", FIVE_XX),
                message(world, "connector_saturation", "m-cpu", CONNECTOR_CPU, CONNECTOR_CPU_ALERT)]

    answers = at_the_gate_together(monkeypatch, world, messages)

    acted = one_acted(answers)
    assert acted.action.name == "scale_connector" and acted.target == CONNECTOR, acted.reason
    [other] = [a for a in answers if a is not acted]
    held_for(other, acted)
    assert world.standins.vpcaccess.count("PatchConnector") == 1
    assert world.writes() == 1


def test_a_cloud_sql_alert_and_the_services_5xx_for_one_database_outage_both_reach_a_person_and_write_nothing(
        standin_env, firestore, pubsub, project_id, anchor, monkeypatch):
    scenario = resolve_scenario("cloudsql_down_shared")
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    world.seed("cloudsql_down_shared")
    ledger_5xx = {"policy_name": "ledger 5xx ratio", "condition_name": "5xx ratio above 5%",
                  "metric_type": "run.googleapis.com/request_count",
                  "resource": {"type": "cloud_run_revision", "labels": {"service_name": "ledger"}},
                  "metric_labels": {"response_code_class": "5xx"}, "observed_value": "0.5", "threshold_value": "0.05"}
    messages = [message(world, "cloudsql_down_shared", "m-sql", "0.ledgerdbdown"),
                message(world, "cloudsql_down_shared", "m-5xx", "0.ledger5xx", ledger_5xx)]

    answers, errors = concurrently(*[(lambda m=m: world.handle(m)) for m in messages])

    assert not errors, errors
    # Runwarden never writes to Cloud SQL, and a service failing because its database is down has nothing to roll
    # back: both answers say the same thing, the database down, and neither says healthy or acts.
    for outcome in answers:
        assert outcome.status.value == "escalated", outcome.reason
        assert outcome.diagnosis.signature == "database_unreachable", outcome.diagnosis.summary
        assert "ledger-db is down" in outcome.reason, outcome.reason
    assert world.writes() == 0


def test_policies_delivered_after_the_rollback_was_applied_and_before_its_verification_name_it(bad_revision):
    world = bad_revision
    world.at(2)
    first = world.handle(message(world, "bad_revision", "m-5xx", FIVE_XX))
    assert first.status.value == "applied", first.reason

    # The latency and uptime policies' notifications come a minute later, the rollback in place, not yet verified.
    world.at(3)
    later = [world.handle(message(world, "bad_revision", "m-p99", LATENCY, LATENCY_ALERT)),
             world.handle(message(world, "bad_revision", "m-up", UPTIME, uptime_alert("bad_revision", "backend")))]

    for outcome in later:
        assert outcome.status.value == "skipped", outcome.reason
        assert FIVE_XX in outcome.reason and "the sweep verifies the rollback" in outcome.reason.lower(), outcome.reason
    assert world.standins.run.count("UpdateService") == 1


def test_the_services_5xx_delivered_after_the_connector_scale_was_applied_names_it(saturated):
    world = saturated
    first = world.handle(message(world, "connector_saturation", "m-cpu", CONNECTOR_CPU, CONNECTOR_CPU_ALERT))
    assert first.status.value == "applied", first.reason

    world.at(3)
    later = world.handle(message(world, "connector_saturation", "m-5xx", FIVE_XX))

    assert later.status.value == "skipped", later.reason
    assert CONNECTOR_CPU in later.reason and "the sweep verifies the update" in later.reason.lower(), later.reason
    assert world.writes() == 1


def test_the_acted_on_incident_closing_while_another_policy_opens_acts_nothing_more(bad_revision, monkeypatch):
    world = bad_revision
    world.at(2)
    assert world.handle(message(world, "bad_revision", "m-5xx", FIVE_XX)).status.value == "applied"

    # The 5xx incident closes (its share back under the bar) in the minute the latency policy opens its own.
    world.at(4)
    closed, opened = concurrently(
        lambda: ("closed", world.handle(message(world, "bad_revision", "m-5xx-closed", FIVE_XX, state="closed",
                                                ended_at=world.anchor + timedelta(minutes=4), closed_value="0.01"))),
        lambda: ("opened", world.handle(message(world, "bad_revision", "m-p99", LATENCY, LATENCY_ALERT,
                                                started=world.anchor + timedelta(minutes=3)))))[0]
    answers = dict([closed, opened])

    assert answers["closed"].status.value == "resolved", answers["closed"].reason
    assert answers["opened"].status.value == "skipped", answers["opened"].reason
    assert FIVE_XX in answers["opened"].reason, answers["opened"].reason
    assert world.standins.run.count("UpdateService") == 1


def test_a_held_policys_closing_while_the_acted_on_one_is_notified_again_writes_nothing_more(
        bad_revision, monkeypatch):
    world = bad_revision
    messages = [message(world, "bad_revision", "m-5xx", FIVE_XX),
                message(world, "bad_revision", "m-p99", LATENCY, LATENCY_ALERT)]
    answers = at_the_gate_together(monkeypatch, world, messages)
    acted = one_acted(answers)
    [held] = [a for a in answers if a is not acted]
    held_id = held.incident_id

    # The held incident closes while the acted-on one is delivered again.
    world.at(5)
    closed_of = FIVE_XX if held_id == FIVE_XX else LATENCY
    alert = None if closed_of == FIVE_XX else LATENCY_ALERT
    results, errors = concurrently(
        lambda: world.handle(message(world, "bad_revision", "m-closed", closed_of, alert, state="closed",
                                     ended_at=world.anchor + timedelta(minutes=5))),
        lambda: world.handle(messages[0] if acted.incident_id == FIVE_XX else messages[1]))

    assert not errors, errors
    assert all(r.status.value in ("resolved", "skipped") for r in results), [r.reason for r in results]
    assert world.standins.run.count("UpdateService") == 1


def test_a_saturated_connector_proposed_under_two_policies_names_the_other_proposal_and_is_scaled_once(
        standin_env, firestore, pubsub, project_id, anchor, monkeypatch):
    """The connector's bounds allow no one-way change (the default): each incident's scale is proposed to a person.
    Each answer names the other's proposal of the same change, and approving both scales the connector once."""
    from tests.integration.test_commands import command
    world = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"])
    world.seed("connector_saturation")
    messages = [message(world, "connector_saturation", "m-5xx", FIVE_XX),
                message(world, "connector_saturation", "m-cpu", CONNECTOR_CPU, CONNECTOR_CPU_ALERT)]

    first = world.handle(messages[0])
    world.at(2.5)
    second = world.handle(messages[1])

    assert (first.status.value, second.status.value) == ("proposed", "proposed"), (first.reason, second.reason)
    assert first.action.proposal_id != second.action.proposal_id
    assert any(first.action.proposal_id in n and FIVE_XX in n for n in second.notes), second.notes
    world.at(4)
    approved = [command(world, "approve", params={"proposal_id": p.action.proposal_id}, reason="ok")
                for p in (first, second)]
    assert world.standins.vpcaccess.count("PatchConnector") == 1, [a.reason for a in approved]
    # The second approve reads the connector the first one scaled: its answer names that write and its incident,
    # not only a connector that "changed since the proposal".
    assert approved[0].status.value == "applied", approved[0].reason
    assert approved[1].status.value == "skipped", approved[1].reason
    assert "scale_connector" in approved[1].reason and FIVE_XX in approved[1].reason, approved[1].reason


def test_two_proposals_of_one_scale_approved_in_the_same_instant_write_once_and_the_second_names_the_first(
        standin_env, firestore, pubsub, project_id, anchor, monkeypatch):
    """Two operators approve the two incidents' proposals of the same scale in the same second, on two instances:
    each read the connector before any write. One write (the target's cooldown and write claim, taken in one commit
    with the claim); the other approve's answer names that write and its incident, whether or not the first's plan
    and record can be read yet (Gate._taken_with reads the claim its attempt took)."""
    from tests.integration.test_commands import command
    world = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com", "bob@example.com"])
    world.seed("connector_saturation")
    first = world.handle(message(world, "connector_saturation", "m-5xx", FIVE_XX))
    world.at(2.5)
    second = world.handle(message(world, "connector_saturation", "m-cpu", CONNECTOR_CPU, CONNECTOR_CPU_ALERT))
    assert (first.status.value, second.status.value) == ("proposed", "proposed"), (first.reason, second.reason)
    world.at(4)
    barrier, real_execute = threading.Barrier(2, timeout=60), guardrails.Gate.execute

    def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return real_execute(self, *args, **kwargs)

    monkeypatch.setattr(guardrails.Gate, "execute", execute)
    answers, errors = concurrently(
        lambda: command(world, "approve", "alice@example.com", params={"proposal_id": first.action.proposal_id},
                        reason="ok"),
        lambda: command(world, "approve", "bob@example.com", params={"proposal_id": second.action.proposal_id},
                        reason="ok"))
    monkeypatch.setattr(guardrails.Gate, "execute", real_execute)

    assert not errors, errors
    assert world.standins.vpcaccess.count("PatchConnector") == 1, [a.reason for a in answers]
    [acted] = [a for a in answers if a.status.value == "applied"]
    [other] = [a for a in answers if a is not acted]
    assert other.status.value == "skipped", other.reason
    assert acted.action.name in other.reason and acted.incident_id in other.reason, other.reason


SHARED = "service_alert_saturation_failing_peer_shared_connector"
FIN_CONN = "projects/fin-prod/locations/us-east1/connectors/fin-conn"


def every_services_5xx(service: str) -> dict[str, Any]:
    """One policy over every Cloud Run service (no service filter, no grouping away of the service), its incident
    notified for one service's series. "An incident is a record of when the condition or conditions of an alerting
    policy are met" ("Incidents for metric-based alerting policies", cloud.google.com/monitoring/alerts/incidents-
    events); that one condition met by two services' series opens one incident for each, each notified with its own
    incident_id and resource, is UNCONFIRMED there ("Alerting behavior", concepts-indepth, limits the open incidents
    per policy without saying how series map to them). Each notification names one resource and is handled for it,
    so the product is right under either reading: one incident per series (this test), or one for the policy, whose
    notification names one of them."""
    return {"policy_name": "every service's 5xx ratio", "condition_name": "5xx ratio above 5%",
            "metric_type": "run.googleapis.com/request_count",
            "filter": 'metric.type = "run.googleapis.com/request_count" AND resource.type = "cloud_run_revision" '
                      'AND metric.labels.response_code_class = "5xx"',
            "resource": {"type": "cloud_run_revision", "labels": {"service_name": service}},
            "metric_labels": {"response_code_class": "5xx"}, "observed_value": "0.33", "threshold_value": "0.05"}


def test_one_policy_over_two_services_behind_one_connector_diagnoses_each_for_its_own_service_and_scales_once(
        standin_env, firestore, pubsub, project_id, anchor):
    """One policy with no service filter, two services behind one saturated connector both failing: two incidents
    delivered at once, each diagnosed for its own service (its own request counts and latencies read). ledger's,
    its Cloud SQL instance read up, proposes the scale; statements', no database read for it, stays below the bar
    to act and is escalated with the same connector named, never healthy. Approving the proposal scales the
    connector once; statements' incident notified again after it writes nothing more."""
    from tests.integration.test_commands import command
    scenario = resolve_scenario(SHARED)
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    world.config = world.config.model_copy(update={"operators": ["alice@example.com"]})
    world.seed(SHARED)
    messages = [message(world, SHARED, "m-ledger", "0.every5xx-ledger", every_services_5xx("ledger")),
                message(world, SHARED, "m-statements", "0.every5xx-statements", every_services_5xx("statements"))]

    answers, errors = concurrently(*[(lambda m=m: world.handle(m)) for m in messages])

    assert not errors, errors
    ledger, statements = sorted(answers, key=lambda a: a.incident_id)
    for outcome, service in ((ledger, "ledger"), (statements, "statements")):
        assert outcome.diagnosis.signature == "connector_saturation", outcome.diagnosis.summary
        # Read for its own service: the request counts it judged are that service's, never the other's.
        queries = [e.query for e in outcome.diagnosis.evidence if e.source == "metric"]
        assert any(f'service_name = "{service}"' in q for q in queries), queries
        other = "statements" if service == "ledger" else "ledger"
        assert not any(f'service_name = "{other}"' in q and "request_count" in q for q in queries), queries
    assert ledger.status.value == "proposed" and ledger.target == FIN_CONN, ledger.reason
    assert statements.status.value == "escalated" and "fin-conn" in statements.reason, statements.reason
    assert world.writes() == 0
    world.at(4)
    approved = command(world, "approve", params={"proposal_id": ledger.action.proposal_id}, reason="ok")
    assert approved.status.value == "applied", approved.reason
    world.at(5)
    again = world.handle(message(world, SHARED, "m-statements-2", "0.every5xx-statements",
                                 every_services_5xx("statements")))
    assert again.status.value != "applied", again.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 1, again.reason
