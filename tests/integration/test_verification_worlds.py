"""The verification sweep on real parts (stand-ins and emulators, no mocks) in worlds after a fix that
must not read as a recovery: failures turned into 404s, fast 503s turned into slow answers, a service
that no longer reaches the connector the fix scaled, callers turned away at max instances, a recovery a
person's deploy or a person's change of the service during the verification made, a tag URL's clean
load beside a failing rollback. Each was `verified` before."""
from __future__ import annotations

import json
from datetime import timedelta

import yaml

from sandbox.scenario_logs import seed_logs
from sandbox.scenarios import Scenario, bundled_scenario_path, resolve_scenario
from tests.integration.test_remediation import (CONNECTOR, NEW, OLD, _serves, action_state,  # noqa: F401
                                                connector_recovery, counted, more_series, request_lines, rolled_back, scaled,
                                                timed, world)
from sandbox.standins.run import TrafficSeed
from tests.integration.world import SERVICE, World, event


def test_a_rollback_whose_failures_turned_into_404s_is_not_verified(rolled_back):
    """The revision traffic went back to lacks a route the clients call since the deploy: that route's
    500s become 404s. The 5xx share is clean; request_count's response_code_class shows a third of the
    answers 4xx, none before. Escalated at the deadline, kept in place, nothing written."""
    more_series(rolled_back, counted(OLD, 200, "+3m", "+18m", 30)
                             + counted(OLD, 404, "+3m", "+18m", 15)
                             + timed(OLD, "2xx", "+3m", "+18m", [[120, 45]]))
    rolled_back.at(12)
    assert rolled_back.command({"command": "sweep"}) == []          # not shown recovered: waits
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "mix of answers changed" in outcome.reason and "33.3% of its requests are 4xx" in outcome.reason, \
        outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
    assert action_state(rolled_back) == "escalated"


def test_a_rollback_whose_fast_failures_turned_into_slow_answers_is_not_verified(rolled_back):
    """Before the rollback the new revision answered in 120 ms, 60 % of it 500; since, every request is
    clean and takes 20 s: under the 25 s hang bar, 160 times slower than before."""
    more_series(rolled_back, counted(OLD, 200, "+3m", "+18m", 40)
                             + timed(OLD, "2xx", "+3m", "+18m", [[20000, 40]]))
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "much slower than before the action" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1


def test_a_scale_up_whose_service_moved_off_the_connector_is_not_verified(scaled):
    """After the scale-up, a deploy moves the service to Direct VPC egress and takes all its traffic; it
    serves cleanly, but through another path: the connector's change is not what shows."""
    connector_recovery(scaled)
    new = "backend-00003-dve"
    scaled.standins.run.add_revision(SERVICE, new, scaled.anchor + timedelta(minutes=4),
                                     network_interfaces=[("default", "default")], vpc_egress="PRIVATE_RANGES_ONLY",
                                     cloudsql_instances=["demo-project:us-central1:main-db"])
    scaled.standins.run.set_traffic(SERVICE, [TrafficSeed(percent=100, revision=new)])
    scaled.at(14)
    assert scaled.command({"command": "sweep"}) == []                 # not verified: waits
    scaled.at(20)

    [outcome] = scaled.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated", outcome.reason
    assert "no longer reaches its VPC through backend-conn" in outcome.reason, outcome.reason
    assert action_state(scaled) == "escalated"


