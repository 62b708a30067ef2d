"""503s ended at a fixed latency under the hang bar, with nothing logged of a wait on any path, are not
shown to be a busy connector's. A framework's own timeout answers 503 so and may log nothing (Go's
http.TimeoutHandler writes its 503 and logs nothing itself; Express's connect-timeout and Spring's async
request timeout log only as the application's error handling chooses): a bigger connector is not shown
to change them. A saturated connector's 503s come with a wait logged (a dial or read timeout, a pool that
ran out, an HTTP call that timed out), or with a hang at a client timeout; those keep the scale-up."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.facts import Facts
from shared.diagnosis.rules import connector_saturation

from tests.unit.builders import Evidence
from tests.unit.test_connector_own_timeout_503s import scaled_or_held
from tests.unit.test_diagnosis import OLD, SQL

S = DiagnosisSettings()

DIAL = "dial tcp 10.20.0.3:5432: i/o timeout"
PG_DIAL = ('psycopg2.OperationalError: connection to server at "10.20.0.3", port 5432 failed: Connection timed out'
           '\n\tIs the server running on that host and accepting TCP/IP connections?')
POOL = "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00"
HIKARI = ("java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out "
          "after 10004ms.")
UNRELATED = "payment declined for order 4411: card expired"
# Cloud Run's own 503 in the request log: Cloud Run answered, not a timeout of the application's; its
# troubleshooting page names a connector bottleneck among the causes (docs.cloud.google.com/run/docs/troubleshooting).
CLOUD_RUN_503 = ("The request failed because either the HTTP response was malformed or connection to the instance "
                 "had an error. Additional troubleshooting documentation can be found at: "
                 "https://cloud.google.com/run/docs/troubleshooting#malformed-response-or-connection-error")
REQUESTS = "run.googleapis.com/requests"

# p99: the 503s' latency (s); slow: 503s per minute beside 40 of 200; cpu: the connector's CPU p99 while
# they fail; lines: (text, count) the application logged in the failing minutes; scaled: the scale-up is
# the answer; why: a word the doubt's summary holds.
CASES = {
    "Go's TimeoutHandler at 10 s, 20 % 503, nothing logged, connector CPU 92 %: in doubt": dict(
        p99=10.0, slow=10, cpu=0.92, lines=[], scaled=False),
    "Express connect-timeout at 5 s, 33 % 503, nothing logged: in doubt": dict(
        p99=5.0, slow=20, cpu=0.92, lines=[], scaled=False),
    "a 20 s timeout of the application's own, 60 % 503, nothing logged: in doubt": dict(
        p99=20.0, slow=60, cpu=0.95, lines=[], scaled=False),
    "a 12 s timeout, nothing but an unrelated error logged: in doubt": dict(
        p99=12.0, slow=10, cpu=0.92, lines=[(UNRELATED, 8)], scaled=False),
    "503s at 10 s beside Go's dial timeouts to the database: the connector": dict(
        p99=10.0, slow=10, cpu=0.92, lines=[(DIAL, 6)], scaled=True),
    "503s at 10 s beside psycopg2's connect timeouts: the connector": dict(
        p99=10.0, slow=10, cpu=0.92, lines=[(PG_DIAL, 4)], scaled=True),
    "503s at 10 s beside HikariCP's pool waits: the connector": dict(
        p99=10.0, slow=10, cpu=0.92, lines=[(HIKARI, 5)], scaled=True),
    "503s at 30 s (a hang at a client timeout), nothing logged: the connector (unchanged)": dict(
        p99=30.2, slow=10, cpu=0.92, lines=[], scaled=True),
    "503s at 10 s beside SQLAlchemy's pool waits, 60 % 503: the connector": dict(
        p99=10.0, slow=60, cpu=0.95, lines=[(POOL, 5)], scaled=True),
    "503s at 10 s that Cloud Run's request log says it answered itself: the connector": dict(
        p99=10.0, slow=10, cpu=0.92, lines=[], cloud_run_503s=2, scaled=True),
    "503s at 5 s, Cloud Run's own 503 once a minute (fewer than db_error_logs_min): in doubt": dict(
        p99=5.0, slow=20, cpu=0.92, lines=[], cloud_run_503s=0.2, scaled=False),
}


def _evidence(case: dict) -> Evidence:
    e = (Evidence().revision(OLD, -300, sql=(SQL,), timeout=300).traffic(**{OLD: 100})
         .requests(OLD, -90, 5, 40).requests(OLD, -15, 5, case["slow"], code="503")
         .latency(OLD, -90, -15, 0.5).latency(OLD, -15, 5, case["p99"])
         .median(OLD, -90, -15, 0.14).median(OLD, -15, 5, 0.16)
         .instances(OLD, -90, 5, 4).sql_up(-90, 5, 1).connector(max_instances=3)
         .connector_metric("instances", -90, -16, 2).connector_metric("instances", -16, 5, 3)
         .connector_metric("cpu", -90, -16, 0.3).connector_metric("cpu", -16, 5, case["cpu"])
         .connector_metric("bytes", -90, 5, 1e6))
    for text, count in case["lines"]:
        for minute in range(-14, 0, 3):
            e.log(minute, text, revision=OLD, count=count)
    per_minute = case.get("cloud_run_503s", 0)
    if per_minute:   # that many a minute over the 15 failing minutes (0.2: three in all)
        e.log(-5, CLOUD_RUN_503, OLD, count=round(per_minute * 15), log_id=REQUESTS, severity="ERROR", status=503)
    return e


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_503s_at_a_fixed_latency_with_no_wait_logged_are_not_put_on_a_busy_connector(case):
    scaled_or_held(_evidence(case), case["scaled"], "no wait")


def test_the_503s_logs_unread_keep_the_finding_as_it_was():
    """With the service's log read failed nothing is known of what was logged: this doubt rests on
    what the logs did not say, so it does not apply; the finding names it among the checks that could
    not run, at the unread logs' confidence (a person decides)."""
    e = _evidence(CASES["Go's TimeoutHandler at 10 s, 20 % 503, nothing logged, connector CPU 92 %: in doubt"])
    bundle = e.bundle().model_copy(update={"logs": None})

    connector = connector_saturation.evaluate(Facts(bundle, S))

    assert connector.matched and connector.confidence <= 0.6, connector.summary
    assert "503s with no wait logged on any path" in connector.summary, connector.summary


def test_the_doubt_quotes_how_many_lines_of_a_wait_were_logged():
    """The summary and its evidence name a count of the lines of a wait ("1 errors of reaching the database"),
    never the lines themselves."""
    e = _evidence(CASES["Go's TimeoutHandler at 10 s, 20 % 503, nothing logged, connector CPU 92 %: in doubt"])
    e.log(-5, DIAL, revision=OLD)

    connector = connector_saturation.evaluate(Facts(e.bundle(), S))

    assert "(1 errors of reaching the database" in connector.summary, connector.summary
    assert "[" not in connector.summary.split("logged no wait on any path")[1][:20], connector.summary
