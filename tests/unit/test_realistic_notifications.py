"""Realistic Cloud Monitoring notifications (schema 1.2) that no bundled scenario sends, through the pipeline's own
entry point on in-process parts (tests/property/fast.py): what each is answered, and why.

The fields varied are the ones schema 1.2 carries (Cloud Monitoring, "Notification content", its schema 1.2
example): `condition` with its `conditionThreshold`, `conditionAbsent`,
`conditionMatchedLog`, `conditionMonitoringQueryLanguage` or `conditionPrometheusQueryLanguage`
(AlertPolicy.Condition, google/monitoring/v3/alert.proto), `resource` and its labels, `observed_value`,
`threshold_value`, `ended_at`, `documentation`, `policy_user_labels`. What a query condition's notification
carries beside its `query` (its resource, its values) is UNCONFIRMED: no real sample of one is stored
(tests/fixtures/samples); the rows hold what its query keeps.

Identifying labels in a form no resource of their type has (a capital letter, a zone for a region, a project
number for a project id): before, their names were built as they came and answered `skipped` ("... is not a
managed service"), which reaches nobody, even when they differ from a managed service's only by that form. Now
they are rejected (a person hears of it), naming the label, what is wrong with it and what writes it."""
from __future__ import annotations

import copy
import json

import pytest

from shared.alerts.incidents import TargetKind, parse_notification
from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

CONDITION = "projects/demo-project/alertPolicies/4021480765164349360/conditions/3930523402942248292"

# An MQL ratio condition as the console writes one (Monitoring Query Language reference: `fetch`, `align rate`,
# `group_by`, `condition`): its comparison is inside the query.
MQL = ("fetch cloud_run_revision\n| metric 'run.googleapis.com/request_count'\n"
       "| filter resource.service_name == 'backend'\n| align rate(1m)\n| every 1m\n"
       "| group_by [resource.project_id, resource.location, resource.service_name],\n"
       "    [v: sum(if(metric.response_code_class == '5xx', val(), 0)) / sum(val())]\n| condition v > 0.05 '1'")
# A PromQL ratio (Cloud Monitoring, "PromQL for Cloud Monitoring metrics": `run_googleapis_com:request_count`,
# `monitored_resource`).
PROMQL = ('sum by (project_id, location, service_name) (rate(run_googleapis_com:request_count{monitored_resource='
          '"cloud_run_revision",service_name="backend",response_code_class="5xx"}[5m])) / sum by (project_id, location, '
          'service_name) (rate(run_googleapis_com:request_count{monitored_resource="cloud_run_revision",'
          'service_name="backend"}[5m])) > 0.05')
REQUESTS = 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"'


def _condition(kind: str, body: dict, name: str, values: bool = True):
    def change(incident: dict) -> None:
        incident["condition"] = {"name": CONDITION, "displayName": name, kind: body}
        incident["condition_name"] = name
        if not values:
            incident.pop("observed_value")
            incident.pop("threshold_value")
    return change


def _labels(**labels):
    return lambda incident: incident["resource"]["labels"].update(labels)


def _log_match(incident: dict) -> None:
    _condition("conditionMatchedLog", {"filter": f'resource.type="cloud_run_revision" AND severity>=ERROR'},
               "errors logged", values=False)(incident)
    incident["metric"] = {"type": "", "displayName": "", "labels": {}}


def _job(incident: dict) -> None:
    incident["resource"] = {"type": "cloud_run_job", "labels": {"project_id": "demo-project", "location": "us-central1",
                                                                 "job_name": "backend-nightly"}}
    incident["metric"] = {"type": "run.googleapis.com/job/completed_execution_count", "labels": {"result": "failed"}}
    _condition("conditionThreshold", {"filter": 'metric.type="run.googleapis.com/job/completed_execution_count" AND '
                                                'resource.type="cloud_run_job"', "comparison": "COMPARISON_GT",
                                      "thresholdValue": 0}, "job failed")(incident)


