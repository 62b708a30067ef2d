"""Whether the requests since an action are the service's callers or Cloud Monitoring's uptime checks:
pure, no I/O (the sweep reads the request log, shared/diagnosis/collection.request_lines; its lines are
told apart and counted by shared/diagnosis/request_callers.py, which the alert path's `healthy` uses too).

Why request_count cannot tell them apart, how the request log names the uptime checker, and the
sources: shared/diagnosis/request_callers.py. After a rollback or a scale-up whose callers went
elsewhere, the checks' requests alone kept 6 a minute against 45 before the action, over
`min_traffic_ratio`, and were `verified`; beside a few failing callers they make the share of 5xx
look clean.

The request log may be whole, sampled (an exclusion filter with sample()), cut to some callers (an
exclusion of health checks, or of 2xx), or not kept at all. So a line is evidence of its caller, and a
missing line is evidence of nothing: callers are shown kept only by lines of callers other than the
uptime checker, never by request_count less the checker's lines seen (a sampled log shows only some of
them), and never by the absence of the checker's lines (an unkept log shows none). Where the lines do
not show enough callers, `unclear`: the sweep waits, and by the deadline escalates, the action kept.
"""
from __future__ import annotations

from shared.diagnosis.facts import Facts, Window
# Who sent a request line, and a read's lines counted over the minutes judged: shared with the alert path's
# `healthy` (shared/diagnosis/request_callers.py), re-exported here for the sweep.
from shared.diagnosis.request_callers import UPTIME_AGENT, Callers, count, is_uptime_check  # noqa: F401
from shared.gcp.run_logs import REQUEST_LOG


def _minutes_read(seen: Callers) -> float:
    """The minutes the callers' lines are counted over: the window's (its span less the minute before it)
    when the read is whole; when it was cut, the time its lines cover, however short (a busy service's
    1,000 newest lines may span seconds; taken as a whole minute, 20,000 requests a minute read as 1,000
    and its callers as gone). At least a second: the rate of a page of lines at one instant is not known."""
    covered = (seen.covers.end - seen.covers.start).total_seconds()
    if seen.cut:
        return max(1.0, covered) / 60
    return max(1.0, covered / 60 - 1)


