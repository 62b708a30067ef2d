"""A saturated connector often fails a request neither as a 503 nor as a hang: the database driver's
own connect timeout (Go's `dial tcp A:5432: i/o timeout` after a 10 s connect_timeout, libpq's
"timeout expired", node-postgres' "Connection terminated due to connection timeout", pgjdbc's
"connect timed out", mysql2's "connect ETIMEDOUT") ends the dial first and the framework answers 500
or 502 with a p99 under hang_latency_seconds. Those 5xx are the connector's when its own signs are
news in the same minutes and the dials go to an address that crosses it (a private one, or any under
ALL_TRAFFIC); never when the connector is idle (the path past it), when the dials go to a public
address under PRIVATE_RANGES_ONLY (never through it), when the database is down, or when a deploy in
the same minutes brought the host the dials time out on (bad_revision)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import dial_timed_out
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
REV, NEW = "backend-00001-abc", "backend-00002-xyz"

GO = "failed to connect to `host=10.20.0.5 user=app database=orders`: dial error (dial tcp 10.20.0.5:5432: i/o timeout)"
PSYCOPG2 = ('sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "10.40.3.7", '
            "port 5432 failed: timeout expired")
NODE_PG = "Error: Connection terminated due to connection timeout"
PGJDBC = ("org.postgresql.util.PSQLException: The connection attempt failed.\n"
          "Caused by: java.net.SocketTimeoutException: connect timed out")
MYSQL2 = "Error: connect ETIMEDOUT 10.8.14.3:3306"
PYMYSQL = ("sqlalchemy.exc.OperationalError: (pymysql.err.OperationalError) (2003, \"Can't connect to MySQL server on "
           "'10.20.0.3' (timed out)\")\n(Background on this error at: https://sqlalche.me/e/20/e3q8)")
RUBY_MYSQL2 = "Mysql2::Error::ConnectionError: Can't connect to MySQL server on '10.20.0.3:3306' (110)"
CLIENT_NODE_PG = "POST /orders client=10.128.0.7 failed: Error: Connection terminated due to connection timeout"
JAVA_CONNECTOR_URL = ("jdbc:postgresql:///orders?cloudSqlInstance=shop-prod:us-central1:orders-db"
                      "&socketFactory=com.google.cloud.sql.postgres.SocketFactory")
# SqlClient's connect failure names no address: the kernel's ETIMEDOUT under it (Linux), or its own wait.
SQLCLIENT_NETWORK = ("Microsoft.Data.SqlClient.SqlException (0x80131904): A network-related or instance-specific error "
                     "occurred while establishing a connection to SQL Server. The server was not found or was not "
                     "accessible. Verify that the instance name is correct and that SQL Server is configured to allow "
                     "remote connections. ")
SQLCLIENT_110 = (SQLCLIENT_NETWORK + "(provider: TCP Provider, error: 40 - Could not open a connection to SQL Server)\n"
                 " ---> System.Net.Sockets.SocketException (110): Connection timed out\n"
                 "   at Microsoft.Data.SqlClient.SNI.SNITCPHandle.Connect(String serverName, Int32 port, TimeSpan timeout)")
SQLCLIENT_WAIT = SQLCLIENT_NETWORK + "(provider: TCP Provider, error: 0 - The wait operation timed out.)"
ADO_NET = "Server=10.20.0.5,1433;Database=orders;User Id=app;Encrypt=True;Connect Timeout=15"
PUBLIC_GO = ("failed to connect to `host=34.118.2.9 user=app database=orders`: dial error "
             "(dial tcp 34.118.2.9:5432: i/o timeout)")


def incident(line: str = GO, *, code: str = "500", p99: float = 10.2, failing: float = 15, busy: bool = True,
             egress: str | None = "PRIVATE_RANGES_ONLY", env: tuple[str, ...] = (), sql_up: float = 1,
             busy_from: float = -9, lines: int = 20) -> Evidence:
    """REV, up for days, serves 40 requests a minute at 0.2 s; from -9m `failing` a minute answer `code`
    at `p99` s and the application logs `lines` times `line`; the connector (e2-micro, 2-3 instances)
    goes to its 3 max instances at CPU 95 % from `busy_from` when `busy`, else stays at 2 and 20 %."""
    e = (Evidence().revision(REV, -4000, sql=(SQL,), egress=egress, env=env).traffic(**{REV: 100})
         .requests(REV, -90, 5, 40).latency(REV, -90, -9, 0.2).requests(REV, -9, 5, failing, code=code)
         .latency(REV, -9, 5, p99).sql_up(-90, -9, 1).sql_up(-9, 5, sql_up).connector(max_instances=3)
         .connector_metric("bytes", -90, 5, 2e6).log(-8, line, REV, count=lines))
    if busy:
        return (e.connector_metric("instances", -90, busy_from, 2).connector_metric("instances", busy_from, 5, 3)
                .connector_metric("cpu", -90, busy_from, 0.2).connector_metric("cpu", busy_from, 5, 0.95))
    return e.connector_metric("instances", -90, 5, 2).connector_metric("cpu", -90, 5, 0.2)


# situation -> the verdict and the action planned
CASES = {
    "Go pgx dial i/o timeout, 500 at 10 s, connector at max and CPU 95 %: the connector": (
        dict(), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "psycopg2 under SQLAlchemy, timeout expired, 500 at 5 s: the connector": (
        dict(line=PSYCOPG2, p99=5.1), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "mysql2 connect ETIMEDOUT, 502 at 12 s through a proxy: the connector": (
        dict(line=MYSQL2, code="502", p99=12), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "node-postgres names no address; the revision's env names a private host: the connector": (
        dict(line=NODE_PG, p99=3, env=("postgres://app@10.20.0.5:5432/orders",)),
        Signature.CONNECTOR_SATURATION, "scale_connector"),
    "pgjdbc names no address, egress ALL_TRAFFIC (everything crosses the connector): the connector": (
        dict(line=PGJDBC, p99=10.5, egress="ALL_TRAFFIC", failing=8), Signature.CONNECTOR_SATURATION,
        "scale_connector"),
    # guards
    "the connector idle (2 instances, CPU 20 %): never a scale-up": (
        dict(busy=False), Signature.DATABASE_UNREACHABLE, None),
    "a public address under PRIVATE_RANGES_ONLY: never through the connector": (
        dict(line=PUBLIC_GO), Signature.DATABASE_UNREACHABLE, None),
    "the database down in the same minutes: the database": (
        dict(sql_up=0), Signature.DATABASE_UNREACHABLE, None),
    "pgjdbc names no address and nothing says where it dialled (PRIVATE_RANGES_ONLY): not acted on": (
        dict(line=PGJDBC), Signature.INCONCLUSIVE, None),
    "the connector's signs rose only 5 minutes after the dials began timing out (retries): not acted on": (
        dict(busy_from=-4), Signature.INCONCLUSIVE, None),
    "the same 7 minutes after, with psycopg2: not acted on": (
        dict(line=PSYCOPG2, busy_from=-2), Signature.INCONCLUSIVE, None),
    "the signs rose a minute before the dials began: the connector": (
        dict(busy_from=-10), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "too few dial timeouts logged: not the connector's": (
        dict(lines=3), Signature.INCONCLUSIVE, None),
    # where the dials went, read only from the driver's words and the database's own settings
    "pgjdbc names no address; the database is the Java connector's (a connection name), a Memorystore IP beside it: "
    "not acted on": (
        dict(line=PGJDBC, env=(JAVA_CONNECTOR_URL, "10.0.0.3", "6379")), Signature.INCONCLUSIVE, None),
    "pgjdbc names no address; the JDBC URL names a host name, a Redis URL a private IP: not acted on": (
        dict(line=PGJDBC, env=("jdbc:postgresql://orders-db.db.internal.example:5432/orders",
                               "redis://10.0.0.3:6379/0")),
        Signature.INCONCLUSIVE, None),
    "node-postgres names no address; the database URL is an Auth Proxy beside it on 127.0.0.1, a cache at 10.0.0.3: "
    "not acted on": (
        dict(line=NODE_PG, p99=3, env=("postgres://app@127.0.0.1:5432/orders", "10.0.0.3")), Signature.INCONCLUSIVE,
        None),
    "node-postgres names no address; the database URL names a public IP: never through it": (
        dict(line=NODE_PG, p99=3, env=("postgres://app@34.118.2.9:5432/orders",)), Signature.DATABASE_UNREACHABLE,
        None),
    "node-postgres names no address, the request's client does; the database URL names a public IP: never through it": (
        dict(line=CLIENT_NODE_PG, p99=3, env=("postgres://app@34.118.2.9:5432/orders",)),
        Signature.DATABASE_UNREACHABLE, None),
    "libpq DSN names the private database, an internal HTTP service's URL beside it: the connector": (
        dict(line=NODE_PG, p99=3, env=("host=10.20.0.5 port=5432 dbname=orders", "http://10.9.0.7:8080")),
        Signature.CONNECTOR_SATURATION, "scale_connector"),
    "PyMySQL under SQLAlchemy, (timed out) to a private address, 500 at 10 s: the connector": (
        dict(line=PYMYSQL, p99=10.3), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "Ruby's mysql2 (libmysqlclient's errno 110) to a private address: the connector": (
        dict(line=RUBY_MYSQL2, p99=10.3), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "PyMySQL (timed out) to a public address under PRIVATE_RANGES_ONLY: never through the connector": (
        dict(line=PYMYSQL.replace("10.20.0.3", "34.118.2.9"), p99=10.3), Signature.DATABASE_UNREACHABLE, None),
    "SqlClient (SQL Server) names no address, the kernel's 110 under it; ADO.NET's Server=H,PORT names a private "
    "host: the connector": (
        dict(line=SQLCLIENT_110, p99=15, env=(ADO_NET,)), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "SqlClient's own wait for the connect ran out; ADO.NET's Server=tcp:H,PORT: the connector": (
        dict(line=SQLCLIENT_WAIT, p99=15, env=(ADO_NET.replace("Server=", "Server=tcp:"),)),
        Signature.CONNECTOR_SATURATION, "scale_connector"),
    "SqlClient's timed-out connect, ADO.NET's Server=H,PORT names a public host: never through it": (
        dict(line=SQLCLIENT_110, p99=15, env=(ADO_NET.replace("10.20.0.5", "34.118.2.9"),)),
        Signature.DATABASE_UNREACHABLE, None),
    "500s but the failures are a small share (3 %, under status_ratio): no symptom": (
        dict(failing=2), Signature.INCONCLUSIVE, None),
}


@pytest.mark.parametrize("shape, signature, action", CASES.values(), ids=CASES.keys())
def test_dial_timeouts_answered_as_5xx(shape, signature, action):
    bundle = incident(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary


def test_the_finding_names_the_dials_and_their_threshold():
    result = diagnose(incident().bundle(), S)

    assert "10.20.0.5" in result.summary, result.summary
    assert any("dial" in item.observed and "timed out" in item.observed for item in result.evidence), result.evidence


def test_a_deploy_that_brought_the_host_the_dials_time_out_on_is_the_deploy():
    """NEW, deployed at -10m, names 10.20.0.5 where REV named 10.20.0.9; its dials time out from -9m
    while the connector (shared) is busy: the deploy's host, not the connector, is what changed."""
    e = (Evidence().revision(REV, -4000, sql=(SQL,), egress="PRIVATE_RANGES_ONLY", env=("host=10.20.0.9 port=5432",))
         .revision(NEW, -10, sql=(SQL,), egress="PRIVATE_RANGES_ONLY", env=("host=10.20.0.5 port=5432",))
         .traffic(**{NEW: 100}).requests(REV, -90, -10, 40).latency(REV, -90, -10, 0.2)
         .requests(NEW, -10, 5, 25).requests(NEW, -9, 5, 15, code="500").latency(NEW, -10, 5, 10.2)
         .sql_up(-90, 5, 1).connector(max_instances=3).connector_metric("bytes", -90, 5, 2e6)
         .connector_metric("instances", -90, -9, 2).connector_metric("instances", -9, 5, 3)
         .connector_metric("cpu", -90, -9, 0.2).connector_metric("cpu", -9, 5, 0.95).log(-8, GO, NEW, count=20))
    bundle = e.bundle()

    result = diagnose(bundle, S)

    assert plan(result, bundle, S).action != "scale_connector", result.summary
    assert result.signature is not Signature.CONNECTOR_SATURATION, result.summary


