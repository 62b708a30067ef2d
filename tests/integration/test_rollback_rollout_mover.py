"""A canary a CI job's service account stepped after the deploy, rolled back end to end on the stand-ins: Cloud Run
keeps who last changed the service (Service.last_modifier, `creator` kept from creation, update_time;
google/cloud/run/v2/service.proto), the rollback names that account and is never held back by it when its audit
entry shows the account acting as itself (with no entry read, who acted through it is not known, and nothing is
done), and Runwarden's own account (diagnosis.self_principals) is never named. Stand-ins and emulators, no mocks."""
from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.standins.run import RUNWARDEN_CALLER, SEEDED_BY, TrafficSeed
from tests.integration.world import SERVICE, World

SCENARIO = "bad_revision_canary_beside_steady_background_5xx"
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"     # NEW deployed at T0 - 10 min, serving 10%
CI = "ci-deployer@demo-project.iam.gserviceaccount.com"


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    return World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"],
                 diagnosis={"self_principals": [RUNWARDEN_CALLER]})


# The two readings of the same step: its Admin Activity entry read (as on Google Cloud, where "Admin Activity audit
# logs ... can't be disabled": Cloud Audit Logs overview), or not read (Service.last_modifier and update_time alone:
# release_pipeline.rollout_mover). Both must give the same answer where who made it is known without the entry.
READINGS = pytest.mark.parametrize("audited", [True, False], ids=["audit entry read", "audit entry not read"])


def _moved(world: World, by: str, audited: bool = True) -> None:
    """The canary's step to 10%, five minutes after the deploy, by `by`'s credentials: an UpdateService whose
    request holds the split (diagnose._rollout_steps reads it)."""
    world.standins.run.set_traffic(SERVICE, [TrafficSeed(90, OLD), TrafficSeed(10, NEW)], by=by,
                                   at=world.anchor - timedelta(minutes=5), audited=audited)


def _rollout_notes(outcome) -> list[str]:
    return [n for n in outcome.notes if "rollout tool" in n]


def test_a_ci_jobs_step_after_the_deploy_is_named_on_the_rollback_and_does_not_hold_it_back(world):
    world.seed(SCENARIO)
    _moved(world, CI)

    outcome = world.handle(world.alert(SCENARIO))

    assert outcome.status.value == "applied", outcome.reason
    assert world.serving() == {OLD: 100}
    [note] = _rollout_notes(outcome)
    assert note.startswith(f"{CI} (not a person)") and "300 s after the failing revision was deployed" in note, note
    assert "served 10%" in note and "stop its rollout" in note, note


def test_a_ci_accounts_step_with_no_entry_read_stands_down_as_not_known_whose(world):
    """Not read from the audit log, the account's step is the account's only: a person may have acted through it
    (`--impersonate-service-account`), and only the entry's serviceAccountDelegationInfo would say
    (unaudited_change.py). Who made it is not known, and nothing is done."""
    world.seed(SCENARIO)
    _moved(world, CI, audited=False)

    outcome = world.handle(world.alert(SCENARIO))

    assert outcome.status.value != "applied", outcome.reason
    assert f"through the service account {CI}" in outcome.reason, outcome.reason
    assert "who acted through it" in outcome.reason, outcome.reason
    assert world.serving() == {OLD: 90, NEW: 10}


@READINGS
def test_a_step_by_runwardens_own_account_is_not_named(world, audited):
    world.seed(SCENARIO)
    _moved(world, RUNWARDEN_CALLER, audited)

    outcome = world.handle(world.alert(SCENARIO))

    assert outcome.status.value == "applied", outcome.reason
    assert _rollout_notes(outcome) == [], outcome.notes
    assert not any(RUNWARDEN_CALLER in n for n in outcome.notes), outcome.notes


@READINGS
def test_a_persons_step_stands_automation_down_under_both_readings(world, audited):
    """A person's move of the split is a person at work (diagnose._human_changes): nothing is done. Not read from
    the audit log, the same move is seen by Service.last_modifier and update_time only (unaudited_change.py): the
    person and the time are named, and nothing is done either."""
    world.seed(SCENARIO)
    _moved(world, SEEDED_BY, audited)

    outcome = world.handle(world.alert(SCENARIO))

    assert outcome.status.value != "applied", outcome.reason
    assert "recent human change" in outcome.reason and SEEDED_BY in outcome.reason, outcome.reason
    moved_at = f"{(world.anchor - timedelta(minutes=5)):%H:%M:%S}"
    assert moved_at in outcome.reason, outcome.reason
    assert world.serving() == {OLD: 90, NEW: 10}


def test_a_seeded_scenario_names_its_deployer_as_the_last_modifier_at_the_deploy(world):
    """The stand-in seeds a scenario's service as Cloud Run keeps it (Service.last_modifier, update_time): the
    last write is the newest revision's deploy, by its deployer, a moment before the revision was created."""
    world.seed(SCENARIO)

    service = world.standins.run.service(SERVICE)

    deployed = world.anchor - timedelta(minutes=10)
    assert service.last_modifier == SEEDED_BY
    assert timedelta(0) < deployed - service.update_time <= timedelta(seconds=60), (service.update_time, deployed)


def test_runwardens_own_write_makes_it_the_last_modifier_and_keeps_the_creator(world):
    world.seed(SCENARIO)
    _moved(world, CI)
    moved = world.standins.run.service(SERVICE)
    assert (moved.creator, moved.last_modifier) == (SEEDED_BY, CI)

    outcome = world.handle(world.alert(SCENARIO))

    after = world.standins.run.service(SERVICE)
    assert outcome.status.value == "applied", outcome.reason
    assert (after.creator, after.last_modifier) == (SEEDED_BY, RUNWARDEN_CALLER)
    assert after.update_time > moved.update_time


def test_an_operators_rollback_of_the_stepped_canary_names_the_ci_account_too(world):
    world.seed(SCENARIO)
    _moved(world, CI)
    body = {"command": "rollback_traffic", "command_id": "cmd-1", "requested_by": "alice@example.com",
            "target": SERVICE, "params": {"revision": OLD}, "reason": "bad canary"}

    [outcome] = world.command(body)

    assert outcome.status.value == "applied", outcome.reason
    assert [n for n in _rollout_notes(outcome) if n.startswith(CI)], outcome.notes