def callers_not_shown(facts: Facts, window: Window, rate_before: float, ratio: float, error_ratio: float,
                      unknown_is_lost: bool = True, kept: float = 0.0) -> str:
    """Why the requests in `window` do not show the service's callers kept and served ("" if they do):
    - the request log not read (None: a permanent refusal, named in the bundle's gaps): who sent them is
      not known;
    - fewer callers' lines (the uptime checker's left out) than `ratio` of `rate_before` a minute over the
      minutes the lines cover: the callers are gone (the log whole: every request counted has its line),
      or not shown (fewer lines than requests counted: a log sampled, cut or not kept);
    - the callers' own lines failing (5xx and 429) over `error_ratio`: the uptime checks' clean answers
      made the service's share look clean.
    With `unknown_is_lost` False (a failing service: an undo needs its failure shown, and a few failing
    requests left do not show it), only callers shown gone count: a whole log whose callers' lines are
    under the ratio; the rest, as unknown, says nothing.
    `kept`: the share of `rate_before` a `verified` needs (judging.verified_kept, half by default), asked of a
    whole log only (every request counted has its line, so the callers' rate is measured, not sampled):
    callers over `ratio` and under `kept`, beside uptime checks' lines, are down, the rest of the requests
    the checks', and the clean share is not theirs to show (with no uptime check's line, the callers' lines
    are the requests counted, which `judging.traffic_lost` weighs itself, after the more particular causes). A log sampled or cut shows only some callers' lines, so their rate there
    is no measure of the callers kept: `ratio` alone is asked of it, as before."""
    read = facts.b.request_lines
    if ratio <= 0 and error_ratio >= 1:
        return ""
    if read is None:
        if not unknown_is_lost:
            return ""
        return ("the request log was not read, so whether the requests since are the service's callers or Cloud "
                "Monitoring's uptime checks (request_count does not say who sent a request) is not known")
    serving = tuple(r.short_name for r in facts.serving)
    seen = count(read, window, serving)
    counted = (sum(facts.requests(window, r).total for r in serving) if serving else facts.requests(window).total)
    minutes = _minutes_read(seen)
    needed = ratio * rate_before
    said = (f"the request log holds {seen.callers} callers' lines and {seen.uptime} of Cloud Monitoring's uptime "
            f"checks ({UPTIME_AGENT}) in {seen.covers}" + (" (its newest lines only: the read was cut)" if seen.cut
                                                            else f", against {counted:.0f} requests counted"))
    whole = not seen.cut and seen.lines >= counted
    if seen.callers / minutes < needed:
        if whole:
            return (f"its callers are mostly gone: {said}; {seen.callers / minutes:.1f} callers' requests a minute "
                    f"against {rate_before:.0f} a minute before the action (under {ratio:.0%} of it kept): the rest "
                    "are uptime checks, which reach the service wherever its callers went")
        if not unknown_is_lost:
            return ""
        if not seen.cut and not seen.lines and counted:
            return _no_line(said, counted)
        return (f"its callers are not shown kept: {said}; {seen.callers / minutes:.1f} callers' requests a minute "
                f"shown against {rate_before:.0f} a minute before the action (under {ratio:.0%} of it): the other "
                "requests may be uptime checks or callers whose lines the log does not keep (an exclusion filter, "
                "sampling), which the evidence cannot tell apart")
    share = seen.failing / seen.callers if seen.callers else 0.0
    if unknown_is_lost and share > error_ratio:
        return (f"its callers' own requests still fail: {seen.failing} of {seen.callers} callers' lines 5xx or 429 "
                f"({share:.1%}, over the {error_ratio:.1%} called clean) in {seen.covers}; the share of all requests "
                f"counted is clean only with {seen.uptime} uptime checks' answers beside them")
    if unknown_is_lost and whole and seen.uptime and seen.callers / minutes < kept * rate_before:
        return (f"its callers are down to {seen.callers / minutes / rate_before:.0%} of the rate before the action: "
                f"{said}; {seen.callers / minutes:.1f} callers' requests a minute against {rate_before:.0f} a minute "
                f"before (under the {kept:.0%} a verified needs): the rest are uptime checks, which reach the service "
                "wherever its callers went")
    return ""


def _no_line(said: str, counted: float) -> str:
    """Why, and what a person can do, when the request log holds no line at all of the requests counted.
    Cloud Run creates a request log entry for each request to a service ("Request logs (services only):
    logs of requests sent to Cloud Run services. These logs are created automatically": Cloud Run,
    "Logging and viewing logs"), so none at all is a log not stored where the sweep reads it: an
    exclusion ("Specifies a set of log entries that are filtered out by a sink", LogExclusion,
    google/logging/v2/logging_config.proto; its filter "By using the sample function ... can exclude less
    than 100%"), a sink's exclusion filter, or the _Default sink disabled or routed elsewhere. That holds
    for every action on the service until it changes, so the answer says so, and what keeps it verifiable."""
    return (f"its callers are not shown kept: {said}; the request log holds no line at all of the {counted:.0f} "
            f"requests counted: Cloud Run logs every request ({REQUEST_LOG}), so the log is most "
            f"likely not stored where it is read (an exclusion filter on {REQUEST_LOG}, in a "
            "LogExclusion or the _Default sink's exclusions, or that sink disabled or routed elsewhere), and "
            "request_count alone cannot tell the callers from Cloud Monitoring's uptime checks. Until the request "
            "log keeps the callers' lines, no action on this service is verified: each is escalated, kept, at its "
            "deadline. To judge this one, look at the callers' own side (their error rate, a load balancer's "
            "logs); to let the sweep verify, exclude only the uptime checker's lines (httpRequest.userAgent "
            f"containing \"{UPTIME_AGENT}\"), or make the exclusion a sample (sample(insertId, F) excludes the "
            "fraction F) that keeps well over verification.min_traffic_ratio of the lines")
