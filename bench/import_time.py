"""Cold-start import cost: `import main` against `import functions_framework`.

Goal: `python -c "import main"` takes at most 1.5x as long as `python -c "import functions_framework"`.
Each command runs in a fresh interpreter, alternating, and the medians are compared. `import main`
is timed twice: plain, and as functions-framework imports it (FUNCTION_TARGET=on_alert), when it
also starts the instance warm-up thread (functions/runtime.py): that thread's imports share the
GIL with the rest of the import, and the goal holds for both.

`--breakdown` says where a scale-from-zero instance's start-up CPU goes, stage by stage, in fresh
interpreters (CPU time, `time.process_time`, so a busy machine inflates it less than wall time):
functions_framework, the rest of `import main`, the handler's own modules, each Google library the
adapters use (`shared/gcp/endpoints.py` CLIENT_LIBRARIES, in that order: a library shared with
an earlier one is counted once, at the first), and building the runtime (config, adapters; no client).

    .venv/bin/python bench/import_time.py [--runs 15] [--breakdown]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5


def time_import(statement: str, env: dict[str, str] | None = None) -> float:
    base = {k: v for k, v in os.environ.items() if k != "FUNCTION_TARGET"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True, env={**base, **(env or {})},
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


BREAKDOWN = r"""
import json, sys, time, importlib
stages = {}
def stage(name, fn):
    t = time.process_time(); fn(); stages[name] = time.process_time() - t
stage("functions_framework", lambda: importlib.import_module("functions_framework"))
stage("main (the rest)", lambda: importlib.import_module("main"))
stage("handler: shared.pipeline", lambda: importlib.import_module("shared.pipeline"))
from shared.gcp.endpoints import CLIENT_LIBRARIES
for name in CLIENT_LIBRARIES:
    stage(name, lambda: importlib.import_module(name))
from functions.runtime import _build
stage("runtime: config, adapters", _build)
json.dump(stages, sys.stdout)
"""


def breakdown(runs: int) -> None:
    """Median CPU of each start-up stage over `runs` fresh interpreters."""
    env = {k: v for k, v in os.environ.items() if k != "FUNCTION_TARGET"}
    env.setdefault("RUNWARDEN_CONFIG", str(ROOT / "runwarden.example.yaml"))
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", BREAKDOWN], cwd=ROOT, env=env, capture_output=True, text=True,
                              check=True)
        for name, seconds in json.loads(done.stdout).items():
            samples.setdefault(name, []).append(seconds * 1000)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    total = sum(medians.values())
    print(f"start-up CPU by stage, median of {runs} fresh interpreters (total {total:.0f} ms):")
    for name, ms in sorted(medians.items(), key=lambda item: -item[1]):
        if ms >= 1.0:
            print(f"  {ms:7.1f} ms  {ms / total:5.1%}  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--breakdown", action="store_true", help="start-up CPU stage by stage, then exit")
    args = parser.parse_args()
    if args.breakdown:
        breakdown(args.runs)
        return 0

    warm_up = {"FUNCTION_TARGET": "on_alert"}
    subjects = {"bare interpreter": ("pass", None), "functions_framework": ("import functions_framework", None),
                "main": ("import main", None), "main, warm-up started": ("import main", warm_up)}
    times: dict[str, list[float]] = {name: [] for name in subjects}
    for statement, env in subjects.values():
        time_import(statement, env)  # warm the file cache once
    for _ in range(args.runs):
        for name, (statement, env) in subjects.items():
            times[name].append(time_import(statement, env))

    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    for name, ms in medians.items():
        print(f"{name:22s} median {ms:7.1f} ms  (min {min(times[name]) * 1000:.1f}, runs {args.runs})")
    worst = 0.0
    for name in ("main", "main, warm-up started"):
        ratio = medians[name] / medians["functions_framework"]
        worst = max(worst, ratio)
        verdict = "meets" if ratio <= GOAL else "MISSES"
        print(f"ratio {name} / functions_framework = {ratio:.2f}  ({verdict} the {GOAL}x goal)")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
