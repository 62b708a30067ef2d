"""A notification whose parts name different conditions of its policy lends none of them as the bar.

A policy has one to six conditions, combined by AND ("satisfied if all conditions are met, even if
they are met on completely different resources"), OR or AND_WITH_MATCHING_RESOURCE
(ConditionCombinerType, google/monitoring/v3/alert.proto); a notification carries one `condition`,
one `condition_name`, one `metric` and one value. Which condition each names in a policy of several
is unconfirmed (no sample comes from one, and the payload carries no combiner). In every sample they
agree (tests/fixtures/samples). Before, a notification whose `metric` was request_count 5xx and
whose `condition` a latency condition at 500 (ms) was judged `healthy` with up to 500 5xx in the
window ("a number of 5xx"), and a CLOSED whose `condition_name` was not its condition's showed
recovery by another condition's bar. Now such a notification is never judged healthy nor shows
recovery, and the reason names both conditions."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.alerts.incidents import parse_notification
from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.health_bar import health_bar
from shared.diagnosis.scope import alert_context
from shared.diagnosis.signatures import Signature

from tests.property.fast import scenario_model
from tests.property.harness import ANCHOR
from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
LATENCY_FILTER = ('metric.type="run.googleapis.com/request_latencies" AND resource.type="cloud_run_revision" '
                  'AND resource.labels.service_name="backend"')


def notification(**incident: Any) -> dict[str, Any]:
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    document["incident"].update(incident)
    return document


def condition(document: dict[str, Any]) -> dict[str, Any]:
    return document["incident"]["condition"]


def latency_condition_with_count_metric() -> dict[str, Any]:
    """The request_count 5xx metric of one condition, the latency condition (p99 above 500 ms) of another."""
    document = notification(threshold_value="500", observed_value="12")
    condition(document)["conditionThreshold"].update(filter=LATENCY_FILTER, thresholdValue=500)
    return document


DATABASE_UP_FILTER = 'metric.type="cloudsql.googleapis.com/database/up" AND resource.type="cloudsql_database"'


def database_condition_on_the_services_resource() -> dict[str, Any]:
    """An AND policy of a 5xx condition on the service and a database/up condition on its Cloud SQL
    instance ("met even if they are met on completely different resources"): the service's revision as
    the resource, the database condition (and its metric, which its filter names) as the condition."""
    document = notification(condition_name="database down", threshold_value="0.5", observed_value="0",
                            metric={"type": "cloudsql.googleapis.com/database/up", "displayName": "Server up",
                                    "labels": {}})
    condition(document)["displayName"] = "database down"
    condition(document)["conditionThreshold"].update(filter=DATABASE_UP_FILTER, comparison="COMPARISON_LT",
                                                     thresholdValue=0.5)
    return document


def other_condition_name() -> dict[str, Any]:
    document = notification(condition_name="p99 latency above 2 s")
    return document


def test_the_samples_and_the_scenarios_notification_raise_no_doubt():
    assert parse_notification(notification()).condition_doubt == ""


@pytest.mark.parametrize("document, words", [
    (latency_condition_with_count_metric(), "metric run.googleapis.com/request_count is not the one its condition"),
    (other_condition_name(), "names condition 'p99 latency above 2 s' but carries condition '5xx ratio above 5%'"),
    (database_condition_on_the_services_resource(),
     "the notification's resource is a cloud_run_revision, not the cloudsql_database its condition 'database down' "
     "filters on"),
], ids=["metric-not-in-filter", "condition-name-not-its-condition", "resource-not-in-filter"])
def test_parts_of_different_conditions_are_not_judged_healthy(document, words):
    incident = parse_notification(document)
    assert words in incident.condition_doubt, incident.condition_doubt
    alert = alert_context(incident)
    bar = health_bar(alert, S)
    assert not bar.judged
    assert words in bar.why_not and "'backend 5xx ratio'" in bar.why_not, bar.why_not
    # No bar of it is lent to a rule either.
    assert alert.threshold is None and alert.comparison == "" and not alert.ratio


def test_a_service_serving_5xx_is_not_healthy_at_another_conditions_bar():
    """Five 500s a minute out of 40: clean by a count bar of 500, which is the latency condition's."""
    e = Evidence()
    e.now = 3
    e.revision(OLD, -300).traffic(**{OLD: 100}).requests(OLD, -90, 3, 40).latency(OLD, -90, 3, 0.2)
    e.requests(OLD, -15, 3, 5, code="500")
    alert = alert_context(parse_notification(latency_condition_with_count_metric()))
    verdict = diagnose(e.bundle().model_copy(update={"alert": alert}), S)
    assert verdict.signature is not Signature.HEALTHY, verdict.summary


def test_a_closed_naming_another_condition_shows_no_recovery():
    closed = other_condition_name()
    closed["incident"].update(state="closed", ended_at=closed["incident"]["started_at"] + 600, observed_value="0.01")
    assert parse_notification(closed).recovery_shown == ""
    agreeing = notification(state="closed", ended_at=closed["incident"]["started_at"] + 600, observed_value="0.01")
    assert parse_notification(agreeing).recovery_shown != ""


