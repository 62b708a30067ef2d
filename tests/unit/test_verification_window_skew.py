"""Where the sweep's evidence window starts, with the writing instance's clock off real time.

`applied_at` and `settle_at` are the writing instance's clock; Monitoring's points carry real (server)
times. A point of the request metrics stands for the minute ending at its end time, and the window holds
every point ending after its start: so no point that began before the write in real time may be held."""

from datetime import datetime, timedelta, timezone

import pytest

from shared.clock import CLOCK_SKEW_ALLOWANCE
from shared.remediation.judging import judged_from
from tests.unit.test_verification_judging import rollback, scale_up

WRITE = datetime(2026, 3, 1, 10, 0, 30, tzinfo=timezone.utc)     # the write, in real time
MINUTE = timedelta(minutes=1)


def written(record, settle_seconds: int, skew: timedelta):
    """`record` as written at WRITE by an instance whose clock reads real time + `skew`."""
    applied = WRITE + skew
    return record.model_copy(update={"applied_at": applied, "settle_at": applied + timedelta(seconds=settle_seconds),
                                     "deadline_at": applied + timedelta(seconds=settle_seconds + 600)})


SKEWS = [timedelta(0), -2 * MINUTE, 2 * MINUTE, -CLOCK_SKEW_ALLOWANCE, CLOCK_SKEW_ALLOWANCE,
         -timedelta(seconds=150)]
SETTLES = [60, 90, 120, 180, 300, 360, 600]


@pytest.mark.parametrize("make", [rollback, scale_up], ids=["rollback", "connector read back READY"])
@pytest.mark.parametrize("skew", SKEWS, ids=[f"clock {s.total_seconds():+.0f}s" for s in SKEWS])
@pytest.mark.parametrize("settle", SETTLES, ids=[f"settle {s}s" for s in SETTLES])
def test_the_window_never_holds_a_minute_begun_before_the_write(settle, skew, make):
    """With settle_seconds at its floor (60) and the writer's clock 2 minutes slow, the window began a
    minute before the write: minutes of the failure before the action were judged as after it. Now its
    first point's minute begins at or after the write, for any skew within CLOCK_SKEW_ALLOWANCE."""
    start = judged_from(written(make(), settle, skew))
    assert start is not None
    assert start - MINUTE >= WRITE, f"window from {start}, write at {WRITE}"


@pytest.mark.parametrize("settle", SETTLES, ids=[f"settle {s}s" for s in SETTLES])
def test_a_clock_on_time_with_a_long_settle_keeps_its_settle_time(settle):
    """The floor moves only a start that could hold the write's minutes: a settle time past it stands."""
    record = written(rollback(), settle, timedelta(0))
    floor = record.applied_at + CLOCK_SKEW_ALLOWANCE + MINUTE
    assert judged_from(record) == max(record.settle_at, floor)

