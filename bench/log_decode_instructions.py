"""Instructions one log entry's decoding executes (`shared.gcp.logging.record_from_entry`), counted by
valgrind's cachegrind, per shape of entry; and the LARGE case's whole decoding from the wire.

CPU time on a machine shared with other work moves with the neighbours; instruction counts do not
(docs/performance.md, "Diagnosis"). Each count is a difference of two runs of one worker process:

- a shape (`pino-info`, `zap-error`, ...): a ListLogEntries page of 1,000 entries of that shape is
  parsed, then 1,000 entries decoded, less the same worker decoding none: one entry's decoding. The
  entries are what Cloud Run's logging agent writes for a structured line of that logger (stdout,
  the revision's resource labels, an instance id label, a trace) or for a request (the request log's
  httpRequest); each has its own insert id and time.
- `large`: the LARGE case's Logging and Monitoring answers (bench/diagnosis_speed.py, Wire) decoded
  into the evidence bundle 10 times, caches cleared before each, less the clearing alone: the wire
  pass of bench/diagnosis_speed.py without its diagnose().

    .venv/bin/python bench/log_decode_instructions.py                 # every shape, then large
    .venv/bin/python bench/log_decode_instructions.py zap-error large

The hash seed is fixed (PYTHONHASHSEED=0).
"""
from __future__ import annotations

import argparse
import os
import pickle
import re
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = 1000
WIRE_RUNS = 10
T0 = datetime(2026, 11, 26, 11, 58, 3, tzinfo=timezone.utc)
REVISION = {"service_name": "orders", "revision_name": "orders-00042-kex", "location": "us-central1",
            "configuration_name": "orders", "project_id": "shop-prod"}
_PG_STACK = ("Error: connect ECONNREFUSED 10.8.0.3:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] "
             "(node:net:1555:16)")
_PY_TRACE = ("Traceback (most recent call last):\n  File \"/app/db.py\", line 41, in fetch\n    conn = pool.getconn()\n"
             "psycopg2.OperationalError: connection to server at \"10.8.0.3\", port 5432 failed: Connection refused\n"
             "\tIs the server running on that host and accepting TCP/IP connections?")

# jsonPayload of each structured shape (as the logger writes the line) and its LogSeverity:
# 0 (DEFAULT) where Logging finds no `severity` key and the level is the logger's own.
JSON_SHAPES = {
    # pino at info (its default keys: level, time, pid, hostname, msg; pino-http's req/res/responseTime)
    "pino-info": (0, {"level": 30, "time": 1764158283123, "pid": 1, "hostname": "localhost", "msg": "request completed",
                      "req": {"id": 812, "method": "GET", "url": "/api/orders/7731"}, "res": {"statusCode": 200},
                      "responseTime": 14}),
    # pino at error with its `err` object (pino-std-serializers: type, message, stack)
    "pino-err": (0, {"level": 50, "time": 1764158283123, "pid": 1, "hostname": "localhost",
                     "err": {"type": "Error", "message": "connect ECONNREFUSED 10.8.0.3:5432", "stack": _PG_STACK,
                             "errno": -111, "code": "ECONNREFUSED", "syscall": "connect", "address": "10.8.0.3",
                             "port": 5432},
                     "msg": "query failed"}),
    # pino at info with an application's own error key
    "pino-dberror": (0, {"level": 30, "time": 1764158283123, "pid": 1, "hostname": "localhost",
                         "msg": "retrying order lookup", "attempt": 2,
                         "dbError": "connect ETIMEDOUT 10.8.0.3:5432", "orderId": "7731"}),
    # zap's production encoder at error: level, ts, caller, msg, error, stacktrace
    "zap-error": (0, {"level": "error", "ts": 1764158283.123, "caller": "store/pool.go:88", "msg": "acquire connection",
                      "error": "failed to connect to `host=10.8.0.3 user=orders database=orders`: dial error (dial tcp "
                               "10.8.0.3:5432: connect: connection timed out)",
                      "stacktrace": "main.(*Store).Get\n\t/app/store/pool.go:88\nmain.handler\n\t/app/main.go:42"}),
    # zap at info, no error
    "zap-info": (0, {"level": "info", "ts": 1764158283.123, "caller": "http/server.go:120", "msg": "served",
                     "path": "/api/orders/7731", "status": 200, "duration": 0.014}),
    # structlog's JSONRenderer with add_log_level, TimeStamper and format_exc_info, severity mapped
    "structlog-exception": (500, {"event": "order lookup failed", "level": "error", "timestamp": "2026-11-26T11:58:03Z",
                                  "logger": "orders.db", "order_id": 7731, "exception": _PY_TRACE}),
    # python-json-logger's JsonFormatter with "%(asctime)s %(levelname)s %(name)s %(message)s"
    "python-json-logger": (0, {"asctime": "2026-11-26 11:58:03,123", "levelname": "ERROR", "name": "orders.db",
                               "message": "order lookup failed", "exc_info": _PY_TRACE}),
}
SHAPES = (*JSON_SHAPES, "request-log", "request-log-error", "text")


