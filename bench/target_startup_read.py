"""What the rollback target's startup read adds to one collection, as a ratio against the same
collection without it, in the same run.

The read is a third, sequential round (it needs the service log read's answer: was its page
full?), so it adds one ListLogEntries round trip to the collection's wall time, and only when the
page was full and a deploy is the suspect. Scenario deploy_log_flood_previous_secret_disabled (the
page full, one candidate), read from the seeded stand-ins through the real adapters, alternately
with the read and with `startup_candidates` answering () (the collection as before), N times each.

    .venv/bin/python bench/target_startup_read.py --runs 40
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCENARIO = "deploy_log_flood_previous_secret_disabled"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    from bench.diagnosis_speed import T0, _adapters
    from sandbox.scenarios import resolve_scenario, start_seeded
    from shared.config import DiagnosisSettings
    from shared.diagnosis import collection

    scenario = resolve_scenario(SCENARIO)
    service = scenario.service_name(scenario.services[0].name)
    settings = DiagnosisSettings()
    with_read = collection.startup_candidates
    times: dict[bool, list[float]] = {True: [], False: []}
    with start_seeded(scenario, anchor=T0) as standins:
        os.environ.update(standins.env())
        adapters = _adapters()
        readers = collection.Readers(*adapters)
        try:
            for run in range(args.runs * 2 + 2):
                read = run % 2 == 0
                collection.startup_candidates = with_read if read else (lambda *_a, **_k: ())
                started = time.perf_counter()
                bundle = collection.collect(service, T0, readers, settings, T0 + timedelta(minutes=2))
                elapsed = time.perf_counter() - started
                assert (bundle.target_startup is not None) == read
                if run >= 2:   # the first pair warms the channels
                    times[read].append(elapsed * 1000)
        finally:
            collection.startup_candidates = with_read
            for adapter in adapters:
                adapter.close()
    before, after = statistics.median(times[False]), statistics.median(times[True])
    print(f"collection without the startup read: p50 {before:.1f} ms ({args.runs} runs)")
    print(f"collection with it:                  p50 {after:.1f} ms, {after / before:.2f}x "
          f"(+{after - before:.1f} ms: one sequential ListLogEntries round trip)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