def test_a_rollback_onto_a_revision_turning_callers_away_at_max_instances_is_not_verified(rolled_back):
    """The revision traffic went back to runs at its 10 max instances and Cloud Run turns a third of the
    callers away ("no available instance", 429, in the request log). Under the reading where request_count
    leaves those refusals out (unconfirmed; docs/signatures.md), the requests it counts are all clean: the
    rollback was `verified`. Escalated at the deadline, kept in place, nothing written."""
    more_series(rolled_back, f"""
  - metric: run.googleapis.com/request_count
    resource: {{type: cloud_run_revision, labels: {{service_name: backend, revision_name: {OLD}}}}}
    labels: {{response_code_class: 2xx, response_code: "200"}}
    points: [{{from: +3m, to: +18m, every: 60s, value: 40}}]
  - metric: run.googleapis.com/request_latencies
    value_type: DISTRIBUTION
    resource: {{type: cloud_run_revision, labels: {{service_name: backend, revision_name: {OLD}}}}}
    labels: {{response_code_class: 2xx}}
    points: [{{from: +3m, to: +18m, every: 60s, value: {{samples: [[120, 40]]}}}}]
  - metric: run.googleapis.com/container/instance_count
    kind: GAUGE
    value_type: INT64
    resource: {{type: cloud_run_revision, labels: {{service_name: backend, revision_name: {OLD}}}}}
    labels: {{state: active}}
    points: [{{from: +3m, to: +18m, every: 60s, value: 10}}]
""")
    refusals = yaml.safe_load(f"""
- {{at: {{from: +3m, to: +18m, every: 1m}}, log: requests, service: backend, revision: {OLD}, status: 429,
   latency: 0.01s, count: 20}}
""")
    scenario = Scenario.model_validate(yaml.safe_load(bundled_scenario_path("bad_revision").read_text()) |
                                       {"logs": refusals})
    seed_logs(rolled_back.standins.logging, scenario.project, scenario.region, scenario.logs, (), rolled_back.anchor)
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "for want of an instance" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
    assert action_state(rolled_back) == "escalated"


def test_a_scale_up_whose_recovery_came_with_a_persons_deploy_is_not_verified(scaled):
    """After the scale-up, a person deploys a fix (the same connector, fewer requests waiting on it) and
    sends it all the traffic; it serves cleanly. The connector still shows the scale-up and the service
    still reaches it, so the clean requests read as the scale-up's doing: `verified`. Whose recovery it
    is the evidence does not say: escalated at the deadline, kept, nothing written."""
    fix = "backend-00003-fix"
    scaled.standins.run.add_revision(SERVICE, fix, scaled.anchor + timedelta(minutes=5), vpc_connector=CONNECTOR,
                                     cloudsql_instances=["demo-project:us-central1:main-db"])
    scaled.standins.run.set_traffic(SERVICE, [TrafficSeed(percent=100, revision=fix)])
    more_series(scaled, counted(fix, 200, "+6m", "+20m", 30)
                        + timed(fix, "2xx", "+6m", "+20m", [[120, 30]]))
    scaled.at(14)
    assert scaled.command({"command": "sweep"}) == []                 # not verified: waits
    scaled.at(20)

    [outcome] = scaled.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated", outcome.reason
    assert f"a revision deployed after the action serves now: {fix}" in outcome.reason, outcome.reason
    assert action_state(scaled) == "escalated"


def test_a_rollback_failing_beside_a_tag_urls_clean_load_is_not_verified(world):
    """The deployed revision keeps a tag (`candidate`, 0%: its own URL), which an operator's rollback keeps.
    After the rollback a load test hits the tag's URL at 4,000 clean requests a minute while the revision traffic
    went back to fails half of its 40 a minute: the service's share is 0.5 % 5xx, under the 1 % bar, and
    the rollback was `verified`. Request_count by revision_name shows the serving revision's own requests
    failing: escalated at the deadline, kept in place, nothing written (an undo needs the service's share
    failing too)."""
    world.seed("bad_revision")
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(percent=100, revision=NEW),
                                             TrafficSeed(percent=0, revision=NEW, tag="candidate")])
    # An operator's rollback (no alert: judged at the settings' defaults, a 1 % share of 5xx).
    [applied] = world.command({"command": "rollback_traffic", "command_id": "rb-1", "requested_by": "alice@example.com",
                               "target": SERVICE, "params": {"revision": OLD}, "reason": "bad deploy"}, "m-1")
    assert applied.status.value == "applied", applied.reason
    assert world.serving() == {OLD: 100, NEW: 0}      # the tag kept at 0%
    world.published()
    more_series(world, counted(OLD, 200, "+3m", "+18m", 20)
                       + counted(OLD, 500, "+3m", "+18m", 20)
                       + timed(OLD, "2xx", "+3m", "+18m", [[120, 40]])
                       + counted(NEW, 200, "+3m", "+18m", 4000)
                       + timed(NEW, "2xx", "+3m", "+18m", [[90, 4000]]))
    world.at(18)

    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert f"its serving revisions ({OLD}) fail on their own requests" in outcome.reason, outcome.reason
    assert world.serving() == {OLD: 100, NEW: 0} and world.standins.run.count("UpdateService") == 1
    assert action_state(world) == "escalated"


