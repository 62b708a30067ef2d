"""The rules read no minute that holds one series' side without the other's (Facts.read_until).

Each request series (request_count by revision, class and code; request_latencies by revision) is
ingested on its own, up to ~180 s after its minute (facts.INGEST_LAG), so a series whose newest point is
older than the newest point of another, but inside that lag, may still be arriving: the minutes after it
hold the other series' points and not its own. `healthy` reads only whole minutes (test_whole_minutes.py);
the rules read the incident window, which ended at the newest point of any series: a canary's 500s of
the newest minutes in and its 200s not read its 5xx share high and rolled its traffic back; a service's
503s in and its 200s not scaled a connector. Whether Cloud Monitoring writes a point of 0 for a minute
with no 5xx is UNCONFIRMED: both readings are tabled. Controls: read once every series is in, or with the
failures in the whole minutes alone, the same evidence still acts."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence, at
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector, saturated_connector

S = DiagnosisSettings()


def _canary(ok_until: float, *, now: float = 4, read_after: float = 0, ok: float = 17, failed: float = 3,
            failing_from: float = -5, zeros: bool = False) -> Evidence:
    """OLD serves 80 a minute cleanly; NEW, a canary deployed at -5 with 20%, answers `ok` 200s a minute
    (in up to `ok_until`) and `failed` 500s a minute from `failing_from` (in up to `now`); `zeros`: the
    500 series written with a point of 0 for each minute before (the other reading of delta metrics)."""
    e = (Evidence(now=now, read_after=read_after).revision(OLD, -180, sql=(SQL,)).revision(NEW, -5, sql=(SQL,))
         .traffic(**{OLD: 80, NEW: 20}).requests(OLD, -90, now, 80).latency(OLD, -20, now, 0.2)
         .latency(NEW, -5, now, 0.3).requests(NEW, -5, ok_until, ok)
         .requests(NEW, failing_from, now, failed, code="500"))
    if zeros:
        e = e.requests(NEW, -5, failing_from, 0, code="500")
    return quiet_connector(e)


def _refusing(ok_until: float, failing_from: float, code: str = "503", *, read_after: float = 0) -> Evidence:
    """OLD serves 40 200s a minute (in up to `ok_until`); from `failing_from` 60 `code`s a minute at a 31 s
    p99 (a connector's hang), in up to +4; the connector at max instances and CPU-bound."""
    e = (Evidence(now=4, read_after=read_after).revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100})
         .requests(OLD, -90, ok_until, 40).requests(OLD, failing_from, 4, 60, code=code)
         .latency(OLD, -20, failing_from, 0.2).latency(OLD, failing_from, 4, 31 if code == "503" else 299))
    return saturated_connector(e) if code == "503" else quiet_connector(e)


# situation -> (the evidence, the signature that must not be read from it)
NOT_FROM_PARTIAL_MINUTES = {
    "a 15% canary whose 200s are in to +1 and its 500s to +4 (zero counts omitted): no rollback": (
        lambda: _canary(1), Signature.BAD_REVISION),
    "the same, its 500 series written with zeros before its failures began at -2: no rollback": (
        lambda: _canary(1, failed=5, failing_from=-2, zeros=True), Signature.BAD_REVISION),
    "503s at a 31 s hang only in the minutes whose 200s are not in yet: no connector scale": (
        lambda: _refusing(1, 1), Signature.CONNECTOR_SATURATION),
    "504s at the timeout only in the minutes whose 200s are not in yet: not a request timeout": (
        lambda: _refusing(1, 1, code="504"), Signature.REQUEST_TIMEOUT),
}


@pytest.mark.parametrize("name", NOT_FROM_PARTIAL_MINUTES)
def test_no_rule_judges_minutes_that_hold_one_series_without_the_other(name):
    build, never = NOT_FROM_PARTIAL_MINUTES[name]
    bundle = build().bundle()
    diagnosis = diagnose(bundle, S)
    assert diagnosis.signature is not never, diagnosis.summary
    assert diagnosis.signature is Signature.INCONCLUSIVE, diagnosis.summary
    assert plan(diagnosis, bundle, S).action is None


# situation -> (the evidence, the signature still read, its plan's action)
STILL_ACTS = {
    "control: the canary failing 32% in the whole minutes alone, its 200s not in after +1": (
        lambda: _canary(1, failed=8), Signature.BAD_REVISION, "rollback_traffic"),
    "control: the same canary with every series in to +4, read at +7": (
        lambda: _canary(4, failed=8, read_after=3), Signature.BAD_REVISION, "rollback_traffic"),
    "control: the connector's 503s since -10, its 200s not in after +1": (
        lambda: _refusing(1, -10), Signature.CONNECTOR_SATURATION, "scale_connector"),
    "control: the connector's 503s since -10, every series in to +4, read at +7": (
        lambda: _refusing(4, -10, read_after=3), Signature.CONNECTOR_SATURATION, "scale_connector"),
}


@pytest.mark.parametrize("name", STILL_ACTS)
def test_failures_in_the_whole_minutes_are_still_acted_on(name):
    build, signature, action = STILL_ACTS[name]
    bundle = build().bundle()
    diagnosis = diagnose(bundle, S)
    assert diagnosis.signature is signature, diagnosis.summary
    assert plan(diagnosis, bundle, S).action == action


# situation -> (the evidence, where the rules read up to)
READ_UNTIL = {
    "a series ending inside the lag (+1, the whole line) before the newest (+4): cut at its end": (
        lambda: _canary(1), at(1)),
    "a series ending at +2, inside the lag: cut at +2, not at the whole line": (lambda: _canary(2), at(2)),
    "a series ending before the whole line (stopped: its next point would be visible): read to +4": (
        lambda: _canary(-1), at(4)),
    "every series ending together at +4, read at +4: read as it stands, as before": (lambda: _canary(4), at(4)),
    "every series to +4 read at +7": (lambda: _canary(4, read_after=3), at(4)),
}


@pytest.mark.parametrize("name", READ_UNTIL)
def test_the_rules_read_up_to_the_newest_point_of_a_series_still_arriving(name):
    build, until = READ_UNTIL[name]
    facts = Facts(build().bundle(), S)
    assert facts.read_until == until
    assert facts.incident.end == until
