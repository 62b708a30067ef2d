"""The operation waits' deadline arithmetic (shared/gcp/endpoints.py WaitDeadline), and the VPC Access wait
held to it: pure, the monotonic clock and the sleep are a counter, no request is sent.

Why: a write's operation wait is counted at its own length in the function's budget (infra/locals.tf: 300 s
for the connector, 120 s for Cloud Run; sweep_budget.LONGEST_STEP_SECONDS), and the function timeout
(570 s) and the push's ack deadline (600 s, Pub/Sub's maximum) leave 30 s over it. A poll given its own
full deadline near the end of the wait ran past it: Cloud Run's by up to 120 s, the connector's by 42 s."""
from __future__ import annotations

from typing import Any

import pytest

from shared.errors import TransientError
from shared.gcp import endpoints, vpcaccess
from shared.gcp.endpoints import CallPolicy, WaitDeadline
from shared.gcp.vpcaccess import VpcAccessAdapter

POLICY = CallPolicy()   # 10 s a call, 30 s of retries, 2 s the longest backoff


def longest_run(policy: CallPolicy) -> float:
    """How long call_with_retry may run under `policy` (its sleeps and attempt deadlines cut to what is left
    of total_timeout: tests/unit/test_call_retry.py drives the loop to this figure)."""
    return policy.longest_run


@pytest.mark.parametrize("now, left", [(100.0, 120.0), (160.0, 60.0), (219.5, 0.5), (220.0, 0.0), (400.0, 0.0)])
def test_what_is_left_counts_down_to_zero_and_no_further(now, left):
    deadline = WaitDeadline.starting(120.0, now=100.0)
    assert deadline.left(now) == pytest.approx(left)
    assert deadline.expired(now) is (left == 0.0)


@pytest.mark.parametrize("now, cap, timeout", [(0.0, 120.0, 120.0), (100.0, 120.0, 20.0), (119.9, 120.0, 0.1),
                                               (0.0, 10.0, 10.0), (115.0, 10.0, 5.0), (130.0, 10.0, 0.0)])
def test_a_polls_deadline_is_its_cap_or_what_is_left(now, cap, timeout):
    assert WaitDeadline.starting(120.0, now=0.0).poll_timeout(cap, now) == pytest.approx(timeout)


@pytest.mark.parametrize("now, pages_read, timeout", [(0.0, 1, 10.0), (3.0, 1, 7.0), (9.99, 4, 0.01),
                                                      (10.0, 5, None), (14.0, 2, None)])
def test_a_later_pages_deadline_is_what_is_left_of_the_reads_and_none_is_asked_past_it(now, pages_read, timeout):
    """The pages of one read share its attempt's deadline (10 s here): a later page is given what is left, and
    with nothing left no page is asked; the read fails as a DEADLINE_EXCEEDED, transient (retried within the
    call's total, then redelivered), its pages read so far never the answer. Before, each page was given the
    whole 10 s (the GAPIC pagers' way), so N slow pages ran N deadlines."""
    from shared.errors import classify

    deadline = WaitDeadline.starting(10.0, now=0.0)
    if timeout is not None:
        assert deadline.page_timeout(pages_read, now) == pytest.approx(timeout)
        return
    with pytest.raises(Exception, match=f"after {pages_read} page") as raised:
        deadline.page_timeout(pages_read, now)
    assert endpoints.status_code(raised.value) == "DEADLINE_EXCEEDED"
    assert isinstance(classify(raised.value), TransientError)


@pytest.mark.parametrize("now, pages, timeout", [(0.0, 0, 10.0), (5.0, 1, 10.0), (20.0, 3, 10.0), (24.5, 4, 5.5),
                                                 (29.9, 6, 0.1), (30.0, 7, None), (45.0, 2, None)])
def test_a_pages_deadline_is_one_calls_cut_to_what_is_left_of_the_calls_total(now, pages, timeout):
    """A paged read's cursor (PageCursor.for_call): each page is one RPC of at most call_timeout (10 s), as GAPIC
    gives each page, cut to what is left of the call's total (30 s), which its retries share too; with nothing
    left no page is asked (DEADLINE_EXCEEDED, transient). Before, the pages shared one attempt's 10 s, and a
    read that needed more than 10 s across its pages failed every attempt alike."""
    from shared.errors import classify

    cursor = endpoints.PageCursor.for_call(POLICY, now=0.0)
    cursor.pages = pages
    if timeout is not None:
        assert cursor.timeout(now) == pytest.approx(timeout)
        return
    with pytest.raises(Exception, match=f"after {pages} page") as raised:
        cursor.timeout(now)
    assert endpoints.status_code(raised.value) == "DEADLINE_EXCEEDED"
    assert isinstance(classify(raised.value), TransientError)