def _connector(**labels):
    def change(incident: dict) -> None:
        incident["resource"] = {"type": "vpc_access_connector", "labels": {
            "project_id": "demo-project", "location": "us-central1", "connector_name": "backend-conn", **labels}}
        incident["metric"] = {"type": "vpcaccess.googleapis.com/connector/cpu/utilizations", "labels": {}}
        _condition("conditionThreshold", {"filter": 'metric.type="vpcaccess.googleapis.com/connector/cpu/utilizations" '
                                                    'AND resource.type="vpc_access_connector"',
                                          "comparison": "COMPARISON_GT", "thresholdValue": 0.8}, "connector CPU")(incident)
    return change


def _cloudsql(**labels):
    def change(incident: dict) -> None:
        incident["resource"] = {"type": "cloudsql_database", "labels": {
            "project_id": "demo-project", "region": "us-central1", "database_id": "demo-project:main-db", **labels}}
        incident["metric"] = {"type": "cloudsql.googleapis.com/database/up", "labels": {}}
        _condition("conditionThreshold", {"filter": 'metric.type="cloudsql.googleapis.com/database/up" AND '
                                                    'resource.type="cloudsql_database"',
                                          "comparison": "COMPARISON_LT", "thresholdValue": 1}, "database down")(incident)
    return change


def _documented(incident: dict) -> None:
    incident.update(policy_name="バックエンド 5xx 比率 — Zahlungsdienst 🚨", condition_name="5xx ratio above 5%",
                    policy_user_labels={"team": "payments", "env": "prod", "tier": "1"})
    incident["documentation"] = {"content": "## Runbook\n" + "Überprüfen Sie die letzte Revision. " * 220,
                                 "mime_type": "text/markdown", "subject": "[ALERT] バックエンド", "links": [
                                     {"displayName": "Runbook", "url": "https://runbooks.example.com/backend"}]}