# the words: which database errors say a new connection's dial timed out
TEXTS = {
    GO: True, PSYCOPG2: True, NODE_PG: True, PGJDBC: True, MYSQL2: True,
    "psycopg.errors.ConnectionTimeout: connection timeout expired": True,
    "(psycopg.errors.ConnectionTimeout) connection timeout expired": True,
    "sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection timeout expired": True,
    "Error: connect ETIMEDOUT\n    at Connection._handleTimeoutError (/app/node_modules/mysql2/lib/connection.js:205:17)": True,
    "dial tcp 10.20.0.3:3307: connect: connection timed out": True,
    PYMYSQL: True, RUBY_MYSQL2: True,
    "pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '10.20.0.3' ([Errno 110] Connection timed "
    "out)\")": True,
    "Mysql2::Error::ConnectionError: Can't connect to MySQL server on '10.20.0.3:3306' (110 \"Connection timed out\")":
        True,
    "PG::ConnectionBad: could not connect to server: Connection timed out\n\tIs the server running on host "
    "\"10.20.0.3\" and accepting\n\tTCP/IP connections on port 5432?": True,
    "SQLSTATE[HY000] [2002] Connection timed out (Connection: mysql, SQL: select * from orders where id = 42)": True,
    # Npgsql's connect at the connection string's Timeout, printed with its cause in one entry
    "Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.20.0.3:5432\n ---> System.TimeoutException: "
    "Timeout during connection attempt\n   at Npgsql.Internal.NpgsqlConnector.Connect(NpgsqlTimeout timeout)": True,
    SQLCLIENT_110: True, SQLCLIENT_WAIT: True,
    "   " + SQLCLIENT_110.replace("\n", "\n      "): True,   # ASP.NET Core's console logger indents each line
    # Npgsql's and MySqlConnector's connect failures with the kernel's ETIMEDOUT beneath (their own timers spared)
    "Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.20.0.3:5432\n ---> System.Net.Sockets."
    "SocketException (110): Connection timed out\n   at Npgsql.Internal.NpgsqlConnector.Connect(NpgsqlTimeout timeout)":
        True,
    "MySqlConnector.MySqlException (0x80004005): Unable to connect to any of the specified MySQL hosts.\n ---> "
    "System.Net.Sockets.SocketException (110): Connection timed out": True,
    # not dials that timed out
    SQLCLIENT_110.replace("(110): Connection timed out", "(111): Connection refused"): False,
    SQLCLIENT_NETWORK + "(provider: TCP Provider, error: 35 - An internal exception was caught)": False,
    "Microsoft.Data.SqlClient.SqlException (0x80131904): Execution Timeout Expired.  The timeout period elapsed prior "
    "to completion of the operation or the server is not responding.\n ---> System.ComponentModel.Win32Exception "
    "(258): The wait operation timed out.": False,
    "System.IO.IOException: Unable to read data from the transport connection: Connection timed out.\n ---> "
    "System.Net.Sockets.SocketException (110): Connection timed out": False,
    "Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.20.0.3:5432\n ---> System.Net.Sockets."
    "SocketException (111): Connection refused": False,
    "Npgsql.NpgsqlException (0x80004005): Exception while reading from stream\n ---> System.TimeoutException: "
    "Timeout during reading attempt": False,
    "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00": False,
    "Error: timeout exceeded when trying to connect": False,
    "could not receive data from server: Connection timed out": False,
    "read tcp 10.8.0.3:43210->10.20.0.5:5432: i/o timeout": False,
    'connection to server at "10.20.0.5", port 5432 failed: Connection refused': False,
    "dial tcp: lookup db.internal.example on 169.254.169.254:53: i/o timeout": False,
    "HikariPool-1 - Connection is not available, request timed out after 30000ms.": False,
    "pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '10.20.0.3' ([Errno 111] Connection "
    "refused)\")": False,
    "pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on 'db.internal' ([Errno -2] Name or "
    "service not known)\")": False,
    "Mysql2::Error::ConnectionError: Can't connect to MySQL server on '10.20.0.3:3306' (111)": False,
    "PG::ConnectionBad: could not connect to server: Connection refused": False,
    "SQLSTATE[HY000] [2002] Connection refused": False,
}


@pytest.mark.parametrize("text, timed_out", TEXTS.items(), ids=[t[:60] for t in TEXTS])
def test_which_errors_are_dials_that_timed_out(text, timed_out):
    assert dial_timed_out(text) is timed_out
