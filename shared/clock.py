"""The clock port. Decisions take `now` from here, so tests can pin it."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """A clock that only moves when told to (unit tests, replays)."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self._at = self._at + timedelta(seconds=seconds)


# How far apart two instances' clocks may be while every lease (an in-progress claim, a cooldown)
# still holds in real time. Claims and cooldowns are judged by the clock of the instance that reads
# them (the clock is the one seam every decision and test pins), so a lease written by a slow clock
# and read by a fast one would end early by the difference; each lease is lengthened by this much
# instead. Firestore's TTL policy deletes on `expires_at` by the server's clock, so the stored
# expiry carries the allowance too. docs/behaviour.md ("Drills") gives the reasoning.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)


def skew_safe_lease(seconds: float) -> timedelta:
    """A lease of `seconds` that holds in real time between instances whose clocks differ by up
    to CLOCK_SKEW_ALLOWANCE. Zero stays zero: no lease."""
    return timedelta(seconds=seconds) + CLOCK_SKEW_ALLOWANCE if seconds else timedelta(0)
