"""A notification whose resource its condition's filter does not select, by any comparison the filter makes.

The notification's `resource` names what fired (schema 1.2, `incident.resource`, as
in tests/fixtures/samples); its `condition` says at which bar. When the condition's filter does not select that
resource (an OR policy of one condition per group of services, the notification carrying another group's condition;
which condition a notification of a policy of several carries is UNCONFIRMED), the bar, the value and whether a
present failure is stated at all are not that resource's: no `healthy`, no recovery, and no write (escalated with the
diagnosis and the change it would make: shared/alerts/present_failure.py `_another_condition`).

Before, only an equality and a `one_of` were read (shared/alerts/incidents.py `_FILTER_RESOURCE_LABEL`): a condition
selecting `starts_with("checkout-")`, `monitoring.regex.full_match("checkout-.*")`, `ends_with`, `has_substring`, a
Logging `=~`, or excluding the resource by `!=`, on a notification naming backend, lent its bar to backend and a
rollback of backend was written (scenario bad_revision_alert_condition_selects_other_services). Filters with their
sources: shared/alerts/label_filters.py.

Also here, as controls that pass on main (what main answers for alerts whose resource is not a Cloud Run service):
a connector's own policy, a Cloud SQL instance's, a SQL condition's, and a resource block missing or with only
project_id.
"""
from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.alerts.incidents import TargetKind, parse_notification
from shared.alerts.label_filters import LabelTest, label_tests, unselected
from shared.alerts.present_failure import alert_hold
from shared.config import DiagnosisSettings
from shared.diagnosis.health_bar import health_bar
from shared.diagnosis.scope import alert_context

from tests.property.fast import scenario_model
from tests.property.harness import ANCHOR

S = DiagnosisSettings()
BASE = 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" AND '


def notification(selection: str, **incident: Any) -> dict[str, Any]:
    """bad_revision's notification (resource: backend's revision), its condition's filter selecting `selection`."""
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    document["incident"].update(incident)
    document["incident"]["condition"]["conditionThreshold"]["filter"] = BASE + selection
    return document


# Each selects no resource whose service_name is "backend": every one failed on main (no doubt raised).
NOT_BACKEND = [
    'resource.labels.service_name = starts_with("checkout-")',
    'resource.label."service_name" = starts_with("checkout-")',
    'resource.labels.service_name = ends_with("-api")',
    'resource.labels.service_name = has_substring("checkout")',
    'resource.labels.service_name = monitoring.regex.full_match("checkout-.*")',
    'resource.labels.service_name = monitoring.regex.full_match("back")',
    'resource.labels.service_name =~ "^checkout"',
    'resource.labels.service_name != "backend"',
    'resource.labels.service_name !~ "^back"',
    'resource.labels.location = starts_with("europe-")',
    '(resource.labels.service_name = starts_with("checkout-") OR resource.labels.service_name = "cart")',
    # a negation by NOT or `-` (of one comparison, or of a group of alternatives) and Logging's `:` (has);
    # each failed on main (no doubt raised).
    'NOT resource.labels.service_name = "backend"',
    'NOT resource.labels.service_name = starts_with("back")',
    '-resource.labels.service_name = "backend"',
    'NOT (resource.labels.service_name = "backend")',
    'NOT (resource.labels.service_name = "backend" OR resource.labels.service_name = "cart")',
    'NOT (resource.labels.service_name = one_of("backend", "cart") OR metric.labels.response_code = "404")',
    'NOT (resource.label."service_name" = has_substring("ack"))',
    'resource.labels.service_name : "checkout"',
    'resource.labels.service_name:"front"',
    'NOT resource.labels.service_name : "back"',
]
NOT_BACKEND_IDS = ["starts-with", "starts-with-key-quoted", "ends-with", "has-substring", "regex-full-match",
                   "regex-full-match-is-whole", "logging-regex", "not-equal", "logging-not-regex",
                   "location-starts-with", "either-of-two-forms", "not-equal-by-not", "not-starts-with-by-not",
                   "not-by-minus", "not-group-of-one", "not-group-of-alternatives", "not-group-beside-metric-label",
                   "not-group-key-quoted", "has-other", "has-other-no-space", "not-has"]


