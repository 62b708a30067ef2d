"""A finding that acts must not rest on log-based rule-outs that never ran.

The service's log read failing outright (PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNAVAILABLE after
the retries) becomes a gap and leaves `logs` None (collection.py). The checks that read the logs to
hold a finding back then see nothing: Cloud Run's own refusals for want of an instance, another
service's 5xx passed on, the database's own answers, a wait on a named host. No line seen is not no
line logged: the finding is still stated, from its metrics, at UNREAD_LOGS_CONFIDENCE (below
act_min_confidence), naming the unread source, and escalated; nothing is scaled or rolled back.
"""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.rules.base import UNREAD_LOGS_CONFIDENCE
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_connector_downstream_answers import AXIOS, busy_connector
from tests.unit.test_diagnosis import NEW, NO_INSTANCE, deployed, quiet_connector
from tests.unit.test_target_startup_read import DENIED, EXHAUSTED

S = DiagnosisSettings()
UNAVAILABLE = "logging: application and system log: ServiceUnavailable: 503 The service is currently unavailable."
REQUESTS_LOG = "run.googleapis.com/requests"


def _saturated(lines=()):
    """A connector at max with CPU 90% from -9m, a fifth of the requests 503 and hanging at 31 s."""
    return busy_connector(31.0, lines)


def _refused_by_cloud_run():
    """A deploy 10 minutes ago whose 500s are Cloud Run's own refusals for want of an instance."""
    return quiet_connector(deployed(Evidence()).log(-4, NO_INSTANCE, NEW, count=20, log_id=REQUESTS_LOG))


def _deploy_failing():
    return quiet_connector(deployed(Evidence()))


# (incident, the service log read's gap or None when it was read) -> signature, action, confidence at most
CASES = {
    "connector saturated, logs read, nothing holds it back: scaled": dict(
        build=_saturated, gap=None, signature=Signature.CONNECTOR_SATURATION, action="scale_connector", most=1.0),
    "connector saturated, log read denied: stated, not scaled": dict(
        build=_saturated, gap=DENIED, signature=Signature.CONNECTOR_SATURATION, action=None,
        most=UNREAD_LOGS_CONFIDENCE),
    "connector saturated, log read out of quota: stated, not scaled": dict(
        build=_saturated, gap=EXHAUSTED, signature=Signature.CONNECTOR_SATURATION, action=None,
        most=UNREAD_LOGS_CONFIDENCE),
    "connector saturated, log read unavailable after the retries: stated, not scaled": dict(
        build=_saturated, gap=UNAVAILABLE, signature=Signature.CONNECTOR_SATURATION, action=None,
        most=UNREAD_LOGS_CONFIDENCE),
    "connector saturated, logs not read at all (no gap): stated, not scaled": dict(
        build=_saturated, gap="", signature=Signature.CONNECTOR_SATURATION, action=None,
        most=UNREAD_LOGS_CONFIDENCE),
    # The same incident where the logs hold a downstream's 503s, passed on: read, they hold it back;
    # unread, they must not be taken for none.
    "a downstream's 503s passed on, logs read: held back": dict(
        build=lambda: _saturated(((AXIOS, 20),)), gap=None, signature=Signature.INCONCLUSIVE, action=None, most=0.0),
    "a downstream's 503s passed on, log read denied: not scaled": dict(
        build=lambda: _saturated(((AXIOS, 20),)), gap=DENIED, signature=Signature.CONNECTOR_SATURATION, action=None,
        most=UNREAD_LOGS_CONFIDENCE),
    "a deploy failing, logs read: rolled back": dict(
        build=_deploy_failing, gap=None, signature=Signature.BAD_REVISION, action="rollback_traffic", most=1.0),
    "a deploy failing, log read denied: stated, not rolled back": dict(
        build=_deploy_failing, gap=DENIED, signature=Signature.BAD_REVISION, action=None,
        most=UNREAD_LOGS_CONFIDENCE),
    "Cloud Run's refusals for want of an instance, logs read: held back": dict(
        build=_refused_by_cloud_run, gap=None, signature=Signature.INCONCLUSIVE, action=None, most=0.0),
    "Cloud Run's refusals for want of an instance, log read out of quota: not stated at full confidence": dict(
        build=_refused_by_cloud_run, gap=EXHAUSTED, signature=Signature.BAD_REVISION, action=None,
        most=UNREAD_LOGS_CONFIDENCE),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_an_action_never_rests_on_log_checks_that_were_not_read(case):
    bundle = case["build"]().bundle()
    if case["gap"] is not None:
        gaps = (*bundle.gaps, case["gap"]) if case["gap"] else bundle.gaps
        bundle = bundle.model_copy(update={"logs": None, "target_startup": None, "gaps": gaps})

    result = diagnose(bundle, S)

    assert result.signature is case["signature"], result.summary
    assert result.confidence <= case["most"], result.summary
    assert plan(result, bundle, S).action == case["action"], result.summary
    if case["gap"] is not None:
        # The unread source is named, with Logging's own status, for the person who decides.
        assert "log read failed" in result.summary or "logs were not read" in result.summary, result.summary
        assert "were not ruled out" in result.summary, result.summary
        if case["gap"]:
            assert case["gap"].split(": ")[2][:20] in result.summary, result.summary
        assert any(e.source == "log" and e.passed is False and "application and system log" in e.query
                   for e in result.evidence)


def test_the_unread_confidence_is_under_the_default_action_bar():
    # The escalation rests on the bar: a deployment that lowers act_min_confidence to this or under
    # accepts acting on unread logs (docs/signatures.md, "Confidence").
    assert UNREAD_LOGS_CONFIDENCE < DiagnosisSettings().act_min_confidence
