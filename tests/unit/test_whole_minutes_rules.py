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

from tests.unit.builders import SQL, Evidence, at, held
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
    assert held(build().bundle(), S).signature is not never     # held: inconclusive, nothing planned


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


# --- what the last fix left (wholeleft) -------------------------------------------------------------------


def _beside_failing_stable(old_503_until: float, *, read_after: float = 0, old_503: float = 1.2) -> Evidence:
    """A canary, NEW, deployed at -5 with 20%, fails 30% (14 200s, 6 500s a minute, every minute in to +4);
    OLD, its 80%, answers 80 200s a minute (in to +4) and `old_503` 503s a minute from -5 up to
    `old_503_until` (a dependency both share), none after: read at +4 (`read_after` 0) the minutes after the
    whole line (+1) hold OLD's 200s, and its 503s, if any, may not be in (request_count writes no point for a
    code with no request in a minute, UNCONFIRMED; each series is ingested on its own)."""
    e = (Evidence(now=4, read_after=read_after).revision(OLD, -180, sql=(SQL,)).revision(NEW, -5, sql=(SQL,))
         .traffic(**{OLD: 80, NEW: 20}).requests(OLD, -90, 4, 80).latency(OLD, -20, 4, 0.2)
         .latency(NEW, -5, 4, 0.3).requests(NEW, -5, 4, 14).requests(NEW, -5, 4, 6, code="500")
         .requests(OLD, -5, old_503_until, old_503, code="503"))
    return quiet_connector(e)


def _hang_beside_busy_connector(busy_until: float, *, read_after: float = 0) -> Evidence:
    """NEW took all traffic at -10 and answers 60% 503s at a 31 s p99 since; the connector, quiet before,
    is at its max instances and CPU-bound from -10 to `busy_until`, and reads low after it (1 instance,
    10% CPU): a newest minute whose points are partial (each connector instance's series ingested on its
    own, ~240 s: dynatrace-gcp-monitor src/config/vpc_access_connector.yml, UNCONFIRMED) reads so."""
    e = (Evidence(now=4, read_after=read_after).revision(OLD, -180, sql=(SQL,)).revision(NEW, -10, sql=(SQL,))
         .traffic(**{NEW: 100}).requests(OLD, -90, -10, 40).requests(NEW, -10, 4, 18)
         .requests(NEW, -10, 4, 27, code="503").latency(OLD, -20, -10, 0.2).latency(NEW, -10, 4, 31)
         .connector(max_instances=3).sql_up(-20, 5, 1).connector_metric("instances", -40, -10, 2)
         .connector_metric("cpu", -40, -10, 0.3).connector_metric("bytes", -40, -10, 2e6)
         .connector_metric("instances", -10, busy_until, 3).connector_metric("cpu", -10, busy_until, 0.95)
         .connector_metric("bytes", -10, busy_until, 2e7))
    if busy_until < 4:
        e = (e.connector_metric("instances", busy_until, 4, 1).connector_metric("cpu", busy_until, 4, 0.1)
             .connector_metric("bytes", busy_until, 4, 1e6))
    return e


# situation -> the evidence whose rollback (or scale) must be held back
HELD_BACK = {
    "the stable revision failing 1.2% in its whole minutes, its 503s in to 0, its 200s to +4: no rollback": (
        lambda: _beside_failing_stable(0)),
    "the same with 1.5 503s a minute in to -1: 1.2% over the whole minutes, 0.8% as read: no rollback": (
        lambda: _beside_failing_stable(-1, old_503=1.5)),
    "pin: a connector busy since -10 whose newest three minutes read low (partial): the rollback still held": (
        lambda: _hang_beside_busy_connector(1)),
    "pin: the same connector reading low from -8 on: its busy minutes alone still hold the rollback": (
        lambda: _hang_beside_busy_connector(-8)),
}


@pytest.mark.parametrize("name", HELD_BACK)
def test_minutes_not_whole_never_drop_a_hold_back(name):
    held(HELD_BACK[name]().bundle(), S)


# situation -> (the evidence, the signature still read, its plan's action)
STILL_ROLLED_BACK = {
    "control: the same stable revision read at +7, every minute whole (its 503s stopped at 0: 0.8%)": (
        lambda: _beside_failing_stable(0, read_after=3), Signature.BAD_REVISION, "rollback_traffic"),
    "control: the stable revision clean, read at +4": (
        lambda: _beside_failing_stable(-5), Signature.BAD_REVISION, "rollback_traffic"),
}


@pytest.mark.parametrize("name", STILL_ROLLED_BACK)
def test_a_clean_stable_revision_still_lets_the_canary_roll_back(name):
    build, signature, action = STILL_ROLLED_BACK[name]
    bundle = build().bundle()
    diagnosis = diagnose(bundle, S)
    assert diagnosis.signature is signature, diagnosis.summary
    assert plan(diagnosis, bundle, S).action == action


def test_an_escalation_says_which_series_ends_where_when_the_window_is_cut():
    """The window read ends at Facts.read_until: the summary says why, and where each series ends, in the
    words of healthy's note (diagnose._note_not_whole)."""
    diagnosis = diagnose(_canary(1).bundle(), S)
    assert diagnosis.signature is Signature.INCONCLUSIVE
    assert "in (11:45:00, 12:01:00]" in diagnosis.summary
    assert ("the minutes after 12:01:00 to 12:04:00 are not read: they are not whole yet (newest points: "
            "request_count 200 of backend-00002-xyz to 12:01:00; ") in diagnosis.summary
    assert "a point is visible up to 180 s after its minute, each series on its own" in diagnosis.summary


def test_an_escalation_read_to_the_newest_point_says_nothing_of_a_cut():
    for evidence in (_canary(4, failed=3, read_after=3), _canary(4, failed=3)):
        assert "are not read: they are not whole yet" not in diagnose(evidence.bundle(), S).summary
