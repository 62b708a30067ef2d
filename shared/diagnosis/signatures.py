"""The catalogue of what Runwarden can recognise, and the shape of a diagnosis."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict

from shared.diagnosis.evidence import EvidenceItem


class Signature(str, Enum):
    # The newest revision, deployed shortly before the incident, fails (5xx or startup failures)
    # while the revision before it served cleanly.
    BAD_REVISION = "bad_revision"
    # 503s or hangs at a fixed client timeout while the VPC connector is at max instances,
    # CPU-saturated or near its throughput ceiling, and Cloud SQL is up.
    CONNECTOR_SATURATION = "connector_saturation"
    # Cloud SQL is down, or the application cannot connect to it while the connector is healthy.
    DATABASE_UNREACHABLE = "database_unreachable"
    # Instances cannot start: a missing or inaccessible secret, or another configuration error.
    STARTUP_CONFIG_FAILURE = "startup_config_failure"
    # 504s at the service's request timeout: the application is slow, not its network or database.
    REQUEST_TIMEOUT = "request_timeout"
    # 429 (or 500) "no available instance": the service is at its max instances.
    CAPACITY = "capacity"
    # Data missing, too thin, too late, or two causes compete: never acted on, always escalated.
    INCONCLUSIVE = "inconclusive"
    # The alert's condition no longer holds on live data.
    HEALTHY = "healthy"


class TargetBackground(BaseModel):
    """A rollback target's steady background of 5xx as the diagnosis accepted it (shared/diagnosis/
    background.py: a TargetBar with a `why`), kept in the plan, its intent and its action record, so that the
    verification judges the service back on that revision at its background (background.verified_bar) and
    says from which evidence. Absent from a record written before it was kept: judged as it was then."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    revision: str               # the rollback target
    share: float                # its failed share over the baseline before the deploy
    ratio: float                # the bar it was accepted at: min(ceiling, the alert's bar)
    alert_bar: float | None = None
    why: str = ""               # the evidence, as cited in the diagnosis


# What ended the 503s' requests, as Finding.ended names it (narrative.ENDED_BY): the instances' crashes (their
# container's process exited or a crash's signal ended it) and their memory (Cloud Run ended them over its limit).
CRASHES, MEMORY = "crashes", "memory"


class Finding(BaseModel):
    """One rule's verdict on the facts: matched or not, how sure, and what it looked at."""

    model_config = ConfigDict(frozen=True)

    signature: Signature
    matched: bool
    confidence: float = 0.0
    summary: str
    evidence: tuple[EvidenceItem, ...] = ()
    subject: str | None = None                 # the revision or connector the finding is about
    suspect_revision: str | None = None        # bad_revision
    known_good_revision: str | None = None     # bad_revision
    steps_back: int | None = None              # bad_revision: releases back (Ready revisions that served)
    no_target_reason: str = ""                 # bad_revision: why there is no revision to roll back to
    # bad_revision: when traffic reached a suspect created long before (Facts.promotion), None for a deploy.
    suspect_promoted_at: datetime | None = None
    # bad_revision: the rollback target's steady background of 5xx, when it was accepted at a bar over the
    # clean share (shared/diagnosis/background.py): the verification judges the rollback at it.
    target_background: TargetBackground | None = None
    recommendation: str = ""                   # what a person (or a later action) should do
    # Not matched, yet not ruled out either (e.g. a deploy whose revision failed only after clean
    # minutes): it cannot act, but it competes with any cause that matched, so that one cannot act alone.
    not_ruled_out: bool = False
    # What ended the 503s' requests that `recommendation` already sends a person to (narrative.ENDED_BY's names:
    # "crashes", "memory"): the look-next leaves its own words of it out, so that it is said once.
    ended: frozenset[str] = frozenset()
    # Ruled out, yet in the failures' minutes (a database restart inside a deploy's failures): its summary is
    # named beside the one cause that stands (diagnose._verdict), so the answer says both.
    beside: bool = False
    # A finding ruled out beside another cause: what it says when no cause stands (diagnose._verdict). A
    # restart inside failures that no other rule explains is still the one cause found for its own minutes.
    otherwise: Finding | None = None


class Diagnosis(BaseModel):
    """What the evidence says, how sure, and every fact the conclusion rests on."""

    model_config = ConfigDict(frozen=True)

    signature: Signature
    confidence: float                  # 0..1; docs/signatures.md says how each rule derives it
    rule: str                          # which rule decided, in one line
    summary: str                       # the conclusion in a sentence a person can check
    evidence: tuple[EvidenceItem, ...] = ()
    suspect_revision: str | None = None
    known_good_revision: str | None = None
    steps_back: int | None = None
    no_target_reason: str = ""         # bad_revision without a known-good revision: why
    suspect_promoted_at: datetime | None = None   # bad_revision: when a suspect created long before got traffic
    target_background: TargetBackground | None = None   # bad_revision: the target's steady background (Finding's)
    subject: str | None = None
    competing: tuple[str, ...] = ()    # signatures that matched together: a person must choose
    stand_down: str = ""               # why automation must not act (a recent human change), or ""
    recommendation: str = ""
    api_calls: int = 0                 # what collecting the evidence cost

    @property
    def actionable(self) -> bool:
        return (self.signature not in (Signature.INCONCLUSIVE, Signature.HEALTHY)
                and not self.competing and not self.stand_down)
