"""Broken and refused database connections in the drivers' own words.

- A connection reset on the database's port (Go's net package under pgx, database/sql and
  go-sql-driver/mysql) is a broken connection, as libpq's "SSL connection has been closed
  unexpectedly" is: the peer (the server, or something on the path) reset a connection that was
  open. It is never a refusal, never acts alone: after a deploy it competes with the deploy (a
  failover a minute later looks alike), at a saturated connector it names no saturation (a reset is
  answered at once). A reset that names no database (Node's bare "read ECONNRESET", Java's bare
  "SocketException: Connection reset") is any socket's and stays unread; under pgjdbc's own wrapper
  it is read by the wrapper's row, and under the driver's own frames in the same entry (node-postgres,
  mysql2, pgjdbc, Connector/J, HikariCP) as a broken connection; under an HTTP client's, never.
- PostgreSQL's "terminating connection due to idle-in-transaction timeout" (25P03), "... due to
  idle-session timeout" (57P05) and "... due to transaction timeout" (25P04) are the server ending a
  session the application left idle (in a transaction, or at all) past the server's own limit: the
  application's behaviour, not a refusal of the database. After a deploy with the revision before
  clean, they are the deploy's (a transaction leak), as a deadlock the deploy brought is.
- node-postgres's "client password must be a string" is its client having no password to give when
  the server asked for one, as libpq's "fe_sendauth: no password supplied" is: the credentials.
"""
from __future__ import annotations

import pytest

from shared.diagnosis.log_signals import LogSignal, Refusal, classify, closed_connection, refusal_of
from shared.diagnosis.signatures import Signature

from tests.unit.test_database_own_failures import _check, password_dropped, plain_password
from tests.unit.test_database_refusals import NEW, OLD, deployed, newly_saturated, quiet, serving

BOTH = {"bad_revision", "database_unreachable"}

# Go's net.OpError on a read of an open connection the peer reset (golang/go src/net/net.go,
# OpError.Error: Op, Net, Source "->" Addr, then the system's words), in the frames that pass it up.
GO_RESET_PGX = ("failed to load cart 81723: failed to receive message: read tcp 10.8.0.5:43210->10.20.0.3:5432: "
                "read: connection reset by peer")
GO_RESET_BARE = "read tcp 10.8.0.5:43210->10.20.0.3:5432: read: connection reset by peer"
GO_RESET_MYSQL = ('level=error msg="checkout failed" err="read tcp 10.8.0.7:51544->10.40.0.9:3306: read: connection '
                  'reset by peer"')
GO_RESET_WRITE = "write tcp 10.8.0.5:43210->10.20.0.3:5432: write: broken pipe"
GO_RESET_PROXY = "read tcp 127.0.0.1:51234->127.0.0.1:5432: read: connection reset by peer"
# Any other dependency's reset: no database port, no database's words.
GO_RESET_HTTP = 'Post "https://api.carrier.example/v2/rates": read tcp 10.8.0.5:43210->34.117.59.81:443: read: ' \
                "connection reset by peer"
NODE_RESET = "Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/stream_base_commons:217:20)"
JAVA_RESET = "java.net.SocketException: Connection reset"
PGJDBC_RESET = ("org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend.\nCaused by: "
                "java.net.SocketException: Connection reset")

# The same bare resets where the entry's own stack names the database driver: Node prints an unhandled
# 'error' event's emit site below the error ("Emitted 'error' event on Client instance at:", as
# brianc/node-postgres issue #2162 quotes it, through Socket.reportStreamError in pg/lib/connection.js);
# mysql2 passes the socket's error on through lib/connection.js _handleNetworkError and
# _handleFatalError (fatal: true); Java's reset under the driver's own reading frames (pgjdbc's
# VisibleBufferedInputStream, Connector/J's com.mysql.cj.protocol, HikariCP's proxies).
NODE_PG_RESET = ("node:events:497\n      throw er; // Unhandled 'error' event\n      ^\n\nError: read ECONNRESET\n"
                 "    at TCP.onStreamRead (node:internal/stream_base_commons:217:20)\n"
                 "Emitted 'error' event on Client instance at:\n"
                 "    at Client._handleErrorEvent (/app/node_modules/pg/lib/client.js:336:10)\n"
                 "    at Connection.emit (node:events:519:28)\n"
                 "    at Socket.reportStreamError (/app/node_modules/pg/lib/connection.js:58:12)\n"
                 "    at Socket.emit (node:events:519:28) {\n  errno: -104,\n  code: 'ECONNRESET',\n  syscall: 'read'\n}")
