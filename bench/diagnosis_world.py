"""The LARGE diagnosis case: a busy service's day, as a scenario the stand-ins hold.

24 h of per-minute series for every metric the collection reads (request_count by revision, class
and code; request_latencies; active instances; the connector's instances, CPU and bytes; Cloud SQL
database/up), and a log read of 1,000 entries in the realistic mix a failing service writes: Cloud
Run's own 503 / 504 / 429 request-log texts at varied latencies, database connection errors as each
client stack words them (every example of log_signals.DB_ERROR_TEXTS, with the timestamps and ids
that make each line distinct), startup probe failures, and noise that looks close to a database
error but is not one (Redis, HTTPS on 443, upstream timeouts, tracebacks, slow-request warnings).
Request-log entries that Runwarden's query does not select (200s, INFO on stdout) are seeded too,
so the stand-in filters them out as Logging would.

The incident: backend-00002-xyz was deployed 20 minutes before the alert and the VPC connector
saturated in the same minutes, so the rules have real work to do on every path.
"""
from __future__ import annotations

import random
from typing import Any

from shared.diagnosis.log_signals import DB_ERROR_TEXTS

PROJECT, REGION, SERVICE = "shop-prod", "us-central1", "backend"
OLD, NEW = "backend-00001-abc", "backend-00002-xyz"
CONNECTOR = f"projects/{PROJECT}/locations/{REGION}/connectors/backend-conn"
SQL = f"{PROJECT}:{REGION}:orders-db"
DAY = "-24h"
LOG_ENTRIES = 1000   # entries the service's log query selects; max_log_entries is set to this


def _every_minute(*spans: tuple[str, str, Any]) -> list[dict[str, Any]]:
    return [{"from": start, "to": end, "every": "60s", "value": value} for start, end, value in spans]


def _run_series(revision: str, code_class: str, code: str, *spans: tuple[str, str, Any]) -> dict[str, Any]:
    return {"metric": "run.googleapis.com/request_count",
            "resource": {"type": "cloud_run_revision", "labels": {"service_name": SERVICE, "revision_name": revision}},
            "labels": {"response_code_class": code_class, "response_code": code}, "points": _every_minute(*spans)}


def _timeseries() -> list[dict[str, Any]]:
    on = {"type": "cloud_run_revision", "labels": {"service_name": SERVICE}}
    conn = {"type": "vpc_access_connector", "labels": {"connector_name": "backend-conn"}}

    def on_revision(revision: str) -> dict[str, Any]:
        return {**on, "labels": {**on["labels"], "revision_name": revision}}

    return [
        _run_series(OLD, "2xx", "200", (DAY, "-20m", 120)),
        _run_series(OLD, "4xx", "404", (DAY, "-20m", 3)),
        _run_series(OLD, "5xx", "500", (DAY, "-20m", 0)),
        _run_series(NEW, "2xx", "200", ("-20m", "+2m", 70)),
        _run_series(NEW, "4xx", "429", ("-20m", "+2m", 2)),
        _run_series(NEW, "5xx", "503", ("-20m", "-12m", 1), ("-12m", "+2m", 45)),
        _run_series(NEW, "5xx", "504", ("-20m", "-12m", 0), ("-12m", "+2m", 12)),
        {"metric": "run.googleapis.com/request_latencies", "value_type": "DISTRIBUTION", "resource": on_revision(OLD),
         "labels": {"response_code_class": "2xx"},
         "points": _every_minute((DAY, "-20m", {"samples": [[85, 100], [240, 18], [900, 2]]}))},
        {"metric": "run.googleapis.com/request_latencies", "value_type": "DISTRIBUTION", "resource": on_revision(NEW),
         "labels": {"response_code_class": "2xx"},
         "points": _every_minute(("-20m", "-12m", {"samples": [[90, 60], [260, 10]]}),
                                 ("-12m", "+2m", {"samples": [[31000, 30], [150, 40]]}))},
        {"metric": "run.googleapis.com/container/instance_count", "kind": "GAUGE", "value_type": "INT64",
         "resource": on_revision(OLD), "labels": {"state": "active"}, "points": _every_minute((DAY, "-20m", 4))},
        {"metric": "run.googleapis.com/container/instance_count", "kind": "GAUGE", "value_type": "INT64",
         "resource": on_revision(NEW), "labels": {"state": "active"}, "points": _every_minute(("-20m", "+2m", 6))},
        {"metric": "vpcaccess.googleapis.com/connector/instances", "kind": "GAUGE", "value_type": "INT64",
         "resource": conn, "points": _every_minute((DAY, "-12m", 2), ("-12m", "+2m", 3))},
        {"metric": "vpcaccess.googleapis.com/connector/cpu/utilizations", "kind": "GAUGE",
         "value_type": "DISTRIBUTION", "resource": conn,
         "points": _every_minute((DAY, "-12m", {"samples": [[0.22, 20]]}), ("-12m", "+2m", {"samples": [[0.96, 20]]}))},
        {"metric": "vpcaccess.googleapis.com/connector/received_bytes_count", "resource": conn,
         "points": _every_minute((DAY, "+2m", 90_000_000))},
    ]


# --- the log mix ---------------------------------------------------------------------------------

