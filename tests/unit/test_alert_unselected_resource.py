"""A notification whose resource names a service the config does not manage while its own condition rules that
resource out: told to a person (`reasons.unselected_unmanaged`), never `skipped` as another team's alert. Pure: the
documented bad_revision OPEN (backend's 5xx, schema 1.2) with its resource re-pointed and its condition varied, read
by parse_notification.

Sources: "Notifications: schema 1.2 JSON" (Cloud Monitoring: the incident's `resource`, `condition`); AlertPolicy.
Condition and its PrometheusQueryLanguageCondition.labels, "Labels to add to or overwrite in the PromQL query result"
(google/monitoring/v3/alert.proto; the Java client's AlertPolicy.Condition.PrometheusQueryLanguageConditionOrBuilder
docs): whether those reach the incident's resource labels is UNCONFIRMED; "Monitoring filters" and "Logging query
language" for the comparisons; "Mapping Cloud Monitoring metrics to PromQL" for `run_googleapis_com:request_count`."""
from __future__ import annotations

import copy

import pytest

from shared.alerts.incidents import parse_notification
from shared.alerts.reasons import unselected_unmanaged
from tests.property.fast import scenario_model
from tests.property.harness import ANCHOR

DOCUMENT = scenario_model("bad_revision").notification(ANCHOR)
PROJECT, REGION = "demo-project", "us-central1"
BACKEND = f"projects/{PROJECT}/locations/{REGION}/services/backend"
MANAGED = [BACKEND, f"projects/{PROJECT}/locations/{REGION}/services/frontend"]
REQUESTS = 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"'
PROMQL = ('sum by (project_id, location, service_name) (rate(run_googleapis_com:request_count{{{}'
          'response_code_class="5xx"}}[5m])) > 1')


def _read(resource_labels: dict[str, str], kind: str = "conditionThreshold", text: str = "", **condition_fields):
    """The notification with its resource's labels changed by `resource_labels` and its condition of `kind` reading `text`."""
    document = copy.deepcopy(DOCUMENT)
    incident = document["incident"]
    incident["resource"]["labels"].update(resource_labels)
    old = incident["condition"]
    body = {"filter": text, **({k: v for k, v in old["conditionThreshold"].items() if k != "filter"}
                               if kind == "conditionThreshold" else {})} \
        if kind in ("conditionThreshold", "conditionMatchedLog") else {"query": text, "duration": "60s"}
    incident["condition"] = {"name": old["name"], "displayName": old["displayName"], kind: {**body, **condition_fields}}
    return parse_notification(document)


def _service(labels: dict[str, str]) -> str:
    merged = {"project_id": PROJECT, "location": REGION, "service_name": "backend", **labels}
    return f"projects/{merged['project_id']}/locations/{merged['location']}/services/{merged['service_name']}"


CHECKOUT = {"service_name": "checkout"}

# The condition rules out the resource it names: told, naming what it selects. On main all were `skipped`
# ("... is not a managed service: nothing was read or done") and no person heard of them.
CONTRADICTED = [
    ("a threshold selecting backend, on checkout", CHECKOUT, "conditionThreshold",
     f'{REQUESTS} AND resource.labels.service_name="backend"', "service_name 'checkout'", BACKEND),
    ("a threshold selecting one_of backend and frontend, on checkout", CHECKOUT, "conditionThreshold",
     f'{REQUESTS} AND resource.labels.service_name=one_of("backend", "frontend")', "service_name 'checkout'",
     ", ".join(MANAGED)),
    ("a threshold selecting us-central1, on europe-west1", {"location": "europe-west1"}, "conditionThreshold",
     f'{REQUESTS} AND resource.labels.service_name="backend" AND resource.labels.location="us-central1"',
     "location 'europe-west1'", BACKEND),
    ("a threshold excluding checkout, on checkout", CHECKOUT, "conditionThreshold",
     f'{REQUESTS} AND resource.labels.service_name!="checkout"', "service_name 'checkout'", ""),
    ("a PromQL query selecting backend, on checkout", CHECKOUT, "conditionPrometheusQueryLanguage",
     PROMQL.format('service_name="backend",'), "service_name 'checkout'", BACKEND),
    ("a PromQL query whose labels overwrite service_name, on checkout", CHECKOUT, "conditionPrometheusQueryLanguage",
     PROMQL.format('service_name="backend",'), "service_name 'checkout'", BACKEND),
    ("an MQL query filtering backend, on checkout", CHECKOUT, "conditionMonitoringQueryLanguage",
     "fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | filter resource.service_name == 'backend'"
     " | align rate(1m) | every 1m | condition val() > 1", "service_name 'checkout'", BACKEND),
    ("a log match on backend's request log, on checkout", CHECKOUT, "conditionMatchedLog",
     'resource.type="cloud_run_revision" AND resource.labels.service_name="backend" AND httpRequest.status>=500',
     "service_name 'checkout'", BACKEND),
]


