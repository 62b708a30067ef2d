"""Alert shapes: what each notification is about, and the managed service behind an uptime host."""
from __future__ import annotations

import pytest

from shared.alerts.incidents import TargetKind, parse_notification
from shared.config import parse_config
from shared.diagnosis.scope import alert_context, service_for_host


def notification(resource_type: str, labels: dict, **incident) -> dict:
    return {"version": "1.2", "incident": {
        "incident_id": "0.abc", "state": "open", "started_at": 1764158400, "scoping_project_id": "shop-prod",
        "policy_name": "a policy", "resource": {"type": resource_type, "labels": labels},
        "metric": {"type": "x.googleapis.com/y", "labels": {}}, **incident}}


@pytest.mark.parametrize("resource_type, labels, kind, name", [
    ("cloud_run_revision", {"project_id": "p", "service_name": "orders", "location": "europe-west1"},
     TargetKind.SERVICE, "projects/p/locations/europe-west1/services/orders"),
    ("vpc_access_connector", {"project_id": "p", "connector_name": "shared-conn", "location": "europe-west1"},
     TargetKind.CONNECTOR, "projects/p/locations/europe-west1/connectors/shared-conn"),
    ("cloudsql_database", {"project_id": "p", "database_id": "p:shop-pg", "region": "europe-west1"},
     TargetKind.CLOUDSQL, "p:europe-west1:shop-pg"),
    # A domain-scoped project keeps its own colon in the connection name.
    ("cloudsql_database", {"project_id": "example.com:p", "database_id": "example.com:p:db", "region": "us-east1"},
     TargetKind.CLOUDSQL, "example.com:p:us-east1:db"),
    # Grouped by database_id alone (no region kept): the instance all the same, by its project and id.
    ("cloudsql_database", {"project_id": "p", "database_id": "p:shop-pg"}, TargetKind.CLOUDSQL, "p:shop-pg"),
    ("cloudsql_database", {"database_id": "example.com:p:db"}, TargetKind.CLOUDSQL, "example.com:p:db"),
    ("uptime_url", {"project_id": "p", "host": "API.example.com"}, TargetKind.UPTIME, "api.example.com"),
])
def test_each_alert_shape_names_what_it_is_about(resource_type, labels, kind, name):
    target = parse_notification(notification(resource_type, labels)).target
    assert (target.kind, target.name) == (kind, name)


def test_a_policy_aggregated_across_services_says_how_to_fix_it():
    target = parse_notification(notification("cloud_run_revision", {"project_id": "p", "location": "us-east1"},
                                              policy_name="project 5xx")).target

    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy
    assert "no service_name label" in target.reason
    assert "group the condition's aggregation by project_id, service_name and location" in target.reason
    assert "not a Cloud Run revision" not in target.reason


def test_a_service_name_among_the_metric_labels_is_named_never_read_as_the_resource():
    """A policy grouped by metric.label.service_name (a log-based metric's label, say) keeps the name
    among the metric's labels, not the resource's: the person fixing it is told what was seen."""
    target = parse_notification(notification(
        "cloud_run_revision", {"project_id": "p", "location": "us-east1"}, policy_name="project 5xx",
        metric={"type": "logging.googleapis.com/user/errors", "labels": {"service_name": "orders"}},
        resource_display_name="orders")).target

    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy and not target.name
    assert "its metric labels carry service_name='orders', not read as the resource's" in target.reason, \
        target.reason


