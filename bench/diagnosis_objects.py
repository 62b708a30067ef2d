"""Objects the cyclic garbage collector counts in a cold LARGE diagnosis: at its peak, left after it, and
(with --where) where they are made.

CPython starts a young collection when the objects it tracks, allocated less freed since the last
collection, pass the first threshold (700 by default: the Python docs, `gc.set_threshold`). So a
diagnosis whose own peak of such objects passes what is left of that count sets one off; on evidence just
decoded (the decoder's objects already counted) one started in every run ("Where the LARGE case's time
went since 6f3d529", docs/performance.md). Counted here without a clock, so a loaded machine moves nothing:

- peak: the least first threshold at which no collection starts inside a cold diagnosis started from a
  count of 0 (after `gc.collect()`, found by bisection). A full collection also empties CPython's free
  lists, so every small tuple is a new allocation here: an upper bound of a warm process's peak.
- left: `gc.get_count()[0]` after the diagnosis less before, the collector off (its result held).
- --where: the collector's first threshold set to 20 and each collection's start attributed to the
  innermost frame of shared/ on the stack: roughly where each 20 objects were made, less freed.

    .venv/bin/python bench/diagnosis_objects.py [--where]
"""
from __future__ import annotations

import argparse
import collections
import gc
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = 20   # the first threshold --where samples at


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--where", action="store_true", help="where the objects are made, sampled")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import shared.gcp.logging  # noqa: F401  the modules the product process holds too
    import shared.gcp.monitoring  # noqa: F401
    from bench.diagnosis_speed import forget, large_settings, record
    from bench.diagnosis_world import large_scenario_data
    from sandbox.scenarios import Scenario
    from shared.config import DiagnosisSettings
    from shared.diagnosis.diagnose import diagnose

    bundle = record(Scenario.model_validate(large_scenario_data()), large_settings()[0])
    settings = DiagnosisSettings(baseline_seconds=24 * 3600, max_log_entries=1000)
    forget()
    diagnose(bundle, settings)   # warm: imports, compiled patterns

    def collections_at(threshold: int, callback) -> None:
        forget()
        gc.collect()
        gc.set_threshold(threshold, 10**6, 10**6)
        gc.callbacks.append(callback)
        try:
            diagnose(bundle, settings)
        finally:
            gc.callbacks.remove(callback)
            gc.set_threshold(*_DEFAULT)

    low, high = 1, 10**6
    while low < high:
        middle, started = (low + high) // 2, []
        collections_at(middle, lambda phase, info: started.append(phase) if phase == "start" else None)
        low, high = (low, middle) if not started else (middle + 1, high)
    forget()
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()[0]
        result = diagnose(bundle, settings)
        left = gc.get_count()[0] - before
    finally:
        gc.enable()
    print(f"a cold LARGE diagnosis ({result.signature.value}): peak {low} tracked objects, {left} left after it")
    if args.where:
        sites: collections.Counter = collections.Counter()

        def attribute(phase: str, info: dict) -> None:
            if phase == "start":
                ours = [f for f in traceback.extract_stack()[:-1] if f"{ROOT}/shared/" in f.filename]
                if ours:
                    sites[(ours[-1].filename.removeprefix(f"{ROOT}/"), ours[-1].name, ours[-1].lineno)] += 1
        collections_at(SAMPLE, attribute)
        for (filename, name, line), count in sites.most_common(15):
            print(f"  {count * SAMPLE:5d}  {filename}:{line} {name}")
    return 0


_DEFAULT = gc.get_threshold()

if __name__ == "__main__":
    sys.exit(main())
