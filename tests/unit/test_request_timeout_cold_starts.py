"""504s at the request timeout while Cloud Run starts instances: a request that finds no instance
free waits for one to start, and the timeout counts the wait, so a start slower than the timeout
(min instances 0, a scale from zero, heavy work before listening) cuts requests as a slow handler
does. The verdict stays request_timeout (escalated); the advice names the instance starts in the
same minutes, and says a slow handler only when there were none."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
START = ("Starting new instance. Reason: AUTOSCALING - Instance started due to configured scaling factors (e.g. CPU "
         "utilization, request throughput, etc.) or no existing capacity for current traffic.")
SYSTEM = "run.googleapis.com/varlog/system"


def timeouts(starts_at: float | None, log_id: str = SYSTEM) -> Evidence:
    """A 30 s timeout; from -6m 40% of requests 504 with the p99 pinned at 30 s; 12 instance starts
    at `starts_at` (none if None)."""
    e = (Evidence().revision(OLD, -3000, connector=None, timeout=30).traffic(**{OLD: 100})
         .requests(OLD, -90, 5, 36).requests(OLD, -6, 5, 24, code="504").latency(OLD, -90, -6, 0.45)
         .latency(OLD, -6, 5, 30.0))
    return e.log(starts_at, START, OLD, count=12, log_id=log_id, severity="INFO") if starts_at is not None else e


# situation -> words the advice must hold, and must not
CASES = {
    "instances started among the 504s: the start is named": (
        lambda: timeouts(-5), ["12 instances started in the same minutes", "min instances"], []),
    "no instance started: a slow handler": (
        lambda: timeouts(None), ["the application is slow"], ["instances started"]),
    "instances started long before the 504s: not counted": (
        lambda: timeouts(-80), ["the application is slow"], ["instances started"]),
    "the text in the application's own stderr: not Cloud Run's start": (
        lambda: timeouts(-5, log_id="run.googleapis.com/stderr"), ["the application is slow"], ["instances started"]),
}


@pytest.mark.parametrize("build, said, unsaid", CASES.values(), ids=CASES.keys())
def test_the_advice_names_instance_starts_among_the_timeouts(build, said, unsaid):
    result = diagnose(build().bundle(), S)

    assert result.signature is Signature.REQUEST_TIMEOUT, result.summary
    for words in said:
        assert words in result.recommendation, (words, result.recommendation)
    for words in unsaid:
        assert words not in result.recommendation, (words, result.recommendation)
    assert result.recommendation.endswith("raising the timeout only hides it")