NODE_PG_PROTOCOL_RESET = ("Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/stream_base_commons:218:20)\n"
                          "Emitted 'error' event on Connection instance at:\n"
                          "    at Socket.reportStreamError (C:\\srv\\api\\node_modules\\pg\\lib\\connection.js:73:10)")
NODE_MYSQL2_RESET = ("Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/stream_base_commons:217:20)\n"
                     "Emitted 'error' event on Connection instance at:\n"
                     "    at Connection._notifyError (/srv/app/node_modules/mysql2/lib/connection.js:252:12)\n"
                     "    at Connection._handleFatalError (/srv/app/node_modules/mysql2/lib/connection.js:183:10)\n"
                     "    at Connection._handleNetworkError (/srv/app/node_modules/mysql2/lib/connection.js:196:10) {\n"
                     "  errno: -104,\n  code: 'ECONNRESET',\n  syscall: 'read',\n  fatal: true\n}")
JAVA_PGJDBC_RESET = ("java.net.SocketException: Connection reset\n"
                     "\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:318)\n"
                     "\tat java.base/java.net.Socket$SocketInputStream.read(Socket.java:1099)\n"
                     "\tat org.postgresql.core.VisibleBufferedInputStream.readMore(VisibleBufferedInputStream.java:161)\n"
                     "\tat org.postgresql.core.PGStream.receiveChar(PGStream.java:467)")
JAVA_MYSQL_RESET = ("Caused by: java.net.SocketException: Connection reset\n"
                    "\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:313)\n"
                    "\tat java.base/java.net.Socket$SocketInputStream.read(Socket.java:1025)\n"
                    "\tat com.mysql.cj.protocol.ReadAheadInputStream.fill(ReadAheadInputStream.java:107)\n"
                    "\t... 80 common frames omitted")
JAVA_HIKARI_RESET = ("java.net.SocketException: Connection reset by peer\n"
                     "\tat java.base/sun.nio.ch.NioSocketImpl.implWrite(NioSocketImpl.java:425)\n"
                     "\tat com.zaxxer.hikari.pool.ProxyStatement.executeQuery(ProxyStatement.java:110)")
# Near misses: the same resets under an HTTP client's frames, or a database frame only above the reset.
NODE_AXIOS_RESET = ("Error: read ECONNRESET\n    at TLSWrap.onStreamRead (node:internal/stream_base_commons:217:20)\n"
                    "    at Function.AxiosError.from (/app/node_modules/axios/lib/core/AxiosError.js:89:14)\n"
                    "    at RedirectableRequest.handleRequestError (/app/node_modules/axios/lib/adapters/http.js:610:25)")
NODE_UNDICI_RESET = ("TypeError: fetch failed\n    at node:internal/deps/undici/undici:13502:13\n  [cause]: Error: read "
                     "ECONNRESET\n      at TLSWrap.onStreamRead (node:internal/stream_base_commons:216:20) {\n"
                     "    errno: -104,\n    code: 'ECONNRESET',\n    syscall: 'read'\n  }")
NODE_PG_ABOVE = ("Error: read ECONNRESET\n    at TLSWrap.onStreamRead (node:internal/stream_base_commons:217:20)\n"
                 "after query in /app/node_modules/pg/lib/client.js handled")
JAVA_OKHTTP_RESET = ("java.net.SocketException: Connection reset\n"
                     "\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:318)\n"
                     "\tat okio.InputStreamSource.read(JvmOkio.kt:93)\n"
                     "\tat okhttp3.internal.http1.Http1ExchangeCodec.readResponseHeaders(Http1ExchangeCodec.kt:180)")
