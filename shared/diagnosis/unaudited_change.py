"""A person's change of the service that no audit entry read accounts for, read off the service itself.

Cloud Run keeps who changed a service last and when: Service.last_modifier ("Email address of the last
authenticated modifier") and Service.update_time ("The last-modified time"), both output only
(google/cloud/run/v2/service.proto; google-cloud-run's `run_v2.types.Service` docstring). A person's move of the
split a moment before an alert shows there when its Admin Activity entry is not read (the audit read failed, was
cut short, or the entry had not reached Logging yet): the same person at work that the audit reading stands
automation down for (diagnose._human_changes), with only who and when, not what. So it holds the write and names
them: a rollback over a person's own move is the one thing Runwarden must not do.

Not such a change:
- a service account's (a pipeline's: release_pipeline.rollout_mover names it, never a reason to hold back) or
  Runwarden's own (diagnosis.self_principals);
- one before the window the audit log is read over (manual_change_window_seconds before the incident);
- a revision's own deploy: an update within OWN_DEPLOY of a revision's create_time (whether update_time is stamped
  when the update is asked for or when it reconciles is not documented, UNCONFIRMED: release_pipeline.
  DEPLOYS_OWN_UPDATE); a deploy is evidence of a cause, read by the rules;
- one an audit entry read accounts for: an entry by the same principal within AUDITED of update_time (its first
  entry is dated at the operation's start, its last OPERATION_TAKES later; which one update_time follows is
  UNCONFIRMED): the audit reading already judged it, deploy, step or person's move.
That a traffic-only UpdateService moves last_modifier and update_time as any update does is UNCONFIRMED (the
docstrings say "last", for any modification); if it did not, nothing here is read and the audit entry alone
decides, as before.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from shared.diagnosis.evidence import LogRecord, Revision, Service
from shared.diagnosis.facts import hms
from shared.diagnosis.principals import is_service_account

# As release_pipeline.DEPLOYS_OWN_UPDATE: a change this close to a revision's creation is its deploy's own.
OWN_DEPLOY = timedelta(seconds=60)
# An audit entry this close to update_time, by the same principal, is the change's own (diagnose._DEPLOY_MATCH).
AUDITED = timedelta(seconds=120)


@dataclass(frozen=True)
class UnauditedChange:
    """A person's change of the service no audit entry read says anything of: who and when."""

    by: str
    at: datetime

    def words(self) -> str:
        return (f"a change of the service by {self.by} at {hms(self.at)} (Service.last_modifier and update_time; no "
                "audit entry read says what it changed: a split moved, a setting changed)")


def unaudited_change(service: Service, revisions: Iterable[Revision], audited: Iterable[LogRecord], since: datetime,
                     ours: Iterable[str] = ()) -> UnauditedChange | None:
    """The person who changed `service` last, at or after `since`, when no entry of `audited` accounts for it and
    it was not a revision's deploy; None otherwise."""
    by, at = service.last_modifier.strip(), service.update_time
    if not by or at is None or at < since or is_service_account(by):
        return None
    if by.lower() in {o.lower() for o in ours}:
        return None
    if any(abs(at - r.create_time) <= OWN_DEPLOY for r in revisions):
        return None
    if any((e.principal or "").lower() == by.lower() and abs(e.timestamp - at) <= AUDITED for e in audited):
        return None
    return UnauditedChange(by=by, at=at)
