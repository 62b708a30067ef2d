"""diagnose() on the LARGE case, the code before a change against the code after it, in the same run.

Two worker processes, one importing the code of a given commit (extracted with `git archive`), one
importing this tree's, each holding the same LARGE evidence (recorded once through the real adapters
and the stand-ins, handed to both as JSON). The driver asks them in turn, run by run, for one cold
diagnosis each (the per-text caches cleared first) and a third process, importing this tree, for one
reference pass (bench/diagnosis_speed.py's json pass), so load on the machine falls on all three
alike and no process's garbage counts fall on another's. Each answer is the CPU time of the
worker's thread and the garbage collections that ran inside it.

Both workers must reach the same diagnosis; the figures are printed as p50 / p90 / p99 of each.

    .venv/bin/python bench/diagnosis_before_after.py --before <commit> [--runs 300] [--wire]

Each line gives CPU p50 / p90 / p99, the best and the worst run, the share over 5 ms, the garbage
collections that started inside, and the p50 / p99 of the runs the kernel did not preempt. With
--wire, also the from-the-wire window and diagnose() alone on evidence just decoded (its texts'
hashes not yet computed, its objects fresh: the product's case).
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 5.0   # the goal: diagnose() within 5 ms p99 (docs/performance.md)


def worker(root: str, evidence: str) -> None:
    """Answers "d" (one cold diagnosis), "l" (its log part alone), "r" (one reference pass), "w" (one
    from-the-wire run: the captured answers parsed, decoded, diagnosed), "f" (the pass over those
    bytes) and "v" (diagnose() alone on evidence decoded from the wire just before, untimed) on
    stdin, one line each: CPU milliseconds, the generations of the collections that ran
    meanwhile, and how many times the kernel preempted the thread meanwhile (involuntary context
    switches): a preempted run comes back to cold caches, and those runs make the p99 tail."""
    sys.path.insert(0, root)
    import gc
    import resource
    import time

    import shared.gcp.logging  # noqa: F401  the modules the product process holds too (a like heap)
    import shared.gcp.monitoring  # noqa: F401
    from shared.config import DiagnosisSettings
    from shared.diagnosis.diagnose import diagnose
    from shared.diagnosis.evidence import EvidenceBundle

    bundle = EvidenceBundle.model_validate_json(Path(evidence).read_text())
    from bench.diagnosis_speed import Wire, plain_pass   # this code's own decoding of the captured answers

    wire = Wire(bundle, pickle.loads(Path(evidence).with_suffix(".wire").read_bytes()), 1000)
    wire_reference = wire.reference()
    settings = DiagnosisSettings(baseline_seconds=24 * 3600, max_log_entries=1000)
    reference = plain_pass(bundle)   # the json pass: decode the log entries, read every point once

    def forget() -> None:
        for name, module in list(sys.modules.items()):
            if name.startswith("shared.diagnosis") and module is not None:
                for value in vars(module).values():
                    if callable(getattr(value, "cache_clear", None)):
                        value.cache_clear()

    collected: list[int] = []
    gc.callbacks.append(lambda phase, info: collected.append(info["generation"]) if phase == "stop" else None)
    verdict = diagnose(bundle, settings).model_dump_json()
    print(json.dumps({"verdict": verdict, "root": str(Path(shared.__file__).parent.parent)}), flush=True)
    from shared.diagnosis.facts import LogIndex

    def logs() -> object:
        """The log part alone: the index every rule shares and the commonest warning texts (as the
        narrative asks for them)."""
        return LogIndex(bundle.logs.entries).top_error_texts(3)

    work = {"d": lambda: diagnose(bundle, settings), "l": logs, "r": reference,
            "w": lambda: diagnose(wire.evidence(), settings), "f": wire_reference}
    fresh: list = []
    work["v"] = lambda: diagnose(fresh.pop(), settings)
    for line in sys.stdin:
        what = line.strip()
        fn = work[what]
        forget()
        if what == "v":
            # diagnose() alone on evidence just decoded from the wire (untimed): the heap as the
            # product's is when its reads return, young generations full of the decoder's objects,
            # so a collection the diagnosis's own allocations set off is counted here.
            fresh.append(wire.evidence())
        collected.clear()
        switches = resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw
        started = time.thread_time()
        fn()
        ms = (time.thread_time() - started) * 1000
        preempted = resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw - switches
        print(json.dumps([ms, collected, preempted]), flush=True)


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * q) - 1)]


def _line(name: str, runs: list[tuple[float, list[int], int]]) -> str:
    ms = [t for t, _, _ in runs]
    gcs = [g for _, gens, _ in runs for g in gens]
    over = sum(t > GOAL_MS for t in ms) / len(ms)
    calm = [t for t, _, preempted in runs if not preempted]
    tail = (f"p50 {statistics.median(calm):6.2f} p99 {_quantile(calm, 0.99):6.2f} of the {len(calm)} not preempted"
            if calm else "every run preempted")
    return (f"  {name:24s} CPU p50 {statistics.median(ms):6.2f} ms  p90 {_quantile(ms, 0.9):6.2f}  "
            f"p99 {_quantile(ms, 0.99):6.2f}  best {min(ms):6.2f}  worst {max(ms):6.2f}  over {GOAL_MS:.0f} ms {over:4.0%} | collections "
            f"inside: gen0 {gcs.count(0)}, gen1 {gcs.count(1)}, gen2 {gcs.count(2)} (runs with one: "
            f"{sum(1 for _, g, _ in runs if g)}) | {tail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the commit whose code is 'before'")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--wire", action="store_true", help="also the from-the-wire window (bench/diagnosis_speed.py)")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from bench.diagnosis_speed import large_settings, record
    from bench.diagnosis_world import large_scenario_data
    from sandbox.scenarios import Scenario

    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        before.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive.stdout, check=True)
        evidence = Path(tmp) / "large.json"
        captured: dict = {}
        bundle = record(Scenario.model_validate(large_scenario_data()), large_settings()[0], wire=captured)
        # Fields at their defaults left out: an older tree's model may not know a field added since.
        evidence.write_text(bundle.model_dump_json(exclude_defaults=True))
        # The answers only, keyed (method, request bytes): the in-process adapters also keep the parsed
        # requests in the same dict, under ("parsed", method, bytes).
        evidence.with_suffix(".wire").write_bytes(pickle.dumps({k: v for k, v in captured.items()
                                                                if isinstance(k, tuple) and len(k) == 2}))

        env = {**os.environ, "PYTHONPATH": ""}
        workers = {name: subprocess.Popen([sys.executable, __file__, "--worker", str(root), str(evidence)],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
                   for name, root in (("before", before), ("after", ROOT), ("reference", ROOT))}
        hello = {name: json.loads(w.stdout.readline()) for name, w in workers.items()}
        assert hello["before"]["root"] == str(before) and hello["after"]["root"] == str(ROOT), hello
        assert hello["reference"]["verdict"] == hello["after"]["verdict"]
        same = hello["before"]["verdict"] == hello["after"]["verdict"]

        def ask(name: str, what: str) -> tuple[float, list[int], int]:
            w = workers[name]
            w.stdin.write(what + "\n")
            w.stdin.flush()
            ms, gens, preempted = json.loads(w.stdout.readline())
            return ms, gens, preempted

        times: dict[str, list[tuple[float, list[int], int]]] = {"before": [], "after": [], "reference": [],
                                                            "before logs": [], "after logs": [],
                                                            "before wire": [], "after wire": [], "wire reference": [],
                                                            "before fresh": [], "after fresh": []}
        load_at_start = os.getloadavg()[0]
        for _ in range(args.runs):   # interleaved: load on the machine falls on all alike
            times["before"].append(ask("before", "d"))
            times["after"].append(ask("after", "d"))
            times["reference"].append(ask("reference", "r"))
            times["before logs"].append(ask("before", "l"))
            times["after logs"].append(ask("after", "l"))
            if args.wire:
                times["before wire"].append(ask("before", "w"))
                times["after wire"].append(ask("after", "w"))
                times["wire reference"].append(ask("reference", "f"))
                times["before fresh"].append(ask("before", "v"))
                times["after fresh"].append(ask("after", "v"))
        for w in workers.values():
            w.stdin.close()
            w.wait()

    print(f"LARGE, diagnose() alone, {args.runs} cold runs each, interleaved; before = {args.before}; "
          f"load average {load_at_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print(_line(f"before ({args.before[:10]})", times["before"]))
    print(_line("after (this tree)", times["after"]))
    print(_line("json pass (reference)", times["reference"]))
    print(_line("  its log part, before", times["before logs"]))
    print(_line("  its log part, after", times["after logs"]))
    if args.wire:
        print("From the wire (parse + decode + diagnose), the same runs:")
        print(_line(f"before ({args.before[:10]})", times["before wire"]))
        print(_line("after (this tree)", times["after wire"]))
        print(_line("pass over the bytes", times["wire reference"]))
        print("diagnose() alone, each on evidence just decoded from the wire (the decoding untimed):")
        print(_line(f"before ({args.before[:10]})", times["before fresh"]))
        print(_line("after (this tree)", times["after fresh"]))
    b, a = (statistics.median(t for t, _, _ in times[k]) for k in ("before", "after"))
    r = statistics.median(t for t, _, _ in times["reference"])
    b99, a99, r99 = (_quantile([t for t, _, _ in times[k]], 0.99) for k in ("before", "after", "reference"))
    print(f"  after / before p50 {a / b:.2f}, p99 {a99 / b99:.2f}; after / json pass p50 {a / r:.2f}, "
          f"p99 {a99 / r99:.2f}; same diagnosis: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
