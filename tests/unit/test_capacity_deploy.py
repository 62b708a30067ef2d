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


# A service-level max instances (Service.scaling.max_instance_count) is the total for the revisions
# with traffic; a revision with no limit of its own reaches it with no deploy and no new revision.
SERVICE_LEVEL = {
    "one revision at the service's max of 5": dict(split={OLD: 100}, counts={OLD: 5}, service_max=5,
                                                   signature=Signature.CAPACITY),
    "two revisions of a split at 3 + 2, the service's max of 5": dict(
        split={OLD: 60, NEW: 40}, counts={OLD: 3, NEW: 2}, service_max=5, signature=Signature.CAPACITY),
    "under the service's max (3 of 5)": dict(split={OLD: 100}, counts={OLD: 3}, service_max=5,
                                              signature=Signature.INCONCLUSIVE),
    "no service-level max, revision unset: not shown at a limit": dict(split={OLD: 100}, counts={OLD: 5},
                                                                        service_max=None,
                                                                        signature=Signature.INCONCLUSIVE),
}


@pytest.mark.parametrize("case", SERVICE_LEVEL.values(), ids=SERVICE_LEVEL.keys())
def test_a_service_level_max_instances_reached_is_capacity(case):
    e = Evidence().revision(OLD, -3000).revision(NEW, -3000 + 60).traffic(**case["split"])
    for name, count in case["counts"].items():
        e.requests(name, -180, 5, 60).requests(name, -15, 5, 20, code="429").latency(name, -180, 5, 0.2)
        e.instances(name, -15, 5, count)
    e = quiet_connector(e)
    bundle = e.bundle()
    bundle = bundle.model_copy(update={"service": bundle.service.model_copy(
        update={"max_instance_count": case["service_max"]})})

    result = diagnose(bundle, S)

    assert result.signature is case["signature"], result.summary
    assert plan(result, bundle, S).action is None
    if case["signature"] is Signature.CAPACITY:
        assert f"service-level max of {case['service_max']} instances" in result.summary, result.summary


# Cloud Run's default of 100 instances a revision when none is set ("Configure maximum instances"),
# and refusals that show only as its "no available instance" lines: the summary says what was seen.
NO_INSTANCE_TEXT = "The request was aborted because there was no available instance."
LIMIT_CASES = {
    "unset max, 100 instances, 429s: at Cloud Run's default": dict(
        max_instances=None, instances=100, code="429", signature=Signature.CAPACITY,
        words=("at its 100 max instances (unset: Cloud Run's default)", "% 429")),
    "max 10, at 10, only 500 'no available instance': the lines are named, not 0% 429": dict(
        max_instances=10, instances=10, code="500", signature=Signature.CAPACITY,
        words=("at its 10 max instances and refuses", "'no available instance' lines in the request log")),
    "unset max, 60 instances: not at a limit": dict(
        max_instances=None, instances=60, code="429", signature=Signature.INCONCLUSIVE, words=()),
}


@pytest.mark.parametrize("case", LIMIT_CASES.values(), ids=LIMIT_CASES.keys())
def test_capacity_reads_the_default_limit_and_names_the_refusals_it_saw(case):
    e = (Evidence().revision(OLD, -3000, max_instances=case["max_instances"]).traffic(**{OLD: 100})
         .requests(OLD, -90, 5, 3000).requests(OLD, -12, 5, 1500, code=case["code"])
         .instances(OLD, -90, -12, 40).instances(OLD, -12, 5, case["instances"]).latency(OLD, -90, 5, 0.3)
         .log(-5, NO_INSTANCE_TEXT, OLD, count=20, log_id="run.googleapis.com/requests",
              severity="WARNING" if case["code"] == "429" else "ERROR", status=int(case["code"])))
    e.connector(max_instances=3).connector_metric("instances", -20, 5, 2).connector_metric("cpu", -20, 5, 0.3)

    result = diagnose(e.bundle(), S)

    assert result.signature is case["signature"], result.summary
    for words in case["words"]:
        assert words in result.summary, result.summary
    assert "(0.0% 429)" not in result.summary, result.summary
