"""The alert pipeline in-process, on real parts: the Run and Monitoring stand-ins over gRPC,
the Firestore emulator for claims and the Pub/Sub emulator for outcomes. No Google client is mocked."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import grpc
import pytest

from sandbox.scenarios import list_bundled_scenarios, resolve_scenario
from shared.diagnosis.collection import ALERT_READS, MAX_API_CALLS, TARGET_CONNECTOR_READS, TARGET_SECRET_READS
from shared.errors import TransientError
from shared.remediation.guardrails import CLAIMS, COOLDOWNS
from tests.integration.world import FAST, SERVICE, World, concurrently, event

@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    return World(standin_env, pubsub, project_id, anchor)


SCENARIOS = [name for name in list_bundled_scenarios() if resolve_scenario(name).expect is not None]


@pytest.mark.parametrize("name", SCENARIOS)
def test_each_scenario_reaches_its_expected_outcome(standin_env, firestore, pubsub, project_id, anchor, name):
    scenario = resolve_scenario(name)
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    expect = world.seed(name).expect

    outcome = world.handle(world.alert(name))

    published = world.published()[0]
    assert published == json.loads(outcome.to_json())
    assert published["status"] == expect.status, published["reason"]
    assert (published["action"] or {}).get("name") == expect.action
    diagnosis = published["diagnosis"]
    if expect.signature == "none":   # routed nowhere: nothing was diagnosed
        assert diagnosis is None, diagnosis
        assert world.writes() == 0
        return
    assert diagnosis["signature"] == expect.signature, diagnosis["summary"]
    assert set(diagnosis["competing"]) == set(expect.competing)
    assert bool(diagnosis["stand_down"]) == expect.stand_down
    services = max(1, len([s for s in scenario.services if s.managed]))
    # At most MAX_API_CALLS per service, its request log (an alert's `healthy` may need it) and its rollback
    # target's pinned secret versions, and 2 to find
    # a shared resource's users.
    assert diagnosis["api_calls"] <= (MAX_API_CALLS + ALERT_READS + TARGET_SECRET_READS + TARGET_CONNECTOR_READS + 2) * services
    writes = world.standins.run.count("UpdateService")
    # A rollback the gate refuses (past its bounds: two releases back) is published with nothing written.
    if expect.action == "rollback_traffic" and expect.status == "applied":
        assert writes == 1
        serving = world.serving(scenario.service_name(published["target"].rsplit("/", 1)[-1]))
        # Every revision with a share; a tagged entry kept at 0% serves only its own URL.
        assert {revision: share for revision, share in serving.items() if share} == {expect.to_revision: 100}
        # It moved something: the target did not already carry everything (it may have carried most:
        # a canary's share sent back to the revision that carries the rest).
        before = {t.get("revision"): t.get("percent") for t in published["action"]["before"]["traffic"]
                  if t.get("percent")}
        assert before != {expect.to_revision: 100}, before
        assert any("pinned" in note for note in published["notes"])
    elif expect.action == "scale_connector" and expect.status == "applied":
        # One patch, on the connector the failing revision names (a Shared VPC host project's too),
        # and that connector now has the sizes the action wrote.
        assert writes == 0
        patches = world.standins.vpcaccess.requests("PatchConnector")
        assert [p.path.split("?")[0].removeprefix("/v1/") for p in patches] == [published["target"]], patches
        assert not expect.target or published["target"] == expect.target
        stored = world.standins.vpcaccess.connector(published["target"])
        assert {k: stored.get(k) for k in patches[0].body} == patches[0].body, (stored, patches[0].body)
    else:
        assert writes == 0
        if published["status"] != "applied":
            assert world.standins.vpcaccess.count("PatchConnector") == 0
        if expect.target:
            assert published["target"] == expect.target
        assert world.reads() == diagnosis["api_calls"]  # the budget counts every call made
    if (diagnosis["signature"] == "connector_saturation" and "a person must decide" in published["reason"]
            and "a person must decide on the change below" not in published["reason"]):
        # Planning turned the connector down (the policy's bounds, a max never reached): the outcome
        # recommends no scale step that refusal contradicts. (An alert that states no present failure,
        # shared/alerts/present_failure.py, holds a step planning allowed: "on the change below" names it.)
        assert not re.search(r"raise \S+ max instances above|move \S+ from", diagnosis["recommendation"]), (
            diagnosis["recommendation"], published["reason"])
    for item in diagnosis["evidence"]:
        assert item["source"] in {"api", "metric", "log"} and item["query"] and item["observed"]
        assert item["role"] in {"supports", "refutes", "context"}


def test_dry_run_sends_no_write_to_the_run_api(standin_env, firestore, pubsub, project_id, anchor):
    world = World(standin_env, pubsub, project_id, anchor, mode="dry_run")
    world.seed("bad_revision")

    outcome = world.handle(world.alert())

    assert outcome.status.value == "dry_run"
    assert world.standins.run.count("UpdateService") == 0
    assert world.serving() == {"backend-00002-xyz": 100}
    assert outcome.action.after["traffic"][0]["revision"] == "backend-00001-abc"
    assert world.state.get(COOLDOWNS, SERVICE) is None


def test_a_redelivered_alert_acts_once(world):
    world.seed("bad_revision")

    first = world.handle(world.alert(message_id="1"))
    second = world.handle(world.alert(message_id="1"))  # Pub/Sub redelivery: same message

    assert (first.status.value, second.status.value) == ("applied", "skipped")
    assert second.reason.startswith("duplicate")
    assert second.action.after == first.action.after  # the duplicate still reports what was done
    assert world.standins.run.count("UpdateService") == 1
    assert [o["status"] for o in world.published(2)] == ["applied", "skipped"]


def test_concurrent_deliveries_act_exactly_once(world):
    world.seed("bad_revision")
    world.standins.run.faults.add_latency(0.2, method="GetService")  # widen the race window
    outcomes, errors = concurrently(*(lambda i=i: world.handle(world.alert(message_id=f"m{i}")) for i in range(4)))
    results = [o.status.value for o in outcomes]

    assert errors == []
    assert sorted(results) == ["applied", "skipped", "skipped", "skipped"]
    assert world.standins.run.count("UpdateService") == 1


def test_a_closed_notification_is_recorded_and_never_acts(world):
    world.seed("bad_revision")

    outcome = world.handle(world.alert(state="closed", ended_at=world.anchor + timedelta(minutes=5)))

    # Alone, with no OPEN of it on record: it reaches a person (tests/unit/test_closed_never_opened.py).
    assert outcome.status.value == "escalated" and "no OPEN of incident" in outcome.reason, outcome.reason
    assert world.standins.run.calls == [] and world.standins.monitoring.calls == []
    assert world.published()[0]["status"] == "escalated"


def test_a_closed_after_its_open_is_recorded_as_resolved_and_never_acts(world):
    world.seed("healthy")
    assert world.handle(world.alert("healthy", message_id="1")).status.value != "applied"
    calls = (len(world.standins.run.calls), len(world.standins.monitoring.calls))

    outcome = world.handle(world.alert("healthy", message_id="2", state="closed",
                                       ended_at=world.anchor + timedelta(minutes=1)))

    assert outcome.status.value == "resolved", outcome.reason
    assert (len(world.standins.run.calls), len(world.standins.monitoring.calls)) == calls


def test_a_cancelled_closed_is_recorded_but_never_taken_as_the_actions_recovery(world):
    # Monitoring closes an incident whose policy condition was edited or deleted, with these words in
    # observed_value and the summary (the real closed Pub/Sub sample): no evidence the fix worked.
    from shared.remediation.records import ACTIONS

    world.seed("bad_revision")
    assert world.handle(world.alert()).status.value == "applied"
    closed = resolve_scenario("bad_revision").notification(world.anchor, state="closed",
                                                           ended_at=world.anchor + timedelta(minutes=5))
    words = "Incident cancelled because the alert policy condition was deleted or modified while incident was active."
    closed["incident"].update(observed_value=words, summary=f"... returned to normal with a value of {words}.")

    outcome = world.handle(event(json.dumps(closed).encode(), message_id="2"))

    assert outcome.status.value == "resolved" and "cancelled" in outcome.reason, outcome.reason
    [action] = world.state.find_records(ACTIONS, "incident_id", closed["incident"]["incident_id"])
    assert action["incident_closed_at"] is None and action["state"] == "pending"


@pytest.mark.parametrize("metric, status", [("run.googleapis.com/request_latencies", "skipped"),
                                            ("run.googleapis.com/container/memory/utilizations", "escalated")])
def test_a_second_policy_on_a_failure_runwarden_rolled_back_is_its_symptom_when_the_sweep_can_judge_it(
        world, metric, status):
    # Two policies on one failure (5xx and latency) open two incidents. The second arrives after the
    # first's rollback: its evidence still holds the rolled-back revision's 5xx, which no rule explains.
    world.seed("bad_revision")
    assert world.handle(world.alert()).status.value == "applied"
    second = resolve_scenario("bad_revision").notification(world.anchor, incident_id="0.latencypolicy")
    second["incident"].update(policy_name="backend p99 latency", threshold_value="2000", observed_value="2400",
                              metric={"type": metric, "labels": {}})
    # Each policy's own aggregation: a percentile of the latency distribution (ALIGN_RATE, the 5xx
    # policy's, is not valid for a DISTRIBUTION metric), the mean of memory utilization.
    aligner = "ALIGN_PERCENTILE_99" if metric.endswith("request_latencies") else "ALIGN_MEAN"
    # And its own condition: named as the notification names it, filtering on its metric.
    condition = second["incident"]["condition"]
    second["incident"]["condition_name"] = condition["displayName"] = f"{metric.rsplit('/', 1)[-1]} above 2000"
    condition["conditionThreshold"].update(
        filter=condition["conditionThreshold"]["filter"].replace("run.googleapis.com/request_count", metric),
        thresholdValue=2000, aggregations=[{"alignmentPeriod": "60s", "perSeriesAligner": aligner}])

    outcome = world.handle(event(json.dumps(second).encode(), message_id="2"))

    assert outcome.status.value == status, outcome.reason
    assert outcome.diagnosis.signature == "inconclusive"
    if status == "skipped":
        assert "Runwarden rolled backend back itself (backend-00002-xyz to backend-00001-abc" in outcome.reason
    assert world.standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("data, field", [
    (b"not json at all", "message.data"),
    (b'{"version": "1.2"}', "incident"),
    (json.dumps({"incident": {"incident_id": "0.x", "state": "open", "started_at": "yesterday"}}).encode(),
     "incident.started_at"),
])
def test_malformed_alerts_are_rejected_not_raised(world, data, field):
    outcome = world.handle(event(data))

    assert outcome.status.value == "rejected"
    assert field in outcome.reason
    assert world.standins.run.calls == []
    published = world.published()[0]
    assert published["status"] == "rejected" and published["message_id"] == "1"
    # Acknowledged, never delivered again: the message travels with its rejection (shared/alerts/received.py).
    assert published["received"]["data"] == data.decode() and published["received"]["data_form"] == "text"


@pytest.mark.parametrize("field", ["started_at", "ended_at"])
def test_an_incident_time_in_milliseconds_is_rejected_naming_the_field(world, field):
    # Monitoring sends epoch seconds; a relay that rewrites them in milliseconds must not reach the
    # diagnosis (a year past 9999) and be delivered again and again until given up on.
    world.seed("bad_revision")
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    notification["incident"].update(state="closed", ended_at=notification["incident"]["started_at"] + 600)
    if field == "started_at":
        notification["incident"].update(state="open", ended_at=None)
    notification["incident"][field] *= 1000

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "rejected", outcome.reason
    assert f"incident.{field}" in outcome.reason and "milliseconds" in outcome.reason
    assert world.standins.run.calls == [] and world.standins.monitoring.calls == []


def test_bad_base64_is_rejected(world):
    outcome = world.handle({"message": {"data": "%%% not base64 %%%", "messageId": "7"}})
    assert outcome.status.value == "rejected" and "message.data" in outcome.reason


def test_a_transient_fault_raises_for_a_retry_and_leaves_no_claim(world):
    world.seed("bad_revision")
    world.standins.run.faults.fail_next(20, grpc.StatusCode.UNAVAILABLE, method="UpdateService")

    with pytest.raises(TransientError):
        world.handle(world.alert())

    key = f"{resolve_scenario('bad_revision').notification(world.anchor)['incident']['incident_id']}|{SERVICE}|rollback_traffic"
    assert world.state.get(CLAIMS, key) is None and world.state.get(COOLDOWNS, SERVICE) is None
    world.standins.run.faults.clear()
    assert world.handle(world.alert()).status.value == "applied"  # the platform's retry succeeds


def test_an_unavailable_read_is_transient_too(world):
    world.seed("bad_revision")
    # Every Monitoring read fails each of its attempts (CallPolicy.attempts, 3): a count tuned to the reads
    # of one collection (20 once) is absorbed by retries as soon as a read is added beside them.
    world.standins.monitoring.faults.fail_next(3 * MAX_API_CALLS, grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(TransientError):
        world.handle(world.alert())
    assert world.standins.run.count("UpdateService") == 0


# A read answered late, as a loaded machine answers (the stand-ins serve in the test's own process): past
# the 5 s these tests once gave a call, within the product's own per-call deadline (CallPolicy). A read
# that hangs past that deadline is still a transient fault: the alert is redelivered, nothing written.
LATE_UNDER_LOAD = 5.5


def test_a_read_answered_late_within_the_products_deadline_still_reaches_its_outcome(world):
    world.seed("bad_revision")
    world.standins.run.faults.add_latency(LATE_UNDER_LOAD, method="ListRevisions")

    outcome = world.handle(world.alert())

    assert outcome.status.value == "applied", outcome.reason
    assert outcome.action.name == "rollback_traffic"


def test_a_read_that_hangs_past_its_deadline_is_redelivered_and_writes_nothing(world):
    world.seed("bad_revision")
    world.standins.run.faults.add_latency(FAST.call_timeout + 2, method="ListRevisions")

    with pytest.raises(TransientError, match="ListRevisions"):
        world.handle(world.alert())

    assert world.writes() == 0


def test_a_denied_write_fails_with_the_api_error(world):
    world.seed("bad_revision")
    world.standins.run.faults.deny(method="UpdateService")

    outcome = world.handle(world.alert())

    assert outcome.status.value == "failed"
    assert "PERMISSION_DENIED" in outcome.reason
    assert world.serving() == {"backend-00002-xyz": 100}
    assert world.state.get(COOLDOWNS, SERVICE) is None  # nothing changed, so nothing to cool down from


def test_an_unmanaged_service_is_skipped_without_reading_it(standin_env, firestore, pubsub, project_id, anchor):
    world = World(standin_env, pubsub, project_id, anchor, services=())
    world.seed("bad_revision")

    outcome = world.handle(world.alert())

    assert outcome.status.value == "skipped" and "not a managed service" in outcome.reason
    assert world.standins.run.calls == []


def test_an_alert_about_runwardens_own_function_reaches_a_person_once_and_nothing_is_read(
        standin_env, firestore, pubsub, project_id, anchor):
    """A 5xx alert whose resource is Runwarden's own function (a Cloud Run service of the config's own_services) was
    answered `skipped` "not a managed service": its failing watchdog reached nobody through Runwarden. Escalated,
    naming it, with nothing read or written; a second delivery of the message is not told again."""
    world = World(standin_env, pubsub, project_id, anchor, services=(), own_services=[SERVICE])
    world.seed("bad_revision")

    outcome = world.handle(world.alert())
    again = world.handle(world.alert())

    first, second = world.published(2)
    assert first["status"] == outcome.status.value == "escalated", outcome.reason
    assert "Runwarden's own function backend" in first["reason"] and "not acted on" in first["reason"]
    assert first["target"] == SERVICE
    assert second["status"] == again.status.value == "skipped" and "not sent to a person again" in again.reason
    assert world.standins.run.calls == [] and world.writes() == 0


def _notify_lines(capsys) -> list[dict]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"notify"' in line]
    return [line for line in lines if line["logging.googleapis.com/labels"].get("runwarden_step") == "notify"]


def test_an_own_function_alert_is_told_once_per_incident_and_its_close_is_told_too(
        standin_env, firestore, pubsub, project_id, anchor, capsys):
    """Monitoring re-notifies an open incident (renotifyInterval) in a new message: about Runwarden's own function it
    paged a person again each time, with nothing new (nothing is read). Its CLOSED was `resolved`, no notify line: the
    person paged by the OPEN never heard it closed. Now: one page per incident, and its closing told."""
    world = World(standin_env, pubsub, project_id, anchor, services=(), own_services=[SERVICE])
    world.seed("bad_revision")

    first = world.handle(world.alert(message_id="1"))
    reminder = world.handle(world.alert(message_id="2"))      # a reminder at the renotify interval
    closed = world.handle(world.alert(message_id="3", state="closed", ended_at=world.anchor + timedelta(minutes=5)))

    assert first.status.value == "escalated", first.reason
    assert reminder.status.value == "skipped", reminder.reason
    assert "notified again (a reminder at its policy's renotifyInterval" in reminder.reason, reminder.reason
    assert "not sent to a person again" in reminder.reason and first.outcome_id in reminder.reason, reminder.reason
    assert closed.status.value == "escalated" and closed.target == SERVICE, closed.reason
    assert "about Runwarden's own function backend" in closed.reason and "closed at" in closed.reason, closed.reason
    assert "its OPEN was told to a person, so is its closing" in closed.reason, closed.reason
    assert [line["logging.googleapis.com/labels"]["runwarden_status"] for line in _notify_lines(capsys)] == [
        "escalated", "escalated"]
    assert world.standins.run.calls == [] and world.writes() == 0


def test_a_query_naming_only_an_own_function_says_it_is_runwardens_own(standin_env, firestore, pubsub, project_id,
                                                                        anchor):
    """A PromQL condition whose result keeps no Cloud Run resource (a `prometheus_target`), its query selecting
    Runwarden's own function by name: it said "no managed service is named 'backend'", nothing of whose it is."""
    world = World(standin_env, pubsub, project_id, anchor, services=(), own_services=[SERVICE])
    world.seed("bad_revision")
    query = ('sum(rate(run_googleapis_com:request_count{monitored_resource="cloud_run_revision",'
             'service_name="backend",response_code_class="5xx"}[5m])) > 1')

    def promql(incident):
        incident["condition"] = {"name": incident["condition"]["name"], "displayName": "5xx",
                                 "conditionPrometheusQueryLanguage": {"query": query, "duration": "60s"}}
        incident["resource"] = {"type": "prometheus_target", "labels": {"project_id": project_id,
                                                                        "location": "us-central1"}}

    outcome = world.handle(_bad_revision_alert(world, promql))

    assert outcome.status.value == "escalated", outcome.reason
    assert "no managed service is named 'backend'" in outcome.reason, outcome.reason
    assert f"Runwarden's own function of that name: backend ({SERVICE}), never acted on" in outcome.reason
    assert world.standins.run.calls == [] and world.writes() == 0