@pytest.mark.parametrize("selection", NOT_BACKEND, ids=NOT_BACKEND_IDS)
def test_a_resource_its_condition_does_not_select_is_neither_judged_nor_acted_on(selection):
    incident = parse_notification(notification(selection))
    assert "its condition '5xx ratio above 5%' filters on" in incident.condition_doubt, incident.condition_doubt
    assert not health_bar(alert_context(incident), S).judged
    assert "nothing was written" in alert_hold(incident)
    # The target is still the resource the notification names: it is diagnosed, and a person decides.
    assert incident.target.kind is TargetKind.SERVICE and incident.target.name.endswith("/services/backend")


def test_the_doubt_says_what_the_condition_selects():
    incident = parse_notification(notification('resource.labels.service_name = starts_with("checkout-")'))
    assert ("the notification's resource has service_name 'backend', not the starts_with('checkout-') its condition"
            in incident.condition_doubt), incident.condition_doubt
    excluded = parse_notification(notification('resource.labels.service_name != "backend"'))
    assert "not the anything but 'backend' its condition" in excluded.condition_doubt, excluded.condition_doubt


def test_a_closed_on_a_resource_its_condition_does_not_select_by_prefix_shows_no_recovery():
    closed = notification('resource.labels.service_name = starts_with("checkout-")', state="closed",
                          observed_value="0.01")
    closed["incident"]["ended_at"] = closed["incident"]["started_at"] + 600
    assert parse_notification(closed).recovery_shown == ""


# Controls: each selects backend (or is not read), so the notification's condition is backend's as before.
SELECTS_BACKEND = [
    'resource.labels.service_name = starts_with("back")',
    'resource.labels.service_name = ends_with("end")',
    'resource.labels.service_name = has_substring("cken")',
    'resource.labels.service_name = monitoring.regex.full_match("back.*")',
    'resource.labels.service_name = monitoring.regex.full_match("gke-(hipster|nginx).*|backend")',
    'resource.labels.service_name =~ "^back"',
    'resource.labels.service_name != "frontend"',
    'resource.labels.service_name = one_of("a\\"b", "backend")',
    '(resource.labels.service_name = starts_with("checkout-") OR resource.labels.service_name = "backend")',
    # Controls: a negation of another service, a negated group joined by AND (it excludes backend only in
    # that location, which is not backend's: `excluding_groups`), a double negation, `:` selecting backend, `:*` (the label present), and NOT inside a quoted value.
    'NOT resource.labels.service_name = starts_with("front")',
    '-resource.labels.service_name = "frontend"',
    'NOT (resource.labels.service_name = "frontend" OR resource.labels.service_name = "cart")',
    'NOT (resource.labels.service_name = "backend" AND resource.labels.location = "asia-east1")',
    'NOT resource.labels.service_name != "backend"',
    'resource.labels.service_name : "back"',
    'resource.labels.service_name:*',
    'resource.labels.service_name = one_of("NOT (backend)", "backend")',
]
SELECTS_BACKEND_IDS = ["starts-with", "ends-with", "has-substring", "regex-full-match", "regex-alternatives",
                       "logging-regex", "not-equal-other", "one-of-escaped-quote", "either-of-two-forms",
                       "not-other-prefix", "minus-other", "not-group-others", "not-group-and-not-read",
                       "double-negation", "has", "has-anything", "not-in-quotes"]


@pytest.mark.parametrize("selection", SELECTS_BACKEND, ids=SELECTS_BACKEND_IDS)
def test_a_filter_selecting_the_resource_or_not_read_raises_no_doubt(selection):
    incident = parse_notification(notification(selection))
    assert incident.condition_doubt == "", incident.condition_doubt
    assert alert_hold(incident) == ""


