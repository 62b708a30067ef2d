"""A deploy whose one change is the CPU allocation, from always allocated to only during requests
(Revision.containers[].resources.cpu_idle false to true, k8s.min.proto ResourceRequirements): the pool's
housekeeping and keepalives run before it and are starved since, so the stale pool that follows (reads on
established connections that time out, connections found closed at once) is the deploy's, beside a
connector busy with other traffic or not. The connector is ruled out and the revision rolled back; where
the revision before did not state CPU always allocated, or the failures are dials through the connector,
the connector stays in the running as before."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.rules import connector_saturation
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_connector_cpu_idle import CLOSED
from tests.unit.test_connector_stale_reads import GO_DIAL, LIBPQ, PGJDBC
from tests.unit.test_diagnosis import NEW, OLD

S = DiagnosisSettings()

# logs: (text, count) on the new revision from -8m; old, new: each revision's cpu_idle; fast: the 503s
# answered at once; connector: connector_saturation ruled out (False) or still in the running (True).
CASES = {
    "pgjdbc's reads timed out after a deploy that turned CPU to only during requests: rolled back": dict(
        logs=[(PGJDBC, 20)], old=False, new=True, fast=False, signature=Signature.BAD_REVISION,
        action="rollback_traffic", connector=False),
    "libpq's reads timed out after the same deploy: rolled back": dict(
        logs=[(LIBPQ, 12)], old=False, new=True, fast=False, signature=Signature.BAD_REVISION,
        action="rollback_traffic", connector=False),
    "node-postgres connections found closed at once after the same deploy: rolled back": dict(
        logs=[(CLOSED, 10)], old=False, new=True, fast=True, signature=Signature.BAD_REVISION,
        action="rollback_traffic", connector=False),
    "the same reads, the revision before's CPU allocation not read: both in the running": dict(
        logs=[(PGJDBC, 20)], old=None, new=True, fast=False, signature=Signature.INCONCLUSIVE, action=None,
        connector=True),
    "the same reads, CPU only during requests before and after: both in the running": dict(
        logs=[(PGJDBC, 20)], old=True, new=True, fast=False, signature=Signature.INCONCLUSIVE, action=None,
        connector=True),
    "the same reads after a deploy that turned CPU always allocated: both in the running": dict(
        logs=[(PGJDBC, 20)], old=True, new=False, fast=False, signature=Signature.INCONCLUSIVE, action=None,
        connector=True),
    "dials timing out through the busy connector after the same deploy: both in the running": dict(
        logs=[(GO_DIAL, 20)], old=False, new=True, fast=False, signature=Signature.INCONCLUSIVE, action=None,
        connector=True),
}


def _evidence(case: dict) -> Evidence:
    """OLD served for days; NEW took 100% at -11m; from -9m over a quarter of its requests 503 (at once, or at
    31 s); another service's job takes the shared connector to its max with CPU 90% from -12m."""
    slow = 0.2 if case["fast"] else 31.0
    e = (Evidence().revision(OLD, -3000, sql=(SQL,)).revision(NEW, -11, sql=(SQL,)).traffic(**{NEW: 100})
         .requests(OLD, -120, -11, 200).latency(OLD, -120, -11, 0.09)
         .requests(NEW, -11, 5, 200).requests(NEW, -9, 5, 80, code="503").latency(NEW, -11, -9, 0.09)
         .latency(NEW, -9, 5, slow).sql_up(-120, 5, 1).connector(max_instances=3)
         .connector_metric("instances", -120, -12, 2).connector_metric("instances", -12, 5, 3)
         .connector_metric("cpu", -120, -12, 0.2).connector_metric("cpu", -12, 5, 0.9)
         .connector_metric("bytes", -120, 5, 4e6))
    for text, count in case["logs"]:
        e = e.log(-8, text, NEW, count=count)
    e.revs = [r.model_copy(update={"cpu_idle": case["old"] if r.short_name == OLD else case["new"],
                                   "cpu_limit": 1.0, "memory_mib": 512.0}) for r in e.revs]
    return e


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_stale_pool_after_a_deploy_that_starved_it_is_the_deploys(case):
    e = _evidence(case)

    result = diagnose(e.bundle(), S)
    connector = connector_saturation.evaluate(Facts(e.bundle(), S))

    assert result.signature is case["signature"], result.summary
    assert plan(result, e.bundle(), S).action == case["action"], result.summary
    assert (connector.matched or connector.not_ruled_out) is case["connector"], connector.summary
    if case["action"]:
        assert result.known_good_revision == OLD
        assert "CPU allocation from always allocated to only during requests" in result.summary
        assert "the stale connections are the deploy's" in connector.summary, connector.summary
