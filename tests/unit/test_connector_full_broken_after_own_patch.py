"""A connector in ERROR whose only Admin Activity entry is Runwarden's own PatchConnector: a broken connector never
returns to READY by itself ("Connector is in a bad state, manual deletion recommended", vpc_access.proto), so the
canary's rollback beside it is held as when no entry was read, not judged on the connector's metrics as Runwarden's
own scale in flight (UPDATING) is (rules/connector_full.py). Before, the canary was rolled back."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.remediation.planning import plan
from shared.diagnosis.evidence import LogRecord, LogResult
from tests.unit.builders import CONNECTOR, FIVE_XX_RATIO, at
from tests.unit.test_bad_revision_connector_full import canary

ME = "runwarden@demo.iam.gserviceaccount.com"


def _run(state, **kw):
    entry = LogRecord(timestamp=at(-20), log_id="cloudaudit.googleapis.com/activity", severity="NOTICE",
                      text="google.cloud.vpcaccess.v1.Connectors.PatchConnector",
                      method_name="google.cloud.vpcaccess.v1.Connectors.PatchConnector",
                      resource_name=CONNECTOR, principal=ME)
    bundle = canary(state=state, **kw).bundle().model_copy(update={
        "alert": FIVE_XX_RATIO, "connector_audit": LogResult(query="connector audit", entries=(entry,))})
    s = DiagnosisSettings(self_principals=[ME])
    result = diagnose(bundle, s)
    return result, plan(result, bundle, s)


@pytest.mark.parametrize("kw", [dict(before=None, cpu=0.3, max_instances=10), dict(before=None, cpu=0.3)])
def test_a_broken_connector_after_runwardens_own_patch_holds_the_canarys_rollback(kw):
    result, chosen = _run("ERROR", **kw)
    assert chosen.action != "rollback_traffic", result.summary
    assert "manual deletion recommended" in result.summary, result.summary


def test_the_same_connector_with_no_entry_read_is_held():
    """The control: the same broken connector, no entry read: held."""
    bundle = canary(state="ERROR", before=None, cpu=0.3, max_instances=10).bundle().model_copy(
        update={"alert": FIVE_XX_RATIO})
    result = diagnose(bundle, DiagnosisSettings())
    chosen = plan(result, bundle, DiagnosisSettings())
    assert chosen.action != "rollback_traffic", result.summary
