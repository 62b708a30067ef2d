"""Which release pipeline a Cloud Run service's labels name (shared/remediation/release_pipeline.py): a table,
no I/O. A service without a pipeline's labels has none, and behaves as before."""
from __future__ import annotations

import pytest

from shared.remediation.release_pipeline import canary_in_progress, pin_note, release_pipeline

CLOUD_DEPLOY = {"app.kubernetes.io/managed-by": "google-cloud-deploy",
                "deploy.cloud.google.com/delivery-pipeline-id": "web", "deploy.cloud.google.com/target-id": "prod",
                "deploy.cloud.google.com/location": "us-central1", "deploy.cloud.google.com/project-id": "demo",
                "deploy.cloud.google.com/release-id": "rel-7"}

LABELS = [
    # (labels, managed_by or None, the rollback command)
    ({}, None, ""),
    ({"runwarden": "enabled", "team": "payments"}, None, ""),
    (CLOUD_DEPLOY, "google-cloud-deploy",
     "gcloud deploy targets rollback prod --delivery-pipeline=web --region=us-central1 --project=demo"),
    ({"managed-by": "google-cloud-deploy"}, "google-cloud-deploy",
     "gcloud deploy targets rollback TARGET --delivery-pipeline=PIPELINE --region=REGION"),
    ({"deploy.cloud.google.com/target-id": "prod"}, "google-cloud-deploy",
     "gcloud deploy targets rollback prod --delivery-pipeline=PIPELINE --region=REGION"),
    ({"managed-by": "github-actions", "commit-sha": "abc123"}, "github-actions",
     "roll back through github-actions, which deploys it"),
]


@pytest.mark.parametrize("labels, managed_by, command", LABELS)
def test_the_pipeline_a_services_labels_name(labels, managed_by, command):
    pipeline = release_pipeline(labels)
    if managed_by is None:
        assert pipeline is None and pin_note(pipeline, "backend-00001-abc") == []
        return
    assert pipeline is not None and pipeline.managed_by == managed_by
    assert pipeline.rollback_command() == command
    [note] = pin_note(pipeline, "backend-00001-abc")
    assert "backend-00001-abc" in note and command in note and "next rollout" in note


CANARY = [
    # (labels, the failing revision's share, a canary under way)
    (CLOUD_DEPLOY, 25, True),
    (CLOUD_DEPLOY, 100, False),       # the release is done: a bad deploy, rolled back as any
    (CLOUD_DEPLOY, 0, False),
    ({"managed-by": "github-actions"}, 25, False),   # nothing documents another pipeline's split as a canary
]


@pytest.mark.parametrize("labels, share, under_way", CANARY)
def test_a_cloud_deploy_split_short_of_all_traffic_is_a_canary_under_way(labels, share, under_way):
    pipeline = release_pipeline(labels)
    assert pipeline is not None
    assert canary_in_progress(pipeline, share) is under_way