@pytest.mark.parametrize("condition", [
    {"displayName": "5xx", "conditionPrometheusQueryLanguage": {
        "query": 'sum by (service_name) (rate(run_googleapis_com:request_count{response_code_class="5xx"}[5m]))'
                 " > 1", "duration": "60s"}},
    {"displayName": "5xx", "conditionMonitoringQueryLanguage": {
        "query": "fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | group_by [resource.service_name]"
                 " | condition val() > 1", "duration": "60s"}},
])
def test_a_query_that_drops_the_resources_labels_is_told_to_keep_them_in_its_result(condition):
    """A PromQL or MQL condition has no aggregation to group by: the fix for its summed result is in
    the query (PromQL `sum by`, MQL `group_by`), not a crossSeriesReducer it does not have."""
    target = parse_notification(notification("cloud_run_revision", {"service_name": "checkout"},
                                              policy_name="checkout 5xx", condition=condition)).target

    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy
    assert "keep project_id, service_name and location in the query's result (PromQL: sum by (project_id, " \
           "service_name, location) (...); MQL: group_by [resource.project_id, resource.service_name, " \
           "resource.location])" in target.reason, target.reason
    assert "crossSeriesReducer" not in target.reason


def test_a_policy_grouped_by_service_name_alone_says_it_sums_over_locations():
    target = parse_notification(notification("cloud_run_revision", {"project_id": "p", "service_name": "checkout"},
                                              policy_name="checkout 5xx")).target

    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy
    assert "across locations (regions): the notification names service_name 'checkout' but has no location " \
           "label" in target.reason
    assert "group the condition's aggregation by project_id, service_name and location" in target.reason


@pytest.mark.parametrize("resource_type, labels, what", [
    ("cloud_run_revision", {"service_name": "checkout", "location": "europe-west1"}, "service_name 'checkout'"),
    ("vpc_access_connector", {"connector_name": "shared-conn", "location": "europe-west1"},
     "connector_name 'shared-conn'"),
])
def test_a_policy_grouped_without_project_id_is_summed_over_its_metrics_scope_not_the_scoping_project(
        resource_type, labels, what):
    """The scoping project (shop-prod here) is where the policy lives; its metrics scope may hold the
    resource's real project and others with the same name. Nothing may act on a guessed project."""
    target = parse_notification(notification(resource_type, labels, policy_name="5xx")).target

    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy and not target.name
    assert f"across projects (every project in its metrics scope): the notification names {what} but has no " \
           "project_id label" in target.reason, target.reason
    assert "groupByFields: [resource.label.project_id, " in target.reason


def test_a_connector_policy_aggregated_across_connectors_says_so_too():
    labels = {"project_id": "p", "location": "us-east1"}
    target = parse_notification(notification("vpc_access_connector", labels)).target
    assert target.kind is TargetKind.UNROUTABLE and "connector_name" in target.reason


@pytest.mark.parametrize("resource_type, labels", [
    ("gce_instance", {"instance_id": "1"}),
    # A Cloud Run job beside the service of the same name (run.googleapis.com/job/completed_execution_count).
    ("cloud_run_job", {"project_id": "p", "location": "europe-west1", "job_name": "orders"}),
    ("k8s_container", {"project_id": "p", "cluster_name": "c", "container_name": "orders"}),
    # A load balancer in front of a service's serverless NEG (loadbalancing.googleapis.com/https/
    # request_count on https_lb_rule; l7_lb_rule for a log-based metric on its logs): which service failed is not named.
    ("https_lb_rule", {"project_id": "p", "url_map_name": "shop", "backend_target_name": "orders-neg",
                       "forwarding_rule_name": "shop-fr", "region": "global"}),
    ("l7_lb_rule", {"project_id": "p", "url_map_name": "shop", "backend_target_name": "orders-neg",
                    "region": "europe-west1"}),
])
def test_an_unknown_resource_type_is_unroutable_without_blaming_the_policy(resource_type, labels):
    target = parse_notification(notification(resource_type, labels)).target
    assert target.kind is TargetKind.UNROUTABLE and not target.fix_policy
    assert f"{resource_type!r} is not one Runwarden diagnoses" in target.reason
    assert "a person must look at it" in target.reason and "'a policy'" in target.reason, target.reason


PROMQL = {"conditionPrometheusQueryLanguage": {
    "query": 'sum by (project_id, location, service_name) (rate(run_googleapis_com:request_count'
             '{response_code_class="5xx"}[5m])) > 1'}}
