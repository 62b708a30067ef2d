"""Cloud SQL and secrets incidents beside the connector: what the database answered, and what no
action can fix. Each row is an incident as production logs it (texts from docs/signatures.md,
"Database connection errors as the client stacks write them"); none may end in a scale-up or a
rollback that would not help, and each names its cause."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"

TOO_MANY = ('psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: '
            "FATAL:  sorry, too many clients already")
MYSQL_TOO_MANY = "pymysql.err.OperationalError: (1040, 'Too many connections')"
MYSQL_USER_LIMIT = ("pymysql.err.OperationalError: (1203, \"User catalog already has more than "
                    "'max_user_connections' active connections\")")
MYSQL_USER_RESOURCE = ("Error 1226 (42000): User 'catalog' has exceeded the 'max_user_connections' resource "
                       "(current value: 60)")
AUTH = ('psycopg2.OperationalError: connection to server on socket "/cloudsql/demo:us-central1:main-db/.s.PGSQL.5432" '
        'failed: FATAL:  password authentication failed for user "app"')
NOT_AUTHORIZED = ('failed to get instance: Refresh error: failed to get instance metadata (connection name = '
                  '"demo:us-central1:main-db"): googleapi: Error 403: The client is not authorized to make this '
                  'request., notAuthorized')
READ_ONLY = "psycopg2.errors.ReadOnlySqlTransaction: cannot execute INSERT in a read-only transaction"
# Statements the client's own timer cancelled while the server still ran them (PostgreSQL 57014 at the
# protocol's cancel request; MySQL 1317 at KILL QUERY; Connector/J's words once its KILL QUERY went out).
PGJDBC_CANCELLED = ("org.springframework.dao.QueryTimeoutException: could not execute statement; nested exception is "
                    "org.hibernate.QueryTimeoutException\nCaused by: org.postgresql.util.PSQLException: ERROR: "
                    "canceling statement due to user request")
LIBPQ_CANCELLED = 'level=error msg="load quote" err="pq: canceling statement due to user request (57014)"'
CONNECTORJ_TIMEOUT = ("com.mysql.cj.jdbc.exceptions.MySQLTimeoutException: Statement cancelled due to timeout or "
                      "client request")
MYSQL_INTERRUPTED = "MySQLdb.OperationalError: (1317, 'Query execution was interrupted')"
# A failover's ended sessions in libpq's words for the server's TLS close, and in Node's mysql2's.
SSL_CLOSED = "psycopg2.OperationalError: SSL connection has been closed unexpectedly"
PSYCOPG3_SSL_CLOSED = "psycopg.OperationalError: consuming input failed: SSL connection has been closed unexpectedly"
MYSQL2_LOST = "Error: Connection lost: The server closed the connection."
RESTARTING = "FATAL:  the database system is starting up"
LOST = "pymysql.err.OperationalError: (2013, 'Lost connection to MySQL server during query')"
ABORTED = ("[demo:us-central1:main-db] connection aborted - error reading from instance: read tcp "
           "169.254.8.1:60699->10.20.0.3:3307: read: connection reset by peer")
DIAL = "dial tcp 10.20.0.3:3307: i/o timeout"
SECRET_GONE = ('Could not fetch secret "projects/1234/secrets/db-password/versions/3" for environment variable '
               '"DB_PASSWORD". Instance startup will now abort: Secret Version [db-password/versions/3] is in '
               "DESTROYED state.")
SYSTEM = "run.googleapis.com/varlog/system"
NO_PUBLIC_IP = ('acquire connection: failed to connect to `user=app database=orders`: dial error: failed to connect '
                'to instance: Config error: instance does not have IP of type "PUBLIC" (connection name = '
                '"demo:us-central1:main-db")')
NO_PUBLIC_IP_JAVA = ("java.lang.IllegalArgumentException: [demo:us-central1:main-db] Cloud SQL instance  does not have "
                     "any IP addresses matching preferences (PUBLIC)")
NO_SUCH_HOST = ("failed to connect to `host=orders-db.db.internal.example user=app database=orders`: hostname "
                "resolving error (lookup orders-db.db.internal.example on 169.254.169.254:53: no such host)")
# MySQL 1130 (ER_HOST_NOT_PRIVILEGED), the server's error packet in place of its greeting: no account of
# the user admits the address the connection comes from (go-sql-driver/mysql prints no SQLSTATE then).
HOST_NOT_ALLOWED = "Error 1130: Host '10.8.0.2' is not allowed to connect to this MySQL server"
HOST_NOT_ALLOWED_PY = ("sqlalchemy.exc.OperationalError: (pymysql.err.OperationalError) (1130, \"Host '10.20.0.7' is "
                       "not allowed to connect to this MySQL server\")")
# PostgreSQL's pg_hba.conf refusing an ENCRYPTED connection (PostgreSQL 12+ names the encryption; "SSL on"
# before): the address (or the user) is what is refused, not the want of SSL/TLS.
HBA_ENCRYPTED = ('org.postgresql.util.PSQLException: FATAL: no pg_hba.conf entry for host "10.8.0.5", user "app", '
                 'database "orders", SSL encryption')
HBA_SSL_ON = ('psycopg2.OperationalError: connection to server at "10.40.0.3", port 5432 failed: FATAL:  no pg_hba.conf '
              'entry for host "10.124.0.7", user "orders", database "orders", SSL on')
# PgBouncer's query_wait_timeout (src/janitor.c): a client kept waiting for a server connection of the
# pooler's pool past the limit, in pgjdbc's, psycopg2's and libpq's (at login) words: a wait, not a refusal.
QUERY_WAIT_JAVA = "org.postgresql.util.PSQLException: FATAL: query_wait_timeout"
QUERY_WAIT_PY = ("sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) query_wait_timeout\nserver closed the "
                 "connection unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while "
                 "processing the request.")
QUERY_WAIT_LOGIN = ('psycopg2.OperationalError: connection to server at "10.40.0.9", port 6432 failed: FATAL:  '
                    "query_wait_timeout")
MYSQL_SHUTDOWN = "pymysql.err.OperationalError: (1053, 'Server shutdown in progress')"
MYSQLCONNECTOR_TIMEOUT = "MySqlConnector.MySqlException (0x80004005): Connect Timeout expired."
MYSQLCONNECTOR_POOL = ("MySqlConnector.MySqlException (0x80004005): Connect Timeout expired. All pooled connections are "
                       "in use.")
ADMIN_API_UNREACHED = ("aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host sqladmin.googleapis.com:443 "
                       "ssl:default [Connect call failed ('199.36.153.8', 443)]")
# PgBouncer's own client limit (src/client.c), in node-postgres's and pgjdbc's words: the pooler answered.
POOLER_FULL = "error: no more connections allowed (max_client_conn)"
POOLER_FULL_JAVA = "org.postgresql.util.PSQLException: FATAL: no more connections allowed (max_client_conn)"
# Drivers' own words for a connection not opened (nothing answered): MySqlConnector, Npgsql before 6, sqlx.
MYSQLCONNECTOR = "MySqlConnector.MySqlException (0x80004005): Unable to connect to any of the specified MySQL hosts."
NPGSQL_CONNECTING = ("Npgsql.NpgsqlException (0x80004005): Exception while connecting\n ---> System.TimeoutException: "
                     "The operation has timed out.")
SQLX_IO = "error communicating with database: Connection refused (os error 111)"
STATEMENT_TIMEOUT = "psycopg.errors.QueryCanceled: canceling statement due to statement timeout"
REPLICA_CONFLICT = ("sqlalchemy.exc.OperationalError: (psycopg2.errors.SerializationFailure) canceling statement due "
                    "to conflict with recovery")
LOCK_WAIT = "MySQLdb.OperationalError: (1205, 'Lock wait timeout exceeded; try restarting transaction')"
# A server certificate the client no longer trusts (a rotated server CA, the old one pinned in sslrootcert):
# libpq's and MySQL client error 2026's own words (docs/signatures.md).
CERT_LIBPQ = ('sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "10.20.0.3", '
              "port 5432 failed: SSL error: certificate verify failed")
CERT_MYSQL = ("ERROR 2026 (HY000): SSL connection error: error:0A000086:SSL routines::certificate verify failed")
# The same verdict wrapped in a connect failure's words (PyMySQL's 2003, Connector/J's link failure,
# Npgsql's handshake exception) or in pgjdbc's "SSL error": the TLS handshake reached the server.
CERT_PYMYSQL = ("pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '10.20.0.3' ([SSL: "
                "CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate "
                "(_ssl.c:1006))\")")
CERT_CONNECTORJ = ("com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure\n\nThe last "
                   "packet successfully received from the server was 9 milliseconds ago. The last packet sent "
                   "successfully to the server was 8 milliseconds ago.\n\tat com.mysql.cj.jdbc.exceptions.SQLError."
                   "createCommunicationsException(SQLError.java:174)\nCaused by: javax.net.ssl.SSLHandshakeException: "
                   "PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to "
                   "find valid certification path to requested target")
CERT_CONNECTORJ_VERIFY_CA = ("com.mysql.cj.exceptions.CJCommunicationsException: Communications link failure\n\tat "
                             "com.mysql.cj.protocol.a.NativeProtocol.negotiateSSLConnection(NativeProtocol.java:351)\n"
                             "Caused by: java.security.cert.CertificateException: java.security.cert."
                             "CertPathValidatorException: Path does not chain with any of the trust anchors")
CERT_PGJDBC = ("org.postgresql.util.PSQLException: SSL error: sun.security.validator.ValidatorException: PKIX path "
               "building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid "
               "certification path to requested target")
CERT_NPGSQL = ("Npgsql.NpgsqlException (0x80004005): Exception while performing SSL handshake\n ---> System.Security."
               "Authentication.AuthenticationException: The remote certificate was rejected by the provided "
               "RemoteCertificateValidationCallback.")
CERT_NPGSQL_CONNECTING = ("Npgsql.NpgsqlException (0x80004005): Exception while connecting\n ---> System.Security."
                          "Authentication.AuthenticationException: The remote certificate is invalid according to the "
                          "validation procedure.")
SUPER_READ_ONLY = ("pymysql.err.OperationalError: (1290, 'The MySQL server is running with the --super-read-only "
                   "option so it cannot execute this statement')")
ROLE_LIMIT = ('psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: FATAL:  too many '
              'connections for role "app"')
# lib/pq (Go) prints the server's FATAL bare, "pq: " + its message.
PQ_ROLE_LIMIT = 'pq: too many connections for role "orders"'
PQ_NO_DATABASE = 'pq: database "orders" does not exist'
NO_ENCRYPTION = ('psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: FATAL:  no '
                 'pg_hba.conf entry for host "10.8.0.5", user "app", database "orders", no encryption')
SSL_OFF = ('org.postgresql.util.PSQLException: FATAL: no pg_hba.conf entry for host "10.8.0.5", user "app", database '
           '"orders", SSL off')
ADMIN_SHUTDOWN = ("sqlalchemy.exc.OperationalError: (psycopg2.errors.AdminShutdown) terminating connection due to "
                  "administrator command")
CLOSED = "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) server closed the connection unexpectedly"
REDIS_POOL = "redis.exceptions.MaxConnectionsError: Too many connections"
LINK_FAILURE = "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure"
SQLSERVER_LOGIN = "Microsoft.Data.SqlClient.SqlException (0x80131904): Login failed for user 'sqlserver'."
NPGSQL_POOL = ("Npgsql.NpgsqlException (0x80004005): The connection pool has been exhausted, either raise 'Max Pool "
               "Size' (currently 20) or 'Timeout' (currently 15 seconds) in your connection string.")
# pgjdbc's own words when the server's address refuses the connect, and when an open connection's
# socket breaks under a statement (an HA failover, a restart): nothing answered, not a refusal.
PGJDBC_REFUSED = ("org.postgresql.util.PSQLException: Connection to 10.40.0.7:5432 refused. Check that the hostname "
                  "and port are correct and that the postmaster is accepting TCP/IP connections.")
PGJDBC_IO = "org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend."
# PostgreSQL 14+ while recovery runs (a failover, a crash restart): the server answers 57P03 in these words.
RECOVERING = ('psycopg2.OperationalError: connection to server at "10.40.0.7", port 5432 failed: FATAL:  the database '
              "system is not yet accepting connections\nDETAIL:  Consistent recovery state has not been yet reached.")
# MySQL's own refusal of an unencrypted connection (3159, require_secure_transport ON), as go-sql-driver/mysql prints it.
INSECURE_TRANSPORT = ("Error 3159 (HY000): Connections using insecure transport are prohibited while "
                      "--require_secure_transport=ON.")
# Any other FATAL the server sent, in pgx's and libpq's frames: the server answered.
CONNECT_REVOKED = ("failed to connect to `user=orders database=orders`: 10.40.0.3:5432 (10.40.0.3): server error: FATAL: "
                   'permission denied for database "orders" (SQLSTATE 42501)')
NO_DATABASE = ('psycopg2.OperationalError: connection to server at "10.40.0.3", port 5432 failed: FATAL:  database '
               '"orders" does not exist')
# MySQL's refusal of a login whose password expired (1862), and of each statement in sandbox mode (1820).
PASSWORD_EXPIRED = ("charge 4411: Error 1862 (HY000): Your password has expired. To log in you must change it using a "
                    "client that supports expired passwords.")
SANDBOX_EXPIRED = ("pymysql.err.OperationalError: (1820, 'You must reset your password using ALTER USER statement before "
                   "executing this statement.')")
SECRET_DENIED = ("Error: 7 PERMISSION_DENIED: Permission 'secretmanager.versions.access' denied for resource "
                 "'projects/demo/secrets/db-password/versions/latest' (or it may not exist).")


def quiet(e: Evidence) -> Evidence:
    return (e.connector(max_instances=3).connector_metric("instances", -40, 5, 2)
            .connector_metric("cpu", -40, 5, 0.3).connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1))


def newly_saturated(e: Evidence) -> Evidence:
    """At max instances and CPU-bound since the failures began (news, not a busy evening)."""
    return (e.connector(max_instances=3).connector_metric("instances", -40, -12, 2)
            .connector_metric("instances", -12, 5, 3).connector_metric("cpu", -40, -12, 0.3)
            .connector_metric("cpu", -12, 5, 0.95).connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1))


def serving(e: Evidence, failing: float = 20, code: str = "500", latency: float = 0.4) -> Evidence:
    """One revision for 5 hours; from -12m, `failing` of every 60 requests a minute fail."""
    return (e.revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
            .latency(OLD, -90, -12, 0.2).requests(OLD, -12, 5, failing, code=code).latency(OLD, -12, 5, latency))


def deployed(e: Evidence, at: float = -6, code: str = "500") -> Evidence:
    """NEW took all traffic at `at`; OLD served cleanly before it; NEW fails 60 %."""
    return (e.revision(OLD, -300, sql=(SQL,)).revision(NEW, at, sql=(SQL,)).traffic(**{NEW: 100})
            .requests(OLD, -90, at, 40).latency(OLD, -90, at, 0.2).requests(NEW, at, 5, 14)
            .requests(NEW, at, 5, 20, code=code).latency(NEW, at, 5, 0.5))


def split_lookups(e: Evidence, at: float = -6) -> Evidence:
    """NEW took 20 % of the traffic at `at` and fails 60 % with failed name lookups; OLD, on the same
    path, serves the other 80 % cleanly in the same minutes."""
    return (e.revision(OLD, -300, sql=(SQL,)).revision(NEW, at, sql=(SQL,)).traffic(**{OLD: 80, NEW: 20})
            .requests(OLD, -90, 5, 40).latency(OLD, -90, 5, 0.2).requests(NEW, at, 5, 6)
            .requests(NEW, at, 5, 9, code="500").latency(NEW, at, 5, 0.5)
            .log(-5, "Error: getaddrinfo ENOTFOUND api.carrier-new.example", NEW, count=20))


OTHER_CONNECTOR = "projects/demo/locations/us-central1/connectors/legacy-conn"
PROXY_DIAL = ('failed to connect to instance: Dial error: failed to dial (connection name = "demo:us-central1:main-db"): '
              "dial tcp 10.20.0.3:3307: i/o timeout")


def moved(e: Evidence, old: dict, new: dict, at: float = -6) -> Evidence:
    """As `deployed`, but OLD and NEW reach their VPC as `old` and `new` say (connector, egress,
    network_interfaces): a deploy that changed the network path."""
    return (e.revision(OLD, -300, sql=(SQL,), **old).revision(NEW, at, sql=(SQL,), **new).traffic(**{NEW: 100})
            .requests(OLD, -90, at, 40).latency(OLD, -90, at, 0.2).requests(NEW, at, 5, 14)
            .requests(NEW, at, 5, 20, code="503").latency(NEW, at, 5, 10))


CASES = {
    "connection limit while the connector is newly saturated: the database answered, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, TOO_MANY, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="too many clients"),
    "MySQL connection limit with a 30 s hang at a busy connector": dict(
        build=lambda e: newly_saturated(serving(e, latency=30.1)).log(-5, MYSQL_TOO_MANY, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="too many clients"),
    "dial timeouts and too many clients at a saturated connector: both causes, a person chooses": dict(
        build=lambda e: (newly_saturated(serving(e, code="503", latency=31)).log(-5, DIAL, OLD, count=20)
                         .log(-4, TOO_MANY, OLD, count=20)),
        expect=Signature.INCONCLUSIVE, competing={"connector_saturation", "database_unreachable"},
        names="too many clients"),
    "password rotated on one side, retry storm on the connector": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, AUTH, OLD, count=30),
        expect=Signature.DATABASE_UNREACHABLE, names="password authentication failed"),
    "a MySQL user's password expired (1862) while the connector is newly at max: the database answered, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e)).log(-5, PASSWORD_EXPIRED, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="password expiry"),
    "a MySQL user's password expired, statements refused in sandbox mode (1820), the connector quiet": dict(
        build=lambda e: quiet(serving(e)).log(-5, SANDBOX_EXPIRED, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="password has expired"),
    "the database restarting (maintenance) while pools reconnect through a busy connector": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-2, RESTARTING, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="restarting"),
    "the shared service account lost roles/cloudsql.client": dict(
        build=lambda e: quiet(serving(e)).log(-6, NOT_AUTHORIZED, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="cloudsql.instances.connect"),
    "a read-only instance or a replica: its writes refused": dict(
        build=lambda e: quiet(serving(e)).log(-5, READ_ONLY, OLD, count=30),
        expect=Signature.DATABASE_UNREACHABLE, names="read-only"),
    "a deploy in the minute of a failover that database/up missed: no rollback": dict(
        build=lambda e: (quiet(deployed(e)).log(-4, LOST, NEW, count=10)
                         .log(-4, ABORTED, NEW, count=10, log_id="run.googleapis.com/stdout", severity="DEFAULT")),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a new revision's secret version destroyed under it: configuration, not a rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8, code="503")).log(-6, SECRET_GONE, NEW, count=6, log_id=SYSTEM),
        expect=Signature.STARTUP_CONFIG_FAILURE, names="secret"),
    "the serving revision's secret version disabled: its new instances abort": dict(
        build=lambda e: (quiet(serving(e, failing=12, code="503"))
                         .log(-6, SECRET_GONE.replace("DESTROYED", "DISABLED"), OLD, count=6, log_id=SYSTEM)),
        expect=Signature.STARTUP_CONFIG_FAILURE, names="secret"),
    "Cloud Run's own Cloud SQL connection timing out, the connector quiet: the database's path": dict(
        build=lambda e: quiet(serving(e, latency=10)).log(
            -5, "Cloud SQL connection failed. Please see https://cloud.google.com/sql/docs/postgres/connect-run for "
                "additional details: connection to Cloud SQL instance at 10.20.0.3:3307 failed: timed out after 10s",
            OLD, count=20, log_id=SYSTEM),
        expect=Signature.DATABASE_UNREACHABLE),
    "a failover a minute after a deploy, in MySqlConnector's, Npgsql's and sqlx's words: no rollback": dict(
        build=lambda e: (quiet(deployed(e)).log(-4, MYSQLCONNECTOR, NEW, count=8).log(-4, NPGSQL_CONNECTING, NEW, count=6)
                         .log(-4, SQLX_IO, NEW, count=6)),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "the instance's public IP turned off just after a deploy: every revision's connector asks for it, no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, NO_PUBLIC_IP, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"},
        names="no ip address of the type"),
    "the Java connector finds no public IP, the connector newly saturated: the database's answer, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, NO_PUBLIC_IP_JAVA, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="ipv4enabled"),
    "the database's host name gone from the private DNS zone just after a deploy: no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, NO_SUCH_HOST, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"},
        names="does not resolve"),
    "the database's host name does not resolve, the connector newly saturated: DNS answered, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, NO_SUCH_HOST, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="private zone"),
    "MySQL's per-user connection limit (1203) while the connector is newly at max: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, MYSQL_USER_LIMIT, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="max_user_connections"),
    "the account's MAX_USER_CONNECTIONS resource (1226) while the connector is newly at max: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, MYSQL_USER_RESOURCE, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="connection limit of the database user reached"),
    "the database's CPU pegged: statements cancelled at its timeout while the connector is newly at max: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503", latency=30.1)).log(-5, STATEMENT_TIMEOUT, OLD, count=25),
        expect=Signature.INCONCLUSIVE, names="cancels them at its own timeout"),
    "pgjdbc's query timeout cancelling statements held by a lock, the connector newly at max: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503", latency=30.1)).log(-5, PGJDBC_CANCELLED, OLD, count=25),
        expect=Signature.INCONCLUSIVE, names="the client's cancel request"),
    "lib/pq's context cancelling statements on a slow database while the connector is newly at max: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503", latency=28)).log(-5, LIBPQ_CANCELLED, OLD, count=9),
        expect=Signature.INCONCLUSIVE, names="cancels them at its own timeout"),
    "Connector/J's query timeout (KILL QUERY) while the connector is newly at max: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503", latency=25.1)).log(-5, CONNECTORJ_TIMEOUT, OLD,
                                                                               count=12),
        expect=Signature.INCONCLUSIVE, names="cancels them"),
    "MySQL 1317 for statements a person killed while the connector is newly at max: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503", latency=40)).log(-5, MYSQL_INTERRUPTED, OLD, count=7),
        expect=Signature.INCONCLUSIVE, names="cancels them"),
    "a failover a minute after a deploy, in libpq's SSL words and mysql2's: no rollback": dict(
        build=lambda e: (quiet(deployed(e)).log(-4, SSL_CLOSED, NEW, count=8).log(-4, MYSQL2_LOST, NEW, count=6)),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a failover in psycopg 3's SSL words alone, a minute after a deploy: no rollback": dict(
        build=lambda e: quiet(deployed(e)).log(-4, PSYCOPG3_SSL_CLOSED, NEW, count=12),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a read replica cancelling reads that conflict with recovery while the connector is newly at max: no scale-up, "
    "the replica named": dict(
        build=lambda e: newly_saturated(serving(e, code="503", latency=30.1)).log(-5, REPLICA_CONFLICT, OLD, count=25),
        expect=Signature.INCONCLUSIVE, names="max_standby_streaming_delay"),
    "lock waits beside dial timeouts at a saturated connector: the connector stays the cause": dict(
        build=lambda e: (newly_saturated(serving(e, code="503", latency=31)).log(-5, DIAL, OLD, count=20)
                         .log(-4, LOCK_WAIT, OLD, count=20)),
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "the application's own Secret Manager read refused just after a deploy: configuration, not a rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, SECRET_DENIED, NEW, count=6),
        expect=Signature.STARTUP_CONFIG_FAILURE, names="secret"),
    "the server's certificate not trusted (libpq) while the connector is newly saturated: the database answered, "
    "no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, CERT_LIBPQ, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="server ca"),
    "the server's certificate not trusted (MySQL 2026) while the connector is newly saturated: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, CERT_MYSQL, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="certificate"),
    **{f"the server's certificate not trusted ({stack}) while the connector is newly saturated: the handshake "
       f"reached the server, no scale-up": dict(
           build=lambda e, text=text: newly_saturated(serving(e, code="503")).log(-5, text, OLD, count=25),
           expect=Signature.DATABASE_UNREACHABLE, names="certificate")
       for stack, text in (("PyMySQL 2003", CERT_PYMYSQL), ("Connector/J, the JDK's PKIX", CERT_CONNECTORJ),
                           ("Connector/J, VERIFY_CA", CERT_CONNECTORJ_VERIFY_CA), ("pgjdbc", CERT_PGJDBC),
                           ("Npgsql handshake", CERT_NPGSQL), ("Npgsql connecting", CERT_NPGSQL_CONNECTING))},
    "the server CA rotated under a deploy's minutes, in Connector/J's words: the old revision fails alike, no "
    "rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, CERT_CONNECTORJ, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}, names="certificate"),
    "the server CA rotated just after a deploy: every revision pins the same CA, no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, CERT_LIBPQ, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}, names="certificate"),
    "MySQL's --super-read-only (a replica) while the connector is newly saturated: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, SUPER_READ_ONLY, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="read-only"),
    "a deploy moved the service onto another connector and only it cannot reach the database: roll back": dict(
        build=lambda e: quiet(moved(e, dict(connector=OTHER_CONNECTOR), {})).log(-5, PROXY_DIAL, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a deploy moved the service from a connector to Direct VPC egress and only it cannot reach the database": dict(
        build=lambda e: quiet(moved(e, {}, dict(connector=None, network_interfaces=("default/run-direct",))))
        .log(-5, PROXY_DIAL, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a deploy switched egress to all traffic and only it cannot reach the database: roll back": dict(
        build=lambda e: quiet(moved(e, dict(egress="PRIVATE_RANGES_ONLY"), dict(egress="ALL_TRAFFIC")))
        .log(-5, PROXY_DIAL, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "egress unset and PRIVATE_RANGES_ONLY are one path: the deploy changed nothing on it, both compete": dict(
        build=lambda e: quiet(moved(e, dict(egress=None), dict(egress="PRIVATE_RANGES_ONLY")))
        .log(-5, PROXY_DIAL, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a deploy moved the service to Direct VPC egress in a network the private zone is not visible to: roll back": dict(
        build=lambda e: quiet(moved(e, {}, dict(connector=None, network_interfaces=("apps-vpc/run-direct",))))
        .log(-5, NO_SUCH_HOST, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    # MySQL's 1130 depends on the address connections come from, so on the path as DNS's answer does.
    "a deploy moved the service to Direct VPC egress, a subnet the MySQL account's host does not admit: roll back": dict(
        build=lambda e: quiet(moved(e, {}, dict(connector=None, network_interfaces=("default/run-direct",))))
        .log(-5, HOST_NOT_ALLOWED_PY, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a deploy moved the service onto another connector whose range the MySQL account does not admit: roll back": dict(
        build=lambda e: quiet(moved(e, dict(connector=OTHER_CONNECTOR), {})).log(-5, HOST_NOT_ALLOWED, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "both path-dependent answers from a new revision on a new path: roll back": dict(
        build=lambda e: quiet(moved(e, {}, dict(connector=None, network_interfaces=("apps-vpc/run-direct",))))
        .log(-5, HOST_NOT_ALLOWED, NEW, count=10).log(-5, NO_SUCH_HOST, NEW, count=10),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "the MySQL account's host narrowed just after a deploy on the same path: every revision is refused, no rollback":
    dict(build=lambda e: quiet(deployed(e, at=-8)).log(-6, HOST_NOT_ALLOWED, NEW, count=20),
         expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}, names="host part"),
    "the MySQL account's host not admitted, the connector newly saturated: the server answered, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, HOST_NOT_ALLOWED, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="host part"),
    "a source host not admitted beside a connection limit from a new path: not all the path's, the database competes":
    dict(build=lambda e: quiet(moved(e, dict(connector=OTHER_CONNECTOR), {})).log(-5, HOST_NOT_ALLOWED, NEW, count=20)
         .log(-5, MYSQL_TOO_MANY, NEW, count=20),
         expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    # pg_hba.conf's refusal of an encrypted connection depends on the address, as 1130 does.
    "a deploy moved the service onto another connector whose range pg_hba.conf does not admit: roll back": dict(
        build=lambda e: quiet(moved(e, dict(connector=OTHER_CONNECTOR), {})).log(-5, HBA_ENCRYPTED, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a deploy moved the service to Direct VPC egress, a subnet pg_hba.conf does not admit (SSL on): roll back": dict(
        build=lambda e: quiet(moved(e, {}, dict(connector=None, network_interfaces=("default/run-direct",))))
        .log(-5, HBA_SSL_ON, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "pg_hba.conf narrowed just after a deploy on the same path: every revision is refused, no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, HBA_ENCRYPTED, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}, names="pg_hba.conf"),
    "pg_hba.conf refusing encrypted connections at a newly saturated connector: the server answered, no scale-up":
    dict(build=lambda e: newly_saturated(serving(e, code="503")).log(-5, HBA_ENCRYPTED, OLD, count=20),
         expect=Signature.DATABASE_UNREACHABLE, names="ipcidrrange"),
    # An unencrypted connection refused is SSL enforced: the same on every path, so a new path proves nothing.
    "an unencrypted connection refused by pg_hba.conf from a new revision on a new path: no rollback": dict(
        build=lambda e: quiet(moved(e, dict(connector=OTHER_CONNECTOR), {})).log(-5, NO_ENCRYPTION, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    # PgBouncer's query_wait_timeout is a wait inside the pooler: where it runs (a sidecar dialing through
    # the connector, or a VM past it) is not in the evidence, so neither a refusal nor the connector's.
    "PgBouncer's query_wait_timeout (pgjdbc's FATAL) at a newly saturated connector: no scale-up, no verdict": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, QUERY_WAIT_JAVA, OLD, count=25),
        expect=Signature.INCONCLUSIVE),
    "PgBouncer's query_wait_timeout (psycopg2's closed connection) at a newly saturated connector: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, QUERY_WAIT_PY, OLD, count=25),
        expect=Signature.INCONCLUSIVE),
    "PgBouncer's query_wait_timeout at login (libpq) at a newly saturated connector: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, QUERY_WAIT_LOGIN, OLD, count=25),
        expect=Signature.INCONCLUSIVE),
    "PgBouncer's query_wait_timeout just after a deploy: every revision shares the pooler, no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, QUERY_WAIT_JAVA, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}, names="show pools"),
    "the same in psycopg2's words: no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, QUERY_WAIT_PY, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    # MySQL 1053: the server shutting down (a restart, maintenance, a failover) answered: not the connector.
    "MySQL's server shutdown in progress at a newly saturated connector: the server answered, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, MYSQL_SHUTDOWN, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="restarting"),
    "MySQL's server shutdown in progress just after a deploy: every revision meets it, no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-6)).log(-5, MYSQL_SHUTDOWN, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    # MySqlConnector's pool form of Connect Timeout is a wait for its own pool, not the connector's.
    "MySqlConnector's pool all in use, nothing else: a wait for its own pool, not the database unreachable": dict(
        build=lambda e: quiet(serving(e, latency=15)).log(-5, MYSQLCONNECTOR_POOL, OLD, count=25),
        expect=Signature.INCONCLUSIVE),
    "MySqlConnector's connect timeout with a quiet connector: the path past it": dict(
        build=lambda e: quiet(serving(e, latency=16)).log(-5, MYSQLCONNECTOR_TIMEOUT, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="fail between the connector and the database"),
    "the Python connector cannot reach the Cloud SQL Admin API, the connector quiet: the path past it": dict(
        build=lambda e: quiet(serving(e, latency=10)).log(-5, ADMIN_API_UNREACHED, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE),
    "PgBouncer's max_client_conn while the connector is newly saturated: the pooler answered, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, POOLER_FULL, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="max_client_conn"),
    "PgBouncer's max_client_conn (pgjdbc's FATAL frame) is the pooler's, not the server's own FATAL": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, POOLER_FULL_JAVA, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="connection pooler"),
    "PgBouncer's client limit just after a deploy: every revision connects through the pooler, no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, POOLER_FULL, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a connection limit from a new revision on a new path is not the path's: the database competes": dict(
        build=lambda e: quiet(moved(e, dict(connector=OTHER_CONNECTOR), {})).log(-5, TOO_MANY, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a deploy on the same path beside dial timeouts: the database competes": dict(
        build=lambda e: quiet(moved(e, {}, {})).log(-5, PROXY_DIAL, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "PostgreSQL's per-role CONNECTION LIMIT while the connector is newly saturated: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, ROLE_LIMIT, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="connection limit"),
    "SSL enforced on the instance (no encryption) while the connector is newly saturated: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, NO_ENCRYPTION, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="settings.ipconfiguration.sslmode"),
    "SSL enforced on the instance (pgjdbc, SSL off) while the connector is newly saturated: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, SSL_OFF, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="pg_hba.conf"),
    # Errors that ended before the failures began explain none of them, as database/up's blip does:
    # a restart (Enterprise Plus maintenance keeps database/up at 1) ends every pooled connection.
    "a restart ended every pooled connection 8 minutes before a deploy's failures: the deploy is rolled back": dict(
        build=lambda e: quiet(deployed(e, at=-6)).log(-14, ADMIN_SHUTDOWN, OLD, count=40)
        .log(-14, CLOSED, OLD, count=9),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "the same restart in the deploy's first failing minute: the database competes": dict(
        build=lambda e: quiet(deployed(e, at=-6)).log(-5, ADMIN_SHUTDOWN, NEW, count=40),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "PostgreSQL 14+ recovering after a failover while the connector is newly saturated: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, RECOVERING, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="restarting"),
    "the same recovery with hot standby off, requests hanging at a newly saturated connector: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503", latency=31)).log(
            -5, "FATAL:  the database system is not accepting connections\nDETAIL:  Hot standby mode is disabled.", OLD,
            count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="restarting"),
    "MySQL refusing unencrypted connections while the connector is newly saturated: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, INSECURE_TRANSPORT, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="require_secure_transport"),
    "the same, requests waiting out the application's connect retries at the saturated connector: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503", latency=31)).log(-5, INSECURE_TRANSPORT, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="sslmode"),
    "CONNECT revoked from the role just after a deploy (pgx): every revision connects as it, no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, CONNECT_REVOKED, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}, names="postgres.log"),
    "a database missing (libpq's FATAL) while the connector is newly saturated: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, NO_DATABASE, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names='database "orders" does not exist'),
    # An HA failover under a deploy, as pgjdbc words it: the revision before dials the same address.
    "pgjdbc's refused connects and broken sockets in the deploy's first failing minute: the database competes": dict(
        build=lambda e: quiet(deployed(e, at=-6)).log(-5, PGJDBC_REFUSED, NEW, count=20).log(-5, PGJDBC_IO, NEW, count=12),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "pgjdbc's broken sockets alone under a deploy: the database competes": dict(
        build=lambda e: quiet(deployed(e, at=-6)).log(-5, PGJDBC_IO, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    # redis-py's own pool at max_connections speaks MySQL 1040's words: not the database's refusal.
    "redis-py's MaxConnectionsError at a newly saturated connector, requests hanging: the connector's": dict(
        build=lambda e: newly_saturated(serving(e, latency=30.1)).log(-5, REDIS_POOL, OLD, count=40),
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    # Stacks read since: Java's MySQL driver, SQL Server, .NET's pool.
    "Connector/J's communications link failure with a quiet connector: the path past it": dict(
        build=lambda e: quiet(serving(e, latency=10)).log(-5, LINK_FAILURE, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="fail between the connector and the database"),
    "SQL Server refusing the login while the connector is newly saturated: the database answered, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, SQLSERVER_LOGIN, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="credentials refused"),
    "PostgreSQL's per-role CONNECTION LIMIT: the role's own limit is named, not max_connections alone": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, ROLE_LIMIT, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="rolconnlimit"),
    "lib/pq's per-role CONNECTION LIMIT, printed bare, at a newly saturated connector: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, PQ_ROLE_LIMIT, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="would only bring more connections"),
    "lib/pq: the database the service connects to does not exist, at a newly saturated connector: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, PQ_NO_DATABASE, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="who dropped or renamed one"),
    "Npgsql's pool exhausted, nothing else: a wait for its own pool, not the database unreachable": dict(
        build=lambda e: quiet(serving(e, latency=15)).log(-5, NPGSQL_POOL, OLD, count=25),
        expect=Signature.INCONCLUSIVE),
    # The connector's own case stays its own: dial timeouts, nothing answered.
    # A name lookup failing in the runtime's own words (no driver's): whatever the name, the revision
    # before asks the same resolver on the same path, so a deleted record or a resolver that stops
    # answering fails it too.
    "a new revision's lookups time out (Node) on the path the revision before used: no rollback": dict(
        build=lambda e: quiet(moved(e, {}, {})).log(-5, "Error: getaddrinfo EAI_AGAIN orders-db.db.internal.example",
                                                    NEW, count=20),
        expect=Signature.INCONCLUSIVE, names="name lookups fail"),
    "a new revision's Go lookups find no such host on the same path (go-sql-driver/mysql): no rollback": dict(
        build=lambda e: quiet(moved(e, {}, {})).log(
            -5, "[mysql] 2026/12/02 09:14:03 connector.go:95: dial tcp: lookup orders-db.db.internal.example on "
                "169.254.169.254:53: no such host", NEW, count=20),
        expect=Signature.INCONCLUSIVE, names="name lookups fail"),
    "a new revision's lookups of an API's name fail on the same path (Java): no rollback": dict(
        build=lambda e: quiet(moved(e, {}, {})).log(
            -5, "java.net.UnknownHostException: api.carrier.example: Name or service not known", NEW, count=20),
        expect=Signature.INCONCLUSIVE, names="name lookups fail"),
    "a new revision's lookups fail on a path its deploy changed (Direct VPC egress): roll back": dict(
        build=lambda e: quiet(moved(e, {}, dict(connector=None, network_interfaces=("apps-vpc/run-direct",))))
        .log(-5, "Error: getaddrinfo ENOTFOUND orders-db.db.internal.example", NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a canary's lookups fail while the revision beside it resolves on the same path: its own names, rolled back": dict(
        build=lambda e: quiet(split_lookups(e)), expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a few failed lookups beside a failing new revision are no reason to hold the rollback": dict(
        build=lambda e: quiet(moved(e, {}, {})).log(-5, "Error: getaddrinfo EAI_AGAIN api.carrier.example", NEW,
                                                    count=2),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "dial timeouts alone at a newly saturated connector are still the connector's": dict(
        build=lambda e: newly_saturated(serving(e, code="503", latency=31)).log(-5, DIAL, OLD, count=20),
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_database_and_secret_incidents(case):
    bundle = case["build"](Evidence()).bundle()
    result = diagnose(bundle, S)
    chosen = plan(result, bundle, S)
    assert result.signature is case["expect"], result.summary
    assert chosen.action == case.get("action"), chosen.reason
    if "competing" in case:
        assert set(result.competing) == case["competing"], result.summary
    if "names" in case:
        assert case["names"] in (result.summary + " " + result.recommendation).lower(), result.summary


LEADS = {
    "DNS's no such host alone: the name does not resolve, not the database refusing": dict(
        texts=(NO_SUCH_HOST,), said="host name does not resolve", not_said="the database refuses"),
    "the database's own refusal: the database refuses": dict(
        texts=(TOO_MANY,), said="the database refuses the application", not_said="does not resolve, so"),
    "PgBouncer's client limit alone: the pooler refuses, not the database": dict(
        texts=(POOLER_FULL,), said="refused by the connection pooler", not_said="the database refuses"),
    "both: neither is blamed alone": dict(
        texts=(TOO_MANY, NO_SUCH_HOST), said="the database, or dns for its host name, refuses",
        not_said="the database refuses the application"),
}


@pytest.mark.parametrize("case", LEADS.values(), ids=LEADS.keys())
def test_the_summary_says_who_answered(case):
    e = newly_saturated(serving(Evidence(), code="503"))
    for text in case["texts"]:
        e = e.log(-5, text, OLD, count=20)
    result = diagnose(e.bundle(), S)
    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert case["said"] in result.summary.lower()
    assert case["not_said"] not in result.summary.lower()


def test_the_refusal_is_evidence_against_the_connector():
    """The connector rule says why it stood aside: the database's answers, cited as refuting it."""
    bundle = newly_saturated(serving(Evidence(), code="503")).log(-5, TOO_MANY, OLD, count=25).bundle()
    result = diagnose(bundle, S)
    cited = [e for e in result.evidence if e.about == "database_unreachable" and "refusal" in e.threshold]
    assert cited and cited[0].passed and "25x connection limit" in cited[0].observed
    assert "scaling connector backend-conn would only bring more connections" in result.recommendation


