"""Whether Cloud Run's own request-log answers (a request it failed itself: no instance could start for it) are
most of the service's failing requests, compared like with like, or None when the evidence cannot tell.

Cloud Run writes its request log itself (run.googleapis.com/requests; Cloud Run's "Logging and viewing logs"
page: "Request logs (services only): logs of requests sent to Cloud Run services. These logs are created
automatically."), one entry a request as the project reads it (log_signals.request_log_filter, request_callers.py;
that page gives no count: UNCONFIRMED), and request_count counts every request by its response code (Cloud
Monitoring's list of Google Cloud metrics, run.googleapis.com/request_count). A rule that takes a few of Cloud Run's own answers for the whole story rules out what the
other failures may be (a saturated connector's waits ending as the application's own 503s). But the counts
the evidence holds differ in kind: the service read takes only the request-log lines holding Cloud Run's own
failure texts (log_signals.app_log_filter: every 5xx would crowd the rest out of its page), its page and the
failure read's are bounded (max_log_entries), a request log may be sampled or cut by an exclusion filter
(request_callers.py: a missing line is evidence of nothing), and a bundled scenario carries fewer lines than
request_count. So each measure compares lines with lines, or whole counts with whole counts:

- the request log read whole (Evidence.request_lines: every line, whatever its text, read on the alert path when
  `healthy` may depend on the callers): among its lines with a 5xx status in the failing window, the share
  that are Cloud Run's own answers. Both kinds are one line a request, sampled or cut alike, so the share holds
  on a page cut to its newest lines too;
- else, the read carrying Cloud Run's answers holding the failing window whole (no page cut: Facts.
  logged_count counts each line once): those lines against request_count's 5xx in the same window. A request
  log sampled or cut makes the lines fewer, never more: the share is then too low, the cautious side.

Whether Cloud Run answers such a request 500 or 503 is UNCONFIRMED (docs/signatures.md's `startup_failure` row
reads 500; the bundled scenarios log 503): either is counted, as every 5xx is.

- else, the read carrying Cloud Run's answers cut short (a busy service's answers fill its newest-first page): a
  newest-first page holds every line newer than its oldest entry, so over the whole minutes after that entry
  (`_within_the_page`: at least SPAN_MIN_MINUTES of the failing window) its lines are the window's count, and are
  compared with request_count's 5xx in those same minutes. A request log sampled or cut makes the share too low,
  as above.

The system log's "Could not fetch secret" lines cannot stand in for any of these: Cloud Run writes one when an
instance's start aborts (connector_saturation._secret_not_fetched), not one a request, and how many requests
wait for each start it aborts, and how many others fail on warm instances meanwhile, neither they nor anything
else read says. A count of them, over any window, measures failed starts, never the share of the failing
requests that are Cloud Run's own answers; they confirm what the answers are, never how many of the failures.

None of the measures available (no request-log line with a 5xx status in the window, the answers' read cut
short with fewer than SPAN_MIN_MINUTES whole minutes of the failing window after its oldest entry, no 5xx
counted), the share is not known (None): the rule reading it keeps what it would rule out. "Most" is a
majority (more than half): below it, other failures are as many as Cloud Run's own answers, and a cause of
theirs is not ruled out by the answers'. Whether a request-log line's timestamp is when its request came or
when it ended is UNCONFIRMED (request_callers.count): a line at the window's edge may be counted a minute apart
from its point.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.facts import Facts, failure_read_carries
from shared.diagnosis.windows import Window, hms
from shared.gcp.run_logs import REQUEST_LOG


@dataclass(frozen=True)
class Share:
    """Cloud Run's own answers among the failing requests: `answers` of `failed`, measured as `words` say."""

    answers: float
    failed: float
    words: str

    @property
    def most(self) -> bool:
        return 2 * self.answers > self.failed


def _failed_line(line: LogRecord) -> bool:
    return line.log_id == REQUEST_LOG and (line.http_status or 0) >= 500


