"""An uptime check that runs every 10 or 15 minutes judged over one of its periods, not the 5 minutes judged.

UptimeCheckConfig.period allows 60 s, 300 s, 600 s and 900 s (google/monitoring/v3/uptime.proto). A check run
every 15 minutes writes one result a location in 15 minutes, so the 5 minutes `healthy` and the sweep judge
most often hold none of them. Before, such a check was never `recovered` (its every location read as silent),
the request log's clean probes of another check on the same URL (or a person's) stood in for it while its
newest results still failed, and a check that had not yet run since the incident was "not known" with no word
of when it would be. Now the check's results are judged over one of its periods (and a minute) back from the
judged window's end, never before the incident's start, the period read from its results' spacing; a check
with no result since the incident's start is "not known yet" with the time its next result is due, on the
alert path and in the sweep alike. Pure, no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings, VerificationSettings
from shared.diagnosis.check_results import check_period
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.judging import HealthKind, judge
from tests.unit.builders import Evidence
from tests.unit.test_healthy_uptime_probes import PASSED, REV
from tests.unit.test_uptime_check_results import LOCATIONS, bundle, every, results
from tests.unit.test_verification_judging import OLD, rollback, served, swept

S = DiagnosisSettings()
FIFTEEN, TEN = (-18, -3, 12), (-11, -1, 9)
EVERY_MINUTE = tuple(float(m) for m in range(-14, 12))


def _seen_failing(now: float, probes: bool = True) -> Evidence:
    """backend at 400 requests a minute, 300 of them 503s from -8 to 0 (the failure the check saw), clean since,
    read at `now`; with `probes`, a checker's probes of the same URL (1.2 a minute: a 1-minute check beside the
    alert's, or a person's) answered 200 since 0."""
    e = Evidence(now=now).revision(REV, -1800).traffic(**{REV.replace("-", "_"): 100}).instances(REV, -60, now, 3)
    e.requests(REV, -60, -8, 400).latency(REV, -60, -8, 0.1)
    e.requests(REV, -8, 0, 100).requests(REV, -8, 0, 300, "503").latency(REV, -8, 0, 0.03)
    e.requests(REV, 0, now, 400).latency(REV, 0, now, 0.035)
    return e.uptime(REV, 0, now, 1.2) if probes else e


def _never_seen(now: float) -> Evidence:
    """backend serving 400 clean requests a minute throughout, read at `now`: the service never showed the
    check's failure (a certificate, DNS, a path outside it), and no probe in its request log."""
    e = Evidence(now=now).revision(REV, -1800).traffic(**{REV.replace("-", "_"): 100}).instances(REV, -60, now, 3)
    return e.requests(REV, -60, now, 400).latency(REV, -60, now, 0.035)


CASES = [
    # name, bundle, healthy, words in the summary
    ("a 15-minute check false from 2 locations at +12, judged at +20, another check's probes clean: not healthy",
     bundle(_seen_failing(20), check=results(every(FIFTEEN, LOCATIONS[:2], (12,)))), False, "false from 2 of 6"),
    ("a 15-minute check passing everywhere at +12, the service never showed the failure, judged at +20: healthy",
     bundle(_never_seen(20), check=results(every(FIFTEEN, LOCATIONS, (-3,))), uptime_kept=0.0), True, ""),
    ("a 10-minute check passing everywhere at +9, the service never showed the failure, judged at +17: healthy",
     bundle(_never_seen(17), check=results(every(TEN, LOCATIONS, (-1,))), uptime_kept=0.0), True, ""),
    ("a 15-minute check with no result since the incident at +8, no probe's line: not known yet, due at +12",
     bundle(_seen_failing(8, probes=False), check=results(every(FIFTEEN[:2], LOCATIONS, (-3,)))), False,
     "due by 12:13:00"),
    ("a 15-minute check false from 2 locations at -3, none since, judged at +8, another check's probes clean: "
     "not known yet, due at +12", bundle(_seen_failing(8), check=results(every(FIFTEEN[:2], LOCATIONS[:2], (-3,)))),
     False, "due by 12:13:00"),
    ("one result a location (its period not shown), none since the incident: due within the longest period",
     bundle(_seen_failing(8, probes=False), check=results(every((-3,), LOCATIONS))), False,
     "due by 12:13:00 at the latest"),
    ("control: a 1-minute check silent the last 9 minutes, the service never showed the failure: not healthy",
     bundle(_never_seen(20), check=results(every(EVERY_MINUTE)), uptime_kept=0.0), False, "not judged healthy"),
    ("control: a 15-minute check passing at +12 but one location silent since -3: not healthy",
     bundle(_never_seen(20), check=results({**every(FIFTEEN, LOCATIONS, (-3,)), "usa-oregon": {-18: True, -3: False}}),
            uptime_kept=0.0), False, "not judged healthy"),
    ("control: a 5-minute check passing at +2, judged at +5: healthy (as before)",
     bundle(_never_seen(5), check=results(every((-8, -3, 2), LOCATIONS, (-3,))), uptime_kept=0.0), True, ""),
]