def _bad_revision_alert(world, change) -> dict:
    """The bad_revision notification with `change` made to its incident, as a delivery."""
    document = resolve_scenario("bad_revision").notification(world.anchor)
    change(document["incident"])
    return event(json.dumps(document).encode(), "1")


@pytest.mark.parametrize("location", ["global", "us", "europe-west"])
def test_an_alert_on_a_location_that_is_no_region_is_rejected_to_a_person_not_skipped(world, location):
    """A cloud_run_revision's `location` is the region its service runs in (every Cloud Run service is in one:
    Cloud Run, "Cloud Run locations"). One that names none was built into a service name no config manages and
    answered `skipped` "not a managed service", which reaches nobody; it is a notification of a shape no real
    resource has, told to a person (rejected, with a notify line), and nothing is read or written."""
    world.seed("bad_revision")

    outcome = world.handle(_bad_revision_alert(world, lambda i: i["resource"]["labels"].update(location=location)))

    assert outcome.status.value == "rejected", outcome.reason
    assert f"location {location!r}" in outcome.reason and "is not a region" in outcome.reason, outcome.reason
    assert world.published()[0]["status"] == "rejected"
    assert world.standins.run.calls == [] and world.writes() == 0


def test_an_alert_whose_revision_label_a_relay_respelled_writes_nothing_and_says_so(world):
    """`revisionName` naming the revision that served cleanly: read as missing, the alert's own revision was never
    weighed and traffic went back toward it. Refused naming the key, nothing read or written."""
    world.seed("bad_revision")

    outcome = world.handle(_bad_revision_alert(
        world, lambda i: i["resource"]["labels"].update(revisionName="backend-00001-abc")))

    assert outcome.status.value == "rejected", outcome.reason
    assert "resource label 'revisionName' 'backend-00001-abc' for 'revision_name'" in outcome.reason, outcome.reason
    assert world.published()[0]["status"] == "rejected"
    assert world.writes() == 0


