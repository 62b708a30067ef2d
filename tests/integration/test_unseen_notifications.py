"""Notifications of kinds no other test sends, pushed end to end through the alert pipeline on the stand-ins and the
emulators, on a service whose new revision fails now (`bad_revision`: 60 % 500 since a deploy 10 minutes ago).

Each ends as an SRE expects from the live evidence: acted on when the notification states a present failure of the
resource it names and the evidence shows the signature (`ACTS`); otherwise diagnosed or refused and told to a person
with nothing written (`HELD`, `REFUSED`), never `healthy`, never raised, never redelivered. Where a notification's
shape is not documented, the case says so: UNCONFIRMED forms are built as a relay or a template would send them.

Schema facts: Cloud Monitoring, "Notification content" and its schema 1.2 example (tests/fixtures/samples); the
conditions' forms from AlertPolicy.Condition (google/monitoring/v3/alert.proto): conditionThreshold, conditionAbsent,
conditionMatchedLog, conditionMonitoringQueryLanguage, conditionPrometheusQueryLanguage."""
from __future__ import annotations

import copy
import json
from typing import Any, Callable

import pytest

from sandbox.scenarios import resolve_scenario
from tests.integration.world import World, event

PROJECT = "demo-project"
SERVICE_LABELS = {"project_id": PROJECT, "location": "us-central1", "service_name": "backend"}
CONNECTOR_LABELS = {"project_id": PROJECT, "location": "us-central1", "connector_name": "backend-conn"}
SQL_LABELS = {"project_id": PROJECT, "database_id": f"{PROJECT}:main-db", "region": "us-central1"}

Change = Callable[[dict[str, Any]], None]


def _incident(n: dict[str, Any]) -> dict[str, Any]:
    return n["incident"]


def _condition(n: dict[str, Any], kind: str, body: dict[str, Any], metric: str = "", observed: str | None = None,
               threshold: str | None = None) -> None:
    """The notification's condition made one of `kind` (its oneof member), its metric and values as given."""
    incident = _incident(n)
    condition = incident["condition"]
    incident["condition"] = {"name": condition["name"], "displayName": condition["displayName"], kind: body}
    incident.update(metric={"type": metric, "displayName": "", "labels": {}}, observed_value=observed,
                    threshold_value=threshold)


def _threshold(metric: str, resource: str, labels: dict[str, str], comparison: str, bar: float, observed: str,
               aligner: str = "ALIGN_MEAN", metric_filter: str = "") -> Change:
    def change(n: dict[str, Any]) -> None:
        selected = "".join(f' AND resource.labels.{k}="{v}"' for k, v in labels.items() if k != "project_id")
        selected += metric_filter
        _condition(n, "conditionThreshold", {
            "filter": f'metric.type="{metric}" AND resource.type="{resource}"{selected}',
            "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": aligner}],
            "comparison": comparison, "thresholdValue": bar, "duration": "0s", "trigger": {"count": 1}},
            metric, observed, str(bar))
        _incident(n)["resource"] = {"type": resource, "labels": dict(labels)}
    return change


def _promql(query: str, labels: dict[str, str] | None = None) -> Change:
    def change(n: dict[str, Any]) -> None:
        _condition(n, "conditionPrometheusQueryLanguage", {"query": query, "duration": "60s",
                                                           "evaluationInterval": "30s"},
                   "run_googleapis_com:request_count", "0.6", "0.05")
        if labels is not None:
            _incident(n)["resource"] = {"type": "cloud_run_revision", "labels": labels}
    return change


def _mql(query: str) -> Change:
    return lambda n: _condition(n, "conditionMonitoringQueryLanguage", {"query": query, "duration": "60s"},
                                "run.googleapis.com/request_count", "0.6", "0.05")


def _slo(selector: str) -> Change:
    def change(n: dict[str, Any]) -> None:
        _condition(n, "conditionThreshold", {"filter": selector, "comparison": "COMPARISON_GT", "thresholdValue": 10,
                                             "duration": "0s", "trigger": {"count": 1}}, "", "14.2", "10")
    return change


