"""`call_with_retry` (shared/gcp/endpoints.py) against tenacity's `Retrying` with the stop it now has: the same
attempts, the same waits, the same error raised, for every sequence of answers below; and its time budget: no
sleep runs past `total_timeout`, each attempt's deadline is what is left of it, so the whole call ends within
`CallPolicy.longest_run`, the figure the function's budgets count (tests/infra/test_settings.py).

The reference was `stop_after_delay(total_timeout)`, checked before the backoff sleep: a last attempt could
start after a sleep that ended past the total, and run its whole call_timeout (30 + 2 + 10 = 42 s). It is now
`stop_before_delay(total_timeout - useful_attempt)` ("Stop right before the next attempt would take place
after the time from the first attempt >= limit", tenacity 9.2.1): google-api-core's Retry likewise refuses a
sleep that would end past its deadline (retry_base._retry_error_helper, used by retry_unary.retry_target:
"if deadline is not None and time.monotonic() + next_sleep > deadline"). Where the loop deliberately differs
from api_core (the last error raised, not a RetryError; a retry needs more than `useful_attempt` left; an
attempt limit; each attempt's deadline cut), see call_with_retry's docstring."""
from __future__ import annotations

import itertools

import pytest
from google.api_core import exceptions as gexc
from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_before_delay, wait_exponential

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
        self.now, self.per_call, self.slept, self.deadlines = 100.0, per_call, [], []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _answers(outcomes, clock: _Clock):
    calls = iter(outcomes)

    def fn(*timeout: float):   # call_with_retry gives the attempt's deadline; tenacity gives nothing
        clock.deadlines.extend(timeout)
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
    retrying = Retrying(stop=stop_after_attempt(policy.attempts)
                        | stop_before_delay(policy.total_timeout - policy.useful_attempt),
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


def _run(call, outcomes, per_call, clock: _Clock | None = None):
    clock = clock or _Clock(per_call)
    try:
        result = call(_answers(outcomes, clock), clock)
    except (TransientError, PermanentError) as exc:
        result = (type(exc).__name__, str(exc), getattr(exc, "code", None))
    return result, clock.slept, clock.now


def _deadlines(policy: CallPolicy, per_call: float, attempts: int) -> list[float]:
    """The deadline each attempt should be given: call_timeout, or what is left of total_timeout if less."""
    return [min(policy.call_timeout, policy.total_timeout - i * per_call - sum(_waits(policy, i)))
            for i in range(attempts)]


def _waits(policy: CallPolicy, attempts: int) -> list[float]:
    return [endpoints.backoff(n, policy) for n in range(1, attempts + 1)]


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
            clock = _Clock(per_call)
            assert _run(ours, outcomes, per_call, clock) == expected, outcomes
            made = len(clock.deadlines)
            assert clock.deadlines == pytest.approx(_deadlines(policy, per_call, made)), outcomes
            compared += 1
    assert compared > 300


def test_a_transient_fault_is_retried_then_reported_as_transient(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(endpoints.time, "sleep", slept.append)
    calls = []

    def fn(timeout: float):
        calls.append(timeout)
        raise UNAVAILABLE

    with pytest.raises(TransientError, match="GetService x"):
        call_with_retry(fn, what="GetService x", policy=CallPolicy(attempts=3, initial_backoff=0.2, max_backoff=2.0))
    assert (calls, slept) == ([10.0, 10.0, 10.0], [0.2, 0.4])   # no time passes: every attempt has its whole call


# --- the time budget: each attempt runs to the deadline it is given (a hang cut by its RPC deadline) or
# fails at once; the API may ask for a wait (RetryInfo) up to max_backoff. Pure: the clock is a counter.

BUDGET_POLICIES = (CallPolicy(), CallPolicy(attempts=10), CallPolicy(attempts=4, call_timeout=12.0),
                   CallPolicy(attempts=6, initial_backoff=1.0, max_backoff=4.0, total_timeout=25.0),
                   CallPolicy(call_timeout=0.5, attempts=2, initial_backoff=0.01, max_backoff=0.02, total_timeout=1.5))


class _Asks(Exception):
    """UNAVAILABLE with a RetryInfo-like ask, as retry_delay reads it (the REST adapter's `retry_after`)."""

    def __init__(self, seconds: float) -> None:
        super().__init__("down")
        self.retry_after = seconds
        self.grpc_status_code = gexc.ServiceUnavailable.grpc_status_code


def _budget_run(monkeypatch, policy: CallPolicy, plan: tuple[str, ...]) -> tuple[_Clock, list[float]]:
    """Runs call_with_retry over `plan`: per attempt "hang" (runs its whole deadline, then DEADLINE_EXCEEDED),
    "fast" (UNAVAILABLE at once) or "asks" (UNAVAILABLE after its deadline, asking for max_backoff), always
    failing. Returns the clock and the deadlines given. Works on the loop before the fix too (no deadline
    passed: each attempt runs call_timeout), so these tests show what it did."""
    clock = _Clock(0.0)
    monkeypatch.setattr(endpoints.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(endpoints.time, "sleep", clock.sleep)
    kinds = iter(plan * policy.attempts)
    given: list[float] = []

    def fn(*timeout: float):
        deadline = timeout[0] if timeout else policy.call_timeout
        given.append(deadline)
        kind = next(kinds)
        if kind == "fast":
            raise UNAVAILABLE
        clock.now += deadline
        raise _Asks(policy.max_backoff) if kind == "asks" else DEADLINE

    with pytest.raises(TransientError):
        call_with_retry(fn, what="GetService x", policy=policy)
    return clock, given


@pytest.mark.parametrize("policy", BUDGET_POLICIES)
@pytest.mark.parametrize("plan", [("hang",), ("asks",), ("fast",), ("fast", "asks"), ("asks", "hang", "fast"),
                                  ("hang", "fast", "fast", "asks")])
def test_the_call_ends_within_its_longest_run_and_no_sleep_passes_the_total(monkeypatch, policy, plan):
    clock, given = _budget_run(monkeypatch, policy, plan)
    elapsed = clock.now - 100.0
    assert elapsed <= policy.total_timeout + 1e-9, f"{elapsed:.2f} s, past the {policy.total_timeout} s total"
    assert elapsed <= policy.longest_run + 1e-9
    assert all(d <= policy.call_timeout for d in given)
    assert all(d > policy.useful_attempt - 1e-9 for d in given[1:]), "a retry was started with a sliver left"


@pytest.mark.parametrize("policy", BUDGET_POLICIES)
def test_the_longest_run_is_reached_so_the_budgets_count_no_slack(monkeypatch, policy):
    """The worst plan of those tried runs the call to its longest_run (within the useful-attempt margin the
    last retry needs), so what the budgets count is what a call can take, not a guess above it."""
    longest = max(_budget_run(monkeypatch, policy, plan)[0].now - 100.0
                  for plan in [("hang",), ("asks",), ("fast",), ("fast", "asks"), ("asks", "hang", "fast")])
    assert policy.longest_run - policy.useful_attempt - policy.max_backoff <= longest <= policy.longest_run + 1e-9


def test_the_default_policy_takes_at_most_its_30_s_where_it_took_up_to_42(monkeypatch):
    """The review's case: ten attempts allowed (the loop's stop is the time budget), each hanging to its
    deadline, the API asking for the longest wait: 10 + 2 + 10 + 2 + 10 = 34 s with the old loop at three
    attempts, 42 s with more; now the last attempt is given what is left."""
    clock, given = _budget_run(monkeypatch, CallPolicy(attempts=10), ("asks",))
    assert clock.now - 100.0 == pytest.approx(30.0)
    assert given == pytest.approx([10.0, 10.0, 6.0])


@pytest.mark.parametrize("left, asked, retried", [(30.0, 0.2, True), (2.3, 0.2, True), (2.15, 0.2, False),
                                                   (1.0, 0.2, False), (4.0, 2.0, False), (4.1, 2.0, True)])
def test_a_retry_starts_only_with_more_than_a_useful_attempt_left_after_its_sleep(monkeypatch, left, asked, retried):
    clock = _Clock(0.0)
    monkeypatch.setattr(endpoints.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(endpoints.time, "sleep", clock.sleep)
    policy = CallPolicy()
    calls: list[float] = []

    def fn(timeout: float):
        calls.append(timeout)
        if len(calls) == 1:
            clock.now += policy.total_timeout - left     # the first attempt used all but `left`
            raise _Asks(asked)
        return "ok"

    if retried:
        assert call_with_retry(fn, what="GetService x", policy=policy) == "ok"
        assert calls[1] == pytest.approx(min(10.0, left - asked))
    else:
        with pytest.raises(TransientError):
            call_with_retry(fn, what="GetService x", policy=policy)
        assert len(calls) == 1 and clock.slept == []


@pytest.mark.parametrize("fields", [{"call_timeout": 0}, {"total_timeout": 0}, {"total_timeout": -1}])
def test_a_policy_without_a_positive_deadline_is_refused(fields):
    with pytest.raises(ValueError, match="must be positive"):
        CallPolicy(**fields)
