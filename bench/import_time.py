"""Cold-start import cost: `import main` against `import functions_framework`.

Goal: `python -c "import main"` takes at most 1.5x as long as `python -c "import functions_framework"`.
Each command runs in a fresh interpreter, alternating, and the medians are compared. `import main`
is timed twice: plain, and as functions-framework imports it (FUNCTION_TARGET=on_alert), when it
also starts the instance warm-up thread (functions/runtime.py): that thread's imports share the
GIL with the rest of the import, and the goal holds for both.

    .venv/bin/python bench/import_time.py [--runs 15]
"""
from __future__ import annotations

import argparse
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

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
