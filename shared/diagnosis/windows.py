"""Time windows over the evidence, below Facts and the readings it keeps: `Window` (the minutes a check
reads), `hms` (a time as evidence cites it) and `FAILING_LEAD` (how far before the first failing minute a
cause still counts). Facts cuts its windows from them, and so does the connector's news
(connector_news.py), which Facts computes and which therefore could not import them from facts.py."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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
        return f"({hms(self.start)}, {hms(self.end)}]"

    def __str__(self) -> str:
        # Cited in several evidence items of one diagnosis: formatted once (strftime is not cheap).
        return self.text

