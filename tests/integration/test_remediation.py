"""Remediation on real parts: the verification sweep (verify, undo, escalate), commands, the kill
switch flag, budgets, recurrence, closed and log-based incidents. Stand-ins and emulators, no mocks."""
from __future__ import annotations

import base64
import json
import shlex
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

import grpc
import pytest
import yaml

from sandbox.scenario_logs import AuditLogSpec, LogSpec, seed_logs
from sandbox.scenarios import Scenario, seed
from sandbox.standins.run import ConditionSeed, TrafficSeed
from shared.commands import handle_command
from shared.config import parse_config
from shared.errors import TransientError
from shared.pipeline import Adapters
from shared.remediation.sweep_budget import FUNCTION_TIMEOUT_ENV, LONGEST_STEP_SECONDS
from shared.remediation.records import ACTIONS, INCIDENTS, PINS
from tests.integration.world import SERVICE, World, concurrently, event

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"


def more_series(world: World, timeseries: str) -> None:
    """Adds time series to the Monitoring stand-in, as later minutes of the same incident."""
    extra = yaml.safe_load(f"name: later\nproject: demo-project\nregion: us-central1\ntimeseries:\n{timeseries}")
    seed(world.standins, Scenario.model_validate(extra), world.anchor)


def counted(revision: str, code: int, start: str, end: str, per_minute: int) -> str:
    """A request_count series for `more_series`: `per_minute` answers of HTTP `code` a minute of `revision`
    of `backend`, from `start` to `end`."""
    return f"""
  - metric: run.googleapis.com/request_count
    resource: {{type: cloud_run_revision, labels: {{service_name: backend, revision_name: {revision}}}}}
    labels: {{response_code_class: {code // 100}xx, response_code: "{code}"}}
    points: [{{from: {start}, to: {end}, every: 60s, value: {per_minute}}}]"""


def timed(revision: str, code_class: str, start: str, end: str, samples: list[list[int]]) -> str:
    """A request_latencies series for `more_series`: each minute of `revision` of `backend` from `start` to
    `end`, the answers of `code_class` as `samples` ([milliseconds, count] pairs)."""
    return f"""
  - metric: run.googleapis.com/request_latencies
    value_type: DISTRIBUTION
    resource: {{type: cloud_run_revision, labels: {{service_name: backend, revision_name: {revision}}}}}
    labels: {{response_code_class: {code_class}}}
    points: [{{from: {start}, to: {end}, every: 60s, value: {{samples: {samples}}}}}]"""


def request_lines(world: World, revision: str, start: str, end: str, per_minute: int, *, status: int = 200,
                  agent: str | None = None, service: str = "backend", project: str = "demo-project",
                  region: str = "us-central1") -> None:
    """Cloud Run's request log for requests Monitoring counts: `per_minute` lines a minute of `revision`
    from `start` to `end` (`agent`: "uptime" for Cloud Monitoring's uptime checker, else a caller's), answered
    by the application itself (no Cloud Run text)."""
    line = {"at": {"from": start, "to": end, "every": "1m"}, "log": "requests", "service": service,
            "revision": revision, "status": status, "latency": "0.12s", "count": per_minute, "text": "",
            "user_agent": agent or "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"}
    seed_logs(world.standins.logging, project, region, [LogSpec.model_validate(line)], [], world.anchor)


def recovery(world: World, until: str = "+12m") -> None:
    """After the rollback, the known-good revision serves cleanly again (as Monitoring and its request
    log will show)."""
    request_lines(world, OLD, "+2m", until, 40)
    more_series(world, counted(OLD, 200, "+2m", until, 40)
                       + timed(OLD, "2xx", "+2m", until, [[120, 40]]))


def still_failing(world: World, until: str = "+18m", errors: int = 20, total: int = 40) -> None:
    """After the rollback, the known-good revision fails too: `errors` of its `total` requests a minute are 5xx."""
    more_series(world, counted(OLD, 200, "+2m", until, total - errors)
                       + counted(OLD, 500, "+2m", until, errors)
                       + timed(OLD, "2xx", "+2m", until, [[120, 40]]))


def judged(world: World, verdict: str, then: int) -> None:
    """The rollback applied at +2m judged `verdict` by a sweep (recovered and `verified` at +12m, still failing
    and `undone` at +18m), or left `pending`; then the clock at +`then` minutes."""
    if verdict == "verified":
        recovery(world)
        world.at(12)
    elif verdict == "undone":
        still_failing(world)
        world.at(18)
    if verdict != "pending":
        [outcome] = world.command({"command": "sweep"})
        assert outcome.status.value == verdict, outcome.reason
    world.at(then)


def action_state(world: World) -> str:
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    return record["state"]


def action_key(world: World) -> str:
    """The action record a sweep verdict is about: its `action.action_id` names it."""
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    return record["key"]


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    return World(standin_env, pubsub, project_id, anchor)


@pytest.fixture
def rolled_back(world):
    world.seed("bad_revision")
    assert world.handle(world.alert()).status.value == "applied"
    assert world.serving() == {OLD: 100}
    world.published()  # the applied outcome
    return world


def test_the_sweep_waits_for_the_settle_time(rolled_back):
    rolled_back.at(4)  # applied at +2m; settle is 5 minutes
    assert rolled_back.command({"command": "sweep"}) == []
    assert action_state(rolled_back) == "pending"


def test_a_healthy_service_after_the_settle_time_verifies_the_rollback(rolled_back):
    recovery(rolled_back)
    rolled_back.at(12)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "verified" and outcome.trigger == "command"
    assert "healthy" in outcome.reason
    assert action_state(rolled_back) == "verified"
    [published] = rolled_back.published()
    assert published["status"] == "verified"
    assert published["action"]["action_id"] == outcome.action.action_id == action_key(rolled_back)
    assert rolled_back.command({"command": "sweep"}) == []  # judged once


def test_still_unhealthy_at_the_deadline_undoes_the_rollback_and_escalates(rolled_back):
    still_failing(rolled_back)
    rolled_back.at(10)  # past settle, before the deadline: no data to call it healthy yet
    assert rolled_back.command({"command": "sweep"}) == []
    rolled_back.at(18)  # deadline is 15 minutes after the action

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "undone" and "escalated" in outcome.reason
    # The revision before the deploy failed too: the deploy was not the cause, said with both revisions.
    assert "the deploy was not the cause" in outcome.reason and OLD in outcome.reason and NEW in outcome.reason
    [published] = [p for p in rolled_back.published() if p["status"] == "undone"]
    assert "look elsewhere" in published["reason"], published["reason"]
    assert outcome.action.action_id == action_key(rolled_back)
    assert rolled_back.serving() == {NEW: 100}  # the recorded split is back
    assert action_state(rolled_back) == "undone"
    assert rolled_back.standins.run.count("UpdateService") == 2


def test_two_sweeps_at_once_judge_an_action_once(rolled_back):
    still_failing(rolled_back)
    rolled_back.at(18)
    results, errors = concurrently(*[lambda: rolled_back.command({"command": "sweep"})] * 3)
    assert errors == []
    assert sorted(len(r) for r in results) == [0, 0, 1]
    assert rolled_back.standins.run.count("UpdateService") == 2


def test_the_closed_notification_alone_does_not_verify_live_data_does(rolled_back):
    """Monitoring closes an incident when its condition stops holding, but also when its data stops
    (auto_close, EVALUATION_MISSING_DATA_INACTIVE) or by hand: the sweep waits for live data."""
    rolled_back.at(6)
    closed = rolled_back.handle(rolled_back.alert(state="closed", message_id="2",
                                                  ended_at=rolled_back.anchor.replace(minute=6)))
    assert closed.status.value == "resolved"
    rolled_back.at(8)
    assert rolled_back.command({"command": "sweep"}) == []      # no data since the action settled yet
    recovery(rolled_back)
    rolled_back.at(12)
    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")
    assert outcome.status.value == "verified" and "healthy" in outcome.reason and "incident closed" in outcome.reason


def test_a_closed_incident_whose_service_stopped_serving_is_not_verified_nor_undone(rolled_back):
    """After the rollback the clients gave up: no requests, so no request_count points, and the incident
    closes for want of data. Before, the CLOSED verified the rollback; and had it not come, the sweep
    undid the rollback on the absence of data, sending traffic back to the failing revision."""
    rolled_back.at(9)
    rolled_back.handle(rolled_back.alert(state="closed", message_id="2", ended_at=rolled_back.anchor.replace(minute=9)))
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated", outcome.reason
    assert "not undone" in outcome.reason and "no requests since" in outcome.reason
    assert "incident closed" in outcome.reason
    assert rolled_back.serving() == {OLD: 100}
    assert rolled_back.standins.run.count("UpdateService") == 1


def test_data_that_stopped_after_the_rollback_does_not_undo_it(rolled_back):
    rolled_back.at(18)   # past the deadline; no request_count point since +5m: late, or no requests

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert outcome.action.action_id == action_key(rolled_back)
    assert rolled_back.serving() == {OLD: 100}
    assert rolled_back.standins.run.count("UpdateService") == 1


def test_a_rollback_that_helped_but_left_some_errors_is_kept_not_undone(rolled_back):
    """60 % 5xx before; 5 % after (below a failing revision's 20 %, above clean's 1 %): undoing it
    would send traffic back to the revision that failed 60 % of its requests."""
    still_failing(rolled_back, errors=2)
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "not failing as before" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100}


def test_a_person_who_moved_traffic_after_the_rollback_is_not_undone(rolled_back):
    """A person sends traffic to a fixed revision after the rollback; the sweep at the deadline sees
    failures (of the window, or of their revision): before, it restored the pre-rollback split over
    their change. Now it judges neither, writes nothing, and says so."""
    still_failing(rolled_back)
    rolled_back.standins.run.set_traffic(SERVICE, [TrafficSeed(50, OLD), TrafficSeed(50, NEW)])
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "no longer serves as the rollback left it" in outcome.reason
    assert rolled_back.serving() == {OLD: 50, NEW: 50}
    assert rolled_back.standins.run.count("UpdateService") == 1


def test_a_healthy_service_someone_else_changed_is_not_verified_as_the_rollbacks_doing(rolled_back):
    recovery(rolled_back)
    rolled_back.standins.run.set_traffic(SERVICE, [TrafficSeed(90, OLD), TrafficSeed(10, NEW)])
    rolled_back.at(12)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "no longer serves as the rollback left it" in outcome.reason


def test_a_rollback_whose_connector_an_operator_scaled_through_runwarden_since_is_not_verified(
        standin_env, firestore, pubsub, project_id, anchor):
    """A rollback at +2; at +4 an operator scales the service's connector with Runwarden's own
    `scale_connector` (a second action, on another target: its own cooldown), and the service serves
    cleanly since. Runwarden's own writes are no one else's change (its principal is left out of the audit
    check), so the rollback was `verified` on minutes the scale-up shaped as much, and the service stayed
    pinned to the old revision. Now it is `escalated` at its deadline, kept in place, naming the later action;
    the scale-up is judged on its own."""
    world = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"],
                  bounds={"connectors": [{"name": _CONNECTOR, "max_instances_ceiling": 10}]})
    world.seed("bad_revision")
    assert world.handle(world.alert()).status.value == "applied"
    recovery(world, until="+25m")
    world.at(4)
    [scaled] = world.command({"command": "scale_connector", "command_id": "cmd-scale", "requested_by": "alice@example.com",
                              "target": _CONNECTOR, "params": {"max_instances": 6}, "reason": "pool waits"},
                             message_id="cmd-scale")
    assert scaled.status.value == "applied", scaled.reason

    verdicts = {}
    for minute in (12, 15, 18):
        world.at(minute)
        for outcome in world.command({"command": "sweep"}, message_id=f"s{minute}"):
            verdicts.setdefault(outcome.action.name if outcome.action else "", []).append(outcome)

    [rollback] = verdicts["rollback_traffic"]
    assert rollback.status.value == "escalated", rollback.reason
    assert "Runwarden's own later action(s)" in rollback.reason and "scale_connector" in rollback.reason, rollback.reason
    assert world.serving() == {OLD: 100}     # kept, not undone
    assert world.standins.run.count("UpdateService") == 1


def test_a_rollback_whose_connector_was_scaled_after_it_on_an_instance_whose_clock_ran_behind_is_not_verified(
        standin_env, firestore, pubsub, project_id, anchor):
    """As above, but the operator's `scale_connector` ran on an instance whose clock was 3 minutes behind
    the alert's: made after the rollback, its record is dated a minute before it. Before, the sweep read
    only records dated after the rollback's and `verified` it on minutes the scale-up shaped as much. Now
    a record dated within the clock-skew allowance of the rollback's is read too: escalated at its
    deadline, kept, naming both writes and saying the clocks cannot tell their order."""
    world = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"],
                  bounds={"connectors": [{"name": _CONNECTOR, "max_instances_ceiling": 10}]})
    world.seed("bad_revision")
    assert world.handle(world.alert()).status.value == "applied"
    recovery(world, until="+25m")
    world.at(1)     # real time +4, on a clock 3 minutes behind
    [scaled] = world.command({"command": "scale_connector", "command_id": "cmd-scale", "requested_by": "alice@example.com",
                              "target": _CONNECTOR, "params": {"max_instances": 6}, "reason": "pool waits"},
                             message_id="cmd-scale")
    assert scaled.status.value == "applied", scaled.reason

    verdicts = {}
    for minute in (12, 15, 18):
        world.at(minute)
        for outcome in world.command({"command": "sweep"}, message_id=f"s{minute}"):
            verdicts.setdefault(outcome.action.name if outcome.action else "", []).append(outcome)

    [rollback] = verdicts["rollback_traffic"]
    assert rollback.status.value == "escalated", rollback.reason
    assert "scale_connector on backend-conn" in rollback.reason, rollback.reason
    assert "the clocks cannot tell which write came first" in rollback.reason, rollback.reason
    assert world.serving() == {OLD: 100}     # kept, not undone
    assert world.standins.run.count("UpdateService") == 1


_CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"


def test_a_rollback_is_verified_at_the_bar_of_the_alert_that_led_to_it(world):
    """The policy pages at 0.5 % 5xx. After the rollback 0.8 % still fail: the alert's condition holds.
    Before, the sweep judged at the settings' 1 % and said `verified` while the incident stayed open."""
    from sandbox.scenarios import resolve_scenario
    from tests.integration.world import event

    world.seed("bad_revision")
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    notification["incident"]["threshold_value"] = "0.005"
    assert world.handle(event(json.dumps(notification).encode(), "1")).status.value == "applied"
    still_failing(world, errors=2, total=250)       # 0.8 %: clean at 1 %, failing at 0.5 %
    world.at(12)
    assert world.command({"command": "sweep"}) == []        # not healthy at the alert's bar: waits
    world.at(18)
    [outcome] = world.command({"command": "sweep"}, message_id="c2")
    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert world.serving() == {OLD: 100}


def _mean_latency_alert(world: World, message_id: str = "1", observed: str = "8000.000", **args) -> dict:
    """bad_revision's incident as a policy on the mean of request_latencies above 1 s (ALIGN_MEAN), a
    condition the health check does not judge: a p99 read does not bound a mean (health_bar.py)."""
    from sandbox.scenarios import resolve_scenario
    from tests.integration.world import event

    notification = resolve_scenario("bad_revision").notification(world.anchor, **args)
    incident = notification["incident"]
    incident["metric"] = {"type": "run.googleapis.com/request_latencies", "displayName": "Request Latencies",
                          "labels": {}}
    incident["condition"]["conditionThreshold"].update({
        "filter": 'metric.type="run.googleapis.com/request_latencies" AND resource.type="cloud_run_revision" '
                  'AND resource.labels.service_name="backend"',
        "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_MEAN"}], "thresholdValue": 1000})
    incident.update({"threshold_value": "1000", "observed_value": observed})
    return event(json.dumps(notification).encode(), message_id)


def test_a_rollback_after_an_alert_the_check_does_not_read_is_not_verified_by_clean_requests_alone(world):
    """A mean-latency policy at 1 s led to the rollback; after it, no 5xx but a p99 of 12 s. Before, the
    sweep judged at the settings' defaults (p99 under 25 s) and said `verified` while the policy's own
    condition most likely still held. Now, without its incident's CLOSED, it is kept and escalated."""
    world.seed("bad_revision")
    assert world.handle(_mean_latency_alert(world)).status.value == "applied"
    request_lines(world, OLD, "+2m", "+18m", 40)
    more_series(world, counted(OLD, 200, "+2m", "+18m", 40)
                       + timed(OLD, "2xx", "+2m", "+18m", [[12000, 40]]))
    world.at(12)
    assert world.command({"command": "sweep"}) == []        # clean, but the alert's condition is not read: waits
    world.at(18)
    [outcome] = world.command({"command": "sweep"}, message_id="c2")
    assert outcome.status.value == "escalated" and "could not be verified" in outcome.reason, outcome.reason
    assert "ALIGN_MEAN" in outcome.reason and "no CLOSED notification" in outcome.reason, outcome.reason
    assert world.serving() == {OLD: 100} and world.standins.run.count("UpdateService") == 1


def test_a_rollback_after_an_alert_the_check_does_not_read_is_verified_once_its_incident_closed(world):
    world.seed("bad_revision")
    assert world.handle(_mean_latency_alert(world)).status.value == "applied"
    recovery(world)
    world.at(9)
    closed = world.handle(_mean_latency_alert(world, "2", "420.000", state="closed",
                                              ended_at=world.anchor.replace(minute=9)))
    assert closed.status.value == "resolved"
    world.at(12)
    [outcome] = world.command({"command": "sweep"})
    assert outcome.status.value == "verified" and "incident closed" in outcome.reason, outcome.reason
    assert "a value of 420, below the condition's bar of 1000" in outcome.reason, outcome.reason


def test_a_rollback_after_an_alert_the_check_does_not_read_is_not_verified_by_a_closing_alone(world):
    """The same, closed with the value it fired at: a snooze a person set during the outage, data that
    stopped arriving, a close by hand. Nothing in it shows the mean latency under its bar. Before, the
    closing alone verified the rollback; now it is cited, and the rollback escalated at its deadline,
    kept in place."""
    world.seed("bad_revision")
    assert world.handle(_mean_latency_alert(world)).status.value == "applied"
    recovery(world, until="+18m")
    world.at(9)
    closed = world.handle(_mean_latency_alert(world, "2", state="closed", ended_at=world.anchor.replace(minute=9)))
    assert closed.status.value == "resolved" and "not taken as recovery" in closed.reason, closed.reason
    world.at(12)
    assert world.command({"command": "sweep"}) == []        # waits: nothing shows the condition cleared
    world.at(18)
    [outcome] = world.command({"command": "sweep"}, message_id="c2")
    assert outcome.status.value == "escalated" and "no value on the clear side" in outcome.reason, outcome.reason
    assert world.serving() == {OLD: 100} and world.standins.run.count("UpdateService") == 1


def test_an_unfinished_undo_is_not_finished_over_a_persons_change(rolled_back):
    """A sweep moved the rollback to `undoing` and died before the write; meanwhile a person sent half
    the traffic to a fixed revision. Before, the next sweep finished the undo over their change."""
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    rolled_back.state.update_record(ACTIONS, record["key"], {"state": "undoing",
                                                             "resolved_at": rolled_back.anchor.replace(minute=17)})
    rolled_back.standins.run.set_traffic(SERVICE, [TrafficSeed(50, OLD), TrafficSeed(50, NEW)])
    rolled_back.at(40)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "did not finish" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 50, NEW: 50}
    assert rolled_back.standins.run.count("UpdateService") == 1


def test_an_unfinished_undo_is_finished_when_nobody_moved_the_traffic(rolled_back):
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    rolled_back.state.update_record(ACTIONS, record["key"], {"state": "undoing",
                                                             "resolved_at": rolled_back.anchor.replace(minute=17)})
    rolled_back.at(40)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "undone", outcome.reason
    assert rolled_back.serving() == {NEW: 100}


def test_an_unfinished_undo_whose_service_stays_unreadable_is_escalated_once_and_finished_when_readable(rolled_back):
    """A sweep moved the rollback to `undoing` at +17m and died before the write; Cloud Run then answers
    UNAVAILABLE to every read of the service, sweep after sweep. Before, each sweep logged
    `verify_deferred` and retried it forever, and nobody heard that a decided undo was not done. Now,
    once it is unfinished for more than a verification period (10 min), it is escalated once, naming
    what is unfinished, since when and the failing read, kept `undoing`, and still retried: finished
    once the service is readable, with one write, saying it follows that escalation."""
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    rolled_back.state.update_record(ACTIONS, record["key"], {"state": "undoing",
                                                             "resolved_at": rolled_back.anchor.replace(minute=17)})
    faults = rolled_back.standins.run.faults
    faults.fail_next(100_000, grpc.StatusCode.UNAVAILABLE, method="GetService")

    rolled_back.at(33)      # past the lease of the sweep that died (15 min), so retried
    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated", outcome.reason
    assert "undo" in outcome.reason and "unfinished since" in outcome.reason, outcome.reason
    assert f"(putting back {NEW} 100%)" in outcome.reason, outcome.reason      # the split recorded before it
    assert "GetService" in outcome.reason and "UNAVAILABLE" in outcome.reason, outcome.reason
    assert outcome.action.action_id == record["key"]
    assert action_state(rolled_back) == "undoing"
    assert rolled_back.standins.run.count("UpdateService") == 1      # the rollback only
    rolled_back.at(34)
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []    # once
    rolled_back.at(50)
    assert rolled_back.command({"command": "sweep"}, message_id="c3") == []
    assert rolled_back.standins.run.count("UpdateService") == 1

    faults.clear()
    rolled_back.at(52)
    [later] = rolled_back.command({"command": "sweep"}, message_id="c4")

    assert later.status.value == "undone", later.reason
    assert "follows the escalation at" in later.reason and "could not be finished" in later.reason, later.reason
    assert rolled_back.serving() == {NEW: 100} and rolled_back.standins.run.count("UpdateService") == 2
    assert [o["status"] for o in rolled_back.published(2)] == ["escalated", "undone"]
    rolled_back.at(70)
    assert rolled_back.command({"command": "sweep"}, message_id="c5") == []
    assert rolled_back.standins.run.count("UpdateService") == 2


@pytest.mark.parametrize("code", [grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION, None])
def test_a_persons_change_landing_just_before_the_undos_write_is_never_written_over(rolled_back, code):
    """The sweep checks the service (as the rollback left it) and writes the undo; a person's split lands
    between the two. Before, the undo was written without the etag of the read it checked, so it went
    over their change and was reported `undone`. Under each reading of Cloud Run's etag
    (docs/api-contracts.md, open question 1: refused with ABORTED, with FAILED_PRECONDITION, or not
    enforced, where only the generation shows it) it is escalated and never called undone."""
    from tests.integration.test_stale_evidence import ChangedMeanwhile

    still_failing(rolled_back)
    rolled_back.standins.run.stale_etag_code = code
    split = [TrafficSeed(50, OLD), TrafficSeed(50, NEW)]
    rolled_back.adapters.run = ChangedMeanwhile(rolled_back.adapters.run,
                                                lambda: rolled_back.standins.run.set_traffic(SERVICE, split))
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated", outcome.reason
    assert "undone" not in outcome.reason.replace("not claimed as undone", ""), outcome.reason
    assert action_state(rolled_back) == "escalated"
    assert rolled_back.standins.run.count("UpdateService") == 2       # the rollback, and the one undo sent
    if code is None:    # not enforced: written over, and said so, with both generations
        assert "another change around it" in outcome.reason and "a person must check" in outcome.reason
        assert "Recorded for the verification sweep" not in outcome.reason    # an undo has no record of its own
    else:
        assert "changed after it was read" in outcome.reason and f"[{code.name}]" in outcome.reason
        assert "the undo did not happen" in outcome.reason
        # undo_by_hand: a restore now would write over that change, so no command is given
        assert "would write over that change" in outcome.reason and "no command is given" in outcome.reason
        assert "runwarden command" not in outcome.reason and not outcome.notes, (outcome.reason, outcome.notes)
        assert rolled_back.serving() == {OLD: 50, NEW: 50}            # theirs stands
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []
    assert rolled_back.standins.run.count("UpdateService") == 2


@pytest.mark.parametrize("code", [grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION])
def test_an_undo_whose_service_only_reconciled_since_the_check_is_done(rolled_back, code):
    """The reading where a status change alone moves the etag: the undo is refused once, the desired
    state is as checked, and it is sent once more on the fresh etag: undone, not escalated."""
    from tests.integration.test_stale_evidence import ChangedMeanwhile

    still_failing(rolled_back)
    rolled_back.standins.run.stale_etag_code = code
    rolled_back.adapters.run = ChangedMeanwhile(rolled_back.adapters.run,
                                                lambda: rolled_back.standins.run.touch_status(SERVICE))
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "undone", outcome.reason
    assert rolled_back.serving() == {NEW: 100}
    assert rolled_back.standins.run.count("UpdateService") == 3       # the rollback, the refused undo, its resend


def test_evidence_unreadable_long_past_the_deadline_is_escalated_once_and_judged_when_readable(rolled_back):
    """Monitoring answers UNAVAILABLE to every read, sweep after sweep. Before, each sweep logged
    `verify_deferred` and nobody heard anything. Now, once the deadline (+17m) has passed by more than
    a verification period (10 min), it is escalated once, naming the failing read, and kept as it is; when
    the evidence is readable again a later sweep still judges it and says it follows that escalation."""
    recovery(rolled_back, until="+36m")
    faults = rolled_back.standins.monitoring.faults
    faults.fail_next(100_000, grpc.StatusCode.UNAVAILABLE, method="ListTimeSeries")
    rolled_back.at(20)
    assert rolled_back.command({"command": "sweep"}) == []          # past the deadline, within the bound: waits
    rolled_back.at(27)
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []

    rolled_back.at(28)
    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c3")

    assert outcome.status.value == "escalated", outcome.reason
    assert "could not be judged" in outcome.reason and "ListTimeSeries" in outcome.reason, outcome.reason
    assert "UNAVAILABLE" in outcome.reason and "neither verified nor undone" in outcome.reason
    assert action_state(rolled_back) == "pending"
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
    rolled_back.at(30)
    assert rolled_back.command({"command": "sweep"}, message_id="c4") == []      # once

    faults.clear()
    rolled_back.at(36)
    [later] = rolled_back.command({"command": "sweep"}, message_id="c5")
    assert later.status.value == "verified", later.reason
    assert "follows the escalation at" in later.reason and "readable now" in later.reason, later.reason
    assert action_state(rolled_back) == "verified"
    assert [o["status"] for o in rolled_back.published(2)] == ["escalated", "verified"]


