"""Diagnosis speed on recorded evidence: goal at most 5 ms p99 per diagnosis, with 1,000 log
entries and 24 h of per-minute series (the LARGE case), and on every bundled scenario.

The evidence is collected once from the API stand-ins through the real adapters (the recording).
Two windows are timed, each on the CPU clock of the thread, and each against its own reference,
interleaved in the same run:

- "from the wire": what the product does once the Logging and Monitoring reads have returned, from
  the answers' bytes (as the stand-ins sent them, captured on the same seeded state) to the verdict:
  each answer parsed (the protobuf parse the client does), decoded by the adapters' own functions
  (`record_from_entry`, `result_from_series`), the audit entries merged and split, the evidence
  bundle built, `diagnose()`. The Cloud Run and VPC Access answers (a service, its revisions, a
  connector: a few objects, whatever the logs and series) are taken as decoded. Reference: the
  cheapest honest pass over the same bytes: parse every answer and read, once, every field the
  evidence keeps (each entry's time, log, severity, resource labels, text, HTTP status and latency;
  each point's end time and value), building nothing.
- "diagnose()": the pure function alone on the decoded evidence. Reference, as before: json-decode
  the 1,000 entries and read every point's value once.

A third line, reported and not judged, times `diagnose()` inside each from-the-wire run, on the
evidence that run has just decoded: the product's case (its texts not yet hashed, its records pushed
out of the CPU's caches by the decoding after them), against the same json pass.

Each window also reports in how many runs the kernel preempted the thread (involuntary context
switches, getrusage) and the CPU p50 / p99 of the runs it did not, and how many garbage collections
started inside it (gc.callbacks): on a shared machine the preempted runs make the p99 tail
(docs/performance.md, "diagnose() alone: grouping, allocations and the p99 tail"). The goal's p99
is read on all runs.

Collection's I/O is not timed: it has its own budget of 14 calls. Every run starts cold: the
per-text caches of shared/diagnosis and the adapters are cleared first, as a new incident's log
lines have not been seen before.

`make bench` fails only when a judged ratio regresses: from the wire / its reference past
RATIO_LIMIT, or diagnose() alone / the json pass past ALONE_RATIO_LIMIT (CPU p50 each); the absolute
p99 is reported against the 5 ms goal, never a failure (the machine is shared and noisy).

    .venv/bin/python bench/diagnosis_speed.py [--runs 200] [--only large|scenarios] [--match TEXT]
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GOAL_MS = 5.0
# From the wire (decode + diagnose) / the pass over the same bytes, CPU medians: 1.3-1.4 now that
# both read each point's fields without holding columns of protobuf messages, 1.6-1.8 with the
# series as columns and log records built without validation, 3.5-5 with a model and a datetime
# per point and a validated record per entry (docs/performance.md "Diagnosis"). The limit stays
# below the last.
RATIO_LIMIT = 2.2
# diagnose() alone / the json pass, CPU medians: 0.87-1.10 after one search over the distinct texts,
# 0.92-0.97 after the order check and validation were taken off the hot path, 1.2-1.7 in the rounds
# before those (docs/performance.md "Diagnosis"). The limit fails a return to those.
ALONE_RATIO_LIMIT = 1.5
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
COLLECTED = T0 + timedelta(minutes=2)


def _adapters():
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter
    return CloudRunAdapter(), CloudMonitoringAdapter(), CloudLoggingAdapter(), VpcAccessAdapter()


def record(scenario, settings, wire: dict | None = None):
    """The evidence one collection reads from the seeded stand-ins, through the real adapters, for
    the scenario's first service: with the alert's context (a log-match alert's filter joins the log
    read) and the Cloud SQL instances the scenario's config names for the service, as the pipeline reads.

    Given `wire`, the Logging and Monitoring answers of the same collection are captured there too,
    as bytes ((method, request bytes) -> answer bytes), by collecting once more through the
    in-process adapters (sandbox/inprocess.py), which take the stand-ins' answers as serialized."""
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
            bundle = collect(service, T0, Readers(*adapters), settings, T0 + scenario.delivered, sql_instances=sql,
                             alert=alert)
        finally:
            for adapter in adapters:
                adapter.close()
        if wire is not None:
            from sandbox.inprocess import InProcessLogging, InProcessMonitoring, InProcessRun, InProcessVpcAccess

            readers = Readers(InProcessRun(standins.run), InProcessMonitoring(standins.monitoring, memo=wire),
                              InProcessLogging(standins.logging, memo=wire), InProcessVpcAccess(standins.vpcaccess))
            collect(service, T0, readers, settings, T0 + scenario.delivered, sql_instances=sql, alert=alert)
        return bundle


