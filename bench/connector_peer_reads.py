"""Wall time of a service alert's reads of its connector's other managed users (scope.service_peers_held), by how
many there are: each peer costs its GetService, its ListRevisions and a round of request metrics.

The busy-clean-peer scenario, its peer (statements) copied so that 1, 3 or 6 other managed services share the
connector, read from the in-process stand-ins through the real adapters, every call held `--latency` seconds at the
stand-in (Faults.add_latency, as a network round trip would). The alerting service's own diagnosis is read once per
run, outside the window; the window is service_peers_held alone, on the wall clock (it waits, it does not compute).
Reported, never judged: the figures are the round trips' count times the latency, plus what the machine adds.

Then a connector alert's lookup of who is behind its connector (scope.users, as the sweep's and an approve's
lookups make it: collection.users_of over every managed service, GetService then ListRevisions each): the
connector_alert_shared scenario with its payments copied so that 2, 4 or 7 managed services share the connector,
the window that lookup alone.

Then that alert's users, each collected and diagnosed once found (scope.diagnose_users: at once on the peers' pool;
a tree without it, one after another as before), every call (Cloud Run, Monitoring, Logging, VPC Access) held
`--latency` seconds, the lookup made once outside the window.

    PYTHONPATH=. .venv/bin/python bench/connector_peer_reads.py [--latency 0.05] [--runs 3] [--only diagnoses]
        [--users 2 4 7]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCENARIO = "service_alert_saturation_busy_clean_peer_shared_connector"
PEER = "statements"
COPIES = ("payments", "reports", "billing", "ledgerweb", "invoices")


def measure(peers: int, latency: float, runs: int) -> list[float]:
    from cli._inputs import environment
    from cli.eval import ANCHOR
    from sandbox.scenarios import resolve_scenario, start_seeded, with_copies
    from shared.config import parse_config
    from shared.diagnosis.collection import Readers
    from shared.diagnosis.scope import diagnose_service, service_peers_held
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter

    scenario = with_copies(resolve_scenario(SCENARIO), PEER, COPIES[:peers - 1])
    incident = _incident(scenario)
    config = parse_config(scenario.config_data(f"projects/{scenario.project}/topics/runwarden-outcomes"),
                          source=scenario.name)
    now = ANCHOR + scenario.delivered
    seconds = []
    with start_seeded(scenario, anchor=ANCHOR) as standins, environment(standins.env()):
        readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(), logging=CloudLoggingAdapter(),
                          vpcaccess=VpcAccessAdapter())
        try:
            result = diagnose_service(incident.target.name, incident, config, readers, now)
            for service in (standins.run, standins.monitoring):
                service.faults.add_latency(latency)
            for _ in range(runs):
                started = time.perf_counter()
                held = _peers_held(service_peers_held, result, config, readers, now)
                seconds.append(time.perf_counter() - started)
            assert held.signature.value == "inconclusive", held.summary
        finally:
            readers.close()
    return seconds


CONNECTOR_SCENARIO = "connector_alert_shared"
USER = "payments"
USER_COPIES = ("reports", "billing", "ledgerweb", "invoices", "statements")


def measure_users(managed: int, latency: float, runs: int) -> list[float]:
    """scope.users for a connector alert whose connector `managed` managed services share, each call held `latency`."""
    from cli._inputs import environment
    from cli.eval import ANCHOR
    from sandbox.scenarios import start_seeded
    from shared.diagnosis.collection import Readers
    from shared.diagnosis.scope import users
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run import CloudRunAdapter

    scenario, config = _connector_users(managed)
    incident = _incident(scenario)
    seconds = []
    with start_seeded(scenario, anchor=ANCHOR) as standins, environment(standins.env()):
        readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter())
        try:
            standins.run.faults.add_latency(latency)
            for _ in range(runs):
                started = time.perf_counter()
                found = users(incident.target, config, readers)
                seconds.append(time.perf_counter() - started)
            assert len(found.services) == managed, found
        finally:
            readers.close()
    return seconds


def measure_diagnoses(managed: int, latency: float, runs: int) -> list[float]:
    """A connector alert's users, each collected and diagnosed (scope.diagnose_users where the tree has it, else
    diagnose_service one after another, as before), `managed` managed services behind the connector, every call held
    `latency` at the stand-in. Who is behind it (scope.users) is read once, outside the window."""
    from cli._inputs import environment
    from cli.eval import ANCHOR
    from sandbox.scenarios import start_seeded
    from shared.diagnosis import scope
    from shared.diagnosis.collection import Readers
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter

    scenario, config = _connector_users(managed)
    incident = _incident(scenario)
    now = ANCHOR + scenario.delivered
    seconds = []
    with start_seeded(scenario, anchor=ANCHOR) as standins, environment(standins.env()):
        readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(), logging=CloudLoggingAdapter(),
                          vpcaccess=VpcAccessAdapter())
        try:
            found = scope.users(incident.target, config, readers)
            for service in (standins.run, standins.monitoring, standins.logging, standins.vpcaccess):
                service.faults.add_latency(latency)
            for _ in range(runs):
                started = time.perf_counter()
                results = _diagnosed(scope, found, incident, config, readers, now)
                seconds.append(time.perf_counter() - started)
            assert len(results) == managed, results
        finally:
            readers.close()
    return seconds


def _diagnosed(scope, found, incident, config, readers, now) -> list:
    if hasattr(scope, "diagnose_users"):
        return list(scope.diagnose_users(found, incident, config, readers, now).results)
    return [scope.diagnose_service(s, incident, config, readers, now, found=found)
            for s in (*found.services, *found.by_number)]


def _connector_users(managed: int):
    """connector_alert_shared with payments copied so that `managed` managed services share its connector, and the
    config naming them all."""
    from sandbox.scenarios import resolve_scenario, with_copies
    from shared.config import parse_config

    copies = USER_COPIES[:managed - 2]
    scenario = with_copies(resolve_scenario(CONNECTOR_SCENARIO), USER, copies)
    data = scenario.config_data(f"projects/{scenario.project}/topics/runwarden-outcomes")
    region = data["services"][0]["name"].split("/")[3]
    data["services"] = [*data["services"], *({"name": f"projects/{scenario.project}/locations/{region}/services/{c}"}
                                             for c in copies)]
    return scenario, parse_config(data, source=scenario.name)


def _peers_held(read, result, config, readers, now):
    """service_peers_held as each tree takes it (`again`, the caller's words, where it is asked for)."""
    import inspect

    words = {"again": ""} if "again" in inspect.signature(read).parameters else {}
    return read(result, config, readers, now, **words)


def _incident(scenario):
    from cli.eval import ANCHOR
    from shared.alerts.incidents import parse_notification

    return parse_notification(scenario.message_data(ANCHOR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds each call is held at the stand-in")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--users", type=int, nargs="*", default=[2, 4, 7],
                        help="how many managed services behind the connector, for the users' diagnoses")
    parser.add_argument("--only", choices=("peers", "lookups", "diagnoses"), default=None,
                        help="one of the three measures alone")
    args = parser.parse_args()
    if args.only in (None, "peers"):
        _peers(args)
    if args.only in (None, "lookups"):
        _lookups(args)
    if args.only in (None, "diagnoses"):
        _diagnoses(args)


def _peers(args) -> None:
    print(f"service_peers_held, each call held {args.latency * 1000:.0f} ms at the stand-in, median of {args.runs}")
    for peers in (1, 3, 6):
        seconds = measure(peers, args.latency, args.runs)
        print(f"  {peers} peer(s): {statistics.median(seconds):.3f} s "
              f"({statistics.median(seconds) / args.latency:.1f} call latencies)")


def _lookups(args) -> None:
    print(f"a connector alert's lookup of its users (scope.users), each call held {args.latency * 1000:.0f} ms at the "
          f"stand-in, median of {args.runs}")
    for managed in (2, 4, 7):
        seconds = measure_users(managed, args.latency, args.runs)
        print(f"  {managed} managed service(s): {statistics.median(seconds):.3f} s "
              f"({statistics.median(seconds) / args.latency:.1f} call latencies)")


def _diagnoses(args) -> None:
    print(f"a connector alert's users collected and diagnosed (scope.diagnose_users), each call held "
          f"{args.latency * 1000:.0f} ms at the stand-in, median of {args.runs}")
    for managed in args.users:
        seconds = measure_diagnoses(managed, args.latency, args.runs)
        print(f"  {managed} user(s): {statistics.median(seconds):.3f} s "
              f"({statistics.median(seconds) / args.latency:.1f} call latencies)")


if __name__ == "__main__":
    main()