def test_a_monitoring_outage_before_the_deadline_is_told_once_early_and_the_verdict_still_comes(rolled_back):
    """Monitoring answers UNAVAILABLE to every read from the settle time (+7m). Before, nobody heard of
    it until the escalation past the deadline (+17m) by a verification period: +28m, 21 minutes after
    the first failed read. Now the first failed read is noted, and once the reads have failed for half a
    period (5 min) a person is told, once, that it cannot be verified yet and why; the action stays
    pending, nothing written. Readable again before the deadline, it is judged as usual, and the
    verdict says it follows that notice."""
    recovery(rolled_back, until="+20m")
    faults = rolled_back.standins.monitoring.faults
    faults.fail_next(100_000, grpc.StatusCode.UNAVAILABLE, method="ListTimeSeries")
    rolled_back.at(7)
    assert rolled_back.command({"command": "sweep"}) == []          # the first failed read: noted, no word yet
    rolled_back.at(10)
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []

    rolled_back.at(12)
    [told] = rolled_back.command({"command": "sweep"}, message_id="c3")

    assert told.status.value == "escalated", told.reason
    assert "cannot be verified yet" in told.reason and "since " in told.reason, told.reason
    assert "ListTimeSeries" in told.reason and "UNAVAILABLE" in told.reason and "keeps reading" in told.reason
    assert action_state(rolled_back) == "pending"
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
    rolled_back.at(14)
    assert rolled_back.command({"command": "sweep"}, message_id="c4") == []      # once

    faults.clear()
    rolled_back.at(16)
    [later] = rolled_back.command({"command": "sweep"}, message_id="c5")
    assert later.status.value == "verified", later.reason
    assert "follows the notice at" in later.reason, later.reason
    assert [o["status"] for o in rolled_back.published(2)] == ["escalated", "verified"]


class _RequestLogCut:
    """The world's Logging reads through the real adapter, but for the sweep's read of the request log
    (collection.request_lines: the requests log alone), made by a second real adapter, cut while it still pages:
    the stand-in examines one entry a call while that read runs (`search_budget`), so every page comes with a
    token, and its third page and every later ask of it (the retry included) are refused DEADLINE_EXCEEDED,
    aimed at that read's own filter: a search still paging when its deadline ran out (`PageCursor.cut_short`),
    counted in pages, not in seconds. Before, a 0.3 s budget cut it by the clock: under load the first page did
    not come in time, and with the budget on every read the service's other logs were cut as well."""

    def __init__(self, whole: Any, standin: Any) -> None:
        from shared.gcp.endpoints import CallPolicy
        from shared.gcp.logging import CloudLoggingAdapter
        self.whole, self.standin = whole, standin
        self.cut = CloudLoggingAdapter(policy=CallPolicy(call_timeout=10.0, attempts=2, initial_backoff=0.01,
                                                         max_backoff=0.02, total_timeout=10.0))

    def list_entries(self, project: str, filter: str, max_entries: int) -> Any:
        request_log = "run.googleapis.com%2Frequests" in filter and "varlog" not in filter \
            and "cloudaudit" not in filter
        if not request_log:
            return self.whole.list_entries(project, filter, max_entries)
        self.standin.search_budget = 1
        self.standin.faults.fail_next(1_000, grpc.StatusCode.DEADLINE_EXCEEDED, method="ListLogEntries", after=2,
                                      about=filter)
        try:
            return self.cut.list_entries(project, filter, max_entries)
        finally:
            self.standin.search_budget = None
            self.standin.faults.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.whole, name)


def test_a_request_log_read_in_part_neither_verifies_nor_undoes_and_is_named(rolled_back):
    """The sweep's read of who sent the requests (collection.request_lines) still paging at its budget, the pages
    read clean: refused, the read is a "callers unknown" gap and the sweep judges on; read in part, it is evidence
    not read (EvidenceUnread), as the metrics' are (verification.read_whole): nothing verified or undone on it,
    and the notice a person gets names that read and how far it got. Read whole, it is verified as usual."""
    recovery(rolled_back, until="+20m")
    logging = rolled_back.standins.logging
    whole = rolled_back.adapters.logging
    # One stored entry examined a call while the request log is read: the search pages, a token each time.
    rolled_back.adapters.logging = _RequestLogCut(whole, logging)
    try:
        rolled_back.at(7)
        assert rolled_back.command({"command": "sweep"}) == []
        rolled_back.at(10)
        assert rolled_back.command({"command": "sweep"}, message_id="c2") == []
        rolled_back.at(12)
        [told] = rolled_back.command({"command": "sweep"}, message_id="c3")
    finally:
        rolled_back.adapters.logging = whole

    assert told.status.value == "escalated" and "cannot be verified yet" in told.reason, told.reason
    assert "logging: request log: ListLogEntries projects/demo-project: the search had not finished" in told.reason
    assert action_state(rolled_back) == "pending"
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1

    rolled_back.at(16)
    [later] = rolled_back.command({"command": "sweep"}, message_id="c4")
    assert later.status.value == "verified", later.reason


def test_a_read_that_fails_once_is_not_told(rolled_back):
    """One failed read (a blip) between sweeps that read the evidence: the run it began ends with the
    next read, so a later failed read starts its own and nobody is told of two blips minutes apart."""
    recovery(rolled_back, until="+9m")      # clean, but too few minutes to verify before +12m
    faults = rolled_back.standins.monitoring.faults
    faults.fail_next(100_000, grpc.StatusCode.DEADLINE_EXCEEDED, method="ListTimeSeries")
    rolled_back.at(7)
    assert rolled_back.command({"command": "sweep"}) == []
    faults.clear()
    rolled_back.at(8)
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []      # read: the run ends
    faults.fail_next(100_000, grpc.StatusCode.DEADLINE_EXCEEDED, method="ListTimeSeries")
    rolled_back.at(13)
    assert rolled_back.command({"command": "sweep"}, message_id="c3") == []      # a new run begins
    assert action_state(rolled_back) == "pending"


def _logged_failures(world: World, start: str, end: str, per_minute: int) -> None:
    """The known-good revision's stderr: `per_minute` lines a minute at ERROR of a fallback it served as a 200
    (its upstream refusing), from `start` to `end`."""
    line = {"at": {"from": start, "to": end, "every": "1m"}, "log": "stderr", "service": "backend", "revision": OLD,
            "severity": "ERROR", "count": per_minute,
            "text": "GET /api/orders failed: upstream inventory returned UNAVAILABLE; served cached fallback"}
    seed_logs(world.standins.logging, "demo-project", "us-central1", [LogSpec.model_validate(line)], [], world.anchor)


@pytest.mark.parametrize("logged", [40, 0])
def test_a_rollback_whose_service_answers_its_failures_as_200s_and_logs_them_is_not_verified(rolled_back, logged):
    """After the rollback every request is a 200 at 120 ms, and (`logged` 40) the application logs each one's
    failure at ERROR: a fallback served in place of what the callers asked for. Before, that was `verified`.
    Now it waits, and at the deadline it is escalated naming the lines, kept in place, not undone. The control
    (no failure line): verified as before."""
    recovery(rolled_back, until="+18m")
    if logged:
        _logged_failures(rolled_back, "+2m", "+18m", logged)
    rolled_back.at(12)
    swept = rolled_back.command({"command": "sweep"})
    if not logged:
        [outcome] = swept
        assert outcome.status.value == "verified", outcome.reason
        return
    assert swept == [] and action_state(rolled_back) == "pending"          # not healthy as shown: waits
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "failure line(s) at ERROR or worse" in outcome.reason and "served cached fallback" in outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1


def test_clean_requests_after_most_of_the_traffic_vanished_do_not_verify_a_rollback(rolled_back):
    """About 1,000 requests a minute before the rollback, 25 a minute after it, all clean. Before, that
    was `verified` (20 requests is the minimum to judge). A recovery that lost 97 % of the service's own
    traffic is not shown: unclear, so at the deadline it is escalated, kept in place, not undone."""
    more_series(rolled_back, counted(NEW, 500, "-12m", "+2m", 1000)
                             + counted(OLD, 200, "+3m", "+18m", 25)
                             + timed(OLD, "2xx", "+3m", "+18m", [[120, 25]]))
    rolled_back.at(12)
    assert rolled_back.command({"command": "sweep"}) == []          # not healthy as shown: waits
    assert action_state(rolled_back) == "pending"
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "traffic is mostly gone" in outcome.reason and "25 requests a minute" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1


def test_a_failure_that_began_after_the_rollback_worked_does_not_undo_it(rolled_back):
    """The known-good revision serves cleanly for six minutes after the rollback (+2m), then half its
    requests fail from +10m: a failure that began after the fix worked (another deploy, a person's
    change, a dependency). Before, the sweep at the deadline read only its last minutes, called the
    rollback failing and undid it, sending the traffic back to the revision that failed first."""
    more_series(rolled_back, counted(OLD, 200, "+3m", "+18m", 40)
                             + counted(OLD, 503, "+10m", "+18m", 40)
                             + timed(OLD, "2xx", "+3m", "+18m", [[120, 40]]))
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "recovered after the action first" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
    assert action_state(rolled_back) == "escalated"


def test_a_read_answered_in_part_neither_undoes_nor_verifies_a_rollback(rolled_back):
    """The world above (clean for six minutes after the rollback, then failing from +10m), with the
    request_latencies read answered in part on every attempt (ListTimeSeriesResponse.execution_errors, "Query
    execution errors that may have caused the time series data returned to be incomplete",
    google/monitoring/v3/metric_service.proto; a read still paging at its 30 s is the same error,
    shared.errors.IncompleteReadError). Before, the read was a gap and the sweep judged without it:
    no minute shows clean without its p99 (judging.recovered_first), so it called the rollback failing and undid
    it, sending the traffic back to the revision that failed first. A read in part is evidence not read: the
    sweep reads again later (EvidenceUnread), nothing written; read whole, the action is judged as usual."""
    more_series(rolled_back, counted(OLD, 200, "+3m", "+22m", 40)
                             + counted(OLD, 503, "+10m", "+22m", 40)
                             + timed(OLD, "2xx", "+3m", "+22m", [[120, 40]]))
    monitoring = rolled_back.standins.monitoring
    # Asked again within the read (the call policy's attempts, 3 here): every answer to this sweep's read in part.
    monitoring.incomplete_next(3, metric_type="run.googleapis.com/request_latencies")
    rolled_back.at(18)

    assert rolled_back.command({"command": "sweep"}) == []          # not judged on a part: read again later

    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
    assert action_state(rolled_back) == "pending"
    rolled_back.at(19)
    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")
    assert outcome.status.value == "escalated" and "recovered after the action first" in outcome.reason, \
        outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1


def test_a_failing_service_someone_changed_since_the_rollback_is_not_undone(rolled_back):
    """A person lowers the service-level max instances after the rollback (no new revision, the split
    untouched), and the service fails from then on: its generation is past the one the rollback left.
    Before, the sweep compared the traffic split only, called the rollback failing and undid it, writing
    over a service someone was changing."""
    still_failing(rolled_back)
    rolled_back.standins.run.set_service_max_instances(SERVICE, 2)
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "was changed since the rollback" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("raised, verdict", [(None, "verified"), (60, None)],
                         ids=["a deploy alone: verified", "a deploy and max instances raised: not verified"])
def test_a_pipelines_deploy_under_the_pin_is_not_someone_elses_change(rolled_back, raised, verdict):
    """A pipeline deploys a new revision after the rollback (a template change: the generation moves) while the
    split stays pinned to the known-good revision, which serves cleanly. The rollback's record keeps the
    service-level settings and the newest revision its write's answer showed, so the sweep tells that deploy
    (no traffic, nothing that serves changed) from a person's setting: verified. With max instances raised as
    well, the recovery may be that setting's: not verified. Before, any generation past the rollback's kept the
    rollback `unclear`, and it was escalated at its deadline although it worked."""
    recovery(rolled_back)
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    assert record["after"]["settings"] == {} and record["after"]["latest_created_revision"] == NEW, record["after"]
    # The service's update_time as the plan read it (Google's clock): changes at or before it were seen by the read.
    assert record["before"]["update_time"], record["before"]
    rolled_back.standins.run.deploy(SERVICE, "backend-00003-pip", rolled_back.anchor + timedelta(minutes=4),
                                    image="europe-docker.pkg.dev/demo-project/backend/api:v3",
                                    by="ci-deployer@demo-project.iam.gserviceaccount.com")
    # Its Admin Activity entry, as every real deploy writes (Cloud Run audit logging): the deploy's own, not a person's.
    assert any("ci-deployer@" in str(e.proto_payload) for e in rolled_back.standins.logging.entries()), \
        "the deploy wrote no audit entry"
    if raised:
        rolled_back.standins.run.set_service_max_instances(SERVICE, raised)
    rolled_back.at(12)

    outcomes = rolled_back.command({"command": "sweep"})

    if verdict is None:
        assert outcomes == [] and action_state(rolled_back) == "pending"
    else:
        [outcome] = outcomes
        assert outcome.status.value == verdict, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("env, verdict", [((), "verified"), ((("DB_POOL_SIZE", "50"),), "escalated")],
                         ids=["a pipeline's new image alone: verified", "a person's env change with it: named"])
