"""Verification's words about an action near midnight, or days before: a time of day alone names a moment only on
the day it is cited about (the action's). Before (leftovers3), a rollback at 23:54 that recovered, then failed again
after midnight, said "clean in (23:55:00, 00:00:00]" (an interval ending before it starts), and a deadline's wait
past midnight said "until 00:10:00" with no date; `facts.dated` dated only the diagnosis's windows.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from shared.diagnosis.facts import clock_on
from shared.remediation.judging import Health, HealthKind, StepKind, next_step, refired
from tests.unit import builders
from tests.unit.test_verification_judging import TIMES, _relapse, rollback, verdict

EVENING = datetime(2026, 11, 26, 23, 58, tzinfo=timezone.utc)
# A time of day of the next day cited without its date: what no message may hold here.
_BARE_NEXT_DAY = re.compile(r"(?<!\d{4}-\d\d-\d\d )\b00:\d\d:\d\d\b")


@pytest.mark.parametrize("at, day, shown", [
    (datetime(2026, 11, 26, 23, 58, tzinfo=timezone.utc), EVENING, "23:58:00"),
    (datetime(2026, 11, 27, 0, 3, tzinfo=timezone.utc), EVENING, "2026-11-27 00:03:00"),
    (datetime(2026, 11, 25, 23, 50, tzinfo=timezone.utc), EVENING, "2026-11-25 23:50:00"),
    (datetime(2026, 12, 1, 23, 58, tzinfo=timezone.utc), EVENING, "2026-12-01 23:58:00"),
], ids=["same-day", "after-midnight", "day-before", "days-later-same-time"])
def test_a_time_is_dated_unless_on_the_day_it_is_cited_about(at, day, shown):
    assert clock_on(at, day) == shown


@pytest.fixture
def evening(monkeypatch):
    """The builders' minutes counted from 23:58 (T0), so the action (-5) is at 23:53 and +2 is past midnight."""
    monkeypatch.setattr(builders, "T0", EVENING)


def test_a_recovery_then_a_failure_across_midnight_is_said_in_order(monkeypatch):
    """The rollback at 23:57 (T0 00:02, the action at -5), clean from 23:58, failing again from +3."""
    monkeypatch.setattr(builders, "T0", EVENING + timedelta(minutes=4))
    judged, then = verdict(rollback(), _relapse(3, 3))
    assert (judged.kind, then.kind) == (HealthKind.UNCLEAR, StepKind.ESCALATE), judged.why
    recovered = judged.why[judged.why.index("it recovered after the action first"):]
    assert "clean in (2026-11-26 23:58:00, 2026-11-27 00:00:00]" in recovered, recovered
    assert _BARE_NEXT_DAY.search(recovered) is None, recovered


def test_a_wait_past_the_deadline_across_midnight_names_its_day(evening):
    record = rollback()
    now = record.deadline_at + timedelta(minutes=1)
    step = next_step(record, Health(HealthKind.UNCLEAR, "too few requests", waits_for="more requests"), now, TIMES)
    assert step.kind is StepKind.WAIT, step
    assert "until 2026-11-27 00:18:00 (the last sweep" in step.why, step.why


def test_a_refire_after_midnight_names_its_day(evening):
    record = rollback().model_copy(update={"refired_at": builders.at(5), "refired_incident": "i2"})
    assert "(noted at 2026-11-27 00:03:00)" in refired(record)
