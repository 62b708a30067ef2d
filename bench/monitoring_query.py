"""CPU of the Monitoring reads of one alert, the adapter against the GAPIC call, in the same run.

The Monitoring stand-in (with the other stand-ins, seeded with the bad_revision scenario) runs in a
process of its own, as Google's API does. The queries are those one collection makes for that
alert (7 ListTimeSeries: the service's three, the connector's three, Cloud SQL's one), recorded
from `collection.collect`. Each round asks all of them, measured with this process's CPU clock
(time.process_time), alternating:
  - reference: the GAPIC call as the adapter made it before (`MetricServiceClient.list_time_series`
    with a proto-plus request, retry=None, every page through the pager, each page unwrapped to its
    plain protobuf), then the adapter's decoding (`result_from_series`);
  - the adapter: `CloudMonitoringAdapter.query` (the request built and the call made on plain
    protobuf: shared/gcp/monitoring_wire.py), the same decoding.
Both use the same client and channel and must give the same results. Fails only if the adapter
regresses past REGRESSION of the reference, never on an absolute.

    .venv/bin/python bench/monitoring_query.py [--rounds 40]
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Measured: 0.76-0.77 of the reference (docs/performance.md, "Monitoring and Logging on plain
# protobuf"). Fails at the reference's own cost: the plain call would then have bought nothing.
REGRESSION = 1.0


def _serve(env_queue: Any, stop: Any) -> None:
    from bench.alert_path import T0
    from sandbox.scenarios import start_seeded

    with start_seeded("bad_revision", anchor=T0) as standins:
        env_queue.put(standins.env())
        stop.wait()


def _queries(service: str) -> list[Any]:
    """The ListTimeSeries queries one collection makes for the alert."""
    from bench.alert_path import T0
    from shared.config import DiagnosisSettings
    from shared.diagnosis.collection import Readers, collect
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter

    asked: list[Any] = []
    monitoring = CloudMonitoringAdapter()

    class Recording:
        def query(self, query: Any) -> Any:
            asked.append(query)
            return monitoring.query(query)

        def histograms(self, query: Any) -> Any:   # request_latencies: the same call, its points kept as histograms
            asked.append(query)
            return monitoring.histograms(query)

    collect(service, T0, Readers(run=CloudRunAdapter(), monitoring=Recording(), logging=CloudLoggingAdapter(),
                                 vpcaccess=VpcAccessAdapter()), DiagnosisSettings(), T0 + timedelta(minutes=2))
    monitoring.close()
    return asked


def gapic_request(query: Any) -> Any:
    """The proto-plus request the adapter built before (the same values as list_time_series_request)."""
    from google.cloud import monitoring_v3

    from shared.gcp.monitoring import build_filter

    request = monitoring_v3.ListTimeSeriesRequest(
        name=f"projects/{query.project}", filter=build_filter(query),
        interval=monitoring_v3.TimeInterval(start_time=query.start, end_time=query.end),
        view=monitoring_v3.ListTimeSeriesRequest.TimeSeriesView.FULL)
    if query.aligner != "ALIGN_NONE":
        request.aggregation = monitoring_v3.Aggregation(
            alignment_period=timedelta(seconds=query.alignment_seconds),
            per_series_aligner=monitoring_v3.Aggregation.Aligner[query.aligner],
            cross_series_reducer=monitoring_v3.Aggregation.Reducer[query.reducer],
            group_by_fields=list(query.group_by))
    return request


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()

    from sandbox.scenarios import resolve_scenario
    from shared.gcp.monitoring import CloudMonitoringAdapter, describe_query, result_from_series, validate_query

    spawn = multiprocessing.get_context("spawn")
    env_queue, stop = spawn.Queue(), spawn.Event()
    server = spawn.Process(target=_serve, args=(env_queue, stop), daemon=True)
    server.start()
    try:
        os.environ.update(env_queue.get(timeout=60))
        scenario = resolve_scenario("bad_revision")
        queries = _queries(scenario.service_name(scenario.services[0].name))
        adapter = CloudMonitoringAdapter()
        adapter.warm()
        client = adapter._client
        timeout = adapter._policy.call_timeout

        def gapic(query: Any) -> Any:
            validate_query(query)
            pager = client.list_time_series(request=gapic_request(query), retry=None, timeout=timeout)
            protos = [s for page in pager.pages for s in type(page).pb(page).time_series]
            return result_from_series(describe_query(query), protos)

        ways = {"reference": gapic, "adapter": adapter.query}
        assert [gapic(q) for q in queries] == [adapter.query(q) for q in queries], "the two ways differ"
        cpu: dict[str, list[float]] = {name: [] for name in ways}
        for round_ in range(args.rounds):   # alternating, and each first half the time
            for name in (("reference", "adapter") if round_ % 2 else ("adapter", "reference")):
                start = time.process_time()
                for query in queries:
                    ways[name](query)
                cpu[name].append(time.process_time() - start)
        adapter.close()
    finally:
        stop.set()
        server.join(timeout=10)
    reference, plain = (statistics.median(cpu[k]) for k in ("reference", "adapter"))
    print(f"{len(queries)} ListTimeSeries reads of one alert, CPU of this process: GAPIC call "
          f"{reference * 1000:.2f} ms, the adapter's plain call {plain * 1000:.2f} ms "
          f"({plain / reference:.2f}x; fails at {REGRESSION}x or above); load average {os.getloadavg()[0]:.1f}")
    return 0 if plain / reference < REGRESSION else 1


if __name__ == "__main__":
    sys.exit(main())