@pytest.mark.parametrize("name,b,healthy,words", CASES, ids=[c[0] for c in CASES])
def test_a_check_is_judged_over_one_of_its_periods(name, b, healthy, words):
    d = diagnose(b, S)
    assert (d.signature is Signature.HEALTHY) is healthy, d.summary
    assert words in d.summary, d.summary


def _swept(now: float, check, uptime_kept: float):
    record = rollback().model_copy(update={"alert": PASSED})
    e = served(now, ok=400).uptime(OLD, -5, now, 1.2)
    b = swept(e, uptime_kept=uptime_kept).model_copy(update={"incident_started_at": record.settle_at,
                                                             "check_passed": check})
    return judge(record, b, S, None, VerificationSettings().min_traffic_ratio)


SWEEPS = [
    ("a 15-minute check false from 2 locations at +12, swept at +20, the probes' lines clean: not verified",
     20, results(every(FIFTEEN, LOCATIONS[:2], (12,))), 1.0, HealthKind.UNCLEAR, "false from 2 of 6"),
    ("a 15-minute check passing everywhere at +12, swept at +20, no probe's line: verified",
     20, results(every(FIFTEEN, LOCATIONS, (-3,))), 0.0, HealthKind.HEALTHY, ""),
    ("a 15-minute check with no result since the rollback, swept at +8, no probe's line: not known yet",
     8, results(every(FIFTEEN[:2], LOCATIONS, (-3,))), 0.0, HealthKind.UNCLEAR, "due by 12:13:00"),
    ("a 15-minute check with no result since the rollback, swept at +8, the probes' lines clean: not known yet",
     8, results(every(FIFTEEN[:2], LOCATIONS, (-3,))), 1.0, HealthKind.UNCLEAR, "due by 12:13:00"),
    ("control: a 5-minute check with no result since +2, swept at +8, the probes' lines clean: verified (as before)",
     8, results(every((-8, -3, 2))), 1.0, HealthKind.HEALTHY, ""),
    ("control: a 1-minute check silent since +11, swept at +20, no probe's line: not verified",
     20, results(every(EVERY_MINUTE)), 0.0, HealthKind.UNCLEAR, "not known"),
]


@pytest.mark.parametrize("name,now,check,kept,kind,words", SWEEPS, ids=[c[0] for c in SWEEPS])
def test_the_sweep_judges_a_check_over_one_of_its_periods(name, now, check, kept, kind, words):
    health = _swept(now, check, kept)
    assert health.kind is kind and words in health.why, health.why


PERIODS = [
    # name, results, period in seconds (None: not shown)
    ("every 5 minutes", every(), 300),
    ("every 15 minutes", every(FIFTEEN), 900),
    ("every 10 minutes, a point written 40 s late", {"usa-iowa": {-11: True, -0.33: True, 9: True}}, 600),
    ("every minute", every(EVERY_MINUTE), 60),
    ("a missed result: the smallest spacing counts", {"usa-iowa": {-18: True, 12: True}, "eur-belgium":
                                                       {-18: True, -3: True, 12: True}}, 900),
    ("one result a location: not shown", every((-3,)), None),
    ("no result", {}, None),
]


@pytest.mark.parametrize("name,points,seconds", PERIODS, ids=[c[0] for c in PERIODS])
def test_a_checks_period_is_read_from_its_results_spacing(name, points, seconds):
    period = check_period(results(points))
    assert (period.total_seconds() if period else None) == seconds
