"""Runwarden's own update of a connector (UPDATING, its own Admin Activity entry) beside a deploy:
when the update began after the deploy and by the time the failures began, the failures are as much
the update's as the deploy's (whether an update disturbs the traffic through a connector is not
documented, and the revision before routes through the same connector), so the two compete and
nothing is rolled back. An update begun before the deploy (the revision before served cleanly under
it) or after the failures began (an answer to them) leaves the deploy to be judged as beside a READY connector: rolled back where the connector
has room (rules/connector_full.py), held where it was at its max and near full before the deploy (a rollback
would leave it full); a person's update stands automation down, as before."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import LogRecord, LogResult
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import CONNECTOR, SQL, Evidence, at

RUNWARDEN = "runwarden@demo.iam.gserviceaccount.com"
S = DiagnosisSettings(self_principals=[RUNWARDEN])
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
DIAL = ('failed to connect to instance: Dial error: failed to dial (connection name = "demo:us-central1:main-db"): '
        "dial tcp 10.40.0.3:3307: i/o timeout")


def deployed_then_failing(deploy_at: float = -8, instances: int = 3, cpu: float = 0.8) -> Evidence:
    """NEW took all traffic at `deploy_at`; from -5m a third of its requests 503 with dial timeouts;
    the connector UPDATING, busy as it has been for an hour (no sign that is news; by default at its max
    of 3 instances, CPU 80 %); Cloud SQL up."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{NEW: 100}).requests(OLD, -90, deploy_at, 40)
         .latency(OLD, -90, deploy_at, 0.2).sql_up(-90, 5, 1)
         .connector(max_instances=3, state="UPDATING").connector_metric("instances", -90, 5, instances)
         .connector_metric("cpu", -90, 5, cpu).connector_metric("bytes", -90, 5, 2e6))
    if deploy_at is not None:
        e = (e.revision(NEW, deploy_at, sql=(SQL,)).requests(NEW, deploy_at, 5, 40).latency(NEW, deploy_at, 5, 0.2)
             .requests(NEW, -5, 5, 20, code="503").log(-4, DIAL, NEW, count=30))
    return e


def update_by(principal: str, minute: float):
    entry = LogRecord(timestamp=at(minute), log_id="cloudaudit.googleapis.com/activity", severity="NOTICE",
                      text="google.cloud.vpcaccess.v1.Connectors.PatchConnector",
                      method_name="google.cloud.vpcaccess.v1.Connectors.PatchConnector",
                      resource_name=CONNECTOR, principal=principal)
    return lambda b: b.model_copy(update={"connector_audit": LogResult(query="connector audit", entries=(entry,))})


# (whose update, when it began) -> verdict, rolled back?, stood down?
CASES = {
    "Runwarden's own, after the deploy and before the failures: it competes, no rollback": dict(
        audit=update_by(RUNWARDEN, -6), signature=Signature.INCONCLUSIVE, rollback=False, stand_down=False),
    "Runwarden's own, in the first failing minute: it competes, no rollback": dict(
        audit=update_by(RUNWARDEN, -5), signature=Signature.INCONCLUSIVE, rollback=False, stand_down=False),
    "Runwarden's own, before the deploy, the connector with room: the revision before served under it; rolled back":
        dict(audit=update_by(RUNWARDEN, -20), signature=Signature.BAD_REVISION, rollback=True, stand_down=False,
             room=True),
    "Runwarden's own, after the failures began, the connector with room: an answer to them; rolled back": dict(
        audit=update_by(RUNWARDEN, -2), signature=Signature.BAD_REVISION, rollback=True, stand_down=False, room=True),
    "Runwarden's own, before the deploy, the connector at its max and near full since before it: held": dict(
        audit=update_by(RUNWARDEN, -20), signature=Signature.INCONCLUSIVE, rollback=False, stand_down=False,
        held=True),
    "Runwarden's own, after the failures began, the connector at its max and near full since before it: held":
        dict(audit=update_by(RUNWARDEN, -2), signature=Signature.INCONCLUSIVE, rollback=False, stand_down=False,
             held=True),
    "a person's, after the deploy: stand down (unchanged)": dict(
        audit=update_by("dana@example.com", -6), signature=Signature.BAD_REVISION, rollback=False, stand_down=True),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_runwardens_own_update_between_a_deploy_and_its_failures_competes(case):
    world = deployed_then_failing(instances=2, cpu=0.4) if case.get("room") else deployed_then_failing()
    bundle = case["audit"](world.bundle())

    result = diagnose(bundle, S)

    assert result.signature is case["signature"], result.summary
    assert bool(result.stand_down) is case["stand_down"], result.stand_down
    action = plan(result, bundle, S).action
    assert (action == "rollback_traffic") is case["rollback"], result.summary
    if case.get("held"):
        assert "held by the full connector" in result.summary, result.summary
    elif case["signature"] is Signature.INCONCLUSIVE:
        assert set(result.competing) == {"bad_revision", "connector_saturation"}, result.summary
        assert "Runwarden's own change began" in result.summary, result.summary
