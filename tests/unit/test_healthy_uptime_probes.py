"""An uptime check's alert `healthy` only with its checker's probes shown answered, in time.

A busy service's burst of 503s (answered at once, so its p99 stayed low) showed the failure the uptime check
saw; since the incident opened its pages serve cleanly in 35 ms. Its /healthz probes, a sliver of its
requests, kept failing: answered 200 after the checker had given up (the check's timeout is 1 to 60 s,
UptimeCheckConfig.timeout), or with the request log unread, not seen at all. Both were `healthy` on the
service's clean share and p99, and the check's alert skipped. Now a probe at or over the least timeout a
check may have (or the alert's own latency threshold, lower) counts as failing, and an uptime check's alert
is not `healthy` without the request log read (request_callers.uptime_still_failing). Pure, no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings, VerificationSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.signatures import Signature
from shared.remediation.judging import HealthKind, judge
from tests.unit.builders import UPTIME, Evidence
from tests.unit.test_verification_judging import OLD, rollback, served, swept

S = DiagnosisSettings()
REV = "backend-00031-ket"
HOST = {"host": "backend-418273645012.us-central1.run.app"}
LATENCY = AlertContext(resource_type="uptime_url", metric_type="monitoring.googleapis.com/uptime_check/request_latency",
                       comparison="COMPARISON_GT", threshold=5000, policy="backend uptime latency")
LATENCY_FAST = LATENCY.model_copy(update={"threshold": 800})
PASSED = AlertContext(resource_type="uptime_url", metric_type="monitoring.googleapis.com/uptime_check/check_passed",
                      comparison="COMPARISON_LT", threshold=1, policy="backend uptime")
RUN_LATENCY = AlertContext(resource_type="cloud_run_revision", metric_type="run.googleapis.com/request_latencies",
                           comparison="COMPARISON_GT", threshold=2000, policy="backend p99 latency")
REFUSED = "logging: request log (its callers and uptime checks): PERMISSION_DENIED: logging.logEntries.list"


def _burst(probe_code: str = "200", since_503: float = 0) -> Evidence:
    """backend at 400 requests a minute, 300 of them 503s from -8 to 0 at 30 ms; since 0 clean at 35 ms (less
    `since_503` 503s a minute), and the uptime checker's probes, 1.2 a minute, answered `probe_code`."""
    e = Evidence(now=5).revision(REV, -1800).traffic(**{REV.replace("-", "_"): 100}).instances(REV, -60, 5, 3)
    e.requests(REV, -60, -8, 400).latency(REV, -60, -8, 0.1)
    e.requests(REV, -8, 0, 100).requests(REV, -8, 0, 300, "503").latency(REV, -8, 0, 0.03)
    e.requests(REV, 0, 5, 400 - since_503).latency(REV, 0, 5, 0.035)
    if since_503:
        e.requests(REV, 0, 5, since_503, "503")
    return e.uptime(REV, -8, 0, 1.2, "503").uptime(REV, 0, 5, 1.2, probe_code)


def _read(e: Evidence, alert: AlertContext, probe_seconds: float | None = None, unread: bool = False):
    """The alert path's bundle: the request log as read, each probe's line at `probe_seconds` (httpRequest.
    latency), or the read refused (`unread`)."""
    lines = e.request_log(-10)
    if probe_seconds is not None:
        lines = lines.model_copy(update={"entries": tuple(
            x.model_copy(update={"http_latency_seconds": probe_seconds}) if x.user_agent == UPTIME else x
            for x in lines.entries)})
    b = e.bundle().model_copy(update={"alert": alert, "request_lines": lines, "callers_asked": True})
    return b.model_copy(update={"request_lines": None, "gaps": b.gaps + (REFUSED,)}) if unread else b


CASES = [
    # name, bundle, healthy, words in the summary
    ("latency alert: probes answered 200 after 12 s, past any check's timeout: not healthy",
     _read(_burst(), LATENCY, 12.0), False, "up to 12.0 s"),
    ("check_passed alert: the same: not healthy",
     _read(_burst(), PASSED, 12.0), False, "uptime checks still fail"),
    ("latency alert: probes at 2 s, under its 5 s threshold, over a check's least timeout (1 s): not healthy",
     _read(_burst(), LATENCY, 2.0), False, "in 1.0 s or more"),
    ("latency alert at 800 ms: probes at 900 ms, over its own threshold: not healthy",
     _read(_burst(), LATENCY_FAST, 0.9), False, "in 800 ms or more"),
    ("latency alert: the request log refused: whether the probes pass is not known, not healthy",
     _read(_burst(), LATENCY, unread=True), False, "check_passed"),
    ("check_passed alert: the request log refused: not healthy",
     _read(_burst(), PASSED, unread=True), False, "PERMISSION_DENIED"),
    ("latency alert: probes answered 503 at once: not healthy (as before)",
     _read(_burst("503"), LATENCY), False, "uptime checks still fail"),
    ("latency alert: the service's own 5xx at 10 % since: not healthy (as before)",
     _read(_burst(since_503=40), LATENCY), False, ""),
    ("control: probes answered 200 in 40 ms: healthy",
     _read(_burst(), LATENCY, 0.04), True, ""),
    ("control: check_passed, probes with no latency logged, answered 200: healthy",
     _read(_burst(), PASSED), True, ""),
    ("control: a Cloud Run latency alert with the request log refused, nothing failing: healthy (as before)",
     _read(_burst(), RUN_LATENCY, unread=True), True, ""),
]


@pytest.mark.parametrize("name,bundle,healthy,words", CASES, ids=[c[0] for c in CASES])
def test_an_uptime_checks_alert_is_healthy_only_with_its_probes_answered_in_time(name, bundle, healthy, words):
    d = diagnose(bundle, S)
    assert (d.signature is Signature.HEALTHY) is healthy, d.summary
    assert words in d.summary, d.summary


def test_a_rollback_after_an_uptime_alert_is_not_verified_while_its_probes_time_out():
    """The sweep reads the same diagnosis: its probes answered after 12 s since the rollback hold `verified`."""
    record = rollback().model_copy(update={"alert": LATENCY})
    e = served(6, ok=400).uptime(OLD, -5, 6, 1.2)
    b = swept(e).model_copy(update={"incident_started_at": record.settle_at})
    b = b.model_copy(update={"request_lines": b.request_lines.model_copy(update={"entries": tuple(
        x.model_copy(update={"http_latency_seconds": 12.0}) if x.user_agent == UPTIME else x
        for x in b.request_lines.entries)})})
    health = judge(record, b, S, None, VerificationSettings().min_traffic_ratio)
    assert health.kind is HealthKind.UNCLEAR and "uptime checks still fail" in health.why, health.why
