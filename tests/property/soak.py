"""`make soak`: the fast tier's invariants over 10^5 generated programs, on worker processes.

    python -m tests.property.soak [--programs 100000] [--workers N] [--seed S] [--batch 500] [--minutes M]
                                  [--keep-going] [--per-example 4]

The mix (tests/property/programs.py, `soak_samples`): every program is drawn by the fast tier's one
generator, and ends one of two ways. Nine in ten (`redelivered`) end as the fast tier's do: the
outage ends and the platform redelivers whatever raised, then check_all. One in ten
(`dead_lettered`, nominally; the share varies with the seed) has nothing redelivered: once
every lease has lapsed, one sweep must leave every write recorded or escalated, no intent open and
none reported twice (invariants.every_write_known), besides check_all. The summary gives the programs
and counterexamples of each ending.

Every batch is one hypothesis run of `--batch` programs seeded with `seed + batch number`, so any
batch can be run again alone (`--seed <batch seed> --programs <batch> --workers 1`). Workers take
batches in turn until the count is reached. The first counterexample stops the run: hypothesis
has shrunk it by then, and it is printed with its trace, its batch seed and hypothesis's
`@reproduce_failure` blob. With --keep-going, every batch runs (a batch ends at its first
counterexample, after shrinking it) and each distinct counterexample (by the invariants it
breaks) is printed once, with the seeds of every batch that found it. The summary gives the
count, programs per second of wall time and per CPU-second, which is what extrapolates from a
loaded machine. Exit status 1 on a counterexample.
"""
from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import queue
import random
import re
import resource
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

PROGRESS_SECONDS = 15


