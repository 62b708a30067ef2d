"""What a RESOURCE_EXHAUSTED answer says of itself (endpoints.exhausted_answer), read one way for both writes: Cloud
Run's UpdateService over gRPC, whose google.rpc details google-api-core unpacks into protobuf messages, and VPC
Access's PATCH over REST, whose details are JSON objects. A rate quota is sent again at the alert's redelivery, a
fixed limit is reported at once (endpoints.refused_for_quota). Pure: built errors, no I/O."""
from __future__ import annotations

import pytest
from google.api_core.exceptions import ResourceExhausted
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from shared.errors import LimitReachedError, QuotaRefusedError, TransientError
from shared.gcp.endpoints import exhausted_answer, refused_for_quota
from shared.gcp.vpcaccess import ApiStatusError

RUN_METRIC = {"service": "run.googleapis.com", "quota_metric": "run.googleapis.com/write_regional",
              "quota_limit": "WritePerMinutePerProjectRegion"}
NAMED = "run.googleapis.com/write_regional, WritePerMinutePerProjectRegion"


def grpc_refusal(*details) -> ResourceExhausted:
    """As google-api-core raises it for a gRPC RESOURCE_EXHAUSTED (exceptions.from_grpc_error: `details` holds the
    status trailer's messages, unpacked)."""
    return ResourceExhausted("Quota exceeded for quota metric 'Write requests'", details=list(details))


def error_info(reason: str) -> error_details_pb2.ErrorInfo:
    return error_details_pb2.ErrorInfo(reason=reason, domain="googleapis.com", metadata=RUN_METRIC)


def quota_failure(description: str) -> error_details_pb2.QuotaFailure:
    return error_details_pb2.QuotaFailure(violations=[error_details_pb2.QuotaFailure.Violation(
        subject="project:0", description=description)])


def retry_info(seconds: int) -> error_details_pb2.RetryInfo:
    return error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds))


HELP = error_details_pb2.Help(links=[error_details_pb2.Help.Link(url="https://cloud.google.com/run/quotas")])

# (the error, whether it passes, the quota it names)
CASES = {
    "gRPC: ErrorInfo RATE_LIMIT_EXCEEDED, QuotaFailure, Help": (
        grpc_refusal(error_info("RATE_LIMIT_EXCEEDED"), quota_failure("Write requests per minute"), HELP), True, NAMED),
    "gRPC: a RetryInfo alone": (grpc_refusal(retry_info(30)), True, ""),
    "gRPC: ErrorInfo RESOURCE_QUOTA_EXCEEDED and a QuotaFailure": (
        grpc_refusal(error_info("RESOURCE_QUOTA_EXCEEDED"), quota_failure("Revisions serving traffic")), False, NAMED),
    "gRPC: a QuotaFailure alone": (grpc_refusal(quota_failure("Revisions serving traffic")), False,
                                   "Revisions serving traffic"),
    "gRPC: no details": (grpc_refusal(), False, ""),
    "gRPC: no details, the message's limit per minute (Cloud Run's field wording)": (
        ResourceExhausted("Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per "
                          "region' of service 'run.googleapis.com' for consumer 'project_number:0'."), True, ""),
    "gRPC: no details, the message's limit per day": (
        ResourceExhausted("Quota exceeded for quota metric 'Write requests' and limit 'Write requests per day' of "
                          "service 'run.googleapis.com'."), False, ""),
    "gRPC: a QuotaFailure alone naming a limit per 100 seconds": (
        grpc_refusal(quota_failure("Requests per 100 seconds per user")), True, "Requests per 100 seconds per user"),
    "gRPC: ErrorInfo RESOURCE_QUOTA_EXCEEDED whose limit is named per minute (the reason decides)": (
        grpc_refusal(error_info("RESOURCE_QUOTA_EXCEEDED")), False, NAMED),
    "REST: ErrorInfo RATE_LIMIT_EXCEEDED with its metadata": (
        ApiStatusError(429, "RESOURCE_EXHAUSTED", "refused", ({"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                             "reason": "RATE_LIMIT_EXCEEDED", "metadata": RUN_METRIC},)),
        True, NAMED),
    "REST: a QuotaFailure alone": (
        ApiStatusError(429, "RESOURCE_EXHAUSTED", "refused", ({"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                                                             "violations": [{"description": "CPUS"}]},)), False, "CPUS"),
}


@pytest.mark.parametrize("error, passes, limit", CASES.values(), ids=CASES.keys())
def test_a_refusal_passes_only_when_it_says_so_and_names_its_quota(error, passes, limit):
    answer = exhausted_answer(error)
    assert (answer.passes, answer.limit) == (passes, limit)


@pytest.mark.parametrize("error, passes, limit", CASES.values(), ids=CASES.keys())
def test_a_write_refused_after_its_retries_is_redelivered_only_for_a_quota_that_passes(error, passes, limit):
    """The refusal as the call's retries raise it (a TransientError from the API's error): a rate quota is a
    QuotaRefusedError (transient, redelivered), anything else a LimitReachedError (permanent, RESOURCE_EXHAUSTED),
    each saying what the answer said of itself."""
    try:
        raise TransientError("UpdateService backend: refused") from error
    except TransientError as raised:
        refused = refused_for_quota(raised, "the traffic update of backend")
    assert isinstance(refused, QuotaRefusedError if passes else LimitReachedError)
    assert "the traffic update of backend refused before it was applied" in str(refused)
    assert not limit or limit in str(refused)
