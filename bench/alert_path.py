"""Warm alert -> first write, against the round trips that must be sequential, in the same run.

On the local stack (Firestore and Pub/Sub emulators, the API stand-ins, the real adapters) a
bad_revision alert is handled again and again on warm clients; each time, the first write is the
moment the Run stand-in receives UpdateService (stamped in the stand-ins' process on the
machine's monotonic clock, which `time.perf_counter` reads in every process: CLOCK_MONOTONIC on
Linux). The moment the gate calls set_traffic, and the CPU this process spent by then, are
printed too. In the same run:
  - the same path with evidence read one call at a time (MAX_CONCURRENT_READS = 1: the old way);
  - the floor: the round trips that must come one after another, each timed alone (median; the
    Firestore ones between the measured alerts, so that they meet the emulator as the alerts do).
    By the handler's design (shared/pipeline.py, shared/remediation/guardrails.py), counted per
    method and per thread at the client's gRPC channel:
      1. the batched read of the incident's state (its record, what settled it, this message's
         intent, the claims): on the handler's thread;
      2. the evidence, in two concurrent rounds (the service and its revisions; then the reads
         that need them), beside which the read-ahead thread makes its query and batched read
         (the service's action records, the gate's reads), and a thread of its own the query for
         the incident's action records, made only when (1) found nothing of the incident (so that
         a duplicate costs one round trip; `_AlertRun.duplicate_beside`) and answered before
         anything is decided: the longest of the three paths. A delivery of which (1) found
         anything waits for that query before reading the evidence, as a first write did before,
         so as not to read a dozen Google APIs for a likely duplicate;
      4. the gate's commit (claim, cooldown, budget slots: on the handler's thread), beside which
         the check right before the write (a batched read) and the intent's create (a commit)
         run, each on a thread of its own: the longest of the three. The write waits for all.
    No more: nothing else is waited for before the write. No fewer: each of (1), (2), (4) needs
    what the one before it found, or must not be made for a duplicate.
Also printed: the CPU every other process on the machine (the stand-ins, both emulators, and apart
the emulators' JIT compiling) spends per alert, read from /proc, and the bound it sets: all
processes' CPU until the first write, spread over the cores, is the earliest the write can come
however the work overlaps; and this process's CPU until the write against the same calls made
bare (the evidence's reads one at a time, and each Firestore call as a bare call of its method).
The emulators' JVMs compile with C1 alone, and alerts are handled unmeasured until their JIT has
settled (WARM_BLOCK, JIT_SETTLED, EMULATOR_JIT: docs/performance.md, "The Firestore emulator's CPU").
The goal is a ratio, never an absolute: first write <= RATIO_GOAL x the floor. The run fails
only on a regression: more Firestore round trips than WAITED_ROUND_TRIPS before the write on the
handler's thread, or than INTENT_ROUND_TRIPS or CHECK_ROUND_TRIPS beside the gate's commit, more
than FRESH_DUPLICATE_ROUND_TRIPS for a duplicate this instance does not remember, or any for one
it remembers (counts: exact on any machine); or, when the machine was not overloaded (load
average under its core count), CONCURRENCY_REGRESSION, CPU_REGRESSION or RATIO_REGRESSION.
On a machine running far more work than it has cores, concurrency cannot help and the timing
ratios only measure the neighbours: they are printed, and not judged.

The duplicate deliveries (a remembered one and a fresh instance's) are measured too, as on_alert
hands them over, with a bare BatchGetDocuments of the same documents and a bare Publish of the
same outcome as references in the same run (`_duplicates`); `--duplicates` measures only them.

    .venv/bin/python bench/alert_path.py [--runs 15]
    .venv/bin/python bench/alert_path.py --duplicates --runs 20
    .venv/bin/python bench/alert_path.py --duplicates --warm-own --runs 20   # the code's own CPU, warm and in place
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RATIO_GOAL = 1.5         # the goal: first write within 1.5x the sequential round trips
# Fails only on a regression of a ratio measured in this run, and only on a machine that was not
# overloaded:
# - concurrent evidence no faster than reading one call at a time (CONCURRENCY_REGRESSION);
# - this process's CPU until the write against the same calls made bare (CPU_REGRESSION): what
#   is beyond them is Runwarden's own. 1.14-1.78x in eight runs at load 7-15 on 2 cores (no calm
#   machine was to be had); 2-6 ms of 14-20. 2.0x is Runwarden's own share doubled. This is the
#   judge of the handler's CPU, and it does not move with the emulators' or the stand-ins' CPU;
# - the first write against its floor (RATIO_REGRESSION), the catch-all. It was 7.46x on a calm
#   machine (load 1.1) before the emulators' JIT was settled and kept apart, and failed the 7.0x
#   set here as an estimate: the Firestore emulator spent 54-68 ms of CPU per alert until the
#   write, on the same two cores, most of it its JIT still compiling (docs/performance.md, "The
#   Firestore emulator's CPU").
#   With them settled, 4.06-5.77x at load 7-15, where the code before gave 7.33-11.78x in
#   alternate runs; below the limit unchanged. The floor itself is the local round trips, whose
#   cost here is the emulators' CPU: the bench prints the cores' bound (every local process's
#   CPU until the write, spread over the cores), 1.9-2.4x the floor in those runs, so the 1.5x
#   goal cannot be met on this machine whatever the handler does.
# A lost round-trip saving fails the exact count checks below, on any machine.
CONCURRENCY_REGRESSION = 1.15
CPU_REGRESSION = 2.0
RATIO_REGRESSION = 7.0
# The round trips the handler waits for before its first write, and a duplicate's on an instance
# that does not remember the incident (tests/integration/test_round_trips.py).
WAITED_ROUND_TRIPS = 2
# Beside the gate's commit, each on a thread of its own: the intent's create (one commit; read only
# when one is found) and the check right before the write (one batched read).
INTENT_ROUND_TRIPS = 1
CHECK_ROUND_TRIPS = 1
# The emulators are JVMs: their JIT compilers go on compiling the emulator's code for hundreds of
# alerts after start, and the Firestore emulator's compiler threads spent more CPU per alert than
# its request threads for the first hundred or so (docs/performance.md, "The Firestore emulator's
# CPU: its JIT, still compiling"). Production Firestore spends none of it on the function's cores.
# So alerts are handled, unmeasured, in blocks of WARM_BLOCK until the emulators' compiler threads
# spend under JIT_SETTLED per alert over a block, or `--warm` alerts have been handled; what is left
# of their compiling is printed apart.
WARM_BLOCK = 20
WARM_ALERTS = 200
JIT_SETTLED = 0.003
# And the emulators' JVMs compile with C1 alone (HotSpot's -XX:TieredStopAtLevel=1, passed in
# JAVA_TOOL_OPTIONS, which every JVM reads at start): measured on the Firestore emulator, C2 took
# most of the compiling CPU (24-34 ms per alert over the first 150 alerts, still 5-12 ms after 600),
# while with C1 alone the compiling fell under 2 ms per alert within about 120 and its request
# threads' CPU per alert stayed the same (about 13 ms early, 8-9 later, with either). The emulators
# stand for Google's servers, whose compilers spend nothing on the function's cores. `--emulator-jit
# tiered` keeps the JVM's default.
EMULATOR_JIT = {"c1": "-XX:TieredStopAtLevel=1", "tiered": ""}
# The floor's bare round trips, made between the measured alerts (each method, this many times per
# pair of alerts), so that they meet the emulator as warm as the alerts do.
BARE_PER_RUN = 3
FRESH_DUPLICATE_ROUND_TRIPS = 1
# A duplicate delivery's CPU: the goal (issue 13), and a regression limit on the ratio of a fresh
# duplicate's CPU to its two bare calls (the BatchGetDocuments of the same documents and the Publish
# of the same outcome, raw stub calls in the same run): 2.55-2.84x before the duplicate path's
# decoding and parsing were cut, 2.27-2.33x after (load average 3.1-5.2 on 2 cores), 2.07-2.24x after
# the publish's wrappers, the read's sixth document and SETTLED's copies (load 1.7-15; docs/
# performance.md, "A duplicate's CPU, part by part"). Judged only below a load of one per core.
DUPLICATE_CPU_GOAL = 0.002
DUPLICATE_CPU_REGRESSION = 2.8
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


class _FirstWrite:
    """The Run adapter, noting when the first write is sent and the Firestore calls made by then."""

    def __init__(self, run: Any, counter: Any) -> None:
        self.run, self.counter, self.at, self.cpu_at = run, counter, None, 0.0
        self.probe: Callable[[], Any] = lambda: None   # read when the first write is sent
        self.probed: Any = None
        self.probe_wall = self.probe_cpu = 0.0   # what reading `probe` took, inside the timed window
        self.state_calls, self.ahead_calls, self.check_calls, self.intent_calls = {}, {}, {}, {}
        self.incident_calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.run, name)

    def set_traffic(self, *args: Any, **kwargs: Any) -> Any:
        if self.at is None:   # the first write of this alert, not the bench's restore
            self.at = time.perf_counter()
            self.cpu_at = time.process_time()
            self.state_calls = dict(self.counter.by_thread("MainThread"))
            self.ahead_calls = dict(self.counter.by_thread("read-ahead"))
            self.incident_calls = dict(self.counter.by_thread("incident-actions"))
            self.check_calls = dict(self.counter.by_thread("gate-check"))
            self.intent_calls = dict(self.counter.by_thread("gate-intent"))
            self.probed = self.probe()
            self.probe_wall = time.perf_counter() - self.at
            self.probe_cpu = time.process_time() - self.cpu_at
        return self.run.set_traffic(*args, **kwargs)


_SINK: Any = None



class RecordedDuplicate:
    """A fresh duplicate's two calls (the settled read and the outcome's publish), made once for real
    with their answers kept, so that the same delivery can then run answered from memory: what
    Runwarden itself spends, without the calls. `fresh` handles the delivery on `adapters` once."""

    def __init__(self, adapters: Any, fresh: Callable[[], Any]) -> None:
        self.fresh = fresh
        self.wire = adapters.state._wired()
        self.publish_wire = adapters.publisher._wire(adapters.publisher._publisher())
        self.real_read, self.real_publish = self.wire._batch_get, self.publish_wire._stub
        self.kept: dict[str, Any] = {}
        self.wire._batch_get, self.publish_wire._stub = self._read_kept, self._publish_kept
        try:
            self.real = fresh()
        finally:
            self._restore()
        self.answered = self.from_memory()
        assert (self.answered.status, self.answered.reason, self.answered.target) == (
            self.real.status, self.real.reason, self.real.target)

    def _read_kept(self, request: Any, **kwargs: Any) -> Any:
        self.kept["read"] = (request, list(self.real_read(request, **kwargs)))
        return iter(self.kept["read"][1])

    def _publish_kept(self, request: Any, **kwargs: Any) -> Any:
        self.kept["publish"] = (request, self.real_publish(request, **kwargs))
        return self.kept["publish"][1]

    def _restore(self) -> None:
        self.wire._batch_get, self.publish_wire._stub = self.real_read, self.real_publish

    def from_memory(self) -> Any:
        """The delivery again, its two calls answered with the kept answers."""
        self.wire._batch_get = lambda request, **kwargs: iter(self.kept["read"][1])
        self.publish_wire._stub = lambda request, **kwargs: self.kept["publish"][1]
        try:
            return self.fresh()
        finally:
            self._restore()


def _quiet(fn: Callable[[], Any]) -> Any:
    """Runs fn with the timeline's stdout lines written to /dev/null (still encoded, written and
    flushed, line by line, as to the function's stdout). The sink is opened once: opening it per
    delivery cost this process CPU that no function spends."""
    global _SINK
    if _SINK is None:
        _SINK = open(os.devnull, "w")
    with contextlib.redirect_stdout(_SINK):
        return fn()


def _round_trips(calls: dict[str, int], round_trip: dict[str, float]) -> float:
    """`calls` (method: count) made one after another, each taking its method's `round_trip`."""
    return sum(count * round_trip[method] for method, count in calls.items())


