"""A pool that cannot hand out a connection, across frameworks: what decides between a saturated
connector (its own signs in the same minutes), a leak in a new revision (only it waits, since its
deploy), Cloud SQL at its connection limit (the database's refusal: escalated, never scaled, never
rolled back) and a scale-out of the service past the database's limit (escalated with the arithmetic
of instances x pool size where the pool's own words say its size)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import LogSignal, classify, pool_size
from shared.diagnosis.pool_settings import pool_sizes
from shared.diagnosis.signatures import Signature

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, deployed, long_running, quiet_connector, saturated_connector

S = DiagnosisSettings()

RAILS = ("ActiveRecord::ConnectionTimeoutError: could not obtain a connection from the pool within 5.000 seconds "
         "(waited 5.001 seconds); all pooled connections were in use")
HIKARI = ("java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out "
          "after 30000ms (total=10, active=10, idle=0, waiting=42)")
SQLA = "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00"
PG_POOL = "Error: timeout exceeded when trying to connect"
PRISMA = ("PrismaClientKnownRequestError: Timed out fetching a new connection from the connection pool. More info: "
          "http://pris.ly/d/connection-pool (Current connection pool timeout: 10, connection limit: 9)")
NPGSQL = ("Npgsql.NpgsqlException (0x80004005): The connection pool has been exhausted, either raise 'Max Pool Size' "
          "(currently 20) or 'Timeout' (currently 15 seconds) in your connection string.")
# Go's database/sql has no words of its own for a wait at SetMaxOpenConns: the caller's context ends it.
GO = 'level=error msg="list orders" err="context deadline exceeded"'
RESERVED = ("org.postgresql.util.PSQLException: FATAL: remaining connection slots are reserved for "
            "non-replication superuser connections")
TOO_MANY = "error: sorry, too many clients already"


def _failing(e: Evidence, revision: str = OLD) -> Evidence:
    return e.requests(revision, -15, 5, 15, code="500").latency(revision, -15, 5, 30.0)


# HikariCP names the pool by its poolName setting (HikariPool-N only by default; Spring Boot's
# spring.datasource.hikari.pool-name, a Quarkus or Micronaut datasource name): the wait is the same.
NAMED_HIKARI = [
    "java.sql.SQLTransientConnectionException: orders-db - Connection is not available, request timed out after "
    "30001ms (total=10, active=10, idle=0, waiting=17)",
    "java.sql.SQLTransientConnectionException: primary-pool - Connection is not available, request timed out after "
    "5000ms.",
    "Caused by: java.sql.SQLTransientConnectionException: billing.reader - Connection is not available, request timed "
    "out after 10004ms (total=4, active=4, idle=0, waiting=9)",
]


@pytest.mark.parametrize("text", NAMED_HIKARI, ids=["orders-db", "primary-pool", "billing.reader"])
def test_a_hikari_pool_of_any_name_is_a_pool_wait(text):
    """Before, only "HikariPool-N" was read: a named pool's waits were unread, and the summary said
    nothing of the pool (3 of 3 failed)."""
    assert LogSignal.DB_POOL_WAIT in classify(text)
    result = diagnose(quiet_connector(_failing(long_running(Evidence()))).log(-3, text, OLD, count=20).bundle(), S)
    assert "waits for its own connection pool" in result.summary, result.summary


# (text) -> connections one pool may hold, from its own words; None where it says no size.
SIZES = [
    (SQLA, 15),                 # pool_size + max_overflow
    (HIKARI, 10),               # total= (HikariCP 5.1 and later)
    (NAMED_HIKARI[2], 4),
    (PRISMA, 9),                # connection limit:
    (NPGSQL, 20),               # Max Pool Size (currently N)
    ("sqlalchemy.exc.TimeoutError: QueuePool limit of size 20 overflow 0 reached, connection timed out, "
     "timeout 10.00", 20),
    # Tomcat JDBC: size: is the connections the pool held at the timeout, all busy.
    ("org.apache.tomcat.jdbc.pool.PoolExhaustedException: [http-nio-8080-exec-5] Timeout: Pool empty. Unable to "
     "fetch a connection in 30 seconds, none available[size:100; busy:100; idle:0; lastwait:30000].", 100),
    ("CannotGetJdbcConnectionException: nested exception is org.apache.tomcat.jdbc.pool.PoolExhaustedException: "
     "[Thread-1391] Timeout: Pool empty. Unable to fetch a connection in 0 seconds, none available[size:30; busy:30; "
     "idle:0; lastwait:20].", 30),
    ("java.sql.SQLException: Cannot get a connection, pool error Timeout waiting for idle object", None),
    ("java.sql.SQLException: Acquisition timeout while waiting for new connection", None),
    ("** (DBConnection.ConnectionError) connection not available and request was dropped from queue after 2000ms.",
     None),
    (RAILS, None), (PG_POOL, None), (GO, None),
    ("java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out "
     "after 30000ms.", None),   # before HikariCP 5.1: no counts
]


@pytest.mark.parametrize("text, size", SIZES, ids=[f"{t[:28]}-{s}" for t, s in SIZES])
def test_the_pool_size_is_read_from_the_pools_own_words(text, size):
    """Against a reader that found no size, 6 of 10 rows failed."""
    found = pool_size(text)
    assert (found[0] if found else None) == size


# (wait text, instances at the peak, refusal) -> the arithmetic in the summary, or None.
LIMIT_ROWS = [
    (SQLA, 40, TOO_MANY, "40 instances x up to 15 connections = 600"),
    (HIKARI, 12, RESERVED, "12 instances x up to 10 connections = 120"),
    (PRISMA, 7, TOO_MANY, "7 instances x up to 9 connections = 63"),
    (NPGSQL, 25, RESERVED, "25 instances x up to 20 connections = 500"),
    (RAILS, 40, TOO_MANY, None),     # ActiveRecord's words name no size: no arithmetic claimed
    (SQLA, None, TOO_MANY, None),    # instance counts not read: none either
]


@pytest.mark.parametrize("wait, instances, refusal, said", LIMIT_ROWS,
                         ids=[f"{w[:20]}-{n}-{s is not None}" for w, n, r, s in LIMIT_ROWS])
def test_at_the_connection_limit_the_summary_does_the_arithmetic(wait, instances, refusal, said):
    """A scale-out past the database's limit: the database refuses, so it is escalated (never a
    scale-up, never a rollback), and where the evidence has both figures the summary says how many
    connections the service's pools may hold. Before, the advice named the arithmetic only in general
    (4 of 6 rows failed)."""
    e = _failing(long_running(Evidence()))
    if instances is not None:
        e = e.instances(OLD, -60, -16, 5).instances(OLD, -15, 5, instances)
    e = quiet_connector(e).log(-3, wait, OLD, count=8).log(-3, refusal, OLD, count=8)

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    if said is None:
        assert " instances x up to " not in result.summary, result.summary
    else:
        assert said in result.summary, result.summary
        assert "max_connections" in result.summary, result.summary


# The four causes of an empty pool, each across frameworks: (build) -> (signature, action).
def _saturated(text):
    return lambda: saturated_connector(_failing(long_running(Evidence()))).log(-3, text, OLD, count=8)


def _leak(text):
    return lambda: quiet_connector(deployed(Evidence())).log(-4, text, NEW, count=20)


def _at_limit(text, refusal, connector=quiet_connector):
    return lambda: connector(_failing(long_running(Evidence()))).log(-3, text, OLD, count=8).log(-3, refusal, OLD,
                                                                                                count=6)


CAUSES = {
    **{f"connector saturated, {t[:24]}": (_saturated(t), Signature.CONNECTOR_SATURATION)
       for t in (RAILS, HIKARI, PG_POOL, PRISMA, NAMED_HIKARI[0])},
    **{f"leak in the new revision, {t[:24]}": (_leak(t), Signature.BAD_REVISION)
       for t in (RAILS, HIKARI, PRISMA, PG_POOL, NAMED_HIKARI[1])},
    **{f"at max_connections, {t[:24]}": (_at_limit(t, RESERVED), Signature.DATABASE_UNREACHABLE)
       for t in (RAILS, HIKARI, SQLA, NAMED_HIKARI[0])},
    "at max_connections beside a saturated connector": (_at_limit(HIKARI, TOO_MANY, saturated_connector),
                                                        Signature.DATABASE_UNREACHABLE),
    "refused only in a new revision that raised nothing": (
        lambda: quiet_connector(deployed(Evidence())).log(-4, HIKARI, NEW, count=8).log(-4, TOO_MANY, NEW, count=8),
        Signature.INCONCLUSIVE),
    "Go database/sql: a bare deadline names no pool": (
        lambda: quiet_connector(_failing(long_running(Evidence()))).log(-3, GO, OLD, count=20), Signature.INCONCLUSIVE),
}


@pytest.mark.parametrize("case", CAUSES, ids=list(CAUSES))
def test_what_decides_an_empty_pool(case):
    build, expected = CAUSES[case]
    result = diagnose(build().bundle(), S)
    assert result.signature is expected, result.summary
    if expected is Signature.DATABASE_UNREACHABLE:
        assert "scaling connector" in result.recommendation, result.recommendation


def _raised_pool(before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...], refused_by=(NEW,)):
    e = (Evidence().revision(OLD, -180, sql=(SQL,), plain_env=before).revision(NEW, -10, sql=(SQL,), plain_env=after)
         .traffic(**{NEW: 100}).requests(OLD, -90, -10, 40).requests(NEW, -10, 5, 18)
         .requests(NEW, -10, 5, 27, code="500").latency(OLD, -20, -10, 0.2).latency(NEW, -10, 5, 0.4))
    for revision in refused_by:
        e = e.log(-4, TOO_MANY, revision, count=8)
    return quiet_connector(e.log(-4, PG_POOL, NEW, count=8))


URL = "postgresql://app@10.40.0.9:5432/orders"
# (plain env before, after, refused by) -> rolled back (the deploy's own), or escalated (competes).
RAISED = {
    "DB_POOL_SIZE 10 -> 40": ((("DB_POOL_SIZE", "10"),), (("DB_POOL_SIZE", "40"),), (NEW,), True),
    "Spring's maximum-pool-size by env": ((("SPRING_DATASOURCE_HIKARI_MAXIMUMPOOLSIZE", "10"),),
                                          (("SPRING_DATASOURCE_HIKARI_MAXIMUMPOOLSIZE", "50"),), (NEW,), True),
    "Prisma's connection_limit in the URL": ((("DATABASE_URL", URL + "?connection_limit=5"),),
                                             (("DATABASE_URL", URL + "?connection_limit=25&pool_timeout=10"),),
                                             (NEW,), True),
    "Rails pool= in DATABASE_URL": ((("DATABASE_URL", URL + "?pool=5"),), (("DATABASE_URL", URL + "?pool=30"),),
                                    (NEW,), True),
    "Npgsql Max Pool Size": ((("ConnectionStrings__Orders", "Host=10.40.0.9;Database=orders;Max Pool Size=20"),),
                             (("ConnectionStrings__Orders", "Host=10.40.0.9;Database=orders;Maximum Pool Size=100"),),
                             (NEW,), True),
    # Not the deploy's own: the older revision is refused too, the size was lowered, or it is not shown.
    "the older revision refused too": ((("DB_POOL_SIZE", "10"),), (("DB_POOL_SIZE", "40"),), (OLD, NEW), False),
    "pool size lowered": ((("DB_POOL_SIZE", "40"),), (("DB_POOL_SIZE", "10"),), (NEW,), False),
    "pool size set only on the new revision": ((), (("DB_POOL_SIZE", "40"),), (NEW,), False),
    "another setting raised (a timeout)": ((("DB_POOL_TIMEOUT", "10"),), (("DB_POOL_TIMEOUT", "40"),), (NEW,), False),
    "an HTTP client's pool": ((("HTTP_MAX_CONNECTIONS", "10"),), (("HTTP_MAX_CONNECTIONS", "40"),), (NEW,), False),
}


@pytest.mark.parametrize("case", RAISED, ids=list(RAISED))
def test_at_the_connection_limit_a_deploy_that_raised_the_pool_size_is_rolled_back(case):
    """Refused at the database's connection limit only by a new revision whose deploy raised its
    pool's size in its plain env: each of its instances holds more connections, and sending traffic
    back restores the size that fit (bad_revision). Anything less competes with the deploy, and a
    person chooses (before, every row competed: 5 of 10 failed)."""
    before, after, refused_by, rolled_back = RAISED[case]

    result = diagnose(_raised_pool(before, after, refused_by).bundle(), S)

    if rolled_back:
        assert result.signature is Signature.BAD_REVISION, result.summary
        assert "pool" in result.summary, result.summary
    else:
        assert result.signature is Signature.INCONCLUSIVE, result.summary
        assert "database_unreachable" in result.competing, result.summary


# (plain env) -> the pool sizes read: a database pool's, never a thread pool's, an HTTP client's or Redis's.
SETTINGS = [
    ((("DB_POOL_SIZE", "10"),), {"DB_POOL_SIZE": 10}),
    ((("DB_POOL", "12"),), {"DB_POOL": 12}),
    ((("RAILS_MAX_THREADS", "5"),), {"RAILS_MAX_THREADS": 5}),
    ((("SQLALCHEMY_MAX_OVERFLOW", "10"),), {"SQLALCHEMY_MAX_OVERFLOW": 10}),
    ((("PG_POOL_MAX", "20"),), {"PG_POOL_MAX": 20}),
    ((("DATABASE_URL", "postgres://app@10.0.0.3/db?pool_max_conns=8&sslmode=disable"),),
     {"DATABASE_URL pool_max_conns": 8}),
    ((("DATABASE_URL", "postgres://app@10.0.0.3/db?pool_timeout=10"),), {}),
    ((("THREAD_POOL_SIZE", "64"),), {}),
    ((("REDIS_POOL_SIZE", "64"),), {}),
    ((("HTTP_MAX_CONNECTIONS", "100"),), {}),
    ((("DB_POOL_TIMEOUT", "30"),), {}),
    ((("DB_POOL_SIZE", "auto"),), {}),
]


@pytest.mark.parametrize("env, sizes", SETTINGS, ids=[e[0][0] + (" " + e[0][1][-24:] if "URL" in e[0][0] else "")
                                                      for e, _ in SETTINGS])
def test_the_pool_size_a_revision_sets_in_its_env(env, sizes):
    assert pool_sizes(Evidence().revision(OLD, -10, plain_env=env).revs[0]) == sizes
