"""The timeline's Monitoring reads are counted as they are made, so its timeout's count of them is true.

The timeline's function timeout (infra/locals.tf timeline_timeout_seconds, 300 s) is counted from its reads
(tests/infra/test_settings.py): its log pages, one ListRevisions and its ListTimeSeries. Those were counted as
one of each at 10 s, while the builder can make three ListTimeSeries (errors per minute, the demand, the demand
again after reaching back) and each read may run its policy's 30 s. Now each is bounded by the timeline's side
read policy (shared/timeline/live.py) and the builder makes at most Limits.max_metric_reads of them."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.timeline.builder import Limits, build_timeline
from shared.timeline.live import SIDE_READ_SECONDS, side_read_policy
from tests.unit.test_timeline_idle import KEY_A, ROLLBACK, T0, World, closed, cron, lines, opened, verdict, write
from tests.unit.test_timeline_own_writes import INCIDENT, PROJECT


class Counted(World):
    """The idle tests' world, counting the Monitoring reads made of it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.metric_reads = 0

    def query(self, query):
        self.metric_reads += 1
        return super().query(query)


def _cron_world() -> tuple[Counted, object]:
    """A caller every 10 minutes failing from T0 (test_timeline_idle's first case): the window's first minute
    already fails, so the timeline reads the demand, reaches back, and reads the demand again."""
    p = timedelta(minutes=10)
    started = T0 + 2 * p + timedelta(minutes=1)
    applied = started + timedelta(minutes=2)
    spec = (opened(started) + write((applied - T0).total_seconds() / 60, ROLLBACK)
            + closed(T0 + 3 * p + timedelta(minutes=4))
            + [verdict((5 * p).total_seconds() / 60 + 2, "verified", KEY_A, "rollback_traffic")])
    built = T0 + 5 * p + timedelta(minutes=40)
    return Counted(lines(spec), cron(10, T0, 3, built)), built


@pytest.mark.parametrize("most,made", [(1, 1), (2, 2), (Limits().max_metric_reads, 2)])
def test_the_builder_makes_no_more_monitoring_reads_than_its_limit(most, made):
    world, built = _cron_world()
    timeline = build_timeline(INCIDENT, PROJECT, world, built, monitoring=world, limits=Limits(max_metric_reads=most))
    assert world.metric_reads == made
    refused = [note for note in timeline.notes if f"at most {most} Monitoring reads" in note]
    assert bool(refused) is (made < 2), timeline.notes   # a read the count refused is said missing


def test_each_side_read_ends_within_its_seconds_its_retries_included():
    assert side_read_policy().longest_run == SIDE_READ_SECONDS
