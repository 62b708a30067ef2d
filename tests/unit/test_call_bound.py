"""endpoints.bounded: every call a thread makes while a bound is in force ends by it, each RPC given at most what is
left of it, and a call begun with nothing left is never sent (a DEADLINE_EXCEEDED at once). The bound a read made
only for a person's words (scope.outside_in_time) puts on itself, so that no call of it outlives its wait."""
from __future__ import annotations

import threading
import time

import pytest

from shared.errors import TransientError
from shared.gcp.endpoints import CallPolicy, PageCursor, bounded, call_with_retry

POLICY = CallPolicy()   # 10 s an attempt, 30 s a call with its retries


def test_an_rpc_under_a_bound_is_given_at_most_what_is_left_of_it():
    given: list[float] = []
    with bounded(0.5):
        call_with_retry(lambda timeout: given.append(timeout), what="ListServices p", policy=POLICY)
    assert given and given[0] <= 0.5, given


def test_a_call_begun_past_its_bound_is_never_sent():
    sent: list[float] = []
    with bounded(0.05):
        time.sleep(0.1)
        with pytest.raises(TransientError, match="DEADLINE_EXCEEDED|bound"):
            call_with_retry(lambda timeout: sent.append(timeout), what="GetService s", policy=POLICY)
    assert sent == []


def test_a_page_cursor_shares_the_bound():
    with bounded(0.5):
        assert PageCursor.for_call(POLICY).timeout() <= 0.5


def test_the_tighter_of_two_bounds_holds_and_the_outer_one_comes_back():
    with bounded(5.0):
        with bounded(60.0):
            assert PageCursor.for_call(POLICY).timeout() <= 5.0
        with bounded(0.2):
            assert PageCursor.for_call(POLICY).timeout() <= 0.2
        assert 0.2 < PageCursor.for_call(POLICY).timeout() <= 5.0
    assert PageCursor.for_call(POLICY).timeout() == POLICY.call_timeout


def test_a_bound_is_the_threads_own():
    seen: list[float] = []
    with bounded(0.2):
        other = threading.Thread(target=lambda: seen.append(PageCursor.for_call(POLICY).timeout()))
        other.start()
        other.join()
    assert seen == [POLICY.call_timeout]
