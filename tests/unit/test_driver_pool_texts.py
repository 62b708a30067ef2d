"""Database drivers' and pools' own words for a broken connection, and for TLS the two ends do not agree on.

- node-postgres's pool (pg-pool) emits an idle client's socket error on the pool ('error' event) after
  setting `err.client = client` on it (brianc/node-postgres packages/pg-pool/index.js, makeIdleListener);
  the application's handler logs it (the "pg.Pool" docs' `console.error('Unexpected error on idle
  client', err)`, in its own words), and Node prints the error's properties, the pool's `client: Client {`
  among them. That mark, not the application's words, names the database: a reset printed so is a
  broken connection. An HTTP client's reset (axios, undici) or a Redis client's carries no such client.
- Django re-raises the driver's error as its own class with the driver's words (django/django
  django/db/utils.py, DatabaseErrorWrapper): psycopg2's "connection already closed" under
  `django.db.utils.InterfaceError` is the closed connection it is under psycopg2's name. psycopg2's
  "cursor already closed" is said alike for a cursor the application closed itself, so it is not read.
- HikariCP evicts a connection whose statement failed with a connection exception (SQLSTATE class 08)
  and logs "<pool> - Connection <c> marked as broken because of SQLSTATE(08xxx), ErrorCode(n)"
  (brettwooldridge/HikariCP ProxyConnection.checkException): a broken connection. Its other eviction
  states (57P01, 0A000, a timeout's null) and its "Failed to validate connection" (PoolBase: an idle
  connection found dead and replaced before use; the request goes on) are not read.
- TLS the client and the server do not agree on (the client requires SSL/TLS the server or a local
  proxy does not offer; no TLS version in common) is answered: the server replied, so the path works.
  A refusal of configuration, never a scale-up; rolled back only when the revision before, serving
  beside the new one, does not log it. Before, libpq's form was read as nothing answered.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.diagnosis.evidence import Revision
from shared.diagnosis.log_signals import LogSignal, Refusal, classify, closed_connection, refusal_of
from shared.diagnosis.signatures import Signature
from shared.diagnosis.tls_settings import tls_settings_changed

from tests.unit.test_database_own_failures import _check, plain_password
from tests.unit.test_database_refusals import NEW, OLD, SQL, deployed, newly_saturated, quiet, serving

BOTH = {"bad_revision", "database_unreachable"}

# node-postgres: an idle client's reset, as the pool's 'error' handler logs it with console.error.
PG_IDLE_RESET = ("Unexpected error on idle client Error: read ECONNRESET\n"
                 "    at TCP.onStreamRead (node:internal/stream_base_commons:217:20) {\n"
                 "  errno: -104,\n  code: 'ECONNRESET',\n  syscall: 'read',\n  client: Client {\n"
                 "    _events: [Object: null prototype] { error: [Function (anonymous)] },\n"
                 "    _eventsCount: 1,\n    connectionParameters: ConnectionParameters {\n      user: 'orders',\n"
                 "      database: 'orders',\n      port: 5432,\n      host: '10.20.0.3',\n")
PG_IDLE_RESET_TLS = ("[db] pool error Error: read ECONNRESET\n"
                     "    at TLSWrap.onStreamRead (node:internal/stream_base_commons:216:20) {\n"
                     "  errno: -104,\n  code: 'ECONNRESET',\n  syscall: 'read',\n  client: <ref *1> Client {\n"
                     "    _events: [Object: null prototype] {},\n")
# The application's words with nothing of the driver's: the message alone (err.message), or no client.
PG_IDLE_WORDS_ONLY = "Unexpected error on idle client read ECONNRESET"
PG_IDLE_NO_CLIENT = ("Unexpected error on idle client Error: read ECONNRESET\n"
                     "    at TCP.onStreamRead (node:internal/stream_base_commons:217:20) {\n"
                     "  errno: -104,\n  code: 'ECONNRESET',\n  syscall: 'read'\n}")
# Near misses: an HTTP client's reset printed with its own properties, a Redis client's.
AXIOS_RESET_PRINTED = ("Error: read ECONNRESET\n    at TLSWrap.onStreamRead (node:internal/stream_base_commons:217:20) {\n"
                       "  errno: -104,\n  code: 'ECONNRESET',\n  syscall: 'read',\n  config: {\n"
                       "    url: 'https://api.carrier.example/v2/rates',\n  },\n  request: <ref *1> ClientRequest {\n")
IOREDIS_RESET = ("[ioredis] Unhandled error event: Error: read ECONNRESET\n"
                 "    at TCP.onStreamRead (node:internal/stream_base_commons:217:20)")
# A client: property nested under another error's cause is that error's, not the reset's.
CAUSE_CLIENT = ("TypeError: fetch failed\n    at node:internal/deps/undici/undici:13502:13\n  [cause]: Error: read "
                "ECONNRESET\n      at TLSWrap.onStreamRead (node:internal/stream_base_commons:216:20) {\n"
                "    errno: -104,\n    code: 'ECONNRESET',\n    syscall: 'read',\n    client: Client {\n")
REDIS_CLOSED = "redis.exceptions.ConnectionError: Connection closed by server."
IOREDIS_CLOSED = "Error: Connection is closed.\n    at close (/app/node_modules/ioredis/built/redis/event_handler.js:189:25)"

# Django: the driver's words under Django's classes.
DJANGO_CLOSED = "django.db.utils.InterfaceError: connection already closed"
DJANGO_CURSOR = "django.db.utils.InterfaceError: cursor already closed"
DJANGO_SERVER_CLOSED = ("django.db.utils.OperationalError: server closed the connection unexpectedly\n\tThis probably "
                        "means the server terminated abnormally\n\tbefore or while processing the request.")
DJANGO_PSYCOPG3_CLOSED = "django.db.utils.OperationalError: the connection is closed"

# HikariCP's eviction of a connection broken under a statement.
HIKARI_BROKEN = ("2026-12-03 21:40:12.481  WARN 1 --- [nio-8080-exec-7] com.zaxxer.hikari.pool.ProxyConnection   : "
                 "HikariPool-1 - Connection org.postgresql.jdbc.PgConnection@1a2b3c marked as broken because of "
                 "SQLSTATE(08006), ErrorCode(0)")
HIKARI_BROKEN_MYSQL = ("OrdersPool - Connection com.mysql.cj.jdbc.ConnectionImpl@6d1f0e marked as broken because of "
                       "SQLSTATE(08S01), ErrorCode(0)")
HIKARI_BROKEN_CLOSED = ("HikariPool-2 - Connection org.postgresql.jdbc.PgConnection@77e2b4 marked as broken because of "
                        "SQLSTATE(08003), ErrorCode(0)")
HIKARI_BROKEN_OLD = ("Connection org.postgresql.jdbc4.Jdbc4Connection@4b2c1f (HikariPool-0) marked as broken because "
                     "of SQLSTATE(08006), ErrorCode(0).")
# Its other eviction states: the server's shutdown (its own words say it, in their row), a feature the
# driver lacks, a timeout with no state.
HIKARI_ADMIN_SHUTDOWN = ("HikariPool-1 - Connection org.postgresql.jdbc.PgConnection@1a2b3c marked as broken because "
                         "of SQLSTATE(57P01), ErrorCode(0)")
HIKARI_FEATURE = ("HikariPool-1 - Connection org.postgresql.jdbc.PgConnection@1a2b3c marked as broken because of "
                  "SQLSTATE(0A000), ErrorCode(0)")
HIKARI_TIMEOUT = ("HikariPool-1 - Connection org.postgresql.jdbc.PgConnection@1a2b3c marked as broken because of "
                  "SQLSTATE(null), ErrorCode(0)")
HIKARI_VALIDATE = ("HikariPool-1 - Failed to validate connection org.postgresql.jdbc.PgConnection@5c5e301f (This "
                   "connection has been closed.). Possibly consider using a shorter maxLifetime value.")

# TLS the two ends do not agree on.
LIBPQ_NO_SSL = ('psycopg2.OperationalError: connection to server at "127.0.0.1", port 5432 failed: server does not '
                "support SSL, but SSL was required")
LIBPQ_UNSUPPORTED = ('sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at '
                     '"10.20.0.3", port 5432 failed: SSL error: unsupported protocol')
LIBPQ_ALERT = ('psycopg.OperationalError: connection failed: connection to server at "10.20.0.3", port 5432 failed: '
               "SSL error: tlsv1 alert protocol version")
PG_NO_SSL = ("Error: The server does not support SSL connections\n"
             "    at Socket.<anonymous> (/app/node_modules/pg/lib/connection.js:77:37)")
PGJDBC_NO_SSL = "org.postgresql.util.PSQLException: The server does not support SSL."
PGJDBC_NO_PROTOCOL = ("org.postgresql.util.PSQLException: SSL error: No appropriate protocol (protocol is disabled or "
                      "cipher suites are inappropriate)")
MYSQL_UNSUPPORTED = "ERROR 2026 (HY000): SSL connection error: error:0A000102:SSL routines::unsupported protocol"
MYSQL_ALERT = ("pymysql.err.OperationalError: (2026, 'SSL connection error: error:0A00042E:SSL routines::tlsv1 alert "
               "protocol version')")
CONNECTORJ_NO_PROTOCOL = (
    "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure\n\nThe last packet sent "
    "successfully to the server was 0 milliseconds ago. The driver has not received any packets from the server.\n"
    "\tat com.mysql.cj.jdbc.exceptions.SQLError.createCommunicationsException(SQLError.java:174)\n"
    "Caused by: javax.net.ssl.SSLHandshakeException: No appropriate protocol (protocol is disabled or cipher suites "
    "are inappropriate)\n\tat java.base/sun.security.ssl.HandshakeContext.<init>(HandshakeContext.java:170)\n"
    "\tat java.base/sun.security.ssl.SSLSocketImpl.startHandshake(SSLSocketImpl.java:451)\n"
    "\tat com.mysql.cj.protocol.ExportControlled.performTlsHandshake(ExportControlled.java:316)")
# Near misses: any HTTPS client's TLS failures in the same OpenSSL and JDK words.
OKHTTP_NO_PROTOCOL = ("javax.net.ssl.SSLHandshakeException: No appropriate protocol (protocol is disabled or cipher "
                      "suites are inappropriate)\n\tat java.base/sun.security.ssl.HandshakeContext.<init>("
                      "HandshakeContext.java:170)\n\tat okhttp3.internal.connection.RealConnection.connectTls("
                      "RealConnection.kt:379)")
REQUESTS_UNSUPPORTED = ("requests.exceptions.SSLError: HTTPSConnectionPool(host='api.carrier.example', port=443): Max "
                        "retries exceeded with url: /v2 (Caused by SSLError(SSLError(1, '[SSL: UNSUPPORTED_PROTOCOL] "
                        "unsupported protocol (_ssl.c:1006)')))")
NODE_EPROTO = ("Error: write EPROTO 40E8A1F7:error:0A000102:SSL routines::unsupported protocol:../deps/openssl/openssl/"
               "ssl/statem/statem_lib.c:1987:")

C, R = LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED
TLS = Refusal.TLS_MISMATCH

# text -> (signals among C, R; the refusal named; read as a broken connection)
READS = {
    "node-postgres: an idle client's reset, the pool's client printed with it": (PG_IDLE_RESET, {C}, "", True),
    "node-postgres: the same over TLS, other words of the application's, a ref mark": (PG_IDLE_RESET_TLS, {C}, "",
                                                                                        True),
    "node-postgres: the application's words and the message alone": (PG_IDLE_WORDS_ONLY, set(), "", False),
    "node-postgres: the application's words, no client of the pool's": (PG_IDLE_NO_CLIENT, set(), "", False),
    "axios's reset printed with its own properties": (AXIOS_RESET_PRINTED, set(), "", False),
    "ioredis's reset": (IOREDIS_RESET, set(), "", False),
    "a client property under another error's cause": (CAUSE_CLIENT, set(), "", False),
    "redis-py's closed connection": (REDIS_CLOSED, set(), "", False),
    "ioredis's closed connection": (IOREDIS_CLOSED, set(), "", False),
    "Django: psycopg2's closed connection under Django's class": (DJANGO_CLOSED, {C}, "", True),
    "Django: a cursor already closed (the application's own, or the connection's)": (DJANGO_CURSOR, set(), "", False),
    "Django: libpq's closed socket under Django's class": (DJANGO_SERVER_CLOSED, {C}, "", True),
    "Django: psycopg 3's closed connection": (DJANGO_PSYCOPG3_CLOSED, {C}, "", True),
    "HikariCP: pgjdbc's connection broken (08006)": (HIKARI_BROKEN, {C}, "", True),
    "HikariCP: Connector/J's communication link failure (08S01), a pool of its own name": (HIKARI_BROKEN_MYSQL, {C}, "",
                                                                                           True),
    "HikariCP: a connection that no longer exists (08003)": (HIKARI_BROKEN_CLOSED, {C}, "", True),
    "HikariCP 2: the older form": (HIKARI_BROKEN_OLD, {C}, "", True),
    "HikariCP: the server's shutdown state, its own words not here": (HIKARI_ADMIN_SHUTDOWN, set(), "", False),
    "HikariCP: a feature not supported": (HIKARI_FEATURE, set(), "", False),
    "HikariCP: a timeout's eviction, no state": (HIKARI_TIMEOUT, set(), "", False),
    "HikariCP: an idle connection found dead and replaced": (HIKARI_VALIDATE, set(), "", False),
    "libpq: SSL required, the server (a local proxy) offers none": (LIBPQ_NO_SSL, {C, R}, TLS, False),
    "libpq: no TLS version in common": (LIBPQ_UNSUPPORTED, {C, R}, TLS, False),
    "libpq: the server's protocol-version alert": (LIBPQ_ALERT, {C, R}, TLS, False),
    "node-postgres: the server does not support SSL": (PG_NO_SSL, {C, R}, TLS, False),
    "pgjdbc: the server does not support SSL": (PGJDBC_NO_SSL, {C, R}, TLS, False),
    "pgjdbc: no appropriate protocol": (PGJDBC_NO_PROTOCOL, {C, R}, TLS, False),
    "MySQL 2026: unsupported protocol": (MYSQL_UNSUPPORTED, {C, R}, TLS, False),
    "MySQL 2026 (PyMySQL): the server's protocol-version alert": (MYSQL_ALERT, {C, R}, TLS, False),
    "Connector/J: no appropriate protocol under its TLS handshake": (CONNECTORJ_NO_PROTOCOL, {C, R}, TLS, False),
    "OkHttp: no appropriate protocol": (OKHTTP_NO_PROTOCOL, set(), "", False),
    "requests: unsupported protocol": (REQUESTS_UNSUPPORTED, set(), "", False),
    "Node's HTTPS: EPROTO unsupported protocol": (NODE_EPROTO, set(), "", False),
}


@pytest.mark.parametrize("text, signals, refusal, closed", READS.values(), ids=READS.keys())
def test_how_each_text_is_read(text, signals, refusal, closed):
    assert set(classify(text)) & {C, R} == signals
    assert refusal_of(text) == refusal
    assert closed_connection(text) is closed


LOCAL_DSN = "postgresql://orders@127.0.0.1:5432/orders"
JDBC_URL = "jdbc:mysql://10.40.0.7:3306/orders"


def plain_tls(e, old: tuple[tuple[str, str], ...], new: tuple[tuple[str, str], ...], at: float = -8):
    """As `deployed`, the two revisions' plain env DB_HOST the same and `old` / `new` beside it."""
    return (e.revision(OLD, -300, sql=(SQL,), plain_env=(("DB_HOST", "127.0.0.1"),) + old)
            .revision(NEW, at, sql=(SQL,), plain_env=(("DB_HOST", "127.0.0.1"),) + new)
            .traffic(**{NEW: 100}).requests(OLD, -90, at, 40).latency(OLD, -90, at, 0.2).requests(NEW, at, 5, 14)
            .requests(NEW, at, 5, 20, code="500").latency(NEW, at, 5, 0.5))


