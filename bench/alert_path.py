"""Warm alert -> first write, against the round trips that must be sequential, in the same run.

On the local stack (Firestore and Pub/Sub emulators, the API stand-ins, the real adapters) a
bad_revision alert is handled again and again on warm clients; each time, the first write is the
moment the Run stand-in receives UpdateService (stamped in the stand-ins' process on the
machine's monotonic clock, which `time.perf_counter` reads in every process: CLOCK_MONOTONIC on
Linux). The moment the gate calls set_traffic, and the CPU this process spent by then, are
printed too. In the same run:
  - the same path with evidence read one call at a time (MAX_CONCURRENT_READS = 1: the old way);
  - the floor: every Firestore round trip the handler waits for before the write (counted per
    method at the client's gRPC channel, on the handler's own thread) times that method's bare
    round trip (the gate's check before the write, read while its commit is in flight, adds what
    it takes beyond the commit), plus the evidence's critical path: the slowest of the first round of reads, then
    the slowest of the second round or of the state read meanwhile on the read-ahead thread
    (its query and batched read, one after the other), each timed alone.
Also printed: the CPU every other process on the machine (the stand-ins, both emulators) spends
per alert, read from /proc, and the bound it sets: all processes' CPU until the first write,
spread over the cores, is the earliest the write can come however the work overlaps.
The goal is a ratio, never an absolute: first write <= RATIO_GOAL x the floor. The run fails
only on a regression: more Firestore round trips than WAITED_ROUND_TRIPS before the write, more
than FRESH_DUPLICATE_ROUND_TRIPS for a duplicate this instance does not remember, or any for one
it remembers (counts: exact on any machine); or, when the machine was
not overloaded (load average under its core count), CONCURRENCY_REGRESSION or RATIO_REGRESSION.
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
# Fails only on a regression: concurrent evidence no faster than reading one call at a time (both
# measured in this run), or the floor ratio far beyond what is measured now. Since the gate takes
# everything in one commit, the floor is 3 Firestore round trips plus the evidence's critical path
# (about 15 ms on a quiet 2-vCPU machine), and the handler's own CPU sets the ratio: 6.2x measured
# quiet with 58 ms of CPU per first write. Firestore's calls on raw protobuf and a channel without
# spin threads, kept worker threads and a one-call publish took that CPU down by about a third
# (docs/performance.md, "The handler's own CPU"); they also made the floor's bare Firestore round
# trips cheaper, so the ratio falls less than the CPU: about 5x expected quiet (an estimate: the
# machine was loaded when this was set). 7.0 catches a CPU regression of about 30 % from there. A
# lost round-trip saving fails the exact count check below.
CONCURRENCY_REGRESSION = 1.15
RATIO_REGRESSION = 7.0
# The round trips the handler waits for before its first write, and a duplicate's on an instance
# that does not remember the incident (tests/integration/test_round_trips.py).
WAITED_ROUND_TRIPS = 3
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
        self.state_calls, self.ahead_calls, self.check_calls = {}, {}, {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.run, name)

    def set_traffic(self, *args: Any, **kwargs: Any) -> Any:
        if self.at is None:   # the first write of this alert, not the bench's restore
            self.at = time.perf_counter()
            self.cpu_at = time.process_time()
            self.state_calls = dict(self.counter.by_thread("MainThread"))
            self.ahead_calls = dict(self.counter.by_thread("read-ahead"))
            self.check_calls = dict(self.counter.by_thread("gate-check"))
            self.probed = self.probe()
        return self.run.set_traffic(*args, **kwargs)


_SINK: Any = None


def _quiet(fn: Callable[[], Any]) -> Any:
    """Runs fn with the timeline's stdout lines written to /dev/null (still encoded, written and
    flushed, line by line, as to the function's stdout). The sink is opened once: opening it per
    delivery cost this process CPU that no function spends."""
    global _SINK
    if _SINK is None:
        _SINK = open(os.devnull, "w")
    with contextlib.redirect_stdout(_SINK):
        return fn()


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
    parser.add_argument("--duplicates", action="store_true",
                        help="only the duplicate deliveries (after one first write), with their references")
    parser.add_argument("--warm-own", action="store_true",
                        help="with --duplicates: a fresh duplicate's own CPU, its two calls answered from memory, "
                             "warm and interleaved with the real calls (_warm_own)")
    args = parser.parse_args()

    import shared.diagnosis.collection as collection
    from sandbox.emulators import start_firestore, start_pubsub
    from sandbox.rpc_count import CountingStateStore, RpcCounter
    from bench.storm import cpu_seconds, group
    from sandbox.scenarios import resolve_scenario
    from shared.clock import FixedClock
    from shared.config import parse_config
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
    with start_firestore(project) as firestore, start_pubsub(project) as pubsub:
        os.environ.update(firestore.env() | pubsub.env() | standin_env)
        topic = pubsub.ensure_topic("outcomes")
        config = parse_config({"project": project, "mode": "enforce", "outcomes_topic": topic,
                               "services": [{"name": service}]})
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
        run.probe = lambda: {name: cpu_seconds(pids) for name, pids in others.items()}

        def first_write() -> float:
            firestore.reset()
            counter.reset()
            run.at = None
            received.value = 0.0
            event = alert_event()
            before = {name: cpu_seconds(pids) for name, pids in others.items()}
            start, start_cpu = time.perf_counter(), time.process_time()
            outcome = _quiet(lambda: handle_alert(event, config, adapters))
            cpu_first.append(time.process_time() - start_cpu)
            for name, pids in others.items():
                others_cpu[name] += cpu_seconds(pids) - before[name]
                others_before_write[name] += run.probed[name] - before[name]
            cpu_before.append(run.cpu_at - start_cpu)
            called.append(run.at - start)
            assert outcome.status.value == "applied", outcome.reason
            assert received.value > start, "the stand-in did not stamp the write"
            elapsed = received.value - start
            run.set_traffic(service, original, run.get_service(service).etag)   # back to the incident
            return elapsed

        cpu_first: list[float] = []
        cpu_before: list[float] = []
        called: list[float] = []
        first_write()   # warm: clients built, channels open
        others_cpu.update(dict.fromkeys(others, 0.0))
        others_before_write.update(dict.fromkeys(others, 0.0))
        del cpu_first[:], cpu_before[:], called[:]
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
        state_calls, ahead_calls, check_calls = run.state_calls, run.ahead_calls, run.check_calls
        rounds: dict[str, list[float]] = {"concurrent": [], "sequential": []}
        loads = [os.getloadavg()[0]]
        for _ in range(args.runs):   # interleaved, so a noisy neighbour slows both alike
            loads.append(os.getloadavg()[0])
            collection.MAX_CONCURRENT_READS = 6
            rounds["concurrent"].append(first_write())
            collection.MAX_CONCURRENT_READS = 1
            rounds["sequential"].append(first_write())
        collection.MAX_CONCURRENT_READS = 6

        firestore.reset()
        duplicates = _duplicates(handle_delivery, alert_event, config, adapters, counter, project, topic, args.runs)
        run.set_traffic(service, original, run.get_service(service).etag)
        publisher = adapters.publisher
        bare_publish = _median(lambda: publisher.publish(topic, b"{}", {}, ordering_key="bench"), 30)

        readers = adapters.readers()
        state = adapters.state
        bare = {"BatchGetDocuments": lambda: state.get_record("bench", "missing"),
                "RunQuery": lambda: state.find_records("bench", "field", "value", limit=1),
                "Commit": lambda: state.put_record("bench", uuid.uuid4().hex, {"field": "value"})}
        firestore_rt = {method: _median(fn, 30) for method, fn in bare.items()}
        idle_cpu = _median_cpu(lambda: publisher.publish(topic, b"{}", {}, ordering_key="bench"), 30)
        read_ms = _bare_evidence_reads(readers, service, config.diagnosis)
    stop.set()
    server.join(timeout=10)
    phase1 = max(read_ms[k] for k in ("service", "revisions"))
    phase2 = max(v for k, v in read_ms.items() if k not in ("service", "revisions"))
    ahead = sum(count * firestore_rt[method] for method, count in ahead_calls.items())
    # The check before the write is read while the gate's commit is in flight: it adds only what
    # it takes beyond the commit.
    check = sum(count * firestore_rt[method] for method, count in check_calls.items())
    state_floor = (sum(count * firestore_rt[method] for method, count in state_calls.items())
                   + max(0.0, check - firestore_rt["Commit"] * state_calls.get("Commit", 0)))
    floor = phase1 + max(phase2, ahead) + state_floor
    concurrent, sequential = statistics.median(rounds["concurrent"]), statistics.median(rounds["sequential"])
    sum_all = sum(read_ms.values()) + state_floor
    print("bare Firestore round trips the handler waits for before the write: " + ", ".join(
        f"{state_calls.get(m, 0)} x {m} {firestore_rt[m] * 1000:.1f} ms" for m in firestore_rt)
          + f" = {state_floor * 1000:.1f} ms")
    print(f"read ahead while the evidence is read: {ahead_calls} = {ahead * 1000:.1f} ms; read while the gate "
          f"commits: {check_calls} = {check * 1000:.1f} ms")
    print(f"bare evidence reads: {len(read_ms)} summing {sum(read_ms.values()) * 1000:.1f} ms, critical path "
          f"{(phase1 + phase2) * 1000:.1f} ms")
    print(f"sum of every round trip, one after another   {sum_all * 1000:6.1f} ms")
    print(f"floor (sequential round trips only)          {floor * 1000:6.1f} ms")
    print(f"warm alert -> first write, sequential reads  {sequential * 1000:6.1f} ms  ({sequential / floor:.2f}x floor)")
    print(f"warm alert -> first write, concurrent reads  {concurrent * 1000:6.1f} ms  ({concurrent / floor:.2f}x floor)")
    print(f"CPU of this process per first write (whole handling): {statistics.median(cpu_first) * 1000:.1f} ms; "
          f"before set_traffic is called: {statistics.median(cpu_before) * 1000:.1f} ms; set_traffic called "
          f"{statistics.median(called) * 1000:.1f} ms after the alert (median over both orders)")
    handled = len(cpu_first)
    for label, spent, mine in (("whole handling", others_cpu, statistics.fmean(cpu_first)),
                               ("until the first write is sent", others_before_write, statistics.fmean(cpu_before))):
        total = mine + sum(spent.values()) / handled
        print(f"CPU of every process per alert ({label}): this one {mine * 1000:.1f} ms, " + ", ".join(
            f"{name} {seconds / handled * 1000:.1f} ms" for name, seconds in spent.items())
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
    failures += _duplicate_failures(duplicates, judged)
    if judged:
        failures += [f"first write {ratio:.2f}x the floor"] * (ratio > RATIO_REGRESSION)
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
    wire = plain.state._wired()
    publish_wire = plain.publisher._wire(plain.publisher._publisher())
    real_read, real_publish = wire._batch_get, publish_wire._stub
    kept: dict[str, Any] = {}

    def read_kept(request: Any, **kwargs: Any) -> Any:
        kept["read"] = (request, list(real_read(request, **kwargs)))
        return iter(kept["read"][1])

    def publish_kept(request: Any, **kwargs: Any) -> Any:
        kept["publish"] = (request, real_publish(request, **kwargs))
        return kept["publish"][1]

    def fresh() -> Any:
        plain.settled = SettledIncidents()
        document_id.cache_clear()
        return _quiet(lambda: handle_alert(event, config, plain))

    def from_memory() -> Any:
        wire._batch_get = lambda request, **kwargs: iter(kept["read"][1])
        publish_wire._stub = lambda request, **kwargs: kept["publish"][1]
        try:
            return fresh()
        finally:
            wire._batch_get, publish_wire._stub = real_read, real_publish

    wire._batch_get, publish_wire._stub = read_kept, publish_kept
    try:
        real = fresh()
    finally:
        wire._batch_get, publish_wire._stub = real_read, real_publish
    answered = from_memory()
    assert (answered.status, answered.reason, answered.target) == (real.status, real.reason, real.target)
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

            def stamped(method: str) -> Any:
                if method == "UpdateService" and received.value == 0.0:
                    received.value = time.perf_counter()
                return ahead(method)

            faults.before_call = stamped
        env_queue.put(standins.env())
        stop.wait()


def _bare_evidence_reads(readers: Any, service: str, settings: Any) -> dict[str, float]:
    """Each read of a collection timed alone (median), keyed like the evidence."""
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
    try:
        for _ in range(15):
            collection.collect(service, T0, readers, settings, T0 + timedelta(minutes=2))
    finally:
        collection._run_concurrently = original
    medians = {key: statistics.median(values) for key, values in timings.items()}
    # The first round has two calls (service, revisions); every other key is the second round.
    return {("service" if k == "2:0" else "revisions" if k == "2:1" else k): v for k, v in medians.items()}


if __name__ == "__main__":
    sys.exit(main())