@pytest.mark.parametrize("taken, token, pages", [((), "", 0), (("a",), "a", 1), (("a", "b", ""), "", 3)])
def test_a_cursor_holds_the_next_pages_token_across_attempts(taken, token, pages):
    """What a retry resumes from: the token of the page after the last one taken; `restart` reads from page
    one again (an answer found wanting as a whole), within the same deadline."""
    cursor = endpoints.PageCursor.for_call(POLICY, now=0.0)
    for next_token in taken:
        cursor.took(next_token)
    assert (cursor.token, cursor.pages) == (token, pages)
    cursor.restart()
    assert (cursor.token, cursor.pages) == ("", 0)
    assert cursor.timeout(29.0) == pytest.approx(1.0)


@pytest.mark.parametrize("now", [0.0, 100.0, 250.0, 257.0, 260.0, 270.0, 285.0, 288.0, 290.0, 295.0, 299.0, 299.99])
def test_a_poll_with_its_retries_ends_within_the_wait(now):
    deadline = WaitDeadline.starting(300.0, now=0.0)
    cut = deadline.poll_policy(POLICY, now)
    assert longest_run(cut) <= deadline.left(now) + 1e-9
    assert cut.call_timeout <= POLICY.call_timeout and cut.total_timeout <= POLICY.total_timeout
    assert cut.attempts == POLICY.attempts


def test_with_the_whole_wait_left_a_poll_keeps_its_policy():
    assert WaitDeadline.starting(300.0, now=0.0).poll_policy(POLICY, 0.0) == POLICY


@pytest.mark.parametrize("now, delay, sleep", [
    (0.0, 2.0, 2.0), (200.0, 15.0, 15.0), (280.0, 15.0, 10.0), (289.0, 15.0, 1.0), (289.9, 0.05, 0.05),
    (290.0, 15.0, None), (295.0, 1.0, None), (300.0, 1.0, None), (400.0, 1.0, None)])
def test_a_sleep_leaves_one_poll_its_reserve_inside_the_wait(now, delay, sleep):
    deadline = WaitDeadline.starting(300.0, now=0.0)
    got = deadline.sleep_before_poll(delay, reserve=10.0, now=now)
    assert got == (None if sleep is None else pytest.approx(sleep))
    if got is not None:
        assert deadline.left(now + got) >= 10.0 - 1e-9


