"""Planning turns a diagnosis into one action; the outcome message carries all of it."""
from __future__ import annotations

import json

from shared.diagnosis.diagnose import diagnose
from shared.config import DiagnosisSettings
from shared.outcomes import DiagnosisReport, Outcome, OutcomeStatus, Timestamps, ActionReport
from shared.remediation.planning import plan

from tests.unit.builders import SERVICE, T0, Evidence

S = DiagnosisSettings()


def _bundle(ok_per_minute: float, failed_per_minute: float):
    return (Evidence().revision("backend-00001-abc", -180).revision("backend-00002-xyz", -10)
            .traffic(**{"backend-00002-xyz": 100}).requests("backend-00001-abc", -70, -10, 40)
            .requests("backend-00002-xyz", -10, 2, ok_per_minute)
            .requests("backend-00002-xyz", -10, 2, failed_per_minute, code="500")
            .latency("backend-00002-xyz", -10, 2, 0.3)).bundle()


def test_bad_revision_plans_a_rollback_to_the_known_good_revision():
    b = _bundle(10, 30)
    proposal = plan(diagnose(b, S), b, S)
    assert proposal.action == "rollback_traffic"
    assert proposal.params.to_revision == "backend-00001-abc"
    assert proposal.params.from_revision == "backend-00002-xyz"
    assert proposal.params.expected_etag == "etag-1"
    assert proposal.before["traffic"] == [{"type": "REVISION", "revision": "backend-00002-xyz", "percent": 100, "tag": ""}]


def test_inconclusive_plans_nothing_and_says_why():
    b = _bundle(0.1, 0.1)
    proposal = plan(diagnose(b, S), b, S)
    assert proposal.action is None
    assert "inconclusive" in proposal.reason and "too little traffic" in proposal.reason


def test_a_signature_below_the_confidence_bar_is_not_acted_on():
    b = _bundle(10, 30)
    strict = DiagnosisSettings(act_min_confidence=0.95)
    proposal = plan(diagnose(b, strict), b, strict)
    assert proposal.action is None and "below act_min_confidence 0.95" in proposal.reason


def test_a_stand_down_is_not_acted_on():
    e = (Evidence().revision("backend-00001-abc", -180).revision("backend-00002-xyz", -10)
         .traffic(**{"backend-00002-xyz": 100}).requests("backend-00001-abc", -70, -10, 40)
         .requests("backend-00002-xyz", -10, 2, 10).requests("backend-00002-xyz", -10, 2, 30, code="500")
         .latency("backend-00002-xyz", -10, 2, 0.3).audit(1, "alice@example.com"))
    b = e.bundle()
    proposal = plan(diagnose(b, S), b, S)
    assert proposal.action is None and proposal.reason.startswith("automation stands down")


def test_outcome_json_and_attributes():
    outcome = Outcome(
        incident_id="0.abc", target=SERVICE, status=OutcomeStatus.APPLIED, reason="ok",
        diagnosis=DiagnosisReport(signature="bad_revision", confidence=0.9, rule="r", summary="s"),
        action=ActionReport(name="rollback_traffic", params={"to_revision": "a"}, before={"traffic": []},
                            after={"traffic": []}),
        timestamps=Timestamps(received_at=T0, completed_at=T0))
    body = json.loads(outcome.to_json())
    assert body["schema"] == "runwarden.outcome/v1"
    assert body["status"] == "applied" and body["trigger"] == "alert"
    assert body["action"]["before"] == {"traffic": []}
    assert outcome.attributes() == {"status": "applied", "schema": "runwarden.outcome/v1",
                                    "signature": "bad_revision", "action": "rollback_traffic", "service": "backend"}
    assert outcome.ordering_key == "0.abc"


def test_rejected_outcome_has_no_ordering_key():
    outcome = Outcome(status=OutcomeStatus.REJECTED, reason="bad", timestamps=Timestamps(received_at=T0))
    assert outcome.ordering_key == "" and outcome.attributes() == {"status": "rejected", "schema": "runwarden.outcome/v1"}