# name: (scenario, change to its OPEN, status, writes, words of the reason)
NOTIFICATIONS = {
    "an MQL ratio condition, the service clean now": (
        "healthy", _condition("conditionMonitoringQueryLanguage", {"query": MQL, "duration": "0s"}, "5xx ratio (MQL)"),
        OutcomeStatus.ESCALATED, 0, "is a query (MQL, PromQL or SQL)"),
    "a PromQL ratio condition without values, the service clean now": (
        "healthy", _condition("conditionPrometheusQueryLanguage", {"query": PROMQL, "duration": "60s",
                                                                   "evaluationInterval": "30s"}, "5xx (PromQL)",
                              values=False),
        OutcomeStatus.ESCALATED, 0, "is a query (MQL, PromQL or SQL)"),
    "a PromQL condition on prometheus_target": (
        "bad_revision", lambda i: (_condition("conditionPrometheusQueryLanguage", {"query": PROMQL}, "5xx (PromQL)")(i),
                                   i.update(resource={"type": "prometheus_target", "labels": {
                                       "project_id": "demo-project", "location": "us-central1", "cluster": "__run__",
                                       "namespace": "", "job": "backend", "instance": ""}})),
        OutcomeStatus.ESCALATED, 0, "resource type 'prometheus_target' is not one Runwarden diagnoses"),
    "a metric-absence condition, the service clean now": (
        "healthy", _condition("conditionAbsent", {"filter": REQUESTS, "duration": "300s", "aggregations": [
            {"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE"}]}, "no requests for 5 min", values=False),
        OutcomeStatus.ESCALATED, 0, "metric-absence condition"),
    "a forecast condition, the service clean now": (
        "healthy", _condition("conditionThreshold", {"filter": REQUESTS, "comparison": "COMPARISON_GT",
                                                     "thresholdValue": 0.05, "forecastOptions": {
                                                         "forecastHorizon": "3600s"}}, "5xx forecast"),
        OutcomeStatus.ESCALATED, 0, "forecast condition"),
    "a log-match condition, the service clean now": (
        "healthy", _log_match, OutcomeStatus.ESCALATED, 0, "log-match condition"),
    "a Cloud Run job's failed executions": (
        "bad_revision", _job, OutcomeStatus.ESCALATED, 0, "resource type 'cloud_run_job'"),
    "values as strings with units, the service clean now": (
        "healthy", lambda i: i.update(observed_value="25 %", threshold_value="5 %"), OutcomeStatus.SKIPPED, 0,
        "healthy"),
    "an OPEN without an ended_at key": (
        "bad_revision", lambda i: i.pop("ended_at"), OutcomeStatus.APPLIED, 1, "rollback_traffic applied"),
    "non-ASCII names, 8 KB of documentation, user labels": (
        "bad_revision", _documented, OutcomeStatus.APPLIED, 1, "rollback_traffic applied"),
    "another project's service": (
        "bad_revision", _labels(project_id="shop-staging"), OutcomeStatus.SKIPPED, 0,
        "projects/shop-staging/locations/us-central1/services/backend is not a managed service"),
    # A service id is unique only within its project and region: the managed backend's name elsewhere is named, and
    # the alert said not to be about it (before: "... is not a managed service", read as the managed one's all-clear).
    "a managed service's name in another region": (
        "bad_revision", _labels(location="europe-west1"), OutcomeStatus.SKIPPED, 0,
        "same name in another region (projects/demo-project/locations/us-central1/services/backend), which this "
        "alert is not about"),
    "a managed service's name in another project": (
        "bad_revision", _labels(project_id="shop-staging"), OutcomeStatus.SKIPPED, 0,
        "same name in another project (projects/demo-project/locations/us-central1/services/backend)"),
    "a connector with an empty location": (
        "bad_revision", _connector(location=""), OutcomeStatus.REJECTED, 0, "has no location label"),
    # Identifying labels in a form no resource of their type has: skipped before, as not managed.
    "a service name with a capital letter": (
        "bad_revision", _labels(service_name="Backend"), OutcomeStatus.REJECTED, 0,
        "label service_name 'Backend'"),
    "a zone for the service's location": (
        "bad_revision", _labels(location="us-central1-a"), OutcomeStatus.REJECTED, 0,
        "label location 'us-central1-a'"),
    "a project number for the service's project": (
        "bad_revision", _labels(project_id="814739424704"), OutcomeStatus.REJECTED, 0,
        "label project_id '814739424704'"),
    # a connector named by its project's number is refused before anything is read, never scaled by
    # that name (no sample's project_id is a number: the number is only scoping_project_number); passes on main.
    "a project number for the connector's project": (
        "bad_revision", _connector(project_id="814739424704"), OutcomeStatus.REJECTED, 0,
        "label project_id '814739424704'"),
    "a project id in capitals": (
        "bad_revision", _labels(project_id="Demo-Project"), OutcomeStatus.REJECTED, 0,
        "label project_id 'Demo-Project'"),
    "a connector name with a capital letter": (
        "bad_revision", _connector(connector_name="Backend-Conn"), OutcomeStatus.REJECTED, 0,
        "label connector_name 'Backend-Conn'"),
    "a Cloud SQL region in capitals": (
        "bad_revision", _cloudsql(region="US-CENTRAL1"), OutcomeStatus.REJECTED, 0, "label region 'US-CENTRAL1'"),
    "a Cloud SQL instance in capitals": (
        "bad_revision", _cloudsql(database_id="demo-project:Main-DB"), OutcomeStatus.REJECTED, 0,
        "label database_id 'demo-project:Main-DB'"),
}


@pytest.mark.parametrize("name", NOTIFICATIONS)
def test_each_realistic_notification_is_answered_as_an_sre_expects(name):
    scenario, change, status, writes, words = NOTIFICATIONS[name]
    document = copy.deepcopy(scenario_model(scenario).notification(ANCHOR))
    change(document["incident"])
    world = FastWorld(seeded_copy(scenario, None), ANCHOR)
    world.clock.set(ANCHOR + scenario_model(scenario).delivered)   # read when the scenario says (its `delivered`)

    answer = handle_alert(event(json.dumps(document, ensure_ascii=False).encode(), "1"), world.config, world.adapters)

    assert answer.status is status, answer.reason
    assert world.standins.run.count("UpdateService") == writes
    assert world.standins.vpcaccess.count("UpdateConnector") == 0
    assert words in answer.reason, answer.reason


def _notification(resource_type: str, labels: dict) -> dict:
    return {"version": "1.2", "incident": {"incident_id": "0.abc", "state": "open", "started_at": 1795694400,
                                           "policy_name": "p", "resource": {"type": resource_type, "labels": labels}}}


RUN = {"project_id": "shop-prod", "location": "europe-west1", "service_name": "orders"}
CONNECTOR = {"project_id": "shop-prod", "location": "europe-west1", "connector_name": "orders-conn"}
SQL = {"project_id": "shop-prod", "region": "europe-west1", "database_id": "shop-prod:orders-pg"}

