"""The log read is one page: the newest max_log_entries entries of the service's logs. When more
matched (LogResult.truncated), the page spans only the window's last stretch, and a signal that
holds an action back can be crowded out of it by everything else logged (a traceback written one
entry per line, a chatty sidecar). Its count is then read over the share of the window the page
spans (Facts.logged_enough), so refusals a page cut short still shows keep a busy connector from
being scaled on its own word; a count that supports an action is never scaled up."""
from __future__ import annotations

import pytest

from datetime import timedelta

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import EvidenceBundle, LogRecord
from shared.diagnosis.facts import Facts
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import SQL, Evidence, at
from tests.unit.test_bad_revision_downstream import CALL
from tests.unit.test_database_refusals import newly_saturated, serving
from tests.unit.test_diagnosis import NEW, OLD, quiet_connector
from tests.unit.test_named_host_hang import _hang_beside_busy_connector
from tests.unit.test_proxy_connection_limit import CLOSED, PLAIN, busy_connector_and

S = DiagnosisSettings()
FRAME = '  File "/usr/local/lib/python3.12/site-packages/sqlalchemy/pool/base.py", line 674, in __init__'


def _cut_short(bundle: EvidenceBundle, truncated: bool = True) -> EvidenceBundle:
    """The page as the log read returns it: the newest max_log_entries, marked cut short or not."""
    entries = bundle.logs.entries[:S.max_log_entries]
    return bundle.model_copy(update={"logs": bundle.logs.model_copy(update={"entries": entries,
                                                                          "truncated": truncated})})


def interleaved(evidence: Evidence, start: float, end: float, *logs: tuple[str, int], revision: str = OLD) -> Evidence:
    """Each (text, count) logged evenly from minute `start` to `end`, the texts interleaved, as lines
    of concurrent requests are."""
    for text, count in logs:
        step = (end - start) * 60 / count
        evidence.logs.extend(LogRecord(timestamp=at(start) + timedelta(seconds=i * step), severity="DEFAULT",
                                       log_id="run.googleapis.com/stderr", resource_type="cloud_run_revision",
                                       resource_labels={"service_name": "backend", "revision_name": revision},
                                       text=text)
                             for i in range(count))
    return evidence


def _page(refusals: int, frames: int, *, truncated: bool, since: float = -1) -> EvidenceBundle:
    """`frames` traceback lines with `refusals` proxy refusals among them, from minute `since` to now."""
    logs = [(FRAME, frames)] + ([(PLAIN, refusals)] if refusals else [])
    return _cut_short(interleaved(busy_connector_and(), since, 2, *logs).bundle(), truncated)


# (refusals in the page, other lines, page cut short) -> reaches db_error_logs_min (3) over the window
# (refusals in the page, other lines, page cut short, minute the lines start) -> reaches
# db_error_logs_min (5) over the incident window (17 minutes here)
CASES = {
    "5 in a whole read": (5, 10, False, -1, True),
    "4 in a whole read": (4, 10, False, -1, False),
    "1 in a page spanning the last 3 minutes": (1, 2000, True, -1, True),
    "none in a page cut short": (0, 2000, True, -1, False),
    "4 in a page cut short spanning the whole window": (4, 290, True, -20, False),
}


@pytest.mark.parametrize("refusals, frames, truncated, since, enough", CASES.values(), ids=CASES.keys())
def test_a_count_in_a_page_cut_short_is_read_over_the_window_it_spans(refusals, frames, truncated, since, enough):
    facts = Facts(_page(refusals, frames, truncated=truncated, since=since), S)

    assert facts.logged_enough([_refusal()] * refusals) is enough


def _refusal() -> LogRecord:
    """A proxy refusal on the page (no failure read made: every line is counted over the page)."""
    return LogRecord(timestamp=at(1), severity="DEFAULT", log_id="run.googleapis.com/stderr", text=PLAIN)


def test_refusals_crowded_by_traceback_lines_still_hold_a_connector_move_back():
    """The proxy refuses at its --max-connections; each failed request's traceback runs to a hundred
    entries, so the newest page holds only a few of the refusals: below db_error_logs_min, and before,
    the busy connector was scaled alone."""
    evidence = interleaved(busy_connector_and(), -6, 2, (CLOSED, 160), (FRAME, 16000), (PLAIN, 160))
    bundle = _cut_short(evidence.bundle())
    assert 0 < sum(PLAIN in e.text for e in bundle.logs.entries) < S.db_error_logs_min

    result = diagnose(bundle, S)

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert "Auth Proxy's own --max-connections" in result.summary
    assert plan(result, bundle, S).action is None


