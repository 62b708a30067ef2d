"""A Google API's error quoted in one line (shared/status_text.py, through shared.errors.classify): its code, its
message and its google.rpc details in words, the quota's name and limit first. Before, the text was
google-api-core's own, "{code} {message} {details}", the details a list of protobuf messages in their text format,
one field a line: an outcome's reason spread over a dozen lines. Real exceptions, built as google-api-core builds
them: `exceptions.from_grpc_error` over a failed call carrying the status trailer (grpc_status.rpc_status.to_status
of a google.rpc.Status with packed details), `exceptions.from_http_response` over a requests.Response whose body is
a Google JSON error. Pure: no server, no client."""
from __future__ import annotations

import json

import pytest
import requests
from google.api_core import exceptions
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2 as rpc, status_pb2
from grpc_status import rpc_status

from shared.errors import TransientError, classify
from shared.gcp.endpoints import refused_for_quota
from shared.gcp.vpcaccess import ApiStatusError
from tests.unit.grpc_calls import failed_call

RUN_WORDS = ("Quota exceeded for quota metric 'Write requests' and limit 'Write requests per minute per region' of "
             "service 'run.googleapis.com' for consumer 'project_number:0'.")
RUN_QUOTA = {"quota_metric": "run.googleapis.com/write_regional", "quota_limit": "WritePerMinutePerProjectRegion",
             "service": "run.googleapis.com", "consumer": "projects/0"}


def over_grpc(code: int, message: str, *details) -> exceptions.GoogleAPICallError:
    """As google-api-core raises a gRPC refusal: from_grpc_error over the call, which unpacks the
    `grpc-status-details-bin` trailer's details (`_parse_grpc_error_details`)."""
    status = status_pb2.Status(code=code, message=message)
    for detail in details:
        status.details.add().Pack(detail)
    sent = rpc_status.to_status(status)
    return exceptions.from_grpc_error(failed_call(sent.code, sent.details, sent.trailing_metadata))


def over_rest(http: int, body: dict) -> exceptions.GoogleAPICallError:
    """As google-api-core raises a REST refusal: from_http_response over the answer (its JSON `error`)."""
    response = requests.Response()
    response.status_code, response._content = http, json.dumps({"error": body}).encode()
    response.request = requests.Request("PATCH", "https://vpcaccess.googleapis.com/v1/projects/p/locations/r/"
                                                 "connectors/c").prepare()
    return exceptions.from_http_response(response)


def retry(seconds: int) -> rpc.RetryInfo:
    return rpc.RetryInfo(retry_delay=duration_pb2.Duration(seconds=seconds))


HELP = rpc.Help(links=[rpc.Help.Link(description="Cloud Run quotas", url="https://cloud.google.com/run/quotas")])

