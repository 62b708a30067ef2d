"""A share of failures that counts no 2xx, compared downward (`4xx and 5xx / all < 0.05`, `!= "2xx"` below a bar),
fires when failures are few: it states no failure, as the 5xx class alone below a bar does
(response_selection._failures_below). Before, only a selection of 5xx or 429 alone was held, and an "errors" share
with 4xx in it, the usual errors policy copied from a success policy with its comparison not turned, rolled back on
the live 5xx while its own value said 2 % failed.

Sources: MetricThreshold.comparison (google/monitoring/v3/alert.proto, common.proto: COMPARISON_LT); "Monitoring
filters" (`one_of`, `!=`, OR, an ordered comparison); the request metrics' labels response_code_class and
response_code ("Google Cloud metrics", run section)."""
from __future__ import annotations

import copy
import json

import pytest

from shared.alerts.present_failure import alert_hold
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR
from tests.unit.test_failures_below import BACKEND, HELD_WORDS, _ratio

CLASS, CODE = "metric.labels.response_code_class", "metric.labels.response_code"

HELD = [
    ("4xx and 5xx by one_of", f'{CLASS} = one_of("4xx", "5xx")', "4xx, 5xx"),
    ("4xx or 5xx", f'({CLASS} = "4xx" OR {CLASS} = "5xx")', "4xx, 5xx"),
    ("every class but 2xx", f'{CLASS} != "2xx"', "1xx, 3xx, 4xx, 5xx"),
    ("codes from 400", f'{CODE} >= "400"', "4xx, 5xx"),
    ("the 4xx class", f'{CLASS} = "4xx"', "4xx"),
]

# A share holding 2xx falling is a share of failures rising, or says nothing of failures: not held here.
NOT_HELD = [
    ("the success share", f'{CLASS} = "2xx"'),
    ("2xx and 3xx", f'{CLASS} = one_of("2xx", "3xx")'),
    ("every class but 5xx", f'{CLASS} != "5xx"'),
    ("the redirects alone", f'{CLASS} = "3xx"'),
]


@pytest.mark.parametrize("name, selection, codes", HELD, ids=[c[0] for c in HELD])
def test_a_failure_share_counting_no_2xx_below_its_bar_is_held(name, selection, codes):
    why = alert_hold(_ratio(selection))
    assert f"policy 'backend 5xx ratio' fires when its {codes} {HELD_WORDS}" in why, why
    assert "few failures is no failure" in why and "nothing was written" in why, why


@pytest.mark.parametrize("name, selection", NOT_HELD, ids=[c[0] for c in NOT_HELD])
def test_a_share_counting_2xx_or_no_failure_below_its_bar_is_not_held_here(name, selection):
    assert HELD_WORDS not in alert_hold(_ratio(selection))


def test_an_errors_share_below_its_bar_writes_nothing():
    """bad_revision as a ratio of 4xx and 5xx over all, compared downward (< 0.05, value 0.02): it fires when errors
    are few. Before, the live 5xx was rolled back."""
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    incident = document["incident"]
    threshold = incident["condition"]["conditionThreshold"]
    threshold.update(filter=f'{BACKEND} AND {CLASS} = one_of("4xx", "5xx")', denominatorFilter=BACKEND,
                     denominatorAggregations=threshold["aggregations"], comparison="COMPARISON_LT")
    incident["metric"] = {"type": "run.googleapis.com/request_count", "displayName": "Request Count", "labels": {}}
    incident["observed_value"] = "0.02"
    outcome = world.handle(event(json.dumps(document).encode(), "1"))
    assert outcome.status.value == "escalated" and HELD_WORDS in outcome.reason, outcome.reason
    assert world.writes() == 0
