"""More notifications of kinds no other test sends, pushed end to end through the alert pipeline on the stand-ins
and the emulators, on a service whose new revision fails now (`bad_revision`: 60 % 500 since a deploy 10 minutes
ago). Each says where its shape comes from: a documented form, a sample, or (UNCONFIRMED) how a relay, a template or
another resource's policy would send it.

Schema facts: Cloud Monitoring, "Notification content" and its schema 1.2 example (tests/fixtures/samples), where
`started_at`/`ended_at` are epoch seconds, `ended_at` null while open, `state` "open"/"closed", `observed_value` and
`threshold_value` strings; the resource types and their labels from the monitored-resource list ("Monitored resource
types": cloud_run_revision, cloud_run_job, cloud_function, gce_instance, vpc_access_connector, uptime_url); the
conditions from AlertPolicy.Condition and AlertPolicy.severity (google/monitoring/v3/alert.proto); the push body
from Pub/Sub "Push subscriptions" (PubsubMessage.data is base64)."""
from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Callable

import pytest

from sandbox.scenarios import resolve_scenario
from tests.integration.test_unseen_notifications import (BY, PROJECT, RATE_5XX, RATE_ALL, SERVICE_LABELS, Change,
                                                         _both, _condition, _drop, _incident, _labels, _mql,
                                                         _never_healthy, _promql, _refused_and_told, _send, _set,
                                                         _threshold, _top, _world)
from tests.integration.world import World, event

RATIO = f"{BY}({RATE_5XX % '5m'}) / {BY}({RATE_ALL % '5m'})"


def _mql_as(query: str, labels: dict[str, str]) -> Change:
    """An MQL condition whose incident's resource carries the labels its group_by kept (UNCONFIRMED: no sample of
    an MQL incident's resource labels; built as the threshold incidents' are, what the grouping kept)."""
    return _both(_mql(query), _set(resource={"type": "cloud_run_revision", "labels": labels}))


MQL_HEAD = ("fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | filter resource.service_name == "
            "'backend' | filter metric.response_code_class == '5xx' | align rate(1m) | every 1m | ")

# A present failure of the named service, the new revision's 5xx showing the signature: rolled back once.
ACTS: dict[str, Change] = {
    # PromQL joins Google documents for Managed Service for Prometheus ("PromQL for Cloud Monitoring users"):
    # the ratio on() / ignoring() its matching labels; label_replace copying the service's name to a label of
    # the query's own keeps service_name itself.
    "promql ratio joined on() the service's labels": _promql(
        f"{BY}({RATE_5XX % '5m'}) / on(project_id, location, service_name) {BY}({RATE_ALL % '5m'}) > 0.05"),
    "promql ratio ignoring(response_code_class)": _promql(
        f"sum by (project_id, location, service_name, response_code_class) ({RATE_5XX % '5m'}) / ignoring"
        f"(response_code_class) {BY}({RATE_ALL % '5m'}) > 0.05"),
    "promql label_replace adding an app label": _promql(
        f'label_replace({RATIO}, "app", "$1", "service_name", "(.+)") > 0.05'),
    # Values as a relay or a locale formats them: an exponent (Go's %g), the threshold dropped.
    "observed_value 1e+06": _set(observed_value="1e+06"),
    "threshold_value missing": _drop("threshold_value"),
    "threshold_value null": _set(threshold_value=None),
    # AlertPolicy.severity's enum names, and the "no severity" of the documented example.
    "severity WARNING": _set(severity="WARNING"),
    "severity no severity": _set(severity="no severity"),
    # documentation.content is up to 8,192 bytes (AlertPolicy.Documentation.content); a template's expansion
    # may run longer (UNCONFIRMED whether Monitoring cuts it). 100 KB of runbook, still under the 256 KiB bound.
    "very long documentation": _set(documentation={"content": "Runbook step. " * 7000, "mime_type": "text/markdown"}),
    "documentation with non-ASCII and emoji": _set(documentation={"content": "Déploiement raté 🚨 — voir «runbook»"}),
    # The gen2 function's Cloud Run service: its metrics are cloud_run_revision's, its resource's user labels
    # the function's (goog-managed-by, "Cloud Run functions" docs: a function is a Cloud Run service).
    "revision with a function's labels": _set(metadata={"system_labels": {}, "user_labels": {
        "goog-managed-by": "cloudfunctions"}}),
    "started_at as a quoted number": lambda n: _incident(n).update(started_at=str(_incident(n)["started_at"])),
    # A policy grouped by revision too: the resource's whole label set ("Monitored resource types":
    # cloud_run_revision has revision_name and configuration_name), naming the failing revision.
    "the revision's whole label set": _labels(revision_name="backend-00002-xyz", configuration_name="backend"),
    # A relay that re-marshals the body with one number type writes the schema version as a number.
    "version as a JSON number": _top(version=1.2),
    # topk keeps the series it picks, and a many-to-one join (group_left) the service's side's labels, adding the
    # owner's (Prometheus, "Operators"): the series named is the failing service's.
    "promql topk over services": _promql(f"topk(1, {RATIO}) > 0.05"),
    "promql group_left join adding the owner's team": _promql(
        f"{RATIO} * on(service_name) group_left(team) max by (service_name, team) (service_owner_info) > 0.05"),
    # A ratio of 0/0 printed as NaN (Go's and Java's float formatting): read as no value, the live evidence judges.
    "observed_value NaN": _set(observed_value="NaN"),
}