def large_settings():
    """(how it is recorded, how it is diagnosed). The recording reads a whole day of every series:
    the lookback is widened past the config's 6 h ceiling for the recording only (model_copy does not
    validate). Diagnosis judges the default 15-minute incident window against a 24 h baseline (the
    widest valid), reading up to 1,000 log entries: every window is cut from the day's points."""
    from shared.config import DiagnosisSettings
    diagnosed = DiagnosisSettings(baseline_seconds=24 * 3600, max_log_entries=1000)
    return diagnosed.model_copy(update={"lookback_seconds": 24 * 3600}), diagnosed


def points_of(bundle) -> int:
    return sum(len(s.end_us) for r in _series_results(bundle) if r for s in r.series)


# latencies_p50 comes from the latencies answer (collection.latency_percentiles): the answer is matched to
# `latencies`, which comes first.
_SERIES_FIELDS = ("requests", "latencies", "latencies_p50", "instances", "connector_instances", "connector_cpu",
                  "connector_bytes", "connector_sent_bytes", "sql_up", "sql_cpu")


def _series_results(bundle):
    return tuple(getattr(bundle, name) for name in _SERIES_FIELDS)


def plain_pass(bundle) -> Callable[[], float]:
    """The diagnose() window's reference: decode the log entries from JSON and read every metric point once."""
    logs_json = json.dumps([e.model_dump(mode="json") for e in bundle.logs.entries])
    results = [r for r in _series_results(bundle) if r]

    def run() -> float:
        total = float(sum(len(e["text"]) for e in json.loads(logs_json)))
        for result in results:
            for series in result.series:
                total += sum(map(float, series.values))
        return total
    return run