# (the error, what its one line must say, in this order)
CASES = {
    "gRPC rate quota: ErrorInfo, QuotaFailure, RetryInfo, Help": (
        over_grpc(code_pb2.RESOURCE_EXHAUSTED, RUN_WORDS,
                  rpc.ErrorInfo(reason="RATE_LIMIT_EXCEEDED", domain="googleapis.com", metadata=RUN_QUOTA),
                  rpc.QuotaFailure(violations=[rpc.QuotaFailure.Violation(subject="project:0",
                                                                          description="Write requests per minute")]),
                  retry(30), HELP),
        ["ResourceExhausted: 429 Quota exceeded for quota metric 'Write requests'",
         "ErrorInfo RATE_LIMIT_EXCEEDED (googleapis.com): quota_metric run.googleapis.com/write_regional, "
         "quota_limit WritePerMinutePerProjectRegion, consumer projects/0, service run.googleapis.com",
         "QuotaFailure: Write requests per minute, subject project:0", "RetryInfo 30s",
         "Help: Cloud Run quotas https://cloud.google.com/run/quotas"]),
    "gRPC fixed limit: a QuotaFailure with its quota id and values": (
        over_grpc(code_pb2.RESOURCE_EXHAUSTED, "Quota 'CPUS' exceeded.",
                  rpc.ErrorInfo(reason="RESOURCE_QUOTA_EXCEEDED", domain="googleapis.com",
                                metadata={"quota_metric": "compute.googleapis.com/cpus", "quota_limit": "CPUS-per-project-region",
                                          "quota_limit_value": "24"}),
                  rpc.QuotaFailure(violations=[rpc.QuotaFailure.Violation(
                      description="CPUS", quota_id="CPUS-per-project-region", quota_value=24,
                      quota_dimensions={"region": "us-central1"})])),
        ["429 Quota 'CPUS' exceeded.", "ErrorInfo RESOURCE_QUOTA_EXCEEDED (googleapis.com): quota_metric "
         "compute.googleapis.com/cpus, quota_limit CPUS-per-project-region, quota_limit_value 24",
         "QuotaFailure: CPUS, quota_id CPUS-per-project-region, quota_value 24, quota_dimensions region=us-central1"]),
    "gRPC: no details, a message of several lines": (
        over_grpc(code_pb2.UNAVAILABLE, "upstream connect error\n  reset reason: connection failure"),
        ["ServiceUnavailable: 503 upstream connect error reset reason: connection failure"]),
    "gRPC: BadRequest's field violations": (
        over_grpc(code_pb2.INVALID_ARGUMENT, "Invalid traffic.",
                  rpc.BadRequest(field_violations=[rpc.BadRequest.FieldViolation(
                      field="service.traffic[0].percent", description="must sum to 100")])),
        ["InvalidArgument: 400 Invalid traffic.",
         "BadRequest {field_violations [{field service.traffic[0].percent, description must sum to 100}]}"]),
    "gRPC: PreconditionFailure, LocalizedMessage, DebugInfo with a stack": (
        over_grpc(code_pb2.FAILED_PRECONDITION, "Precondition failed.",
                  rpc.PreconditionFailure(violations=[rpc.PreconditionFailure.Violation(
                      type="ETAG", subject="backend", description="etag mismatch")]),
                  rpc.LocalizedMessage(locale="en-US", message="The service changed."),
                  rpc.DebugInfo(stack_entries=["a.py:1", "b.py:2"], detail="checked at write")),
        ["FailedPrecondition: 400 Precondition failed.",
         "PreconditionFailure {violations [{type ETAG, subject backend, description etag mismatch}]}",
         "LocalizedMessage (en-US): The service changed.", "DebugInfo: checked at write (2 stack entries not quoted)"]),
    "gRPC: a detail of a type google-api-core does not unpack (kept packed)": (
        over_grpc(code_pb2.ABORTED, "Aborted.", duration_pb2.Duration(seconds=5)),
        ["Aborted: 409 Aborted.", "Duration {type_url type.googleapis.com/google.protobuf.Duration, value <2 bytes>}"]),
    "REST rate quota: details in proto3 JSON": (
        over_rest(429, {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded for quota metric "
                        "'Write requests'.", "details": [
                            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
                             "domain": "googleapis.com", "metadata": {"quota_limit": "WriteRequestsPerMinute",
                                                                      "quota_metric": "vpcaccess.googleapis.com/writes"}},
                            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"},
                            {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                             "violations": [{"subject": "project:0", "description": "Writes per minute",
                                             "quotaId": "WriteRequestsPerMinute"}]}]}),
        ["TooManyRequests: 429 PATCH https://vpcaccess.googleapis.com/v1/projects/p/locations/r/connectors/c: "
         "Quota exceeded for quota metric 'Write requests'.",
         "ErrorInfo RATE_LIMIT_EXCEEDED (googleapis.com): quota_metric vpcaccess.googleapis.com/writes, quota_limit "
         "WriteRequestsPerMinute", "RetryInfo 30s",
         "QuotaFailure: Writes per minute, subject project:0, quota_id WriteRequestsPerMinute"]),
    "REST: the older `errors` list and no details": (
        over_rest(403, {"code": 403, "message": "Rate Limit Exceeded", "errors": [
            {"reason": "rateLimitExceeded", "message": "Rate Limit Exceeded", "domain": "usageLimits"}]}),
        ["Forbidden: 403 PATCH", "Rate Limit Exceeded (details: rateLimitExceeded: Rate Limit Exceeded)"]),
    "REST, the connector adapter's own error (ApiStatusError): its body's details said after its text": (
        ApiStatusError(429, "RESOURCE_EXHAUSTED", "Quota exceeded.", (
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED",
             "domain": "googleapis.com", "metadata": {"quota_metric": "vpcaccess.googleapis.com/writes",
                                                      "quota_limit": "WriteRequestsPerMinute"}},
            {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"url": "https://cloud.google.com/vpc/docs"}]})),
        ["ApiStatusError: HTTP 429 RESOURCE_EXHAUSTED: Quota exceeded. (details: ErrorInfo RATE_LIMIT_EXCEEDED "
         "(googleapis.com): quota_metric vpcaccess.googleapis.com/writes, quota_limit WriteRequestsPerMinute; "
         "Help: https://cloud.google.com/vpc/docs)"]),
}


@pytest.mark.parametrize("error, said", CASES.values(), ids=CASES.keys())
def test_a_google_error_is_quoted_in_one_line_with_what_its_details_say(error, said):
    quoted = str(classify(error))
    assert "\n" not in quoted, quoted
    at = 0
    for words in said:
        found = quoted.find(words, at)
        assert found >= 0, f"{words!r} not in (or not after what precedes it in) {quoted!r}"
        at = found + len(words)


def test_a_refused_write_names_its_code_message_and_quota_once_in_one_line():
    """The reason a `failed` or redelivered write gives (endpoints.refused_for_quota over the call's error): one
    line, the code, the message, the quota's name and limit, said once, and the verdict's sign."""
    error = CASES["gRPC rate quota: ErrorInfo, QuotaFailure, RetryInfo, Help"][0]
    try:
        raise TransientError(f"UpdateService backend: {classify(error)}") from error
    except TransientError as raised:
        reason = str(refused_for_quota(raised, "the traffic update of backend"))
    assert "\n" not in reason, reason
    assert "429" in reason and "Quota exceeded for quota metric 'Write requests'" in reason, reason
    assert reason.count("WritePerMinutePerProjectRegion") == 1, reason
    assert "(a rate quota: ErrorInfo RATE_LIMIT_EXCEEDED)" in reason, reason
    assert reason.endswith("the traffic update of backend refused before it was applied"), reason
