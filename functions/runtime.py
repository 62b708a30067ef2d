"""Config and adapters, built once per instance and shared by every entry point in it.

Cold start (docs/performance.md, "Cold start"). Importing main stays cheap: it imports no Google
client library. Under functions-framework, which sets FUNCTION_TARGET before it imports main
(functions_framework 3.10 `_function_registry.get_function_target`), an instance serving
on_alert or on_command warms up on a background thread instead:

1. it imports the handler and the Google client libraries an alert needs before its first write,
   then builds the runtime (config, own principal, adapters), in the process that imported main,
   with the garbage collector paused (see "The collector" below);
2. it builds those adapters' clients, only in a process forked from that one. The
   functions-framework CLI imports main in gunicorn's master and forks the worker that serves
   afterwards (functions_framework `_cli.py`, `_http/gunicorn.py`), and a gRPC channel must never
   cross a fork: gRPC Python does not support fork() unless fork support is enabled
   (grpc doc/fork_support.md). So the master never opens a channel, it finishes its warm-up
   before it forks (`before` fork hook), and the worker builds its own clients as soon as it
   exists (`after_in_child` hook);
3. the deferred part: the Pub/Sub library and the publisher's client, which an alert needs only
   after its first write (to publish its outcome), once no event is being handled (`handling()`
   counts them). An instance started by the alert it is to handle (scale from zero) so reaches
   that alert's first write without them; the alert imports and builds them itself when it
   publishes, as every event did before the warm-up existed. An instance started ahead (min
   instances, or one started for an earlier message) has no event in flight: it builds them
   right away.

The collector. Importing the Google libraries allocates some 10^5 objects that live as long as the
process; the collector's passes over them were about an eighth of the master's warm-up CPU (269
collections, measured with gc.callbacks; docs/performance.md, "Cold start"). So the warm-up that
starts at import pauses it, and before it resumes it moves everything allocated so far into the
permanent generation (`gc.freeze`), so that neither the master nor the forked worker scans those
objects again: "call gc.disable() early in the parent process, gc.freeze() right before fork(),
and gc.enable() early in child processes" (Python docs, gc.freeze). The collector is enabled
again when the warm-up ends, before the fork (the `before` hook waits for it), so the worker
starts with it on, as it always did.

An event that arrives meanwhile joins the build in progress: `runtime()` waits on the lock the
warm-up holds while it builds, and each adapter builds its client under its own lock, so no event
ever sees a half-built runtime or client. A warm-up that fails is reported in one `warm_up` line
(WARNING) and changes nothing else: the event builds what is missing itself, as it always did,
and meets the same error on its usual path (a config error is logged CRITICAL and the event is
answered 503, with no traceback, and redelivered; a client that cannot be built fails the call
that needs it).
"""
from __future__ import annotations

# Imported here, on the importing thread, before the warm-up starts: this module registers a
# paired at-fork hook (before=acquire its lock, after_in_parent=release it; CPython
# Lib/concurrent/futures/thread.py). Imported by the warm-up while gunicorn's fork waits for it in
# _before_fork, only the release half would run (the fork's before hooks had already been read):
# "Exception ignored ... RuntimeError: release unlocked lock" and a traceback in the master's
# stderr at every instance start, which the watchdog's function-errors alert pages on.
import concurrent.futures.thread  # noqa: F401
import gc
import importlib
import os
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

TARGET_ENV = "FUNCTION_TARGET"
# The entry points that use the runtime, and the module each one's handler lives in.
HANDLERS = {"on_alert": "shared.pipeline", "on_command": "shared.commands"}
# The adapters' fields, in the order their clients are built (the first event needs the state first).
ADAPTER_FIELDS = ("state", "run", "monitoring", "logging", "vpcaccess", "secretmanager", "publisher")
# The ones an alert uses only after its first write: the deferred part of the warm-up.
DEFERRED_FIELDS = ("publisher",)


@dataclass
class WarmUp:
    """One process's warm-up, as far as it has got."""

    target: str
    pid: int
    build_clients: bool
    quiet_gc: bool = False                               # the collector paused while it imports
    started: float = field(default_factory=time.perf_counter)
    seconds: float | None = None                         # set when it has finished
    waited: float = 0.0                                  # seconds the deferred part waited for events
    gc_frozen: int = 0                                   # objects moved to the permanent generation
    cancelled: bool = False                              # by reset(): the deferred part is skipped
    clients: tuple[str, ...] = ()                        # adapters whose client it built
    failures: dict[str, str] = field(default_factory=dict)  # what it could not build, and why
    done: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.done.is_set() and not self.failures


_lock = threading.Lock()        # held while the runtime is built: a second caller waits for it
_built: tuple[Any, Any] | None = None
_warm_up: WarmUp | None = None
_idle = threading.Condition()   # notified whenever an event ends (see handling())
_in_flight = 0                  # events being handled in this process


