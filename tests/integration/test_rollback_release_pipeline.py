"""A rollback of a service a release pipeline deploys (its labels name Cloud Deploy): the outcome names the
pipeline, that its next rollout rewrites the pin, and how to roll back through it; a Cloud Deploy canary under
way is not rolled back. Stand-ins and emulators, no mocks."""
from __future__ import annotations

import pytest

from tests.integration.world import SERVICE, World

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
THROUGH_THE_PIPELINE = ("gcloud deploy targets rollback prod --delivery-pipeline=backend-pipeline "
                        "--region=us-central1 --project=demo-project")


@pytest.fixture
def world(standin_env, firestore, pubsub, project_id, anchor):
    return World(standin_env, pubsub, project_id, anchor, operators=["alice@example.com"])


def test_a_rollback_of_a_cloud_deploy_release_names_the_pipeline_and_its_own_rollback(world):
    world.seed("bad_revision_cloud_deploy_release")

    outcome = world.handle(world.alert("bad_revision_cloud_deploy_release"))

    assert outcome.status.value == "applied", outcome.reason
    assert world.serving() == {OLD: 100}
    [note] = [n for n in outcome.notes if "Cloud Deploy" in n]
    assert "delivery pipeline backend-pipeline" in note and "next rollout rewrites" in note, note
    assert THROUGH_THE_PIPELINE in note, note


def test_an_operators_rollback_of_a_cloud_deploy_release_names_the_pipeline_too(world):
    world.seed("bad_revision_cloud_deploy_release")
    body = {"command": "rollback_traffic", "command_id": "cmd-1", "requested_by": "alice@example.com",
            "target": SERVICE, "params": {"revision": OLD}, "reason": "bad deploy"}

    [outcome] = world.command(body)

    assert outcome.status.value == "applied", outcome.reason
    assert any(THROUGH_THE_PIPELINE in n for n in outcome.notes), outcome.notes


def test_a_failing_cloud_deploy_canary_under_way_is_escalated_with_the_pipelines_rollback_not_rolled_back(world):
    world.seed("bad_revision_cloud_deploy_canary_in_progress")

    outcome = world.handle(world.alert("bad_revision_cloud_deploy_canary_in_progress"))

    assert outcome.status.value == "escalated", outcome.reason
    assert "canary under way" in outcome.reason and "backend-pipeline" in outcome.reason, outcome.reason
    assert THROUGH_THE_PIPELINE in outcome.diagnosis.recommendation, outcome.diagnosis.recommendation
    assert world.serving() == {OLD: 75, NEW: 25} and world.standins.run.count("UpdateService") == 0


def test_a_rollback_of_a_service_without_a_pipelines_labels_has_no_pipeline_note(world):
    world.seed("bad_revision")

    outcome = world.handle(world.alert())

    assert outcome.status.value == "applied", outcome.reason
    assert not any("deploy targets rollback" in n or "release pipeline" in n for n in outcome.notes), outcome.notes
