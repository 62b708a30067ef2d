"""Errors of reaching the database that never left the service's own instance: a dial to loopback
that nothing answers (a Cloud SQL Auth Proxy or connector sidecar not running), a Unix socket that is
not there (no Cloud SQL connection mounted at the path), a process out of file descriptors. No packet
of theirs crossed the connector, so a connector busy with other traffic is never scaled on them; they
are named, and escalated; a rollback only where the deploy brought them (bad_revision's own test)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import NeverLeft, never_left
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, PSYCOPG

S = DiagnosisSettings()

LOOPBACK_GO = ("failed to connect to `host=127.0.0.1 user=app database=orders`: dial error (dial tcp 127.0.0.1:5432: "
               "connect: connection refused)")
LOOPBACK_LIBPQ = ('sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "127.0.0.1", '
                  "port 5432 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP "
                  "connections?")
LOOPBACK_NODE = "Error: connect ECONNREFUSED 127.0.0.1:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1595:16)"
LOOPBACK_PGJDBC = ("org.postgresql.util.PSQLException: Connection to localhost:5432 refused. Check that the hostname "
                   "and port are correct and that the postmaster is accepting TCP/IP connections.")
SOCKET_LIBPQ = ('psycopg2.OperationalError: connection to server on socket "/cloudsql/p:us-central1:db/.s.PGSQL.5432" '
                "failed: No such file or directory\n\tIs the server running locally and accepting connections on "
                "that socket?")
FILES_LIBPQ = ('psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: could not create '
               "socket: Too many open files")

# a database error's text -> the kind that shows it never left the instance ("" when it may have)
TEXTS = {
    "Go net, loopback refused": (LOOPBACK_GO, NeverLeft.LOOPBACK),
    "libpq 14+, loopback refused": (LOOPBACK_LIBPQ, NeverLeft.LOOPBACK),
    "libpq 14+, localhost over IPv6 refused": (
        'connection to server at "localhost" (::1), port 5432 failed: Connection refused', NeverLeft.LOOPBACK),
    "libpq before 14, loopback refused": (
        'could not connect to server: Connection refused\n\tIs the server running on host "localhost" (127.0.0.1) '
        "and accepting\n\tTCP/IP connections on port 5432?", NeverLeft.LOOPBACK),
    "Node net, loopback refused": (LOOPBACK_NODE, NeverLeft.LOOPBACK),
    "pgjdbc, localhost refused": (LOOPBACK_PGJDBC, NeverLeft.LOOPBACK),
    "asyncpg (asyncio), loopback refused": (
        "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 5432)", NeverLeft.LOOPBACK),
    "PyMySQL, loopback refused": (
        "pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection "
        'refused)")', NeverLeft.LOOPBACK),
    "libpq 14+, /cloudsql socket missing": (SOCKET_LIBPQ, NeverLeft.SOCKET),
    "libpq before 14, socket missing": (
        "could not connect to server: No such file or directory\n\tIs the server running locally and accepting\n\t"
        'connections on Unix domain socket "/cloudsql/p:r:i/.s.PGSQL.5432"?', NeverLeft.SOCKET),
    "Go net, unix socket missing": (
        "dial unix /cloudsql/p:r:i/.s.PGSQL.5432: connect: no such file or directory", NeverLeft.SOCKET),
    "Node net, pipe missing": ("Error: connect ENOENT /cloudsql/p:r:i/.s.PGSQL.5432", NeverLeft.SOCKET),
    "MySQL client, socket missing": (
        "(2002, \"Can't connect to local MySQL server through socket '/cloudsql/p:r:i' (2)\")", NeverLeft.SOCKET),
    "PDO MySQL, socket missing": ("SQLSTATE[HY000] [2002] No such file or directory (Connection: mysql, SQL: select 1)",
                                  NeverLeft.SOCKET),
    "libpq, no socket made": (FILES_LIBPQ, NeverLeft.FILES),
    "Go net, no socket made": ("dial tcp 10.20.0.3:5432: socket: too many open files", NeverLeft.FILES),
    "pgjdbc caused by the JDK's EMFILE": (
        "org.postgresql.util.PSQLException: The connection attempt failed.\nCaused by: java.net.SocketException: "
        "Too many open files", NeverLeft.FILES),
    "Node net, EMFILE": ("Error: connect EMFILE 10.20.0.3:5432 - Local (undefined:undefined)", NeverLeft.FILES),
    "MySQL client, no socket made": ("(2004, \"Can't create TCP/IP socket (24)\")", NeverLeft.FILES),
    # What may have left the instance: a private address, a proxy on loopback that accepted and then waited
    # or closed (its upstream crosses the network), the database server's own file limit (an answer).
    "a private address refused": ("dial tcp 10.20.0.3:5432: connect: connection refused", ""),
    "a private address timed out": (PSYCOPG, ""),
    "loopback timed out (a proxy waiting on its upstream)": (
        'connection to server at "127.0.0.1", port 5432 failed: timeout expired', ""),
    "loopback closed by the proxy": (
        "(psycopg2.OperationalError) server closed the connection unexpectedly", ""),
    "loopback i/o timeout": ("dial tcp 127.0.0.1:5432: i/o timeout", ""),
    # Whether Cloud Run's Cloud SQL connection refuses on its socket while the instance is stopped is unconfirmed.
    "libpq 14+, socket refused": (
        'connection to server on socket "/cloudsql/p:r:i/.s.PGSQL.5432" failed: Connection refused', ""),
    "Node net, pipe refused": ("Error: connect ECONNREFUSED /cloudsql/p:r:i/.s.PGSQL.5432", ""),
    "PostgreSQL's own file limit, answered": (
        'connection to server at "10.20.0.3", port 5432 failed: FATAL:  out of file descriptors: Too many open '
        "files; release and retry", ""),
    "MySQL's own file limit, answered": (
        "(1016, \"Can't open file: './shop/orders.frm' (errno: 24 - Too many open files)\")", ""),
}


@pytest.mark.parametrize("text, kind", TEXTS.values(), ids=TEXTS.keys())
def test_which_database_errors_never_left_the_instance(text, kind):
    assert never_left(text) == kind


def busy_connector(errors: str, *, deployed: float | None = None, p99: float = 0.05, count: int = 20,
                   since: float = -8) -> Evidence:
    """A fifth of the requests 503 from `since` with the service's p99 at `p99` s, `count` lines of
    `errors` from -6; another service keeps the shared connector newly at max (-9) with CPU 90%;
    Cloud SQL up. With `deployed`, NEW takes every request from that minute, OLD having served cleanly."""
    serving = NEW if deployed is not None else OLD
    e = Evidence().revision(OLD, -300, sql=(SQL,))
    if deployed is not None:
        e.revision(NEW, deployed, sql=(SQL,)).requests(OLD, -90, deployed, 250).latency(OLD, -90, deployed, 0.09)
        e.audit(deployed, "deployer@example.com")
    else:
        e.requests(OLD, -90, since, 250).latency(OLD, -90, since, 0.09)
    start = deployed if deployed is not None else since
    e.traffic(**{serving: 100}).requests(serving, start, 5, 200).requests(serving, since, 5, 50, code="503")
    e.latency(serving, start, since, 0.09).latency(serving, since, 5, p99).sql_up(-90, 5, 1)
    e.connector(max_instances=3).connector_metric("instances", -90, -9, 2).connector_metric("instances", -9, 5, 3)
    e.connector_metric("cpu", -90, -9, 0.2).connector_metric("cpu", -9, 5, 0.9)
    e.connector_metric("bytes", -90, -9, 4e6).connector_metric("bytes", -9, 5, 12e6)
    return e.log(max(since, -6), errors, serving, count=count)


# situation -> the verdict, and the action planned
CASES = {
    "loopback refused (Go), no deploy: named, never scaled": (
        dict(errors=LOOPBACK_GO), Signature.DATABASE_UNREACHABLE, None),
    "loopback refused (libpq), no deploy": (dict(errors=LOOPBACK_LIBPQ), Signature.DATABASE_UNREACHABLE, None),
    "loopback refused (Node), no deploy": (dict(errors=LOOPBACK_NODE), Signature.DATABASE_UNREACHABLE, None),
    "localhost refused (pgjdbc), no deploy": (dict(errors=LOOPBACK_PGJDBC), Signature.DATABASE_UNREACHABLE, None),
    "/cloudsql socket missing, no deploy": (dict(errors=SOCKET_LIBPQ), Signature.DATABASE_UNREACHABLE, None),
    "out of file descriptors, no deploy": (dict(errors=FILES_LIBPQ), Signature.DATABASE_UNREACHABLE, None),
    "loopback refused, and requests hang at 31 s besides: the connector competes, never scaled": (
        dict(errors=LOOPBACK_LIBPQ, p99=31.0), Signature.INCONCLUSIVE, None),
    "loopback refused from a deploy 10 min before, the revision before clean: rolled back": (
        dict(errors=LOOPBACK_NODE, deployed=-10, since=-10), Signature.BAD_REVISION, "rollback_traffic"),
    "socket missing from a deploy 10 min before, the revision before clean: rolled back": (
        dict(errors=SOCKET_LIBPQ, deployed=-10, since=-10), Signature.BAD_REVISION, "rollback_traffic"),
    "loopback refused 20 min after a deploy that served cleanly: escalated, no rollback": (
        dict(errors=LOOPBACK_GO, deployed=-28), Signature.INCONCLUSIVE, None),
    # What may have crossed the connector is judged as before.
    "dial timeouts to a private address: the connector (unchanged)": (
        dict(errors=PSYCOPG), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "too few loopback refusals to name: the connector's own doubt (unchanged)": (
        dict(errors=LOOPBACK_GO, count=2), Signature.INCONCLUSIVE, None),
}


@pytest.mark.parametrize("shape, signature, action", CASES.values(), ids=CASES.keys())
def test_errors_that_never_left_the_instance_never_scale_the_connector(shape, signature, action):
    bundle = busy_connector(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary


def test_the_finding_names_why_and_what_to_look_at():
    result = diagnose(busy_connector(LOOPBACK_LIBPQ).bundle(), S)

    assert "fail inside its own instances" in result.summary, result.summary
    assert NeverLeft.LOOPBACK in result.summary, result.summary
    assert "proxy sidecar" in result.recommendation, result.recommendation
