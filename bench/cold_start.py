"""A cold instance's first write against a warm instance's, in the same run.

The local stack of `sandbox/stack.py` (Firestore and Pub/Sub emulators, the API stand-ins) and
functions-framework serving on_alert from the real main.py, started as a deployed instance is:
`python -m functions_framework --target on_alert` (gunicorn imports main in its master, forks the
worker). Each alert is a Pub/Sub push body POSTed to the function, as Pub/Sub would push it; the
first write is the moment the Run stand-in receives UpdateService (polled from this process).
Each round starts fresh instances and measures, for a bad_revision alert (a new incident each time):

  started ahead   the alert arrives once the worker has reported its warm-up ready (an instance
                  kept by min instances, or started before the alert reached it):
                  first request -> first write. The goal: at most GOAL x warm.
  request waiting the alert is pushed as soon as the port accepts (scale from zero, the alert
                  waiting for the instance): process start -> first write, and first request ->
                  first write. Reported: this one includes the imports, whatever runs them.
                  Also the instance's CPU until its first write (master and worker, read from /proc
                  the moment the write arrives): on a shared machine the wall times mostly measure
                  the queue for a core, and this does not.
  warm            a further alert to an instance that has handled one: first request -> first write.

Between alerts Firestore is emptied and the service's traffic restored, so every alert writes.
One unmeasured instance handles alerts first: the emulators' JVMs answer their first requests
slowly, and that is the emulators' cold start, not the function's.
The run fails only on a regression: the warm-up never reported ready, or started-ahead cold over
REGRESSION x warm (timings on a shared machine are noisy).

    .venv/bin/python bench/cold_start.py [--runs 5]
    .venv/bin/python bench/cold_start.py --runs 5 --reference ../before   # another checkout, same run
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.storm import cpu_seconds, group  # noqa: E402 - after the path

GOAL = 2.0           # started-ahead cold first write within 2x the warm one
REGRESSION = 4.0     # fails above this: the background build no longer helps
READY_TIMEOUT = 90.0


@dataclass
class Sample:
    request_to_write: float
    start_to_write: float | None = None
    cpu_to_write: float | None = None     # the instance's processes' CPU seconds, when asked for


class Bench:
    def __init__(self, sandbox: Any) -> None:
        from shared.gcp.run import CloudRunAdapter

        self.sandbox = sandbox
        os.environ.update(sandbox.standins.env())
        self.run = CloudRunAdapter(poll_initial_delay=0.01, poll_max_delay=0.05)
        self.service = sandbox.scenario.service_name(sandbox.scenario.services[0].name)
        self.original = self.run.get_service(self.service).traffic

    def restore(self) -> None:
        """Back to the incident: Firestore empty, the bad revision serving again."""
        self.sandbox.firestore.reset()
        self.run.set_traffic(self.service, self.original, self.run.get_service(self.service).etag)

    def alert(self, port: int, started: float | None = None, pgid: int | None = None) -> Sample:
        """POSTs one alert; the time until the Run stand-in receives the write (and, given the
        instance's process group, the CPU its processes had spent by then)."""
        from sandbox.stack import ALERTS_TOPIC

        run_standin = self.sandbox.standins.run
        writes_before = run_standin.count("UpdateService")
        notification = self.sandbox.scenario.notification(self.sandbox.anchor, incident_id=f"0.{uuid.uuid4().hex[:12]}")
        push = {"subscription": f"projects/{self.sandbox.project}/subscriptions/bench",
                "message": {"data": base64.b64encode(json.dumps(notification).encode()).decode(),
                            "messageId": uuid.uuid4().hex, "publishTime": datetime.now(timezone.utc).isoformat()}}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/projects/{self.sandbox.project}/topics/{ALERTS_TOPIC}",
            data=json.dumps(push).encode(), headers={"Content-Type": "application/json"}, method="POST")
        written: list[float] = []
        cpu: list[float] = []
        done = threading.Event()

        def watch() -> None:   # the first write's arrival at the stand-in
            while not done.is_set():
                if run_standin.count("UpdateService") > writes_before:
                    written.append(time.perf_counter())
                    if pgid is not None:
                        cpu.append(cpu_seconds(group(pgid)))
                    return
                time.sleep(0.0005)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        sent = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            status = response.status
        done.set()
        watcher.join()
        if status >= 300 or not written:
            raise RuntimeError(f"the alert was not applied (HTTP {status}, writes {len(written)})")
        return Sample(written[0] - sent, written[0] - started if started is not None else None,
                      cpu[0] if cpu else None)


