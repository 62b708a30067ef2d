"""Cold-start import cost: `import main` against `import functions_framework`.

Goal: `python -c "import main"` takes at most 1.5x as long as `python -c "import functions_framework"`.
Each command runs in a fresh interpreter, alternating, and the medians are compared.

    .venv/bin/python bench/import_time.py [--runs 15]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 1.5


def time_import(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    subjects = {"bare interpreter": "pass", "functions_framework": "import functions_framework",
                "main": "import main"}
    times: dict[str, list[float]] = {name: [] for name in subjects}
    for statement in subjects.values():
        time_import(statement)  # warm the file cache once
    for _ in range(args.runs):
        for name, statement in subjects.items():
            times[name].append(time_import(statement))

    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    for name, ms in medians.items():
        print(f"{name:22s} median {ms:7.1f} ms  (min {min(times[name]) * 1000:.1f}, runs {args.runs})")
    ratio = medians["main"] / medians["functions_framework"]
    verdict = "meets" if ratio <= GOAL else "MISSES"
    print(f"ratio main / functions_framework = {ratio:.2f}  ({verdict} the {GOAL}x goal)")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