def test_an_array_of_commands_on_the_alerts_topic_is_told_where_commands_go_under_each_id(world):
    """A JSON array of commands (several at once, as a script may hold them) sent to the alerts topic was a "bad
    notification" (`expected a JSON object, got array`), answered under no id: its senders timed out and were never
    told where commands go. Each id is answered, naming the commands topic; nothing is run."""
    commands = [{"command": "pause", "command_id": f"p-{n}", "requested_by": "alice@example.com", "reason": "x"}
                for n in (1, 2)]

    outcome = world.handle(event(json.dumps(commands).encode(), "m-1"))

    published = world.published(2)
    assert sorted(p["command_id"] for p in published) == ["p-1", "p-2"]
    for answer in published:
        assert answer["status"] == "rejected", answer["reason"]
        assert "this is an array of 2 Runwarden command(s) ('pause', 'pause'), not a Monitoring notification; none " \
               "was run: publish each to the commands topic, one command per message" in answer["reason"], answer
    assert outcome.command_id == "p-1"
    assert world.state.get_record("flags", "kill_switch") is None


def test_a_denied_log_read_is_a_gap_not_a_failure(world):
    world.seed("connector_saturation")
    world.standins.logging.faults.deny()

    outcome = world.handle(world.alert("connector_saturation"))

    assert outcome.diagnosis.signature == "connector_saturation"   # the metrics still tell
    first = outcome.diagnosis.evidence[0]
    assert "not read" in first.observed and "logging" in first.observed
    # But the checks that read the logs to hold the connector back never ran: stated, not scaled.
    assert "log read failed" in outcome.diagnosis.summary and "not ruled out" in outcome.diagnosis.summary
    assert outcome.status.value == "escalated" and "below act_min_confidence" in outcome.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def test_a_denied_log_read_never_rolls_back_onto_a_revision_whose_starts_were_not_read(world):
    # The deploy fails on its metrics alone, but no log line was read: whether the previous
    # revision's new instances start is not known, and a rollback needs them.
    world.seed("bad_revision")
    world.standins.logging.faults.deny()

    outcome = world.handle(world.alert())

    assert outcome.diagnosis.signature == "bad_revision"
    assert "log read failed" in outcome.diagnosis.summary and "logging.logEntries.list" in outcome.diagnosis.summary
    assert outcome.status.value == "escalated" and "no rollback target" in outcome.reason
    assert world.standins.run.count("UpdateService") == 0
    assert world.serving() == {"backend-00002-xyz": 100}


def test_a_service_that_vanished_fails_without_retrying_forever(world):
    # Nothing seeded: the Run API answers NOT_FOUND, a permanent fault.
    outcome = world.handle(world.alert())
    assert outcome.status.value == "failed" and "NOT_FOUND" in outcome.reason


