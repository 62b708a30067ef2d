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
from shared.diagnosis.evidence import (Service, TrafficTarget, TrafficType, describe_command, short_name,
                                      split_text)
from shared.diagnosis.facts import clock_on
from shared.outcomes import OutcomeStatus
from shared.remediation.judging import Step, StepKind
from shared.remediation.records import ActionRecord, ActionState, PinRecord


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
    late = _served_late(record, served_at)
    if step.kind is StepKind.VERIFY:
        return LateVerdict(OutcomeStatus.VERIFIED, ActionState.VERIFIED, f"{late}: verified: {step.why}")
    kept = ("; not undone: it served after its operation had failed and was answered escalated, so a person "
            "decides whether to put back the split from before" if step.kind is StepKind.UNDO else "")
    return LateVerdict(OutcomeStatus.ESCALATED, ActionState.ESCALATED, f"{late}: not verified: {step.why}{kept}")


def _served_late(record: ActionRecord, served_at: datetime) -> str:
    revision = str(record.params.get("to_revision") or "")
    return (f"{record.action} to {revision}, whose UpdateService operation failed at "
            f"{clock_on(record.applied_at, served_at)} with its split left desired (answered `escalated` then), "
            f"was served late: {short_name(record.service)} serves {revision} at 100% since "
            f"{clock_on(served_at, record.applied_at)} at the latest (the sweep that read it serving), and is "
            "judged from then as any rollback")


def unread_bar(judged: ActionRecord) -> datetime:
    """Until when a late rollback (`judged_as`) waits for evidence it cannot read (a read that keeps failing, or
    answers in part): its deadline past by one verification period (deadline_seconds - settle_seconds, 10 min with
    the defaults), the bar any pending action's unreadable evidence is escalated at (verification.Sweep._unreadable).
    Past it, the wait ends with `unverified`: before, every sweep deferred it again (`reminder_deferred`) while the
    pin's reminder still promised a verdict, for as long as the read failed."""
    return judged.deadline_at + (judged.deadline_at - judged.settle_at)


def unverified(record: ActionRecord, served_at: datetime, bar: datetime, missing: str) -> LateVerdict:
    """The verdict of a late rollback whose evidence could not be read by `unread_bar` (`missing`: the read that
    failed and its error): it serves, and is not verified; kept `escalated` (never `verified` on evidence not read,
    never undone on it either); a person judges the service by its own metrics."""
    return LateVerdict(OutcomeStatus.ESCALATED, ActionState.ESCALATED,
                       f"{_served_late(record, served_at)}: it serves, but was not verified: its evidence could not "
                       f"be read from then to {clock_on(bar, served_at)} (its deadline past by one verification "
                       f"period): {missing}; nothing written, not undone: a person must judge "
                       f"{short_name(record.service)} by its metrics and request logs")


def released_words(pin: PinRecord, by: str, split: Service | None, now: datetime) -> str:
    """What a person reads when a rollback served late (`pin`, awaiting its late verdict) is released before that
    verdict (`by`: who or what released it): it was not judged, its action record stays `escalated`, and what the
    service serves and asks for now (`split`: as read after the release, None when not read)."""
    name = short_name(pin.service)
    since = clock_on(pin.served_late_at, now) if pin.served_late_at else "its sweep"
    now_serves = (f"{name} serves {split_text(split.traffic_statuses) or 'nothing'} (traffic_statuses) and asks "
                  f"for {split_text(split.traffic) or 'nothing'} (Service.traffic)" if split is not None else
                  f"what {name} serves now was not read: see it with {describe_command(pin.service)}")
    return (f"{name}: the rollback {pin.action_id} to {pin.revision}, served late since {since} (its UpdateService "
            f"operation had failed with its split left desired), was released before Runwarden judged it ({by}): "
            f"it is not verified, its action record stays `escalated`, and no verdict follows. {now_serves}")


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


def verdict_recorded(data: dict | None) -> str:
    """The late verdict already recorded on a rollback's action record (`data`, as stored): its state when
    `applied_late_at` is set (the verdict told, by the update that set it), else "". A pin whose note of that
    verdict was lost after the record's update (Sweep._late_verdict notes the pin second) still reads as awaiting
    one: released now, it must not be said "released before Runwarden judged it", contradicting the verdict sent."""
    if not data or data.get("applied_late_at") is None:
        return ""
    return str(data.get("state") or ActionState.ESCALATED.value)
