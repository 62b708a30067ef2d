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
from shared.diagnosis.evidence import Revision
from shared.diagnosis.ip_type_settings import ip_type_changed
from shared.diagnosis.log_signals import Refusal, refusal_of
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
    "go-sql-driver/mysql": "[mysql] 2026/12/07 11:49:02 connector.go:95: this authentication plugin is not supported",
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
HOST_MISMATCH = CERTIFICATE_TEXTS["libpq verify-full, host name"]
CA_REFUSED = ('psycopg2.OperationalError: connection to server at "10.40.0.3", port 5432 failed: SSL error: '
              "certificate verify failed")


def _deploy(old_env, new_env, text):
    e = (Evidence().revision(OLD, -180, sql=(SQL,), plain_env=old_env)
         .revision(NEW, -10, sql=(SQL,), plain_env=new_env).traffic(**{NEW: 100})
         .requests(OLD, -90, -10, 40).requests(NEW, -10, 5, 18).requests(NEW, -10, 5, 27, code="500")
         .latency(OLD, -20, -10, 0.2).latency(NEW, -10, 5, 0.4))
    return quiet_connector(e).log(-9, text, NEW, count=20)


HOST = ("DB_HOST", "10.40.0.3")
ROLLED_BACK = {
    "IP type moved by name": ((("DB_IP_TYPE", "PUBLIC"),), (("DB_IP_TYPE", "PRIVATE"),), NO_IP),
    "private IP switch added": ((HOST,), (HOST, ("PRIVATE_IP", "true")), NO_IP),
    "Auth Proxy flag in a command line": ((("PROXY_ARGS", "--port 5432 p:us-central1:main-db"),),
                                          (("PROXY_ARGS", "--private-ip --port 5432 p:us-central1:main-db"),), NO_IP),
    "verify-full over require": ((HOST, ("DB_SSLMODE", "require")), (HOST, ("DB_SSLMODE", "verify-full")),
                                 HOST_MISMATCH),
    "verify-ca added to a URL": ((("DATABASE_URL", "postgresql://orders@10.40.0.3/orders?sslmode=require"),),
                                 (("DATABASE_URL", "postgresql://orders@10.40.0.3/orders?sslmode=verify-ca"),),
                                 CA_REFUSED),
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
}


@pytest.mark.parametrize("old_env,new_env,text", ROLLED_BACK.values(), ids=ROLLED_BACK.keys())
def test_a_deploy_that_changed_the_clients_own_setting_is_rolled_back(old_env, new_env, text):
    bundle = _deploy(old_env, new_env, text).bundle()
    result = diagnose(bundle, S)
    assert result.signature is Signature.BAD_REVISION, result.summary
    assert plan(result, bundle, S).action == "rollback_traffic"


@pytest.mark.parametrize("old_env,new_env,text", COMPETING.values(), ids=COMPETING.keys())
def test_a_deploy_that_changed_no_such_setting_competes_with_the_refusal(old_env, new_env, text):
    bundle = _deploy(old_env, new_env, text).bundle()
    result = diagnose(bundle, S)
    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert set(result.competing) == {"bad_revision", "database_unreachable"}, result.summary
    assert plan(result, bundle, S).action is None


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
    ((), (("DB_IP_TYPE", "PRIVATE"),), []),
])
def test_ip_type_changed_reads_the_choice_by_name(before, after, changed):
    assert ip_type_changed(_rev(*before), _rev(*after)) == changed


@pytest.mark.parametrize("env,verifies", [
    ((("DB_SSLMODE", "require"),), False),
    ((("DB_SSLMODE", "verify-full"),), True),
    ((("DATABASE_URL", "postgresql://u@h/d?sslmode=verify-ca"),), True),
    ((("MYSQL_SSL_MODE", "VERIFY_IDENTITY"),), True),
    ((("DB_HOST", "10.40.0.3"),), False),
    ((), None),
])
def test_verifies_server_reads_a_verify_mode(env, verifies):
    assert verifies_server(_rev(*env)) is verifies