def _entry(shape: str, i: int):
    """One LogEntry of `shape`, the i-th of its page (own insert id and time)."""
    from google.cloud.logging_v2.types import LogEntry

    raw = LogEntry.pb()()
    stamp = T0 - timedelta(milliseconds=37 * i)
    raw.timestamp.FromDatetime(stamp)
    raw.receive_timestamp.FromDatetime(stamp + timedelta(milliseconds=180))
    raw.insert_id = f"{0x65a3f1 + i:x}000c1d2e3f4a5b6c"
    raw.resource.type = "cloud_run_revision"
    raw.resource.labels.update(REVISION)
    raw.labels["instanceId"] = "00f46b9285a9f2e1b9c8d3e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0"
    raw.trace = "projects/shop-prod/traces/4bf92f3577b34da6a3ce929d0e0e4736"
    if shape in JSON_SHAPES:
        severity, payload = JSON_SHAPES[shape]
        raw.log_name = "projects/shop-prod/logs/run.googleapis.com%2Fstdout"
        raw.severity = severity
        raw.json_payload.update(payload)
    elif shape == "text":
        raw.log_name = "projects/shop-prod/logs/run.googleapis.com%2Fstderr"
        raw.text_payload = "2026/11/26 11:58:03 dial tcp 10.8.0.3:5432: i/o timeout"
    else:   # Cloud Run's request log: an httpRequest, a text only on a failure it explains
        raw.log_name = "projects/shop-prod/logs/run.googleapis.com%2Frequests"
        request = raw.http_request
        request.request_method, request.request_url = "GET", "https://orders-abc123-uc.a.run.app/api/orders/7731"
        request.request_size, request.response_size, request.protocol = 512, 1043, "HTTP/1.1"
        request.user_agent, request.remote_ip, request.server_ip = "Go-http-client/2.0", "203.0.113.7", "216.239.32.53"
        request.latency.seconds, request.latency.nanos = 0, 14_000_000 + i
        request.status = 200
        raw.severity = 200
        if shape == "request-log-error":
            request.status, raw.severity = 503, 500
            request.latency.seconds = 10
            raw.text_payload = ("The request failed because either the HTTP response was malformed or connection to "
                                "the instance had an error. Additional troubleshooting documentation can be found at: "
                                "https://cloud.google.com/run/docs/troubleshooting#malformed-response-or-connection-error")
    return raw


def shape_worker(shape: str, decode: int) -> None:
    sys.path.insert(0, str(ROOT))
    from google.cloud.logging_v2.types import ListLogEntriesResponse

    from bench.diagnosis_speed import forget
    from shared.gcp.logging import record_from_entry

    page = ListLogEntriesResponse.pb()(entries=[_entry(shape, i) for i in range(ENTRIES)])
    entries = type(page).FromString(page.SerializeToString()).entries   # parsed, as the wire path's are
    # A read's first entry outside the difference: the imports, what a process builds once (the needle
    # automaton; forget() clears it too) and what a read's first entry fills (its labels, its log id).
    forget()
    record_from_entry(_entry(shape, ENTRIES))
    for entry in entries[:decode]:
        record_from_entry(entry)


def wire_worker(path: str, runs: int, decode: bool) -> None:
    sys.path.insert(0, str(ROOT))
    import shared.gcp.logging  # noqa: F401
    import shared.gcp.monitoring  # noqa: F401
    from bench.diagnosis_speed import forget
    from shared.diagnosis.log_signals import bytes_hold_a_needle

    wire = pickle.loads(Path(path).read_bytes())
    wire.evidence()
    for _ in range(runs):
        forget()
        bytes_hold_a_needle(b"")   # built once a process, not once a read: rebuilt after forget() outside the difference
        if decode:
            wire.evidence()


def _instructions(args: list[str]) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                           sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=True)
    found = re.search(r"I\s+refs\s*:\s*([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def _large_wire(path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from bench.diagnosis_speed import Wire, large_settings, record
    from bench.diagnosis_world import large_scenario_data
    from sandbox.scenarios import Scenario

    recorded, settings = large_settings()
    captured: dict = {}
    bundle = record(Scenario.model_validate(large_scenario_data()), recorded, wire=captured)
    wire = Wire(bundle, captured, settings.max_log_entries)
    assert wire.evidence() == bundle, "the captured answers do not decode to the recorded evidence"
    path.write_bytes(pickle.dumps(wire))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="*", help=f"shapes ({', '.join(SHAPES)}) and/or large; all when none")
    parser.add_argument("--shape-worker", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--wire-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.shape_worker:
        shape_worker(args.shape_worker[0], int(args.shape_worker[1]))
        return 0
    if args.wire_worker:
        wire_worker(args.wire_worker[0], int(args.wire_worker[1]), args.wire_worker[2] == "1")
        return 0
    wanted = args.what or [*SHAPES, "large"]
    unknown = set(wanted) - {*SHAPES, "large"}
    if unknown:
        parser.error(f"unknown: {', '.join(sorted(unknown))}")
    for shape in (s for s in wanted if s != "large"):
        both = _instructions(["--shape-worker", shape, str(ENTRIES)])
        none = _instructions(["--shape-worker", shape, "0"])
        print(f"{shape}: {(both - none) / ENTRIES / 1e3:.1f} thousand instructions an entry")
    if "large" in wanted:
        with tempfile.TemporaryDirectory(prefix="runwarden-decode-") as tmp:
            path = Path(tmp) / "wire.pickle"
            _large_wire(path)
            both = _instructions(["--wire-worker", str(path), str(WIRE_RUNS), "1"])
            none = _instructions(["--wire-worker", str(path), str(WIRE_RUNS), "0"])
            print(f"large, the evidence from the wire: {(both - none) / WIRE_RUNS / 1e6:.2f} million instructions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
