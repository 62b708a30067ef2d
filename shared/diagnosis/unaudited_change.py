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
- a revision's own deploy: an update within OWN_DEPLOY of a revision's create_time (whether update_time is stamped
  when the update is asked for or when it reconciles is not documented, UNCONFIRMED); a deploy is evidence of a
  cause, read by the rules;
- one an audit entry read accounts for: an entry by the same principal (its principalEmail, else its
  principalSubject: a federated caller's) from AUDITED before its operation's first entry to AUDITED after its last
  (`LogRecord.operation_ended_at`). The first entry is dated when the change was asked for, the last when its
  operation ended, for a deploy when its revision was ready, minutes later for a slow start; which one update_time
  follows is UNCONFIRMED, and the span holds both readings. The audit reading already judged that entry: deploy,
  step or person's move (a service account's entry shows who acted through it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from shared.diagnosis.evidence import LogRecord, Revision, Service
from shared.diagnosis.facts import hms
from shared.diagnosis.principals import PrincipalKind, is_service_account, is_workload_pool

# A change of the service within this of the failing revision's creation is taken as the deploy's own: whether
# Service.update_time is stamped when UpdateService is asked (before the revision is created) or when the service
# reconciles (after, when the revision is ready, which may be minutes for a slow start) is not documented
# (UNCONFIRMED). A minute is a choice, not a cited bound: a tool's next canary step comes minutes later. Read where
# no audit entry accounts for the change (a slower deploy is held: the safe side) and for a rollout tool's note
# (release_pipeline.rollout_mover: a slower deploy named as a step, a note too many, never a rollback); with an
# entry read, the deploy's whole operation decides (`_accounts_for`).
OWN_DEPLOY = timedelta(seconds=60)
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

    def words(self) -> str:
        if self.kind is PrincipalKind.PERSON:
            return (f"a change of the service by {self.by} at {hms(self.at)} (Service.last_modifier and update_time; "
                    "no audit entry read says what it changed: a split moved, a setting changed)")
        return (f"a change of the service through the service account {self.by} at {hms(self.at)} "
                "(Service.last_modifier and update_time; no audit entry read says who acted through it, a pipeline "
                "or a person, nor what it changed)")


def unaudited_change(service: Service, revisions: Iterable[Revision], audited: Iterable[LogRecord], since: datetime,
                     ours: Iterable[str] = ()) -> UnauditedChange | None:
    """Who changed `service` last, at or after `since`, when no entry of `audited` accounts for it and it was not a
    revision's deploy nor Runwarden's or a workload pool's own; None otherwise."""
    by, at = service.last_modifier.strip(), service.update_time
    if not by or at is None or at < since or is_workload_pool(by):
        return None
    if by.lower() in {o.lower() for o in ours}:
        return None
    if any(abs(at - r.create_time) <= OWN_DEPLOY for r in revisions):
        return None
    if any(_accounts_for(e, by, at) for e in audited):
        return None
    return UnauditedChange(by=by, at=at,
                           kind=PrincipalKind.UNKNOWN if is_service_account(by) else PrincipalKind.PERSON)


def _accounts_for(entry: LogRecord, by: str, at: datetime) -> bool:
    """`entry` is the change of `by` at `at`: the same principal, `at` within its operation's span widened by
    AUDITED on either side."""
    ended = max(entry.operation_ended_at or entry.timestamp, entry.timestamp)
    return ((entry.principal or entry.principal_subject or "").strip().lower() == by.lower()
            and entry.timestamp - AUDITED <= at <= ended + AUDITED)