SLO = {"conditionThreshold": {"filter": 'select_slo_burn_rate("projects/p/services/checkout/'
                                        'serviceLevelObjectives/availability", "3600s")', "thresholdValue": 10}}


@pytest.mark.parametrize("labels, metric_labels, condition, said", [
    # A query's result labels (PromQL keeps the Cloud Run labels as plain labels): named, never read as the resource.
    ({}, {"project_id": "p", "location": "europe-west1", "service_name": "orders"}, PROMQL,
     "location='europe-west1', project_id='p', service_name='orders' among its labels, which are not read"),
    # The resource's labels without its type (a relay that dropped it): no type, no guess.
    ({"project_id": "p", "location": "europe-west1", "service_name": "orders"}, {}, {"conditionThreshold": {}},
     "service_name='orders' among its labels"),
    ({}, {}, SLO, "an SLO burn-rate condition names a service-level objective, not a Cloud Run resource"),
])
def test_a_notification_naming_no_resource_is_a_policy_to_fix_never_a_silent_skip(labels, metric_labels, condition,
                                                                                   said):
    """Its policy sends it to Runwarden's channel and keeps firing: `skipped` (no `notify`) let it go
    unheard. Rejected as a policy to fix, it pages, saying what the notification did carry."""
    incident = parse_notification(notification("", labels, metric={"type": "", "labels": metric_labels},
                                                condition=condition, summary="Burn rate for orders is above 10."))
    target = incident.target
    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy, target
    assert "its summary: 'Burn rate for orders is above 10.'" in target.reason   # shown, never parsed
    assert "names no monitored resource (resource.type is empty)" in target.reason and said in target.reason
    assert incident.cloud_run_service is None


@pytest.mark.parametrize("labels, missing", [
    ({"project_id": "p"}, "no service_name or location label"),
    ({"project_id": "p", "service_name": "checkout"}, "no location label"),
])
def test_an_slo_condition_without_its_services_labels_is_never_told_to_group_its_aggregation(labels, missing):
    """"the only field used in a condition for an SLO is the filter field" (Cloud Monitoring, SLO alerting
    policies): the advice to group its aggregation by service_name and location could not be followed."""
    target = parse_notification(notification("cloud_run_revision", labels, condition=SLO)).target
    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy, target
    assert "is an SLO condition" in target.reason and missing in target.reason, target.reason
    assert "its SLO is of 'projects/p/services/checkout', a Service Monitoring service" in target.reason
    assert "groupByFields" not in target.reason and "has no aggregation to group" in target.reason
    assert "route this policy to a person's channel" in target.reason


def test_an_slo_condition_naming_its_service_whole_is_diagnosed_never_judged_healthy():
    """A notification that does carry the service's labels is routed to it; its condition is never judged
    healthy (shared/diagnosis/health_bar.py)."""
    labels = {"project_id": "p", "service_name": "checkout", "location": "europe-west1"}
    incident = parse_notification(notification("cloud_run_revision", labels, condition=SLO))
    assert incident.target.kind is TargetKind.SERVICE
    assert "select_slo_burn_rate" in alert_context(incident).condition_filter


def test_an_uptime_check_is_not_a_log_match_alert():
    incident = parse_notification(notification(
        "uptime_url", {"host": "h"}, condition={"conditionThreshold": {"filter": "f", "comparison": "COMPARISON_LT"}}))
    assert not incident.is_log_match and incident.comparison == "COMPARISON_LT"


def test_a_log_match_alert_brings_its_filter_as_evidence_to_read():
    incident = parse_notification(notification(
        "cloud_run_revision", {"project_id": "p", "service_name": "s", "location": "us-east1"},
        metric={"type": "", "labels": {}}, condition={"conditionMatchedLog": {"filter": 'textPayload:"Dial error"'}}))
    assert incident.is_log_match and alert_context(incident).log_filter == 'textPayload:"Dial error"'


