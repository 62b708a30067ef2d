"""A Cloud SQL for PostgreSQL instance whose server process dies (most often killed for memory) ends
every other session to recover: 57P02 crash_shutdown, "terminating connection because of crash of
another server process" (postgres.c quickdie), then libpq's closed socket. The database answered by
ending the connections, so a connector busy with another service's traffic in the same minutes is
not scaled for them; the advice names the instance's memory, which Runwarden does not read."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import LogSignal, Refusal, classify, refusal_of
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.test_proxy_connection_limit import busy_connector_and

S = DiagnosisSettings()
CRASH = "terminating connection because of crash of another server process"
WHOLE = (f"sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) {CRASH}\nDETAIL:  The postmaster has commanded "
         "this server process to roll back the current transaction and exit, because another server process exited "
         "abnormally and possibly corrupted shared memory.\nHINT:  In a moment you should be able to reconnect to the "
         "database and repeat your command.\nserver closed the connection unexpectedly\n\tThis probably means the "
         "server terminated abnormally\n\tbefore or while processing the request.")

# text -> the refusal it names
TEXTS = {
    "psycopg2 under SQLAlchemy, one entry with libpq's closed socket": (WHOLE, Refusal.CRASHED),
    "the first line alone": (f"psycopg2.OperationalError: {CRASH}", Refusal.CRASHED),
    "the server's own log line": (f"2026-12-01 21:51:04.118 UTC [4121]: WARNING:  {CRASH}", Refusal.CRASHED),
    "an administrator's shutdown is a restart, not a crash": (
        "psycopg2.errors.AdminShutdown: terminating connection due to administrator command", Refusal.RESTARTING),
}


@pytest.mark.parametrize("text, refusal", TEXTS.values(), ids=TEXTS.keys())
def test_a_crashed_server_process_is_the_databases_answer(text, refusal):
    assert classify(text) == {LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED}
    assert refusal_of(text) == refusal


@pytest.mark.parametrize("text", [WHOLE, f"psycopg2.OperationalError: {CRASH}"], ids=["one entry", "first line"])
def test_a_busy_connector_is_not_scaled_for_sessions_the_database_ended(text):
    bundle = busy_connector_and((text, 30)).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert plan(result, bundle, S).action is None
    assert "memory" in result.recommendation


# MySQL error 1129 at max_connect_errors: the database answered, blocking the source address, which
# through a connector is every revision's.
BLOCKED = ("pymysql.err.OperationalError: (1129, \"Host '10.8.0.2' is blocked because of many connection errors; "
           "unblock with 'mysqladmin flush-hosts'\")")
BLOCKED_TEXTS = {
    "PyMySQL, mysqladmin flush-hosts": BLOCKED,
    "PDO, MySQL 8's FLUSH HOSTS wording": ("PDOException: SQLSTATE[HY000] [1129] Host '10.8.0.3' is blocked because of "
                                          "many connection errors; unblock with 'FLUSH HOSTS'"),
}


@pytest.mark.parametrize("text", BLOCKED_TEXTS.values(), ids=BLOCKED_TEXTS.keys())
def test_a_blocked_host_is_the_databases_answer(text):
    assert classify(text) == {LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED}
    assert refusal_of(text) == Refusal.HOST_BLOCKED


def test_a_deploy_is_not_rolled_back_alone_while_the_database_blocks_the_connectors_address():
    from tests.unit.builders import Evidence
    from tests.unit.test_diagnosis import NEW, deployed, quiet_connector

    bundle = quiet_connector(deployed(Evidence()).log(-9, BLOCKED, NEW, count=20)).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert set(result.competing) == {"bad_revision", "database_unreachable"}, result.summary
    assert plan(result, bundle, S).action is None
    assert "FLUSH HOSTS" in result.recommendation