def _set(**fields: Any) -> Change:
    return lambda n: _incident(n).update(copy.deepcopy(fields))


def _top(**fields: Any) -> Change:
    return lambda n: n.update(copy.deepcopy(fields))


def _drop(*fields: str) -> Change:
    def change(n: dict[str, Any]) -> None:
        for field in fields:
            _incident(n).pop(field, None)
    return change


def _labels(**labels: str | None) -> Change:
    def change(n: dict[str, Any]) -> None:
        resource = _incident(n)["resource"]["labels"]
        for key, value in labels.items():
            if value is None:
                resource.pop(key, None)
            else:
                resource[key] = value
    return change


def _both(*changes: Change) -> Change:
    def change(n: dict[str, Any]) -> None:
        for one in changes:
            one(n)
    return change


RATE_5XX = ('rate(run_googleapis_com:request_count{monitored_resource="cloud_run_revision",service_name="backend",'
            'response_code_class="5xx"}[%s])')
RATE_ALL = 'rate(run_googleapis_com:request_count{monitored_resource="cloud_run_revision",service_name="backend"}[%s])'
BY = "sum by (project_id, location, service_name) "
MQL_5XX = ("fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | filter resource.service_name == "
           "'backend' | filter metric.response_code_class == '5xx' | align rate(1m) | every 1m | group_by "
           "[resource.project_id, resource.location, resource.service_name], [val: sum(value.request_count)] | "
           "condition val() > 0.5 '1/s'")
SLO = f"projects/{PROJECT}/services/backend-svc/serviceLevelObjectives/availability"

# The notification states a present failure of the service it names; the new revision's 5xx show the signature.
ACTS: dict[str, Change] = {
    "promql 5xx share by service, 5m": _promql(f"{BY}({RATE_5XX % '5m'}) / {BY}({RATE_ALL % '5m'}) > 0.05"),
    "promql 5xx rate by service, 1m": _promql(f"{BY}({RATE_5XX % '1m'}) > 0.5"),
    "mql 5xx rate grouped by the service": _mql(MQL_5XX),
    "log-based metric on the revision": _threshold("logging.googleapis.com/user/backend_5xx_lines",
                                                   "cloud_run_revision", SERVICE_LABELS, "COMPARISON_GT", 10, "27",
                                                   aligner="ALIGN_DELTA"),
    "slo fast burn, lookback 1h": _slo(f'select_slo_burn_rate("{SLO}", "1h")'),
    "slo fast burn, lookback 60m": _slo(f'select_slo_burn_rate("{SLO}", "60m")'),
    # A channel or relay that re-sends the notification with fields of its own: never read, never refused.
    "extra fields a relay adds": _both(_top(channel={"type": "pubsub", "resent": True}, delivery_attempt=3),
                                       _set(apigee_url="", threshold_value_type="DOUBLE", acknowledged=False,
                                            labels={"relay": "alertmanager-bridge"})),
    "documentation only content": _set(documentation={"content": "Runbook: go/backend-5xx"}),
    "documentation null": _set(documentation=None),
    "severity in capitals": _set(severity="CRITICAL"),
    "state in capitals": _set(state="OPEN"),
    "resource metadata naming the same service": _set(metadata={"system_labels": {"service_name": "backend"},
                                                                "user_labels": {"service": "backend"}}),
    "policy labels naming the same service": _set(policy_user_labels={"service": "backend", "team": "payments"}),
    "condition name absent, displayName kept": _set(condition_name=""),
}