def platform_share(facts: Facts, answers: list[LogRecord], said: re.Pattern[str], failing: Window) -> Share | None:
    """Cloud Run's own answers (`answers`, the lines of the service's reads whose text `said` matches) among the
    failing requests of `failing`, by the first measure the evidence allows (module docstring); None when none
    does."""
    return (_among_request_lines(facts, said, failing) or _against_request_count(facts, answers, failing)
            or _within_the_page(facts, answers, failing))


def _among_request_lines(facts: Facts, said: re.Pattern[str], failing: Window) -> Share | None:
    read = facts.b.request_lines
    if read is None:
        return None
    failed = [e for e in read.entries if _failed_line(e) and failing.holds(e.timestamp)]
    if not failed:
        return None
    answers = sum(1 for e in failed if said.search(e.text))
    cut = " (its newest lines, the read cut at its page)" if read.truncated else ""
    return Share(answers, len(failed), f"{answers} of the {len(failed)} request-log lines with a 5xx status read "
                                       f"in {failing}{cut}")


def _against_request_count(facts: Facts, answers: list[LogRecord], failing: Window) -> Share | None:
    inside = [e for e in answers if failing.holds(e.timestamp)]
    if facts.logged_count(inside) != len(inside):
        return None   # a page cut short: its lines are a sample, not the window's count
    failed = facts.requests(failing).by_class.get("5xx", 0)
    if not failed:
        return None
    return Share(len(inside), failed, f"{len(inside)} of request_count's {failed:.0f} 5xx in {failing}, the read "
                                      "holding the window's every line")


# The least whole minutes of the failing window a cut page must hold for its lines to measure the share: one
# minute alone is a sample of a few seconds' scatter at its edges (a request-log line's timestamp may be its
# request's start or end, UNCONFIRMED), as `healthy` asks two clean minutes.
SPAN_MIN_MINUTES = 2


def _within_the_page(facts: Facts, answers: list[LogRecord], failing: Window) -> Share | None:
    """Cloud Run's answers against request_count's 5xx over the whole minutes of `failing` after the oldest entry of
    the read that carries them (the failure read when made and it takes them, else the service read's page), when
    that read came back cut: a newest-first page holds every line newer than its oldest entry, so the lines there
    are counted whole. The minutes begin at the first whole minute after that entry (request_count's points are
    per minute, selected by their end time, Window). None when the read is whole (`_against_request_count`'s),
    fewer than SPAN_MIN_MINUTES whole minutes of `failing` follow the entry, or no 5xx is counted there."""
    cut = _cut_at(facts, answers, failing)
    if cut is None:
        return None
    start = _next_minute(cut)
    if failing.end - start < timedelta(minutes=SPAN_MIN_MINUTES):
        return None
    span = Window(start, failing.end)
    failed = facts.requests(span).by_class.get("5xx", 0)
    if not failed:
        return None
    inside = sum(1 for e in answers if span.holds(e.timestamp))
    return Share(inside, failed, f"{inside} of request_count's {failed:.0f} 5xx in {span}, the whole minutes after "
                                 f"the oldest line of the cut read carrying Cloud Run's answers ({hms(cut)}), which "
                                 "holds every line since")


def _cut_at(facts: Facts, answers: list[LogRecord], failing: Window) -> datetime | None:
    """The oldest entry of the cut read(s) carrying `answers` (the later of the two when both carry some), or None
    when none of them is cut inside `failing`."""
    failure = facts.b.failure_logs
    carrying = (failure if failure is not None and failure_read_carries(e) else facts.b.logs for e in answers)
    reads = {id(read): read for read in carrying if read is not None}
    ends = [read.page_ended_after(failing.start) for read in reads.values()]
    cuts = [end for end in ends if end is not None]
    return max(cuts) if cuts else None


def _next_minute(at: datetime) -> datetime:
    """The first whole minute at or after `at`."""
    floor = at.replace(second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(minutes=1)
