"""A connector busy from another service's traffic while the service's requests fail for a reason
the connector cannot cause, and a bigger connector cannot change:

- pooled connections found closed at once on their first use after a quiet night (the server's
  wait_timeout, or something on the path that forgot an idle flow): the peer answered with a FIN or a
  RST at once, where a saturated connector makes requests wait;
- statements the database ran and ended with an error of its own (a deadlock it broke, its
  temp_file_limit, its shared memory full): the statement crossed the connector both ways;
- instances whose container process exited mid-request (a panic, a fatal signal): Cloud Run's own
  503 for the requests in flight.

Each is escalated, never scaled for; the same errors with requests that waited, or beside dial
timeouts, leave the connector's case as it was. After a deploy that brought the deadlocks, the
rollback stands."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import crash_signal
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, PSYCOPG, deployed, quiet_connector

S = DiagnosisSettings()

# An open connection found closed: each driver's words (log_signals.CLOSED_CONNECTION_TEXTS).
CLOSED = {
    "psycopg2": "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) server closed the connection "
                "unexpectedly\n\tThis probably means the server terminated abnormally\n\tbefore or while processing "
                "the request.",
    "asyncpg": "asyncpg.exceptions.ConnectionDoesNotExistError: connection was closed in the middle of operation",
    "pgjdbc": "org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend.",
    "node-postgres": "Error: Connection terminated unexpectedly\n    at Connection.<anonymous> "
                     "(/app/node_modules/pg/lib/client.js:132:73)",
    "MySQL 2013": "pymysql.err.OperationalError: (2013, 'Lost connection to MySQL server during query')",
    "MySQL 2006": "MySQLdb.OperationalError: (2006, 'MySQL server has gone away')",
    "go-sql-driver": "[mysql] 2026/12/03 07:02:11 packets.go:37: unexpected EOF",
}
# pgjdbc's same words over a read that waited out its socketTimeout: a wait, not a connection found closed.
PGJDBC_READ_TIMEOUT = ("org.postgresql.util.PSQLException: An I/O error occurred while sending to the backend.\n"
                       "Caused by: java.net.SocketTimeoutException: Read timed out")
# The database ran the statement and ended it (LogSignal.DB_STATEMENT_FAILED).
FAILED = {
    "PostgreSQL deadlock": "psycopg2.errors.DeadlockDetected: deadlock detected\nDETAIL:  Process 4121 waits for "
                           "ShareLock on transaction 9183; blocked by process 4133.",
    "MySQL 1213": "pymysql.err.OperationalError: (1213, 'Deadlock found when trying to get lock; try restarting "
                  "transaction')",
    "temp_file_limit": "psycopg2.errors.ConfigurationLimitExceeded: temporary file size exceeds temp_file_limit "
                       "(1048576kB)",
    "out of shared memory": "org.postgresql.util.PSQLException: ERROR: out of shared memory\n  Hint: You might need "
                            "to increase max_locks_per_transaction.",
    "shared memory segment": 'psycopg2.errors.DiskFull: could not resize shared memory segment "/PostgreSQL.14507" '
                             "to 50438144 bytes: No space left on device",
}
SYSTEM = "run.googleapis.com/varlog/system"
# Cloud Run's own request-log text for a request whose instance's connection broke (its troubleshooting
# page, "malformed response or connection error").
PLATFORM_503 = ("The request failed because either the HTTP response was malformed or connection to the instance had "
                "an error. Additional troubleshooting documentation can be found at: "
                "https://cloud.google.com/run/docs/troubleshooting#malformed-response-or-connection-error")


def busy_connector_and_503s(p99: float, errors: tuple[str, ...] = (), system: str = "",
                            platform: bool = False) -> Evidence:
    """One revision for hours, quiet before; from -8m a fifth of its requests 503 with the service's p99
    at `p99` seconds; the shared connector newly at max with CPU at 90% from -9m; Cloud SQL up. With
    `platform`, the request log holds Cloud Run's own 503 text for them."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .requests(OLD, -8, 5, 50, code="503").latency(OLD, -90, -8, 0.09).latency(OLD, -8, 5, p99).sql_up(-90, 5, 1)
         .connector(max_instances=3).connector_metric("instances", -90, -9, 2).connector_metric("instances", -9, 5, 3)
         .connector_metric("cpu", -90, -9, 0.2).connector_metric("cpu", -9, 5, 0.9)
         .connector_metric("bytes", -90, -9, 4e6).connector_metric("bytes", -9, 5, 5e6))
    for text in errors:
        e.log(-6, text, OLD, count=20)
    if system:
        for minute in (-7, -5, -3):
            e.log(minute, system, OLD, count=2, log_id=SYSTEM, severity="WARNING")
    if platform:
        e.log(-6, PLATFORM_503, OLD, count=20, log_id="run.googleapis.com/requests", severity="ERROR", status=503)
    return e


