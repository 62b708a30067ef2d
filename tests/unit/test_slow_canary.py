"""A canary slow on its own requests, with no 5xx, beside a revision that serves fast, under a latency alert.

A 2 % canary answering every request in 24 s holds the service's p99 at 24 s: the latency policy fires, and no
request fails. bad_revision read failures (5xx) alone, so it was escalated as `inconclusive` with "not failing
enough to blame it", though the evidence (request_latencies by revision) says the slowness is the canary's alone.
Now, on a latency alert, a revision deployed within the deploy window whose own p99 is well over the alert's
threshold in most of its minutes, beside revisions with enough requests that stayed under it in the same minutes,
after a service that was under it before the deploy, fails as surely as by 5xx: its share goes back to the revision
before (bad_revision's rollback, with every check it makes of the target). Anything missing is named, and escalated:
the revision beside it slow too (a database or connector they share), too few requests beside it, the service slow
before the deploy, a p99 that only brushes the bar, a deploy long before, an alert on 5xx.

The revisions are compared minute by minute, in the minutes both served: a revision that served only before the
canary's slow minutes (the minute a 100 % deploy moved the traffic) shows nothing of them, and its requests count
toward min_requests only there. Before, a 100 % deploy slow beside a database backfill it started with was rolled
back against the revision before's fast minutes before it.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.signatures import Signature
from shared.diagnosis.slow_canary import Beside, judged
from shared.remediation.planning import plan

from tests.unit.builders import FIVE_XX_RATIO, SQL, Evidence

S = DiagnosisSettings()
OLD, NEW = "pricing-00051-tuv", "pricing-00052-wem"
LATENCY = AlertContext(resource_type="cloud_run_revision", metric_type="run.googleapis.com/request_latencies",
                       comparison="COMPARISON_GT", threshold=3000, policy="pricing p99 latency")

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=timezone.utc)


def minutes(values: list[float], first: int = 0) -> dict[datetime, float]:
    """`values` by minute end, the first at minute `first` after T0."""
    return {T0 + timedelta(minutes=first + i): v for i, v in enumerate(values)}


def stable(p99: list[float], per_minute: float = 300, first: int = 0) -> Beside:
    """OLD serving `per_minute` requests in each of the minutes `p99` covers, from minute `first`."""
    return Beside(OLD, minutes([per_minute] * len(p99), first), minutes(p99, first))


FAST = [0.12] * 10
SLOW = minutes([24.0] * 10)

# (case, the canary's p99s, the revisions beside it, the service's p99s before the deploy, slow, words said)
JUDGED = [
    ("slow alone, the revision beside it fast, the service fast before: its own",
     SLOW, [stable(FAST)], FAST, True, "the new revision's alone"),
    ("the revision beside it slow too: a cause they share",
     SLOW, [stable([0.12] * 8 + [9.0, 9.0])], FAST, False, "a cause they share"),
    ("nothing beside it with enough requests: not shown to be its own",
     SLOW, [stable(FAST, per_minute=1.2)], FAST, False, "no other revision served 20 requests"),
    ("no revision beside it (it took all the traffic): not shown to be its own",
     SLOW, [], FAST, False, "no other revision served"),
    ("the revision beside it served only before the canary's minutes (a 100 % deploy): not shown to be its own",
     SLOW, [stable(FAST, per_minute=1500, first=-10)], FAST, False, "no other revision served 20 requests or more "
                                                                     "in those slow minutes"),
    ("the revision beside it served only the canary's first slow minute, with many requests: not shown",
     SLOW, [stable([0.12], per_minute=1500)], FAST, False, "in only 1 of those 10 slow minutes"),
    ("the revision beside it drained over the first half of the canary's minutes: not shown",
     SLOW, [stable([0.12] * 5, per_minute=600)], FAST, False, "in only 5 of those 10 slow minutes"),
    ("the revision beside it served in 8 of the canary's 10 slow minutes: its own",
     SLOW, [stable([0.12] * 8, first=2)], FAST, True, "in 8 of those minutes"),
    ("its few requests spread over the canary's minutes under min_requests there, many before: not shown",
     SLOW, [Beside(OLD, {**minutes([3000] * 10, -10), **minutes([1.5] * 10)}, minutes(FAST * 2, -10))], FAST, False,
     "no other revision served 20 requests"),
    ("slow before the canary's minutes, fast in them: its speed before them says nothing, its own",
     SLOW, [Beside(OLD, minutes([300] * 20, -10), minutes([9.0] * 10 + FAST, -10))], FAST, True,
     "the new revision's alone"),
    ("the service slow before the deploy too: not the deploy's",
     SLOW, [stable(FAST)], [6.0] * 10, False, "over the bar before the deploy too"),
    ("the minutes before the deploy not read",
     SLOW, [stable(FAST)], [0.12], False, "before the deploy was not read"),
    ("a p99 that brushes the bar: not well over it",
     minutes([4.0] * 10), [stable(FAST)], FAST, False, "not well over the bar"),
    ("slow in a few of its minutes only (a cold start): not slow", minutes([24.0] * 2 + [0.2] * 8),
     [stable(FAST)], FAST, False, ""),
    ("two minutes read: too few to say", minutes([24.0] * 2), [stable(FAST)], FAST, False, ""),
    ("fast: the latency says nothing", minutes(FAST), [stable(FAST)], FAST, False, ""),
]


@pytest.mark.parametrize("own, beside, before, slow, said", [c[1:] for c in JUDGED], ids=[c[0] for c in JUDGED])
def test_slow_alone_by_its_own_minutes(own, beside, before, slow, said):
    verdict = judged(NEW, own, beside, before, 3.0, 20)
    assert verdict.slow is slow, verdict.why
    assert said in verdict.why
    if not said:
        assert verdict.why == ""


def canary(new_p99: float = 24.0, old_p99: float = 0.12, old_before: float = 0.12, new_per_minute: float = 30,
           deployed: float = -13) -> Evidence:
    """NEW deployed at `deployed` with 2 % of the traffic (`new_per_minute` requests a minute at `new_p99`), OLD (six
    days old) with 98 % (1470 a minute at `old_p99`, `old_before` before the deploy), all 200; the connector idle,
    the database up."""
    return (Evidence().revision(OLD, -6 * 24 * 60, sql=(SQL,)).revision(NEW, deployed, sql=(SQL,))
            .traffic(**{OLD: 98, NEW: 2})
            .requests(OLD, -90, deployed, 1500).latency(OLD, -90, deployed, old_before)
            .requests(OLD, deployed, 5, 1470).latency(OLD, deployed, 5, old_p99)
            .requests(NEW, deployed, 5, new_per_minute).latency(NEW, deployed, 5, new_p99)
            .connector(max_instances=5).connector_metric("instances", -90, 5, 2).connector_metric("cpu", -90, 5, 0.3)
            .connector_metric("bytes", -90, 5, 2e6).sql_up(-90, 5, 1))


def full_deploy(old_until: float = -12, sql_cpu: float | None = None) -> Evidence:
    """NEW deployed at -13m taking 100 % (no canary), at 24 s from the minute ending -11m; OLD (six days old, fast)
    serving until the minute ending `old_until` (its share draining to NEW), 1500 requests a minute between them.
    `sql_cpu`: the shared Cloud SQL instance's CPU from -12m (a backfill started with the deploy), 30 % before."""
    e = (Evidence().revision(OLD, -6 * 24 * 60, sql=(SQL,)).revision(NEW, -13, sql=(SQL,)).traffic(**{NEW: 100})
         .requests(OLD, -90, -12, 1500).latency(OLD, -90, -12, 0.12)
         .connector(max_instances=5).connector_metric("instances", -90, 5, 2).connector_metric("cpu", -90, 5, 0.3)
         .connector_metric("bytes", -90, 5, 2e6).sql_up(-90, 5, 1))
    if old_until > -12:
        e = e.requests(OLD, -12, old_until, 300).latency(OLD, -12, old_until, 0.12)
    e = e.requests(NEW, -12, 5, 1500 if old_until <= -12 else 1200).latency(NEW, -12, 5, 24.0)
    return e if sql_cpu is None else e.sql_cpu(-90, -12, 0.3).sql_cpu(-12, 5, sql_cpu)