# The notification states no present failure of this service, or cannot tell which service: diagnosed or refused,
# nothing written, never healthy.
HELD: dict[str, Change] = {
    "promql absent() of the 5xx series": _promql(f'absent({RATE_5XX % "5m"})'),
    "promql absent_over_time of requests": _promql(f'absent_over_time({RATE_ALL % "5m"}[10m])'),
    "state CLOSED in capitals, no end": _set(state="CLOSED"),
    # The query writes the region into service_name: the series, and so the incident's resource, names no service.
    "promql label_replace overwriting service_name": _promql(
        f'label_replace({RATIO}, "service_name", "$1", "location", "(.+)") > 0.05',
        {"project_id": PROJECT, "location": "us-central1", "service_name": "us-central1"}),
    "mql group_by service_name alone, no location": _mql_as(
        MQL_HEAD + "group_by [resource.service_name], [val: sum(value.request_count)] | condition val() > 0.5 '1/s'",
        {"service_name": "backend"}),
    "mql group_by renaming the service": _mql_as(
        MQL_HEAD + "group_by [svc: resource.service_name], [val: sum(value.request_count)] | condition val() > 0.5",
        {"svc": "backend"}),
    "grouped by service_name alone, another region": _labels(location="europe-west1"),
    "grouped by service_name alone, another project": _labels(project_id="other-project"),
    "cloud_run_job failing tasks": _threshold("run.googleapis.com/job/completed_task_attempt_count", "cloud_run_job",
                                              {"project_id": PROJECT, "location": "us-central1",
                                               "job_name": "backend"}, "COMPARISON_GT", 0, "3",
                                              aligner="ALIGN_DELTA",
                                              metric_filter=' AND metric.labels.result="failed"'),
    "cloud_function (gen2) errors": _threshold("cloudfunctions.googleapis.com/function/execution_count",
                                               "cloud_function", {"project_id": PROJECT, "region": "us-central1",
                                                                  "function_name": "backend"},
                                               "COMPARISON_GT", 5, "12", aligner="ALIGN_RATE",
                                               metric_filter=' AND metric.labels.status!="ok"'),
    "gce_instance on the service's policy": _threshold("compute.googleapis.com/instance/cpu/utilization",
                                                       "gce_instance", {"project_id": PROJECT,
                                                                        "instance_id": "1234567890123",
                                                                        "zone": "us-central1-a"},
                                                       "COMPARISON_GT", 0.9, "0.97"),
    "connector throughput on the service's policy": _both(
        _threshold("vpcaccess.googleapis.com/connector/received_bytes_count", "vpc_access_connector",
                   {"project_id": PROJECT, "location": "us-central1", "connector_name": "backend-conn"},
                   "COMPARISON_GT", 1e8, "3e8", aligner="ALIGN_RATE"),
        _set(policy_user_labels={"service": "backend"})),
    # An uptime check on the service's custom domain behind a load balancer (serverless NEG): the resource is the
    # host, not the service ("Uptime check" monitored resource uptime_url: project_id, host).
    "uptime_url of a custom domain": _both(
        _threshold("monitoring.googleapis.com/uptime_check/check_passed", "uptime_url",
                   {"project_id": PROJECT, "host": "api.example.com"}, "COMPARISON_LT", 1, "0",
                   aligner="ALIGN_NEXT_OLDER"),
        _set(metric={"type": "monitoring.googleapis.com/uptime_check/check_passed", "labels": {
            "check_id": "api-example-com-https"}})),
}

