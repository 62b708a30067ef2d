"""503s answered at once are not a connector's, whatever it shows: a saturated connector drops
packets and the requests that cross it wait (a retransmitted SYN after 1 s, dial and read
timeouts), so fast 503s with no hang, no error of reaching the database and no refusal are the
application's own (a load-shedding guard), even while the connector is saturated by other traffic
on it (another service's job on a shared connector). The connector is not ruled out: it competes,
and is never scaled alone on them."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import OLD, PSYCOPG

S = DiagnosisSettings()


def busy_connector_and_503s(p99: float, cpu: float = 0.9, mbps: float = 40, errors: str = "") -> Evidence:
    """One revision for hours; from -8m a fifth of its requests 503 with the service's p99 at `p99`
    seconds; the connector newly at max from -9m with CPU `cpu` and `mbps` through it; Cloud SQL up."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .requests(OLD, -8, 5, 50, code="503").latency(OLD, -90, -8, 0.09).latency(OLD, -8, 5, p99).sql_up(-90, 5, 1)
         .connector(max_instances=3).connector_metric("instances", -90, -9, 2).connector_metric("instances", -9, 5, 3)
         .connector_metric("cpu", -90, -9, 0.2).connector_metric("cpu", -9, 5, cpu)
         .connector_metric("bytes", -90, -9, 4e6).connector_metric("bytes", -9, 5, mbps * 1e6 / 8))
    return e.log(-6, errors, OLD, count=20) if errors else e


# situation -> the verdict, and the action planned
CASES = {
    "CPU 90% and 503s in 50 ms: the application's own, not scaled": (
        dict(p99=0.05), Signature.INCONCLUSIVE, None),
    "throughput at its ceiling (a shared job) and 503s in 50 ms: not scaled": (
        dict(p99=0.05, cpu=0.4, mbps=290), Signature.INCONCLUSIVE, None),
    # 503s that wait with no wait logged on any path are in doubt of their own (test_connector_unlogged_503s.py).
    "CPU 90% and 503s that wait 3 s beside dial timeouts to the database: the connector (unchanged)": (
        dict(p99=3.0, errors=PSYCOPG), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "CPU 90%, fast 503s and dial timeouts to the database: the connector (unchanged)": (
        dict(p99=0.05, errors=PSYCOPG), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "CPU 90% and requests hanging at 31 s: the connector (unchanged)": (
        dict(p99=31.0), Signature.CONNECTOR_SATURATION, "scale_connector"),
}


@pytest.mark.parametrize("shape, signature, action", CASES.values(), ids=CASES.keys())
def test_503s_answered_at_once_are_not_the_connectors(shape, signature, action):
    bundle = busy_connector_and_503s(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    if signature is Signature.INCONCLUSIVE:
        assert "answered at once" in result.summary, result.summary
