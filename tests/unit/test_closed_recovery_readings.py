"""A CLOSED whose clear-side value may not be a measurement shows no recovery, under either reading.

Monitoring closes an incident when its condition stops holding, and also when its data stops: a
threshold condition whose `evaluationMissingData` is EVALUATION_MISSING_DATA_INACTIVE ("If there is no
data to evaluate the condition, then evaluate the condition as false", google-cloud-monitoring,
types/alert.py) clears when its data stops arriving. Which `observed_value` that CLOSED carries is
unconfirmed: the last value measured (on the side that fired: no recovery either way), none, or a
value on the clear side (the one a missing point is taken for). Before, a clear-side value was taken
as Monitoring's measurement of recovery, and the sweep verified an action after an alert it cannot
read (a connector's CPU, memory) on it. Likewise a CLOSED that ended before it started is no closing
Monitoring measured. Now neither shows recovery, and the `resolved` reason says why; the documented
closed notification (tests/fixtures/samples) still does."""
from __future__ import annotations

import pytest

from shared.alerts.incidents import parse_notification
from shared.alerts.reasons import closed_reason

from tests.unit.test_closed_without_recovery import closed, threshold_body


def missing_data(value: str) -> dict:
    document = closed()          # the documented closed notification: 0.835 under the 0.9 bar (COMPARISON_GT)
    threshold_body(document)["evaluationMissingData"] = value
    return document


def ended_before_start() -> dict:
    document = closed()
    document["incident"]["ended_at"] = document["incident"]["started_at"] - 60
    return document


def slo(selector: str, comparison: str, bar: float, value: str) -> dict:
    """The documented closed notification, its condition an SLO's (only the filter of an SLO condition is used:
    Cloud Monitoring, "Creating an alerting policy", SLO monitoring API), closed with `value`."""
    document = closed(observed_value=value, threshold_value=f"{bar:g}")
    threshold_body(document).update(
        filter=f'{selector}("projects/p/services/backend-svc/serviceLevelObjectives/availability")',
        comparison=comparison, thresholdValue=bar)
    threshold_body(document).pop("aggregations", None)
    return document


READINGS = {
    # name: (notification, shows recovery, words of the reason)
    "the documented closed notification": (closed(), True, "below the condition's bar of 0.9"),
    "in scientific notation": (closed(observed_value="8.35e-01"), True, "with a value of 0.835"),
    "missing data evaluated as not met (by name)": (
        missing_data("EVALUATION_MISSING_DATA_INACTIVE"), False, "evaluates missing data as not met"),
    "missing data evaluated as not met (by number)": (missing_data(1), False, "evaluates missing data as not met"),
    "missing data not evaluated (NO_OP)": (missing_data("EVALUATION_MISSING_DATA_NO_OP"), True, "below the"),
    "missing data evaluated as met (ACTIVE)": (missing_data("EVALUATION_MISSING_DATA_ACTIVE"), True, "below the"),
    "ended before it started": (ended_before_start(), False, "before it started"),
    "a value of NaN": (closed(observed_value="NaN"), False, "observed_value 'NaN'"),
    "a value with a unit": (closed(observed_value="0.835 %"), False, "observed_value '0.835 %'"),
    "an empty value": (closed(observed_value=""), False, "no observed_value"),
    # An SLO's error budget left over its compliance period back over its bar: failures aged out of the period,
    # not a service that recovered; its burn rate back under its bar is the burn measured now.
    "an SLO's error budget left back over its bar": (
        slo("select_slo_budget_fraction", "COMPARISON_LT", 0.1, "0.2"), False, "compliance period"),
    "an SLO's compliance back over its bar": (
        slo("select_slo_compliance", "COMPARISON_LT", 0.999, "0.9995"), False, "select_slo_compliance"),
    "an SLO's burn rate back under its bar": (
        slo("select_slo_burn_rate", "COMPARISON_GT", 10.0, "1.5"), True, "below the condition's bar of 10"),
}


@pytest.mark.parametrize("document, shown, words", READINGS.values(), ids=READINGS.keys())
def test_a_closed_shows_recovery_only_by_a_value_monitoring_measured(document, shown, words):
    incident = parse_notification(document)
    assert bool(incident.recovery_shown) is shown, incident.recovery_shown
    reason = closed_reason(incident)
    assert words in reason, reason
    assert ("not taken as recovery" in reason) is not shown, reason
