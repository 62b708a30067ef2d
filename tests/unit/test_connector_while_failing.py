"""A saturation sign counts only if it held while the requests failed (from shortly before the
first failing minute): the incident window reaches a lookback before the incident's start, and a
CPU spike or a burst that ended minutes before the failures began explains none of them."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
DIAL = ('cloudsqlconn: failed to connect to instance: Dial error: failed to dial (connection name = '
        '"demo:us-central1:main-db"): dial tcp 10.40.0.3:3307: i/o timeout')


def _failing_since(e: Evidence, since: float, dials: int = 0) -> Evidence:
    """40 clean requests a minute for hours; from `since`, 20 more a minute answer 503; the
    connector at its minimum instances (max 3), low throughput; Cloud SQL up."""
    e = (e.revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
         .requests(OLD, since, 5, 20, code="503").latency(OLD, -90, 5, 0.3)
         .connector(max_instances=3).connector_metric("instances", -90, 5, 2)
         .connector_metric("bytes", -90, 5, 2e6).sql_up(-90, 5, 1))
    return e.log(since + 1, DIAL, OLD, count=dials) if dials else e


def _cpu(e: Evidence, spikes: tuple[tuple[float, float], ...]) -> Evidence:
    """CPU p99 30%, and 95% in each (start, end) minute range."""
    e = e.connector_metric("cpu", -90, 5, 0.3)
    for start, end in spikes:
        e = e.connector_metric("cpu", start, end, 0.95)
    return e


CASES = {
    "a CPU spike 7 minutes before the 503s began, idle since: not saturation, no scale-up": dict(
        build=lambda e: _cpu(_failing_since(e, since=-4), ((-13, -11),)), saturated=False),
    "the spike 3 minutes before the first failing minute: within the lead, still counts": dict(
        build=lambda e: _cpu(_failing_since(e, since=-4, dials=10), ((-6, -5),)), saturated=True),
    "hot from the first failing minute on: saturation": dict(
        build=lambda e: _cpu(_failing_since(e, since=-4, dials=10), ((-4, 5),)), saturated=True),
    "failing since the lookback's start, a spike at its start: counts (the failures were on)": dict(
        build=lambda e: _cpu(_failing_since(e, since=-15, dials=10), ((-14, -13),)), saturated=True),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_sign_counts_only_while_requests_fail(case):
    bundle = case["build"](Evidence()).bundle()
    result = diagnose(bundle, S)
    action = plan(result, bundle, S).action
    if case["saturated"]:
        assert result.signature is Signature.CONNECTOR_SATURATION, result.summary
        assert action == "scale_connector"
        return
    assert result.signature is not Signature.CONNECTOR_SATURATION, result.summary
    assert action is None
    ended = [i for i in result.evidence if "only before the failures began" in i.observed]
    assert ended and ended[0].role == "context"
