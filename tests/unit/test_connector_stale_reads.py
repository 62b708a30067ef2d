"""Pooled connections a path dropped while idle (no RST: a NAT's, a firewall's or a connector's idle
timeout forgot the flow) hang their next query until the driver's read timer or the kernel's
retransmissions give up: libpq's "could not receive data from server: Connection timed out" (and over
SSL "SSL SYSCALL error: Connection timed out"), pgjdbc's socketTimeout "Read timed out" under "An I/O
error occurred while sending to the backend", PyMySQL's 2013 "... during query (timed out)", Go's "read
tcp A->B:5432: i/o timeout". Each is a read on an established connection; the pool then opens a new one,
and when no dial fails and no request waits for the pool, the path carries new connections: a connector
busy with another service's traffic is not shown to be what the reads waited on. It competes and is never
scaled alone; with dial failures or pool waits beside the reads, its case is as before."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import closed_connection, dial_timed_out, read_timed_out
from shared.diagnosis.rules import connector_saturation
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import OLD, PSYCOPG

S = DiagnosisSettings()
LIBPQ = ("psycopg2.OperationalError: could not receive data from server: Connection timed out\n"
         "\n"
         "The above exception was the direct cause of the following exception:")
LIBPQ_SSL = "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) SSL SYSCALL error: Connection timed out"
PGJDBC = ("org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend.\n"
          "\tat org.postgresql.core.v3.QueryExecutorImpl.execute(QueryExecutorImpl.java:395)\n"
          "Caused by: java.net.SocketTimeoutException: Read timed out\n"
          "\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)")
PYMYSQL = "pymysql.err.OperationalError: (2013, 'Lost connection to MySQL server during query (timed out)')"
PGX = "failed to load cart 81723: read tcp 10.8.0.3:43210->10.20.0.5:5432: i/o timeout"
GO_MYSQL = "[mysql] 2026/12/03 11:50:02 packets.go:37: read tcp 10.8.0.3:43210->10.20.0.5:3306: i/o timeout"
KERNEL = "query failed: read tcp 10.8.0.3:51544->10.20.0.5:5432: read: connection timed out"
GO_DIAL = "failed to connect to `host=10.20.0.5 user=app database=shop`: dial tcp 10.20.0.5:5432: i/o timeout"
# The clients' own command and query timers on an open connection (log_signals.READ_TIMEOUT_TEXTS): a slow
# statement or a forgotten flow, the words do not say which. Before, none was read: hangs beside a busy
# connector were scaled.
NPGSQL = ("Npgsql.NpgsqlException (0x80004005): Exception while reading from stream\n"
          " ---> System.TimeoutException: Timeout during reading attempt\n"
          "   at Npgsql.Internal.NpgsqlConnector.ReadMessageLong(Boolean async, DataRowLoadingMode dataRowLoadingMode, "
          "Boolean readingNotifications, Boolean isReadingPrependedMessage)")
NPGSQL_LINE = "       ---> System.TimeoutException: Timeout during reading attempt"   # .NET's console logger, a line alone
MYSQLCONNECTOR = ("MySqlConnector.MySqlException (0x80004005): The Command Timeout expired before the operation "
                  "completed.\n ---> System.Net.Sockets.SocketException (125): Operation canceled")
SQLCLIENT = ("Microsoft.Data.SqlClient.SqlException (0x80131904): Execution Timeout Expired.  The timeout period elapsed "
             "prior to completion of the operation or the server is not responding.\n"
             " ---> System.ComponentModel.Win32Exception (258): The wait operation timed out.")
NODE_PG = "Error: Query read timeout\n    at Timeout._onTimeout (/app/node_modules/pg/lib/client.js:567:19)"
CONNECTOR_J = ("com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure\n\n"
               "The last packet successfully received from the server was 30,012 milliseconds ago. The last packet "
               "sent successfully to the server was 30,013 milliseconds ago.\n"
               "\tat com.mysql.cj.jdbc.exceptions.SQLError.createCommunicationsException(SQLError.java:174)\n"
               "Caused by: java.net.SocketTimeoutException: Read timed out")
# The drivers' and frameworks' own statement timers whose words were not read before (log_signals.DB_ERROR_TEXTS
# cites each): a busy connector beside them was scaled.
PGX_STATEMENT = "list orders: timeout: context deadline exceeded"
PGX_CONNECT = ("create order: failed to connect to `user=orders database=orders`: 10.20.0.5:5432 (10.20.0.5): dial "
               "error: timeout: context deadline exceeded")
PGX4_CONNECT = ("create order: failed to connect to `host=10.20.0.5 user=orders database=orders`: dial error (timeout: "
                "context deadline exceeded)")
ASYNCPG_STATEMENT = ('Traceback (most recent call last):\n  File "/usr/local/lib/python3.11/site-packages/asyncpg/'
                     'prepared_stmt.py", line 177, in fetch\n    data = await self.__bind_execute(args, 0, timeout)\n'
                     '           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n'
                     '  File "asyncpg/protocol/protocol.pyx", line 205, in bind_execute\nasyncio.exceptions.TimeoutError')
PRISMA_P1008 = ("PrismaClientKnownRequestError: \nInvalid `prisma.order.findUnique()` invocation:\n\nOperations timed "
                "out after `10s`. Context: Socket timeout (the database failed to respond to a query within the "
                "configured timeout \u2014 see https://pris.ly/d/postgres-connector for more details.).")
PRISMA_P1002 = ("Error: P1002: The database server at `10.20.0.5`:`5432` was reached but timed out. Please try again. "
                "Context: Timed out trying to acquire a postgres advisory lock (SELECT pg_advisory_lock(72707369)).")
RUBY_MYSQL2 = ("ActiveRecord::StatementInvalid (Mysql2::Error::TimeoutError: Timeout waiting for a response from the "
               "last query. (waited 30 seconds): SELECT `orders`.* FROM `orders` WHERE `orders`.`id` = 1841)")
KNEX = "KnexTimeoutError: Defined query timeout of 30000ms exceeded when running query."
MYSQL2_QUERY = ("Error: Query inactivity timeout\n    at Query._handleTimeoutError (/app/node_modules/mysql2/lib/"
                "commands/query.js:94:17)")
QUEUEPOOL = ("sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, "
             "timeout 30.00 (Background on this error at: https://sqlalche.me/e/20/3o7r)")


def busy_connector(reads: str = "", count: int = 20, errors: str = "") -> Evidence:
    """One revision for hours; from -6m a fifth of its requests 503 with the p99 at 31 s; another
    service's job takes the shared connector to its max with CPU 90% from -8m; Cloud SQL up; `count`
    lines of `reads` and 20 of `errors` from -5m."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .requests(OLD, -6, 5, 50, code="503").latency(OLD, -90, -6, 0.09).latency(OLD, -6, 5, 31.0)
         .sql_up(-90, 5, 1).connector(max_instances=3).connector_metric("instances", -90, -8, 2)
         .connector_metric("instances", -8, 5, 3).connector_metric("cpu", -90, -8, 0.2)
         .connector_metric("cpu", -8, 5, 0.9).connector_metric("bytes", -90, 5, 4e6))
    if reads:
        e = e.log(-5, reads, OLD, count=count)
    return e.log(-4, errors, OLD, count=20) if errors else e


