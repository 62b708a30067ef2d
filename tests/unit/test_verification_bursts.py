"""A fixed service whose traffic comes in short bursts (a cron, a batch job), as the sweep judges it
(shared/remediation/judging.py, bursts.py). Pure, no I/O.

Times are minutes from the action's settle time (T0): the rollback applied at -5, settled at 0, deadline
at +10, the last sweep that may undo it at +20; sweeps every 5 minutes. The cron calls the service for one
minute every `every` minutes, from minute `phase` on that grid, with `size` requests: the revision rolled
back to answered them cleanly until the deploy at -35; the new revision failed `failing_before` of each
burst; since the rollback the old revision answers them (`failing_after` of each 500). A sweep at minute S
reads every point up to S, and judges those up to S - 3 (a point is visible up to ~180 s after its minute)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import DiagnosisSettings, VerificationSettings
from shared.diagnosis.facts import Facts, Window
from shared.remediation.bursts import idle_before, readable_until
from shared.remediation.judging import HealthKind, StepKind, judge, next_step
from tests.unit.builders import Evidence, at
from tests.unit.test_verification_judging import NEW, OLD, rollback, scale_up

SETTINGS = DiagnosisSettings()
TIMES = VerificationSettings()


def cron(sweep: float, every: int, *, phase: int = 2, size: int = 30, failing_before: float = 0.5,
         failing_after: float = 0.0, stops_at: float | None = None) -> Evidence:
    """The evidence a sweep at minute `sweep` reads; no burst after `stops_at` (callers gone)."""
    e = Evidence(now=sweep, read_after=0).revision(OLD, -180).revision(NEW, -35)
    e.traffic(**{OLD.replace("-", "_"): 100})
    minute = phase - every * ((phase + 60) // every)
    while minute <= sweep and (stops_at is None or minute <= stops_at):
        if minute > -5:   # after the rollback
            rev, bad = OLD, failing_after
        else:
            rev, bad = (NEW, failing_before) if minute > -35 else (OLD, 0.0)
        e.requests(rev, minute - 1, minute, size * (1 - bad)).latency(rev, minute - 1, minute, 0.1)
        if bad:
            e.requests(rev, minute - 1, minute, size * bad, "500")
        minute += every
    return e


def first_failing(every: int, phase: int) -> int:
    minute = phase - every * ((phase + 60) // every)
    while minute <= -35:
        minute += every
    return minute


def verdict(evidence: Evidence, every: int, phase: int = 2):
    # The alert's incident opened a minute after the first failing burst's point.
    record = rollback().model_copy(update={
        "incident_started_at": int(at(first_failing(every, phase) + 1).timestamp())})
    bundle = evidence.bundle().model_copy(update={"incident_started_at": record.settle_at,
                                                  "request_lines": evidence.request_log(-6)})
    health = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    return health, next_step(record, health, at(evidence.now), TIMES)


BURSTS = [
    # name, every, phase, evidence, health, step, words in the reason
    ("every 5 minutes, 3 clean bursts whole (2, 7, 12): verified", 5, 2, cron(15, 5),
     HealthKind.HEALTHY, StepKind.VERIFY, "every whole minute since the action settled"),
    ("every 5 minutes, 2 clean bursts whole by the deadline: verified", 5, 2, cron(10, 5),
     HealthKind.HEALTHY, StepKind.VERIFY, "2 of the 7 whole minutes"),
    ("every 10 minutes, one burst whole by the deadline: waits past it for the next", 10, 2, cron(10, 10),
     HealthKind.UNCLEAR, StepKind.WAIT, "goes idle between requests"),
    ("every 10 minutes, 2 clean bursts whole (2, 12): verified", 10, 2, cron(15, 10),
     HealthKind.HEALTHY, StepKind.VERIFY, "2 of the 12 whole minutes"),
    ("every 15 minutes, 2 clean bursts whole (2, 17) by the last sweep on time: verified", 15, 2, cron(20, 15),
     HealthKind.HEALTHY, StepKind.VERIFY, "2 of the 17 whole minutes"),
    ("every 15 minutes, none since before the deadline, none in the lookback before the action: waits", 15, 0,
     cron(10, 15, phase=0), HealthKind.UNCLEAR, StepKind.WAIT, "before its failure began"),
    ("every 15 minutes, one burst by the last sweep on time: too few, and then escalated, kept", 15, 0,
     cron(25, 15, phase=0), HealthKind.UNCLEAR, StepKind.ESCALATE, "it waited a verification period"),
    ("a burst newer than the whole line (12, read at 14) is late, not judged: one burst, waits", 10, 2,
     cron(14, 10), HealthKind.UNCLEAR, StepKind.WAIT, "newer ones not yet readable"),
    ("the bursts still fail (half 500): never verified, escalated, not undone", 5, 2,
     cron(15, 5, failing_after=0.5), HealthKind.UNCLEAR, StepKind.ESCALATE, "still fails"),
    ("the service stopped being called after the rollback: waits, never verified", 5, 2,
     cron(15, 5, stops_at=-5), HealthKind.UNCLEAR, StepKind.WAIT, ""),
    ("the same at the last sweep on time and after: escalated, kept", 5, 2, cron(25, 5, stops_at=-5),
     HealthKind.UNCLEAR, StepKind.ESCALATE, "not undone"),
    # No burst in the lookback before the action ((-20, -5]): the demand is read where the sweep reads back to
    # (a lookback before the incident's start), the failing burst at -24 or -22, like with like, per minute.
    ("every 20 minutes, no burst in the lookback before the action, clean bursts at 16 and 36: verified", 20, 16,
     cron(40, 20, phase=16), HealthKind.HEALTHY, StepKind.VERIFY, "2 of the 37 whole minutes"),
    ("every 18 minutes, no burst in the lookback before the action, clean bursts at 14 and 32: verified", 18, 14,
     cron(35, 18, phase=14), HealthKind.HEALTHY, StepKind.VERIFY, "2 of the 32 whole minutes"),
    ("every 20 minutes, no burst in the lookback, one burst since the settle time: waits", 20, 16,
     cron(20, 20, phase=16), HealthKind.UNCLEAR, StepKind.WAIT, "goes idle between requests"),
    ("clean bursts too few to tell from a 10 % failure (2 bursts of 10): waits", 5, 2,
     cron(10, 5, size=10, failing_before=0.1), HealthKind.UNCLEAR, StepKind.WAIT, "too few requests to tell"),
    ("the same with 3 bursts of 10, 30 clean (0.9 ** 30 = 4 %): verified", 5, 2,
     cron(15, 5, size=10, failing_before=0.1), HealthKind.HEALTHY, StepKind.VERIFY, ""),
]


@pytest.mark.parametrize("name,every,phase,evidence,health,step,words", BURSTS, ids=[b[0] for b in BURSTS])
def test_a_service_called_in_bursts_is_judged_on_every_whole_minute_since_the_action(
        name, every, phase, evidence, health, step, words):
    """`healthy` reads the newest 300 s and needs requests in 2 of its minutes: one burst at most. Before,
    every `verified` row here was left unclear until the deadline and escalated, and the row with no burst in
    the lookback before the action escalated at the deadline without waiting at all."""
    health_, step_ = verdict(evidence, every, phase)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert words in step_.why, step_.why


def test_a_failing_burst_newer_than_the_whole_line_unmakes_the_verdict():
    """Bursts at 2 and 7 clean (whole), the one at 12 read at 14, not whole yet, half 500: not verified."""
    evidence = cron(14, 5)
    evidence.requests(OLD, 11, 12, 15, "500")
    health, step = verdict(evidence, 5)
    assert (health.kind, step.kind) == (HealthKind.UNCLEAR, StepKind.ESCALATE), health.why
    assert "show failures already" in health.why, health.why


def test_a_service_busy_every_minute_whose_metrics_stopped_is_not_read_as_idle():
    """Busy every minute before its failure, clean for 3 minutes after the rollback, then no point: the
    minutes with no point are not read as idle ones (its metrics may have stopped), nothing verified."""
    e = Evidence(now=15, read_after=0).revision(OLD, -180).revision(NEW, -35)
    e.traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -60, -35, 30).latency(OLD, -60, -35, 0.1)
    e.requests(NEW, -35, -5, 15).requests(NEW, -35, -5, 15, "500").latency(NEW, -35, -5, 0.1)
    e.requests(OLD, -5, 3, 30).latency(OLD, -5, 3, 0.1)
    health, step = verdict(e, 1, 0)
    assert (health.kind, step.kind) == (HealthKind.UNCLEAR, StepKind.ESCALATE), health.why
    assert "every whole minute since" not in health.why, health.why


def _before(minutes_with_requests: list[int], failing_from: int) -> Facts:
    """30 requests in each of `minutes_with_requests` (clean before `failing_from`, half 500 from it)."""
    e = Evidence(now=0, read_after=0).revision(OLD, -180)
    for m in minutes_with_requests:
        bad = 0.5 if m >= failing_from else 0.0
        e.requests(OLD, m - 1, m, 30 * (1 - bad)).latency(OLD, m - 1, m, 0.1)
        if bad:
            e.requests(OLD, m - 1, m, 30 * bad, "500")
    return Facts(e.bundle(), SETTINGS)


SEARCH = Window(at(-40), at(-5))
IDLE = [
    # name, facts, idle minutes before the onset (None: not idle between requests)
    ("a cron every 10 minutes: 1 of the 15 minutes before the onset", _before([-38, -28, -18, -8], -18), (1, 15)),
    ("no request at all in the 11 minutes read before the onset: idle", _before([-28, -18], -28), (0, 11)),
    ("busy every minute before the onset: not idle", _before(list(range(-39, -4)), -15), None),
    ("failing from the search's first minute: nothing before it known", _before(list(range(-39, -4)), -39), None),
    ("no failing minute: no onset", _before([-38, -28, -18, -8], 0), None),
]


@pytest.mark.parametrize("name,facts,idle", IDLE, ids=[i[0] for i in IDLE])
def test_idle_between_requests_is_read_from_the_minutes_before_the_onset(name, facts, idle):
    found = idle_before(facts, SEARCH)
    assert (None if found is None else (found.busy, found.spanned)) == idle, found


def test_callers_that_stopped_after_two_bursts_are_counted_with_the_idle_minutes_since():
    """60 requests every 5 minutes before the rollback (12 a minute); since, 10 clean at 2 and 7, then none up
    to the last sweep on time (read at 23, whole to 20): 20 requests over 20 minutes, 1 a minute, is under
    min_traffic_ratio (10 %). Counted only up to the newest point (7), 2.9 a minute read as kept."""
    e = cron(23, 5, size=60, stops_at=-5)
    for m in (2, 7):
        e.requests(OLD, m - 1, m, 10).latency(OLD, m - 1, m, 0.1)
    health, _ = verdict(e, 5)
    assert health.kind is HealthKind.UNCLEAR and "traffic is mostly gone" in health.why, health.why


def connector_cron(sweep: float, every: int, *, phase: int = 2, size: float = 30, failing: float = 0.5,
                   hang: bool = False, since: tuple[float, ...] = ()) -> Evidence:
    """A cron's bursts of `size` requests every `every` minutes through a saturated connector, scaled at -5
    (scale_up): from -35 to the scale-up the connector failed `failing` of each burst with 503 (or, `hang`,
    let each burst wait 30 s); since, the bursts are answered cleanly, their sizes `since` (one a burst, the
    last one repeated), or `size`. The revision serving never changed."""
    e = Evidence(now=sweep, read_after=0).revision(OLD, -180).traffic(**{OLD.replace("-", "_"): 100})
    e.connector("e2-standard-4", 2, 4)
    minute, after = phase - every * ((phase + 60) // every), 0
    while minute <= sweep:
        if minute > -5:
            n = since[min(after, len(since) - 1)] if since else size
            e.requests(OLD, minute - 1, minute, n).latency(OLD, minute - 1, minute, 0.1)
            after += 1
        else:
            bad = failing if -35 < minute and not hang else 0.0
            e.requests(OLD, minute - 1, minute, size * (1 - bad))
            e.latency(OLD, minute - 1, minute, 30.0 if hang and -35 < minute else 0.1)
            if bad:
                e.requests(OLD, minute - 1, minute, size * bad, "503")
        minute += every
    return e


def connector_verdict(evidence: Evidence, every: int, phase: int = 2):
    record = scale_up().model_copy(update={
        "incident_started_at": int(at(first_failing(every, phase) + 1).timestamp())})
    bundle = evidence.bundle().model_copy(update={"incident_started_at": record.settle_at,
                                                  "request_lines": evidence.request_log(-6)})
    health = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    return health, next_step(record, health, at(evidence.now), TIMES)


CONNECTOR_BURSTS = [
    # name, every, evidence, health, step, words in the reason
    ("every 5 minutes, 3 clean bursts of 30 (15 answered of each before): verified", 5, connector_cron(15, 5),
     HealthKind.HEALTHY, StepKind.VERIFY, "every whole minute since the action settled"),
    ("every 10 minutes, 2 clean bursts of 30: verified", 10, connector_cron(15, 10),
     HealthKind.HEALTHY, StepKind.VERIFY, "2 of the 12 whole minutes"),
    ("every 5 minutes, bursts hanging 30 s before, 3 fast bursts of 30 since: verified", 5,
     connector_cron(15, 5, hang=True), HealthKind.HEALTHY, StepKind.VERIFY, ""),
    ("bursts of 12 since, under the 15 the connector answered of each: waits", 5,
     connector_cron(15, 5, since=(12,)), HealthKind.UNCLEAR, StepKind.WAIT, "its busiest minute clean"),
    ("the same at the last sweep on time: escalated, kept", 5, connector_cron(25, 5, since=(12,)),
     HealthKind.UNCLEAR, StepKind.ESCALATE, "its load fell to what the connector carried"),
    ("bursts of 20 since, under the 30 it hung at: escalated at the last sweep on time", 5,
     connector_cron(25, 5, hang=True, since=(20,)), HealthKind.UNCLEAR, StepKind.ESCALATE, "hanging in the minute"),
]


@pytest.mark.parametrize("name,every,evidence,health,step,words", CONNECTOR_BURSTS,
                         ids=[b[0] for b in CONNECTOR_BURSTS])
def test_a_connector_scaled_for_a_service_called_in_bursts_is_judged_burst_by_burst(
        name, every, evidence, health, step, words):
    """The old connector's limit is read per minute (the most it answered in a failing minute, the least
    load it hung at); the load since was read per minute of every minute judged, idle ones too: 90 clean
    requests in 3 bursts over 12 minutes is 8 a minute, under the 15 answered of a burst of 30, so every
    `verified` row here was escalated, never verified. A burst is compared with a failing minute now."""
    health_, step_ = connector_verdict(evidence, every)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert words in health_.why, health_.why


def test_a_burst_over_the_old_load_that_failed_on_its_own_does_not_show_the_change_helped():
    """Bursts of 14 since (under the 15 carried), and one of 60 at 17 with a 503 (1.7 %, over the 1 % bar):
    the window's share is 1 in 102 (0.98 %, clean), but the one burst larger than what the old connector
    carried was not clean itself, so it shows no load carried."""
    e = connector_cron(20, 5, since=(14, 14, 14, 14, 59))
    e.requests(OLD, 16, 17, 1, "503")
    health, step = connector_verdict(e, 5)
    assert (health.kind, step.kind) == (HealthKind.UNCLEAR, StepKind.WAIT), health.why
    assert "14 requests in its busiest minute clean on its own" in health.why, health.why



def _read(now: float, *, ahead: float = 0, newest_500: float | None = None) -> Facts:
    """A service answering 30 requests a minute (one 500 among them) up to `now`, read at `now` (minutes from
    T0; points end on whole minutes), by a clock `ahead` seconds ahead of real time; the 500 series' newest
    point at `newest_500` (None: as the others'), a series not yet arrived past it."""
    e = Evidence(now=now, read_after=0).revision(OLD, -180).traffic(**{OLD.replace("-", "_"): 100})
    e.requests(OLD, -10, now, 29).latency(OLD, -10, now, 0.1)
    e.requests(OLD, -10, now if newest_500 is None else newest_500, 1, "500")
    return Facts(e.bundle().model_copy(update={"clock_ahead": timedelta(seconds=ahead)}), SETTINGS)


READABLE = [
    # name, facts, readable until (minutes from T0)
    ("read on the minute: the whole line (3 minutes before) is a point's end", _read(15), 12),
    ("read 20 s after the minute: the newest minute ending before the line", _read(15 + 20 / 60), 12),
    ("a clock 1 s ahead: the line falls 1 s before a point, whose minute is not readable", _read(15, ahead=1), 11),
    ("a clock 90 s ahead", _read(15, ahead=90), 10),
    ("the 500s still arriving after the line (newest at 13, the 200s at 15): the line", _read(15, newest_500=13), 12),
    ("the 500s still arriving, their newest point on the line (12): the line", _read(15, newest_500=12), 12),
    ("the same read 20 s after the minute: their newest point (12)", _read(15 + 20 / 60, newest_500=12), 12),
    ("the 500s stopped long before the line (newest at 5): the line, their minutes since read as none",
     _read(15, newest_500=5), 12),
]


@pytest.mark.parametrize("name,facts,until", READABLE, ids=[r[0] for r in READABLE])
def test_the_minutes_readable_end_at_a_point_at_or_before_the_whole_line(name, facts, until):
    """`readable_until` ends where a minute of the points ends: every minute up to it is whole in every series
    (each is visible INGEST_LAG after its minute), a series still arriving included (its newest point lies in
    the minute before the line or after it, `Facts.complete_until`), and no minute after it is. Ending at the
    line itself, off the points' minutes (a read between two minutes, a clock ahead by any part of a minute),
    it counted a minute more than the points can hold: one idle minute that never was."""
    assert readable_until(facts) == at(until), readable_until(facts)


def test_the_minutes_judged_between_bursts_are_counted_on_the_points_minutes():
    """A cron's 120 requests every 5 minutes (24 a minute, every minute counted) before the rollback, 50 a
    burst since (2, 7, 12), read at 15 min 20 s: 150 requests in the 12 readable minutes, 12.5 a minute, over
    the half of its demand a `verified` asks (12: judging.verified_kept). Counted to the whole line (12 min
    20 s) as 13 minutes, 11.5 a minute: its traffic read as down, and a fix whose callers kept calling was
    escalated. (Before `verified_kept`, the same edge at 10 %: 10 a burst, 2.5 a minute against 2.4.)"""
    e = cron(15 + 20 / 60, 5, size=120)
    e.req[(OLD, "200")].update({m: 50 for m in (2, 7, 12)})
    health, step = verdict(e, 5)
    assert (health.kind, step.kind) == (HealthKind.HEALTHY, StepKind.VERIFY), health.why
    assert "3 of the 12 whole minutes" in health.why, health.why


def test_a_service_busy_every_minute_before_the_action_is_not_read_as_idle_by_an_uneven_window():
    """Busy every minute until the scale-up at -5.5, silent since; its update outlived the write's wait and took
    at 3.25 (`took_at`), so the minutes before the action read are (-11.75, -5.5]: 6 minutes of points, all with
    requests. Counted as 6.25 minutes rounded up, 7, one minute read as idle made the service one that goes
    idle between requests, and the sweep at the deadline waited a period more for requests a busy service's
    silence gives no reason to expect, instead of telling a person."""
    e = Evidence(now=10, read_after=0).revision(OLD, -180).traffic(**{OLD.replace("-", "_"): 100})
    e.connector("e2-standard-4", 2, 4)
    e.requests(OLD, -60, -6, 40).latency(OLD, -60, -6, 0.1)
    record = scale_up().model_copy(update={"applied_at": at(-5.5), "settle_at": at(-0.5), "deadline_at": at(9.5),
                                           "took_at": at(3.25)})
    bundle = e.bundle().model_copy(update={"incident_started_at": at(3.25)})
    health = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    step = next_step(record, health, at(10), TIMES)
    assert (health.kind, health.waits_for, step.kind) == (HealthKind.UNCLEAR, "", StepKind.ESCALATE), health


def _stopped(stops_at: int, since: float, *, now: float = 6) -> Facts:
    """A service busy every minute (200 a minute), failing a quarter of them from the deploy at -41, whose
    callers all stopped after minute `stops_at` (a client's circuit breaker open), then `since` requests a
    minute from the revision rolled back to after the action at -5, as a sweep reads it
    (test_verification_judging._called_back)."""
    from tests.unit.test_verification_judging import _called_back
    bundle = _called_back(since, now=now, stops_at=stops_at).bundle().model_copy(update={
        "incident_started_at": _stopped_record().settle_at, "collected_at": at(now) + timedelta(minutes=3)})
    return Facts(bundle, SETTINGS)


def _stopped_record():
    return rollback().model_copy(update={"incident_started_at": int(at(-38).timestamp())})


CALLERS_STOPPED = [
    # name, callers stopped after (minute), requests a minute since the action, waits, words in the reason
    ("stopped inside the lookback, none since: callers gone, not idle between requests", -10, 0, False, ""),
    ("stopped inside the lookback, 4 a minute since: callers gone", -10, 4, False, ""),
    ("stopped inside the lookback, 150 a minute since: quiet, as busy as before", -10, 150, True,
     "as it served 200 a minute in (-20, -5] before the action"),
    ("stopped before the lookback, 150 a minute since: quiet, as busy as earlier", -20, 150, True,
     "as it served 200 a minute in (-50, -41] before the failures began"),
    ("stopped before the lookback, 120 a minute since: as busy as earlier", -20, 120, True,
     "requests a minute since the action"),
    ("stopped before the lookback, 10 a minute since: callers gone", -20, 10, False, ""),
    ("stopped just before the action, 30 a minute since: callers gone", -6, 30, False, ""),
]


@pytest.mark.parametrize("name,stops_at,since,waits,words", CALLERS_STOPPED, ids=[c[0] for c in CALLERS_STOPPED])
def test_a_service_busy_every_minute_whose_callers_stopped_waits_only_if_it_is_as_busy_since(
        name, stops_at, since, waits, words):
    """Idle minutes after the last request in the lookback before the action are callers that stopped, not a
    service idle between requests: it waits past the deadline only when it serves at least half its demand
    since (`demand_before`: before the failures began, or the incident's own minutes), and says so. Before,
    callers that stopped inside the lookback read as "it goes idle between requests" (waited, at 4 requests a
    minute as at 150), and ones that stopped before it were never waited for."""
    from shared.remediation.judging import more_requests_likely
    from tests.unit.test_verification_judging import _minutes_shown
    why = more_requests_likely(_stopped(stops_at, since), _stopped_record(), TIMES.min_traffic_ratio)
    assert bool(why) is waits, why
    assert "idle between requests" not in why, why
    assert words in _minutes_shown(why.replace(str(at(0).date()), "")), why


def test_a_burst_whose_p99_has_no_value_shows_no_load_carried():
    """Bursts of 14 since (under the 15 carried), and one of 59 at 17 whose p99 came with no value (NaN, left out
    by Points): the minute is not read, neither clean nor hung, so it shows no load carried, as a minute with no p99
    point at all."""
    e = connector_cron(20, 5, since=(14, 14, 14, 14, 59)).latency(OLD, 16, 17, float("nan"))
    health, step = connector_verdict(e, 5)
    assert (health.kind, step.kind) == (HealthKind.UNCLEAR, StepKind.WAIT), health.why
    assert "14 requests in its busiest minute clean on its own" in health.why, health.why