def split(e, at: float = -6):
    """NEW took 20 % of the traffic at `at` and fails 60 %; OLD, on the same path, serves the other 80 %
    cleanly in the same minutes."""
    return (e.revision(OLD, -300, sql=(SQL,)).revision(NEW, at, sql=(SQL,)).traffic(**{OLD: 80, NEW: 20})
            .requests(OLD, -90, 5, 40).latency(OLD, -90, 5, 0.2).requests(NEW, at, 5, 6)
            .requests(NEW, at, 5, 9, code="500").latency(NEW, at, 5, 0.5))


INCIDENTS = {
    # Broken connections: never an action of their own.
    "node-postgres's idle clients reset, no deploy, the connector quiet: the database, escalated": dict(
        build=lambda e: quiet(serving(e)).log(-5, PG_IDLE_RESET, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE),
    "node-postgres's idle clients reset a minute after a deploy (a failover): no rollback": dict(
        build=lambda e: quiet(deployed(e)).log(-4, PG_IDLE_RESET_TLS, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "Django's closed connections a minute after a deploy (a failover): no rollback": dict(
        build=lambda e: quiet(deployed(e)).log(-4, DJANGO_CLOSED, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "HikariCP's broken connections at a newly saturated connector: found broken at once, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, HIKARI_BROKEN, OLD, count=25),
        expect=Signature.INCONCLUSIVE),
    "HikariCP's broken connections a minute after a deploy: no rollback": dict(
        build=lambda e: quiet(deployed(e)).log(-4, HIKARI_BROKEN_MYSQL, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    # TLS the ends do not agree on: the server answered, so the connector is not the cause.
    "libpq: no TLS version in common at a newly saturated connector: answered, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, LIBPQ_UNSUPPORTED, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="sslmode"),
    "libpq: SSL required of a proxy that offers none, at a newly saturated connector: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503", latency=31)).log(-5, LIBPQ_NO_SSL, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="tls"),
    "Connector/J: no appropriate protocol at a newly saturated connector: no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, CONNECTORJ_NO_PROTOCOL, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="tls"),
    "MySQL 2026 unsupported protocol, no deploy, the connector quiet: escalated, the TLS settings named": dict(
        build=lambda e: quiet(serving(e)).log(-5, MYSQL_UNSUPPORTED, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="tls"),
    "SSL required by a new revision, all traffic on it: the instance's SSL mode competes, no rollback": dict(
        build=lambda e: quiet(deployed(e, at=-8)).log(-6, PG_NO_SSL, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    # The revision before's pooled connections, opened before a change, keep working: serving cleanly
    # beside a canary says nothing of the TLS settings.
    "SSL required by a canary while the revision beside it serves cleanly, no setting changed: competes": dict(
        build=lambda e: quiet(split(e)).log(-5, LIBPQ_NO_SSL, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    # A deploy that changed the client's TLS settings in its plain env: the setting comes back with the
    # revision before.
    "a deploy set sslmode=require in DATABASE_URL toward the Auth Proxy: rolled back, the setting named": dict(
        build=lambda e: quiet(plain_password(e, LOCAL_DSN + "?sslmode=disable", LOCAL_DSN + "?sslmode=require",
                                             name="DATABASE_URL")).log(-6, LIBPQ_NO_SSL, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="sslmode in the plain env database_url"),
    "a deploy added PGSSLMODE=require (node-postgres): rolled back": dict(
        build=lambda e: quiet(plain_tls(e, (), (("PGSSLMODE", "require"),))).log(-6, PG_NO_SSL, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="pgsslmode (added)"),
    "a deploy pinned Connector/J to TLSv1.3 (enabledTLSProtocols): rolled back": dict(
        build=lambda e: quiet(plain_password(e, JDBC_URL + "?sslMode=REQUIRED",
                                             JDBC_URL + "?sslMode=REQUIRED&enabledTLSProtocols=TLSv1.3",
                                             name="SPRING_DATASOURCE_URL"))
        .log(-6, CONNECTORJ_NO_PROTOCOL, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic", names="enabledtlsprotocols"),
    "the same DSN on both revisions, a deploy's TLS refusals: the instance's SSL mode competes": dict(
        build=lambda e: quiet(plain_password(e, LOCAL_DSN + "?sslmode=require", LOCAL_DSN + "?sslmode=require",
                                             name="DATABASE_URL")).log(-6, LIBPQ_NO_SSL, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "a deploy changed only the password beside TLS refusals: not the TLS settings, competes": dict(
        build=lambda e: quiet(plain_password(e, "s3cret-2025", "s3cret-2026")).log(-6, MYSQL_UNSUPPORTED, NEW,
                                                                                   count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH, not_said="s3cret"),
}


@pytest.mark.parametrize("case", INCIDENTS.values(), ids=INCIDENTS.keys())
def test_driver_and_pool_incidents(case):
    _check(case)


def _revision(env: tuple[tuple[str, str], ...]) -> Revision:
    return Revision(name=f"projects/p/locations/r/services/s/revisions/{OLD}",
                    service="projects/p/locations/r/services/s",
                    create_time=datetime(2026, 12, 3, tzinfo=timezone.utc), plain_env=env)


URL = "postgresql://orders@127.0.0.1:5432/orders"
# (the revision before's plain env, the new one's) -> where a TLS setting changed, by name only
TLS_SETTINGS = {
    "sslmode in a DSN, disable to require": ((("DATABASE_URL", URL + "?sslmode=disable"),),
                                             (("DATABASE_URL", URL + "?sslmode=require"),),
                                             ["sslmode in the plain env DATABASE_URL"]),
    "the same DSN, its letter case changed only": ((("DATABASE_URL", URL + "?sslmode=REQUIRE"),),
                                                   (("DATABASE_URL", URL + "?sslmode=require"),), []),
    "sslmode added to a DSN": ((("DATABASE_URL", URL),), (("DATABASE_URL", URL + "?sslmode=verify-full"),),
                               ["sslmode in the plain env DATABASE_URL (added)"]),
    "libpq's keyword form": ((("DSN", "host=10.40.0.3 sslmode=prefer dbname=orders"),),
                             (("DSN", "host=10.40.0.3 sslmode=require dbname=orders"),),
                             ["sslmode in the plain env DSN"]),
    "PGSSLMODE added": ((("DB_HOST", "10.40.0.3"),), (("DB_HOST", "10.40.0.3"), ("PGSSLMODE", "require")),
                        ["plain env PGSSLMODE (added)"]),
    "an SSL variable removed": ((("DB_HOST", "10.40.0.3"), ("DB_SSL", "false")), (("DB_HOST", "10.40.0.3"),),
                                ["plain env DB_SSL (removed)"]),
    "Connector/J's protocols pinned": ((("SPRING_DATASOURCE_URL", "jdbc:mysql://10.40.0.7/o?sslMode=REQUIRED"),),
                                       (("SPRING_DATASOURCE_URL", "jdbc:mysql://10.40.0.7/o?sslMode=REQUIRED&"
                                                                  "enabledTLSProtocols=TLSv1.3"),),
                                       ["enabledTLSProtocols in the plain env SPRING_DATASOURCE_URL (added)"]),
    "a key file's path changed (named, never shown)": ((("DB_SSL_KEY", "/run/a.pem"),), (("DB_SSL_KEY", "/run/b.pem"),),
                                                       ["plain env DB_SSL_KEY"]),
    "only the host changed": ((("DB_HOST", "10.40.0.3"),), (("DB_HOST", "10.40.0.9"),), []),
    "the new revision's env not read": ((("DB_SSL", "false"),), (), []),
    "the revision before's env not read": ((), (("PGSSLMODE", "require"),), []),
}


@pytest.mark.parametrize("before, after, changed", TLS_SETTINGS.values(), ids=TLS_SETTINGS.keys())
def test_which_tls_setting_a_deploy_changed(before, after, changed):
    said = tls_settings_changed(_revision(before), _revision(after))
    assert said == changed
    assert not any(value in " ".join(said) for _, value in after + before if "/" in value or "=" in value)
