"""Deploys that moved where the service connects in forms read apart from the host: the port (DB_PORT
5432 -> 6432 for PgBouncer, a DATABASE_URL's port), the server pgx names in its ConnectError (v4's
"`host=H user=U database=D`", v5.5+'s "H:P (H): "), and the database name held in a Secret Manager
secret whose pinned version the deploy moved. When every refusal or failed dial is the new revision's
and names what only its deploy set, the deploy is rolled back; the same lines from both revisions, at
a server or port both name, with the env not read, or naming nothing, are escalated."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis import env_hosts, log_signals
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import SecretRef
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "shop-00041-kal", "shop-00042-vob"
HOST = (("DB_HOST", "10.10.0.3"), ("DB_NAME", "shop"), ("DB_USER", "app"))
AT_5432, AT_6432 = HOST + (("DB_PORT", "5432"),), HOST + (("DB_PORT", "6432"),)
URL_5432 = (("DATABASE_URL", "postgresql://app:pw@10.10.0.3:5432/shop"),)
URL_5433 = (("DATABASE_URL", "postgresql://app:pw@10.10.0.3:5433/shop"),)
URL_NO_PORT = (("DATABASE_URL", "postgresql://app:pw@10.10.0.3/shop"),)
MOVED_HOST = (("DB_HOST", "10.10.0.9"),) + AT_5432[1:]

LIBPQ_REFUSED = ('psycopg2.OperationalError: connection to server at "10.10.0.3", port {} failed: Connection refused\n'
                 "\tIs the server running on that host and accepting TCP/IP connections?")
LIBPQ_FATAL = 'psycopg2.OperationalError: connection to server at "10.10.0.3", port {} failed: FATAL:  {}'
PGJDBC = ("org.postgresql.util.PSQLException: Connection to 10.10.0.3:{} refused. Check that the hostname and port "
          "are correct and that the postmaster is accepting TCP/IP connections.")
PGX4 = "failed to connect to `host={} user=app database=shop`: server error (FATAL: {} (SQLSTATE 28P01))"
PGX5 = "failed to connect to `user=app database=shop`: {0}:5432 ({0}): failed SASL auth: FATAL: {1} (SQLSTATE 28P01)"
PASSWORD = 'password authentication failed for user "app"'
NO_DB = 'database "shop_v2" does not exist'
PGX4_NO_DB = ('failed to connect to `host=10.10.0.3 user=app database=shop_v2`: server error (FATAL: database '
              '"shop_v2" does not exist (SQLSTATE 3D000))')
NAME_3 = (SecretRef(env="DB_NAME", secret="shop-db-name", version="3"),)
NAME_4 = (SecretRef(env="DB_NAME", secret="shop-db-name", version="4"),)
NAME_LATEST = (SecretRef(env="DB_NAME", secret="shop-db-name", version="latest"),)
URL_3 = (SecretRef(env="DATABASE_URL", secret="shop-dsn", version="3"),)
URL_4 = (SecretRef(env="DATABASE_URL", secret="shop-dsn", version="4"),)
ONLY_HOST = (("DB_HOST", "10.10.0.3"),)
# The instance connection name moved region, or project.
US, EU = (("INSTANCE_CONNECTION_NAME", "shop:us-central1:db"),), (("INSTANCE_CONNECTION_NAME", "shop:europe-west1:db"),)
STAGING = (("INSTANCE_CONNECTION_NAME", "shop-stg:us-central1:db"),)
GO_REGION = ('failed to connect to instance: config error: provided region was mismatched - got europe-west1, want '
             'us-central1 (connection name = "shop:europe-west1:db")')
PY_REGION = ("ValueError: [shop:europe-west1:db]: Provided region was mismatched - got region europe-west1, expected "
             "us-central1.")
NODE_REGION = "CloudSQLConnectorError: Provided region was mismatched. Got us-central1, want europe-west1"
GO_403 = ('failed to get instance: Refresh error: failed to get instance metadata (connection name = '
          '"shop-stg:us-central1:db"): googleapi: Error 403: The client is not authorized to make this request., '
          "notAuthorized")
PY_404 = ("aiohttp.client_exceptions.ClientResponseError: 404, message='The Cloud SQL instance does not exist.', "
          "url='https://sqladmin.googleapis.com/sql/v1beta4/projects/shop/instances/db/connectSettings'")


def deployed(line: str, old_env, new_env, *, old_secrets=(), new_secrets=(), both: bool = False) -> Evidence:
    """NEW replaced OLD 6 minutes ago on the same connector; a third of its requests fail and it logs
    `line` 20 times (OLD too when `both`); the connector is quiet, Cloud SQL up."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), plain_env=old_env, secrets=old_secrets)
         .revision(NEW, -6, sql=(SQL,), plain_env=new_env, secrets=new_secrets)
         .traffic(**{NEW: 100}).requests(OLD, -90, -6, 40).latency(OLD, -90, -6, 0.2)
         .requests(NEW, -6, 5, 28).requests(NEW, -6, 5, 14, code="500").latency(NEW, -6, 5, 0.5)
         .connector(max_instances=3).connector_metric("instances", -40, 5, 2).connector_metric("cpu", -40, 5, 0.2)
         .connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1)
         .log(-5, line, NEW, count=20))
    return e.log(-5, line, OLD, count=20) if both else e