# Bad input: a clear specific error, the message kept on the outcome, nothing written, never redelivered.
REJECTED: dict[str, Change] = {
    "started_at in milliseconds": lambda n: _incident(n).update(started_at=_incident(n)["started_at"] * 1000),
    "started_at an ISO time": _set(started_at="2026-11-26T12:00:00Z"),
    "incident_id missing": _drop("incident_id"),
    "incident an array": lambda n: n.update(incident=[n["incident"]]),
}


# --- more documented forms: query labels, uptime and log-match conditions on the revision, resources it may name ------

BACKEND = f"projects/{PROJECT}/locations/us-central1/services/backend"
CHECKOUT = {"project_id": PROJECT, "location": "us-central1", "service_name": "checkout"}
# An uptime check whose monitored resource is the Cloud Run service ("UptimeCheckConfig.monitored_resource": uptime_url,
# gce_instance, ..., cloud_run_revision, google/monitoring/v3/uptime.proto), alerted on as the console's uptime
# policy is: check_passed, ALIGN_NEXT_OLDER, REDUCE_COUNT_FALSE grouped by its resource, more than 1 location failing.
UPTIME_ON_REVISION = {"filter": 'metric.type="monitoring.googleapis.com/uptime_check/check_passed" AND '
                                'resource.type="cloud_run_revision" AND metric.label."check_id"="backend-uptime"',
                      "aggregations": [{"alignmentPeriod": "1200s", "perSeriesAligner": "ALIGN_NEXT_OLDER",
                                        "crossSeriesReducer": "REDUCE_COUNT_FALSE",
                                        "groupByFields": ["resource.label.*"]}],
                      "comparison": "COMPARISON_GT", "thresholdValue": 1, "duration": "60s", "trigger": {"count": 1}}
# A log-match condition on Cloud Run's request log (LogMatch: a filter and label extractors, alert.proto); the entry's
# resource is the revision, every label set by Cloud Run ("Monitored resource types": cloud_run_revision).
BACKEND_5XX_LOG = 'resource.type="cloud_run_revision" AND resource.labels.service_name="backend" AND httpRequest.status>=500'


def _uptime_on_revision(n: dict) -> None:
    _condition(n, "conditionThreshold", UPTIME_ON_REVISION, "monitoring.googleapis.com/uptime_check/check_passed",
               "3", "1")
    _incident(n)["metric"]["labels"] = {"check_id": "backend-uptime", "checker_location": "us-iowa"}


def _log_match(query: str, labels: dict[str, str]) -> Change:
    def change(n: dict) -> None:
        _condition(n, "conditionMatchedLog", {"filter": query, "labelExtractors": {
            "status": "EXTRACT(httpRequest.status)"}})
        _incident(n)["metric"]["labels"] = {"status": "503"}
        _incident(n)["resource"] = {"type": "cloud_run_revision", "labels": dict(labels)}
    return change


def _promql_labelled(query: str, labels: dict[str, str], resource: dict[str, str] | None = None) -> Change:
    """A PromQL condition with its `labels`, "Labels to add to or overwrite in the PromQL query result"
    (PrometheusQueryLanguageCondition.labels, alert.proto); where they show in the notification is UNCONFIRMED: the
    resource's labels as measured, or as overwritten (`resource`)."""
    def change(n: dict) -> None:
        _promql(query, resource)(n)
        _incident(n)["condition"]["conditionPrometheusQueryLanguage"].update(labels=labels, ruleGroup="backend-rules",
                                                                             alertRule="Backend5xxRatio")
    return change


ACTS.update({
    "promql ratio with labels adding a severity, from a rule group": _promql_labelled(f"{RATIO} > 0.05",
                                                                                     {"severity": "page"}),
    "promql ratio whose labels overwrite service_name, the resource as measured": _promql_labelled(
        f"{RATIO} > 0.05", {"service_name": "checkout"}),
    "uptime check on the cloud_run_revision failing": _uptime_on_revision,
    "log match on backend's 5xx request log": _log_match(BACKEND_5XX_LOG, {
        **SERVICE_LABELS, "revision_name": "backend-00002-xyz", "configuration_name": "backend"}),
    "metrics scope of another project": _set(scoping_project_id="ops-host"),
    "resource_display_name of another service": _set(resource_display_name="checkout"),
})