def test_a_scale_up_after_which_a_person_raised_the_services_max_instances_is_not_verified(scaled):
    """After the scale-up, a person raises the service-level max instances (a change of the service
    that makes no revision and moves no traffic) and the service serves cleanly. The connector still
    shows the scale-up and the service still reaches it: `verified`. The Admin Activity audit log holds
    the person's UpdateService since the action: whose recovery it is the evidence does not say, so it
    is escalated at the deadline, kept, nothing written."""
    connector_recovery(scaled)
    # The stand-in writes the person's UpdateService entries, as Cloud Run audits every change.
    scaled.standins.run.set_service_max_instances(SERVICE, 40, by="alice@example.com",
                                                  at=scaled.anchor + timedelta(minutes=6))
    scaled.at(14)
    assert scaled.command({"command": "sweep"}) == []                 # not verified: waits
    scaled.at(20)

    [outcome] = scaled.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated", outcome.reason
    assert "someone else changed it after the action" in outcome.reason, outcome.reason
    assert "by alice@example.com at 12:06:00" in outcome.reason, outcome.reason
    assert action_state(scaled) == "escalated"


def test_a_rollback_whose_500s_turned_into_429s_is_not_undone(rolled_back):
    """The revision traffic went back to stops the new revision's 500s, but at its max instances Cloud Run
    turns half of the callers away with 429 ("no available instance"). That still failed `bad_error_ratio`,
    and the sweep undid the rollback into the 500s. The failure moved: escalated at the deadline, kept,
    nothing written."""
    more_series(rolled_back, counted(OLD, 200, "+3m", "+18m", 20)
                             + counted(OLD, 429, "+3m", "+18m", 20)
                             + timed(OLD, "2xx", "+3m", "+18m", [[120, 20]]))
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "the failure moved" in outcome.reason and "429 or 500 no available instance 50.0%" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
    assert action_state(rolled_back) == "escalated"


def test_a_connector_alert_that_fired_again_during_verification_is_not_verified(
        standin_env, firestore, pubsub, project_id, anchor):
    """The policy pages on the shared connector's CPU; after the scale-up its users serve cleanly, and the
    incident closes "returned to normal with a value of 0.41" against 0.7. A minute later the CPU is over
    70 % again and Monitoring opens a new incident of the same policy, with its own id. The sweep verified
    the scale-up on the first closing. Now it waits, and at the deadline escalates, naming the new
    incident; nothing written."""
    from shared.config import parse_config

    shared = "projects/shop-prod/locations/europe-west1/connectors/shared-conn"
    scenario = resolve_scenario("connector_alert_shared")
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    world.config = world.config.model_copy(update={"bounds": parse_config({
        "project": project_id, "outcomes_topic": world.outcomes_topic,
        "bounds": {"connectors": [{"name": shared, "allow_one_way": True}]}}).bounds})
    world.seed("connector_alert_shared")
    assert world.handle(world.alert("connector_alert_shared")).status.value == "applied"
    for service, revision, ok in (("orders", "orders-00041-mup", 200), ("payments", "payments-00017-vaz", 60)):
        _serves(world, service, revision, ok, 0)
    world.at(12)
    closed = world.handle(world.alert("connector_alert_shared", message_id="2", state="closed",
                                      ended_at=world.anchor.replace(minute=12), closed_value="0.41"))
    assert closed.status.value == "resolved"
    world.at(13)
    again = scenario.notification(world.anchor + timedelta(minutes=13), incident_id="0.refired")
    refired = world.handle(event(json.dumps(again).encode(), "3"))
    assert refired.status.value != "applied", refired.reason

    assert world.command({"command": "sweep"}, message_id="c2") == []     # not verified: waits
    world.at(18)
    [outcome] = world.command({"command": "sweep"}, message_id="c3")

    assert outcome.status.value == "escalated" and "fired again" in outcome.reason, outcome.reason
    assert "0.refired" in outcome.reason, outcome.reason


