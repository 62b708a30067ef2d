"""Records this version cannot read, named, never raised as an unexpected exception: the pure parts
(records.read_record, history's checks on records as read, guardrails' budget slots). The emulator side is
tests/integration/test_damaged_records.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import DamagedRecord
from shared.ports import ClaimRecord, ClaimStatus, FoundRecord
from shared.remediation import guardrails
from shared.remediation.history import recent_undone_action, recent_verified_fix
from shared.remediation.records import ACTIONS, ActionRecord, read_record

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
SERVICE = "projects/p/locations/r/services/backend"
GOOD = {"key": "i1|backend|rollback_traffic", "incident_id": "i1", "target": SERVICE, "service": SERVICE,
        "action": "rollback_traffic", "signature": "bad_revision", "reversible": True, "state": "verified",
        "applied_at": NOW - timedelta(minutes=40), "settle_at": NOW - timedelta(minutes=35),
        "deadline_at": NOW - timedelta(minutes=20), "resolved_at": NOW - timedelta(minutes=30),
        "params": {"to_revision": "backend-00001"}}


@pytest.mark.parametrize("data, key, named, why", [
    ({**GOOD, "state": "reverted-by-hand"}, None, "'i1|backend|rollback_traffic'", "state: Input should be"),
    ({k: v for k, v in GOOD.items() if k != "reversible"}, None, "'i1|backend|rollback_traffic'",
     "reversible: Field required"),
    ({k: v for k, v in GOOD.items() if k != "key"}, None, "(no key)", "key: Field required"),
    # found by a query: named by the key it is stored under (ports.FoundRecord)
    (FoundRecord({k: v for k, v in GOOD.items() if k != "key"}, "i1|doc"), None, "'i1|doc'", "key: Field required"),
    ({**GOOD, "applied_at": "yesterday"}, "given-key", "'given-key'", "applied_at: Input should be"),
])
def test_a_record_that_cannot_be_read_is_named_with_why(data, key, named, why):
    with pytest.raises(DamagedRecord) as raised:
        read_record(ActionRecord, data, ACTIONS, key)
    assert raised.value.collection == ACTIONS and raised.value.key == named
    assert raised.value.why.startswith(why), raised.value.why
    assert str(raised.value).startswith(f"the {ACTIONS} record {named} cannot be read ({why}")
    assert isinstance(raised.value, ValueError)   # callers turning a record's ValueError into an answer keep doing so


def test_a_readable_record_is_read():
    assert read_record(ActionRecord, GOOD, ACTIONS).key == GOOD["key"]


@pytest.mark.parametrize("check", [
    lambda records: recent_verified_fix(None, SERVICE, "rollback_traffic", NOW, 3600, records),
    lambda records: recent_undone_action(None, SERVICE, "rollback_traffic", {"to_revision": "backend-00001"}, NOW,
                                         3600, records),
])
@pytest.mark.parametrize("damaged", [
    {**GOOD, "key": "i2|backend|rollback_traffic", "state": "reverted-by-hand"},
    {k: v for k, v in GOOD.items() if k != "applied_at"} | {"key": "i2|backend|rollback_traffic"},
])
def test_a_service_history_that_cannot_be_read_is_never_taken_for_none(check, damaged):
    """The fix that came back, or the undone one the plan would repeat, may be the damaged record: the service is
    not acted on as if it had no such history (fail closed), and the record is named."""
    with pytest.raises(DamagedRecord, match=r"'i2\|backend\|rollback_traffic'"):
        check([damaged, {**GOOD, "state": "pending"}])


def _slot(**changes) -> dict:
    return ClaimRecord(key="budget|h|0", owner="o", status=ClaimStatus.CLAIMED, claimed_at=NOW - timedelta(minutes=5),
                       expires_at=NOW + timedelta(minutes=55)).model_dump(mode="python") | changes


@pytest.mark.parametrize("data, free", [
    (_slot(), False),                                           # claimed: spent
    (_slot(expires_at=NOW - timedelta(minutes=1)), True),       # lapsed: may be taken
    (_slot(status="half-held"), False),                         # cannot be read: counted as spent, never taken over
    ({"owner": "o"}, False),
])
def test_a_budget_slot_that_cannot_be_read_counts_as_spent(data, free):
    assert guardrails._slot_free(data, NOW) is free
