"""The database's own answers, and dials that timed out, in the words of stacks the tables were not tried
on: PHP PDO and Laravel, Ruby's pg gem and ActiveRecord, Elixir's Postgrex and MyXQL under DBConnection,
Rust's sqlx and tokio-postgres, Django, TypeORM, Spring's R2DBC and .NET's Npgsql under EF Core. Each
wraps the server's words (PostgreSQL's FATAL and SQLSTATE, MySQL's error numbers) in its own: an answer
must read as the database's (never a connector that cannot carry the dial, whose scaling is the worst
outcome), and a dial that timed out must read as one (a saturated connector's sign)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.log_signals import LogSignal, Refusal, refusal_of, signals_in
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence
from tests.unit.test_database_refusals import OLD, newly_saturated, serving
from tests.unit.test_database_refusals import test_database_and_secret_incidents as judged

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
_PG_AT = 'connection to server at "10.20.0.3", port 5432 failed: '

# The server's answers, each in its stack's wrapping: PDO ("SQLSTATE[08006] [7] " before libpq's message,
# "SQLSTATE[HY000] [<errno>] " before MySQL's), the pg gem's PG::ConnectionBad (libpq's message), Postgrex.Error
# ("<severity> <pg_code> (<condition>) <message>"), sqlx ("error returned from database: "), tokio-postgres
# ("db error: <severity>: "), R2DBC ("[<sqlstate>] "), Npgsql ("<sqlstate>: "). The wrappings as these
# stacks' users quote them (their paths in each library's source UNCONFIRMED); the server's words inside
# are PostgreSQL's and MySQL's own, which the tables read whatever wraps them.
ANSWERS = {
    "PDO pgsql, too many clients": (f"PDOException: SQLSTATE[08006] [7] {_PG_AT}FATAL:  sorry, too many clients "
                                    "already", Refusal.CONNECTION_LIMIT),
    "Laravel over PDO pgsql, password": (
        f'Illuminate\\Database\\QueryException: SQLSTATE[08006] [7] {_PG_AT}FATAL:  password authentication failed '
        'for user "app" (Connection: pgsql, SQL: select * from "users" limit 1)', Refusal.CREDENTIALS),
    "Laravel over PDO mysql, 1040": ("Illuminate\\Database\\QueryException: SQLSTATE[HY000] [1040] Too many "
                                     "connections (Connection: mysql, SQL: select 1)", Refusal.CONNECTION_LIMIT),
    "Laravel over PDO mysql, 1045": ("Illuminate\\Database\\QueryException: SQLSTATE[HY000] [1045] Access denied "
                                     "for user 'app'@'cloudsqlproxy~10.8.0.4' (using password: YES) (Connection: "
                                     "mysql, SQL: select 1)", Refusal.CREDENTIALS),
    "pg gem, too many clients": (f"PG::ConnectionBad: {_PG_AT}FATAL:  sorry, too many clients already",
                                 Refusal.CONNECTION_LIMIT),
    "ActiveRecord, reserved slots": (f"ActiveRecord::ConnectionNotEstablished: {_PG_AT}FATAL:  remaining connection "
                                     "slots are reserved for non-replication superuser connections",
                                     Refusal.CONNECTION_LIMIT),
    "Postgrex, too many connections": (
        "[error] Postgrex.Protocol (#PID<0.2510.0>) failed to connect: ** (Postgrex.Error) FATAL 53300 "
        "(too_many_connections) sorry, too many clients already", Refusal.CONNECTION_LIMIT),
    "Postgrex, password": (
        "[error] Postgrex.Protocol (#PID<0.2510.0>) failed to connect: ** (Postgrex.Error) FATAL 28P01 "
        '(invalid_password) password authentication failed for user "app"', Refusal.CREDENTIALS),
    "sqlx, too many clients": ("error returned from database: sorry, too many clients already",
                               Refusal.CONNECTION_LIMIT),
    "sqlx, password": ('Error: error returned from database: password authentication failed for user "app"',
                       Refusal.CREDENTIALS),
    "tokio-postgres, too many clients": ("db error: FATAL: sorry, too many clients already", Refusal.CONNECTION_LIMIT),
    "Django over psycopg, too many clients": (f"django.db.utils.OperationalError: {_PG_AT}FATAL:  sorry, too many "
                                              "clients already", Refusal.CONNECTION_LIMIT),
    "Django over mysqlclient, 1040": ("django.db.utils.OperationalError: (1040, 'Too many connections')",
                                      Refusal.CONNECTION_LIMIT),
    "R2DBC, too many clients": ("io.r2dbc.postgresql.ExceptionFactory$PostgresqlNonTransientResourceException: "
                                "[53300] sorry, too many clients already", Refusal.CONNECTION_LIMIT),
    "R2DBC, password": ("io.r2dbc.postgresql.ExceptionFactory$PostgresqlAuthenticationFailure: [28P01] password "
                        'authentication failed for user "app"', Refusal.CREDENTIALS),
    "Npgsql under EF Core, too many clients": (
        "Npgsql.PostgresException (0x80004005): 53300: sorry, too many clients already\n   at Npgsql.Internal."
        "NpgsqlConnector.ReadMessageLong(Boolean async, DataRowLoadingMode dataRowLoadingMode, Boolean "
        "readingNotifications, Boolean isReadingPrependedMessage)\n   at Microsoft.EntityFrameworkCore.Storage."
        "RelationalConnection.OpenInternalAsync(Boolean errorsExpected, CancellationToken cancellationToken)",
        Refusal.CONNECTION_LIMIT),
}

# Dials that timed out, each in its stack's words: no answer, a connector's sign. Postgrex (and Mariaex)
# raise DBConnection.ConnectionError "tcp connect (<host>:<port>): <reason>", the reason :timeout as is and
# a POSIX one as :inet.format_error's words then " - :<atom>" (elixir-ecto/postgrex lib/postgrex/protocol.ex,
# connect_endpoint and conn_error).
POSTGREX_TIMEOUT = ("[error] Postgrex.Protocol (#PID<0.2510.0>) failed to connect: ** (DBConnection.ConnectionError) "
                    "tcp connect (10.20.0.3:5432): timeout")
POSTGREX_TIMEDOUT = ("** (DBConnection.ConnectionError) tcp connect (10.20.0.3:5432): connection timed out - "
                     ":etimedout")
DIALS = {
    "Laravel over PDO pgsql": (f"Illuminate\\Database\\QueryException: SQLSTATE[08006] [7] {_PG_AT}Connection timed "
                               "out\n\tIs the server running on that host and accepting TCP/IP connections? "
                               "(Connection: pgsql, SQL: select 1)"),
    "Laravel over PDO mysql": ("Illuminate\\Database\\QueryException: SQLSTATE[HY000] [2002] Connection timed out "
                               "(Connection: mysql, SQL: select * from `users` limit 1)"),
    "pg gem": f"PG::ConnectionBad: {_PG_AT}timeout expired",
    "Postgrex under DBConnection, :timeout": POSTGREX_TIMEOUT,
    "Postgrex under DBConnection, :etimedout": POSTGREX_TIMEDOUT,
    "sqlx": "error communicating with database: Connection timed out (os error 110)",
    "Django over psycopg": (f"django.db.utils.OperationalError: {_PG_AT}Connection timed out\n\tIs the server "
                            "running on that host and accepting TCP/IP connections?"),
    "TypeORM over node-postgres": ("[TypeOrmModule] Unable to connect to the database. Retrying (2)... Error: connect "
                                   "ETIMEDOUT 10.20.0.3:5432"),
    "Npgsql under EF Core": ("Npgsql.NpgsqlException (0x80004005): Failed to connect to 10.20.0.3:5432\n ---> "
                             "System.TimeoutException: The operation has timed out."),
}
# Postgrex's own words for what is no dial of the database's: the name did not resolve.
POSTGREX_NXDOMAIN = ("** (DBConnection.ConnectionError) tcp connect (orders-db.internal:5432): non-existing domain - "
                     ":nxdomain")


def _signals(text: str) -> set[LogSignal]:
    return signals_in(LogRecord(timestamp=NOW, log_id="run.googleapis.com/stderr", text=text))


@pytest.mark.parametrize("text,refusal", ANSWERS.values(), ids=ANSWERS.keys())
def test_an_answer_reads_as_the_databases(text, refusal):
    assert LogSignal.DB_REFUSED in _signals(text)
    assert refusal_of(text) == refusal


@pytest.mark.parametrize("text", DIALS.values(), ids=DIALS.keys())
def test_a_dial_that_timed_out_reads_as_one(text):
    assert LogSignal.DB_CONNECTION in _signals(text)
    assert refusal_of(text) == ""


def test_a_name_that_did_not_resolve_is_no_dial_that_timed_out():
    assert LogSignal.DB_CONNECTION not in _signals(POSTGREX_NXDOMAIN)


INCIDENTS = {
    **{f"{name} at a newly saturated connector: escalated, never scaled": dict(
        build=lambda e, text=text: newly_saturated(serving(e, code="503")).log(-5, text, OLD, count=25),
        expect=Signature.DATABASE_UNREACHABLE)
       for name, (text, _) in ANSWERS.items() if name in (
           "Laravel over PDO mysql, 1040", "pg gem, too many clients", "Postgrex, too many connections",
           "sqlx, too many clients", "R2DBC, too many clients", "Npgsql under EF Core, too many clients")},
    **{f"Postgrex's dial timeouts ({name}) at a newly saturated connector: the connector is scaled": dict(
        build=lambda e, text=text: newly_saturated(serving(e, code="503", latency=31)).log(-5, text, OLD, count=25),
        expect=Signature.CONNECTOR_SATURATION, action="scale_connector")
       for name, text in ((":timeout", POSTGREX_TIMEOUT), (":etimedout", POSTGREX_TIMEDOUT))},
}


@pytest.mark.parametrize("case", INCIDENTS.values(), ids=INCIDENTS.keys())
def test_incidents(case):
    judged(case)
