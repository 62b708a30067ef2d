"""Planning: a pure function from a diagnosis to the one action it calls for, or to none."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.actions.rollback_traffic import RollbackTraffic, RollbackTrafficParams, traffic_state
from shared.config import DiagnosisSettings
from shared.evidence import EvidenceBundle
from shared.signatures import Diagnosis, Signature


class Plan(BaseModel):
    """Either an action with its parameters and the state it will change, or why there is none."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    action: str | None = None
    params: Any = None          # the action's typed params model
    before: dict[str, Any] = {}
    reason: str = ""            # why this action, or why no action


def plan(diagnosis: Diagnosis, bundle: EvidenceBundle, settings: DiagnosisSettings) -> Plan:
    refusal = _why_not(diagnosis, settings)
    if refusal:
        return Plan(reason=refusal)
    if diagnosis.signature is Signature.BAD_REVISION:
        return _rollback(diagnosis, bundle)
    return Plan(reason=f"no automatic action for {diagnosis.signature.value}: {diagnosis.summary}; "
                       f"recommended: {diagnosis.recommendation}")


def _why_not(diagnosis: Diagnosis, settings: DiagnosisSettings) -> str:
    if diagnosis.signature is Signature.HEALTHY:
        return f"healthy: {diagnosis.summary}"
    if diagnosis.competing:
        return f"causes compete ({', '.join(diagnosis.competing)}): a person must choose"
    if diagnosis.signature is Signature.INCONCLUSIVE:
        return f"inconclusive: {diagnosis.summary}"
    if diagnosis.stand_down:
        return f"automation stands down: {diagnosis.stand_down}"
    if diagnosis.confidence < settings.act_min_confidence:
        return (f"{diagnosis.signature.value} at confidence {diagnosis.confidence:.2f}, below "
                f"act_min_confidence {settings.act_min_confidence:.2f}: {diagnosis.summary}")
    return ""


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
