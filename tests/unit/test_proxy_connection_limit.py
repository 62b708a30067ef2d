"""The Cloud SQL Auth Proxy v2 at its own --max-connections closes each connection over the limit
before dialing, and says so at INFO on stdout (cloud-sql-proxy internal/proxy/proxy.go,
Client.serveSocketMount; internal/log/log.go: Infof to stdout, plain or zap's JSON at INFO). The
refusal is given inside the service's instance: nothing over the limit crosses the connector, so a
connector busy in the same minutes is never scaled alone for it, and the log read must see the line
although stdout is otherwise read at WARNING and above."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import LogSignal, Refusal, app_log_filter, classify, refusal_of
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD

S = DiagnosisSettings()
PLAIN = "2026/12/01 21:51:04 max connections (10) exceeded, refusing new connection"
STRUCTURED = "max connections (10) exceeded, refusing new connection"   # jsonPayload.message
CLOSED = ('sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "127.0.0.1", port '
          "5432 failed: server closed the connection unexpectedly")
NOW = datetime(2026, 12, 1, 22, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", [PLAIN, STRUCTURED], ids=["StdLogger", "structured"])
def test_the_proxys_own_limit_is_a_refusal_given_before_the_connector(text):
    assert classify(text) == {LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED}
    assert refusal_of(text) == Refusal.PROXY_LIMIT


# (log, severity, text, json, read?): what the service's log read returns of stdout.
ENTRIES = {
    "proxy, plain, no severity": ("stdout", "DEFAULT", PLAIN, None, True),
    "proxy, structured at INFO": ("stdout", "INFO", None, {"message": STRUCTURED, "severity": "INFO"}, True),
    "another INFO line": ("stdout", "INFO", "GET /cart 200 12ms", None, False),
    "a WARNING line": ("stdout", "WARNING", "pool is slow", None, True),
    "stderr, any severity": ("stderr", "DEFAULT", "Traceback (most recent call last):", None, True),
}


@pytest.mark.parametrize("log, severity, text, payload, read", ENTRIES.values(), ids=ENTRIES.keys())
def test_the_log_read_sees_the_proxys_info_line_and_no_other_info(log, severity, text, payload, read):
    """Judged by the Logging stand-in's parser of the query language, on the entry as Cloud Run writes it."""
    from sandbox.standins.logging import EntrySeed, _flatten, entry_from_seed, log_name_for, parse_filter

    query = parse_filter(app_log_filter("p", "checkout", "us-central1", NOW - timedelta(minutes=30), NOW))
    entry = entry_from_seed(EntrySeed(
        log_name=log_name_for("p", f"run.googleapis.com/{log}"), timestamp=NOW - timedelta(minutes=1),
        resource_type="cloud_run_revision", resource_labels={"service_name": "checkout", "location": "us-central1"},
        severity=severity, text=text, json=payload))
    assert query.matches(_flatten(entry, "p")) is read


def busy_connector_and(*logs: tuple[str, int]) -> Evidence:
    """One revision for hours; from -7m a third of its requests 503 in about a second; the connector
    newly at max with CPU 90%; Cloud SQL up; then `logs` (text, count) from -6m."""
    evidence = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
                .requests(OLD, -7, 5, 20, code="503").latency(OLD, -90, 5, 1.2).sql_up(-90, 5, 1)
                .connector(max_instances=3).connector_metric("instances", -90, -7, 2)
                .connector_metric("instances", -7, 5, 3).connector_metric("cpu", -90, -7, 0.2)
                .connector_metric("cpu", -7, 5, 0.9).connector_metric("bytes", -90, 5, 2e6))
    for text, count in logs:
        evidence = evidence.log(-6, text, OLD, count=count)
    return evidence


# logs -> (signature, competing): never connector_saturation alone, never a scale.
CASES = {
    "the proxy's refusals and the client's closed sockets": (
        ((PLAIN, 20), (CLOSED, 20)), Signature.INCONCLUSIVE, {"connector_saturation", "database_unreachable"}),
    "the proxy's refusals alone": (((PLAIN, 20),), Signature.DATABASE_UNREACHABLE, set()),
}


@pytest.mark.parametrize("logs, signature, competing", CASES.values(), ids=CASES.keys())
def test_a_busy_connector_is_not_scaled_for_the_proxys_own_limit(logs, signature, competing):
    bundle = busy_connector_and(*logs).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert set(result.competing) == competing, result.summary
    assert plan(result, bundle, S).action is None
    if signature is Signature.DATABASE_UNREACHABLE:
        assert result.summary.startswith("the Cloud SQL Auth Proxy in the service's instances refuses"), result.summary
        assert "--max-connections" in result.recommendation


def deploy_with(old_concurrency: int | None, new_concurrency: int | None) -> Evidence:
    """OLD served cleanly until NEW (deployed at -10m) took all traffic; from -9m NEW's Auth Proxy
    sidecar refuses at its own limit and its requests fail; the connector quiet."""
    return (Evidence().revision(OLD, -180, sql=(SQL,), concurrency=old_concurrency)
            .revision(NEW, -10, sql=(SQL,), concurrency=new_concurrency).traffic(**{NEW: 100})
            .requests(OLD, -90, -10, 40).requests(NEW, -10, 5, 18).requests(NEW, -10, 5, 27, code="503")
            .latency(OLD, -20, -10, 0.2).latency(NEW, -10, 5, 0.4)
            .connector(max_instances=3).connector_metric("instances", -20, 5, 2)
            .connector_metric("cpu", -20, 5, 0.3).connector_metric("bytes", -20, 5, 2e6).sql_up(-20, 5, 1)
            .log(-9, PLAIN, NEW, count=20))


# (concurrency before, after) -> (signature, the planned action): the proxy is a container of the
# revision, and its limit is per instance; a deploy that made each instance run more requests at
# once brought the connections over it, and sending traffic back undoes that.
DEPLOYS = {
    "concurrency raised 20 -> 80": ((20, 80), Signature.BAD_REVISION, "rollback_traffic"),
    "concurrency unchanged": ((80, 80), Signature.INCONCLUSIVE, None),
    "concurrency lowered": ((80, 40), Signature.INCONCLUSIVE, None),
    "concurrency not read on one side": ((None, 80), Signature.INCONCLUSIVE, None),
}


@pytest.mark.parametrize("concurrency, signature, action", DEPLOYS.values(), ids=DEPLOYS.keys())
def test_the_proxys_limit_after_a_deploy_that_raised_concurrency_is_the_deploys_own(concurrency, signature, action):
    bundle = deploy_with(*concurrency).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    planned = plan(result, bundle, S).action
    assert planned == action, result.summary
