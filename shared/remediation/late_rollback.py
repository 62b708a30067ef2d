"""A rollback asked for and not serving (its UpdateService operation failed with its split left desired: pinned
ASKED, its action record closed `escalated`, shared/remediation/pins.py), after a later sweep read it: its
revision serves since (what reconciled the service next served what was asked for), or its revision is gone.
Pure: what to judge, what the verdict says, what the release says; verification.Sweep reads and writes.

Whether Cloud Run retries a failed reconciliation on its own is not documented (UNCONFIRMED: Service.reconciling
and terminal_condition, google/cloud/run/v2/service.proto, say only that a failed reconciliation's state "can
be found in terminal_condition.state"); a restart, a deploy or a person's update may serve it too. Either way the
revision serves from some time between the sweep that read it asked for and the sweep that read it serving,
which no read gives (Service.update_time moves with a change of the desired state, not with the status; the
Run adapter does not keep it): the rollback is judged from the later, `served_at`, so no minute before it
serves is read as after it (a wrong `verified`), at the cost of judging a few minutes later.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.config import VerificationSettings
from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType, short_name, split_text
from shared.diagnosis.facts import clock_on
from shared.outcomes import OutcomeStatus
from shared.remediation.judging import Step, StepKind
from shared.remediation.records import ActionRecord, ActionState


@dataclass(frozen=True)
class LateVerdict:
    """A late rollback's verdict: the outcome's status, the record's state, and the words of both."""

    status: OutcomeStatus
    state: ActionState
    reason: str


def judged_as(record: ActionRecord, served_at: datetime, settings: VerificationSettings) -> ActionRecord:
    """The rollback as the verification judges it (judging.judge, judging.next_step): written when it began
    to serve, `served_at`, with the settle time and deadline any rollback gets after its write, pending."""
    return record.model_copy(update={
        "applied_at": served_at, "settle_at": served_at + timedelta(seconds=settings.settle_seconds),
        "deadline_at": served_at + timedelta(seconds=settings.deadline_seconds), "state": ActionState.PENDING,
        "resolved_at": None, "took_at": None})


def verdict(record: ActionRecord, served_at: datetime, step: Step) -> LateVerdict | None:
    """What the verification's step (judging.next_step of `judged_as`) makes of a rollback that served late:
    None while it waits; `verified` when the service is healthy; otherwise `escalated` with the step's
    evidence. Never an undo: Cloud Run served the split after its operation had failed and Runwarden had
    answered `escalated`, so a person may already act on it; putting back the split from before is theirs
    to decide, with the gcloud line the evidence names."""
    if step.kind is StepKind.WAIT:
        return None
    revision = str(record.params.get("to_revision") or "")
    late = (f"{record.action} to {revision}, whose UpdateService operation failed at "
            f"{clock_on(record.applied_at, served_at)} with its split left desired (answered `escalated` then), "
            f"was served late: {short_name(record.service)} serves {revision} at 100% since "
            f"{clock_on(served_at, record.applied_at)} at the latest (the sweep that read it serving), and is "
            "judged from then as any rollback")
    if step.kind is StepKind.VERIFY:
        return LateVerdict(OutcomeStatus.VERIFIED, ActionState.VERIFIED, f"{late}: verified: {step.why}")
    kept = ("; not undone: it served after its operation had failed and was answered escalated, so a person "
            "decides whether to put back the split from before" if step.kind is StepKind.UNDO else "")
    return LateVerdict(OutcomeStatus.ESCALATED, ActionState.ESCALATED, f"{late}: not verified: {step.why}{kept}")


def revision_gone(service: Service, revision: str, listed: list[str]) -> bool:
    """Whether `revision` no longer exists: not among the service's revisions as a whole ListRevisions listed
    them (`listed`, short names; a listing cut short raises before, and keeps the pin). A revision deleted is
    not listed ("Lists Revisions from a given Service, or from a given location", ListRevisions,
    google/cloud/run/v2/revision.proto); a split may still name it: Cloud Run then cannot serve it (its
    reconciliation fails: "Revision '...' does not exist or is deleted", as the Run stand-in answers,
    UNCONFIRMED as Cloud Run's words), so what is asked for will never serve either way."""
    return bool(revision) and short_name(revision) not in {short_name(name) for name in listed}


def gone_words(service: Service, revision: str, action_id: str) -> str:
    """What a person reads when a pin asked for is released because its revision is gone: what was asked, that
    the revision no longer exists, and what the service serves and asks for now."""
    serving = split_text(service.traffic_statuses) or "nothing"
    asked = split_text(service.traffic) or "nothing"
    still = (f"; its desired split still names {revision}, which Cloud Run cannot serve: a person must set a "
             "split of revisions that exist" if _names(service.traffic, revision) else "")
    return (f"{service.short_name}: the rollback {action_id} asked for {revision} at 100% (its UpdateService "
            f"operation failed with its split left desired), and {revision} no longer exists (not among the "
            f"service's revisions, ListRevisions): it will never serve, so the pin is released. "
            f"{service.short_name} serves {serving} (traffic_statuses) and asks for {asked} (Service.traffic)"
            f"{still}")


def _names(split: tuple[TrafficTarget, ...], revision: str) -> bool:
    return any(t.type is TrafficType.REVISION and t.revision == revision and t.percent for t in split)