def _floor(phase1: float, phase2: float, round_trip: dict[str, float], handler: dict[str, int],
           ahead: dict[str, int], check: dict[str, int], intent: dict[str, int],
           incident: dict[str, int]) -> tuple[float, float]:
    """The round trips a first write must wait for one after another (the module's docstring, the
    floor): (the evidence's critical path, the state's). `phase1`, `phase2`: the slowest read of each
    evidence round; `handler`, `ahead`, `check`, `intent`: the Firestore calls made by then on the
    handler's thread, the read-ahead thread, the gate's check thread and its intent thread.

    The read-ahead starts with the evidence's first round (`_ReadAhead`, made before
    `diagnose_service`): its calls, one after the other, run beside both rounds. The check and the
    intent's store run while the gate's commit (the handler's) is in flight: the longer of them
    adds only what it takes beyond that commit."""
    evidence = max(phase1 + phase2, _round_trips(ahead, round_trip), _round_trips(incident, round_trip))
    commit = round_trip["Commit"] * handler.get("Commit", 0)
    beside = max(_round_trips(check, round_trip), _round_trips(intent, round_trip))
    return evidence, _round_trips(handler, round_trip) + max(0.0, beside - commit)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _warm_emulators(first_write: Callable[[], float], jit: Callable[[], dict[int, int]],
                    most: int) -> tuple[int, float]:
    """Alerts handled in blocks of WARM_BLOCK until the emulators' JIT compiling (`jit`: their
    compiler threads' CPU so far, `jit_threads`) falls under JIT_SETTLED per alert over a block, or
    `most` alerts have been handled. Answers how many were, and the JIT's CPU per alert over the last block."""
    from bench.storm import jit_spent

    handled, per_alert = 0, 0.0
    while handled < most:
        start = jit()
        block = min(WARM_BLOCK, most - handled)
        for _ in range(block):
            first_write()
        handled += block
        per_alert = jit_spent(start, jit()) / block
        if per_alert < JIT_SETTLED:
            break
    return handled, per_alert