def test_a_persons_template_change_under_the_pin_is_named(rolled_back, env, verdict):
    """During the rollback's verification a deploy under the pin makes a new revision that takes no traffic: a
    pipeline's new image alone is no one else's change, but a person's env change in the same update (the
    revision template's configuration, not its code) is someone at work on the failure: named, field by field
    (`containers[0].env`), never verified. The rollback's record keeps the template as digests
    (`after.template`, shared/gcp/run.py template_settings). Before, any deploy under the pin counted as a
    pipeline's, and the rollback was `verified` with a person's configuration change made meanwhile."""
    recovery(rolled_back)
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    assert "containers[0].env" not in record["after"]["template"] and record["after"]["template"], record["after"]
    rolled_back.standins.run.deploy(SERVICE, "backend-00003-fix", rolled_back.anchor + timedelta(minutes=4),
                                    image="europe-docker.pkg.dev/demo-project/backend/api:v3", env=env)
    rolled_back.at(12)
    first = rolled_back.command({"command": "sweep"})
    if verdict == "verified":
        [outcome] = first
    else:
        assert first == [] and action_state(rolled_back) == "pending"
        rolled_back.at(18)
        [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")
        assert "its revision template changed since beyond the code a deploy brings (containers[0].env" \
            in outcome.reason, outcome.reason
        assert "50" not in outcome.reason.split("containers[0].env")[1][:40], outcome.reason   # no value told
    assert outcome.status.value == verdict, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("person", [False, True], ids=["its own entry alone: verified", "a person's entry: named"])
def test_the_sweep_passes_over_runwardens_own_audit_entry_and_names_a_persons(rolled_back, person):
    """The rollback's own UpdateService writes its Admin Activity entry, by Runwarden's account, as Cloud Run writes
    one for every UpdateService ("Cloud Run audit logging"); the sweep reads it within the evidence's window and
    passes over it (diagnosis.self_principals, the function's own account joined at start). A person's change of
    the connector in the same minutes is named, Runwarden's own never. Before, the stand-in wrote no entry for the
    product's own write, and the sweep never read one beside a person's."""
    from sandbox.standins.logging import AuditSeed, EntrySeed, log_name_for
    from sandbox.standins.run import AUDIT_LOG_ID, RUNWARDEN_CALLER

    ours = [e for e in rolled_back.standins.logging.entries()
            if "UpdateService" in str(e.proto_payload) and RUNWARDEN_CALLER in str(e.proto_payload)]
    assert ours, "the rollback's own write left no audit entry"
    recovery(rolled_back)
    if person:
        rolled_back.standins.logging.add_entry(EntrySeed(
            log_name=log_name_for("demo-project", AUDIT_LOG_ID), timestamp=rolled_back.anchor + timedelta(minutes=4),
            severity="NOTICE", resource_type="audited_resource",
            resource_labels={"project_id": "demo-project", "service": "vpcaccess.googleapis.com",
                             "method": "google.cloud.vpcaccess.v1.VpcAccessService.UpdateConnector"},
            audit=AuditSeed(method_name="google.cloud.vpcaccess.v1.VpcAccessService.UpdateConnector",
                            resource_name=_CONNECTOR, principal_email="alice@example.com",
                            service_name="vpcaccess.googleapis.com")))
    rolled_back.at(12)

    outcomes = rolled_back.command({"command": "sweep"})

    if not person:
        [outcome] = outcomes
        assert outcome.status.value == "verified", outcome.reason
    else:
        assert outcomes == [] and action_state(rolled_back) == "pending"
        rolled_back.at(18)
        [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")
        assert "alice@example.com" in outcome.reason and RUNWARDEN_CALLER not in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1


GIT_SHA_THEN, GIT_SHA_NOW = "3f9c2e1a7b4d", "8e1d5c0b2a96"
_API = "europe-docker.pkg.dev/demo-project/backend/api"


@pytest.mark.parametrize("by, verdict", [("deployer@example.com", "verified"), ("alice@example.com", None)],
                         ids=["the pipeline that deployed before: verified", "another principal: not verified"])
def test_a_pipeline_stamping_its_build_into_env_under_the_pin_is_not_a_persons_change(world, tmp_path, by, verdict):
    """The failing revision was deployed by a pipeline that sets GIT_SHA with every image (`gcloud run deploy
    --image api:SHA --update-env-vars GIT_SHA=SHA`); under the rollback's pin it deploys again, a new image and
    GIT_SHA restamped: the template's env moved, but only by the build's own identity, by the account that created
    the revision before (Revision.creator): the pipeline's deploy, verified. The same change by another principal
    stays a person's (`unclear`, kept pending). Before, every such deploy read as a person's template change."""
    data = yaml.safe_load(open("sandbox/scenarios/bad_revision.yaml").read())
    for revision in data["services"][0]["revisions"]:
        sha = GIT_SHA_THEN if revision["name"] == NEW else "0b7e4d2c9a1f"
        revision.update(env={"GIT_SHA": sha, "DB_POOL": "10"}, image=f"{_API}:{sha}")
    stamped = tmp_path / "bad_revision.yaml"
    stamped.write_text(yaml.safe_dump(data))
    world.seed(str(stamped))
    assert world.handle(world.alert()).status.value == "applied"
    world.published()
    recovery(world)
    world.standins.run.deploy(SERVICE, "backend-00003-pip", world.anchor + timedelta(minutes=4),
                              image=f"{_API}:{GIT_SHA_NOW}", env=(("GIT_SHA", GIT_SHA_NOW),), by=by)
    world.at(12)

    outcomes = world.command({"command": "sweep"})

    if verdict is None:
        assert outcomes == [] and action_state(world) == "pending"
    else:
        [outcome] = outcomes
        assert outcome.status.value == verdict, outcome.reason
    assert world.serving() == {OLD: 100} and world.standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("failing", [False, True], ids=["clean since", "failing since"])
def test_a_rollback_whose_service_was_deleted_since_is_escalated_at_once(rolled_back, failing):
    """A person deletes the service during the rollback's verification (to recreate it, or by mistake):
    Cloud Run answers NOT_FOUND for it, a permanent fault. Its minutes since, clean or failing, are no
    longer the rollback's doing, and there is nothing left to undo: escalated at the first sweep, naming
    the refusal, nothing written. Before, each sweep until the deadline read "cannot read the evidence"
    and waited, and only the deadline escalated it."""
    still_failing(rolled_back) if failing else recovery(rolled_back)
    rolled_back.standins.run.delete_service(SERVICE)
    rolled_back.at(12)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "no longer exists" in outcome.reason, outcome.reason
    assert "NOT_FOUND" in outcome.reason and "not undone" in outcome.reason, outcome.reason
    assert rolled_back.standins.run.count("UpdateService") == 1
    assert action_state(rolled_back) == "escalated"
    [published] = rolled_back.published()      # a person hears of it
    assert published["status"] == "escalated" and "no longer exists" in published["reason"], published
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []     # judged once
    # Nothing is pinned any more: the pin is released with that reason, so no reminder reads the missing service.
    pin = rolled_back.state.get_record(PINS, SERVICE)
    assert pin["pinned"] is False and pin["released_by"] == "service deleted", pin
    assert "no longer exists" in pin["released_why"], pin


@pytest.mark.parametrize("gone", [True, False], ids=["deleted since", "no longer Ready"])
def test_an_undo_whose_recorded_revision_cannot_serve_is_escalated_not_written(rolled_back, gone):
    """The rollback did not help, and the revision it rolled back from was deleted since (or stopped
    being Ready). Written back, Cloud Run's operation fails after the write (the stand-in as Google
    does: code 13, "Revision '...' does not exist or is deleted") and the service's desired traffic is
    left at the failed split: the undo checks the split first, as an operator's restore does, and
    escalates naming the revision and the ways on, nothing written."""
    still_failing(rolled_back)
    if gone:
        rolled_back.standins.run.delete_revision(SERVICE, NEW)
    else:
        rolled_back.standins.run.set_conditions(f"{SERVICE}/revisions/{NEW}",
                                                [ConditionSeed("Ready", "CONDITION_FAILED", "CONTAINER_MISSING", "image gone")])
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "it is not undone" in outcome.reason, outcome.reason
    assert f"{NEW} {'no longer exists' if gone else 'is not Ready'}" in outcome.reason, outcome.reason
    assert "to_latest: true" in outcome.reason and "nothing written" in outcome.reason, outcome.reason
    assert action_state(rolled_back) == "escalated"
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []     # judged once


def test_the_kill_switch_stops_an_undo_and_says_so(rolled_back):
    still_failing(rolled_back)
    rolled_back.command({"command": "pause", "command_id": "p1", "requested_by": "alice", "reason": "maintenance"})
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated" and "the undo did not happen" in outcome.reason, outcome.reason
    assert "kill switch" in outcome.reason
    assert rolled_back.serving() == {OLD: 100}
    # Never retried: the escalation names the command that undoes it by hand, and once resumed that very
    # command (the CLI line in its notes, as a person would send it) puts back the split from before.
    assert "Runwarden will not retry this undo" in outcome.reason and outcome.notes, outcome.reason
    rolled_back.command({"command": "resume", "command_id": "r1", "requested_by": "alice", "reason": "done"},
                        message_id="c3")
    rolled_back.at(20)
    assert rolled_back.command({"command": "sweep"}, message_id="c4") == [] and rolled_back.serving() == {OLD: 100}
    argv = shlex.split(outcome.notes[0])
    assert argv[:3] == ["runwarden", "command", "restore_traffic"], argv
    key, value = argv[argv.index("--param") + 1].split("=", 1)
    [restored] = rolled_back.command({"command": "restore_traffic", "command_id": "undo-1", "requested_by": "alice",
                                      "target": argv[argv.index("--target") + 1], "params": {key: value},
                                      "reason": argv[argv.index("--reason") + 1]}, message_id="c5")
    assert restored.status.value == "applied", restored.reason
    assert rolled_back.serving() == {NEW: 100}


def test_a_sweep_hours_late_does_not_undo_on_a_failure_of_now(rolled_back):
    still_failing(rolled_back, until="+200m")
    rolled_back.at(195)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "after the deadline" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100}


def test_the_signature_coming_back_after_a_verified_fix_is_escalated(rolled_back):
    again = signature_back_after_a_verified_fix(rolled_back)

    assert again.status.value == "escalated" and "came back after rollback_traffic was verified" in again.reason
    assert rolled_back.standins.run.count("UpdateService") == 1  # only the first rollback


def signature_back_after_a_verified_fix(rolled_back: World):
    """The rollback verified by a sweep; then someone sends traffic back to the bad revision, and it fails again:
    a new incident's alert, handled at +20m. Its outcome."""
    recovery(rolled_back)
    rolled_back.at(12)
    rolled_back.command({"command": "sweep"})
    # The failing revision serving again as the state the new incident starts in. Audited, it is a person's move
    # within the window, and the alert stands down naming it before the verified fix is read.
    rolled_back.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW)], audited=False)
    more_series(rolled_back, f"""
  - metric: run.googleapis.com/request_count
    resource: {{type: cloud_run_revision, labels: {{service_name: backend, revision_name: {NEW}}}}}
    labels: {{response_code_class: 5xx, response_code: "500"}}
    points: [{{from: +12m, to: +20m, every: 60s, value: 30}}]
  # The database stays up and keeps reporting (a series silent for 5 minutes is not up: facts.sql_down).
  - metric: cloudsql.googleapis.com/database/up
    kind: GAUGE
    value_type: INT64
    resource: {{type: cloudsql_database, labels: {{database_id: "demo-project:main-db", region: us-central1}}}}
    points: [{{from: +6m, to: +20m, every: 60s, value: 1}}]
""")
    rolled_back.at(20)
    return rolled_back.handle(rolled_back.alert(incident_id="0.returned", message_id="3"))


def test_the_kill_switch_command_stops_writes_until_released(world):
    world.seed("bad_revision")
    [engaged] = world.command({"command": "pause", "command_id": "p1", "requested_by": "alice",
                               "reason": "maintenance"})
    assert engaged.status.value == "applied" and "paused" in engaged.reason

    stopped = world.handle(world.alert())
    assert stopped.status.value == "skipped" and "kill switch engaged" in stopped.reason and "alice" in stopped.reason
    assert world.standins.run.count("UpdateService") == 0

    world.command({"command": "resume", "command_id": "r1", "requested_by": "alice", "reason": "done"})
    assert world.handle(world.alert(message_id="2")).status.value == "applied"


