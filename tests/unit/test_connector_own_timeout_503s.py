"""503s that the application's own timeout answered (Go's http.TimeoutHandler, Spring MVC's async request
timeout) while the median holds are a slow tail, not shown to be the connector's. A 503 share alone stays
the connector's case (a saturated connector's failures end as 503s): only the application's own words
for its timeout, logged while the requests failed, say whose 503s they are, and only with the median
flat, nothing logged of a wait on the database path, and the slow requests in the hang band."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.rules import connector_saturation
from shared.diagnosis.signatures import Finding, Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import OLD, SQL

S = DiagnosisSettings()

SPRING = ("WARN 1 --- [nio-8080-exec-7] .w.s.m.s.DefaultHandlerExceptionResolver : Resolved "
          "[org.springframework.web.context.request.async.AsyncRequestTimeoutException]")
GO = "export handler: write response: http: Handler timeout"
DIAL = "dial tcp 10.20.0.3:5432: i/o timeout"

# p99: the 503s' latency (s); slow: 503s per minute beside 40 of 200; median: the median in the failing
# minutes (s; usual 140 ms); lines: (text, count, minute) the application logged; scaled: the connector's
# scale-up is the answer.
CASES = {
    "Spring's async request timeout at 30 s, 20 % 503, median flat: a slow tail, in doubt": dict(
        p99=30.2, slow=10, median=0.14, lines=[(SPRING, 8, -10)], scaled=False),
    "Go's TimeoutHandler at 27 s, 33 % 503, median 150 ms: a slow tail, in doubt": dict(
        p99=27.1, slow=20, median=0.15, lines=[(GO, 6, -8)], scaled=False),
    "the same 503s with no word of the application's own timeout: the connector (unchanged)": dict(
        p99=30.2, slow=10, median=0.14, lines=[], scaled=True),
    "Spring's timeout logged, but the median rose to 1.6 s with the 503s: the connector": dict(
        p99=30.2, slow=10, median=1.6, lines=[(SPRING, 8, -10)], scaled=True),
    "Spring's timeout logged beside dial timeouts to the database: the connector": dict(
        p99=30.2, slow=10, median=0.14, lines=[(SPRING, 8, -10), (DIAL, 6, -9)], scaled=True),
    "Go's timeout logged twice only: too few to say whose the 503s are, the connector": dict(
        p99=27.1, slow=10, median=0.14, lines=[(GO, 2, -8)], scaled=True),
    "Go's timeout logged only an hour before the failures: the connector": dict(
        p99=27.1, slow=10, median=0.14, lines=[(GO, 8, -80)], scaled=True),
    "Spring's timeout logged, 503s are 60 % of the requests, the median at the timeout: the connector": dict(
        p99=30.2, slow=60, median=30.0, lines=[(SPRING, 8, -10)], scaled=True),
}


def _evidence(case: dict) -> Evidence:
    e = (Evidence().revision(OLD, -300, sql=(SQL,), timeout=300).traffic(**{OLD: 100})
         .requests(OLD, -90, 5, 40).requests(OLD, -15, 5, case["slow"], code="503")
         .latency(OLD, -90, -15, 0.5).latency(OLD, -15, 5, case["p99"])
         .median(OLD, -90, -15, 0.14).median(OLD, -15, 5, case["median"])
         .instances(OLD, -90, 5, 4).sql_up(-90, 5, 1).connector(max_instances=3)
         .connector_metric("instances", -90, -16, 2).connector_metric("instances", -16, 5, 3)
         .connector_metric("cpu", -90, -16, 0.3).connector_metric("cpu", -16, 5, 0.92)
         .connector_metric("bytes", -90, 5, 1e6))
    for text, count, minute in case["lines"]:
        e.log(minute, text, revision=OLD, count=count, severity="WARNING")
    return e


def scaled_or_held(e: Evidence, scaled: bool, held_says: str = "") -> Finding:
    """Diagnose and plan `e`: scaled, connector_saturation matched and a scale planned; else inconclusive,
    nothing planned, the connector not ruled out (its summary holding `held_says`). The connector's finding."""
    result = diagnose(e.bundle(), S)
    connector = connector_saturation.evaluate(Facts(e.bundle(), S))
    if scaled:
        assert result.signature is Signature.CONNECTOR_SATURATION, result.summary
        assert plan(result, e.bundle(), S).action == "scale_connector", result.summary
        assert connector.matched, connector.summary
    else:
        assert result.signature is Signature.INCONCLUSIVE, result.summary
        assert plan(result, e.bundle(), S).action is None, result.summary
        assert connector.not_ruled_out and held_says in connector.summary, connector.summary
    return connector


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_503s_the_application_timed_out_itself_with_a_flat_median_are_not_put_on_a_busy_connector(case):
    scaled_or_held(_evidence(case), case["scaled"], "a slow tail")


def test_the_held_back_finding_quotes_the_503s_and_the_applications_own_words():
    e = _evidence(CASES["Spring's async request timeout at 30 s, 20 % 503, median flat: a slow tail, in doubt"])

    connector = connector_saturation.evaluate(Facts(e.bundle(), S))

    assert "503" in connector.summary and "AsyncRequestTimeoutException" in connector.summary, connector.summary
    assert "median at 140 ms" in connector.summary, connector.summary
    cited = [i for i in connector.evidence if i.query == "request_latencies p50"]
    assert cited and cited[0].role == "refutes" and "503" in cited[0].observed, cited
