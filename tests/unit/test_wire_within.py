"""`wire.within` makes its first attempt without the library's wrappers and builds them only after a
failure: each case here runs it beside what it replaced, the library's own composition
`retry(TimeToDeadlineTimeout(timeout)(send))()`, on the same scripted attempts (no I/O: `send` is a
plain function that answers or raises as scripted, and notes the timeout each attempt was given)."""
from __future__ import annotations

import time
from typing import Any, Callable

import pytest
from google.api_core import exceptions
from google.api_core.retry import Retry, if_exception_type
from google.api_core.timeout import TimeToDeadlineTimeout

from shared.gcp.wire import within


def _library(send: Callable[..., Any], timeout: float | None, retry: Any) -> Any:
    attempt = TimeToDeadlineTimeout(timeout=timeout)(send)
    return (retry(attempt) if retry is not None else attempt)()


class _Script:
    """Attempts answered in turn: an exception is raised, anything else returned; the last repeats.
    `pause` seconds pass in each attempt before it answers."""

    def __init__(self, *answers: Any, pause: float = 0.0) -> None:
        self.answers, self.pause = list(answers), pause
        self.timeouts: list[float | None] = []

    def __call__(self, timeout: float | None = None) -> Any:
        self.timeouts.append(timeout)
        if self.pause:
            time.sleep(self.pause)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer


def _retry(timeout: float | None) -> Retry:
    return Retry(predicate=if_exception_type(exceptions.ServiceUnavailable), initial=0.005, maximum=0.01,
                 multiplier=2.0, timeout=timeout)


def _both(make: Callable[[], _Script], timeout: float | None, retry: Any) -> list[tuple[Any, _Script]]:
    """(what each answered or raised, its script) for the library's composition, then `within`."""
    results = []
    for run in (_library, within):
        script = make()
        try:
            results.append((("answer", run(script, timeout, retry)), script))
        except Exception as exc:  # noqa: BLE001 - compared below
            results.append((("raised", exc), script))
    return results


def _whole(given: float, timeout: float) -> bool:
    """The whole timeout, less the moments a loaded machine takes between the call and its first
    attempt (29.997 s and 4.988 s were seen): a bound, never an equality on the clock."""
    return max(timeout - 0.5, timeout / 2) < given <= timeout


@pytest.mark.parametrize("retry", [_retry(1.0), None])
@pytest.mark.parametrize("timeout", [30.0, 0.5, None])
def test_a_first_attempt_that_answers_gets_the_whole_timeout(timeout: float | None, retry: Any) -> None:
    (old, old_script), (new, new_script) = _both(lambda: _Script("ok"), timeout, retry)
    assert old == new == ("answer", "ok")
    for script in (old_script, new_script):
        (given,) = script.timeouts
        assert given is None if timeout is None else _whole(given, timeout)


@pytest.mark.parametrize("retry", [_retry(1.0), None])
def test_an_error_the_retry_does_not_accept_is_raised_as_it_is(retry: Any) -> None:
    denied = exceptions.PermissionDenied("no")
    (old, old_script), (new, new_script) = _both(lambda: _Script(denied), 30.0, retry)
    assert old == new == ("raised", denied)
    assert len(old_script.timeouts) == len(new_script.timeouts) == 1


def test_with_no_retry_a_transient_error_is_raised_at_once() -> None:
    down = exceptions.ServiceUnavailable("down")
    (old, old_script), (new, new_script) = _both(lambda: _Script(down), 30.0, None)
    assert old == new == ("raised", down)
    assert len(new_script.timeouts) == 1


def test_a_retried_attempt_gets_what_is_left_of_the_timeout() -> None:
    # Above 1 s, so that the deadline wrapper gives what is left rather than the whole timeout again.
    make = lambda: _Script(exceptions.ServiceUnavailable("down"), "ok", pause=0.02)   # noqa: E731
    (old, old_script), (new, new_script) = _both(make, 5.0, _retry(1.0))
    assert old == new == ("answer", "ok")
    for script in (old_script, new_script):
        first, second = script.timeouts
        # Bounds, not equalities: on a loaded machine time passes between the call and its first
        # attempt too (4.988 s was seen), and what is asserted is "what is left", never "all again".
        assert 5.0 - 2.0 < first <= 5.0
        assert 5.0 - 2.0 < second < first - 0.02   # the first attempt's pause and the sleep are gone