def test_an_accepted_write_that_cannot_be_followed_is_recorded_and_never_repeated(world):
    world.seed("bad_revision")
    world.standins.run.faults.fail_next(10_000, grpc.StatusCode.UNAVAILABLE, method="GetOperation")

    first = world.handle(world.alert())
    world.standins.run.faults.clear()
    again = world.handle(world.alert(message_id="2"))  # the platform's redelivery, or a re-notification

    assert first.status.value == "escalated" and "could not be confirmed" in first.reason
    assert again.status.value == "skipped" and again.reason.startswith("duplicate")
    assert world.standins.run.count("UpdateService") == 1
    [record] = world.state.find_records("actions", "service", SERVICE)
    assert record["state"] == "pending" and record["before"]["traffic"]  # the sweep will judge it


def test_a_log_match_filter_that_logging_refuses_still_leaves_the_services_logs(standin_env, firestore, pubsub,
                                                                              project_id, anchor):
    # No Cloud SQL instance named in the config: the budget has room for the retry (it never
    # takes a 13th call; with a connector and a database it keeps the refusal as a gap).
    service = "projects/fin-core/locations/us-central1/services/invoices"
    world = World(standin_env, pubsub, project_id, anchor, services=(service,))
    scenario = world.seed("logmatch_proxy_dial_errors")
    notification = scenario.notification(anchor)
    notification["incident"]["condition"]["conditionMatchedLog"]["filter"] = 'jsonPayload.foo=~"(unclosed'

    outcome = world.handle(event(json.dumps(notification).encode()))

    first = outcome.diagnosis.evidence[0]
    assert "not read" in first.observed and "logging" in first.observed   # the refusal is a named gap
    assert "without the alert's filter" not in first.observed             # the retry was answered
    requests = world.standins.logging.requests("ListLogEntries")
    # Refused, then retried without it; the audit read runs beside them (evidence reads are
    # concurrent), so only the order of the two application-log reads is fixed.
    app = [r.filter for r in requests if "cloudaudit" not in r.filter]
    assert len(requests) == 3 and len(app) == 2
    assert "unclosed" in app[0] and "unclosed" not in app[1]
    assert outcome.diagnosis.api_calls == world.reads() <= MAX_API_CALLS


def test_a_log_match_filter_too_long_to_join_is_left_out_before_asking(standin_env, firestore, pubsub, project_id,
                                                                      anchor):
    """The service's query and a long alert filter together would pass Logging's 20,000 characters:
    the whole query would be refused, so the service's logs are read without the alert's filter
    at once, with a note, and no call is spent on a refusal."""
    service = "projects/fin-core/locations/us-central1/services/invoices"
    world = World(standin_env, pubsub, project_id, anchor, services=(service,))
    scenario = world.seed("logmatch_proxy_dial_errors")
    notification = scenario.notification(anchor)
    # 600 clauses are about 19,800 characters: past Logging's 20,000 with any service query joined.
    long_filter = " OR ".join(f'textPayload:"dial error {i:04d}"' for i in range(600))
    assert len(long_filter) < 20_000
    notification["incident"]["condition"]["conditionMatchedLog"]["filter"] = long_filter

    outcome = world.handle(event(json.dumps(notification).encode()))

    first = outcome.diagnosis.evidence[0]
    assert "alert's own filter left out" in first.observed
    app = [r.filter for r in world.standins.logging.requests("ListLogEntries") if "cloudaudit" not in r.filter]
    assert len(app) == 1 and "dial error 0000" not in app[0]


@pytest.mark.parametrize("dropped, where", [
    ("location", "in a region"),      # groupByFields: [project_id, service_name]: summed over regions
    # groupByFields: [service_name, location], in a policy whose metrics scope holds several projects:
    # summed over them. The scoping project is where the policy lives, not where the service is.
    ("project_id", "in a project"),
])
def test_a_policy_grouped_without_location_or_project_is_rejected_to_a_person_saying_how_to_fix_it(
        world, capsys, dropped, where):
    """Grouped without location or project_id, the alerted value is a sum over every region or
    project that runs the name, managed or not: nothing is diagnosed or written. The rejection
    reaches a person (a `notify` line, as an escalation does), names the policy, the managed
    service(s) of that name and how to fix the policy, and the outcome keeps the incident's id."""
    world.seed("bad_revision")
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    del notification["incident"]["resource"]["labels"][dropped]
    capsys.readouterr()

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "rejected"
    assert outcome.incident_id == notification["incident"]["incident_id"]
    assert "group the condition's aggregation by project_id, service_name and location" in outcome.reason
    assert f"the managed service named 'backend' is {SERVICE}" in outcome.reason, outcome.reason
    assert f"may also run {where} the config does not manage" in outcome.reason, outcome.reason
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"notify"' in line]
    [notify] = [line for line in lines if line["logging.googleapis.com/labels"].get("runwarden_step") == "notify"]
    assert notify["logging.googleapis.com/labels"]["runwarden_status"] == "rejected"
    assert notify["severity"] == "WARNING" and "group the condition's aggregation by" in notify["message"]
    assert world.published()[0]["status"] == "rejected"
    assert world.writes() == 0 and world.reads() == 0


def _saturation_that_ended(tmp_path, until: str = "+190m"):
    """connector_saturation whose episode ended 5 minutes after the incident opened: from then on the
    connector is idle again (2 instances, CPU 25%, fast requests) while a third of requests still
    answer 503, for hours. The incident stays open."""
    import yaml

    from sandbox.scenarios import bundled_scenario_path, load_scenario

    data = yaml.safe_load(bundled_scenario_path("connector_saturation").read_text())
    later = {
        "run.googleapis.com/request_latencies": {"samples": [[150, 50]]},
        "vpcaccess.googleapis.com/connector/instances": 2,
        "vpcaccess.googleapis.com/connector/cpu/utilizations": {"samples": [[0.25, 20]]},
    }
    for series in data["timeseries"]:
        last = series["points"][-1]
        assert last["to"] == "+5m"
        if series["metric"] in later:
            series["points"].append({"from": "+5m", "to": until, "every": "60s", "value": later[series["metric"]]})
        else:
            last["to"] = until
    data["sql_instances"][0]["up"][0]["to"] = until
    path = tmp_path / "saturation_that_ended.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_scenario(path)


def test_a_renotification_hours_later_judges_the_current_state_not_the_first_minutes(world, tmp_path):
    """Cloud Monitoring re-notifies an incident still open (renotifyInterval): the same incident_id
    and started_at, a new message, hours later. The connector's saturation was over 5 minutes after
    the start; what fails now is not the connector. The evidence of the current state is read from
    the last minutes, not from the incident's start: nothing is proposed for an episode long over."""
    from sandbox.scenarios import seed

    seed(world.standins, _saturation_that_ended(tmp_path), world.anchor)
    world.at(3 * 60 + 2)

    outcome = world.handle(world.alert("connector_saturation", message_id="renotified"))

    assert outcome.diagnosis.signature != "connector_saturation", outcome.diagnosis.summary
    assert outcome.status.value == "escalated", outcome.reason
    assert "the incident is open since 12:00:00; only its last 30 min are judged" in outcome.reason, outcome.reason
    assert world.writes() == 0 and world.state.find_records("proposals", "incident_id", outcome.incident_id) == []


def _saturation_lasting(tmp_path, until: str):
    """connector_saturation, every series extended to `until`: the failure never ends."""
    import yaml

    from sandbox.scenarios import bundled_scenario_path, load_scenario

    data = yaml.safe_load(bundled_scenario_path("connector_saturation").read_text())
    for series in data["timeseries"]:
        series["points"][-1]["to"] = until
    data["sql_instances"][0]["up"][0]["to"] = until
    path = tmp_path / "saturation_lasting.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_scenario(path)


def test_a_renotification_after_the_claims_retention_never_acts_on_the_incident_again(standin_env, firestore, pubsub,
                                                                                      project_id, anchor, tmp_path):
    """One incident, one action: the incident still open after its completed claim's retention
    lapsed, its re-notification is a duplicate of the action its record keeps, not a second write."""
    from sandbox.scenarios import seed

    connector = "projects/demo-project/locations/us-central1/connectors/backend-conn"
    world = World(standin_env, pubsub, project_id, anchor,
                  bounds={"connectors": [{"name": connector, "allow_one_way": True}]},
                  guardrails={"claim_retention_seconds": 600, "cooldown_seconds": 0})
    seed(world.standins, _saturation_lasting(tmp_path, "+70m"), world.anchor)
    first = world.handle(world.alert("connector_saturation"))
    assert first.status.value == "applied", first.reason
    world.at(62)   # the claim's 10-minute retention (and its 5-minute skew allowance) lapsed long ago

    again = world.handle(world.alert("connector_saturation", message_id="renotified"))

    assert again.status.value == "skipped" and again.reason.startswith("duplicate"), again.reason
    assert first.action.action_id in again.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 1


def _five_xx_lingering(tmp_path):
    """healthy, at 400 requests a minute, whose burst of 500s left 2 a minute behind (0.5 %): clean at
    the settings' 1 %, failing at a policy's own 0.1 %."""
    import yaml

    from sandbox.scenarios import bundled_scenario_path, load_scenario

    data = yaml.safe_load(bundled_scenario_path("healthy").read_text())
    for series in data["timeseries"]:
        if series["metric"] == "run.googleapis.com/request_count":
            code = series["labels"]["response_code"]
            series["points"] = ([{"from": "-3h", "to": "+5m", "every": "60s", "value": 400}] if code == "200" else
                                [*series["points"], {"from": "-8m", "to": "+5m", "every": "60s", "value": 2}])
    path = tmp_path / "five_xx_lingering.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_scenario(path)


def test_a_threshold_value_with_units_is_judged_at_the_conditions_own_bar(world, tmp_path):
    """A 5xx ratio policy at 0.1 % whose notification says its threshold with units ("0.1 %"): read as
    no threshold, the alert was judged at the settings' 1 % and skipped as healthy while 0.5 % of
    requests still failed. The condition's own thresholdValue is the same bar, as a number."""
    from sandbox.scenarios import seed

    seed(world.standins, _five_xx_lingering(tmp_path), world.anchor)
    notification = resolve_scenario("healthy").notification(world.anchor)
    body = notification["incident"]["condition"]["conditionThreshold"]
    body.update(thresholdValue=0.001, denominatorFilter='metric.type="run.googleapis.com/request_count"')
    notification["incident"].update(threshold_value="0.1 %", observed_value="0.5 %")

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.diagnosis.signature != "healthy", outcome.reason
    assert outcome.status.value == "escalated", outcome.reason
    assert world.writes() == 0


def test_a_notification_without_its_condition_is_escalated_not_cleared_as_healthy(world, capsys):
    """A notification that lost its `condition` (schema 1.2's fields may be absent): whether its policy
    fires above or below its threshold, on which responses, is unstated (an availability policy's 0.99
    reads as a 5xx share). Clean 5xx and p99 were called healthy and the alert skipped: it is escalated,
    saying so, and reaches a person."""
    world.seed("healthy")
    notification = resolve_scenario("healthy").notification(world.anchor)
    del notification["incident"]["condition"]
    notification["incident"].update(policy_name="backend availability", threshold_value="0.99",
                                    observed_value="0.93", metric={"type": "run.googleapis.com/request_count"})

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "escalated", outcome.reason
    assert "the notification carries no condition (policy 'backend availability')" in outcome.reason, outcome.reason
    assert world.writes() == 0
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())


def test_a_share_of_non_2xx_on_clean_5xx_is_escalated_not_cleared_as_healthy(world, capsys):
    """A policy on the share of responses that are not 2xx (`response_code_class != "2xx"`, 4xx included)
    at 1 %: clean 5xx and 429 do not show it cleared (404s from a bad route go on), and it was skipped as
    healthy where nobody heard of it. It is escalated, saying why, and reaches a person."""
    world.seed("healthy")
    notification = resolve_scenario("healthy").notification(world.anchor)
    body = notification["incident"]["condition"]["conditionThreshold"]
    body.update(filter=body["filter"] + ' AND metric.labels.response_code_class!="2xx"', thresholdValue=0.01,
                denominatorFilter='metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"')
    notification["incident"].update(threshold_value="0.01", observed_value="0.06",
                                    metric={"type": "run.googleapis.com/request_count", "labels": {}})

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "escalated", outcome.reason
    assert "counts responses other than the 5xx and 429 the health check reads" in outcome.reason, outcome.reason
    assert world.writes() == 0
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())


LATENCIES = "run.googleapis.com/request_latencies"


@pytest.mark.parametrize("select, healthy", [
    (' AND metric.labels.response_code_class="2xx"', False),
    (' AND metric.label.response_code_class!="5xx"', False),
    ("", True),    # all requests: the p99 the health check reads
])
def test_a_latency_policy_on_one_response_class_is_escalated_not_cleared_on_the_p99_of_all(
        world, capsys, select, healthy):
    """A p99 policy on the latency of 2xx alone (request_latencies' response_code_class) at 2 s: the p99 of
    all requests does not bound it (fast 304s, 404s or 503s hold it under the bar while the 2xx stay slow).
    It was skipped as healthy on the clean service; it is escalated, naming what it measures. The same
    policy on all requests is judged as before."""
    world.seed("healthy_after_burst_and_hang")      # its 3 s hang read: the alert's failure in the minutes read
    notification = resolve_scenario("healthy_after_burst_and_hang").notification(world.anchor)
    condition = notification["incident"]["condition"]
    body = condition["conditionThreshold"]
    body.update(filter=body["filter"].replace("run.googleapis.com/request_latencies", LATENCIES) + select,
                thresholdValue=2000, aggregations=[{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_PERCENTILE_99"}])
    notification["incident"].update(threshold_value="2000", observed_value="2400",
                                    metric={"type": LATENCIES, "labels": {}})
    notification["incident"]["condition_name"] = condition["displayName"] = "p99 latency above 2 s"

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert (outcome.diagnosis.signature == "healthy") is healthy, outcome.reason
    assert world.writes() == 0
    if not healthy:
        assert outcome.status.value == "escalated", outcome.reason
        assert "not of all requests" in outcome.reason, outcome.reason
        assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())


def test_a_rejected_alert_carries_no_credential_its_documentation_held(world, capsys):
    """A malformed notification (its start in milliseconds) whose policy documentation holds a runbook's
    bearer token: the outcome and the lines a person reads carry what it said, not the token."""
    token = "c2VjcmV0LXdlYmhvb2stdG9rZW4"
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    notification["incident"]["started_at"] *= 1000
    notification["incident"]["documentation"]["content"] = f'curl -H "Authorization: Bearer {token}" https://hooks'

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "rejected", outcome.reason
    published = world.published()[0]
    assert token not in json.dumps(published) and token not in capsys.readouterr().out
    kept = json.loads(published["received"]["data"])["incident"]["documentation"]["content"]
    assert kept == 'curl -H "Authorization: Bearer [redacted credential]" https://hooks', kept


def test_an_uptime_check_on_a_host_runwarden_does_not_manage_reaches_a_person(world, capsys):
    """Runwarden's own policies never alert on an uptime check (infra/alerts.tf): one on a host no
    managed service serves (a status page, a custom domain the config does not list) was pointed at
    its channel by a person, perhaps alone. It was skipped, and a failing check nobody else heard of
    was dropped: it is escalated, naming the policy and what to fix, with nothing read."""
    world.seed("uptime_unknown_host")

    outcome = world.handle(world.alert("uptime_unknown_host"))

    assert outcome.status.value == "escalated", outcome.reason
    assert outcome.reason.startswith("not Runwarden's: uptime check host status.example.org"), outcome.reason
    assert "Policy 'status page uptime'" in outcome.reason and "services[].domains" in outcome.reason
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())
    assert world.reads() == 0 and world.writes() == 0


def test_a_promql_policy_that_sums_over_regions_is_told_to_fix_its_query(world):
    """A PromQL condition has no aggregation to group: its rejection says to keep the labels in the
    query's result (`sum by`), not to set a crossSeriesReducer it does not have."""
    world.seed("bad_revision")
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    del notification["incident"]["resource"]["labels"]["location"]
    notification["incident"]["condition"] = {"displayName": "5xx rate", "conditionPrometheusQueryLanguage": {
        "query": 'sum by (project_id, service_name) (rate(run_googleapis_com:request_count{response_code_class="5xx"}'
                 "[5m])) > 1", "duration": "60s"}}

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "rejected", outcome.reason
    assert "in the query's result (PromQL: sum by (project_id, service_name, location) (...)" in outcome.reason
    assert "crossSeriesReducer" not in outcome.reason and world.writes() == 0 and world.reads() == 0


def test_a_promql_alert_on_a_prometheus_target_names_the_managed_service_its_query_selects(world, capsys):
    """A PromQL alert's resource is a prometheus_target (Managed Service for Prometheus), not the service: its
    query selecting backend is told to a person, with the managed service of that name, and nothing is read
    or written on that guess."""
    world.seed("bad_revision")
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    notification["incident"]["resource"] = {"type": "prometheus_target", "labels": {
        "project_id": "demo-project", "location": "us-central1", "cluster": "__run__", "namespace": "", "job": "",
        "instance": ""}}
    notification["incident"]["condition"] = {"displayName": "5xx rate", "conditionPrometheusQueryLanguage": {
        "query": 'sum(rate(run_googleapis_com:request_count{service_name="backend",response_code_class="5xx"}[5m]))'
                 " > 1", "duration": "60s"}}

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "escalated", outcome.reason
    assert "its query selects Cloud Run service_name 'backend'" in outcome.reason, outcome.reason
    assert f"managed service of that name: {SERVICE}; nothing was read or done on any of them" in outcome.reason
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())
    assert world.reads() == 0 and world.writes() == 0