@pytest.mark.parametrize("resource_type, labels, revision", [
    ("cloud_run_revision",
     {"project_id": "p", "service_name": "s", "location": "us-east1", "revision_name": "s-00002-can"},
     "s-00002-can"),
    ("cloud_run_revision", {"project_id": "p", "service_name": "s", "location": "us-east1"}, ""),
    ("uptime_url", {"project_id": "p", "host": "h", "revision_name": "x"}, ""),
])
def test_the_revision_an_alert_names_is_in_its_context(resource_type, labels, revision):
    assert alert_context(parse_notification(notification(resource_type, labels))).revision == revision


def test_a_ratio_policy_is_known_by_its_denominator():
    incident = parse_notification(notification(
        "cloud_run_revision", {"project_id": "p", "service_name": "s", "location": "us-east1"}, threshold_value="0.02",
        condition={"conditionThreshold": {"filter": "n", "denominatorFilter": "d"}}))
    context = alert_context(incident)
    assert context.ratio and context.threshold == 0.02


CONFIG = parse_config({"project": "p", "outcomes_topic": "projects/p/topics/outcomes", "services": [
    {"name": "projects/p/locations/us-central1/services/api", "domains": ["api.example.com"]},
    {"name": "projects/p/locations/us-central1/services/api-v2"},
    {"name": "projects/p/locations/europe-west1/services/checkout"},
]})


@pytest.mark.parametrize("host, service", [
    ("api.example.com", "projects/p/locations/us-central1/services/api"),
    ("api-v2-418273645012.us-central1.run.app", "projects/p/locations/us-central1/services/api-v2"),
    ("api-418273645012.us-central1.run.app", "projects/p/locations/us-central1/services/api"),
    ("checkout-418273645012.europe-west1.run.app", "projects/p/locations/europe-west1/services/checkout"),
    ("checkout-3kq7xwpd2a-ew.a.run.app", "projects/p/locations/europe-west1/services/checkout"),
    ("checkout-418273645012.us-central1.run.app", None),     # same name, another region: not ours
    ("status.example.org", None),
    # A revision tag's URL (TAG---HOST) is its service's.
    ("canary---checkout-3kq7xwpd2a-ew.a.run.app", "projects/p/locations/europe-west1/services/checkout"),
    ("pr-12---api-v2-418273645012.us-central1.run.app", "projects/p/locations/us-central1/services/api-v2"),
    ("canary---checkout-418273645012.us-central1.run.app", None),
])
def test_an_uptime_host_maps_to_its_managed_service(host, service):
    assert service_for_host(host, CONFIG) == service


from shared.diagnosis.evidence import Service
from shared.diagnosis.scope import unserved_host

CHECKOUT = "projects/p/locations/europe-west1/services/checkout"
LISTED = ("https://checkout-418273645012.europe-west1.run.app", "https://checkout-3kq7xwpd2a-ew.a.run.app")


@pytest.mark.parametrize("host, service, urls, why", [
    ("checkout-418273645012.europe-west1.run.app", CHECKOUT, LISTED, ""),
    ("CHECKOUT-3kq7xwpd2a-ew.a.run.app.", CHECKOUT, LISTED, ""),
    # The same service id in another project: its number differs, and the config cannot tell by id.
    ("checkout-902341557310.europe-west1.run.app", CHECKOUT, LISTED, "not a URL of " + CHECKOUT),
    # The older form names a region by a code only: another project's (or region's) hash.
    ("checkout-9zz8yy7xx6-ew.a.run.app", CHECKOUT, LISTED, "another project or region"),
    ("checkout-418273645012.europe-west1.run.app", CHECKOUT, (), "lists no URL"),
    # A custom domain the config lists for the service is the config's word.
    ("api.example.com", "projects/p/locations/us-central1/services/api", (), ""),
])
def test_an_uptime_host_must_be_a_url_cloud_run_lists_for_the_service(host, service, urls, why):
    found = unserved_host(host, CONFIG, Service(name=service, generation=1, urls=urls))
    assert (why in found) if why else found == "", found


