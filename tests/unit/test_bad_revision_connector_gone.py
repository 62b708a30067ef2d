"""A deploy whose connector no longer exists (its read answered NOT_FOUND): a rollback only when the
revision traffic would go back to reaches its VPC another way. Sending it the traffic over the same
missing connector restores nothing, so the deploy is a cause not ruled out and a person decides."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import CONNECTOR, SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
OTHER = "projects/demo-project/locations/us-central1/connectors/other-conn"
OWN = "org.springframework.data.redis.RedisConnectionFailureException: Unable to connect to Redis"


def deployed(old_connector: str | None, new_connector: str | None, missing: str | None):
    """NEW replaced OLD 6 minutes ago and a third of its requests fail with a line no rule reads;
    `missing` is the connector whose read answered NOT_FOUND (None: it was read and found)."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), connector=old_connector)
         .revision(NEW, -6, sql=(SQL,), connector=new_connector)
         .traffic(**{NEW: 100}).requests(OLD, -90, -6, 40).latency(OLD, -90, -6, 0.2)
         .requests(NEW, -6, 5, 28).requests(NEW, -6, 5, 14, code="500").latency(NEW, -6, 5, 0.5)
         .sql_up(-40, 5, 1).log(-5, OWN, NEW, count=20))
    if not missing:
        e = (e.connector(max_instances=3).connector_metric("instances", -40, 5, 2)
             .connector_metric("cpu", -40, 5, 0.2).connector_metric("bytes", -40, 5, 2e6))
    bundle = e.bundle()
    return bundle.model_copy(update={"connector_not_found": missing}) if missing else bundle


ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
ESCALATE = (Signature.INCONCLUSIVE, None)
CASES = {
    "the connector both revisions name is gone": (CONNECTOR, CONNECTOR, CONNECTOR, ESCALATE),
    "the connector is found": (CONNECTOR, CONNECTOR, None, ROLLBACK),
    "the deploy moved to a connector that is gone; the revision before's exists": (OTHER, CONNECTOR, CONNECTOR,
                                                                                   ROLLBACK),
    "the revision before had no VPC access": (None, CONNECTOR, CONNECTOR, ROLLBACK),
}


@pytest.mark.parametrize("old, new, missing, expected", CASES.values(), ids=CASES.keys())
def test_a_rollback_over_a_connector_that_is_gone_is_held_back(old, new, missing, expected):
    bundle = deployed(old, new, missing)
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


def test_the_escalation_names_the_missing_connector():
    result = diagnose(deployed(CONNECTOR, CONNECTOR, CONNECTOR), S)
    said = result.model_dump_json()
    assert "does not exist" in said and "NOT_FOUND" in said and CONNECTOR.rsplit("/", 1)[-1] in said
