"""shared/workers.py: the instance's kept threads (what ThreadPoolExecutor gave: answers in order,
exceptions to the caller, at most `size` threads, threads reused, a forked child's own threads)."""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import wait

import pytest

from shared.workers import Workers


def test_map_gives_the_answers_in_the_items_order() -> None:
    pool = Workers("test-order", 3)
    for items in ([], [1], list(range(2)), list(range(17))):
        assert pool.map(lambda n: n * n, items) == [n * n for n in items]


def test_map_runs_every_item_and_raises_the_first_exception_in_order() -> None:
    pool = Workers("test-raise", 4)
    ran: list[int] = []
    lock = threading.Lock()

    def fn(n: int) -> int:
        with lock:
            ran.append(n)
        if n in (3, 5):
            raise KeyError(n)
        return n

    with pytest.raises(KeyError) as raised:
        pool.map(fn, list(range(8)))
    assert raised.value.args == (3,)
    assert sorted(ran) == list(range(8))


def test_never_more_threads_at_once_than_the_size() -> None:
    pool = Workers("test-bound", 3)
    running, most = [0], [0]
    lock = threading.Lock()

    def fn(_: int) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.002)   # lets the other threads start, if the pool lets them
        with lock:
            running[0] -= 1

    futures = [pool.submit(fn, n) for n in range(10)]
    pool.map(fn, list(range(12)))
    wait(futures)
    assert most[0] <= 3
    assert len([t for t in threading.enumerate() if t.name.startswith("test-bound_")]) <= 3


def test_the_items_of_a_map_run_on_the_pool_concurrently() -> None:
    pool = Workers("test-together", 4)
    barrier = threading.Barrier(4, timeout=10)   # passes only if four items run at once
    assert pool.map(lambda n: barrier.wait() >= 0 and n, [0, 1, 2, 3]) == [0, 1, 2, 3]


def test_submit_hands_back_the_answer_or_the_exception() -> None:
    pool = Workers("test-submit", 2)
    assert pool.submit(lambda a, b: a + b, 2, 3).result(timeout=10) == 5
    failed = pool.submit(lambda: 1 / 0)
    wait([failed], timeout=10)
    assert isinstance(failed.exception(), ZeroDivisionError)


def test_threads_are_kept_between_calls() -> None:
    pool = Workers("test-kept", 2)
    first = set(pool.map(lambda _: threading.get_ident(), [0, 1, 2, 3]))
    for _ in range(20):
        pool.map(lambda _: None, [0, 1])
        pool.submit(lambda: None).result(timeout=10)
    later = set(pool.map(lambda _: threading.get_ident(), [0, 1, 2, 3]))
    assert len(first | later) <= 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_a_forked_child_builds_its_own_threads() -> None:
    pool = Workers("test-fork", 2)
    pool.map(lambda n: n, [0, 1])   # the parent's threads exist
    read, write = os.pipe()
    child = os.fork()
    if child == 0:   # the parent's threads are not here: a pool that kept them would wait forever
        try:
            ok = pool.map(lambda n: n + 1, [0, 1, 2]) == [1, 2, 3] and pool.submit(lambda: 7).result(timeout=10) == 7
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(child, 0)
    assert answer == b"1"


@pytest.mark.parametrize("items", [[], [7]])
def test_a_map_of_one_item_or_none_runs_on_the_callers_thread(items) -> None:
    """A hand-off to the pool gains nothing for one item: it runs where the caller is (every caller once
    said so itself, `if len(names) > 1`), and raises there as a map would."""
    pool = Workers("test-alone", 2)
    caller = threading.get_ident()
    assert pool.map(lambda _: threading.get_ident(), items) == [caller for _ in items]
    with pytest.raises(KeyError):
        pool.map(lambda n: {}[n], [1])
    assert not [t for t in threading.enumerate() if t.name.startswith("test-alone_")]