# an unquoted value (Logging's `L=backend`; "Unquoted text must not contain any special characters", Cloud
# Logging, "Troubleshoot Logging query language"), and `NOT (a AND b)` (or Logging's implicit AND, `NOT (a b)`), which
# excludes a resource passing both. Each failed on main: the value, or the group, was not read, no doubt was raised,
# and the condition's bar was lent to backend (a `healthy`, a rollback). A value holding another character than
# letters, digits and `_` (`us-central1`) is not read, and raises doubt: where its `-` ends it is UNCONFIRMED, and no
# resource is selected under both readings.
NOT_BACKEND_UNQUOTED = [
    ("unquoted-other", 'resource.labels.service_name=frontend', "not the 'frontend'"),
    ("unquoted-other-spaced", 'resource.labels.service_name = frontend AND severity>=ERROR', "not the 'frontend'"),
    ("unquoted-not-equal", 'resource.labels.service_name!=backend', "not the anything but 'backend'"),
    ("unquoted-has-other", 'resource.labels.service_name:front', "not the has('front')"),
    ("unquoted-in-parentheses", '(resource.labels.service_name=frontend)', "not the 'frontend'"),
    ("unquoted-hyphen-not-read", 'resource.labels.service_name=checkout-api',
     "with an unquoted value, checkout-api, not read (quote it)"),
    ("unquoted-location-not-read", 'resource.labels.location=us-central1',
     "with an unquoted value, us-central1, not read (quote it)"),
    ("unquoted-not-equal-not-read", 'resource.labels.service_name!=checkout-api',
     "with anything but an unquoted value, checkout-api, not read (quote it)"),
    ("not-group-and-excludes", 'NOT (resource.labels.service_name = "backend" AND resource.labels.location = '
     '"us-central1")', "which its condition '5xx ratio above 5%' excludes"),
    ("not-group-implicit-and-excludes", 'NOT (resource.labels.service_name="backend" '
     'resource.labels.location="us-central1")', "excludes (NOT of service_name 'backend' and location"),
    ("minus-group-and-excludes", '-(resource.labels.service_name = "backend" AND resource.labels.location = '
     'starts_with("us-"))', "excludes (NOT of"),
    ("not-group-and-not-read", 'NOT (resource.labels.service_name = "backend" AND resource.labels.location = '
     'us-central1)', "whether the notification's resource"),
]


def _doubted(selection: str, said: str):
    """The notification of a condition with `selection`: its doubt says `said`, its bar is not judged, and the
    alert is held with nothing written."""
    incident = parse_notification(notification(selection))
    assert said in incident.condition_doubt, incident.condition_doubt
    assert not health_bar(alert_context(incident), S).judged
    assert "nothing was written" in alert_hold(incident)
    return incident


@pytest.mark.parametrize("selection, said", [row[1:] for row in NOT_BACKEND_UNQUOTED],
                         ids=[row[0] for row in NOT_BACKEND_UNQUOTED])
def test_an_unquoted_value_or_a_negated_conjunction_that_may_exclude_the_resource_is_not_lent_its_bar(selection, said):
    incident = _doubted(selection, said)
    assert incident.target.kind is TargetKind.SERVICE and incident.target.name.endswith("/services/backend")


def test_an_unquoted_resource_type_of_another_resource_raises_doubt():
    """`resource.type=gce_instance` unquoted names the type as its quoted form does (failed on main, the
    unquoted type not read, and a VM's condition lent its bar to backend)."""
    document = notification("")
    document["incident"]["condition"]["conditionThreshold"]["filter"] = (
        'metric.type="run.googleapis.com/request_count" AND resource.type=gce_instance')
    incident = parse_notification(document)
    assert "not the gce_instance its condition" in incident.condition_doubt, incident.condition_doubt


# Controls: an unquoted value selecting backend, a negated conjunction backend passes one part of (it selects backend
# there), one holding another field's comparison (it selects backend for the other series), and an alternative
# selecting backend beside an unquoted value not read. `NOT (a b)` (implicit AND) failed on main: read as
# alternatives, it excluded backend everywhere, and backend's alert was escalated though its condition selects it.
SELECTS_BACKEND_UNQUOTED = [
    ("unquoted-same", 'resource.labels.service_name=backend AND severity>=ERROR'),
    ("unquoted-has", 'resource.labels.service_name:back'),
    ("unquoted-not-other", 'NOT resource.labels.service_name=frontend'),
    ("not-group-implicit-and-other-location", 'NOT (resource.labels.service_name="backend" '
     'resource.labels.location="asia-east1")'),
    ("not-group-and-beside-metric-label", 'NOT (resource.labels.service_name = "backend" AND '
     'metric.labels.response_code = "500")'),
    ("either-backend-or-not-read", '(resource.labels.service_name = "backend" OR '
     'resource.labels.service_name = checkout-api)'),
    ("unquoted-type-same", 'resource.type=cloud_run_revision'),
]


def _undoubted(selection: str) -> None:
    """The notification of a condition with `selection` raises no doubt and holds nothing back."""
    incident = parse_notification(notification(selection))
    assert incident.condition_doubt == "", incident.condition_doubt
    assert alert_hold(incident) == ""


