"""How late a poll schedule notices a done operation, and how many polls it makes: no server, no waiting.

The Run adapter waits on its UpdateService operation with google.api_core's polling
(shared/gcp/run.py, RUN_POLL_INITIAL_DELAY): one poll at once, then before each further poll a sleep
drawn by api_core's own `exponential_sleep_generator` (google/api_core/retry/retry_base.py,
google-api-core 2.44.0: `random.uniform(0.0, delay)`, the delay x multiplier up to the maximum). This
bench draws those sleeps from that same generator (seeded) for an operation that is done `T` seconds
after the first poll, each poll taking `--rtt`, and prints the mean time between the operation being
done and a poll seeing it ("late"), and the mean number of GetOperation calls, per schedule and `T`.

Why: the storm's Run stand-in has no operation duration of its own (sandbox/standins/run.py: done at
its third poll, whenever that comes), so bench/storm.py cannot tell a sooner schedule's real gain from
a shorter modelled operation. Against Cloud Run, whose traffic update takes an undocumented number of
seconds (UNCONFIRMED; Google's Java client first polls it after 5 s: java-run ServicesStubSettings),
only the lateness can shrink, and it is what this prints (docs/performance.md, "Where a first write's
wait goes").

    .venv/bin/python bench/poll_schedule.py [--schedules 1.0,1.5,10 0.25,1.5,10] [--durations 1 2 5 10 30]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from google.api_core.retry.retry_base import exponential_sleep_generator  # noqa: E402

from shared.gcp.run import RUN_POLL_INITIAL_DELAY, RUN_POLL_MAX_DELAY  # noqa: E402

# api_core's DEFAULT_POLLING multiplier (google/api_core/future/polling.py), which the adapter keeps.
API_CORE_MULTIPLIER = 1.5


@dataclass(frozen=True)
class Schedule:
    initial: float
    multiplier: float
    maximum: float

    @staticmethod
    def parse(text: str) -> "Schedule":
        initial, multiplier, maximum = (float(part) for part in text.split(","))
        return Schedule(initial, multiplier, maximum)

    def __str__(self) -> str:
        return f"initial {self.initial:g} s, x{self.multiplier:g}, max {self.maximum:g} s"


def one_wait(schedule: Schedule, done_after: float, rtt: float, timeout: float, rng: random.Random) -> tuple[float, int]:
    """(seconds from done to noticed, polls) for one operation done `done_after` s after the first poll
    is sent; (inf, polls) when `timeout` passes first, as api_core gives up."""
    sleeps = exponential_sleep_generator(schedule.initial, schedule.maximum, schedule.multiplier)
    now, polls = 0.0, 0
    while True:
        now += rtt
        polls += 1
        if now >= done_after:
            return now - done_after, polls
        sleep = next(sleeps)
        if now + sleep > timeout:
            return float("inf"), polls
        now += sleep


def summary(schedule: Schedule, done_after: float, rtt: float, timeout: float, runs: int, seed: int) -> str:
    random.seed(seed)  # exponential_sleep_generator draws from the module's random
    waits = [one_wait(schedule, done_after, rtt, timeout, random) for _ in range(runs)]
    late = statistics.mean(w for w, _ in waits)
    polls = statistics.mean(p for _, p in waits)
    return f"late {late:5.2f} s, {polls:4.1f} polls"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", nargs="+", type=Schedule.parse,
                        default=[Schedule(RUN_POLL_INITIAL_DELAY, API_CORE_MULTIPLIER, RUN_POLL_MAX_DELAY),
                                 Schedule(0.5, API_CORE_MULTIPLIER, RUN_POLL_MAX_DELAY),
                                 Schedule(0.25, API_CORE_MULTIPLIER, RUN_POLL_MAX_DELAY),
                                 Schedule(0.25, API_CORE_MULTIPLIER, 5.0)],
                        help="initial,multiplier,maximum (seconds); the first default is the adapter's")
    parser.add_argument("--durations", nargs="+", type=float, default=[0.5, 1, 2, 5, 10, 30, 90],
                        help="seconds from the first poll until the operation is done")
    parser.add_argument("--rtt", type=float, default=0.05, help="seconds one GetOperation takes")
    parser.add_argument("--timeout", type=float, default=120.0, help="CloudRunAdapter.operation_timeout")
    parser.add_argument("--runs", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    for schedule in args.schedules:
        print(schedule)
        for done_after in args.durations:
            print(f"  done after {done_after:g} s: "
                  f"{summary(schedule, done_after, args.rtt, args.timeout, args.runs, args.seed)}")


if __name__ == "__main__":
    main()
