"""How many pushes the Pub/Sub emulator keeps in flight to one endpoint, measured.

An HTTP endpoint in this process answers every push `200 OK` after `--sleep` seconds and counts the
requests open at once; N messages are published over `--subscriptions` push subscriptions (one
topic each) pointed at it. It prints the most pushes seen in flight, the mean (Little's law:
pushes x sleep / elapsed) and the rate. No Runwarden code runs: this measures the emulator alone.

Why it matters: the storm (bench/storm.py) is bounded by how many pushes the emulator has open at
once while the first writes wait on Cloud Run's operation. The emulator
(cloud-pubsub-emulator-0.8.20-all.jar, class com.google.cloud.pubsub.testing.v1.FakePubsubServer
$SubscriptionData, method startPushLoops) starts a fixed two PushLoop runnables per push
subscription, each pulling one message and POSTing it synchronously (PushLoop.dispatchMessages:
Backlog.pull(1), then HttpEndpointPusher.push), on an unbounded cached thread pool
(Executors.newCachedThreadPool in FakePubsubServer's constructor). Neither the CPU count nor a flag
sizes it: its flags are --host, --port, --projects, --iam_host, --iam_port,
--enable_iam_integration and --pull_deadline (Main), and its classes read no system property or
environment variable. `--java-options` (for example -XX:ActiveProcessorCount=8) is passed to the
emulator's JVM through JAVA_TOOL_OPTIONS, to show the figure does not follow the CPUs the JVM sees;
`--subscriptions 2` shows it is per subscription (docs/performance.md, "The emulator's push
window").

    .venv/bin/python bench/push_window.py [--messages 400] [--sleep 0.2] [--subscriptions 1]
                                          [--java-options=-XX:ActiveProcessorCount=8]
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ACK_DEADLINE = 600   # the deployed subscriptions' (infra/locals.tf): no push is redelivered here


@dataclass
class InFlight:
    """Pushes open at once, counted by the endpoint."""
    sleep: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    now: int = 0
    most: int = 0
    answered: int = 0
    seen_at_arrival: dict[int, int] = field(default_factory=dict)   # open pushes (this one included) -> count
    done: threading.Event = field(default_factory=threading.Event)
    expected: int = 0

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.seen_at_arrival[self.now] = self.seen_at_arrival.get(self.now, 0) + 1

    def leave(self) -> None:
        with self.lock:
            self.now -= 1
            self.answered += 1
            if self.answered >= self.expected:
                self.done.set()


def serve(counter: InFlight) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:   # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            counter.enter()
            try:
                time.sleep(counter.sleep)
            finally:
                counter.leave()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:   # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=400)
    parser.add_argument("--sleep", type=float, default=0.2, help="seconds the endpoint holds each push")
    parser.add_argument("--subscriptions", type=int, default=1, help="push subscriptions (one topic each)")
    parser.add_argument("--java-options", default="", help="JAVA_TOOL_OPTIONS for the emulator's JVM")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    from sandbox.emulators import start_pubsub

    if args.java_options:
        os.environ["JAVA_TOOL_OPTIONS"] = args.java_options   # inherited by the emulator's JVM only
    counter = InFlight(sleep=args.sleep, expected=args.messages)
    server = serve(counter)
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/push"
    with start_pubsub("push-window") as pubsub:
        os.environ.pop("JAVA_TOOL_OPTIONS", None)
        topics = [f"window-{k}" for k in range(args.subscriptions)]
        for topic in topics:
            pubsub.ensure_push_subscription(f"{topic}-push", topic, endpoint, ACK_DEADLINE)
        start = time.perf_counter()
        for k, topic in enumerate(topics):
            share = args.messages // len(topics) + (1 if k < args.messages % len(topics) else 0)
            pubsub.publish_many(topic, [b"{}"] * share)
        counter.done.wait(args.timeout)
        elapsed = time.perf_counter() - start
        jvm = [line for line in pubsub.log_tail(200).splitlines() if "JAVA_TOOL_OPTIONS" in line]
    server.shutdown()
    print(f"push window: {args.messages} pushes over {args.subscriptions} subscription(s), each held "
          f"{args.sleep * 1000:.0f} ms by the endpoint" + (f"; emulator JVM: {jvm[0].strip()}" if jvm else ""))
    print(f"  answered {counter.answered} in {elapsed:.1f} s: {counter.answered / elapsed:.1f} pushes/s; "
          f"most in flight {counter.most}; mean in flight {counter.answered * args.sleep / elapsed:.2f}")
    print("  open pushes when one arrived (itself included): " + ", ".join(
        f"{n}: {c}" for n, c in sorted(counter.seen_at_arrival.items())))
    return 0 if counter.answered >= args.messages else 1


if __name__ == "__main__":
    sys.exit(main())