@pytest.mark.parametrize("selection", [row[1] for row in SELECTS_BACKEND_UNQUOTED],
                         ids=[row[0] for row in SELECTS_BACKEND_UNQUOTED])
def test_an_unquoted_value_or_a_negated_conjunction_selecting_the_resource_raises_no_doubt(selection):
    _undoubted(selection)


# a negated group comparing the resource's type, or one not read (a nested negation, AND mixed with OR,
# a resource's comparison joined by AND to `metric.type`, or to `:*`), may exclude backend's revision. Each failed on
# main: the type was read as another field's comparison and the group as one not read, no doubt was raised, and the
# condition's bar was lent to backend. Logging binds NOT tightest, then OR, then AND ("Logging query language",
# "Boolean operators": `"a" OR NOT "b" AND NOT "c" OR "d"` is `("a" OR (NOT "b")) AND ((NOT "c") OR "d")`);
# Monitoring filters' precedence is UNCONFIRMED: a group mixing them is not read, and raises doubt.
NOT_BACKEND_GROUPS = [
    ("type-and-service", 'NOT (resource.type = "cloud_run_revision" AND resource.labels.service_name = "backend")',
     "excludes (NOT of resource.type 'cloud_run_revision' and service_name 'backend')"),
    ("type-alternatives", 'NOT (resource.type = "cloud_run_revision" OR resource.labels.service_name = "cart")',
     "has resource.type 'cloud_run_revision', not the anything but 'cloud_run_revision'"),
    ("type-and-unquoted", 'NOT (resource.type=cloud_run_revision resource.labels.location="us-central1")',
     "excludes (NOT of resource.type 'cloud_run_revision' and location 'us-central1')"),
    ("nested-not", 'NOT (resource.labels.service_name = "cart" OR NOT resource.labels.service_name = "backend")',
     "negates a group Runwarden does not read"),
    ("nested-minus-group", 'NOT (resource.labels.location = "asia-east1" OR -(resource.labels.service_name = '
     '"backend"))', "negates a group Runwarden does not read"),
    ("nested-not-and", 'NOT (resource.labels.service_name = "backend" AND NOT resource.labels.location = '
     '"asia-east1")', "negates a group Runwarden does not read"),
    ("and-mixed-with-or", 'NOT (resource.labels.service_name = "backend" AND resource.labels.location = "asia-east1" '
     'OR resource.labels.location = "us-central1")', "negates a group Runwarden does not read"),
    ("and-metric-type", 'NOT (resource.labels.service_name = "backend" AND metric.type = '
     '"run.googleapis.com/request_count")', "negates a group Runwarden does not read"),
    ("and-label-present", 'NOT (resource.labels.service_name = "backend" AND resource.labels.location:*)',
     "negates a group Runwarden does not read"),
]


@pytest.mark.parametrize("selection, said", [row[1:] for row in NOT_BACKEND_GROUPS],
                         ids=[row[0] for row in NOT_BACKEND_GROUPS])
def test_a_negated_group_that_may_exclude_the_resource_or_is_not_read_raises_doubt(selection, said):
    _doubted(selection, said)


# Controls: a negated group of another resource type (with backend, or as an alternative), a group of other fields
# alone (whatever it excludes, it excludes of every resource alike), and a conjunction with a field differing between
# one resource's series (it selects backend for the others).
SELECTS_BACKEND_GROUPS = [
    ("other-type-and-service", 'NOT (resource.type = "gce_instance" AND resource.labels.service_name = "backend")'),
    ("other-type-alternatives", 'NOT (resource.type = "gce_instance" OR resource.labels.service_name = "cart")'),
    ("metric-labels-nested", 'NOT (metric.labels.response_code = "500" AND NOT metric.labels.method = "GET")'),
    ("and-metric-label-and-type", 'NOT (resource.type = "cloud_run_revision" AND metric.labels.response_code_class '
     '= "4xx")'),
]


@pytest.mark.parametrize("selection", [row[1] for row in SELECTS_BACKEND_GROUPS],
                         ids=[row[0] for row in SELECTS_BACKEND_GROUPS])
def test_a_negated_group_selecting_the_resource_raises_no_doubt(selection):
    _undoubted(selection)


