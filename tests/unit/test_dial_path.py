"""Where a database's failed dials went, and whether that path crosses the connector
(rules.connector_dials.dial_path): read from the driver's own words only, then from the revision's
database settings, never from another address a line or the env prints (a client's, a cache's, an
internal service's). Pure, no I/O."""
from __future__ import annotations

import pytest

from shared.diagnosis.log_signals import database_dial
from shared.diagnosis.rules.connector_dials import dial_path

PRIVATE, ALL = "PRIVATE_RANGES_ONLY", "ALL_TRAFFIC"
PGJDBC = ("org.postgresql.util.PSQLException: The connection attempt failed.\n"
          "Caused by: java.net.SocketTimeoutException: Connect timed out")
NODE_PG = "Error: Connection terminated due to connection timeout"
JAVA_CONNECTOR_URL = ("jdbc:postgresql:///orders?cloudSqlInstance=shop-prod:us-central1:orders-db"
                      "&socketFactory=com.google.cloud.sql.postgres.SocketFactory")

# situation -> (lines, env values, egress), (addresses, read from, crosses)
ROWS = {
    "Go names the private database": (
        (["failed to connect to `host=10.20.0.5 user=app database=orders`: dial error (dial tcp 10.20.0.5:5432: "
          "i/o timeout)"], (), PRIVATE), (("10.20.0.5",), "the lines", True)),
    "libpq names a host name and the address it resolved": (
        (['(psycopg2.OperationalError) connection to server at "orders-db.internal" (10.20.0.5), port 5432 failed: '
          "timeout expired"], (), PRIVATE), (("10.20.0.5",), "the lines", True)),
    "libpq names only a host name: unknown": (
        (['connection to server at "orders-db.internal", port 5432 failed: timeout expired'], (), PRIVATE),
        (("orders-db.internal",), "the lines", None)),
    "Prisma names only a host name, a Redis IP in the env: unknown": (
        (["Can't reach database server at `orders-db.internal`:`5432`"], ("10.0.0.3",), PRIVATE),
        (("orders-db.internal",), "the lines", None)),
    "PyMySQL names a public address: never through it": (
        (["(2003, \"Can't connect to MySQL server on '34.118.2.9' (timed out)\")"], (), PRIVATE),
        (("34.118.2.9",), "the lines", False)),
    "Npgsql names a private endpoint": (
        (["Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.20.0.3:5432"], (), PRIVATE),
        (("10.20.0.3",), "the lines", True)),
    "a client's private address on a line whose dial names none; the database URL public": (
        (["POST /orders client=10.128.0.7 failed: " + NODE_PG], ("postgres://app@34.118.2.9:5432/orders",), PRIVATE),
        (("34.118.2.9",), "the revision's env", False)),
    "a client's private address on a line whose dial names none; nothing else: unknown": (
        (["POST /orders client=10.128.0.7 failed: " + NODE_PG], (), PRIVATE), ((), "", None)),
    "loopback dialled (a proxy beside the application), a cache's IP in the env: unknown": (
        (["Error: connect ETIMEDOUT 127.0.0.1:5432"], ("10.0.0.3",), PRIVATE), ((), "the lines", None)),
    "hostless, the env's database URL private": (
        ([NODE_PG], ("postgres://app@10.20.0.5:5432/orders",), PRIVATE), (("10.20.0.5",), "the revision's env", True)),
    "hostless, a bare private DB_HOST": (
        ([PGJDBC], ("10.20.0.5", "5432", "orders"), PRIVATE), (("10.20.0.5",), "the revision's env", True)),
    "hostless, the Java connector's URL (a connection name) and a Memorystore IP: unknown": (
        ([PGJDBC], (JAVA_CONNECTOR_URL, "10.0.0.3"), PRIVATE), ((), "", None)),
    "hostless, INSTANCE_CONNECTION_NAME and a private DB_HOST: unknown (which one is dialled)": (
        ([PGJDBC], ("shop-prod:us-central1:orders-db", "10.20.0.5"), PRIVATE), ((), "", None)),
    "hostless, the JDBC URL names a host name, a Redis URL a private IP: unknown": (
        ([PGJDBC], ("jdbc:postgresql://orders-db.db.internal.example:5432/orders", "redis://10.0.0.3:6379/0"), PRIVATE),
        ((), "", None)),
    "hostless, a bare DB_HOST name beside a bare cache IP: unknown": (
        ([PGJDBC], ("orders-db.db.internal.example", "10.0.0.3"), PRIVATE), ((), "", None)),
    "hostless, a libpq DSN private beside an internal HTTP service's URL: the DSN's": (
        ([NODE_PG], ("host=10.20.0.5 port=5432 dbname=orders", "http://10.9.0.7:8080"), PRIVATE),
        (("10.20.0.5",), "the revision's env", True)),
    "hostless, a Go MySQL DSN public: never through it": (
        (["Error: connect ETIMEDOUT\n    at Connection._handleTimeoutError (/app/node_modules/mysql2/lib/"
          "connection.js:205:17)"], ("app:pw@tcp(34.118.2.9:3306)/orders",), PRIVATE),
        (("34.118.2.9",), "the revision's env", False)),
    "hostless under ALL_TRAFFIC: every dial crosses it": (
        ([PGJDBC], (JAVA_CONNECTOR_URL,), ALL), ((), "", True)),
    "lines that name nothing beside lines that name the private database: the same path": (
        ([NODE_PG, "Error: connect ETIMEDOUT 10.20.0.5:5432"], ("10.0.0.3",), PRIVATE),
        (("10.20.0.5",), "the lines", True)),
}