def _median(fn: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15,
                        help="first writes per order (concurrent, sequential); duplicates: 8x this many of each kind")
    parser.add_argument("--warm", type=int, default=WARM_ALERTS,
                        help="at most this many alerts handled before measuring, while the emulators' JIT compiles")
    parser.add_argument("--emulator-jit", choices=sorted(EMULATOR_JIT), default="c1",
                        help="the emulators' JIT: C1 alone (default: steady within a warm-up) or the JVM's tiered default")
    parser.add_argument("--duplicates", action="store_true",
                        help="only the duplicate deliveries (after one first write), with their references")
    parser.add_argument("--warm-own", action="store_true",
                        help="with --duplicates: a fresh duplicate's own CPU, its two calls answered from memory, "
                             "warm and interleaved with the real calls (_warm_own)")
    args = parser.parse_args()

    import shared.diagnosis.collection as collection
    from sandbox.emulators import start_firestore, start_pubsub
    from sandbox.rpc_count import CountingStateStore, RpcCounter
    from bench.storm import compiler_threads, cpu_seconds, group, jit_spent, jit_threads, thread_ticks
    from sandbox.scenarios import resolve_scenario
    from shared.clock import FixedClock
    from shared.config import parse_config
    from sandbox.standins.run import RUNWARDEN_CALLER
    from shared.gcp.identity import with_own_principal
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.pubsub import PubSubPublisher
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter
    from shared.pipeline import Adapters, handle_alert, handle_delivery

    project = "bench-alert"
    scenario = resolve_scenario("bad_revision")
    service = scenario.service_name(scenario.services[0].name)
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    env_queue, stop, received = spawn.Queue(), spawn.Event(), spawn.Value("d", 0.0)
    server = spawn.Process(target=_serve_standins, args=(scenario.name, env_queue, stop, received), daemon=True)
    server.start()   # the stand-ins in a process of their own, as Google's APIs are: no shared GIL
    standin_env = env_queue.get(timeout=60)
    if EMULATOR_JIT[args.emulator_jit]:
        os.environ["JAVA_TOOL_OPTIONS"] = EMULATOR_JIT[args.emulator_jit]   # read by the emulators' JVMs alone
    with start_firestore(project) as firestore, start_pubsub(project) as pubsub:
        os.environ.update(firestore.env() | pubsub.env() | standin_env)
        topic = pubsub.ensure_topic("outcomes")
        config = parse_config({"project": project, "mode": "enforce", "outcomes_topic": topic,
                               "services": [{"name": service}]})
        # As the deployed function runs it (functions/runtime.py): its own account's writes (the stand-in's
        # RUNWARDEN_CALLER) are Runwarden's, not a change under it that nobody can explain.
        config = with_own_principal(config, RUNWARDEN_CALLER)
        counter = RpcCounter()
        run = _FirstWrite(CloudRunAdapter(poll_initial_delay=0.01, poll_max_delay=0.05), counter)
        adapters = Adapters(run=run, monitoring=CloudMonitoringAdapter(), publisher=PubSubPublisher(),
                            state=CountingStateStore(counter, project), clock=FixedClock(T0 + timedelta(minutes=2)),
                            logging=CloudLoggingAdapter(), vpcaccess=VpcAccessAdapter())
        original = run.get_service(service).traffic

        def alert_event() -> dict[str, Any]:
            notification = scenario.notification(T0, incident_id=f"0.{uuid.uuid4().hex[:12]}")
            return {"message": {"data": base64.b64encode(json.dumps(notification).encode()).decode(),
                                "messageId": uuid.uuid4().hex}}

        # The other processes on the machine's cores: their CPU while an alert is handled (read from
        # /proc, in clock ticks: summed over the runs, then divided).
        others = {"stand-ins": [server.pid], "Firestore emulator": group(firestore.pgid),
                  "Pub/Sub emulator": group(pubsub.pgid)}
        others_cpu: dict[str, float] = dict.fromkeys(others, 0.0)
        others_before_write: dict[str, float] = dict.fromkeys(others, 0.0)
        # The emulators' JIT compiling, apart: their share of the CPU above, until the write and in all.
        jvms = {name: pids for name, pids in others.items() if "emulator" in name}
        jit_cpu: dict[str, float] = dict.fromkeys(jvms, 0.0)
        jit_before_write: dict[str, float] = dict.fromkeys(jvms, 0.0)
        # Read at the write, inside the timed window: only files found before the alert (`compiler`).
        compiler: dict[str, dict[int, Path]] = {}
        run.probe = lambda: ({name: cpu_seconds(pids) for name, pids in others.items()},
                             {name: thread_ticks(compiler[name]) for name in jvms})

        def first_write() -> float:
            firestore.reset()
            counter.reset()
            run.at = None
            received.value = 0.0
            event = alert_event()
            before = {name: cpu_seconds(pids) for name, pids in others.items()}
            compiler.update({name: compiler_threads(pids) for name, pids in jvms.items()})
            jit_at = {name: thread_ticks(compiler[name]) for name in jvms}
            start, start_cpu = time.perf_counter(), time.process_time()
            outcome = _quiet(lambda: handle_alert(event, config, adapters))
            cpu_first.append(time.process_time() - start_cpu - run.probe_cpu)
            probed, jit_probed = run.probed
            for name, pids in others.items():
                others_cpu[name] += cpu_seconds(pids) - before[name]
                others_before_write[name] += probed[name] - before[name]
            for name, pids in jvms.items():
                jit_cpu[name] += jit_spent(jit_at[name], jit_threads(pids))
                jit_before_write[name] += jit_spent(jit_at[name], jit_probed[name])
            cpu_before.append(run.cpu_at - start_cpu)
            called.append(run.at - start)
            assert outcome.status.value == "applied", outcome.reason
            assert received.value > start, "the stand-in did not stamp the write"
            elapsed = received.value - start - run.probe_wall   # the bench's own reading is not the handler's
            run.set_traffic(service, original, run.get_service(service).etag)   # back to the incident
            return elapsed

        cpu_first: list[float] = []
        cpu_before: list[float] = []
        called: list[float] = []
        first_write()   # warm: clients built, channels open

        def reset_figures() -> None:
            for figures in (others_cpu, others_before_write, jit_cpu, jit_before_write):
                figures.update(dict.fromkeys(figures, 0.0))
            del cpu_first[:], cpu_before[:], called[:]

        if not args.duplicates:
            warmed, jit_left = _warm_emulators(first_write, lambda: jit_threads(sum(jvms.values(), [])),
                                               args.warm)
            print(f"warm-up: {warmed} alerts handled before measuring; the emulators' JIT compiling "
                  f"{jit_left * 1000:.1f} ms per alert in the last {WARM_BLOCK}")
        reset_figures()
        if args.duplicates and args.warm_own:
            firestore.reset()
            _warm_own(handle_delivery, alert_event, config, adapters, project, args.runs)
            stop.set()
            server.join(timeout=10)
            return 0
        if args.duplicates:
            firestore.reset()
            duplicates = _duplicates(handle_delivery, alert_event, config, adapters, counter, project, topic,
                                     args.runs)
            stop.set()
            server.join(timeout=10)
            return _judge_duplicates(duplicates)
        state_calls, ahead_calls, incident_calls = run.state_calls, run.ahead_calls, run.incident_calls
        check_calls, intent_calls = run.check_calls, run.intent_calls
        state = adapters.state
        bare = {"BatchGetDocuments": lambda: state.get_record("bench", "missing"),
                "RunQuery": lambda: state.find_records("bench", "field", "value", limit=1),
                "Commit": lambda: state.put_record("bench", uuid.uuid4().hex, {"field": "value"})}
        bare_rt: dict[str, list[float]] = {method: [] for method in bare}
        bare_cpu: dict[str, list[float]] = {method: [] for method in bare}
        rounds: dict[str, list[float]] = {"concurrent": [], "sequential": []}
        loads = [os.getloadavg()[0]]
        concurrent = collection.MAX_CONCURRENT_READS   # the product's own
        for _ in range(args.runs):   # interleaved, so a noisy neighbour slows both alike
            loads.append(os.getloadavg()[0])
            collection.MAX_CONCURRENT_READS = concurrent
            rounds["concurrent"].append(first_write())
            collection.MAX_CONCURRENT_READS = 1
            rounds["sequential"].append(first_write())
            # The floor's bare round trips, between the alerts: on the emulator as warm as the
            # alerts find it (its JIT), and under the same neighbours.
            for method, fn in bare.items():
                for _ in range(BARE_PER_RUN):
                    start_cpu = time.process_time()
                    bare_rt[method].append(_timed(fn))
                    bare_cpu[method].append(time.process_time() - start_cpu)
        collection.MAX_CONCURRENT_READS = concurrent

        firestore.reset()
        duplicates = _duplicates(handle_delivery, alert_event, config, adapters, counter, project, topic, args.runs)
        run.set_traffic(service, original, run.get_service(service).etag)
        publisher = adapters.publisher
        bare_publish = _median(lambda: publisher.publish(topic, b"{}", {}, ordering_key="bench"), 30)

        readers = adapters.readers()
        firestore_rt = {method: statistics.median(timings) for method, timings in bare_rt.items()}
        idle_cpu = _median_cpu(lambda: publisher.publish(topic, b"{}", {}, ordering_key="bench"), 30)
        read_ms, evidence_cpu = _bare_evidence_reads(readers, service, config.diagnosis)
        firestore_cpu = {method: statistics.median(timings) for method, timings in bare_cpu.items()}
    stop.set()
    server.join(timeout=10)
    phase1 = max(read_ms[k] for k in ("service", "revisions"))
    phase2 = max(v for k, v in read_ms.items() if k not in ("service", "revisions"))
    ahead, check, intent = (_round_trips(calls, firestore_rt) for calls in (ahead_calls, check_calls, intent_calls))
    evidence, state_floor = _floor(phase1, phase2, firestore_rt, state_calls, ahead_calls, check_calls, intent_calls,
                                   incident_calls)
    beside = _round_trips(incident_calls, firestore_rt)
    floor = evidence + state_floor
    concurrent, sequential = statistics.median(rounds["concurrent"]), statistics.median(rounds["sequential"])
    sum_all = sum(read_ms.values()) + ahead + beside + check + intent + _round_trips(state_calls, firestore_rt)
    print("bare Firestore round trips on the handler's thread before the write: " + ", ".join(
        f"{state_calls.get(m, 0)} x {m} {firestore_rt[m] * 1000:.1f} ms" for m in firestore_rt)
          + f"; beside the gate's commit: the check {check_calls} = {check * 1000:.1f} ms, the intent's store "
          f"{intent_calls} = {intent * 1000:.1f} ms; waited for one after another: {state_floor * 1000:.1f} ms")
    print(f"bare evidence reads: {len(read_ms)} summing {sum(read_ms.values()) * 1000:.1f} ms, two rounds "
          f"{(phase1 + phase2) * 1000:.1f} ms; beside them, read ahead: {ahead_calls} = {ahead * 1000:.1f} ms, "
          f"the incident's action records: {incident_calls} = {beside * 1000:.1f} ms; "
          f"the evidence's critical path {evidence * 1000:.1f} ms")
    print(f"sum of every round trip, one after another   {sum_all * 1000:6.1f} ms")
    print(f"floor (sequential round trips only)          {floor * 1000:6.1f} ms")
    print(f"warm alert -> first write, sequential reads  {sequential * 1000:6.1f} ms  ({sequential / floor:.2f}x floor)")
    print(f"warm alert -> first write, concurrent reads  {concurrent * 1000:6.1f} ms  ({concurrent / floor:.2f}x floor)")
    print(f"CPU of this process per first write (whole handling): {statistics.median(cpu_first) * 1000:.1f} ms; "
          f"before set_traffic is called: {statistics.median(cpu_before) * 1000:.1f} ms; set_traffic called "
          f"{statistics.median(called) * 1000:.1f} ms after the alert (median over both orders)")
    handled = len(cpu_first)
    for label, spent, jit, mine in (("whole handling", others_cpu, jit_cpu, statistics.fmean(cpu_first)),
                                    ("until the first write is sent", others_before_write, jit_before_write,
                                     statistics.fmean(cpu_before))):
        total = mine + sum(spent.values()) / handled
        print(f"CPU of every process per alert ({label}): this one {mine * 1000:.1f} ms, " + ", ".join(
            f"{name} {seconds / handled * 1000:.1f} ms"
            + (f" (its JIT compiling {jit[name] / handled * 1000:.1f})" if name in jit else "")
            for name, seconds in spent.items())
              + f"; {total * 1000:.1f} ms in all, {total / (os.cpu_count() or 1) * 1000:.1f} ms of wall time at "
              f"least on {os.cpu_count()} cores")
    # The machine's cores bound the wall time from below, whatever overlaps: every process's CPU
    # until the write, spread over all cores. With the local servers on the same cores, that bound
    # alone can exceed the goal, however little CPU the handler spends.
    bound = (statistics.fmean(cpu_before) + sum(others_before_write.values()) / handled) / (os.cpu_count() or 1)
    others_alone = sum(others_before_write.values()) / handled / (os.cpu_count() or 1)
    print(f"the cores' bound on the first write: {bound * 1000:.1f} ms = {bound / floor:.2f}x the floor; the local "
          f"servers' CPU alone: {others_alone * 1000:.1f} ms = {others_alone / floor:.2f}x (goal {RATIO_GOAL}x)")
    for kind in ("remembered", "fresh"):
        d = duplicates[kind]
        d_floor = sum(n * firestore_rt[m] for m, n in d["calls"].items()) + bare_publish
        print(f"duplicate delivery, {kind}: {d['calls'] or 'no Firestore call'} + 1 publish; wall "
              f"{d['wall'] * 1000:.1f} ms against {d_floor * 1000:.1f} ms of bare round trips "
              f"({d['wall'] / d_floor:.2f}x); CPU of this process {d['cpu'] * 1000:.2f} ms per delivery "
              f"(a bare publish alone, through the adapter: {idle_cpu * 1000:.2f} ms)")
    _print_duplicate_cpu(duplicates)
    # This process's CPU until the write, against the same calls made bare in this run: the 12
    # evidence reads one at a time through the same adapters, and each Firestore call made by then
    # (on every thread) as a bare call of its method. What is beyond them is Runwarden's own: the
    # parsing, the state's decoding, the diagnosis, the plan, the gate, the models, the timeline.
    calls_cpu = evidence_cpu + sum(count * firestore_cpu[method] for calls in
                                   (state_calls, ahead_calls, incident_calls, check_calls, intent_calls)
                                   for method, count in calls.items())
    own = statistics.median(cpu_before) / calls_cpu
    print(f"CPU of this process until the write, {statistics.median(cpu_before) * 1000:.1f} ms, against the same "
          f"calls made bare, {calls_cpu * 1000:.1f} ms (evidence {evidence_cpu * 1000:.1f} ms, Firestore "
          + ", ".join(f"{m} {firestore_cpu[m] * 1000:.2f} ms" for m in firestore_cpu)
          + f" each): {own:.2f}x (fails above {CPU_REGRESSION}x)")
    ratio, against_sequential = concurrent / floor, concurrent / sequential
    verdict = "meets" if ratio <= RATIO_GOAL else "misses"
    load, cores = max(loads), os.cpu_count() or 1
    judged = load < cores
    print(f"ratio first write / floor = {ratio:.2f}  ({verdict} the {RATIO_GOAL}x goal; fails above "
          f"{RATIO_REGRESSION}x)")
    print(f"ratio concurrent / sequential evidence = {against_sequential:.2f}  (fails above {CONCURRENCY_REGRESSION})")
    print(f"machine: load average up to {load:.1f} on {cores} cores during the run"
          + ("" if judged else ": overloaded, the timing ratios are not judged"))
    waited = sum(state_calls.values())
    failures = [f"{waited} Firestore round trips before the write (at most {WAITED_ROUND_TRIPS})"] * (
        waited > WAITED_ROUND_TRIPS)
    failures += [f"the intent's store made {intent_calls} beside the gate's commit (at most "
                 f"{INTENT_ROUND_TRIPS})"] * (sum(intent_calls.values()) > INTENT_ROUND_TRIPS)
    failures += [f"the check before the write made {check_calls} (at most {CHECK_ROUND_TRIPS})"] * (
        sum(check_calls.values()) > CHECK_ROUND_TRIPS)
    failures += _duplicate_failures(duplicates, judged)
    if judged:
        failures += [f"first write {ratio:.2f}x the floor"] * (ratio > RATIO_REGRESSION)
        failures += [f"CPU until the write {own:.2f}x its calls made bare"] * (own > CPU_REGRESSION)
        failures += [f"concurrent evidence {against_sequential:.2f}x sequential"] * (
            against_sequential > CONCURRENCY_REGRESSION)
    for failure in failures:
        print(f"REGRESSION: {failure}")
    return 1 if failures else 0


