"""The database's and the configuration's own failures beside a busy connector or a deploy: a full
disk in each engine's and driver's words, a read replica behind its primary, a Secret Manager version
a revision pins that is gone. None is the connector's nor the deploy's: no scale-up, no rollback that
would not help, and the advice names what to look at (the instance's storage, the replica, the
secret version)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext, Condition, Revision, SecretRef
from shared.diagnosis.secret_refs import plain_credentials_changed
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, T0, Evidence
from tests.unit.test_database_refusals import OLD, NEW, SYSTEM, deployed, newly_saturated, quiet, serving

S = DiagnosisSettings()
BOTH = {"bad_revision", "database_unreachable"}

# MySQL's ER_DISK_FULL (1021), "Disk full (%s); waiting for someone to free some space... (errno: %d -
# %s)" (mysql-server share/messages_to_clients.txt; mysql/mysql-connector-j MysqlErrorNumbers.java, ER_DISK_FULL),
# in PyMySQL's, go-sql-driver/mysql's and PHP PDO's frames; older servers end at "...".
DISK_FULL_PY = ('pymysql.err.OperationalError: (1021, "Disk full (/tmp/#sql_1f2c_0.MAI); waiting for someone to free '
                'some space... (errno: 28 - No space left on device)")')
DISK_FULL_GO = ("Error 1021 (HY000): Disk full (./orders/order_items.MYD); waiting for someone to free some space... "
                "(errno: 28 - No space left on device)")
DISK_FULL_PDO = ("SQLSTATE[HY000]: General error: 1021 Disk full (/tmp/#sql-128a_1.MAI); waiting for someone to free "
                 "some space...")
# MariaDB 11's words for the same full disk when it does not wait (MariaDB/server commit "MDEV-33813"):
# "Disk got full writing '%s' (Errcode: %M)", the errno's words in double quotes.
DISK_GOT_FULL = ("(1021, 'Disk got full writing \\'orders.order_items\\' (Errcode: 28 \"No space left on device\")')")
# PostgreSQL's short write when a relation's file is extended (md.c mdextend: "could not extend file
# \"%s\": wrote only %d of %d bytes at block %u", 53100 disk_full, HINT "Check free disk space.").
PG_SHORT_WRITE = ('ERROR: could not extend file "base/16384/24591": wrote only 4096 of 8192 bytes at block 91827 '
                  "(SQLSTATE 53100)")
TABLE_FULL_JAVA = "java.sql.SQLException: The table '/tmp/#sql1_2a5_0' is full"

DISK = {
    "MySQL 1021 (PyMySQL) at a newly saturated connector: the instance's storage, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, DISK_FULL_PY, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="automatic storage increase"),
    "MySQL 1021 (go-sql-driver) with statements hanging at a newly saturated connector: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="504", latency=60)).log(-5, DISK_FULL_GO, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="automatic storage increase"),
    "MySQL 1021 (PHP PDO, older server) just after a deploy: every revision writes to the same disk, no rollback":
    dict(build=lambda e: quiet(deployed(e, at=-8)).log(-6, DISK_FULL_PDO, NEW, count=20),
         expect=Signature.INCONCLUSIVE, competing=BOTH, names="storage"),
    "MariaDB's disk got full just after a deploy: no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, DISK_GOT_FULL, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH, names="storage"),
    "PostgreSQL's short write extending a relation at a newly saturated connector: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, PG_SHORT_WRITE, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="automatic storage increase"),
    "MySQL 1114 (Connector/J, a temporary table) just after a deploy: no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, TABLE_FULL_JAVA, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH, names="storage"),
}

# A PostgreSQL read replica (hot standby) cancelling a read that holds back the replay of the primary's
# changes (40001), in psycopg2's and pgx's words: the replica answered, whatever the revision.
REPLICA_PY = ("psycopg2.errors.SerializationFailure: canceling statement due to conflict with recovery\nDETAIL:  User "
              "query might have needed to see row versions that must be removed.")
REPLICA_PGX = "ERROR: canceling statement due to conflict with recovery (SQLSTATE 40001)"


def moved_reads(e: Evidence, at: float = -8) -> Evidence:
    """As `deployed`, but the deploy changed the database host the revision reads (plain env)."""
    return (e.revision(OLD, -300, sql=(SQL,), env=("10.40.0.7",)).revision(NEW, at, sql=(SQL,), env=("10.40.0.8",))
            .traffic(**{NEW: 100}).requests(OLD, -90, at, 40).latency(OLD, -90, at, 0.2).requests(NEW, at, 5, 14)
            .requests(NEW, at, 5, 20, code="500").latency(NEW, at, 5, 0.5))


def canary(e: Evidence, at: float = -6) -> Evidence:
    """NEW took 20 % of the traffic at `at` and fails 60 %; OLD serves the other 80 % cleanly."""
    return (e.revision(OLD, -300, sql=(SQL,)).revision(NEW, at, sql=(SQL,)).traffic(**{OLD: 80, NEW: 20})
            .requests(OLD, -90, 5, 40).latency(OLD, -90, 5, 0.2).requests(NEW, at, 5, 6)
            .requests(NEW, at, 5, 9, code="500").latency(NEW, at, 5, 0.5))


REPLICA = {
    "a replica's recovery conflicts just after a deploy: the revision before reads the same replica, no rollback":
    dict(build=lambda e: quiet(deployed(e, at=-8)).log(-6, REPLICA_PY, NEW, count=20),
         expect=Signature.INCONCLUSIVE, names="replica"),
    "the same in pgx's words: no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, REPLICA_PGX, NEW, count=20),
        expect=Signature.INCONCLUSIVE, names="max_standby_streaming_delay"),
    # The deploy's own: it pointed the reads at the replica, or only the canary's reads are cancelled.
    "a deploy that moved the reads to another host meets the replica's conflicts: rolled back": dict(
        build=lambda e: quiet(moved_reads(e)).log(-6, REPLICA_PY, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a canary's reads cancelled while the revision beside it reads the same replica cleanly: rolled back": dict(
        build=lambda e: quiet(canary(e)).log(-5, REPLICA_PGX, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a replica's recovery conflicts with a quiet connector: the replica is named": dict(
        build=lambda e: quiet(serving(e, code="500", latency=8)).log(-5, REPLICA_PGX, OLD, count=25),
        expect=Signature.INCONCLUSIVE, names="replica"),
}

# Statements the database cancelled waiting on a lock (PostgreSQL 55P03 at lock_timeout; MySQL 1205), in
# psycopg2's and go-sql-driver/mysql's words: whatever holds the lock (a migration run beside the deploy, a
# batch) the revision before meets too. A deadlock (40P01 in pgjdbc's words) is a cycle of its own.
LOCK_PY = ("django.db.utils.OperationalError: canceling statement due to lock timeout\nCONTEXT:  while inserting "
           "index tuple (0,12) in relation \"orders_order\"")
LOCK_MYSQL = "Error 1205 (HY000): Lock wait timeout exceeded; try restarting transaction"
DEADLOCK_JAVA = ("org.postgresql.util.PSQLException: ERROR: deadlock detected\n  Detail: Process 4012 waits for "
                 "ShareLock on transaction 91831; blocked by process 4013.")
TIMEOUT_PY = "psycopg2.errors.QueryCanceled: canceling statement due to statement timeout"
KEY_ERROR = "KeyError: 'billing_address'"


def busy_as_usual(e: Evidence) -> Evidence:
    """A shared connector at its max instances since long before the failures (another team's export)."""
    return (e.connector(max_instances=3).connector_metric("instances", -40, 5, 3)
            .connector_metric("cpu", -40, 5, 0.88).connector_metric("bytes", -40, 5, 6e7).sql_up(-40, 5, 1))


LOCKS = {
    "a deploy, then writes cancelled at lock_timeout beside a busy connector: no rollback, no scale-up": dict(
        build=lambda e: busy_as_usual(deployed(e, at=-8)).log(-6, LOCK_PY, NEW, count=20),
        expect=Signature.INCONCLUSIVE, names="pg_locks"),
    "the same with a quiet connector, in MySQL's words: no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, LOCK_MYSQL, NEW, count=20),
        expect=Signature.INCONCLUSIVE, names="lock wait timeout exceeded"),
    "lock timeouts beside a few deadlocks just after a deploy: no rollback, the holder named": dict(
        build=lambda e: (quiet(deployed(e, at=-8)).log(-6, LOCK_MYSQL, NEW, count=20)
                         .log(-6, DEADLOCK_JAVA, NEW, count=3)),
        expect=Signature.INCONCLUSIVE, names="performance_schema.data_lock_waits"),
    # A deadlock is a cycle the new revision's own lock order may close (test_connector_closed_failed_crashed.py).
    "deadlocks just after a deploy: rolled back, as before": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, DEADLOCK_JAVA, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    # The deploy's own: it moved the database, only the canary waits, or most of its failures are its code.
    "a deploy that moved the database host meets lock waits: rolled back": dict(
        build=lambda e: quiet(moved_reads(e)).log(-6, LOCK_PY, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a canary's writes wait on locks while the revision beside it writes cleanly: rolled back": dict(
        build=lambda e: quiet(canary(e)).log(-5, LOCK_MYSQL, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a few lock waits among the new code's own errors: rolled back": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, LOCK_PY, NEW, count=4).log(-6, KEY_ERROR, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "statement timeouts (a slower query, no lock) just after a deploy: rolled back, as before": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, TIMEOUT_PY, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
}

# A secret version the revision pins, disabled or destroyed since: Cloud Run's own words as the
# revision's condition and its system log give them, in both of their forms.
SECRET_DISABLED = ("spec.template.spec.containers[0].env[1].value_from.secret_key_ref.name: Secret "
                   "projects/123456789/secrets/DB_PASSWORD/versions/3 is in DISABLED state.")
SECRET_MISSING = ("spec.template.spec.containers[0].env[1].value_from.secret_key_ref.name: Secret "
                  "projects/123456789/secrets/DB_PASSWORD/versions/3 was not found")
SECRET_FETCH = ('Could not fetch secret "projects/123456789/secrets/DB_PASSWORD/versions/3" for environment variable '
                '"DB_PASSWORD". Instance startup will now abort: Secret Version [DB_PASSWORD/versions/3] is in '
                "DESTROYED state.")
SECRETS = {
    "the serving revision's pinned version disabled: its new instances abort, the version is named": dict(
        build=lambda e: quiet(serving(e, failing=12, code="503")).log(-6, SECRET_DISABLED, OLD, count=6,
                                                                      log_id=SYSTEM),
        expect=Signature.STARTUP_CONFIG_FAILURE, names="db_password version 3"),
    "the same version not found just after a deploy: configuration, no rollback, the version named": dict(
        build=lambda e: quiet(deployed(e, at=-8, code="503")).log(-6, SECRET_MISSING, NEW, count=6, log_id=SYSTEM),
        expect=Signature.STARTUP_CONFIG_FAILURE, names="db_password version 3"),
    "a destroyed version (Could not fetch secret): the version named": dict(
        build=lambda e: quiet(deployed(e, at=-8, code="503")).log(-6, SECRET_FETCH, NEW, count=6, log_id=SYSTEM),
        expect=Signature.STARTUP_CONFIG_FAILURE, names="db_password version 3"),
    # A deploy that changed something else, both revisions pinning the version since disabled: sending
    # traffic back would start instances that meet the same refusal.
    "both revisions pin the version since disabled: the advice says a rollback meets the same refusal": dict(
        build=lambda e: quiet(pinned_both(e)).log(-6, SECRET_DISABLED, NEW, count=6, log_id=SYSTEM),
        expect=Signature.STARTUP_CONFIG_FAILURE, names="sending traffic back to it would meet the same refusal"),
    "the revision before pins another version: nothing said of a rollback": dict(
        build=lambda e: quiet(pinned_both(e, before="2")).log(-6, SECRET_DISABLED, NEW, count=6, log_id=SYSTEM),
        expect=Signature.STARTUP_CONFIG_FAILURE, names="db_password version 3", not_said="would meet the same"),
}


def pinned_both(e: Evidence, before: str = "3", at: float = -8) -> Evidence:
    """As `deployed` (NEW failing 60 % with 503s), both revisions reading DB_PASSWORD from Secret Manager,
    NEW at version 3 and OLD at `before`."""
    ref = SecretRef(env="DB_PASSWORD", secret="projects/123456789/secrets/DB_PASSWORD", version="3")
    old = SecretRef(env="DB_PASSWORD", secret="DB_PASSWORD", version=before)
    return (e.revision(OLD, -300, sql=(SQL,), secrets=(old,)).revision(NEW, at, sql=(SQL,), secrets=(ref,))
            .traffic(**{NEW: 100}).requests(OLD, -90, at, 40).latency(OLD, -90, at, 0.2).requests(NEW, at, 5, 14)
            .requests(NEW, at, 5, 20, code="503").latency(NEW, at, 5, 0.5))


def _check(case):
    bundle = case["build"](Evidence()).bundle()
    result = diagnose(bundle, S)
    chosen = plan(result, bundle, S)
    assert result.signature is case["expect"], result.summary
    assert chosen.action == case.get("action"), chosen.reason
    if "competing" in case:
        assert set(result.competing) == case["competing"], result.summary
    if "names" in case:
        assert case["names"] in (result.summary + " " + result.recommendation).lower(), (
            result.summary + " || " + result.recommendation)
    if "not_said" in case:
        assert case["not_said"] not in result.recommendation + result.model_dump_json(), result.recommendation


@pytest.mark.parametrize("case", DISK.values(), ids=DISK.keys())
def test_a_full_disk_is_the_instances_storage(case):
    _check(case)


# A full disk and a read-only database are two refusals a person acts on differently (free or add
# storage; point the application at the primary, or lift a read-only flag): each says its own, in the
# summary, the evidence and the advice, and never the other's. The actions stay as they were.
_FULL_SAYS, _RO_SAYS = "storage is full", "read-only"
# The advice, in its own words: the storage's growth for a full disk, the replica for a read-only one.
_ADVICE = {_FULL_SAYS: ("automatic storage increase", "read replica"), "storage": ("automatic storage increase",
                                                                                  "read replica"),
           _RO_SAYS: ("read replica", "automatic storage increase")}
WORDS = {
    "PostgreSQL's relation that cannot grow, the connector newly saturated": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(
            -5, 'psycopg2.errors.DiskFull: could not extend file "base/16384/24591": No space left on device', OLD,
            count=25), says=_FULL_SAYS, never=_RO_SAYS),
    "PostgreSQL's short write, no deploy, the connector quiet": dict(
        build=lambda e: quiet(serving(e)).log(-5, PG_SHORT_WRITE, OLD, count=30), says=_FULL_SAYS, never=_RO_SAYS),
    "PostgreSQL's WAL segment on a full disk, just after a deploy": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(
            -6, 'sqlalchemy.exc.OperationalError: (psycopg2.errors.DiskFull) could not write to file '
                '"pg_wal/xlogtemp.4121": No space left on device', NEW, count=20), says=_FULL_SAYS, never=_RO_SAYS),
    "MySQL 1021 waiting for space, statements hanging": dict(
        build=lambda e: newly_saturated(serving(e, code="504", latency=60)).log(-5, DISK_FULL_GO, OLD, count=25),
        says=_FULL_SAYS, never=_RO_SAYS),
    "MariaDB's disk got full, just after a deploy": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, DISK_GOT_FULL, NEW, count=20),
        says=_FULL_SAYS, never=_RO_SAYS),
    "MySQL errno 28 on a temporary file": dict(
        build=lambda e: quiet(serving(e)).log(
            -5, "pymysql.err.OperationalError: (3, \"Error writing file '/tmp/MYfd=58' (OS errno 28 - No space left "
                "on device)\")", OLD, count=30), says=_FULL_SAYS, never=_RO_SAYS),
    "MySQL 1114, a table full (Connector/J)": dict(
        build=lambda e: quiet(serving(e)).log(-5, TABLE_FULL_JAVA, OLD, count=30), says="storage", never=_RO_SAYS),
    "PostgreSQL's read-only transaction (a replica or a read-only instance)": dict(
        build=lambda e: quiet(serving(e)).log(
            -5, "psycopg2.errors.ReadOnlySqlTransaction: cannot execute INSERT in a read-only transaction", OLD,
            count=30), says=_RO_SAYS, never=_FULL_SAYS),
    "MySQL's --super-read-only (a replica), the connector newly saturated": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(
            -5, "pymysql.err.OperationalError: (1290, 'The MySQL server is running with the --super-read-only option "
                "so it cannot execute this statement')", OLD, count=25), says=_RO_SAYS, never=_FULL_SAYS),
    "MySQL's --read-only, just after a deploy": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(
            -6, "ERROR 1290 (HY000): The MySQL server is running with the --read-only option so it cannot execute "
                "this statement", NEW, count=20), says=_RO_SAYS, never=_FULL_SAYS),
}


