"""What a connect error proves: a dial that timed out in words of its own (the connector's sign, beside its own
signs), a start-up that timed out at a step its words do not say (the dial, the TLS handshake or authentication:
a saturated database makes these too), an error of reaching the database whose cause is unsaid, or a wait for
the application's own pool (never a dial). Each stack's own words, from its source (log_signals cites each),
with controls: the same words from a step after the start-up, another store's, or a wrapper that hides the cause.
Pure table: text -> (the signals it carries, dial_timed_out, startup_timed_out)."""
from __future__ import annotations

import pytest

from shared.diagnosis.log_signals import LogSignal, classify, dial_timed_out, startup_timed_out

DB, WAIT = LogSignal.DB_CONNECTION, LogSignal.DB_POOL_WAIT
_DIAL = (frozenset({DB}), True, False)        # a dial that timed out, said so
_STARTUP = (frozenset({DB}), True, True)      # a start-up that timed out, its step unsaid
_UNSAID = (frozenset({DB}), False, False)     # an error of reaching the database, no dial proved
_POOL = (frozenset({WAIT}), False, False)     # the application's own pool
_NOTHING = (frozenset(), False, False)

ROWS: dict[str, tuple[frozenset[LogSignal], bool, bool]] = {
    # Go pgx v5: the dial step named, its cause Go's dialer (jackc/pgx pgconn/errors.go, ConnectError).
    "failed to connect to `host=10.60.0.9 user=app database=app`: dial error (timeout: dial tcp 10.60.0.9:5432: "
    "i/o timeout)": _DIAL,
    "failed to connect to `user=app database=app`: 10.60.0.9:5432 (10.60.0.9): dial error: timeout: dial tcp "
    "10.60.0.9:5432: i/o timeout": _DIAL,
    # Npgsql before 6: only the socket connect is wrapped "Exception while connecting" (NpgsqlConnector.Connect).
    "Npgsql.NpgsqlException (0x80004005): Exception while connecting\n ---> System.TimeoutException: The operation "
    "has timed out.": _DIAL,
    "Npgsql.NpgsqlException (0x80004005): Exception while connecting\n ---> System.TimeoutException: Timeout during "
    "connection attempt": _DIAL,
    # Npgsql 6+: NpgsqlTimeout.Check, the open's Timeout asked before each endpoint's dial, the SSL negotiation and
    # each authentication message (src/Npgsql/Util/NpgsqlTimeout.cs; Internal/NpgsqlConnector.cs, Open, Connect).
    "Npgsql.NpgsqlException (0x80004005): The operation has timed out\n ---> System.TimeoutException: The "
    "operation has timed out.": _STARTUP,
    "fail: Microsoft.EntityFrameworkCore.Database.Connection[20004]\n      An error occurred using the connection to "
    "database 'orders' on server 'tcp://10.60.0.9:5432'.\nNpgsql.NpgsqlException (0x80004005): The operation has "
    "timed out\n ---> System.TimeoutException: The operation has timed out.\n   at Npgsql.Util.NpgsqlTimeout.Check()": _STARTUP,
    "Npgsql.NpgsqlException: The operation has timed out": _STARTUP,
    # libpq's connect_timeout covers the whole start-up (fe-connect.c connectDBComplete): 14+ and before.
    'PG::ConnectionBad: connection to server at "10.60.0.9", port 5432 failed: timeout expired': _STARTUP,
    'Caused by:\nPG::ConnectionBad: connection to server at "10.60.0.9", port 5432 failed: timeout expired': _STARTUP,
    "PG::ConnectionBad: timeout expired": _STARTUP,
    "psycopg.errors.ConnectionTimeout: connection timeout expired": _STARTUP,
    # MyXQL: gen_tcp.connect's or the TLS upgrade's :timeout (lib/myxql/connection.ex conn_error/2).
    "[error] MyXQL.Connection (#PID<0.2410.0>) failed to connect: ** (DBConnection.ConnectionError) "
    "(10.60.0.7:3306) timeout - :timeout": _STARTUP,
    "** (DBConnection.ConnectionError) (10.60.0.7:3306) timeout": _STARTUP,
    # node-postgres: connectionTimeoutMillis runs to ReadyForQuery (packages/pg/lib/client.js _connect).
    "Error: Connection terminated due to connection timeout": _STARTUP,
    "Error: Handshake inactivity timeout\n    at Handshake.<anonymous> (/app/node_modules/mysql/lib/protocol/"
    "Protocol.js:160:17)": _STARTUP,
    # Rails 7 over libpq 14+: the adapter's own words replace the driver's whenever they name the host.
    "ActiveRecord::DatabaseConnectionError: There is an issue connecting with your hostname: 10.60.0.9.": _UNSAID,
    "ActiveRecord::DatabaseConnectionError (There is an issue connecting with your hostname: 10.60.0.9.\n\n"
    "Please check your database configuration and ensure there is a valid connection to your database.\n):": _UNSAID,
    # sqlx: ETIMEDOUT ends a connect and an established connection alike (tcp(7), ERRORS: "The other end didn't
    # acknowledge retransmitted data after some time"): an error of reaching the database, no dial proved.
    "error communicating with database: Connection timed out (os error 110)": _UNSAID,
    # Pool waits: the application's pool.
    "error returned from database: pool timed out while waiting for an open connection": _POOL,
    "Error: timeout exceeded when trying to connect": _POOL,
    # Controls.
    # .NET's bare words are also WebException's (any HTTP call's): not a database's without Npgsql's name.
    "System.Net.WebException: The operation has timed out.": _NOTHING,
    "System.TimeoutException: The operation has timed out.": _NOTHING,
    # MyXQL's other reasons, and its handshake timer's own log line, are no timeout of the connect.
    "** (DBConnection.ConnectionError) (10.60.0.7:3306) socket closed - :closed": _NOTHING,
    "MyXQL.Client (#PID<0.2410.0>) timed out because it was handshaking for longer than 15000ms": _NOTHING,
    # The same words inside other words.
    "** (DBConnection.ConnectionError) (10.60.0.7:3306) timeout waiting for the queue": _NOTHING,
    "the job hit its session timeout expired marker": _NOTHING,
}


@pytest.mark.parametrize("text, expected", ROWS.items(), ids=[t[:70] for t in ROWS])
def test_a_connect_error_proves_what_its_words_say(text, expected):
    signals, dialled, unsaid = expected
    assert (classify(text) & {DB, WAIT}, dial_timed_out(text), startup_timed_out(text)) == (signals, dialled, unsaid)
