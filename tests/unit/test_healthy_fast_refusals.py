"""The alert path's `healthy` (and the sweep's, which reads the same diagnosis) on failures that do not show
as 5xx, 429 or a slow p99 in request_count and request_latencies.

- Requests that hung and now fail fast as 4xx (a session lookup failing closed with 401 at its own short
  timeout): a latency alert's p99 under its bar, no 5xx, most callers refused, were `healthy` and skipped.
  A 4xx share risen well over the service's own before the incident is not healthy now
  (shared/diagnosis/client_errors.py); a steady background of 404s is. The sweep measures the 4xx against
  its own action instead (judging.client_errors_rose).
- An uptime check whose own probes still fail on a path the pages do not use: six probes among hundreds of
  clean requests are under any share called clean; the request log names them (the checker's agent), and
  they are the alert's own signal (request_callers.uptime_still_failing).
Pure: evidence built in memory (tests/unit/builders.py), no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.client_errors import client_errors_risen
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.facts import Facts
from shared.diagnosis.request_callers import uptime_still_failing
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence, healthy_or_held

S = DiagnosisSettings()
OLD, NEW = "backend-00031-ket", "backend-00032-vob"
RUN = "cloud_run_revision"
LATENCY = AlertContext(resource_type=RUN, metric_type="run.googleapis.com/request_latencies",
                       comparison="COMPARISON_GT", threshold=2000, policy="backend p99 latency")
RATIO = AlertContext(resource_type=RUN, metric_type="run.googleapis.com/request_count", comparison="COMPARISON_GT",
                     threshold=0.05, metric_labels={"response_code_class": "5xx"}, ratio=True,
                     policy="backend 5xx ratio")
UPTIME = AlertContext(resource_type="uptime_url", metric_type="monitoring.googleapis.com/uptime_check/check_passed",
                      comparison="COMPARISON_LT", threshold=1, policy="backend uptime")


def _session_store(refused_since: float, *, code: str = "401", usual: float = 1, ok_since: float | None = None
                   ) -> Evidence:
    """backend at 30 requests a minute for an hour, `usual` of them `code` (an expired session now and then);
    hanging from -12 (p99 7 s) until the incident; from 0 on fast, `refused_since` a minute answered `code`
    and the rest 200 (`ok_since` a minute: 30 less them unless given)."""
    e = Evidence(now=5)
    e.revision(OLD, -1800).traffic(**{OLD: 100}).instances(OLD, -60, 5, 3)
    e.requests(OLD, -60, 0, 30 - usual).requests(OLD, -60, 0, usual, code=code)
    e.latency(OLD, -60, -12, 0.1).latency(OLD, -12, 0, 7.0).latency(OLD, 0, 5, 0.25)
    if refused_since:
        e.requests(OLD, 0, 5, refused_since, code=code)
    return e.requests(OLD, 0, 5, 30 - refused_since if ok_since is None else ok_since)


CLIENT_ERRORS = [
    # name, evidence, alert, healthy, words in the summary
    ("401s from 3 % to 67 % after a hang, latency alert: not healthy",
     _session_store(20), LATENCY, False, "its 4xx rose to 67% of its requests"),
    ("the same on the 5xx ratio alert: not healthy",
     _session_store(20), RATIO, False, "its 4xx rose to 67%"),
    ("the same with no alert (the settings' bar, a diagnosis from the CLI): not healthy",
     _session_store(20), None, False, "from 3.3% before the incident"),
    ("403s a token verifier answers when it cannot reach its keys: not healthy",
     _session_store(12, code="403"), LATENCY, False, "60 403"),
    ("499s, clients that gave up (were they 4xx: UNCONFIRMED): not healthy",
     _session_store(9, code="499"), LATENCY, False, "45 499"),
    ("status 0, clients gone before the answer (if recorded so: UNCONFIRMED): not healthy",
     _session_store(9, code="0", usual=0), LATENCY, False, "45 0"),
    ("a steady 10 % of 404s, before as since: healthy",
     _session_store(3, code="404", usual=3), LATENCY, True, ""),
    ("401s from 3 % to 6.7 %, under the 5-point rise: healthy",
     _session_store(2), LATENCY, True, ""),
    ("no 4xx before, 1 in 30 since (3.3 %): healthy",
     _session_store(1, usual=0), LATENCY, True, ""),
    ("429s are refusals already, not counted twice here: not healthy by the 5xx and 429 share",
     _session_store(20, code="429", usual=0), LATENCY, False, ""),
]


@pytest.mark.parametrize("name,evidence,alert,healthy,words", CLIENT_ERRORS, ids=[c[0] for c in CLIENT_ERRORS])
def test_requests_that_fail_fast_as_4xx_are_not_healthy(name, evidence, alert, healthy, words):
    d = healthy_or_held(evidence, alert, S, healthy)
    if words:
        assert words in d.summary, d.summary
        assert any(e.about == Signature.HEALTHY.value and e.passed is False and words in e.threshold
                   for e in d.evidence)


@pytest.mark.parametrize("before,refused_since,said", [
    # No request before the incident window: no share of its own to compare with; two thirds refused are
    # a rise over the conservative background taken instead (client_errors.usual_share: said nothing before).
    (0, 20, True),
    (0, 3, False),      # a tenth: within that background
    (30, 20, True),
    (30, 0, False),
])
def test_the_rise_is_measured_against_the_services_own_share_before(before, refused_since, said):
    e = Evidence(now=5)
    e.revision(OLD, -1800).traffic(**{OLD: 100}).instances(OLD, -60, 5, 3).latency(OLD, -60, 5, 0.1)
    if before:
        e.requests(OLD, -60, 0, before)
    e.requests(OLD, 0, 5, refused_since, code="401").requests(OLD, 0, 5, 30 - refused_since)
    facts = Facts(e.bundle(), S)
    assert bool(client_errors_risen(facts, facts.recent_since_incident)) is said


def test_the_sweep_measures_the_4xx_against_its_own_action():
    """The verification sweep asks the diagnosis with `traffic_judged` False: the 4xx are judged by
    judging.client_errors_rose against the minutes before its action, not here."""
    d = diagnose(_session_store(20).bundle(), S, traffic_judged=False)
    assert d.signature is Signature.HEALTHY, d.summary


def _docs(probe_code: str, *, callers: float = 150, probes: float = 1.2) -> Evidence:
    """docs at `callers` clean requests a minute and `probes` uptime-check probes a minute (six checker
    regions every 5 minutes), clean until a deploy at -4 whose /healthz answers `probe_code`; a burst of
    page 503s at -3 while its instances started (the failure the check saw)."""
    e = Evidence(now=5)
    e.revision(OLD, -1800).revision(NEW, -4).traffic(**{NEW: 100}).instances(NEW, -4, 5, 4)
    e.requests(OLD, -60, -4, callers).uptime(OLD, -60, -4, probes).latency(OLD, -60, -4, 0.1)
    e.requests(NEW, -4, 5, callers).uptime(NEW, -4, 5, probes, code=probe_code).latency(NEW, -4, 5, 0.1)
    return e.requests(NEW, -4, -3, 30, code="503")


def _asked(e: Evidence, alert: AlertContext | None, read=lambda e: e.request_log(0)):
    return e.bundle().model_copy(update={"alert": alert, "request_lines": read(e), "callers_asked": True})


STILL_FAIL = "Cloud Monitoring's uptime checks still fail"
UPTIME_CASES = [
    # name, evidence, alert, read, healthy, words in the summary
    ("every probe 503 since the deploy, uptime alert: not healthy", _docs("503"), UPTIME,
     lambda e: e.request_log(0), False, STILL_FAIL),
    ("the same on the 5xx ratio alert: not healthy", _docs("503"), RATIO, lambda e: e.request_log(0), False,
     STILL_FAIL),
    ("the probes answered 200 since: healthy", _docs("200"), UPTIME, lambda e: e.request_log(0), True, ""),
    # Before, `healthy`: no line read as no probe failing (the check's own results, check_passed, were not read;
    # with them: tests/unit/test_uptime_check_results.py).
    ("the checker's lines excluded from the log, no check result: not known, not healthy", _docs("503"), UPTIME,
     lambda e: e.request_log(0, uptime_kept=0), False, "whether the check still fails is not known"),
]


@pytest.mark.parametrize("name,evidence,alert,read,healthy,words", UPTIME_CASES, ids=[c[0] for c in UPTIME_CASES])
def test_an_uptime_checks_own_probes_still_failing_are_not_healthy(name, evidence, alert, read, healthy, words):
    bundle = _asked(evidence, alert, read)
    d = diagnose(bundle, S)
    assert (d.signature is Signature.HEALTHY) is healthy, d.summary
    if not healthy:
        assert d.signature is Signature.INCONCLUSIVE, d.summary
        assert plan(d, bundle, S).action is None
    assert words in d.summary, d.summary


def test_the_sweeps_bundle_reads_the_probes_too():
    """The verification sweep's bundle holds the request log it read (callers_asked False): the probes still
    failing there are not `healthy` either."""
    e = _docs("503")
    d = diagnose(e.bundle().model_copy(update={"request_lines": e.request_log(0)}), S, traffic_judged=False)
    assert d.signature is not Signature.HEALTHY, d.summary


@pytest.mark.parametrize("failing,checks,said", [(0, 24, False), (1, 120, False), (2, 120, True), (6, 6, True)])
def test_the_probes_fail_over_the_share_called_clean(failing, checks, said):
    e = Evidence(now=5)
    e.revision(OLD, -1800).traffic(**{OLD: 100})
    e.requests(OLD, 0, 5, 100).uptime(OLD, 0, 5, (checks - failing) / 5)
    if failing:
        e.uptime(OLD, 0, 5, failing / 5, code="503")
    facts = Facts(e.bundle(), S)
    assert bool(uptime_still_failing(e.request_log(0), facts.recent_since_incident, S.healthy_error_ratio)) is said


def test_no_request_log_says_nothing():
    e = _docs("503")
    facts = Facts(e.bundle(), S)
    assert uptime_still_failing(None, facts.recent_since_incident, S.healthy_error_ratio) == ""