@pytest.mark.parametrize("case", WORDS.values(), ids=WORDS.keys())
def test_a_full_disk_and_a_read_only_database_each_say_their_own(case):
    bundle = case["build"](Evidence()).bundle()
    result = diagnose(bundle, S)
    assert plan(result, bundle, S).action is None, result.summary
    observed = " ".join(e.observed for e in result.evidence if e.source == "log")
    for where, text in (("summary", result.summary), ("evidence", observed)):
        assert case["says"] in text.lower(), f"{where}: {text}"
        assert case["never"] not in text.lower().replace(case["says"], ""), f"{where}: {text}"
    says, never = _ADVICE[case["says"]]
    assert says in result.recommendation.lower() and never not in result.recommendation.lower(), result.recommendation


@pytest.mark.parametrize("case", REPLICA.values(), ids=REPLICA.keys())
def test_a_replica_behind_its_primary(case):
    _check(case)


@pytest.mark.parametrize("case", LOCKS.values(), ids=LOCKS.keys())
def test_lock_waits_of_the_database_both_revisions_use(case):
    _check(case)


@pytest.mark.parametrize("case", SECRETS.values(), ids=SECRETS.keys())
def test_a_pinned_secret_version_gone(case):
    _check(case)


# A password in a plain env var: a deploy that changed it brings the refusals (its own configuration, a
# rollback restores the accepted value); a password changed on the database with no deploy is refused to
# every revision alike.
PG_AUTH = 'psycopg2.OperationalError: FATAL:  password authentication failed for user "orders"'
MYSQL_AUTH = "Error 1045 (28000): Access denied for user 'orders'@'10.8.0.5' (using password: YES)"


