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
"""
from __future__ import annotations

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

FAST = [0.12] * 10
SLOW = [24.0] * 10

# (case, the canary's p99s, the revisions beside it, the service's p99s before the deploy, slow, words said)
JUDGED = [
    ("slow alone, the revision beside it fast, the service fast before: its own",
     SLOW, [Beside(OLD, 3000, FAST)], FAST, True, "the new revision's alone"),
    ("the revision beside it slow too: a cause they share",
     SLOW, [Beside(OLD, 3000, [0.12] * 8 + [9.0, 9.0])], FAST, False, "a cause they share"),
    ("nothing beside it with enough requests: not shown to be its own",
     SLOW, [Beside(OLD, 12, FAST)], FAST, False, "no other revision served 20 requests"),
    ("no revision beside it (it took all the traffic): not shown to be its own",
     SLOW, [], FAST, False, "no other revision served"),
    ("the service slow before the deploy too: not the deploy's",
     SLOW, [Beside(OLD, 3000, FAST)], [6.0] * 10, False, "over the bar before the deploy too"),
    ("the minutes before the deploy not read",
     SLOW, [Beside(OLD, 3000, FAST)], [0.12], False, "before the deploy was not read"),
    ("a p99 that brushes the bar: not well over it",
     [4.0] * 10, [Beside(OLD, 3000, FAST)], FAST, False, "not well over the bar"),
    ("slow in a few of its minutes only (a cold start): not slow", [24.0] * 2 + [0.2] * 8,
     [Beside(OLD, 3000, FAST)], FAST, False, ""),
    ("two minutes read: too few to say", [24.0] * 2, [Beside(OLD, 3000, FAST)], FAST, False, ""),
    ("fast: the latency says nothing", FAST, [Beside(OLD, 3000, FAST)], FAST, False, ""),
]


@pytest.mark.parametrize("own, beside, before, slow, said", [c[1:] for c in JUDGED], ids=[c[0] for c in JUDGED])
def test_slow_alone_by_its_own_minutes(own, beside, before, slow, said):
    verdict = judged(NEW, own, beside, before, 3.0, 20)
    assert verdict.slow is slow
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


# (case, evidence, alert, rolled back)
CASES = [
    ("a 2 % canary at 24 s, the stable revision at 120 ms, a p99 alert over 3 s: rolled back",
     canary(), LATENCY, True),
    ("the stable revision slow too in the same minutes (the database they share): escalated",
     canary(old_p99=9.0), LATENCY, False),
    ("the service slow before the deploy: escalated", canary(old_before=6.0), LATENCY, False),
    ("the canary's few requests (15): escalated", canary(new_per_minute=1), LATENCY, False),
    ("a canary at 4 s under a 3 s bar: not well over it, escalated", canary(new_p99=4.0), LATENCY, False),
    ("deployed two hours before the incident: escalated", canary(deployed=-120), LATENCY, False),
    ("a 5xx alert: the slow canary is not its failure", canary(), FIVE_XX_RATIO, False),
    ("a latency alert on the 5xx alone: each revision's p99 of all requests is not what it measures",
     canary(), LATENCY.model_copy(update={"metric_labels": {"response_code_class": "5xx"}}), False),
]


@pytest.mark.parametrize("evidence, alert, rolled_back", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_slow_canary_goes_back_only_on_its_own_evidence(evidence, alert, rolled_back):
    bundle = evidence.bundle().model_copy(update={"alert": alert})
    result = diagnose(bundle, S)
    chosen = plan(result, bundle, S)
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
