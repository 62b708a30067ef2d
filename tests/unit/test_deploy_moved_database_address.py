"""A deploy that changed the database's address (DATABASE_URL, SPRING_DATASOURCE_URL, DB_HOST) to one
nothing answers at, whose new revision's dials to it fail: the address is read from each driver's
own words (log_signals.database_dial_hosts) and, when every error is the new revision's and the
addresses its errors name are ones only its env gives, the dials are the deploy's own and it is
rolled back. The same dials to an address both revisions name (a firewall rule, the database down)
keep the database in the running beside the deploy: escalated."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis import log_signals
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "ledger-00041-kal", "ledger-00042-vob"
GOOD, TYPO = "10.30.0.5", "10.30.0.9"
PG_URL = "postgresql://ledger@{}:5432/ledger"
JDBC_URL = "jdbc:postgresql://{}:5432/ledger"

PGJDBC_REFUSED = ("org.postgresql.util.PSQLException: Connection to {}:5432 refused. Check that the hostname and "
                  "port are correct and that the postmaster is accepting TCP/IP connections.")
HIKARI = ("java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out "
          "after 30001ms.\n\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n"
          "Caused by: org.postgresql.util.PSQLException: Connection to {}:5432 refused. Check that the hostname and "
          "port are correct and that the postmaster is accepting TCP/IP connections.\n"
          "Caused by: java.net.ConnectException: Connection timed out")
HIKARI_INIT = ("com.zaxxer.hikari.pool.HikariPool$PoolInitializationException: Failed to initialize pool: "
               "Connection to {}:5432 refused. Check that the hostname and port are correct and that the postmaster "
               "is accepting TCP/IP connections.")
ATTEMPT_URL = ("org.postgresql.util.PSQLException: The connection attempt failed. (jdbc:postgresql://{}:5432/ledger)"
               "\nCaused by: java.net.SocketTimeoutException: Connect timed out")
ATTEMPT = ("org.postgresql.util.PSQLException: The connection attempt failed.\nCaused by: "
           "java.net.SocketTimeoutException: Connect timed out")
GO = "failed to connect to `host={0} user=ledger database=ledger`: dial error (dial tcp {0}:5432: i/o timeout)"
NODE = "Error: connect ETIMEDOUT {}:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)"
LIBPQ = ('psycopg2.OperationalError: connection to server at "{}", port 5432 failed: Connection timed out\n'
         '\tIs the server running on that host and accepting TCP/IP connections?')

PYMYSQL = ("sqlalchemy.exc.OperationalError: (pymysql.err.OperationalError) (2003, \"Can't connect to MySQL server on "
           "'{}' (timed out)\")")
MYSQL_URL = "mysql+pymysql://ledger@{}:3306/ledger"
NPGSQL = ("Npgsql.NpgsqlException (0x80004005): Failed to connect to {}:5432\n ---> System.Net.Sockets.SocketException "
          "(110): Connection timed out")
PRISMA = ("PrismaClientInitializationError: Can't reach database server at `{0}`:`5432`\n\nPlease make sure your "
          "database server is running at `{0}`:`5432`.")


def deployed(line: str, *, old: str = GOOD, new: str = TYPO, url: str = PG_URL, also: str = "") -> Evidence:
    """NEW replaced OLD 6 minutes ago on the same connector and egress, its env's database URL changed
    from `old` to `new`; a third of its requests fail and it logs `line` (the address it names filled
    in with `new`) 20 times; the connector is quiet, Cloud SQL up."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), env=(url.format(old),))
         .revision(NEW, -6, sql=(SQL,), env=(url.format(new),))
         .traffic(**{NEW: 100}).requests(OLD, -90, -6, 40).latency(OLD, -90, -6, 0.2)
         .requests(NEW, -6, 5, 28).requests(NEW, -6, 5, 14, code="500").latency(NEW, -6, 5, 0.5)
         .connector(max_instances=3).connector_metric("instances", -40, 5, 2).connector_metric("cpu", -40, 5, 0.2)
         .connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1)
         .log(-5, line.format(new), NEW, count=20))
    return e.log(-5, also, NEW, count=20) if also else e


ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
ESCALATE = (Signature.INCONCLUSIVE, None)
CASES = {
    # The deploy changed the address, and the lines name it: the dials are the deploy's own.
    "pgjdbc refused (the kernel's connect timeout is a ConnectException)": ((PGJDBC_REFUSED,), {"url": JDBC_URL},
                                                                          ROLLBACK),
    "HikariCP's timeout, pgjdbc's refusal as its cause": ((HIKARI,), {"url": JDBC_URL}, ROLLBACK),
    "HikariCP's pool initialization, pgjdbc's words in its message": ((HIKARI_INIT,), {"url": JDBC_URL}, ROLLBACK),
    "pgjdbc's attempt failed, the JDBC URL quoted on the line": ((ATTEMPT_URL,), {"url": JDBC_URL}, ROLLBACK),
    "pgjdbc at another address and other numbers": ((PGJDBC_REFUSED,), {"url": JDBC_URL, "old": "172.16.4.2",
                                                                       "new": "172.16.4.20"}, ROLLBACK),
    "pgjdbc to a host name the deploy brought": ((PGJDBC_REFUSED,), {"url": JDBC_URL, "old": "db.internal.example",
                                                                    "new": "db2.internal.example"}, ROLLBACK),
    "pgx through Go's dial": ((GO,), {}, ROLLBACK),
    "node-postgres through Node's net": ((NODE,), {}, ROLLBACK),
    "libpq (psycopg2)": ((LIBPQ,), {}, ROLLBACK),
    "PyMySQL under SQLAlchemy, (timed out)": ((PYMYSQL,), {"url": MYSQL_URL}, ROLLBACK),
    "Npgsql's failed connect": ((NPGSQL,), {"url": "Host={};Port=5432;Database=ledger;Username=ledger"}, ROLLBACK),
    "Prisma's P1001": ((PRISMA,), {}, ROLLBACK),
    "half the lines name the address, half name none (pgjdbc)": ((PGJDBC_REFUSED,), {"url": JDBC_URL,
                                                                                      "also": ATTEMPT}, ROLLBACK),
    # Guards: the address is not shown to be the deploy's.
    "pgjdbc's attempt failed, no address on the line": ((ATTEMPT,), {"url": JDBC_URL}, ESCALATE),
    "both revisions name the address (a firewall, the database)": ((PGJDBC_REFUSED,), {"url": JDBC_URL,
                                                                                      "old": TYPO}, ESCALATE),
    "the lines name an address neither env names": ((PGJDBC_REFUSED.replace("{}", "10.30.0.77"),), {"url": JDBC_URL},
                                                    ESCALATE),
    "Go's dial to the address both name": ((GO,), {"old": TYPO}, ESCALATE),
}