def wait_ready(server: Any, timeout: float = READY_TIMEOUT) -> dict[str, Any]:
    """The worker's warm_up line (the one that built the clients)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in server.timeline():
            details = line.get("runwarden", {})
            if details.get("step") == "warm_up" and details.get("build_clients"):
                return details
        if server.process.poll() is not None:
            raise RuntimeError(f"functions-framework exited with {server.process.returncode}")
        time.sleep(0.02)
    raise TimeoutError("the worker never reported its warm-up")


def start_instance(sandbox: Any, checkout: Path | None = None) -> tuple[Any, float]:
    """A fresh functions-framework process serving on_alert (from `checkout`, or this one), once its
    port accepts; (server, the moment it was started)."""
    started = time.perf_counter()
    return sandbox.start_function("on_alert", timeout=READY_TIMEOUT, checkout=checkout), started


@dataclass
class Samples:
    ahead: list[Sample]
    waiting: list[Sample]
    warm: list[Sample]
    warm_ups: list[dict[str, Any]]


def one_round(sandbox: Any, bench: Bench, samples: Samples, checkout: Path | None) -> None:
    # Started ahead: the alert arrives after the worker's warm-up.
    server, _ = start_instance(sandbox, checkout)
    try:
        samples.warm_ups.append(wait_ready(server))
        samples.ahead.append(bench.alert(server.port))
        for _ in range(2):
            bench.restore()
            samples.warm.append(bench.alert(server.port))
        bench.restore()
    finally:
        server.stop()
    # Request waiting: the alert is pushed as soon as the port accepts.
    server, started = start_instance(sandbox, checkout)
    try:
        # started with start_new_session: its process group is the master's pid
        samples.waiting.append(bench.alert(server.port, started, pgid=server.process.pid))
        bench.restore()
    finally:
        server.stop()


def med(values: list[float]) -> float:
    return statistics.median(values) * 1000


def report(samples: Samples, label: str = "") -> tuple[float, float, float]:
    """Prints one code's figures; (started-ahead / warm, waiting's CPU ms, waiting's wall from start ms)."""
    warm_ms = med([s.request_to_write for s in samples.warm])
    ahead_ms = med([s.request_to_write for s in samples.ahead])
    waiting_req = med([s.request_to_write for s in samples.waiting])
    waiting_start = med([s.start_to_write for s in samples.waiting if s.start_to_write is not None])
    waiting_cpu = med([s.cpu_to_write for s in samples.waiting if s.cpu_to_write is not None])
    warm_up_s = statistics.median(w["seconds"] for w in samples.warm_ups)
    if label:
        print(f"--- {label}")
    print(f"worker warm-up (clients, after the fork): median {warm_up_s * 1000:.0f} ms; clients "
          f"{', '.join(samples.warm_ups[0]['clients'])}")
    print(f"warm:            first request -> first write  {warm_ms:7.1f} ms  ({len(samples.warm)} alerts)")
    print(f"started ahead:   first request -> first write  {ahead_ms:7.1f} ms  ({ahead_ms / warm_ms:.2f}x warm)")
    print(f"request waiting: first request -> first write  {waiting_req:7.1f} ms  ({waiting_req / warm_ms:.2f}x warm)")
    print(f"request waiting: process start -> first write  {waiting_start:7.1f} ms  ({waiting_start / warm_ms:.2f}x warm)")
    print(f"request waiting: the instance's CPU by its first write  {waiting_cpu:7.0f} ms (master and worker)")
    return ahead_ms / warm_ms, waiting_cpu, waiting_start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reference", type=Path, default=None,
                        help="another checkout (e.g. a worktree of the code before a change): its instances "
                             "are measured in the same run, rounds alternating, and compared")
    args = parser.parse_args()

    from sandbox.stack import Sandbox

    anchor = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=2)
    codes: dict[str, Path | None] = {"this checkout": None}
    if args.reference is not None:
        codes = {f"reference ({args.reference})": args.reference.resolve(), "this checkout": None}
    samples = {label: Samples([], [], [], []) for label in codes}
    loads = []
    with Sandbox("bad_revision", anchor=anchor) as sandbox:
        bench = Bench(sandbox)
        # The emulators' JVMs and the stand-ins serve their first requests slowly: one instance,
        # not measured, handles alerts first so that every measured one meets warm servers.
        server, _ = start_instance(sandbox)
        try:
            wait_ready(server)
            for _ in range(3):
                bench.alert(server.port)
                bench.restore()
        finally:
            server.stop()
        for number in range(args.runs):
            order = list(codes) if number % 2 == 0 else list(codes)[::-1]   # neither always first
            for label in order:
                loads.append(os.getloadavg()[0])
                one_round(sandbox, bench, samples[label], codes[label])

    print(f"load average during the run: {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores")
    results = {label: report(samples[label], label if len(codes) > 1 else "") for label in codes}
    ratio, cpu, start = results["this checkout"]
    if args.reference is not None:
        _, ref_cpu, ref_start = results[next(iter(codes))]
        print(f"request waiting, this checkout / the reference: CPU by the first write {cpu / ref_cpu:.2f}x, "
              f"process start -> first write {start / ref_start:.2f}x")
    verdict = "meets" if ratio <= GOAL else "misses"
    print(f"ratio cold (started ahead) / warm = {ratio:.2f}  ({verdict} the {GOAL}x goal; fails above {REGRESSION}x)")
    return 0 if ratio <= REGRESSION else 1


if __name__ == "__main__":
    sys.exit(main())