@pytest.mark.parametrize("case, labels, kind, text, named, selected", CONTRADICTED, ids=[c[0] for c in CONTRADICTED])
def test_a_resource_its_own_condition_rules_out_is_told_to_a_person(case, labels, kind, text, named, selected):
    extra = {"labels": {"service_name": "checkout"}} if "overwrite" in case else {}
    incident = _read(labels, kind, text, **extra)
    told = unselected_unmanaged(incident, _service(labels), MANAGED)

    assert f"the notification contradicts itself: its resource has {named}, which its condition" in told, told
    assert "nothing was read or done; a person must look at it" in told
    assert (f"its condition selects the managed service{'s' if ',' in selected else ''} {selected}" in told) \
        == bool(selected), told
    assert "Policy 'backend 5xx ratio'" in told


# The resource is one its condition may select: another team's alert, skipped as before.
CONSISTENT = [
    ("a threshold selecting checkout", f'{REQUESTS} AND resource.labels.service_name="checkout"', "conditionThreshold"),
    ("a threshold selecting one_of including checkout",
     f'{REQUESTS} AND resource.labels.service_name=one_of("backend", "checkout")', "conditionThreshold"),
    ("a threshold selecting by prefix", f'{REQUESTS} AND resource.labels.service_name=starts_with("check")',
     "conditionThreshold"),
    ("a threshold selecting no service", REQUESTS, "conditionThreshold"),
    ("a regular expression not read (RE2 only)",
     f'{REQUESTS} AND resource.labels.service_name=monitoring.regex.full_match("\\\\pLcheckout")', "conditionThreshold"),
    ("a PromQL query grouping every service", PROMQL.format(""), "conditionPrometheusQueryLanguage"),
    ("a PromQL query matching by pattern", PROMQL.format('service_name=~"back.*",'), "conditionPrometheusQueryLanguage"),
]


@pytest.mark.parametrize("case, text, kind", CONSISTENT, ids=[c[0] for c in CONSISTENT])
def test_a_resource_its_condition_may_select_is_not_told(case, text, kind):
    incident = _read(CHECKOUT, kind, text)

    assert incident.resource_unselected == ""
    assert unselected_unmanaged(incident, _service(CHECKOUT), MANAGED) == ""


# A PromQL condition's `labels` that set a label naming the resource: whether the notification's resource carries the
# query result's labels before or after they are overwritten is UNCONFIRMED, so a resource that carries the value the
# policy wrote (or a template of other labels) may not be the one that alerted. Put in doubt (`condition_doubt`: no
# write, no `healthy`), and told when it names an unmanaged service. On main each was read as the resource it names:
# backend rolled back on a label over every service's series, checkout `skipped`.
EVERY_SERVICE = PROMQL.format("")


@pytest.mark.parametrize("labels, resource", [
    ({"service_name": "backend"}, {}),
    ({"service_name": "{{$labels.job}}"}, {}),
    ({"service_name": "${metric.label.job}"}, {}),
    ({"service_name": "checkout", "severity": "page"}, CHECKOUT),
    ({"location": "us-central1"}, {}),
], ids=["a constant it carries", "a template of another label", "a documentation variable of another label",
        "a constant naming an unmanaged service", "the location it carries"])
def test_a_query_label_the_resource_carries_may_not_be_what_alerted(labels, resource):
    incident = _read(resource, "conditionPrometheusQueryLanguage", EVERY_SERVICE, labels=labels)
    label = next(k for k in labels if k != "severity")

    assert incident.labels_overwritten.startswith(f"its PromQL condition's `labels` set {label} to "), \
        incident.labels_overwritten
    assert incident.labels_overwritten in incident.condition_doubt
    if resource:
        told = unselected_unmanaged(incident, _service(resource), MANAGED)
        assert "the notification may not name the resource that alerted" in told, told


@pytest.mark.parametrize("labels, query", [
    ({"severity": "page", "team": "payments"}, EVERY_SERVICE),        # no label naming the resource
    ({"service_name": "checkout"}, EVERY_SERVICE),                     # not what the resource carries: not applied
    ({"service_name": "{{ $labels.service_name }}"}, EVERY_SERVICE),  # the label's own value
    ({"service_name": "${resource.label.service_name}"}, EVERY_SERVICE),  # the same, as a documentation variable
    ({"service_name": "backend"}, PROMQL.format('service_name="backend",')),   # the query selects backend alone
], ids=["labels naming no resource", "a value the resource does not carry", "the label's own template",
        "the label's own documentation variable", "a query selecting the resource alone"])
def test_a_query_label_that_cannot_have_named_the_resource_is_no_doubt(labels, query):
    incident = _read({}, "conditionPrometheusQueryLanguage", query, labels=labels)

    assert incident.labels_overwritten == ""
    assert incident.condition_doubt == ""


def test_labels_on_a_threshold_condition_are_not_a_querys():
    """Only PrometheusQueryLanguageCondition has `labels` (alert.proto): the same key beside a filter is not read."""
    incident = _read({}, "conditionThreshold", f'{REQUESTS} AND resource.labels.service_name="backend"',
                     labels={"service_name": "backend"})

    assert incident.query_labels == {} and incident.labels_overwritten == ""


def test_a_condition_naming_only_unmanaged_services_is_another_teams_either_way():
    """Its condition selects payments, its resource says checkout: neither is managed, so no reading of it points to
    a managed service, and it is skipped as another team's, not told."""
    incident = _read(CHECKOUT, "conditionThreshold", f'{REQUESTS} AND resource.labels.service_name="payments"')

    assert incident.resource_unselected != ""
    assert unselected_unmanaged(incident, _service(CHECKOUT), MANAGED) == ""