_REQUEST_TEXT = {
    503: "The request failed because either the HTTP response was malformed or connection to the instance had an "
         "error.",
    504: "The request has been terminated because it has reached the maximum request timeout.",
    429: "The request was aborted because there was no available instance.",
}

_NOISE = (
    "WARNING slow request {ms} ms path=/api/orders/{id} trace={trace}",
    "Error: connect ECONNREFUSED 10.20.0.7:6379 (cache {id})",
    "HTTPSConnectionPool(host='payments.example.com', port=443): Read timed out. (read timeout=10) req={trace}",
    "dial tcp 10.20.0.9:443: i/o timeout while calling inventory {id}",
    "upstream request timeout after {ms} ms",
    'Traceback (most recent call last):\n  File "/app/handlers.py", line {id}, in checkout\n'
    "ValueError: cart {trace} has no items",
    "panic: runtime error: index out of range [{id}] with length 3 (goroutine {ms})",
    "WARN  [pool-1-thread-{id}] c.e.CartService - retrying stock lookup {trace} ({ms} ms)",
    "level=warning msg=\"feature flag fetch failed\" err=\"context deadline exceeded\" flag=checkout-v{id}",
    "grpc: addrConn.createTransport failed to connect to {{payments:50051}}: deadline exceeded {trace}",
)

_STARTUP = (
    'Default STARTUP TCP probe failed 1 time consecutively for container "app" on port 8080. The instance was '
    "not started.",
    "Container failed to start. Failed to start and then listen on the port defined by the PORT environment "
    "variable.",
)


def _log(at: str, log: str, revision: str, **fields: Any) -> dict[str, Any]:
    return {"at": at, "log": log, "service": SERVICE, "revision": revision, **fields}


def _offset(rng: random.Random, start_s: int, end_s: int) -> str:
    return f"{rng.randint(start_s, end_s):+d}s"


def _logs(rng: random.Random) -> list[dict[str, Any]]:
    """Exactly LOG_ENTRIES entries the service's query selects, and 400 it does not."""
    selected: list[dict[str, Any]] = []

    def req(status: int, latency_s: float) -> dict[str, Any]:
        return _log(_offset(rng, -720, 110), "requests", NEW, status=status, latency=f"{latency_s:.3f}s",
                    text=_REQUEST_TEXT[status])

    selected += [req(503, rng.choice((0.012, 10.2, 30.0, 31.4, rng.uniform(0.5, 60)))) for _ in range(330)]
    selected += [req(504, 300.0 + rng.uniform(0, 0.05)) for _ in range(110)]
    selected += [req(429, rng.uniform(0.001, 0.01)) for _ in range(20)]
    for i in range(240):   # ten of each known database text, each line made distinct as a real log is
        text = DB_ERROR_TEXTS[i % len(DB_ERROR_TEXTS)].example
        stamp = f"2026/11/26 11:{rng.randint(40, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999999):06d}"
        selected.append(_log(_offset(rng, -720, 110), "stderr", NEW, severity="ERROR",
                             text=f"{stamp} req={rng.getrandbits(48):012x} {text}"))
    # Two probe failures while the new revision rolled out: fewer than a startup failure needs.
    selected += [_log(_offset(rng, -1200, -1100), "varlog/system", NEW, severity="ERROR", text=_STARTUP[i % 2])
                 for i in range(2)]
    while len(selected) < LOG_ENTRIES:
        line = rng.choice(_NOISE).format(ms=rng.randint(200, 40000), id=rng.randint(1, 9999),
                                         trace=f"{rng.getrandbits(64):016x}")
        log, severity = rng.choice((("stderr", "ERROR"), ("stderr", "WARNING"), ("stdout", "WARNING")))
        selected.append(_log(_offset(rng, -1200, 110), log, rng.choice((NEW, NEW, OLD)), severity=severity,
                             text=line))
    unselected = [_log(_offset(rng, -1200, 110), "requests", NEW, status=200, latency=f"{rng.uniform(0.01, 0.4):.3f}s")
                  for _ in range(300)]
    unselected += [_log(_offset(rng, -1200, 110), "stdout", NEW, severity="INFO",
                        text=f"GET /api/orders/{rng.randint(1, 99999)} 200") for _ in range(100)]
    return selected + unselected


def large_scenario_data(seed: int = 13) -> dict[str, Any]:
    """The scenario as YAML would hold it (sandbox/scenarios.py validates it)."""
    rng = random.Random(seed)
    revision = {"vpc_connector": CONNECTOR, "vpc_egress": "PRIVATE_RANGES_ONLY", "cloudsql_instances": [SQL],
                "timeout": "300s", "max_instances": 20}
    return {
        "name": "large_day", "project": PROJECT, "region": REGION,
        "description": "a day of per-minute series and 1,000 log entries; a deploy and a saturated connector",
        "services": [{"name": SERVICE, "labels": {"runwarden": "enabled"},
                      "revisions": [{"name": OLD, "created": "-3d", "ready": True, **revision},
                                    {"name": NEW, "created": "-20m", "ready": True, **revision}],
                      "traffic": [{"revision": NEW, "percent": 100}]}],
        "connectors": [{"name": "backend-conn", "machine_type": "e2-micro", "min_instances": 2, "max_instances": 3}],
        "sql_instances": [{"name": SQL, "up": _every_minute((DAY, "+2m", 1))}],
        "timeseries": _timeseries(),
        "logs": _logs(rng),
    }
