"""A change to the connector by anyone but Runwarden stands automation down (unchanged); the
summary says who made it (a service account or a person, from the audit entry's principal:
Cloud Audit Logs' AuthenticationInfo.principalEmail, google/cloud/audit/audit_log.proto) and
whether it has finished or is in progress (the operation's last entry, else the connector's
state). A Terraform service account's finished change is not "a person's change to let finish"."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import LogRecord, LogResult

from tests.unit.builders import CONNECTOR, Evidence, at
from tests.unit.test_connector_updating_unowned import deployed

S = DiagnosisSettings()
PATCH = "google.cloud.vpcaccess.v1.Connectors.PatchConnector"


def change(principal: str, *, last: bool = False, status: int | None = None, operation: bool = True):
    entry = LogRecord(timestamp=at(-9), log_id="cloudaudit.googleapis.com/activity", severity="NOTICE", text=PATCH,
                      method_name=PATCH, resource_name=CONNECTOR, principal=principal,
                      operation_id="op-1" if operation else "", operation_first=operation, operation_last=last,
                      status_code=status)
    return lambda b: b.model_copy(update={"connector_audit": LogResult(query="connector audit", entries=(entry,))})


TF = "terraform@infra-prod.iam.gserviceaccount.com"
CI = "ci-deployer@build-42.iam.gserviceaccount.com"
# (connector state, audit entry) -> words the summary must hold, and must not.
CASES = {
    "Terraform's finished change, connector READY": (
        "READY", change(TF, last=True, status=0),
        [f"changed by service account {TF}", "has finished"], ["being changed", "a person", "let that change finish"]),
    "a service account's change with only its first entry, connector READY: finished": (
        "READY", change(CI),
        [f"changed by service account {CI}", "has finished (the connector is READY)"], ["a person", "let that change"]),
    "a service account's change in progress, connector UPDATING": (
        "UPDATING", change(TF),
        [f"is being changed by service account {TF}", "in progress (the connector is UPDATING)",
         "let that change finish"], ["a person", "has finished"]),
    "a person's change in progress (unchanged meaning)": (
        "UPDATING", change("dana@example.com"),
        ["is being changed by a person, dana@example.com", "let that change finish"], ["service account"]),
    "a person's change finished, no operation on the entry, connector READY": (
        "READY", change("erin@example.org", operation=False),
        ["was changed by a person, erin@example.org", "has finished (the connector is READY)"],
        ["being changed", "let that change finish"]),
    "a service account's change that failed": (
        "READY", change(TF, last=True, status=9),
        [f"changed by service account {TF}", "has finished, with error code 9"], ["a person"]),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_summary_says_who_changed_the_connector_and_whether_it_finished(case):
    state, audit, said, unsaid = case
    result = diagnose(audit(deployed(state).bundle()), S)

    assert result.stand_down, result.summary          # the decision is unchanged: anyone's change stands down
    for words in said:
        assert words in result.summary, (words, result.summary)
    for words in unsaid:
        assert words not in result.summary, (words, result.summary)