JAVA_RESET_UNDER_HTTP = ("org.springframework.dao.DataAccessResourceFailureException: rates\n"
                         "\tat com.zaxxer.hikari.pool.ProxyStatement.executeQuery(ProxyStatement.java:110)\n"
                         "Caused by: java.net.SocketException: Connection reset\n"
                         "\tat okhttp3.internal.http1.Http1ExchangeCodec.readResponseHeaders(Http1ExchangeCodec.kt:180)")

# PostgreSQL's own words for a session it ended at a limit of its own (postgres/postgres
# src/backend/tcop/postgres.c, ProcessInterrupts), in the drivers' frames.
IDLE_TX_PGJDBC = "org.postgresql.util.PSQLException: FATAL: terminating connection due to idle-in-transaction timeout"
IDLE_TX_PGX = "FATAL: terminating connection due to idle-in-transaction timeout (SQLSTATE 25P03)"
IDLE_TX_NODE = "error: terminating connection due to idle-in-transaction timeout"
IDLE_TX_PSYCOPG3 = ("psycopg.errors.IdleInTransactionSessionTimeout: terminating connection due to idle-in-transaction "
                    "timeout")
IDLE_TX_LIBPQ = ("psycopg2.OperationalError: terminating connection due to idle-in-transaction timeout\nserver closed "
                 "the connection unexpectedly\n\tThis probably means the server terminated abnormally")
IDLE_TX_LIBPQ_SSL = ("sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) terminating connection due to "
                     "idle-in-transaction timeout\nSSL connection has been closed unexpectedly")
IDLE_SESSION = "asyncpg.exceptions.IdleSessionTimeoutError: terminating connection due to idle-session timeout"
TX_TIMEOUT = "org.postgresql.util.PSQLException: FATAL: terminating connection due to transaction timeout"

# node-postgres without a password when the server asks for SCRAM (brianc/node-postgres
# packages/pg/lib/crypto/sasl.js, continueSession).
PG_NO_PASSWORD = "Error: SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string"
PG_EMPTY_PASSWORD = "Error: SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a non-empty string"

# A pool that hands out a connection a failover broke while it sat idle: each driver refuses to use it.
PGJDBC_CLOSED = "org.postgresql.util.PSQLException: This connection has been closed."
PSYCOPG2_CLOSED = "sqlalchemy.exc.InterfaceError: (psycopg2.InterfaceError) connection already closed"
ASYNCPG_CLOSED = ("sqlalchemy.exc.InterfaceError: (sqlalchemy.dialects.postgresql.asyncpg.InterfaceError) <class "
                  "'asyncpg.exceptions._base.InterfaceError'>: connection is closed")
MYSQL2_CLOSED = "Error: Can't add new command when connection is in closed state"
# Other libraries' words for their own closed connections.
WEBSOCKET_CLOSED = "websockets.exceptions.ConnectionClosedError: connection already closed"
NEO4J_CLOSED = "neo4j.exceptions.ServiceUnavailable: Connection is closed"

C, R, F = LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED, LogSignal.DB_STATEMENT_FAILED

