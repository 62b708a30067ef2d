"""Worker threads kept for the life of an instance, instead of a thread pool per call.

Starting a thread costs CPU on the handler's own path (`Thread.start` waits until the new thread
runs), and a per-call `ThreadPoolExecutor` started one per task and joined them all at the end:
on a warm alert that was several threads per delivery. A `Workers` pool is built on first use
and reused by every later event on the instance.

The pool is a queue and threads, as `ThreadPoolExecutor`'s (at most `size` threads, each started
when a task finds none idle, then kept; tasks taken in the order they came; queued work finished
before the interpreter exits), without its per-task costs where nobody needs them: `map` hands
its items out as one batch (no `Future`, no `Condition` per item, and its caller woken once,
when the last answer is in), and only `submit`, whose callers wait on or poll the answer, makes
a `concurrent.futures.Future`.

A pool's threads do not survive `fork()` (only the forking thread is copied into the child), so
a child process drops the pools it inherited and builds its own on first use.
"""
from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any, Callable
from weakref import WeakSet

_ALL: "WeakSet[Workers]" = WeakSet()
_EXITING = False


class Workers:
    """A named pool of at most `size` threads, started as tasks arrive and then kept."""

    def __init__(self, name: str, size: int) -> None:
        if size < 1:
            raise ValueError(f"a pool of {size} threads")
        self.name, self.size = name, size
        self._fresh()
        _ALL.add(self)

    def _fresh(self) -> None:
        self._lock = threading.Lock()
        self._tasks: SimpleQueue[Callable[[], None] | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = 0   # threads that finished a task and may take the next one without a new thread

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """fn(*args) on the pool; its answer or exception in the Future (as Executor.submit)."""
        future: Future = Future()

        def task() -> None:
            if not future.set_running_or_notify_cancel():   # cancelled while queued
                return
            try:
                answer = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits, as Executor.submit does
                future.set_exception(exc)
            else:
                future.set_result(answer)

        self._put(task)
        return future

    def map(self, fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """fn over items on the pool, the answers in the items' order (as Executor.map). Every item
        runs; if any raised, the first exception in the items' order is raised once all are done. A list
        of one item (or none) runs on the caller's thread, as a hand-off would only add a wait for another
        thread; two or more all run on the pool, the caller waiting for the batch."""
        if len(items) < 2:
            return [fn(item) for item in items]
        batch = _Batch(fn, list(items))
        for _ in range(min(batch.size, self.size)):   # one hand-off per thread that can help
            self._put(batch.work)
        batch.done.acquire()
        return batch.answers()

    def _put(self, task: Callable[[], None]) -> None:
        if _EXITING:
            raise RuntimeError(f"{self.name}: cannot take work after interpreter shutdown")
        self._tasks.put(task)
        with self._lock:
            if self._idle:
                self._idle -= 1   # a thread that is free (or about to be) takes it
                return
            if len(self._threads) >= self.size:
                return            # queued: the next thread to finish takes it
            thread = threading.Thread(target=self._serve, name=f"{self.name}_{len(self._threads)}")
            self._threads.append(thread)
        thread.start()

    def _serve(self) -> None:
        tasks, lock = self._tasks, self._lock
        while True:
            task = tasks.get()
            if task is None:   # the interpreter is exiting
                return
            task()
            del task
            with lock:
                self._idle += 1

    def _stop(self) -> list[threading.Thread]:
        """At interpreter exit: each thread ends once the work queued before it is done."""
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._tasks.put(None)
        return threads

    def _forget(self) -> None:
        # In a forked child: the parent's threads are not here. A new lock too, in case the fork
        # happened while another thread held it.
        self._fresh()


class _Batch:
    """One `map` call's items, taken one at a time by whichever pool threads it woke."""

    def __init__(self, fn: Callable[[Any], Any], items: list[Any]) -> None:
        self.fn, self.items, self.size = fn, items, len(items)
        self.results: list[Any] = [None] * self.size
        self.errors: list[BaseException | None] = [None] * self.size
        self._next = itertools.count().__next__   # atomic: no two threads get the same item
        self._left = self.size
        self._lock = threading.Lock()
        self.done = threading.Lock()
        self.done.acquire()   # released when the last answer is in

    def work(self) -> None:
        while True:
            index = self._next()
            if index >= self.size:
                return
            try:
                self.results[index] = self.fn(self.items[index])
            except BaseException as exc:  # noqa: BLE001 - raised in the caller, as Executor.map does
                self.errors[index] = exc
            with self._lock:
                self._left -= 1
                last = self._left == 0
            if last:
                self.done.release()

    def answers(self) -> list[Any]:
        for error in self.errors:
            if error is not None:
                raise error
        return self.results


def _after_fork_in_child() -> None:
    for workers in list(_ALL):
        workers._forget()


def _at_exit() -> None:
    """As ThreadPoolExecutor's own exit hook: no new work, queued work finished, threads joined."""
    global _EXITING
    _EXITING = True
    threads = [thread for workers in list(_ALL) for thread in workers._stop()]
    for thread in threads:
        thread.join()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
# Run before the interpreter joins its non-daemon threads (concurrent.futures.thread registers
# its own hook the same way); without it, idle pool threads would keep the process alive.
threading._register_atexit(_at_exit)   # type: ignore[attr-defined]
