"""Whether a sweep may send a retried undo to the gate, from the gate's claim on it and from the attempt the
action record names (pure: no I/O; verification.Sweep._undo reads both and acts on the answer).

Every sweep that sends an undo to the gate first notes on the action record that it does so (`undo_sent_by`,
`undo_sent_at`, by an update guarded on the note as read: of two sweeps, one goes on), and takes it back when
the gate gave its claim back with nothing written. The gate's claim alone cannot tell every history apart:
Firestore's TTL policy deletes a claim once its `expires_at` has passed (infra/firestore.tf; Firestore, "Manage
data retention with TTL policies": expired documents are deleted "typically within 24 hours", at no guaranteed
time, so possibly at once), and a claim gone reads as one never taken. The note does not expire with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from shared.diagnosis.windows import clock_on
from shared.ports import ClaimRecord, ClaimStatus


class UndoCall(Enum):
    SEND = "send"           # to the gate: nothing sent it, or its claim completed (the gate answers that result)
    LEAVE = "leave"         # another sweep is undoing it now: no write, no outcome; that sweep settles it
    ESCALATE = "escalate"   # it may have been written with nothing recording it: nothing written again


@dataclass(frozen=True)
class Attempt:
    """The attempt an action record names: which sweep sent its undo to the gate, and when ("", None: none
    did, or the one that did gave the gate's claim back with nothing written)."""

    by: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class UndoVerdict:
    call: UndoCall
    why: str = ""


def undo_call(claim: ClaimRecord | None, attempt: Attempt, owner: str, now: datetime, lease: timedelta,
              key: str) -> UndoVerdict:
    """What a sweep (`owner`) does with an undo left `undoing`, given the gate's claim on it (`key`; None: no
    such document) and the attempt its record names. `lease`: the claim's lease, skew-safe, as the gate takes it.
    - claim completed: SEND (the gate answers a duplicate of its result: the undo is done);
    - claim held by another sweep, its lease running: LEAVE (that sweep is in its write, or about to be);
    - claim held by another sweep, its lease lapsed: ESCALATE (it went to the gate and never finished: it died,
      or the commit after its write failed);
    - no claim, an attempt by another sweep within a lease: LEAVE (it has not claimed yet, or is about to);
    - no claim, an attempt by another sweep a lease ago or more: ESCALATE (its claim was given back with
      nothing written and the note not taken back, or it lapsed and Firestore's TTL deleted it: which, is
      unknown, and only one of them leaves the undo unwritten);
    - otherwise (no claim and no attempt, or this sweep's own): SEND."""
    if claim is not None and claim.left_unfinished(owner, now):
        return UndoVerdict(UndoCall.ESCALATE, f"an earlier sweep took the gate's claim {key} at "
                           f"{clock_on(claim.claimed_at, now)} and never finished it (its record of the write is "
                           "missing: the commit after it failed, or the sweep died)")
    if claim is not None and claim.owner != owner and claim.status is not ClaimStatus.COMPLETED:
        return UndoVerdict(UndoCall.LEAVE, f"another sweep ({claim.owner}) holds the gate's claim {key} on its "
                           f"undo since {clock_on(claim.claimed_at, now)}, until {clock_on(claim.expires_at, now)}:"
                           " it is undoing it now")
    if claim is not None or attempt.at is None or attempt.by == owner:
        return UndoVerdict(UndoCall.SEND)
    if now - attempt.at < lease:
        return UndoVerdict(UndoCall.LEAVE, f"another sweep ({attempt.by}) sent its undo to the gate at "
                           f"{clock_on(attempt.at, now)}, less than a claim's lease ago: it is undoing it now")
    return UndoVerdict(UndoCall.ESCALATE, f"an earlier sweep ({attempt.by}) sent its undo to the gate at "
                       f"{clock_on(attempt.at, now)} and recorded no end of it, and the gate's claim {key} is gone: "
                       "given back with nothing written, or lapsed and deleted by Firestore's TTL policy (at any time "
                       "after its lease), so whether the undo was written is unknown")
