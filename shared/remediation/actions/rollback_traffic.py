"""rollback_traffic: send 100% of a service's traffic back to its last known-good revision."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.remediation.actions import register
from shared.remediation.actions.base import Action, ActionParams
from shared.config import Config
from shared.errors import PermanentError
from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType

# Automation goes back one revision at most; anything further is a person's call.
MAX_AUTOMATIC_STEPS = 1


class RollbackTrafficParams(ActionParams):
    to_revision: str                  # the last known-good revision (short name)
    from_revision: str                # the revision being taken out of service
    from_revision_created_at: datetime
    steps_back: int                   # ready revisions between them, counting to_revision
    expected_etag: str                # the service as read before planning; a concurrent change aborts


def traffic_state(service: Service) -> dict[str, Any]:
    """The part of a service this action changes, as recorded in outcomes."""
    return {
        "generation": service.generation,
        "traffic": [t.model_dump(mode="json") for t in service.traffic],
        "traffic_statuses": [t.model_dump(mode="json") for t in service.traffic_statuses],
    }


@register
class RollbackTraffic(Action[RollbackTrafficParams]):
    name = "rollback_traffic"
    params_model = RollbackTrafficParams
    reversible = True  # the before-state's traffic split can be restored as it was
    iam_permissions = (
        "run.services.get",
        "run.services.update",
        "run.revisions.list",
        "run.operations.get",
        "iam.serviceAccounts.actAs",  # whether a traffic-only update checks it is unconfirmed; grant it
    )

    def bounds_violations(self, params: RollbackTrafficParams, config: Config, now: datetime) -> list[str]:
        violations = []
        if not config.manages(params.target):
            violations.append(f"{params.target} is not a managed service")
        if params.to_revision == params.from_revision:
            violations.append("the known-good revision is the failing one")
        if params.steps_back > MAX_AUTOMATIC_STEPS:
            violations.append(
                f"{params.to_revision} is {params.steps_back} revisions back; "
                f"automation goes back at most {MAX_AUTOMATIC_STEPS}")
        age = (now - params.from_revision_created_at).total_seconds()
        limit = config.bounds.rollback.max_revision_age_seconds
        if age > limit:
            violations.append(
                f"{params.from_revision} was created {int(age)} s ago; rollback only acts within {limit} s of a deploy")
        return violations

    def desired_traffic(self, params: RollbackTrafficParams) -> list[TrafficTarget]:
        return [TrafficTarget(type=TrafficType.REVISION, revision=params.to_revision, percent=100)]

    def preview(self, params: RollbackTrafficParams, before: dict[str, Any]) -> dict[str, Any]:
        traffic = [t.model_dump(mode="json") for t in self.desired_traffic(params)]
        return {"traffic": traffic, "traffic_statuses": traffic}

    def apply(self, params: RollbackTrafficParams, adapters: Any) -> dict[str, Any]:
        after = adapters.run.set_traffic(params.target, self.desired_traffic(params), params.expected_etag)
        if after.serving_percent(params.to_revision) != 100:
            raise PermanentError(
                f"update finished but {params.to_revision} serves {after.serving_percent(params.to_revision)}%, not 100%",
                code="VERIFICATION_FAILED")
        return traffic_state(after)

    def notes(self, params: RollbackTrafficParams) -> list[str]:
        return [
            f"Traffic is pinned to {params.to_revision}: new deploys receive no traffic until it is restored "
            f"(gcloud run services update-traffic {params.target.rsplit('/', 1)[-1]} --to-latest).",
        ]
