"""A minute of a service's requests read as failing, clean or idle: the rule the verification sweep
judges a service idle between requests by (bursts.py), and the incident timeline reads its minutes by
(shared/timeline/derive.py). Pure, no I/O; imports nothing of either, so both can import it.

Cloud Run writes no request_count point for a minute without requests (GoogleCloudPlatform/
cloud-run-release-manager PR #64; UNCONFIRMED on Google's pages), so a minute with no point is either
idle or not visible yet. It is read as idle once its point would be visible (`readable_until`: at
least the ingest lag old, bursts.py), and as not known before that. A minute with no request holds no
clean request: idle, it is neither failing nor clean. Only minutes with requests say whether the
service serves (a cron, a batch caller every 5 to 15 minutes: its idle minutes between calls are no
recovery, and no pause in its failure either).
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

MINUTE = timedelta(seconds=60)


def requests_in(minute: datetime, seen: dict[datetime, float], readable_until: datetime) -> float | None:
    """The requests of the minute starting at `minute`: its point's value where one was read; none read
    and readable by `readable_until` (the minute's end at or before it), 0 (idle); newer, None (late:
    not known yet, never idle nor clean)."""
    if minute in seen:
        return seen[minute]
    return 0.0 if minute + MINUTE <= readable_until else None


def is_idle(failed: float, requests: float | None) -> bool:
    """No request at all that minute (`requests` read as 0) and none failed: neither failing nor clean.
    `requests` None (not read, or not readable yet) is not idle: what the minute held is not known."""
    return not failed and requests is not None and requests <= 0


def minutes_between(start: datetime, end: datetime) -> int:
    """The per-minute points (start, end] can hold (request_count read aligned to 60 s), at least one."""
    return max(1, math.ceil((end - start).total_seconds() / 60))
