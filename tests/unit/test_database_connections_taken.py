"""A deploy beside a Cloud SQL instance whose connections were taken: the new revision's requests wait
for connections (its own pool's timeout, or the database's refusal at its limit) while the instance's
connections (database/postgresql/num_backends) rose with the failures. The revision before connects to
the same full instance, so the rollback is held and a person decides (bad_revision's
_connections_taken_on_the_same_database); flat connections, an unread series, a deploy that changed
the database settings, or failures that are not waits for a connection leave the rollback as it was."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, deployed, quiet_connector

S = DiagnosisSettings()
OTHER_DB = "demo:us-central1:reports-db"
HIKARI = ("o.h.engine.jdbc.spi.SqlExceptionHelper : HikariPool-1 - Connection is not available, request timed out "
          "after 30000ms (total=4, active=4, idle=0, waiting=9)")
TOO_MANY = ('psycopg2.OperationalError: connection to server at "10.60.0.7", port 5432 failed: FATAL:  sorry, too '
            "many clients already")
CRASH = "Traceback (most recent call last):\nKeyError: 'receipt_id'"


def _deploy(e: Evidence, text: str = HIKARI) -> Evidence:
    """NEW took all traffic at -10 and answers 60% 500, each failure logged as `text`."""
    return quiet_connector(deployed(e)).log(-4, text, NEW, count=20)


def _rose(e: Evidence, db: str | None = None) -> Evidence:
    """The instance's connections: 42 until -10, 97 from then on (another client took 55)."""
    kwargs = {"db": db} if db else {}
    return e.sql_connections(-90, -10, 42, **kwargs).sql_connections(-10, 5, 97, **kwargs)


@pytest.mark.parametrize("case, build, held", [
    ("the connections rose with the failures, requests wait for the pool", lambda e: _rose(_deploy(e)), True),
    ("the same, the database refusing at its limit", lambda e: _rose(_deploy(e, TOO_MANY)), True),
    ("connections flat: the new revision's own waits", lambda e: _deploy(e).sql_connections(-90, 5, 42), False),
    ("not read (no deploy-time read, or a MySQL instance)", lambda e: _deploy(e), False),
    ("a rise short of the bar (42 to 55)",
     lambda e: _deploy(e).sql_connections(-90, -10, 42).sql_connections(-10, 5, 55), False),
    ("always as many, before the failures too", lambda e: _deploy(e).sql_connections(-90, 5, 97), False),
    ("risen, but the failures are the new revision's own crash", lambda e: _rose(_deploy(e, CRASH)), False),
    ("another instance of the project rose, not the service's", lambda e: _rose(_deploy(e), db=OTHER_DB), False),
])
def test_a_rollback_is_held_while_the_instances_connections_were_taken(case, build, held):
    bundle = build(Evidence()).bundle()

    result = diagnose(bundle, S)
    action = plan(result, bundle, S).action

    if not held:
        assert "connections rose with them" not in result.summary, (case, result.summary)
        return
    assert action is None, (case, result.summary)
    assert "connections rose with them (demo:main-db: 42 before, 97 while failing)" in result.summary, result.summary
    cited = [i for i in result.evidence if i.about == "bad_revision" and "num_backends" in i.query]
    assert cited and cited[0].role == "refutes", (case, cited)


def test_flat_connections_still_roll_back():
    bundle = _deploy(Evidence()).sql_connections(-90, 5, 42).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert plan(result, bundle, S).action is not None


def test_a_deploy_that_changed_the_database_settings_is_rolled_back_whatever_the_connections():
    """A new env value (a pool size raised, another host) makes the waits the deploy's own."""
    e = (Evidence().revision(OLD, -180, sql=(SQL,), plain_env=(("DB_POOL_SIZE", "10"),))
         .revision(NEW, -10, sql=(SQL,), plain_env=(("DB_POOL_SIZE", "40"),)))
    e = quiet_connector(e.traffic(**{NEW: 100}).requests(OLD, -90, -10, 40)
                        .requests(NEW, -10, 5, 18).requests(NEW, -10, 5, 27, code="500")
                        .latency(NEW, -10, 5, 0.4)).log(-4, HIKARI, NEW, count=20)
    bundle = _rose(e).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert "connections rose with them" not in result.summary, result.summary


# --- when collection reads the instance's connections ------------------------------------------------

from shared.diagnosis.collection import MAX_API_CALLS, ALERT_READS, CallBudget, _sql_connections_wanted  # noqa: E402


@pytest.mark.parametrize("case, new_at, used, wanted", [
    ("a deploy the suspect, the alert's budget with room for the third round", -10, 14, True),
    ("the same, the request log read too: no room left beside the third round", -10, 15, False),
    ("no deploy within deploy_window_seconds: bad_revision asks nothing", -300, 14, False),
])
def test_the_connections_are_read_only_for_a_deploy_and_never_in_the_third_reads_place(case, new_at, used, wanted):
    bundle = quiet_connector(deployed(Evidence(), new_at=new_at)).bundle()
    budget = CallBudget(MAX_API_CALLS + ALERT_READS, used=used)

    assert _sql_connections_wanted(bundle.service, bundle.revisions, bundle.incident_started_at, S, budget) is wanted, case


# --- the connections' read made and failed ---------------------------------------------------------

CONNECTIONS_GAP = "monitoring: cloudsql database/postgresql/num_backends"


@pytest.mark.parametrize("case, text, failure, held", [
    ("requests wait for the pool, the read never answered", HIKARI, "TransientError: ... UNAVAILABLE", True),
    ("requests wait for the pool, the read past its deadline", HIKARI, "DEADLINE_EXCEEDED", True),
    ("requests wait for the pool, the read refused for good", HIKARI, "PERMISSION_DENIED: denied", True),
    ("the new revision's own crash: whatever the connections, a rollback", CRASH, "UNAVAILABLE", False),
])
def test_a_connections_read_that_failed_does_not_let_a_wait_for_connections_roll_back(case, text, failure, held):
    """The read was planned (a deploy or a promotion the suspect, room in the budget) and failed: a gap. Waits for a
    connection on the database the revision before uses may be an instance another client filled, which the read
    would have shown: the rollback is held and the gap named, as with the connections risen. Before, the gap read as
    not read at all (nothing claimed) and the rollback went ahead on a database it would wait on as well."""
    bundle = _deploy(Evidence(), text).bundle()
    bundle = bundle.model_copy(update={"gaps": (f"{CONNECTIONS_GAP}: {failure}",)})

    result = diagnose(bundle, S)
    action = plan(result, bundle, S).action

    if not held:
        assert result.signature is Signature.BAD_REVISION and action is not None, (case, result.summary)
        return
    assert action is None, (case, result.summary)
    assert f"{CONNECTIONS_GAP}: {failure}" in result.summary, result.summary
