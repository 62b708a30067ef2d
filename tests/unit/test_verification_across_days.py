"""Verification's words about an action near midnight, or days before: a time of day alone names a moment only on
the day it is cited about (the action's). Before, a rollback at 23:54 that recovered, then failed again
after midnight, said "clean in (23:55:00, 00:00:00]" (an interval ending before it starts), and a deadline's wait
past midnight said "until 00:10:00" with no date; `facts.dated` dated only the diagnosis's windows.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from shared.diagnosis.facts import Window, clock_on
from shared.diagnosis.windows import told_on
from shared.remediation import in_flight
from shared.remediation.records import IntentRecord
from shared.timeline.classify import Step, alert_row
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
    # The reason's own words; the diagnosis of the minutes since, said after it, keeps the diagnosis's words.
    recovered = judged.why[judged.why.index("it recovered after the action first"):judged.why.index("; the minutes since ")]
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


# A window of the day after the action, both its ends past midnight: within a message about the action (windows.told_on,
# as judging.judge and the sweep write theirs) its ends are dated; before, "(00:01:00, 00:09:00]" in a
# message whose action was at 23:58 named minutes before the action.
_NEXT_DAY = Window(datetime(2026, 11, 27, 0, 1, tzinfo=timezone.utc), datetime(2026, 11, 27, 0, 9, tzinfo=timezone.utc))
_SAME_DAY = Window(datetime(2026, 11, 26, 23, 50, tzinfo=timezone.utc), EVENING)


@pytest.mark.parametrize("window, day, shown", [
    (_SAME_DAY, EVENING, "(23:50:00, 23:58:00]"),
    (_NEXT_DAY, EVENING, "(2026-11-27 00:01:00, 2026-11-27 00:09:00]"),
    (_NEXT_DAY, EVENING + timedelta(minutes=5), "(00:01:00, 00:09:00]"),
    (_SAME_DAY, EVENING + timedelta(days=3), "(2026-11-26 23:50:00, 2026-11-26 23:58:00]"),
], ids=["on-the-day", "the-day-after", "cited-about-that-day", "days-later"])
def test_a_window_is_dated_unless_both_ends_fall_on_the_day_it_is_cited_about(window, day, shown):
    with told_on(day):
        assert f"in {window}" == f"in {shown}"
    assert str(window) == window.text      # outside such a message (a diagnosis): as before


def test_a_verification_after_midnight_dates_its_windows(monkeypatch):
    """The rollback at 23:53 (T0 00:20 next day, the action at -27), its minutes all after midnight: no window
    the judgement names may give a bare time of the next day."""
    monkeypatch.setattr(builders, "T0", EVENING + timedelta(minutes=22))
    record = rollback().model_copy(update={"applied_at": builders.at(-27), "settle_at": builders.at(-22),
                                           "deadline_at": builders.at(10)})
    judged, _ = verdict(record, _relapse(3, 3))
    assert "2026-11-27 " in judged.why, judged.why
    assert _BARE_NEXT_DAY.search(judged.why) is None, judged.why


def test_an_open_plan_is_named_with_its_date():
    plan = IntentRecord(key="k", incident_id="i", message_id="m", owner="m:1", claim_key="i|svc|rollback_traffic",
                        action="rollback_traffic", target="svc", service="svc", noted_at=EVENING)
    assert "planned at 2026-11-26 23:58:00Z)" in in_flight.named(plan)


@pytest.mark.parametrize("received, shown", [
    (EVENING + timedelta(minutes=1), "notification received 23:59:00Z"),
    (EVENING + timedelta(minutes=3), "notification received 2026-11-27 00:01:00Z"),
], ids=["on-the-rows-day", "after-midnight"])
def test_an_alert_rows_notification_time_is_dated_on_another_day(received, shown):
    """The timeline's alert row stands at the incident's start (23:58); its notification's receipt past midnight
    read "received 00:01:00Z" on a row of the day before."""
    step = Step(at=received, step="received", trigger="alert", message="", severity="INFO",
                details={"state": "open", "started_at": EVENING.timestamp(), "policy": "p"}, function="f",
                insert_id="x")
    row = alert_row(step, "demo")
    assert row.at == EVENING and shown in row.summary, row.summary
