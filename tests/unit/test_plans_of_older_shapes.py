"""A plan stored by an earlier version against a twin planned now (plans.same_change, and an action record with no
`after` against a plan, intents._same_change). Plans of rollback_traffic stored before the `rollout` field and the
typed left-out reasons existed carry neither (the params' serializer then: `tags_left_out` a tuple of words, no
`rollout` key). Read as what they are, missing fields at their defaults (an older version computed none: its
write and its notes were the default's), they match a twin of the very same change and never one that differs.
Pure: from tables, no I/O."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.remediation.intents import _same_change
from shared.remediation.actions import get_action
from shared.remediation.plans import same_change
from shared.remediation.records import ActionRecord, IntentRecord

SERVICE = "projects/p/locations/us-central1/services/backend"
AT = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
BEFORE = {"traffic": [{"type": "REVISION", "revision": "backend-00002-xyz", "percent": 100, "tag": ""}]}
CI = "ci@p.iam.gserviceaccount.com"

# As RollbackTrafficParams.model_dump(mode="json") wrote them before the typed reasons (8bf409b0^) and `rollout`.
OLD = {"target": SERVICE, "to_revision": "backend-00001-abc", "from_revision": "backend-00002-xyz",
       "from_revision_created_at": "2026-11-26T11:50:00Z", "from_revision_promoted_at": None, "steps_back": 1,
       "expected_etag": '"e1"', "keep_tags": [], "pipeline": None, "manual": False,
       "tags_left_out": ["canary -> backend-00003-new (not Ready: CONDITION_FAILED, HealthCheckContainerError)",
                         "(no tag) -> backend-00000-gone (no longer listed)"]}
NOW = {**OLD, "from_revision_created_at": "2026-11-26T11:50:00Z", "rollout": None,
       "tags_left_out": [{"tag": "canary", "revision": "backend-00003-new", "why": "failed",
                          "condition": "CONDITION_FAILED, HealthCheckContainerError"},
                         {"tag": "", "revision": "backend-00000-gone", "why": "deleted", "condition": ""}]}
MOVER = {"by": CI, "at": "2026-11-26T11:55:00Z", "deployed_at": "2026-11-26T11:50:00Z", "share": 10}


def plan(params, before=BEFORE, action="rollback_traffic") -> IntentRecord:
    return IntentRecord(incident_id="i", message_id="m", owner="m:1", claim_key="k", action=action, target=SERVICE,
                        service=SERVICE, params=params, before=before, noted_at=AT)


def _dumped(params) -> dict:
    """The params as this version writes them (the model's own dump)."""
    action = get_action("rollback_traffic")
    return action.params_model.model_validate(params).model_dump(mode="json")


CASES = [
    # (stored, planned now, the same change?)
    ("an older plan against its twin built now", OLD, _dumped(NOW), True),
    ("an older plan against the same params as dumped raw", OLD, NOW, True),
    ("an older plan without left-out tags", {**OLD, "tags_left_out": []}, _dumped({**NOW, "tags_left_out": []}), True),
    ("another revision to roll back to", OLD, _dumped({**NOW, "to_revision": "backend-00000-old"}), False),
    ("another reason a tag is left out", OLD,
     _dumped({**NOW, "tags_left_out": [{**NOW["tags_left_out"][0], "why": "not_ready_yet",
                                         "condition": "CONDITION_RECONCILING"}, NOW["tags_left_out"][1]]}), False),
    ("a twin naming a rollout tool the older version never looked for", OLD, _dumped({**NOW, "rollout": MOVER}),
     False),
    ("another etag read", OLD, _dumped({**NOW, "expected_etag": '"e2"'}), False),
    ("a stored plan this version cannot read", {**OLD, "steps_back": "one"}, _dumped(NOW), False),
]


@pytest.mark.parametrize("stored, now, same", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_stored_plan_matches_a_twin_of_the_same_change_only(stored, now, same):
    assert same_change(plan(stored), plan(now)) is same
    assert same_change(plan(now), plan(stored)) is same


def test_another_action_or_another_state_before_never_matches():
    assert not same_change(plan(OLD), plan(_dumped(NOW), action="restore_traffic"))
    assert not same_change(plan(OLD), plan(_dumped(NOW), before={"traffic": []}))


@pytest.mark.parametrize("stored, now, same", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_older_action_record_with_no_after_matches_a_plan_of_the_same_change_only(stored, now, same):
    record = ActionRecord(key="other", incident_id="j", action="rollback_traffic", target=SERVICE, service=SERVICE,
                          params=stored, before=BEFORE, after={}, signature="bad_revision", reversible=True,
                          applied_at=AT, settle_at=AT, deadline_at=AT)
    assert _same_change(record, plan(now), get_action("rollback_traffic")) is same


@pytest.mark.parametrize("stored, now, same", [
    (BEFORE, {**BEFORE, "update_time": "2026-11-26T11:58:00+00:00"}, True),     # stored before it kept the time
    ({**BEFORE, "update_time": "2026-11-26T11:58:00+00:00"},
     {**BEFORE, "update_time": "2026-11-26T11:59:30+00:00"}, True),              # a status-only touch between reads
    (BEFORE, {"traffic": [], "update_time": "2026-11-26T11:58:00+00:00"}, False),  # another split: another change
])
def test_when_the_state_before_was_read_is_not_what_it_was(stored, now, same):
    """The Service's update_time in a plan's before-state (rollback_traffic.traffic_state) dates its read for the
    sweep; a plan read a moment later, or stored by a version that kept none, is still the same change."""
    assert same_change(plan(NOW, before=stored), plan(NOW, before=now)) is same
    assert same_change(plan(NOW, before=now), plan(NOW, before=stored)) is same