# Diagnosed, escalated with nothing written: the notification states no present failure of this resource, or its
# parts disagree on what it is about.
HELD: dict[str, Change] = {
    "policy labelled for another service": _set(policy_user_labels={"service": "checkout"}),
    "resource labelled for another service": _set(metadata={"system_labels": {}, "user_labels": {"service": "checkout"}}),
    "absence of request_count": lambda n: _condition(n, "conditionAbsent", {
        "filter": 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"',
        "duration": "300s", "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE"}]},
        "run.googleapis.com/request_count"),
    "absence of a log-based metric": lambda n: _condition(n, "conditionAbsent", {
        "filter": 'metric.type="logging.googleapis.com/user/orders_placed" AND resource.type="cloud_run_revision"',
        "duration": "600s"}, "logging.googleapis.com/user/orders_placed"),
    "promql absent()": _promql(f'absent({RATE_ALL % "5m"})'),
    "mql absent_for": _mql("fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | filter "
                           "resource.service_name == 'backend' | absent_for 300s"),
    "promql 5xx over 2h": _promql(f"{BY}(increase(run_googleapis_com:request_count{{service_name=\"backend\","
                                  f"response_code_class=\"5xx\"}}[2h])) > 100"),
    "slo slow burn, 24h": _slo(f'select_slo_burn_rate("{SLO}", "24h")'),
    "instance count floor": _threshold("run.googleapis.com/container/instance_count", "cloud_run_revision",
                                       SERVICE_LABELS, "COMPARISON_LT", 1, "0"),
    "and policy listing two conditions": _set(conditions=[
        {"name": "projects/demo-project/alertPolicies/1/conditions/1", "displayName": "5xx ratio above 5%"},
        {"name": "projects/demo-project/alertPolicies/1/conditions/2", "displayName": "database CPU above 90%"}]),
    "incident naming another condition": _set(condition_name="p99 latency above 2s"),
    "missing-data condition active": lambda n: _incident(n)["condition"]["conditionThreshold"].update(
        evaluationMissingData="EVALUATION_MISSING_DATA_ACTIVE"),
}

# Another resource than the failing service, or no resource named: nothing written, a person told why.
REFUSED: dict[str, Change] = {
    "resource labels missing": _set(resource={"type": "cloud_run_revision"}),
    "resource labels empty": _set(resource={"type": "cloud_run_revision", "labels": {}}),
    "service_name missing": _labels(service_name=None),
    "location missing (promql sum by service_name)": _both(
        _promql(f"sum by (service_name) ({RATE_5XX % '5m'}) > 0.5"), _labels(location=None, project_id=None)),
    "no resource at all": _drop("resource"),
    "slo burn with no resource": _both(_slo(f'select_slo_burn_rate("{SLO}", "1h")'), _drop("resource")),
    "connector cpu high, connector calm": _threshold("vpcaccess.googleapis.com/connector/cpu/utilizations",
                                                     "vpc_access_connector", CONNECTOR_LABELS, "COMPARISON_GT", 0.9,
                                                     "0.93", aligner="ALIGN_PERCENTILE_99"),
    "connector sent bytes high": _threshold("vpcaccess.googleapis.com/connector/sent_bytes_count",
                                            "vpc_access_connector", CONNECTOR_LABELS, "COMPARISON_GT", 1e8, "1.2e8",
                                            aligner="ALIGN_RATE"),
    "cloud sql connections high": _threshold("cloudsql.googleapis.com/database/network/connections",
                                             "cloudsql_database", SQL_LABELS, "COMPARISON_GT", 90, "97"),
    "schema version 1.1": _top(version="1.1"),
    "schema version missing": lambda n: n.pop("version"),
    "state acknowledged": _set(state="acknowledged"),
    "a gke container's alert": _threshold("kubernetes.io/container/restart_count", "k8s_container",
                                          {"project_id": PROJECT, "cluster_name": "prod", "namespace_name": "backend",
                                           "container_name": "api", "pod_name": "api-1", "location": "us-central1"},
                                          "COMPARISON_GT", 3, "5"),
}


def _world(standin_env, pubsub, project_id, anchor) -> World:
    world = World.for_scenario(resolve_scenario("bad_revision"), standin_env, pubsub, project_id, anchor)
    world.seed("bad_revision")
    return world


def _send(world: World, change: Change, message_id: str = "1"):
    notification = resolve_scenario("bad_revision").notification(world.anchor)
    change(notification)
    return world.handle(event(json.dumps(notification).encode(), message_id))


