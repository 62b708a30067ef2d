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


# The rollback target's own new instances failing to start: its clean requests came from warm
# instances a rollback does not bring back (a revision without traffic scales to zero), and both
# failing to start points at something they share. Lines on the target, before or after the deploy.
DEFAULT_PROBE = ('Default STARTUP TCP probe failed 1 time consecutively for container "app" on port 8080. '
                 "The instance was not started.")
LISTEN = ("The user-provided container failed to start and listen on the port defined provided by the PORT=8080 "
          "environment variable within the allocated timeout.")
TARGET_CASES = {
    "the target's probe failed before the deploy: no target": dict(
        minute=-12, text=DEFAULT_PROBE, count=6, action=None, target=None),
    "the target's container failed to listen before the deploy: no target": dict(
        minute=-12, text=LISTEN, count=4, action=None, target=None),
    "the target's probe failed after the deploy: no target": dict(
        minute=-4, text=DEFAULT_PROBE, count=3, action=None, target=None),
    "one flap on the target, under startup_failure_logs_min: rolled back": dict(
        minute=-12, text=DEFAULT_PROBE, count=1, action="rollback_traffic", target=OLD),
    "no startup failure on the target: rolled back": dict(
        minute=-12, text="", count=0, action="rollback_traffic", target=OLD),
    # Its process exited with an error as it started, and no probe line followed (Cloud Run's
    # "Container called exit(1)." at WARNING in the system log).
    "the target's container exited with 1 before the deploy: no target": dict(
        minute=-12, text="Container called exit(1).", count=4, action=None, target=None),
    "the target's container exited with 255 after the deploy: no target": dict(
        minute=-4, text="Container called exit(255).", count=3, action=None, target=None),
    # Instances shut down at scale-in exit too: 0, or SIGTERM's 143.
    "the target's instances shut down at scale-in (exit 0): rolled back": dict(
        minute=-12, text="Container called exit(0).", count=6, action="rollback_traffic", target=OLD),
    "the target's instances ended by SIGTERM at scale-in (exit 143): rolled back": dict(
        minute=-12, text="Container called exit(143).", count=6, action="rollback_traffic", target=OLD),
    # A crash's signal ended its process as it started (a Rust panic under panic = "abort", a C++
    # std::terminate): Cloud Run writes "Container terminated on signal N." and no exit code.
    "the target's container aborted (signal 6) before the deploy: no target": dict(
        minute=-12, text="Container terminated on signal 6.", count=4, action=None, target=None),
    "the target's container segfaulted (signal 11) after the deploy: no target": dict(
        minute=-4, text="Container terminated on signal 11.", count=3, action=None, target=None),
    # The signals that ask an instance to stop: SIGTERM at shutdown, SIGKILL past the grace period.
    "the target's instances ended by SIGTERM at scale-in (signal 15): rolled back": dict(
        minute=-12, text="Container terminated on signal 15.", count=6, action="rollback_traffic", target=OLD),
    "the target's instances ended by SIGKILL past the grace period (signal 9): rolled back": dict(
        minute=-12, text="Container terminated on signal 9.", count=6, action="rollback_traffic", target=OLD),
}


@pytest.mark.parametrize("case", TARGET_CASES.values(), ids=TARGET_CASES.keys())
def test_a_rollback_target_whose_own_instances_fail_to_start_is_no_known_good(case):
    e = (Evidence().revision(OLD, -180).revision(NEW, -8).traffic(**{NEW: 100})
         .requests(OLD, -90, -8, 40).latency(OLD, -20, -8, 0.2)
         .requests(NEW, -8, 5, 20).requests(NEW, -8, 5, 20, code="503").latency(NEW, -8, 5, 0.4)
         .log(-5, DEFAULT_PROBE, NEW, count=6, log_id="run.googleapis.com/varlog/system"))
    if case["count"]:
        e.log(case["minute"], case["text"], OLD, count=case["count"], log_id="run.googleapis.com/varlog/system")
    bundle = quiet_connector(e).bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert result.known_good_revision == case["target"], result.summary
    assert plan(result, bundle, S).action == case["action"]
    if case["target"] is None:
        assert f"{OLD}'s own instances failed to start too" in result.summary, result.summary


@pytest.mark.parametrize("lines, starts", [
    ((), 0), (("Container called exit(1).", DEFAULT_PROBE), 1),
    (("Container called exit(1).", DEFAULT_PROBE) * 3, 3), (("Container called exit(1).",) * 4 + (DEFAULT_PROBE,), 4),
    ((DEFAULT_PROBE, LISTEN, DEFAULT_PROBE), 3),
    (("Container terminated on signal 6.", DEFAULT_PROBE), 1),
    (("Container terminated on signal 6.",) * 2 + ("Container called exit(1).",) * 2 + (DEFAULT_PROBE,), 4),
])
def test_an_exit_and_its_probe_failure_are_one_failed_start(lines, starts):
    from shared.diagnosis.evidence import LogRecord
    from shared.diagnosis.rules.bad_revision import failed_starts

    from tests.unit.builders import at
    assert failed_starts([LogRecord(timestamp=at(0), log_id="run.googleapis.com/varlog/system", text=t)
                          for t in lines]) == starts


def test_two_failed_starts_beside_cloud_runs_refusals_stay_in_doubt():
    """A burst on a revision: Cloud Run's refusals for want of an instance, and two instances whose
    process exited as they started, each logging its exit and its probe's failure. Two failed starts,
    under startup_failure_logs_min (3): the refusals are not shown to be the revision's own."""
    e = (Evidence().revision(OLD, -180).revision(NEW, -8).traffic(**{NEW: 100})
         .requests(OLD, -90, -8, 40).latency(OLD, -20, -8, 0.2)
         .requests(NEW, -8, 5, 20).requests(NEW, -8, 5, 20, code="500").latency(NEW, -8, 5, 0.4)
         .log(-5, "The request was aborted because there was no available instance.", NEW, count=8,
              log_id="run.googleapis.com/requests", status=500))
    for minute in (-6, -4):
        e.log(minute, "Container called exit(1).", NEW, log_id="run.googleapis.com/varlog/system", severity="WARNING")
        e.log(minute, DEFAULT_PROBE, NEW, log_id="run.googleapis.com/varlog/system")
    bundle = quiet_connector(e).bundle()

    result = diagnose(bundle, S)

    assert plan(result, bundle, S).action is None, result.summary
    assert "refusals for want of an instance" in result.summary, result.summary