ROLLBACK = (Signature.BAD_REVISION, "rollback_traffic")
ESCALATE = (Signature.INCONCLUSIVE, None)
CASES = {
    # The port moved: the host is the same, the line names the port only the new revision's settings set.
    "libpq refused at the PgBouncer port DB_PORT moved to": ((LIBPQ_REFUSED.format(6432), AT_5432, AT_6432), ROLLBACK),
    "pgjdbc refused at a DATABASE_URL's new port": ((PGJDBC.format(5433), URL_5432, URL_5433), ROLLBACK),
    "libpq at a port added to a URL that had the default": ((LIBPQ_REFUSED.format(5433), URL_NO_PORT, URL_5433),
                                                            ROLLBACK),
    "a server at the new port refuses the password": ((LIBPQ_FATAL.format(6432, PASSWORD), AT_5432, AT_6432), ROLLBACK),
    # pgx names the server it connected to.
    "pgx v4's ConnectError at a host the deploy brought": ((PGX4.format("10.10.0.9", PASSWORD), AT_5432, MOVED_HOST),
                                                           ROLLBACK),
    "pgx v5.5+'s per-dial error at a host the deploy brought": ((PGX5.format("10.10.0.9", PASSWORD), AT_5432,
                                                                 MOVED_HOST), ROLLBACK),
    # The database's name is a pinned secret's, whose version the deploy moved.
    "libpq: a database the new DB_NAME secret version names": ((LIBPQ_FATAL.format(5432, NO_DB), ONLY_HOST, ONLY_HOST,
                                                                NAME_3, NAME_4), ROLLBACK),
    "libpq: a database the new DATABASE_URL secret version names": ((LIBPQ_FATAL.format(5432, NO_DB), ONLY_HOST,
                                                                     ONLY_HOST, URL_3, URL_4), ROLLBACK),
    "pgx: a database the new DB_NAME secret version names": ((PGX4_NO_DB, ONLY_HOST, ONLY_HOST, NAME_3, NAME_4),
                                                             ROLLBACK),
    # The connection name's region is not the instance's, and only the new revision's names that region.
    "the Go connector: region mismatched": ((GO_REGION, US, EU), ROLLBACK),
    "the Python connector: region mismatched": ((PY_REGION, US, EU), ROLLBACK),
    "the Go connector: the Admin API refuses the project the deploy brought": ((GO_403, US, STAGING), ROLLBACK),
    # Guards.
    "region mismatched for both revisions": ((GO_REGION, US, EU, (), (), True), ESCALATE),
    "region mismatched at the region both revisions name": ((GO_REGION, EU, EU), ESCALATE),
    "the Node connector's mismatch names no instance": ((NODE_REGION, US, EU), ESCALATE),
    "a 404 naming no region, for an instance both revisions name": ((PY_404, US, EU), ESCALATE),
    "the same refusal at the new port from both revisions": ((LIBPQ_REFUSED.format(6432), AT_5432, AT_6432, (), (),
                                                              True), ESCALATE),
    "refused at the port both revisions set": ((LIBPQ_REFUSED.format(5432), AT_5432, AT_5432), ESCALATE),
    "refused at the old port, though DB_PORT moved": ((LIBPQ_REFUSED.format(5432), AT_5432, AT_6432), ESCALATE),
    "a port under another name is no port": ((LIBPQ_REFUSED.format(6432), HOST + (("WORKERS", "5432"),),
                                              HOST + (("WORKERS", "6432"),)), ESCALATE),
    "the port of the revision before not read": ((LIBPQ_REFUSED.format(6432), (), AT_6432), ESCALATE),
    "the revision before sets no port (its driver's default)": ((LIBPQ_REFUSED.format(6432), HOST, AT_6432), ESCALATE),
    "pgx at the host both revisions name": ((PGX4.format("10.10.0.3", PASSWORD), AT_5432, AT_5432), ESCALATE),
    "a refusal naming no server": (('psycopg2.OperationalError: FATAL:  ' + PASSWORD, AT_5432, AT_6432), ESCALATE),
    "the DB_NAME secret at the same version": ((LIBPQ_FATAL.format(5432, NO_DB), ONLY_HOST, ONLY_HOST, NAME_3, NAME_3),
                                               ESCALATE),
    "the revision before reads DB_NAME at latest": ((LIBPQ_FATAL.format(5432, NO_DB), ONLY_HOST, ONLY_HOST,
                                                     NAME_LATEST, NAME_4), ESCALATE),
    "the DB_NAME secret moved, refused for the revision before too": ((LIBPQ_FATAL.format(5432, NO_DB), ONLY_HOST,
                                                                       ONLY_HOST, NAME_3, NAME_4, True), ESCALATE),
    "another secret moved, not the database's": ((LIBPQ_FATAL.format(5432, NO_DB), ONLY_HOST, ONLY_HOST,
                                                  (SecretRef(env="API_KEY", secret="k", version="3"),),
                                                  (SecretRef(env="API_KEY", secret="k", version="4"),)), ESCALATE),
}