@pytest.mark.parametrize("given, expected", ROWS.values(), ids=ROWS.keys())
def test_where_the_dials_went(given, expected):
    texts, env, egress = given

    path = dial_path(texts, env, egress)

    assert (path.addresses, path.read_from, path.crosses) == expected


# The one reader of a database dial's destination (log_signals.database_dial): text -> (addresses, unplaced)
DIALS = {
    "dial tcp 10.20.0.5:5432: i/o timeout": ({"10.20.0.5"}, set()),
    "Error: connect ETIMEDOUT 10.20.0.5:5432": ({"10.20.0.5"}, set()),
    'connection to server at "orders-db.internal" (10.20.0.5), port 5432 failed: timeout expired':
        ({"10.20.0.5"}, set()),
    'connection to server at "orders-db.internal", port 5432 failed: timeout expired': (set(), {"orders-db.internal"}),
    "PG::ConnectionBad: could not connect to server: Connection timed out\n\tIs the server running on host "
    '"orders-db.internal" (10.20.0.5) and accepting\n\tTCP/IP connections on port 5432?': ({"10.20.0.5"}, set()),
    "(2003, \"Can't connect to MySQL server on '10.20.0.3' (timed out)\")": ({"10.20.0.3"}, set()),
    "Mysql2::Error::ConnectionError: Can't connect to MySQL server on '10.20.0.3:3306' (110)": ({"10.20.0.3"}, set()),
    "Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.20.0.3:5432": ({"10.20.0.3"}, set()),
    "PrismaClientInitializationError: Can't reach database server at `10.1.2.3`:`5432`": ({"10.1.2.3"}, set()),
    "Error: P1001: Can't reach database server at `orders-db.internal:5432`": (set(), {"orders-db.internal"}),
    "Error: P1002: The database server at `10.40.0.7`:`5432` was reached but timed out.": ({"10.40.0.7"}, set()),
    "Can't create a connection to host 10.20.0.3 and port 3307 (timeout is None and source_address is None).":
        ({"10.20.0.3"}, set()),
    "ConnectionRefusedError: [Errno 111] Connect call failed ('10.20.0.3', 5432)": ({"10.20.0.3"}, set()),
    "connection to Cloud SQL instance at 34.170.24.96:3307 failed: timed out after 10s": ({"34.170.24.96"}, set()),
    "org.postgresql.util.PSQLException: The connection attempt failed. (jdbc:postgresql://10.40.0.50:5432/ledger)":
        ({"10.40.0.50"}, set()),
    "Error: connect ETIMEDOUT 127.0.0.1:5432": (set(), {"127.0.0.1"}),
    "[p:r:i] connection aborted - error reading from instance: read tcp 169.254.8.1:60699->34.118.20.7:3307: read: "
    "connection reset by peer": ({"34.118.20.7"}, set()),
    # not the database's address: a client's, an HTTP call's, a cache's
    "POST /orders client=10.128.0.7 failed: Error: Connection terminated due to connection timeout": (set(), set()),
    'I/O error on POST request for "https://34.117.59.81/v1/charges": Connect timed out': (set(), set()),
    "Error: connect ETIMEDOUT 10.0.0.3:6379": (set(), set()),
}


@pytest.mark.parametrize("text, expected", DIALS.items(), ids=[t[:60] for t in DIALS])
def test_where_one_dial_went(text, expected):
    dial = database_dial(text)

    assert (set(dial.addresses), set(dial.unplaced)) == expected
