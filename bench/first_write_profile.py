"""Where a warm first write's time goes: its waits, thread by thread, and its CPU, function by function.

On the stack of `bench/alert_path.py` (the Firestore and Pub/Sub emulators with their JIT settled,
the stand-ins in a process of their own, the real adapters) a bad_revision alert is handled again
and again, each on an emptied database, and the moment the gate calls `set_traffic` ends what is
measured (the first write). Three views, each over `--runs` warm alerts:

- **timeline** (default): every adapter call an alert makes, on the thread it runs on, its start
  and end from the alert's arrival and its thread CPU (`time.thread_time`), medians; then the
  handler's thread split into its waits (inside an adapter call, or blocked on another thread's
  work) and its own CPU between them.
- **profile**: cProfile (timed by each thread's CPU clock, `time.thread_time`) on every thread that works for the alert (the handler's and the pools'
  threads, `shared/workers.py`), collecting only until the first write; the functions with the
  most own time, and the most cumulative.
- **instructions**: valgrind's callgrind, in a worker process, collecting only while an alert is
  handled up to the moment `set_traffic` is called (every thread of the process: gRPC's own threads
  read the sockets), per alert. Counts the load does not move, unlike CPU time on a shared machine.

- **compare-reads N**: alerts alternating between at most N evidence reads in flight and the
  product's `MAX_CONCURRENT_READS`; `--latency` answers every stand-in call that much later (a
  network's round trip to Google's APIs, which the local stand-ins do not have).

    .venv/bin/python bench/first_write_profile.py [--runs 30]
    .venv/bin/python bench/first_write_profile.py --compare-reads 6 --latency 0.02 [--runs 15]
    .venv/bin/python bench/first_write_profile.py --profile [--runs 30]
    .venv/bin/python bench/first_write_profile.py --instructions [--runs 20]
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WARM = 120       # alerts handled before measuring: the emulators' JIT settles in 100-120 (alert_path.py)
WARM_IN_WORKER = 15
_TOGGLE_C = "#include <valgrind/callgrind.h>\nvoid toggle(void) { CALLGRIND_TOGGLE_COLLECT; }\n"
ADAPTERS = ("run", "monitoring", "logging", "vpcaccess", "state", "publisher")
# The handler's own steps, timed like the adapter calls (module or class, attribute).
STEPS = (("shared.pipeline", "diagnose_service"), ("shared.diagnosis.scope", "collect"),
         ("shared.diagnosis.scope", "diagnose"), ("shared.pipeline", "plan"),
         ("shared.remediation.guardrails", "Gate.execute"), ("shared.timeline.writer", "Timeline.step"),
         ("shared.pipeline", "_AlertRun.prior"), ("shared.pipeline", "_AlertRun.duplicate"))


class _Stack:
    """The adapters on the local servers, and one warm first write at a time."""

    def __init__(self, project: str, topic: str, service: str) -> None:
        from bench.alert_path import T0
        from sandbox.scenarios import resolve_scenario
        from shared.clock import FixedClock
        from shared.config import parse_config
        from sandbox.standins.run import RUNWARDEN_CALLER
        from shared.gcp.identity import with_own_principal
        from shared.gcp.firestore import FirestoreStateStore
        from shared.gcp.logging import CloudLoggingAdapter
        from shared.gcp.monitoring import CloudMonitoringAdapter
        from shared.gcp.pubsub import PubSubPublisher
        from shared.gcp.run import CloudRunAdapter
        from shared.gcp.vpcaccess import VpcAccessAdapter
        from shared.pipeline import Adapters

        self.scenario, self.service, self.t0 = resolve_scenario("bad_revision"), service, T0
        self.config = parse_config({"project": project, "mode": "enforce", "outcomes_topic": topic,
                                    "services": [{"name": service}]})
        # As the deployed function runs it (functions/runtime.py): its own account's writes (the stand-in's
        # RUNWARDEN_CALLER) are Runwarden's, not a change under it that nobody can explain.
        self.config = with_own_principal(self.config, RUNWARDEN_CALLER)
        self.run = CloudRunAdapter(poll_initial_delay=0.01, poll_max_delay=0.05)
        self.adapters = Adapters(run=self.run, monitoring=CloudMonitoringAdapter(), publisher=PubSubPublisher(),
                                 state=FirestoreStateStore(project), clock=FixedClock(T0 + timedelta(minutes=2)),
                                 logging=CloudLoggingAdapter(), vpcaccess=VpcAccessAdapter())
        self.original = self.run.get_service(service).traffic
        self.project = project
        self.on_write: Callable[[], None] = lambda: None
        real_set_traffic = self.run.set_traffic

        def set_traffic(*args: Any, **kwargs: Any) -> Any:
            self.on_write()
            self.on_write = lambda: None   # the first write only
            return real_set_traffic(*args, **kwargs)

        self.adapters.run = _Proxy(self.run, {"set_traffic": set_traffic})
        self.restore = lambda: real_set_traffic(service, self.original, self.run.get_service(service).etag)

    def event(self) -> dict[str, Any]:
        notification = self.scenario.notification(self.t0, incident_id=f"0.{uuid.uuid4().hex[:12]}")
        return {"message": {"data": base64.b64encode(json.dumps(notification).encode()).decode(),
                            "messageId": uuid.uuid4().hex}}

    def reset(self) -> None:
        from sandbox.emulators import _http

        host = os.environ["FIRESTORE_EMULATOR_HOST"]
        _http("DELETE", f"http://{host}/emulator/v1/projects/{self.project}/databases/(default)/documents")

    def first_write(self, before: Callable[[], None] = lambda: None) -> None:
        """One alert on an emptied database; `on_write` is called when the gate calls set_traffic."""
        from bench.alert_path import _quiet
        from shared.pipeline import handle_alert

        self.reset()
        event, on_write = self.event(), self.on_write
        before()
        outcome = _quiet(lambda: handle_alert(event, self.config, self.adapters))
        assert outcome.status.value == "applied", outcome.reason
        self.on_write = on_write
        self.restore()


class _Proxy:
    """An adapter with some of its methods replaced."""

    def __init__(self, inner: Any, replaced: dict[str, Callable[..., Any]]) -> None:
        self._inner, self._replaced = inner, replaced

    def __getattr__(self, name: str) -> Any:
        return self._replaced.get(name) or getattr(self._inner, name)


def _timed_adapter(inner: Any, label: str, calls: list[tuple[str, str, float, float, float]],
                   clock: Callable[[], float]) -> Any:
    """`inner` with every public method noting (thread, call, start, end, thread CPU) in `calls`."""
    replaced: dict[str, Callable[..., Any]] = {}
    for name in dir(getattr(inner, "_inner", inner)):
        if name.startswith("_") or not callable(getattr(inner, name, None)):
            continue

        def timed(*args: Any, _name: str = name, **kwargs: Any) -> Any:
            start, cpu = clock(), time.thread_time()
            try:
                return getattr(inner, _name)(*args, **kwargs)
            finally:
                calls.append((threading.current_thread().name, f"{label}.{_name}", start, clock(),
                              time.thread_time() - cpu))
        replaced[name] = timed
    return _Proxy(inner, replaced)


def _time_step(module: str, name: str, calls: list[tuple[str, str, float, float, float]],
               clock: Callable[[], float]) -> None:
    import importlib

    owner: Any = importlib.import_module(module)
    *path, attribute = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    inner = getattr(owner, attribute)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start, cpu = clock(), time.thread_time()
        try:
            return inner(*args, **kwargs)
        finally:
            calls.append((threading.current_thread().name, f"({name})", start, clock(), time.thread_time() - cpu))
    setattr(owner, attribute, timed)


def _threads_cpu() -> dict[int, int]:
    """Every thread of this process: its CPU so far in ns (/proc/self/task/TID/schedstat, first field)."""
    spent = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            spent[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return spent


def _thread_kind(tid: int) -> str:
    for thread in threading.enumerate():
        if thread.native_id == tid:
            return "handler" if thread is threading.main_thread() else thread.name.rsplit("_", 1)[0]
    try:
        return f"not Python's: {Path(f'/proc/self/task/{tid}/comm').read_text().strip()}"
    except OSError:
        return "not Python's"


def timeline(stack: _Stack, runs: int) -> None:
    calls: list[tuple[str, str, float, float, float]] = []
    t: dict[str, Any] = {"start": 0.0, "write": 0.0, "cpu": 0.0, "cpu_write": 0.0, "proc": 0.0, "proc_write": 0.0}
    clock = lambda: time.perf_counter() - t["start"]   # noqa: E731
    adapters = stack.adapters
    for label in ADAPTERS:
        inner = getattr(adapters, label)
        setattr(adapters, label, _timed_adapter(inner, label, calls, clock))

    def at_write() -> None:
        t["write"], t["cpu_write"], t["proc_write"] = clock(), time.thread_time(), time.process_time()
        t["threads_write"] = _threads_cpu()

    for module, name in STEPS:
        _time_step(module, name, calls, clock)
    stack.on_write = at_write
    per_call: dict[tuple[str, str, int], list[tuple[float, float, float]]] = {}
    writes, handler_cpu, process_cpu, own_waits = [], [], [], []

    by_kind: dict[str, float] = {}

    def begin() -> None:
        del calls[:]
        t["threads"] = _threads_cpu()
        t["start"], t["cpu"], t["proc"] = time.perf_counter(), time.thread_time(), time.process_time()

    for _ in range(runs):
        stack.first_write(begin)
        writes.append(t["write"])
        handler_cpu.append(t["cpu_write"] - t["cpu"])
        process_cpu.append(t["proc_write"] - t["proc"])
        seen: dict[tuple[str, str], int] = {}
        main_waits = 0.0
        for thread, call, start, end, cpu in sorted(calls, key=lambda c: c[2]):
            if end > t["write"]:
                continue
            thread = "handler" if thread == "MainThread" else thread.rsplit("_", 1)[0]
            n = seen[(thread, call)] = seen.get((thread, call), 0) + 1
            per_call.setdefault((thread, call, n), []).append((start, end, cpu))
            if thread == "handler" and not call.startswith("("):
                main_waits += end - start - cpu
        own_waits.append(main_waits)
        for tid, ns in t["threads_write"].items():
            kind = _thread_kind(tid)
            by_kind[kind] = by_kind.get(kind, 0.0) + (ns - t["threads"].get(tid, 0)) / 1e9 / runs
    print(f"warm first writes: {runs}; medians, ms from the alert's arrival (handle_alert called)")
    print(f"{'thread':<12} {'call':<44} {'start':>7} {'end':>7} {'thread CPU':>10}  seen")
    rows = sorted(per_call.items(), key=lambda kv: statistics.median(v[0] for v in kv[1]))
    for (thread, call, n), values in rows:
        med = [statistics.median(v[i] for v in values) * 1000 for i in range(3)]
        print(f"{thread:<12} {call + (f' #{n}' if n > 1 else ''):<44} {med[0]:7.2f} {med[1]:7.2f} {med[2]:10.2f}"
              f"  {len(values)}/{runs}")
    write, cpu, proc = (statistics.median(v) * 1000 for v in (writes, handler_cpu, process_cpu))
    print(f"set_traffic called at {write:.2f} ms; the handler's thread CPU by then {cpu:.2f} ms "
          f"(process {proc:.2f} ms); its waits inside its own adapter calls {statistics.median(own_waits) * 1000:.2f} ms;"
          f" so blocked on other threads or the scheduler {write - cpu - statistics.median(own_waits) * 1000:.2f} ms")
    print("CPU until the write per thread kind, mean (schedstat): " + "; ".join(
        f"{kind} {seconds * 1000:.2f} ms" for kind, seconds in sorted(by_kind.items(), key=lambda kv: -kv[1])))
    print(f"machine: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def profile(stack: _Stack, runs: int, top: int, dump: str | None = None) -> None:
    import cProfile
    import pstats

    from shared import workers

    profiles: dict[int, cProfile.Profile] = {}
    active = {"on": False}

    def mine() -> cProfile.Profile:
        return profiles.setdefault(threading.get_ident(), cProfile.Profile(time.thread_time))

    real_put = workers.Workers._put

    def put(self: Any, task: Callable[[], None]) -> None:
        def profiled() -> None:
            if not active["on"]:
                return task()
            p = mine()
            p.enable()
            try:
                task()
            finally:
                p.disable()
        real_put(self, profiled)

    workers.Workers._put = put   # type: ignore[method-assign]

    def at_write() -> None:
        active["on"] = False
        mine().disable()

    def begin() -> None:
        active["on"] = True
        mine().enable()

    stack.on_write = at_write
    for _ in range(runs):
        stack.first_write(begin)
    workers.Workers._put = real_put   # type: ignore[method-assign]
    stats = pstats.Stats(*profiles.values())
    if dump:
        stats.dump_stats(dump)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def compare(stack: _Stack, runs: int, before: int) -> None:
    """Alerts alternating between `before` evidence reads in flight and the product's own count."""
    from shared.diagnosis import collection

    product = collection.MAX_CONCURRENT_READS
    t: dict[str, float] = {}
    figures: dict[int, list[tuple[float, float]]] = {before: [], product: []}

    def at_write() -> None:
        t["write"], t["cpu_write"] = time.perf_counter(), time.process_time()

    def begin() -> None:
        t["start"], t["cpu"] = time.perf_counter(), time.process_time()

    stack.on_write = at_write
    try:
        for _ in range(runs):
            for size in (before, product):
                collection.MAX_CONCURRENT_READS = size
                stack.first_write(begin)
                figures[size].append((t["write"] - t["start"], t["cpu_write"] - t["cpu"]))
    finally:
        collection.MAX_CONCURRENT_READS = product
    for size, values in figures.items():
        wall = statistics.median(v[0] for v in values) * 1000
        cpu = statistics.median(v[1] for v in values) * 1000
        print(f"evidence reads in flight at most {size:>2}: set_traffic called at {wall:.2f} ms (median of {runs}); "
              f"this process's CPU by then {cpu:.2f} ms")
    ratio = statistics.median(b[0] / a[0] for a, b in zip(figures[before], figures[product]))
    print(f"pairs alternating, {product} against {before}: wall {ratio:.2f}x (median of the pairs' ratios)")
    print(f"machine: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def _serve(scenario: str, env_queue: Any, stop: Any, latency: float) -> None:
    """The scenario's stand-ins, each call answered `latency` seconds late (a network's round trip)."""
    from sandbox.scenarios import start_seeded

    from bench.alert_path import T0

    with start_seeded(scenario, anchor=T0) as standins:
        if latency:
            for api in (standins.run, standins.monitoring, standins.logging, standins.vpcaccess):
                api.faults.add_latency(latency)
        env_queue.put(standins.env())
        stop.wait()


def worker(project: str, topic: str, service: str, runs: str, toggle: str) -> None:
    import ctypes

    stack = _Stack(project, topic, service)
    switch = ctypes.CDLL(toggle).toggle
    for _ in range(WARM_IN_WORKER):
        stack.first_write()
    stack.on_write = switch
    for _ in range(int(runs)):
        stack.first_write(switch)


def instructions(project: str, topic: str, service: str, runs: int) -> None:
    from bench.duplicate_instructions import _count

    with tempfile.TemporaryDirectory(prefix="runwarden-first-write-") as tmp:
        toggle, source = Path(tmp) / "toggle.so", Path(tmp) / "toggle.c"
        source.write_text(_TOGGLE_C)
        subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(toggle), str(source)], check=True)
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--callgrind-out-file=/dev/null",
             sys.executable, __file__, "--worker", project, topic, service, str(runs), str(toggle)],
            env=dict(os.environ, PYTHONHASHSEED="0"), capture_output=True, text=True, check=True)
        print(f"a warm first write, until set_traffic is called: {_count(done.stderr) / runs / 1e6:.3f} million "
              f"instructions per alert, every thread ({runs} counted)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="cProfile on every thread working for the alert")
    parser.add_argument("--top", type=int, default=45, help="with --profile: functions printed per ordering")
    parser.add_argument("--dump", metavar="FILE", help="with --profile: keep the merged profile (pstats)")
    parser.add_argument("--instructions", action="store_true", help="callgrind's count per first write")
    parser.add_argument("--compare-reads", type=int, metavar="N",
                        help="alerts alternating between N evidence reads in flight and the product's count")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="every stand-in call answered this late (the network's round trip to Google's APIs)")
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0

    import multiprocessing

    from bench.alert_path import EMULATOR_JIT
    from sandbox.emulators import start_firestore, start_pubsub
    from sandbox.scenarios import resolve_scenario

    project = "bench-first-write"
    scenario = resolve_scenario("bad_revision")
    service = scenario.service_name(scenario.services[0].name)
    spawn = multiprocessing.get_context("spawn")
    env_queue, stop = spawn.Queue(), spawn.Event()
    server = spawn.Process(target=_serve, args=(scenario.name, env_queue, stop, args.latency),
                           daemon=True)
    server.start()
    os.environ["JAVA_TOOL_OPTIONS"] = EMULATOR_JIT["c1"]
    try:
        os.environ.update(env_queue.get(timeout=60))
        with start_firestore(project) as firestore, start_pubsub(project) as pubsub:
            os.environ.update(firestore.env() | pubsub.env())
            topic = pubsub.ensure_topic("outcomes")
            stack = _Stack(project, topic, service)
            for _ in range(WARM):
                stack.first_write()
            if args.instructions:
                instructions(project, topic, service, args.runs)
            elif args.compare_reads:
                compare(stack, args.runs, args.compare_reads)
            elif args.profile:
                profile(stack, args.runs, args.top, args.dump)
            else:
                timeline(stack, args.runs)
    finally:
        stop.set()
        server.join(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
