"""The alert path's `healthy` on clean requests too few to rule out the failure the alert is about.
Twenty clean requests (`min_requests`) were enough: a service at 4 requests a minute still failing 10 %
answers 20 requests with no failure 12 % of the time (0.9 ** 20), and its alert was answered `healthy`
(skipped) while it failed. Now the failing share read before the clean stretch, or where none was read
the alert's own ratio threshold, must be ruled out with a binomial chance of at most 5 %
(shared/diagnosis/clean_stretch.py, shared/diagnosis/still_failing.py); else the alert is escalated
with the figures."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.signatures import Signature

from tests.unit.builders import FIVE_XX_RATIO, Evidence, healthy_or_escalated

S = DiagnosisSettings()
REV = "backend-00001-abc"
RUN = "cloud_run_revision"
LATENCIES = "run.googleapis.com/request_latencies"
SLOW = AlertContext(resource_type=RUN, metric_type=LATENCIES, comparison="COMPARISON_GT", threshold=2000)


def _service(per_minute: float, *, failing_before: float = 0.0, p99_before: float = 0.2, now: float = 5,
             served_since: bool = True) -> Evidence:
    """A long-running revision at `per_minute` requests a minute: `failing_before` of them 500 (and a p99
    of `p99_before`) over the 15 minutes before the incident's start (minute 0), clean and fast since
    (no request at all since, when it scaled to zero: `served_since` False)."""
    e = Evidence(now=now)
    e.revision(REV, -300).traffic(**{REV.replace("-", "_"): 100})
    e.requests(REV, -15, 0, per_minute * (1 - failing_before)).latency(REV, -15, 0, p99_before)
    if failing_before:
        e.requests(REV, -15, 0, per_minute * failing_before, "500")
    if served_since:
        e.requests(REV, 0, now, per_minute).latency(REV, 0, now, 0.2).instances(REV, -15, now, 1)
    else:
        e.instances(REV, -15, 0, 1)
    return e


CASES = [
    # name, evidence, alert, healthy, words cited
    ("4 a minute, 10 % failing before, 20 clean since: seen 12 % of the time had it still failed, not healthy",
     _service(4, failing_before=0.1), None, False, "too few requests"),
    ("the same on a 5xx ratio alert: its measured 10 %, not its 5 % threshold, is ruled out (29 needed)",
     _service(4, failing_before=0.1), FIVE_XX_RATIO, False, "at least 29 requests"),
    ("100 a minute, 10 % failing before, 500 clean since: the failure would have shown, healthy",
     _service(100, failing_before=0.1), None, True, ""),
    ("8 a minute, 10 % failing before, 40 clean since (1.5 %): healthy",
     _service(8, failing_before=0.1), None, True, ""),
    ("4 a minute, 5xx ratio alert at 5 %, no failing minute read: 20 clean requests do not rule 5 % out",
     _service(4), FIVE_XX_RATIO, False, "the alert's own threshold of 5.0%"),
    ("100 a minute, 5xx ratio alert at 5 %, no failing minute read: 500 clean requests rule it out, healthy",
     _service(100), FIVE_XX_RATIO, True, ""),
    ("4 a minute, latency alert, slow before and no 5xx: no failure share to rule out, healthy as before",
     _service(4, p99_before=6.0), SLOW, True, ""),
    ("30 a minute, 2 % failing before, one 500 in the newest minute (0.7 % of 150): not ruled out, not healthy",
     _service(30, failing_before=0.02).requests(REV, 4, 5, 1, "500"), None, False, "1 of 151 requests"),
    ("100 a minute, a usual background (2 500s in a minute now and then, 0.3 % in all): no failure, healthy",
     _service(100).requests(REV, -15, -14, 2, "500").requests(REV, -3, -2, 2, "500").requests(REV, 4, 5, 2, "500"),
     None, True, ""),
    ("4 a minute, no alert, nothing failed before: healthy as before",
     _service(4), None, True, ""),
]


@pytest.mark.parametrize("name,evidence,alert,healthy,words", CASES, ids=[c[0] for c in CASES])
def test_clean_requests_too_few_to_rule_out_the_failure_are_not_healthy(name, evidence, alert, healthy, words):
    healthy_or_escalated(evidence, alert, S, healthy, words, "would be seen")


def test_a_service_scaled_to_zero_since_is_not_healthy_and_not_called_too_few():
    """No request since the incident's start: too little traffic, as before (`_insufficient`)."""
    d = diagnose(_service(4, failing_before=0.1, served_since=False).bundle(), S)
    assert d.signature is not Signature.HEALTHY, d.summary
    assert "too few requests to tell" not in d.summary, d.summary
