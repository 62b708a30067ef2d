"""The catalogue of what Runwarden can recognise, and the shape of a diagnosis."""
from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict

from shared.evidence import EvidenceItem


class Signature(str, Enum):
    # 5xx concentrated on the newest revision, deployed shortly before the incident,
    # while the revision before it served cleanly.
    BAD_REVISION = "bad_revision"
    # Data missing, too thin or contradictory: never acted on, always escalated.
    INCONCLUSIVE = "inconclusive"


class Diagnosis(BaseModel):
    """What the evidence says, how sure, and every fact the conclusion rests on."""

    model_config = ConfigDict(frozen=True)

    signature: Signature
    confidence: float                  # 0..1; the rule states how it is derived
    rule: str                          # which rule decided, in one line
    summary: str                       # the conclusion in a sentence a person can check
    evidence: tuple[EvidenceItem, ...] = ()
    suspect_revision: str | None = None       # bad_revision: the failing revision (short name)
    known_good_revision: str | None = None    # bad_revision: where traffic can go back to
    steps_back: int | None = None              # ready revisions between them, counting the known-good one

    @property
    def actionable(self) -> bool:
        return self.signature is not Signature.INCONCLUSIVE