# a comparison not read for backend may not select it, and raises doubt. A regular expression Python's `re`
# does not read as RE2 does (too costly to match, not compiled, RE2's own syntax: `[[:alpha:]]`), or a value differing
# from backend's only in case (whether Monitoring filters compare without case is UNCONFIRMED). Each failed on main: a
# selection not read was taken to select backend, and its bar was lent ("(checkout)+-.*" selects no backend).
NOT_BACKEND_UNREAD = [
    ("regex-of-others-not-read", 'resource.labels.service_name = monitoring.regex.full_match("(checkout)+-.*")',
     "which Runwarden does not read for the notification's resource"),
    ("nested-quantifier-not-read", 'resource.labels.service_name = monitoring.regex.full_match("(a+)+$")',
     "which Runwarden does not read"),
    ("bad-regex-not-read", 'resource.labels.service_name = monitoring.regex.full_match("[unclosed")',
     "which Runwarden does not read"),
    ("posix-class-not-read", 'resource.labels.service_name = monitoring.regex.full_match("[[:lower:]]+-api")',
     "which Runwarden does not read"),
    ("negated-regex-not-read", 'resource.labels.service_name !~ "(a+)+"', "anything but =~ '(a+)+'"),
    ("equals-other-case", 'resource.labels.service_name = "Backend"', "differing only in case"),
    ("not-equal-other-case", 'resource.labels.service_name != "BACKEND"', "differing only in case"),
    ("has-other-case", 'resource.labels.service_name:"END"', "differing only in case"),
]


@pytest.mark.parametrize("selection, said", [row[1:] for row in NOT_BACKEND_UNREAD],
                         ids=[row[0] for row in NOT_BACKEND_UNREAD])
def test_a_selection_not_read_for_the_resource_is_not_lent_its_bar(selection, said):
    _doubted(selection, said)


def log_match(filter_: str, **incident: Any) -> dict[str, Any]:
    """bad_revision's notification (backend's revision) carrying a log-match condition of `filter_`."""
    document = notification("", **incident)
    condition = document["incident"]["condition"]
    document["incident"]["condition"] = {"name": condition["name"], "displayName": condition["displayName"],
                                         "conditionMatchedLog": {"filter": filter_}}
    return document


# Logging compares text without case ("String comparisons are not case sensitive", Cloud Logging, "Logging query
# language"): `!= "Backend"` excludes backend, `= "Backend"` selects it. The first two failed on main (backend read as
# selected, no doubt); the control failed on main too (backend read as not selected: escalated for nothing).
@pytest.mark.parametrize("filter_, said", [
    ('resource.type="cloud_run_revision" AND resource.labels.service_name != "Backend"', "not the anything but"),
    ('resource.type="cloud_run_revision" AND NOT (resource.labels.service_name = "BACKEND" AND '
     'resource.labels.location = "us-central1")', "excludes (NOT of service_name 'BACKEND'"),
], ids=["not-equal-other-case", "not-group-other-case"])
def test_a_log_match_filter_excluding_the_resource_in_another_case_raises_doubt(filter_, said):
    incident = parse_notification(log_match(filter_))
    assert said in incident.condition_doubt, incident.condition_doubt
    assert "nothing was written" in alert_hold(incident)


def test_a_log_match_filter_selecting_the_resource_in_another_case_raises_no_doubt():
    incident = parse_notification(log_match('resource.type="cloud_run_revision" AND resource.labels.service_name = '
                                            '"Backend" AND severity>=ERROR'))
    assert incident.condition_doubt == "", incident.condition_doubt


# A double negation is what it negates: `NOT (NOT (a AND b))` selects a resource passing a and b. The controls failed
# on main (the group not read: doubt raised, escalated for nothing); the selection of others failed on main too (its
# doubt said only that the group was not read). A deeper nesting stays not read, and raises doubt (passes on main).
@pytest.mark.parametrize("selection", [
    'NOT (NOT (resource.labels.service_name = "backend" AND resource.labels.location = "us-central1"))',
    'NOT (NOT resource.labels.service_name = "backend")',
    '-(-(resource.labels.service_name = "backend"))',
], ids=["double-not-group", "double-not-comparison", "double-minus"])
def test_a_double_negation_of_the_resources_selection_raises_no_doubt(selection):
    _undoubted(selection)


@pytest.mark.parametrize("selection, said", [
    ('NOT (NOT (resource.labels.service_name = "cart" OR resource.labels.service_name = "frontend"))',
     "not the 'cart' or 'frontend'"),
    ('NOT (NOT (resource.labels.service_name = "backend" AND resource.labels.location = "asia-east1"))',
     "not the 'asia-east1'"),
    ('NOT (NOT (NOT (resource.labels.service_name = "frontend" AND resource.labels.location = "us-central1")))',
     "negates a group Runwarden does not read"),
], ids=["double-not-of-others", "double-not-other-location", "triple-not-stays-unread"])
def test_a_double_negation_of_another_selection_raises_doubt(selection, said):
    _doubted(selection, said)


