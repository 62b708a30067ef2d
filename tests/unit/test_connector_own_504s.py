"""504s that end the slow requests of one route (the application's own handler timeout, a framework's,
or Cloud Run's request timeout reached by that route alone) while the median holds are a slow tail, not
shown to be the connector's: a connector that holds requests 25 s or more (four or five resends of a
lost packet, RFC 6298) slows most of the requests that cross it, so the median rises with them. A 504
share proves that requests fail, not where they wait: beside a busy shared connector it competes and is
never scaled alone. A median that rose with the 504s, or 504s that are most of the requests (the median
is then at the timeout), keep the scale-up; a median not read leaves the finding as it was."""
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

# p99: the slow requests' latency (s), where the 504s end; share504: 504s per minute beside 40 of 200;
# timeout: Cloud Run's request timeout (s); usual / median: the median before and in the hung minutes
# (s, None: not read); code: the status the slow requests end in.
CASES = {
    "an Express route's 28 s handler timeout, 13 % 504, median 140 ms: a slow tail, in doubt": dict(
        p99=28.3, slow=6, median=0.14, signature=Signature.INCONCLUSIVE, action=None),
    "a Spring route's 29 s async timeout, 20 % 504, median 90 ms: a slow tail, in doubt": dict(
        p99=29.2, slow=10, usual=0.09, median=0.09, signature=Signature.INCONCLUSIVE, action=None),
    "a gunicorn app's own 26 s deadline on one report, 33 % 504, median 300 ms (usual 250): in doubt": dict(
        p99=26.4, slow=20, usual=0.25, median=0.3, signature=Signature.INCONCLUSIVE, action=None),
    "Cloud Run's 30 s request timeout reached by one route, 20 % 504, median flat: not scaled": dict(
        p99=29.6, slow=10, timeout=30, median=0.14, signature=None, action=None),
    "Cloud Run's 60 s timeout on an export route, p99 in the band, 20 % 504, median flat: in doubt": dict(
        p99=45.0, slow=10, timeout=60, median=0.14, signature=Signature.INCONCLUSIVE, action=None),
    "the median rises from 140 ms to 1.6 s with the 504s: the connector": dict(
        p99=28.3, slow=10, median=1.6, signature=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "the median rises to 1.6 s with the 504s at Cloud Run's 30 s timeout: the connector competes with it": dict(
        p99=29.6, slow=10, timeout=30, median=1.6, signature=None, action=None, connector=True),
    "504s are 60 % of the requests, the median at the timeout: the connector": dict(
        p99=28.3, slow=60, median=28.0, signature=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "no median read: judged on the p99 and the 504s as before, the connector": dict(
        p99=28.3, slow=10, usual=None, median=None, signature=Signature.CONNECTOR_SATURATION,
        action="scale_connector"),
    "a flat median with a fifth of the requests 503 (unchanged): the connector": dict(
        p99=28.0, slow=10, code="503", median=0.14, signature=Signature.CONNECTOR_SATURATION,
        action="scale_connector"),
}


def _evidence(case: dict) -> Evidence:
    usual = case.get("usual", 0.14)
    e = (Evidence().revision(OLD, -300, sql=(SQL,), timeout=case.get("timeout", 300)).traffic(**{OLD: 100})
         .requests(OLD, -90, 5, 40).requests(OLD, -15, 5, case["slow"], code=case.get("code", "504"))
         .latency(OLD, -90, -15, 0.5).latency(OLD, -15, 5, case["p99"])
         .instances(OLD, -90, 5, 4).sql_up(-90, 5, 1).connector(max_instances=3)
         .connector_metric("instances", -90, -16, 2).connector_metric("instances", -16, 5, 3)
         .connector_metric("cpu", -90, -16, 0.3).connector_metric("cpu", -16, 5, 0.92)
         .connector_metric("bytes", -90, 5, 1e6))
    if usual is not None:
        e.median(OLD, -90, -15, usual)
    if case["median"] is not None:
        e.median(OLD, -15, 5, case["median"])
    return e


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_one_routes_504s_with_a_flat_median_are_not_put_on_a_busy_connector(case):
    e = _evidence(case)

    result = diagnose(e.bundle(), S)

    if case["signature"] is not None:
        assert result.signature is case["signature"], result.summary
    else:
        assert result.signature is not Signature.CONNECTOR_SATURATION, result.summary
    assert plan(result, e.bundle(), S).action == case["action"], result.summary
    connector = connector_saturation.evaluate(Facts(e.bundle(), S))
    if case.get("connector", case["action"] is not None):
        assert connector.matched, connector.summary
    else:
        assert connector.not_ruled_out and "a slow tail" in connector.summary, connector.summary


def test_the_held_back_finding_quotes_the_504s_beside_both_percentiles():
    e = _evidence(CASES["an Express route's 28 s handler timeout, 13 % 504, median 140 ms: a slow tail, in doubt"])

    connector = connector_saturation.evaluate(Facts(e.bundle(), S))

    assert "p99 up to 28.3 s" in connector.summary and "median at 140 ms" in connector.summary, connector.summary
    assert "504" in connector.summary, connector.summary
    cited = [i for i in connector.evidence if i.query == "request_latencies p50"]
    assert cited and cited[0].role == "refutes" and "504" in cited[0].observed, cited


def test_a_median_over_a_minute_is_worded_in_minutes():
    """A WebSocket service (request timeout 60 minutes) whose usual median is a 90 s session: the slow tail's
    summary words it "1 min 30 s" (latency_words.latency), as the timeline words a duration, not "90000 ms"."""
    case = dict(p99=1500.0, slow=10, timeout=3600, usual=90.0, median=90.0)
    result = diagnose(_evidence(case).bundle(), S)
    assert "1 min 30 s" in result.summary and "90000 ms" not in result.summary, result.summary