def default_workers() -> int:
    """One worker more than the cores this process may run on. A worker is not busy all the time:
    Runwarden's own code hands reads, the gate's check and its intent to its thread pools and waits
    for them (shared/workers.py), and every hand-off wakes a thread; with the stand-ins in process
    nothing overlaps those waits, so a worker kept about 82 % of a core (two workers, 166 % CPU on
    two idle cores, about 35 voluntary context switches per program). A third worker takes most of
    that idle share (158 % -> 173 % CPU), but three processes on two cores are preempted more: the
    gain measured was 0.94-1.19x, median 1.05x (docs/testing.md, Figures)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores + 1


@dataclass
class BatchResult:
    worker: int
    seed: int
    programs: int
    cpu: float                       # CPU seconds the worker spent on this batch
    counterexample: str = ""         # the shrunk example, its trace and hypothesis's report
    kinds: tuple[str, ...] = ()      # the shrunk example's ending and broken invariants, numbers left out
    endings: dict[str, int] = field(default_factory=dict)   # programs run, by ending (programs.VARIANTS)
    approvals: dict[str, int] = field(default_factory=dict)  # approve commands sent, by what they got

    @property
    def kind(self) -> str:
        return " / ".join(self.kinds)


# Programs drawn per hypothesis example. Each is drawn by the same strategy and run on a fresh world
# of its own, as with one per example; what changes is hypothesis's own cost per example (its
# choice tree, spans, mutations), about 2 ms, now shared by the group: generating a program cost
# 3.6 ms alone and 1.8 ms in fours (a quarter of a fast-tier program's CPU before). The group's
# programs run in order and the first that breaks an invariant fails the example; hypothesis then
# shrinks the group (the others to the simplest program, the failing one as before).
PER_EXAMPLE = 4


def run_batch(seed: int, size: int, per_example: int = PER_EXAMPLE) -> BatchResult:
    """`size` programs (in examples of `per_example`) from hypothesis seeded with `seed`; the shrunk
    counterexample if one fails."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis.errors import FlakyFailure
    from hypothesis import strategies as st
    from hypothesis.reporting import with_reporter

    from tests.property.fast import run_sample
    from tests.property.invariants import approval_mix, explain
    from tests.property.programs import soak_samples

    ran, failure, report, kinds, endings, approvals = [0], [""], io.StringIO(), [()], Counter(), Counter()

    per_example = max(1, min(per_example, size))

    @hypothesis_seed(seed)
    @settings(max_examples=-(-size // per_example), deadline=None, database=None, print_blob=True,
              phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
    @given(samples=st.lists(soak_samples(), min_size=per_example, max_size=per_example))
    def soak(samples: list[tuple[str, tuple[str, dict, list]]]) -> None:
        for ending, sample in samples:
            run, problems = run_sample(sample, ending)
            ran[0] += 1
            endings[ending] += 1
            approvals.update(approval_mix(run))
            if problems:
                failure[0] = explain(run, problems)   # the last one kept is the shrunk example's
                kinds[0] = (ending, *sorted({_kind(problem) for problem in problems}))
                raise AssertionError(failure[0])

    start = time.process_time()
    with with_reporter(lambda text: report.write(f"{text}\n")):
        try:
            soak()
        except AssertionError as exc:   # hypothesis attaches the falsifying example and its blob as notes
            notes = "\n".join(getattr(exc, "__notes__", []))
            failure[0] = f"{report.getvalue()}{notes}\n{failure[0] or exc}"
        except FlakyFailure as exc:   # it failed, then passed when replayed (threads racing): still a counterexample
            notes = "\n".join(getattr(exc, "__notes__", []))
            failure[0] = (f"{report.getvalue()}{notes}\nFLAKY (it did not fail again when replayed: the order of "
                          f"racing threads decides it)\n{failure[0] or exc}")
            kinds[0] = kinds[0] or ("flaky",)
        except Exception as exc:  # noqa: BLE001 - a program that crashed the harness (or raised past it) is a
            # counterexample too (hypothesis shrank it, as any error): raised out of the worker, it ended the
            # worker and the soak reported the batches it never ran as 0 counterexamples, exit 0.
            notes = "\n".join(getattr(exc, "__notes__", []))
            failure[0] = (f"{report.getvalue()}{notes}\nCRASH: {type(exc).__name__}: {exc}\n"
                          f"{''.join(traceback.format_exception(exc))}")
            kinds[0] = ("crash", type(exc).__name__)
    return BatchResult(0, seed, ran[0], time.process_time() - start, failure[0], kinds[0] if failure[0] else (),
                       dict(endings), dict(approvals))


def _kind(problem: str) -> str:
    """A broken invariant with what differs between runs left out: step numbers, counts, ids."""
    return re.sub(r"#\d+ [^:]*:|\d+", "N", re.sub(r"\b[0-9a-f]{12,}\b", "ID", problem))


def _worker(index: int, batches: Any, results: Any, keep_going: bool = False,
            per_example: int = PER_EXAMPLE) -> None:
    sys.stdout = open(os.devnull, "w")   # the timeline's step lines: one per step, not wanted here
    _quieter_gc()
    while True:
        try:
            seed, size = batches.get_nowait()
        except queue.Empty:
            return
        result = run_batch(seed, size, per_example)
        result.worker = index
        results.put(result)
        if result.counterexample and not keep_going:
            return


def _quieter_gc() -> None:
    """The worker's garbage collector: what the parent imported and warmed (modules, parsed
    scenarios, seeded stand-ins) is frozen out of its scans, and it collects less often (a
    program allocates some 10^5 objects, mostly freed by reference counting): about 1,200 collections
    per 1,000 programs become some 35, and the worker spends about a third less in them. Only the
    soak's processes: Runwarden's own settings are untouched."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    sizes = [args.batch] * (args.programs // args.batch) + ([args.programs % args.batch] if args.programs % args.batch else [])
    context = multiprocessing.get_context("fork")   # workers inherit the imports (seconds each otherwise)
    batches, results = context.Queue(), context.Queue()
    for number, size in enumerate(sizes):
        batches.put((seed + number, size))
    _warm_up()
    print(f"soak: {args.programs} programs in {len(sizes)} batches of {args.batch} ({args.per_example} per "
          f"hypothesis example), {args.workers} worker(s), seed {seed}", flush=True)
    started = time.perf_counter()
    workers = [context.Process(target=_worker, args=(i, batches, results, args.keep_going, args.per_example),
                               daemon=True)
               for i in range(args.workers)]
    for worker in workers:
        worker.start()
    done, cpu, failures, last_report, endings, approvals = 0, 0.0, [], started, Counter(), Counter()
    pending = len(sizes)
    deadline = started + args.minutes * 60 if args.minutes else float("inf")
    while pending and (args.keep_going or not failures) and time.perf_counter() < deadline:
        try:
            result: BatchResult = results.get(timeout=1)
        except queue.Empty:
            if not any(w.is_alive() for w in workers):
                break
            continue
        pending -= 1
        done, cpu = done + result.programs, cpu + result.cpu
        endings.update(result.endings)
        approvals.update(result.approvals)
        if result.counterexample:
            failures.append(result)
            if args.keep_going:
                print(f"soak: counterexample in batch seed {result.seed}: {result.kind}", flush=True)
        if time.perf_counter() - last_report >= PROGRESS_SECONDS:
            last_report = time.perf_counter()
            _progress(done, args.programs, last_report - started, cpu)
    lost = 0
    if pending and (args.keep_going or not failures):
        if time.perf_counter() >= deadline:
            print(f"soak: stopped after {args.minutes:g} min with {pending} batch(es) not finished", flush=True)
        else:   # every worker ended with batches left: one died (killed, or an error past run_batch)
            lost = pending
            print(f"soak: every worker ended with {pending} batch(es) not run: a worker died; not a pass", flush=True)
    for worker in workers:   # after a counterexample (or the time limit) the others stop mid-batch
        if worker.is_alive():
            worker.terminate()
        worker.join()
    elapsed = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"soak: {done} programs in {elapsed:.1f} s: {done / elapsed:.1f} programs/s "
          f"({done / max(cpu, 1e-9):.1f} per CPU-second of a worker; workers' CPU "
          f"{children.ru_utime + children.ru_stime:.0f} s), {len(failures)} counterexample(s), seed {seed}")
    print(_by_ending(endings, failures))
    print(_approvals(approvals))
    distinct: dict[str, list[BatchResult]] = {}
    for result in failures:
        distinct.setdefault(result.kind, []).append(result)
    if args.keep_going and failures:
        print(f"soak: {len(distinct)} distinct counterexample(s) (by the invariants they break); the first of each:")
    for result in (found[0] for found in distinct.values()):
        if len(distinct[result.kind]) > 1:
            print(f"\n({len(distinct[result.kind])} batches found this one: seeds "
                  f"{', '.join(str(r.seed) for r in distinct[result.kind])})")
        print(f"\nCOUNTEREXAMPLE (batch seed {result.seed}; run it alone: python -m tests.property.soak "
              f"--seed {result.seed} --programs {args.batch} --batch {args.batch} --workers 1"
              f"{'' if args.per_example == PER_EXAMPLE else f' --per-example {args.per_example}'}):\n"
              f"{result.counterexample}")
    return 1 if failures or lost else 0


def _by_ending(endings: Counter, failures: list[BatchResult]) -> str:
    """Programs run and batches that ended on a counterexample, by ending (shrinking's runs included)."""
    from tests.property.programs import VARIANTS

    found = Counter(result.kinds[0] for result in failures if result.kinds)
    return "soak: by ending: " + ", ".join(f"{name} {endings[name]} programs, {found[name]} counterexample(s)"
                                           for name in VARIANTS)


def _approvals(approvals: Counter) -> str:
    """Approve commands sent (steps, racing threads, resends; shrinking's runs included), by what each got."""
    from tests.property.invariants import APPROVAL_KINDS

    return (f"soak: approvals: {sum(approvals.values())} sent: "
            + ", ".join(f"{kind} {approvals[kind]}" for kind in APPROVAL_KINDS if approvals[kind]))


def _progress(done: int, total: int, elapsed: float, cpu: float) -> None:
    rate = done / elapsed if elapsed else 0.0
    eta = (total - done) / rate if rate else float("inf")
    print(f"soak: {done}/{total} programs, {rate:.1f}/s, {done / max(cpu, 1e-9):.1f} per CPU-second, "
          f"about {eta / 60:.0f} min left", flush=True)


def _warm_up() -> None:
    """Import and seed once in the parent, so that every forked worker starts warm."""
    from tests.property.fast import scenario_model, seeded_copy
    from tests.property.programs import SCENARIOS

    for scenario in SCENARIOS:
        scenario_model(scenario)
        for sustain in (None, 90):
            seeded_copy(scenario, sustain)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.property.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="worker processes (default: the cores plus one)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--per-example", type=int, default=PER_EXAMPLE,
                        help="programs drawn per hypothesis example (1: one each)")
    parser.add_argument("--minutes", type=float, default=0,
                        help="stop after this long (finished batches count), 0: no limit")
    parser.add_argument("--keep-going", action="store_true",
                        help="after a counterexample, run the other batches too, and print each distinct one once")
    args = parser.parse_args(argv)
    if args.programs < 1 or args.workers < 1 or args.batch < 1 or args.per_example < 1:
        parser.error("--programs, --workers, --batch and --per-example must be at least 1")
    return args


if __name__ == "__main__":
    sys.exit(main())