# A selection by a metadata label (`metadata.user_labels."team"`, as Cloud Monitoring's example notification's condition
# selects `metadata.system_labels."state"`) is read against the notification's own `metadata` when it carries the label,
# and raises doubt when it does not (every real sample carries the block empty) or when it is written in a form not read.
# Each doubted row failed on main: no selection by metadata was read, and the condition's bar was lent to backend.
def _with_metadata(selection: str, user_labels: dict[str, str]) -> dict[str, Any]:
    document = notification(selection)
    document["incident"]["metadata"] = {"system_labels": {}, "user_labels": user_labels}
    return document


@pytest.mark.parametrize("selection, user_labels, said", [
    ('metadata.user_labels."team" = "payments"', {}, "which the notification's `metadata` does not carry"),
    ('metadata.user_labels.team = "payments"', {"team": "checkout"},
     "has metadata label user_labels.team 'checkout', not the 'payments'"),
    ('NOT (metadata.user_labels.team = "payments")', {"team": "checkout"}, "in a form Runwarden does not read"),
], ids=["not-carried", "carried-other", "negated-group-not-read"])
def test_a_selection_by_a_metadata_label_not_carried_or_not_met_raises_doubt(selection, user_labels, said):
    incident = parse_notification(_with_metadata(selection, user_labels))
    assert said in incident.condition_doubt, incident.condition_doubt
    assert not health_bar(alert_context(incident), S).judged
    assert "nothing was written" in alert_hold(incident)


def test_a_selection_by_a_metadata_label_the_notification_carries_raises_no_doubt():
    incident = parse_notification(_with_metadata('metadata.user_labels."team" = "payments"', {"team": "payments"}))
    assert incident.condition_doubt == "", incident.condition_doubt


# Monitoring's summary names the resource's system labels ("... and system labels {state=ACTIVE} returned to normal",
# Cloud Monitoring's own example): read as the notification stating them (the example's condition selects
# `metadata.system_labels."state"="ACTIVE"`); a summary and a block that disagree state neither.
@pytest.mark.parametrize("summary, system_labels, said", [
    ("5xx for backend with metric labels {} and system labels {state=ACTIVE} is above the threshold", {}, ""),
    ("5xx for backend with metric labels {} and system labels {state=STOPPED, zone=x} is above the threshold", {},
     "has metadata label system_labels.state 'STOPPED', not the 'ACTIVE'"),
    ("5xx for backend and system labels {state=ACTIVE} is above the threshold", {"state": "STOPPED"},
     "which the notification's `metadata` does not carry"),
], ids=["summary-states-it", "summary-states-another", "summary-and-block-disagree"])
def test_a_selection_by_a_system_label_is_read_from_the_summary(summary, system_labels, said):
    document = notification('metadata.system_labels."state" = "ACTIVE"', summary=summary)
    document["incident"]["metadata"] = {"system_labels": system_labels, "user_labels": {}}
    doubt = parse_notification(document).condition_doubt
    assert (said in doubt and doubt) if said else doubt == "", doubt


def test_a_promql_selection_by_a_metadata_label_raises_doubt():
    """PromQL's `metadata_user_<key>` ("PromQL in Cloud Monitoring"): not read, so doubted (failed on main)."""
    document = notification("")
    condition = document["incident"]["condition"]
    document["incident"]["condition"] = {"name": condition["name"], "displayName": condition["displayName"],
                                         "conditionPrometheusQueryLanguage": {"query": (
                                             'sum(rate(run_googleapis_com:request_count{service_name="backend",'
                                             'metadata_user_team="payments"}[5m])) > 1')}}
    incident = parse_notification(document)
    assert "selects by metadata label metadata_user_team" in incident.condition_doubt, incident.condition_doubt


