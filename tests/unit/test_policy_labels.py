"""An alert policy's user labels (`policy_user_labels`) and Runwarden's writes: `runwarden` other than
`enabled` holds every write back; nothing else in them (a severity, a team) changes what is done."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.alerts.incidents import parse_notification
from shared.alerts.policy_labels import policy_hold

HOLDS = [
    ({"runwarden": "off"}, "'runwarden': 'off'"),
    ({"runwarden": "disabled"}, "'runwarden': 'disabled'"),
    ({"runwarden": "false"}, "'runwarden': 'false'"),
    ({"runwarden": "observe"}, "'runwarden': 'observe'"),
    ({"runwarden": ""}, "'runwarden': ''"),
    ({"runwarden": "enable"}, "'runwarden': 'enable'"),              # a near miss is no consent
    ({"Runwarden": "OFF", "team": "payments"}, "'Runwarden': 'OFF'"),  # a relay's capitals
    ({" runwarden ": "off"}, "' runwarden ': 'off'"),
    ({"runwarden": "enabled", "RUNWARDEN": "off"}, "'RUNWARDEN': 'off'"),  # two spellings that disagree
]

ACTS = [
    {},
    {"user-label-1": "important label", "user-label-2": "another label"},   # the documented example's
    {"runwarden": "enabled"},
    {"runwarden": " Enabled "},
    {"severity": "low", "runwarden-owner": "sre"},    # a severity, a key that only starts with the name
    {"team": "off"},
]


@pytest.mark.parametrize("labels, said", HOLDS)
def test_a_runwarden_label_other_than_enabled_holds_the_write_back_quoting_it(labels, said):
    reason = policy_hold(labels, "backend 5xx")

    assert said in reason, reason
    assert "alert policy 'backend 5xx'" in reason and "nothing was written" in reason, reason


@pytest.mark.parametrize("labels", ACTS)
def test_no_runwarden_label_or_enabled_lets_runwarden_act(labels):
    assert policy_hold(labels, "backend 5xx") == ""


SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


def test_the_notifications_policy_user_labels_are_what_is_read():
    data = json.loads((SAMPLES / "monitoring_pubsub_threshold_open_gce__flanksource.json").read_text())
    data["incident"]["policy_user_labels"] = {"runwarden": False}    # a JSON false from a hand-built relay
    incident = parse_notification(data)

    assert "'runwarden': 'false'" in policy_hold(incident.policy_user_labels, incident.policy_name)
