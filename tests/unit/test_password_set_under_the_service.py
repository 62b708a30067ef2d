"""A database user's password set on the Cloud SQL instance (cloudsql.users.update in the Admin Activity audit log,
Cloud SQL docs "Cloud SQL audit logging") minutes after a deploy that changed nothing of how the service logs in:
every new connection's login is refused, whichever revision opens it, and sending traffic back presents the same
credentials. With the entry read at or before the first refusal, the deploy is ruled out and the database's
refusals stand alone (database_unreachable, escalated); with none (a password changed in SQL logs nothing there),
after the refusals began, Runwarden's own, failed, or beside a deploy that changed the secret it reads, the two
compete as before. Never a rollback. Nor is the deploy ruled out when the revision it replaced still serves (a
canary) and serves cleanly after the first refusal with no refusal of its own: the credentials are shown refused
only on the new revision's connections, and the deploy competes again."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import SecretRef
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.test_deploy_moved_where_it_connects import deployed

S = DiagnosisSettings()
ENV = (("DB_HOST", "10.10.0.3"), ("DB_NAME", "shop"), ("DB_USER", "app"))
PINNED_6 = (SecretRef(env="DB_PASSWORD", secret="db-password", version="6"),)
PINNED_7 = (SecretRef(env="DB_PASSWORD", secret="db-password", version="7"),)
LIBPQ = ('psycopg2.OperationalError: connection to server at "10.10.0.3", port 5432 failed: FATAL:  password '
         'authentication failed for user "app"')
MYSQL = "Error 1045 (28000): Access denied for user 'app'@'cloudsqlproxy~10.8.0.4' (using password: YES)"
DBA = "carol@example.com"
SELF = "runwarden@demo.iam.gserviceaccount.com"

DATABASE = (Signature.DATABASE_UNREACHABLE, None)
COMPETE = (Signature.INCONCLUSIVE, None)
ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")

CASES = {
    # The failures (from -5) follow a deploy at -6 that changed nothing; a password set at -5.5 on the instance.
    "libpq's password refused after a person set the password": ((LIBPQ, -5.5, DBA, None, PINNED_6), DATABASE),
    "MySQL's 1045 after a person set the password": ((MYSQL, -5.5, DBA, None, PINNED_6), DATABASE),
    "a password set just before the deploy": ((LIBPQ, -7, DBA, None, PINNED_6), DATABASE),
    "a rotation job's service account set it": ((LIBPQ, -5.5, "rotator@demo.iam.gserviceaccount.com", None, PINNED_6),
                                                DATABASE),
    # Controls.
    "no entry (a password changed in SQL)": ((LIBPQ, None, DBA, None, PINNED_6), COMPETE),
    "the entry after the refusals began": ((LIBPQ, -3, DBA, None, PINNED_6), COMPETE),
    "the change failed": ((LIBPQ, -5.5, DBA, 7, PINNED_6), COMPETE),
    "Runwarden's own principal": ((LIBPQ, -5.5, SELF, None, PINNED_6), COMPETE),
    "the deploy moved the password's secret version": ((LIBPQ, -5.5, DBA, None, PINNED_7), ROLLBACK),
}

# A 20 % canary deployed at -6: the revision before keeps 80 % (`old` requests a minute, `old_500` of them 500) and
# logs `old_line` 20 times at -4 (none: no refusal of its own); a user changed on the instance at -20.
CANARY = {
    "the revision before clean after the first refusal, none of its own: the deploy not ruled out": (
        dict(old=160, old_500=0, old_line=None), COMPETE),
    "the revision before refused too (a few of its requests 500): the password's": (
        dict(old=160, old_500=1, old_line=LIBPQ), DATABASE),
    "the revision before clean but too quiet to tell (11 requests in all): the password's": (
        dict(old=1, old_500=0, old_line=None), DATABASE),
    # No user the revisions log in as changed: the canary refused alone, the revision before logging in beside it.
    "no entry, the revision before clean beside it: the canary's own": (
        dict(old=160, old_500=0, old_line=None, entry=False), ROLLBACK),
    "another user changed, the revision before clean beside it: the canary's own": (
        dict(old=160, old_500=0, old_line=None, user="reports"), ROLLBACK),
    "no entry, the revision before refused too: the database's, never a rollback": (
        dict(old=160, old_500=1, old_line=LIBPQ, entry=False), DATABASE),
    "no entry, the revision before too quiet to tell: the two compete": (
        dict(old=1, old_500=0, old_line=None, entry=False), COMPETE),
}


@pytest.mark.parametrize("args, expected", CASES.values(), ids=CASES.keys())
def test_a_password_set_under_the_service_is_the_databases(args, expected):
    line, when, who, status, new_secrets = args
    evidence = deployed(line, ENV, ENV, old_secrets=PINNED_6, new_secrets=new_secrets)
    if when is not None:
        evidence.sql_user_changed(when, who, status=status)
    settings = S.model_copy(update={"self_principals": (SELF,)})
    bundle = evidence.bundle()
    result = diagnose(bundle, settings)
    assert (result.signature, plan(result, bundle, settings).action) == expected, result.summary


@pytest.mark.parametrize("case, expected", CANARY.values(), ids=CANARY.keys())
def test_a_password_set_under_a_canary_whose_revision_before_is_not_refused(case, expected):
    from tests.unit.builders import Evidence
    from tests.unit.test_deploy_moved_where_it_connects import SQL
    from tests.unit.test_diagnosis import NEW, OLD

    evidence = (Evidence().revision(OLD, -300, sql=(SQL,), plain_env=ENV, secrets=PINNED_6)
                .revision(NEW, -6, sql=(SQL,), plain_env=ENV, secrets=PINNED_6).traffic(**{NEW: 20, OLD: 80})
                .requests(OLD, -90, -6, 200).latency(OLD, -90, -6, 0.2)
                .requests(OLD, -6, 5, case["old"]).latency(OLD, -6, 5, 0.2)
                .requests(NEW, -6, 5, 28).requests(NEW, -6, 5, 14, code="500").latency(NEW, -6, 5, 0.5)
                .connector(max_instances=3).connector_metric("instances", -40, 5, 2)
                .connector_metric("cpu", -40, 5, 0.2).connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1)
                .log(-5, LIBPQ, NEW, count=20))
    if case.get("entry", True):
        evidence.sql_user_changed(-20, DBA, user=case.get("user"))
    if case["old_500"]:
        evidence.requests(OLD, -5, 5, case["old_500"], code="500")
    if case["old_line"]:
        evidence.log(-4, case["old_line"], OLD, count=20)
    bundle = evidence.bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


def test_the_audit_read_asks_for_the_users_changed_on_the_revisions_instances():
    from datetime import datetime, timezone

    from shared.diagnosis.log_signals import audit_filter
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    query = audit_filter("shop", "api", "us-central1", at, at, sql_instances=("shop:us-central1:db",
                                                                              "other:us-central1:db2"))
    assert ('protoPayload.serviceName="cloudsql.googleapis.com" AND (protoPayload.methodName="cloudsql.users.update"'
            in query)
    assert 'resource.labels.database_id="shop:db"' in query
    # An instance of another project logs its changes in that project's audit log, not read here.
    assert "other:db2" not in query
    assert "cloudsql" not in audit_filter("shop", "api", "us-central1", at, at)


# A password set at -5.5 on the instance, its entry naming `user` (None: naming none), the refusal `line`, and the
# users the revisions' plain env asks for: only a change of a user the revisions are shown to log in as rules the
# deploy out (Cloud SQL Admin API REST reference, users.update: "Name of the user in the instance").
NO_USER_ENV = (("DB_HOST", "10.10.0.3"), ("DB_NAME", "shop"))
# Prisma's P1000, a credentials refusal whose user `refusals.names_said` does not read.
NO_USER_LINE = ("PrismaClientInitializationError: Authentication failed against database server at `10.10.0.3`, the "
                "provided database credentials for `app` are not valid.")
USERS = {
    "the user the refusal and the env name": (("app", LIBPQ, ENV), DATABASE),
    "MySQL's 1045 names the user changed": (("app", MYSQL, ENV), DATABASE),
    "the user only the env names (Prisma's P1000 read for none)": (("app", NO_USER_LINE, ENV), DATABASE),
    "an entry naming no user (as before)": ((None, LIBPQ, ENV), DATABASE),
    "another user of the instance (a reports user rotated)": (("reports", LIBPQ, ENV), COMPETE),
    "another user, MySQL": (("reports", MYSQL, ENV), COMPETE),
    "a user named, none read of the revisions": (("app", NO_USER_LINE, NO_USER_ENV), COMPETE),
}


@pytest.mark.parametrize("args, expected", USERS.values(), ids=USERS.keys())
def test_only_a_password_set_for_a_user_the_revisions_log_in_as_is_the_databases(args, expected):
    user, line, env = args
    evidence = deployed(line, env, env, old_secrets=PINNED_6, new_secrets=PINNED_6)
    evidence.sql_user_changed(-5.5, DBA, user=user)
    bundle = evidence.bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary
    if user == "reports":
        assert any("of another user than the revisions log in as (app): reports" in i.observed
                   for i in result.evidence), [i.observed for i in result.evidence]
