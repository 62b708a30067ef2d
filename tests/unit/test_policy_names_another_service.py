"""A policy whose labels name another service (or connector) than the resource whose series crossed its condition.

The resource labels say which series Monitoring measured; a policy's user labels (AlertPolicy.user_labels) and the
resource's metadata labels are words a person wrote. When they name different services, which one the policy's owner
meant is unknown: the resource is still what is read, but nothing of the condition is lent to it (no write, no
`healthy`, no recovery) and the person is told both names. Before, the label was never read: a policy labelled
`service: checkout` whose series was backend's rolled backend back, or called it healthy."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.alerts.incidents import parse_notification
from shared.alerts.present_failure import alert_hold
from shared.config import DiagnosisSettings
from shared.diagnosis.health_bar import health_bar
from shared.diagnosis.scope import alert_context

from tests.property.fast import scenario_model
from tests.property.harness import ANCHOR

S = DiagnosisSettings()
BACKEND = "projects/demo-project/locations/us-central1/services/backend"


def notification(scenario: str = "bad_revision", policy_labels: dict[str, str] | None = None,
                 user_labels: dict[str, str] | None = None, system_labels: dict[str, str] | None = None) -> Any:
    document = copy.deepcopy(scenario_model(scenario).notification(ANCHOR))
    incident = document["incident"]
    if policy_labels is not None:
        incident["policy_user_labels"] = policy_labels
    incident["metadata"] = {"user_labels": user_labels or {}, "system_labels": system_labels or {}}
    return parse_notification(document)


# (policy_user_labels, metadata.user_labels, metadata.system_labels, the other name the reason quotes)
DISAGREE = [
    ({"service": "checkout"}, None, None, "'checkout'"),
    ({"service_name": "checkout", "team": "payments"}, None, None, "'checkout'"),
    ({"Service": " Checkout "}, None, None, "'Checkout'"),                 # a relay's capitals and spaces
    ({"cloud-run-service": "checkout"}, None, None, "'checkout'"),
    ({"service": "backend", "service_name": "checkout"}, None, None, "'checkout'"),   # two that disagree
    (None, {"service": "checkout"}, None, "'checkout'"),                    # the resource's own user label
    (None, None, {"service_name": "checkout"}, "'checkout'"),
    ({"service": "backend"}, {"service": "checkout"}, None, "'checkout'"),  # the policy agrees, the resource not
    ({"service": "backend-v2"}, None, None, "'backend-v2'"),                # a near name is another service
]

AGREE = [
    None,
    {},
    {"service": "backend"},
    {"Service": " Backend "},
    {"team": "checkout", "app": "checkout", "component": "checkout"},   # an owner's grouping, no service's name
    {"service": ""},
    {"runwarden": "enabled", "severity": "critical"},
    {"user-label-1": "important label", "user-label-2": "another label"},   # the documented example's
]


@pytest.mark.parametrize("policy_labels, user_labels, system_labels, other", DISAGREE)
def test_a_label_naming_another_service_puts_the_condition_in_doubt_naming_both(policy_labels, user_labels,
                                                                                  system_labels, other):
    incident = notification(policy_labels=policy_labels, user_labels=user_labels, system_labels=system_labels)

    assert incident.target.name == BACKEND   # the series crossed is still what is read
    doubt = incident.condition_doubt
    assert other in doubt and "'backend'" in doubt and "resource.labels.service_name" in doubt, doubt
    hold = alert_hold(incident)
    assert other in hold and "nothing was written" in hold, hold
    bar = health_bar(alert_context(incident), S)
    assert not bar.judged


@pytest.mark.parametrize("policy_labels", AGREE)
def test_labels_naming_no_other_service_change_nothing(policy_labels):
    incident = notification(policy_labels=policy_labels)

    assert incident.condition_doubt == ""
    assert alert_hold(incident) == ""


@pytest.mark.parametrize("labels, doubted", [
    ({"connector": "other-conn"}, True),
    ({"connector_name": "other-conn"}, True),
    ({"service": "checkout"}, False),   # a connector's policy may name a service that uses it
])
def test_a_connector_policy_naming_another_connector_is_in_doubt(labels, doubted):
    incident = notification("connector_alert_shared", policy_labels=labels)

    assert bool(incident.condition_doubt) is doubted, incident.condition_doubt
    assert bool(alert_hold(incident)) is doubted
    if doubted:
        assert "'other-conn'" in incident.condition_doubt and "resource.labels.connector_name" in incident.condition_doubt


def test_a_closed_notification_labelled_for_another_service_is_not_taken_as_recovery():
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR, state="closed"))
    document["incident"]["policy_user_labels"] = {"service": "checkout"}

    incident = parse_notification(document)

    assert "'checkout'" in incident.recovery_doubt, incident.recovery_doubt