# text -> (signals among C, R, F; the refusal named; read as a broken connection)
READS = {
    "Go: a reset on 5432 under pgx": (GO_RESET_PGX, {C}, "", True),
    "Go: a reset on 5432, bare": (GO_RESET_BARE, {C}, "", True),
    "Go: a reset on 3306 in a logfmt line": (GO_RESET_MYSQL, {C}, "", True),
    "Go: a write on 5432 into a broken pipe": (GO_RESET_WRITE, {C}, "", True),
    "Go: a reset by a local Auth Proxy on 5432": (GO_RESET_PROXY, {C}, "", True),
    "Go: a reset of an HTTPS call: not the database": (GO_RESET_HTTP, set(), "", False),
    "Node: a bare read ECONNRESET names no database": (NODE_RESET, set(), "", False),
    "Java: a bare Connection reset names no database": (JAVA_RESET, set(), "", False),
    "pgjdbc's wrapper around a reset": (PGJDBC_RESET, {C}, "", True),
    "Node: a reset, node-postgres's unhandled error event": (NODE_PG_RESET, {C}, "", True),
    "Node: a reset, node-postgres's connection on Windows paths": (NODE_PG_PROTOCOL_RESET, {C}, "", True),
    "Node: a reset, mysql2's fatal network error": (NODE_MYSQL2_RESET, {C}, "", True),
    "Java: a reset under pgjdbc's reading frames": (JAVA_PGJDBC_RESET, {C}, "", True),
    "Java: a reset under Connector/J's protocol frames": (JAVA_MYSQL_RESET, {C}, "", True),
    "Java: a reset by peer under HikariCP's proxy": (JAVA_HIKARI_RESET, {C}, "", True),
    "Node: a reset under axios: not the database": (NODE_AXIOS_RESET, set(), "", False),
    "Node: a reset under undici's fetch: not the database": (NODE_UNDICI_RESET, set(), "", False),
    "Node: a pg path in a line after the stack: not a frame": (NODE_PG_ABOVE, set(), "", False),
    "Java: a reset under OkHttp: not the database": (JAVA_OKHTTP_RESET, set(), "", False),
    "Java: a Hikari frame above, the reset caused under OkHttp": (JAVA_RESET_UNDER_HTTP, set(), "", False),
    "idle in transaction, pgjdbc FATAL": (IDLE_TX_PGJDBC, {F}, "", False),
    "idle in transaction, pgx": (IDLE_TX_PGX, {F}, "", False),
    "idle in transaction, node-postgres": (IDLE_TX_NODE, {F}, "", False),
    "idle in transaction, psycopg 3": (IDLE_TX_PSYCOPG3, {F}, "", False),
    "idle in transaction, libpq's closed socket after it": (IDLE_TX_LIBPQ, {F}, "", False),
    "idle in transaction, libpq over SSL after it": (IDLE_TX_LIBPQ_SSL, {F}, "", False),
    "idle session, asyncpg": (IDLE_SESSION, {F}, "", False),
    "transaction timeout (PostgreSQL 17), pgjdbc": (TX_TIMEOUT, {F}, "", False),
    "pgjdbc, a closed connection used again": (PGJDBC_CLOSED, {C}, "", True),
    "psycopg2 under SQLAlchemy, the same": (PSYCOPG2_CLOSED, {C}, "", True),
    "asyncpg under SQLAlchemy, the same": (ASYNCPG_CLOSED, {C}, "", True),
    "mysql2, the same": (MYSQL2_CLOSED, {C}, "", True),
    "a websocket's closed connection": (WEBSOCKET_CLOSED, set(), "", False),
    "a graph database's closed connection": (NEO4J_CLOSED, set(), "", False),
    "node-postgres with no password": (PG_NO_PASSWORD, {C, R}, Refusal.CREDENTIALS, False),
    "node-postgres with an empty password": (PG_EMPTY_PASSWORD, {C, R}, Refusal.CREDENTIALS, False),
}


@pytest.mark.parametrize("text, signals, refusal, closed", READS.values(), ids=READS.keys())
def test_how_each_text_is_read(text, signals, refusal, closed):
    assert set(classify(text)) & {C, R, F} == signals
    assert refusal_of(text) == refusal
    assert closed_connection(text) is closed


