"""Requests that hang while the serving revision is at its max instances may be waiting in Cloud Run
for a free instance: a busy connector in the same minutes does not explain them alone, so it is
not scaled on its own word. With instances to spare, with no max instances read, or with 503s (a
connector's sign, not a queue's), the connector is judged as before."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import OLD, SQL

S = DiagnosisSettings()

CASES = {
    "at its max instances, one request per instance, requests hang: in doubt": dict(
        max_instances=8, concurrency=1, seen=8, signature=Signature.INCONCLUSIVE, action=None,
        said="at its max instances (8 of 8, 1 requests per instance)"),
    "at its max instances, default concurrency, requests hang: in doubt": dict(
        max_instances=8, concurrency=None, seen=8, signature=Signature.INCONCLUSIVE, action=None,
        said="at its max instances (8 of 8, 80 requests per instance)"),
    "instances to spare, requests hang: the connector": dict(
        max_instances=8, concurrency=1, seen=5, signature=Signature.CONNECTOR_SATURATION,
        action="scale_connector"),
    "no max instances set, requests hang: the connector": dict(
        max_instances=None, concurrency=1, seen=8, signature=Signature.CONNECTOR_SATURATION,
        action="scale_connector"),
    "at its max instances with a fifth of requests 503: the connector": dict(
        max_instances=8, concurrency=1, seen=8, code_503=10, signature=Signature.CONNECTOR_SATURATION,
        action="scale_connector"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_hang_at_max_instances_is_not_put_on_a_busy_connector_alone(case):
    e = (Evidence().revision(OLD, -300, sql=(SQL,), max_instances=case["max_instances"],
                             concurrency=case["concurrency"]).traffic(**{OLD: 100})
         .requests(OLD, -90, 5, 40).latency(OLD, -90, -15, 0.5).latency(OLD, -15, 5, 28)
         .instances(OLD, -90, -15, 4).instances(OLD, -15, 5, case["seen"])
         .sql_up(-90, 5, 1).connector(max_instances=3)
         .connector_metric("instances", -90, -16, 2).connector_metric("instances", -16, 5, 3)
         .connector_metric("cpu", -90, -16, 0.3).connector_metric("cpu", -16, 5, 0.92)
         .connector_metric("bytes", -90, 5, 1e6))
    if case.get("code_503"):
        e.requests(OLD, -15, 5, case["code_503"], code="503")

    result = diagnose(e.bundle(), S)

    assert result.signature is case["signature"], result.summary
    assert plan(result, e.bundle(), S).action == case["action"]
    if case.get("said"):
        assert case["said"] in result.summary, result.summary
