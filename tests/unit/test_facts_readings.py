"""The readings several rules share are Facts' own: each found on first use and once per diagnosis,
whichever rule asks first and however often (Facts.connector_news, db_refusals, db_never_left,
db_unreached_lines with db_unreached, db_closed, db_refused_dials). The rules only read them, and a read after the first is a
plain attribute's: no Python call."""
from __future__ import annotations

import operator
import sys
from collections import Counter
from collections.abc import Callable

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis import facts as facts_module
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.rules import connector_saturation, connector_signs
from shared.diagnosis.rules.base import Citation
from shared.diagnosis.rules.never_left import only_never_left
from shared.diagnosis.rules.refusals import refusals
from shared.diagnosis.signatures import Signature
from shared.remediation import judging

from tests.unit.builders import SQL, Evidence
from tests.unit.test_connector_news import DIAL
from tests.unit.test_database_refusals import TOO_MANY
from tests.unit.test_never_left import LOOPBACK_GO

OLD = "backend-00001-abc"
S = DiagnosisSettings()
CLOSED = "(psycopg2.OperationalError) server closed the connection unexpectedly"
DNS = ('failed to connect to `host=db.internal user=app database=app`: hostname resolving error '
       '(lookup db.internal on 169.254.169.254:53: no such host)')

# Each reading and the helper facts.py calls to compute it (called once per computation).
COMPUTED_BY = {"connector_news": "news_of", "db_refusals": "refusals_by_kind",
               "db_never_left": "never_left_by_kind", "db_unreached_lines": "lines_but", "db_closed": "closed_count",
               "db_refused_dials": "refused_dial_count"}


def _busy(*logged: tuple[str, int]) -> Evidence:
    """503s since -12 m on a connector newly at its max with CPU hot, Cloud SQL up, and `logged` (text, count)
    lines from -5 m."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
         .requests(OLD, -12, 5, 30, code="503").latency(OLD, -90, 5, 0.3).connector(max_instances=3)
         .connector_metric("instances", -90, -13, 2).connector_metric("instances", -13, 5, 3)
         .connector_metric("cpu", -90, -13, 0.3).connector_metric("cpu", -13, 5, 0.95).sql_up(-90, 5, 1))
    for text, count in logged:
        e = e.log(-5, text, OLD, count=count)
    return e


CASES = {
    "dials timed out": _busy((DIAL, 30)),
    "dials, refusals and failed lookups": _busy((DIAL, 12), (TOO_MANY, 8), (DNS, 6)),
    "connections found closed": _busy((CLOSED, 20)),
    "dials refused": _busy(("dial tcp 10.20.0.3:5432: connect: connection refused", 20)),
    "a sidecar not running": _busy((LOOPBACK_GO, 20)),
    "no log line": _busy(),
}


def _counted(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often each reading's helper runs, from now on."""
    calls: Counter[str] = Counter()
    for reading, name in COMPUTED_BY.items():
        helper = getattr(facts_module, name)

        def counting(*args, _helper: Callable = helper, _reading: str = reading, **kwargs):
            calls[_reading] += 1
            return _helper(*args, **kwargs)

        monkeypatch.setattr(facts_module, name, counting)
    return calls


@pytest.mark.parametrize("evidence", CASES.values(), ids=CASES.keys())
def test_each_reading_is_computed_at_most_once_per_diagnosis(monkeypatch, evidence):
    bundle = evidence.bundle()
    calls = _counted(monkeypatch)

    diagnose(bundle, S)

    assert all(count <= 1 for count in calls.values()), calls
    # Both connector_saturation and database_unreachable read the connector's news and the errors.
    assert calls["connector_news"] == calls["db_refusals"] == calls["db_never_left"] == 1, calls


@pytest.mark.parametrize("evidence", CASES.values(), ids=CASES.keys())
def test_every_reader_asked_twice_in_either_order_computes_each_once(monkeypatch, evidence):
    calls = _counted(monkeypatch)
    facts = Facts(evidence.bundle(), S)
    asks: list[Callable[[], object]] = [
        lambda: connector_signs.new_stress(facts), lambda: refusals(facts), lambda: only_never_left(facts),
        lambda: connector_saturation._unreached(facts), lambda: connector_saturation._unreached_lines(facts),
        lambda: connector_saturation._closed(facts), lambda: connector_saturation._refused_dials(facts)]
    first = [ask() for ask in asks]
    again = [ask() for ask in reversed(asks)][::-1]

    assert first == again
    assert calls == Counter(list(COMPUTED_BY)), calls


