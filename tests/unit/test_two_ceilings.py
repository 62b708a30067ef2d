"""Cloud Run at its max instances and the VPC connector at its ceiling at once, told apart minute by minute.

Both rules held and competed whatever the evidence's order: a connector whose ceiling came minutes before the
revision's max, with the dials through it timing out (the instances filled because the requests hung), and a
revision at its max minutes before the connector was busy, with every request answered fast, were escalated
alike. Now the one that led is the diagnosis, its order cited (shared/diagnosis/two_ceilings.py); within two
minutes of each other, or with the order and the requests disagreeing, both are still named. Pure: evidence built
in memory (tests/unit/builders.py), no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.signatures import Signature
from tests.unit.builders import SQL, Evidence

S = DiagnosisSettings()
REV = "backend-00007-abc"
NO_INSTANCE = "The request was aborted because there was no available instance."
DIAL = "failed to connect to `host=10.40.0.9 user=app database=app`: dial error (dial tcp 10.40.0.9:5432: i/o timeout)"
CONNECTOR, CAPACITY = Signature.CONNECTOR_SATURATION, Signature.CAPACITY


def _world(*, connector_from: float | None, max_from: float, dials: bool, hung: bool, fast_503s: bool = False,
           connector_at_max_all_along: bool = False) -> Evidence:
    """backend (80 requests per instance, max 10 instances) through an e2-micro connector of 2 to 3 instances,
    3,000 requests a minute before; the connector at its ceiling (3 of 3, CPU p99 97 %) from `connector_from`
    (None: never; `connector_at_max_all_along`: at 3 of 3 from the start at 30 % CPU, a high-water mark); the
    revision at its 10 from `max_from`, refusing 900 a minute with 429 from then; `dials`: 40 dials to the
    database timing out from the earlier of the two; `hung`: the requests' p99 at 30 s from then, else 0.3 s;
    `fast_503s`: 600 503s a minute answered by the application's own load shedding."""
    start = min(x for x in (connector_from, max_from) if x is not None)
    e = Evidence(now=5)
    e.revision(REV, -6 * 24 * 60, sql=(SQL,), timeout=60, max_instances=10, concurrency=80).traffic(**{REV: 100})
    e.requests(REV, -120, start, 3000).requests(REV, start, 5, 1500).requests(REV, max_from, 5, 900, code="429")
    e.latency(REV, -120, start, 0.3).latency(REV, start, 5, 30 if hung else 0.4)
    e.instances(REV, -120, start, 5).instances(REV, start, max_from, 8).instances(REV, max_from, 5, 10)
    if fast_503s:
        e.requests(REV, start, 5, 600, code="503")
    if hung and not fast_503s:
        e.requests(REV, start, 5, 600, code="500")
    e.sql_up(-120, 5, 1)
    e.connector(max_instances=3)
    e.connector_metric("instances", -120, 5, 3 if connector_at_max_all_along else 2)
    e.connector_metric("cpu", -120, 5, 0.3).connector_metric("bytes", -120, 5, 5e6)
    if connector_from is not None:
        e.connector_metric("instances", connector_from, 5, 3).connector_metric("cpu", connector_from, 5, 0.97)
        e.connector_metric("bytes", connector_from, 5, 36e6)
    for minute in range(int(max_from) + 1, 5):
        e.log(minute, NO_INSTANCE, REV, count=5, log_id="run.googleapis.com/requests", severity="WARNING", status=429)
    if dials:
        for minute in range(int(start) + 1, 5):
            e.log(minute, DIAL, REV, count=3)
    return e


def _connector_at_ceiling(e: Evidence, *minutes: int) -> Evidence:
    """The connector at its ceiling (3 of 3, CPU p99 97 %, 288 Mbps) in each minute ending at `minutes`, and at 3
    instances from the first on ("Connectors don't scale in", Serverless VPC Access, Scaling)."""
    for m in minutes:
        e.conn_series["cpu"][m], e.conn_series["bytes"][m] = 0.97, 36e6
    for m in e.conn_series["instances"]:
        if m >= min(minutes):
            e.conn_series["instances"][m] = 3
    return e


def _left_out(e: Evidence, *minutes: int) -> Evidence:
    """Monitoring left every connector point of the minutes ending at `minutes` out (neither under nor at)."""
    for m in minutes:
        for series in e.conn_series.values():
            series.pop(m, None)
    return e


def _revision_at_max(e: Evidence, *minutes: int) -> Evidence:
    """The revision at its 10 max instances in each minute ending at `minutes` (a launch's burst)."""
    for m in minutes:
        e.inst[REV][m] = 10
    return e


