"""A CLOSED notification shows recovery only by Monitoring's own value on the clear side of its bar.

Monitoring closes an incident when its condition stops holding, and also when a snooze is applied to
its policy ("When you apply a snooze to a metric-based or SQL-based alerting policy, Monitoring also
closes all alerts related to the alerting policy", Cloud Monitoring, "Snoozes"), when its data stops
(AlertStrategy.auto_close), when its policy is edited or deleted (cancelled) and by hand. Whether
those closings send a CLOSED, and with which `observed_value`, is unconfirmed; the summary says
"returned to normal" even for the real cancelled one. Before, any CLOSED that was not cancelled
marked the incident's actions closed, and the sweep verified an action after an alert it cannot read
(memory, a connector's CPU) on that closing and clean requests: a person who snoozed the policy during
an escalating outage was told the fix worked. Now the actions keep what the CLOSED showed
(`incident_recovery`), and only that counts (tests/unit/test_verification_judging.py)."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.alerts.incidents import parse_notification
from shared.remediation.history import note_closed
from shared.remediation.records import ACTIONS, ActionRecord

from tests.unit.fakes import MemoryStateStore
from tests.unit.test_incidents import DOC_EXAMPLE, PUBSUB_CLOSED, PUBSUB_OPEN, doc

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
SERVICE = "projects/p/locations/us-central1/services/backend"


def closed(sample: str = DOC_EXAMPLE, version: str = "1.2", **incident: Any) -> dict[str, Any]:
    """A sample as a CLOSED notification with some fields replaced (None deletes the field)."""
    document = copy.deepcopy(doc(sample))
    document["version"] = version
    document["incident"].update(state="closed", ended_at=document["incident"]["started_at"] + 600)
    for key, value in incident.items():
        if value is None:
            document["incident"].pop(key, None)
        else:
            document["incident"][key] = value
    return document


def threshold_body(document: dict[str, Any]) -> dict[str, Any]:
    return document["incident"]["condition"]["conditionThreshold"]


def with_comparison(comparison: str, observed: str, threshold: str) -> dict[str, Any]:
    document = closed(observed_value=observed, threshold_value=threshold)
    # The condition's own bar is the same one (Incident.threshold_disagreement: two bars, neither read).
    threshold_body(document).update(comparison=comparison, thresholdValue=float(threshold))
    return document


def forecast() -> dict[str, Any]:
    document = closed()
    threshold_body(document)["forecastOptions"] = {"forecastHorizon": "3600s"}
    return document


def absent() -> dict[str, Any]:
    document = closed()
    condition = document["incident"]["condition"]
    condition["conditionAbsent"] = condition.pop("conditionThreshold")
    return document


SHOWS = [
    # name, notification, shows recovery
    ("the documented closed one: 0.835 under its 0.9 bar, COMPARISON_GT", closed(), True),
    ("the real cancelled one: prose in observed_value", closed(PUBSUB_CLOSED), False),
    ("closed with the value it fired at (a snooze, a close by hand)", closed(observed_value="0.95"), False),
    ("closed with no observed_value (data that stopped arriving)", closed(observed_value=None), False),
    ("closed with prose that is no number", closed(observed_value="No data"), False),
    ("closed with a value that is not finite", closed(observed_value="NaN"), False),
    ("the real open one's shape, closed at its firing value", closed(PUBSUB_OPEN), False),
    ("COMPARISON_GT, value at the bar: shows nothing (a rounded value may be just over)",
     with_comparison("COMPARISON_GT", "0.900", "0.9"), False),
    ("COMPARISON_GT, value under the bar", with_comparison("COMPARISON_GT", "0.899", "0.9"), True),
    ("COMPARISON_GE, value at the bar: still holding", with_comparison("COMPARISON_GE", "0.9", "0.9"), False),
    ("COMPARISON_LT (a drop), value back above the bar", with_comparison("COMPARISON_LT", "120", "100"), True),
    ("COMPARISON_LT, value still below the bar", with_comparison("COMPARISON_LT", "40", "100"), False),
    ("COMPARISON_LE, value at the bar: still holding", with_comparison("COMPARISON_LE", "100", "100"), False),
    ("COMPARISON_NE: no side to be on", with_comparison("COMPARISON_NE", "0.1", "0.9"), False),
    ("a forecast: its value is a prediction", forecast(), False),
    ("a metric-absence condition: no bar", absent(), False),
    ("another schema version", closed(version="1.1"), False),
    ("the console's test notification", closed(version="test"), False),
]


@pytest.mark.parametrize("name, notification, shows", SHOWS, ids=[s[0] for s in SHOWS])
def test_a_closed_shows_recovery_only_by_a_value_on_the_clear_side_of_its_bar(name, notification, shows):
    incident = parse_notification(notification)
    assert bool(incident.recovery_shown) is shows, incident.recovery_shown


def test_the_documented_closed_one_says_what_it_showed():
    assert parse_notification(closed()).recovery_shown == (
        "Monitoring closed it with a value of 0.835, below the condition's bar of 0.9 (COMPARISON_GT)")


def test_an_open_notification_shows_no_recovery():
    document = closed()
    document["incident"].update(state="open", ended_at=None)
    assert parse_notification(document).recovery_shown == ""


def _with_action(incident_id: str) -> MemoryStateStore:
    state = MemoryStateStore()
    record = ActionRecord(key=f"{incident_id}|{SERVICE}|scale_connector", incident_id=incident_id, target=SERVICE,
                          service=SERVICE, action="scale_connector", signature="connector_saturation",
                          reversible=False, applied_at=NOW - timedelta(minutes=5), settle_at=NOW,
                          deadline_at=NOW + timedelta(minutes=10))
    state.put_record(ACTIONS, record.key, record.model_dump(mode="python"))
    return state


@pytest.mark.parametrize("notification, recovery", [
    (closed(), "Monitoring closed it with a value of 0.835, below the condition's bar of 0.9 (COMPARISON_GT)"),
    (closed(observed_value="0.95"), ""),
])
def test_the_incidents_actions_keep_what_its_closed_showed(notification, recovery):
    """The closing is recorded either way (cited, and it holds back any later action); what counts as
    recovery is only what it showed."""
    incident = parse_notification(notification)
    state = _with_action(incident.incident_id)

    note_closed(state, incident, NOW)

    [action] = state.find_records(ACTIONS, "incident_id", incident.incident_id)
    record = ActionRecord.model_validate(action)
    assert record.incident_closed_at == NOW
    assert record.incident_recovery == recovery


def query_condition() -> dict[str, Any]:
    document = closed()
    condition = document["incident"]["condition"]
    condition.pop("conditionThreshold")
    condition["conditionMonitoringQueryLanguage"] = {
        "query": "fetch gce_instance | metric 'compute.googleapis.com/instance/cpu/utilization' "
                 "| group_by 2m, [value_utilization_min: min(value.utilization)] | condition val() > 0.9",
        "duration": "0s"}
    return document


REASONS = [
    # name, notification, what the resolved reason says (a value 0.835 under a bar of 0.9 in every one)
    ("a forecast", forecast(), "its condition is a forecast (forecastOptions): its value is a prediction"),
    ("a metric-absence condition", absent(), "its condition is a metric-absence condition, which has no bar"),
    ("an MQL condition", query_condition(), "its condition is a query (MQL, PromQL or SQL)"),
    ("COMPARISON_NE", with_comparison("COMPARISON_NE", "0.835", "0.9"),
     "its condition's comparison (COMPARISON_NE) has no side of its bar to be clear on"),
    ("no condition", closed(condition=None), "the notification carries no condition"),
    ("another schema version", closed(version="1.1"), "the notification is of schema version '1.1', not 1.2"),
]


@pytest.mark.parametrize("name, notification, words", REASONS, ids=[r[0] for r in REASONS])
def test_the_resolved_reason_says_why_a_value_under_the_bar_shows_nothing(name, notification, words):
    """Not "no value on the clear side of the condition's bar": its value is there, and why it shows
    nothing is what the condition is."""
    from shared.alerts.reasons import closed_reason
    reason = closed_reason(parse_notification(notification))
    assert words in reason and "so its observed_value '0.835' shows nothing" in reason, reason
    assert "no value on the clear side" not in reason, reason


def test_a_value_on_the_wrong_side_is_still_said_to_be_so():
    from shared.alerts.reasons import closed_reason
    reason = closed_reason(parse_notification(closed(observed_value="0.95")))
    assert "it carries observed_value '0.95' and no value on the clear side of the condition's bar" in reason, reason
