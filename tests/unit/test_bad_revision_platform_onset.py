"""A deploy whose new revision serves cleanly for a few minutes, and then fails on Cloud Run's own 503s ("...
connection to the instance had an error.") with its container silent: a platform incident looks so to the one
service read, and a rollback onto the same platform is a guess (rules/platform_onset.py). Failures from the
deploy's first minute, a container that says why, or Cloud Run's 503s a few among other failures stay the
deploy's, and are rolled back as before. So are they when the revision the deploy replaced still serves, and serves
cleanly, in the same minutes (a canary): the platform of the same service in the same region fails it too."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()
REQUESTS = "run.googleapis.com/requests"
SYSTEM = "run.googleapis.com/varlog/system"
BROKEN = ("The request failed because either the HTTP response was malformed or connection to the instance had an "
          "error. Additional troubleshooting documentation can be found at: "
          "https://cloud.google.com/run/docs/troubleshooting#malformed-response-or-connection-error")
TRACEBACK = "TypeError: unsupported operand type(s) for +: 'NoneType' and 'int'"
EXITED = "Container called exit(1)."

CASES = {
    "Cloud Run's 503s after 3 clean minutes, the container silent: in doubt, no rollback": dict(
        onset=-8, lines_per_minute=120, own=(), signature=Signature.INCONCLUSIVE, action=None),
    "the same after 1 clean minute: in doubt": dict(
        onset=-10, lines_per_minute=120, own=(), signature=Signature.INCONCLUSIVE, action=None),
    "from the deploy's first minute (an answer Cloud Run cannot parse): rolled back (unchanged)": dict(
        onset=-11, lines_per_minute=120, own=(), signature=Signature.BAD_REVISION, action="rollback_traffic"),
    "after clean minutes, its container's tracebacks: rolled back (unchanged)": dict(
        onset=-8, lines_per_minute=120, own=((TRACEBACK, "run.googleapis.com/stderr", "ERROR"),),
        signature=Signature.BAD_REVISION, action="rollback_traffic"),
    "after clean minutes, its container's exits on the system log: rolled back (unchanged)": dict(
        onset=-8, lines_per_minute=120, own=((EXITED, SYSTEM, "WARNING"),),
        signature=Signature.BAD_REVISION, action="rollback_traffic"),
    "after clean minutes, Cloud Run's 503s a few of the failures: rolled back (unchanged)": dict(
        onset=-8, lines_per_minute=10, own=(), signature=Signature.BAD_REVISION, action="rollback_traffic"),
    # A canary: the revision before keeps 75 % and serves 180 requests a minute through the failing minutes.
    "a 25 % canary, the revision before clean in the same minutes: rolled back": dict(
        onset=-8, lines_per_minute=30, own=(), canary=(180, 0), signature=Signature.BAD_REVISION,
        action="rollback_traffic"),
    "a 25 % canary, the revision before clean but for one 503: rolled back": dict(
        onset=-8, lines_per_minute=30, own=(), canary=(180, 1), signature=Signature.BAD_REVISION,
        action="rollback_traffic"),
    # 2 a minute: 1.1 % of its requests in the failing minutes (over healthy_error_ratio), under 1 % since the
    # deploy (so bad_revision's "5xx concentrated on the newest revision" still holds).
    "a 25 % canary, the revision before over the clean share in those minutes: in doubt": dict(
        onset=-8, lines_per_minute=30, own=(), canary=(180, 2), signature=Signature.INCONCLUSIVE, action=None),
    "a 25 % canary, the revision before too quiet to tell (15 requests in all): in doubt": dict(
        onset=-8, lines_per_minute=30, own=(), canary=(1, 0), signature=Signature.INCONCLUSIVE, action=None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_cloud_runs_own_503s_after_clean_minutes_with_the_container_silent_hold_a_rollback(case):
    onset, canary = case["onset"], case.get("canary")
    e = (Evidence().revision(OLD, -3000).revision(NEW, -11).requests(OLD, -120, -11, 240).latency(OLD, -120, -11, 0.3))
    if canary is None:
        e.traffic(**{NEW: 100}).requests(NEW, -11, 5, 240).requests(NEW, onset, 5, 120, code="503")
    else:
        served, failed = canary
        e.traffic(**{NEW: 25, OLD: 75}).requests(NEW, -11, 5, 60).requests(NEW, onset, 5, 30, code="503")
        e.requests(OLD, -11, 5, served).latency(OLD, -11, 5, 0.3)
        if failed:
            e.requests(OLD, onset, 5, failed, code="503")
    e.latency(NEW, -11, 5, 0.3)
    for minute in range(onset, 5):
        e.log(minute, BROKEN, NEW, count=case["lines_per_minute"], log_id=REQUESTS, severity="ERROR", status=503)
        for text, log_id, severity in case["own"]:
            e.log(minute, text, NEW, count=3, log_id=log_id, severity=severity)
    e = quiet_connector(e)

    result = diagnose(e.bundle(), S)

    assert result.signature is case["signature"], result.summary
    assert plan(result, e.bundle(), S).action == case["action"], result.summary
    if case["action"] is None:
        assert any("no failure line from its container" in item.observed for item in result.evidence), result.evidence
