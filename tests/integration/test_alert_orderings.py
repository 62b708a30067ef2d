"""Realistic orderings and repeats of Cloud Monitoring notifications around an action Runwarden took,
on real parts (the stand-ins over gRPC, the Firestore and Pub/Sub emulators): two policies on one
failure in either order, a late alert whose window predates the rollback, and an incident that closes
and reopens under a new incident_id after a rollback that did not hold, one opened again under its
closed id, and one that says another start under the id acted on. (A CLOSED that overtook its
OPEN: tests/integration/test_round_trips.py and test_remediation.py.)"""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from sandbox.scenarios import resolve_scenario
from tests.integration.world import World, event

FIVE_XX = "0.fivexxpolicy"
LATENCY = "0.latencypolicy"


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    world = World(standin_env, pubsub, project_id, anchor)
    world.seed("bad_revision")
    return world


def five_xx(world, message_id, incident_id=FIVE_XX, started=None, **args) -> dict:
    notification = resolve_scenario("bad_revision").notification(started or world.anchor, incident_id, **args)
    return event(json.dumps(notification).encode(), message_id)


def latency(world, message_id, incident_id=LATENCY, started=None, **args) -> dict:
    notification = resolve_scenario("bad_revision").notification(started or world.anchor, incident_id, **args)
    notification["incident"].update(policy_name="backend p99 latency", condition_name="p99 latency above 2 s",
                                    threshold_value="2000",
                                    observed_value="2400",
                                    metric={"type": "run.googleapis.com/request_latencies", "labels": {}})
    # A latency policy's own condition (its name, filter and bar) and aggregation: a percentile of the
    # distribution (not the 5xx policy's ALIGN_RATE).
    condition = notification["incident"]["condition"]
    condition["displayName"] = "p99 latency above 2 s"
    condition["conditionThreshold"].update(
        filter=condition["conditionThreshold"]["filter"].replace("run.googleapis.com/request_count",
                                                                 "run.googleapis.com/request_latencies"),
        thresholdValue=2000, aggregations=[{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_PERCENTILE_99"}])
    return event(json.dumps(notification).encode(), message_id)


@pytest.mark.parametrize("first_kind", ["latency", "five_xx"])
@pytest.mark.parametrize("redelivered", [False, True])
def test_two_policies_on_one_failure_in_either_order_act_once(world, first_kind, redelivered):
    kinds = {"latency": (latency, LATENCY), "five_xx": (five_xx, FIVE_XX)}
    first, first_id = kinds[first_kind]
    second, _ = kinds["five_xx" if first_kind == "latency" else "latency"]

    world.at(2)
    one = world.handle(first(world, "m1"))
    world.clock.set(world.anchor + timedelta(minutes=2, seconds=5))   # seconds apart
    deliveries = [second(world, "m2")] + ([first(world, "m1"), second(world, "m2")] if redelivered else [])
    later = [world.handle(d) for d in deliveries]

    assert one.status.value == "applied", one.reason
    assert world.standins.run.count("UpdateService") == 1
    two = later[0]
    assert two.status.value in ("skipped", "escalated"), two.reason
    assert first_id in two.reason, two.reason
    # A redelivery of the acted-on message is a duplicate; one of the answered message is answered again
    # the same way (it took no action, so it is judged again on live data), never with a write.
    for outcome in later[1:]:
        assert outcome.status.value == "skipped", outcome.reason
        assert outcome.reason.startswith("duplicate") or first_id in outcome.reason, outcome.reason
    assert world.standins.run.count("UpdateService") == 1


def test_a_late_alert_whose_window_predates_the_rollback_never_acts_again(world):
    world.at(2)
    assert world.handle(latency(world, "m1")).status.value == "applied"
    serving = world.serving()

    # The 5xx policy's incident began before the rollback, and its notification comes minutes after it.
    world.at(7)
    late = world.handle(five_xx(world, "m2", started=world.anchor - timedelta(minutes=1)))

    assert late.status.value in ("skipped", "escalated"), late.reason
    assert LATENCY in late.reason, late.reason
    assert world.standins.run.count("UpdateService") == 1
    assert world.serving() == serving


def test_a_reopened_incident_after_a_rollback_that_did_not_hold_reaches_a_person_and_never_flips_traffic(world):
    # Open, closed, then open again under a new incident_id from the same policy, minutes after the
    # rollback; the known-good revision fails too. The reopened incident is the rollback's own failure
    # (the sweep judges it); the sweep escalates, and writes nothing: the incident it undid for closed.
    from tests.integration.test_remediation import OLD, still_failing
    still_failing(world, until="+50m")
    world.at(2)
    assert world.handle(five_xx(world, "m1")).status.value == "applied"
    world.at(6)
    world.handle(five_xx(world, "m2", state="closed", ended_at=world.anchor + timedelta(minutes=5)))
    world.at(9)
    reopened = world.handle(five_xx(world, "m3", incident_id="0.fivexxagain",
                                    started=world.anchor + timedelta(minutes=8)))
    world.at(18)
    [judged] = world.command({"command": "sweep"})
    # Re-notified past the cooldown: the rollback's revision still fails, but nothing was deployed near it.
    world.at(40)
    again = world.handle(five_xx(world, "m4", incident_id="0.fivexxagain",
                                 started=world.anchor + timedelta(minutes=8)))

    assert reopened.status.value == "skipped" and FIVE_XX in reopened.reason, reopened.reason
    assert judged.status.value == "escalated" and "did not help" in judged.reason, judged.reason
    assert again.status.value == "escalated", again.reason
    assert world.standins.run.count("UpdateService") == 1
    assert world.serving() == {OLD: 100}


def test_an_incident_opened_again_under_its_closed_id_reaches_a_person_and_nothing_is_written_again(world):
    # Open (rolled back), closed, then an OPEN under the same incident_id that started after the CLOSED
    # ended it: no OPEN the CLOSED overtook (that one, redelivered, is still dropped as closed), but an
    # incident opened again under the id. The incident's record in Firestore keeps the CLOSED's own end.
    world.at(2)
    assert world.handle(five_xx(world, "m1")).status.value == "applied"
    world.at(6)
    world.handle(five_xx(world, "m2", state="closed", ended_at=world.anchor + timedelta(minutes=5)))
    world.at(9)
    late = world.handle(five_xx(world, "m1"))
    again = world.handle(five_xx(world, "m3", started=world.anchor + timedelta(minutes=8)))

    assert late.status.value == "skipped" and "incident already closed" in late.reason, late.reason
    assert again.status.value == "escalated", again.reason
    assert "an incident opened again under the same id" in again.reason, again.reason
    assert world.standins.run.count("UpdateService") == 1


def test_a_rollback_undone_because_its_revision_failed_too_is_never_made_again_for_another_alert(
        standin_env, firestore, pubsub, project_id, anchor):
    # A 5xx policy and a latency policy on one failure. The rollback (for the 5xx incident) did not
    # hold: the known-good revision failed too, and the sweep undid it. The latency incident, still
    # open, is notified again once the failure after the rollback has left the minutes it judges:
    # its evidence shows the deployed revision failing and the old one clean before the deploy (a
    # bad_revision), but rolling back again would send traffic to a revision that already failed.
    from tests.integration.test_remediation import NEW, more_series, still_failing
    world = World(standin_env, pubsub, project_id, anchor, bounds={"rollback": {"max_revision_age_seconds": 4 * 3600}})
    world.seed("bad_revision")
    still_failing(world, until="+18m")
    more_series(world, f"""
  - metric: run.googleapis.com/request_count
    resource: {{type: cloud_run_revision, labels: {{service_name: backend, revision_name: {NEW}}}}}
    labels: {{response_code_class: 5xx, response_code: "500"}}
    points: [{{from: +18m, to: +100m, every: 60s, value: 30}}]
  - metric: run.googleapis.com/request_count
    resource: {{type: cloud_run_revision, labels: {{service_name: backend, revision_name: {NEW}}}}}
    labels: {{response_code_class: 2xx, response_code: "200"}}
    points: [{{from: +18m, to: +100m, every: 60s, value: 10}}]
""")
    world.at(2)
    assert world.handle(five_xx(world, "m1")).status.value == "applied"
    world.at(3)
    assert world.handle(latency(world, "m2", started=world.anchor + timedelta(minutes=1))).status.value == "skipped"
    world.at(18)
    [undone] = world.command({"command": "sweep"})
    assert undone.status.value == "undone" and world.serving() == {NEW: 100}

    world.at(80)
    again = world.handle(latency(world, "m3", started=world.anchor + timedelta(minutes=1)))

    assert again.status.value == "escalated", again.reason
    assert "undone" in again.reason, again.reason
    assert world.standins.run.count("UpdateService") == 2, world.serving()   # the rollback and its undo
    assert world.serving() == {NEW: 100}


@pytest.mark.parametrize("another_instance", [False, True])
def test_an_open_with_another_start_under_the_acted_on_id_reaches_a_person(world, another_instance):
    """An OPEN under the id acted on that says another start (an id reused by a relay, or a second episode
    whose CLOSED was lost) is escalated with both starts, not dropped as a duplicate, and nothing is
    written again; a re-notification with the same start stays a duplicate. From this instance's memory
    and, on another instance, from the claim the Firestore emulator kept."""
    from shared.remediation.settled import SettledIncidents

    world.at(2)
    assert world.handle(five_xx(world, "m1")).status.value == "applied"
    if another_instance:
        world.adapters.settled = SettledIncidents()
    world.at(20)
    again = world.handle(five_xx(world, "m2"))
    restarted = world.handle(five_xx(world, "m3", started=world.anchor + timedelta(minutes=15)))

    assert again.status.value == "skipped" and again.reason.startswith("duplicate"), again.reason
    assert restarted.status.value == "escalated", restarted.reason
    first, second = (int((world.anchor + timedelta(minutes=m)).timestamp()) for m in (0, 15))
    assert f"started at {first} " in restarted.reason and f"started at {second} " in restarted.reason
    assert world.standins.run.count("UpdateService") == 1
