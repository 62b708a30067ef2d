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
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SCENARIO = "service_alert_saturation_busy_clean_peer_shared_connector"
PEER = "statements"
COPIES = ("payments", "reports", "billing", "ledgerweb", "invoices")


def measure(peers: int, latency: float, runs: int) -> list[float]:
    """service_peers_held for the busy-clean-peer alert with `peers` other managed users, each Run and Monitoring
    call held `latency`; the alerting service's own diagnosis read once, outside the window."""
    from cli.eval import ANCHOR
    from sandbox.scenarios import resolve_scenario, with_copies
    from shared.config import parse_config
    from shared.diagnosis.scope import diagnose_service, service_peers_held

    scenario = with_copies(resolve_scenario(SCENARIO), PEER, COPIES[:peers - 1])
    incident = _incident(scenario)
    config = parse_config(scenario.config_data(f"projects/{scenario.project}/topics/runwarden-outcomes"),
                          source=scenario.name)
    now = ANCHOR + scenario.delivered
    with _seeded(scenario) as (standins, readers):
        result = diagnose_service(incident.target.name, incident, config, readers, now)
        _slowed(latency, standins.run, standins.monitoring)
        seconds, held = _timed(runs, lambda: _peers_held(service_peers_held, result, config, readers, now))
    assert held.signature.value == "inconclusive", held.summary
    return seconds


CONNECTOR_SCENARIO = "connector_alert_shared"
USER = "payments"
USER_COPIES = ("reports", "billing", "ledgerweb", "invoices", "statements",
               *(f"payments{i:02d}" for i in range(1, 60)))   # a connector shared by many services (--users 30)


def measure_users(managed: int, latency: float, runs: int) -> list[float]:
    """scope.users for a connector alert whose connector `managed` managed services share, each call held `latency`."""
    from shared.diagnosis.scope import users

    scenario, config = _connector_users(managed)
    incident = _incident(scenario)
    with _seeded(scenario) as (standins, readers):
        _slowed(latency, standins.run)
        seconds, found = _timed(runs, lambda: users(incident.target, config, readers))
    assert len(found.services) == managed, found
    return seconds


def measure_diagnoses(managed: int, latency: float, runs: int) -> list[float]:
    """A connector alert's users, each collected and diagnosed (scope.diagnose_users where the tree has it, else
    diagnose_service one after another, as before), `managed` managed services behind the connector, every call held
    `latency` at the stand-in. Who is behind it (scope.users) is read once, outside the window."""
    from cli.eval import ANCHOR
    from shared.diagnosis import scope

    scenario, config = _connector_users(managed)
    incident = _incident(scenario)
    now = ANCHOR + scenario.delivered
    with _seeded(scenario) as (standins, readers):
        found = scope.users(incident.target, config, readers)
        _slowed(latency, standins.run, standins.monitoring, standins.logging, standins.vpcaccess)
        with _peak_diagnoses() as peak:
            seconds, results = _timed(runs, lambda: _diagnosed(scope, found, incident, config, readers, now))
    assert len(results) == managed, results
    # The answers in the config's order, whichever ended first; at most the peers' pool's users diagnosed at once.
    assert [r.service for r in results] == [m.name for m in config.services], [r.service for r in results]
    print(f"    {managed} users: at most {peak[0]} diagnosed at once (scope.PEERS_AT_ONCE "
          f"{getattr(scope, 'PEERS_AT_ONCE', '-')}), answers in the config's order")
    return seconds


@contextmanager
def _peak_diagnoses() -> Iterator[list[int]]:
    """The most users' diagnose_service calls running at one time while inside (a one-item list, filled in)."""
    from shared.diagnosis import scope

    peak, now, lock, real = [0], [0], __import__("threading").Lock(), scope.diagnose_service

    def counted(*args: Any, **kwargs: Any) -> Any:
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                now[0] -= 1

    scope.diagnose_service = counted
    try:
        yield peak
    finally:
        scope.diagnose_service = real


@contextmanager
def _seeded(scenario: Any) -> Iterator[tuple[Any, Any]]:
    """The scenario seeded into in-process stand-ins, the environment pointed at them, and readers through the real
    adapters (closed after)."""
    from cli._inputs import environment
    from cli.eval import ANCHOR
    from sandbox.scenarios import start_seeded
    from shared.diagnosis.collection import Readers
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter

    with start_seeded(scenario, anchor=ANCHOR) as standins, environment(standins.env()):
        readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(), logging=CloudLoggingAdapter(),
                          vpcaccess=VpcAccessAdapter())
        try:
            yield standins, readers
        finally:
            readers.close()


def _slowed(latency: float, *standins: Any) -> None:
    """Every call to each stand-in held `latency` seconds (Faults.add_latency, as a network round trip would)."""
    for standin in standins:
        standin.faults.add_latency(latency)


def _timed(runs: int, call: Callable[[], Any]) -> tuple[list[float], Any]:
    """`call` made `runs` times: the wall time of each, and the last answer."""
    seconds, answer = [], None
    for _ in range(runs):
        started = time.perf_counter()
        answer = call()
        seconds.append(time.perf_counter() - started)
    return seconds, answer


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
    assert len(copies) == managed - 2, f"at most {len(USER_COPIES) + 2} managed services"
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
    _report(args, "service_peers_held", (1, 3, 6), measure, "peer(s)")


def _lookups(args) -> None:
    _report(args, "a connector alert's lookup of its users (scope.users)", (2, 4, 7), measure_users,
            "managed service(s)")


def _diagnoses(args) -> None:
    _report(args, "a connector alert's users collected and diagnosed (scope.diagnose_users)", args.users,
            measure_diagnoses, "user(s)")


def _report(args, what: str, sizes, measured: Callable[[int, float, int], list[float]], unit: str) -> None:
    """`measured` at each size, its median wall time, and that in call latencies."""
    print(f"{what}, each call held {args.latency * 1000:.0f} ms at the stand-in, median of {args.runs}")
    for size in sizes:
        median = statistics.median(measured(size, args.latency, args.runs))
        print(f"  {size} {unit}: {median:.3f} s ({median / args.latency:.1f} call latencies)")


if __name__ == "__main__":
    main()
