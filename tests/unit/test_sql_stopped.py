"""A Cloud SQL instance that stopped is a cause, never read as up. Its database/up, once it stopped
reporting, is not shown up: its last 1 is from before the failures may have begun, and a stopped
instance may report nothing at all. Silence longer than Monitoring's lag makes the database a
cause (it competes with a deploy). The Admin API's "instance is not running" is the database's
answer, a refusal: it competes with a deploy too."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import deployed

S = DiagnosisSettings()


def _deploy_then_db(up_until: float) -> Evidence:
    """NEW, deployed at -12, fails since (60% 500s); database/up reads 1 until `up_until`,
    nothing after. The window ends at +5."""
    e = deployed(Evidence(), new_at=-12)
    return (e.connector(max_instances=3).connector_metric("instances", -20, 5, 2)
            .connector_metric("cpu", -20, 5, 0.3).connector_metric("bytes", -20, 5, 2e6).sql_up(-90, up_until, 1))


CASES = {
    "silent for 13 minutes: not shown up, competes with the deploy": dict(
        up_until=-8, rollback=False),
    "behind by 3 minutes (Monitoring's lag): up, the deploy alone": dict(
        up_until=2, rollback=True),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_database_up_series_that_stopped_reporting_is_not_up(case):
    e = _deploy_then_db(case["up_until"])

    result = diagnose(e.bundle(), S)
    action = plan(result, e.bundle(), S).action

    if case["rollback"]:
        assert result.signature is Signature.BAD_REVISION, result.summary
        assert action == "rollback_traffic"
        return
    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert set(result.competing) == {"bad_revision", "database_unreachable"}, result.summary
    assert action is None
    assert "stopped reporting database/up" in result.summary and "no point since" in result.summary, result.summary


NOT_RUNNING = ('failed to get instance: Refresh error: failed to get instance metadata (connection name = '
               '"demo:us-central1:main-db"): googleapi: Error 400: Invalid request: Invalid request since instance is '
               'not running., invalid')


def test_the_admin_apis_instance_not_running_competes_with_a_deploy():
    # database/up unread (the revision reaches the instance through a sidecar, naming none): the
    # application's own log says the instance is not running, which no rollback changes.
    e = deployed(Evidence(), new_at=-12).log(-6, NOT_RUNNING, "backend-00002-xyz", count=20)
    e = e.connector(max_instances=3).connector_metric("instances", -20, 5, 2).connector_metric("cpu", -20, 5, 0.3)
    e.sql.clear()

    result = diagnose(e.bundle(), S)

    assert set(result.competing) == {"bad_revision", "database_unreachable"}, result.summary
    assert plan(result, e.bundle(), S).action is None
    assert "the instance is not running" in result.summary, result.summary