def runtime():
    """(config, adapters) of this instance: built on first use, or by the warm-up if it has
    started; a caller arriving during the build waits for it."""
    global _built
    with _lock:
        if _built is None:
            _built = _build()
        return _built


@contextmanager
def handling() -> Iterator[tuple[Any, Any]]:
    """One event's scope: yields `runtime()`, and counts the event as in flight until it ends,
    so that the warm-up's deferred part waits for it (see the module's docstring)."""
    global _in_flight
    with _idle:
        _in_flight += 1
    try:
        yield _runtime_or_refusal()
    finally:
        with _idle:
            _in_flight -= 1
            _idle.notify_all()


def _runtime_or_refusal():
    """runtime(), or, when the config cannot be used while a push is being answered, a 503 with no
    traceback. The CRITICAL `config_error` line already says why, and the watchdog pages on it
    (infra/watchdog.tf, `config_error`); an exception left to functions-framework would also log
    a traceback and answer 500 with its crash header, paging a second time for the same cause
    through the `function_errors` policy. Pub/Sub redelivers a 503 as it does any answer that is
    not a success (a push subscription's message is acknowledged by a success status only; Pub/Sub,
    "Push subscriptions"), so the event waits, within the subscription's retry and dead-letter
    policy, for the config to be fixed; nothing is acted on meanwhile."""
    from shared.config import ConfigError

    try:
        return runtime()
    except ConfigError as exc:
        # functions-framework serves through Flask (already imported by it; not a dependency of ours).
        flask = sys.modules.get("flask")
        if flask is None or not flask.has_request_context():
            raise
        flask.abort(503, description=f"Runwarden's config cannot be used: {exc}")
        raise   # abort always raises; never reached


def _build():
    from shared.config import ConfigError, load_config
    from shared.pipeline import google_adapters
    from shared.timeline.writer import Timeline

    from shared.gcp.identity import own_principal, own_services, with_own_principal, with_own_services

    try:
        config = load_config()
        # Runwarden's own functions join own_services: an alert about one is told, never acted on (and a config
        # managing one cannot be used).
        config = with_own_services(config, own_services(os.environ, config.project))
    except ConfigError as exc:
        # Not cached: the event is redelivered and handled once the config is fixed, never dropped.
        Timeline(None).step("config_error", f"cannot start: {exc}", severity="CRITICAL")
        raise
    # Runwarden's own service account joins self_principals: its changes are not a person's.
    from shared.timeline.writer import set_principal

    principal = own_principal()
    set_principal(principal)    # the timeline tells Runwarden's own writes by it (docs/timeline.md)
    config = with_own_principal(config, principal)
    return config, google_adapters(config)


def reset() -> None:
    """Forgets the runtime and the warm-up (after waiting for it): the next event builds afresh."""
    global _built, _warm_up
    warm = _warm_up
    if warm is not None and warm.thread is not None and warm.pid == os.getpid():
        with _idle:
            warm.cancelled = True   # a deferred part still waiting for an event gives up
            _idle.notify_all()
        warm.thread.join()
    with _lock:
        _built = None
        _warm_up = None


def delivery_attempt() -> int | None:
    """Pub/Sub's `deliveryAttempt` from the push body. functions-framework's conversion of a raw
    push body into a CloudEvent keeps only the message (event_conversion.marshal_background_event_data),
    so it is read from the request itself, which Flask keeps for the handler's duration."""
    from shared.alerts.delivery import push_delivery_attempt

    # functions-framework serves through Flask (already imported by it; not a dependency of ours).
    flask = sys.modules.get("flask")
    if flask is None or not flask.has_request_context():
        return None
    return push_delivery_attempt(flask.request.get_json(silent=True))


# --- the warm-up -------------------------------------------------------------------------------


def warm_up_status() -> WarmUp | None:
    """This process's warm-up, or None if none started here."""
    return _warm_up if _warm_up is not None and _warm_up.pid == os.getpid() else None


def start_warm_up(target: str, *, build_clients: bool, quiet_gc: bool = False) -> WarmUp | None:
    """Starts the warm-up for `target` on a daemon thread, once per process; None for an entry
    point that needs no runtime (incident_timeline). `quiet_gc`: pause the collector while it
    imports and freeze what was imported (for the process that imports main at instance start)."""
    global _warm_up
    if target not in HANDLERS:
        return None
    current = warm_up_status()
    if current is not None:
        return current
    warm = WarmUp(target=target, pid=os.getpid(), build_clients=build_clients, quiet_gc=quiet_gc)
    warm.thread = threading.Thread(target=_warm, args=(warm,), name="runwarden-warm-up", daemon=True)
    _warm_up = warm
    warm.thread.start()
    return warm


