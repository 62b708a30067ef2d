"""What ORMs and pools log when the database cannot be reached, or their own pool runs dry: Prisma's
engine errors (P1000, P1001, P1002, P2024), Go database/sql's ErrBadConn, psycopg 3's connect timeout,
psycopg_pool's and Rails ActiveRecord's pool timeouts. An error of reaching the database on the new revision right after a
deploy leaves the database in the running beside the deploy (no rollback alone: the revision before
reaches the same database); a wait for the application's own pool does not (log_signals)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import LogSignal, classify
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import NEW, deployed, quiet_connector

S = DiagnosisSettings()
REACH = {LogSignal.DB_CONNECTION}
REFUSED = {LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED}
WAIT = {LogSignal.DB_POOL_WAIT}

# (text as the application logs it, the signals it carries)
TEXTS = {
    "Prisma P1001": ("PrismaClientInitializationError: Can't reach database server at `10.40.0.7`:`5432` Please make "
                     "sure your database server is running at `10.40.0.7`:`5432`.", REACH),
    "Prisma P1001, Cloud SQL socket host": ("Error: P1001: Can't reach database server at "
                                            "`/cloudsql/shop-prod:us-east1:orders-db`:`5432`", REACH),
    "Prisma P1002": ("Error: P1002: The database server at `10.40.0.7`:`5432` was reached but timed out.", REACH),
    "Prisma P1000 (with host)": ("PrismaClientInitializationError: Authentication failed against database server at "
                                 "`10.40.0.7`, the provided database credentials for `checkout` are not valid.",
                                 REFUSED),
    "Prisma P1000 (no host)": ("Authentication failed against database server, the provided database credentials for "
                               "`checkout` are not valid.", REFUSED),
    "Go database/sql ErrBadConn": ("2026/11/26 11:54:07 list orders: query orders: driver: bad connection", REACH),
    "psycopg 3 connect timeout": ("psycopg.errors.ConnectionTimeout: connection timeout expired", REACH),
    "psycopg 3 under Django": ("django.db.utils.OperationalError: connection timeout expired", REACH),
    "Prisma P2024": ("PrismaClientKnownRequestError: Timed out fetching a new connection from the connection pool. "
                     "More info: http://pris.ly/d/connection-pool (Current connection pool timeout: 10, connection "
                     "limit: 9)", WAIT),
    "Rails ActiveRecord": ("ActiveRecord::ConnectionTimeoutError: could not obtain a connection from the pool within "
                           "5.000 seconds (waited 5.002 seconds); all pooled connections were in use", WAIT),
    "psycopg_pool": ("psycopg_pool.PoolTimeout: couldn't get a connection after 30.00 sec", WAIT),
    # psycopg 3's connect timeout as SQLAlchemy wraps it: the driver's class in brackets, no colon
    # (sqlalchemy/sqlalchemy lib/sqlalchemy/exc.py, DBAPIError.__init__: "(%s.%s) %s", the driver error's module and class).
    "psycopg 3 under SQLAlchemy (ConnectionTimeout)": ("(psycopg.errors.ConnectionTimeout) connection timeout expired",
                                                       REACH),
    "psycopg 3 under SQLAlchemy (OperationalError)": ("sqlalchemy.exc.OperationalError: (psycopg.OperationalError) "
                                                      "connection timeout expired\n(Background on this error at: "
                                                      "https://sqlalche.me/e/20/e3q8)", REACH),
    # Other Java pools, Elixir's DBConnection: each its own words for a wait that ran out.
    "Tomcat JDBC pool": ("org.apache.tomcat.jdbc.pool.PoolExhaustedException: [http-nio-8080-exec-5] Timeout: Pool "
                         "empty. Unable to fetch a connection in 30 seconds, none available[size:100; busy:100; "
                         "idle:0; lastwait:30000].", WAIT),
    "Tomcat JDBC pool under Spring": ("org.springframework.jdbc.CannotGetJdbcConnectionException: Failed to obtain JDBC "
                                      "Connection; nested exception is org.apache.tomcat.jdbc.pool."
                                      "PoolExhaustedException: [Thread-1391] Timeout: Pool empty. Unable to fetch a "
                                      "connection in 0 seconds, none available[size:30; busy:30; idle:0; lastwait:20].",
                                      WAIT),
    "Apache DBCP2": ("java.sql.SQLException: Cannot get a connection, pool error Timeout waiting for idle object, "
                     "borrowMaxWaitDuration=PT30S", WAIT),
    "Apache DBCP 1": ("org.apache.commons.dbcp.SQLNestedException: Cannot get a connection, pool error Timeout waiting "
                      "for idle object", WAIT),
    "c3p0": ("java.sql.SQLException: An attempt by a client to checkout a Connection has timed out.", WAIT),
    "Agroal (Quarkus)": ("java.sql.SQLException: Acquisition timeout while waiting for new connection\n"
                         "\tat io.agroal.pool.ConnectionPool.handlerFromSharedCache(ConnectionPool.java:321)", WAIT),
    "Elixir DBConnection (Ecto)": ("** (DBConnection.ConnectionError) connection not available and request was dropped "
                                   "from queue after 2000ms. This means requests are coming in and your connection "
                                   "pool cannot serve them fast enough.", WAIT),
    "Elixir DBConnection, other delay": ("[error] GenServer terminating: connection not available and request was "
                                         "dropped from queue after 15000ms", WAIT),
    # A checkout asked not to queue (`queue: false`) while every connection is checked out: the same
    # pool with no connection to give, at once (connection_pool.ex, handle_info on a :busy pool).
    "Elixir DBConnection, queuing disabled (Ecto)": ("** (DBConnection.ConnectionError) connection not available and "
                                                     "queuing is disabled", WAIT),
    "Elixir DBConnection, queuing disabled (Logger)": ("[error] #PID<0.2417.0> running Orders.Endpoint terminated\n"
                                                       "** (DBConnection.ConnectionError) connection not available "
                                                       "and queuing is disabled\n    (db_connection 2.6.0) "
                                                       "lib/db_connection.ex:1000: DBConnection.checkout/3", WAIT),
    # Near miss: other software's "queuing is disabled" names no database pool.
    "a request queue's own words": ("Error: Request queuing is disabled", set()),
    # Near misses: an HTTP client's pool, a Redis pool (Jedis borrows from commons-pool2 as DBCP2 does,
    # so the pool's own words alone name no database).
    "Apache HttpClient pool": ("org.apache.http.conn.ConnectionPoolTimeoutException: Timeout waiting for connection "
                               "from pool", set()),
    "Jedis pool": ("redis.clients.jedis.exceptions.JedisException: Could not get a resource from the pool\nCaused by: "
                   "java.util.NoSuchElementException: Timeout waiting for idle object", set()),
    "redis-py pool": ("redis.exceptions.ConnectionError: Timeout waiting for connection from pool", set()),
    "an HTTP client's acquire timeout": ("io.netty.handler.timeout: Acquisition timeout while waiting for new "
                                         "channel", set()),
    # Not the database's: an HTTP client's own timeout words are no connect timeout of psycopg's.
    "an HTTP client's timeout": ("httpx.ConnectTimeout: connection timeout expired while dialing api.example.com",
                                 set()),
}


@pytest.mark.parametrize("text, signals", TEXTS.values(), ids=TEXTS.keys())
def test_each_orm_text_carries_its_signal(text, signals):
    assert classify(text) == signals


@pytest.mark.parametrize("text, signals", TEXTS.values(), ids=TEXTS.keys())
def test_after_a_deploy_only_errors_of_reaching_the_database_keep_it_in_the_running(text, signals):
    """The deploy at -10m, then the text on the new revision from -9m: an error of reaching the
    database (or its refusal) makes database_unreachable compete, so nothing is rolled back; a pool
    wait is the revision's own (bad_revision alone, rolled back as before)."""
    e = quiet_connector(deployed(Evidence()).log(-9, text, NEW, count=20))
    bundle = e.bundle()

    result = diagnose(bundle, S)

    if LogSignal.DB_CONNECTION in signals:
        assert result.signature is Signature.INCONCLUSIVE, result.summary
        assert set(result.competing) == {"bad_revision", "database_unreachable"}, result.summary
        assert plan(result, bundle, S).action is None
    else:
        assert result.signature is Signature.BAD_REVISION, result.summary
