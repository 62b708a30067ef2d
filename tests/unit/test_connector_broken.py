"""A connector that is not READY (ERROR: "manual deletion recommended") breaks the path of every
revision that routes through it: while requests fail it is not saturated, but not ruled out either,
so a deploy in the same minutes competes with it instead of being rolled back alone. A deploy that moved
the service onto that connector is the deploy's own: sending traffic back leaves the connector."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import CONNECTOR, SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD

S = DiagnosisSettings()
DIAL = ('cloudsqlconn: failed to connect to instance: Dial error: failed to dial (connection name = '
        '"demo:us-central1:main-db"): dial tcp 10.40.0.3:3307: i/o timeout')
OTHER_CONNECTOR = CONNECTOR.rsplit("/", 1)[0] + "/old-conn"


def _deploy(old_connector: str, dials: int = 20) -> Evidence:
    """NEW (on CONNECTOR, in ERROR) took all traffic at -10 from OLD (on `old_connector`); NEW answers
    a third 503, with `dials` of the Go connector's dial timeouts; Cloud SQL up."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), connector=old_connector)
            .revision(NEW, -10, sql=(SQL,)).traffic(**{NEW: 100})
            .requests(OLD, -90, -10, 40).latency(OLD, -90, -10, 0.2)
            .requests(NEW, -10, 5, 27).requests(NEW, -9, 5, 14, code="503").latency(NEW, -10, 5, 10)
            .connector(max_instances=5, state="ERROR").connector_metric("instances", -90, -9, 2)
            .connector_metric("instances", -9, 5, 0).sql_up(-90, 5, 1))
    return e.log(-5, DIAL, NEW, count=dials) if dials else e


CASES = {
    "a deploy, then the connector both revisions route through goes into ERROR: no rollback": dict(
        build=lambda: _deploy(old_connector=CONNECTOR), expect=Signature.INCONCLUSIVE,
        competing={"bad_revision", "connector_saturation"}, action=None),
    "the same with the errors logged where nothing reads them (503s only): no rollback either": dict(
        build=lambda: _deploy(old_connector=CONNECTOR, dials=0), expect=Signature.INCONCLUSIVE,
        competing={"bad_revision", "connector_saturation"}, action=None),
    "a deploy that moved the service onto the broken connector: the deploy's own, rolled back": dict(
        build=lambda: _deploy(old_connector=OTHER_CONNECTOR), expect=Signature.BAD_REVISION,
        action="rollback_traffic"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_broken_connector_beside_a_deploy(case):
    bundle = case["build"]().bundle()
    result = diagnose(bundle, S)
    assert result.signature is case["expect"], result.summary
    assert plan(result, bundle, S).action == case["action"]
    if "competing" in case:
        assert set(result.competing) == case["competing"], result.summary
        assert "ERROR" in result.summary, result.summary
