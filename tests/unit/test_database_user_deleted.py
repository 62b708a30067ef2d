"""A database user deleted on the Cloud SQL instance (cloudsql.users.delete in the Admin Activity audit log, Cloud SQL
docs "Cloud SQL audit logging") refuses every new login of that user, whichever revision opens it, as a password set
under the service does (cloudsql.users.update, tests/unit/test_password_set_under_the_service.py): the audit read asks
for both, and both rule a deploy that changed nothing of how the service logs in out. MySQL's DROP USER leaves open
sessions alone (MySQL Reference Manual, "DROP USER Statement"), so the revision a canary replaced may serve on its old
pool while the canary's new connections are refused: with the deletion read, the two compete and nothing is rolled
back onto a revision whose user is gone. A deletion of another user, a failed one, or one after the refusals began is
no cause, as before."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import audit_filter
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.test_deploy_moved_where_it_connects import SQL, deployed
from tests.unit.test_password_set_under_the_service import DBA, ENV, LIBPQ, MYSQL, PINNED_6

S = DiagnosisSettings()
DELETE = "cloudsql.users.delete"
DATABASE = (Signature.DATABASE_UNREACHABLE, None)
COMPETE = (Signature.INCONCLUSIVE, None)
ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")

# A deploy at -6 that changed nothing of how the service logs in; its refusals from -5; an entry at `when` deleting
# `user` (None: naming none), `status` its error code (None: it succeeded), `method` what it did.
DEPLOYED = {
    "MySQL's 1045 after the user it logs in as was deleted": ((MYSQL, -5.5, "app", None, DELETE), DATABASE),
    "libpq's refusal after the user was deleted": ((LIBPQ, -5.5, "app", None, DELETE), DATABASE),
    "a deletion naming no user": ((MYSQL, -5.5, None, None, DELETE), DATABASE),
    # Controls.
    "another user deleted": ((MYSQL, -5.5, "reports", None, DELETE), COMPETE),
    "the deletion failed": ((MYSQL, -5.5, "app", 9, DELETE), COMPETE),
    "the deletion after the refusals began": ((MYSQL, -3, "app", None, DELETE), COMPETE),
    "a user created (no login refused by it)": ((MYSQL, -5.5, "app", None, "cloudsql.users.create"), COMPETE),
}


@pytest.mark.parametrize("args, expected", DEPLOYED.values(), ids=DEPLOYED.keys())
def test_a_user_deleted_under_a_deploy_is_the_databases(args, expected):
    line, when, user, status, method = args
    evidence = deployed(line, ENV, ENV, old_secrets=PINNED_6, new_secrets=PINNED_6)
    evidence.sql_user_changed(when, DBA, method=method, status=status, user=user)
    bundle = evidence.bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary
    if status is None and method == DELETE:     # who deleted which user, and when, in the person's words
        assert f"deleted on main-db by {DBA} at " in result.summary, result.summary


# A 20 % canary deployed at -6, refused from -5; the revision before keeps 80 %, serving cleanly on its old pool with
# no refusal of its own; an entry deleting `user` at -5.5.
CANARY = {
    "the user both log in as deleted: the two compete, no rollback": ("app", COMPETE),
    "a deletion naming no user: the two compete": (None, COMPETE),
    "another user deleted: the canary's own": ("reports", ROLLBACK),
}


@pytest.mark.parametrize("user, expected", CANARY.values(), ids=CANARY.keys())
def test_a_user_deleted_under_a_canary_whose_revision_before_keeps_its_pool(user, expected):
    from tests.unit.builders import Evidence
    from tests.unit.test_diagnosis import NEW, OLD

    evidence = (Evidence().revision(OLD, -300, sql=(SQL,), plain_env=ENV, secrets=PINNED_6)
                .revision(NEW, -6, sql=(SQL,), plain_env=ENV, secrets=PINNED_6).traffic(**{NEW: 20, OLD: 80})
                .requests(OLD, -90, -6, 200).latency(OLD, -90, -6, 0.2)
                .requests(OLD, -6, 5, 160).latency(OLD, -6, 5, 0.2)
                .requests(NEW, -6, 5, 28).requests(NEW, -6, 5, 14, code="500").latency(NEW, -6, 5, 0.5)
                .connector(max_instances=3).connector_metric("instances", -40, 5, 2)
                .connector_metric("cpu", -40, 5, 0.2).connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1)
                .log(-5, MYSQL, NEW, count=20)
                .sql_user_changed(-5.5, DBA, method=DELETE, user=user))
    bundle = evidence.bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


def test_the_audit_read_asks_for_the_users_deleted_beside_those_changed():
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    query = audit_filter("shop", "api", "us-central1", at, at, sql_instances=("shop:us-central1:db",))
    assert ('(protoPayload.methodName="cloudsql.users.update" OR protoPayload.methodName="cloudsql.users.delete")'
            in query)
