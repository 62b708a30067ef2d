"""A Cloud SQL instance that went down while requests failed and is up again by the time the evidence is
read (an HA failover, a maintenance restart) is still the failures' cause, escalated, but the finding says
so: when it went down, since when database/up reads 1 again, and how the service's requests fared since,
at a confidence below a database still down. A database still down at the read, down again after coming
back (a flap), or back for a single point only keeps the confidence of an outage, and says since when it is
down and for how long (before, "went down or stopped reporting", with no time)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import OLD, long_running, quiet_connector

S = DiagnosisSettings()
OUTAGE = "is down since"


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
    "still down at the read: an outage, dated from its first 0 (11:58) and how long to the read": dict(
        up=[(-3, 5, 0)], back=False, confidence=0.9,
        words=[OUTAGE + " 11:58:00 (its first database/up 0 after its last 1)", "down 7 min 00 s at the read"]),
    "back, then down again at the read (a flap still down): an outage since the second, the first named": dict(
        up=[(-3, -1, 0), (3, 5, 0)], back=False, confidence=0.9,
        words=[OUTAGE + " 12:04:00", "after going down first at 11:58:00"]),
    "one point of 1 only at the read: too few to say it is back, dated up to that point": dict(
        up=[(-3, 4, 0)], back=False, confidence=0.9,
        words=[OUTAGE + " 11:58:00", "down 7 min 00 s to 12:05:00", "1 again at 12:05:00 only"]),
    "0 at every point read: down since before the first, at least that long": dict(
        up=[(-95, 5, 0)], back=False, confidence=0.9,
        words=[OUTAGE + " before 10:26:00", "down at least 1 h 39 min at the read"]),
    "silent since its last 1 to the read: stopped reporting after it, for how long": dict(
        up=[(-3, 5, float("nan"))], back=False, confidence=0.9,
        words=["stopped reporting database/up after 11:57:00 (its last point, a 1): silent 8 min 00 s at the read"]),
    "silent, then 0 to the read: down since its last 1": dict(
        up=[(-4, -1, float("nan")), (-1, 5, 0)], back=False, confidence=0.9,
        words=["stopped reporting database/up after 11:56:00 (its last 1), then read 0 through 12:05:00",
               "down since 11:56:00, 9 min 00 s at the read"]),
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
    assert ("up again since" in result.summary) is case["back"], result.summary


CLOSED = ("sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) server closed the connection unexpectedly\n"
          "\tThis probably means the server terminated abnormally")
RESET = "list orders: failed to receive message: read tcp 10.8.0.4:51122->10.40.0.9:5432: read: connection reset by peer"
LINK = ("com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure\n\nThe last packet "
        "successfully received from the server was 412,877 milliseconds ago. The last packet sent successfully to the "
        "server was 0 milliseconds ago.")
REFUSED = ('psycopg2.OperationalError: connection to server at "10.40.0.9", port 5432 failed: Connection refused\n'
           "\tIs the server running on that host and accepting TCP/IP connections?")
KEPT_DEAD = "its pool still hands out connections the outage ended"
REPLACE = "replace its instances (deploy a new revision of the same configuration"

POOL_CASES = {
    "libpq's closed connection logged since it came back: the pool kept them; replace the instances": dict(
        lines=[(CLOSED, 10)], kept=True),
    "Go's reset on a pooled connection since: the same": dict(lines=[(RESET, 10)], kept=True),
    "Connector/J's link failure that last received a packet long ago: a connection made before": dict(
        lines=[(LINK, 10)], kept=True),
    "refused dials since it came back, not a pool's dead connections: no such words": dict(
        lines=[(REFUSED, 10)], kept=False),
    "too few lines since it came back to say what the pool does": dict(lines=[(CLOSED, 2)], kept=False),
    "most lines since are refused dials: not said to be the pool's": dict(lines=[(CLOSED, 4), (REFUSED, 8)], kept=False),
}


@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_a_service_still_failing_on_connections_the_outage_ended_is_told_to_replace_its_instances(case):
    e = failover(Evidence(now=5, read_after=0), up=[(-3, -1, 0)], failing_until=5)
    for text, count in case["lines"]:
        for minute in range(0, count):
            e.log(minute * 0.4, text)
    bundle = e.bundle()

    result = diagnose(bundle, S)

    assert result.signature is Signature.DATABASE_UNREACHABLE, result.summary
    assert plan(result, bundle, S).action is None
    assert "still fails since it came back" in result.summary, result.summary
    assert (KEPT_DEAD in result.summary) is case["kept"], result.summary
    assert (REPLACE in result.recommendation) is case["kept"], result.recommendation
    assert ("not the connector" in result.recommendation) is case["kept"], result.recommendation