def test_a_retry_that_runs_out_raises_the_same_retry_error() -> None:
    down = exceptions.ServiceUnavailable("down")
    (old, old_script), (new, new_script) = _both(lambda: _Script(down), 30.0, _retry(0.05))
    for (kind, error), script in ((old, old_script), (new, new_script)):
        assert kind == "raised" and isinstance(error, exceptions.RetryError)
        assert str(error) == str(old[1]) and error.cause is down and error.__cause__ is down
        assert len(script.timeouts) >= 2 and _whole(script.timeouts[0], 30.0)
        assert all(29.0 < left <= 30.0 for left in script.timeouts[1:])   # within 1 ms: the whole


def test_the_retry_deadline_counts_from_the_first_attempt() -> None:
    # The first attempt alone outlasts the retry's timeout: no second attempt, in either.
    down = exceptions.ServiceUnavailable("down")
    (old, old_script), (new, new_script) = _both(lambda: _Script(down, pause=0.12), 30.0, _retry(0.1))
    for (kind, error), script in ((old, old_script), (new, new_script)):
        assert kind == "raised" and isinstance(error, exceptions.RetryError)
        assert str(error) == "Timeout of 0.1s exceeded, last exception: 503 down" and error.cause is down
        assert len(script.timeouts) == 1


# --- unary and streamed: a gRPC error mapped as GAPIC maps it, anything else left as it is ------------

import grpc  # noqa: E402

from shared.gcp.wire import streamed, unary  # noqa: E402
from tests.unit.grpc_calls import failed_call  # noqa: E402


def _raising(error: BaseException) -> Callable[..., Any]:
    def stub(request: Any, timeout: Any = None, metadata: Any = None) -> Any:
        raise error
    return stub


@pytest.mark.parametrize("call", [unary, streamed])
def test_a_grpc_error_leaves_as_the_gapic_exception(call) -> None:
    failed = failed_call(grpc.StatusCode.UNAVAILABLE, "try later")
    with pytest.raises(exceptions.ServiceUnavailable) as raised:
        call(_raising(failed), object(), 1.0, ())
    assert raised.value.__cause__ is failed and str(raised.value) == str(exceptions.from_grpc_error(failed))


@pytest.mark.parametrize("call", [unary, streamed])
def test_any_other_error_leaves_as_it_is(call) -> None:
    error = ValueError("a bug")
    with pytest.raises(ValueError) as raised:
        call(_raising(error), object(), 1.0, ())
    assert raised.value is error and raised.value.__cause__ is None


def test_answers_pass_through() -> None:
    assert unary(lambda request, timeout, metadata: (request, timeout, metadata), "r", 2.0, ("m",)) == ("r", 2.0, ("m",))
    assert streamed(lambda request, timeout, metadata: iter([1, 2]), "r", 2.0, ()) == [1, 2]


def test_the_retry_settings_within_reads_are_the_ones_the_library_keeps() -> None:
    """`within` reads a Retry's settings by the names google-api-core's `Retry.__init__` stores them
    under (private names; requirements.txt pins the library for this). A release that renames them
    fails here, not on a production call's first failure."""
    retry = Retry(predicate=if_exception_type(exceptions.ServiceUnavailable), initial=0.25, maximum=4.0,
                  multiplier=3.0, timeout=12.0, on_error=print)
    assert (retry._predicate, retry._initial, retry._maximum, retry._multiplier, retry._timeout,
            retry._on_error) == (retry._predicate, 0.25, 4.0, 3.0, 12.0, print)
    assert retry._predicate(exceptions.ServiceUnavailable("x")) and not retry._predicate(ValueError())
