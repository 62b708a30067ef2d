"""restore_traffic: put a service's traffic split back as a recorded before-state had it.

Used by the verification sweep to undo a rollback that did not help. It only ever writes a split
Runwarden recorded before its own change, so it cannot invent a new one.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_validator

from shared.remediation.actions import register
from shared.remediation.actions.base import Action, ActionParams
from shared.remediation.actions.rollback_traffic import traffic_state
from shared.config import Config
from shared.errors import PermanentError
from shared.diagnosis.evidence import TrafficTarget


class RestoreTrafficParams(ActionParams):
    traffic: tuple[TrafficTarget, ...]   # the recorded before-state's `traffic`
    undoes: str                          # the claim key of the action being undone

    @field_validator("traffic")
    @classmethod
    def _a_whole_split(cls, v: tuple[TrafficTarget, ...]) -> tuple[TrafficTarget, ...]:
        if v and sum(t.percent for t in v) != 100:
            raise ValueError("a recorded split must sum to 100")
        return v


@register
class RestoreTraffic(Action[RestoreTrafficParams]):
    name = "restore_traffic"
    params_model = RestoreTrafficParams
    reversible = True
    corrective = True  # undoes Runwarden's own change: not held back by cooldown or budgets
    iam_permissions = ("run.services.get", "run.services.update", "run.operations.get",
                       "iam.serviceAccounts.actAs")

    def bounds_violations(self, params: RestoreTrafficParams, config: Config, now: datetime) -> list[str]:
        return [] if config.manages(params.target) else [f"{params.target} is not a managed service"]

    def preview(self, params: RestoreTrafficParams, before: dict[str, Any]) -> dict[str, Any]:
        return {"traffic": [t.model_dump(mode="json") for t in params.traffic]}

    def apply(self, params: RestoreTrafficParams, adapters: Any) -> dict[str, Any]:
        # No etag: the service is expected to have moved since (that is why we restore).
        after = adapters.run.set_traffic(params.target, list(params.traffic), "")
        for target in params.traffic:
            if target.revision and after.serving_percent(target.revision) != target.percent:
                raise PermanentError(f"restore finished but {target.revision} serves "
                                     f"{after.serving_percent(target.revision)}%, not {target.percent}%",
                                     code="VERIFICATION_FAILED")
        return traffic_state(after)

    def notes(self, params: RestoreTrafficParams) -> list[str]:
        return [f"Traffic is back to the split recorded before {params.undoes}."]
