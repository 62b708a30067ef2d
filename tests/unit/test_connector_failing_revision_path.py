"""In a traffic split each serving revision takes its own path to its VPC (Cloud Run v2
Revision.vpc_access, google/cloud/run/v2/revision.proto; the shares in Service.traffic_statuses,
google/cloud/run/v2/service.proto). connector_saturation judges the path of the revision that
carries the failing traffic, not the newest one's: an older revision still on a saturated connector
while the newest moved to Direct VPC egress is the connector's; a failing revision on Direct VPC
egress beside a clean one on the connector is not. The finding names the revision and its share."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-dve"
DIRECT = ("run-vpc/run-egress",)
GO = "failed to connect to `host=10.20.0.5 user=app database=orders`: dial error (dial tcp 10.20.0.5:5432: i/o timeout)"


def split(old_share: int, *, old_direct: bool = False, new_direct: bool = True, failing: str = OLD,
          code: str = "503", p99: float = 31, per_minute: float = 40, new_created: float = -2880,
          log: str = "") -> Evidence:
    """OLD (days old) and NEW (`new_created` minutes old, Ready) split the traffic `old_share` /
    100 - `old_share`, each `per_minute` requests a minute at the share, reaching the VPC by the connector
    or by Direct VPC egress as told; from -9m `failing` answers a third of its requests `code` at `p99` s
    while the other serves cleanly at 0.2 s; the connector (e2-micro, 2-3) at its max and CPU 95 % from -9m."""
    def path(direct: bool) -> dict:
        return dict(connector=None, network_interfaces=DIRECT) if direct else {}
    e = (Evidence().revision(OLD, -5000, sql=(SQL,), **path(old_direct))
         .revision(NEW, new_created, sql=(SQL,), **path(new_direct)).traffic(**{OLD: old_share, NEW: 100 - old_share})
         .sql_up(-90, 5, 1).connector(max_instances=3).connector_metric("bytes", -90, 5, 2e6)
         .connector_metric("instances", -90, -9, 2).connector_metric("instances", -9, 5, 3)
         .connector_metric("cpu", -90, -9, 0.2).connector_metric("cpu", -9, 5, 0.95))
    for name, share in ((OLD, old_share), (NEW, 100 - old_share)):
        n = per_minute * share / 100
        e = e.requests(name, -90, 5, n).latency(name, -90, 5 if name != failing else -9, 0.2)
        if name == failing:
            e = e.requests(name, -9, 5, n / 2, code=code).latency(name, -9, 5, p99)
    return e.log(-8, log, failing, count=20) if log else e


# situation -> the verdict, the action planned, and the revision the finding must name
CASES = {
    "90 % on OLD through the connector fails (503s, hangs), 10 % on NEW with Direct VPC egress is clean": (
        dict(old_share=90), Signature.CONNECTOR_SATURATION, "scale_connector", OLD),
    "50/50, OLD through the connector fails with dial timeouts as 500s at 10 s, NEW direct and clean": (
        dict(old_share=50, code="500", p99=10.2, log=GO), Signature.CONNECTOR_SATURATION, "scale_connector", OLD),
    "70/30 with a bigger load: OLD through the connector hangs at 31 s": (
        dict(old_share=70, per_minute=120), Signature.CONNECTOR_SATURATION, "scale_connector", OLD),
    # guards: the failing revision takes no connector
    "the reverse: 90 % on OLD with Direct VPC egress fails, 10 % on NEW through the connector is clean": (
        dict(old_share=90, old_direct=True, new_direct=False), Signature.INCONCLUSIVE, None, OLD),
    # ... and database_unreachable judges the same revision's path (connector_signs.failing_revision):
    # OLD's Direct VPC egress, not NEW's saturated connector, which OLD's dials never cross.
    "the reverse at 60/40: OLD direct fails with dial timeouts, NEW on the connector clean": (
        dict(old_share=60, old_direct=True, new_direct=False, code="500", p99=10.2, log=GO),
        Signature.DATABASE_UNREACHABLE, None, OLD),
}


@pytest.mark.parametrize("shape, signature, action, named", CASES.values(), ids=CASES.keys())
def test_the_failing_revisions_path_is_judged(shape, signature, action, named):
    bundle = split(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    if named:
        assert f"{named} ({shape['old_share']}% of traffic" in result.summary, result.summary
