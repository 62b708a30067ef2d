"""Stacks that say "the dial timed out" or "the pool had no connection" in their own words: Elixir's
Postgrex, the Netty-based reactive drivers (R2DBC, Vert.x), libpq before 14 under Ruby, PHP and Python,
R2DBC's pool and Ruby's Sequel. A dial that timed out is the connector's signature when its own signs
rose (log_signals.dial_timed_out); a pool wait is the application's pool full (the database slow or the
pool small) and never, by itself, a dial. Each text is read for its signals and for whether it is a dial
that timed out; the controls beside them are the same words to a port no database listens on, a query's
timeout, or a pool's validation, which are neither."""
from __future__ import annotations

import pytest

from shared.diagnosis.log_signals import LogSignal, classify, dial_timed_out

DB, WAIT = LogSignal.DB_CONNECTION, LogSignal.DB_POOL_WAIT

# text -> (the signals it carries, whether it is a dial that timed out)
TEXTS: dict[str, tuple[frozenset[LogSignal], bool]] = {
    # Postgrex's connect that timed out, as DBConnection logs it (elixir-ecto/postgrex lib/postgrex/protocol.ex).
    "[error] Postgrex.Protocol (#PID<0.2931.0>) failed to connect: ** (DBConnection.ConnectionError) tcp connect "
    "(10.60.0.9:5432): timeout - :timeout": (frozenset({DB}), True),
    "** (DBConnection.ConnectionError) tcp connect (/cloudsql/shop:europe-west1:db/.s.PGSQL.5432): timeout - "
    ":timeout": (frozenset({DB}), True),
    # Netty's connect timer to a database port (netty/netty AbstractNioChannel.connect), newer and older words.
    "Caused by: io.netty.channel.ConnectTimeoutException: connection timed out after 10000 ms: /10.60.0.9:5432":
        (frozenset({DB}), True),
    "io.netty.channel.ConnectTimeoutException: connection timed out: db.internal/10.60.0.9:3306": (frozenset({DB}), True),
    # libpq before 14 says "timeout expired" with no address, under its wrappers.
    "PG::ConnectionBad: timeout expired": (frozenset({DB}), True),
    "ActiveRecord::ConnectionNotEstablished (timeout expired\n):": (frozenset({DB}), True),
    "SQLSTATE[08006] [7] timeout expired (Connection: pgsql, SQL: select * from \"orders\" limit 1)":
        (frozenset({DB}), True),
    "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) timeout expired": (frozenset({DB}), True),
    # Pool waits: the application's pool, never a dial.
    "io.r2dbc.spi.R2dbcTimeoutException: Connection acquisition timed out after 5000ms": (frozenset({WAIT}), False),
    "Sequel::PoolTimeout: timeout: 5.0, elapsed: 5.002": (frozenset({WAIT}), False),
    "Sequel::PoolTimeout (timeout: 5, database name: primary)": (frozenset({WAIT}), False),
    "** (DBConnection.ConnectionError) connection not available and request was dropped from queue after 2950ms. "
    "This means requests are coming in and your connection pool cannot serve them fast enough.":
        (frozenset({WAIT}), False),
    "ActiveRecord::ConnectionTimeoutError: could not obtain a connection from the pool within 5.000 seconds (waited "
    "5.001 seconds); all pooled connections were in use": (frozenset({WAIT}), False),
    "error returned from database: pool timed out while waiting for an open connection": (frozenset({WAIT}), False),
    "KnexTimeoutError: Knex: Timeout acquiring a connection. The pool is probably full. Are you missing a "
    ".transacting(trx) call?": (frozenset({WAIT}), False),
    "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after "
    "30000ms.": (frozenset({WAIT}), False),
    # Controls: the same words elsewhere are neither.
    "io.netty.channel.ConnectTimeoutException: connection timed out after 10000 ms: /10.60.0.12:6379":
        (frozenset(), False),
    "io.netty.channel.ConnectTimeoutException: connection timed out after 10000 ms: "
    "oauth2.googleapis.com/142.250.74.42:443": (frozenset(), False),
    "io.r2dbc.spi.R2dbcTimeoutException: Validation timed out after 5000ms": (frozenset(), False),
    "** (DBConnection.ConnectionError) tcp recv: closed": (frozenset(), False),
    "session timeout expired, logging out": (frozenset(), False),
    "Sequel::DatabaseConnectionError: PG::ConnectionBad: could not connect to server: Connection refused":
        (frozenset({DB}), False),
}


@pytest.mark.parametrize("text, expected", TEXTS.items(), ids=[t[:60] for t in TEXTS])
def test_each_stack_says_a_dial_timed_out_or_a_pool_wait_in_its_own_words(text, expected):
    signals, timed_out = expected
    assert (classify(text) & {DB, WAIT}, dial_timed_out(text)) == (signals, timed_out)
