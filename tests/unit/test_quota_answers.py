"""What a RESOURCE_EXHAUSTED answer says of itself (endpoints.exhausted_answer), read one way for both writes: Cloud
Run's UpdateService over gRPC, whose google.rpc details google-api-core unpacks into protobuf messages, and VPC
Access's PATCH over REST, whose details are JSON objects. A rate quota is sent again at the alert's redelivery, a
fixed limit is reported at once (endpoints.refused_for_quota). Pure: built errors, no I/O."""
from __future__ import annotations

import pytest
from google.api_core.exceptions import ResourceExhausted, ServiceUnavailable
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from shared.errors import LimitReachedError, PermanentError, QuotaRefusedError, TransientError
from shared.gcp import endpoints
from shared.gcp.endpoints import CallPolicy, call_with_retry, exhausted_answer, quota_wait, refused_for_quota
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


WINDOWED = {**RUN_METRIC, "quota_limit": "WritePerSecondPerProjectRegion"}

# (the error, the seconds left of the call, spent: its one quota retry made, the wait before the retry or None)
WAITS = {
    "a RetryInfo that fits is waited out": (grpc_refusal(error_info("RATE_LIMIT_EXCEEDED"), retry_info(3)), 30, False,
                                            3.0),
    "a RetryInfo alone (no ErrorInfo) that fits": (grpc_refusal(retry_info(1)), 30, False, 1.0),
    "a RetryInfo leaving less than a useful attempt after it": (grpc_refusal(retry_info(27)), 29, False, None),
    "a RetryInfo past what is left": (grpc_refusal(retry_info(45)), 30, False, None),
    "a rate quota per minute, no RetryInfo: its window, 60 s, does not fit": (
        grpc_refusal(error_info("RATE_LIMIT_EXCEEDED")), 30, False, None),
    "a rate quota per minute with 90 s left: its window is waited out": (
        grpc_refusal(error_info("RATE_LIMIT_EXCEEDED")), 90, False, 60.0),
    "a rate quota per second: its window, 1 s": (
        grpc_refusal(error_details_pb2.ErrorInfo(reason="RATE_LIMIT_EXCEEDED", metadata=WINDOWED)),
        30, False, 1.0),
    "a quota per 100 seconds named by a QuotaFailure alone": (
        grpc_refusal(quota_failure("Requests per 100 seconds per user")), 130, False, 100.0),
    "a rate quota whose window is not named: how long is unsaid": (
        grpc_refusal(error_details_pb2.ErrorInfo(reason="RATE_LIMIT_EXCEEDED")), 600, False, None),
    "a fixed limit is never sent again": (grpc_refusal(error_info("RESOURCE_QUOTA_EXCEEDED")), 600, False, None),
    "a fixed limit's reason with a RetryInfo: the wait it asks for (exhausted_answer: it passes)": (
        grpc_refusal(error_info("RESOURCE_QUOTA_EXCEEDED"), retry_info(1)), 30, False, 1.0),
    "no details: a fixed limit": (grpc_refusal(), 600, False, None),
    "once only: refused again after the retry": (grpc_refusal(retry_info(1)), 30, True, None),
    "REST: a RetryInfo in the body": (
        ApiStatusError(429, "RESOURCE_EXHAUSTED", "refused", ({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                             "retryDelay": "0.5s"},)), 5, False, 0.5),
    "REST: a Retry-After header past what is left": (
        ApiStatusError(429, "RESOURCE_EXHAUSTED", "refused", retry_after=45.0), 30, False, None),
}


@pytest.mark.parametrize("error, left, spent, wait", WAITS.values(), ids=WAITS.keys())
def test_a_quota_refusal_is_sent_again_once_within_the_call_only_when_its_wait_fits(error, left, spent, wait):
    """endpoints.quota_wait: a write refused RESOURCE_EXHAUSTED is sent again within its call only when the answer
    says it passes and when (RetryInfo, else its rate window) and that wait and one useful attempt (2 s) fit in what
    is left of the call; once. Otherwise None, and the refusal says why (a fixed limit: `refused_for_quota` does)."""
    planned = quota_wait(error, left, 2.0, UNCAPPED, spent="refused again after its one retry" if spent else "")
    assert planned.seconds == wait
    assert (planned.words() == "") == (wait is not None or not exhausted_answer(error).passes)


