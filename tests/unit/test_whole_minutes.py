"""`healthy` and "the failures stopped" read only minutes that are whole in every series they read.

Each request series (request_count by revision, class and code; request_latencies by revision) is
ingested on its own, up to ~180 s after its minute (facts.INGEST_LAG: Cloud Run's metrics list, "not
visible for up to 180 seconds"), so the newest minutes of a read may hold one series' points and not yet
another's. A series whose newest point is older than the lag (a 500 series that ended before the
incident's newest minutes, a revision whose series end earlier) was read as having stopped, and a minute
with no 5xx point as a minute with no 5xx; but whether Cloud Monitoring writes a point of 0 for a minute
with no 5xx is UNCONFIRMED (delta metrics' zero-count points are likely omitted), and a 5xx series that
begins again, or a new code's, is not in the answer until it is ingested. Read either way, a minute ending
less than INGEST_LAG before the read may still be missing failures (Facts.whole_line): `healthy` is not
judged on it, and the clean minutes are escalated with where each series ends."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence, at
from tests.unit.test_diagnosis import NEW, OLD
from tests.unit.test_failures_stopped import ON_THE_CANARY, deploy_failing_until

S = DiagnosisSettings()


def _fails_until(until: float, now: float) -> Evidence:
    """OLD serving 40 requests a minute since -90 with p99 0.2 s, 10 of them 500 a minute from -12 until
    `until`; the 200s and the p99 up to `now`."""
    e = Evidence(now=now, read_after=0).revision(OLD, -300).traffic(**{OLD: 100})
    return e.requests(OLD, -90, now, 40).latency(OLD, -90, now, 0.2).requests(OLD, -12, until, 10, code="500")


def _split(until: float, now: float) -> Evidence:
    """OLD and NEW (both long serving) split the traffic; NEW fails 10 of 30 a minute from -12. OLD's
    series are in up to `now`, every one of NEW's (200s, 500s, p99) only up to `until`."""
    e = Evidence(now=now, read_after=0).revision(OLD, -300).revision(NEW, -200).traffic(**{OLD: 50, NEW: 50})
    e = e.requests(OLD, -90, now, 30).latency(OLD, -90, now, 0.2)
    return e.requests(NEW, -90, until, 20).requests(NEW, -12, until, 10, code="500").latency(NEW, -90, until, 0.3)


def _no_5xx_point(now: float) -> Evidence:
    """No 5xx point at all: only the 200s and the p99, up to `now` (a failure the service saw as hangs
    that stopped, the request_count answer holding no 5xx series)."""
    e = Evidence(now=now, read_after=0).revision(OLD, -300).traffic(**{OLD: 100})
    return e.requests(OLD, -90, now, 40).latency(OLD, -90, -12, 0.2).latency(OLD, -12, -1, 40).latency(OLD, -1, now, 0.2)


def _zeros_written(now: float) -> Evidence:
    """The 500 series written with a point of 0 for each clean minute (the other reading of delta
    metrics), up to `now`, after 10 a minute from -12 to -1."""
    return _fails_until(-1, now).requests(OLD, -1, now, 0, code="500")


def _read(e: Evidence, later: float = 0):
    """The bundle read `later` minutes after the builder's `now` (its `read_after` 0)."""
    bundle = e.bundle()
    return bundle.model_copy(update={"collected_at": bundle.collected_at + timedelta(minutes=later)})