# A field of a log entry's payload or a metric label named like a resource's field (`jsonPayload.resource.labels.x`,
# `jsonPayload.metadata.user.id`, `metric.labels.metadata_user_id`) is the entry's or series' own, no selection of a
# resource: only `resource.` and `metadata.` at the start of a field name are. Each "no doubt" row failed on
# main (escalated for nothing: read as a metadata label, or as a location backend is not in); the last failed on main
# too (no doubt: the payload's service_name was read as an alternative selecting backend, and frontend's bar lent it).
@pytest.mark.parametrize("filter_", [
    'resource.type="cloud_run_revision" AND resource.labels.service_name="backend" AND jsonPayload.metadata.user.id="u1"',
    'resource.type="cloud_run_revision" AND resource.labels.service_name="backend" AND '
    'jsonPayload.metadata.user_labels.team="payments"',
    'resource.type="cloud_run_revision" AND resource.labels.service_name="backend" AND '
    'jsonPayload.resource.labels.location="europe-west1"',
], ids=["payload-metadata-user", "payload-metadata-user-labels", "payload-resource-location"])
def test_a_payload_field_named_like_a_resources_raises_no_doubt(filter_):
    incident = parse_notification(log_match(filter_))
    assert incident.condition_doubt == "", incident.condition_doubt


def test_a_metric_label_named_like_a_metadata_label_raises_no_doubt():
    incident = parse_notification(notification('resource.labels.service_name="backend" AND '
                                               'metric.labels.metadata_user_id="u1"'))
    assert incident.condition_doubt == "", incident.condition_doubt


def test_a_payload_field_naming_the_resource_does_not_select_it():
    incident = parse_notification(log_match('resource.type="cloud_run_revision" AND resource.labels.service_name='
                                            '"frontend" AND jsonPayload.resource.labels.service_name="backend"'))
    assert "not the 'frontend'" in incident.condition_doubt, incident.condition_doubt
    assert "nothing was written" in alert_hold(incident)


def test_a_payload_field_naming_a_resource_type_does_not_select_it():
    """Failed on main: `jsonPayload.resource.type` was read as the condition selecting Cloud Run revisions too."""
    incident = parse_notification(log_match('resource.type="k8s_container" AND '
                                            'jsonPayload.resource.type="cloud_run_revision"'))
    assert "not the k8s_container its condition" in incident.condition_doubt, incident.condition_doubt
    control = parse_notification(log_match('resource.type="cloud_run_revision" AND resource.labels.service_name='
                                           '"backend" AND jsonPayload.resource.type="gce_instance"'))
    assert control.condition_doubt == "", control.condition_doubt


def test_a_malformed_metadata_block_is_no_refusal():
    """The block is read only to judge a selection: a list, a number or a system label's list value refuses nothing."""
    for metadata in (["x"], 7, {"system_labels": {"tags": ["a", "b"], "spot": False}, "user_labels": "x"}):
        document = notification("")
        document["incident"]["metadata"] = metadata
        assert parse_notification(document).condition_doubt == ""


def test_a_query_conditions_bare_words_are_no_values():
    """In a query (PromQL, MQL, SQL) a bare word after `=` is a name, not a value: no unquoted value is read there."""
    assert label_tests("resource.labels.service_name = backend_col", unquoted=False) == []
    assert label_tests("resource.labels.service_name = backend_col")[0].values == ("backend_col",)


@pytest.mark.parametrize("text, value, failed", [
    ('resource.labels.service_name = "a b"', "ab", True),
    ('resource.labels.service_name = "a b"', "a b", False),
    ('resource.labels.service_name = "a\\"b"', 'a"b', False),
    ('resource.labels.service_name = one_of("x)", "y")', "y", False),
    ('resource.labels.service_name = one_of("x)", "y")', "z", True),
    ('resource.labels.service_name = monitoring.regex.full_match("' + ".*" * 4 + 'x")', "a" * 250, None),
    ('resource.labels.service_name = monitoring.regex.full_match("[[:alpha:]]+")', "backend", None),
], ids=["space-other", "space-same", "escaped-quote", "paren-in-one-of", "paren-in-one-of-other", "four-stars-not-read",
        "posix-class-not-read"])
def test_label_tests_read_quoted_values_whole(text, value, failed):
    tests = label_tests(text)
    found = unselected(tests, value)
    if failed is None:      # not read: it may not select the resource (before, read as selecting it)
        assert found == tests and tests[0].passes(value) is None
    else:
        assert (found is not None) is failed, (tests, found)


def test_label_tests_show_each_form():
    assert LabelTest("service_name", "equals", ("a", "b")).shown == "'a' or 'b'"
    assert LabelTest("service_name", "regex", ("^a",), negated=True).shown == "anything but =~ '^a'"