@pytest.mark.parametrize("closed_value, status", [(None, "escalated"), ("0.001", "skipped")],
                         ids=["closed showing no recovery (a snooze)", "closed showing recovery"])
def test_an_incident_closed_before_the_write_reaches_a_person_unless_it_recovered(world, capsys, closed_value,
                                                                                     status):
    """The CLOSED is handled, on Firestore, the moment the gate reads the incident right before the write
    (that read asks for the incident without its settled entries); what it showed of recovery is kept on
    the incident's record and read back there (tests/unit/test_closed_before_the_write.py)."""
    from shared.remediation.records import INCIDENTS, SETTLED

    world.seed("bad_revision")
    read, done = world.state.get_many, []
    closing = world.alert(message_id="closed", state="closed", ended_at=world.anchor + timedelta(minutes=5),
                          **({} if closed_value is None else {"closed_value": closed_value}))

    def get_many(keys):
        if any(kind == INCIDENTS for kind, _ in keys) and not any(kind == SETTLED for kind, _ in keys) and not done:
            done.append(world.handle(closing))
        return read(keys)

    world.state.get_many = get_many
    outcome = world.handle(world.alert(message_id="1"))

    assert [o.status.value for o in done] == ["resolved"]   # its OPEN was recorded seen before the write
    assert outcome.status.value == status and "before the write" in outcome.reason, outcome.reason
    assert world.standins.run.count("UpdateService") == 0
    paged = [json.loads(line) for line in capsys.readouterr().out.splitlines()
             if '"runwarden_step": "notify"' in line]
    assert bool(paged) is (status == "escalated"), paged


def test_an_alert_whose_series_carries_a_reserved_label_key_is_recorded_with_its_action(world):
    """A PromQL condition's series may carry `__name__`; the alert's labels are stored with its action,
    and Firestore refuses a field name matching __.*__: the rollback was written and its record refused
    (tests/unit/test_label_keys_kept.py)."""
    from shared.remediation.records import ACTIONS

    world.seed("bad_revision")
    document = resolve_scenario("bad_revision").notification(world.anchor)
    document["incident"]["metric"]["labels"]["__name__"] = "run_googleapis_com:request_count"

    outcome = world.handle(event(json.dumps(document).encode(), message_id="1"))

    assert outcome.status.value == "applied", outcome.reason
    [record] = world.state.find_records(ACTIONS, "incident_id", document["incident"]["incident_id"])
    assert record["alert"]["metric_labels"]["label:__name__"] == "run_googleapis_com:request_count"
    assert world.standins.run.count("UpdateService") == 1


def _connector_world(standin_env, pubsub, project_id, anchor) -> World:
    scenario = resolve_scenario("connector_alert_services_fine")
    world = World.for_scenario(scenario, standin_env, pubsub, project_id, anchor)
    world.seed("connector_alert_services_fine")
    return world


def test_a_connector_alert_whose_metric_stopped_reporting_reaches_a_person(standin_env, firestore, pubsub,
                                                                           project_id, anchor, capsys):
    """A metric-absence condition on the connector's throughput, its one user serving cleanly: clean
    requests do not show what stopped crossing the connector came back. It was `healthy` and skipped."""
    world = _connector_world(standin_env, pubsub, project_id, anchor)
    notification = resolve_scenario("connector_alert_services_fine").notification(world.anchor)
    condition = notification["incident"]["condition"]
    body = condition.pop("conditionThreshold")
    condition["conditionAbsent"] = {
        "filter": body["filter"].replace("connector/instances", "connector/received_bytes_count"), "duration": "600s"}
    notification["incident"]["metric"]["type"] = "vpcaccess.googleapis.com/connector/received_bytes_count"

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "escalated", outcome.reason
    assert "metric-absence condition" in outcome.reason, outcome.reason
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())
    assert world.writes() == 0


def test_a_connector_alert_whose_users_are_healthy_reaches_a_person_with_the_connectors_evidence(
        standin_env, firestore, pubsub, project_id, anchor, capsys):
    """The connector at its ceiling (3 of 3 instances), its one user healthy: nothing is done, and a person hears
    of the connector's own state (before, `skipped`, which reaches nobody)."""
    world = _connector_world(standin_env, pubsub, project_id, anchor)

    outcome = world.handle(world.alert("connector_alert_services_fine"))

    assert outcome.status.value == "escalated", outcome.reason
    assert "every one is healthy" in outcome.reason, outcome.reason
    assert ("connector api-conn is READY, e2-micro, 2 to 3 instances, up to 3 instance(s) since the incident began "
            "(of 3), CPU p99 up to 63%") in outcome.reason, outcome.reason
    assert "vpcaccess.googleapis.com/connector/instances, 3 against a bar of 2.5" in outcome.reason, outcome.reason
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())
    assert world.writes() == 0


def test_a_connector_alert_whose_only_managed_user_cannot_be_read_reaches_a_person(standin_env, firestore, pubsub,
                                                                                  project_id, anchor, capsys):
    """Cloud Run refuses `services.get` (PERMISSION_DENIED, ErrorInfo and all): the one managed service may
    be behind the connector. It was `skipped` as no service's connector, and nobody heard of it."""
    world = _connector_world(standin_env, pubsub, project_id, anchor)
    world.standins.run.faults.fail_next(50, grpc.StatusCode.PERMISSION_DENIED, method="GetService")

    outcome = world.handle(world.alert("connector_alert_services_fine"))

    assert outcome.status.value == "escalated", outcome.reason
    assert "could not be read" in outcome.reason and "services/catalog" in outcome.reason, outcome.reason
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())
    assert world.writes() == 0


