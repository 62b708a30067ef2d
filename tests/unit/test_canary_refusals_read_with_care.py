"""A canary refused where the revision before it logs in cleanly is the canary's own only when the two are shown to
present different things; what is not shown (a secret read at `latest`, the same service account, the same database
name, an audit not read, a user not read) never becomes a rollback. Nor is a deploy cleared because the revision before
it is refused while the canary fails of something else. Pure: evidence built in memory, no I/O.

A secret version added under `latest` reaches only the instances started since (Cloud Run docs, "Configure secrets
for services": a secret as an env var is resolved when an instance starts), so the old revision's pooled connections
stay clean while the canary's new instances are refused: that old revision logging in cleanly shows nothing of what
the canary presents."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import SecretRef
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD

S = DiagnosisSettings()
ENV = (("DB_HOST", "10.10.0.3"), ("DB_NAME", "shop"), ("DB_USER", "app"))
NO_USER_ENV = (("DB_HOST", "10.10.0.3"), ("DB_NAME", "shop"))
PINNED = (SecretRef(env="DB_PASSWORD", secret="db-password", version="6"),)
LATEST = (SecretRef(env="DB_PASSWORD", secret="db-password", version="latest"),)
UNSET = (SecretRef(env="DB_PASSWORD", secret="db-password", version=""),)
USER_IN_SECRET = (SecretRef(env="DB_PASSWORD", secret="db-password", version="6"),
                  SecretRef(env="DB_USER", secret="db-user", version="2"))
LIBPQ = ('psycopg2.OperationalError: connection to server at "10.10.0.3", port 5432 failed: FATAL:  password '
         'authentication failed for user "app"')
# Prisma's P1000: a credentials refusal whose user refusals.names_said does not read.
PRISMA = ("PrismaClientInitializationError: Authentication failed against database server at `10.10.0.3`, the "
          "provided database credentials for `app` are not valid.")
IAM = ('Cloud SQL IAM service account authentication failed for user "run-sa@shop.iam"')
MYSQL_NO_DB = "pymysql.err.OperationalError: (1049, \"Unknown database 'shop'\")"
BUG = "Traceback (most recent call last):\n  File \"/app/cart.py\", line 41, in total\nKeyError: 'price'"
DBA = "carol@example.com"

COMPETE = (Signature.INCONCLUSIVE, None)
DATABASE = (Signature.DATABASE_UNREACHABLE, None)
ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")


def _canary(line: str = LIBPQ, *, old_secrets=PINNED, new_secrets=PINNED, sql: bool = True, env=ENV,
            account: str = "", new_account: str = "", entry: tuple[float, str | None] | None = None,
            old_line: str | None = None) -> Evidence:
    """A 20 % canary NEW deployed at -6 beside OLD (160 clean requests a minute), a third of NEW's requests 500 from
    -6, NEW logging `line` 20 times at -5 (OLD `old_line` 20 times at -4, with a few 500s); a database user changed at
    entry[0] naming entry[1], when given; both on the Cloud SQL instance SQL when `sql`, else a private IP only."""
    names = (SQL,) if sql else ()
    e = (Evidence().revision(OLD, -300, sql=names, plain_env=env, secrets=old_secrets, service_account=account)
         .revision(NEW, -6, sql=names, plain_env=env, secrets=new_secrets, service_account=new_account or account)
         .traffic(**{NEW: 20, OLD: 80})
         .requests(OLD, -90, -6, 200).latency(OLD, -90, -6, 0.2)
         .requests(OLD, -6, 5, 160).latency(OLD, -6, 5, 0.2)
         .requests(NEW, -6, 5, 28).requests(NEW, -6, 5, 14, code="500").latency(NEW, -6, 5, 0.5)
         .connector(max_instances=3).connector_metric("instances", -40, 5, 2)
         .connector_metric("cpu", -40, 5, 0.2).connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1)
         .log(-5, line, NEW, count=20))
    if entry is not None:
        e.sql_user_changed(entry[0], DBA, user=entry[1])
    if old_line is not None:
        e.requests(OLD, -5, 5, 1, code="500").log(-4, old_line, OLD, count=20)
    return e


def _decide(evidence: Evidence, *, audit_read: bool = True):
    bundle = evidence.bundle()
    if not audit_read:
        bundle = bundle.model_copy(update={"sql_audit": None})
    result = diagnose(bundle, S)
    return (result.signature, plan(result, bundle, S).action), result


ROWS = {
    # 1. A credential read at `latest` by either revision: the old one's pooled sessions prove nothing.
    "both revisions read DB_PASSWORD at latest": (dict(old_secrets=LATEST, new_secrets=LATEST), {}, COMPETE),
    "both read it with no version set (latest)": (dict(old_secrets=UNSET, new_secrets=UNSET), {}, COMPETE),
    # Control: the deploy moved a pinned password to `latest`; the revision before pins the one accepted and gets it
    # on every new instance, so sending traffic back restores it (the deploy's own, as before).
    "only the canary reads it at latest, the revision before pins it": (dict(new_secrets=LATEST), {}, ROLLBACK),
    "only the revision before reads it at latest": (dict(old_secrets=LATEST), {}, COMPETE),
    # The same service account on both: an IAM login the same identity presents.
    "an IAM login refused, the same service account on both": (
        dict(line=IAM, account="run-sa@shop.iam.gserviceaccount.com"), {}, COMPETE),
    # The same database name asked for by both: a database dropped refuses only new connections' logins.
    "MySQL's unknown database, the same DB_NAME on both": (dict(line=MYSQL_NO_DB), {}, COMPETE),
    # 2. The users audit not read: "not read" is not "no user changed".
    "the audit read failed (None)": (dict(), dict(audit_read=False), COMPETE),
    "no Cloud SQL instance named (a private IP): no audit query made": (dict(sql=False), {}, COMPETE),
    # 3. The revisions' user not read (DB_USER from a secret, Prisma's P1000): a user changed may be theirs.
    "a user changed a minute before, the revisions' user not read": (
        dict(line=PRISMA, env=NO_USER_ENV, old_secrets=USER_IN_SECRET, new_secrets=USER_IN_SECRET,
             entry=(-6.5, "app")), {}, COMPETE),
    # Controls: the canary's own, as before.
    "pinned on both, the audit read, no user changed: the canary's own": (dict(), {}, ROLLBACK),
    "another user changed, the revisions' user read: the canary's own": (dict(entry=(-20, "reports")), {}, ROLLBACK),
    "an IAM login refused, the canary runs as another account: its own": (
        dict(line=IAM, account="old-sa@shop.iam.gserviceaccount.com",
             new_account="run-sa@shop.iam.gserviceaccount.com"), {}, ROLLBACK),
}


@pytest.mark.parametrize("build, read, expected", ROWS.values(), ids=ROWS.keys())
def test_a_canary_refused_alone_is_its_own_only_when_shown(build, read, expected):
    decided, result = _decide(_canary(**build), **read)
    assert decided == expected, result.summary


# 5. The revision before refused its logins, the canary failing of its own bug with no refusal: the deploy is not
# cleared by refusals that are not the canary's.
def test_a_canary_failing_without_refusals_is_not_cleared_by_the_old_revisions():
    decided, result = _decide(_canary(BUG, old_line=LIBPQ))
    assert decided != DATABASE, result.summary
    assert "sending traffic back meets the same refusals" not in result.summary, result.summary


def test_both_revisions_refused_stay_the_databases():
    """Control: both revisions log the password refused, the deploy changed nothing of the login."""
    decided, result = _decide(_canary(LIBPQ, old_line=LIBPQ))
    assert decided == DATABASE, result.summary
