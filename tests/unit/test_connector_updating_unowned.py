"""A connector UPDATING while a deploy's requests fail to reach the database: a person's change
stands automation down (their audit entry), but an update no audit entry owns (the audit not read,
or no entry matched) leaves the path through the connector in doubt, as ERROR does: the deploy
competes with it instead of being rolled back alone to a revision on the same connector."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import LogRecord, LogResult
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import CONNECTOR, SQL, Evidence, at

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
DIAL = ('cloudsqlconn: failed to connect to instance: Dial error: failed to dial (connection name = '
        '"demo:us-central1:main-db"): dial tcp 10.40.0.3:3307: i/o timeout')


def deployed(state: str) -> Evidence:
    """NEW took all traffic at -8m; from -7m a third of its requests 503 with dial timeouts; the
    connector idle in `state`; Cloud SQL up."""
    return (Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -8, sql=(SQL,)).traffic(**{NEW: 100})
            .requests(OLD, -90, -8, 40).latency(OLD, -90, -8, 0.2).requests(NEW, -8, 5, 40).latency(NEW, -8, 5, 0.2)
            .requests(NEW, -7, 5, 20, code="503").sql_up(-90, 5, 1)
            .connector(max_instances=3, state=state).connector_metric("instances", -90, 5, 2)
            .connector_metric("cpu", -90, 5, 0.2).connector_metric("bytes", -90, 5, 2e6)
            .log(-6, DIAL, NEW, count=30))


def by(principal: str):
    entry = LogRecord(timestamp=at(-9), log_id="cloudaudit.googleapis.com/activity", severity="NOTICE",
                      text="google.cloud.vpcaccess.v1.Connectors.PatchConnector",
                      method_name="google.cloud.vpcaccess.v1.Connectors.PatchConnector",
                      resource_name=CONNECTOR, principal=principal)
    return lambda b: b.model_copy(update={"connector_audit": LogResult(query="connector audit", entries=(entry,))})


CASES = {
    "UPDATING, the audit not read: the update competes with the deploy, no rollback": dict(
        state="UPDATING", audit=lambda b: b, signature=Signature.INCONCLUSIVE, stand_down=False),
    "UPDATING, no entry on the connector in the audit read: the same": dict(
        state="UPDATING", audit=lambda b: b.model_copy(update={"connector_audit": LogResult(query="q")}),
        signature=Signature.INCONCLUSIVE, stand_down=False),
    "UPDATING by a person: stand down (unchanged)": dict(
        state="UPDATING", audit=by("dana@example.com"), signature=Signature.BAD_REVISION, stand_down=True),
    "READY: the database's errors compete with the deploy (unchanged)": dict(
        state="READY", audit=lambda b: b, signature=Signature.INCONCLUSIVE, stand_down=False),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_update_nobody_owns_is_not_ruled_out(case):
    bundle = case["audit"](deployed(case["state"]).bundle())
    result = diagnose(bundle, S)
    assert result.signature is case["signature"], result.summary
    assert bool(result.stand_down) is case["stand_down"], result.stand_down
    assert plan(result, bundle, S).action is None, result.summary
