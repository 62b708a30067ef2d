"""A saturated Cloud SQL instance beside a busy connector: requests hang because every statement
queues for the database's CPU, and the requests piling up can raise a small connector's CPU and
instance count as well. Either may be the cause, so the connector is never scaled on its own signs
while the instance the service uses is saturated (connector_saturation._database_saturated); an
instance whose CPU is unread, or short of saturation, changes nothing."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
OTHER_DB = "demo:us-central1:reports-db"


def _hang_on_busy_connector(e: Evidence) -> Evidence:
    """A long-running revision whose requests hang ~38 s since -12m, beside a connector whose CPU
    rose to 88% and which opened its third (max) instance in the same minutes; database/up 1."""
    return (e.revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
            .latency(OLD, -90, -12, 0.4).latency(OLD, -12, 5, 38)
            .connector(max_instances=3).connector_metric("instances", -90, -10, 2)
            .connector_metric("instances", -10, 5, 3).connector_metric("cpu", -90, -12, 0.4)
            .connector_metric("cpu", -12, 5, 0.88).connector_metric("bytes", -90, 5, 2e6).sql_up(-90, 5, 1))


@pytest.mark.parametrize("case, cpu, scaled", [
    ("the instance's CPU pinned with the hang", lambda e: e.sql_cpu(-90, -12, 0.4).sql_cpu(-12, 5, 0.98), False),
    ("pinned only in the failing minutes' last ones", lambda e: e.sql_cpu(-90, -2, 0.4).sql_cpu(-2, 5, 0.93), False),
    ("busy, short of saturation", lambda e: e.sql_cpu(-90, -12, 0.4).sql_cpu(-12, 5, 0.7), True),
    ("not read (no point: a lag, or no permission)", lambda e: e, True),
    ("always as saturated, before the failures too", lambda e: e.sql_cpu(-90, 5, 0.95), True),
    ("another instance of the project saturated, not the service's",
     lambda e: e.sql_cpu(-90, 5, 0.4).sql_cpu(-12, 5, 0.99, db=OTHER_DB), True),
])
def test_a_saturated_database_keeps_a_busy_connector_from_being_scaled(case, cpu, scaled):
    e = cpu(_hang_on_busy_connector(Evidence()))
    bundle = e.bundle()

    result = diagnose(bundle, S)
    action = plan(result, bundle, S).action

    if scaled:
        assert result.signature is Signature.CONNECTOR_SATURATION, (case, result.summary)
        return
    assert result.signature is Signature.INCONCLUSIVE and action is None, (case, result.summary)
    assert "Cloud SQL instance's own CPU is saturated" in result.summary, result.summary
    cited = [i for i in result.evidence if i.about == "connector_saturation" and "cpu/utilization" in i.query]
    assert cited and cited[0].role == "refutes" and "demo:main-db: max" in cited[0].observed


# --- a deploy in the same minutes -----------------------------------------------------------------

from tests.unit.test_diagnosis import NEW, deployed, quiet_connector  # noqa: E402

POOL_WAIT = ("sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, "
             "timeout 30.00")


def _deploy(e: Evidence, *, slow: bool) -> Evidence:
    """NEW took all traffic at -10 and answers 60% 503; `slow`: its requests hang ~38 s and its pool
    gives up waiting, as when every statement queues for the database's CPU."""
    e = quiet_connector(deployed(e, code="503"))
    return e.latency(NEW, -10, 5, 38).log(-4, POOL_WAIT, NEW, count=20) if slow else e


@pytest.mark.parametrize("case, build, expected", [
    ("saturated since the failures, requests waiting on it",
     lambda e: _deploy(e, slow=True).sql_cpu(-90, -10, 0.4).sql_cpu(-10, 5, 0.98), "competes"),
    ("saturated, but the requests fail at once (the deploy's own crash)",
     lambda e: _deploy(e, slow=False).sql_cpu(-90, -10, 0.4).sql_cpu(-10, 5, 0.98), "rolled back"),
    ("always as saturated, while the service served cleanly",
     lambda e: _deploy(e, slow=True).sql_cpu(-90, 5, 0.95), "rolled back"),
    ("busy, short of saturation", lambda e: _deploy(e, slow=True).sql_cpu(-90, -10, 0.4).sql_cpu(-10, 5, 0.8),
     "rolled back"),
    ("not read", lambda e: _deploy(e, slow=True), "rolled back"),
])
def test_a_deploy_beside_a_newly_saturated_database_competes_with_it(case, build, expected):
    bundle = build(Evidence()).bundle()

    result = diagnose(bundle, S)
    action = plan(result, bundle, S).action

    if expected == "rolled back":
        assert result.signature is Signature.BAD_REVISION, (case, result.summary)
        return
    assert result.signature is Signature.INCONCLUSIVE and action is None, (case, result.summary)
    assert set(result.competing) == {"bad_revision", "database_unreachable"}, (case, result.competing)
    assert "the Cloud SQL instance's own CPU is saturated" in result.summary, result.summary