HELD.update({
    # The alert names the revision that served cleanly: its condition held on that revision's own requests.
    "grouped by revision, naming the clean one": _labels(revision_name="backend-00001-abc"),
    "grouped by revision, naming another service's": _labels(revision_name="checkout-00003-qqq",
                                                            configuration_name="checkout"),
    # Cloud Run worker pools ("Monitored resource types": cloud_run_worker_pool) are not Runwarden's.
    # A relay that wrote the project number where the id is: matches no managed project (rejected as a policy to fix).
    "project_id a project number": _labels(project_id="814739424704"),
    "cloud_run_worker_pool of the same name": _set(resource={"type": "cloud_run_worker_pool", "labels": {
        "project_id": PROJECT, "location": "us-central1", "worker_pool_name": "backend"}}),
})

REJECTED.update({
    # A relay that serialised the condition object as a JSON string.
    "condition a JSON string": lambda n: _incident(n).update(condition=json.dumps(_incident(n)["condition"])),
})

# The resource names a service the config does not manage while the condition selects only backend: Monitoring did
# not measure that resource under it (its labels were rewritten on the way: a PromQL condition's `labels`, a relay), so
# which service it is about is unknown. On main each was `skipped` as another team's alert, and nobody heard of it.
TOLD: dict[str, Change] = {
    "threshold on backend, resource checkout": _labels(service_name="checkout"),
    "threshold on backend in us-central1, resource europe-west1": _both(
        lambda n: _incident(n)["condition"]["conditionThreshold"].update(
            filter=_incident(n)["condition"]["conditionThreshold"]["filter"]
            + ' AND resource.labels.location="us-central1"'),
        _labels(location="europe-west1")),
    "promql ratio on backend whose labels overwrite service_name, resource as overwritten": _promql_labelled(
        f"{RATIO} > 0.05", {"service_name": "checkout"}, CHECKOUT),
    "mql on backend, resource checkout": _both(_mql(MQL_HEAD + "condition val() > 0.5 '1/s'"),
                                               _labels(service_name="checkout")),
    "log match on backend's request log, resource checkout": _log_match(BACKEND_5XX_LOG, CHECKOUT),
}


EVERY_SERVICE = f"{RATIO} > 0.05".replace(',service_name="backend"', "")

# A PromQL condition over every service whose `labels` write the service's name: the resource carries the value the
# policy wrote, and whether Monitoring names the measured series or the overwritten one is UNCONFIRMED. On main:
# backend rolled back (the first), checkout `skipped` (the second).
OVERWRITTEN: dict[str, Change] = {
    "promql over every service, labels writing service_name backend": _promql_labelled(
        EVERY_SERVICE, {"service_name": "backend"}),
    "promql over every service, labels writing service_name checkout": _promql_labelled(
        EVERY_SERVICE, {"service_name": "checkout"}, CHECKOUT),
}


@pytest.mark.parametrize("case", OVERWRITTEN)
def test_a_resource_name_a_query_label_may_have_written_is_never_acted_on(standin_env, firestore, pubsub, project_id,
                                                                         anchor, case):
    world = _world(standin_env, pubsub, project_id, anchor)

    outcome = _send(world, OVERWRITTEN[case])

    _refused_and_told(world, outcome)
    assert outcome.status.value == "escalated", outcome.reason
    assert "its PromQL condition's `labels` set service_name to" in outcome.reason, outcome.reason


@pytest.mark.parametrize("case", TOLD)
def test_a_resource_its_own_condition_rules_out_is_told_not_skipped(standin_env, firestore, pubsub, project_id,
                                                                    anchor, case):
    world = _world(standin_env, pubsub, project_id, anchor)

    outcome = _send(world, TOLD[case])

    _refused_and_told(world, outcome)
    assert outcome.status.value == "escalated", outcome.reason
    assert "the notification contradicts itself" in outcome.reason, outcome.reason
    assert f"its condition selects the managed service {BACKEND}" in outcome.reason, outcome.reason


@pytest.mark.parametrize("case", ACTS)
def test_a_present_failure_in_an_unseen_form_is_rolled_back_once(standin_env, firestore, pubsub, project_id,
                                                                 anchor, case):
    world = _world(standin_env, pubsub, project_id, anchor)

    outcome = _send(world, ACTS[case])
    again = _send(world, ACTS[case], message_id="2")

    assert outcome.status.value == "applied", outcome.reason
    assert again.status.value != "applied", again.reason
    assert world.writes() == 1


