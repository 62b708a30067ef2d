"""What the client side of a connection decides: the authentication method its library can answer, the IP type its
Cloud SQL connector asks for, and whether it verifies the server's certificate.

A server asking for a method the client lacks (SCRAM-SHA-256 before a libpq older than 10, caching_sha2_password
before a MySQL client without the plugin) answered: the path through the connector works, and the escalation names
the authentication method, not the connector or the application's 503 handlers. A deploy that changed the IP type
the connector asks for, or turned certificate verification on where the revision before verified none, brought its
refusals itself: sending traffic back restores the settings that connected. The same settings on both revisions,
or a revision before that verified too (a rotated server CA refuses it alike), compete with the deploy."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import Revision, SecretRef
from shared.diagnosis.ip_type_settings import ip_type_changed, ip_types_asked, refused_ip_type
from shared.diagnosis.log_signals import Refusal, names_another_host, refusal_of
from shared.diagnosis.secret_refs import iam_login_asked, iam_login_changed
from shared.diagnosis.signatures import Signature
from shared.diagnosis.tls_settings import verifies_server
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, long_running, quiet_connector, saturated_connector

S = DiagnosisSettings()

AUTH_METHOD_TEXTS = {
    "libpq 9.6 (maintained), psycopg2": "psycopg2.OperationalError: SCRAM authentication requires libpq version 10 "
                                        "or above",
    "libpq 9.6 (older), numbered": 'connection to server at "10.40.0.3", port 5432 failed: authentication method 10 '
                                   "not supported",
    "pgjdbc before 42.2": "org.postgresql.util.PSQLException: The authentication type 10 is not supported. Check that "
                          "you have configured the pg_hba.conf file to include the client's IP address or subnet, and "
                          "that it is using an authentication scheme supported by the driver.",
    "mysqlclient on MariaDB Connector/C": "MySQLdb.OperationalError: (2059, \"Authentication plugin "
                                          "'caching_sha2_password' cannot be loaded: /usr/lib/x86_64-linux-gnu/"
                                          "mariadb19/plugin/caching_sha2_password.so: cannot open shared object file: "
                                          "No such file or directory\")",
    "node mysql": "Error: ER_NOT_SUPPORTED_AUTH_MODE: Client does not support authentication protocol requested by "
                  "server; consider upgrading MySQL client",
    # go-sql-driver/mysql's ErrUnknownPlugin as Connect returns it, after its retry with the default plugin
    "go-sql-driver/mysql's error, logged by the application": "2026/12/07 11:49:02 mysql ping: this authentication "
                                                              "plugin is not supported",
    "go-sql-driver/mysql's error in JSON": '{"level":"error","msg":"open database","error":"this authentication '
                                           'plugin is not supported"}',
    "go-sql-driver/mysql's error through GORM": "[error] failed to initialize database, got error this "
                                                "authentication plugin is not supported",
    # the same error where a program puts it with no database word: bare after log's date (the Go tutorial's
    # log.Fatal(pingErr)), wrapped, before a retry loop's suffix, after a quoted name, in a line of its own
    "go-sql-driver/mysql's error logged bare": "2026/12/07 11:49:02 this authentication plugin is not supported",
    "go-sql-driver/mysql's error before a retry": "ping failed: this authentication plugin is not supported, "
                                                  "retrying in 2s",
    "go-sql-driver/mysql's error wrapped": "connect: this authentication plugin is not supported",
    "go-sql-driver/mysql's error after a quoted name": "open 'orders': this authentication plugin is not supported",
    "go-sql-driver/mysql's error on a second line": "goroutine 1 [running]:\nconnect: this authentication plugin "
                                                    "is not supported\nexit status 1",
}

CERTIFICATE_TEXTS = {
    "libpq verify-full, host name": 'psycopg2.OperationalError: connection to server at "10.40.0.3", port 5432 failed: '
                                    'server certificate for "shop-prod:orders-db" does not match host name '
                                    '"10.40.0.3"',
    "libpq verify-full, more names": 'connection to server at "10.40.0.3", port 5432 failed: server certificate for '
                                     '"orders-db" (and 1 other name) does not match host name "10.40.0.3"',
    "pgjdbc hostname verifier": "org.postgresql.util.PSQLException: The hostname 10.40.0.3 could not be verified by "
                                "hostnameverifier PgjdbcHostnameVerifier.",
}

NOT_REFUSALS = {
    "an HTTPS client's host name check": "requests.exceptions.SSLError: hostname 'api.partner.example' doesn't match "
                                         "'*.partner.test'",
    "a plugin word in a log": "loaded authentication plugin settings from /etc/app/auth.yaml",
    # go-sql-driver's error words reached by another library: only its logger's line is the database's
    "an SMTP relay's plugin": "smtp: this authentication plugin is not supported by the relay",
    # go-sql-driver's logger line: it retries with its default plugin next (connector.go, Connect), which may connect
    **{f"go-sql-driver/mysql's logger line before its retry ({plugin})":
       "[mysql] 2026/12/07 11:49:02 connector.go:95: could not use requested auth plugin "
       f"'{plugin}': this authentication plugin is not supported"
       for plugin in ("caching_sha2_password", "authentication_ldap_sasl_client", "mysql_clear_password")},
    # the same line through an adapter that joins Print's two operands with Sprintln: a space more
    "go-sql-driver/mysql's logger line through Sprintln": "[mysql] connector.go:95: could not use requested auth "
                                                          "plugin 'mysql_old_password':  this authentication plugin "
                                                          "is not supported",
    "an IMAP client's error": "imap login: this authentication plugin is not supported",
    "an SMTP client's error alone": "smtp send: this authentication plugin is not supported",
    "pgjdbc's number of another method": "PSQLException: The authentication type 12 is not supported",
}


@pytest.mark.parametrize("text", AUTH_METHOD_TEXTS.values(), ids=AUTH_METHOD_TEXTS.keys())
def test_a_client_without_the_servers_authentication_method_is_read_as_such(text):
    assert refusal_of(text) == Refusal.AUTH_METHOD


@pytest.mark.parametrize("text", CERTIFICATE_TEXTS.values(), ids=CERTIFICATE_TEXTS.keys())
def test_a_server_certificate_naming_another_host_is_a_certificate_refusal(text):
    assert refusal_of(text) == Refusal.CERTIFICATE


@pytest.mark.parametrize("text", NOT_REFUSALS.values(), ids=NOT_REFUSALS.keys())
def test_words_of_other_clients_are_no_refusal(text):
    assert not refusal_of(text)


@pytest.mark.parametrize("text", AUTH_METHOD_TEXTS.values(), ids=AUTH_METHOD_TEXTS.keys())
def test_an_authentication_method_refused_beside_a_busy_connector_is_the_databases_not_scaled(text):
    """No deploy in days; another service fills the shared connector: the server answered, so more connector
    capacity changes nothing, and the escalation names the authentication method."""
    bundle = saturated_connector(long_running(Evidence()).requests(OLD, -9, 5, 20, code="503")
                                 .log(-9, text, OLD, count=30)).bundle()
    result = diagnose(bundle, S)
    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert "authentication method" in result.summary, result.summary
    assert plan(result, bundle, S).action is None


NO_IP = ('failed to connect to `user=orders database=orders`: dial error: failed to connect to instance: Config error: '
         'instance does not have IP of type "PRIVATE" (connection name = "p:us-central1:main-db")')
NO_PUBLIC = NO_IP.replace('"PRIVATE"', '"PUBLIC"')
NO_PREFERRED = ("java.lang.IllegalArgumentException: [p:r:i] Cloud SQL instance does not have any IP addresses matching "
                "preferences (PUBLIC, PRIVATE)")
HOST_MISMATCH = CERTIFICATE_TEXTS["libpq verify-full, host name"]
CA_REFUSED = ('psycopg2.OperationalError: connection to server at "10.40.0.3", port 5432 failed: SSL error: '
              "certificate verify failed")
MYSQL_CA = ('MySQLdb.OperationalError: (2026, "SSL connection error: error:1416F086:SSL routines:'
            'tls_process_server_certificate:certificate verify failed")')
PGJDBC_CA_REFUSED = ("org.postgresql.util.PSQLException: SSL error: PKIX path building failed: "
                     "sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification "
                     "path")


def _deploy(old_env, new_env, text, old_secrets=(), new_secrets=(), images=()):
    e = (Evidence().revision(OLD, -180, sql=(SQL,), plain_env=old_env, secrets=old_secrets, images=images)
         .revision(NEW, -10, sql=(SQL,), plain_env=new_env, secrets=new_secrets, images=images).traffic(**{NEW: 100})
         .requests(OLD, -90, -10, 40).requests(NEW, -10, 5, 18).requests(NEW, -10, 5, 27, code="500")
         .latency(OLD, -20, -10, 0.2).latency(NEW, -10, 5, 0.4))
    return quiet_connector(e).log(-9, text, NEW, count=20)


HOST = ("DB_HOST", "10.40.0.3")
IAM_USER = "orders-api@p.iam"
IAM_REFUSED = f'FATAL:  Cloud SQL IAM user authentication failed for user "{IAM_USER}"'
PASSWORD_REFUSED = 'FATAL:  password authentication failed for user "orders"'
GO_HOST = ("failed to connect to `host=10.64.0.2 user=orders database=orders`: failed to write startup message "
           "(tls error: x509: certificate is valid for orders-db.p.sql.goog, not 10.64.0.2)")
PY_HOST = ("connection to 10.40.0.3:5432 failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
           "IP address mismatch, certificate is not valid for '10.40.0.3'. (_ssl.c:1006)")
PASSWORD_REFUSED_IAM_USER = ('psycopg2.OperationalError: connection to server at "10.40.0.3", port 5432 failed: FATAL:  '
                             'password authentication failed for user "orders-api@p.iam"')
ROLLED_BACK = {
    "IP type moved by name": ((("DB_IP_TYPE", "PUBLIC"),), (("DB_IP_TYPE", "PRIVATE"),), NO_IP),
    "private IP switch added": ((HOST,), (HOST, ("PRIVATE_IP", "true")), NO_IP),
    "Auth Proxy flag in a command line": ((("PROXY_ARGS", "--port 5432 p:us-central1:main-db"),),
                                          (("PROXY_ARGS", "--private-ip --port 5432 p:us-central1:main-db"),), NO_IP),
    "verify-full over require": ((HOST, ("DB_SSLMODE", "require")), (HOST, ("DB_SSLMODE", "verify-full")),
                                 HOST_MISMATCH),
    "verify-full over require in a URL, host name": (
        (("DATABASE_URL", "postgresql://orders@10.40.0.3/orders?sslmode=require"),),
        (("DATABASE_URL", "postgresql://orders@10.40.0.3/orders?sslmode=verify-full"),), HOST_MISMATCH),
    "pgjdbc's host name check over require": (
        (("JDBC_URL", "jdbc:postgresql://10.40.0.3/orders?sslmode=require"),),
        (("JDBC_URL", "jdbc:postgresql://10.40.0.3/orders?sslmode=verify-full"),),
        CERTIFICATE_TEXTS["pgjdbc hostname verifier"]),
    "IAM database authentication switched off": (
        (HOST, ("DB_USER", "orders-api@p.iam"), ("DB_IAM_AUTH", "true")), (HOST, ("DB_USER", "orders-api@p.iam")),
        PASSWORD_REFUSED_IAM_USER),
    # Switched on: Cloud SQL refuses, in its IAM words, a built-in user the revision before logged in as with a password.
    "the Auth Proxy's --auto-iam-authn added, a built-in user refused by IAM": (
        (("PROXY_ARGS", "--port 5432 p:us-central1:main-db"),),
        (("PROXY_ARGS", "--auto-iam-authn --port 5432 p:us-central1:main-db"),),
        'FATAL:  Cloud SQL IAM user authentication failed for user "orders"'),
    "DB_IAM_AUTH switched to 0, an IAM user refused": (
        (HOST, ("DB_USER", IAM_USER), ("DB_IAM_AUTH", "1")), (HOST, ("DB_USER", IAM_USER), ("DB_IAM_AUTH", "0")),
        IAM_REFUSED),
    # The host name refused in each driver's words, after require (which checks none) or verify-ca.
    "Go x509 host name, require -> verify-full": ((("DB_SSLMODE", "require"),), (("DB_SSLMODE", "verify-full"),),
                                                  GO_HOST),
    "Python ssl host name (asyncpg), require -> verify-full": (
        (("DATABASE_URL", "postgresql://o@10.40.0.3/o?sslmode=require"),),
        (("DATABASE_URL", "postgresql://o@10.40.0.3/o?sslmode=verify-full"),), PY_HOST),
    "libpq host name, verify-ca -> verify-full": ((("PGSSLMODE", "verify-ca"),), (("PGSSLMODE", "verify-full"),),
                                                  HOST_MISMATCH),
    "libpq host name, require beside a root CA -> verify-full": (
        (("PGSSLMODE", "require"), ("PGSSLROOTCERT", "/certs/ca.pem")),
        (("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", "/certs/ca.pem")), HOST_MISMATCH),
    # pgjdbc's require verifies nothing (NonValidatingTM; root.crt read only at verify-ca and verify-full).
    "pgjdbc chain refused, require -> verify-ca": (
        (("JDBC_URL", "jdbc:postgresql://10.40.0.3/orders?sslmode=require"),),
        (("JDBC_URL", "jdbc:postgresql://10.40.0.3/orders?sslmode=verify-ca"),), PGJDBC_CA_REFUSED),
    "pgjdbc chain refused, require with NonValidatingFactory -> verify-ca": (
        (("JDBC_URL", "jdbc:postgresql://10.40.0.3/orders?sslmode=require"
                      "&sslfactory=org.postgresql.ssl.NonValidatingFactory"),),
        (("JDBC_URL", "jdbc:postgresql://10.40.0.3/orders?sslmode=verify-ca"),), PGJDBC_CA_REFUSED),
    "the connector's enable_iam_auth in JSON options": (
        (("CLOUDSQL_CONNECTOR_OPTS", '{"enable_iam_auth": true}'),),
        (("CLOUDSQL_CONNECTOR_OPTS", '{"enable_iam_auth": false}'),), PASSWORD_REFUSED_IAM_USER),
    "MySQL's DISABLED before": ((("MYSQL_SSL_MODE", "DISABLED"),), (("MYSQL_SSL_MODE", "VERIFY_CA"),), MYSQL_CA),
    "INSTANCE_IP_TYPE": ((("INSTANCE_IP_TYPE", "PUBLIC"),), (("INSTANCE_IP_TYPE", "PRIVATE"),), NO_IP),
    "a database's private IP switch added": ((HOST,), (HOST, ("CLOUD_SQL_USE_PRIVATE_IP", "true")), NO_IP),
    "the Auth Proxy's whole command line before": (
        (("PROXY_CMD", 'exec /cloud-sql-proxy --address "0.0.0.0" --port 5432 "p:us-central1:main-db"'),),
        (("PROXY_CMD", 'exec /cloud-sql-proxy --address "0.0.0.0" --port 5432 "p:us-central1:main-db"'),
         ("DB_IP_TYPE", "PRIVATE")), NO_IP),
    "CLOUD_SQL_IP_TYPE in lower case": ((("CLOUD_SQL_IP_TYPE", "public"),), (("CLOUD_SQL_IP_TYPE", "private"),), NO_IP),
    "the Java connector's ipTypes": ((("JDBC_URL", "jdbc:postgresql:///orders?cloudSqlInstance=p:r:i&ipTypes=PUBLIC"),),
                                     (("JDBC_URL", "jdbc:postgresql:///orders?cloudSqlInstance=p:r:i&ipTypes=PRIVATE"),),
                                     NO_IP),
    "ip_type in a connector's JSON options": ((("CLOUDSQL_CONNECTOR_OPTS", '{"ip_type": "public"}'),),
                                              (("CLOUDSQL_CONNECTOR_OPTS", '{"ip_type": "private"}'),), NO_IP),
    "MySQL ssl-mode in a URL": ((("DATABASE_URL", "mysql://u@10.40.0.3/orders?ssl-mode=REQUIRED"),),
                                (("DATABASE_URL", "mysql://u@10.40.0.3/orders?ssl-mode=VERIFY_CA"),), MYSQL_CA),
    "the Auth Proxy v2 told by its binary": ((("PROXY_CMD", "/cloud-sql-proxy --structured-logs p:r:i"),),
                                             (("PROXY_CMD", "/cloud-sql-proxy --private-ip p:r:i"),), NO_IP),
    "the Auth Proxy v1's -ip_address_types": ((("PROXY_CMD", "/cloud_sql_proxy -ip_address_types=PUBLIC"),),
                                              (("PROXY_CMD", "/cloud_sql_proxy -ip_address_types=PRIVATE"),), NO_IP),
    # A boolean private-IP switch, whatever its name: its off position is the connector's default, public first.
    "USE_PRIVATE_IP added": ((HOST,), (HOST, ("USE_PRIVATE_IP", "true")), NO_IP),
    "private_ip in lower case added": ((HOST,), (HOST, ("private_ip", "1")), NO_IP),
    "DB_USE_PRIVATE_IP added": ((HOST,), (HOST, ("DB_USE_PRIVATE_IP", "yes")), NO_IP),
}
COMPETING = {
    "the same IP type on both": ((("DB_IP_TYPE", "PRIVATE"),), (("DB_IP_TYPE", "PRIVATE"),), NO_IP),
    "another setting changed": (((HOST[0], "10.40.0.3"), ("LOG_LEVEL", "info")),
                                ((HOST[0], "10.40.0.3"), ("LOG_LEVEL", "debug")), NO_IP),
    "the revision before verified too": ((HOST, ("DB_SSLMODE", "verify-ca")), (HOST, ("DB_SSLMODE", "verify-full")),
                                         CA_REFUSED),
    "the same verification on both": ((HOST, ("DB_SSLMODE", "verify-full"), ("A", "1")),
                                      (HOST, ("DB_SSLMODE", "verify-full"), ("A", "2")), HOST_MISMATCH),
    "the revision before's env not read": ((), (HOST, ("DB_SSLMODE", "verify-full")), HOST_MISMATCH),
    # The refusal names the type the revision before asks for: the instance's private IP went away, or the
    # variable is not what the connector reads; the revision before is refused alike.
    "the refused type is the one the revision before asks for": ((("DB_IP_TYPE", "PRIVATE"),),
                                                                 (("DB_IP_TYPE", "PUBLIC"),), NO_IP),
    "the deploy moved toward the type the refusal says exists": ((("DB_IP_TYPE", "PUBLIC"),),
                                                                 (("DB_IP_TYPE", "PRIVATE"),), NO_PUBLIC),
    "the same type in other words": ((("DB_IP_TYPE", "PRIVATE"),), (("DB_IP_TYPE", "IPTypes.PRIVATE"),), NO_IP),
    "a preference list that names no one type": ((("DB_IP_TYPE", "PUBLIC"),), (("DB_IP_TYPE", "PUBLIC,PRIVATE"),),
                                                 NO_PREFERRED),
    "no choice held before": ((HOST,), (HOST, ("DB_IP_TYPE", "PRIVATE")), NO_IP),
    # Another program's options are no Auth Proxy command line, however many `--` options they hold.
    **{f"no choice held before, beside {name}": ((HOST, other), (HOST, other, ("DB_IP_TYPE", "PRIVATE")), NO_IP)
       for name, other in {"GUNICORN_CMD_ARGS": ("GUNICORN_CMD_ARGS", "--workers 2 --threads 8 --timeout 0"),
                           "NODE_OPTIONS": ("NODE_OPTIONS", "--max-old-space-size=1536 --enable-source-maps"),
                           "JAVA_TOOL_OPTIONS": ("JAVA_TOOL_OPTIONS",
                                                 "--add-opens=java.base/java.lang=ALL-UNNAMED --enable-preview"),
                           "APP_ARGS": ("APP_ARGS", "--log-level=info --metrics"),
                           "a list of connection names": ("CLOUDSQL_INSTANCES",
                                                          "shop:us-central1:orders shop:us-central1:users"),
                           "flags of another program and a connection name": ("APP_ARGS",
                                                                              "--workers 2 --db p:r:i")}.items()},
    # The Auth Proxy v2 named, its IP type chosen where the env does not show it: a config file, the proxy's own
    # CSQL_PROXY_* variables, the sidecar's arguments (an image or a repository named, no connection name).
    **{f"no choice held before, the Auth Proxy configured elsewhere ({name})":
       ((HOST, *other), (HOST, *other, ("DB_IP_TYPE", "PRIVATE")), NO_IP)
       for name, other in {
           "--config-file": (("PROXY_CMD", "/cloud-sql-proxy --config-file=/etc/cloud-sql-proxy/config.toml"),),
           "an image name": (("PROXY_IMAGE", "gcr.io/cloud-sql-connectors/cloud-sql-proxy"),),
           "a repository URL": (("PROXY_DOCS", "https://github.com/GoogleCloudPlatform/cloud-sql-proxy"),),
           "CSQL_PROXY_AUTO_IP": (("PROXY_CMD", "/cloud-sql-proxy p:us-central1:main-db"),
                                  ("CSQL_PROXY_AUTO_IP", "true")),
           "a shell variable for the connection name": (("PROXY_CMD", "/cloud-sql-proxy --port 5432 "
                                                                      "${INSTANCE_CONNECTION_NAME}"),)}.items()},
    # Another system's private-IP switch (Memorystore's, Elasticsearch's) says nothing of the database's connector.
    **{f"{switch} added alone": ((HOST,), (HOST, (switch, "true")), NO_IP)
       for switch in ("REDIS_USE_PRIVATE_IP", "ES_PRIVATE_IP")},
    # The Auth Proxy v1's default is "PUBLIC,PRIVATE": no one type.
    "the Auth Proxy v1 without -ip_address_types before": (
        (("PROXY_CMD", "/cloud_sql_proxy -instances=p:r:i=tcp:5432"),),
        (("PROXY_CMD", "/cloud_sql_proxy -instances=p:r:i=tcp:5432 -ip_address_types=PRIVATE"),), NO_IP),
    # A connection name's own query parameters may choose the type for that instance (Auth Proxy v2).
    "a connection name's own parameters before": ((("PROXY_ARGS", "--port 5432 p:r:i?private-ip=true"),),
                                                  (("PROXY_ARGS", "--private-ip --port 5432 p:r:i"),), NO_IP),
    # A private-IP switch beside another choice: which one the code reads is not settled.
    "a private-IP switch added beside another choice": ((HOST,), (HOST, ("USE_PRIVATE_IP", "true"),
                                                                  ("DB_IP_TYPE", "PRIVATE")), NO_IP),
    "a private-IP switch added off": ((HOST,), (HOST, ("USE_PRIVATE_IP", "false")), NO_IP),
    # Addresses, not a choice of type: a NAT's public IP, the instance's private IP, a PSC endpoint's.
    "NAT_PUBLIC_IP changed": ((("DB_IP_TYPE", "PRIVATE"), ("NAT_PUBLIC_IP", "34.1.2.3")),
                              (("DB_IP_TYPE", "PRIVATE"), ("NAT_PUBLIC_IP", "34.1.2.4")), NO_IP),
    "DB_PRIVATE_IP changed": ((("DB_IP_TYPE", "PRIVATE"), ("DB_PRIVATE_IP", "10.40.0.3")),
                              (("DB_IP_TYPE", "PRIVATE"), ("DB_PRIVATE_IP", "10.40.0.5")), NO_IP),
    "a PSC endpoint's address changed": ((("DB_IP_TYPE", "PRIVATE"), ("PSC_ENDPOINT", "10.9.0.2")),
                                         (("DB_IP_TYPE", "PRIVATE"), ("PSC_ENDPOINT", "10.9.0.3")), NO_IP),
    # The revision before verifies by a form other than a verify mode, so a rotated server CA refuses it alike.
    "require and a root certificate before (libpq: verify-ca)": (
        (("PGSSLMODE", "require"), ("PGSSLROOTCERT", "/certs/server-ca.pem")),
        (("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", "/certs/server-ca.pem")), CA_REFUSED),
    "pgjdbc's ssl=true before (verify-full)": (
        (("DATABASE_URL", "jdbc:postgresql://10.40.0.3/orders?ssl=true"),),
        (("DATABASE_URL", "jdbc:postgresql://10.40.0.3/orders?ssl=true&sslmode=verify-ca"),), PGJDBC_CA_REFUSED),
    # pgjdbc with a factory of its own: not LibPQFactory (SocketFactoryFactory.getSslSocketFactory), the JVM's trust
    # store or the application's code verifies the chain at require
    **{f"pgjdbc's require with {factory} before, a chain refused": (
        (("JDBC_URL", f"jdbc:postgresql://10.40.0.3/orders?sslmode=require&sslfactory={factory}"),),
        (("JDBC_URL", "jdbc:postgresql://10.40.0.3/orders?sslmode=verify-ca&sslrootcert=/certs/server-ca.pem"),),
        PGJDBC_CA_REFUSED)
       for factory in ("org.postgresql.ssl.DefaultJavaSSLFactory", "com.example.db.PinnedCaFactory")},
    "MySQL's verify-server-cert flag before": (
        (("MYSQL_SSL_MODE", "REQUIRED"), ("DB_SSL_VERIFY_SERVER_CERT", "true")),
        (("MYSQL_SSL_MODE", "VERIFY_IDENTITY"), ("DB_SSL_VERIFY_SERVER_CERT", "true")), MYSQL_CA),
    "node-postgres's require before (verify-full)": (
        (("NODE_ENV", "production"), ("DATABASE_URL", "postgres://u@10.40.0.3/orders?sslmode=require")),
        (("NODE_ENV", "production"), ("DATABASE_URL", "postgres://u@10.40.0.3/orders?sslmode=verify-full")),
        "database 10.40.0.3:5432 unreachable: Error: unable to verify the first certificate"),
    # libpq's require verifies the chain against a root CA file in the image's home directory (~/.postgresql/root.crt),
    # which no env shows; node-postgres reads require as verify-full with no NODE_* variable set.
    "libpq's require before, a chain refused (a root CA in the home directory)": (
        (("PGSSLMODE", "require"),), (("PGSSLMODE", "verify-ca"),), CA_REFUSED),
    "require in a URL before, a chain refused": (
        (("DATABASE_URL", "postgresql://orders@10.40.0.3/orders?sslmode=require"),),
        (("DATABASE_URL", "postgresql://orders@10.40.0.3/orders?sslmode=verify-ca"),), CA_REFUSED),
    "node-postgres's require before, no NODE_* variable": (
        (("DATABASE_URL", "postgres://u@10.40.0.3/orders?sslmode=require"),),
        (("DATABASE_URL", "postgres://u@10.40.0.3/orders?sslmode=verify-full&sslrootcert=/certs/ca.pem"),),
        "database 10.40.0.3:5432 unreachable: Error: self-signed certificate in certificate chain"),
    "node-postgres's require before, a host name refused": (
        (("NODE_ENV", "production"), ("DATABASE_URL", "postgres://u@10.40.0.3/orders?sslmode=require")),
        (("NODE_ENV", "production"), ("DATABASE_URL", "postgres://u@10.40.0.3/orders?sslmode=verify-full")),
        HOST_MISMATCH),
    # The same IAM switch on both: a role removed, a token expired, a password rotated: not the deploy's doing.
    "the same IAM switch on both": ((HOST, ("DB_IAM_AUTH", "true"), ("A", "1")),
                                    (HOST, ("DB_IAM_AUTH", "true"), ("A", "2")), PASSWORD_REFUSED_IAM_USER),
    # The IAM switch told only by the connectors' own names, read as on or off wherever held; the refusal must follow
    # the switch's direction, or the database side refused it (a role removed, a password rotated).
    "IAM_AUTH_AUDIENCE changed (no switch), a password refused": (
        (HOST, ("IAM_AUTH_AUDIENCE", "/projects/1/global/backendServices/2")),
        (HOST, ("IAM_AUTH_AUDIENCE", "/projects/1/global/backendServices/3")), PASSWORD_REFUSED),
    "PUBSUB_IAM_AUTH_SCOPES changed (no switch), an IAM user refused": (
        (HOST, ("DB_USER", IAM_USER), ("PUBSUB_IAM_AUTH_SCOPES", "pubsub")),
        (HOST, ("DB_USER", IAM_USER), ("PUBSUB_IAM_AUTH_SCOPES", "pubsub,cloud-platform")), IAM_REFUSED),
    # A switch still on under a name no connector documents (renamed): not read as turned off, whoever removed a role.
    "DB_IAM_AUTH renamed DB_IAM_AUTH_ENABLED, an IAM user refused": (
        (HOST, ("DB_USER", IAM_USER), ("DB_IAM_AUTH", "true")),
        (HOST, ("DB_USER", IAM_USER), ("DB_IAM_AUTH_ENABLED", "true")), IAM_REFUSED),
    "ENABLE_IAM_AUTH renamed CLOUD_SQL_USE_IAM, an IAM user refused": (
        (HOST, ("DB_USER", IAM_USER), ("ENABLE_IAM_AUTH", "true")),
        (HOST, ("DB_USER", IAM_USER), ("CLOUD_SQL_USE_IAM", "true")), IAM_REFUSED),
    "USE_IAM_AUTH renamed IAM_AUTH_ENABLED, a password refused for the IAM user": (
        (HOST, ("DB_USER", IAM_USER), ("USE_IAM_AUTH", "1")),
        (HOST, ("DB_USER", IAM_USER), ("IAM_AUTH_ENABLED", "1")), PASSWORD_REFUSED_IAM_USER),
    "DB_IAM_AUTH true -> 1": ((HOST, ("DB_USER", IAM_USER), ("DB_IAM_AUTH", "true")),
                              (HOST, ("DB_USER", IAM_USER), ("DB_IAM_AUTH", "1")), IAM_REFUSED),
    "--auto-iam-authn -> --auto-iam-authn=true": ((("PROXY_ARGS", "--auto-iam-authn p:r:i"),),
                                                  (("PROXY_ARGS", "--auto-iam-authn=true p:r:i"),), IAM_REFUSED),
    "--auto-iam-authn -> -i (the Auth Proxy v2's shorthand)": (
        (("PROXY_ARGS", "--auto-iam-authn --port 5432 p:r:i"),), (("PROXY_ARGS", "-i --port 5432 p:r:i"),),
        IAM_REFUSED),
    "DB_IAM_AUTH=true added for an IAM user already logging in": (
        (HOST, ("DB_USER", IAM_USER)), (HOST, ("DB_USER", IAM_USER), ("DB_IAM_AUTH", "true")), IAM_REFUSED),
    # Built-in users keep logging in with their password beside --auto-iam-authn (cloud-sql-proxy issues #2465, #1819).
    "--auto-iam-authn added, a built-in user's password refused": (
        (("PROXY_ARGS", "--port 5432 p:us-central1:main-db"),),
        (("PROXY_ARGS", "--auto-iam-authn --port 5432 p:us-central1:main-db"),), PASSWORD_REFUSED),
    "enableIamAuth moved from a secret DSN into a plain JDBC_URL": (
        (("LOG_LEVEL", "info"),),
        (("LOG_LEVEL", "info"), ("JDBC_URL", "jdbc:postgresql:///o?cloudSqlInstance=p:r:i&enableIamAuth=true")),
        IAM_REFUSED, (SecretRef(env="DATABASE_URL", secret="orders-dsn", version="3"),), ()),
    "no TLS setting before (a default, or the code's own)": ((HOST,), (HOST, ("DB_SSLMODE", "verify-full")),
                                                              CA_REFUSED),
    # A secret's value is never read: what it holds may verify, or be the very IP type the plain env now holds.
    "the revision before verifies through a secret DSN": (
        (("LOG_LEVEL", "info"),), (("LOG_LEVEL", "info"), ("PGSSLROOTCERT", "/certs/server-ca.pem")), CA_REFUSED,
        (SecretRef(env="DATABASE_URL", secret="orders-dsn", version="3"),),
        (SecretRef(env="DATABASE_URL", secret="orders-dsn", version="3"),)),
    "the IP type moved from a secret into the plain env": (
        (("LOG_LEVEL", "info"),), (("LOG_LEVEL", "info"), ("DB_IP_TYPE", "PRIVATE")), NO_IP,
        (SecretRef(env="DB_IP_TYPE", secret="db-ip-type", version="1"),), ()),
    "the TLS mode moved from a secret into the plain env": (
        (HOST,), (HOST, ("PGSSLMODE", "verify-full")), "psycopg2.OperationalError: connection to server at "
        '"10.40.0.3", port 5432 failed: server does not support SSL, but SSL was required',
        (SecretRef(env="PGSSLMODE", secret="pg-sslmode", version="2"),), ()),
}


@pytest.mark.parametrize("old_env,new_env,text", ROLLED_BACK.values(), ids=ROLLED_BACK.keys())
def test_a_deploy_that_changed_the_clients_own_setting_is_rolled_back(old_env, new_env, text):
    bundle = _deploy(old_env, new_env, text).bundle()
    result = diagnose(bundle, S)
    assert result.signature is Signature.BAD_REVISION, result.summary
    assert plan(result, bundle, S).action == "rollback_traffic"


@pytest.mark.parametrize("row", COMPETING.values(), ids=COMPETING.keys())
def test_a_deploy_that_changed_no_such_setting_competes_with_the_refusal(row):
    bundle = _deploy(*row).bundle()
    result = diagnose(bundle, S)
    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert set(result.competing) == {"bad_revision", "database_unreachable"}, result.summary
    assert plan(result, bundle, S).action is None


AUTH_PROXY_IMAGES = {"v2": ("us-docker.pkg.dev/p/app/orders:1", "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1"),
                     "v1": ("us-docker.pkg.dev/p/app/orders:1", "gcr.io/cloudsql-docker/gce-proxy:1.33.2")}


@pytest.mark.parametrize("images", AUTH_PROXY_IMAGES.values(), ids=AUTH_PROXY_IMAGES.keys())
def test_an_iam_switch_removed_beside_an_auth_proxy_sidecar_competes(images):
    """The sidecar's args, which may hold --auto-iam-authn, are not read (shared/gcp/run.py `_plain_env`): OFF
    cannot be told, so a refusal after DB_IAM_AUTH was dropped may be a role removed."""
    bundle = _deploy((HOST, ("DB_USER", IAM_USER), ("DB_IAM_AUTH", "true")), (HOST, ("DB_USER", IAM_USER)),
                     PASSWORD_REFUSED_IAM_USER, images=images).bundle()
    result = diagnose(bundle, S)
    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert plan(result, bundle, S).action is None


@pytest.mark.parametrize("env,asked", [
    ((HOST,), "off"),
    ((HOST, ("DB_IAM_AUTH", "true")), "on"),
    ((HOST, ("DB_IAM_AUTH_ENABLED", "true")), None),
    ((HOST, ("CLOUD_SQL_USE_IAM", "true")), None),
    ((HOST, ("IAM_AUTH_ENABLED", "1")), None),
    ((HOST, ("useIamLogin", "yes")), None),
    ((HOST, ("DB_IAM_AUTH", "false"), ("DB_IAM_AUTH_ENABLED", "true")), None),
    # IAM among the words, but no boolean: an audience, scopes; a word that only contains the letters
    ((HOST, ("IAM_AUTH_AUDIENCE", "/projects/1/global/backendServices/2")), "off"),
    ((HOST, ("PUBSUB_IAM_AUTH_SCOPES", "pubsub")), "off"),
    ((HOST, ("DIAMETER_ENABLED", "true")), "off"),
])
def test_iam_login_asked_is_unknown_beside_a_switch_of_an_unknown_name(env, asked):
    assert iam_login_asked(_rev(*env)) == asked


def test_iam_login_off_is_unknown_beside_an_auth_proxy_container():
    revision = _rev(HOST).model_copy(update={"images": AUTH_PROXY_IMAGES["v2"]})
    assert iam_login_asked(revision) is None
    assert iam_login_asked(revision.model_copy(update={"images": AUTH_PROXY_IMAGES["v2"][:1]})) == "off"


def _rev(*env: tuple[str, str]) -> Revision:
    return Revision(name="s/revisions/r", service="s", create_time=datetime(2026, 12, 7, tzinfo=timezone.utc),
                    plain_env=env)


@pytest.mark.parametrize("before,after,changed", [
    ((("DB_IP_TYPE", "PUBLIC"),), (("DB_IP_TYPE", "private"),), ["plain env DB_IP_TYPE"]),
    ((("DB_IP_TYPE", "PRIVATE"),), (("DB_IP_TYPE", "private "),), []),
    ((("A", "1"),), (("A", "1"), ("USE_PSC", "1")), ["plain env USE_PSC (added)"]),
    ((("ZIP_TYPE", "a"),), (("ZIP_TYPE", "b"),), []),
    ((("SKIP_TYPES", "a"),), (("SKIP_TYPES", "b"),), []),
    ((("URL", "jdbc:x?ipTypes=PUBLIC"),), (("URL", "jdbc:x?ipTypes=PRIVATE"),), ["iptypes in the plain env URL"]),
    ((("ARGS", "--private-ip p:r:i"),), (("ARGS", "p:r:i"),), ["--private-ip in the plain env ARGS (removed)"]),
    ((("ARGS", "--private-ip p:r:i"),), (("ARGS", "--private-ip=false p:r:i"),), ["--private-ip in the plain env ARGS"]),
    ((), (("DB_IP_TYPE", "PRIVATE"),), []),
    # addresses, not a choice of type
    ((("DB_PRIVATE_IP", "10.40.0.3"),), (("DB_PRIVATE_IP", "10.40.0.5"),), []),
    ((("NAT_PUBLIC_IP", "34.1.2.3"),), (("NAT_PUBLIC_IP", "34.1.2.4"),), []),
    ((("PSC_ENDPOINT", "10.9.0.2"),), (("PSC_ENDPOINT", "10.9.0.3"),), []),
    ((("CLOUDSQL_OPTS", '{"ip_type": "public"}'),), (("CLOUDSQL_OPTS", '{"ip_type": "private"}'),),
     ["ip_type in the plain env CLOUDSQL_OPTS"]),
])
def test_ip_type_changed_reads_the_choice_by_name(before, after, changed):
    assert ip_type_changed(_rev(*before), _rev(*after)) == changed


@pytest.mark.parametrize("before,after,asked", [
    # the Auth Proxy v2 by its binary or by its own flags beside a connection name: public by its default
    ((("CMD", "cloud-sql-proxy p:r:i"),), (("CMD", "cloud-sql-proxy --private-ip p:r:i"),), ("PUBLIC", "PRIVATE")),
    ((("ARGS", "--port=5432 --structured-logs p:r:i"),), (("ARGS", "--psc p:r:i"),), ("PUBLIC", "PSC")),
    # another program's options, or the Auth Proxy v1's default list: no one type
    ((("GUNICORN_CMD_ARGS", "--workers 2 --threads 8 --timeout 0"),), (("DB_IP_TYPE", "PRIVATE"),), (None, "PRIVATE")),
    ((("ARGS", "--port 5432 --workers 2 p:r:i"),), (("DB_IP_TYPE", "PRIVATE"),), (None, "PRIVATE")),
    ((("CMD", "cloud_sql_proxy -instances=p:r:i=tcp:5432"),), (("DB_IP_TYPE", "PRIVATE"),), (None, "PRIVATE")),
    ((("CMD", "cloud_sql_proxy --ip_address_types=PRIVATE"),), (("DB_IP_TYPE", "PUBLIC"),), ("PRIVATE", "PUBLIC")),
    # a boolean private-IP switch for the database alone: its absence is the connector's default
    ((("A", "1"),), (("USE_PRIVATE_IP", "true"),), ("PUBLIC", "PRIVATE")),
    ((("A", "1"),), (("private_ip", "on"),), ("PUBLIC", "PRIVATE")),
    ((("A", "1"),), (("PRIVATE_IP", "false"),), (None, None)),
    ((("A", "1"),), (("USE_PRIVATE_IP", "true"), ("DB_IP_TYPE", "PRIVATE")), (None, "PRIVATE")),
    ((("A", "1"),), (("DB_PRIVATE_IP", "10.40.0.3"),), (None, None)),
    # ... only a switch that points at the database: another system's says nothing of it
    ((("A", "1"),), (("PG_PRIVATE_IP", "true"),), ("PUBLIC", "PRIVATE")),
    ((("A", "1"),), (("REDIS_USE_PRIVATE_IP", "true"),), (None, "PRIVATE")),
    ((("A", "1"),), (("ES_PRIVATE_IP", "true"),), (None, "PRIVATE")),
    # v2's boolean flags read by their value after "="; a word after a space is a positional argument (pflag)
    ((("A", "1"),), (("CMD", "cloud-sql-proxy --private-ip=false p:r:i"),), (None, None)),
    ((("A", "1"),), (("CMD", "cloud-sql-proxy --private-ip=true p:r:i"),), (None, "PRIVATE")),
    ((("A", "1"),), (("CMD", "cloud-sql-proxy --private-ip false p:r:i"),), (None, "PRIVATE")),
    ((("CMD", "cloud-sql-proxy --psc=0 p:r:i"),), (("CMD", "cloud-sql-proxy --psc=T p:r:i"),), (None, "PSC")),
    # the proxy's whole command line only: the binary alone, a config file, a word of no flag, its CSQL_PROXY_* env
    ((("CMD", "/cloud-sql-proxy"),), (("DB_IP_TYPE", "PRIVATE"),), (None, "PRIVATE")),
    ((("CMD", "/cloud-sql-proxy --config-file=/etc/p.yaml p:r:i"),), (("DB_IP_TYPE", "PRIVATE"),), (None, "PRIVATE")),
    ((("CMD", "/cloud-sql-proxy --port 5432 p:r:i extra"),), (("DB_IP_TYPE", "PRIVATE"),), (None, "PRIVATE")),
    ((("CMD", "/cloud-sql-proxy -p 5432 p:r:i"),), (("DB_IP_TYPE", "PRIVATE"),), (None, "PRIVATE")),
    ((("CMD", "/cloud-sql-proxy p:r:i"), ("CSQL_PROXY_PORT", "5432")), (("DB_IP_TYPE", "PRIVATE"),),
     (None, "PRIVATE")),
    ((("CMD", "/cloud-sql-proxy --quiet p:r:i p:r:j"),), (("DB_IP_TYPE", "PRIVATE"),), ("PUBLIC", "PRIVATE")),
])
def test_ip_types_asked_reads_the_proxy_by_its_own_words_and_a_switch_by_its_class(before, after, asked):
    assert ip_types_asked(_rev(*before), _rev(*after)) == asked


def test_a_setting_moved_from_a_secret_into_the_plain_env_is_no_change():
    before = _rev(("LOG_LEVEL", "info")).model_copy(
        update={"secrets": (SecretRef(env="DB_IP_TYPE", secret="db-ip-type", version="1"),)})
    assert ip_type_changed(before, _rev(("LOG_LEVEL", "info"), ("DB_IP_TYPE", "PRIVATE"))) == []


@pytest.mark.parametrize("text,named", [
    (NO_IP, "PRIVATE"),
    (NO_PUBLIC, "PUBLIC"),
    ("java.lang.IllegalArgumentException: [p:r:i] Cloud SQL instance does not have any IP addresses matching "
     "preferences (PRIVATE)", "PRIVATE"),
    (NO_PREFERRED, None),
    ("CloudSQLIPTypeError: Cloud SQL instance does not have any IP addresses matching preference: PRIMARY", "PUBLIC"),
    ("CloudSQLConnectorError: Cannot connect to instance, private Ip address not found", "PRIVATE"),
    ("CloudSQLConnectorError: Cannot connect to instance, PSC address not found", "PSC"),
    ("CloudSQLConnectorError: Cannot connect to instance, it has no supported IP addresses", None),
])
def test_refused_ip_type_reads_the_type_the_refusal_names(text, named):
    assert refused_ip_type(text) == named


@pytest.mark.parametrize("env,verifies", [
    # libpq's require says nothing of the chain (a root CA file the image may hold in its home directory)
    ((("DB_SSLMODE", "require"),), None),
    ((("DB_SSLMODE", "disable"),), False),
    ((("MYSQL_SSL_MODE", "REQUIRED"),), False),
    ((("DB_SSLMODE", "verify-full"),), True),
    ((("DATABASE_URL", "postgresql://u@h/d?sslmode=verify-ca"),), True),
    ((("MYSQL_SSL_MODE", "VERIFY_IDENTITY"),), True),
    # No setting says: a library's default or the code's own (node-postgres's `ssl: true` verifies)
    ((("DB_HOST", "10.40.0.3"),), None),
    ((("DB_SSL", "true"),), None),
    ((), None),
    # node-postgres's no-verify, and a verify flag off, verify nothing
    ((("DATABASE_URL", "postgres://u@10.40.0.3/orders?sslmode=no-verify"),), False),
    ((("DB_SSL_VERIFY", "false"), ("DB_SSL", "true")), False),
    # MySQL's --ssl-verify-server-cert and Connector/J's verifyServerCertificate
    ((("MYSQL_SSL_MODE", "REQUIRED"), ("DB_SSL_VERIFY_SERVER_CERT", "true")), True),
    ((("JDBC_URL", "jdbc:mysql://10.40.0.3/orders?sslMode=REQUIRED&verifyServerCertificate=true"),), True),
    # libpq's require with a root CA file is verify-ca
    ((("PGSSLMODE", "require"), ("PGSSLROOTCERT", "/certs/server-ca.pem")), True),
    ((("DATABASE_URL", "postgresql://u@10.40.0.3/orders?sslmode=require&sslrootcert=/certs/ca.pem"),), True),
    # pgjdbc's ssl=true alone is verify-full; libpq reads ssl=true as require
    ((("DATABASE_URL", "jdbc:postgresql://10.40.0.3/orders?ssl=true"),), True),
    # pgjdbc's require verifies nothing (LibPQFactory's NonValidatingTM below verify-ca)
    ((("DATABASE_URL", "jdbc:postgresql://10.40.0.3/orders?ssl=true&sslmode=require"),), False),
    ((("JDBC_URL", "jdbc:postgresql://10.40.0.3/orders?sslmode=prefer"),), False),
    ((("DATABASE_URL", "postgresql://u@10.40.0.3/orders?ssl=true"),), None),
    # a factory other than LibPQFactory decides alone; NonValidatingFactory trusts every certificate
    ((("JDBC_URL", "jdbc:postgresql://10.40.0.3/orders?sslmode=require"
                   "&sslfactory=org.postgresql.ssl.DefaultJavaSSLFactory"),), None),
    ((("JDBC_URL", "jdbc:postgresql://10.40.0.3/orders?sslfactory=com.example.db.PinnedCaFactory&sslmode=prefer"),),
     None),
    ((("JDBC_URL", "jdbc:postgresql://10.40.0.3/orders?sslmode=require"
                   "&sslfactory=org.postgresql.ssl.NonValidatingFactory"),), False),
    ((("JDBC_URL", "jdbc:postgresql://10.40.0.3/orders?sslmode=require&sslfactory=org.postgresql.ssl.LibPQFactory"),),
     False),
    # node-postgres reads require as verify-full: a Node.js revision's require says nothing of verification
    ((("NODE_ENV", "production"), ("DATABASE_URL", "postgres://u@10.40.0.3/orders?sslmode=require")), None),
    ((("NODE_ENV", "production"), ("PGSSLMODE", "prefer")), None),
    ((("NODE_ENV", "production"), ("PGSSLMODE", "disable")), False),
])
def test_verifies_server_reads_a_verify_mode(env, verifies):
    assert verifies_server(_rev(*env)) is verifies


@pytest.mark.parametrize("env,checks", [
    # libpq's and pgjdbc's require, prefer and allow check no host name, whatever root CA file is found
    ((("DB_SSLMODE", "require"),), False),
    ((("PGSSLMODE", "prefer"),), False),
    ((("DATABASE_URL", "jdbc:postgresql://10.40.0.3/orders?ssl=true&sslmode=require"),), False),
    ((("DB_SSLMODE", "verify-full"),), True),
    # verify-ca, and require beside a root CA (libpq's verify-ca), check the chain, never the host name
    ((("PGSSLMODE", "verify-ca"),), False),
    ((("PGSSLMODE", "require"), ("PGSSLROOTCERT", "/certs/ca.pem")), False),
    ((("MYSQL_SSL_MODE", "VERIFY_IDENTITY"),), True),
    # node-postgres reads require and prefer as verify-full
    ((("NODE_ENV", "production"), ("DATABASE_URL", "postgres://u@10.40.0.3/orders?sslmode=require")), None),
    ((("NODE_OPTIONS", "--max-old-space-size=512"), ("PGSSLMODE", "prefer")), None),
    ((("DB_HOST", "10.40.0.3"),), None),
])
def test_verifies_server_asked_of_the_host_name_only(env, checks):
    assert verifies_server(_rev(*env), host_name=True) is checks


@pytest.mark.parametrize("secret", [SecretRef(env="DATABASE_URL", secret="orders-dsn", version="3"),
                                    SecretRef(volume="config", secret="orders-config", version="2")])
def test_verifies_server_is_unknown_beside_a_secret_that_may_hold_tls_settings(secret):
    revision = _rev(("PGSSLMODE", "require")).model_copy(update={"secrets": (secret,)})
    assert verifies_server(revision) is None


@pytest.mark.parametrize("before,after,changed", [
    ((("DB_IAM_AUTH", "true"),), (("DB_IAM_AUTH", "false"),), ["plain env DB_IAM_AUTH"]),
    ((("DB_IAM_AUTH", "true"), HOST), (HOST,), ["plain env DB_IAM_AUTH (removed)"]),
    ((("PROXY_ARGS", "--port 5432 p:r:i"),), (("PROXY_ARGS", "--auto-iam-authn --port 5432 p:r:i"),),
     ["auto-iam-authn in the plain env PROXY_ARGS (added)"]),
    ((("CONNECTOR_OPTS", '{"enable_iam_auth": true}'),), (("CONNECTOR_OPTS", '{"enable_iam_auth": false}'),),
     ["enable_iam_auth in the plain env CONNECTOR_OPTS"]),
    ((("JDBC_URL", "jdbc:postgresql:///o?cloudSqlInstance=p:r:i&enableIamAuth=true"),),
     (("JDBC_URL", "jdbc:postgresql:///o?cloudSqlInstance=p:r:i&enableIamAuth=true&ssl=false"),), []),
    ((("DB_IAM_AUTH", "true"), ("LOG_LEVEL", "info")), (("DB_IAM_AUTH", "true"), ("LOG_LEVEL", "debug")), []),
    ((), (("DB_IAM_AUTH", "true"),), []),
    # the same meaning spelt differently; names that only contain the words
    ((("DB_IAM_AUTH", "true"),), (("DB_IAM_AUTH", "1"),), []),
    ((("PROXY_ARGS", "--auto-iam-authn p:r:i"),), (("PROXY_ARGS", "-i p:r:i"),), []),
    ((("APP_ARGS", "-i input.txt"),), (("APP_ARGS", "-i input.txt"), ("DB_IAM_AUTH", "false")), []),
    ((("APP_ARGS", "--port 8080 -i"),), (("APP_ARGS", "--port 8080"),), []),
    ((("IAM_AUTH_AUDIENCE", "a"),), (("IAM_AUTH_AUDIENCE", "b"),), []),
    ((("A", "1"),), (("CSQL_PROXY_AUTO_IAM_AUTHN", "true"),), ["plain env CSQL_PROXY_AUTO_IAM_AUTHN (added)"]),
    ((("A", "1"),), (("PROXY_CMD", "/cloud_sql_proxy -enable_iam_login -instances=p:r:i=tcp:5432"),),
     ["enable_iam_login in the plain env PROXY_CMD (added)"]),
    ((("A", "1"),), (("CONNECTOR_OPTS", "{authType: 'IAM'}"),), ["authtype in the plain env CONNECTOR_OPTS (added)"]),
    # a value of another meaning is unknown
    ((("DB_IAM_AUTH", "true"),), (("DB_IAM_AUTH", "${IAM}"),), []),
])
def test_iam_login_changed_reads_the_switch_by_name(before, after, changed):
    assert iam_login_changed(_rev(*before), _rev(*after)) == changed


def test_a_password_secret_leaves_the_tls_settings_readable():
    revision = _rev(("PGSSLMODE", "disable")).model_copy(
        update={"secrets": (SecretRef(env="DB_PASSWORD", secret="orders-password", version="3"),)})
    assert verifies_server(revision) is False


def _canary(old_env, new_env, text):
    """A canary at 5% beside a stable revision that is refused the same way."""
    e = (Evidence().revision(OLD, -180, sql=(SQL,), plain_env=old_env)
         .revision(NEW, -10, sql=(SQL,), plain_env=new_env).traffic(**{OLD: 95, NEW: 5})
         .requests(OLD, -90, 5, 40).requests(NEW, -10, 5, 2).requests(NEW, -10, 5, 3, code="500")
         .latency(OLD, -20, 5, 0.2).latency(NEW, -10, 5, 0.4)
         .requests(OLD, -10, 5, 30, code="500").log(-9, text, OLD, count=20))
    return quiet_connector(e).log(-9, text, NEW, count=5).bundle()


SETTINGS_CHANGES = {"IP type": ((("DB_IP_TYPE", "PUBLIC"),), (("DB_IP_TYPE", "PRIVATE"),), NO_IP),
                    "sslmode": ((("PGSSLMODE", "require"),), (("PGSSLMODE", "verify-full"),), CA_REFUSED)}


@pytest.mark.parametrize("old_env,new_env,text", SETTINGS_CHANGES.values(), ids=SETTINGS_CHANGES.keys())
def test_a_canary_beside_a_stable_refused_alike_is_not_rolled_back(old_env, new_env, text):
    bundle = _canary(old_env, new_env, text)
    assert plan(diagnose(bundle, S), bundle, S).action != "rollback_traffic"


OTHER_REFUSALS = {"a password refused": 'FATAL:  password authentication failed for user "orders"',
                  "the instance down": 'psycopg2.OperationalError: connection to server at "10.40.0.3", port 5432 '
                                       "failed: Connection refused\n\tIs the server running on that host and accepting "
                                       "TCP/IP connections?"}


@pytest.mark.parametrize("text", OTHER_REFUSALS.values(), ids=OTHER_REFUSALS.keys())
@pytest.mark.parametrize("old_env,new_env", [row[:2] for row in SETTINGS_CHANGES.values()], ids=SETTINGS_CHANGES.keys())
def test_another_refusal_is_not_read_as_the_settings_change(old_env, new_env, text):
    result = diagnose(_deploy(old_env, new_env, text).bundle(), S)
    assert "IP type" not in result.summary and "TLS refusals all come" not in result.summary, result.summary


@pytest.mark.parametrize("text,names", [
    (HOST_MISMATCH, True), (CERTIFICATE_TEXTS["pgjdbc hostname verifier"], True), (GO_HOST, True), (PY_HOST, True),
    ("x509: cannot validate certificate for 10.40.0.3 because it doesn't contain any IP SANs", True),
    ("Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 10.40.0.3 is not "
     "in the cert's list: ", True),
    ("certificate verify failed: Hostname mismatch, certificate is not valid for 'db.internal'", True),
    (CA_REFUSED, False), (PGJDBC_CA_REFUSED, False),
    ("x509: certificate signed by unknown authority", False),
])
def test_names_another_host_reads_each_drivers_words(text, names):
    assert names_another_host(text) is names


@pytest.mark.parametrize("text", [HOST_MISMATCH, GO_HOST, PY_HOST])
def test_a_host_name_refused_and_escalated_is_said_as_a_name_mismatch(text):
    """The same verify-full on both revisions: the escalation names the host dialled, not a rotated server CA."""
    bundle = _deploy((("DB_SSLMODE", "verify-full"), ("A", "1")), (("DB_SSLMODE", "verify-full"), ("A", "2")),
                     text).bundle()
    result = diagnose(bundle, S)
    assert "names another host than the one dialled" in result.summary, result.summary
    assert "rotated server CA" not in result.summary + (result.recommendation or ""), result.summary
