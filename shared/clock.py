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


def ahead_of_server(received_at: datetime, published_at: datetime | None) -> timedelta:
    """How far this instance's clock may be ahead of real time, as a message's server time shows it: the
    local time it was received at less the time Pub/Sub took it ("The time at which the message was
    published, populated by the server when it receives the Publish call", PubsubMessage.publish_time,
    google/pubsub/v1/pubsub.proto). The message was published before it was received, so real time at
    receipt was at least `published_at`, and a local clock that read more was ahead by at most the
    difference (the delivery's own latency counts as ahead too: the bound errs early, never late). At most
    CLOCK_SKEW_ALLOWANCE, the skew every lease already allows for: more is a late delivery, not a clock.
    Zero with no publish time, or a local clock behind it."""
    if published_at is None:
        return timedelta(0)
    return min(max(received_at - published_at, timedelta(0)), CLOCK_SKEW_ALLOWANCE)


def skew_safe_lease(seconds: float) -> timedelta:
    """A lease of `seconds` that holds in real time between instances whose clocks differ by up
    to CLOCK_SKEW_ALLOWANCE. Zero stays zero: no lease."""
    return timedelta(seconds=seconds) + CLOCK_SKEW_ALLOWANCE if seconds else timedelta(0)
