"""Long-lived threads for the fast tier, in place of the thread pools the product builds per delivery.

Runwarden builds a `concurrent.futures.ThreadPoolExecutor` for every evidence collection (up to six
reads at once, shared/diagnosis/collection.py), every read-ahead of the state (shared/pipeline.py)
and every check before a write (shared/remediation/guardrails.py), and lets it go afterwards. In
production that is a few threads per alert; in the fast tier, tens of thousands of programs each
make several deliveries, and starting and joining those threads cost about a fifth of a worker's
CPU (measured: 40 -> 51 programs per CPU-second with the reads made one after another instead).

`BorrowedPool` keeps the product's concurrency and only changes where the threads come from: it is
a ThreadPoolExecutor as those modules use it (`submit`, `map`, `shutdown`, `with`), whose work runs
on at most `max_workers` threads at once, in submission order, as in a ThreadPoolExecutor of that
size; the threads are borrowed from one long-lived pool per process instead of started anew.
`borrowed_threads()` puts it in place for the duration of a fast-tier run only.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

# The modules whose `ThreadPoolExecutor` name the fast tier replaces (each one's own import).
PRODUCT_MODULES = ("shared.diagnosis.collection", "shared.pipeline", "shared.remediation.guardrails")
# Enough for every pool of every concurrent delivery a program makes (4 threads x (6 + 2)) at once:
# a borrowed runner never waits on another, so a smaller pool would only queue, never deadlock.
SHARED_THREADS = 48

_shared: tuple[int, ThreadPoolExecutor] | None = None
_shared_lock = threading.Lock()


def _threads() -> ThreadPoolExecutor:
    """This process's long-lived pool (a forked worker starts its own: threads do not survive fork)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():
            _shared = (os.getpid(), ThreadPoolExecutor(max_workers=SHARED_THREADS, thread_name_prefix="borrowed"))
        return _shared[1]


class BorrowedPool:
    """ThreadPoolExecutor(max_workers) on borrowed threads: at most `max_workers` of its tasks run at
    once, taken in submission order."""

    def __init__(self, max_workers: int | None = None, thread_name_prefix: str = "", **_: Any) -> None:
        self._max = max(1, max_workers or 1)
        self._queue: deque[tuple[Future, Callable[..., Any], tuple, dict]] = deque()
        self._running = 0
        self._lock = threading.Condition()   # notified when the last running task's thread is given back

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._lock:
            self._queue.append((future, fn, args, kwargs))
            start = self._running < self._max
            if start:
                self._running += 1
        if start:
            _threads().submit(self._drain)
        return future

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._running -= 1
                    if self._running == 0:
                        self._lock.notify_all()
                    return
                future, fn, args, kwargs = self._queue.popleft()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the future, as ThreadPoolExecutor does
                future.set_exception(exc)
            else:
                future.set_result(result)

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any]) -> Iterator[Any]:
        """All of them queued at once; up to `max_workers` run at a time, one on the calling thread
        (which would otherwise only wait for them): as concurrent, one thread hand-off fewer."""
        futures: list[Future] = []
        with self._lock:
            for args in zip(*iterables):
                futures.append(Future())
                self._queue.append((futures[-1], fn, args, {}))
            start = max(0, min(self._max - self._running, len(futures)))
            self._running += start
        for _ in range(start - 1):
            _threads().submit(self._drain)
        if start:
            self._drain()
        return (future.result() for future in futures)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if cancel_futures:
            with self._lock:
                pending, self._queue = list(self._queue), deque()
            for future, *_ in pending:
                future.cancel()
        if wait:   # every task submitted has run, and its thread is given back
            with self._lock:
                self._lock.wait_for(lambda: self._running == 0)

    def __enter__(self) -> "BorrowedPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown(wait=True)


@contextmanager
def borrowed_threads() -> Iterator[None]:
    """The product's per-delivery pools become BorrowedPools for the duration (then restored)."""
    import importlib

    modules = [importlib.import_module(name) for name in PRODUCT_MODULES]
    saved = [(module, module.__dict__.get("ThreadPoolExecutor")) for module in modules]
    for module, original in saved:
        if original is not None:
            module.ThreadPoolExecutor = BorrowedPool
    try:
        yield
    finally:
        for module, original in saved:
            if original is not None:
                module.ThreadPoolExecutor = original
