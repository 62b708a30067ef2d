"""`call_with_retry` (shared/gcp/endpoints.py) against the tenacity `Retrying` it replaced: the same
attempts, the same waits, the same error raised, for every sequence of answers below."""
from __future__ import annotations

import itertools

import pytest
from google.api_core import exceptions as gexc
from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_exponential

from shared.errors import PermanentError, TransientError, classify
from shared.gcp import endpoints
from shared.gcp.endpoints import CallPolicy, call_with_retry, describe_error, status_code

UNAVAILABLE = gexc.ServiceUnavailable("down")
DEADLINE = gexc.DeadlineExceeded("slow")
DENIED = gexc.PermissionDenied("no")
OUTCOMES = (UNAVAILABLE, DEADLINE, DENIED, "ok")
POLICIES = (CallPolicy(), CallPolicy(attempts=1), CallPolicy(attempts=5, initial_backoff=0.5, max_backoff=1.0),
            CallPolicy(initial_backoff=0, max_backoff=0))


class _Clock:
    """monotonic() for both loops: each sleep moves it on, and each attempt takes `per_call` seconds."""

    def __init__(self, per_call: float) -> None:
        self.now, self.per_call, self.slept = 100.0, per_call, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _answers(outcomes, clock: _Clock):
    calls = iter(outcomes)

    def fn():
        clock.now += clock.per_call
        answer = next(calls)
        if isinstance(answer, Exception):
            raise answer
        return answer
    return fn


def _tenacity(fn, policy: CallPolicy, retry_codes, clock: _Clock):
    """The loop as it was: tenacity's Retrying, with its clock and sleep pointed at `clock`."""
    def retryable(exc: BaseException) -> bool:
        if retry_codes is None:
            return isinstance(classify(exc), TransientError)
        return status_code(exc) in retry_codes

    import tenacity
    retrying = Retrying(stop=stop_after_attempt(policy.attempts) | stop_after_delay(policy.total_timeout),
                        wait=wait_exponential(multiplier=policy.initial_backoff, max=policy.max_backoff),
                        retry=retry_if_exception(retryable), reraise=True, sleep=clock.sleep)
    original = tenacity.time.monotonic
    tenacity.time.monotonic = clock.monotonic
    try:
        return retrying(fn)
    except Exception as exc:  # noqa: BLE001
        raise describe_error(exc, "GetService x") from exc
    finally:
        tenacity.time.monotonic = original


def _run(call, outcomes, per_call):
    clock = _Clock(per_call)
    try:
        result = call(_answers(outcomes, clock), clock)
    except (TransientError, PermanentError) as exc:
        result = (type(exc).__name__, str(exc), getattr(exc, "code", None))
    return result, clock.slept, clock.now


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("retry_codes", [None, frozenset({"UNAVAILABLE"})])
@pytest.mark.parametrize("per_call", [0.0, 12.0, 15.0])
def test_the_loop_makes_the_same_attempts_waits_and_errors_as_tenacity(monkeypatch, policy, retry_codes, per_call):
    compared = 0
    for length in range(1, 5):
        for outcomes in itertools.product(OUTCOMES, repeat=length):
            outcomes = list(outcomes) + ["ok"] * 5

            def ours(fn, clock):
                monkeypatch.setattr(endpoints.time, "monotonic", clock.monotonic)
                monkeypatch.setattr(endpoints.time, "sleep", clock.sleep)
                return call_with_retry(fn, what="GetService x", policy=policy, retry_codes=retry_codes)

            expected = _run(lambda fn, clock: _tenacity(fn, policy, retry_codes, clock), outcomes, per_call)
            assert _run(ours, outcomes, per_call) == expected, outcomes
            compared += 1
    assert compared > 300


def test_a_transient_fault_is_retried_then_reported_as_transient(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(endpoints.time, "sleep", slept.append)
    calls = []

    def fn():
        calls.append(1)
        raise UNAVAILABLE

    with pytest.raises(TransientError, match="GetService x"):
        call_with_retry(fn, what="GetService x", policy=CallPolicy(attempts=3, initial_backoff=0.2, max_backoff=2.0))
    assert (len(calls), slept) == (3, [0.2, 0.4])