def plain_password(e: Evidence, old: str, new: str, at: float = -8, name: str = "DB_PASSWORD") -> Evidence:
    """As `deployed`, the two revisions' plain env `name` holding `old` and `new`, DB_HOST the same."""
    return (e.revision(OLD, -300, sql=(SQL,), plain_env=(("DB_HOST", "10.40.0.7"), (name, old)))
            .revision(NEW, at, sql=(SQL,), plain_env=(("DB_HOST", "10.40.0.7"), (name, new)))
            .traffic(**{NEW: 100}).requests(OLD, -90, at, 40).latency(OLD, -90, at, 0.2).requests(NEW, at, 5, 14)
            .requests(NEW, at, 5, 20, code="500").latency(NEW, at, 5, 0.5))


def password_dropped(e: Evidence) -> Evidence:
    """As `plain_password`, the new revision's plain env without DB_PASSWORD (DB_HOST the same)."""
    return (e.revision(OLD, -300, sql=(SQL,), plain_env=(("DB_HOST", "10.40.0.7"), ("DB_PASSWORD", "k7-rotated")))
            .revision(NEW, -8, sql=(SQL,), plain_env=(("DB_HOST", "10.40.0.7"),))
            .traffic(**{NEW: 100}).requests(OLD, -90, -8, 40).latency(OLD, -90, -8, 0.2).requests(NEW, -8, 5, 14)
            .requests(NEW, -8, 5, 20, code="500").latency(NEW, -8, 5, 0.5))