def _warm(warm: WarmUp) -> None:
    global _built
    try:
        # The imports too happen under the runtime lock: an event that arrives now waits for them
        # in runtime() rather than importing the same modules at the same time on its own thread.
        with _lock, _paused_gc(warm):
            importlib.import_module(HANDLERS[warm.target])
            from shared.gcp.endpoints import FIRST_WRITE_LIBRARIES, import_client_libraries

            import_client_libraries(FIRST_WRITE_LIBRARIES)
            if _built is None:
                _built = _build()
            _, adapters = _built
        if warm.build_clients:   # outside the lock: an event may start while they are built
            _warm_clients(adapters, warm, [name for name in ADAPTER_FIELDS if name not in DEFERRED_FIELDS])
            if _wait_until_idle(warm):
                _warm_deferred(adapters, warm)
    except BaseException as exc:  # noqa: BLE001 - reported; the first event builds it again itself
        warm.failures["runtime"] = _describe(exc)
    finally:
        warm.seconds = time.perf_counter() - warm.started
        _report(warm)
        warm.done.set()   # after the line: whoever waits for it can read it


@contextmanager
def _paused_gc(warm: WarmUp) -> Iterator[None]:
    """The collector off while the block runs, then what it allocated frozen and the collector on
    again (see "The collector" in the module's docstring). Left alone unless `warm.quiet_gc`, or
    if something else had switched it off."""
    if not warm.quiet_gc or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        warm.gc_frozen = gc.get_freeze_count()
        gc.enable()


def _wait_until_idle(warm: WarmUp) -> bool:
    """Waits until no event is being handled here; False if reset() cancelled the warm-up meanwhile."""
    started = time.perf_counter()
    with _idle:
        _idle.wait_for(lambda: _in_flight == 0 or warm.cancelled)
    warm.waited = time.perf_counter() - started
    return not warm.cancelled


def _warm_deferred(adapters: Any, warm: WarmUp) -> None:
    """The publisher's client (it imports the Pub/Sub library under the adapter's own lock, where
    an event that publishes meanwhile waits for it), then what is left of OUTCOME_LIBRARIES."""
    from shared.gcp.endpoints import OUTCOME_LIBRARIES, import_client_libraries

    _warm_clients(adapters, warm, DEFERRED_FIELDS)
    if "publisher" in warm.clients:
        import_client_libraries(OUTCOME_LIBRARIES)


def _warm_clients(adapters: Any, warm: WarmUp, names: Any) -> None:
    built = list(warm.clients)
    for name in names:
        adapter = getattr(adapters, name, None)
        warm_adapter = getattr(adapter, "warm", None)
        if warm_adapter is None:
            continue
        try:
            warm_adapter()
        except Exception as exc:  # noqa: BLE001 - one client's failure leaves the others warm
            warm.failures[name] = _describe(exc)
        else:
            built.append(name)
    warm.clients = tuple(built)


def _describe(exc: BaseException) -> str:
    """The failure as the warm-up's timeline line names it, redacted (shared/errors.py `described`)."""
    from shared.errors import described

    return described(exc)


def _report(warm: WarmUp) -> None:
    try:
        from shared.timeline.writer import Timeline
    except BaseException:  # noqa: BLE001 - nothing to report with; the event will report itself
        return
    what = f"clients {', '.join(warm.clients) or 'none'}" if warm.build_clients else \
        "imports and runtime (clients are built in the worker)"
    if warm.failures:
        failed = "; ".join(f"{name}: {error}" for name, error in warm.failures.items())
        message = (f"instance warm-up for {warm.target} incomplete after {warm.seconds:.2f} s ({what}); "
                   f"failed: {failed}. The first event builds what is missing itself")
        severity = "WARNING"
    else:
        message = f"instance warm-up for {warm.target} ready in {warm.seconds:.2f} s ({what})"
        if warm.waited >= 0.01:
            message += f"; {warm.waited:.2f} s of it waiting for events in flight before the Pub/Sub client"
        severity = "INFO"
    Timeline(None, trigger="instance").step(
        "warm_up", message, severity=severity, target=warm.target, pid=warm.pid, seconds=round(warm.seconds or 0, 3),
        clients=list(warm.clients), build_clients=warm.build_clients, failures=warm.failures,
        waited=round(warm.waited, 3), gc_frozen=warm.gc_frozen)


# --- fork safety ---------------------------------------------------------------------------------


def _before_fork() -> None:
    # Nothing may be half-done across a fork: not an import (its module lock would stay held in
    # the child), not the runtime lock. The warm-up here opens no channel, so it is safe to finish.
    warm = warm_up_status()
    if warm is not None and warm.thread is not None and warm.thread.is_alive() \
            and warm.thread is not threading.current_thread():
        warm.thread.join()


def _after_fork_in_child() -> None:
    global _lock, _idle, _in_flight
    _lock = threading.Lock()      # free in the parent at the fork (see _before_fork); a fresh one
    _idle, _in_flight = threading.Condition(), 0   # the parent's events are not this process's
    parent = _warm_up
    if parent is not None and parent.pid != os.getpid():
        start_warm_up(parent.target, build_clients=True)


def _start_at_import() -> None:
    target = os.environ.get(TARGET_ENV, "")
    if target in HANDLERS:
        start_warm_up(target, build_clients=False, quiet_gc=True)


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
_start_at_import()