from shared.diagnosis.evidence import TrafficTarget, TrafficType
from shared.diagnosis.scope import tagged_revision

TAGGED = Service(name=CHECKOUT, generation=1, urls=LISTED, traffic_statuses=(
    TrafficTarget(type=TrafficType.REVISION, revision="checkout-00001-abc", percent=100),
    TrafficTarget(type=TrafficType.REVISION, revision="checkout-00002-xyz", percent=0, tag="canary",
                  uri="https://canary---checkout-3kq7xwpd2a-ew.a.run.app")))


@pytest.mark.parametrize("host, why, revision", [
    # Listed as the tagged traffic status's uri (TrafficTargetStatus.uri): the service's, about that revision.
    ("canary---checkout-3kq7xwpd2a-ew.a.run.app", "", "checkout-00002-xyz"),
    ("CANARY---checkout-3kq7xwpd2a-ew.a.run.app.", "", "checkout-00002-xyz"),
    # A tag the service does not list (removed, or another project's service of the same name).
    ("beta---checkout-3kq7xwpd2a-ew.a.run.app", "not a URL of " + CHECKOUT, ""),
    ("canary---checkout-9zz8yy7xx6-ew.a.run.app", "another project or region", ""),
    # The service's own URL: about the service, no revision in particular.
    ("checkout-3kq7xwpd2a-ew.a.run.app", "", ""),
])
def test_an_uptime_check_on_a_tag_url_is_its_services_and_names_the_tagged_revision(host, why, revision):
    found = unserved_host(host, CONFIG, TAGGED)
    assert (why in found) if why else found == "", found
    assert tagged_revision(host, TAGGED) == revision


def test_a_traffic_status_uri_is_never_part_of_a_snapshot_or_a_split():
    """Output only (TrafficTargetStatus.uri): a rollback's before-state and a written split carry none."""
    assert "uri" not in TAGGED.traffic_statuses[1].model_dump(mode="json")


# --- combining the verdicts of a shared resource's users ---------------------------------------------

from shared.alerts.incidents import AlertTarget
from shared.diagnosis.scope import ServiceResult, combine
from shared.diagnosis.signatures import Diagnosis, Signature

CONN = "projects/p/locations/l/connectors/c"


def _result(service: str, signature: Signature, **fields) -> ServiceResult:
    d = Diagnosis(signature=signature, confidence=fields.pop("confidence", 0.9), rule="r",
                  summary=f"{service} {signature.value}", api_calls=12, **fields)
    return ServiceResult(f"projects/p/locations/l/services/{service}", None, d)  # type: ignore[arg-type]


def test_a_saturated_connector_seen_from_one_user_is_the_verdict_with_every_user_cited():
    target = AlertTarget(kind=TargetKind.CONNECTOR, name=CONN)
    d, primary = combine(target, [_result("a", Signature.HEALTHY),
                                  _result("b", Signature.CONNECTOR_SATURATION, subject=CONN)], lookup_calls=4)

    assert d.signature is Signature.CONNECTOR_SATURATION and primary.service.endswith("/b")
    assert [i.query for i in d.evidence[:2]] == ["diagnosis of projects/p/locations/l/services/a",
                                                 "diagnosis of projects/p/locations/l/services/b"]
    assert d.api_calls == 28


def test_saturation_of_another_connector_is_not_this_ones():
    target = AlertTarget(kind=TargetKind.CONNECTOR, name=CONN)
    d, primary = combine(target, [_result("a", Signature.CONNECTOR_SATURATION, subject=CONN + "-other")])
    assert d.signature is Signature.INCONCLUSIVE and primary is None