# --- controls: alerts whose resource is not a Cloud Run service (pass on main) -----------------------------------

def _resource(document: dict[str, Any], kind: str, labels: dict[str, str], metric: str, filter_: str) -> dict[str, Any]:
    incident = document["incident"]
    incident["resource"] = {"type": kind, "labels": labels}
    incident["metric"] = {"type": metric, "displayName": metric.rsplit("/", 1)[-1], "labels": {}}
    incident["condition"]["conditionThreshold"]["filter"] = filter_
    incident["condition"]["conditionThreshold"].pop("denominatorFilter", None)
    return document


CONNECTOR_CPU = ('metric.type="vpcaccess.googleapis.com/connector/cpu/utilizations" AND '
                 'resource.type="vpc_access_connector"')


def test_a_connectors_own_policy_names_the_connector_by_project_id_not_a_service():
    """A connector's policy (cpu/utilizations, p99 above 0.7): the connector is the target; the
    services behind it are found by their serving revisions (shared/diagnosis/scope.users), none named here."""
    document = _resource(copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR)), "vpc_access_connector",
                         {"project_id": "demo-project", "location": "us-central1", "connector_name": "shared-conn"},
                         "vpcaccess.googleapis.com/connector/cpu/utilizations", CONNECTOR_CPU)
    incident = parse_notification(document)
    assert incident.target.kind is TargetKind.CONNECTOR
    assert incident.target.name == "projects/demo-project/locations/us-central1/connectors/shared-conn"
    assert incident.cloud_run_service is None and incident.condition_doubt == ""


@pytest.mark.parametrize("labels", [
    {"connector_name": "shared-conn"},
    {"project_id": "demo-project", "connector_name": "shared-conn"},
    {"project_id": "demo-project", "location": "us-central1"},
], ids=["grouped-by-name-only", "no-location", "no-name"])
def test_a_connector_alert_missing_a_naming_label_names_nothing(labels):
    document = _resource(copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR)), "vpc_access_connector",
                         labels, "vpcaccess.googleapis.com/connector/cpu/utilizations", CONNECTOR_CPU)
    target = parse_notification(document).target
    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy and "connector" in target.reason


@pytest.mark.parametrize("metric", ["cloudsql.googleapis.com/database/cpu/utilization",
                                    "cloudsql.googleapis.com/database/network/connections",
                                    "cloudsql.googleapis.com/database/postgresql/num_backends",
                                    "cloudsql.googleapis.com/database/disk/utilization"])
def test_a_cloud_sql_policy_names_the_instance_never_a_service(metric):
    document = _resource(copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR)), "cloudsql_database",
                         {"project_id": "demo-project", "database_id": "demo-project:main", "region": "us-central1"},
                         metric, f'metric.type="{metric}" AND resource.type="cloudsql_database"')
    incident = parse_notification(document)
    assert incident.target.kind is TargetKind.CLOUDSQL and incident.target.name == "demo-project:us-central1:main"
    assert incident.cloud_run_service is None


@pytest.mark.parametrize("resource", [None, {}, {"labels": {"project_id": "demo-project"}},
                                      {"type": "cloud_run_revision", "labels": {"project_id": "demo-project"}}],
                         ids=["missing", "empty", "labels-only-project", "revision-only-project"])
def test_a_resource_block_missing_or_with_only_project_id_names_nothing(resource):
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    if resource is None:
        del document["incident"]["resource"]
    else:
        document["incident"]["resource"] = resource
    target = parse_notification(document).target
    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy


def test_a_sql_condition_naming_no_resource_names_nothing():
    """A SQL condition (conditionSql, Log Analytics): which resource its notification carries is UNCONFIRMED (no
    sample); carrying none, nothing is named, whatever service its query reads."""
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    incident = document["incident"]
    incident["condition"] = {"displayName": "5xx rows", "name": incident["condition"]["name"],
                             "conditionSql": {"query": "SELECT COUNT(*) FROM `p.global._Default._AllLogs` WHERE "
                                                       "resource.labels.service_name = 'backend'",
                                              "minutes": {"periodicity": 5}, "rowCountTest": {
                                                  "comparison": "COMPARISON_GT", "threshold": 10}}}
    incident["resource"] = {"type": "", "labels": {}}
    incident["metric"] = {"type": "", "labels": {}}
    target = parse_notification(document).target
    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy
