"""Which release pipeline deploys a Cloud Run service, read from the service's labels: pure, no I/O.

A rollback pins the service's traffic to a revision by name (rollback_traffic). A service a pipeline
deploys is rewritten by that pipeline's next rollout, pin and all, and a pipeline that splits traffic
in steps (a canary) is mid-release while it does: a rollback under it fights its rollout. So the
rollback's outcome names the pipeline and how to roll back through it, and a Cloud Deploy canary split
in progress is not rolled back automatically (shared/remediation/planning.py).

What the labels say:
- Cloud Deploy labels what it deploys `app.kubernetes.io/managed-by: google-cloud-deploy` and
  `deploy.cloud.google.com/{location, project-id, delivery-pipeline-id, release-id, target-id}`: the keys
  as they stand on Kubernetes manifests Cloud Deploy rendered, in public repositories. Cloud Deploy's page
  "Using annotations and labels with Cloud Deploy" covers the labels of its own resources; the text that
  lists those it puts on a Cloud Run service was not at hand (UNCONFIRMED), and so is whether a service
  read through the v2 API carries the keys as they are or as `managed-by: google-cloud-deploy`: both
  spellings are read. v2's
  Service.labels only documents that the `run.googleapis.com`, `cloud.googleapis.com`,
  `serving.knative.dev` and `autoscaling.knative.dev` namespaces are refused (google/cloud/run/v2/
  service.proto), not that others are.
- Another pipeline names itself in `managed-by` (google-github-actions/deploy-cloudrun sets
  `managed-by: github-actions` and `commit-sha`, its pull request #400); nothing else of it is read.
- A service without these labels has no pipeline here, and everything behaves as without this module.

Cloud Deploy rolls a target back with `gcloud deploy targets rollback TARGET --delivery-pipeline=PIPELINE
--region=REGION` ("rollbacks a target to a prior rollout ... If release is not specified, the command
rollbacks the target with the last successful deployed release", gcloud reference, deploy targets rollback).
"""
from __future__ import annotations

from datetime import datetime
from typing import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from shared.diagnosis.evidence import Revision, Service
from shared.diagnosis.principals import among, is_service_account
from shared.diagnosis.unaudited_change import deploys_own

CLOUD_DEPLOY = "google-cloud-deploy"
_MANAGED_BY = ("app.kubernetes.io/managed-by", "managed-by")
_DEPLOY_PREFIX = "deploy.cloud.google.com/"


class ReleasePipeline(BaseModel):
    """The pipeline that deploys a service, as its labels name it. `name`, `target`, `location`,
    `project` are Cloud Deploy's (delivery pipeline, target, region, project), "" when not labelled."""

    model_config = ConfigDict(frozen=True)

    managed_by: str
    name: str = ""
    target: str = ""
    location: str = ""
    project: str = ""

    @property
    def cloud_deploy(self) -> bool:
        return self.managed_by == CLOUD_DEPLOY

    def words(self) -> str:
        """The pipeline as a person reads it."""
        if not self.cloud_deploy:
            return f"a release pipeline (label managed-by: {self.managed_by})"
        parts = [f"delivery pipeline {self.name}" if self.name else "",
                 f"target {self.target}" if self.target else ""]
        return "Cloud Deploy" + (f" ({', '.join(p for p in parts if p)})" if any(parts) else "")

    def rollback_command(self) -> str:
        """How to roll back through the pipeline: Cloud Deploy's command, with what the labels name."""
        if not self.cloud_deploy:
            return f"roll back through {self.managed_by}, which deploys it"
        return (f"gcloud deploy targets rollback {self.target or 'TARGET'} "
                f"--delivery-pipeline={self.name or 'PIPELINE'} --region={self.location or 'REGION'}"
                + (f" --project={self.project}" if self.project else ""))


