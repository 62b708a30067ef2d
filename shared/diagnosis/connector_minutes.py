"""A VPC connector's saturation signs read minute by minute, each against its one bar: the reading the connector's
news (connector_news), its ceiling minutes (saturated_stretch.ceiling_states; a rollback target's connector in
target_deps.connector_without_room) and its rise (neighbour_deploys.connector_rise) all share, so that the bars cannot drift apart.

The three signs and their bars (DiagnosisSettings):
- at max instances: connector/instances at or above Connector.max_instances ("Maximum value of instances in
  autoscaling group underlying the connector", VPC Access v1 Connector);
- CPU: connector/cpu/utilizations p99 at or above `connector_cpu_saturation` (a percentile interpolated inside the
  bucket that holds 1.0 can land above it; utilisation cannot, so it is capped at 1, and floored at 0);
- throughput: the larger byte counter's bytes per second (Facts.bytes_by_minute) at or above
  `connector_throughput_ratio` of the machine type's ceiling in Mbps (facts.ceiling_mbps); no bar when the ceiling
  is not known.

Pure, no I/O: the caller hands each sign's values per minute end (microseconds), as Facts.busiest_by_minute and
Facts.bytes_by_minute key them. It imports nothing of facts.py, which calls connector_news, which reads this.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Mapping

from shared.config import DiagnosisSettings


class Sign(str, Enum):
    AT_MAX = "at max"
    CPU = "CPU"
    THROUGHPUT = "throughput"


def sign_of(words: str) -> Sign:
    """The sign a news sign's words name ("at max instances (3)", "CPU p99 97%", "throughput 780 of 800 Mbps")."""
    return next((sign for sign in Sign if words.startswith(sign.value)), Sign.THROUGHPUT)


# How near its bar a sign reads as load already high (Bars.near): at NEAR_BAR of it or more (CPU p99 68 % against
# an 80 % bar). A retry storm loads a connector from well below it; a connector already this near, that crosses its
# bar as the failures grow, carried the load before the failures did.
NEAR_BAR = 0.85


@dataclass(frozen=True)
class Bars:
    """Each sign's bar for one connector: its max instances, the CPU p99 fraction, and the throughput in Mbps
    (None: the machine type's ceiling is not known, so no minute is judged on throughput)."""

    max_instances: int
    cpu: float
    mbps: float | None

    @classmethod
    def of(cls, settings: DiagnosisSettings, max_instances: int, ceiling_mbps: float | None) -> Bars:
        return cls(max_instances, settings.connector_cpu_saturation,
                   settings.connector_throughput_ratio * ceiling_mbps if ceiling_mbps else None)

    def held(self, sign: Sign, value: float) -> bool:
        """Whether a minute's `value` of `sign` (instances; CPU p99 as a fraction; bytes per second) is at its bar."""
        if sign is Sign.AT_MAX:
            return value >= self.max_instances
        if sign is Sign.CPU:
            return min(max(value, 0.0), 1.0) >= self.cpu
        return self.mbps is not None and value * 8 / 1e6 >= self.mbps

    def near(self, sign: Sign, value: float) -> bool:
        """Whether a minute's `value` is at NEAR_BAR of its bar or more, CPU and throughput only: an instance count
        is not near its max one under it (a retry storm's connector runs 2 of 3), it is at the max or not."""
        if sign is Sign.CPU:
            return min(max(value, 0.0), 1.0) >= NEAR_BAR * self.cpu
        return sign is Sign.THROUGHPUT and self.mbps is not None and value * 8 / 1e6 >= NEAR_BAR * self.mbps


@dataclass(frozen=True)
class SignAt:
    """One sign's reading in one minute: its value (as read) and whether it is at its bar."""

    sign: Sign
    value: float
    held: bool


@dataclass(frozen=True)
class ConnectorMinute:
    """A minute (its end, microseconds) of a connector: each sign read in it, at its bar or not."""

    end: int
    read: Mapping[Sign, SignAt]

    def held(self, sign: Sign) -> bool | None:
        """Whether `sign` is at its bar in this minute; None when it was not read in it."""
        reading = self.read.get(sign)
        return None if reading is None else reading.held


@dataclass(frozen=True)
class ConnectorMinutes:
    """A connector's minutes in a window, oldest first, with the bars they were read against."""

    bars: Bars
    minutes: tuple[ConnectorMinute, ...]

    def values(self, sign: Sign) -> dict[int, float]:
        """`sign`'s value per minute end, in the minutes it was read."""
        return {m.end: m.read[sign].value for m in self.minutes if sign in m.read}

    def first_crossing(self, sign: Sign) -> int | None | bool:
        """The first minute end at which `sign` is at its bar after a minute read under it; False when it is at its
        bar in the first minute read (risen before anything read); None when it never is."""
        held = [m.read[sign].held for m in self.minutes if sign in m.read]
        ends = [m.end for m in self.minutes if sign in m.read]
        for i, (at, over) in enumerate(zip(ends, held)):
            if over:
                return False if i == 0 else at
        return None

    def within(self, low: int, high: int) -> ConnectorMinutes:
        """The minutes whose end is after `low` and at or before `high` (microseconds: Window.micros), as a read of
        that window alone would hold them."""
        return ConnectorMinutes(self.bars, tuple(m for m in self.minutes if low < m.end <= high))

    def ceiling_states(self) -> dict[int, bool]:
        """Each minute whose instance count was read: True at its ceiling (at its max instances, and CPU or
        throughput at its bar in that same minute), False under it (under its max, or at it with every load series
        read that minute under its bar). A load series with no point in the window is not a load series here; a
        minute at its max with a load series' point left out and none over its bar is in neither."""
        if not self.bars.max_instances:
            return {}
        loads = [sign for sign in (Sign.CPU, Sign.THROUGHPUT) if any(sign in m.read for m in self.minutes)]
        states: dict[int, bool] = {}
        for m in self.minutes:
            if Sign.AT_MAX not in m.read:
                continue
            if not m.read[Sign.AT_MAX].held:
                states[m.end] = False
            elif any(m.held(sign) for sign in loads):
                states[m.end] = True
            elif loads and all(sign in m.read for sign in loads):
                states[m.end] = False
        return states


def read_minutes(bars: Bars, *, instances: Mapping[int, float], cpu: Mapping[int, float],
                 rates: Mapping[int, float]) -> ConnectorMinutes:
    """The connector's minutes from each sign's values per minute end: instances, CPU p99, bytes per second. Bytes
    are a sign only when the throughput bar is known (Bars.mbps)."""
    series = [(Sign.AT_MAX, instances), (Sign.CPU, cpu)]
    if bars.mbps is not None:
        series.append((Sign.THROUGHPUT, rates))
    ends = sorted({at for _, values in series for at in values})
    minutes = tuple(ConnectorMinute(at, {sign: SignAt(sign, values[at], bars.held(sign, values[at]))
                                         for sign, values in series if at in values}) for at in ends)
    return ConnectorMinutes(bars, minutes)
