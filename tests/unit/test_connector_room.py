"""Whether a RESOURCE_EXHAUSTED answer to the connector's patch says it passes with time (endpoints.passes_in_time):
a rate quota is sent again at the alert's redelivery, a fixed limit is reported at once. Pure: built errors, no I/O."""
from __future__ import annotations

import pytest

from shared.gcp.endpoints import passes_in_time
from shared.gcp.vpcaccess import ApiStatusError

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"


def refusal(*details: dict, retry_after: float | None = None) -> ApiStatusError:
    return ApiStatusError(429, "RESOURCE_EXHAUSTED", "refused", details, retry_after)


CASES = {
    "a rate quota (ErrorInfo RATE_LIMIT_EXCEEDED)": (
        refusal({"@type": ERROR_INFO, "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com"}), True),
    "a wait asked in the body (RetryInfo)": (refusal({"@type": RETRY_INFO, "retryDelay": "30s"}), True),
    "a wait asked in a Retry-After header": (refusal(retry_after=20.0), True),
    "a quota on what the project holds (RESOURCE_QUOTA_EXCEEDED)": (
        refusal({"@type": ERROR_INFO, "reason": "RESOURCE_QUOTA_EXCEEDED", "domain": "googleapis.com"}), False),
    "a QuotaFailure alone": (refusal({"@type": QUOTA_FAILURE, "violations": [{"description": "CPUS"}]}), False),
    "no details at all (a range with no free IP)": (refusal(), False),
    "no error": (None, False),
}


@pytest.mark.parametrize("error, passes", CASES.values(), ids=CASES.keys())
def test_only_an_answer_that_says_so_is_taken_to_pass_in_time(error, passes):
    assert passes_in_time(error) is passes
