"""Diagnosis speed on recorded evidence: goal at most 5 ms p99 per diagnosis, with 1,000 log
entries and 24 h of per-minute series (the LARGE case), and on every bundled scenario.

The evidence is collected once from the API stand-ins through the real adapters (the recording),
then `diagnose()` runs on it repeatedly. Only the pure function is timed: collection is I/O and has
its own budget of 12 calls. Every run starts cold: the per-text caches of shared/diagnosis are
cleared first, as a new incident's log lines have not been seen before.

The LARGE case is judged as a ratio to a reference timed in the same run, interleaved with it: a
plain pass over the same evidence that json-decodes the 1,000 log entries and reads every metric
point once. `make bench` fails only when that ratio regresses past RATIO_LIMIT; the absolute p99
is reported against the 5 ms goal, never a failure (the machine is shared and noisy).

    .venv/bin/python bench/diagnosis_speed.py [--runs 200] [--only large|scenarios]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GOAL_MS = 5.0
# diagnose(LARGE) / the plain pass, CPU medians. Measured 1.4-1.6 with the one-pass log classifier
# and the per-evidence window indexes, 6.4-6.6 before them; with the indexes alone undone (every
# window a scan of every point) 2.6, with a regex search per signal per line above 5
# (docs/performance.md). The limit sits between: load on the machine moves the ratio far less.
RATIO_LIMIT = 2.2
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
COLLECTED = T0 + timedelta(minutes=2)


def _adapters():
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter
    return CloudRunAdapter(), CloudMonitoringAdapter(), CloudLoggingAdapter(), VpcAccessAdapter()


def record(scenario, settings):
    """The evidence one collection reads from the seeded stand-ins, through the real adapters, for
    the scenario's first service: with the alert's context (a log-match alert's filter joins the log
    read) and the Cloud SQL instances the scenario's config names for the service, as the pipeline reads."""
    from sandbox.scenarios import resolve_scenario, start_seeded
    from shared.alerts.incidents import parse_notification
    from shared.diagnosis.collection import Readers, collect
    from shared.diagnosis.scope import alert_context

    scenario = resolve_scenario(scenario)
    service = scenario.service_name(scenario.services[0].name)
    alert = alert_context(parse_notification(scenario.notification(T0))) if scenario.alert else None
    sql = next((tuple(s.get("cloudsql_instances", ())) for s in scenario.config.get("services", ())
                if s.get("name") == service), ())
    with start_seeded(scenario, anchor=T0) as standins:
        os.environ.update(standins.env())
        adapters = _adapters()
        try:
            return collect(service, T0, Readers(*adapters), settings, COLLECTED, sql_instances=sql, alert=alert)
        finally:
            for adapter in adapters:
                adapter.close()


def large_settings():
    """(how it is recorded, how it is diagnosed). The recording reads a whole day of every series:
    the lookback is widened past the config's 6 h ceiling for the recording only (model_copy does not
    validate). Diagnosis judges the default 15-minute incident window against a 24 h baseline (the
    widest valid), reading up to 1,000 log entries: every window is cut from the day's points."""
    from shared.config import DiagnosisSettings
    diagnosed = DiagnosisSettings(baseline_seconds=24 * 3600, max_log_entries=1000)
    return diagnosed.model_copy(update={"lookback_seconds": 24 * 3600}), diagnosed


def points_of(bundle) -> int:
    return sum(len(s.points) for r in _series_results(bundle) if r for s in r.series)


def _series_results(bundle):
    return (bundle.requests, bundle.latencies, bundle.instances, bundle.connector_instances, bundle.connector_cpu,
            bundle.connector_bytes, bundle.sql_up)


def plain_pass(bundle) -> Callable[[], float]:
    """The reference: decode the log entries from JSON and read every metric point once."""
    logs_json = json.dumps([e.model_dump(mode="json") for e in bundle.logs.entries])
    results = [r for r in _series_results(bundle) if r]

    def run() -> float:
        total = float(sum(len(e["text"]) for e in json.loads(logs_json)))
        for result in results:
            for series in result.series:
                for point in series.points:
                    total += float(point.value)
        return total
    return run


