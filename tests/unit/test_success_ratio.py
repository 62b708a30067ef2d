"""A success ratio falling below its threshold is judged as the share of 5xx over it, only where its
filters are read exactly (shared/diagnosis/health_bar.py `_complement`).

A ratio of non-5xx requests over all requests (`response_code_class != "5xx"`, or `NOT ... = "5xx"`, over the
same metric with no response-code selection), below t, holds exactly while the share of 5xx is above 1 - t.
Before, every COMPARISON_LT on request_count was escalated as "cannot judge", so a service serving cleanly
again after a success-ratio page was never judged healthy. A ratio of 2xx over all (3xx and 4xx also fail
it), of one code, over a narrowed denominator, per route, per code or by a mean is not that complement and
stays escalated. Pure: health_bar() and diagnose() on built evidence."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.health_bar import health_bar
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence
from tests.unit.test_health_bar import _diagnose, _serving

S = DiagnosisSettings()
RUN = "cloud_run_revision"
COUNT = "run.googleapis.com/request_count"
SELECT = 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"'


def success(numerator: str, threshold: float = 0.99, comparison: str = "COMPARISON_LT",
            denominator: str = SELECT, **fields) -> AlertContext:
    data = {"resource_type": RUN, "metric_type": COUNT, "comparison": comparison, "threshold": threshold,
            "ratio": bool(denominator), "condition_kind": "threshold", "policy": "backend availability",
            "condition_filter": f"{SELECT} AND {numerator}" if numerator else SELECT,
            "denominator_filter": denominator, **fields}
    return AlertContext(**data)


SUMMED = {"aligner": "ALIGN_RATE", "reducer": "REDUCE_SUM", "group_by": ["resource.label.service_name"],
          "denominator_aligner": "ALIGN_RATE", "denominator_reducer": "REDUCE_SUM",
          "denominator_group_by": ["resource.label.service_name"], "denominator_aggregated": True}

# name: (the alert, the 5xx share bar it is judged at)
JUDGED = {
    "non-5xx below 99 %": (success('metric.label.response_code_class != "5xx"'), 0.01),
    "negated 5xx below 99.5 %": (success('NOT metric.labels.response_code_class = "5xx"', 0.995), 0.005),
    "quoted key, below 99.9 %": (success('metric.label."response_code_class"!="5xx"', 0.999), 0.001),
    "LE 0.998, summed per service": (success('metric.label.response_code_class != "5xx"', 0.998, "COMPARISON_LE",
                                             **SUMMED), 0.002),
    "below 95 %: the settings' tighter bar": (success('metric.label.response_code_class != "5xx"', 0.95), 0.01),
    # Its denominator's series may each be one class's: judged only with no 5xx nor 429 left (error_count 0).
    "non-5xx per response class": (success('metric.label.response_code_class != "5xx"', **{
        **SUMMED, "group_by": ["metric.label.response_code_class"],
        "denominator_group_by": ["metric.label.response_code_class"]}), 0.01),
}

NOT_JUDGED = {
    "2xx over all (3xx, 4xx fail it too)": success('metric.label.response_code_class = "2xx"'),
    "2xx or 3xx over all (4xx)": success('metric.label.response_code_class = one_of("2xx", "3xx")'),
    "non-4xx over all": success('metric.label.response_code_class != "4xx"'),
    "non-3xx over all": success('metric.label.response_code_class != "3xx"'),
    "non-5xx and non-429": success('metric.label.response_code_class != "5xx" AND metric.label.response_code != "429"'),
    "non-5xx by regular expression": success('metric.label.response_code_class !~ "5.."'),
    "non-5xx over non-4xx": success('metric.label.response_code_class != "5xx"',
                                    denominator=f'{SELECT} AND metric.label.response_code_class != "4xx"'),
    "non-5xx over 2xx and 5xx": success('metric.label.response_code_class != "5xx"',
                                        denominator=f'{SELECT} AND metric.label.response_code_class = one_of("2xx", "5xx")'),
    "non-5xx, no denominator (a volume)": success('metric.label.response_code_class != "5xx"', 5, denominator=""),
    "non-5xx per route": success('metric.label.response_code_class != "5xx"', **{
        **SUMMED, "group_by": ["metric.label.route"], "denominator_group_by": ["metric.label.route"]}),
    "non-5xx, a quotient of means": success('metric.label.response_code_class != "5xx"', **{
        **SUMMED, "reducer": "REDUCE_MEAN", "denominator_reducer": "REDUCE_MEAN"}),
    "non-5xx, threshold as a percent": success('metric.label.response_code_class != "5xx"', 99),
    "non-5xx on several series": success('metric.label.response_code_class != "5xx"',
                                         trigger="50 % of its series (trigger.percent 50)"),
    "non-5xx series named 2xx": success('metric.label.response_code_class != "5xx"',
                                        metric_labels={"response_code_class": "2xx"}),
    "no filter on codes (traffic ratio)": success(""),
}


@pytest.mark.parametrize("name", JUDGED)
def test_a_non_5xx_share_falling_is_judged_as_the_5xx_share_rising(name):
    alert, bar = JUDGED[name]
    judged = health_bar(alert, S)
    assert judged.judged, judged.why_not
    assert judged.error_ratio == pytest.approx(bar)
    assert "success ratio" in judged.source and "complement" in judged.source, judged.source


@pytest.mark.parametrize("name", JUDGED)
def test_clean_requests_clear_it_and_5xx_over_its_complement_do_not(name):
    alert, bar = JUDGED[name]
    assert _diagnose(_serving(Evidence()), alert).signature is Signature.HEALTHY
    # 2 500s a minute among 40 is 4.8 %: over every bar above.
    failing = _diagnose(_serving(Evidence(), error_per_minute=2), alert)
    assert failing.signature is not Signature.HEALTHY, failing.summary


@pytest.mark.parametrize("name", NOT_JUDGED)
def test_a_success_ratio_not_read_exactly_stays_escalated(name):
    judged = health_bar(NOT_JUDGED[name], S)
    assert not judged.judged, judged.source
    assert judged.why_not
    result = _diagnose(_serving(Evidence()), NOT_JUDGED[name])
    assert result.signature is Signature.INCONCLUSIVE, result.summary


@pytest.mark.parametrize("numerator", ['NOT metric.label.response_code_class != "5xx"',
                                       'metric.label.response_code_class = one_of("5xx")',
                                       'metric.label.response_code != "500"'])
def test_a_double_negation_a_list_or_one_code_is_no_complement_read(numerator):
    assert not health_bar(success(numerator), S).judged


def _availability(scenario: str, numerator: str) -> dict:
    """The scenario's notification as a success-ratio policy's: `numerator` over all of the service's requests,
    below 0.99 (the notification's parts agreeing, as Monitoring would send them)."""
    import copy

    from tests.property.fast import scenario_model
    from tests.property.harness import ANCHOR

    document = copy.deepcopy(scenario_model(scenario).notification(ANCHOR))
    incident = document["incident"]
    select = incident["condition"]["conditionThreshold"]["filter"]
    incident["condition"]["conditionThreshold"].update(
        filter=f"{select} AND {numerator}", denominatorFilter=select, comparison="COMPARISON_LT", thresholdValue=0.99,
        denominatorAggregations=incident["condition"]["conditionThreshold"]["aggregations"])
    incident["condition"]["displayName"] = incident["condition_name"] = "availability below 99%"
    incident["policy_name"] = "backend availability"
    incident["metric"]["labels"] = {}
    incident.update(threshold_value="0.99", observed_value="0.75",
                    summary=incident["summary"].replace(" with metric labels {response_code_class=5xx}", "")
                    .replace("above the threshold of 0.05 with a value of 0.25",
                             "below the threshold of 0.99 with a value of 0.75"))
    return document


@pytest.mark.parametrize("scenario, numerator, judged", [
    ("healthy", 'metric.label.response_code_class != "5xx"', True),     # failures stopped: healthy, nothing done
    ("healthy", 'metric.label.response_code_class = "2xx"', False),     # 3xx and 4xx unread: escalated
    ("bad_revision", 'metric.label.response_code_class != "5xx"', None),  # still failing: acted on as before
])
def test_a_success_ratio_alert_through_the_pipeline(scenario, numerator, judged):
    import json

    from shared.outcomes import OutcomeStatus
    from shared.pipeline import handle_alert
    from tests.integration.world import event
    from tests.property.fast import FastWorld, scenario_model, seeded_copy
    from tests.property.harness import ANCHOR

    w = FastWorld(seeded_copy(scenario, None), ANCHOR)
    w.clock.set(ANCHOR + scenario_model(scenario).delivered)   # read when the scenario says (its `delivered`)
    outcome = handle_alert(event(json.dumps(_availability(scenario, numerator)).encode(), "1"), w.config, w.adapters)
    signature = outcome.diagnosis.signature if outcome.diagnosis else None
    if judged is None:
        assert outcome.status is OutcomeStatus.APPLIED and signature == "bad_revision", outcome.reason
    elif judged:
        assert signature == "healthy" and outcome.status is OutcomeStatus.SKIPPED, outcome.reason
        assert "complement" in json.dumps([e.model_dump() for e in outcome.diagnosis.evidence]), outcome.reason
    else:
        assert signature == "inconclusive" and outcome.status is OutcomeStatus.ESCALATED, outcome.reason
    assert w.standins.run.count("UpdateService") == (1 if judged is None else 0)