class Wire:
    """The LARGE collection's Logging and Monitoring answers, as bytes, each tied to the evidence
    field it became (matched on the request's filter, which the evidence records as its query)."""

    def __init__(self, bundle, captured: dict, max_entries: int) -> None:
        from google.cloud import monitoring_v3
        from google.cloud.logging_v2.types import ListLogEntriesRequest

        self.logs: dict[str, list[bytes]] = {}      # the log read's filter -> its pages
        self.metrics: dict[str, list[bytes]] = {}   # evidence field -> its pages
        # The in-process adapters keep their own caches in the same dict, under plain string keys, and
        # the requests they parsed under ("parsed", method, bytes): only (method, bytes) keys are answers.
        for (method, request), answer in (item for item in captured.items()
                                          if isinstance(item[0], tuple) and len(item[0]) == 2):
            if method == "ListLogEntries":
                self.logs.setdefault(ListLogEntriesRequest.pb().FromString(request).filter, []).append(answer)
            elif method == "ListTimeSeries":
                found = monitoring_v3.ListTimeSeriesRequest.pb().FromString(request).filter
                field = next(f for f in _SERIES_FIELDS
                             if getattr(bundle, f) is not None and f"filter: {found} |" in getattr(bundle, f).query)
                self.metrics.setdefault(field, []).append(answer)
        self.bundle, self.max_entries = bundle, max_entries

    def evidence(self):
        """The evidence bundle from the answers' bytes, as collection builds it after its reads."""
        from google.cloud import monitoring_v3
        from google.cloud.logging_v2.types import ListLogEntriesResponse

        from shared.diagnosis.collection import split_audit, sql_audit
        from shared.diagnosis.evidence import EvidenceBundle, LogResult
        from shared.gcp.logging import merge_operation_entries, record_from_entry
        from shared.diagnosis.collection import P99_NOTE, latency_percentiles
        from shared.gcp.monitoring import histograms_from_series, result_from_series

        page_of, series_of = ListLogEntriesResponse.pb().FromString, monitoring_v3.ListTimeSeriesResponse.pb().FromString
        b = self.bundle
        logs: dict[str, LogResult] = {}
        for query, pages in self.logs.items():   # as CloudLoggingAdapter._read: at most max_entries
            parsed = [page_of(page) for page in pages]
            entries = [record_from_entry(e) for page in parsed for e in page.entries][:self.max_entries]
            truncated = len(entries) == self.max_entries and bool(parsed[-1].next_page_token)
            logs[query] = LogResult(query=query, entries=tuple(entries), truncated=truncated)
        fields = {name: result_from_series(getattr(b, name).query,
                                           [s for page in pages for s in series_of(page).time_series])
                  for name, pages in self.metrics.items() if name != "latencies"}
        if "latencies" in self.metrics:   # read as histograms, both percentiles computed from them
            histograms = histograms_from_series(
                b.latencies.query.removesuffix(P99_NOTE),
                [s for page in self.metrics["latencies"] for s in series_of(page).time_series])
            fields["latencies"], fields["latencies_p50"] = latency_percentiles(histograms)
        merged = merge_operation_entries(logs[b.audit.query])
        audit, connector_audit = split_audit(merged)
        return EvidenceBundle(**{**dict(b), **fields, "logs": logs[b.logs.query], "audit": audit,
                                 "connector_audit": connector_audit, "sql_audit": sql_audit(merged)})

    def reference(self) -> Callable[[], float]:
        """Parse every answer and read once every field the evidence keeps, building nothing."""
        from operator import attrgetter, methodcaller

        from google.cloud import monitoring_v3
        from google.cloud.logging_v2.types import ListLogEntriesResponse

        page_of, series_of = ListLogEntriesResponse.pb().FromString, monitoring_v3.ListTimeSeriesResponse.pb().FromString
        log_pages = [page for pages in self.logs.values() for page in pages]
        metric_pages = [page for pages in self.metrics.values() for page in pages]
        # Each field read straight from the point, as the adapter reads it: no column of message
        # objects held alive for the collector to walk.
        seconds, nanos, value = (attrgetter(name) for name in ("interval.end_time.seconds", "interval.end_time.nanos",
                                                                "value"))
        which = methodcaller("WhichOneof", "value")

        def run() -> float:
            total = 0.0
            for page in log_pages:   # a map's size is read, not its labels: the cheaper pass
                for e in page_of(page).entries:
                    stamp, request = e.timestamp, e.http_request
                    total += (stamp.seconds + stamp.nanos + e.severity + len(e.log_name) + len(e.text_payload)
                              + len(e.resource.labels) + len(e.insert_id) + request.status + request.latency.nanos)
            for page in metric_pages:
                for s in series_of(page).time_series:
                    points = s.points
                    total += sum(map(seconds, points)) + sum(map(nanos, points))
                    for kind in set(map(which, map(value, points))):
                        if kind in ("int64_value", "double_value"):
                            total += sum(map(attrgetter("value." + kind), points))
                        elif kind == "distribution_value":   # request_latencies: each point's buckets, once
                            total += sum(map(sum, map(attrgetter("value.distribution_value.bucket_counts"),
                                                      points)))
            return total
        return run