def test_a_rollback_whose_only_requests_left_are_uptime_checks_is_not_verified(rolled_back):
    """After the rollback the callers have gone elsewhere (a load balancer failed them over); the revision
    traffic went back to answers only Cloud Monitoring's uptime checks: 6 a minute (one check, six checker
    locations), clean from the health path, against 45 a minute before. request_count does not say who
    sent them, and they kept over min_traffic_ratio: `verified`. The request log's User-Agent says they
    are the uptime checker's: waits, then escalated at the deadline, kept in place, nothing written."""
    request_lines(rolled_back, OLD, "+3m", "+18m", 6, agent="uptime")
    more_series(rolled_back, counted(OLD, 200, "+3m", "+18m", 6)
                             + timed(OLD, "2xx", "+3m", "+18m", [[40, 6]]))
    rolled_back.at(12)
    assert rolled_back.command({"command": "sweep"}) == []          # not shown recovered: waits
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "callers are mostly gone" in outcome.reason and "uptime checks" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
    assert action_state(rolled_back) == "escalated"


def test_a_rollback_whose_request_log_is_not_kept_is_not_verified_on_request_count_alone(rolled_back):
    """The same recovery as a verified one (40 clean requests a minute), but the project's request log is
    excluded (an exclusion filter on the _Default sink): nothing shows who sent the requests, and uptime
    checks would look the same in request_count. Not verified on the absence of the checker's lines."""
    more_series(rolled_back, counted(OLD, 200, "+3m", "+18m", 40)
                             + timed(OLD, "2xx", "+3m", "+18m", [[120, 40]]))
    rolled_back.at(18)

    [outcome] = rolled_back.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "not shown kept" in outcome.reason, outcome.reason
    # Why (no line at all while requests were counted: the log is not stored where it is read) and what to do.
    assert "holds no line at all" in outcome.reason and "run.googleapis.com/requests" in outcome.reason, outcome.reason
    assert "no action on this service is verified" in outcome.reason, outcome.reason
    assert "exclude only the uptime checker's lines" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1


def test_a_sweeper_whose_clock_is_2_minutes_fast_does_not_verify_on_minutes_not_yet_whole(rolled_back):
    """The clock-skew drill on the sweep. Real time is +16; the sweeping instance's clock reads +18. The
    revision traffic went back to answers 80 requests a minute and 1 of them 500 (1.2 %, over the 1 % bar),
    but the 500 series is visible only up to +13 (each series is ingested on its own, up to ~180 s after its
    minute), the 200s up to +16. Cut by its own clock less the ingest lag (+15), the minutes +14 and +15
    read without their 500s (0.7 %), and the rollback was `verified`. The sweep's Pub/Sub message was
    published at +16 by the server's clock: the sweep now cuts 2 minutes earlier, reads 1.2 %, and, past
    its deadline (+17 by its clock), escalates it, kept."""
    from shared.commands import handle_command
    request_lines(rolled_back, OLD, "+3m", "+16m", 80)
    request_lines(rolled_back, OLD, "+3m", "+13m", 1, status=500)
    more_series(rolled_back, counted(OLD, 200, "+3m", "+16m", 80)
                             + counted(OLD, 500, "+3m", "+13m", 1)
                             + timed(OLD, "2xx", "+3m", "+16m", [[120, 80]]))
    rolled_back.at(18)     # the sweeper's clock, 2 minutes ahead of real time
    data = event(json.dumps({"command": "sweep"}).encode(), "c1")
    data["message"]["publishTime"] = (rolled_back.anchor + timedelta(minutes=16)).isoformat().replace("+00:00", "Z")

    [outcome] = handle_command(data, rolled_back.config, rolled_back.adapters)

    assert outcome.status.value == "escalated" and "could not be verified" in outcome.reason, outcome.reason
    assert "1.2%" in outcome.reason or "1.23%" in outcome.reason, outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1


REPORTS = "projects/demo-project/locations/us-central1/services/reports"
REPORTS_REV = "reports-00001-rep"


