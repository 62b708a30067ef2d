"""A notification that lists its policy's conditions (`conditions`, beside the one `condition` it names):
schema 1.2 carries one `condition` (Cloud Monitoring's example, every sample); a relay that embeds the
policy may add the list. When it shows the policy has several conditions, or that the one it names is not
among them, the carried bar and value may be another condition's (AND: all met, "even if they are met on
completely different resources", google/monitoring/v3/alert.proto): the condition is in doubt, never
judged healthy nor taken as recovery. Pure: the samples are read from tests/fixtures/samples."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from shared.alerts.incidents import parse_notification

SAMPLE = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "samples"
                     / "monitoring_pubsub_threshold_open_gce__flanksource.json").read_text())
CARRIED = SAMPLE["incident"]["condition"]
NAME = CARRIED["name"]
OTHER = {"name": NAME.rsplit("/", 1)[0] + "/99", "displayName": "VM Instance - CPU utilization",
         "conditionThreshold": {"filter": 'metric.type="compute.googleapis.com/instance/cpu/utilization"',
                                "comparison": "COMPARISON_GT", "thresholdValue": 0.9}}


def _with(conditions) -> str:
    data = copy.deepcopy(SAMPLE)
    data["incident"]["conditions"] = conditions
    return parse_notification(data).condition_doubt


DOUBTED = [
    ("two conditions, the carried one first", [CARRIED, OTHER], "lists 2 conditions"),
    ("two conditions, the carried one last", [OTHER, CARRIED], "lists 2 conditions"),
    ("three, by display name only", [{"displayName": "a"}, {"displayName": "b"}, {"displayName": "c"}],
     "lists 3 conditions"),
    ("snake_case keys", [{"display_name": CARRIED["displayName"]}, {"display_name": "p99 latency"}],
     "lists 2 conditions"),
    ("one, another than the one carried", [OTHER], "not the condition it carries"),
]


@pytest.mark.parametrize("why, conditions, said", DOUBTED, ids=[row[0] for row in DOUBTED])
def test_a_listed_policy_of_several_conditions_puts_the_carried_bar_in_doubt(why, conditions, said):
    doubt = _with(conditions)

    assert said in doubt, doubt


CLEAR = [
    ("none listed", None),
    ("an empty list", []),
    ("the one carried, alone", [CARRIED]),
    ("the one carried, by display name", [{"displayName": CARRIED["displayName"]}]),
]


@pytest.mark.parametrize("why, conditions", CLEAR, ids=[row[0] for row in CLEAR])
def test_a_list_of_the_one_carried_condition_leaves_it_as_it_is(why, conditions):
    assert _with(conditions) == ""


def test_a_list_that_is_no_list_of_conditions_is_rejected_naming_the_field():
    data = copy.deepcopy(SAMPLE)
    data["incident"]["conditions"] = "VM Instance - Sent packets"

    with pytest.raises(Exception) as raised:
        parse_notification(data)
    assert "conditions" in str(raised.value)
