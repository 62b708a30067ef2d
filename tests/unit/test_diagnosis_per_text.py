"""A diagnosis asks its regular expressions of each distinct log text, never of each line.

One failure repeats one text on every request, so a log read at its ceiling (max_log_entries, up to 1,000)
holds a few distinct texts: a rule that searches every line instead costs a diagnosis tens of milliseconds
there while a bundled scenario's few lines hide it (log_signals.per_text; bench/diagnosis_speed.py's
"scaled" column is the speed side of the same thing, and it is not run in CI). This test is the count
side, which no load moves: every bundled scenario with log lines is collected from its seeded stand-ins
in process, its log read repeated in place (each entry three times, order and revisions kept), and the
regular-expression calls of one diagnose() counted on both (`re.Pattern`'s search, match, fullmatch,
finditer, findall, sub, split, through sys.setprofile's C-call events). Repeating the lines adds no new
text, so the count may grow by less than one call per line: a rule reading each line again adds at least
two per line (the two copies more of each).
"""
from __future__ import annotations

import re
import sys
from datetime import datetime, timezone
from typing import Callable

import pytest

from sandbox.inprocess import InProcessLogging, InProcessMonitoring, InProcessRun, InProcessVpcAccess, unstarted_standins
from sandbox.scenarios import list_bundled_scenarios, resolve_scenario, seed
from shared.alerts.incidents import parse_notification
from shared.config import DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import EvidenceBundle, LogResult
from shared.diagnosis.scope import alert_context

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
SETTINGS = DiagnosisSettings(max_log_entries=1000)
COPIES = 3
_SEARCHES = frozenset({"search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split"})
WITH_LOGS = [name for name in list_bundled_scenarios() if resolve_scenario(name).logs]


def _collected(name: str) -> EvidenceBundle:
    """The scenario's evidence as the alert path reads it, from in-process stand-ins."""
    scenario = resolve_scenario(name)
    standins = unstarted_standins()
    seed(standins, scenario, T0)
    readers = Readers(InProcessRun(standins.run), InProcessMonitoring(standins.monitoring),
                      InProcessLogging(standins.logging), InProcessVpcAccess(standins.vpcaccess))
    service = scenario.service_name(scenario.services[0].name)
    alert = alert_context(parse_notification(scenario.notification(T0))) if scenario.alert else None
    sql = next((tuple(s.get("cloudsql_instances", ())) for s in scenario.config.get("services", ())
                if s.get("name") == service), ())
    return collect(service, T0, readers, SETTINGS, T0 + scenario.delivered, sql_instances=sql, alert=alert)


def _repeated(bundle: EvidenceBundle, copies: int) -> EvidenceBundle:
    """The bundle with each log entry repeated in place `copies` times."""
    logs = bundle.logs
    entries = tuple(e for e in logs.entries for _ in range(copies))
    return bundle.model_copy(update={"logs": LogResult(query=logs.query, entries=entries, truncated=logs.truncated)})


def _searches(run: Callable[[], object]) -> int:
    """How many regular-expression calls `run` makes."""
    calls = 0

    def count(_frame, event, arg) -> None:
        nonlocal calls
        if event == "c_call" and type(getattr(arg, "__self__", None)) is re.Pattern and arg.__name__ in _SEARCHES:
            calls += 1

    sys.setprofile(count)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize("name", WITH_LOGS)
def test_repeated_lines_cost_no_search_per_line(name: str) -> None:
    bundle = _collected(name)
    if not bundle.logs or not bundle.logs.entries:
        pytest.skip("the collection read no log line")
    big = _repeated(bundle, COPIES)
    diagnose(bundle, SETTINGS), diagnose(big, SETTINGS)   # compiled patterns and cached properties warm
    once, repeated = _searches(lambda: diagnose(bundle, SETTINGS)), _searches(lambda: diagnose(big, SETTINGS))
    lines = len(bundle.logs.entries)
    assert repeated - once < lines, (
        f"{lines} lines read {COPIES} times over made {repeated} regular-expression calls against {once}: a rule "
        "searches each line instead of each distinct text (log_signals.per_text, found_in)")


def test_the_count_sees_a_search_per_line() -> None:
    """The guard can fail: a pass that searches each line is counted per line."""
    bundle = _collected(WITH_LOGS[0])
    pattern = re.compile("timed out")
    per_line = _searches(lambda: [pattern.search(e.text) for e in _repeated(bundle, COPIES).logs.entries])
    assert per_line == COPIES * len(bundle.logs.entries)
