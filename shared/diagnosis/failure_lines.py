"""Whether the application's own failure lines went on while its requests turned clean. Pure, no I/O.

`healthy` reads request_count's classes and the p99 (shared/diagnosis/health_bar.py). An application that
catches its failure and answers anyway (a database it cannot reach, an upstream that refuses: a fallback,
an empty list, a GraphQL `errors` member, an error page served with a 200) leaves both clean while every
caller gets an error body: a latency alert from a database that hung clears when the database refuses at
once instead, and the requests are 200s. The application says so itself: it logs each such failure at ERROR
(Cloud Logging's LogSeverity ERROR, "Error events are likely to cause problems", google/logging/type/
log_severity.proto). Before, such a service was `healthy` and the alert skipped, reaching nobody, while its
stderr said on every request that the database refused (tests/unit/test_healthy_failure_lines.py).

The lines counted are the application's own failure lines (LogIndex.app_failing: its stderr and stdout, a
stack trace logged a line an entry joined to one failure, split_lines): those at ERROR or worse, and those with
no level that hold a failure's text. A line written plain has no level ("Logs written directly to stdout or
stderr" have none, Cloud Run functions' logging page cloud.google.com/functions/1stgendocs/monitoring/logging);
whether Cloud Run's services store it DEFAULT or grade stderr text ERROR is UNCONFIRMED, so a plain line naming
a database refusal counts either way, and a line its logger marked INFO or WARNING does not. They are counted
in the minutes `healthy` judges, against its requests there: a share of lines, not of requests (a failure may log more than one
line, so this over-states a share, never hides one). A service's usual background of ERROR lines (a retry
it logs and recovers from, a bad input) is kept apart by its own share before the failures began: the log
read reaches one lookback before the incident (collection._Scope.start), so the minutes from there to the
failures' start are how the service logged while it
served cleanly (the first failing minute by the alert's own bar, FAILING_LEAD before it, ends it: a
latency alert's threshold is under the hang bar that Facts.failing_window reads). The lines hold `healthy` back when they are at least MIN_LINES, their share exceeds the
alert's bar of a share (HealthBar.error_ratio), and it is more than RISE times the share before; with fewer
than `min_requests` requests before, or a log read whose newest-first page ended after that stretch began
(LogResult.truncated: how many it logged before is not known), there is no share before to compare with,
and the bar alone decides.
The verification sweep applies the same rule to the minutes it verifies (the diagnosis's `healthy` holds it
back whatever `traffic_judged`): its log read reaches one lookback before the settle time, so the lines before
are the service's own before its failures began where that stretch is read, else the bar alone decides. Before,
the sweep asked the diagnosis without it, and a rollback whose service answered its failures as 200s and logged
each at ERROR was `verified`. A `verified` needs the lines of those minutes read too (`lines_unread`): a log
read refused (a gap) or whose newest-first page ended after they began (LogResult.truncated: the lines there
not all read) leaves them unknown, so the verdict is `unclear` (tests/unit/test_verification_failure_lines.py).
The alert path keeps judging around a log read refused or cut short, as for the other checks that read the log,
except where the read of the failure lines alone was needed and failed (`failure_read_failed`): then nothing
`healthy` is concluded from the cut page, and the read is named.
A service that logs its ordinary work to stderr (INFO, DEBUG) fills that page within minutes, and its failure
lines of the first minutes are off it: collection then reads the failure lines alone over the same window
(EvidenceBundle.failure_logs, log_signals.failure_lines_filter), where lines marked INFO or DEBUG are taken only
for the stdout needles' failure texts, and both rules count from that read (`_failure_read`). Its page can still
come back full (a flood of failures, or lines with no level or at WARNING holding a needle): that read full
before the window began, or failed, is a read cut short as above, on the alert path as in the sweep
(tests/integration/test_chatty_verification.py, tests/unit/test_healthy_failure_lines.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.evidence import EvidenceBundle, LogRecord, LogResult
from shared.diagnosis.facts import Facts, Window
from shared.diagnosis.health_bar import HealthBar
from shared.diagnosis.log_signals import failure_lines_filter
from shared.diagnosis.windows import FAILING_LEAD, hms

# A handful of lines, as `db_error_logs_min`'s default: fewer are one caller's odd request, no failure.
MIN_LINES = 5
# How far over its share before the share since must be to be a failure, not the service's background:
# twice, as a steady background moves far less between two stretches half an hour apart (callers_left.KEPT
# reads the demand the same way); UNCONFIRMED as a figure, chosen to keep a steady background healthy.
RISE = 2.0


def failure_lines_risen(facts: Facts, window: Window, bar: HealthBar) -> str:
    """Why the requests in `window`, clean by `bar`, do not show the service serving its callers, because
    the application kept logging failures at ERROR at a share of its requests over the bar's share and RISE
    times its share before ("" if it did not, or logged too few)."""
    requests = facts.requests(window).total
    if facts.b.logs is None or not requests:
        return ""
    lines, _ = _failure_read(facts)
    since = _count(lines, window)
    share = since / requests
    if since < MIN_LINES or share <= bar.error_ratio:
        return ""
    usual, said = _before(facts, bar)
    if usual is not None and share <= RISE * usual:
        return ""
    plain = sum(1 for e in _within(lines, window) if e.severity == "DEFAULT")
    level = f" ({plain} of them with no level, holding a failure's text)" if plain else ""
    return (f"the application logged {since} failure line(s) at ERROR or worse{level} in {window}, {share:.0%} of "
            f"its {requests:.0f} requests there, {said}: it may be answering its failures as 2xx (a fallback, an "
            f"error body), which the share of 5xx and 429 and the p99 do not show; {_commonest(lines, window)}")


def lines_unread(facts: Facts, window: Window) -> str:
    """Why the application's failure lines in `window` are not known all read ("" if they are): the log read
    missing (refused, or not made: the gap says which), or its newest-first page full (LogResult.truncated,
    "more matched than max_entries") with its oldest line after `window` began, and the read of the failure
    lines alone (EvidenceBundle.failure_logs, made then) failed or came back full before `window` began too.
    Asked before a `verified` (judging._standing), which tells a person the incident is over: a failure
    answered as a 2xx shows in these lines only. A read still cut short is never a `verified`."""
    logs = facts.b.logs
    if logs is None:
        gap = next((g for g in facts.b.gaps if g.startswith("logging: application")), "no log read")
        return (f"the application's log was not read ({gap}): whether it logged failures at ERROR or worse in "
                f"{window}, answered as 2xx (a fallback, an error body), is not known")
    ended = logs.page_ended_after(window.start)
    if ended is None:
        return ""
    unknown = "whether the application logged failures at ERROR or worse in its first minutes, answered as 2xx, is not known"
    failure = facts.b.failure_logs
    if failure is None:
        gap = facts.failure_read_gap
        alone = f", and the read of its failure lines alone failed ({gap})" if gap else ""
        return (f"the log read's newest-first page ended at {hms(ended)}, after {window} began (full at "
                f"{len(logs.entries)} entries, max_log_entries){alone}: {unknown}")
    cut = failure.page_ended_after(window.start)
    if cut is not None:
        return (f"the log read's newest-first page ended at {hms(ended)}, and the read of the application's failure "
                f"lines alone at {hms(cut)}, both after {window} began (each full at max_log_entries): {unknown}")
    return ""


def failure_read_failed(facts: Facts, window: Window) -> str:
    """Why the application's failure lines in `window` are not known, when the read of them alone was needed (the
    service read's newest-first page ended after `window` began) and failed (its gap, a refusal or a transient
    fault: collection._failure_lines never raises) or came back full itself, its own page ending after `window`
    began (lines holding a needle at WARNING or with no level fill it as well as failures do); "" otherwise. The
    alert path's `healthy` asks it (diagnose._healthy): neither page holds the lines of the minutes before it
    ended, so "no failure lines there" is not known, and a chatty service answering its failures as 2xx would be
    called healthy on the handful its page's last minutes hold. A service read refused is judged around as
    before; the sweep asks `lines_unread`, which covers it too, before a `verified`."""
    failure = facts.b.failure_logs
    if failure is None and not facts.failure_read_gap:
        return ""
    if failure is not None and failure.page_ended_after(window.start) is None:
        return ""
    return lines_unread(facts, window)


def failure_lines_by_hand(bundle: EvidenceBundle, window: Window) -> str:
    """Where a person reads the application's failure lines in `window` by hand: the Logs Explorer query that
    the read of them alone sends (log_signals.failure_lines_filter; Logs Explorer and ListLogEntries share the
    Logging query language, "Logging query language" in the Cloud Logging docs)."""
    parts = bundle.service.name.split("/")  # projects/P/locations/L/services/S
    query = failure_lines_filter(parts[1], parts[5], parts[3], window.start, window.end)
    return f"in Logs Explorer (project {parts[1]}), this query: {query}"


def _failure_read(facts: Facts) -> tuple[tuple[LogRecord, ...], LogResult | None]:
    """The application's failure lines (LogIndex.app_failing) and the read they come from: the read of the
    failure lines alone when it was made (the service read's page was full before its window's start, so
    lines of its first minutes are off that page), else the service read."""
    if facts.failure_read is not None:
        return facts.failure_read.app_failing, facts.b.failure_logs
    return facts.logs.app_failing, facts.b.logs


def _within(lines, window: Window):
    """The lines logged within `window`'s minutes: a request_count point ends its minute (Window holds
    (start, end] by end time), so a line at t belongs to the point ending after it: [start, end)."""
    return (e for e in lines if window.start <= e.timestamp < window.end)


def _count(lines, window: Window) -> int:
    return sum(1 for _ in _within(lines, window))


def _before(facts: Facts, bar: HealthBar) -> tuple[float | None, str]:
    """The share of failure lines to requests in the stretch before the failures began that the log read
    covers, and the words for it (None: no share to compare with, the words saying why)."""
    start = facts.incident.start
    end = _failures_began(facts, bar) - FAILING_LEAD
    if end <= start:
        return None, "with no minute before the failures in the log read to compare with"
    before = Window(start, end)
    lines, read = _failure_read(facts)
    ended = read.page_ended_after(start) if read is not None else None
    if ended is not None:
        return None, (f"and how many it logged before the failures is not known (the log read's newest-first page "
                      f"ended at {hms(ended)}, after {before} began)")
    requests = facts.requests(before).total
    if requests < facts.s.min_requests:
        return None, (f"with {requests:.0f} requests in {before} before the failures, fewer than "
                      f"{facts.s.min_requests}: no share of its own to compare with")
    count = _count(lines, before)
    return count / requests, f"against {count / requests:.1%} before the failures ({count} of {requests:.0f} in {before})"


def _failures_began(facts: Facts, bar: HealthBar) -> datetime:
    """The start of the first minute of the incident window that failed by the alert's own bar (a share of
    5xx and 429 over it, or a p99 at it: a latency alert's bar is its threshold, under the hang bar that
    Facts.failing_since reads), else the incident's start: a condition holds for its duration before the
    incident opens, and the lines of those minutes are the failure's, not the service's background."""
    refused = [at for at, total, bad in facts.refused_minutes if total and bad / total > bar.error_ratio]
    slow = [at for at, p99 in facts.p99_by_minute(facts.incident) if p99 >= bar.p99_seconds]
    first = min(refused[:1] + slow[:1], default=None)
    began = first - timedelta(seconds=60) if first is not None else facts.b.judged_since
    return min(began, facts.b.judged_since)


def _commonest(lines, window: Window) -> str:
    """The commonest text among the lines in `window`, cut short, for the person who reads the summary."""
    counts: dict[str, int] = {}
    for e in _within(lines, window):
        if e.text:
            counts[e.text] = counts.get(e.text, 0) + 1
    if not counts:
        return "their texts are empty"
    text, count = max(counts.items(), key=lambda item: item[1])
    return f"the commonest ({count}): {excerpt(text)!r}"