def _duplicates(handle_alert: Callable[..., Any], alert_event: Callable[[], dict[str, Any]], config: Any,
                adapters: Any, counter: Any, project: str, topic: str, runs: int) -> dict[str, Any]:
    """A duplicate delivery, handled as on_alert hands it over (`handle_delivery`: the delivery
    counted, the state store's faults labelled), again and again after the incident's write: on an instance that
    remembers the incident's completed action, and on a fresh one (a new memory before each
    delivery, and no document id cached: an instance that does not remember the incident has not
    read its documents either). Its Firestore round trips are counted at the channel (the counting
    store); its CPU (`time.process_time` of this process, which runs nothing else meanwhile) is
    taken on the product's own store, as deployed, with no counting interceptor on its channel.
    Interleaved, run by run, with the references: a bare BatchGetDocuments of the very documents
    the fresh duplicate reads, and a bare Publish of its very outcome, each the raw stub call on the
    adapter's own channel and metadata (what gRPC and the protobuf runtime cost for those two
    calls, with nothing of Runwarden's around them)."""
    from dataclasses import replace

    from shared.gcp.firestore import FirestoreStateStore, document_id
    from shared.remediation.settled import SettledIncidents

    event = alert_event()
    assert _quiet(lambda: handle_alert(event, config, adapters)).status.value == "applied"
    calls: dict[str, dict[str, int]] = {}
    for kind in ("remembered", "fresh"):
        for _ in range(3):
            if kind == "fresh":
                adapters.settled = SettledIncidents()
            counter.reset()
            assert _quiet(lambda: handle_alert(event, config, adapters)).status.value == "skipped"
            calls[kind] = dict(counter.by_method())

    plain = replace(adapters, state=FirestoreStateStore(project), settled=SettledIncidents())
    wire = plain.state._wired()
    read: dict[str, Any] = {}
    batch_get = wire.batch_get

    def noted(names: Any, timeout: float) -> Any:
        read["names"] = list(names)
        return batch_get(names, timeout)

    wire.batch_get = noted
    sent: dict[str, Any] = {}
    publish = plain.publisher.publish

    def kept(topic: str, data: bytes, attributes: dict[str, str], ordering_key: str = "") -> str:
        sent.update(data=data, attributes=attributes, ordering_key=ordering_key)
        return publish(topic, data, attributes, ordering_key=ordering_key)

    plain.publisher.publish = kept
    try:
        assert _quiet(lambda: handle_alert(event, config, plain)).status.value == "skipped"   # warm
    finally:
        wire.batch_get = batch_get
        del plain.publisher.publish
    publish_wire = plain.publisher._wire(plain.publisher._publisher())
    bare_read = wire.batch_get_request(read["names"])
    bare_outcome = publish_wire.request(topic, sent["data"], sent["attributes"], sent["ordering_key"])
    publish_metadata = publish_wire.metadata(topic)

    def fresh() -> Any:
        plain.settled = SettledIncidents()
        document_id.cache_clear()
        return handle_alert(event, config, plain)

    kinds: dict[str, Callable[[], Any]] = {
        "fresh": lambda: _quiet(fresh),
        "remembered": lambda: _quiet(lambda: handle_alert(event, config, plain)),
        "bare BatchGetDocuments": lambda: list(wire._batch_get(bare_read, timeout=10.0,
                                                               metadata=wire._database_metadata)),
        "bare Publish": lambda: publish_wire._stub(bare_outcome, timeout=10.0, metadata=publish_metadata),
    }
    wall: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    own_thread: dict[str, list[float]] = {kind: [] for kind in kinds}
    loads = []
    for i in range(runs * 8):
        if i % 20 == 0:
            loads.append(os.getloadavg()[0])
        for kind, deliver in kinds.items():
            start, start_cpu, start_thread = time.perf_counter(), time.process_time(), time.thread_time()
            deliver()
            own_thread[kind].append(time.thread_time() - start_thread)
            cpu[kind].append(time.process_time() - start_cpu)
            wall[kind].append(time.perf_counter() - start)
    # The process's CPU is the calling thread's (time.thread_time) plus what gRPC's own threads spent
    # meanwhile (its event engine reads the sockets on threads of its own; nothing else of this
    # process runs during a delivery: the read-ahead and evidence pools idle on a duplicate).
    out: dict[str, Any] = {kind: {"wall": statistics.median(wall[kind]), "cpu": statistics.median(cpu[kind]),
                                  "cpu_p90": statistics.quantiles(cpu[kind], n=10)[-1],
                                  "thread": statistics.median(own_thread[kind]),
                                  "other_threads": statistics.median(
                                      [c - t for c, t in zip(cpu[kind], own_thread[kind])])} for kind in kinds}
    for kind in ("remembered", "fresh"):
        out[kind]["calls"] = calls[kind]
    out["documents"] = len(read["names"])
    out["outcome_bytes"] = len(sent["data"])
    out["load"] = max(loads)
    return out


