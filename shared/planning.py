"""Planning: a pure function from a diagnosis to the one action it calls for, or to none."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.actions.rollback_traffic import RollbackTraffic, RollbackTrafficParams, traffic_state
from shared.diagnosis import EvidenceBundle
from shared.signatures import Diagnosis, Signature


class Plan(BaseModel):
    """Either an action with its parameters and the state it will change, or why there is none."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    action: str | None = None
    params: Any = None          # the action's typed params model
    before: dict[str, Any] = {}
    reason: str = ""            # why this action, or why no action


def plan(diagnosis: Diagnosis, bundle: EvidenceBundle) -> Plan:
    if diagnosis.signature is Signature.BAD_REVISION:
        return _rollback(diagnosis, bundle)
    return Plan(reason=f"no action for a {diagnosis.signature.value} diagnosis: {diagnosis.summary}")


def _rollback(diagnosis: Diagnosis, bundle: EvidenceBundle) -> Plan:
    suspect = next(r for r in bundle.revisions if r.short_name == diagnosis.suspect_revision)
    params = RollbackTrafficParams(
        target=bundle.service.name,
        to_revision=diagnosis.known_good_revision,
        from_revision=suspect.short_name,
        from_revision_created_at=suspect.create_time,
        steps_back=diagnosis.steps_back,
        expected_etag=bundle.service.etag,
    )
    return Plan(
        action=RollbackTraffic.name,
        params=params,
        before=traffic_state(bundle.service),
        reason=f"send 100% of traffic from {suspect.short_name} back to {diagnosis.known_good_revision}",
    )
