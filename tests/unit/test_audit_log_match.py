"""A log-match policy on audit log entries (a deploy, a traffic or IAM change recorded by Cloud Audit Logs) tells of a
change, not of a failure: diagnosed and held, never written for (present_failure.alert_hold). Pure: the documented
bad_revision OPEN (backend-00002-xyz failing 60 % since its deploy) as a log-match policy's, read by parse_notification.

Only the logs of changes count: Admin Activity and System Event. Data Access entries record reads (and DATA_WRITE
calls such as Cloud Run's Jobs.RunJob), Policy Denied entries calls VPC Service Controls refused, and an entry selected
by its call's error status or a severity of ERROR or above a failed call: none announces a change, so the alert takes
the usual path (the live evidence decides, with the usual gates).

Sources: "Cloud Audit Logs overview" and "Types of audit logs" (Admin Activity audit logs "contain log entries for API
calls or other actions that modify the configuration or metadata of resources"; the logs
`cloudaudit.googleapis.com/activity`, `data_access`, `system_event`, `policy`); Cloud Run's audit logging page (method
names such as google.cloud.run.v1.Services.ReplaceService, google.cloud.run.v2.Services.UpdateService; "Methods by
permission type": ADMIN_WRITE methods in Admin Activity, Get/List and RunJob in Data Access; no System Event operation
listed); google/cloud/audit/audit_log.proto (AuditLog's fields, its `status` "The status of the overall operation");
LogEntry.proto_payload (google/logging/v2/log_entry.proto: AuditLog or App Engine's RequestLog); "Logging query
language" (log_id, NOT, OR, AND)."""
from __future__ import annotations

import copy

import pytest

from shared.alerts.code_filters import audited_only
from shared.alerts.incidents import parse_notification
from shared.alerts.present_failure import alert_hold
from tests.property.fast import scenario_model
from tests.property.harness import ANCHOR

ACTIVITY = 'logName="projects/demo-project/logs/cloudaudit.googleapis.com%2Factivity"'
RUN = 'resource.type="cloud_run_revision" AND resource.labels.service_name="backend"'
DEPLOY = 'protoPayload.methodName="google.cloud.run.v1.Services.ReplaceService"'


def _log_match(log_filter: str):
    """bad_revision's OPEN as a log-match policy's, its condition and name the log match's own."""
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    incident = document["incident"]
    incident["condition"] = {"name": incident["condition"]["name"], "displayName": "backend changed",
                             "conditionMatchedLog": {"filter": log_filter}}
    incident.update(condition_name="backend changed", policy_name="backend changes",
                    metric={"type": "", "displayName": "", "labels": {}},
                    summary="Log match condition fired for Cloud Run Revision with {service_name=backend}.")
    for value in ("observed_value", "threshold_value"):
        incident.pop(value)
    return parse_notification(document)


# Every entry the filter lets through is an Admin Activity or System Event entry of a call not selected by its
# failure: held, naming the terms that say so. Unheld, each would roll back backend-00002-xyz (the live evidence shows
# it failing), as a failure's alert does.
HELD = [
    ("a deploy, by method and audit log", f"{ACTIVITY} AND {DEPLOY} AND {RUN}", ("logName=", DEPLOY)),
    ("a deploy, by method alone", f"{RUN} AND {DEPLOY}", (DEPLOY,)),
    ("a traffic change, v2", f'{RUN} AND protoPayload.methodName="google.cloud.run.v2.Services.UpdateService"',
     ("v2.Services.UpdateService",)),
    ("an IAM change", f'{RUN} AND protoPayload.methodName="SetIamPolicy"', ("SetIamPolicy",)),
    ("any admin change, by log_id", f'{RUN} AND log_id("cloudaudit.googleapis.com/activity")',
     ('log_id("cloudaudit.googleapis.com/activity")',)),
    ("by who made it, in the Admin Activity log",
     f'{RUN} AND {ACTIVITY} AND protoPayload.authenticationInfo.principalEmail:"@example.com"', ("principalEmail",)),
    ("by the AuditLog's type, in the Admin Activity log",
     f'{RUN} AND {ACTIVITY} AND protoPayload."@type"="type.googleapis.com/google.cloud.audit.AuditLog"',
     ("google.cloud.audit.AuditLog",)),
    ("one of two methods", f'{RUN} AND (protoPayload.methodName="a.Delete" OR protoPayload.methodName="b.Replace")',
     ("a.Delete", "b.Replace")),
    ("a system event", f'{RUN} AND logName:"cloudaudit.googleapis.com%2Fsystem_event"', ("system_event",)),
    # Cloud Run's System Event entries record a revision's Ready condition changing (diagnosis/narrative.py), not an
    # instance's crash or memory limit: what this fired on is a change, read as the other logs of changes are.
    ("a system event, by log_id", f'{RUN} AND log_id("cloudaudit.googleapis.com/system_event")',
     ('log_id("cloudaudit.googleapis.com/system_event")',)),
    ("both logs of changes, by a regular expression",
     f'{RUN} AND logName=~"cloudaudit.googleapis.com%2F(activity|system_event)"', ("activity|system_event",)),
    ("a deploy, by a regular expression of methods",
     f'{RUN} AND protoPayload.methodName=~"Services\\.(ReplaceService|UpdateService)"', ("ReplaceService|",)),
    ("changes that did not fail, by severity", f"{ACTIVITY} AND {RUN} AND severity<ERROR", ("logName=",)),
    ("changes that did not fail, by NOT", f"{ACTIVITY} AND {RUN} AND NOT severity>=ERROR", ("logName=",)),
    ("changes with no error status", f"{ACTIVITY} AND {RUN} AND NOT protoPayload.status.code:*", ("logName=",)),
    ("a severity written in a text search is none", f'{ACTIVITY} AND {DEPLOY} AND NOT textPayload:"severity>=ERROR"',
     (DEPLOY,)),
]