@pytest.mark.parametrize("body, field", [
    ({"command": "reboot"}, "command.command"),
    ({"command": "pause", "command_id": "x"}, "command.requested_by"),
    ({"nothing": 1}, "command"),
])
def test_a_malformed_command_is_rejected_not_raised(world, body, field):
    [outcome] = world.command(body)
    assert outcome.status.value == "rejected" and outcome.trigger == "command" and field in outcome.reason


def test_a_command_that_is_not_json_is_rejected(world):
    [outcome] = handle_command(event(b"sweep please"), world.config, world.adapters)
    assert outcome.status.value == "rejected" and "message.data" in outcome.reason


def test_the_hourly_budget_holds_back_a_second_incident(standin_env, firestore, pubsub, project_id, anchor):
    world = World(standin_env, pubsub, project_id, anchor,
                  guardrails={"cooldown_seconds": 0, "max_actions_per_target_per_hour": 1})
    world.seed("bad_revision")
    assert world.handle(world.alert()).status.value == "applied"
    # The failing revision serving again, the state the second incident starts in (no person's change within it:
    # audited, it would stand automation down before the budget is read).
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(100, NEW)], audited=False)

    second = world.handle(world.alert(incident_id="0.second", message_id="2"))

    assert second.status.value == "skipped" and second.reason.startswith("budget exhausted")
    assert world.serving() == {NEW: 100}


def test_a_closed_notification_that_overtakes_the_open_one_prevents_any_action(world):
    world.seed("bad_revision")
    world.handle(world.alert(state="closed", message_id="1", ended_at=world.anchor.replace(minute=5)))

    late_open = world.handle(world.alert(message_id="2"))

    assert late_open.status.value == "skipped" and "already closed" in late_open.reason
    assert world.standins.run.count("UpdateService") == 0


def test_a_log_based_incident_is_closed_by_runwarden_after_its_timeout(world):
    world.seed("healthy")
    notification = world.alert("healthy")
    body = json.loads(base64.b64decode(notification["message"]["data"]))
    body["incident"]["metric"] = {"type": "", "labels": {}}
    body["incident"]["condition"] = {"name": "c", "displayName": "log match",
                                     "conditionMatchedLog": {"filter": 'textPayload:"boom"'}}
    world.handle(event(json.dumps(body).encode()))
    world.at(30)
    assert [o.status.value for o in world.command({"command": "sweep"})] == []
    world.at(71)  # recorded when handled, at the scenario's delivery (+8m); the timeout is an hour

    [closed] = world.command({"command": "sweep"})
    assert closed.status.value == "resolved" and "after timeout" in closed.reason
    assert world.command({"command": "sweep"}) == []


def test_a_log_based_incidents_resolved_outcome_whose_publish_failed_is_published_by_the_next_sweep_once(world):
    """The sweep closes a log-based incident and its `resolved` publish fails: the outcome is kept in the
    incident's record, stored by the update that closed it, and the retried sweep publishes that very
    outcome; later sweeps publish nothing."""
    world.seed("healthy")
    body = json.loads(base64.b64decode(world.alert("healthy")["message"]["data"]))
    body["incident"]["metric"] = {"type": "", "labels": {}}
    body["incident"]["condition"] = {"name": "c", "displayName": "log match",
                                     "conditionMatchedLog": {"filter": 'textPayload:"boom"'}}
    world.handle(event(json.dumps(body).encode()))
    world.at(71)   # recorded when handled, at the scenario's delivery (+8m); the timeout is an hour
    _publish_fails_once(world, lambda: world.command({"command": "sweep"}))
    incident = world.state.get_record(INCIDENTS, body["incident"]["incident_id"])
    assert incident["state"] == "closed" and incident["report_state"] == "pending" and incident["report_by"] == ""

    [again] = world.command({"command": "sweep"}, message_id="c2")
    assert again.status.value == "resolved" and again.outcome_id == json.loads(incident["report"])["outcome_id"]
    # Published: the alert's own outcome, and `resolved` once.
    assert [o["outcome_id"] for o in world.published(2) if o["status"] == "resolved"] == [again.outcome_id]
    assert world.state.get_record(INCIDENTS, body["incident"]["incident_id"])["report_state"] == "sent"
    assert world.command({"command": "sweep"}, message_id="c3") == []


CONNECTOR = "projects/demo-project/locations/us-central1/connectors/backend-conn"


def connector_world(standin_env, pubsub, project_id, anchor, **policy) -> World:
    world = World(standin_env, pubsub, project_id, anchor,
                  bounds={"connectors": [{"name": CONNECTOR, **policy}]} if policy else {})
    world.seed("connector_saturation")
    return world


def test_a_one_way_connector_change_is_proposed_without_the_policy(standin_env, firestore, pubsub, project_id,
                                                                  anchor):
    world = connector_world(standin_env, pubsub, project_id, anchor)

    outcome = world.handle(world.alert("connector_saturation"))

    assert outcome.status.value == "proposed" and "allow_one_way" in outcome.reason
    assert outcome.action.name == "scale_connector"
    assert outcome.action.after is None  # nothing applied: the change is `proposed_change`
    assert outcome.action.proposed_change["connector"]["machine_type"] == "e2-standard-4"
    assert outcome.action.proposal_id and outcome.action.proposal_expires_at
    assert any("gcloud compute networks vpc-access connectors update backend-conn" in n for n in outcome.notes)
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def test_the_policy_lets_it_scale_the_connector_once(standin_env, firestore, pubsub, project_id, anchor):
    world = connector_world(standin_env, pubsub, project_id, anchor, allow_one_way=True)

    first = world.handle(world.alert("connector_saturation"))
    again = world.handle(world.alert("connector_saturation", message_id="2"))

    assert first.status.value == "applied" and again.status.value == "skipped"
    assert first.action.before["connector"]["machine_type"] == "e2-micro"
    assert world.standins.vpcaccess.connector(CONNECTOR)["machineType"] == "e2-standard-4"
    assert world.standins.vpcaccess.count("PatchConnector") == 1
    assert first.action.reversible is False


def test_a_ceiling_the_policy_sets_is_never_crossed(standin_env, firestore, pubsub, project_id, anchor):
    # Only max-instance steps allowed (no machine type move), and the ceiling is the current max.
    world = connector_world(standin_env, pubsub, project_id, anchor, allow_one_way=True,
                            allowed_machine_types=["e2-micro"], max_instances_ceiling=3)

    outcome = world.handle(world.alert("connector_saturation"))

    assert outcome.status.value == "escalated" and "person must decide" in outcome.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def test_a_connector_change_that_did_not_help_is_escalated_not_undone(standin_env, firestore, pubsub, project_id,
                                                                      anchor):
    world = connector_world(standin_env, pubsub, project_id, anchor, allow_one_way=True)
    assert world.handle(world.alert("connector_saturation")).status.value == "applied"
    world.at(20)  # past the deadline, the 503s' data never recovered

    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "cannot be undone" in outcome.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 1
    assert world.standins.vpcaccess.connector(CONNECTOR)["machineType"] == "e2-standard-4"


@pytest.mark.parametrize("leaves", ["changes", "error"])
def test_a_connector_update_whose_operation_failed_but_left_it_changed_is_recorded_and_escalated(
        standin_env, firestore, pubsub, project_id, anchor, leaves):
    """A patch whose operation ends with an error, while the connector read right after no longer shows what
    the change was planned on (the update's values: it took, then a later step failed; or state ERROR). What a
    failed update leaves is not documented (VpcAccessStandIn.failed_update_leaves), so the write may have
    landed: recorded as the incident's action, closed escalated, and its cooldown kept, so another incident on
    the connector minutes later writes nothing. Before, it was answered `failed`, the cooldown and budget were
    given back, and the next incident patched the connector a second time."""
    world = connector_world(standin_env, pubsub, project_id, anchor, allow_one_way=True)
    world.standins.vpcaccess.failed_update_leaves = leaves
    world.standins.vpcaccess.fail_next_operation()

    first = world.handle(world.alert("connector_saturation"))
    world.at(3)
    other = world.handle(world.alert("connector_saturation", message_id="2", incident_id="0.connector-next"))

    assert first.status.value == "escalated", first.reason
    assert "may have left that" in first.reason and "A person must check" in first.reason
    assert other.status.value != "applied", other.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 1
    [record] = world.state.find_records(ACTIONS, "target", CONNECTOR)
    assert record["action"] == "scale_connector" and record["state"] == "escalated"


def connector_recovery(world: World, per_minute: int = 45) -> None:
    """After the scale-up, the service behind the connector serves cleanly and fast again: its callers'
    demand while it failed (45 a minute: the 30 the saturated connector carried and the 15 it refused),
    unless `per_minute` says otherwise (a demand that fell since)."""
    request_lines(world, OLD, "+6m", "+20m", per_minute)
    more_series(world, counted(OLD, 200, "+6m", "+20m", per_minute)
                       + timed(OLD, "2xx", "+6m", "+20m", [[120, per_minute]]))


# A principal of Runwarden's own (diagnosis.self_principals), whose audit entries the sweep leaves out.
OWN_ACCOUNT = "runwarden@demo-project.iam.gserviceaccount.com"


@pytest.mark.parametrize("busy, said", [(600, "by bob@example.com"), (1100, "came back cut at its bound")],
                         ids=["more than a page: read on, the person named", "more than the bound: the cut named"])
def test_a_persons_change_under_a_busy_audit_log_is_read_or_the_cut_named(standin_env, firestore, pubsub, project_id,
                                                                         anchor, busy, said):
    """A person changes the connector at +5m, after the scale-up; then the service's Admin Activity log fills with
    `busy` operations the sweep leaves out (Runwarden's own account's, two entries each: 1,200 and 2,200 entries),
    newer than the person's. Read newest first, the
    person's entry lies past the first page (ListLogEntries pages with next_page_token, google/logging/v2/
    logging.proto, as the Logging stand-in does): the read goes on to the bound (collection.MAX_AUDIT_ENTRIES) and
    names the person; past the bound, the cut read is named and nothing is verified on it. Before, the read took
    one page of max_log_entries (300), called the rest unread nowhere, and the scale-up was `verified`."""
    world = World(standin_env, pubsub, project_id, anchor, bounds={"connectors": [{"name": CONNECTOR,
                                                                                    "allow_one_way": True}]},
                  diagnosis={"self_principals": [OWN_ACCOUNT]})
    world.seed("connector_saturation")
    assert world.handle(world.alert("connector_saturation")).status.value == "applied"
    world.published()
    person = AuditLogSpec.model_validate({"at": "+5m", "principal": "bob@example.com", "api": "vpcaccess",
                                          "resource": "backend-conn"})
    step = 480 / busy     # seconds apart, from +6m to +14m
    own = [AuditLogSpec.model_validate({"at": timedelta(seconds=360 + i * step), "principal": OWN_ACCOUNT,
                                        "service": SERVICE.rsplit("/", 1)[-1], "kind": "traffic"})
           for i in range(busy)]
    seed_logs(world.standins.logging, "demo-project", "us-central1", (), (person, *own), world.anchor)
    connector_recovery(world)
    world.at(20)

    [outcome] = world.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated" and said in outcome.reason, outcome.reason
    assert world.writes() == 1


@pytest.fixture
def scaled(standin_env, firestore, pubsub, project_id, anchor):
    world = connector_world(standin_env, pubsub, project_id, anchor, allow_one_way=True)
    assert world.handle(world.alert("connector_saturation")).status.value == "applied"
    world.published()
    return world


def test_a_scaled_connector_whose_services_recovered_is_verified(scaled):
    connector_recovery(scaled)
    scaled.at(14)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "verified", outcome.reason


@pytest.mark.parametrize("changed_at, verdict", [(None, "verified"), ("+3m", "escalated")],
                         ids=["nobody else: verified", "a person's change in the wait: escalated"])
def test_a_persons_change_during_the_approval_wait_is_read_by_the_sweep(standin_env, firestore, pubsub, project_id,
                                                                        anchor, changed_at, verdict):
    """A scale-up waits for its approval (proposed at +2m, approved at +4m); meanwhile a person changes the
    connector themselves (+3m). The action record keeps when the evidence it was decided on was read, and the sweep
    reads the audit log from then: the person's change came first, and the recovery may be theirs. Before, only
    the audit log after `applied_at` was read, and the scale-up was `verified`."""
    world = World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"],
                  bounds={"connectors": [{"name": CONNECTOR}]})
    world.seed("connector_saturation")
    proposed = world.handle(world.alert("connector_saturation"))
    assert proposed.status.value == "proposed", proposed.reason
    if changed_at:
        person = AuditLogSpec.model_validate({"at": changed_at, "principal": "bob@example.com", "api": "vpcaccess",
                                              "resource": "backend-conn"})
        seed_logs(world.standins.logging, "demo-project", "us-central1", (), (person,), world.anchor)
    world.at(4)
    [approved] = world.command({"command": "approve", "command_id": "appr-1", "requested_by": "alice@example.com",
                                "params": {"proposal_id": proposed.action.proposal_id}, "reason": "ok"},
                               message_id="appr-1")
    assert approved.status.value == "applied", approved.reason
    [record] = world.state.find_records(ACTIONS, "target", CONNECTOR)
    assert record["evidence_read_at"] < record["applied_at"], record
    connector_recovery(world)
    world.at(20)

    [outcome] = world.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == verdict, outcome.reason
    if changed_at:
        assert "their change came first" in outcome.reason and "bob@example.com" in outcome.reason, outcome.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 1


