"""What a person is told to check before releasing an escalated plan's hold (shared/remediation/plans.py,
`what_to_check`): the write the plan was about to make, on which resource, and where to look (the target's
current settings, the project's Admin Activity audit log from the moment it was planned). "Once checked that
it did not land" left the person to work out what to check and where."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.remediation import plans
from shared.remediation.records import IntentRecord, IntentState

NOTED = datetime(2026, 3, 4, 10, 15, 30, tzinfo=timezone.utc)
CONNECTOR = "projects/acme-prod/locations/europe-west1/connectors/run-to-sql"
SERVICE = "projects/acme-prod/locations/europe-west1/services/orders"


def _plan(action: str, target: str, before: dict, after: dict) -> IntentRecord:
    return IntentRecord(incident_id="inc-1", message_id="m-1", owner="m-1:1", claim_key=f"inc-1|{target}|{action}",
                        action=action, target=target, service=SERVICE, before=before, after=after, noted_at=NOTED,
                        state=IntentState.ESCALATED)


_SCALE = _plan("scale_connector", CONNECTOR,
               {"connector": {"name": CONNECTOR, "machine_type": "e2-micro", "min_instances": 2, "max_instances": 3}},
               {"connector": {"name": CONNECTOR, "machine_type": "e2-standard-4", "min_instances": 2,
                              "max_instances": 5}})
_ROLLBACK = _plan("rollback_traffic", SERVICE,
                  {"traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]},
                  {"traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION", "revision": "orders-00041-abc",
                                "percent": 100}]})
_UNRECORDED = _plan("rollback_traffic", SERVICE, {}, {})


@pytest.mark.parametrize("plan, said", [
    (_SCALE, ["scale_connector on run-to-sql: machine type e2-micro -> e2-standard-4, instances 2-3 -> 2-5",
              "gcloud compute networks vpc-access connectors describe run-to-sql --region=europe-west1 "
              "--project=acme-prod",
              'logName="projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity"',
              'protoPayload.resourceName:"connectors/run-to-sql"', 'timestamp>="2026-03-04T10:15:30Z"',
              "no entry there does not show that it did not land"]),
    (_ROLLBACK, ["rollback_traffic on orders: traffic LATEST: 100% -> absent; orders-00041-abc: absent -> 100%",
                 "gcloud run services describe orders --region=europe-west1 --project=acme-prod",
                 'logName="projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity"',
                 'protoPayload.resourceName:"services/orders"', 'timestamp>="2026-03-04T10:15:30Z"']),
    (_UNRECORDED, ["rollback_traffic on orders (the change it planned was not recorded with it)",
                   "gcloud run services describe orders"]),
], ids=["connector scale", "traffic rollback", "no change recorded"])
def test_what_to_check_names_the_write_the_resource_and_where_to_look(plan, said):
    words = plans.what_to_check(plan)
    for part in said:
        assert part in words, words
    assert words in plans.release_hint(plan)


def test_a_service_audit_log_entry_is_taken_as_evidence_a_connector_one_is_not_promised():
    """Cloud Run writes Admin Activity entries for UpdateService (Cloud Run audit logging page); VPC Access's
    for a connector patch is UNCONFIRMED, so only the connector's check says that no entry proves nothing."""
    assert "no entry there" not in plans.what_to_check(_ROLLBACK)