@pytest.mark.parametrize("lines, kwargs, expected", CASES.values(), ids=CASES.keys())
def test_dials_to_an_address_only_the_deploy_gives_roll_back(lines, kwargs, expected):
    bundle = deployed(*lines, **kwargs).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


HOSTS = {
    PGJDBC_REFUSED.format(TYPO): {TYPO},
    HIKARI.format(TYPO): {TYPO},
    HIKARI_INIT.format("db.internal.example"): {"db.internal.example"},
    ATTEMPT_URL.format(TYPO): {TYPO},
    "org.postgresql.util.PSQLException: The connection attempt failed. (jdbc:postgresql://10.1.0.3:5432,"
    "10.1.0.4:5432/ledger?targetServerType=primary)": {"10.1.0.3", "10.1.0.4"},
    GO.format(TYPO): {TYPO},
    NODE.format(TYPO): {TYPO},
    "Error: connect ECONNREFUSED 10.30.0.9:3306": {TYPO},
    LIBPQ.format("DB.Internal.Example."): {"db.internal.example"},
    # The other drivers' own words (the reader connector_saturation's dial path shares).
    "pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '10.30.0.9' (timed out)\")": {TYPO},
    "Mysql2::Error::ConnectionError: Can't connect to MySQL server on '10.30.0.9:3306' (110)": {TYPO},
    "Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.30.0.9:5432": {TYPO},
    "PrismaClientInitializationError: Can't reach database server at `10.30.0.9`:`5432`": {TYPO},
    "PG::ConnectionBad: could not connect to server: Connection timed out\n\tIs the server running on host "
    "\"db.internal.example\" (10.30.0.9) and accepting\n\tTCP/IP connections on port 5432?": {"db.internal.example"},
    "failed to load cart: read tcp 10.8.0.3:43210->10.30.0.9:5432: i/o timeout": {TYPO},
    # No address: the JDK's and pgjdbc's own words for a connect timeout name none; a dial to
    # another dependency's port is dial_failure's; loopback crosses no network.
    ATTEMPT: set(), "java.net.SocketTimeoutException: Connect timed out": set(),
    "dial tcp 10.60.0.4:6379: i/o timeout": set(),
    "org.postgresql.util.PSQLException: Connection to localhost:5432 refused.": set(),
    "Error: connect ECONNREFUSED 127.0.0.1:5432": set(),
}


@pytest.mark.parametrize("text, hosts", HOSTS.items())
def test_the_database_address_a_failed_dial_names(text, hosts):
    assert log_signals.database_dial_hosts(text) == hosts