def test_a_scaled_connector_whose_demand_fell_to_what_it_carried_is_not_verified(scaled):
    """The night comes (or a client stops) as the scale-up lands: the service's callers send 20 requests a
    minute, fewer than the 30 the saturated connector answered while it refused 15 more. They are served
    cleanly, as the old connector would have served them: the change is not shown. Before, `verified`
    (20 a minute is over min_traffic_ratio's 10 % of 45). Escalated at the deadline, nothing written."""
    connector_recovery(scaled, per_minute=20)
    scaled.at(14)
    assert scaled.command({"command": "sweep"}) == []                 # not verified: waits
    scaled.at(20)

    [outcome] = scaled.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated", outcome.reason
    assert "its load fell to what the connector carried before the change" in outcome.reason, outcome.reason
    assert "against 30 answered without a 5xx or 429" in outcome.reason, outcome.reason
    assert action_state(scaled) == "escalated"


def connector_as_scaled(world: World, cpu: float, start: str = "+6m", end: str = "+20m") -> None:
    """The connector's own metrics after the scale-up: its instances at the max the change set, its CPU p99 at `cpu`."""
    most = int(world.standins.vpcaccess.connector(CONNECTOR)["maxInstances"])
    more_series(world, f"""
  - metric: vpcaccess.googleapis.com/connector/instances
    kind: GAUGE
    value_type: INT64
    resource: {{type: vpc_access_connector, labels: {{connector_name: backend-conn}}}}
    points: [{{from: {start}, to: {end}, every: 60s, value: {most}}}]
  - metric: vpcaccess.googleapis.com/connector/cpu/utilizations
    kind: GAUGE
    value_type: DISTRIBUTION
    resource: {{type: vpc_access_connector, labels: {{connector_name: backend-conn}}}}
    points: [{{from: {start}, to: {end}, every: 60s, value: {{samples: [[{cpu}, 20]]}}}}]""")


def test_a_scaled_connector_still_at_its_limit_is_not_verified(scaled):
    """The services behind it serve their whole demand cleanly after the scale-up, while the connector runs at the
    max instances the change set with its CPU p99 at 95 % (read as 97 %: a p99 interpolated in its bucket): it carries this load with no room for the next rise, as
    the connector before the change did until it failed. Before, `verified` on the clean requests alone. Now
    unclear, waited for, and escalated at the deadline naming the connector's own readings; nothing written."""
    connector_recovery(scaled)
    connector_as_scaled(scaled, cpu=0.95)
    scaled.at(14)
    assert scaled.command({"command": "sweep"}) == []                 # not verified: waits
    scaled.at(20)

    [outcome] = scaled.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated", outcome.reason
    assert "the connector as scaled is still at its limit" in outcome.reason, outcome.reason
    assert "CPU p99 peak 9" in outcome.reason and "(bar 80% at max_instances" in outcome.reason, outcome.reason
    assert action_state(scaled) == "escalated"
    assert scaled.standins.vpcaccess.count("PatchConnector") == 1      # the scale-up alone: nothing written since


def test_a_scaled_connector_with_room_left_is_verified_naming_nothing_of_it(scaled):
    """The same recovery with the connector at its new max instances and its CPU p99 at 40 %: verified."""
    connector_recovery(scaled)
    connector_as_scaled(scaled, cpu=0.4)
    scaled.at(14)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "verified", outcome.reason


def test_a_scaled_connector_deleted_since_is_not_verified(scaled):
    """A person deletes the connector after the scale-up (to recreate it elsewhere, or by mistake) while
    the service's requests are still clean. The change is no longer anywhere to be judged: escalated at
    once, nothing written. Before, the connector's NOT_FOUND was only a gap in the evidence, and the
    services' clean requests verified the scale-up of a connector that no longer exists."""
    connector_recovery(scaled)
    scaled.standins.vpcaccess.delete_connector(CONNECTOR)
    scaled.at(14)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "escalated", outcome.reason
    assert "no longer exists" in outcome.reason and "NOT_FOUND" in outcome.reason, outcome.reason
    assert action_state(scaled) == "escalated"


@pytest.mark.parametrize("failing", [False, True], ids=["clean before", "failing before"])
def test_a_scaled_connectors_service_deleted_since_is_escalated_at_once(scaled, failing):
    """A person deletes the service the connector was scaled for, during the change's verification. Its read
    answers NOT_FOUND, read again by name: the service is gone, so the change can no longer be judged on it.
    Escalated at the first sweep, naming the refusal; the connector's scale stays (the connector is not the
    service's), nothing written. Before, each sweep until the deadline read "cannot read the evidence"."""
    connector_recovery(scaled) if not failing else None
    scaled.standins.run.delete_service(SERVICE)
    scaled.at(14)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "escalated", outcome.reason
    assert "no longer exists" in outcome.reason and "NOT_FOUND" in outcome.reason, outcome.reason
    assert "connector's scale stays" in outcome.reason, outcome.reason
    assert action_state(scaled) == "escalated"
    assert scaled.standins.vpcaccess.count("PatchConnector") == 1       # the scale-up alone, never undone
    assert scaled.command({"command": "sweep"}, message_id="c3") == []  # judged once


REPORTS = "projects/demo-project/locations/us-central1/services/reports"
REPORTS_REVISION = "reports-00003-kiv"


def _reports_behind_the_connector(world: World, failing_from: str | None) -> None:
    """A second managed service, `reports`, whose serving revision uses backend-conn too: 40 requests a
    minute, clean and fast from -30m, and from `failing_from` on (None: never) half of them answered 503."""
    until = failing_from or "+20m"
    lines = [("200", "2xx", "-30m", until, 40)] + ([("200", "2xx", failing_from, "+20m", 20),
                                                    ("503", "5xx", failing_from, "+20m", 20)] if failing_from else [])
    for code, _, start, end, count in lines:
        request_lines(world, REPORTS_REVISION, start, end, count, status=int(code), service="reports")
    series = "".join(f"""
  - metric: run.googleapis.com/request_count
    resource: {{type: cloud_run_revision, labels: {{service_name: reports, revision_name: {REPORTS_REVISION}}}}}
    labels: {{response_code_class: {cls}, response_code: "{code}"}}
    points: [{{from: {start}, to: {end}, every: 60s, value: {count}}}]
  - metric: run.googleapis.com/request_latencies
    value_type: DISTRIBUTION
    resource: {{type: cloud_run_revision, labels: {{service_name: reports, revision_name: {REPORTS_REVISION}}}}}
    labels: {{response_code_class: {cls}}}
    points: [{{from: {start}, to: {end}, every: 60s, value: {{samples: [[90, {count}]]}}}}]""" for code, cls, start, end, count in lines)
    extra = yaml.safe_load(f"""
name: later
project: demo-project
region: us-central1
services:
  - name: reports
    revisions:
      - name: {REPORTS_REVISION}
        created: -72h
        ready: true
        vpc_connector: {CONNECTOR}
    traffic:
      - {{revision: {REPORTS_REVISION}, percent: 100}}
timeseries:{series}
""")
    seed(world.standins, Scenario.model_validate(extra), world.anchor)