# (case, evidence, alert, rolled back, said: the evidence the escalation names, or what stops it before)
CASES = [
    ("a 2 % canary at 24 s, the stable revision at 120 ms, a p99 alert over 3 s: rolled back",
     canary(), LATENCY, True, "slow alone"),
    ("the stable revision slow too in the same minutes (the database they share): escalated",
     canary(old_p99=9.0), LATENCY, False, "a cause they share"),
    ("the service slow before the deploy: escalated", canary(old_before=6.0), LATENCY, False,
     "over the bar before the deploy too"),
    ("a 100 % deploy, the revision before fast only until the traffic moved: escalated",
     full_deploy(), LATENCY, False, "no other revision served 20 requests or more in those slow minutes"),
    ("a 100 % deploy while the shared database's CPU is saturated: escalated",
     full_deploy(sql_cpu=0.98), LATENCY, False, ""),
    ("a 100 % deploy, the revision before draining over 3 of the new one's 14 slow minutes read: escalated",
     full_deploy(old_until=-9), LATENCY, False, "in only 3 of those 14 slow minutes"),
    ("a 100 % deploy, the revision before serving beside it in all its minutes: rolled back",
     full_deploy(old_until=5), LATENCY, True, "slow alone"),
    # Controls: stopped before the latency is judged, as a slow canary's 5xx would be.
    ("control: the canary's few requests (15), under min_requests: escalated before its latency is read",
     canary(new_per_minute=1), LATENCY, False, "too little traffic on pricing-00052-wem to judge (15 requests)"),
    ("a canary at 4 s under a 3 s bar: not well over it, escalated", canary(new_p99=4.0), LATENCY, False,
     "not well over the bar"),
    ("control: deployed two hours before the incident, outside the deploy window: escalated before its latency is "
     "read", canary(deployed=-120), LATENCY, False, "was not deployed shortly before the incident"),
    ("a 5xx alert: the slow canary is not its failure", canary(), FIVE_XX_RATIO, False, ""),
    ("a latency alert on the 5xx alone: each revision's p99 of all requests is not what it measures",
     canary(), LATENCY.model_copy(update={"metric_labels": {"response_code_class": "5xx"}}), False, ""),
]


@pytest.mark.parametrize("evidence, alert, rolled_back, said", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_slow_canary_goes_back_only_on_its_own_evidence(evidence, alert, rolled_back, said):
    bundle = evidence.bundle().model_copy(update={"alert": alert})
    result = diagnose(bundle, S)
    chosen = plan(result, bundle, S)
    told = result.summary + " " + " ".join(str(e) for e in result.evidence)
    assert said in told, result.summary
    if rolled_back:
        assert result.signature is Signature.BAD_REVISION, result.summary
        assert chosen.action == "rollback_traffic", chosen.reason
        assert chosen.params.to_revision == OLD
        assert "slow alone" in result.summary and "p99" in result.summary
    else:
        assert chosen.action is None, (result.signature, result.summary)
        assert result.signature is not Signature.HEALTHY or alert is FIVE_XX_RATIO, result.summary


def test_the_missing_evidence_is_named():
    """Escalated, the finding says which evidence was missing: here, the revision beside it slow too."""
    bundle = canary(old_p99=9.0).bundle().model_copy(update={"alert": LATENCY})
    result = diagnose(bundle, S)
    said = result.summary + " " + " ".join(str(e) for e in result.evidence)
    assert "a cause they share" in said, said
