"""A signal's lines counted over the read that carries each of them (Facts.logged_enough).

A chatty service's newest-first page of max_log_entries spans the window's last minutes alone; the read of
the failure lines alone (EvidenceBundle.failure_logs) takes its ERROR-or-worse lines and the needles' over the
whole window, and the rules count from both joined (Facts.logs). A line that read takes
(facts.failure_read_carries) is counted once, whole, over the window; a line only the page holds is a sample
of the window, scaled by the share of it the page spans. Before, most rules passed a bare count, scaled over
the page whatever read carried the lines: two downstream 5xx lines the failure read held whole stood for six,
and held a bad deploy's rollback back. Pure: evidence built in memory, no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import Facts, failure_read_carries
from shared.remediation.planning import plan

from tests.unit.builders import Evidence, at
from tests.unit.test_bad_revision_downstream import CALL
from tests.unit.test_chatty_counts import NEW, bad_deploy, chatty, started
from tests.unit.test_database_refusals import deployed, quiet

S = DiagnosisSettings()   # db_error_logs_min 5; the incident window here is 20 minutes, -15 to the read at 5


def _line(minute: float, severity: str, text: str) -> LogRecord:
    return LogRecord(timestamp=at(minute), log_id="run.googleapis.com/stderr", severity=severity, text=text,
                     resource_type="cloud_run_revision", resource_labels={"service_name": "backend"})


CARRIED = _line(1, "ERROR", "KeyError: 'tenant_id'")               # the failure read takes it (ERROR)
PAGE_ONLY = _line(1, "INFO", "retrying the call to the ledger")    # the page alone holds it

# name: (the page's first minute, the failure read: whole, cut or none, carried lines, page-only lines) -> enough
CASES = {
    "3 carried whole and 1 on a page spanning 12 of 20 minutes: 3 + 1.7, under 5": (-7, "whole", 3, 1, False),
    "control: the same 4 with no failure read: all scaled over the page, 6.7": (-7, "none", 3, 1, True),
    "2 carried whole on a page spanning 4 minutes: 2, never scaled": (1, "whole", 2, 0, False),
    "1 on the page alone spanning 4 minutes: stands for 5": (1, "whole", 0, 1, True),
    "2 carried by a failure read itself cut at minute 1: scaled over its span, 10": (1, "cut", 2, 0, True),
    "5 carried: enough as read": (1, "whole", 5, 0, True),
    "none": (1, "whole", 0, 0, False),
}


@pytest.mark.parametrize("page_from,failure,carried,page_only,enough", CASES.values(), ids=CASES.keys())
def test_each_line_is_counted_over_the_read_that_carries_it(page_from, failure, carried, page_only, enough):
    facts = Facts(chatty(bad_deploy(Evidence()), page_from, failure=failure), S)
    lines = [CARRIED] * carried + [PAGE_ONLY] * page_only
    assert [failure_read_carries(e) for e in (CARRIED, PAGE_ONLY)] == [True, False]

    assert facts.logged_enough(lines) is enough


def _bad_deploy_with_calls(failure: str) -> Evidence:
    """A chatty service's bad deploy (60 % 5xx since -6), whose only failure lines are two calls to another
    Cloud Run service answered 503, in the page's minutes: two over the whole window, not the story."""
    e = quiet(deployed(Evidence()))
    e.log(1, CALL.format(1), NEW).log(1.5, CALL.format(2), NEW)
    return started(chatty(e, 1, failure=failure))


RULES = {
    "two downstream 5xx lines the failure read carried whole: the bad deploy is rolled back": (
        "whole", "rollback_traffic"),
    "control: no failure read made: the page's two stand for ten, held back as before": ("none", None),
}


@pytest.mark.parametrize("failure,action", RULES.values(), ids=RULES.keys())
def test_lines_the_failure_read_carried_whole_are_not_scaled_up(failure, action):
    bundle = _bad_deploy_with_calls(failure)
    result = diagnose(bundle, S)
    assert plan(result, bundle, S).action == action, result.summary


INFO_CALL = "INFO:backend.clients:inventory call failed: " + CALL
OWN_502 = "ERROR:backend.api:GET /api/items answered 502: stock unavailable"


def _calls_logged_at_info(calls_per_minute: int) -> Evidence:
    """A chatty service's deploy (60 % 5xx since -6): each failed request's handler logs its own ERROR line
    naming no host; `calls_per_minute` of them follow a call to another Cloud Run service answered 503, which
    its client wrapper logs at INFO (the page's alone)."""
    e = quiet(deployed(Evidence()))
    for minute in range(-5, 5):   # on to the read, as a failing service logs
        e.log(minute, OWN_502, NEW, count=20)
        if calls_per_minute:
            e.log(minute, INFO_CALL.format(minute), NEW, count=calls_per_minute, severity="INFO")
    return e


HALF = {
    "every failure a downstream 503 logged at INFO, the page's last minutes alone: not ours, escalated": (20, None),
    "control: a call in twenty logged at INFO: the deploy's own failures, rolled back": (1, "rollback_traffic"),
    "control: no call at all: rolled back": (0, "rollback_traffic"),
}


@pytest.mark.parametrize("calls,action", HALF.values(), ids=HALF.keys())
def test_lines_logged_at_info_are_weighed_over_the_page_they_are_on(calls, action):
    bundle = started(chatty(_calls_logged_at_info(calls), 1))
    result = diagnose(bundle, S)
    assert plan(result, bundle, S).action == action, result.summary
    if action is None:
        assert "another Cloud Run service" in result.summary and "page alone" in result.summary, result.summary


def _app(log: str, severity: str, text: str) -> LogRecord:
    return LogRecord(timestamp=at(1), log_id=f"run.googleapis.com/{log}", severity=severity, text=text)


DIAL = "dial tcp 10.20.0.7:443: i/o timeout"
# (log, severity, text) -> whether the read of the failure lines alone takes it (log_signals.failure_lines_filter)
CARRIES = {
    "stdout INFO naming a needle: the page's": ("stdout", "INFO", DIAL, False),
    "stderr INFO naming a needle: the page's": ("stderr", "INFO", DIAL, False),
    "stdout DEBUG naming a needle: the page's": ("stdout", "DEBUG", DIAL, False),
    "stdout NOTICE naming a needle: the page's": ("stdout", "NOTICE", DIAL, False),
    "stdout with no level naming a needle: taken": ("stdout", "DEFAULT", DIAL, True),
    "stdout WARNING naming a needle: taken": ("stdout", "WARNING", DIAL, True),
    "stdout ERROR naming nothing: taken": ("stdout", "ERROR", "KeyError: 'tenant_id'", True),
    "stderr INFO naming a downstream's 5xx: the page's": ("stderr", "INFO", INFO_CALL.format(1), False),
    "stderr with no level naming a downstream's 5xx: taken": ("stderr", "DEFAULT", CALL.format(1), True),
    "stdout with no level naming a downstream's 5xx: taken, as stderr's": ("stdout", "DEFAULT", CALL.format(1), True),
    "stdout INFO naming a downstream's 5xx: the page's": ("stdout", "INFO", INFO_CALL.format(1), False),
}


@pytest.mark.parametrize("log,severity,text,taken", CARRIES.values(), ids=CARRIES.keys())
def test_the_failure_read_takes_a_needle_only_with_no_level_or_at_warning_or_worse(log, severity, text, taken):
    assert failure_read_carries(_app(log, severity, text)) is taken