def forget() -> None:
    """Clears every cache in shared.diagnosis and the Logging adapter (functools caches, the resource
    labels read): each run sees its log lines for the first time."""
    for name, module in list(sys.modules.items()):
        if (name.startswith("shared.diagnosis") or name == "shared.gcp.logging") and module is not None:
            for value in vars(module).values():
                if callable(getattr(value, "cache_clear", None)):
                    value.cache_clear()
    logging = sys.modules.get("shared.gcp.logging")
    if logging is not None:
        logging._LABELS.clear()


Run = tuple[float, float, int, int]   # wall ms, CPU ms, times preempted, collections started


def timed(fn: Callable[[], object]) -> Run:
    """`measure(fn)` of a cold run: the caches of shared.diagnosis and the adapters cleared first."""
    forget()
    return measure(fn)


def measure(fn: Callable[[], object]) -> Run:
    """(wall ms, CPU ms of this thread, times the kernel preempted it, garbage collections that
    started meanwhile): on a loaded machine the CPU time is what the code costs, the wall time adds
    whatever else ran meanwhile. A preempted run comes back to cold caches and its CPU time grows
    too: the preemptions say which runs make the tail, and the collections whether the cyclic
    collector ran inside it."""
    collections = _COLLECTIONS[0]
    before = _preempted()
    wall, cpu = time.perf_counter(), time.thread_time()
    fn()
    wall, cpu = (time.perf_counter() - wall) * 1000, (time.thread_time() - cpu) * 1000
    return wall, cpu, _preempted() - before, _COLLECTIONS[0] - collections


_COLLECTIONS = [0]   # collections started in this process so far (gc.callbacks, installed by large())


def _count_collection(phase: str, info: dict) -> None:
    if phase == "start":
        _COLLECTIONS[0] += 1


def _preempted() -> int:
    """Involuntary context switches of this thread so far (Linux; 0 where not counted)."""
    try:
        return resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw
    except (AttributeError, OSError):
        return 0


