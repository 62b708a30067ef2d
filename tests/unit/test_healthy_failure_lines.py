"""The alert path's `healthy` on requests clean by their classes while the application logs its failures.

An application that catches a failure and answers anyway (a fallback, an error body served as a 200) leaves
request_count's classes and the p99 clean: a latency alert from a database that hung clears when the
database refuses at once instead, the requests are 200s, and the service's stderr says on each request that
the database refused. That was `healthy` and skipped. Now the application's own lines at ERROR or worse,
over the bar's share of its requests and more than twice their share before the failures began, keep it
back: `inconclusive`, escalated, naming the lines (shared/diagnosis/failure_lines.py). A steady background of
ERROR lines, warnings and a handful of lines stay as they were; the sweep's own judgement reads them too.
Pure: evidence built in memory (tests/unit/builders.py), no I/O."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.signatures import Signature

from tests.unit.builders import FIVE_XX_RATIO, Evidence, at, healthy_or_escalated

S = DiagnosisSettings()
REV = "orders-00012-zuk"
LATENCY = AlertContext(resource_type="cloud_run_revision", metric_type="run.googleapis.com/request_latencies",
                       comparison="COMPARISON_GT", threshold=2000, policy="orders p99 latency")
REFUSED = ('psycopg2.OperationalError: connection to server at "10.8.0.3", port 5432 failed: Connection refused\n'
           '\tIs the server running on that host and accepting TCP/IP connections?')
FALLBACK = "GET /api/orders failed: upstream inventory returned UNAVAILABLE; served cached fallback"
RETRY = "retrying inventory call after 503 (attempt 1 of 3)"
NOISE = "INFO:orders:GET /api/orders 200 in 12 ms"


def _orders(*, since: int = 0, before: int = 0, text: str = FALLBACK, severity: str = "ERROR",
            failed_as: str = "hang", rate_before: float = 100) -> Evidence:
    """orders at `rate_before` requests a minute (100 since), clean at 0.2 s until -8; from -8 to 0 its
    requests hang at 6 s (`failed_as` "hang") or answer 500 (`failed_as` "500"); since 0, 200s at 0.05 s.
    The application logs `since` lines a minute of `text` at `severity` from 0 on, and `before` a minute
    in the quarter hour before the failures (-15 to -11)."""
    e = Evidence(now=5)
    e.revision(REV, -1800).traffic(**{REV.replace("-", "_"): 100}).instances(REV, -60, 5, 3)
    e.requests(REV, -60, -8, rate_before).latency(REV, -60, -8, 0.2)
    if failed_as == "hang":
        e.requests(REV, -8, 0, 100).latency(REV, -8, 0, 6.0)
    else:
        e.requests(REV, -8, 0, 100, "500").latency(REV, -8, 0, 0.3)
    e.requests(REV, 0, 5, 100).latency(REV, 0, 5, 0.05)
    for minute in range(-15, -11):
        if before:
            e.log(minute, text, REV, count=before, severity=severity)
    for minute in range(0, 5):
        if since:
            e.log(minute, text, REV, count=since, severity=severity)
    return e


CASES = [
    # name, evidence, alert, healthy, words in the summary
    ("a latency alert cleared as the database refuses at once, each request's refusal logged: not healthy",
     _orders(since=50, text=REFUSED), LATENCY, False, "failure line(s) at ERROR or worse"),
    ("the fallback served as a 200 after the hang, logged at ERROR on each request: not healthy",
     _orders(since=50), LATENCY, False, "served cached fallback"),
    ("a 5xx ratio alert whose 500s became 200s with an error body, logged: not healthy",
     _orders(since=50, failed_as="500"), FIVE_XX_RATIO, False, "against 0.0% before the failures"),
    ("a quiet service before (1 a minute), so no share of its own: the bar alone, not healthy",
     _orders(since=50, rate_before=1), LATENCY, False, "no share of its own to compare with"),
    ("the lines a tenth of the requests, nothing before: not healthy",
     _orders(since=10), LATENCY, False, "10% of its"),
    ("control: no failure line since: healthy",
     _orders(), LATENCY, True, ""),
    ("control: a steady 5 ERROR lines a minute before as since: the service's background, healthy",
     _orders(since=5, before=5), LATENCY, True, ""),
    ("control: retries logged at WARNING, not ERROR: healthy",
     _orders(since=50, text=RETRY, severity="WARNING"), LATENCY, True, ""),
    ("control: a handful of ERROR lines (4 in 5 minutes, under MIN_LINES): healthy",
     _orders().log(1, FALLBACK, REV, count=4), LATENCY, True, ""),
    ("database refusals printed plain (no level) on each request: not healthy",
     _orders(since=50, text=REFUSED, severity="DEFAULT"), LATENCY, False, "50 of them with no level"),
    ("control: chatty lines printed plain (no level) without a failure's words: healthy",
     _orders(since=50, text=NOISE, severity="DEFAULT"), LATENCY, True, ""),
    ("control: a refusal its logger marked INFO: healthy",
     _orders(since=50, text=REFUSED, severity="INFO"), LATENCY, True, ""),
    ("control: 1 line in 500 requests (0.2 %, under the 1 % bar) over 5 minutes: healthy",
     _orders().log(1, FALLBACK, REV).log(2, FALLBACK, REV).log(3, FALLBACK, REV).log(4, FALLBACK, REV)
     .log(4.5, FALLBACK, REV), LATENCY, True, ""),
]


@pytest.mark.parametrize("name,evidence,alert,healthy,words", CASES, ids=[c[0] for c in CASES])
def test_clean_requests_while_the_application_logs_its_failures_are_not_healthy(name, evidence, alert, healthy,
                                                                                words):
    d = healthy_or_escalated(evidence, alert, S, healthy, words, "it may be answering its failures as 2xx")
    if not healthy:
        assert any(e.about == Signature.HEALTHY.value and e.passed is False and e.source == "log"
                   and "failure line(s)" in e.threshold for e in d.evidence)


def test_a_log_read_cut_short_before_the_failures_leaves_no_share_to_compare_with():
    """The newest-first page full (LogResult.truncated) and ending after the stretch before the failures
    began: how many lines the service logged there is not known, so the bar alone decides."""
    bundle = _orders(since=50).bundle()
    bundle = bundle.model_copy(update={"alert": LATENCY, "logs": bundle.logs.model_copy(update={"truncated": True})})
    d = diagnose(bundle, S)
    assert d.signature is Signature.INCONCLUSIVE, d.summary
    assert "how many it logged before the failures is not known" in d.summary, d.summary


def test_the_sweep_judges_its_own_write_with_the_lines_too():
    """The verification sweep asks the diagnosis with `traffic_judged` False (it judges the 4xx and the
    traffic against its own write); the failure lines hold its `healthy` back all the same: a fallback
    answered as a 200 after a rollback is no recovery (tests/unit/test_verification_failure_lines.py)."""
    bundle = _orders(since=50).bundle().model_copy(update={"alert": LATENCY})
    d = diagnose(bundle, S, traffic_judged=False)
    assert d.signature is Signature.INCONCLUSIVE and "failure line(s) at ERROR" in d.summary, d.summary


@pytest.mark.parametrize("since,healthy", [(50, False), (0, True)])
def test_failure_lines_off_a_page_of_info_lines_are_read_apart(since, healthy):
    """The application logs 120 INFO lines a minute to stderr: the service read's newest-first page holds only
    those of the last minute (from 4 on). Its failure lines since 0 (`since` a minute, at ERROR) are off that
    page, in the read of the failure lines alone (EvidenceBundle.failure_logs). Before, the page alone was
    counted and the service was `healthy`; now not. The control (no failure line): healthy."""
    e = _orders(since=since)
    for minute in range(0, 5):
        e.log(minute, NOISE, REV, count=120, severity="INFO")
    bundle = e.bundle()
    page = tuple(x for x in bundle.logs.entries if x.timestamp >= at(4) and x.severity == "INFO")
    failing = tuple(x for x in bundle.logs.entries if x.severity == "ERROR")
    bundle = bundle.model_copy(update={
        "alert": LATENCY, "logs": bundle.logs.model_copy(update={"entries": page, "truncated": True}),
        "failure_logs": bundle.logs.model_copy(update={"entries": failing, "truncated": False})})
    d = diagnose(bundle, S)
    if healthy:
        assert d.signature is Signature.HEALTHY, d.summary
    else:
        assert d.signature is Signature.INCONCLUSIVE and "failure line(s) at ERROR" in d.summary, d.summary


FAILURE_GAP = "logging: the application's failure lines: TransientError: ListLogEntries: ServiceUnavailable: 503"


@pytest.mark.parametrize("case, since, page_from, gap, traffic_judged, healthy", [
    ("the page cut at 4, the failure lines' read failed, the service failing behind it", 50, 4, FAILURE_GAP, True,
     False),
    ("the page cut at 4, the failure lines' read failed, no failure line at all", 0, 4, FAILURE_GAP, True, False),
    ("the same read refused for good", 0, 4, "logging: the application's failure lines: PERMISSION_DENIED: denied",
     True, False),
    ("the page holding every minute judged (cut before the window): the failure lines there all read", 0, -1,
     FAILURE_GAP, True, True),
    ("the sweep: judging.lines_unread holds its `verified` instead, on the diagnosis' `healthy`", 0, 4, FAILURE_GAP,
     False, True),
])
def test_a_failure_lines_read_that_failed_leaves_the_cut_page_no_healthy(case, since, page_from, gap, traffic_judged,
                                                                         healthy):
    """The service read's page full of INFO lines from `page_from` on, and the read of the failure lines alone
    (planned: the page ended before its window's start) failed: a gap, no EvidenceBundle.failure_logs. Before, the
    alert path counted the page alone: `healthy`, the failing service too. Now, when the page ended after the
    minutes judged began, escalated naming the read and the query to read them by hand."""
    e = _orders(since=since)
    for minute in range(-1, 5):
        e.log(minute, NOISE, REV, count=120, severity="INFO")
    bundle = e.bundle()
    page = tuple(x for x in bundle.logs.entries if x.timestamp >= at(page_from) and x.severity == "INFO")
    bundle = bundle.model_copy(update={"alert": LATENCY, "gaps": (gap,),
                                       "logs": bundle.logs.model_copy(update={"entries": page, "truncated": True})})

    d = diagnose(bundle, S, traffic_judged=traffic_judged)

    if healthy:
        assert d.signature is Signature.HEALTHY, (case, d.summary)
        return
    assert d.signature is Signature.INCONCLUSIVE and gap in d.summary, (case, d.summary)
    assert "Logs Explorer (project demo" in d.recommendation and "severity>=ERROR" in d.recommendation, d.recommendation


URL = "INFO:orders:POST https://inventory-7f3kq2-uc.a.run.app/reserve 200 in 31 ms"


@pytest.mark.parametrize("case, fallbacks, cut, healthy", [
    ("2 fallbacks a minute, the failure read's page full of INFO URL lines from 3 on: not healthy", 2, 3, False),
    ("control: no failure line, the failure read's page still full from 3 on: not healthy, its lines unknown", 0, 3,
     False),
    ("control: 2 fallbacks a minute, the failure read whole: not healthy on its lines", 2, None, False),
    ("control: no failure line, the failure read whole: healthy", 0, None, True),
])
def test_a_failure_read_full_before_the_minutes_judged_leaves_no_healthy(case, fallbacks, cut, healthy):
    """A chatty service: 120 INFO lines a minute on stderr, 100 INFO lines a minute naming a `.run.app` URL (a
    needle of the failure read's), `fallbacks` ERROR lines a minute. The service read's page holds the last minute;
    the read of the failure lines alone (EvidenceBundle.failure_logs) full from `cut` on (None: whole). Before, a
    failure read that came back full was trusted whole: 4 ERROR lines on its page, under MIN_LINES, `healthy`.
    Now a failure read whose page ended after the minutes judged began is unread as a failed one: escalated,
    naming it."""
    e = _orders(since=fallbacks)
    for minute in range(-1, 5):
        e.log(minute, NOISE, REV, count=120, severity="INFO")
        e.log(minute, URL, REV, count=100, severity="INFO")
    bundle = e.bundle()
    page = tuple(x for x in bundle.logs.entries if x.timestamp >= at(4) and x.severity == "INFO")
    taken = tuple(x for x in bundle.logs.entries if x.severity == "ERROR" or x.text == URL)
    read = bundle.logs.model_copy(update={"entries": tuple(x for x in taken if x.timestamp >= at(cut)),
                                          "truncated": True}) if cut is not None else \
        bundle.logs.model_copy(update={"entries": taken, "truncated": False})
    bundle = bundle.model_copy(update={
        "alert": LATENCY, "logs": bundle.logs.model_copy(update={"entries": page, "truncated": True}),
        "failure_logs": read})

    d = diagnose(bundle, S)

    if healthy:
        assert d.signature is Signature.HEALTHY, (case, d.summary)
        return
    assert d.signature is Signature.INCONCLUSIVE, (case, d.summary)
    if cut is not None and not fallbacks:
        assert "read of the application's failure lines alone" in d.summary, d.summary
        assert "Logs Explorer (project demo" in d.recommendation, d.recommendation