def _warm_own(handle_alert: Callable[..., Any], alert_event: Callable[[], dict[str, Any]], config: Any,
              adapters: Any, project: str, runs: int) -> None:
    """Runwarden's own CPU on a fresh duplicate, told from what running it between two network waits
    costs. The delivery is handled as in `_duplicates`, with its two calls (the BatchGetDocuments
    and the Publish, raw stub calls on the product's own channels) answered from memory: the answers
    a real delivery just received, kept as the client decoded them. Timed 150 x `runs` times in a
    row (warm: nothing else runs between deliveries), then interleaved, delivery by delivery, with
    a bare BatchGetDocuments, a bare Publish and a real fresh duplicate; then again, each after
    sleeping as long as a real one waits (the same instructions after a wake-up). Informational: nothing is
    judged. The memory-answered delivery must end as the real one does (checked)."""
    from dataclasses import replace

    from shared.gcp.firestore import FirestoreStateStore, document_id
    from shared.remediation.settled import SettledIncidents

    event = alert_event()
    assert _quiet(lambda: handle_alert(event, config, adapters)).status.value == "applied"
    plain = replace(adapters, state=FirestoreStateStore(project), settled=SettledIncidents())

    def fresh() -> Any:
        plain.settled = SettledIncidents()
        document_id.cache_clear()
        return _quiet(lambda: handle_alert(event, config, plain))

    recorded = RecordedDuplicate(plain, fresh)
    wire, publish_wire, kept, from_memory = recorded.wire, recorded.publish_wire, recorded.kept, recorded.from_memory
    real_read, real_publish = recorded.real_read, recorded.real_publish
    bare_read, bare_outcome = kept["read"][0], kept["publish"][0]
    publish_metadata = publish_wire.metadata(bare_outcome.topic)
    kinds: dict[str, Callable[[], Any]] = {
        "own, its calls answered from memory": from_memory,
        "bare BatchGetDocuments": lambda: list(real_read(bare_read, timeout=10.0, metadata=wire._database_metadata)),
        "bare Publish": lambda: real_publish(bare_outcome, timeout=10.0, metadata=publish_metadata),
        "fresh": fresh,
    }
    loads = [os.getloadavg()[0]]
    warm = [_cpu(from_memory) for _ in range(runs * 150)]
    interleaved: dict[str, list[float]] = {kind: [] for kind in kinds}
    waits: list[float] = []   # how long each real fresh duplicate waited for its calls: wall less CPU
    for i in range(runs * 8):
        if i % 20 == 0:
            loads.append(os.getloadavg()[0])
        for kind, deliver in kinds.items():
            start = time.perf_counter()
            interleaved[kind].append(_cpu(deliver))
            if kind == "fresh":
                waits.append(max(0.0, time.perf_counter() - start - interleaved[kind][-1]))
    # Then the memory-answered delivery again, each time after this process slept (untimed) as long
    # as a real one waits, with nothing run in between: what the machine's wake-up costs the same
    # instructions, without the real calls.
    idle = statistics.median(waits)
    after_idle = []
    for _ in range(runs * 8):
        time.sleep(idle)
        after_idle.append(_cpu(from_memory))
    cpu = {kind: statistics.median(times) for kind, times in interleaved.items()}
    rest = cpu["fresh"] - sum(cpu[kind] for kind in kinds if kind != "fresh")
    print(f"a fresh duplicate ({len(bare_read.documents)} documents), CPU per delivery, medians:")
    print(f"  Runwarden's own, its two calls answered from memory, {len(warm)} in a row (warm): "
          f"{statistics.median(warm) * 1000:.2f} ms")
    print(f"  the same, each after sleeping as long as a real one waits ({idle * 1000:.1f} ms), "
          f"{len(after_idle)}: {statistics.median(after_idle) * 1000:.2f} ms")
    for kind, seconds in cpu.items():
        print(f"  interleaved: {kind}: {seconds * 1000:.2f} ms")
    print(f"  the real calls inside the delivery beyond the same calls bare (fresh - the other three): "
          f"{rest * 1000:.2f} ms")
    print(f"machine: load average up to {max(loads):.1f} on {os.cpu_count()} cores during the run")