def test_the_resolved_reason_names_the_two_conditions():
    from shared.alerts.reasons import closed_reason as _closed_reason
    closed = other_condition_name()
    closed["incident"].update(state="closed", ended_at=closed["incident"]["started_at"] + 600, observed_value="0.01")
    reason = _closed_reason(parse_notification(closed))
    assert "not taken as recovery: the notification names condition 'p99 latency above 2 s'" in reason, reason


def test_a_closed_whose_resource_is_not_its_conditions_shows_no_recovery():
    """The database condition's value clear of its bar says nothing of the service the notification names."""
    closed = database_condition_on_the_services_resource()
    closed["incident"].update(state="closed", ended_at=closed["incident"]["started_at"] + 600, observed_value="1")
    assert parse_notification(closed).recovery_shown == ""
    own = copy.deepcopy(closed)
    own["incident"]["resource"] = {"type": "cloudsql_database",
                                   "labels": {"project_id": "demo-project", "database_id": "demo-project:main",
                                              "region": "us-central1"}}
    assert parse_notification(own).recovery_shown != ""


@pytest.mark.parametrize("filter_, resource_type", [
    ('resource.type = "cloud_run_revision" AND metric.type = "run.googleapis.com/request_count"', "cloud_run_revision"),
    ('resource.type="cloud_run_revision" OR resource.type="cloud_run_job"', "cloud_run_revision"),
    ('resource.type != "cloud_run_job" AND metric.type="run.googleapis.com/request_count"', "cloud_run_revision"),
    ('metric.type="run.googleapis.com/request_count"', "cloud_run_revision"),
    ('NOT resource.type="cloud_run_job" AND metric.type="run.googleapis.com/request_count"', "cloud_run_revision"),
    ('-resource.type="cloud_run_job" metric.type="run.googleapis.com/request_count"', "cloud_run_revision"),
], ids=["spaced", "either-of-two", "not-equal", "no-resource-type", "negated-by-not", "negated-by-minus"])
def test_a_filter_naming_the_notifications_resource_type_or_none_raises_no_doubt(filter_, resource_type):
    document = notification()
    condition(document)["conditionThreshold"]["filter"] = filter_
    assert parse_notification(document).condition_doubt == ""


def other_services_condition() -> dict[str, Any]:
    """An OR policy of one 5xx condition per service, frontend's series firing, the notification carrying
    backend's condition (its filter names service_name "backend"; which condition a notification of such a
    policy carries is unconfirmed)."""
    document = notification()
    document["incident"]["resource"]["labels"]["service_name"] = "frontend"
    return document


@pytest.mark.parametrize("quoted_key", [False, True], ids=["key-plain", "key-quoted"])
def test_a_resource_its_condition_does_not_select_by_label_is_not_judged_healthy(quoted_key):
    """backend's bar is not frontend's: the resource the notification names is not one its condition selects."""
    document = other_services_condition()
    if quoted_key:
        body = condition(document)["conditionThreshold"]
        body["filter"] = body["filter"].replace("resource.labels.service_name", 'resource.label."service_name"')
    incident = parse_notification(document)
    words = "the notification's resource has service_name 'frontend', not the 'backend' its condition"
    assert words in incident.condition_doubt, incident.condition_doubt
    alert = alert_context(incident)
    assert not health_bar(alert, S).judged and alert.threshold is None and not alert.ratio
    assert incident.target.name.endswith("/services/frontend")   # the violating series' resource, as ever


@pytest.mark.parametrize("selection", [
    'resource.labels.service_name=one_of("backend", "cart")',
    'resource.label."service_name" = one_of("backend","cart")',
], ids=["one-of", "one-of-key-quoted"])
def test_a_resource_its_condition_does_not_select_by_one_of_is_not_judged_healthy(selection):
    """A policy on several services (`service_name = one_of(...)`), its notification naming one it does not
    select (frontend): the same doubt as an equality's. Before, `one_of` was not read: judged at its bar."""
    document = other_services_condition()
    condition(document)["conditionThreshold"]["filter"] = (
        f'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" AND {selection}')
    incident = parse_notification(document)
    words = "the notification's resource has service_name 'frontend', not the 'backend' or 'cart' its condition"
    assert words in incident.condition_doubt, incident.condition_doubt
    assert not health_bar(alert_context(incident), S).judged


def test_a_closed_on_a_resource_its_condition_does_not_select_shows_no_recovery():
    closed = other_services_condition()
    closed["incident"].update(state="closed", ended_at=closed["incident"]["started_at"] + 600, observed_value="0.01")
    assert parse_notification(closed).recovery_shown == ""


@pytest.mark.parametrize("selection", [
    'resource.labels.service_name="backend"',
    'resource.label.service_name = "backend"',
    'resource.label."service_name"="backend"',
    '(resource.labels.service_name="frontend" OR resource.labels.service_name="backend")',
    'resource.labels.service_name=one_of("frontend", "backend")',
    'resource.labels.service_name=starts_with("back")',
    'resource.labels.service_name!="frontend"',
    'NOT resource.labels.service_name="frontend"',
], ids=["equal", "label-singular", "key-quoted", "either-of-two", "one-of", "starts-with", "not-equal", "negated"])
def test_a_filter_selecting_the_notifications_resource_or_not_read_raises_no_doubt(selection):
    document = notification()
    condition(document)["conditionThreshold"]["filter"] = (
        f'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" AND {selection}')
    assert parse_notification(document).condition_doubt == ""