def test_a_count_that_supports_an_action_is_not_scaled_up():
    """The same crowded page without the proxy's lines: the application's few errors of reaching the
    database in it are not read as more (they would support the connector move), and the busy
    connector is not ruled out by a refusal nobody logged."""
    evidence = interleaved(busy_connector_and(), -6, 2, (CLOSED, 160), (FRAME, 16000))
    bundle = _cut_short(evidence.bundle())

    result = diagnose(bundle, S)

    assert "database_unreachable" not in (result.signature.value, *result.competing), result.summary


def _cancelled_beside_busy_connector() -> Evidence:
    return newly_saturated(serving(Evidence(), code="503", latency=30.1))


def _public_host_hang_beside_busy_connector() -> Evidence:
    evidence = _hang_beside_busy_connector(Evidence(), "PRIVATE_RANGES_ONLY", "", 0)
    evidence.logs.clear()
    return evidence


STATEMENT_TIMEOUT = "psycopg.errors.QueryCanceled: canceling statement due to statement timeout"
PUBLIC_TIMEOUT = ("requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='34.149.80.10', port=443): Read timed "
                  "out. (read timeout=30)")


# Each sign that holds a connector move back, crowded in the page by traceback lines (a few of it
# left in the newest 300 entries): still read, so the busy connector is not scaled.
@pytest.mark.parametrize("build, text, says", [
    (_cancelled_beside_busy_connector, STATEMENT_TIMEOUT, "cancels them at its own timeout"),
    (_public_host_hang_beside_busy_connector, PUBLIC_TIMEOUT, "the requests wait on an HTTP dependency"),
], ids=["statements the database cancelled", "timeouts on a public address"])
def test_every_sign_that_holds_a_connector_move_back_is_read_over_the_window(build, text, says):
    bundle = _cut_short(interleaved(build(), -10, 2, (FRAME, 24000), (text, 160)).bundle())
    assert 0 < sum(text in e.text for e in bundle.logs.entries) < S.db_error_logs_min

    result = diagnose(bundle, S)

    assert result.signature is not Signature.CONNECTOR_SATURATION, result.summary
    assert plan(result, bundle, S).action is None
    assert says in result.summary, result.summary


def test_calls_another_service_answered_with_a_5xx_are_read_over_the_window():
    """A deploy whose failures are another Cloud Run service's 503s passed on, each logged with a
    traceback one entry a line: the page holds 2 of the calls, under startup_failure_logs_min,
    and before, the deploy was rolled back although sending traffic back changes nothing."""
    e = (Evidence().revision(OLD, -300, sql=(SQL,)).revision(NEW, -10, sql=(SQL,)).traffic(**{NEW: 100})
         .requests(OLD, -90, -10, 40).requests(NEW, -10, 5, 18).requests(NEW, -10, 5, 27, code="502")
         .latency(OLD, -90, -10, 0.2).latency(NEW, -10, 5, 0.4))
    e = interleaved(quiet_connector(e), -9, 2, (FRAME, 24000), (CALL.format(7), 160), revision=NEW)
    bundle = _cut_short(e.bundle())
    assert 0 < sum("Server Error" in x.text for x in bundle.logs.entries) < S.startup_failure_logs_min

    result = diagnose(bundle, S)

    assert plan(result, bundle, S).action is None, result.summary
    assert "another Cloud Run service" in result.summary, result.summary


def test_a_page_newer_than_the_metrics_is_read_over_the_log_reads_own_window():
    """Monitoring's points end minutes before the read (its ingestion lag), the logs run to it: a
    page spanning only the last 30 s before the read lies wholly after the metrics' last minute,
    and its one refusal still stands for many over the window the logs were read in."""
    e = (Evidence(now=5).revision(OLD, -300, sql=(SQL,)).traffic(**{OLD: 100}).requests(OLD, -90, 2, 40)
         .requests(OLD, -7, 2, 20, code="503").latency(OLD, -90, 2, 1.2).sql_up(-90, 2, 1))
    e = interleaved(e, 4.5, 5, (FRAME, 400), (PLAIN, 1))
    facts = Facts(_cut_short(e.bundle()), S)
    assert facts.incident.end < min(x.timestamp for x in facts.b.logs.entries)

    assert facts.logged_enough([_refusal()])
