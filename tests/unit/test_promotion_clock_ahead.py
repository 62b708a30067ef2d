"""A promotion dated by the sweep's clock (EvidenceBundle.clock_ahead) as the collection dates it with none.

collection.promoted_suspect dates a blue/green promotion from the second round's request counts, on a bundle with
clock_ahead 0; the verification sweep then diagnoses with its clock's lead set (verification.Sweep._health_of), which
ends the minutes read as whole that much earlier (facts.whole_until). That lead cuts only the newest minutes: a
promotion dated from its first minute with requests and the quiet minutes before it is dated at the same minute
with a lead of 0 to 3 minutes, whether it came a minute or 20 minutes before the incident, and one the lead cuts is
still dated by the collection (a read planned, never one missing). Pure: evidence built in memory, no I/O."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.collection import promoted_suspect
from shared.diagnosis.facts import Facts, whole_until

from tests.unit.builders import at
from tests.unit.test_bad_revision_promotion import BLUE, GREEN, _promoted

S = DiagnosisSettings()


def _dated(bundle, ahead: float):
    """(the collection's minute, the diagnosis's minute at the clock's lead `ahead` seconds), None where not dated."""
    found = {"requests": bundle.requests, "latencies": bundle.latencies}
    by_collection = promoted_suspect((bundle.service, bundle.revisions), found, bundle.incident_started_at, S,
                                     bundle.collected_at, bundle.judged_since)
    led = bundle.model_copy(update={"clock_ahead": timedelta(seconds=ahead)})
    suspect = max((r for r in led.revisions if r.short_name == GREEN), key=lambda r: r.create_time)
    by_diagnosis = Facts(led, S).promotion(suspect)
    return (by_collection.create_time if by_collection else None,
            by_diagnosis.revision.create_time if by_diagnosis else None)


@pytest.mark.parametrize("minute", [-18, -9, -3, -1])
@pytest.mark.parametrize("ahead", [0, 60, 180])
def test_a_promotion_before_the_incident_is_dated_alike_whatever_the_clocks_lead(minute, ahead):
    """Read 5 minutes after the incident (3 after its newest minute): a lead of 3 minutes leaves the minute after a
    promotion at -1 unread as whole (whole_until: -1), and the diagnosis does not date it there, nor act on the
    minutes it cannot read; the collection, with no lead, dates it and plans its candidates' reads. Every other
    promotion is dated at the same minute by both."""
    bundle = _promoted(GREEN, -300, BLUE, -2880, minute).bundle()
    led = bundle.model_copy(update={"clock_ahead": timedelta(seconds=ahead)})
    first_minute_whole = at(minute + 1) <= whole_until(led)

    assert _dated(bundle, ahead) == (at(minute), at(minute) if first_minute_whole else None)
    assert first_minute_whole or (minute, ahead) == (-1, 180)


@pytest.mark.parametrize("ahead", [0, 60, 180])
def test_the_sweeps_later_start_dates_the_promotion_before_its_action_alike(ahead):
    """The sweep's collection starts its incident at the action's settle time (verification: judging.judged_from),
    here 7 minutes after the alert's: the promotion 9 minutes before the alert is 16 minutes before it, in the deploy
    window, its quiet minutes read from one lookback before the window's start."""
    bundle = _promoted(GREEN, -300, BLUE, -2880, -9).bundle()
    bundle = bundle.model_copy(update={"incident_started_at": at(7), "collected_at": at(12)})

    assert _dated(bundle, ahead) == (at(-9), at(-9))
