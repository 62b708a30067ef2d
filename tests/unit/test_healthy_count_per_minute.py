"""`healthy` under a count alert on request_count (no denominator): the alert's bar is a count of 5xx a
minute (or a rate a second), and the condition is cleared when no minute holds more than that, not when the
whole window read does. Held to the window's sum, a service with a steady background of 1 or 2 5xx a minute
(a flaky route, as real services answer) under a bar of 3 a minute (ALIGN_RATE at 0.05 a second) was never
`healthy` after a transient had passed, its condition long cleared (shared/diagnosis/health_bar.per_minute_bar,
diagnose.count_cleared). A count over an alignment period longer than a minute is held to the window's share of
the period; over one not stated, none may remain (health_bar._request_count). Pure: evidence built in memory (tests/unit/builders.py), no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.health_bar import health_bar, per_minute_bar

from tests.unit.builders import Evidence, healthy_or_held

S = DiagnosisSettings()
REV = "cart-00093-tuz"


def _count_alert(aligner: str, threshold: float, period: float | None = 60) -> AlertContext:
    """A "5xx above N" policy on request_count, no denominator, REDUCE_SUM across the service's series."""
    return AlertContext(resource_type="cloud_run_revision", metric_type="run.googleapis.com/request_count",
                        comparison="COMPARISON_GT", threshold=threshold, metric_labels={"response_code_class": "5xx"},
                        aligner=aligner, reducer="REDUCE_SUM", alignment_seconds=period, policy="cart 5xx")


def _after_burst(background: float, *, spike: float = 0) -> Evidence:
    """cart at 300 requests a minute for an hour, `background` 500s a minute throughout; a burst of 50 503s a
    minute at 31 s from -8 to the incident; from 0 on fast again, with one minute (the 3rd) holding `spike`
    more 500s."""
    e = Evidence(now=5)
    e.revision(REV, -1800).traffic(**{REV: 100}).instances(REV, -60, 5, 3)
    e.requests(REV, -60, 5, 300 - background)
    if background:
        e.requests(REV, -60, 5, background, code="500")
    e.requests(REV, -8, 0, 50, code="503")
    if spike:
        e.requests(REV, 2, 3, spike, code="500")
    return e.latency(REV, -60, -8, 0.2).latency(REV, -8, 0, 31.0).latency(REV, 0, 5, 0.2)


ROWS = [
    # name, evidence, alert, healthy
    ("ALIGN_RATE 0.05 a second (3 a minute), a steady 1 500 a minute since: healthy",
     _after_burst(1), _count_alert("ALIGN_RATE", 0.05), True),
    ("ALIGN_RATE 0.05 a second, a steady 2 a minute (10 over 5 minutes, none over 3): healthy",
     _after_burst(2), _count_alert("ALIGN_RATE", 0.05), True),
    ("ALIGN_RATE 0.05 a second over a 300 s period, a steady 2 a minute: healthy (the rate is per second)",
     _after_burst(2), _count_alert("ALIGN_RATE", 0.05, 300), True),
    ("ALIGN_DELTA over 60 s above 3, a steady 1 a minute: healthy",
     _after_burst(1), _count_alert("ALIGN_DELTA", 3), True),
    ("ALIGN_MAX over 300 s above 3, a steady 2 a minute: healthy (the most of minute counts)",
     _after_burst(2), _count_alert("ALIGN_MAX", 3, 300), True),
    ("ALIGN_RATE 0.05 a second, a steady 4 a minute: not healthy (every minute over 3)",
     _after_burst(4), _count_alert("ALIGN_RATE", 0.05), False),
    ("ALIGN_RATE 0.05 a second, 1 a minute and one minute of 5 more: not healthy (that minute over 3)",
     _after_burst(1, spike=5), _count_alert("ALIGN_RATE", 0.05), False),
    ("ALIGN_DELTA over 300 s above 3, a steady 1 a minute: not healthy (5 in 5 minutes)",
     _after_burst(1), _count_alert("ALIGN_DELTA", 3, 300), False),
    ("ALIGN_DELTA over a period not stated, above 3, a steady 1 a minute: not healthy (a longer count unknown)",
     _after_burst(1), _count_alert("ALIGN_DELTA", 3, None), False),
    # A period not stated may be an hour: the window's sum (15) under 20 was `healthy` on main while a steady
    # 3 a minute is 180 an hour, the condition still met. None left clears it under any period.
    ("ALIGN_DELTA over a period not stated, above 20, a steady 3 a minute: not healthy (15 in 5 minutes, 180 an "
     "hour)", _after_burst(3), _count_alert("ALIGN_DELTA", 20, None), False),
    ("ALIGN_SUM over a period not stated, above 20, a steady 3 a minute: not healthy",
     _after_burst(3), _count_alert("ALIGN_SUM", 20, None), False),
    ("ALIGN_DELTA over a period not stated, above 20, none since: healthy",
     _after_burst(0), _count_alert("ALIGN_DELTA", 20, None), True),
]


@pytest.mark.parametrize("name,evidence,alert,healthy", ROWS, ids=[r[0] for r in ROWS])
def test_a_count_bar_is_cleared_minute_by_minute(name, evidence, alert, healthy):
    healthy_or_held(evidence, alert, S, healthy)


def test_a_minute_over_the_bar_is_named():
    bundle = _after_burst(1, spike=5).bundle().model_copy(update={"alert": _count_alert("ALIGN_RATE", 0.05)})
    d = diagnose(bundle, S)
    assert any("6 5xx or 429 in one minute, over the 3 a minute allowed" in e.threshold for e in d.evidence), \
        [e.threshold for e in d.evidence]


@pytest.mark.parametrize("aligner,period,per_minute", [
    ("ALIGN_RATE", 60, True), ("ALIGN_RATE", 300, True), ("ALIGN_RATE", None, True),
    ("ALIGN_MEAN", 600, True), ("ALIGN_MAX", 300, True), ("ALIGN_PERCENTILE_99", 300, True),
    ("ALIGN_DELTA", 60, True), ("ALIGN_SUM", 60, True),
    ("ALIGN_DELTA", 300, False), ("ALIGN_SUM", 3600, False), ("ALIGN_DELTA", None, False),
    ("ALIGN_NONE", 60, False), ("", None, False), ("ALIGN_COUNT", 60, False),
])
def test_which_count_bars_bound_each_minute(aligner, period, per_minute):
    assert per_minute_bar(aligner, period) is per_minute


def test_the_bar_of_a_rate_bounds_each_minute():
    bar = health_bar(_count_alert("ALIGN_RATE", 0.05), S)
    assert bar.judged and bar.error_count == pytest.approx(3) and bar.per_minute
    assert not health_bar(_count_alert("ALIGN_DELTA", 3, 300), S).per_minute
