"""The sweep's `verified` on requests clean by their classes while the application logs its failures.

A rollback (or a connector scale) whose service now answers its failures as 200s (a fallback, an error body)
and logs each at ERROR was `verified`: the sweep asked the diagnosis without the failure-lines check the alert
path holds `healthy` back with (shared/diagnosis/failure_lines.py), and a person was told the incident was
over. Now the sweep applies the same rule on the minutes it verifies, beside the lines before the failures
began, and a log read that is missing, or whose newest-first page ended after those minutes began, is no
`verified` either (failure_lines.lines_unread). Pure: evidence built in memory, no I/O.

Times are minutes from the action's settle time (0): applied at -5, deadline at +10."""
from __future__ import annotations

import pytest

from shared.config import DiagnosisSettings, VerificationSettings
from shared.remediation.judging import HealthKind, StepKind, judge, next_step
from tests.unit.builders import Evidence, at
from tests.unit.test_verification_judging import NEW, OLD, rollback, served, sweep_at, swept

SETTINGS = DiagnosisSettings()
TIMES = VerificationSettings()
FALLBACK = "GET /api/orders failed: upstream inventory returned UNAVAILABLE; served cached fallback"
REFUSED = 'psycopg2.OperationalError: connection to server at "10.8.0.3", port 5432 failed: Connection refused'
RETRY = "retrying inventory call after 503 (attempt 1 of 3)"


def _logged(e: Evidence, start: float, end: float, per_minute: int, text: str = FALLBACK, severity: str = "ERROR",
            revision: str = OLD) -> Evidence:
    for minute in range(int(start), int(end)):
        e.log(minute, text, revision, count=per_minute, severity=severity)
    return e


def _onset_late(now: float) -> Evidence:
    """The new revision clean at 45 a minute from -30 to -10, failing from -10 to -5 (25 of 45 500s); the
    rolled-back-to revision 40 clean requests a minute since -5: minutes before the onset in the log read."""
    e = Evidence(now=now).revision(OLD, -180).revision(NEW, -20).traffic(**{OLD.replace("-", "_"): 100})
    e.requests(NEW, -30, -10, 45).latency(NEW, -30, -10, 0.12)
    e.requests(NEW, -10, -5, 20).requests(NEW, -10, -5, 25, "500").latency(NEW, -10, -5, 0.12)
    return e.requests(OLD, -5, now, 40).latency(OLD, -5, now, 0.12)


def _cut(e: Evidence, oldest: float):
    """The bundle with the log read's newest-first page full, its oldest line at `oldest`."""
    _logged(e, oldest, oldest + 1, 1, "request handled", "INFO")
    b = swept(e)
    kept = tuple(x for x in b.logs.entries if x.timestamp >= at(oldest))
    return b.model_copy(update={"logs": b.logs.model_copy(update={"entries": kept, "truncated": True})})


def _unread(e: Evidence):
    b = swept(e)
    return b.model_copy(update={"logs": None, "gaps": b.gaps + (
        "logging: application and system log: PERMISSION_DENIED: logging.logEntries.list",)})


NOISE = "INFO:orders:GET /api/orders 200 in 12 ms"
FAILURE_READ_GAP = "logging: the application's failure lines: UNAVAILABLE: the service is unavailable"


def _chatty(e: Evidence, oldest: float, *, failure_oldest: float | None = None, failure_read: bool = True):
    """The bundle of a service logging 120 INFO lines a minute to stderr: the service read's newest-first page
    full of them from `oldest` on; the read of the failure lines alone (ERROR or worse, or with no level) made,
    whole, or full from `failure_oldest` on; or (`failure_read` False) failed, its gap said."""
    for minute in range(int(oldest), int(e.now)):
        e.log(minute, NOISE, OLD, count=60, severity="INFO")
    b = swept(e)
    page = tuple(x for x in b.logs.entries if x.timestamp >= at(oldest))
    logs = b.logs.model_copy(update={"entries": page, "truncated": True})
    if not failure_read:
        return b.model_copy(update={"logs": logs, "gaps": b.gaps + (FAILURE_READ_GAP,)})
    failing = tuple(x for x in b.logs.entries if x.severity in ("ERROR", "CRITICAL", "DEFAULT")
                    and (failure_oldest is None or x.timestamp >= at(failure_oldest)))
    read = b.logs.model_copy(update={"entries": failing, "truncated": failure_oldest is not None})
    return b.model_copy(update={"logs": logs, "failure_logs": read})