def release_pipeline(labels: Mapping[str, str]) -> ReleasePipeline | None:
    """The pipeline the service's labels name, or None (see the module docstring for the spellings read)."""
    managed_by = next((labels[k] for k in _MANAGED_BY if labels.get(k)), "")
    deploy = {k.removeprefix(_DEPLOY_PREFIX): v for k, v in labels.items() if k.startswith(_DEPLOY_PREFIX)}
    if deploy and not managed_by:
        managed_by = CLOUD_DEPLOY
    if not managed_by:
        return None
    return ReleasePipeline(managed_by=managed_by, name=deploy.get("delivery-pipeline-id", ""),
                           target=deploy.get("target-id", ""), location=deploy.get("location", ""),
                           project=deploy.get("project-id", ""))


def pin_note(pipeline: ReleasePipeline | None, revision: str) -> list[str]:
    """The note a rollback of a pipeline's service carries: its next rollout rewrites the pin, and how to
    roll back through it instead. None: no note."""
    if pipeline is None:
        return []
    return [f"This service is deployed by {pipeline.words()}: its next rollout rewrites the service, and with it "
            f"this pin to {revision}, unless the release it rolls out is fixed; Runwarden's rollback is not known to "
            f"the pipeline. Roll back through it so that it knows: {pipeline.rollback_command()}"]


def canary_in_progress(pipeline: ReleasePipeline, suspect_share: int) -> bool:
    """Whether the failing revision holds a share of a Cloud Deploy service's traffic short of all of it: a
    canary phase splits traffic by percentages (Cloud Deploy canary deployments to Cloud Run), so the
    release is under way, not done. Another pipeline's split is not read as one (nothing documents it)."""
    return pipeline.cloud_deploy and 0 < suspect_share < 100


class RolloutMover(BaseModel):
    """A service whose traffic a tool, not a person, moved after the failing revision's deploy, with that revision
    short of all traffic: a gradual rollout other than Cloud Deploy's (a CI job stepping `gcloud run services
    update-traffic` 5 -> 25 -> 50 -> 100 %, canary/stable tags). What Cloud Run keeps of it is the service's
    `last_modifier` and `update_time` (google/cloud/run/v2/service.proto; no history of splits, and the audit log
    is not read for it)."""

    model_config = ConfigDict(frozen=True)

    by: str                 # Service.last_modifier
    at: datetime            # Service.update_time
    deployed_at: datetime   # the failing revision's create_time
    share: int              # the failing revision's share as served

    def words(self) -> str:
        return (f"{self.by} (not a person) last changed this service at {self.at:%Y-%m-%d %H:%M:%S} UTC, "
                f"{int((self.at - self.deployed_at).total_seconds())} s after the failing revision was deployed, "
                f"which then served {self.share}%: a rollout tool moving traffic in steps (gcloud run services "
                "update-traffic, canary/stable tags) would move it again over this pin; stop its rollout, or its "
                "next step undoes the rollback")


def rollout_mover(service: Service, suspect: Revision, ours: Sequence[str] = ()) -> RolloutMover | None:
    """Who moved the split after `suspect`'s deploy, when it was not a person and `suspect` serves short of all
    traffic, or None. Never a reason to hold the rollback back: nothing says the tool will run again (a CI job
    may have stopped on the failure), and rolling a canary back to its stable revision is what an SRE expects;
    the outcome names it so that a person stops the tool before its next step rewrites the pin. A person's own
    change is theirs to know of, one at 100% is a rollout done, not under way, and one by Runwarden's own
    accounts (`ours`: diagnosis.self_principals) is no other tool's."""
    share = service.serving_percent(suspect.short_name)
    changed, by = service.update_time, service.last_modifier
    # A service account by its domain in any case, Runwarden's own accounts too (principals.is_service_account).
    if not (0 < share < 100) or changed is None or not is_service_account(by) or among(by, ours):
        return None
    # The deploy's own update (unaudited_change.deploys_own: up to its revision's Ready transition), or one before it.
    if changed <= suspect.create_time or deploys_own(changed, suspect):
        return None
    return RolloutMover(by=by, at=changed, deployed_at=suspect.create_time, share=share)