@pytest.mark.parametrize("args, expected", CASES.values(), ids=CASES.keys())
def test_a_deploy_that_moved_where_it_connects_is_rolled_back(args, expected):
    line, old_env, new_env, *rest = args
    kwargs = dict(zip(("old_secrets", "new_secrets", "both"), rest))
    bundle = deployed(line, old_env, new_env, **kwargs).bundle()
    result = diagnose(bundle, S)
    assert (result.signature, plan(result, bundle, S).action) == expected, result.summary


HOSTS = {
    PGX4.format("10.10.0.9", PASSWORD): {"10.10.0.9"},
    PGX4.format("db.internal.example", PASSWORD): {"db.internal.example"},
    PGX5.format("10.10.0.9", PASSWORD): {"10.10.0.9"},
    "failed to connect to `user=app database=shop`: 10.10.0.9:5432 (db.internal.example): dial error: dial tcp "
    "10.10.0.9:5432: connect: connection refused": {"db.internal.example", "10.10.0.9"},
    # A Unix socket is no address on the network.
    "failed to connect to `user=app database=orders`: /tmp/.s.PGSQL.5432 (/tmp): dial error: timeout: context "
    "deadline exceeded": set(),
    "failed to connect to `host=/cloudsql/p:r:i user=app database=shop`: server error (FATAL: x)": set(),
}


@pytest.mark.parametrize("text, hosts", HOSTS.items())
def test_the_server_pgx_names(text, hosts):
    assert log_signals.database_dial_hosts(text) == hosts


PORTS = {
    LIBPQ_REFUSED.format(6432): {"6432"},
    'connection to server at "db.internal" (10.10.0.3), port 5433 failed: Connection refused': {"5433"},
    "could not connect to server: Connection refused\n\tIs the server running on host \"h\" (10.1.0.3) and "
    "accepting\n\tTCP/IP connections on port 6432?": {"6432"},
    PGJDBC.format(5433): {"5433"},
    "dial tcp 10.10.0.3:6433: connect: connection refused": {"6433"},
    "Error: connect ECONNREFUSED 10.10.0.3:6432": {"6432"},
    PGX5.format("10.10.0.9", PASSWORD): {"5432"},
    "PrismaClientInitializationError: Can't reach database server at `10.10.0.3`:`6432`": {"6432"},
    "ConnectionRefusedError: [Errno 111] Connect call failed ('10.10.0.3', 6432)": {"6432"},
    "psycopg2.OperationalError: FATAL:  " + PASSWORD: set(),
}


@pytest.mark.parametrize("text, ports", PORTS.items())
def test_the_port_a_database_line_names(text, ports):
    assert log_signals.database_dial_ports(text) == ports


PORTS_BROUGHT = {
    "DB_PORT moved": (AT_5432, AT_6432, ({"6432"}, ["plain env DB_PORT"])),
    "a URL's port moved": (URL_5432, URL_5433, ({"5433"}, ["plain env DATABASE_URL"])),
    "a URL's default made explicit elsewhere": (URL_NO_PORT, URL_5432, (set(), [])),
    "libpq keyword port": ((("PG_DSN", "host=h port=5432 dbname=d"),), (("PG_DSN", "host=h port=6432 dbname=d"),),
                           ({"6432"}, ["plain env PG_DSN"])),
    "Go MySQL tcp(H:P)": ((("DSN", "u:p@tcp(h:3306)/d"),), (("DSN", "u:p@tcp(h:6033)/d"),),
                          ({"6033"}, ["plain env DSN"])),
    "ADO.NET Server=tcp:H,P": ((("SQL_CONN", "Server=tcp:h,1433;Database=d"),),
                               (("SQL_CONN", "Server=tcp:h,14330;Database=d"),), ({"14330"}, ["plain env SQL_CONN"])),
    "the port moved from DB_PORT into the URL": (URL_NO_PORT[:0] + (("DB_PORT", "6432"),) + ONLY_HOST,
                                                 (("DATABASE_URL", "postgresql://a@10.10.0.3:6432/d"),), (set(), [])),
    "a number under another name": (HOST + (("WORKERS", "4"),), HOST + (("WORKERS", "6432"),), (set(), [])),
    "none set before": (HOST, AT_6432, (set(), [])),
    "the env before not read": ((), AT_6432, (set(), [])),
}


@pytest.mark.parametrize("before, after, expected", PORTS_BROUGHT.values(), ids=PORTS_BROUGHT.keys())
def test_the_ports_a_deploy_brought(before, after, expected):
    assert env_hosts.database_ports_brought(before, after) == expected
