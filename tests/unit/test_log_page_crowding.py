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

from tests.unit.builders import Evidence, at
from tests.unit.test_diagnosis import OLD
from tests.unit.test_proxy_connection_limit import CLOSED, PLAIN, busy_connector_and

S = DiagnosisSettings()
FRAME = '  File "/usr/local/lib/python3.12/site-packages/sqlalchemy/pool/base.py", line 674, in __init__'


def _cut_short(bundle: EvidenceBundle, truncated: bool = True) -> EvidenceBundle:
    """The page as the log read returns it: the newest max_log_entries, marked cut short or not."""
    entries = bundle.logs.entries[:S.max_log_entries]
    return bundle.model_copy(update={"logs": bundle.logs.model_copy(update={"entries": entries,
                                                                          "truncated": truncated})})


def interleaved(evidence: Evidence, start: float, end: float, *logs: tuple[str, int]) -> Evidence:
    """Each (text, count) logged evenly from minute `start` to `end`, the texts interleaved, as lines
    of concurrent requests are."""
    for text, count in logs:
        step = (end - start) * 60 / count
        evidence.logs.extend(LogRecord(timestamp=at(start) + timedelta(seconds=i * step), severity="DEFAULT",
                                       log_id="run.googleapis.com/stderr", resource_type="cloud_run_revision",
                                       resource_labels={"service_name": "backend", "revision_name": OLD}, text=text)
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

    assert facts.logged_enough(refusals) is enough


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