# situation -> the verdict, and the action planned
CASES = {
    "libpq's read timed out by the kernel (psycopg2): not scaled": (
        dict(reads=LIBPQ), Signature.INCONCLUSIVE, None),
    "libpq over SSL, the same: not scaled": (dict(reads=LIBPQ_SSL), Signature.INCONCLUSIVE, None),
    "pgjdbc's socketTimeout under a statement: not scaled": (dict(reads=PGJDBC), Signature.INCONCLUSIVE, None),
    "PyMySQL's 2013 after its read_timeout: not scaled": (dict(reads=PYMYSQL), Signature.INCONCLUSIVE, None),
    "pgx's read past its deadline: not scaled": (dict(reads=PGX, count=9), Signature.INCONCLUSIVE, None),
    "go-sql-driver/mysql's read past its readTimeout: not scaled": (
        dict(reads=GO_MYSQL), Signature.INCONCLUSIVE, None),
    "Go's read that the kernel timed out: not scaled": (dict(reads=KERNEL), Signature.INCONCLUSIVE, None),
    "Npgsql's CommandTimeout, one entry: not scaled": (dict(reads=NPGSQL), Signature.INCONCLUSIVE, None),
    "Npgsql's CommandTimeout, its console line alone: not scaled": (
        dict(reads=NPGSQL_LINE), Signature.INCONCLUSIVE, None),
    "MySqlConnector's CommandTimeout: not scaled": (dict(reads=MYSQLCONNECTOR), Signature.INCONCLUSIVE, None),
    "SqlClient's CommandTimeout: not scaled": (dict(reads=SQLCLIENT), Signature.INCONCLUSIVE, None),
    "node-postgres's query_timeout: not scaled": (dict(reads=NODE_PG), Signature.INCONCLUSIVE, None),
    "Connector/J's socketTimeout on an established connection: not scaled": (
        dict(reads=CONNECTOR_J), Signature.INCONCLUSIVE, None),
    "pgx's statement context ran out: not scaled": (dict(reads=PGX_STATEMENT), Signature.INCONCLUSIVE, None),
    "asyncpg's statement timeout, one traceback: not scaled": (
        dict(reads=ASYNCPG_STATEMENT), Signature.INCONCLUSIVE, None),
    "Prisma's P1008 socket timeout: not scaled": (dict(reads=PRISMA_P1008), Signature.INCONCLUSIVE, None),
    "Prisma's P1002 on an advisory lock: not scaled": (dict(reads=PRISMA_P1002), Signature.INCONCLUSIVE, None),
    "the mysql2 gem's read_timeout: not scaled": (dict(reads=RUBY_MYSQL2), Signature.INCONCLUSIVE, None),
    "knex's query timeout: not scaled": (dict(reads=KNEX), Signature.INCONCLUSIVE, None),
    "Node mysql2's query timeout: not scaled": (dict(reads=MYSQL2_QUERY), Signature.INCONCLUSIVE, None),
    "pgx's statements and its connects both out of time: the connector": (
        dict(reads=PGX_STATEMENT, errors=PGX_CONNECT), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "pgx v4's connect timeouts alone: the connector": (
        dict(reads=PGX4_CONNECT), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "Npgsql's reads timed out and new dials timed out too: the connector": (
        dict(reads=NPGSQL, errors=PSYCOPG), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "reads timed out and new dials timed out too: the connector (unchanged)": (
        dict(reads=LIBPQ, errors=PSYCOPG), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "reads timed out and Go dials timed out too: the connector (unchanged)": (
        dict(reads=PGX, errors=GO_DIAL), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "three reads only: the connector (unchanged)": (
        dict(reads=LIBPQ, count=3), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "dial timeouts alone: the connector (unchanged)": (
        dict(reads=GO_DIAL), Signature.CONNECTOR_SATURATION, "scale_connector"),
}


@pytest.mark.parametrize("shape, signature, action", CASES.values(), ids=CASES.keys())
def test_reads_on_connections_dropped_while_idle_are_not_put_on_a_busy_connector(shape, signature, action):
    bundle = busy_connector(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    if signature is Signature.INCONCLUSIVE:
        assert "reads on established connections" in result.summary, result.summary


def test_reads_beside_pool_waits_are_judged_as_before():
    with_reads = busy_connector(reads=LIBPQ, errors=QUEUEPOOL).bundle()
    without = busy_connector(errors=QUEUEPOOL).bundle()

    held, before = (connector_saturation.evaluate(Facts(b, S)) for b in (with_reads, without))

    assert held.matched == before.matched and held.not_ruled_out == before.not_ruled_out


def test_the_held_back_finding_cites_the_reads_and_the_dials_and_advises_the_pool():
    connector = connector_saturation.evaluate(Facts(busy_connector(reads=PYMYSQL).bundle(), S))

    assert connector.not_ruled_out and "20" in connector.summary, connector.summary
    assert "pre_ping" in connector.recommendation and "keepalive" in connector.recommendation
    cited = [i for i in connector.evidence if "read on an established connection" in i.threshold]
    assert cited and "0 other errors of reaching the database" in cited[0].observed, cited


# text -> whether it is a read on an established connection that timed out, and whether it is one found closed
TEXTS = {
    LIBPQ: (True, False), LIBPQ_SSL: (True, False), PGJDBC: (True, False), PYMYSQL: (True, False),
    PGX: (True, False), GO_MYSQL: (True, False), KERNEL: (True, False),
    GO_DIAL: (False, False), PSYCOPG: (False, False),
    "psycopg2.OperationalError: server closed the connection unexpectedly": (False, True),
    "pymysql.err.OperationalError: (2013, 'Lost connection to MySQL server during query')": (False, True),
    "org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend.": (False, True),
    "psycopg2.OperationalError: could not receive data from server: Connection reset by peer": (False, False),
    "psycopg2.OperationalError: could not receive data from server: Connection timed out to 10.20.0.5": (True, False),
    "read tcp 10.8.0.3:43210->34.117.59.81:443: i/o timeout": (False, False),   # an HTTPS peer, not the database
    NPGSQL: (True, False), NPGSQL_LINE: (True, False), MYSQLCONNECTOR: (True, False), SQLCLIENT: (True, False),
    NODE_PG: (True, False), CONNECTOR_J: (True, False),
    PGX_STATEMENT: (True, False), ASYNCPG_STATEMENT: (True, False), PRISMA_P1008: (True, False),
    PRISMA_P1002: (True, False), RUBY_MYSQL2: (True, False), KNEX: (True, False), MYSQL2_QUERY: (True, False),
    # pgx's connect (either form) and its pool's bare wait; asyncpg's bare exception line; Node mysql's handshake
    PGX_CONNECT: (False, False), PGX4_CONNECT: (False, False), "list orders: context deadline exceeded": (False, False),
    "asyncio.exceptions.TimeoutError": (False, False),
    "Error: Handshake inactivity timeout\n    at Handshake.<anonymous> (/app/node_modules/mysql/lib/protocol/"
    "Protocol.js:160:17)": (False, False),
    # Npgsql's wrapper over another failure than its timer, and its connect's timeout: not reads that timed out
    "Npgsql.NpgsqlException (0x80004005): Exception while reading from stream\n"
    " ---> System.IO.EndOfStreamException: Attempted to read past the end of the stream.": (False, False),
    "Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.20.0.5:5432\n"
    " ---> System.TimeoutException: Timeout during connection attempt": (False, False),
    # SqlClient's connect timeout, and Connector/J's connect that never got a packet
    "Microsoft.Data.SqlClient.SqlException (0x80131904): Connection Timeout Expired.  The timeout period elapsed while "
    "attempting to consume the pre-login handshake acknowledgement.": (False, False),
    "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure\n\nThe last packet sent "
    "successfully to the server was 0 milliseconds ago. The driver has not received any packets from the server.\n"
    "Caused by: java.net.SocketTimeoutException: Read timed out": (False, False),
    # the same words of a read with no timer in them: an open connection found closed (its EOF), as pgjdbc's I/O
    # error is (tests/unit/test_open_connection_words.py)
    "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure\n\nThe last packet "
    "successfully received from the server was 1,349,854 milliseconds ago.\n"
    "Caused by: java.io.EOFException: Can not read response from server.": (False, True),
}


@pytest.mark.parametrize("text, expected", TEXTS.items(), ids=[t[:60] for t in TEXTS])
def test_which_texts_are_reads_that_timed_out(text, expected):
    assert (read_timed_out(text), closed_connection(text)) == expected


# a connect's words -> whether they are a dial that timed out (log_signals.dial_timed_out), not a read
DIALS = {PGX_CONNECT: True, PGX4_CONNECT: True, GO_DIAL: True, PGX_STATEMENT: False, ASYNCPG_STATEMENT: False,
         PRISMA_P1008: False, KNEX: False, MYSQL2_QUERY: False, RUBY_MYSQL2: False}


@pytest.mark.parametrize("text, expected", DIALS.items(), ids=[t[:60] for t in DIALS])
def test_which_texts_are_dials_that_timed_out(text, expected):
    assert dial_timed_out(text) is expected