def _reports(world: World, *, failing_since: int, connector: str = CONNECTOR) -> None:
    """A service the config does not manage, whose serving revision uses `connector`: 40 requests a minute,
    clean and fast up to the write, then `failing_since` of them answered 503 from +6m."""
    world.standins.run.add_service(REPORTS)
    world.standins.run.add_revision(REPORTS, REPORTS_REV, world.anchor - timedelta(days=3), vpc_connector=connector)
    world.standins.run.set_traffic(REPORTS, [TrafficSeed(percent=100, revision=REPORTS_REV)])
    labels = f"{{type: cloud_run_revision, labels: {{service_name: reports, revision_name: {REPORTS_REV}}}}}"
    more_series(world, f"""
  - metric: run.googleapis.com/request_count
    resource: {labels}
    labels: {{response_code_class: 2xx, response_code: "200"}}
    points: [{{from: -20m, to: +5m, every: 60s, value: 40}}, {{from: +6m, to: +20m, every: 60s, value: {40 - failing_since}}}]
  - metric: run.googleapis.com/request_latencies
    value_type: DISTRIBUTION
    resource: {labels}
    labels: {{response_code_class: 2xx}}
    points: [{{from: -20m, to: +20m, every: 60s, value: {{samples: [[120, 40]]}}}}]
""" + (f"""
  - metric: run.googleapis.com/request_count
    resource: {labels}
    labels: {{response_code_class: 5xx, response_code: "503"}}
    points: [{{from: +6m, to: +20m, every: 60s, value: {failing_since}}}]
""" if failing_since else ""))


def test_a_scale_up_verified_while_a_service_not_in_the_config_on_the_connector_fails_worse_is_not(scaled):
    """`reports`, not in the config, serves through the same connector, cleanly before the scale-up and with
    half its requests answered 503 since. The sweep read only the managed services: `verified`. Now it lists
    the connector's region (one ListServices), reads `reports` (never acting on it) and holds the verdict:
    escalated at the deadline, naming it, nothing written."""
    connector_recovery(scaled)
    _reports(scaled, failing_since=20)
    scaled.at(14)
    assert scaled.command({"command": "sweep"}) == []                 # not verified: waits
    scaled.at(20)

    [outcome] = scaled.command({"command": "sweep"}, message_id="c2")

    assert outcome.status.value == "escalated", outcome.reason
    assert "reports: not in the config: read only, never acted on; it uses the connector and fails worse" in \
        outcome.reason, outcome.reason
    assert action_state(scaled) == "escalated"
    assert [c for c in scaled.standins.run.calls if c.method == "UpdateService"] == []


def test_a_scale_up_is_verified_naming_the_services_not_in_the_config_it_read(scaled):
    """The same `reports`, clean as before: verified, and the verdict says which services it read."""
    connector_recovery(scaled)
    _reports(scaled, failing_since=0)
    scaled.at(14)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "verified", outcome.reason
    assert "services not in the config read on backend-conn: reports" in outcome.reason, outcome.reason


def test_a_service_not_in_the_config_on_another_connector_is_not_judged(scaled):
    """`reports` failing since, but through another connector: none of the listed services uses this one."""
    connector_recovery(scaled)
    _reports(scaled, failing_since=20, connector=CONNECTOR.replace("backend-conn", "reports-conn"))
    scaled.at(14)

    [outcome] = scaled.command({"command": "sweep"})

    assert outcome.status.value == "verified", outcome.reason
    assert "none of the 1 listed" in outcome.reason, outcome.reason