@pytest.mark.parametrize("evidence", CASES.values(), ids=CASES.keys())
def test_the_connector_checks_are_cited_alike_whoever_asked_first(evidence):
    """stress cites the checks that found the news into its rule's citation, whether database_unreachable's
    new_stress found them before or not, and turns the rule's own supporting checks of a sign left out into
    context, as the checks that left it out did."""
    alone, after = Facts(evidence.bundle(), S), Facts(evidence.bundle(), S)
    connector_signs.new_stress(after)
    cited: list[Citation] = []
    for facts in (alone, after):
        c = Citation(Signature.CONNECTOR_SATURATION)
        c.cite("metric", facts_module.query_of(facts.b.connector_instances, "connector/instances"), "before",
               "a check the rule made before", True)
        signs = connector_signs.stress(facts, c)
        cited.append(c)
        assert signs == connector_signs.new_stress(facts) == list(facts.connector_news.signs)
    assert cited[0].items == cited[1].items
    assert cited[0].items[1:] == list(alone.connector_news.items)


def test_the_readings_are_facts_own_before_any_rule_asks():
    facts = Facts(_busy((DIAL, 12), (TOO_MANY, 8), (DNS, 6), (CLOSED, 4)).bundle(), S)

    # A failed name lookup is an answer too (DNS's), named among the refusals: most said first.
    assert [len(lines) for lines in facts.db_refusals.values()] == [8, 6]
    assert facts.db_unreached == len(facts.db_unreached_lines) == 12 + 4   # refusals and lookups left out
    assert facts.db_closed == 4
    assert facts.db_never_left == {}
    assert facts.connector_news.signs == ("at max instances (3)", "CPU p99 95%")


READINGS = ("connector_news", "db_refusals", "db_never_left", "db_unreached_lines", "db_unreached", "db_closed",
            "db_refused_dials")


def _python_calls(read: Callable[[Facts], object], facts: Facts) -> tuple[object, int]:
    """What `read(facts)` gave, and how many Python functions ran for it (sys.setprofile's "call" events;
    `read` is an operator.attrgetter, itself in C)."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        found = read(facts)
    finally:
        sys.setprofile(None)
    return found, calls


@pytest.mark.parametrize("reading", READINGS)
def test_a_reading_read_again_runs_no_python(reading):
    """The rules read the shared readings some thirty times a diagnosis: a property ran its getter each time
    (a cold LARGE diagnosis made 26 more Python calls than before Facts kept them)."""
    facts = Facts(CASES["dials, refusals and failed lookups"].bundle(), S)
    first, calls = _python_calls(operator.attrgetter(reading), facts)
    again, calls_again = _python_calls(operator.attrgetter(reading), facts)

    assert calls > 0   # the first read computes it (the counting can see a call)
    assert again is first
    assert calls_again == 0


# A point with no value (NaN, infinite: facts.finite) is a minute not read by every per-minute reading, for
# diagnosis and verification alike: never a clean minute, a count, a peak nor an instance "up" or "down".
def _one_unread_minute(value: float) -> Evidence:
    e = (Evidence().revision(OLD, -300).traffic(**{OLD: 100}).requests(OLD, -30, 0, 40)
         .requests(OLD, -30, 0, 4, code="500").latency(OLD, -30, 0, 3.0).instances(OLD, -30, 0, 2)
         .sql_up(-30, 0, 1).sql_cpu(-30, 0, 0.5).sql_connections(-30, 0, 20))
    for series in (e.req[(OLD, "200")], e.req[(OLD, "500")], e.lat[OLD], e.inst[OLD], e.sql[SQL]):
        series[max(series)] = value
    return e


READINGS = {
    "the service's p99": lambda f, w: [v for _, v in f.p99_by_minute(w)],
    "a revision's p99": lambda f, w: list(f.revision_p99_by_minute(w, OLD).values()),
    "request counts": lambda f, w: [v for _, total, coded in f.per_minute(w, "500") for v in (total, coded)],
    "every series' points": lambda f, w: [v for r in (f.b.requests, f.b.latencies, f.b.instances, f.b.sql_up)
                                          for s in f.points(r) for v in s.values_in(w)],
    "database up": lambda f, w: [v for vs in f.sql_up_values(w).values() for v in vs],
    "the verification's own p99 of a revision": lambda f, w: judging._own_p99(f, w, OLD),
}


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["NaN", "infinity"])
@pytest.mark.parametrize("reading", READINGS.values(), ids=READINGS.keys())
def test_a_point_with_no_value_is_a_minute_not_read(reading, value):
    facts = Facts(_one_unread_minute(value).bundle(), S)
    read = reading(facts, facts.incident)
    assert read and all(facts_module.finite(v) for v in read), read
    assert 0.0 not in read or reading is READINGS["request counts"], read