def test_a_user_torn_between_saturation_and_a_deploy_leaves_it_to_a_person():
    target = AlertTarget(kind=TargetKind.CONNECTOR, name=CONN)
    d, primary = combine(target, [
        _result("a", Signature.CONNECTOR_SATURATION, subject=CONN),
        _result("b", Signature.INCONCLUSIVE, confidence=0.0, competing=("bad_revision", "connector_saturation"))])

    assert d.signature is Signature.INCONCLUSIVE and primary is None
    assert set(d.competing) == {"bad_revision", "connector_saturation"}


def test_a_saturated_connector_is_not_scaled_while_another_user_finds_the_database_failing_through_it():
    """One user waits on the path (saturation), another reaches the database and is refused (its
    connection limit, say): more connector capacity would only bring the database more connections."""
    target = AlertTarget(kind=TargetKind.CONNECTOR, name=CONN)
    d, primary = combine(target, [_result("a", Signature.CONNECTOR_SATURATION, subject=CONN),
                                  _result("b", Signature.DATABASE_UNREACHABLE)])

    assert d.signature is Signature.INCONCLUSIVE and primary is None
    assert set(d.competing) == {"connector_saturation", "database_unreachable"}
    assert "a connector_saturation" in d.summary and "b database_unreachable" in d.summary


def test_a_failing_database_alone_does_not_make_a_connector_alert_torn():
    target = AlertTarget(kind=TargetKind.CONNECTOR, name=CONN)
    d, _ = combine(target, [_result("a", Signature.HEALTHY), _result("b", Signature.DATABASE_UNREACHABLE)])
    assert d.signature is Signature.INCONCLUSIVE and not d.competing


def test_a_ratio_policy_without_threshold_value_is_judged_at_its_conditions_bar():
    """A 0.5 % 5xx ratio policy whose notification carries no `threshold_value`: judged at the
    settings' 1 %, a service still failing 0.8 % was called healthy under the alert's own condition."""
    from shared.config import DiagnosisSettings
    from shared.diagnosis.health_bar import health_bar

    incident = parse_notification(notification(
        "cloud_run_revision", {"project_id": "p", "service_name": "orders", "location": "europe-west1"},
        metric={"type": "run.googleapis.com/request_count", "labels": {"response_code_class": "5xx"}},
        condition={"conditionThreshold": {"filter": 'metric.type="run.googleapis.com/request_count"',
                                          "denominatorFilter": 'metric.type="run.googleapis.com/request_count"',
                                          "comparison": "COMPARISON_GT", "thresholdValue": 0.005}}))
    bar = health_bar(alert_context(incident), DiagnosisSettings())
    assert bar.judged and bar.error_ratio == 0.005 and "0.005" in bar.source


@pytest.mark.parametrize("condition, threshold", [
    # ProtoJSON omits a field at its default ("thresholdValue": 0.9 in the documented notification is
    # MetricThreshold.threshold_value, a plain proto3 double): "any 5xx" (0) arrives without it.
    ({"conditionThreshold": {"filter": 'metric.type="run.googleapis.com/request_count"', "comparison": "COMPARISON_GT",
                             "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_DELTA"}]}}, 0.0),
    ({"conditionThreshold": {"filter": "f", "thresholdValue": 0.5}}, 0.5),
    # No threshold condition: no bar at all (an absence, a log match, a query).
    ({"conditionAbsent": {"filter": "f"}}, None),
    ({"conditionPrometheusQueryLanguage": {"query": "x > 1"}}, None),
    ({}, None),
])
def test_a_threshold_condition_without_its_value_is_at_zero_as_protojson_omits_it(condition, threshold):
    """Without `threshold_value`, an "any 5xx" policy's bar was read as none, and judged at the
    settings' share instead: a service still answering 510 5xx in 102,170 requests (0.5 %) was
    called healthy under a condition that fires on one."""
    from shared.config import DiagnosisSettings
    from shared.diagnosis.health_bar import health_bar

    incident = parse_notification(notification(
        "cloud_run_revision", {"project_id": "p", "service_name": "orders", "location": "europe-west1"},
        metric={"type": "run.googleapis.com/request_count", "labels": {"response_code_class": "5xx"}},
        condition=condition))
    assert incident.threshold == threshold
    if threshold == 0.0:
        bar = health_bar(alert_context(incident), DiagnosisSettings())
        assert bar.judged and bar.error_count == 0, bar