class _Clock:
    """time.monotonic and time.sleep over one counter."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class _HangingPolls(VpcAccessAdapter):
    """Every poll of the operation runs as long as its policy lets it (each attempt to its call_timeout,
    retried to the end) and finds the operation not done: the adapter's own `_read`, no request sent."""

    def __init__(self, clock: _Clock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self.polls: list[tuple[float, CallPolicy]] = []   # (seconds left of the wait when sent, its policy)

    def _read(self, resource: str, *, what: str, needs: tuple[str, ...],
              policy: CallPolicy | None = None) -> dict[str, Any]:
        policy = policy or self._policy
        self.polls.append((self.clock.now, policy))
        self.clock.now += longest_run(policy)
        return {"name": resource, "done": False}


@pytest.mark.parametrize("initial, maximum", [(2.0, 15.0), (0.5, 1.0), (7.0, 60.0)])
def test_the_connector_wait_ends_at_its_timeout_even_when_every_poll_hangs(monkeypatch, initial, maximum):
    clock = _Clock()
    monkeypatch.setattr(endpoints.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(vpcaccess.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(vpcaccess.time, "sleep", clock.sleep)
    adapter = _HangingPolls(clock, poll_initial_delay=initial, poll_max_delay=maximum)
    started = clock.now
    with pytest.raises(TransientError, match="not done after 300s"):
        adapter._wait({"name": "operations/op-1", "done": False}, "connector")
    assert clock.now - started <= 300.0 + 1e-6, f"the wait ran {clock.now - started:.1f} s"
    assert adapter.polls, "no poll was made"
    for sent_at, policy in adapter.polls:
        assert sent_at < started + 300.0, "a poll was started after the wait was over"


class _Wire:
    """The one RunWire call `_poll` makes, over the counter clock: records the RPC deadline each GetOperation
    was given and runs as the case says (answers, or hangs to its deadline and is cut, DEADLINE_EXCEEDED)."""

    def __init__(self, clock: _Clock, hangs: bool) -> None:
        self.clock, self.hangs, self.timeouts = clock, hangs, []

    def get_operation(self, name: str, timeout: float | None, retry: Any = None) -> Any:
        from google.api_core import exceptions

        self.timeouts.append(timeout)
        if self.hangs:
            self.clock.now += timeout
            raise exceptions.DeadlineExceeded("Deadline Exceeded")
        return {"name": name, "done": False}


@pytest.mark.parametrize("elapsed, hangs, deadline_given, timed_out", [
    (0.0, False, 120.0, False), (100.0, False, 20.0, False), (119.5, True, 0.5, True), (0.0, True, 120.0, True),
    (120.0, False, None, True), (500.0, False, None, True)])
def test_a_cloud_run_poll_is_given_what_is_left_and_ends_with_the_wait(monkeypatch, elapsed, hangs, deadline_given,
                                                                        timed_out):
    from google.api_core import retry as api_retry

    from shared.gcp.run import CloudRunAdapter

    clock = _Clock()
    monkeypatch.setattr(endpoints.time, "monotonic", clock.monotonic)
    deadline = WaitDeadline.starting(120.0)
    clock.now += elapsed
    wire = _Wire(clock, hangs)
    for retry in (None, api_retry.Retry(timeout=30.0)):
        wire.timeouts.clear()
        if timed_out:
            with pytest.raises(TimeoutError):
                CloudRunAdapter._poll(wire, "operations/op-1", deadline, retry)
            clock.now = max(clock.now, deadline.until)   # a hang ran to the end
        else:
            assert CloudRunAdapter._poll(wire, "operations/op-1", deadline, retry)["done"] is False
        assert wire.timeouts == ([] if deadline_given is None else [pytest.approx(deadline_given)])
        assert clock.now <= deadline.until or elapsed > 120.0
        clock.now = deadline.until - 120.0 + elapsed   # the same case again, with the poll's retry


class _DoneInTheLastSleep(VpcAccessAdapter):
    """The operation finishes at `done_at` (a clock reading); each poll answers at once, done or not, as the
    operation stands when it is read: the adapter's own `_read`, no request sent."""

    def __init__(self, clock: _Clock, done_at: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock, self.done_at = clock, done_at
        self.polls: list[float] = []

    def _read(self, resource: str, *, what: str, needs: tuple[str, ...],
              policy: CallPolicy | None = None) -> dict[str, Any]:
        self.polls.append(self.clock.now)
        return {"name": resource, "done": self.clock.now >= self.done_at, "response": {}}


class _SleepLog(_Clock):
    """The counter clock, keeping each sleep's (start, end)."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[tuple[float, float]] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append((self.now, self.now + seconds))
        super().sleep(seconds)


def _waited(monkeypatch, done_at: float, **kwargs: Any) -> tuple[_SleepLog, _DoneInTheLastSleep, Exception | None]:
    clock = _SleepLog()
    monkeypatch.setattr(endpoints.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(vpcaccess.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(vpcaccess.time, "sleep", clock.sleep)
    adapter = _DoneInTheLastSleep(clock, done_at=clock.now + done_at, **kwargs)
    try:
        adapter._wait({"name": "operations/op-1", "done": False}, "connector")
    except TransientError as exc:
        return clock, adapter, exc
    return clock, adapter, None


@pytest.mark.parametrize("initial, maximum", [(2.0, 15.0), (0.5, 1.0), (7.0, 60.0), (30.0, 60.0), (2.0, 295.0)])
def test_an_operation_done_during_the_last_sleep_is_read_as_done(monkeypatch, initial, maximum):
    """Before, the last sleep ran to the wait's end and no poll followed it: a patch done during it was
    reported "not done after 300s" (escalated, of unknown outcome). Now each sleep ends with a poll's reserve
    (a whole call_timeout) left of the wait, and the poll after the last sleep reads it done."""
    clock, _, never = _waited(monkeypatch, 1e9, poll_initial_delay=initial, poll_max_delay=maximum)
    assert never is not None, "an operation never done must end the wait"
    start, end = clock.sleeps[-1]
    begun = clock.sleeps[0][0]
    assert end - begun <= 300.0 + 1e-9
    clock, adapter, failed = _waited(monkeypatch, (start + end) / 2 - begun, poll_initial_delay=initial,
                                     poll_max_delay=maximum)
    assert failed is None, f"done {((start + end) / 2 - begun):.1f} s into the wait, during its last sleep: {failed}"
    assert adapter.polls[-1] - clock.sleeps[0][0] <= 300.0 - CallPolicy().call_timeout + 1e-9


def test_a_wait_shorter_than_two_calls_still_polls(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(endpoints.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(vpcaccess.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(vpcaccess.time, "sleep", clock.sleep)
    adapter = _DoneInTheLastSleep(clock, done_at=clock.now + 1e9, operation_timeout=5.0, poll_initial_delay=0.5,
                                  poll_max_delay=1.0)
    with pytest.raises(TransientError, match="not done after 5s"):
        adapter._wait({"name": "operations/op-1", "done": False}, "connector")
    assert adapter.polls and all(p < adapter.polls[0] + 5.0 for p in adapter.polls)