def test_a_rollback_whose_policy_fired_again_after_it_settled_is_not_verified(rolled_back):
    """After the rollback the revision traffic went back to serves 40 requests a minute cleanly, but in the
    minute to +9m the database's failover drops the pool's connections and 6 of its 46 requests answer 503
    (13 %, over the policy's 5 %): Monitoring opens a new incident of the same policy on the service, begun
    at +9m. The alert path skips it as the rollback's to verify. By the deadline the minutes the sweep judges
    no longer hold that minute, and the rollback was `verified` while the policy that paged had fired again
    after it: no person heard of the second incident. Now escalated at the deadline, naming the new incident,
    kept in place, nothing written."""
    request_lines(rolled_back, OLD, "+3m", "+22m", 40)
    request_lines(rolled_back, OLD, "+8m", "+9m", 6, status=503)
    more_series(rolled_back, f"""
  - metric: run.googleapis.com/request_count
    resource: {{type: cloud_run_revision, labels: {{service_name: backend, revision_name: {OLD}}}}}
    labels: {{response_code_class: 2xx, response_code: "200"}}
    points: [{{from: +3m, to: +22m, every: 60s, value: 40}}]
  - metric: run.googleapis.com/request_count
    resource: {{type: cloud_run_revision, labels: {{service_name: backend, revision_name: {OLD}}}}}
    labels: {{response_code_class: 5xx, response_code: "503"}}
    points: [{{at: +9m, value: 6}}]
  - metric: run.googleapis.com/request_latencies
    value_type: DISTRIBUTION
    resource: {{type: cloud_run_revision, labels: {{service_name: backend, revision_name: {OLD}}}}}
    labels: {{response_code_class: 2xx}}
    points: [{{from: +3m, to: +22m, every: 60s, value: {{samples: [[120, 40]]}}}}]
""")
    rolled_back.at(10)
    again = resolve_scenario("bad_revision").notification(rolled_back.anchor + timedelta(minutes=9),
                                                          incident_id="0.refired")
    refired = rolled_back.handle(event(json.dumps(again).encode(), "2"))
    # The alert path leaves the new incident to the sweep, as the rollback's own to verify (own_rollback).
    assert refired.status.value == "skipped" and "The sweep verifies the rollback" in refired.reason, refired.reason
    rolled_back.at(18)

    outcomes = rolled_back.command({"command": "sweep"})

    [outcome] = [o for o in outcomes if o.action is not None]
    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert "fired again on minutes after the action settled" in outcome.reason and "0.refired" in outcome.reason, \
        outcome.reason
    assert rolled_back.serving() == {OLD: 100} and rolled_back.standins.run.count("UpdateService") == 1
    assert action_state(rolled_back) == "escalated"


def test_a_rollback_whose_tag_url_still_reaches_the_failing_revision_is_not_verified(world):
    """The deploy went out with `--tag green` (0%, its own URL), and a client channel calls that URL. An
    operator's rollback keeps the tag: after it, the service's URL answers 400 requests a minute cleanly,
    and the tag's URL 3 a minute, every one 500 from the revision rolled back from. The service's share,
    0.7 % 5xx, is under the 1 % bar, and the rollback was `verified` while every caller of that URL still
    failed. Escalated at the deadline, naming the tag, kept in place, nothing written."""
    world.seed("bad_revision")
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(percent=100, revision=NEW),
                                             TrafficSeed(percent=0, revision=NEW, tag="green")])
    # An operator's rollback (no alert: judged at the settings' defaults, a 1 % share of 5xx).
    [applied] = world.command({"command": "rollback_traffic", "command_id": "rb-1", "requested_by": "alice@example.com",
                               "target": SERVICE, "params": {"revision": OLD}, "reason": "bad deploy"}, "m-1")
    assert applied.status.value == "applied", applied.reason
    assert world.serving() == {OLD: 100, NEW: 0}      # the tag kept at 0%
    world.published()
    request_lines(world, OLD, "+3m", "+22m", 400)
    request_lines(world, NEW, "+3m", "+22m", 3, status=500)
    more_series(world, counted(OLD, 200, "+3m", "+22m", 400)
                       + timed(OLD, "2xx", "+3m", "+22m", [[120, 400]])
                       + counted(NEW, 500, "+3m", "+22m", 3)
                       + timed(NEW, "5xx", "+3m", "+22m", [[80, 3]]))
    world.at(18)

    [outcome] = world.command({"command": "sweep"})

    assert outcome.status.value == "escalated" and "not undone" in outcome.reason, outcome.reason
    assert f"the revision rolled back from, {NEW}, still answers its tag URL (green)" in outcome.reason, outcome.reason
    assert world.serving() == {OLD: 100, NEW: 0} and world.standins.run.count("UpdateService") == 1
    assert action_state(world) == "escalated"