# --- who connects: a deploy that changed the service account, or a role taken from a shared one ------

IAM_USER = 'FATAL: Cloud SQL IAM service account authentication failed for user "orders-v2@demo.iam"'
SHARED, OTHER = "backend@demo.iam.gserviceaccount.com", "backend-v2@demo.iam.gserviceaccount.com"


def redeployed(e: Evidence, old_account: str, new_account: str) -> Evidence:
    """NEW (as `new_account`) took all traffic at -8m from OLD (as `old_account`), and fails 60 %."""
    return (e.revision(OLD, -300, sql=(SQL,), service_account=old_account)
            .revision(NEW, -8, sql=(SQL,), service_account=new_account).traffic(**{NEW: 100})
            .requests(OLD, -90, -8, 40).latency(OLD, -90, -8, 0.2).requests(NEW, -8, 5, 14)
            .requests(NEW, -8, 5, 20, code="500").latency(NEW, -8, 5, 0.3))


PY_BOSS = ("aiohttp.client_exceptions.ClientResponseError: 403, message='boss::NOT_AUTHORIZED: Not authorized to access "
           "resource. Possibly missing permission cloudsql.instances.get on resource instances/main-db.', url='https://"
           "sqladmin.googleapis.com/sql/v1beta4/projects/demo/instances/main-db/connectSettings'")

