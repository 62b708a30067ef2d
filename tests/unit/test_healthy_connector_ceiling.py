"""A connector that sat at its ceiling for a long stretch while the requests failed is never closed as `healthy`.

An incident delivered late, its failures cleared, was `healthy` on its newest clean minutes and `skipped`: a
skipped outcome reaches nobody, though the connector had reached its max instances under load for 20 minutes
and more, as the same load will again. Now it is escalated (inconclusive, nothing planned) naming the span, the
max instances and the peak (shared/diagnosis/saturated_stretch.py). A short spike, an instance count at max with
no load (connectors don't scale in) and a busy connector while its services served cleanly stay `healthy`.
Pure: evidence built in memory (tests/unit/builders.py), no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from tests.unit.builders import Evidence, healthy_or_held
from tests.unit.test_healthy_fast_refusals import LATENCY, RATIO
from tests.unit.test_verification_judging import OLD

S = DiagnosisSettings()


def _late(busy: list[tuple[float, float]], *, failing: tuple[float, float] | None = None, cpu: float = 0.95,
          mbps: float = 8, now: float = 28) -> Evidence:
    """backend at 30 requests a minute for two hours through a connector of 2 to 3 e2-micro instances, at its 3
    from -40 on (connectors don't scale in); in each `busy` span its CPU p99 at `cpu` and `mbps` through it (else
    25 % and 8 Mbps); 15 503s a minute over `failing`; read at `now` (the notification came late)."""
    e = Evidence(now=now)
    e.revision(OLD, -1800).traffic(**{OLD: 100}).instances(OLD, -120, now, 2)
    e.requests(OLD, -120, now, 30).latency(OLD, -120, now, 0.12)
    e.connector(max_instances=3).connector_metric("instances", -120, -40, 2).connector_metric("instances", -40, now, 3)
    e.connector_metric("cpu", -120, now, 0.25).connector_metric("bytes", -120, now, 1e6)
    for start, end in busy:
        e.connector_metric("cpu", start, end, cpu).connector_metric("bytes", start, end, mbps * 1e6 / 8)
    if failing:
        e.requests(OLD, failing[0], failing[1], 15, code="503")
    return e


ROWS = [
    # name, evidence, alert, healthy (the not-healthy rows `healthy` on main)
    ("23 minutes at 3 of 3 instances and 95 % CPU while 503s came, cleared 20 minutes before the read: held",
     _late([(-15, 8)], failing=(-15, 8)), RATIO, False),
    ("the same under a latency alert: held", _late([(-15, 8)], failing=(-15, 8)), LATENCY, False),
    ("at its throughput ceiling (290 of 300 Mbps) rather than its CPU, 23 minutes: held",
     _late([(-15, 8)], failing=(-15, 8), cpu=0.4, mbps=290), RATIO, False),
    # Controls: healthy on main and now.
    ("a 6-minute spike at the ceiling: a transient, healthy", _late([(-2, 4)], failing=(-2, 4), now=12), RATIO, True),
    ("two 10-minute stretches 5 minutes apart: none long, healthy",
     _late([(-15, -5), (0, 10)], failing=(-15, 10), now=30), RATIO, True),
    ("at max instances all along (a high-water mark) with CPU at 25 %: healthy",
     _late([], failing=(-15, 8)), RATIO, True),
    ("30 minutes at the ceiling while the service served cleanly throughout: busy needs nothing, healthy",
     _late([(-20, 10)]), LATENCY, True),
]


@pytest.mark.parametrize("name,evidence,alert,healthy", ROWS, ids=[r[0] for r in ROWS])
def test_a_long_stretch_at_the_connector_ceiling_is_never_healthy(name, evidence, alert, healthy):
    d = healthy_or_held(evidence, alert, S, healthy)
    if not healthy:
        assert "max of 3 instances" in d.summary and "minutes, from" in d.summary, d.summary


def test_the_sweep_judges_its_own_action_on_the_minutes_since():
    """The verification sweep's diagnosis (`traffic_judged` False) is not held by a stretch before its action."""
    d = diagnose(_late([(-15, 8)], failing=(-15, 8)).bundle(), S, traffic_judged=False)
    assert d.signature is Signature.HEALTHY, d.summary