INCIDENTS = {
    # Resets: a broken connection, never an action of their own.
    "resets on 5432 (pgx) with the connector quiet, no deploy: the database, escalated": dict(
        build=lambda e: quiet(serving(e)).log(-5, GO_RESET_PGX, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE),
    "resets on 5432 a minute after a deploy (a failover): no rollback": dict(
        build=lambda e: quiet(deployed(e)).log(-4, GO_RESET_PGX, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "resets on 3306 and broken pipes a minute after a deploy: no rollback": dict(
        build=lambda e: quiet(deployed(e)).log(-4, GO_RESET_MYSQL, NEW, count=10).log(-4, GO_RESET_WRITE, NEW,
                                                                                      count=10),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "node-postgres's resets (unhandled) a minute after a deploy (a failover): no rollback": dict(
        build=lambda e: quiet(deployed(e)).log(-4, NODE_PG_RESET, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "mysql2's and Connector/J's resets with the connector quiet, no deploy: the database, escalated": dict(
        build=lambda e: quiet(serving(e)).log(-5, NODE_MYSQL2_RESET, OLD, count=12).log(-5, JAVA_MYSQL_RESET, OLD,
                                                                                         count=12),
        expect=Signature.DATABASE_UNREACHABLE),
    "pgjdbc's resets at a newly saturated connector: answered at once, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, JAVA_PGJDBC_RESET, OLD, count=25),
        expect=Signature.INCONCLUSIVE),
    "resets on 5432 at a newly saturated connector: answered at once, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, GO_RESET_BARE, OLD, count=25),
        expect=Signature.INCONCLUSIVE),
    # A transaction leak the deploy brought: the server ends the sessions the new code leaves idle.
    "idle-in-transaction kills (pgjdbc) only since a deploy, the revision before clean: rolled back": dict(
        build=lambda e: quiet(deployed(e)).log(-5, IDLE_TX_PGJDBC, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "idle-in-transaction kills (libpq, closed socket after) since a deploy: rolled back": dict(
        build=lambda e: quiet(deployed(e)).log(-5, IDLE_TX_LIBPQ, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "idle-in-transaction kills (pgx) since a deploy: rolled back": dict(
        build=lambda e: quiet(deployed(e)).log(-5, IDLE_TX_PGX, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "idle-session kills (asyncpg) with no deploy: no action, not the database refusing": dict(
        build=lambda e: quiet(serving(e)).log(-5, IDLE_SESSION, OLD, count=25),
        expect=Signature.INCONCLUSIVE),
    "transaction-timeout kills at a newly saturated connector: the statements crossed it, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, TX_TIMEOUT, OLD, count=25),
        expect=Signature.INCONCLUSIVE),
    # A pool that keeps the connections a failover broke (no validation, no pre-ping): the failures go on
    # after the database is back, on any revision whose pool holds them.
    "pgjdbc's pool hands out closed connections, no deploy: the database's path, escalated": dict(
        build=lambda e: quiet(serving(e)).log(-5, PGJDBC_CLOSED, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE),
    "mysql2's closed connections a minute after a deploy (a failover): no rollback": dict(
        build=lambda e: quiet(deployed(e)).log(-4, MYSQL2_CLOSED, NEW, count=20),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "psycopg2's and asyncpg's closed connections a minute after a deploy: no rollback": dict(
        build=lambda e: quiet(deployed(e)).log(-4, PSYCOPG2_CLOSED, NEW, count=10).log(-4, ASYNCPG_CLOSED, NEW,
                                                                                        count=10),
        expect=Signature.INCONCLUSIVE, competing=BOTH),
    "asyncpg's closed connections at a newly saturated connector: found closed at once, no scale-up": dict(
        build=lambda e: newly_saturated(serving(e, code="503")).log(-5, ASYNCPG_CLOSED, OLD, count=25),
        expect=Signature.INCONCLUSIVE),
    # node-postgres with no password to give.
    "a deploy removed DB_PASSWORD, node-postgres has none to give: rolled back": dict(
        build=lambda e: quiet(password_dropped(e)).log(-6, PG_NO_PASSWORD, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "a deploy took the password out of DATABASE_URL, node-postgres (empty): rolled back": dict(
        build=lambda e: quiet(plain_password(e, "postgres://orders:hunter2@10.40.0.7/orders",
                                             "postgres://orders@10.40.0.7/orders", name="DATABASE_URL"))
        .log(-6, PG_EMPTY_PASSWORD, NEW, count=20),
        expect=Signature.BAD_REVISION, action="rollback_traffic"),
    "node-postgres with no password and no deploy (the secret emptied): escalated, the password named": dict(
        build=lambda e: quiet(serving(e)).log(-5, PG_NO_PASSWORD, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE, names="password"),
}


@pytest.mark.parametrize("case", INCIDENTS.values(), ids=INCIDENTS.keys())
def test_broken_and_refused_connections(case):
    _check(case)