ROWS = [
    # name, evidence, the diagnosis (a signature, or the competing pair), cases wrong on main marked "(main: both)"
    ("the connector's ceiling 4 minutes before the revision's max, dials timing out: the connector (main: both)",
     _world(connector_from=-14, max_from=-10, dials=True, hung=True), CONNECTOR),
    ("the same at exactly the 2-minute lead: the connector (main: both)",
     _world(connector_from=-12, max_from=-10, dials=True, hung=True), CONNECTOR),
    ("the revision's max 4 minutes before the connector's ceiling, all answered fast: capacity (main: both)",
     _world(connector_from=-9, max_from=-13, dials=False, hung=False, fast_503s=True), CAPACITY),
    # Both named: no order the evidence can tell, or the order and the requests disagree.
    ("both in the same minute, dials timing out: both",
     _world(connector_from=-10, max_from=-10, dials=True, hung=True), None),
    ("one minute apart (within a sample of either): both",
     _world(connector_from=-11, max_from=-10, dials=True, hung=True), None),
    ("the revision's max first, then the connector's ceiling with dials timing out: both",
     _world(connector_from=-9, max_from=-13, dials=True, hung=True), None),
    ("the connector's ceiling first, requests hung to 30 s but no dial timing out (slow queries?): both",
     _world(connector_from=-14, max_from=-10, dials=False, hung=True), None),
    # Each ceiling dated by its stretch running into the incident, not its first minute at it.
    ("a one-minute burst at the connector's ceiling 5 minutes before, back under, then its ceiling a minute "
     "before the revision's max, dials timing out: both (main: the connector, from the burst)",
     _connector_at_ceiling(_world(connector_from=-11, max_from=-10, dials=True, hung=True), -14), None),
    ("an earlier stretch at the connector's ceiling that ended, the revision's max, then the connector's ceiling "
     "again 3 minutes after, all answered fast: capacity (main: both)",
     _connector_at_ceiling(_world(connector_from=-6, max_from=-9, dials=False, hung=False, fast_503s=True),
                           -14, -13, -12), CAPACITY),
    ("a minute at the connector's ceiling, then its points left out for 3 minutes, then its ceiling in the "
     "revision's max minute, dials timing out: both, the gap read either way (main: the connector)",
     _left_out(_connector_at_ceiling(_world(connector_from=-11, max_from=-10, dials=True, hung=True), -14),
               -13, -12, -11), None),
    ("the connector's ceiling 4 minutes first with 2 of its minutes left out inside, dials timing out: the "
     "connector, the gap not read as under (a control: main read its first minute)",
     _left_out(_world(connector_from=-14, max_from=-10, dials=True, hung=True), -12, -11), CONNECTOR),
    ("a one-minute burst of the revision at its max 13 minutes before, back under, then the connector's ceiling "
     "4 minutes before its max again, dials timing out: the connector (main: both, from the burst)",
     _revision_at_max(_world(connector_from=-12, max_from=-8, dials=True, hung=True), -14), CONNECTOR),
    # Controls: one ceiling alone.
    ("the revision's max alone, the connector at 3 of 3 all along at 30 % CPU (connectors don't scale in): capacity",
     _world(connector_from=None, max_from=-12, dials=False, hung=False, connector_at_max_all_along=True), CAPACITY),
]


@pytest.mark.parametrize("name,evidence,expected", ROWS, ids=[r[0] for r in ROWS])
def test_two_ceilings_are_told_apart_by_their_order(name, evidence, expected):
    d = diagnose(evidence.bundle(), S)
    if expected is None:
        assert d.signature is Signature.INCONCLUSIVE and set(d.competing) == {CAPACITY.value, CONNECTOR.value}, \
            d.summary
        assert any("no order the evidence can tell" in e.observed or "the revision at its" in e.observed
                   for e in d.evidence), d.summary
        return
    assert d.signature is expected and not d.competing, d.summary
    if "alone" in name:
        return   # a control: no second ceiling to tell apart, nothing to cite
    assert "before" in d.summary or "never reached its ceiling" in d.summary \
        or "not at its ceiling while it was there" in d.summary, d.summary
    order = [e for e in d.evidence if e.about == expected.value and "the revision at its" in e.observed]
    assert len(order) == 1 and order[0].passed, [e.observed for e in d.evidence]


def test_the_order_is_found_once_per_diagnosis(monkeypatch):
    """The connector's rule (a hang at the revision's max) and the verdict both read the order: found once,
    kept on the diagnosis's Facts (main found it twice, reading every series again)."""
    from shared.diagnosis import two_ceilings

    calls: list[object] = []
    found = two_ceilings._what_requests_did

    def counted(facts):
        calls.append(facts)
        return found(facts)

    monkeypatch.setattr(two_ceilings, "_what_requests_did", counted)
    d = diagnose(_world(connector_from=-14, max_from=-10, dials=True, hung=True).bundle(), S)
    assert d.signature is CONNECTOR, d.summary
    assert len(calls) == 1, f"the order was found {len(calls)} times"