# name: (resource type, labels, the label and value named, what the reason says of it)
FORMS = {
    "service name in capitals": ("cloud_run_revision", {**RUN, "service_name": "ORDERS"}, "service_name 'ORDERS'",
                                 "holds capital letters"),
    "service name ending with a hyphen": ("cloud_run_revision", {**RUN, "service_name": "orders-"},
                                          "service_name 'orders-'", "not ending with a hyphen"),
    "service name starting with a digit": ("cloud_run_revision", {**RUN, "service_name": "1orders"},
                                           "service_name '1orders'", "starting with a letter"),
    "location a zone": ("cloud_run_revision", {**RUN, "location": "europe-west1-b"}, "location 'europe-west1-b'",
                        "a zone: resources are labelled with their region, europe-west1"),
    "location in capitals": ("cloud_run_revision", {**RUN, "location": "Europe-West1"}, "location 'Europe-West1'",
                             "holds capital letters"),
    "project number": ("cloud_run_revision", {**RUN, "project_id": "786669526429"}, "project_id '786669526429'",
                       "a project number"),
    "connector project number": ("vpc_access_connector", {**CONNECTOR, "project_id": "786669526429"},
                                 "project_id '786669526429'", "a project number"),
    "connector location a zone": ("vpc_access_connector", {**CONNECTOR, "location": "us-east4-c"},
                                  "location 'us-east4-c'", "a zone"),
    "connector name with an underscore": ("vpc_access_connector", {**CONNECTOR, "connector_name": "orders_conn"},
                                          "connector_name 'orders_conn'", "lowercase letters, digits and hyphens"),
    # No region at all: a location no Cloud Run service, connector or Cloud SQL instance is in (each is in one
    # region: Cloud Run, "Cloud Run locations"). Built into a name, it was answered `skipped` "not a managed
    # service", which reaches nobody.
    "location global": ("cloud_run_revision", {**RUN, "location": "global"}, "location 'global'",
                        "is not a region (the location of resources that have none)"),
    "location a multi-region": ("cloud_run_revision", {**RUN, "location": "eu"}, "location 'eu'",
                                "is not a region (a multi-region)"),
    "location a placeholder": ("cloud_run_revision", {**RUN, "location": "l"}, "location 'l'", "is not a region"),
    "location a region cut short": ("cloud_run_revision", {**RUN, "location": "europe-west"},
                                    "location 'europe-west'", "is not a region"),
    "connector location global": ("vpc_access_connector", {**CONNECTOR, "location": "global"}, "location 'global'",
                                  "is not a region"),
    "Cloud SQL region global": ("cloudsql_database", {**SQL, "region": "global"}, "region 'global'",
                                "is not a region"),
    "Cloud SQL region a zone": ("cloudsql_database", {**SQL, "region": "europe-west1-d"}, "region 'europe-west1-d'",
                                "a zone"),
    "Cloud SQL project number": ("cloudsql_database", {**SQL, "database_id": "786669526429:orders-pg"},
                                 "database_id '786669526429:orders-pg'", "a project number"),
    "Cloud SQL domain-scoped project in capitals": ("cloudsql_database",
                                                    {**SQL, "database_id": "Example.com:shop-prod:orders-pg"},
                                                    "database_id 'Example.com:shop-prod:orders-pg'", "holds capital letters"),
}


@pytest.mark.parametrize("resource_type, labels, named, why", FORMS.values(), ids=FORMS.keys())
def test_a_label_in_a_form_no_resource_has_is_a_policy_to_fix(resource_type, labels, named, why):
    target = parse_notification(_notification(resource_type, labels)).target

    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy, target   # rejected, and paged
    assert f"label {named}" in target.reason and why in target.reason, target.reason


