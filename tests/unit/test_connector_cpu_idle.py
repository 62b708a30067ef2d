"""A revision whose CPU is allocated only during requests (Cloud Run v2 ResourceRequirements.cpu_idle,
google/cloud/run/v2/k8s.min.proto: "Determines whether CPU is only allocated during requests") starves
whatever runs between them: a pool's housekeeping, validation and keepalives, a consumer, a scheduler
("when the Cloud Run service finishes handling a request, the instance's access to CPU will be disabled or
severely limited", Cloud Run, "General development tips"). Its pooled connections then go stale between
requests, and the first queries after a quiet spell hang on them. Where the connector is in doubt for a
stale pool (reads on established connections timed out, connections found closed at once), the advice
names the revision's CPU allocation beside the pool's settings; a connector's own case is unchanged."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings

from tests.unit.builders import SQL, Evidence
from tests.unit.test_connector_own_timeout_503s import scaled_or_held
from tests.unit.test_connector_stale_reads import GO_DIAL, LIBPQ, PGJDBC, busy_connector
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
CLOSED = "Error: Connection terminated unexpectedly\n    at Connection.<anonymous> (/app/node_modules/pg/lib/client.js:132:36)"

# logs: (text, count) from -5m; cpu_idle: the revision's; fast: the 503s answered at once (p99 0.2 s);
# advised: the advice names CPU allocation; scaled: the connector's scale-up is the answer.
CASES = {
    "pgjdbc's reads timed out, CPU only during requests: the advice names it": dict(
        logs=[(PGJDBC, 20)], cpu_idle=True, fast=False, advised=True, scaled=False),
    "libpq's reads timed out, CPU only during requests: the advice names it": dict(
        logs=[(LIBPQ, 12)], cpu_idle=True, fast=False, advised=True, scaled=False),
    "node-postgres connections found closed at once, CPU only during requests: the advice names it": dict(
        logs=[(CLOSED, 10)], cpu_idle=True, fast=True, advised=True, scaled=False),
    "the same reads, CPU always allocated: the pool's advice alone": dict(
        logs=[(PGJDBC, 20)], cpu_idle=False, fast=False, advised=False, scaled=False),
    "the same reads, the CPU allocation not read: the pool's advice alone": dict(
        logs=[(PGJDBC, 20)], cpu_idle=None, fast=False, advised=False, scaled=False),
    "dials timing out through the connector, CPU only during requests: the connector's case": dict(
        logs=[(GO_DIAL, 20)], cpu_idle=True, fast=False, advised=False, scaled=True),
}


def _evidence(case: dict) -> Evidence:
    e = busy_connector()
    if case["fast"]:
        e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
             .requests(OLD, -6, 5, 50, code="503").latency(OLD, -90, -6, 0.09).latency(OLD, -6, 5, 0.2)
             .sql_up(-90, 5, 1).connector(max_instances=3).connector_metric("instances", -90, -8, 2)
             .connector_metric("instances", -8, 5, 3).connector_metric("cpu", -90, -8, 0.2)
             .connector_metric("cpu", -8, 5, 0.9).connector_metric("bytes", -90, 5, 4e6))
    for text, count in case["logs"]:
        e = e.log(-5, text, OLD, count=count)
    e.revs = [r.model_copy(update={"cpu_idle": case["cpu_idle"], "cpu_limit": 1.0, "memory_mib": 512.0})
              for r in e.revs]
    return e


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_stale_pool_under_cpu_only_during_requests_is_advised_its_cpu_allocation(case):
    connector = scaled_or_held(_evidence(case), case["scaled"])
    advice = connector.recommendation or ""
    assert ("CPU always allocated" in advice) is case["advised"], advice
    assert ("only during requests" in connector.summary) is case["advised"], connector.summary
