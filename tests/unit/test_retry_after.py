"""A REST answer's Retry-After header read as the wait the API asks for, beside a RetryInfo
(shared.gcp.endpoints.retry_after_seconds, retry_delay; RFC 9110 section 10.2.3). Pure, from tables;
the VPC Access stand-in sends the header in tests/integration/test_vpcaccess_adapter.py."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.gcp.endpoints import CallPolicy, next_wait, retry_after_seconds, retry_delay
from shared.gcp.vpcaccess import ApiStatusError

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc).timestamp()

HEADERS = [
    ("absent", None, None),
    ("delay-seconds", "5", 5.0),
    ("delay-seconds with spaces around", " 12 ", 12.0),
    ("zero", "0", 0.0),
    ("an HTTP-date 30 s ahead", "Fri, 04 Dec 2026 12:00:30 GMT", 30.0),
    ("an HTTP-date in the past: no wait", "Fri, 04 Dec 2026 11:59:00 GMT", 0.0),
    ("negative: not delay-seconds", "-3", None),
    ("a fraction: not delay-seconds", "1.5", None),
    ("words", "soon", None),
    ("empty", "", None),
]


@pytest.mark.parametrize("name,value,seconds", HEADERS, ids=[h[0] for h in HEADERS])
def test_a_retry_after_header_in_either_form(name, value, seconds):
    assert retry_after_seconds(value, now=NOW) == seconds


RETRY_INFO = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3s"}
ASKS = [
    ("neither", (), None, None),
    ("the header alone", (), 7.0, 7.0),
    ("the RetryInfo alone", (RETRY_INFO,), None, 3.0),
    ("both: the longer", (RETRY_INFO,), 7.0, 7.0),
    ("both: the longer, the RetryInfo's", (RETRY_INFO,), 1.0, 3.0),
]


@pytest.mark.parametrize("name,details,header,asked", ASKS, ids=[a[0] for a in ASKS])
def test_the_wait_asked_is_the_longer_of_a_retry_info_and_a_retry_after_header(name, details, header, asked):
    assert retry_delay(ApiStatusError(503, "UNAVAILABLE", "busy", details, header)) == asked


def test_a_header_asking_past_the_longest_wait_ends_the_calls_retries():
    policy = CallPolicy(max_backoff=2.0)
    assert next_wait(1, policy, retry_delay(ApiStatusError(429, "RESOURCE_EXHAUSTED", "quota", (), 45.0))) is None
    assert next_wait(1, policy, retry_delay(ApiStatusError(503, "UNAVAILABLE", "busy", (), 1.0))) == 1.0