def _quiet_api_with_uptime_checks(tmp_path):
    """healthy, on a quiet internal API: 30 clean requests a minute, of which 24 are its four uptime checks'
    (six checker locations each, every minute) and 6 its callers', until +9m, and one more request at +7m
    answered 500. request_count counts 1 in 151 refused over the five minutes judged (0.7 %): clean at the
    settings' 1 %, whoever sent that 500."""
    import yaml

    from sandbox.scenarios import bundled_scenario_path, load_scenario

    text = bundled_scenario_path("healthy").read_text().replace("to: +5m", "to: +9m")
    data = yaml.safe_load(text)
    for series in data["timeseries"]:
        if series["metric"] == "run.googleapis.com/request_count" and series["labels"]["response_code"] == "500":
            series["points"].append({"from": "+6m", "to": "+7m", "every": "60s", "value": 1})
    path = tmp_path / "quiet_api_with_uptime_checks.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_scenario(path)


@pytest.mark.parametrize("kept,whose_500,status", [
    ("whole", "caller", "escalated"),      # 1 of the callers' 31 requests failed (3.2 %): not healthy
    ("none", "caller", "escalated"),       # no line kept: who sent the 150 clean requests is not known
    ("whole", "uptime", "skipped"),        # the 500 was an uptime check's own, and its line shows it
])
def test_a_failing_caller_beside_clean_uptime_checks_is_not_healthy(world, tmp_path, kept, whose_500, status):
    """request_count does not say who sent a request: four uptime checks' clean answers beside a quiet API's
    callers, one of whose 31 requests still failed, read as 0.7 % 5xx and the alert was skipped as healthy.
    The alert path reads the request log beside the metrics and judges the callers' own share; where the
    log does not show it, the alert reaches a person with that evidence, and nothing is written."""
    from sandbox.scenarios import seed
    from tests.integration.test_remediation import request_lines

    seed(world.standins, _quiet_api_with_uptime_checks(tmp_path), world.anchor)
    if kept == "whole":
        request_lines(world, "backend-00001-abc", "-10m", "+9m", 6)
        request_lines(world, "backend-00001-abc", "-10m", "+9m", 24, agent="uptime")
        request_lines(world, "backend-00001-abc", "+6m", "+7m", 1, status=500,
                      agent="uptime" if whose_500 == "uptime" else None)
    world.at(12)   # 3 minutes after the newest points (+9): the five minutes judged, (+4, +9], are whole
    notification = resolve_scenario("healthy").notification(world.anchor)
    # A ratio condition (its denominatorFilter), both sides summed by service: the share of 5xx is the bar, at
    # the settings' 1 %.
    summed = [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE", "crossSeriesReducer": "REDUCE_SUM",
               "groupByFields": ["resource.label.project_id", "resource.label.location", "resource.label.service_name"]}]
    notification["incident"]["condition"]["conditionThreshold"].update(
        denominatorFilter='metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"',
        aggregations=summed, denominatorAggregations=summed)

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == status, outcome.reason
    assert world.writes() == 0
    assert outcome.diagnosis.api_calls == world.reads()   # the request log's read counted in the budget
    assert world.standins.logging.count("ListLogEntries") == 3   # the service's logs, its audit, its request log
    if status == "escalated":
        assert outcome.diagnosis.signature == "inconclusive", outcome.reason
        said = ("its callers' own requests still fail" if kept == "whole"
                else "its callers' own share of failures is not shown under the bar")
        assert said in outcome.reason or any(said in e.threshold for e in outcome.diagnosis.evidence), outcome.reason


_ALL_REQUESTS = 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"'


@pytest.mark.parametrize("form, field", [
    ({"evaluationMissingData": "EVALUATION_MISSING_DATA_ACTIVE"}, "EVALUATION_MISSING_DATA_ACTIVE"),
    ({"aggregations": [{"alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_COUNT"}]}, "ALIGN_COUNT"),
    ({"denominatorFilter": _ALL_REQUESTS, "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE",
      "crossSeriesReducer": "REDUCE_MEAN", "groupByFields": ["resource.label.service_name"]}]}, "REDUCE_MEAN"),
    ({"denominatorFilter": _ALL_REQUESTS, "trigger": {"percent": 50}}, "trigger.percent"),
])
def test_a_condition_whose_value_clean_requests_do_not_bound_reaches_a_person(world, form, field):
    """The healthy scenario's service serves cleanly; the same 5xx policy met on missing data, counting points,
    dividing means or firing on half its series is not cleared by that: escalated, naming the field, no write."""
    world.seed("healthy")
    notification = resolve_scenario("healthy").notification(world.anchor)
    notification["incident"]["condition"]["conditionThreshold"].update(form)

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "escalated" and field in outcome.reason, outcome.reason
    assert outcome.diagnosis.signature == "inconclusive"
    assert world.writes() == 0


@pytest.mark.parametrize("scenario, label", [("bad_revision", "off"), ("bad_revision", "observe"),
                                             ("connector_alert_shared", "disabled")])
def test_a_policy_labelled_runwarden_off_is_diagnosed_and_reaches_a_person_with_nothing_written(
        standin_env, firestore, pubsub, project_id, anchor, capsys, scenario, label):
    """The policy's owner said, in its user labels, that Runwarden is not to act on its alerts
    (policy_user_labels `runwarden`, anything but `enabled`). They were parsed and never read: the
    rollback or the connector's scale was made all the same."""
    world = World.for_scenario(resolve_scenario(scenario), standin_env, pubsub, project_id, anchor)
    world.seed(scenario)
    notification = resolve_scenario(scenario).notification(world.anchor)
    notification["incident"]["policy_user_labels"] = {"team": "payments", "runwarden": label}

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "escalated", outcome.reason
    assert f"carries the user label 'runwarden': {label!r} (policy_user_labels)" in outcome.reason, outcome.reason
    assert outcome.diagnosis is not None and outcome.diagnosis.signature != "healthy"
    assert outcome.action is not None and outcome.action.name in ("rollback_traffic", "scale_connector")
    assert world.writes() == 0
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())


@pytest.mark.parametrize("scenario, form, said", [
    ("bad_revision", {"forecastOptions": {"forecastHorizon": "3600s"}}, "fired on a forecast"),
    ("connector_alert_shared", {"forecastOptions": {"forecastHorizon": "86400s"}}, "fired on a forecast"),
    ("bad_revision", None, "carries no condition kind"),
])
def test_an_alert_that_states_no_present_failure_is_diagnosed_and_reaches_a_person_with_nothing_written(
        standin_env, firestore, pubsub, project_id, anchor, capsys, scenario, form, said):
    """A forecast condition (MetricThreshold.forecast_options: a crossing predicted within its horizon), or a
    notification whose `condition` was abbreviated to its name (a forecast then reads as a crossing), on a
    service whose new revision fails now or a connector saturated now: the rollback or the connector's scale was
    made as for a present failure, the forecast's start read as the failure's. Diagnosed, and escalated with the
    change it would have made."""
    world = World.for_scenario(resolve_scenario(scenario), standin_env, pubsub, project_id, anchor)
    world.seed(scenario)
    notification = resolve_scenario(scenario).notification(world.anchor)
    condition = notification["incident"]["condition"]
    if form is None:
        notification["incident"]["condition"] = {"name": condition["name"], "displayName": condition["displayName"]}
    else:
        condition["conditionThreshold"].update(form)

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "escalated", outcome.reason
    assert said in outcome.reason and "nothing was written" in outcome.reason, outcome.reason
    assert outcome.diagnosis is not None and outcome.diagnosis.signature != "healthy"
    assert outcome.action is not None and outcome.action.name in ("rollback_traffic", "scale_connector")
    assert world.writes() == 0
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())


