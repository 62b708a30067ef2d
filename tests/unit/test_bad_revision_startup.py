"""Startup failures show a new revision failing only when they reach its callers. Instances that
fail their startup probe are replaced ("The instance was not started."); a revision that served its
traffic cleanly since the deploy is not rolled back on them (a log-match alert on probe failures is
never judged healthy, so the rules decide)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
# A log-match policy on the probe failures: never judged healthy, so the rules decide.
ALERT = AlertContext(resource_type="cloud_run_revision", policy="startup probe failures",
                     log_filter='textPayload:"probe failed"')
PROBE = ('STARTUP HTTP probe failed 3 times consecutively for container "app" on path "/healthz". '
         "The instance was not started.")

CASES = {
    "probe failures, every request served cleanly: no rollback": dict(
        ok=400, failed={"500": 1}, signature=Signature.INCONCLUSIVE, action=None),
    "probe failures and a third of the requests 503: rolled back": dict(
        ok=40, failed={"503": 20}, signature=Signature.BAD_REVISION, action="rollback_traffic"),
    "probe failures and 429s reaching callers: rolled back": dict(
        ok=200, failed={"429": 20}, signature=Signature.BAD_REVISION, action="rollback_traffic"),
    # Failing on the logs' word, with too little traffic for the confidence automation needs.
    "probe failures and too few requests to judge them: the logs decide, escalated": dict(
        ok=1, failed={}, signature=Signature.BAD_REVISION, action=None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_startup_failures_count_when_they_reach_callers(case):
    e = (Evidence().revision(OLD, -3000).revision(NEW, -12).traffic(**{NEW: 100})
         .requests(OLD, -120, -12, 400).latency(OLD, -120, -12, 0.3)
         .requests(NEW, -12, 5, case["ok"]).latency(NEW, -12, 5, 0.3)
         .log(-4, PROBE, NEW, count=6, log_id="run.googleapis.com/varlog/system"))
    for code, per_minute in case["failed"].items():
        e.requests(NEW, -12, 5, per_minute, code=code)
    bundle = quiet_connector(e).bundle().model_copy(update={"alert": ALERT})

    result = diagnose(bundle, S)

    assert result.signature is case["signature"], result.summary
    assert plan(result, bundle, S).action == case["action"]
    if case["signature"] is Signature.INCONCLUSIVE:
        assert "startup failures" in result.summary and "cleanly" in result.summary, result.summary
