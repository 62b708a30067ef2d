"""A person's change of the service that no audit entry read accounts for, read off the service itself.

Cloud Run keeps who changed a service last and when: Service.last_modifier ("Email address of the last
authenticated modifier") and Service.update_time ("The last-modified time"), both output only
(google/cloud/run/v2/service.proto; google-cloud-run's `run_v2.types.Service` docstring). A person's move of the
split a moment before an alert shows there when its Admin Activity entry is not read (the audit read failed, was
cut short, or the entry had not reached Logging yet): the same person at work that the audit reading stands
automation down for (diagnose._human_changes), with only who and when, not what. So it holds the write and names
them: a rollback over a person's own move is the one thing Runwarden must not do.

A service account's change with no entry read is held too: a person may act through the account
(`--impersonate-service-account`), and only the entry's serviceAccountDelegationInfo says so
(principals.principal_kind); without it nobody can tell a pipeline's step from a person's, which principals.py
reads as UNKNOWN, and UNKNOWN stands automation down. A pipeline's step whose entry is late so escalates instead of
being rolled back over (the safe side).

Not such a change:
- Runwarden's own (diagnosis.self_principals), or a workload identity pool's principal (a pipeline's own identity,
  no one acting through it: principals.is_workload_pool; that last_modifier ever holds one rather than an email is
  UNCONFIRMED, the field is documented as an email; an email it is read as one);
- one before the window the audit log is read over (manual_change_window_seconds before the incident);
- a revision's own deploy begun before the incident (`deploy_of`): an update stamped at one of two moments, when
  the deploy was asked for (from OWN_DEPLOY before the revision's create_time to SETTLES after it) or when it
  reconciled (within SETTLES after its Ready condition's last transition, which a slow start puts minutes later:
  `deploy_ready_at`); which one update_time follows is not documented (UNCONFIRMED), and the two-point span holds
  both. Not the minutes between them: a change made while a slow revision becomes ready (a person's update-traffic,
  another person's or a pipeline's change, an `--async` deploy's traffic move) is a change of its own. A Ready
  transition more than LONGEST_DEPLOY after the revision's creation is a later flip (Condition.last_transition_time
  is the last transition), not its deploy's end. A revision whose Ready transition is not read has only the first
  reading: a later update is held (the safe side). A deploy is evidence of a cause, read by the rules. A person's
  `update-traffic` a minute after their own deploy is after its revision was ready, so it is a change of its own,
  as a person's other changes are. Revision.creator is not compared with last_modifier: the sandbox's seeded
  revisions name one creator whoever deployed them, so the comparison would be tested against no realistic reading.

- one an audit entry read accounts for: an entry by the same principal (its principalEmail, else its
  principalSubject: a federated caller's) from AUDITED before its operation's first entry to AUDITED after its last
  (`LogRecord.operation_ended_at`). The first entry is dated when the change was asked for, the last when its
  operation ended, for a deploy when its revision was ready, minutes later for a slow start; which one update_time
  follows is UNCONFIRMED. A deploy's entry (within AUDITED of a revision's create_time) holds the same two points:
  from AUDITED before it to SETTLES after the revision's creation, and SETTLES after its last entry or its
  revision's Ready transition (`_entry_spans`): the same person's `update-traffic` a minute after their deploy, or
  while it starts, its own entry not read, is not the deploy's. The audit reading already judged that entry:
  deploy, step or person's move (a service account's entry shows who acted through it).

A deploy begun after the incident began, or of a revision the rules do not blame created after the blamed
revision's first failing minute ended (diagnose._failures_seen), seen only so, is someone at work on the service
(their fix, a pipeline's next release): it cannot be the incident's cause, and a rollback then would pin traffic
over it. It stands automation down, as its audit entry would (diagnose._audited_changes), named as that
deploy; so does one through a workload identity pool's principal, as its entry would.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from shared.diagnosis.evidence import LogRecord, Revision, Service
from shared.diagnosis.facts import hms
from shared.diagnosis.principals import PrincipalKind, among, is_service_account, is_workload_pool

# A deploy's own update stamped when it is asked for comes before its revision is created, by at most this. A minute is
# a choice, not a cited bound (the stand-in asks 5 s before: sandbox/standins/run.DEPLOY_ASKED_BEFORE). Read where no
# audit entry accounts for the change (`deploys_own`) and for a rollout tool's note (release_pipeline.rollout_mover:
# a step within a deploy's span is the deploy); with an entry read, the deploy's whole operation decides
# (`_accounts_for`).
OWN_DEPLOY = timedelta(seconds=60)
# A deploy's own update stamped when the service reconciles comes once its revision is ready and its traffic routed:
# this after the revision's Ready transition (Condition.last_transition_time, google/cloud/run/v2/condition.proto).
# A choice, not a cited bound: `gcloud run deploy` waits for its operation to complete unless `--async` ("Return
# immediately, without waiting for the operation in progress to complete", gcloud reference, run deploy), so a
# person's next command (an `update-traffic` by hand) comes after the revision was ready, and later than this.
SETTLES = timedelta(seconds=10)
# An audit entry this close to update_time, by the same principal, is the change's own; the same bound dates a deploy's
# entry by its revision's create_time (diagnose._DEPLOY_MATCH).
AUDITED = timedelta(seconds=120)
# A revision's Ready transition this long after its create_time still dates its deploy's end; a later one is a flip of
# a revision long since deployed (Condition.last_transition_time is the LAST transition, "Last time the condition
# transitioned from one status to another", google/cloud/run/v2/condition.proto). A choice: a startup probe may wait
# up to 240 s before its first check (Probe.initial_delay_seconds, "Maximum value for startup probe is 240", run v2
# REST reference) and then failure_threshold x period_seconds, which Cloud Run caps at 600 s, 1800 s with a GPU
# ("Configure container health checks", jobs; that the cap is the same for services is UNCONFIRMED); 45 min holds
# both with time to pull an image.
LONGEST_DEPLOY = timedelta(minutes=45)


@dataclass(frozen=True)
class UnauditedChange:
    """A change of the service no audit entry read says anything of: who and when, and whose it is known to be (a
    person's, or an account's that anyone may have acted through: UNKNOWN)."""

    by: str
    at: datetime
    kind: PrincipalKind = PrincipalKind.PERSON
    deploy: str = ""        # the revision a deploy begun after the incident began made; "": not a deploy
    # The deploy's revision was created after the failures were already seen, though before the incident began.
    before_incident: bool = False

    def words(self) -> str:
        if self.deploy:
            when = ("after the failures began (its revision created after the first failing minute), before the "
                    "incident opened" if self.before_incident else "after the incident began")
            return (f"a deploy of {self.deploy} by {self.by} at {hms(self.at)}, {when} "
                    "(Service.last_modifier and update_time, the revision's create_time; no audit entry read for it): "
                    "someone at work on the service, not the incident's cause")
        if self.kind is PrincipalKind.PERSON:
            return (f"a change of the service by {self.by} at {hms(self.at)} (Service.last_modifier and update_time; "
                    "no audit entry read says what it changed: a split moved, a setting changed)")
        return (f"a change of the service through the service account {self.by} at {hms(self.at)} "
                "(Service.last_modifier and update_time; no audit entry read says who acted through it, a pipeline "
                "or a person, nor what it changed)")


def unaudited_change(service: Service, revisions: Iterable[Revision], audited: Iterable[LogRecord], since: datetime,
                     ours: Iterable[str] = (), started: datetime | None = None,
                     failing: datetime | None = None, suspects: Iterable[str] = ()) -> UnauditedChange | None:
    """Who changed `service` last, at or after `since`, when no entry of `audited` accounts for it and it was not
    Runwarden's own, nor a workload pool's or a deploy begun before the incident `started` (None: every deploy is
    before) whose revision was created before the failures were seen, `failing` (None: not read), or is among
    `suspects` (the revisions the rules blame: their deploys are evidence of a cause); None otherwise."""
    by, at, revisions = service.last_modifier.strip(), service.update_time, tuple(revisions)
    if not by or at is None or at < since:
        return None
    if among(by, ours) or any(_accounts_for(e, by, at, revisions) for e in audited):
        return None
    kind = PrincipalKind.UNKNOWN if is_service_account(by) else PrincipalKind.PERSON
    deployed = deploy_of(at, revisions)
    if deployed is not None:
        begun = min(at, deployed.create_time)
        after = started is not None and begun >= started
        failed_first = (failing is not None and deployed.create_time >= failing
                        and deployed.short_name not in set(suspects))
        if not (after or failed_first):
            return None
        return UnauditedChange(by=by, at=begun, kind=kind, deploy=deployed.short_name, before_incident=not after)
    if is_workload_pool(by):
        return None
    return UnauditedChange(by=by, at=at, kind=kind)


def deploy_of(at: datetime, revisions: Iterable[Revision]) -> Revision | None:
    """The revision whose deploy a change of the service at `at` is (`deploys_own`), or None. The newest such
    revision when several are."""
    return max((r for r in revisions if deploys_own(at, r)), key=lambda r: r.create_time, default=None)


def deploys_own(at: datetime, revision: Revision) -> bool:
    """A change of the service at `at` is `revision`'s deploy: stamped when it was asked for (from OWN_DEPLOY before
    its create_time to SETTLES after it) or when it reconciled (within SETTLES of its Ready transition,
    `deploy_ready_at`). Not the minutes between: a slow revision's start is no cover for another change."""
    asked = revision.create_time - OWN_DEPLOY <= at <= revision.create_time + SETTLES
    return asked or _reconciled(at, deploy_ready_at(revision))


