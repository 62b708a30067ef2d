"""What database_unreachable says of the path when the application cannot reach its database: a
READY connector with no saturation forwards the dials, so they fail past it (a firewall rule, a
route, the database), and the summary must not call that path healthy; a person is sent to the
firewall rules for the connector's range."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import CONNECTOR, SQL, Evidence

S = DiagnosisSettings()
OLD = "backend-00001-abc"
PGX = ("failed to connect to `host=10.40.0.5 user=orders database=orders`: dial error (dial tcp 10.40.0.5:5432: "
       "i/o timeout)")
PUBLIC = PGX.replace("10.40.0.5", "34.118.20.7")


def failing(e: Evidence, connector: bool = True) -> Evidence:
    """One revision for hours; from -8m a third of requests 500 after 30 s; Cloud SQL up."""
    e = (e.revision(OLD, -300, sql=(SQL,), connector=CONNECTOR if connector else None, egress="PRIVATE_RANGES_ONLY")
         .traffic(**{OLD: 100}).requests(OLD, -90, 5, 40).latency(OLD, -90, -8, 0.2)
         .requests(OLD, -8, 5, 20, code="500").latency(OLD, -8, 5, 30.05).sql_up(-90, 5, 1))
    if connector:
        e = (e.connector(max_instances=3, ip_cidr_range="10.8.0.0/28").connector_metric("instances", -90, 5, 2)
             .connector_metric("cpu", -90, 5, 0.12).connector_metric("bytes", -90, 5, 2e6))
    return e


CASES = {
    "dial timeouts past an idle READY connector: the range's firewall path is named, not 'healthy'": dict(
        build=lambda e: failing(e).log(-6, PGX, OLD, count=30),
        said=("between the connector and the database", "10.8.0.0/28"),
        advised=("firewall rules", "10.8.0.0/28"), not_said="looks healthy"),
    "public dials under PRIVATE_RANGES_ONLY: the path does not cross the connector": dict(
        build=lambda e: failing(e).log(-6, PUBLIC, OLD, count=30),
        said=("does not cross the connector",), advised=(), not_said="firewall rules"),
    "no VPC access on the path: nothing of a connector is said, nor that the path looks healthy": dict(
        build=lambda e: failing(e, connector=False).log(-6, PGX, OLD, count=30),
        said=("Cloud Run's own egress",), advised=(), not_said="connector"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_path_is_named_as_it_is(case):
    bundle = case["build"](Evidence()).bundle()
    result = diagnose(bundle, S)
    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert plan(result, bundle, S).action is None
    for said in case["said"]:
        assert said in result.summary, result.summary
    for advised in case["advised"]:
        assert advised in result.recommendation, result.recommendation
    assert case["not_said"] not in result.summary + " " + result.recommendation