UNCAPPED = 600.0    # the rows above judge the fit in the time left; the cap is judged below


@pytest.mark.parametrize("error, longest, wait", [
    (grpc_refusal(retry_info(1)), 2.0, 1.0),
    (grpc_refusal(retry_info(2)), 2.0, 2.0),
    (grpc_refusal(retry_info(3)), 2.0, None),                                 # fits the 30 s left, longer than 2 s
    (grpc_refusal(error_info("RATE_LIMIT_EXCEEDED")), 2.0, None),             # a minute's window, 90 s left
    (grpc_refusal(error_details_pb2.ErrorInfo(reason="RATE_LIMIT_EXCEEDED", metadata=WINDOWED)), 2.0, 1.0),
])
def test_a_quota_wait_longer_than_a_write_waits_within_its_call_is_left_to_the_redelivery(error, longest, wait):
    """The gate read the kill switch and a pause before the write: a wait within the call longer than
    CallPolicy.longest_quota_wait would send the write again with either unread; the redelivery is gated again."""
    planned = quota_wait(error, 90, 2.0, longest)
    assert planned.seconds == wait
    assert (wait is None) == ("the kill switch and a pause unread" in planned.words()), planned.words()


@pytest.mark.parametrize("spent", ["refused again after its one retry within the call",
                                   "refused at the call's last attempt"])
def test_a_quota_refusal_with_no_attempt_left_says_which(spent):
    """A refusal at the call's last attempt (after transient faults) made no quota retry: it never says it did."""
    planned = quota_wait(grpc_refusal(retry_info(1)), 30, 2.0, 2.0, spent=spent)
    assert planned.seconds is None and planned.words() == f" (not sent again within the call: {spent})"


def _sent_through_the_loop(monkeypatch, answers: list, policy: CallPolicy) -> tuple[list[float], str]:
    """call_with_retry over `answers` (an exception raises, anything else answers), sleeping nothing: the sleeps
    asked for, and the error's words ("" when it answered)."""
    slept: list[float] = []
    monkeypatch.setattr(endpoints.time, "sleep", slept.append)
    sent = iter(answers)

    def fn(timeout: float):
        answer = next(sent)
        if isinstance(answer, Exception):
            raise answer
        return answer
    try:
        call_with_retry(fn, what="UpdateService backend", policy=policy, quota_retry=True)
    except (TransientError, PermanentError) as exc:
        return slept, str(exc)
    return slept, ""


def test_a_quota_refusal_at_the_last_attempt_never_says_it_was_retried(monkeypatch):
    """UNAVAILABLE twice, then RESOURCE_EXHAUSTED at the third and last attempt: no quota retry was made, and the
    reason says the last attempt, not "its one retry" (it said so before)."""
    unavailable = ServiceUnavailable("down")
    slept, words = _sent_through_the_loop(monkeypatch, [unavailable, unavailable, grpc_refusal(retry_info(1))],
                                          CallPolicy(attempts=3))
    assert len(slept) == 2 and "refused at the call's last attempt" in words and "one retry" not in words, words


@pytest.mark.parametrize("delay, longest, slept", [(1, 2.0, [1.0]), (3, 2.0, []), (3, 5.0, [3.0])])
def test_the_loop_waits_a_quota_out_only_within_the_policy_longest_quota_wait(monkeypatch, delay, longest, slept):
    """A rate quota asking for `delay` s is sent again once within the call only when that is at most the policy's
    `longest_quota_wait`: the kill switch and a pause are not read while it waits."""
    asked, words = _sent_through_the_loop(monkeypatch, [grpc_refusal(retry_info(delay)), "applied"],
                                          CallPolicy(longest_quota_wait=longest))
    assert asked == slept
    assert (words == "") == bool(slept), words