@pytest.mark.parametrize("case", HELD)
def test_an_alert_that_cannot_name_this_failing_service_writes_nothing(standin_env, firestore, pubsub, project_id,
                                                                       anchor, case):
    world = _world(standin_env, pubsub, project_id, anchor)

    _refused_and_told(world, _send(world, HELD[case]))


@pytest.mark.parametrize("case", REJECTED)
def test_a_malformed_notification_is_rejected_naming_its_field_and_kept(standin_env, firestore, pubsub, project_id,
                                                                        anchor, case):
    world = _world(standin_env, pubsub, project_id, anchor)

    outcome = _send(world, REJECTED[case])

    assert outcome.status.value == "rejected", outcome.reason
    assert "incident" in outcome.reason, outcome.reason
    assert world.writes() == 0
    published = world.published()[0]
    assert published["status"] == "rejected" and published["received"]["data"], published


# --- a relay between Monitoring and the alerts topic --------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _notification_bytes(world: World) -> bytes:
    return json.dumps(resolve_scenario("bad_revision").notification(world.anchor)).encode()


# How a forwarding Cloud Function republishes what it was pushed (UNCONFIRMED: no documented relay; these are the
# forms a function that re-sends its trigger's body, or its `data`, takes).
WRAPPED: dict[str, Callable[[bytes], bytes]] = {
    "the notification's base64 under data": lambda body: json.dumps({"data": _b64(body)}).encode(),
    "the push body republished": lambda body: json.dumps({"message": {"data": _b64(body), "messageId": "9"},
                                                          "subscription": "projects/p/subscriptions/s"}).encode(),
    "data wrapped twice": lambda body: json.dumps({"data": {"data": _b64(body)}}).encode(),
    "the notification as a JSON string": lambda body: json.dumps(body.decode()).encode(),
    "the notification base64 again": lambda body: _b64(body).encode(),
}


@pytest.mark.parametrize("case", WRAPPED)
def test_a_relayed_notification_is_read_through_its_wrapping_and_acted_on_once(standin_env, firestore, pubsub,
                                                                              project_id, anchor, case):
    world = _world(standin_env, pubsub, project_id, anchor)
    relayed = WRAPPED[case](_notification_bytes(world))

    outcome = world.handle(event(relayed))
    direct = world.handle(event(_notification_bytes(world), "2"))   # Monitoring's own channel, the same incident

    assert outcome.status.value == "applied", outcome.reason
    assert direct.status.value != "applied", direct.reason
    assert world.writes() == 1
    by_message = {published["message_id"]: published for published in world.published(2)}
    relayed, sent_directly = by_message["1"], by_message["2"]
    assert [wrapping["form"] for wrapping in relayed["relayed"]] == RELAY_PATH[case], relayed["relayed"]
    assert sent_directly["relayed"] == []


# The path each relay's wrapping shows on the outcome, outermost first.
RELAY_PATH: dict[str, list[str]] = {
    "the notification's base64 under data": ["message"],
    "the push body republished": ["push_body"],
    "data wrapped twice": ["message", "message"],
    "the notification as a JSON string": ["json_string"],
    "the notification base64 again": ["base64"],
}


def test_a_relayed_outcome_names_the_relay_it_came_through(standin_env, firestore, pubsub, project_id, anchor):
    """An SRE reading the outcome of a relayed alert sees the path it took: the relay's subscription, the message id
    it republished and its attributes, as the `received` step of the timeline does."""
    world = _world(standin_env, pubsub, project_id, anchor)
    body = json.dumps({"message": {"data": _b64(_notification_bytes(world)), "messageId": "9",
                                   "attributes": {"router": "sre-alerts"}},
                       "subscription": "projects/ops/subscriptions/monitoring-relay"}).encode()

    outcome = world.handle(event(body))

    assert outcome.status.value == "applied", outcome.reason
    [path] = world.published()[0]["relayed"]
    assert (path["form"], path["subscription"], path["message_id"], path["attributes"]) == (
        "push_body", "projects/ops/subscriptions/monitoring-relay", "9", {"router": "sre-alerts"}), path


def test_a_relayed_notification_rejected_for_its_own_fault_names_its_relay(standin_env, firestore, pubsub,
                                                                           project_id, anchor):
    world = _world(standin_env, pubsub, project_id, anchor)
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    notification["incident"]["started_at"] = "yesterday"

    outcome = world.handle(event(WRAPPED["the push body republished"](json.dumps(notification).encode())))

    assert outcome.status.value == "rejected", outcome.reason
    published = world.published()[0]
    assert [wrapping["form"] for wrapping in published["relayed"]] == ["push_body"], published
    assert published["received"]["data"] and world.writes() == 0


