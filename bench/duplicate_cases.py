"""A duplicate delivery, case by case: its Firestore round trips, in order, and its CPU.

`bench/duplicate_instructions.py` and `bench/alert_path.py --duplicates` measure one case: the very
message redelivered, within the claim's first minutes. A duplicate is also another message of the same
incident (Monitoring publishing it twice, a re-notification, the storm's deliveries: bench/storm.py
publishes each incident's notification D times, each its own message), and it may come long after
the claim (a backlog drained after an outage). This bench handles one bad_revision alert (written),
then the same notification again on the real adapters against the Firestore and Pub/Sub emulators
and the stand-ins, in eight cases:

- the same message again, or another message of the incident (a new message id each delivery);
- a fresh instance (no memory of settled incidents, no document id cached) or one that remembers
  the incident's completed action (`SettledIncidents`);
- within `verification.settle_seconds` of the claim, or after it (the clock moved 10 minutes on):
  after it, another message's duplicate asks whether the sweep has judged the action since
  (`_AlertRun.judged_since`), because a verdict changes the answer (escalated after `verified`:
  docs/behaviour.md). The verdict is kept in the incident's SETTLED record by the commit that judges
  it (settled.write_verdict): the batched read a fresh instance makes answers it, a remembering one
  reads that record alone. `--reference` adds those two cases on state as the version before wrote
  it (no verdict kept there: the query of the incident's action records, as before), interleaved in
  the same run, so the before and after share the machine's load.

For each: the Firestore RPCs one delivery sends, in order (counted at the client's gRPC channel,
sandbox/rpc_count.py; the outcome's Publish is made in every case and not listed), and the
delivery's CPU (`time.process_time`: every thread of the process), the median and the spread of
`--rounds` rounds of `--runs` deliveries each, the cases interleaved round by round so that the
machine's load moves them alike.

    .venv/bin/python bench/duplicate_cases.py [--runs 100] [--rounds 3] [--reference]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from statistics import median
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WARMUP = 20        # deliveries of each case before any is measured
LATER = timedelta(minutes=10)   # past the default settle_seconds (300) since the claim


@dataclass(frozen=True)
class Case:
    same_message: bool
    fresh: bool
    after_settle: bool
    before: bool = False   # on state as the version before wrote it: no verdict kept in SETTLED (`--reference`)

    @property
    def name(self) -> str:
        return (f"{'same message' if self.same_message else 'another message'}, "
                f"{'fresh instance' if self.fresh else 'remembered'}, "
                f"{'after settle' if self.after_settle else 'within settle'}"
                f"{', state as before' if self.before else ''}")


CASES = [Case(same, fresh, later) for later in (False, True) for fresh in (True, False) for same in (True, False)]
# The cases the kept verdict changes, on state without it: each follows its fresh case, so a remembering instance
# remembers what a read of that state found.
REFERENCE = [Case(False, fresh, True, before=True) for fresh in (True, False)]


def _as_before(settled: dict[str, Any]) -> dict[str, Any]:
    """The incident's SETTLED record as the version before wrote it: its entries without the `verdicts` mark, no
    verdict field (shared/remediation/settled.py)."""
    from shared.remediation.records import SETTLED_FIELD_PREFIX, VERDICT_FIELD_PREFIX

    return {name: ({**value, "verdicts": False} if name.startswith(SETTLED_FIELD_PREFIX) else value)
            for name, value in settled.items() if not name.startswith(VERDICT_FIELD_PREFIX)}


def _deliver(case: Case, event: Callable[[str], dict], config: Any, adapters: Any, clocks: dict[bool, Any],
             first_message: str) -> Callable[[], Any]:
    from bench.alert_path import _quiet
    from shared.gcp.firestore import document_id
    from shared.pipeline import handle_delivery
    from shared.remediation.settled import SettledIncidents

    count = [0]

    def one() -> Any:
        count[0] += 1
        if case.fresh:
            adapters.settled = SettledIncidents()
            document_id.cache_clear()
        adapters.clock = clocks[case.after_settle]
        message = first_message if case.same_message else f"{first_message}-{count[0]}"
        return _quiet(lambda: handle_delivery(event(message), config, adapters))

    return one


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="deliveries per case per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reference", action="store_true",
                        help="also another message after settle on state without the kept verdict (as before)")
    args = parser.parse_args()
    cases = CASES + (REFERENCE if args.reference else [])

    from bench.alert_path import _quiet
    from bench.duplicate_instructions import _adapters, written_world
    from sandbox.rpc_count import CountingStateStore, RpcCounter
    from shared.clock import FixedClock
    from shared.pipeline import handle_delivery
    from shared.remediation.records import SETTLED

    project = "bench-duplicate-cases"
    with written_world(project) as (service, topic, data):
        def event(message_id: str) -> dict:
            return {"message": {"data": data, "messageId": message_id}}

        config, adapters = _adapters(project, topic, service)
        counter = RpcCounter()
        adapters.state = CountingStateStore(counter, project)
        first = uuid.uuid4().hex
        written = _quiet(lambda: handle_delivery(event(first), config, adapters))
        assert written.status.value == "applied", written.reason
        incident_id = written.incident_id
        kept = adapters.state.get_record(SETTLED, incident_id)
        settled = {False: kept, True: _as_before(kept)}

        def state_for(case: Case) -> None:
            """The SETTLED record as `case` reads it, written before its deliveries (never timed)."""
            adapters.state.put_record(SETTLED, incident_id, settled[case.before])
        within = adapters.clock
        clocks = {False: within, True: FixedClock(within.now() + LATER)}
        deliveries = {case: _deliver(case, event, config, adapters, clocks, first) for case in cases}
        rpcs: dict[Case, list[str]] = {}
        for case, one in deliveries.items():
            state_for(case)
            for _ in range(WARMUP):
                answered = one()
            assert answered.status.value == "skipped" and answered.reason.startswith("duplicate"), \
                (case.name, answered.status, answered.reason)
            counter.reset()
            one()
            rpcs[case] = [call.rsplit("/", 1)[-1] for call in counter.calls]
        cpu: dict[Case, list[float]] = {case: [] for case in cases}
        load = [os.getloadavg()[0]]
        for _ in range(args.rounds):
            for case, one in deliveries.items():
                if args.reference:
                    state_for(case)
                    one()   # a remembering instance remembers what a read of this state found
                times = []
                for _ in range(args.runs):
                    started = time.process_time()
                    one()
                    times.append(time.process_time() - started)
                cpu[case].append(median(times))
        load.append(os.getloadavg()[0])
    print(f"a duplicate delivery, {args.rounds} rounds of {args.runs} per case, interleaved (load average "
          f"{load[0]:.1f} at the start, {load[1]:.1f} at the end, {os.cpu_count()} CPUs); each also publishes one outcome")
    for case in cases:
        medians = sorted(cpu[case])
        print(f"  {case.name:55} Firestore: {' + '.join(rpcs[case]) or 'none':32} CPU median "
              f"{median(medians) * 1000:.2f} ms (rounds {medians[0] * 1000:.2f}-{medians[-1] * 1000:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