WELL_FORMED = {
    "a Cloud Run service": ("cloud_run_revision", RUN, "projects/shop-prod/locations/europe-west1/services/orders"),
    "a domain-scoped project": ("cloud_run_revision", {**RUN, "project_id": "example.com:shop-prod"},
                                "projects/example.com:shop-prod/locations/europe-west1/services/orders"),
    "a region of three words": ("cloud_run_revision", {**RUN, "location": "northamerica-northeast1"},
                                "projects/shop-prod/locations/northamerica-northeast1/services/orders"),
    "a sovereign cloud's region": ("cloud_run_revision", {**RUN, "location": "u-france-east1"},
                                   "projects/shop-prod/locations/u-france-east1/services/orders"),
    "a connector": ("vpc_access_connector", CONNECTOR,
                    "projects/shop-prod/locations/europe-west1/connectors/orders-conn"),
    "a Cloud SQL instance": ("cloudsql_database", SQL, "shop-prod:europe-west1:orders-pg"),
    "a domain-scoped Cloud SQL instance": ("cloudsql_database", {**SQL, "database_id": "example.com:shop-prod:pg"},
                                           "example.com:shop-prod:europe-west1:pg"),
    "an uptime host in capitals (a host name is not case-sensitive)": (
        "uptime_url", {"project_id": "shop-prod", "host": "Orders-786669526429.Europe-West1.run.app"},
        "orders-786669526429.europe-west1.run.app"),
}


@pytest.mark.parametrize("resource_type, labels, name", WELL_FORMED.values(), ids=WELL_FORMED.keys())
def test_a_well_formed_resource_is_still_named_as_it_was(resource_type, labels, name):
    target = parse_notification(_notification(resource_type, labels)).target

    assert target.kind is not TargetKind.UNROUTABLE and target.name == name, target


# A condition holds one kind: AlertPolicy.Condition's `condition` is a oneof (condition_threshold, condition_absent,
# condition_matched_log, condition_monitoring_query_language, condition_prometheus_query_language, condition_sql:
# google/monitoring/v3/alert.proto). One that carries two was merged or rewritten on its way (a relay, a template),
# and which of them fired, with its bar and value, is unknown. Before, the threshold was read and judged as if it
# were the only one: a clean service was `healthy` at the threshold's bar while the absence or the query that may
# have fired was never looked at, and a CLOSED at a value under the bar was taken as recovery.
SECOND_KIND = {
    "and a metric absence": ("conditionAbsent", {"filter": REQUESTS, "duration": "300s"}),
    "and a PromQL query": ("conditionPrometheusQueryLanguage", {"query": PROMQL}),
    "and an MQL query (snake_case)": ("condition_monitoring_query_language", {"query": MQL}),
    "and a log match": ("conditionMatchedLog", {"filter": 'resource.type="cloud_run_revision" AND severity>=ERROR'}),
}


def _two_kinds(key: str, body: dict):
    return lambda incident: incident["condition"].update({key: body})


@pytest.mark.parametrize("key, body", SECOND_KIND.values(), ids=SECOND_KIND.keys())
def test_a_condition_of_two_kinds_is_never_judged_healthy(key, body):
    document = copy.deepcopy(scenario_model("healthy").notification(ANCHOR))
    _two_kinds(key, body)(document["incident"])
    world = FastWorld(seeded_copy("healthy", None), ANCHOR)
    world.clock.set(ANCHOR + scenario_model("healthy").delivered)   # read 3 minutes after its newest points

    answer = handle_alert(event(json.dumps(document).encode(), "1"), world.config, world.adapters)

    assert answer.status is OutcomeStatus.ESCALATED, answer.reason
    assert "carries 2 condition kinds" in answer.reason and "conditionThreshold" in answer.reason, answer.reason


@pytest.mark.parametrize("key, body", SECOND_KIND.values(), ids=SECOND_KIND.keys())
def test_a_closed_of_a_condition_of_two_kinds_shows_no_recovery(key, body):
    document = copy.deepcopy(scenario_model("healthy").notification(ANCHOR))
    incident = document["incident"]
    _two_kinds(key, body)(incident)
    incident.update(state="closed", ended_at=incident["started_at"] + 600, observed_value="0.001")

    closed = parse_notification(document)

    assert closed.recovery_shown == "" and "carries 2 condition kinds" in closed.recovery_doubt


def test_a_closed_of_a_condition_of_one_kind_still_shows_recovery():
    document = copy.deepcopy(scenario_model("healthy").notification(ANCHOR))
    incident = document["incident"]
    incident.update(state="closed", ended_at=incident["started_at"] + 600, observed_value="0.001")

    assert "Monitoring closed it with a value of 0.001" in parse_notification(document).recovery_shown