def p99(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def _report(what: str, diag: list[Run], ref: list[Run], reference: str) -> float:
    """Prints wall and CPU p50 / p99 of a window and its reference, and the CPU figures of the runs
    the kernel did not preempt (what the tail is made of); returns the CPU p50 ratio."""
    print(f"  {what}")
    for clock, i in (("wall", 0), ("cpu", 1)):
        d, r = [t[i] for t in diag], [t[i] for t in ref]
        print(f"    {clock:4s} p50 {statistics.median(d):6.2f} ms  p99 {p99(d):6.2f} ms | {reference} p50 "
              f"{statistics.median(r):6.2f} ms  p99 {p99(r):6.2f} ms | ratio p50 "
              f"{statistics.median(d) / statistics.median(r):.2f}  p99 {p99(d) / p99(r):.2f}")
    calm = [t[1] for t in diag if not t[2]]
    line = f"    preempted in {len(diag) - len(calm)} of {len(diag)} runs (up to {max(t[2] for t in diag)} times)"
    if calm:
        line += f"; cpu of the others: p50 {statistics.median(calm):6.2f} ms  p99 {p99(calm):6.2f} ms"
    print(line)
    collected = [t for t in diag if t[3]]
    print(f"    garbage collections inside: {sum(t[3] for t in diag)}, in {len(collected)} of {len(diag)} runs"
          + (f" (their cpu p50 {statistics.median(t[1] for t in collected):6.2f} ms)" if collected else ""))
    return statistics.median(t[1] for t in diag) / statistics.median(t[1] for t in ref)


def large(runs: int) -> tuple[tuple[float, float], tuple[float, float, float]]:
    """The LARGE case; returns the judged ratios (from the wire, diagnose() alone) and the CPU p99s
    (ms) of the same two and of diagnose() on evidence just decoded (the product's case: timed
    inside each from-the-wire run, the decoding left out)."""
    from bench.diagnosis_world import large_scenario_data
    from sandbox.scenarios import Scenario
    from shared.diagnosis.diagnose import diagnose

    recorded, settings = large_settings()
    scenario = Scenario.model_validate(large_scenario_data())
    captured: dict = {}
    bundle = record(scenario, recorded, wire=captured)
    wire = Wire(bundle, captured, settings.max_log_entries)
    assert wire.evidence() == bundle, "the captured answers do not decode to the recorded evidence"
    entries = len(bundle.logs.entries) if bundle.logs else 0
    reference, wire_reference = plain_pass(bundle), wire.reference()
    result = diagnose(bundle, settings)   # warm: imports, compiled patterns
    assert diagnose(wire.evidence(), settings) == result
    reference()
    wire_reference()
    diag, ref, whole, floor, fresh = [], [], [], [], []

    def from_the_wire() -> None:
        evidence = wire.evidence()
        fresh.append(measure(lambda: diagnose(evidence, settings)))

    gc.callbacks.append(_count_collection)
    try:
        for _ in range(runs):   # interleaved: load on the machine hits both alike
            ref.append(timed(reference))
            diag.append(timed(lambda: diagnose(bundle, settings)))
            floor.append(timed(wire_reference))
            whole.append(timed(from_the_wire))
    finally:
        gc.callbacks.remove(_count_collection)
    print(f"LARGE: {entries} log entries, {points_of(bundle)} points in "
          f"{sum(len(r.series) for r in _series_results(bundle) if r)} series, {len(result.evidence)} evidence items, "
          f"signature {result.signature.value}")
    judged = _report("from the wire (parse + decode + diagnose)", whole, floor, "pass over the bytes")
    alone = _report("diagnose() alone", diag, ref, "json pass")
    # The product diagnoses evidence its readers have just built: its texts not yet hashed, its
    # records pushed out of the CPU's caches by the decoding that followed them. Reported, not judged.
    _report("diagnose() on evidence just decoded (inside each from-the-wire run)", fresh, ref, "json pass")
    print(f"  (judged, CPU p50: from the wire / the pass over the same bytes, limit {RATIO_LIMIT:.1f}; "
          f"diagnose() alone / the json pass, limit {ALONE_RATIO_LIMIT:.1f})")
    return (judged, alone), (p99([t[1] for t in whole]), p99([t[1] for t in diag]), p99([t[1] for t in fresh]))


def scenarios(runs: int, match: str = "") -> tuple[float, tuple[float, str]]:
    """Every bundled scenario whose name holds `match` (its first service), recorded as the pipeline
    would; returns the worst p99 (ms), and the worst CPU p50 ratio of a scenario scaled to SCALED_ENTRIES
    against its json pass (`scaled`), with its name."""
    from sandbox.scenarios import list_bundled_scenarios
    from shared.config import DiagnosisSettings
    from shared.diagnosis.diagnose import diagnose

    settings = DiagnosisSettings()
    worst, worst_scaled = 0.0, (0.0, "")
    print(f"{'scenario':40s} {'signature':24s} {'points':>7s} {'logs':>5s} {'median ms':>10s} {'p99 ms':>8s}"
          f" | scaled: {'logs':>5s} {'median ms':>10s} {'p99 ms':>8s} {'ratio':>6s}")
    for name in (n for n in list_bundled_scenarios() if match in n):
        bundle = record(name, settings)
        result = diagnose(bundle, settings)  # warm
        times = [timed(lambda: diagnose(bundle, settings))[0] for _ in range(runs)]
        worst = max(worst, p99(times))
        logs = len(bundle.logs.entries) if bundle.logs else 0
        line = (f"{name:40s} {result.signature.value:24s} {points_of(bundle):7d} {logs:5d} "
                f"{statistics.median(times):10.2f} {p99(times):8.2f}")
        if logs:
            big, diag, ref = scaled(bundle, settings, max(10, runs // 5))
            ratio = statistics.median(diag) / statistics.median(ref)
            worst_scaled = max(worst_scaled, (ratio, name))
            line += (f" | scaled: {len(big.logs.entries):5d} {statistics.median(diag):10.2f} {p99(diag):8.2f} "
                     f"{ratio:6.2f}")
        print(line)
    return worst, worst_scaled


# One failure repeats one text on every request: a scenario's log read scaled to the read's ceiling,
# each entry repeated in place (the order and the revisions kept), is the incident at its busiest.
# A rule that asks a regex of every line instead of every distinct text costs tens of milliseconds
# there (271 ms CPU p50 for a mistyped host's bare gaierror at 960 entries before `log_signals.per_text`;
# about 3 ms after) while its bundled read of 48 lines hides it.
SCALED_ENTRIES = 1000
# A scaled scenario's diagnose() / its json pass over the same entries, CPU p50, the worst scenario:
# 0.89 with each distinct text read once, 50.45 before (docs/performance.md, "Diagnosis at a read's
# ceiling"; load 15). The limit fails a rule that reads every line again.
SCALED_RATIO_LIMIT = 4.0


def scaled(bundle, settings, runs: int):
    """The bundle with its log entries repeated in place up to SCALED_ENTRIES, and diagnose()'s and the
    json pass's CPU times (ms) on it, interleaved."""
    from shared.diagnosis.diagnose import diagnose
    from shared.diagnosis.evidence import LogResult

    entries = bundle.logs.entries
    times = max(1, SCALED_ENTRIES // len(entries))
    logs = LogResult(query=bundle.logs.query, entries=tuple(e for e in entries for _ in range(times)),
                     truncated=bundle.logs.truncated)
    big = bundle.model_copy(update={"logs": logs})
    reference = plain_pass(big)
    diagnose(big, settings)
    reference()
    diag, ref = [], []
    for _ in range(runs):
        ref.append(timed(reference)[1])
        diag.append(timed(lambda: diagnose(big, settings))[1])
    return big, diag, ref


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--only", choices=("large", "scenarios"))
    parser.add_argument("--match", default="", help="only the bundled scenarios whose name holds this text")
    args = parser.parse_args()

    verdict = 0
    # An absolute p99 on a shared 2-core machine is noise-prone: it is reported, never a failure of
    # `make bench`, which fails only on a ratio regression.
    if args.only != "large":
        worst, (scaled_ratio, scaled_name) = scenarios(args.runs, args.match)
        print(f"bundled scenarios, diagnose() alone: worst wall p99 {worst:.2f} ms "
              f"({'meets' if worst <= GOAL_MS else 'MISSES'} the {GOAL_MS:.0f} ms goal)")
        print(f"bundled scenarios scaled to {SCALED_ENTRIES} log entries: worst diagnose() / json pass, CPU p50 "
              f"{scaled_ratio:.2f} ({scaled_name}; limit {SCALED_RATIO_LIMIT:.1f})")
        if scaled_ratio > SCALED_RATIO_LIMIT:
            print(f"REGRESSION: a scaled scenario's diagnose() / its json pass = {scaled_ratio:.2f} > "
                  f"{SCALED_RATIO_LIMIT:.1f}")
            verdict = 1
    if args.only != "scenarios":
        (ratio, alone_ratio), (whole, alone, fresh) = large(args.runs)
        for what, ms in (("from the wire", whole), ("diagnose() alone", alone),
                         ("diagnose() on evidence just decoded", fresh)):
            print(f"LARGE, {what}: CPU p99 {ms:.2f} ms ({'meets' if ms <= GOAL_MS else 'MISSES'} the "
                  f"{GOAL_MS:.0f} ms goal)")
        if ratio > RATIO_LIMIT:
            print(f"REGRESSION: from the wire / the pass over the bytes = {ratio:.2f} > {RATIO_LIMIT:.1f}")
            verdict = 1
        if alone_ratio > ALONE_RATIO_LIMIT:
            print(f"REGRESSION: diagnose() alone / the json pass = {alone_ratio:.2f} > {ALONE_RATIO_LIMIT:.1f}")
            verdict = 1
    return verdict

if __name__ == "__main__":
    sys.exit(main())