# situation -> the verdict, the action planned, and words the summary holds
CASES = {
    **{f"{name} connections found closed, 503s in 60 ms: not scaled": (
        dict(p99=0.06, errors=(text,)), Signature.INCONCLUSIVE, None, "found closed") for name, text in CLOSED.items()},
    "connections found closed, 503s that wait 3 s: the connector (unchanged)": (
        dict(p99=3.0, errors=(CLOSED["psycopg2"],)), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
    # Not a connection found closed, but a read on an established connection that waited out its timeout
    # with no dial failing beside it (tests/unit/test_connector_stale_reads.py): in doubt too.
    "pgjdbc's read timed out under the same words, 503s in 60 ms: a wait on an open connection, not scaled": (
        dict(p99=0.06, errors=(PGJDBC_READ_TIMEOUT,)), Signature.INCONCLUSIVE, None,
        "reads on established connections"),
    "connections found closed beside dial timeouts, 503s in 60 ms: the connector (unchanged)": (
        dict(p99=0.06, errors=(CLOSED["asyncpg"], PSYCOPG)), Signature.CONNECTOR_SATURATION, "scale_connector", ""),
    **{f"{name}, 503s in 3 s: the database answered, not scaled": (
        dict(p99=3.0, errors=(text,)), Signature.INCONCLUSIVE, None, "errors of its own")
       for name, text in FAILED.items()},
    "deadlocks beside dial timeouts, 503s in 3 s: the connector (unchanged)": (
        dict(p99=3.0, errors=(FAILED["PostgreSQL deadlock"], PSYCOPG)), Signature.CONNECTOR_SATURATION,
        "scale_connector", ""),
    "container exited mid-request (a Go panic), 503s in 2.4 s: not scaled": (
        dict(p99=2.4, system="Container called exit(2)."), Signature.INCONCLUSIVE, None, "process exited"),
    "container exited on a fatal signal, 503s in 2.4 s: not scaled": (
        dict(p99=2.4, system="Container called exit(139)."), Signature.INCONCLUSIVE, None, "process exited"),
    # Dial timeouts beside it: 503s with no wait logged are in doubt of their own (test_connector_unlogged_503s.py).
    "instances stopped at scale-in (exit 143) beside dial timeouts, 503s in 2.4 s: the connector (unchanged)": (
        dict(p99=2.4, errors=(PSYCOPG,), system="Container called exit(143)."), Signature.CONNECTOR_SATURATION,
        "scale_connector", ""),
    # A process a signal ended: Cloud Run's system log writes "Container terminated on signal N." (no
    # exit(N) line). A crash's signals (SIGABRT: V8's heap limit, a C library's abort; SIGSEGV, SIGBUS,
    # SIGILL, SIGFPE) end the instance's requests in flight as Cloud Run's own 503s.
    **{f"container ended on signal {n}{' with Cloud Run 503 lines' if platform else ''}, 503s in {p99} s: not scaled": (
        dict(p99=p99, system=f"Container terminated on signal {n}.", platform=platform), Signature.INCONCLUSIVE, None,
        "process ended on a signal") for n, p99, platform in ((6, 2.4, True), (11, 3.1, True), (7, 1.8, False), (4, 2.4, True),
                                                (8, 5.0, True))},
    # SIGINT, SIGKILL and SIGTERM are how an instance is asked to stop (at scale-in, at shutdown past its
    # grace period), the same codes exit(130/137/143) are read as: no crash, the connector's case stands.
    **{f"container ended on signal {n} beside dial timeouts, 503s in 2.4 s: the connector (unchanged)": (
        dict(p99=2.4, errors=(PSYCOPG,), system=f"Container terminated on signal {n}.", platform=True),
        Signature.CONNECTOR_SATURATION, "scale_connector", "") for n in (2, 9, 15)},
    "container ended on signal 6 beside dial timeouts, 503s in 2.4 s: the connector (unchanged)": (
        dict(p99=2.4, errors=(PSYCOPG,), system="Container terminated on signal 6.", platform=True),
        Signature.CONNECTOR_SATURATION, "scale_connector", ""),
    "container exited beside dial timeouts, 503s in 2.4 s: the connector (unchanged)": (
        dict(p99=2.4, errors=(PSYCOPG,), system="Container called exit(1)."), Signature.CONNECTOR_SATURATION,
        "scale_connector", ""),
}


@pytest.mark.parametrize("shape, signature, action, words", CASES.values(), ids=CASES.keys())
def test_a_busy_connector_is_not_scaled_for_what_it_cannot_cause(shape, signature, action, words):
    bundle = busy_connector_and_503s(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    assert words in result.summary, result.summary


@pytest.mark.parametrize("text", FAILED.values(), ids=FAILED.keys())
def test_statement_errors_a_deploy_brought_are_rolled_back(text):
    """The deploy brought the statement (a new lock order, a new report query): its failures began with
    it, and the rollback is the fix; a quiet connector leaves it alone."""
    bundle = quiet_connector(deployed(Evidence())).log(-8, text, NEW, count=20).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert plan(result, bundle, S).action == "rollback_traffic", result.summary


# Cloud Run's system-log line when a signal ended the container's process: a crash's signal is read,
# the signals that ask an instance to stop (SIGINT, SIGKILL, SIGTERM) are not, nor another program's words.
SIGNAL_LINES = {
    "Container terminated on signal 6.": 6,
    "Container terminated on signal 11.": 11,
    "container terminated on signal 7.": 7,
    "Container terminated on signal 4.": 4,
    "Container terminated on signal 2.": None,
    "Container terminated on signal 9.": None,
    "Container terminated on signal 15.": None,
    "Container terminated on signal 91.": 91,
    "Container called exit(134).": None,
    "worker terminated by signal 6": None,
}


@pytest.mark.parametrize("text, signal", SIGNAL_LINES.items(), ids=SIGNAL_LINES.keys())
def test_a_crash_signal_is_read_from_cloud_runs_line_alone(text, signal):
    assert crash_signal(text) == signal


@pytest.mark.parametrize("system, advice, look_next_words", [
    ("Container called exit(2).", 'the application\'s last lines before Cloud Run\'s "Container called exit(N)"',
     "the instances' crashes ("),
    ("Container terminated on signal 6.", 'the application\'s last lines before Cloud Run\'s "Container called exit(N)"',
     "the instances' crashes ("),
    ("Memory limit of 512 MiB exceeded with 530 MiB used.", "what holds their memory", "the instances' memory ("),
], ids=["exit", "signal", "memory"])
def test_what_ended_the_requests_is_said_once_beside_a_busy_connector(system, advice, look_next_words):
    """The connector's doubt over instances that crashed (or went over their memory) gives the advice for
    those lines; the look-next reads the same lines and does not say it again."""
    said = diagnose(busy_connector_and_503s(p99=2.4, system=system).bundle(), S).recommendation

    assert said.count(advice) == 1, said
    assert look_next_words not in said, said
    assert "last lines before each" not in said and "each container's memory limit" not in said, said
    assert said.startswith("look at the service's instances first"), said


@pytest.mark.parametrize("crash", ["Container called exit(2).", "Container terminated on signal 6."],
                         ids=["exit", "signal"])
def test_instances_over_memory_and_crashed_get_one_first_step_naming_both(crash):
    """Some instances ended over their memory limit, others crashed: the doubt's advice names both, first, and the
    look-next does not say the crashes again before a second "first"."""
    evidence = busy_connector_and_503s(p99=2.4, system="Memory limit of 512 MiB exceeded with 530 MiB used.")
    for minute in (-7, -5, -3):
        evidence.log(minute, crash, OLD, count=2, log_id=SYSTEM, severity="WARNING")
    said = diagnose(evidence.bundle(), S).recommendation

    assert said.startswith("look at the service's instances first"), said
    assert said.count("first") == 1, said
    assert "what holds their memory" in said and "the application's last lines before" in said, said
    assert "the instances' crashes (" not in said, said
