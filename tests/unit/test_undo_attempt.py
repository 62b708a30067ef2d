"""Whether a sweep sends a retried undo to the gate, leaves it to the sweep undoing it now, or escalates it
as possibly written with nothing recording it: undo_attempt.undo_call, from the gate's claim and the attempt
the action record names. Pure, from a table, no I/O."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.ports import ClaimRecord, ClaimStatus
from shared.remediation.undo_attempt import Attempt, UndoCall, undo_call

NOW = datetime(2026, 11, 26, 12, 40, tzinfo=timezone.utc)
LEASE = timedelta(minutes=13)
ME, OTHER = "sweep:me", "sweep:other"
KEY = "i|s|restore_traffic"


def claim(owner: str, status: ClaimStatus, minutes_ago: float) -> ClaimRecord:
    at = NOW - timedelta(minutes=minutes_ago)
    return ClaimRecord(key=KEY, owner=owner, status=status, claimed_at=at, expires_at=at + LEASE)


def sent(by: str, minutes_ago: float) -> Attempt:
    return Attempt(by=by, at=NOW - timedelta(minutes=minutes_ago))


CLAIMED, COMPLETED = ClaimStatus.CLAIMED, ClaimStatus.COMPLETED
SEND, LEAVE, ESCALATE = UndoCall.SEND, UndoCall.LEAVE, UndoCall.ESCALATE

# (the gate's claim, the attempt the record names, what the sweep does, words of why)
CASES = {
    "nothing sent: no claim, no attempt": (None, Attempt(), SEND, ""),
    "an attempt whose claim completed: the gate answers its result": (claim(OTHER, COMPLETED, 30), sent(OTHER, 30),
                                                                      SEND, ""),
    "another sweep holds the claim, its lease running": (claim(OTHER, CLAIMED, 2), sent(OTHER, 2), LEAVE,
                                                         "it is undoing it now"),
    "another sweep holds the claim, no attempt noted (an older version)": (claim(OTHER, CLAIMED, 2), Attempt(),
                                                                          LEAVE, "it is undoing it now"),
    "another sweep's claim lapsed unfinished": (claim(OTHER, CLAIMED, 20), sent(OTHER, 20), ESCALATE,
                                                "never finished it"),
    "another sweep noted its attempt and has not claimed yet": (None, sent(OTHER, 1), LEAVE, "it is undoing it now"),
    "an attempt a lease ago whose claim is gone (deleted by TTL)": (None, sent(OTHER, 20), ESCALATE,
                                                                    "deleted by Firestore's TTL policy"),
    "an attempt long ago whose claim is gone": (None, sent(OTHER, 600), ESCALATE, "recorded no end of it"),
    "this sweep's own claim": (claim(ME, CLAIMED, 1), sent(ME, 1), SEND, ""),
    "this sweep's own attempt, no claim": (None, sent(ME, 1), SEND, ""),
}


@pytest.mark.parametrize("held, attempt, call, words", CASES.values(), ids=CASES.keys())
def test_what_a_sweep_does_with_an_undo_left_undoing(held, attempt, call, words):
    verdict = undo_call(held, attempt, ME, NOW, LEASE, KEY)
    assert verdict.call is call, verdict.why
    assert words in verdict.why