@pytest.mark.parametrize("failing", [False, True], ids=["reports clean", "reports failing since the change"])
def test_a_scaled_connectors_deleted_service_leaves_the_verdict_to_the_services_still_behind_it(
        standin_env, firestore, pubsub, project_id, anchor, failing):
    """backend, for which the connector was scaled, is deleted during the verification; reports uses the
    same connector. Before, the deletion was escalated at once with "also reports: healthy" (or failing)
    and none of reports' evidence. Now a clean reports is named with its evidence (escalated at once: the
    change did not hurt it, not verified); a reports failing since the change is judged as any change is,
    escalated at the deadline with its evidence; the scale is never undone."""
    world = World(standin_env, pubsub, project_id, anchor, services=(SERVICE, REPORTS),
                  bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": True}]})
    world.seed("connector_saturation")
    assert world.handle(world.alert("connector_saturation")).status.value == "applied"
    # reports starts serving through the connector after the scale: a clean user behind it at the alert would
    # hold the service alert's scale back (scope.service_peers_held).
    _reports_behind_the_connector(world, "+3m" if failing else None)
    world.published()
    world.standins.run.delete_service(SERVICE)
    world.at(14)

    outcomes = world.command({"command": "sweep"})

    if failing:
        assert outcomes == [], outcomes[0].reason            # failing since, before the deadline: waits
        world.at(20)
        [outcome] = world.command({"command": "sweep"}, message_id="c2")
        assert "reports: still failing since the action settled" in outcome.reason, outcome.reason
        assert "cannot be undone" in outcome.reason, outcome.reason
    else:
        [outcome] = outcomes
        assert "reports: healthy on live data since the action settled" in outcome.reason, outcome.reason
        assert "did not hurt them" in outcome.reason and "not verified" in outcome.reason, outcome.reason
    assert outcome.status.value == "escalated", outcome.reason
    assert "backend no longer exists" in outcome.reason and "NOT_FOUND" in outcome.reason, outcome.reason
    assert action_state(world) == "escalated"
    assert world.standins.vpcaccess.count("PatchConnector") == 1       # the scale-up alone, never undone


def test_a_managed_service_that_no_longer_exists_does_not_hold_back_a_connector_changes_verdict(
        standin_env, firestore, pubsub, project_id, anchor):
    """The config still lists reports, deleted last week (its GET answers NOT_FOUND). A service that does not
    exist serves nothing through the connector. Before, it was "cannot be read, so whether it uses the
    connector is not known": every connector change stayed unclear and was escalated at the deadline while
    backend, the one it was made for, had recovered. Now it is verified, the verdict naming reports as gone."""
    world = World(standin_env, pubsub, project_id, anchor, services=(SERVICE, REPORTS),
                  bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": True}]})
    world.seed("connector_saturation")
    assert world.handle(world.alert("connector_saturation")).status.value == "applied"
    world.published()
    connector_recovery(world)
    world.at(14)

    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "verified", outcome.reason
    assert "reports" in outcome.reason and "no longer exists" in outcome.reason, outcome.reason


def test_a_connector_scaled_back_down_since_is_not_verified(scaled):
    """Terraform (or a person) puts the connector back as it was; the load has dropped and the service
    is fine. Before, the sweep said the scale-up was verified, for a change no longer in place."""
    connector_recovery(scaled)
    scaled.adapters.vpcaccess.update_connector(CONNECTOR, min_instances=2, max_instances=3, machine_type="e2-micro")
    scaled.at(14)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "no longer shows the action's change" in outcome.reason
    assert "machine_type e2-micro" in outcome.reason, outcome.reason


def test_a_connector_still_updating_is_not_verified_until_its_update_ends(scaled):
    connector_recovery(scaled)
    scaled.standins.vpcaccess.set_state(CONNECTOR, "UPDATING")
    scaled.at(14)
    assert scaled.command({"command": "sweep"}) == []

    scaled.standins.vpcaccess.set_state(CONNECTOR, "READY")
    [outcome] = scaled.command({"command": "sweep"}, message_id="c2")
    assert outcome.status.value == "verified", outcome.reason


def test_a_connector_update_that_outlived_the_writes_wait_is_judged_from_when_it_took(scaled):
    """The connector's update outlived the write's 300 s wait: the change was recorded with the connector
    still UPDATING (a write adopted from its intent records it so). Its clean minutes while the old
    instances alone carried the traffic verified it the moment a sweep read it READY. Now that sweep notes
    when it took, and only minutes after it judge the change: verified by a later sweep."""
    record = scaled.state.find_records(ACTIONS, "service", SERVICE)[0]
    after = {"connector": {**record["after"]["connector"], "state": "UPDATING"}}
    scaled.state.update_record(ACTIONS, record["key"], {"after": after})
    connector_recovery(scaled)
    scaled.standins.vpcaccess.set_state(CONNECTOR, "UPDATING")
    scaled.at(12)
    assert scaled.command({"command": "sweep"}) == []

    scaled.standins.vpcaccess.set_state(CONNECTOR, "READY")
    assert scaled.command({"command": "sweep"}, message_id="c2") == []    # READY: when it took is noted
    [took] = [r["took_at"] for r in scaled.state.find_records(ACTIONS, "service", SERVICE)]
    assert took == scaled.anchor + timedelta(minutes=12), took
    scaled.at(14)
    assert scaled.command({"command": "sweep"}, message_id="c3") == []    # no whole minute since it yet
    scaled.at(17)

    [outcome] = scaled.command({"command": "sweep"}, message_id="c4")

    assert outcome.status.value == "verified", outcome.reason
    assert "in (12:12:00, 12:14:00]" in outcome.reason, outcome.reason     # judged from when it took


@pytest.mark.parametrize("failing", [False, True], ids=["clean after", "failing after"])
def test_a_dry_run_leaves_nothing_for_the_sweep_to_verify_or_undo(standin_env, firestore, pubsub, project_id,
                                                                   anchor, failing):
    """A rollback in dry-run mode wrote nothing: no action record, so the sweep has nothing to verify, and
    nothing to undo when the service keeps failing (an undo of a write that never happened would be the
    only write). The dry run's own outcome told a person what would have been written."""
    world = World(standin_env, pubsub, project_id, anchor, mode="dry_run")
    world.seed("bad_revision")
    outcome = world.handle(world.alert())
    assert outcome.status.value == "dry_run", outcome.reason
    still_failing(world) if failing else recovery(world)
    world.at(18)

    assert world.command({"command": "sweep"}) == []

    assert world.state.find_records(ACTIONS, "service", SERVICE) == []
    assert world.standins.run.count("UpdateService") == 0 and world.serving() == {NEW: 100}


def test_shadow_mode_for_one_action_writes_nothing(standin_env, firestore, pubsub, project_id, anchor):
    world = World(standin_env, pubsub, project_id, anchor, actions={"scale_connector": {"mode": "dry_run"}},
                  bounds={"connectors": [{"name": CONNECTOR, "allow_one_way": True}]})
    world.seed("connector_saturation")

    outcome = world.handle(world.alert("connector_saturation"))

    assert outcome.status.value == "dry_run" and "shadow mode" in outcome.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0


class _WritesAfterAllRead:
    """The Run port, its first write held until `readers` reads of the service were made: every
    concurrent handler decides on the service as it was before any write, however the threads are
    scheduled on a loaded machine (a fixed latency on the read could not promise that)."""

    def __init__(self, run, readers: int) -> None:
        import threading

        self.run, self.readers, self.reads = run, readers, 0
        self.lock, self.all_read = threading.Lock(), threading.Event()

    def __getattr__(self, name: str):
        return getattr(self.run, name)

    def get_service(self, *args, **kwargs):
        service = self.run.get_service(*args, **kwargs)
        with self.lock:
            self.reads += 1
            if self.reads >= self.readers:
                self.all_read.set()
        return service

    def set_traffic(self, *args, **kwargs):
        assert self.all_read.wait(60), f"only {self.reads} of {self.readers} reads before the write"
        return self.run.set_traffic(*args, **kwargs)


def test_budget_slots_hold_under_concurrent_incidents(standin_env, firestore, pubsub, project_id, anchor):
    # Cooldown off, so only the budget (one action per target per hour) stands between them.
    world = World(standin_env, pubsub, project_id, anchor,
                  guardrails={"cooldown_seconds": 0, "max_actions_per_target_per_hour": 1})
    world.seed("bad_revision")
    world.adapters.run = _WritesAfterAllRead(world.adapters.run, readers=4)   # everyone reads before anyone writes
    statuses, errors = concurrently(*(lambda i=i: world.handle(world.alert(incident_id=f"0.parallel{i}",
                                                                           message_id=f"m{i}"))
                                      for i in range(4)))

    assert errors == []
    applied = [o for o in statuses if o.status.value == "applied"]
    assert len(applied) == 1
    assert all(o.reason.startswith(("budget exhausted", "duplicate")) for o in statuses if o not in applied), \
        [(o.status.value, o.reason) for o in statuses]
    assert world.standins.run.count("UpdateService") == 1


# --- duplicates of connector actions ---------------------------------------------------------------


def test_a_redelivered_alert_whose_connector_action_is_in_flight_is_a_duplicate(standin_env, firestore, pubsub,
                                                                                 project_id, anchor):
    # The claim is keyed on the connector, not on the service the alert names: the incident's own
    # action records lead the duplicate check to it.
    world = connector_world(standin_env, pubsub, project_id, anchor, allow_one_way=True)
    world.standins.vpcaccess.faults.fail_next(10_000, grpc.StatusCode.UNAVAILABLE, method="GetOperation")

    first = world.handle(world.alert("connector_saturation"))
    world.standins.vpcaccess.faults.clear()
    again = world.handle(world.alert("connector_saturation", message_id="2"))

    assert first.status.value == "escalated" and "could not be confirmed" in first.reason
    assert again.status.value == "skipped" and again.reason.startswith("duplicate"), again.reason
    assert again.action.name == "scale_connector" and again.target == CONNECTOR
    assert world.standins.vpcaccess.count("PatchConnector") == 1


def test_another_incident_during_runwardens_own_connector_update_is_skipped_with_that_reason(
        standin_env, firestore, pubsub, project_id, anchor):
    world = connector_world(standin_env, pubsub, project_id, anchor, allow_one_way=True)
    first = world.handle(world.alert("connector_saturation"))

    other = world.handle(world.alert("connector_saturation", message_id="9", incident_id="0.otherincident1"))

    assert first.status.value == "applied"
    assert other.status.value == "skipped", other.reason
    assert "Runwarden is updating connector backend-conn itself" in other.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 1


def test_a_connector_alert_acts_once_on_the_connector_for_all_its_services(standin_env, firestore, pubsub,
                                                                           project_id, anchor):
    from sandbox.scenarios import resolve_scenario

    scenario = resolve_scenario("connector_alert_shared")
    shared = "projects/shop-prod/locations/europe-west1/connectors/shared-conn"
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    world.config = world.config.model_copy(update={"bounds": parse_config({
        "project": project_id, "outcomes_topic": world.outcomes_topic,
        "bounds": {"connectors": [{"name": shared, "allow_one_way": True}]}}).bounds})
    world.seed("connector_alert_shared")

    first = world.handle(world.alert("connector_alert_shared"))
    again = world.handle(world.alert("connector_alert_shared", message_id="2"))

    assert first.status.value == "applied" and first.target == shared, first.reason
    assert "orders" in first.diagnosis.summary and "payments" in first.diagnosis.summary
    assert again.status.value == "skipped" and again.reason.startswith("duplicate")
    assert world.standins.vpcaccess.count("PatchConnector") == 1
    assert world.standins.run.count("UpdateService") == 0


def test_a_paused_services_own_alert_does_not_scale_its_connector(standin_env, firestore, pubsub, project_id,
                                                                  anchor):
    """The gate held back only writes whose target was paused: with the service paused for maintenance,
    its own alert still scaled the connector it uses. A pause of a service now holds back every write
    made for its alerts; the connector scale goes through again once the service is resumed."""
    world = connector_world(standin_env, pubsub, project_id, anchor, allow_one_way=True)
    paused = world.command({"command": "pause", "command_id": "p1", "requested_by": "alice", "reason": "maintenance",
                            "target": SERVICE})
    assert paused[0].status.value == "applied" and "every write made for its alerts" in paused[0].reason

    held = world.handle(world.alert("connector_saturation"))

    assert held.status.value == "skipped" and held.target == CONNECTOR, held.reason
    # Who paused it, when (the pinned clock's time, when the pause was sent) and why.
    assert f"{SERVICE} paused by alice at {world.clock.now():%Y-%m-%d %H:%M:%S} UTC: maintenance" in held.reason \
        and f"the write to {CONNECTOR}" in held.reason, held.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0

    world.command({"command": "resume", "command_id": "r1", "requested_by": "alice", "reason": "done",
                   "target": SERVICE})
    assert world.handle(world.alert("connector_saturation", message_id="2")).status.value == "applied"
    assert world.standins.vpcaccess.count("PatchConnector") == 1


@pytest.mark.parametrize("paused", ["orders", "payments"])
def test_a_connector_alert_is_held_back_when_any_service_behind_it_is_paused(standin_env, firestore, pubsub,
                                                                             project_id, anchor, paused):
    """A connector alert's scale is made on behalf of every managed service behind the connector: a
    pause of any of them (the one that stands for the connector or another) holds it back."""
    from sandbox.scenarios import resolve_scenario

    shared = "projects/shop-prod/locations/europe-west1/connectors/shared-conn"
    service = f"projects/shop-prod/locations/europe-west1/services/{paused}"
    world = World.for_scenario(resolve_scenario("connector_alert_shared"), standin_env, pubsub, project_id, anchor)
    world.config = world.config.model_copy(update={"bounds": parse_config({
        "project": project_id, "outcomes_topic": world.outcomes_topic,
        "bounds": {"connectors": [{"name": shared, "allow_one_way": True}]}}).bounds})
    world.seed("connector_alert_shared")
    world.command({"command": "pause", "command_id": "p1", "requested_by": "alice", "reason": "maintenance",
                   "target": service})

    held = world.handle(world.alert("connector_alert_shared"))

    assert held.status.value == "skipped" and held.target == shared, held.reason
    assert f"{service} paused by alice at {world.clock.now():%Y-%m-%d %H:%M:%S} UTC: maintenance" in held.reason, \
        held.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def _serves(world: World, service: str, revision: str, ok: int, failing: int) -> None:
    """From +3m on, `service` answers `ok` requests a minute cleanly and fast, and `failing` with 503."""
    for status, count in ((200, ok), (503, failing)):
        if count:
            request_lines(world, revision, "+3m", "+14m", count, status=status, service=service, project="shop-prod",
                          region="europe-west1")
    extra = yaml.safe_load(f"""
name: later
project: shop-prod
region: europe-west1
timeseries:
  - metric: run.googleapis.com/request_count
    resource: {{type: cloud_run_revision, labels: {{service_name: {service}, revision_name: {revision}}}}}
    labels: {{response_code_class: 2xx, response_code: "200"}}
    points: [{{from: +3m, to: +14m, every: 60s, value: {ok}}}]
  - metric: run.googleapis.com/request_latencies
    value_type: DISTRIBUTION
    resource: {{type: cloud_run_revision, labels: {{service_name: {service}, revision_name: {revision}}}}}
    labels: {{response_code_class: 2xx}}
    points: [{{from: +3m, to: +14m, every: 60s, value: {{samples: [[60, 40]]}}}}]
""" + (f"""
  - metric: run.googleapis.com/request_count
    resource: {{type: cloud_run_revision, labels: {{service_name: {service}, revision_name: {revision}}}}}
    labels: {{response_code_class: 5xx, response_code: "503"}}
    points: [{{from: +3m, to: +14m, every: 60s, value: {failing}}}]
""" if failing else ""))
    seed(world.standins, Scenario.model_validate(extra), world.anchor)


@pytest.mark.parametrize("still_failing_service", ["orders", "payments", None])
def test_a_shared_connectors_change_is_verified_only_when_every_service_behind_it_recovered(
        standin_env, firestore, pubsub, project_id, anchor, still_failing_service):
    """Before, the sweep judged the one service that stood for the connector: with the other still
    answering 30 % 503, it said `verified`. The alert is on the connector itself, so with every service
    recovered the change is verified once that alert's incident closed (judging.unread_condition)."""
    from sandbox.scenarios import resolve_scenario

    shared = "projects/shop-prod/locations/europe-west1/connectors/shared-conn"
    world = World.for_scenario(resolve_scenario("connector_alert_shared"), standin_env, pubsub, project_id, anchor)
    world.config = world.config.model_copy(update={"bounds": parse_config({
        "project": project_id, "outcomes_topic": world.outcomes_topic,
        "bounds": {"connectors": [{"name": shared, "allow_one_way": True}]}}).bounds})
    world.seed("connector_alert_shared")
    assert world.handle(world.alert("connector_alert_shared")).status.value == "applied"
    for service, revision, ok in (("orders", "orders-00041-mup", 200), ("payments", "payments-00017-vaz", 60)):
        _serves(world, service, revision, ok, ok // 2 if service == still_failing_service else 0)
    world.at(12)

    outcomes = world.command({"command": "sweep"})

    if still_failing_service is None:
        assert outcomes == [], outcomes[0].reason      # the connector's own condition not shown cleared: waits
        closed = world.handle(world.alert("connector_alert_shared", message_id="2", state="closed",
                                          ended_at=world.anchor.replace(minute=12), closed_value="0.41"))
        assert closed.status.value == "resolved"
        world.at(13)
        [outcome] = world.command({"command": "sweep"}, message_id="c2")
        assert outcome.status.value == "verified" and "every service behind the connector" in outcome.reason
    else:
        assert outcomes == [], outcomes[0].reason      # not verified: waits for the deadline
        world.at(18)
        [outcome] = world.command({"command": "sweep"}, message_id="c2")
        assert outcome.status.value == "escalated" and still_failing_service in outcome.reason, outcome.reason


def _publish_fails_once(world: World, act) -> None:
    """`act` with the next outcome publish failing (Pub/Sub unavailable): the sweep raises, so that
    Pub/Sub delivers it again. Later publishes pass."""
    import dataclasses

    from shared.errors import TransientError
    from tests.unit.fakes import FaultyPublisher

    publisher = FaultyPublisher(world.adapters.publisher)
    world.adapters = dataclasses.replace(world.adapters, publisher=publisher)
    publisher.fail_next(1)
    with pytest.raises(TransientError):
        act()


@pytest.mark.parametrize("ending", ["verified", "undone"])
def test_a_verification_outcome_whose_publish_failed_is_published_by_the_next_sweep_once(rolled_back, ending):
    """The sweep moves the action (verified, or undone at the deadline) and its outcome's publish fails:
    the outcome is kept in the action record, pending, stored by that very move, and the retried sweep
    publishes the very same outcome; later sweeps publish nothing, and nothing is undone twice."""
    if ending == "verified":
        recovery(rolled_back)
        rolled_back.at(12)
    else:
        still_failing(rolled_back)
        rolled_back.at(18)
    _publish_fails_once(rolled_back, lambda: rolled_back.command({"command": "sweep"}))
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    assert record["state"] == ending and record["report_state"] == "pending" and record["report_by"] == ""

    [again] = rolled_back.command({"command": "sweep"}, message_id="c2")    # Pub/Sub's redelivery of the sweep
    assert again.status.value == ending and again.outcome_id == json.loads(record["report"])["outcome_id"]
    assert [o["outcome_id"] for o in rolled_back.published()] == [again.outcome_id]
    assert action_state(rolled_back) == ending
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    assert record["report_state"] == "sent"
    rolled_back.at(40)
    assert rolled_back.command({"command": "sweep"}, message_id="c3") == []
    assert rolled_back.standins.run.count("UpdateService") == (1 if ending == "verified" else 2)


def test_a_verification_outcome_held_by_a_sweep_that_died_is_published_once_its_hold_lapses(rolled_back):
    from datetime import timedelta

    from shared.clock import skew_safe_lease
    from shared.remediation.verification import Sweep

    recovery(rolled_back, until="+40m")
    rolled_back.at(12)
    [made] = Sweep(rolled_back.config, rolled_back.adapters).run()     # the instance dies before publishing
    assert action_state(rolled_back) == "verified"
    rolled_back.at(14)
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []      # still held
    lease = skew_safe_lease(rolled_back.config.guardrails.claim_ttl_seconds)
    rolled_back.at(12 + lease / timedelta(minutes=1) + 1)
    [retried] = rolled_back.command({"command": "sweep"}, message_id="c3")
    assert retried.to_json() == made.to_json()          # the very outcome: the same outcome_id
    assert [o["outcome_id"] for o in rolled_back.published()] == [made.outcome_id]


def test_a_verification_outcome_this_version_cannot_read_is_replaced_by_an_escalation(rolled_back):
    """A kept verification outcome stored by another version (it no longer fits this one's model) is
    replaced in its action record by an `escalated` naming the record, and published once."""
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    rolled_back.state.update_record(ACTIONS, record["key"], {"state": "verified", "report_state": "pending",
                                                          "report": '{"status": "no such status"}'})
    rolled_back.at(6)
    [replaced] = rolled_back.command({"command": "sweep"})
    assert replaced.status.value == "escalated" and "cannot read it" in replaced.reason, replaced.reason
    assert f"action record {record['key']}" in replaced.reason
    assert [o["outcome_id"] for o in rolled_back.published()] == [replaced.outcome_id]
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    assert record["report_state"] == "sent"
    rolled_back.at(40)
    assert rolled_back.command({"command": "sweep"}, message_id="c3") == []


def test_an_undo_puts_back_a_split_that_names_a_revision_twice(world):
    """A service on LATEST whose new revision was deployed with a tag (`gcloud run deploy --tag
    canary`): the new revision serves 100% through LATEST and also has a tagged entry at 0%. The
    undo writes that split back; it is what serves afterwards, entry for entry, so the undo is
    `undone`. Before, the check summed every entry of a revision (100% through LATEST plus 0% by
    tag) against each recorded entry alone (0%), called a landed undo failed, and escalated it as
    not done."""
    world.seed("bad_revision_tagged_latest")
    assert world.handle(world.alert("bad_revision_tagged_latest")).status.value == "applied"
    service = world.standins.run.service(SERVICE)
    assert [(t.revision, t.percent, t.tag) for t in service.traffic] == [(OLD, 100, ""), (NEW, 0, "canary")]
    world.published()
    still_failing(world)
    world.at(18)

    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "undone", outcome.reason
    service = world.standins.run.service(SERVICE)
    assert [(t.type_.name, t.revision, t.percent, t.tag) for t in service.traffic] == [
        ("TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "", 100, ""),
        ("TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", NEW, 0, "canary")]
    assert action_state(world) == "undone"


def _escalated_unreadable(world: World) -> dict:
    """Monitoring refuses every read until the evidence-unreadable escalation at +28m, whose publish fails:
    kept pending in the action record, given back. The evidence is readable again afterwards."""
    recovery(world, until="+40m")
    faults = world.standins.monitoring.faults
    faults.fail_next(100_000, grpc.StatusCode.UNAVAILABLE, method="ListTimeSeries")
    world.at(28)
    _publish_fails_once(world, lambda: world.command({"command": "sweep"}))
    faults.clear()
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    assert record["state"] == "pending" and record["report_state"] == "pending" and record["report_by"] == ""
    return json.loads(record["report"])


@pytest.mark.parametrize("failing", [100, 1])
def test_a_kept_escalation_unpublished_is_not_overwritten_by_the_next_judgement(rolled_back, failing):
    """The escalation (evidence unreadable) is kept in the action record and its publish fails. The next
    sweep reads the evidence and verifies the action, and its publishes fail too: every one (`failing`
    100), or the first only (1). Before, the verification overwrote the kept escalation in the record, so
    the escalation was never published (and, with the first publish only failing, the verification was
    published twice). Now the record keeps both, and each is published once, in the order made."""
    kept = _escalated_unreadable(rolled_back)
    rolled_back.at(36)
    rolled_back.adapters.publisher.fail_next(failing)
    with pytest.raises(TransientError):
        rolled_back.command({"command": "sweep"}, message_id="c2")
    rolled_back.adapters.publisher.clear()
    assert action_state(rolled_back) == "verified"
    rolled_back.at(37)
    rolled_back.command({"command": "sweep"}, message_id="c3")
    rolled_back.at(40)
    assert rolled_back.command({"command": "sweep"}, message_id="c4") == []

    published = rolled_back.published(4)
    assert [o["status"] for o in published] == ["escalated", "verified"], [o["reason"] for o in published]
    assert published[0]["outcome_id"] == kept["outcome_id"]
    assert "follows the escalation at" in published[1]["reason"], published[1]["reason"]
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    assert record["report_state"] == "sent" and json.loads(record["report"])["outcome_id"] == published[1]["outcome_id"]


def test_a_kept_escalation_held_by_a_sweep_that_died_is_published_before_the_next_judgement(rolled_back):
    """The sweep that escalated the unfinished undo died before publishing it: its hold keeps the report
    from other sweeps until it lapses. Before, the next sweep finished the undo and stored `undone` over
    the held escalation, which was never published. Now a judgement waits while another sweep holds the
    record's report; once the hold lapsed, one sweep publishes the escalation, then the undone."""
    from datetime import timedelta

    from shared.clock import skew_safe_lease
    from shared.remediation.verification import Sweep

    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    rolled_back.state.update_record(ACTIONS, record["key"], {"state": "undoing",
                                                             "resolved_at": rolled_back.anchor.replace(minute=17)})
    faults = rolled_back.standins.run.faults
    faults.fail_next(100_000, grpc.StatusCode.UNAVAILABLE, method="GetService")
    rolled_back.at(33)
    [escalation] = Sweep(rolled_back.config, rolled_back.adapters).run()     # dies before publishing
    assert escalation.status.value == "escalated", escalation.reason
    faults.clear()

    rolled_back.at(35)
    assert rolled_back.command({"command": "sweep"}, message_id="c2") == []      # held: judged later
    assert action_state(rolled_back) == "undoing" and rolled_back.standins.run.count("UpdateService") == 1
    lease = skew_safe_lease(rolled_back.config.guardrails.claim_ttl_seconds)
    rolled_back.at(33 + lease / timedelta(minutes=1) + 1)
    done = rolled_back.command({"command": "sweep"}, message_id="c3")
    assert [o.status.value for o in done] == ["escalated", "undone"], [o.reason for o in done]
    assert done[0].to_json() == escalation.to_json()
    assert [o["outcome_id"] for o in rolled_back.published(3)] == [o.outcome_id for o in done]
    assert rolled_back.standins.run.count("UpdateService") == 2
    rolled_back.at(80)
    assert rolled_back.command({"command": "sweep"}, message_id="c4") == []


def test_a_verdict_read_before_an_escalation_as_unreadable_never_lands_over_its_report(rolled_back):
    """Two sweeps at once: B reads the action record, then A (its evidence read failing) escalates it as
    unreadable, keeping its report in the record, held; then B (its read succeeding) verifies it from what
    it read. Before, B's move was guarded on the state only (still `pending`) and stored its report over
    A's escalation, which was never published. Now the move is guarded on the escalation as read too."""
    from shared.remediation.records import ActionRecord
    from shared.remediation.verification import Sweep

    recovery(rolled_back, until="+40m")
    rolled_back.at(28)
    [data] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    b = Sweep(rolled_back.config, rolled_back.adapters)
    read_by_b = ActionRecord.model_validate(data)
    faults = rolled_back.standins.monitoring.faults
    faults.fail_next(100_000, grpc.StatusCode.UNAVAILABLE, method="ListTimeSeries")
    [escalation] = Sweep(rolled_back.config, rolled_back.adapters).run()      # A, holding its report
    faults.clear()

    assert b._judge(read_by_b) is None
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    assert record["state"] == "pending" and json.loads(record["report"])["outcome_id"] == escalation.outcome_id


def test_a_rollback_whose_operation_ended_without_an_error_but_does_not_serve_is_recorded_not_failed(
        world, monkeypatch):
    """The update is accepted, its operation ends without an error, and the service read afterwards, no
    longer reconciling, desires the rollback's split while still serving the bad revision (whether a failed
    reconciliation fails the operation is not documented). It was answered `failed` [TRAFFIC_NOT_SERVING]
    with the claim, the cooldown and the intent given back: the rollback's split stayed desired on no record
    (no pin, nothing to undo it, the next deploy inheriting it), and a redelivery could write it again. Now
    an unknown outcome: recorded (the sweep judges it), escalated to a person, never written again."""
    from sandbox.standins import run as run_standin

    world.seed("bad_revision")
    reconcile = run_standin.RunStandIn._reconcile
    monkeypatch.setattr(run_standin.RunStandIn, "_reconcile", lambda self, name: setattr(
        self._services[name], "reconciling", False))     # the operation ends; serving left as it was
    first = world.handle(world.alert())
    monkeypatch.setattr(run_standin.RunStandIn, "_reconcile", reconcile)
    assert first.status.value == "escalated", first.reason
    assert "TRAFFIC_NOT_SERVING" in first.reason and "not written again" in first.reason, first.reason
    assert world.serving() == {NEW: 100}
    [record] = world.state.find_records(ACTIONS, "service", SERVICE)
    assert record["state"] == "pending"
    again = world.handle(world.alert(message_id="2"))           # a redelivery of the same incident
    assert again.status.value == "skipped" and world.standins.run.count("UpdateService") == 1, again.reason


@dataclass
class _SlowReads(Adapters):
    """The world's adapters, where reading one action's evidence takes `seconds` of the pinned clock
    (as reads at their timeout, or a slow undo's operation wait, take a sweep's time)."""

    seconds: float = 0.0

    def readers(self) -> Any:
        self.clock.advance(self.seconds)
        return super().readers()


def test_a_sweep_past_its_time_budget_leaves_the_rest_to_the_next_sweep_each_judged_once(rolled_back, monkeypatch):
    """Several actions due at once (the rollback, and two more records as other incidents' rollbacks of
    the same service would be stored), each judgement taking 60 s, and 100 s to start steps in before the
    function's timeout less the longest step. Before, the sweep went on whatever the time (on Cloud Run,
    cut off mid-sweep at the timeout); now it stops between judgements, and the next sweep finishes.
    Three writes on one service dated in the same second are each unclear for the others (the clocks
    cannot tell their order: judging.later_own_writes), so the sweeps run past the deadline, where each
    is judged once: escalated."""
    recovery(rolled_back)
    [record] = rolled_back.state.find_records(ACTIONS, "service", SERVICE)
    keys = [record["key"]]
    for n in (2, 3):
        key = record["key"].replace(record["incident_id"], f"{record['incident_id']}-{n}", 1)
        rolled_back.state.put_record(ACTIONS, key, {**record, "key": key, "incident_id": f"{record['incident_id']}-{n}"})
        keys.append(key)
    rolled_back.adapters = _SlowReads(**{f.name: getattr(rolled_back.adapters, f.name) for f in fields(Adapters)},
                                      seconds=60)
    monkeypatch.setenv(FUNCTION_TIMEOUT_ENV, str(LONGEST_STEP_SECONDS + 100))
    rolled_back.at(18)      # past the deadline (applied at +2, 900 s)

    first = rolled_back.command({"command": "sweep"})

    assert [o.status.value for o in first] == ["escalated", "escalated"]   # judged at 0 s and 60 s; not at 120 s
    assert all("the clocks cannot tell which write came first" in o.reason for o in first), first
    [left] = [k for k in keys if rolled_back.state.get_record(ACTIONS, k)["state"] == "pending"]
    rolled_back.at(23)      # the next scheduled sweep
    second = rolled_back.command({"command": "sweep"}, message_id="c2")
    assert [(o.status.value, o.action.action_id) for o in second] == [("escalated", left)]
    assert rolled_back.command({"command": "sweep"}, message_id="c3") == []
    judged = [o.action.action_id for o in first + second]
    assert sorted(judged) == sorted(keys)       # every one judged, none twice
    assert sorted(p["action"]["action_id"] for p in rolled_back.published(3)) == sorted(keys)