@pytest.mark.parametrize("scenario, said", [
    ("bad_revision_instance_count_floor_alert", "the service's instance count"),
    ("connector_alert_cpu_floor", "the connector's CPU utilization"),
])
def test_a_floor_on_a_resources_activity_is_diagnosed_and_reaches_a_person_with_nothing_written(
        standin_env, firestore, pubsub, project_id, anchor, capsys, scenario, said):
    """A threshold compared downward on a metric of how much work a resource does ("backend has no instances",
    instance_count below 1; a connector's CPU below 20 %: present_failure._ACTIVITY) fires when the callers stop or
    the service scales to zero: it states no failure. The failing revision was rolled back, the busy connector's
    scale proposed. Diagnosed, and escalated with the change it would have made."""
    world = World.for_scenario(resolve_scenario(scenario), standin_env, pubsub, project_id, anchor)
    world.seed(scenario)

    outcome = world.handle(world.alert(scenario))

    assert outcome.status.value == "escalated", outcome.reason
    assert said in outcome.reason and "drops below a floor" in outcome.reason, outcome.reason
    assert "nothing was written" in outcome.reason, outcome.reason
    assert outcome.action is not None and outcome.action.name in ("rollback_traffic", "scale_connector")
    assert outcome.action.proposal_id is None
    assert world.writes() == 0
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())


@pytest.mark.parametrize("scenario", ["bad_revision", "connector_saturation"])
@pytest.mark.parametrize("selector", ["select_slo_budget_fraction", "select_slo_compliance"])
def test_an_alert_on_an_slos_standing_over_its_compliance_period_is_diagnosed_and_reaches_a_person(
        standin_env, firestore, pubsub, project_id, anchor, capsys, scenario, selector):
    """An SLO condition on the error budget left or the compliance reached (a time-series selector of its
    compliance period: Cloud Monitoring, "Retrieving SLO data"), on a service whose new revision fails now or whose
    connector is saturated now: the notification says the period's budget ran low, not that the service fails now,
    and its start is when that standing crossed the bar. It was rolled back, or its connector scaled, as for a
    present failure. Diagnosed, and escalated with the change it would have made."""
    world = World.for_scenario(resolve_scenario(scenario), standin_env, pubsub, project_id, anchor)
    world.seed(scenario)
    notification = resolve_scenario(scenario).notification(world.anchor)
    incident = notification["incident"]
    incident["condition"]["conditionThreshold"] = {
        "filter": f'{selector}("projects/{project_id}/services/backend-svc/serviceLevelObjectives/availability")',
        "comparison": "COMPARISON_LT", "thresholdValue": 0.1, "duration": "0s", "trigger": {"count": 1}}
    incident.update(metric={"type": "", "labels": {}}, threshold_value="0.1", observed_value="0.04")

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "escalated", outcome.reason
    assert selector in outcome.reason and "nothing was written" in outcome.reason, outcome.reason
    assert outcome.diagnosis is not None and outcome.diagnosis.signature != "healthy"
    assert outcome.action is not None and outcome.action.name in ("rollback_traffic", "scale_connector")
    assert world.writes() == 0
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())


def _burn_rate(notification: dict, project_id: str, lookback: str) -> None:
    """The notification's condition made an SLO burn-rate condition over `lookback` (a time-series selector, the only
    field used in an SLO condition: Cloud Monitoring, "Creating an alerting policy", "Retrieving SLO data")."""
    incident = notification["incident"]
    incident["condition"]["conditionThreshold"] = {
        "filter": f'select_slo_burn_rate("projects/{project_id}/services/backend-svc/serviceLevelObjectives/'
                  f'availability", "{lookback}")',
        "comparison": "COMPARISON_GT", "thresholdValue": 3, "duration": "0s", "trigger": {"count": 1}}
    incident.update(metric={"type": "", "labels": {}}, threshold_value="3", observed_value="4.2")


@pytest.mark.parametrize("scenario", ["bad_revision", "connector_saturation"])
@pytest.mark.parametrize("lookback", ["86400s", "6h"])
def test_a_slow_burn_alert_is_diagnosed_and_reaches_a_person(
        standin_env, firestore, pubsub, project_id, anchor, capsys, scenario, lookback):
    """An SLO's burn rate over hours (a slow burn), on a service whose new revision fails now or whose connector is
    saturated now: the budget spent over those hours stays over its bar for hours after the failures stopped and
    crosses it hours after they began, so the notification does not say the service fails now, and its start is
    not the failure's. It was rolled back, or its connector scaled, as a failure starting then. Diagnosed, and
    escalated with the change it would have made."""
    world = World.for_scenario(resolve_scenario(scenario), standin_env, pubsub, project_id, anchor)
    world.seed(scenario)
    notification = resolve_scenario(scenario).notification(world.anchor)
    _burn_rate(notification, project_id, lookback)

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "escalated", outcome.reason
    assert "a slow burn" in outcome.reason and "nothing was written" in outcome.reason, outcome.reason
    assert outcome.action is not None and outcome.action.name in ("rollback_traffic", "scale_connector")
    assert world.writes() == 0
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())


# MQL conditions on the revision's 5xx whose window is longer than an hour: an aligner's argument, a sliding group_by
# (Cloud Monitoring, "Best practices for MQL alerting policies": `group_by sliding(1h)`), a time shift of a day.
_MQL_5XX = ("fetch cloud_run_revision::run.googleapis.com/request_count"
            " | filter resource.service_name == 'backend' && metric.response_code_class == '5xx'")


@pytest.mark.parametrize("steps, said", [
    ("align delta(1d) | every 30s | group_by [resource.project_id, resource.location, resource.service_name,"
     " resource.revision_name], sum(val()) | condition val() > 100", "a window of 24 h (1d, MQL)"),
    ("group_by sliding(6h), [v: sum(val())] | every 30s | condition v > 100", "a window of 6 h (6h, MQL)"),
])
def test_an_mql_condition_over_hours_is_diagnosed_and_reaches_a_person(world, capsys, steps, said):
    """The slow burn's form as an MQL condition (conditionMonitoringQueryLanguage, its query ending in `condition`:
    Cloud Monitoring, "Alerting policies with MQL"), on a revision that fails now: a 5xx count over a day or 6 hours.
    It was rolled back as a failure starting then, MQL's windows unread; now diagnosed, and escalated with the
    rollback it would have made."""
    world.seed("bad_revision")
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    condition = notification["incident"]["condition"]
    condition.pop("conditionThreshold")
    condition["conditionMonitoringQueryLanguage"] = {"query": f"{_MQL_5XX} | {steps}", "duration": "0s"}

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "escalated", outcome.reason
    assert said in outcome.reason and "nothing was written" in outcome.reason, outcome.reason
    assert outcome.action is not None and outcome.action.name == "rollback_traffic"
    assert world.writes() == 0
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())


def test_a_5xx_count_over_a_day_is_diagnosed_and_reaches_a_person(world, capsys):
    """The slow burn's form as a metric threshold: 5xx summed over an alignment period of a day (a look-back: Cloud
    Monitoring, "Behavior of metric-based alerting policies"), on a revision that fails now. It was rolled back as a
    failure starting then; now diagnosed, and escalated with the rollback it would have made."""
    world.seed("bad_revision")
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    for step in notification["incident"]["condition"]["conditionThreshold"]["aggregations"]:
        step["alignmentPeriod"] = "86400s"

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "escalated", outcome.reason
    assert "alignment period of 24 h" in outcome.reason and "nothing was written" in outcome.reason, outcome.reason
    assert outcome.action is not None and outcome.action.name == "rollback_traffic"
    assert world.writes() == 0
    assert any('"notify"' in line for line in capsys.readouterr().out.splitlines())


def test_a_fast_burn_alert_on_a_failing_revision_is_rolled_back(world, project_id):
    """An SLO's burn rate over an hour (a fast burn) is the service now: acted on as before."""
    world.seed("bad_revision")
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    _burn_rate(notification, project_id, "3600s")

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "applied", outcome.reason
    assert world.writes() == 1


def test_a_policy_labelled_runwarden_enabled_acts_as_an_unlabelled_one(world):
    world.seed("bad_revision")
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    notification["incident"]["policy_user_labels"] = {"runwarden": "enabled", "severity": "low"}

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value == "applied", outcome.reason
    assert world.writes() == 1
