"""gunicorn's "[CRITICAL] WORKER TIMEOUT (pid:N)" says a worker was stuck past gunicorn's --timeout, not
on what (benoitc/gunicorn gunicorn/arbiter.py, murder_workers: logged before the arbiter aborts the
worker, then kills it; reap_workers: "Worker (pid:N) was sent SIGKILL! Perhaps out of memory?"). With no
wait on the database path in the same minutes (fewer than db_error_logs_min errors of reaching the
database and pool waits), a connector busy with another service's traffic competes and is never scaled
alone on them; with such waits, a worker stuck on a dial through the connector is as likely, and its
case is as before."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.rules import connector_saturation
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import OLD, PSYCOPG

S = DiagnosisSettings()
CONNECTION_ERROR = ("The request failed because either the HTTP response was malformed or connection to the instance "
                    "had an error. Additional troubleshooting documentation can be found at: "
                    "https://cloud.google.com/run/docs/troubleshooting#malformed-response-or-connection-error")
TIMEOUT = "[2026-12-03 11:52:31 +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:{pid})"
KILLED = "[2026-12-03 11:52:32 +0000] [1] [ERROR] Worker (pid:{pid}) was sent SIGKILL! Perhaps out of memory?"
JSON_TIMEOUT = "WORKER TIMEOUT (pid:{pid})"   # a JSON formatter's message field (the payload's text)
PUMA = "[1] ! Terminating timed out worker (worker failed to check in within 60 seconds): {pid}"  # lib/puma/cluster.rb
QUEUEPOOL = ("sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, "
             "timeout 30.00 (Background on this error at: https://sqlalche.me/e/20/3o7r)")
REQUESTS = "run.googleapis.com/requests"


def busy_connector(p99: float = 30.1, share_503: int = 50, lines: tuple = (), errors: str = "",
                   since: float = -6) -> Evidence:
    """One revision for hours; from `since` (-6m) `share_503` 503s a minute beside 200 200s with the p99 at `p99`
    seconds; another service's job takes the shared connector to its max with CPU 90% from -8m; Cloud SQL
    up; Cloud Run's own 503 text on 30 request-log entries; (text, count) `lines` on stderr from -5m, and
    20 lines of `errors`."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 200)
         .latency(OLD, -90, since, 0.09).latency(OLD, since, 5, p99)
         .sql_up(-90, 5, 1).connector(max_instances=3).connector_metric("instances", -90, -8, 2)
         .connector_metric("instances", -8, 5, 3).connector_metric("cpu", -90, -8, 0.2)
         .connector_metric("cpu", -8, 5, 0.9).connector_metric("bytes", -90, 5, 4e6))
    if share_503:
        e = (e.requests(OLD, since, 5, share_503, code="503")
             .log(-5, CONNECTION_ERROR, OLD, count=30, log_id=REQUESTS, severity="ERROR", status=503))
    for minute, (text, count) in enumerate(lines):
        for i in range(count):
            e = e.log(-5 + minute + i / 60, text.format(pid=8 + i), OLD, severity="CRITICAL")
    return e.log(-5, errors, OLD, count=20) if errors else e


# situation -> the verdict, and the action planned
CASES = {
    "12 worker timeouts, 503s at gunicorn's 30 s: not scaled": (
        dict(lines=((TIMEOUT, 12),)), Signature.INCONCLUSIVE, None),
    "worker timeouts and the SIGKILLs after them: not scaled": (
        dict(lines=((TIMEOUT, 6), (KILLED, 6))), Signature.INCONCLUSIVE, None),
    "workers sent SIGKILL alone (out of memory, or stuck): not scaled": (
        dict(lines=((KILLED, 8),)), Signature.INCONCLUSIVE, None),
    "a JSON formatter's worker timeouts, a hang at 28 s without 503s: not scaled": (
        dict(p99=28.4, share_503=0, since=-14, lines=((JSON_TIMEOUT, 9),)), Signature.INCONCLUSIVE, None),
    "Puma's workers timed out (the same signal): not scaled": (
        dict(lines=((PUMA, 10),)), Signature.INCONCLUSIVE, None),
    "two worker timeouts only: the connector (unchanged)": (
        dict(lines=((TIMEOUT, 2),)), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "worker timeouts and dial timeouts to the database: the connector (unchanged)": (
        dict(lines=((TIMEOUT, 12),), errors=PSYCOPG), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "no such line: the connector (unchanged)": (dict(), Signature.CONNECTOR_SATURATION, "scale_connector"),
}


@pytest.mark.parametrize("shape, signature, action", CASES.values(), ids=CASES.keys())
def test_workers_an_app_server_timed_out_are_not_put_on_a_busy_connector(shape, signature, action):
    bundle = busy_connector(**shape).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert plan(result, bundle, S).action == action, result.summary
    if signature is Signature.INCONCLUSIVE:
        assert "stuck past its application server's timeout" in result.summary, result.summary


def test_worker_timeouts_beside_pool_waits_are_judged_as_before():
    with_waits = busy_connector(lines=((TIMEOUT, 12),), errors=QUEUEPOOL).bundle()
    without = busy_connector(errors=QUEUEPOOL).bundle()

    held, before = (connector_saturation.evaluate(Facts(b, S)) for b in (with_waits, without))

    assert (held.matched, held.not_ruled_out, held.summary) == (before.matched, before.not_ruled_out, before.summary)


def test_the_held_back_finding_names_the_worker_timeouts_and_where_to_look():
    connector = connector_saturation.evaluate(Facts(busy_connector(lines=((TIMEOUT, 12),)).bundle(), S))

    assert connector.not_ruled_out and "12" in connector.summary and "WORKER TIMEOUT" in connector.summary
    assert "faulthandler" in connector.recommendation or "py-spy" in connector.recommendation
    cited = [i for i in connector.evidence if "WORKER TIMEOUT" in i.query]
    assert cited and cited[0].role == "context" and "0 errors of reaching the database" in cited[0].observed, cited
