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
- a revision's own deploy begun before the incident (`deploy_of`): an update from OWN_DEPLOY before a revision's
  create_time (update_time stamped when the update is asked for) to SETTLES after its Ready condition's last
  transition (stamped when it reconciles, which a slow start puts minutes later: Revision.settled_at); which one
  update_time follows is not documented (UNCONFIRMED), and the span holds both. A revision whose Ready transition
  is not read has only the first reading: a later update is held (the safe side). A deploy is evidence of a cause,
  read by the rules. A person's `update-traffic` a minute after their own deploy is after its revision was ready,
  so it is a change of its own, as a person's other changes are.

- one an audit entry read accounts for: an entry by the same principal (its principalEmail, else its
  principalSubject: a federated caller's) from AUDITED before its operation's first entry to AUDITED after its last
  (`LogRecord.operation_ended_at`). The first entry is dated when the change was asked for, the last when its
  operation ended, for a deploy when its revision was ready, minutes later for a slow start; which one update_time
  follows is UNCONFIRMED, and the span holds both readings. A deploy's entry (within AUDITED of a revision's
  create_time) ends at its last entry or its revision's Ready transition, whichever is later, and SETTLES after:
  the same person's `update-traffic` a minute after their deploy, its own entry not read, is not the deploy's. The
  audit reading already judged that entry: deploy, step or person's move (a service account's entry shows who
  acted through it).

A deploy begun after the incident began, seen only so, is someone at work on the service (their fix, a pipeline's
next release): it cannot be the incident's cause, and a rollback then would pin traffic over it. It stands
automation down, as its audit entry would (diagnose._audited_changes), named as that deploy; so does one through a
workload identity pool's principal, as its entry would.
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


@dataclass(frozen=True)
class UnauditedChange:
    """A change of the service no audit entry read says anything of: who and when, and whose it is known to be (a
    person's, or an account's that anyone may have acted through: UNKNOWN)."""

    by: str
    at: datetime
    kind: PrincipalKind = PrincipalKind.PERSON
    deploy: str = ""        # the revision a deploy begun after the incident began made; "": not a deploy

    def words(self) -> str:
        if self.deploy:
            return (f"a deploy of {self.deploy} by {self.by} at {hms(self.at)}, after the incident began "
                    "(Service.last_modifier and update_time, the revision's create_time; no audit entry read for it): "
                    "someone at work on the service, not the incident's cause")
        if self.kind is PrincipalKind.PERSON:
            return (f"a change of the service by {self.by} at {hms(self.at)} (Service.last_modifier and update_time; "
                    "no audit entry read says what it changed: a split moved, a setting changed)")
        return (f"a change of the service through the service account {self.by} at {hms(self.at)} "
                "(Service.last_modifier and update_time; no audit entry read says who acted through it, a pipeline "
                "or a person, nor what it changed)")


def unaudited_change(service: Service, revisions: Iterable[Revision], audited: Iterable[LogRecord], since: datetime,
                     ours: Iterable[str] = (), started: datetime | None = None) -> UnauditedChange | None:
    """Who changed `service` last, at or after `since`, when no entry of `audited` accounts for it and it was not
    Runwarden's own, nor a workload pool's or a deploy begun before the incident `started` (None: every deploy is
    before); None otherwise."""
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
        return UnauditedChange(by=by, at=begun, kind=kind, deploy=deployed.short_name) if after else None
    if is_workload_pool(by):
        return None
    return UnauditedChange(by=by, at=at, kind=kind)


def deploy_of(at: datetime, revisions: Iterable[Revision]) -> Revision | None:
    """The revision whose deploy a change of the service at `at` is, or None: `at` from OWN_DEPLOY before its
    create_time to SETTLES after its Ready transition (Revision.settled_at), or to its create_time when that is not
    read. The newest such revision when several are."""
    return max((r for r in revisions if deploys_own(at, r)), key=lambda r: r.create_time, default=None)


def deploys_own(at: datetime, revision: Revision) -> bool:
    """A change of the service at `at` is `revision`'s deploy (see the module docstring for the span)."""
    settled = revision.settled_at
    end = max(settled + SETTLES, revision.create_time) if settled is not None else revision.create_time
    return revision.create_time - OWN_DEPLOY <= at <= end


def _accounts_for(entry: LogRecord, by: str, at: datetime, revisions: Iterable[Revision]) -> bool:
    """`entry` is the change of `by` at `at`: the same principal, `at` from AUDITED before its operation's first entry
    to AUDITED after its last, or, for a deploy's entry, to SETTLES after its revision was ready (`_entry_ends`)."""
    return ((entry.principal or entry.principal_subject or "").strip().lower() == by.lower()
            and entry.timestamp - AUDITED <= at <= _entry_ends(entry, revisions))


def _entry_ends(entry: LogRecord, revisions: Iterable[Revision]) -> datetime:
    """Where a change `entry` accounts for may be stamped at the latest: AUDITED after its operation's last entry,
    or, when it is a revision's deploy (that revision created within AUDITED of it), SETTLES after the later of its
    last entry and the revision's Ready transition (Revision.settled_at)."""
    ended = max(entry.operation_ended_at or entry.timestamp, entry.timestamp)
    deployed = [r for r in revisions if abs(r.create_time - entry.timestamp) <= AUDITED]
    if not deployed:
        return ended + AUDITED
    made = min(deployed, key=lambda r: abs(r.create_time - entry.timestamp))
    return max(ended, made.settled_at or ended) + SETTLES
