"""Notifications that state no present failure, on services that fail now, through the pipeline's own entry
point on in-process parts (tests/property/fast.py): diagnosed, and escalated with the change a present failure
would have led to; nothing written.

A forecast (`conditionThreshold.forecastOptions`: "forecasts whether the time series is predicted to violate
the threshold within the forecast_horizon", google-cloud-monitoring types/alert.py), a metric absence
(`conditionAbsent`, PromQL's `absent(...)`, MQL's `absent_for`), a notification whose `condition` is missing or
abbreviated to its name (so a forecast or an absence reads as a crossing), and one whose parts name different
conditions of a policy of several (AlertPolicy.conditions, google/monitoring/v3/alert.proto). Before, each was
acted on as the live evidence alone said: a forecast "5xx share will cross 5 % within the hour" rolled back the
service's new revision, its start (when the prediction held) taken as the failure's, and a connector alert
of those forms proposed a scale. The plain threshold of the same policy still acts."""
from __future__ import annotations

import copy
import json

import pytest

from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

PROMQL_FORECAST = ('predict_linear(sum by (project_id, location, service_name) (rate(run_googleapis_com:request_count'
                   '{monitored_resource="cloud_run_revision",service_name="backend",response_code_class="5xx"}[30m]))'
                   '[1h:1m], 3600) > 5')
PROMQL_ABSENT = 'absent_over_time(run_googleapis_com:request_count{service_name="backend"}[10m])'
MQL_ABSENT = ("fetch cloud_run_revision\n| metric 'run.googleapis.com/request_count'\n"
              "| filter resource.service_name == 'backend'\n| align rate(1m)\n| every 1m\n| absent_for 600s")


def _threshold(incident: dict) -> dict:
    return incident["condition"]["conditionThreshold"]


def _forecast(horizon: str = "3600s", key: str = "forecastOptions"):
    def change(incident: dict) -> None:
        _threshold(incident)[key] = {"forecastHorizon": horizon} if key == "forecastOptions" else {
            "forecast_horizon": horizon}
    return change


def _abbreviated(incident: dict) -> None:
    incident["condition"] = {key: incident["condition"][key] for key in ("name", "displayName")}


def _absent(incident: dict) -> None:
    body = _threshold(incident)
    incident["condition"] = {"name": incident["condition"]["name"], "displayName": incident["condition_name"],
                             "conditionAbsent": {"filter": body["filter"], "duration": "600s"}}
    incident.pop("observed_value"), incident.pop("threshold_value")


def _query(kind: str, query: str):
    def change(incident: dict) -> None:
        incident["condition"] = {"name": incident["condition"]["name"], "displayName": incident["condition_name"],
                                 kind: {"query": query, "duration": "0s"}}
    return change


def _second_condition(incident: dict) -> None:
    incident["conditions"] = [{"name": incident["condition"]["name"], "displayName": incident["condition_name"]},
                              {"name": incident["condition"]["name"][:-3] + "999", "displayName": "5xx forecast"}]


def _other_condition_named(incident: dict) -> None:
    incident["condition_name"] = "5xx share forecast to cross 5 %"


# name: (change to the OPEN, words of the reason)
UNSTATED = {
    "a forecast (forecastOptions)": (_forecast(), "fired on a forecast (its condition's forecastOptions)"),
    "a forecast, snake_case, 2.5 days ahead": (_forecast("216000s", "forecast_options"), "fired on a forecast"),
    "a condition abbreviated to its name": (_abbreviated, "carries no condition kind"),
    "no condition at all": (lambda i: i.pop("condition"), "carries no condition kind"),
    "a metric absence": (_absent, "fired on a metric absence (conditionAbsent)"),
    "a PromQL forecast": (_query("conditionPrometheusQueryLanguage", PROMQL_FORECAST),
                          "is a forecast (PromQL predict_linear)"),
    "a PromQL absence": (_query("conditionPrometheusQueryLanguage", PROMQL_ABSENT),
                         "fires on a metric absence (absent_over_time)"),
    "an MQL absence": (_query("conditionMonitoringQueryLanguage", MQL_ABSENT), "fires on a metric absence (absent_for)"),
    "a condition met on missing data": (lambda i: _threshold(i).update(evaluationMissingData="EVALUATION_MISSING_DATA_ACTIVE"),
                                        "is met while its data is missing"),
    "a floor on the requests (a drop in traffic)": (lambda i: _threshold(i).update(comparison="COMPARISON_LT"),
                                                    "fall below a floor"),
    "a policy of two conditions": (_second_condition, "lists 2 conditions of its policy"),
    "another condition named than carried": (_other_condition_named, "names condition '5xx share forecast"),
}


def _answer(scenario: str, change):
    document = copy.deepcopy(scenario_model(scenario).notification(ANCHOR))
    change(document["incident"])
    world = FastWorld(seeded_copy(scenario, None), ANCHOR)
    answer = handle_alert(event(json.dumps(document).encode(), "1"), world.config, world.adapters)
    return answer, world


@pytest.mark.parametrize("name", UNSTATED)
def test_a_failing_revision_under_an_alert_that_states_no_present_failure_is_not_rolled_back(name):
    change, words = UNSTATED[name]

    answer, world = _answer("bad_revision", change)

    assert answer.status is OutcomeStatus.ESCALATED, answer.reason
    assert words in answer.reason and "nothing was written" in answer.reason, answer.reason
    assert answer.diagnosis is not None and answer.diagnosis.signature == "bad_revision"
    assert answer.action is not None and answer.action.name == "rollback_traffic" and answer.action.after is None
    assert world.standins.run.count("UpdateService") == 0


@pytest.mark.parametrize("name", ["a forecast (forecastOptions)", "a metric absence", "a condition abbreviated to its name"])
def test_a_saturated_connector_under_an_alert_that_states_no_present_failure_is_not_proposed(name):
    change, words = UNSTATED[name]

    answer, world = _answer("connector_saturation", change)

    assert answer.status is OutcomeStatus.ESCALATED, answer.reason
    assert words in answer.reason, answer.reason
    assert answer.action is not None and answer.action.name == "scale_connector" and answer.action.proposal_id is None
    assert world.standins.vpcaccess.count("UpdateConnector") == 0


# The same policy's present failure, in the forms that state one: each still acts.
STATED = {
    "the threshold itself": lambda i: None,
    "a forecastOptions of null (ProtoJSON omits it)": lambda i: _threshold(i).update(forecastOptions=None),
    "the condition moved into a `conditions` list of one": lambda i: i.update(conditions=[i.pop("condition")]),
    "threshold_value and thresholdValue disagreeing (the bar, not the condition, in doubt)":
        lambda i: i.update(threshold_value="0.5"),
}


@pytest.mark.parametrize("name", STATED)
def test_the_same_policy_stating_a_present_failure_still_rolls_back(name):
    answer, world = _answer("bad_revision", STATED[name])

    assert answer.status is OutcomeStatus.APPLIED, answer.reason
    assert world.standins.run.count("UpdateService") == 1