def _signature(outcome) -> str:
    return "" if outcome.diagnosis is None else str(getattr(outcome.diagnosis.signature, "value",
                                                             outcome.diagnosis.signature))


def _never_healthy(outcome) -> None:
    assert _signature(outcome) != "healthy", outcome.reason
    assert outcome.reason.strip(), outcome


@pytest.mark.parametrize("case", ACTS)
def test_a_present_failure_of_the_named_service_is_rolled_back_once(standin_env, firestore, pubsub, project_id,
                                                                    anchor, case):
    world = _world(standin_env, pubsub, project_id, anchor)

    outcome = _send(world, ACTS[case])
    again = _send(world, ACTS[case], message_id="2")   # the same notification re-sent by its channel

    assert outcome.status.value == "applied", outcome.reason
    assert again.status.value != "applied", again.reason
    assert world.writes() == 1


@pytest.mark.parametrize("case", HELD)
def test_an_alert_stating_no_present_failure_of_its_service_is_diagnosed_and_held(standin_env, firestore, pubsub,
                                                                                  project_id, anchor, case):
    world = _world(standin_env, pubsub, project_id, anchor)

    outcome = _send(world, HELD[case])

    assert outcome.status.value == "escalated", outcome.reason
    assert "nothing was written" in outcome.reason or "no action" in outcome.reason, outcome.reason
    _never_healthy(outcome)
    assert world.writes() == 0


@pytest.mark.parametrize("case", REFUSED)
def test_an_alert_on_another_resource_or_none_writes_nothing_and_says_why(standin_env, firestore, pubsub, project_id,
                                                                          anchor, case):
    world = _world(standin_env, pubsub, project_id, anchor)

    outcome = _send(world, REFUSED[case])

    _refused_and_told(world, outcome)


def _refused_and_told(world: World, outcome) -> None:
    """Nothing written, never `healthy`, and the outcome on the outcomes topic for a person."""
    assert outcome.status.value in ("escalated", "rejected", "skipped"), outcome.reason
    _never_healthy(outcome)
    assert world.writes() == 0
    assert world.published()[0]["status"] == outcome.status.value   # it reached the outcomes topic


# --- a service serving cleanly: `healthy` only where the condition is one clean requests answer -----------------

CLEAN = "clean_requests_log_based_metric_alert"
HEALED = "healthy_after_burst_and_hang"
P99 = ('metric.type="run.googleapis.com/request_latencies" AND resource.type="cloud_run_revision" AND '
       'resource.labels.service_name="backend"')

