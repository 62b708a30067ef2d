"""A Cloud SQL instance that went down while requests failed and is up again by the time the evidence is
read (an HA failover, a maintenance restart) is still the failures' cause, escalated, but the finding says
so: when it went down, since when database/up reads 1 again, and how the service's requests fared since,
at a confidence below a database still down. A database still down at the read, down again after coming
back (a flap), or back for a single point only keeps the words and the confidence of an outage."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import OLD, long_running, quiet_connector

S = DiagnosisSettings()
OUTAGE = "went down or stopped reporting"


def failover(e: Evidence, *, up: list[tuple[float, float, float]], failing_until: float = 0) -> Evidence:
    """One long-running revision on a quiet connector; a third of its requests 503 from -3 to `failing_until`;
    database/up 1 from -90, then each (start, end, value) of `up` over it. Read at the newest point (minutes
    not whole yet: `healthy` holds back, as on a delivery minutes after the failover)."""
    e = quiet_connector(long_running(e)).requests(OLD, -3, failing_until, 20, code="503").sql_up(-90, 5, 1)
    for start, end, value in up:
        e.sql_up(start, end, value)
    return e


CASES = {
    "down two minutes, up again for five: the words say it is back, below an outage's confidence": dict(
        up=[(-3, -1, 0)], back=True, confidence=0.7, words=["went down (database/up 0 at", "is up again since"]),
    "a maintenance restart that left no point for three minutes, then 1 again: stopped reporting, back since": dict(
        up=[(-4, -1, float("nan"))], back=True, confidence=0.7,
        words=["stopped reporting database/up after", "is up again since"]),
    "down, up, down, up: a flap, back since the second, said with how often it went down": dict(
        up=[(-3, -2, 0), (-1, 0, 0)], back=True, confidence=0.7, words=["after going down 2 times, last at"]),
    "back, but the service still fails since: lower still, the outage alone no longer explains it": dict(
        up=[(-3, -1, 0)], failing_until=5, back=True, confidence=0.6, words=["still fails since it came back"]),
    "still down at the read: an outage, as before": dict(
        up=[(-3, 5, 0)], back=False, confidence=0.9, words=[OUTAGE]),
    "back, then down again at the read (a flap still down): an outage": dict(
        up=[(-3, -1, 0), (3, 5, 0)], back=False, confidence=0.9, words=[OUTAGE]),
    "one point of 1 only at the read: too few to say it is back": dict(
        up=[(-3, 4, 0)], back=False, confidence=0.9, words=[OUTAGE]),
}


def _with_gap(e: Evidence, start: float, end: float) -> Evidence:
    """No database/up point at all in the minutes (start, end] (an instance restarting may report none)."""
    for points in e.sql.values():
        for m in [m for m in points if start < m <= end]:
            del points[m]
    return e


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_database_back_up_is_said_back_up(case):
    e = failover(Evidence(now=5, read_after=0), up=[u for u in case["up"] if u[2] == u[2]],
                 failing_until=case.get("failing_until", 0))
    for start, end, value in case["up"]:
        if value != value:   # NaN: no point at all over those minutes
            _with_gap(e, start, end)
    bundle = e.bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert plan(result, bundle, S).action is None
    assert result.confidence == case["confidence"], result.summary
    for words in case["words"]:
        assert words in result.summary, result.summary
    assert (OUTAGE not in result.summary) is case["back"], result.summary
