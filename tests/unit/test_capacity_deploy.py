"""capacity names a deploy that lowered the revision's own limits (max instances, requests per
instance) shortly before the refusals: sending traffic back restores them, so a person is told
which revision had them. It stays a person's call (no automatic action for capacity)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()


def _refused_after(deployed: float, old: dict, new: dict) -> Evidence:
    """OLD served 60 requests a minute on 6 instances; NEW, deployed at `deployed`, takes all the
    traffic and sits at its max of 2 instances, a third of its requests 429."""
    return quiet_connector(
        Evidence().revision(OLD, -3000, **old).revision(NEW, deployed, **new).traffic(**{NEW: 100})
        .requests(OLD, -180, deployed, 60).instances(OLD, -180, deployed, 6)
        .requests(NEW, deployed, 5, 40).requests(NEW, deployed, 5, 20, code="429")
        .latency(NEW, deployed, 5, 0.2).instances(NEW, deployed, 5, 2))


CASES = {
    "max instances lowered by the deploy": dict(
        old=dict(max_instances=20), new=dict(max_instances=2), deployed=-12,
        said=f"lowered max instances from 20 to 2 (against {OLD})"),
    "max instances unset before (Cloud Run's 100)": dict(
        old=dict(), new=dict(max_instances=2), deployed=-12,
        said=f"lowered max instances from 100 to 2 (against {OLD})"),
    "concurrency lowered by the deploy, max unchanged": dict(
        old=dict(max_instances=2), new=dict(max_instances=2, concurrency=1), deployed=-12,
        said=f"lowered requests per instance from 80 to 1 (against {OLD})"),
    "limits unchanged: no deploy named": dict(
        old=dict(max_instances=2), new=dict(max_instances=2), deployed=-12, said=None),
    "deployed long before the incident: no deploy named": dict(
        old=dict(max_instances=20), new=dict(max_instances=2), deployed=-120, said=None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_deploy_that_lowered_the_limits_is_named_with_the_revision_that_had_them(case):
    e = _refused_after(case["deployed"], case["old"], case["new"])

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.CAPACITY, result.summary
    assert plan(result, e.bundle(), S).action is None
    if case["said"] is None:
        assert "lowered" not in result.summary and OLD not in result.recommendation, result.summary
        return
    assert case["said"] in result.summary, result.summary
    assert result.recommendation.startswith(f"send traffic back to {OLD}"), result.recommendation
