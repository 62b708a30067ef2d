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


# Writer clocks off real time: a slow one (negative) records the write early.
WITHIN_A_MINUTE = [timedelta(0), -2 * MINUTE, 2 * MINUTE, -timedelta(seconds=150), -4 * MINUTE,
                   CLOCK_SKEW_ALLOWANCE]
SETTLES = [60, 90, 120, 180, 240, 300, 360, 600]


@pytest.mark.parametrize("make", [rollback, scale_up], ids=["rollback", "connector read back READY"])
@pytest.mark.parametrize("skew", WITHIN_A_MINUTE, ids=[f"clock {s.total_seconds():+.0f}s" for s in WITHIN_A_MINUTE])
@pytest.mark.parametrize("settle", SETTLES, ids=[f"settle {s}s" for s in SETTLES])
def test_the_window_holds_no_minute_begun_before_the_write(settle, skew, make):
    """With settle_seconds at its floor (60) and the writer's clock 2 minutes slow, the window began a
    minute before the write: minutes of the failure before the action were judged as after it. Now its
    first point's minute begins at or after the write, for a writer up to 4 minutes slow (the ±2 min
    the drills run, twice over)."""
    start = judged_from(written(make(), settle, skew))
    assert start is not None
    assert start - MINUTE >= WRITE, f"window from {start}, write at {WRITE}"


@pytest.mark.parametrize("settle", SETTLES, ids=[f"settle {s}s" for s in SETTLES])
def test_the_window_never_starts_before_the_write_within_the_allowance(settle):
    """A writer the whole allowance slow: the window starts at the write at the earliest."""
    start = judged_from(written(rollback(), settle, -CLOCK_SKEW_ALLOWANCE))
    assert start >= WRITE


@pytest.mark.parametrize("settle", SETTLES, ids=[f"settle {s}s" for s in SETTLES])
def test_a_settle_time_past_the_floor_stands(settle):
    """The floor moves only a start that could hold the write's minutes: the default (300 s) and longer
    settle times are judged from their settle time, as before."""
    record = written(rollback(), settle, timedelta(0))
    assert judged_from(record) == max(record.settle_at, record.applied_at + CLOCK_SKEW_ALLOWANCE)
    if settle >= CLOCK_SKEW_ALLOWANCE.total_seconds():
        assert judged_from(record) == record.settle_at