# Entries other than records of changes may come through (the service's own lines, reads, denials, failed calls): the
# alert stands as a log match (acted on where the evidence says).
NOT_HELD = [
    ("the service's errors", f"{RUN} AND severity>=ERROR"),
    ("its request log's 5xx", f'{RUN} AND log_id("run.googleapis.com/requests") AND httpRequest.status>=500'),
    ("a deploy or an error", f"{RUN} AND ({DEPLOY} OR severity>=ERROR)"),
    ("not a deploy", f"{RUN} AND NOT {DEPLOY} AND severity>=ERROR"),
    ("not a deploy, by !=", f'{RUN} AND protoPayload.methodName!="x" AND severity>=ERROR'),
    ("App Engine's request log type", f'{RUN} AND protoPayload."@type"="type.googleapis.com/google.appengine.'
                                      f'logging.v1.RequestLog"'),
    ("App Engine's status, a number", f"{RUN} AND protoPayload.status>=500"),
    ("the audit log's name as text", f'{RUN} AND textPayload:"cloudaudit.googleapis.com"'),
    ("another log named", f'{RUN} AND logName="projects/demo-project/logs/run.googleapis.com%2Fstderr"'),
    ("a text search", f'{RUN} AND "panic:"'),
    # Audit entries that record no change: each was held as "a change" before.
    ("the Policy Denied log: the service's calls refused by VPC Service Controls",
     f'logName="projects/demo-project/logs/cloudaudit.googleapis.com%2Fpolicy" AND '
     f'protoPayload.authenticationInfo.principalEmail="backend@demo-project.iam.gserviceaccount.com"'),
    ("the Policy Denied log, by log_id", f'{RUN} AND log_id("cloudaudit.googleapis.com/policy")'),
    ("the Data Access log: reads", f'{RUN} AND log_id("cloudaudit.googleapis.com/data_access")'),
    ("a read method", f'{RUN} AND protoPayload.methodName="google.cloud.run.v1.Services.GetService"'),
    ("any Cloud Run method, reads among them", f'{RUN} AND protoPayload.methodName:"google.cloud.run."'),
    ("a failed call's status", f"{RUN} AND protoPayload.status.code=7"),
    ("a failed deploy's status", f"{ACTIVITY} AND {DEPLOY} AND protoPayload.status.code>0"),
    ("a failed call's status message", f'{ACTIVITY} AND {RUN} AND protoPayload.status.message:"denied"'),
    ("a status present", f"{ACTIVITY} AND {RUN} AND protoPayload.status.code:*"),
    ("errors within the Admin Activity log", f"{ACTIVITY} AND {RUN} AND severity>=ERROR"),
    ("a failed rollout's System Event line (scenario rollout_not_ready_log_match_alert)",
     f'{RUN} AND severity=ERROR AND protoPayload.status.message:"Ready condition status changed to False"'),
    ("warnings and up within the Admin Activity log", f"{ACTIVITY} AND {RUN} AND severity>=WARNING"),
    ("any severity but NOTICE within the Admin Activity log", f"{ACTIVITY} AND {RUN} AND severity!=NOTICE"),
    ("a deploy refused by a policy", f"{ACTIVITY} AND {DEPLOY} AND protoPayload.policyViolationInfo:*"),
    ("every audit log", f'{RUN} AND logName:"cloudaudit"'),
    ("a change or a denial, by a regular expression",
     f'{RUN} AND logName=~"cloudaudit.googleapis.com%2F(activity|policy)"'),
    ("by who made it, in any audit log", f'{RUN} AND protoPayload.authenticationInfo.principalEmail:"@example.com"'),
    ("by the AuditLog's type, in any audit log",
     f'{RUN} AND protoPayload."@type"="type.googleapis.com/google.cloud.audit.AuditLog"'),
    ("Cloud Run's audit entries, any log", f'{RUN} AND protoPayload.serviceName="run.googleapis.com"'),
]


@pytest.mark.parametrize("name, log_filter, said", HELD, ids=[c[0] for c in HELD])
def test_a_log_match_on_audit_entries_is_held_naming_them(name, log_filter, said):
    incident = _log_match(log_filter)
    assert incident.condition_kind == "log_match"
    why = alert_hold(incident)
    assert "policy 'backend changes' matched audit log entries" in why, why
    assert all(words in why for words in said), why
    assert "not the service's failing requests" in why and "nothing was written" in why, why
    assert not any(word in why for word in ("severity", "status.code")), why


@pytest.mark.parametrize("name, log_filter", NOT_HELD, ids=[c[0] for c in NOT_HELD])
def test_a_log_match_that_may_let_other_entries_through_is_not_held_for_it(name, log_filter):
    assert audited_only(log_filter) == ()
    assert "audit log entries" not in alert_hold(_log_match(log_filter))


def test_a_metric_condition_naming_an_audit_field_in_its_text_is_not_read_as_a_log_match():
    """The hold reads a log match's filter only: a threshold's filter is a Monitoring filter of series."""
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    document["incident"]["condition"]["conditionThreshold"]["filter"] += f" AND metadata.user_labels.x={DEPLOY!r}"
    assert "audit log entries" not in alert_hold(parse_notification(document))