IDENTITY = {
    "a new revision running as an account without roles/cloudsql.client: the deploy's own, rolled back": dict(
        build=lambda e: quiet(redeployed(e, SHARED, OTHER)).log(
            -6, NOT_AUTHORIZED, NEW, count=20, log_id="run.googleapis.com/stdout", severity="DEFAULT"),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a new revision running as an account that is no IAM database user: rolled back": dict(
        build=lambda e: quiet(redeployed(e, SHARED, OTHER)).log(-6, IAM_USER, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "the shared account lost the role just after a deploy: the old revision would fail too": dict(
        build=lambda e: quiet(redeployed(e, SHARED, SHARED)).log(-6, NOT_AUTHORIZED, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    # The Admin API's own words as the Cloud SQL Python connector passes them on (no "Error 403:").
    "the shared account lost the role just after a deploy (Python connector, the API's words): no rollback": dict(
        build=lambda e: quiet(redeployed(e, SHARED, SHARED)).log(-6, PY_BOSS, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "the shared account lost the role (the short form): no rollback": dict(
        build=lambda e: quiet(redeployed(e, SHARED, SHARED)).log(
            -6, "connect failed: boss::NOT_AUTHORIZED: Possibly missing permission cloudsql.instances.get on resource "
                "instances/main-db", NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
    "a new revision running as an account without roles/cloudsql.client (Python connector): rolled back": dict(
        build=lambda e: quiet(redeployed(e, SHARED, OTHER)).log(-6, PY_BOSS, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a new revision running as an account that may not read the secret it reads itself: rolled back": dict(
        build=lambda e: quiet(redeployed(e, SHARED, OTHER)).log(-6, SECRET_DENIED, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "the shared account lost the secret's binding just after a deploy: configuration, no rollback": dict(
        build=lambda e: quiet(redeployed(e, SHARED, SHARED)).log(-6, SECRET_DENIED, NEW, count=20),
        expect=Signature.STARTUP_CONFIG_FAILURE, names="secret"),
    "a secret version disabled after a deploy that changed the account: refused to every account": dict(
        build=lambda e: quiet(redeployed(e, SHARED, OTHER)).log(
            -6, SECRET_GONE.replace("DESTROYED", "DISABLED"), NEW, count=6, log_id=SYSTEM),
        expect=Signature.STARTUP_CONFIG_FAILURE, names="secret"),
    # A `--no-traffic` preview under another account between them never ran the load: the deploy
    # replaced OLD, which runs as the same account, so the account did not change with it.
    "the shared account lost the secret's binding; a preview in between ran as another: no rollback": dict(
        build=lambda e: quiet(redeployed(e, SHARED, SHARED)).revision(
            "backend-00000-pre", -60, sql=(SQL,), service_account=OTHER).log(-6, SECRET_DENIED, NEW, count=20),
        expect=Signature.STARTUP_CONFIG_FAILURE, names="secret"),
    "a password refusal after a deploy does not depend on the account: a person chooses": dict(
        build=lambda e: quiet(redeployed(e, SHARED, OTHER)).log(-6, AUTH, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing={"bad_revision", "database_unreachable"}),
}


@pytest.mark.parametrize("case", IDENTITY.values(), ids=IDENTITY.keys())
def test_who_connects(case):
    test_database_and_secret_incidents(case)


# --- an alert on the Cloud SQL instance is not cleared by its users' clean requests alone -----------

from shared.diagnosis.evidence import AlertContext   # noqa: E402

SQL_UP_ALERT = AlertContext(policy="main-db is down", metric_type="cloudsql.googleapis.com/database/up",
                            resource_type="cloudsql_database", comparison="COMPARISON_LT", threshold=1,
                            condition_kind="threshold")
CONNECTIONS_ALERT = AlertContext(policy="main-db connections near max",
                                 metric_type="cloudsql.googleapis.com/database/postgresql/num_backends",
                                 resource_type="cloudsql_database", comparison="COMPARISON_GT", threshold=450,
                                 condition_kind="threshold")


def clean_user(e: Evidence) -> Evidence:
    """A user of the instance whose requests stay clean and fast throughout (a cache, a quiet hour)."""
    return quiet(e.revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
                 .latency(OLD, -90, 5, 0.2))


INSTANCE_ALERTS = {
    "database/up still 0 while the users serve cleanly: not healthy, the database is down": dict(
        build=lambda e: clean_user(e).sql_up(-40, -3, 0).sql_up(-3, 5, 0), alert=SQL_UP_ALERT,
        expect=Signature.DATABASE_UNREACHABLE),
    "database/up back at 1 since the incident started, users clean: healthy": dict(
        build=lambda e: clean_user(e).sql_up(-40, -3, 1).sql_up(-3, -1, 0).sql_up(-1, 5, 1), alert=SQL_UP_ALERT,
        expect=Signature.HEALTHY),
    "a connections alert on the instance, users clean: not judged (Runwarden does not read connections)": dict(
        build=lambda e: clean_user(e).sql_up(-40, 5, 1), alert=CONNECTIONS_ALERT,
        expect=Signature.INCONCLUSIVE, names="does not read"),
}


@pytest.mark.parametrize("case", INSTANCE_ALERTS.values(), ids=INSTANCE_ALERTS.keys())
def test_an_alert_on_the_instance(case):
    bundle = case["build"](Evidence()).bundle().model_copy(update={"alert": case["alert"]})
    result = diagnose(bundle, S)
    assert result.signature is case["expect"], result.summary
    assert plan(result, bundle, S).action is None
    if "names" in case:
        assert case["names"] in result.summary, result.summary


@pytest.mark.parametrize("text", [MYSQL_USER_LIMIT, MYSQL_USER_RESOURCE], ids=["1203", "1226"])
def test_mysqls_per_user_limit_is_the_users_not_the_instances(text):
    """MySQL's 1203 and 1226 count the user's own sessions against max_user_connections (or the account's
    MAX_USER_CONNECTIONS), not the server's max_connections (1040): the advice names the user's limit and its
    sessions, says a larger instance or connector does not raise it, and never sends a person to the instance's
    max_connections alone."""
    result = diagnose(newly_saturated(serving(Evidence(), code="503")).log(-5, text, OLD, count=25).bundle(), S)
    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert "connection limit of the database user reached" in result.summary, result.summary
    advice = result.recommendation
    assert "max_user_connections FROM mysql.user" in advice and "information_schema.processlist" in advice, advice
    assert "does not raise a limit per user" in advice, advice
    assert "the instance's max_connections" not in advice and "too many clients" not in result.summary, advice


@pytest.mark.parametrize("limit", [TOO_MANY, ROLE_LIMIT, PQ_ROLE_LIMIT, MYSQL_USER_LIMIT, MYSQL_USER_RESOURCE])
def test_a_deploy_that_raised_max_instances_is_named_at_the_connection_limit(limit):
    """The connection limit (max_connections, or a PostgreSQL role's own CONNECTION LIMIT) right after
    a deploy that raised max instances from 10 to 40: the deploy and the database compete (no rollback
    alone), and the database's finding says what the deploy changed, so a person can weigh sending
    traffic back."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,), max_instances=10).revision(NEW, -8, sql=(SQL,), max_instances=40)
         .traffic(**{NEW: 100}).requests(OLD, -90, -8, 40).latency(OLD, -90, -8, 0.2)
         .requests(NEW, -8, 5, 14).requests(NEW, -8, 5, 20, code="500").latency(NEW, -8, 5, 0.4))
    bundle = quiet(e).log(-6, limit, NEW, count=20).bundle()
    result = diagnose(bundle, S)
    assert set(result.competing) == {"bad_revision", "database_unreachable"}, result.summary
    assert plan(result, bundle, S).action is None
    assert "raised max instances from 10 (backend-00001-abc) to 40" in result.summary, result.summary


def test_an_iam_login_refused_on_a_long_running_revision_names_an_expired_token():
    """The same "IAM ... authentication failed" answers a token past its hour (a manual IAM login
    whose pool reconnects with a cached token): with no deploy, the advice must name it too."""
    bundle = quiet(Evidence().revision(OLD, -600, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
                   .requests(OLD, -10, 5, 20, code="500").latency(OLD, -90, 5, 0.2)).log(-6, IAM_USER, OLD, count=20)
    bundle = bundle.bundle()
    result = diagnose(bundle, S)
    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert plan(result, bundle, S).action is None
    assert "token expired" in result.summary and "valid for one hour" in result.recommendation, result.recommendation


# --- dials to a public address under egress PRIVATE_RANGES_ONLY never cross the connector ----------

PUBLIC_DIAL = ('cloudsqlconn: failed to connect to instance: Dial error: failed to dial (connection name = '
               '"demo:us-central1:main-db"): dial tcp 34.118.20.7:3307: i/o timeout')
PRIVATE_DIAL = PUBLIC_DIAL.replace("34.118.20.7", "10.20.0.3")
PUBLIC_RESET = ("[demo:us-central1:main-db] connection aborted - error reading from instance: read tcp "
                "169.254.8.1:60699->34.118.20.7:3307: read: connection reset by peer")
# A proxy beside the application accepts at once and dials the database itself: its client's timeout
# says nothing of where the proxy's own dial went. A refusal there is another matter (test_never_left.py).
PROXY_LOCAL = 'psycopg2.OperationalError: connection to server at "127.0.0.1", port 5432 failed: timeout expired'
PROXY_DOWN = "dial tcp 127.0.0.1:5432: connect: connection refused"


def egress(e: Evidence, setting: str | None) -> Evidence:
    """One revision for 5 hours with egress `setting`; from -12m a third of requests 503 after 10 s."""
    return (e.revision(OLD, -300, sql=(SQL,), egress=setting).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
            .latency(OLD, -90, -12, 0.2).requests(OLD, -12, 5, 20, code="503").latency(OLD, -12, 5, 10.0))


AROUND = {
    "public dials, PRIVATE_RANGES_ONLY, a connector newly saturated by others: no scale-up": dict(
        build=lambda e: newly_saturated(egress(e, "PRIVATE_RANGES_ONLY")).log(-5, PUBLIC_DIAL, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="does not cross the connector"),
    "public resets (local link-local end) under PRIVATE_RANGES_ONLY: the same": dict(
        build=lambda e: newly_saturated(egress(e, "PRIVATE_RANGES_ONLY")).log(-5, PUBLIC_RESET, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="does not cross the connector"),
    "public dials under ALL_TRAFFIC cross the connector: still its saturation": dict(
        build=lambda e: newly_saturated(egress(e, "ALL_TRAFFIC")).log(-5, PUBLIC_DIAL, OLD, count=20),
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "private dials under PRIVATE_RANGES_ONLY cross it: still its saturation": dict(
        build=lambda e: newly_saturated(egress(e, "PRIVATE_RANGES_ONLY")).log(-5, PRIVATE_DIAL, OLD, count=20),
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "a sidecar on 127.0.0.1 says nothing of the path: still its saturation": dict(
        build=lambda e: newly_saturated(egress(e, "PRIVATE_RANGES_ONLY")).log(-5, PROXY_LOCAL, OLD, count=20),
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    "a dial to 127.0.0.1 refused never left the instance: no scale-up": dict(
        build=lambda e: newly_saturated(egress(e, "PRIVATE_RANGES_ONLY")).log(-5, PROXY_DOWN, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="fail inside its own instances"),
    "public and private dials mixed: some crossed it, still its saturation": dict(
        build=lambda e: (newly_saturated(egress(e, "PRIVATE_RANGES_ONLY")).log(-5, PUBLIC_DIAL, OLD, count=10)
                         .log(-4, PRIVATE_DIAL, OLD, count=10)),
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector"),
    # "If not provided, it defaults to PRIVATE_RANGES_ONLY" (Cloud Run Admin v2 VpcAccess.egress).
    "egress unset is PRIVATE_RANGES_ONLY by the API's default: the same": dict(
        build=lambda e: newly_saturated(egress(e, None)).log(-5, PUBLIC_DIAL, OLD, count=20),
        expect=Signature.DATABASE_UNREACHABLE, names="does not cross the connector"),
}


@pytest.mark.parametrize("case", AROUND.values(), ids=AROUND.keys())
def test_dials_that_never_cross_the_connector(case):
    test_database_and_secret_incidents(case)
