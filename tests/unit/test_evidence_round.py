"""shared/diagnosis/collection.py: every read one round of the evidence plans is in flight at once.

A round's reads are independent (the service and its revisions; then everything they point at), so
none of them need wait for another's answer. Each read below waits at a barrier until all of the
round's reads have started: it completes only if they are all in flight together, and breaks (the
round raises) when the pool holds some back until others finish, as a pool smaller than the round
did (6 threads for a second round of 12 reads: a second wave, one more read's latency)."""
from __future__ import annotations

import threading

import pytest

from shared.diagnosis import collection
from shared.diagnosis.collection import (ALERT_READS, MAX_API_CALLS, TARGET_CONNECTOR_READS, TARGET_SECRET_READS,
                                         UPTIME_READS, CallBudget, _Reads)

# The largest second round: an alert's whole budget, the rollback target's secret versions' own room with it
# (collection._target_secrets grows the budget by each) and its connector's fullness' (TARGET_CONNECTOR_READS), less
# the first round's two reads. The secret reads are
# planned in that round (collection.collect, before `reads.run()`): tests/infra/test_settings.py counts them as
# adding nothing to the slowest alert only because they are in flight beside the round's other reads.
LARGEST_ROUND = MAX_API_CALLS + ALERT_READS + UPTIME_READS + TARGET_SECRET_READS + TARGET_CONNECTOR_READS - 2

BARRIER_SECONDS = 3.0


@pytest.mark.parametrize("reads", [
    2,                    # the first round: the service and its revisions
    7,                    # one more than the pool held before
    12,                   # a bad_revision alert's second round on the stand-ins
    MAX_API_CALLS - 2,    # the largest second round the sweep's budget allows after the first
    MAX_API_CALLS,        # a round as large as the sweep's whole budget
    LARGEST_ROUND,        # an alert's largest second round, its request log and secret reads in it
])
def test_every_read_of_a_round_is_in_flight_at_once(reads: int) -> None:
    barrier = threading.Barrier(reads, timeout=BARRIER_SECONDS)
    round_ = _Reads(CallBudget(limit=max(reads, MAX_API_CALLS)))   # an alert's budget grows past the sweep's
    for i in range(reads):
        round_.add(f"read{i}", f"read {i}", lambda i=i: (barrier.wait(), i)[1])
    found = round_.run()
    assert found == {f"read{i}": i for i in range(reads)}


def test_the_pool_covers_the_budget() -> None:
    """No read the budget allows is ever queued behind another of its round: the alert's request log and the
    rollback target's secret versions included."""
    assert collection.MAX_CONCURRENT_READS >= (MAX_API_CALLS + ALERT_READS + UPTIME_READS + TARGET_SECRET_READS
                                               + TARGET_CONNECTOR_READS)
