"""A gradual rollout run by a tool other than Cloud Deploy (a CI job moving traffic 5 -> 25 -> 50 -> 100 % with
`gcloud run services update-traffic`): the rollback is not held back (no evidence the tool will fight it), but
its outcome names the service's last modifier when that is not a person and the service changed after the
failing revision's deploy, with the failing revision short of all traffic. Pure: release_pipeline.rollout_mover,
RollbackTraffic.notes, no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.diagnosis.evidence import Condition, Revision, Service, TrafficTarget, TrafficType
from shared.remediation.actions.rollback_traffic import RollbackTraffic, RollbackTrafficParams
from shared.remediation.release_pipeline import rollout_mover

SERVICE = "projects/p/locations/us-central1/services/backend"
OLD, BAD = "backend-00001-abc", "backend-00002-xyz"
DEPLOYED = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
CI = "deployer@p.iam.gserviceaccount.com"
BUILD = "123456789@cloudbuild.gserviceaccount.com"
PERSON = "alice@example.com"


def service(bad_share: int, updated_after: float | None, modifier: str, tags: bool = False) -> Service:
    split = [TrafficTarget(type=TrafficType.REVISION, revision=BAD, percent=bad_share, tag="canary" if tags else ""),
             TrafficTarget(type=TrafficType.REVISION, revision=OLD, percent=100 - bad_share,
                           tag="stable" if tags else "")]
    split = [t for t in split if t.percent or t.tag]
    return Service(name=SERVICE, generation=5, traffic=tuple(split), traffic_statuses=tuple(split),
                   last_modifier=modifier,
                   update_time=DEPLOYED + timedelta(seconds=updated_after) if updated_after is not None else None)




def suspect(ready_after: float = 0) -> Revision:
    """The failing revision, its Ready condition's last transition `ready_after` seconds after its creation."""
    ready = Condition(type="Ready", state="CONDITION_SUCCEEDED",
                      last_transition_time=DEPLOYED + timedelta(seconds=ready_after))
    return Revision(name=f"{SERVICE}/revisions/{BAD}", service=SERVICE, create_time=DEPLOYED, conditions=(ready,))


SUSPECT = suspect()

# (the failing revision's share, the service's update_time after the deploy in seconds, its last modifier,
#  canary/stable tags, whether the outcome names the modifier)
CASES = {
    "a CI job's canary step at 25%, ten minutes after the deploy": (25, 600, CI, False, True),
    "Cloud Build's step at 50% with canary and stable tags": (50, 900, BUILD, True, True),
    "a person moved the split: their own change, not a tool's": (25, 600, PERSON, False, False),
    "the tool's rollout done: the failing revision serves 100%": (100, 900, CI, False, False),
    "the deploy itself, changed nothing since (update_time at the deploy)": (25, 0, CI, False, False),
    "changed 5 s after a revision ready at once: the deploy's own update, stamped when it reconciled":
        (25, 5, CI, False, False),
    "changed 30 s after a revision ready at once: a step of its own": (25, 30, CI, False, True),
    "no update_time read": (25, None, CI, False, False),
    "no last modifier read": (25, 600, "", False, False),
}


@pytest.mark.parametrize("share, after, modifier, tags, named", CASES.values(), ids=CASES.keys())
def test_a_rollout_by_another_tool_is_named_not_held_back(share, after, modifier, tags, named):
    moved = rollout_mover(service(share, after, modifier, tags), SUSPECT)
    assert (moved is not None) == named
    params = RollbackTrafficParams(target=SERVICE, to_revision=OLD, from_revision=BAD, from_revision_created_at=DEPLOYED,
                                   steps_back=1, expected_etag="e", rollout=moved)
    notes = " ".join(RollbackTraffic().notes(params))
    assert (modifier in notes) == named if modifier else True
    if named:
        assert f"{share}%" in notes and "update-traffic" in notes and "stop" in notes


def test_runwarden_s_own_account_is_no_other_tool():
    """Runwarden's own earlier write (its service account among diagnosis.self_principals) that left the failing
    revision short of all traffic is not another tool's rollout: the outcome does not tell a person to stop it."""
    assert rollout_mover(service(25, 600, CI), SUSPECT, ours=(CI,)) is None
    assert rollout_mover(service(25, 600, CI), SUSPECT, ours=("runwarden@p.iam.gserviceaccount.com",)) is not None


# (case, the failing revision's Ready transition after its creation (s), update_time after its creation (s), named)
SLOW = {
    "a slow start ready at 3 min, the service stamped when it reconciled": (180, 185, False),
    "... a step 40 s after it was ready": (180, 220, True),
    "... a step 90 s into the slow start, before it was ready": (180, 90, True),
    "the deploy's own update stamped when it was asked for, 5 s after the revision's creation": (180, 5, False),
    "a Ready flip an hour after the deploy, a step 5 s after it": (3600, 3605, True),
}


@pytest.mark.parametrize("ready_after, after, named", SLOW.values(), ids=SLOW.keys())
def test_a_slow_deploys_own_update_is_not_a_step(ready_after, after, named):
    assert (rollout_mover(service(25, after, CI), suspect(ready_after)) is not None) == named


# Service.last_modifier as Cloud Run may spell it: a service account's domain in any case is one (principals.
# is_service_account folds case), and Runwarden's own account in another case is still its own.
# (case, last_modifier, Runwarden's accounts, named)
CASED = {
    "a CI account spelled in capitals": ("Deployer@P.IAM.GServiceAccount.COM", (), True),
    "Cloud Build's account, its domain capitalised": ("123456789@CloudBuild.GServiceAccount.com", (), True),
    "Runwarden's own account in another case": ("Runwarden@p.iam.gserviceaccount.com",
                                                ("runwarden@p.iam.gserviceaccount.com",), False),
    "a person's address in capitals is still a person's": ("Alice@Example.COM", (), False),
}


@pytest.mark.parametrize("modifier, ours, named", CASED.values(), ids=CASED.keys())
def test_a_service_account_is_told_by_its_domain_in_any_case(modifier, ours, named):
    assert (rollout_mover(service(25, 600, modifier), SUSPECT, ours=ours) is not None) == named