# situation -> (the evidence, read how many minutes after its newest point, the minutes whole up to)
WHOLE = {
    "the 500 series ends at -1, the 200s and p99 at +3, read at +3": (lambda: _fails_until(-1, 3), 0, at(0)),
    "one revision's series end at -1, the other's at +3, read at +3": (lambda: _split(-1, 3), 0, at(0)),
    "no 5xx point at all, the 200s and p99 at +3, read at +3": (lambda: _no_5xx_point(3), 0, at(0)),
    "the 500 series written with zeros up to +3, read at +3": (lambda: _zeros_written(3), 0, at(0)),
    "a 500 series inside the lag (+2) before the 200s (+3): cut there, as before": (lambda: _fails_until(2, 3), 0,
                                                                                    at(0)),
    "control: every series to +4, read at +7": (lambda: _fails_until(-1, 4), 3, at(4)),
    "control: every series to +4, read at +9 (a late delivery)": (lambda: _fails_until(-1, 4), 5, at(4)),
}


@pytest.mark.parametrize("name", WHOLE)
def test_the_minutes_read_as_whole_end_at_least_the_ingest_lag_before_the_read(name):
    build, later, whole = WHOLE[name]

    facts = Facts(_read(build(), later), S)

    assert facts.complete_until == whole
    assert facts.recent.end == whole


# situation -> (the evidence, read how many minutes after its newest point, healthy)
HEALTHY = {
    "the 500 series ended at -1, the 200s in up to +3, read at +3: not known clean": (
        lambda: _fails_until(-1, 3), 0, False),
    "one revision's series end at -1, the other's clean up to +3, read at +3": (lambda: _split(-1, 3), 0, False),
    "no 5xx point since the hangs stopped, read at +3": (lambda: _no_5xx_point(3), 0, False),
    "500 points of 0 up to +3, read at +3": (lambda: _zeros_written(3), 0, False),
    "control: the 500 series ended at -1, every series in up to +4, read at +7": (
        lambda: _fails_until(-1, 4), 3, True),
    "control: no 5xx point, the hangs stopped at -1, read at +7": (lambda: _no_5xx_point(4), 3, True),
    "control: 500 points of 0 up to +4, read at +7": (lambda: _zeros_written(4), 3, True),
    "control: 500s visible again at +6 and +7, newer than the whole minutes (up to +4), read at +7": (
        lambda: _fails_until(-1, 7).requests(OLD, 5, 7, 10, code="500"), 0, False),
    "control: one revision still failing in every series up to +4, read at +7": (
        lambda: _split(4, 4), 3, False),
}


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_is_judged_only_on_minutes_whole_in_every_series(name):
    build, later, healthy = HEALTHY[name]
    bundle = _read(build(), later)

    result = diagnose(bundle, S)

    assert (result.signature is Signature.HEALTHY) is healthy, result.summary
    assert plan(result, bundle, S).action is None, result.summary


@pytest.mark.parametrize("build", [lambda: _fails_until(-1, 3), lambda: _split(-1, 3)], ids=["500s", "revision"])
def test_clean_minutes_not_yet_whole_are_escalated_with_where_each_series_ends(build):
    result = diagnose(_read(build()), S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert "the minutes after 12:00:00 are not whole yet" in result.summary, result.summary
    assert "request_count 500 of" in result.summary and "to 11:59:00" in result.summary, result.summary


def test_failures_are_not_said_to_have_stopped_on_minutes_not_whole_in_every_series():
    """A deploy failing 60 % until +2, its 200s and p99 visible up to +6, its 500s up to +2, read at +6:
    the 500 series' newest point is older than the lag (+2 at the latest to be visible, read at +6), so it
    was read as stopped, and the newest minutes (+5, +6) as clean: "they stopped" was said of minutes whose
    500s may not be in. The whole minutes (up to +3) still hold failures: whether they stopped is not
    known, and nothing is done either way."""
    e = deploy_failing_until(2)
    bundle = e.bundle().model_copy(update={"alert": ON_THE_CANARY, "collected_at": at(6)})

    result = diagnose(bundle, S)

    assert result.signature is Signature.INCONCLUSIVE and plan(result, bundle, S).action is None, result.summary
    assert "the service has served cleanly in its newest 2 minutes" not in result.summary, result.summary
    assert "they may have stopped" in result.summary and "not whole yet" in result.summary, result.summary