# Conditions clean requests say nothing of: how busy the service is, what its own entries count, data that
# stopped, an SLO whose indicator is not read. Never `healthy`, nothing written, a person told why.
NOT_JUDGED: dict[str, Change] = {
    "cpu utilization high": _threshold("run.googleapis.com/container/cpu/utilizations", "cloud_run_revision",
                                       SERVICE_LABELS, "COMPARISON_GT", 0.8, "0.93",
                                       aligner="ALIGN_PERCENTILE_99"),
    "memory utilization high": _threshold("run.googleapis.com/container/memory/utilizations", "cloud_run_revision",
                                          SERVICE_LABELS, "COMPARISON_GT", 0.9, "0.97",
                                          aligner="ALIGN_PERCENTILE_99"),
    "instance count high": _threshold("run.googleapis.com/container/instance_count", "cloud_run_revision",
                                      SERVICE_LABELS, "COMPARISON_GT", 8, "10", aligner="ALIGN_MAX"),
    "request concurrency high": _threshold("run.googleapis.com/container/max_request_concurrencies",
                                           "cloud_run_revision", SERVICE_LABELS, "COMPARISON_GT", 70, "80",
                                           aligner="ALIGN_PERCENTILE_99"),
    "sent bytes high": _threshold("run.googleapis.com/container/network/sent_bytes_count", "cloud_run_revision",
                                  SERVICE_LABELS, "COMPARISON_GT", 1e7, "2e7", aligner="ALIGN_RATE"),
    "log-based metric of warnings": _threshold("logging.googleapis.com/user/backend_warnings", "cloud_run_revision",
                                               SERVICE_LABELS, "COMPARISON_GT", 50, "61", aligner="ALIGN_DELTA"),
    "absence of request_count": lambda n: _condition(n, "conditionAbsent", {
        "filter": 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"',
        "duration": "300s"}, "run.googleapis.com/request_count"),
    "log match on panics": lambda n: _condition(n, "conditionMatchedLog", {
        "filter": 'resource.type="cloud_run_revision" AND textPayload:"panic:"'}),
    "promql on an application metric": _promql('sum by (project_id, location, service_name) (rate(http_requests_total'
                                               '{service_name="backend",code=~"5.."}[5m])) > 1'),
    "slo fast burn": _slo(f'select_slo_burn_rate("{SLO}", "1h")'),
    "a policy labelled for another service, on 5xx": _both(
        _threshold("run.googleapis.com/request_count", "cloud_run_revision", SERVICE_LABELS, "COMPARISON_GT", 1,
                   "3", aligner="ALIGN_RATE", metric_filter=' AND metric.labels.response_code_class="5xx"'),
        _set(policy_user_labels={"service": "checkout"})),
    "a p99 with another service's label": _both(
        _threshold("run.googleapis.com/request_latencies", "cloud_run_revision", SERVICE_LABELS, "COMPARISON_GT",
                   1000, "1400", aligner="ALIGN_PERCENTILE_99"), _set(policy_user_labels={"service_name": "checkout"})),
}


def _clean_world(standin_env, pubsub, project_id, anchor) -> World:
    world = World.for_scenario(resolve_scenario(CLEAN), standin_env, pubsub, project_id, anchor)
    world.seed(CLEAN)
    return world


@pytest.mark.parametrize("case", NOT_JUDGED)
def test_clean_requests_are_not_called_healthy_on_a_condition_they_do_not_answer(standin_env, firestore, pubsub,
                                                                                 project_id, anchor, case):
    world = _clean_world(standin_env, pubsub, project_id, anchor)
    notification = resolve_scenario(CLEAN).notification(world.anchor)
    NOT_JUDGED[case](notification)

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.status.value in ("escalated", "rejected"), outcome.reason
    _never_healthy(outcome)
    assert world.writes() == 0


@pytest.mark.parametrize("condition", [
    _threshold("run.googleapis.com/request_latencies", "cloud_run_revision", SERVICE_LABELS, "COMPARISON_GT", 1000,
               "1400", aligner="ALIGN_PERCENTILE_99"),
    _both(_threshold("run.googleapis.com/request_count", "cloud_run_revision", SERVICE_LABELS, "COMPARISON_GT", 1,
                     "3", aligner="ALIGN_RATE", metric_filter=' AND metric.labels.response_code_class="5xx"'),
          _set(policy_user_labels={"service": "backend", "team": "payments"})),
], ids=["p99 above 1 s", "5xx rate, the policy labelled for backend"])
def test_clean_requests_answer_a_condition_the_health_check_reads(standin_env, firestore, pubsub, project_id, anchor,
                                                                  condition):
    """The controls: a p99 or a 5xx rate the clean minutes are well under is `healthy`, as before, where the minutes
    read show the failure it measured (a burst of 500s and a 3 s hang, ended): over minutes that never showed it,
    the alert and the evidence disagree (shared/diagnosis/alert_unseen.py)."""
    world = World.for_scenario(resolve_scenario(HEALED), standin_env, pubsub, project_id, anchor)
    world.seed(HEALED)
    notification = resolve_scenario(HEALED).notification(world.anchor)
    condition(notification)

    outcome = world.handle(event(json.dumps(notification).encode()))

    assert outcome.diagnosis is not None and _signature(outcome) == "healthy", outcome.reason
    assert world.writes() == 0