def deploy_ready_at(revision: Revision) -> datetime | None:
    """When `revision`'s deploy reconciled: its Ready condition's last transition (Revision.settled_at), when that is
    within LONGEST_DEPLOY of its create_time. None otherwise: not read, or a later flip of a revision long since
    deployed (a RECREATING or MIN_INSTANCES_NOT_PROVISIONED reason), which dates no deploy."""
    settled = revision.settled_at
    if settled is None or not revision.create_time <= settled <= revision.create_time + LONGEST_DEPLOY:
        return None
    return settled


def _reconciled(at: datetime, ready: datetime | None) -> bool:
    """`at` is within SETTLES after `ready` (a deploy's end, None: not read)."""
    return ready is not None and ready <= at <= ready + SETTLES


def _accounts_for(entry: LogRecord, by: str, at: datetime, revisions: Iterable[Revision]) -> bool:
    """`entry` is the change of `by` at `at`: the same principal, and `at` within its span (`_entry_spans`)."""
    return ((entry.principal or entry.principal_subject or "").strip().lower() == by.lower()
            and _entry_spans(entry, at, revisions))


def _entry_spans(entry: LogRecord, at: datetime, revisions: Iterable[Revision]) -> bool:
    """Whether a change at `at` may be `entry`'s own: from AUDITED before its operation's first entry to AUDITED after
    its last; or, when it is a revision's deploy (that revision created within AUDITED of it), stamped when asked
    (from AUDITED before the entry to SETTLES after the later of it and the revision's creation) or when it
    reconciled (within SETTLES of its operation's last entry, or of the revision's Ready transition:
    `deploy_ready_at`)."""
    ended = max(entry.operation_ended_at or entry.timestamp, entry.timestamp)
    if at < entry.timestamp - AUDITED:
        return False
    deployed = [r for r in revisions if abs(r.create_time - entry.timestamp) <= AUDITED]
    if not deployed:
        return at <= ended + AUDITED
    made = min(deployed, key=lambda r: abs(r.create_time - entry.timestamp))
    return (at <= max(entry.timestamp, made.create_time) + SETTLES or _reconciled(at, ended)
            or _reconciled(at, deploy_ready_at(made)))