def _cpu(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def _print_duplicate_cpu(d: dict[str, Any]) -> None:
    bare = d["bare BatchGetDocuments"]["cpu"] + d["bare Publish"]["cpu"]
    print(f"bare BatchGetDocuments of the fresh duplicate's {d['documents']} documents: CPU "
          f"{d['bare BatchGetDocuments']['cpu'] * 1000:.2f} ms; bare Publish of its outcome ({d['outcome_bytes']} "
          f"bytes): CPU {d['bare Publish']['cpu'] * 1000:.2f} ms; together {bare * 1000:.2f} ms")
    for kind, floor in (("fresh", bare), ("remembered", d["bare Publish"]["cpu"])):
        cpu = d[kind]["cpu"]
        verdict = "meets" if cpu <= DUPLICATE_CPU_GOAL else "misses"
        print(f"duplicate, {kind}: CPU {cpu * 1000:.2f} ms per delivery (p90 {d[kind]['cpu_p90'] * 1000:.2f} ms; "
              f"{verdict} the {DUPLICATE_CPU_GOAL * 1000:.0f} ms goal), {cpu / floor:.2f}x its bare calls "
              f"({floor * 1000:.2f} ms), Runwarden's own {(cpu - floor) * 1000:.2f} ms")
    print("of which on the calling thread / on gRPC's own threads (medians): "
          + "; ".join(f"{kind} {d[kind]['thread'] * 1000:.2f} / {d[kind]['other_threads'] * 1000:.2f} ms"
                      for kind in ("fresh", "remembered", "bare BatchGetDocuments", "bare Publish")))


def _duplicate_failures(d: dict[str, Any], judged: bool) -> list[str]:
    failures = [f"a remembered duplicate made {d['remembered']['calls']}"] * bool(d["remembered"]["calls"])
    failures += [f"a fresh duplicate made {d['fresh']['calls']} (at most {FRESH_DUPLICATE_ROUND_TRIPS} round trip)"
                 ] * (sum(d["fresh"]["calls"].values()) > FRESH_DUPLICATE_ROUND_TRIPS)
    ratio = d["fresh"]["cpu"] / (d["bare BatchGetDocuments"]["cpu"] + d["bare Publish"]["cpu"])
    if judged:
        failures += [f"a fresh duplicate's CPU {ratio:.2f}x its bare calls"] * (ratio > DUPLICATE_CPU_REGRESSION)
    return failures


def _judge_duplicates(d: dict[str, Any]) -> int:
    for kind in ("remembered", "fresh"):
        print(f"duplicate delivery, {kind}: {d[kind]['calls'] or 'no Firestore call'} + 1 publish; wall "
              f"{d[kind]['wall'] * 1000:.1f} ms")
    _print_duplicate_cpu(d)
    load, cores = d["load"], os.cpu_count() or 1
    judged = load < cores
    print(f"machine: load average up to {load:.1f} on {cores} cores during the run"
          + ("" if judged else ": overloaded, the CPU ratio is not judged"))
    failures = _duplicate_failures(d, judged)
    for failure in failures:
        print(f"REGRESSION: {failure}")
    return 1 if failures else 0


def _median_cpu(fn: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        timings.append(time.process_time() - start)
    return statistics.median(timings)


def _serve_standins(scenario: str, env_queue: Any, stop: Any, received: Any = None) -> None:
    """The scenario's stand-ins; `received` (a shared double) gets the moment the Run stand-in
    receives an UpdateService while it holds 0 (the bench zeroes it before each alert)."""
    from sandbox.scenarios import start_seeded

    with start_seeded(scenario, anchor=T0) as standins:
        if received is not None:
            faults = standins.run.faults
            ahead = faults.before_call   # called ahead of every handler (sandbox/standins/faults.py)

            def stamped(method: str, request: Any = None) -> Any:
                if method == "UpdateService" and received.value == 0.0:
                    received.value = time.perf_counter()
                return ahead(method, request)

            faults.before_call = stamped
        env_queue.put(standins.env())
        stop.wait()


def _bare_evidence_reads(readers: Any, service: str, settings: Any) -> tuple[dict[str, float], float]:
    """Each read of a collection timed alone (median), keyed like the evidence; and the CPU of this
    process per collection read so, one call at a time (median): the evidence's calls with none of
    the diagnosis, the state or the gate around them."""
    import shared.diagnosis.collection as collection

    timings: dict[str, list[float]] = {}
    original = collection._run_concurrently

    def one_by_one(calls: list[Callable[[], Any]]) -> list[tuple[Any, BaseException | None]]:
        out = []
        for i, call in enumerate(calls):
            start = time.perf_counter()
            out.append(collection._outcome(call))
            timings.setdefault(f"{len(calls)}:{i}", []).append(time.perf_counter() - start)
        return out

    collection._run_concurrently = one_by_one
    cpu = []
    try:
        for _ in range(15):
            start_cpu = time.process_time()
            collection.collect(service, T0, readers, settings, T0 + timedelta(minutes=2))
            cpu.append(time.process_time() - start_cpu)
    finally:
        collection._run_concurrently = original
    medians = {key: statistics.median(values) for key, values in timings.items()}
    # The first round has two calls (service, revisions); every other key is the second round.
    return ({("service" if k == "2:0" else "revisions" if k == "2:1" else k): v for k, v in medians.items()},
            statistics.median(cpu))


if __name__ == "__main__":
    sys.exit(main())