CASES = [
    # name, bundle, health, step, words in the reason
    ("chatty: the page full of INFO lines after the minutes judged began, no failure line in the failure "
     "lines' own read: verified",
     _chatty(served(6), 3), HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("chatty: fallback lines at ERROR in the first minutes judged, off the INFO page, in the failure lines' own "
     "read: not verified",
     _chatty(_logged(served(6), -5, 3, 40), 3), HealthKind.UNCLEAR, StepKind.WAIT,
     "failure line(s) at ERROR or worse"),
    ("chatty: the failure lines' own read full too, ending after the minutes judged began (2 lines on it): "
     "not verified",
     _chatty(_logged(served(6), 4, 6, 1), 3, failure_oldest=4), HealthKind.UNCLEAR, StepKind.WAIT,
     "failure lines alone at"),
    ("chatty: the failure lines' own read failed: not verified",
     _chatty(served(6), 3, failure_read=False), HealthKind.UNCLEAR, StepKind.WAIT,
     "failure lines alone failed (logging: the application's failure lines: UNAVAILABLE"),
    ("database refusals printed plain (no level) for a quarter of the requests: not verified",
     swept(_logged(served(6), -5, 6, 10, REFUSED, "DEFAULT")), HealthKind.UNCLEAR, StepKind.WAIT,
     "50 of them with no level"),
    ("control: chatty lines printed plain (no level) without a failure's words: verified",
     swept(_logged(served(6), -5, 6, 40, NOISE, "DEFAULT")), HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("control: a refusal its logger marked INFO (a retry it recovers from): verified",
     swept(_logged(served(6), -5, 6, 40, REFUSED, "INFO")), HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),

    ("fallback answered as 200s, each logged at ERROR since the rollback: not verified, waits",
     swept(_logged(served(6), -5, 6, 40)), HealthKind.UNCLEAR, StepKind.WAIT, "failure line(s) at ERROR or worse"),
    ("the same at the deadline: escalated, not undone (a write needs evidence of failure)",
     swept(_logged(served(11), -5, 11, 40)), HealthKind.UNCLEAR, StepKind.ESCALATE, "not undone"),
    ("database refusals logged for a quarter of the requests: not verified",
     swept(_logged(served(6), -5, 6, 10, REFUSED)), HealthKind.UNCLEAR, StepKind.WAIT, "Connection refused"),
    ("lines over the service's own share before the onset (1 a minute then, 40 since): not verified",
     swept(_logged(_logged(_onset_late(6), -15, -12, 1, revision=NEW), -5, 6, 40)), HealthKind.UNCLEAR,
     StepKind.WAIT, "before the failures"),
    ("the log read refused: whether it logged failures is not known, not verified",
     _unread(served(6)), HealthKind.UNCLEAR, StepKind.WAIT, "application's log was not read"),
    ("the log read's page full and ending after the minutes judged began: not verified",
     _cut(served(6), 3), HealthKind.UNCLEAR, StepKind.WAIT, "page ended at"),
    ("control: no failure line since: verified",
     swept(served(6)), HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("control: the service's steady background, 5 a minute before the onset and since: verified",
     swept(_logged(_logged(_onset_late(6), -15, -12, 5, revision=NEW), -5, 6, 5)), HealthKind.HEALTHY,
     StepKind.VERIFY, "healthy"),
    ("control: retries logged at WARNING, not ERROR: verified",
     swept(_logged(served(6), -5, 6, 40, RETRY, "WARNING")), HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("control: a handful of ERROR lines (4 since the settle time): verified",
     swept(_logged(served(6), 1, 5, 1)), HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
    ("control: the page full but reaching back before the minutes judged: verified",
     _cut(served(6), -8), HealthKind.HEALTHY, StepKind.VERIFY, "healthy"),
]


@pytest.mark.parametrize("name,bundle,health,step,words", CASES, ids=[c[0] for c in CASES])
def test_a_service_logging_its_failures_at_error_is_not_verified(name, bundle, health, step, words):
    record = rollback()
    bundle = bundle.model_copy(update={"incident_started_at": record.settle_at})
    health_ = judge(record, bundle, SETTINGS, None, TIMES.min_traffic_ratio)
    step_ = next_step(record, health_, bundle.collected_at, TIMES)
    assert (health_.kind, step_.kind) == (health, step), health_.why
    assert words in f"{health_.why} {step_.why}", health_.why
