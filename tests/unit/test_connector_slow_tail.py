"""A p99 at a hang with the median where it was is a slow tail (a slow query, a lock on some rows, one
slow endpoint), not shown to be the connector's: a connector that holds requests 25 s or more (four or
five resends of a lost packet, RFC 6298) makes most of the requests that cross it wait a second or
more. Beside a busy connector it competes and is never scaled alone; a median that rose with the p99
keeps the scale-up, and a 503 or 504 share proves the failures whatever the median does."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.rules import connector_saturation
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import OLD, SQL

S = DiagnosisSettings()

# usual: the median before the incident window (s); median: in the hung minutes (s); None: not read.
CASES = {
    "the median stays at 140 ms under a 28 s p99: a slow tail, in doubt": dict(
        usual=0.14, median=0.14, signature=Signature.INCONCLUSIVE, action=None, said="a slow tail"),
    "a busy hour takes the median from 140 ms to 250 ms: short of twice its usual, in doubt": dict(
        usual=0.14, median=0.25, signature=Signature.INCONCLUSIVE, action=None, said="a slow tail"),
    "the median doubles, 140 ms to 300 ms (a queue on the path): the connector": dict(
        usual=0.14, median=0.3, signature=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "the median rises from 35 ms to 900 ms: the connector": dict(
        usual=0.035, median=0.9, signature=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "a slow service's median stays at 1.3 s (usual 1.2 s): a slow tail, in doubt": dict(
        usual=1.2, median=1.3, signature=Signature.INCONCLUSIVE, action=None, said="a slow tail"),
    "a slow service's median rises from 1.2 s to 2.1 s: short of one resend more, in doubt": dict(
        usual=1.2, median=2.1, signature=Signature.INCONCLUSIVE, action=None, said="a slow tail"),
    "a slow service's median rises from 1.2 s to 2.5 s: one resend more, the connector": dict(
        usual=1.2, median=2.5, signature=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "no minute before the window, the median at 600 ms: short of one resend, in doubt": dict(
        usual=None, median=0.6, signature=Signature.INCONCLUSIVE, action=None, said="usual unknown"),
    "no minute before the window, the median at 1.2 s: the connector": dict(
        usual=None, median=1.2, signature=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "the median rises in 4 of the 17 hung minutes only: a slow tail, in doubt": dict(
        usual=0.14, median=0.14, risen_from=-2, signature=Signature.INCONCLUSIVE, action=None, said="a slow tail"),
    "the median rises in 10 of the 17 hung minutes: the connector": dict(
        usual=0.14, median=0.14, risen_from=-8, signature=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "a flat median with a fifth of the requests 503: the share proves the failures, the connector": dict(
        usual=0.14, median=0.14, code_503=10, signature=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "no median read: judged on the p99 as before, the connector": dict(
        usual=None, median=None, signature=Signature.CONNECTOR_SATURATION, action="scale_connector"),
}


def _evidence(case: dict) -> Evidence:
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100})
         .requests(OLD, -90, 5, 40).latency(OLD, -90, -15, 0.5).latency(OLD, -15, 5, 28)
         .instances(OLD, -90, 5, 4).sql_up(-90, 5, 1).connector(max_instances=3)
         .connector_metric("instances", -90, -16, 2).connector_metric("instances", -16, 5, 3)
         .connector_metric("cpu", -90, -16, 0.3).connector_metric("cpu", -16, 5, 0.92)
         .connector_metric("bytes", -90, 5, 1e6))
    if case["usual"] is not None:
        e.median(OLD, -90, -15, case["usual"])
    if case["median"] is not None:
        e.median(OLD, -15, 5, case["median"])
    if case.get("risen_from") is not None:
        e.median(OLD, case["risen_from"], 5, case["usual"] + 1.5)
    if case.get("code_503"):
        e.requests(OLD, -15, 5, case["code_503"], code="503")
    return e


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_p99_hang_with_a_flat_median_is_not_put_on_a_busy_connector_alone(case):
    e = _evidence(case)

    result = diagnose(e.bundle(), S)

    assert result.signature is case["signature"], result.summary
    assert plan(result, e.bundle(), S).action == case["action"]
    if case.get("said"):
        assert case["said"] in result.summary, result.summary


def test_the_held_back_finding_quotes_both_percentiles():
    e = _evidence(CASES["the median stays at 140 ms under a 28 s p99: a slow tail, in doubt"])

    result = diagnose(e.bundle(), S)

    assert "p99 up to 28.0 s" in result.summary and "median at 140 ms, usual 140 ms" in result.summary, result.summary
    connector = connector_saturation.evaluate(Facts(e.bundle(), S))
    assert connector.not_ruled_out and connector.recommendation.startswith("find which requests wait")
    cited = [i for i in connector.evidence if i.query == "request_latencies p50"]
    assert cited and cited[0].role == "refutes" and "median max 140 ms" in cited[0].observed


# A hang cut short by a 30 s request timeout: 504s at the timeout say requests failed, not where they
# waited; with the median flat they are a slow tail too (tests/unit/test_connector_own_504s.py), and
# with no median read the connector's finding is as before. Either way it competes with request_timeout.
def test_a_504_cut_at_the_request_timeout_with_a_flat_median_is_a_slow_tail():
    def bundle(with_median: bool):
        e = (Evidence().revision(OLD, -300, sql=(SQL,), timeout=30).traffic(**{OLD: 100})
             .requests(OLD, -90, 5, 40).requests(OLD, -15, 5, 10, code="504")
             .latency(OLD, -90, -15, 0.5).latency(OLD, -15, 5, 29.5)
             .instances(OLD, -90, 5, 4).sql_up(-90, 5, 1).connector(max_instances=3)
             .connector_metric("instances", -90, -16, 2).connector_metric("instances", -16, 5, 3)
             .connector_metric("cpu", -90, -16, 0.3).connector_metric("cpu", -16, 5, 0.92)
             .connector_metric("bytes", -90, 5, 1e6))
        if with_median:
            e.median(OLD, -90, 5, 0.14)
        return e.bundle()

    flat, unread = bundle(True), bundle(False)

    held = connector_saturation.evaluate(Facts(flat, S))
    assert held.not_ruled_out and "a slow tail" in held.summary and "20.0% of the requests 504" in held.summary
    assert connector_saturation.evaluate(Facts(unread, S)).matched
    for bundled in (flat, unread):
        assert plan(diagnose(bundled, S), bundled, S).action is None