def test_a_wrapping_holding_no_notification_is_rejected_and_kept(standin_env, firestore, pubsub, project_id, anchor):
    """A relay's wrapping of something else (its own alert format) is still refused for what it lacks."""
    world = _world(standin_env, pubsub, project_id, anchor)
    body = json.dumps({"data": _b64(json.dumps({"alert": "backend 5xx", "status": "firing"}).encode())}).encode()

    outcome = world.handle(event(body))

    assert outcome.status.value == "rejected" and "incident: is required" in outcome.reason, outcome.reason
    assert world.writes() == 0
    assert world.published()[0]["received"]["data"]


@pytest.mark.parametrize("relayed", [False, True], ids=["as published", "inside a relay's wrapping"])
def test_non_utf8_bytes_in_a_notification_are_rejected_and_kept(standin_env, firestore, pubsub, project_id,
                                                                anchor, relayed):
    """A relay that re-encoded the body as Latin-1 (é as the byte 0xE9): JSON text is UTF-8 (RFC 8259 8.1)."""
    world = _world(standin_env, pubsub, project_id, anchor)
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    notification["incident"]["documentation"]["content"] = "Déploiement"
    body = json.dumps(notification, ensure_ascii=False).encode("latin-1")

    outcome = world.handle(event(WRAPPED["the notification's base64 under data"](body) if relayed else body))

    assert outcome.status.value == "rejected", outcome.reason
    assert "UTF-8" in outcome.reason, outcome.reason
    assert world.writes() == 0
    assert world.published()[0]["received"]["data"]


# --- the incident's times and its close ---------------------------------------------------------------------------

def _closed(world: World, ended_minutes: float) -> Change:
    end = int((world.anchor + timedelta(minutes=ended_minutes)).timestamp())
    return _set(state="closed", ended_at=end)


def test_a_close_before_its_open_leaves_the_late_open_unacted(standin_env, firestore, pubsub, project_id, anchor):
    """Pub/Sub does not order messages unless asked ("Ordering messages"): the close may come first."""
    world = _world(standin_env, pubsub, project_id, anchor)

    closed = _send(world, _closed(world, 1), message_id="c")
    opened = _send(world, lambda n: None, message_id="o")

    assert closed.status.value != "applied", closed.reason
    assert opened.status.value != "applied", opened.reason
    _never_healthy(opened)
    assert world.writes() == 0


def test_a_close_sent_twice_and_days_later_writes_nothing(standin_env, firestore, pubsub, project_id, anchor):
    world = _world(standin_env, pubsub, project_id, anchor)

    first = _send(world, _closed(world, 1), message_id="c1")
    second = _send(world, _closed(world, 1), message_id="c2")
    world.at(3 * 24 * 60)
    late = _send(world, _closed(world, 3 * 24 * 60 - 5), message_id="c3")

    for outcome in (first, second, late):
        assert outcome.status.value != "applied", outcome.reason
        _never_healthy(outcome)
    assert world.writes() == 0


@pytest.mark.parametrize("start", [60, 0], ids=["an hour ahead", "zero"])
def test_a_start_in_the_future_or_zero_is_not_acted_on_as_now(standin_env, firestore, pubsub, project_id, anchor,
                                                              start):
    world = _world(standin_env, pubsub, project_id, anchor)
    at = int((anchor + timedelta(minutes=start)).timestamp()) if start else 0

    outcome = _send(world, _set(started_at=at))

    if start:
        assert outcome.status.value == "rejected" and "started_at" in outcome.reason, outcome.reason
        assert world.writes() == 0
    else:   # the console's test placeholder, or a relay's unset start: the present failure is still judged live
        _never_healthy(outcome)
        assert world.writes() <= 1


def test_an_open_incident_whose_end_is_in_the_future_is_rejected(standin_env, firestore, pubsub, project_id, anchor):
    world = _world(standin_env, pubsub, project_id, anchor)

    outcome = _send(world, _set(ended_at=int((anchor + timedelta(hours=2)).timestamp())))

    assert outcome.status.value == "rejected" and "ended_at" in outcome.reason, outcome.reason
    assert world.writes() == 0
