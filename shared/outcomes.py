"""The outcome message: what Runwarden concluded and did about one event.

Published as JSON on the outcomes topic, schema `runwarden.outcome/v1`, with attributes for
subscription filters and the incident id as ordering key.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.diagnosis.evidence import EvidenceItem

SCHEMA = "runwarden.outcome/v1"


class OutcomeStatus(str, Enum):
    APPLIED = "applied"        # the write happened and was verified
    DRY_RUN = "dry_run"        # everything but the write
    SKIPPED = "skipped"        # deliberately nothing: duplicate, cooldown, kill switch, not managed, test
    REJECTED = "rejected"      # the input was malformed; acknowledged so it is not redelivered forever
    FAILED = "failed"          # the write was refused or did not take; the API's error is in `reason`
    ESCALATED = "escalated"    # a person must decide; the evidence says why
    RESOLVED = "resolved"      # the incident closed
    PROPOSED = "proposed"      # a one-way action the policy does not allow alone: the exact change, for a person
    VERIFIED = "verified"      # a sweep found the service healthy after the action settled
    UNDONE = "undone"          # not healthy by the deadline: the before-state was restored, and a person called


class DiagnosisReport(BaseModel):
    signature: str
    confidence: float
    rule: str
    summary: str
    evidence: list[EvidenceItem] = []
    competing: list[str] = []       # signatures that matched together
    stand_down: str = ""            # a recent human change that stopped automation
    recommendation: str = ""        # what a person should do
    api_calls: int = 0              # what the evidence cost


class ActionReport(BaseModel):
    name: str
    params: dict[str, Any] = {}
    reversible: bool = True
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class Timestamps(BaseModel):
    received_at: datetime
    decided_at: datetime | None = None
    completed_at: datetime | None = None


class Outcome(BaseModel):
    model_config = ConfigDict(use_enum_values=False)

    schema_: Literal["runwarden.outcome/v1"] = Field(default=SCHEMA, alias="schema")
    outcome_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    incident_id: str | None = None
    trigger: Literal["alert", "command"] = "alert"
    target: str | None = None
    diagnosis: DiagnosisReport | None = None
    action: ActionReport | None = None
    status: OutcomeStatus
    reason: str = ""
    notes: list[str] = []
    message_id: str | None = None       # the Pub/Sub message that triggered it
    timestamps: Timestamps

    def to_json(self) -> bytes:
        return json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True).encode()

    def attributes(self) -> dict[str, str]:
        """Pub/Sub attributes, for subscription filters."""
        attrs = {"status": self.status.value, "schema": SCHEMA}
        if self.diagnosis:
            attrs["signature"] = self.diagnosis.signature
        if self.action:
            attrs["action"] = self.action.name
        if self.target:
            attrs["service"] = self.target.rsplit("/", 1)[-1]
        return attrs

    @property
    def ordering_key(self) -> str:
        return self.incident_id or ""
