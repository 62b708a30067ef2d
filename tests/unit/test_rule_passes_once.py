"""Passes several checks ask over the same per-minute series or log lines are made once per diagnosis, and
give what the plain pass gives: the p99 hang band (connector_signs.hang_minutes, usual_hang), the database
lines split at the failing window (Facts._database_split), the errors of reaching the database that are
not refusals or failed lookups (connector_saturation._unreached)."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import LogSignal
from shared.diagnosis.rules import connector_saturation, connector_signs
from shared.diagnosis.rules.refusals import refusals

from tests.unit.builders import SQL, Evidence
from tests.unit.test_connector_news import DIAL

OLD = "backend-00001-abc"
S = DiagnosisSettings()
DNS = ('failed to connect to `host=db.internal user=app database=app`: hostname resolving error '
       '(lookup db.internal on 169.254.169.254:53: no such host)')
REFUSED = 'FATAL: remaining connection slots are reserved for non-replication superuser connections'


def _hanging(before_p99: float, p99: float) -> Facts:
    """Requests clean for an hour, then 503s since -12 m with the p99 at `p99` (at `before_p99` before)."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
         .requests(OLD, -12, 5, 30, code="503").latency(OLD, -90, -12, before_p99).latency(OLD, -12, 5, p99)
         .connector().sql_up(-90, 5, 1))
    return Facts(e.bundle(), S)


@pytest.mark.parametrize("before_p99, p99", [(0.4, 31.0), (31.0, 31.0), (0.4, 0.4), (31.0, 0.4)])
def test_the_hang_band_is_read_once_and_is_the_plain_reading(before_p99, p99):
    facts = _hanging(before_p99, p99)
    asked: list[object] = []
    p99_seconds = facts.p99_seconds

    def counted(window):
        asked.append(window)
        return p99_seconds(window)

    facts.p99_seconds = counted   # type: ignore[method-assign]  # counts the per-minute reads
    first = connector_signs.hang_minutes(facts)
    first[0].append(99.0)   # a caller's copy: changing it changes no later answer
    first[1].clear()
    for _ in range(3):
        again = connector_signs.hang_minutes(facts)
        assert connector_signs.usual_hang(facts) == connector_signs.usual_hang(facts)
    # The plain reading, as hang_minutes read it before: the band in the incident window, not usual before it.
    timeout = facts.request_timeout_seconds
    plain = [v for v in p99_seconds(facts.incident) if S.hang_latency_seconds <= v < 0.9 * timeout]
    incident = p99_seconds(facts.incident)
    held = bool(incident) and len(plain) / len(incident) >= S.hang_minutes_ratio
    before = [v for v in p99_seconds(facts.before) if S.hang_latency_seconds <= v < 0.9 * timeout]
    usual = (connector_signs.clean_before(facts) is not None and bool(p99_seconds(facts.before))
             and len(before) / len(p99_seconds(facts.before)) >= S.hang_minutes_ratio)
    assert again == (incident, plain, held and not usual)
    # Each window's p99 read once: the incident window's, and the window before only when usual_hang asked.
    assert asked.count(facts.incident) == 1
    assert asked.count(facts.before) <= 1
    assert len(asked) == len(set(asked))


@pytest.mark.parametrize("minutes", [
    (-30, -20, -11, -5, -1),      # before the failures, then during them
    (-5, -30, -1, -20, -11),      # out of order
    (-12, -12, -3),               # at the failures' start
    (-3, -2),                     # all during
    (-40, -35),                   # all before
])
def test_the_database_lines_split_at_the_failing_window_as_a_plain_scan(minutes):
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
         .requests(OLD, -12, 5, 30, code="503").connector().sql_up(-90, 5, 1))
    for minute in minutes:
        e = e.log(minute, DIAL, OLD, count=2)
    facts = Facts(e.bundle(), S)
    found = facts.log_matches(LogSignal.DB_CONNECTION)
    assert len(found) == 2 * len(minutes)
    failing = facts.failing_window
    assert failing is not None and failing.start > facts.incident.start
    assert facts.database_lines(LogSignal.DB_CONNECTION) == [x for x in found if x.timestamp >= failing.start]
    assert facts.database_lines_before(LogSignal.DB_CONNECTION) == [x for x in found if x.timestamp < failing.start]


@pytest.mark.parametrize("dials, lookups, refused", [(30, 0, 0), (30, 10, 0), (30, 0, 10), (12, 6, 8), (0, 6, 8)])
def test_the_errors_of_reaching_the_database_leave_out_refusals_and_lookups(dials, lookups, refused):
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 5, 60)
         .requests(OLD, -12, 5, 30, code="503").connector().sql_up(-90, 5, 1))
    for text, count in ((DIAL, dials), (DNS, lookups), (REFUSED, refused)):
        if count:
            e = e.log(-5, text, OLD, count=count)
    facts = Facts(e.bundle(), S)
    left_out = [x for kind in refusals(facts).values() for x in kind] + facts.log_matches(LogSignal.DNS_FAILURE)
    plain = [x for x in facts.database_lines(LogSignal.DB_CONNECTION) if all(x is not y for y in left_out)]
    assert connector_saturation._unreached(facts) == len(plain)
    assert connector_saturation._unreached_lines(facts) == plain
