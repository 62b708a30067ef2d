"""bad_revision needs failures that began with the deploy: a revision that served cleanly for
LATE_ONSET_MINUTES after its deploy, then began to fail, is not rolled back on the deploy's word
(a dependency, load or a leak may have started it); a person decides, with the evidence."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.rules.bad_revision import LATE_ONSET_MINUTES
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector

S = DiagnosisSettings()


def _deployed_at_minus_25(e: Evidence, failing_from: float) -> Evidence:
    """OLD served cleanly until NEW took all traffic at -25; NEW answers 50% 500 from `failing_from`."""
    e = (e.revision(OLD, -300, sql=(SQL,)).revision(NEW, -25, sql=(SQL,)).traffic(**{NEW: 100})
         .requests(OLD, -90, -25, 40).requests(NEW, -25, 5, 40).requests(NEW, failing_from, 5, 40, code="500")
         .latency(OLD, -90, -25, 0.2).latency(NEW, -25, 5, 0.2))
    return quiet_connector(e)


def test_a_revision_that_served_cleanly_for_minutes_before_failing_is_not_rolled_back():
    e = _deployed_at_minus_25(Evidence(), failing_from=-10)

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert "did not begin with the deploy" in result.summary
    assert plan(result, e.bundle(), S).action is None
    cited = [i for i in result.evidence if i.about == "bad_revision" and "before its first failing minute" in i.observed]
    assert cited and cited[0].passed is False and "15 minutes" in cited[0].observed


@pytest.mark.parametrize("clean_minutes", [0, LATE_ONSET_MINUTES - 1])
def test_failures_that_begin_as_traffic_reaches_the_revision_are_still_the_deploys(clean_minutes):
    e = _deployed_at_minus_25(Evidence(), failing_from=-25 + clean_minutes)

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert plan(result, e.bundle(), S).action == "rollback_traffic"


def test_a_late_failing_deploy_still_competes_with_a_cause_that_matched_alone():
    # A leak in the new revision fails late and saturates the connector as it does: neither acts alone.
    # Its 503s wait on the saturated path (10 s: a dial timeout, logged), as a connector's failures do;
    # 503s at 10 s with no wait logged would not be shown to be the connector's (connector_saturation).
    e = (_deployed_at_minus_25(Evidence(), failing_from=-10).requests(NEW, -10, 5, 20, code="503")
         .latency(NEW, -10, 5, 10.0).log(-9, "dial tcp 10.20.0.3:5432: i/o timeout", NEW, count=6)
         .connector_metric("instances", -90, -10, 2).connector_metric("instances", -10, 5, 3)
         .connector_metric("cpu", -90, -10, 0.3).connector_metric("cpu", -10, 5, 0.95))

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert set(result.competing) == {"bad_revision", "connector_saturation"}
    assert plan(result, e.bundle(), S).action is None
    assert "send traffic back by hand if the deploy is the cause" in result.recommendation


def _canary_at_minus_25(e: Evidence, failing_from: float = -10) -> Evidence:
    """NEW deployed at -25 as a 10 % canary beside OLD at 90 %; NEW serves 20 requests a minute cleanly, then
    answers half of them 500 from `failing_from`; OLD serves 90 a minute cleanly throughout unless a row says
    otherwise."""
    e = (e.revision(OLD, -300, sql=(SQL,)).revision(NEW, -25, sql=(SQL,)).traffic(**{OLD: 90, NEW: 10})
         .requests(OLD, -90, 5, 90).requests(NEW, -25, failing_from, 20).requests(NEW, failing_from, 5, 10)
         .requests(NEW, failing_from, 5, 10, code="500")
         .latency(OLD, -90, 5, 0.2).latency(NEW, -25, 5, 0.2))
    return quiet_connector(e)


def test_a_canary_failing_late_while_the_revision_it_replaced_serves_cleanly_beside_it_is_rolled_back():
    # OLD, on the same platform, dependencies and load, served 90 requests a minute cleanly in the very minutes NEW
    # failed: the late onset is NEW's own (a leak, a path reached later), not a cause both share.
    e = _canary_at_minus_25(Evidence())

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.BAD_REVISION, result.summary
    assert result.known_good_revision == OLD
    assert plan(result, e.bundle(), S).action == "rollback_traffic"
    cited = [i for i in result.evidence if i.about == "bad_revision" and f"the revision {NEW} replaced, in the" in i.observed]
    assert cited and OLD in cited[0].observed, [i.observed for i in result.evidence]


def test_a_canary_failing_late_whose_old_revision_was_itself_failing_before_the_deploy_is_not_rolled_back():
    e = _canary_at_minus_25(Evidence()).requests(OLD, -50, -40, 90, code="500")

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert f"{OLD}, the revision it replaced, was itself failing before the deploy" in result.summary
    assert plan(result, e.bundle(), S).action is None


def test_a_late_failure_after_all_traffic_moved_names_the_revision_replaced_as_too_quiet_to_compare():
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -25, sql=(SQL,)).traffic(**{NEW: 100})
         .requests(OLD, -90, -25, 40).requests(NEW, -25, -10, 40).requests(NEW, -10, 5, 20)
         .requests(NEW, -10, 5, 20, code="500").latency(OLD, -90, -25, 0.2).latency(NEW, -25, 5, 0.2))

    result = diagnose(quiet_connector(e).bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert f"{OLD}, the revision it replaced, served 0 requests in those minutes" in result.summary


def test_a_canary_failing_late_as_a_larger_share_reaches_it_is_not_rolled_back_on_the_old_revisions_word():
    # A rollout's next step at -10 (20 to 60 requests a minute): the load NEW fails under is not the load OLD served
    # cleanly beside it (scenario gradual_rollout_by_hand_midway).
    e = _canary_at_minus_25(Evidence()).requests(NEW, -10, 5, 20).requests(NEW, -10, 5, 20, code="500")

    result = diagnose(e.bundle(), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert "its requests rose from 20/min to 60/min" in result.summary
    assert plan(result, e.bundle(), S).action is None
