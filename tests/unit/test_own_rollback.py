"""An inconclusive alert after Runwarden's own rollback of the service for another incident, whose
evidence holds the rolled-back revision's 5xx, is that rollback's symptom (pipeline.own_rollback):
skipped with the reason, left to the sweep; never when the sweep's health check cannot judge the
alert, when the rollback is settled or past its deadline, or when the revision shows no 5xx."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.evidence import AlertContext
from shared.pipeline import own_rollback
from shared.remediation.records import ACTIONS, ActionRecord, ActionState

from tests.unit.builders import SERVICE, Evidence, at
from tests.unit.fakes import MemoryStateStore
from tests.unit.test_diagnosis import NEW, OLD, deployed

S = DiagnosisSettings()
LATENCY = AlertContext(resource_type="cloud_run_revision", metric_type="run.googleapis.com/request_latencies",
                       comparison="COMPARISON_GT", threshold=2000)


def _rolled_back(**changes) -> dict:
    record = ActionRecord(key=f"0.first|{SERVICE}|rollback_traffic", incident_id="0.first", target=SERVICE,
                          service=SERVICE, action="rollback_traffic", signature="bad_revision", reversible=True,
                          params={"from_revision": NEW, "to_revision": OLD}, applied_at=at(1), settle_at=at(4),
                          deadline_at=at(12))
    return record.model_copy(update=changes).model_dump(mode="python")


def _after_rollback(alert: AlertContext | None = LATENCY):
    e = deployed(Evidence()).traffic(**{OLD: 100})   # NEW failed, then lost its traffic
    return e.bundle().model_copy(update={"alert": alert})


def test_the_second_policys_alert_is_the_rollbacks_symptom():
    why = own_rollback([_rolled_back()], MemoryStateStore(), _after_rollback(), S, "0.second")

    assert why and f"({NEW} to {OLD}, for incident 0.first" in why and "5xx of" in why


@pytest.mark.parametrize("records, alert, incident", [
    ([_rolled_back()], AlertContext(resource_type="cloud_run_revision",
                                    metric_type="run.googleapis.com/container/memory/utilizations"), "0.second"),
    ([_rolled_back()], LATENCY, "0.first"),                                  # its own incident
    ([_rolled_back(state=ActionState.VERIFIED)], LATENCY, "0.second"),       # settled
    ([_rolled_back(deadline_at=at(-1))], LATENCY, "0.second"),               # past its deadline
    ([_rolled_back(params={"from_revision": "backend-00000-old", "to_revision": OLD})], LATENCY, "0.second"),
    ([_rolled_back(action="scale_connector")], LATENCY, "0.second"),
    ([], LATENCY, "0.second"),
], ids=["alert the sweep cannot judge", "same incident", "verified", "past deadline", "no 5xx of that revision",
        "not a rollback", "no action"])
def test_otherwise_the_alert_is_handled_as_usual(records, alert, incident):
    assert own_rollback(records, MemoryStateStore(), _after_rollback(alert), S, incident) is None


def test_records_not_read_ahead_are_read_from_the_state_store():
    state = MemoryStateStore()
    record = _rolled_back()
    state.put_record(ACTIONS, record["key"], record)

    assert own_rollback(None, state, _after_rollback(), S, "0.second")