PASSWORDS = {
    "a deploy changed the password in a plain env var (libpq): rolled back": dict(
        build=lambda e: quiet(plain_password(e, "s3cret-2025", "s3cret-2026")).log(-6, PG_AUTH, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="its deploy changed the plain env db_password",
        not_said="s3cret"),
    "a deploy changed the DSN's password (MySQL 1045): rolled back": dict(
        build=lambda e: quiet(plain_password(e, "mysql://orders:hunter2@10.40.0.7/orders",
                                             "mysql://orders:hunter3@10.40.0.7/orders", name="DATABASE_URL"))
        .log(-6, MYSQL_AUTH, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a deploy changed libpq's keyword password in a plain DSN (asyncpg): rolled back": dict(
        build=lambda e: quiet(plain_password(e, "host=10.40.0.7 user=orders password=a1", "host=10.40.0.7 "
                                             "user=orders password=b2", name="PG_DSN")).log(-6, PG_AUTH, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    # A deploy that changed another plain value (a log level) is no sign of the password: the database's
    # password changed meanwhile is as likely, and every revision meets it.
    "a deploy changed a plain value that holds no credential: escalated": dict(
        build=lambda e: quiet(plain_password(e, "info", "debug", name="LOG_LEVEL")).log(-6, PG_AUTH, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "a deploy changed the DSN's host but not its password: escalated": dict(
        build=lambda e: quiet(plain_password(e, "postgres://orders:pw@10.40.0.7/orders",
                                             "postgres://orders:pw@10.40.0.9/orders", name="DATABASE_URL"))
        .log(-6, PG_AUTH, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "the same plain env on both revisions (the database's password changed): escalated": dict(
        build=lambda e: quiet(plain_password(e, "s3cret-2025", "s3cret-2025")).log(-6, PG_AUTH, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    # A deploy that took the password out of the DSN: the new revision connects with none (MySQL answers
    # "(using password: NO)"), the revision before holds the accepted one in itself. Its refusals are its own.
    "a deploy removed the password from the DSN's URL (MySQL 1045, using password: NO): rolled back": dict(
        build=lambda e: quiet(plain_password(e, "mysql://orders:hunter2@10.40.0.7/orders",
                                             "mysql://orders@10.40.0.7/orders", name="DATABASE_URL"))
        .log(-6, MYSQL_AUTH.replace("YES", "NO"), NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="password in the plain env database_url",
        not_said="hunter2"),
    "a deploy removed the password from a JDBC URL's parameters: rolled back": dict(
        build=lambda e: quiet(plain_password(e, "jdbc:mysql://10.40.0.7/orders?user=orders&password=Zq9-x",
                                             "jdbc:mysql://10.40.0.7/orders?user=orders", name="JDBC_URL"))
        .log(-6, "java.sql.SQLException: Access denied for user 'orders'@'10.8.0.5' (using password: NO)", NEW,
             count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic", not_said="Zq9-x"),
    "a deploy removed DB_PASSWORD from the plain env, DB_HOST still there: rolled back": dict(
        build=lambda e: quiet(password_dropped(e)).log(-6, MYSQL_AUTH.replace("YES", "NO"), NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic", not_said="k7-rotated"),
    # PostgreSQL's clients say so before the server can refuse: libpq (psycopg2/3) "fe_sendauth: no password
    # supplied", pgjdbc "The server requested SCRAM-based authentication, but no password was provided."
    "a deploy removed the password from a PostgreSQL DSN (libpq: fe_sendauth): rolled back": dict(
        build=lambda e: quiet(plain_password(e, "postgresql://orders:hunter2@10.40.0.7/orders",
                                             "postgresql://orders@10.40.0.7/orders", name="DATABASE_URL"))
        .log(-6, 'psycopg2.OperationalError: connection to server at "10.40.0.7", port 5432 failed: '
                 "fe_sendauth: no password supplied", NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="password in the plain env database_url",
        not_said="hunter2"),
    "a deploy removed DB_PASSWORD, pgjdbc connects with none (SCRAM): rolled back": dict(
        build=lambda e: quiet(password_dropped(e))
        .log(-6, "org.postgresql.util.PSQLException: The server requested SCRAM-based authentication, but no "
                 "password was provided.", NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic", not_said="k7-rotated"),
    "no password supplied with no deploy (the secret emptied): escalated, no rollback": dict(
        build=lambda e: quiet(serving(e)).log(-5, "FATAL: fe_sendauth: no password supplied", OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="password"),
    # An empty password taken out is no change of the credential: escalated as before.
    "a deploy dropped an empty password from the DSN: escalated": dict(
        build=lambda e: quiet(plain_password(e, "mysql://orders:@10.40.0.7/orders", "mysql://orders@10.40.0.7/orders",
                                             name="DATABASE_URL")).log(-6, MYSQL_AUTH.replace("YES", "NO"), NEW,
                                                                       count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "the password rotated on the database, no deploy: escalated, no rollback": dict(
        build=lambda e: quiet(serving(e)).log(-5, MYSQL_AUTH, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="password"),
}


@pytest.mark.parametrize("case", PASSWORDS.values(), ids=PASSWORDS.keys())
def test_a_password_a_deploy_changed_or_not(case):
    _check(case)



def _rev(*plain: tuple[str, str]) -> Revision:
    return Revision(name="s/revisions/r", service="s", create_time=T0, plain_env=plain)


@pytest.mark.parametrize("before, after, said", [
    ((("DB_PASSWORD", "a"),), (("DB_PASSWORD", "b"),), ["plain env DB_PASSWORD"]),
    ((("STRIPE_API_KEY", "a"),), (("STRIPE_API_KEY", "b"),), ["plain env STRIPE_API_KEY"]),
    ((("DATABASE_URL", "postgres://u:a@h/d"),), (("DATABASE_URL", "postgres://u:b@h/d"),),
     ["password in the plain env DATABASE_URL"]),
    ((("JDBC_URL", "jdbc:mysql://h/d?user=u&password=a"),), (("JDBC_URL", "jdbc:mysql://h/d?user=u&password=b"),),
     ["password in the plain env JDBC_URL"]),
    ((), (("DB_PASS", "a"),), ["plain env DB_PASS"]),                       # a credential the deploy brought
    ((("DB_PASSWORD", "a"),), (("DB_PASSWORD", "a"),), []),                 # the same value
    ((("DATABASE_URL", "postgres://u:a@h1/d"),), (("DATABASE_URL", "postgres://u:a@h2/d"),), []),   # the host only
    ((("LOG_LEVEL", "info"),), (("LOG_LEVEL", "debug"),), []),              # no credential
    ((("DB_PASSWORD", "a"),), (), []),                                      # none left to compare
    # A password the deploy took out: the new revision connects without the one accepted before.
    ((("DATABASE_URL", "postgres://app:secret@10.0.0.3/db"),), (("DATABASE_URL", "postgres://app@10.0.0.3/db"),),
     ["password in the plain env DATABASE_URL (removed)"]),
    ((("PG_DSN", "host=h user=u password=a"),), (("PG_DSN", "host=h user=u"),),
     ["password in the plain env PG_DSN (removed)"]),
    ((("JDBC_URL", "jdbc:mysql://h/d?user=u&password=a"),), (("JDBC_URL", "jdbc:mysql://h/d?user=u"),),
     ["password in the plain env JDBC_URL (removed)"]),
    ((("DATABASE_URL", "mysql://u:a@h1/d"),), (("DATABASE_URL", "mysql://u@h2/d"),),     # and the host moved
     ["password in the plain env DATABASE_URL (removed)"]),
    ((("DB_PASSWORD", "a"), ("DB_HOST", "h")), (("DB_HOST", "h"),), ["plain env DB_PASSWORD (removed)"]),
    ((("DB_PASSWORD", "a"),), (("DB_PASSWORD", ""),), ["plain env DB_PASSWORD"]),         # emptied in place
    ((("DATABASE_URL", "postgres://u:@h/d"),), (("DATABASE_URL", "postgres://u@h/d"),), []),   # empty before
    ((("DATABASE_URL", "postgres://u@h/d"),), (("DATABASE_URL", "postgres://u@h/d"),), []),    # none on either
    ((("DB_PASSWORD", ""), ("DB_HOST", "h")), (("DB_HOST", "h"),), []),                   # an empty one gone
    ((("DB_HOST", "h"),), (("DB_HOST", "h"), ("PGPASSWORD", "")), []),                    # an empty one added
    ((), (("PGPASSWORD", ""),), []),                                                      # libpq's, empty: none
    ((), (("STRIPE_API_KEY", ""),), ["plain env STRIPE_API_KEY"]),                        # sent empty
    ((), (("DB_PASSWORD", ""),), ["plain env DB_PASSWORD"]),                              # sent empty
    ((("DB_PASSWORD", ""),), (("DB_PASSWORD", "b"),), ["plain env DB_PASSWORD"]),         # filled in
])
def test_which_plain_credential_a_deploy_changed_by_name_never_by_value(before, after, said):
    assert plain_credentials_changed(_rev(*before), _rev(*after)) == said


# A rollout Cloud Run did not complete: the new revision's Ready condition failed (its System Event audit
# log says "Ready condition status changed to False for Revision R with message: ..."), traffic stays on
# the Ready revision, and a log-match alert on that line fires. Never `healthy` (the alert is on log
# entries), nothing to act on, and the revision that is not Ready is named with its condition.
NOT_STARTED = ("The user-provided container failed to start and listen on the port defined provided by the "
               "PORT=8080 environment variable within the allocated timeout.")
ROLLOUT_ALERT = AlertContext(policy="Failed Revision Rollout", resource_type="cloud_run_revision",
                             condition_kind="log_match",
                             log_filter='resource.type="cloud_run_revision" severity=ERROR '
                                        'protoPayload.status.message:"Ready condition status changed to False"')


def rollout(e: Evidence, state: str = "CONDITION_FAILED", reason: str = "HEALTH_CHECK_CONTAINER_ERROR",
            message: str = NOT_STARTED) -> Evidence:
    """OLD serves every request cleanly; NEW, created 6 minutes ago, has no traffic and its Ready
    condition in `state`; Cloud Run's system event for it logged once."""
    ready = (Condition(type="Ready", state=state, reason=reason, message=message),)
    return quiet(e.revision(OLD, -300, sql=(SQL,)).revision(NEW, -6, sql=(SQL,), conditions=ready)
                 .traffic(**{OLD: 100}).requests(OLD, -90, 5, 40).latency(OLD, -90, 5, 0.2)
                 .log(-5, f"Ready condition status changed to False for Revision {NEW} with message: {message}", NEW,
                      log_id="cloudaudit.googleapis.com/system_event"))


ROLLOUTS = {
    "a new revision that never became Ready: escalated, the revision and its condition named": dict(
        build=rollout, said="backend-00002-xyz, whose ready condition failed (health_check_container_error"),
    "the same for an image gone: its reason named": dict(
        build=lambda e: rollout(e, reason="CONTAINER_MISSING", message="Image 'europe-docker.pkg.dev/p/r/app:v7' not "
                                                                       "found."),
        said="(container_missing: image"),
    "a new revision still becoming Ready is not called failed": dict(
        build=lambda e: rollout(e, state="CONDITION_PENDING", reason="", message=""), not_said="ready condition failed"),
}


@pytest.mark.parametrize("case", ROLLOUTS.values(), ids=ROLLOUTS.keys())
def test_a_rollout_cloud_run_did_not_complete(case):
    bundle = case["build"](Evidence()).bundle().model_copy(update={"alert": ROLLOUT_ALERT})
    result = diagnose(bundle, S)
    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert plan(result, bundle, S).action is None
    if "said" in case:
        assert case["said"] in result.recommendation.lower(), result.recommendation
    if "not_said" in case:
        assert case["not_said"] not in result.recommendation.lower(), result.recommendation
