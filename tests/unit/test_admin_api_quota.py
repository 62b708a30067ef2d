"""The Cloud SQL Admin API's 429 at the project's quota, to the calls the Auth Proxy and the Cloud SQL
connectors make for an instance's connect settings and an ephemeral certificate (cloud-sql-go-connector
internal/cloudsql/refresh.go; its issue #413: at the per-minute quota "no connection to cloudsql can be
established"). A scale-out of many instances at once spends the quota together, and the connector the
same burst keeps busy explains none of it: the calls go to sqladmin.googleapis.com and no connection
to the database is dialled. So the API's answer is a refusal given before the connector: a busy
connector is never scaled alone for it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.log_signals import LogSignal, Refusal, app_log_filter, classify, refusal_of
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
NOW = datetime(2026, 12, 2, 20, 0, tzinfo=timezone.utc)
QUOTA = ("googleapi: Error 429: Quota exceeded for quota metric 'Connect Queries' and limit 'Connect Queries per "
         "minute per user' of service 'sqladmin.googleapis.com' for consumer 'project_number:418207365093'., "
         "rateLimitExceeded")
# The Auth Proxy v2's Errorf line (stderr), the metadata call refused.
PROXY = ('2026/12/02 19:41:07 [shop:us-central1:orders-db] failed to connect to instance: failed to get instance: '
         'Refresh error: failed to get instance metadata (connection name = "shop:us-central1:orders-db"): ' + QUOTA)
# The same, the certificate call refused (refresh.go: "create ephemeral cert failed", then "fetch
# ephemeral cert failed: %w").
PROXY_CERT = ('[shop:us-central1:orders-db] failed to connect to instance: fetch ephemeral cert failed: Refresh error: '
              'create ephemeral cert failed (connection name = "shop:us-central1:orders-db"): ' + QUOTA)
# pgx's connect error around the Go connector's dial, in an application's own line.
PGX = ('failed to connect to `user=app database=orders`: /tmp/.s.PGSQL.5432 (/tmp): dial error: failed to get '
       'instance: Refresh error: failed to get instance metadata (connection name = "shop:us-central1:orders-db"): '
       + QUOTA)
# The Java connector's failed refresh, its cause in the same entry (a stack trace logged as one entry).
JAVA = ("java.lang.RuntimeException: [shop:us-central1:orders-db] Failed to update metadata for Cloud SQL instance.\n"
        "\tat com.google.cloud.sql.core.CloudSqlInstance.addExceptionContext(CloudSqlInstance.java:598)\n"
        "Caused by: com.google.api.client.googleapis.json.GoogleJsonResponseException: 429 Too Many Requests\n"
        "GET https://sqladmin.googleapis.com/sql/v1beta4/projects/shop/instances/orders-db/connectSettings")
CLOSED = ('sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "127.0.0.1", port '
          "5432 failed: server closed the connection unexpectedly")


@pytest.mark.parametrize("text", [PROXY, PROXY_CERT, PGX, JAVA], ids=["proxy", "proxy cert", "pgx", "java"])
def test_the_admin_apis_429_to_a_connector_is_a_refusal_of_its_own(text):
    assert classify(text) == {LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED}
    assert refusal_of(text) == Refusal.ADMIN_API_QUOTA


# Lines that are no such refusal: another API's 429 (no connector's words), the proxy's dial that
# timed out (nothing answered), the Java connector's refresh that failed for another reason.
OTHERS = {
    "another API's 429": ("sheets sync failed: googleapi: Error 429: Quota exceeded for quota metric 'Read requests' "
                          "and limit 'Read requests per minute per user' of service 'sheets.googleapis.com'", set(), ""),
    "the proxy's dial timeout": ('[p:r:i] failed to connect to instance: Dial error: failed to dial (connection name = '
                                 '"p:r:i"): dial tcp 10.20.0.3:3307: i/o timeout',
                                 {LogSignal.DB_CONNECTION}, ""),
    "the Java refresh, a 503": ("java.lang.RuntimeException: [p:r:i] Failed to update metadata for Cloud SQL instance.\n"
                                "Caused by: com.google.api.client.googleapis.json.GoogleJsonResponseException: 503 "
                                "Service Unavailable", {LogSignal.DB_CONNECTION}, ""),
}


@pytest.mark.parametrize("text, signals, refusal", OTHERS.values(), ids=OTHERS.keys())
def test_other_429s_and_unanswered_refreshes_are_not_the_quota(text, signals, refusal):
    assert classify(text) == signals
    assert refusal_of(text) == refusal


@pytest.mark.parametrize("text", [PROXY, PGX], ids=["proxy", "pgx"])
def test_the_log_read_asks_for_the_quota_lines_on_stdout_at_any_severity(text):
    """Judged by the Logging stand-in's parser of the query language: a plain stdout line has no severity."""
    from sandbox.standins.logging import EntrySeed, _flatten, entry_from_seed, log_name_for, parse_filter

    query = parse_filter(app_log_filter("p", "checkout", "us-central1", NOW - timedelta(minutes=30), NOW))
    entry = entry_from_seed(EntrySeed(
        log_name=log_name_for("p", "run.googleapis.com/stdout"), timestamp=NOW - timedelta(minutes=1),
        resource_type="cloud_run_revision", resource_labels={"service_name": "checkout", "location": "us-central1"},
        severity="DEFAULT", text=text, json=None))
    assert query.matches(_flatten(entry, "p"))


def burst_through_busy_connector(*logs: tuple[str, int]) -> Evidence:
    """One revision for hours; from -7m a burst: a fifth of its requests 503 after ~2 s, the connector
    newly at max with CPU 88%; Cloud SQL up; then `logs` (text, count) from -6m."""
    evidence = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 40)
                .requests(OLD, -7, 5, 12, code="503").latency(OLD, -90, 5, 2.1).sql_up(-90, 5, 1)
                .connector(max_instances=3).connector_metric("instances", -90, -7, 2)
                .connector_metric("instances", -7, 5, 3).connector_metric("cpu", -90, -7, 0.25)
                .connector_metric("cpu", -7, 5, 0.88).connector_metric("bytes", -90, 5, 2e6))
    for text, count in logs:
        evidence = evidence.log(-6, text, OLD, count=count)
    return evidence


# logs -> (signature, competing): never connector_saturation alone, never a scale.
CASES = {
    "the API's 429s and the client's closed sockets": (
        ((PROXY, 20), (CLOSED, 20)), Signature.INCONCLUSIVE, {"connector_saturation", "database_unreachable"}),
    "the API's 429s alone (pgx)": (((PGX, 20),), Signature.DATABASE_UNREACHABLE, set()),
    "the Java connector's 429s": (((JAVA, 20),), Signature.DATABASE_UNREACHABLE, set()),
}


@pytest.mark.parametrize("logs, signature, competing", CASES.values(), ids=CASES.keys())
def test_a_busy_connector_is_not_scaled_for_the_admin_apis_quota(logs, signature, competing):
    bundle = burst_through_busy_connector(*logs).bundle()

    result = diagnose(bundle, S)

    assert result.signature is signature, result.summary
    assert set(result.competing) == competing, result.summary
    assert plan(result, bundle, S).action is None
    assert "sqladmin.googleapis.com" in result.recommendation
    if signature is Signature.DATABASE_UNREACHABLE:
        assert result.summary.startswith("the Cloud SQL Admin API refuses the connectors' calls"), result.summary
