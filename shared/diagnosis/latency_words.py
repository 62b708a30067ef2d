"""A latency as a person reads it: milliseconds below a second, seconds from one up. Pure.

request_latencies is "Distribution of request latencies in milliseconds" (Cloud Run's metrics, Cloud
Monitoring's list of Google Cloud metrics) and Facts reads it in seconds. Worded at one decimal of a second,
a 35 ms p99 read "p99 max 0.0 s" in an outcome and its timeline: a service answering in 35 ms looked as if
it answered nothing, and 0.04 s next to a 0.5 s bar hid how far under it the service was."""
from __future__ import annotations


def latency(seconds: float) -> str:
    """`seconds` as "35 ms" below a second (rounded to the millisecond), else "2.4 s" (a tenth of one)."""
    millis = round(seconds * 1000)
    if millis < 1000:
        return f"{millis} ms"
    return f"{seconds:.1f} s"
