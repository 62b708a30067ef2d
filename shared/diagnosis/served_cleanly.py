"""The bars a user of a connector is held to before its clean traffic counts against the connector's saturation.

A saturated connector delays or drops the packets of every flow that crosses it alike, so traffic it carried
cleanly in the minutes another failed is evidence that the failures are not the connector's
(connector_peers.py, another service behind it; rules/connector_saturation.py `_clean_peer`, another revision
of the same service). Both hold it to the same bars, named once here: busy enough to tell (min_requests), few
5xx or 429 (at most healthy_error_ratio), and its p99 read and under hang_latency_seconds in every minute. Each
caller reads its own evidence (whose requests, whose p99); a p99 not read is never clean.
"""
from __future__ import annotations

from shared.config import DiagnosisSettings


def served_cleanly(requests: float, refused_ratio: float, p99: float | None, settings: DiagnosisSettings) -> bool:
    """Whether `requests` requests, `refused_ratio` of them 5xx or 429, with `p99` the largest minute's p99
    (seconds; None when not read), were served cleanly."""
    return (requests >= settings.min_requests and refused_ratio <= settings.healthy_error_ratio
            and p99 is not None and p99 < settings.hang_latency_seconds)