@pytest.mark.parametrize("condition, kind", [
    (..., "unstated"),                                                  # none at all
    ({"name": "projects/p/alertPolicies/1/conditions/2", "displayName": "availability"}, "unstated"),  # no test
    ({"conditionThreshold": {"filter": "f", "comparison": "COMPARISON_LT", "thresholdValue": 0.99}}, "threshold"),
])
def test_a_notification_without_its_condition_is_never_cleared_as_healthy(condition, kind):
    """An availability policy (2xx share below 0.99) whose notification lost its `condition`: read as a
    5xx share of 0.99 above, clean 5xx called it healthy while 5 % of requests answered 401. Whether it
    fires above or below, and on what, is unstated: not judged, saying so."""
    from shared.config import DiagnosisSettings
    from shared.diagnosis.health_bar import health_bar

    document = notification("cloud_run_revision", {"project_id": "p", "service_name": "orders", "location": "us-east1"},
                            metric={"type": "run.googleapis.com/request_count", "labels": {}}, threshold_value="0.99")
    if condition is ...:
        document["incident"].pop("condition", None)
    else:
        document["incident"]["condition"] = condition
    alert = alert_context(parse_notification(document))
    bar = health_bar(alert, DiagnosisSettings())

    assert alert.condition_kind == kind and not bar.judged
    assert ("carries no condition" in bar.why_not) is (kind == "unstated"), bar.why_not


# Identifying labels that no resource of the type can have: a log entry's writer sets its entry's resource
# labels (LogEntry.resource), a relay may rewrite them. Before, they were built into a resource name as
# they came ("connectors/a/b", "services/服务"), answered `skipped` as not managed where nobody hears of
# it, and a database_id without its project was said to be missing.
MALFORMED = {
    "a slash in a connector name": ("vpc_access_connector",
                                    {"project_id": "p", "connector_name": "a/b", "location": "europe-west1"},
                                    "label connector_name 'a/b'", "no Google Cloud resource id"),
    "a non-ASCII service name": ("cloud_run_revision",
                                 {"project_id": "p", "service_name": "заказы", "location": "europe-west1"},
                                 "label service_name 'заказы'", "no Google Cloud resource id"),
    "a space in a project id": ("cloud_run_revision",
                                {"project_id": "p q", "service_name": "orders", "location": "europe-west1"},
                                "label project_id 'p q'", "no Google Cloud resource id"),
    "a service name of 300 characters": ("cloud_run_revision",
                                         {"project_id": "p", "service_name": "s" * 300, "location": "europe-west1"},
                                         "label service_name 'sss", "no Google Cloud resource id"),
    "a database_id without its project": ("cloudsql_database",
                                          {"project_id": "p", "database_id": "shop-pg", "region": "europe-west1"},
                                          "label database_id 'shop-pg'", "is not Cloud SQL's 'project:instance'"),
    "a database_id without its instance": ("cloudsql_database",
                                           {"project_id": "p", "database_id": "p:", "region": "europe-west1"},
                                           "label database_id 'p:'", "is not Cloud SQL's 'project:instance'"),
    "an uptime host with a path": ("uptime_url", {"project_id": "p", "host": "api.example.com/health"},
                                   "label host 'api.example.com/health'", "no Google Cloud resource id"),
}


