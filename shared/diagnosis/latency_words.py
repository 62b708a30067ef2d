"""A latency as a person reads it: milliseconds below a second, seconds from one up, minutes from one up. Pure.

request_latencies is "Distribution of request latencies in milliseconds" (Cloud Run's metrics, Cloud
Monitoring's list of Google Cloud metrics) and Facts reads it in seconds. Worded at one decimal of a second,
a 35 ms p99 read "p99 max 0.0 s" in an outcome and its timeline: a service answering in 35 ms looked as if
it answered nothing, and 0.04 s next to a 0.5 s bar hid how far under it the service was."""
from __future__ import annotations


def latency(seconds: float) -> str:
    """`seconds` as "35 ms" below a second (rounded to the millisecond), "2.4 s" below a minute (a tenth of
    one), else in minutes (`minutes`): a WebSocket's or a long poll's median of 90 s read "90000 ms"."""
    millis = round(seconds * 1000)
    if millis < 1000:
        return f"{millis} ms"
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    return minutes(seconds)


def duration(seconds: float) -> str:
    """A signed span of time in whole seconds: "45 s" below a minute, else `minutes` ("-1 min 30 s" for a
    span that ends before its reference). The one wording of a duration: the diagnosis's (rules/base), the
    timeline's and the gate's (shared/timeline/words.duration)."""
    whole = int(round(seconds))
    sign = "-" if whole < 0 else ""
    whole = abs(whole)
    return f"{sign}{whole} s" if whole < 60 else sign + minutes(whole)


def minutes(seconds: float) -> str:
    """A minute or more as "1 min 30 s", an hour or more as "1 h 05 min" (whole seconds): the one wording of a
    long duration, the timeline's (shared/timeline/words.duration) and the diagnosis's."""
    whole = int(round(seconds))
    mins, rest = divmod(whole, 60)
    if mins < 60:
        return f"{mins} min {rest:02d} s"
    hours, mins = divmod(mins, 60)
    return f"{hours} h {mins:02d} min"