def forget() -> None:
    """Clears every functools cache in shared.diagnosis: each run sees its log lines for the first time."""
    for name, module in list(sys.modules.items()):
        if name.startswith("shared.diagnosis") and module is not None:
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, CPU ms of this thread): on a loaded machine the CPU time is what the code costs,
    the wall time adds whatever else ran meanwhile."""
    forget()
    wall, cpu = time.perf_counter(), time.thread_time()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000


def p99(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def large(runs: int) -> tuple[float, float]:
    """The LARGE case; returns (median ratio, p99 ms)."""
    from bench.diagnosis_world import large_scenario_data
    from sandbox.scenarios import Scenario
    from shared.diagnosis.diagnose import diagnose

    recorded, settings = large_settings()
    scenario = Scenario.model_validate(large_scenario_data())
    bundle = record(scenario, recorded)
    entries = len(bundle.logs.entries) if bundle.logs else 0
    reference = plain_pass(bundle)
    result = diagnose(bundle, settings)   # warm: imports, compiled patterns
    reference()
    diag, ref = [], []
    for _ in range(runs):   # interleaved: load on the machine hits both alike
        ref.append(timed(reference))
        diag.append(timed(lambda: diagnose(bundle, settings)))
    print(f"LARGE: {entries} log entries, {points_of(bundle)} points in "
          f"{sum(len(r.series) for r in _series_results(bundle) if r)} series, {len(result.evidence)} evidence items, "
          f"signature {result.signature.value}")
    for clock, i in (("wall", 0), ("cpu", 1)):
        d, r = [t[i] for t in diag], [t[i] for t in ref]
        print(f"  {clock:4s} diagnose p50 {statistics.median(d):6.2f} ms  p99 {p99(d):6.2f} ms | plain pass p50 "
              f"{statistics.median(r):6.2f} ms  p99 {p99(r):6.2f} ms | ratio p50 "
              f"{statistics.median(d) / statistics.median(r):.2f}  p99 {p99(d) / p99(r):.2f}")
    ratio = statistics.median(t[1] for t in diag) / statistics.median(t[1] for t in ref)
    print(f"  (plain pass: json-decode the entries, read every point once; judged: the CPU p50 ratio, "
          f"limit {RATIO_LIMIT:.1f})")
    return ratio, p99([t[0] for t in diag])


def scenarios(runs: int) -> float:
    """Every bundled scenario (its first service), recorded as the pipeline would; returns the worst p99 (ms)."""
    from sandbox.scenarios import list_bundled_scenarios
    from shared.config import DiagnosisSettings
    from shared.diagnosis.diagnose import diagnose

    settings = DiagnosisSettings()
    worst = 0.0
    print(f"{'scenario':40s} {'signature':24s} {'points':>7s} {'logs':>5s} {'median ms':>10s} {'p99 ms':>8s}")
    for name in list_bundled_scenarios():
        bundle = record(name, settings)
        result = diagnose(bundle, settings)  # warm
        times = [timed(lambda: diagnose(bundle, settings))[0] for _ in range(runs)]
        worst = max(worst, p99(times))
        logs = len(bundle.logs.entries) if bundle.logs else 0
        print(f"{name:40s} {result.signature.value:24s} {points_of(bundle):7d} {logs:5d} "
              f"{statistics.median(times):10.2f} {p99(times):8.2f}")
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--only", choices=("large", "scenarios"))
    args = parser.parse_args()

    verdict = 0
    worst = 0.0
    if args.only != "large":
        worst = scenarios(args.runs)
    if args.only != "scenarios":
        ratio, worst_large = large(args.runs)
        worst = max(worst, worst_large)
        if ratio > RATIO_LIMIT:
            print(f"REGRESSION: diagnose / plain pass = {ratio:.2f} > {RATIO_LIMIT:.1f}")
            verdict = 1
    # An absolute p99 on a shared 2-core machine is noise-prone: it is reported, never a failure of
    # `make bench`, which fails only on a ratio regression.
    print(f"worst p99 {worst:.2f} ms ({'meets' if worst <= GOAL_MS else 'MISSES'} the {GOAL_MS:.0f} ms goal)")
    return verdict


if __name__ == "__main__":
    sys.exit(main())
