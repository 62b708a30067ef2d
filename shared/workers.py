"""Worker threads kept for the life of an instance, instead of a thread pool per call.

Starting a thread costs CPU on the handler's own path (`Thread.start` waits until the new thread
runs), and a per-call `ThreadPoolExecutor` started one per task and joined them all at the end:
on a warm alert that was several threads per delivery. A `Workers` pool is built on first use
and reused by every later event on the instance.

A pool's threads do not survive `fork()` (only the forking thread is copied into the child), so
a child process drops the pools it inherited and builds its own on first use.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable
from weakref import WeakSet

_ALL: "WeakSet[Workers]" = WeakSet()


class Workers:
    """A named pool of at most `size` threads, started as tasks arrive and then kept."""

    def __init__(self, name: str, size: int) -> None:
        self.name, self.size = name, size
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        _ALL.add(self)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        return self._executor().submit(fn, *args)

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """fn over items on the pool, the answers in the items' order (as Executor.map)."""
        return list(self._executor().map(fn, items))

    def _executor(self) -> ThreadPoolExecutor:
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix=self.name)
                pool = self._pool
        return pool

    def _forget(self) -> None:
        # In a forked child: the parent's threads are not here. A new lock too, in case the fork
        # happened while another thread held it.
        self._lock = threading.Lock()
        self._pool = None


def _after_fork_in_child() -> None:
    for workers in list(_ALL):
        workers._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
