"""Time windows over the evidence, below Facts and the readings it keeps: `Window` (the minutes a check
reads), `hms` and `dated` (a time as evidence cites it) and `FAILING_LEAD` (how far before the first failing
minute a cause still counts). Facts cuts its windows from them, and so does the connector's news
(connector_news.py), which Facts computes and which therefore could not import them from facts.py."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

from shared.diagnosis.evidence import micros

# Saturation, or a database going down, can show a little before the failures cross the bar (and
# minutes are aligned apart): a cause that held in these minutes before the first failing minute
# still counts (Facts.failing_window).
FAILING_LEAD = timedelta(minutes=2)


def hms(at: datetime) -> str:
    """`at` as "%H:%M:%S" formats it (its own fields, no time zone conversion), without strftime:
    evidence and summaries cite a dozen times per diagnosis, at about 2 us a strftime."""
    return "%02d:%02d:%02d" % (at.hour, at.minute, at.second)


def dated(at: datetime) -> str:
    """`at` with its date, "%Y-%m-%d %H:%M:%S" (its own fields, as `hms`): for a time not on the day
    the text's other times are, where its time of day alone names another moment."""
    return "%04d-%02d-%02d %s" % (at.year, at.month, at.day, hms(at))


def clock_on(at: datetime, day: datetime) -> str:
    """`at` as a message about a moment `day` (an action's applied_at) cites it: its time of day when it falls on
    `day`'s UTC date, else `dated`. A verification read after a rollback at 23:58 said "closed at 00:03:00", and a
    pin's deadline days later said a time of day alone, naming a moment the message's day does not hold."""
    return hms(at) if at.date() == day.date() else dated(at)


# The UTC date of the moment the message being written is about (`told_on`), or None: no such message.
_TOLD_ON: ContextVar[date | None] = ContextVar("told_on", default=None)


@contextmanager
def told_on(day: datetime) -> Iterator[None]:
    """While a message about the moment `day` is written (a verification of an action applied then, whose times
    clock_on cites against it), a window printed (str, an f-string) gives its ends by time of day only when both
    fall on `day`'s UTC date, else both dated: a verification read after a rollback at 23:58 said "clean in
    (00:01:00, 00:09:00]", a window the message's day holds only before the rollback. Windows are printed in
    too many words (the judgements' every "in {window}") for each to be handed the day; outside such a message
    (a diagnosis) a window prints as before."""
    token = _TOLD_ON.set(day.date())
    try:
        yield
    finally:
        _TOLD_ON.reset(token)


@dataclass(frozen=True)
class Window:
    start: datetime   # exclusive, as Monitoring selects points by their end time
    end: datetime     # inclusive

    def holds(self, at: datetime) -> bool:
        return self.start < at <= self.end

    @cached_property
    def micros(self) -> tuple[int, int]:
        """(start, end) in microseconds since the epoch, as the series' columns hold end times."""
        return micros(self.start), micros(self.end)

    @cached_property
    def text(self) -> str:
        if self.start.date() == self.end.date():
            return f"({hms(self.start)}, {hms(self.end)}]"
        # Across a day's boundary the times of day alone say too little or something false: a day's
        # baseline (baseline_seconds up to 24 h) read "(11:50:00, 11:50:00]", an empty interval
        # holding 2400 requests, and one across midnight "(23:30:00, 00:30:00]". Both ends dated.
        return self.dated_text

    @cached_property
    def dated_text(self) -> str:
        return f"({dated(self.start)}, {dated(self.end)}]"

    def __str__(self) -> str:
        # Cited in several evidence items of one diagnosis: formatted once (strftime is not cheap). Within a
        # message about another day's moment (`told_on`), dated unless both ends fall on that day.
        day = _TOLD_ON.get()
        if day is None or self.start.date() == self.end.date() == day:
            return self.text
        return self.dated_text