@pytest.mark.parametrize("resource_type, labels, named, why", MALFORMED.values(), ids=MALFORMED.keys())
def test_an_identifying_label_no_resource_can_have_is_a_policy_to_fix(resource_type, labels, named, why):
    target = parse_notification(notification(resource_type, labels)).target

    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy, target   # rejected, and paged
    assert named in target.reason and why in target.reason, target.reason
    assert "no service_name label" not in target.reason and "has no database_id" not in target.reason


@pytest.mark.parametrize("named, connection_name, same", [
    ("shop-prod:europe-west1:shop-pg", "shop-prod:europe-west1:shop-pg", True),
    ("shop-prod:shop-pg", "shop-prod:europe-west1:shop-pg", True),             # an alert that kept no region
    ("shop-prod:shop-pg", "shop-prod:europe-west1:shop-pg-replica", False),
    ("shop-test:shop-pg", "shop-prod:europe-west1:shop-pg", False),            # another project's of that id
    ("example.com:shop-prod:db", "example.com:shop-prod:us-east1:db", True),
    ("shop-prod:db", "example.com:shop-prod:us-east1:db", False),
    ("shop-prod:shop-pg", "not a connection name", False),
])
def test_a_cloud_sql_target_names_the_instance_of_its_users_connection_name(named, connection_name, same):
    from shared.gcp.identifiers import names_sql_instance
    assert names_sql_instance(named, connection_name) is same


@pytest.mark.parametrize("labels, status", [
    ({"database_id": "fin-core:ledger-db", "region": "us-central1"}, "escalated"),
    ({"database_id": "fin-core:ledger-db"}, "escalated"),
], ids=["with-region", "database-id-alone"])
def test_a_cloud_sql_alert_grouped_by_database_id_alone_reaches_the_instances_users(labels, status):
    """Before, a database/up alert grouped by database_id alone (no region label) was rejected as a policy
    aggregated across instances, "cannot tell which instance alerted", though its database_id names one."""
    import json

    from shared.pipeline import handle_alert
    from tests.integration.world import event
    from tests.property.fast import FastWorld, scenario_model, seeded_copy
    from tests.property.harness import ANCHOR

    scenario = "cloudsql_down_shared"
    w = FastWorld(seeded_copy(scenario, None), ANCHOR,
                  services=tuple(f"projects/fin-core/locations/us-central1/services/{s}" for s in ("ledger", "statements")))
    document = scenario_model(scenario).notification(ANCHOR)
    document["incident"]["resource"]["labels"] = {"project_id": "fin-core", **labels}
    outcome = handle_alert(event(json.dumps(document).encode(), "sql-1"), w.config, w.adapters)
    assert outcome.status.value == status, outcome.reason
    assert "is used by 1 managed service(s) (ledger)" in outcome.reason, outcome.reason
    assert "database_unreachable" in outcome.reason, outcome.reason


LOG_MATCH = {"conditionMatchedLog": {
    "filter": 'resource.type="cloud_run_revision" AND textPayload:"there was no available instance"'}}


@pytest.mark.parametrize("labels, missing", [
    ({"project_id": "p", "service_name": "checkout"}, "no location label"),
    ({"project_id": "p", "location": "europe-west1"}, "no service_name label"),
])
def test_a_log_match_alert_whose_entry_lacks_a_label_is_never_told_to_group_its_aggregation(labels, missing):
    """A log-match condition has a filter and label extractors, no aggregation (AlertPolicy.Condition.LogMatch,
    google/monitoring/v3/alert.proto): its notification names the matched entry's resource, whose labels the
    entry's writer set (LogEntry.resource). Told to group an aggregation it does not have, the person paged
    could not follow the advice."""
    incident = parse_notification(notification("cloud_run_revision", labels, metric={"type": "", "labels": {}},
                                                condition=LOG_MATCH))
    target = incident.target
    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy, target
    assert missing in target.reason, target.reason
    assert "groupByFields" not in target.reason and "aggregat" not in target.reason, target.reason
    assert "log-match condition" in target.reason and "wrote the matched entry" in target.reason
    assert "route this policy to a person's channel" in target.reason
