"""Refused dials to the database's address are an answer, not a wait: the SYN crossed every hop and
the far end sent a reset at once (nothing listens on that port: the database restarting, failing over
or stopped, a wrong port, a proxy in front of it down). A saturated connector drops packets and the
requests that cross it wait (dial and read timeouts); VPC firewall rules drop what they deny, they do
not answer it. So 503s answered at once beside refused dials are not shown to be the connector's,
whatever it shows: it competes, and is never scaled alone on them. Dial timeouts beside the same
busy connector still are its (the controls)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis import log_signals
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.test_connector_503s_answered_at_once import busy_connector_and_503s
from tests.unit.test_diagnosis import PSYCOPG

S = DiagnosisSettings()

GO = "dial tcp 10.20.0.3:5432: connect: connection refused"
PGX = ("failed to connect to `host=10.20.0.3 user=app database=app`: dial error (dial tcp 10.20.0.3:5432: connect: "
       "connection refused)")
NODE = "Error: connect ECONNREFUSED 10.20.0.3:5432"
LIBPQ = ('psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: Connection refused\n'
         "\tIs the server running on that host and accepting TCP/IP connections?")
LIBPQ_OLD = ('psycopg2.OperationalError: could not connect to server: Connection refused\n\tIs the server running on '
             'host "10.20.0.3" and accepting\n\tTCP/IP connections on port 5432?')
PGJDBC = ("org.postgresql.util.PSQLException: Connection to 10.20.0.3:5432 refused. Check that the hostname and port "
          "are correct and that the postmaster is accepting TCP/IP connections.")
ASYNCPG = "ConnectionRefusedError: [Errno 111] Connect call failed ('10.20.0.3', 5432)"
PYMYSQL = ("pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '10.40.0.9' ([Errno 111] "
           "Connection refused)\")")
MYSQLCLIENT = "MySQLdb.OperationalError: (2003, \"Can't connect to MySQL server on '10.40.0.9:3306' (111)\")"

# text -> whether it is a refused dial to an address other than loopback
TEXTS = {
    "Go net": (GO, True),
    "pgx's dial error": (PGX, True),
    "Node net": (NODE, True),
    "libpq 14+": (LIBPQ, True),
    "libpq before 14": (LIBPQ_OLD, True),
    "pgjdbc": (PGJDBC, True),
    "asyncpg (asyncio)": (ASYNCPG, True),
    "PyMySQL 2003, errno 111": (PYMYSQL, True),
    "mysqlclient 2003 (111)": (MYSQLCLIENT, True),
    "Go net, dial timed out": ("dial tcp 10.20.0.3:5432: i/o timeout", False),
    "Node net, dial timed out": ("Error: connect ETIMEDOUT 10.20.0.3:5432", False),
    "libpq, dial timed out": (PSYCOPG, False),
    "mysqlclient 2003 (110), timed out": ("MySQLdb.OperationalError: (2003, \"Can't connect to MySQL server on "
                                          "'10.40.0.9:3306' (110)\")", False),
    "Go net, refused at loopback (never left the instance)": ("dial tcp 127.0.0.1:5432: connect: connection refused",
                                                              False),
    "Node net, refused at localhost": ("Error: connect ECONNREFUSED localhost:5432", False),
    "libpq, refused at loopback": ('connection to server at "127.0.0.1", port 5432 failed: Connection refused', False),
    "a reset of an open connection": ("read tcp 10.8.0.5:41234->10.20.0.3:5432: read: connection reset by peer",
                                      False),
    "a pool that waited 30 s, refusals its cause": (
        "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out "
        "after 30000ms.\nCaused by: org.postgresql.util.PSQLException: Connection to 10.20.0.3:5432 refused.", False),
}


@pytest.mark.parametrize("text, refused", TEXTS.values(), ids=TEXTS.keys())
def test_refused_dial_in_the_drivers_words(text, refused):
    assert log_signals.refused_dial(text) is refused


# situation -> the verdict, and the action planned
CASES = {
    "CPU 90%, 503s in 50 ms, Go's refused dials": (dict(p99=0.05, errors=GO), Signature.INCONCLUSIVE, None),
    "CPU 90%, 503s in 50 ms, pgx's refused dials": (dict(p99=0.05, errors=PGX), Signature.INCONCLUSIVE, None),
    "CPU 90%, 503s in 50 ms, Node's ECONNREFUSED": (dict(p99=0.05, errors=NODE), Signature.INCONCLUSIVE, None),
    "CPU 90%, 503s in 50 ms, libpq's refused": (dict(p99=0.05, errors=LIBPQ), Signature.INCONCLUSIVE, None),
    "CPU 90%, 503s in 50 ms, pgjdbc's refused": (dict(p99=0.05, errors=PGJDBC), Signature.INCONCLUSIVE, None),
    "CPU 90%, 503s in 50 ms, asyncpg's refused": (dict(p99=0.05, errors=ASYNCPG), Signature.INCONCLUSIVE, None),
    "throughput at its ceiling, 503s in 50 ms, Node's ECONNREFUSED": (
        dict(p99=0.05, cpu=0.4, mbps=290, errors=NODE), Signature.INCONCLUSIVE, None),
    "CPU 90%, 503s in 50 ms, dial timeouts: the connector (control)": (
        dict(p99=0.05, errors=PSYCOPG), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "CPU 90%, 503s in 50 ms, Go's dial timeouts: the connector (control)": (
        dict(p99=0.05, errors="dial tcp 10.20.0.3:5432: i/o timeout"), Signature.CONNECTOR_SATURATION,
        "scale_connector"),
    "CPU 90%, requests hanging at 31 s beside refused dials: the connector competes no less (unchanged)": (
        dict(p99=31.0, errors=GO), Signature.CONNECTOR_SATURATION, "scale_connector"),
}


@pytest.mark.parametrize("shape, signature, action", CASES.values(), ids=CASES.keys())
def test_503s_at_once_beside_refused_dials_are_not_the_connectors(shape, signature, action):
    bundle = busy_connector_and_503s(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    if signature is Signature.INCONCLUSIVE:
        assert "refused" in result.summary, result.summary
