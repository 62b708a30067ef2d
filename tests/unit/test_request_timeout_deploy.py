"""504s after a deploy that lowered the request timeout under requests that always took that long
are the deploy's, not a slow application: request_timeout stands aside and bad_revision sends
traffic back, which restores the longer timeout. 504s at a timeout the deploy did not move, or
under which the requests used to finish, stay a slowness that competes with the deploy."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()


def _cut_after(deployed: float, old_timeout: float, new_timeout: float, p99_before: float) -> Evidence:
    """OLD served 60 requests a minute with a p99 of `p99_before` s; NEW, deployed at `deployed`,
    answers a third of its requests 504 at its `new_timeout`."""
    return quiet_connector(
        Evidence().revision(OLD, -3000, timeout=old_timeout).revision(NEW, deployed, timeout=new_timeout)
        .traffic(**{NEW: 100})
        .requests(OLD, -180, deployed, 60).latency(OLD, -180, deployed, p99_before)
        .requests(NEW, deployed, 5, 40).requests(NEW, deployed, 5, 20, code="504")
        .latency(NEW, deployed, 5, new_timeout))


CASES = {
    "timeout lowered under requests that always took longer: the deploy's": dict(
        deployed=-10, old=300, new=10, p99_before=18, signature=Signature.BAD_REVISION, action="rollback_traffic"),
    "timeout lowered, but requests used to finish well under it: slowness competes": dict(
        deployed=-10, old=300, new=10, p99_before=0.4, signature=Signature.INCONCLUSIVE, action=None),
    "timeout unchanged: slowness competes with the deploy": dict(
        deployed=-10, old=60, new=60, p99_before=2, signature=Signature.INCONCLUSIVE, action=None),
    "timeout lowered long before the incident: no deploy to blame": dict(
        deployed=-120, old=300, new=10, p99_before=18, signature=Signature.REQUEST_TIMEOUT, action=None),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_504s_under_a_timeout_the_deploy_lowered_are_the_deploys(case):
    e = _cut_after(case["deployed"], case["old"], case["new"], case["p99_before"])

    result = diagnose(e.bundle(), S)

    assert result.signature is case["signature"], result.summary
    assert plan(result, e.bundle(), S).action == case["action"]
    if case["signature"] is Signature.INCONCLUSIVE:
        assert set(result.competing) == {Signature.BAD_REVISION.value, Signature.REQUEST_TIMEOUT.value}
    if case["action"]:
        assert result.known_good_revision == OLD
        assert f"request timeout from {case['old']} s to {case['new']} s" in result.summary, result.summary


GO_DIAL = "failed to connect to `host=10.20.0.5 user=app database=shop`: dial tcp 10.20.0.5:5432: i/o timeout"

# A connector busy with another service's traffic in the same minutes (at its max, CPU 90%): the 504s a
# deploy's lowered timeout cuts are not its doing, unless dials through it fail.
BUSY_CONNECTOR_CASES = {
    "timeout lowered under requests that always took longer, connector busy: the deploy's": dict(
        old=300, new=30, p99_before=70, dials=0, signature=Signature.BAD_REVISION, action="rollback_traffic",
        connector=False),
    "timeout lowered, but requests used to finish well under it, connector busy: both compete": dict(
        old=300, new=30, p99_before=0.4, dials=0, signature=Signature.INCONCLUSIVE, action=None, connector=True),
    "timeout lowered under longer requests, but dials through the busy connector fail: both compete": dict(
        old=300, new=30, p99_before=70, dials=20, signature=Signature.INCONCLUSIVE, action=None, connector=True),
}


@pytest.mark.parametrize("case", BUSY_CONNECTOR_CASES.values(), ids=BUSY_CONNECTOR_CASES.keys())
def test_504s_under_a_timeout_the_deploy_lowered_are_not_a_busy_connectors(case):
    from shared.diagnosis.facts import Facts
    from shared.diagnosis.rules import connector_saturation

    e = (Evidence().revision(OLD, -3000, timeout=case["old"]).revision(NEW, -10, timeout=case["new"])
         .traffic(**{NEW: 100})
         .requests(OLD, -180, -10, 60).latency(OLD, -180, -10, case["p99_before"])
         .requests(NEW, -10, 5, 40).requests(NEW, -10, 5, 20, code="504").latency(NEW, -10, 5, case["new"])
         .sql_up(-180, 5, 1).connector(max_instances=3).connector_metric("instances", -180, -20, 2)
         .connector_metric("instances", -20, 5, 3).connector_metric("cpu", -180, -20, 0.2)
         .connector_metric("cpu", -20, 5, 0.9).connector_metric("bytes", -180, 5, 4e6))
    if case["dials"]:
        e = e.log(-8, GO_DIAL, NEW, count=case["dials"])

    result = diagnose(e.bundle(), S)
    connector = connector_saturation.evaluate(Facts(e.bundle(), S))

    assert result.signature is case["signature"], result.summary
    assert plan(result, e.bundle(), S).action == case["action"]
    assert (connector.matched or connector.not_ruled_out) is case["connector"], connector.summary
    if case["action"]:
        assert result.known_good_revision == OLD
        assert "gives them no more time when scaled" in connector.summary, connector.summary


# A share of 504s at the lowered timeout between request_timeout's bar (status_ratio, 10 %) and bad_revision's
# (bad_error_ratio, 20 %): request_timeout stood aside for them as the deploy's and bad_revision asked 20 %, so
# neither named a cause (scenario timeout_10s_meant_as_minutes_by_person_p99_alert_quiet_connector).
UNDER_BAD_RATIO_CASES = {
    "15 % 504 at a timeout lowered under requests that always took longer: the deploy's": dict(
        cut=9, old=30, new=10, p99_before=18, signature=Signature.BAD_REVISION, action="rollback_traffic"),
    "19 % 504 at a timeout lowered under requests that always took longer: the deploy's": dict(
        cut=11, old=30, new=10, p99_before=18, signature=Signature.BAD_REVISION, action="rollback_traffic"),
    "15 % 504 at a timeout lowered, requests used to finish well under it: not the deploy's alone (unchanged)": dict(
        cut=9, old=30, new=10, p99_before=0.4, signature=Signature.REQUEST_TIMEOUT, action=None),
    "5 % 504 at a timeout lowered under longer requests: under the 504 bar, no cause (unchanged)": dict(
        cut=3, old=30, new=10, p99_before=18, signature=Signature.INCONCLUSIVE, action=None),
}


@pytest.mark.parametrize("case", UNDER_BAD_RATIO_CASES.values(), ids=UNDER_BAD_RATIO_CASES.keys())
def test_504s_at_a_timeout_the_deploy_lowered_name_it_under_the_general_5xx_bar(case):
    e = quiet_connector(
        Evidence().revision(OLD, -3000, timeout=case["old"]).revision(NEW, -10, timeout=case["new"])
        .traffic(**{NEW: 100})
        .requests(OLD, -180, -10, 60).latency(OLD, -180, -10, case["p99_before"])
        .requests(NEW, -10, 5, 60 - case["cut"]).requests(NEW, -10, 5, case["cut"], code="504")
        .latency(NEW, -10, 5, case["new"]))

    result = diagnose(e.bundle(), S)

    assert result.signature is case["signature"], result.summary
    assert plan(result, e.bundle(), S).action == case["action"], result.summary
    if case["action"]:
        assert result.known_good_revision == OLD
        assert any("at the 10 s timeout its deploy lowered from 30 s" in item.observed for item in result.evidence)
