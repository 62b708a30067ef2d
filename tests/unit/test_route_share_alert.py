"""The pipeline on a 5xx-share policy per route (tests/fixtures/conditions/run_5xx_ratio_by_route_open.json,
any one series over 5 %: summed by service and metric.label.route), in the `healthy` world: a burst of 500s
stopped 8 minutes ago, and the service serves cleanly since. The service's share does not bound a route's
(one route failing half of a small part of the traffic is a small part of the service), and request_count is
not read by route: the alert reaches a person, nothing is written, the reason naming the grouping and the
route. The same policy summed over the service is cleared as before. In-process parts
(tests/property/fast.py) through the pipeline's own entry point."""
from __future__ import annotations

import json
from pathlib import Path

from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "conditions" / "run_5xx_ratio_by_route_open.json"
SERVICE_ONLY = ["resource.label.project_id", "resource.label.location", "resource.label.service_name"]


def _notification(by_route: bool) -> dict:
    """The fixture moved to the `healthy` world's service (demo-project, us-central1, backend)."""
    text = (SAMPLE.read_text().replace("shop-prod", "demo-project").replace("europe-west1", "us-central1")
            .replace('\\"checkout\\"', '\\"backend\\"').replace('"service_name": "checkout"', '"service_name": "backend"'))
    document = json.loads(text)
    document["incident"]["started_at"] = int(ANCHOR.timestamp()) - 15 * 60
    if not by_route:
        body = document["incident"]["condition"]["conditionThreshold"]
        for aggregation in (*body["aggregations"], *body["denominatorAggregations"]):
            aggregation["groupByFields"] = SERVICE_ONLY
        document["incident"]["metric"]["labels"] = {}
    return document


def _handle(by_route: bool):
    w = FastWorld(seeded_copy("healthy", None), ANCHOR)
    outcome = handle_alert(event(json.dumps(_notification(by_route)).encode(), "n-1"), w.config, w.adapters)
    return outcome, w.standins.run.count("UpdateService") + w.standins.vpcaccess.count("PatchConnector")


def test_a_share_on_any_one_route_reaches_a_person_and_nothing_is_written():
    outcome, writes = _handle(by_route=True)
    assert outcome.status is OutcomeStatus.ESCALATED, (outcome.status, outcome.reason)
    assert writes == 0
    assert outcome.diagnosis.signature != "healthy"
    assert "metric.label.route" in outcome.diagnosis.summary, outcome.diagnosis.summary
    assert "/api/payments/confirm" in outcome.diagnosis.summary, outcome.diagnosis.summary


def test_the_same_share_summed_over_the_service_is_cleared():
    outcome, writes = _handle(by_route=False)
    assert writes == 0
    assert outcome.diagnosis.signature == "healthy", (outcome.status, outcome.reason)
