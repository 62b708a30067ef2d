"""database/up is judged over the minutes requests failed in (from shortly before the first failing
minute), as a connector's saturation sign is: the incident window reaches a lookback before the
incident's start, and a maintenance restart or failover blip that ended minutes before the failures
began explains none of them. It must neither be called the cause nor stop the fix of what is."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_connector_while_failing import DIAL, _failing_since
from tests.unit.test_diagnosis import deployed, quiet_connector

S = DiagnosisSettings()


def _blip(e: Evidence, start: float, end: float) -> Evidence:
    """database/up 0 in the minutes (start, end], 1 otherwise (the builders' last value wins)."""
    return e.sql_up(-90, 5, 1).sql_up(start, end, 0)


def _hot(e: Evidence, since: float) -> Evidence:
    """The connector's CPU p99 at 95% from `since`, 30% before."""
    return e.connector_metric("cpu", -90, 5, 0.3).connector_metric("cpu", since, 5, 0.95)


CASES = {
    "a one-minute blip 7 minutes before a bad deploy's failures: the deploy is rolled back": dict(
        build=lambda e: _blip(quiet_connector(deployed(e, new_at=-6)), -14, -13),
        signature=Signature.BAD_REVISION, action="rollback_traffic", blip_context=None),
    "the same blip before a connector saturated while requests failed: the connector is scaled": dict(
        build=lambda e: _blip(_hot(_failing_since(e, since=-4, dials=10), -4), -12, -11),
        signature=Signature.CONNECTOR_SATURATION, action="scale_connector", blip_context=True),
    "down within the lead before the first failing minute: it counts, no rollback": dict(
        build=lambda e: _blip(quiet_connector(deployed(e, new_at=-6)), -8, -7),
        signature=Signature.INCONCLUSIVE, action=None, blip_context=False),
    "down through the failing minutes after a deploy: the database competes, no rollback": dict(
        build=lambda e: _blip(quiet_connector(deployed(e, new_at=-6)), -6, 5),
        signature=Signature.INCONCLUSIVE, action=None, blip_context=False),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_database_up_is_judged_while_requests_fail(case):
    bundle = case["build"](Evidence()).bundle()
    result = diagnose(bundle, S)
    assert result.signature is case["signature"], result.summary
    assert plan(result, bundle, S).action == case["action"]
    assert "went down" not in result.summary or case["blip_context"] is False
    ended = [i for i in result.evidence if "down only before the failures began" in i.observed]
    if case["blip_context"] is not None:   # the winning rule's evidence (bad_revision cites no database)
        assert bool(ended) is case["blip_context"]
    assert all(i.role == "context" for i in ended)
