"""Whether a new revision is slow on its own requests while the revisions beside it serve fast: the latency of a
canary, judged as bad_revision judges its 5xx, by its own revision (request_latencies by revision_name, Cloud
Monitoring). Pure, no I/O: the rule (bad_revision) reads the minutes and cites them.

A latency alert (request_latencies over a threshold) fires on the service's p99, where 2 % of slow requests is the
whole tail: a canary that answers every request in 24 s beside a stable revision at 120 ms holds the service's p99
at 24 s with no 5xx. Sending the canary's share back to the revision beside it is the bounded fix when the minutes
say the slowness is the canary's alone:
  - the canary's own p99 is over the alert's bar in most of its minutes since its deploy (SLOW_SHARE), well over it
    in the middle minute (WELL_OVER times the bar), on enough minutes (LEAST_MINUTES);
  - at least one other revision served enough requests (min_requests) in the canary's slow minutes themselves,
    counted there alone, another revision served in SLOW_SHARE of those minutes or more, and every one that did
    stayed under the bar in each minute both served: a database, a connector or a dependency they share slows both.
    A revision that served only before them (the minute a 100 % deploy moved the traffic, a backfill started with
    the deploy) says nothing of them, as Facts.since_first_of keeps a dependency's answers to their own minutes;
  - the service was under the bar in the minutes before the deploy (in SLOW_SHARE of them or more, read on
    LEAST_MINUTES): a tail that was there before is not the deploy's.
Anything missing is said by name, and the rule escalates. A deploy long before the incident never reaches here
(bad_revision's deploy window), nor does a canary with too few requests of its own (min_requests).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from statistics import median
from typing import NamedTuple

# The share of the canary's minutes whose p99 is over the bar, and of the minutes before the deploy under it.
SLOW_SHARE = 0.8
# The canary's middle minute at least this many times the bar: "well over", not a p99 that brushes it.
WELL_OVER = 2.0
# Fewer minutes than this say nothing of a share (one slow minute is a cold start).
LEAST_MINUTES = 3


class Beside(NamedTuple):
    """Another revision since the canary's deploy: its requests and its own p99 (seconds), each by minute end."""
    name: str
    requests: Mapping[datetime, float]
    p99_seconds: Mapping[datetime, float]


class SlowCanary(NamedTuple):
    """`slow`: the canary's slowness is its own, by the evidence; `why`: the evidence in words, or which part of it
    is missing ("" when the canary is not slow at all, and the latency says nothing)."""
    slow: bool
    why: str


class _Together(NamedTuple):
    """A revision read in the minutes it served beside the canary: `requests` in the canary's slow minutes,
    `slow_minutes` it served in, and its worst p99 in any minute both served."""
    name: str
    requests: float
    slow_minutes: frozenset[datetime]
    worst: float


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def judged(name: str, own: Mapping[datetime, float], beside: list[Beside], before: list[float], bar: float,
           least_requests: float) -> SlowCanary:
    """Whether `name`, with its own p99 by minute `own` since its deploy, is slow alone against the alert's
    `bar` (seconds): see the module's docstring. `before`: the service's p99 per minute before the deploy."""
    over = frozenset(at for at, v in own.items() if v >= bar)
    if len(own) < LEAST_MINUTES or len(over) < SLOW_SHARE * len(own):
        return SlowCanary(False, "")
    middle = median(own.values())
    slow = (f"{name}'s own p99 over the alert's {_seconds(bar)} in {len(over)} of its {len(own)} minutes since its "
            f"deploy (its middle minute {_seconds(middle)})")
    if middle < WELL_OVER * bar:
        return SlowCanary(False, f"{slow}: not well over the bar ({WELL_OVER:g} times it), so not shown to be its own")
    served = [t for t in (_together(b, own, over) for b in beside) if t.requests >= least_requests]
    if not served:
        return SlowCanary(False, f"{slow}, but no other revision served {least_requests:g} requests or more in those "
                                 "slow minutes (a revision that served only before them, as when a deploy took all "
                                 "the traffic, shows nothing of them): nothing shows the slowness is the new "
                                 "revision's rather than the service's")
    covered = frozenset().union(*(t.slow_minutes for t in served))
    if len(covered) < SLOW_SHARE * len(over):
        return SlowCanary(False, f"{slow}, but another revision served beside it in only {len(covered)} of those "
                                 f"{len(over)} slow minutes: the others do not tell its slowness from the service's")
    also_slow = [t for t in served if t.worst >= bar]
    if also_slow:
        return SlowCanary(False, f"{slow}, and {', '.join(_beside(t) for t in also_slow)} in the same minutes: "
                                 "a cause they share (the database, the connector, a dependency), not the deploy")
    if len(before) < LEAST_MINUTES:
        return SlowCanary(False, f"{slow}, but the service's p99 before the deploy was not read ({len(before)} "
                                 "minutes): the slowness is not shown to begin with it")
    fast_before = [v for v in before if v < bar]
    if len(fast_before) < SLOW_SHARE * len(before):
        return SlowCanary(False, f"{slow}, but the service's p99 was over the bar before the deploy too, in "
                                 f"{len(before) - len(fast_before)} of {len(before)} minutes: not the deploy's")
    return SlowCanary(True, f"{slow}, while {', '.join(_beside(t) for t in served)} in the same minutes, and the "
                            f"service's p99 was under the bar in {len(fast_before)} of the {len(before)} minutes "
                            "before the deploy: the slowness began with the deploy and is the new revision's alone")


def _together(b: Beside, own: Mapping[datetime, float], over: frozenset[datetime]) -> _Together:
    """`b` in the minutes it served beside the canary (a request and a p99 of its own in a minute the canary's p99
    was read): only there does its speed say what the shared database, connector and dependencies did for both."""
    both = [at for at in own if b.requests.get(at, 0) > 0 and at in b.p99_seconds]
    slow_minutes = frozenset(at for at in both if at in over)
    return _Together(b.name, sum(b.requests[at] for at in slow_minutes), slow_minutes,
                     max((b.p99_seconds[at] for at in both), default=0.0))


def _beside(t: _Together) -> str:
    return (f"{t.name}'s p99 at most {_seconds(t.worst)} over its {t.requests:.0f} requests in {len(t.slow_minutes)} "
            "of those minutes")
